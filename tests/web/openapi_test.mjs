// Keeps docs/openapi.yaml's error codes in step with the code: the ErrorCode enum equals kAll
// of src/core/error_codes.h, and x-pando-http-status equals HttpStatusOf of
// src/http/server.cc. The routes themselves (method, path, operator routes, streams) are
// checked against the route table by tests/http/openapi_test.cc. No dependencies: the YAML
// is read by its layout.
// Run with: node --test tests/web/openapi_test.mjs
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = (p) => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const read = (p) => readFileSync(root(p), "utf8");

const yaml = read("docs/openapi.yaml");
const server = read("src/http/server.cc");
const codesHeader = read("src/core/error_codes.h");

// The text from the line matching `from` up to (not including) the first line after it
// that matches `to`.
function section(text, from, to) {
  const start = text.search(from);
  assert.ok(start >= 0, `no ${from} found`);
  const rest = text.slice(start);
  const firstLine = rest.indexOf("\n") + 1;
  const end = rest.slice(firstLine).search(to);
  return end < 0 ? rest : rest.slice(0, firstLine + end);
}

// ---- The description ----

// {path: Set(methods)} from the `paths:` block.
function specPaths() {
  const block = section(yaml, /^paths:$/m, /^\S/m);
  const paths = new Map();
  let current = null;
  for (const line of block.split("\n")) {
    const p = /^  (\/\S*):\s*$/.exec(line);
    if (p) {
      assert.ok(!paths.has(p[1]), `${p[1]} is described twice`);
      current = new Set();
      paths.set(p[1], current);
      continue;
    }
    const m = /^    (get|put|post|delete|patch|head|options|trace):/.exec(line);
    if (m && current) current.add(m[1]);
  }
  return paths;
}

// The lines of an indented block under `header` (a whole line), until the indent drops.
function yamlBlock(header) {
  const lines = yaml.split("\n");
  const at = lines.findIndex((l) => l === header);
  assert.ok(at >= 0, `no line ${JSON.stringify(header)} in docs/openapi.yaml`);
  const indent = header.length - header.trimStart().length;
  const out = [];
  for (const line of lines.slice(at + 1)) {
    if (line.trim() === "") continue;
    if (line.length - line.trimStart().length <= indent) break;
    out.push(line);
  }
  return out;
}

// ---- Tests ----

test("the file is an OpenAPI 3.1 description with paths and components", () => {
  assert.match(yaml, /^openapi: 3\.1\.\d+$/m);
  assert.match(yaml, /^paths:$/m);
  assert.match(yaml, /^components:$/m);
  assert.ok(specPaths().size > 0);
});

test("ErrorCode's enum is kAll of src/core/error_codes.h, in order", () => {
  const value = new Map(
    [...codesHeader.matchAll(/inline constexpr std::string_view (k\w+) = "([A-Z_]+)";/g)]
      .map((m) => [m[1], m[2]]),
  );
  const all = /kAll\[\] = \{([^}]*)\}/.exec(codesHeader);
  assert.ok(all, "kAll not found");
  const expected = all[1].split(",").map((s) => s.trim()).filter(Boolean).map((k) => {
    assert.ok(value.has(k), `kAll names ${k}, which has no value`);
    return value.get(k);
  });
  const enumLines = yamlBlock("    ErrorCode:");
  const at = enumLines.indexOf("      enum:");
  assert.ok(at >= 0, "ErrorCode has no enum");
  const described = [];
  for (const line of enumLines.slice(at + 1)) {
    const m = /^        - ([A-Z_]+)$/.exec(line);
    if (!m) break;
    described.push(m[1]);
  }
  assert.deepEqual(described, expected);
});

test("x-pando-http-status is HttpStatusOf of src/http/server.cc", () => {
  const value = new Map(
    [...codesHeader.matchAll(/inline constexpr std::string_view (k\w+) = "([A-Z_]+)";/g)]
      .map((m) => [m[1], m[2]]),
  );
  const body = section(server, /^unsigned HttpStatusOf\(/m, /^}$/m);
  const status = new Map();
  for (const m of body.matchAll(/if \(([^;{]*?)\)\s*\{?\s*return (\d+);/g)) {
    for (const k of m[1].matchAll(/codes::(k\w+)/g)) {
      const code = value.get(k[1]);
      if (!status.has(code)) status.set(code, Number(m[2]));
    }
  }
  const fallback = /return (\d+);\s*$/.exec(body);
  assert.ok(fallback, "HttpStatusOf's last return not found");
  assert.ok(status.size >= 10, `only ${status.size} codes parsed from HttpStatusOf`);
  const described = new Map(
    yamlBlock("      x-pando-http-status:").map((l) => {
      const m = /^        ([A-Z_]+): (\d+)$/.exec(l);
      assert.ok(m, `unexpected line in x-pando-http-status: ${l}`);
      return [m[1], Number(m[2])];
    }),
  );
  assert.deepEqual([...described.keys()].sort(), [...value.values()].sort());
  for (const code of value.values()) {
    assert.equal(described.get(code), status.get(code) ?? Number(fallback[1]), code);
  }
});
