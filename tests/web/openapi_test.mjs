// Keeps docs/openapi.yaml in step with the code: every route of src/http/api_routes.cc, of
// the kRoutes table of src/http/data_routes.cc (and the streams and /metrics of
// src/http/server.cc) is described with the methods it takes, no route is described that
// the code lacks, the error code enum equals kAll of src/core/error_codes.h, and
// x-pando-http-status equals HttpStatusOf. No dependencies: the YAML is read by its layout
// (paths at two spaces, methods at four).
// Run with: node --test tests/web/openapi_test.mjs
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = (p) => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const read = (p) => readFileSync(root(p), "utf8");

const yaml = read("docs/openapi.yaml");
const routes = read("src/http/api_routes.cc");
const dataRoutes = read("src/http/data_routes.cc");
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

// ---- The code ----

// The rows of kRoutes in data_routes.cc: [{method, path}], each pattern an exact OpenAPI
// path ("/api/v1/kv/{group}/{map}"). Every line of the table that names a verb must parse.
function dataTable() {
  const table = section(dataRoutes, /^const Route kRoutes\[\] = \{$/m, /^\};$/m);
  const rows = [];
  for (const line of table.split("\n").filter((l) => l.includes("verb::"))) {
    const m = /^\s*\{verb::(\w+), "(\/api\/[^"]*)", \w+\},$/.exec(line);
    assert.ok(m, `cannot read the kRoutes row ${JSON.stringify(line.trim())}`);
    rows.push({ method: m[1] === "delete_" ? "delete" : m[1], path: m[2] });
  }
  assert.ok(rows.length >= 10, `only ${rows.length} kRoutes rows found: the parse broke`);
  return rows;
}

// Routes the code answers: {path or template: Set(methods)}, templates as "/prefix{}suffix".
function codeRoutes() {
  const found = new Map();
  const add = (path, method) => {
    if (!found.has(path)) found.set(path, new Set());
    found.get(path).add(method);
  };
  // GetRoute: exact paths and prefix/suffix templates, all GET (and HEAD).
  const getRoute = section(routes, /std::optional<Result<json>> GetRoute\(/, /^}$/m);
  for (const m of getRoute.matchAll(/path == "(\/api\/[^"]*)"/g)) add(m[1], "get");
  for (const m of getRoute.matchAll(
    /constexpr std::string_view (k\w+) = "(\/api\/[^"]*\/)";\s*if \(path\.starts_with\(\1\)(?: && path\.ends_with\("([^"]+)"\))?\)/g,
  )) {
    add(`${m[2]}{}${m[3] ?? ""}`, "get");
  }
  // HandleApi: `method == verb::X && ... call.path == "P"` up to the condition's brace.
  const handleApi = section(routes, /^void HandleApi\(/m, /^}$/m);
  for (const m of handleApi.matchAll(/method == verb::(\w+)([^{]*)\{/g)) {
    for (const p of m[2].matchAll(/call\.path == "(\/api\/[^"]*)"/g)) add(p[1], m[1]);
  }
  // HandleApi: a GET prefix route, `constexpr ... kX = "/api/.../"; if ((method == verb::get
  // || method == verb::head) && call.path.starts_with(kX))`.
  for (const m of handleApi.matchAll(
    /constexpr std::string_view (k\w+) = "(\/api\/[^"]*\/)";\s*if \(\(method == verb::get \|\| method == verb::head\) && call\.path\.starts_with\(\1\)\)/g,
  )) {
    add(`${m[2]}{}`, "get");
  }
  // data_routes.cc: exact paths (a GET answers HEAD too).
  for (const { method, path } of dataTable()) add(path, method);
  // server.cc: the WebSocket upgrades and /metrics.
  for (const m of server.matchAll(/path == "(\/[^"]*)" && websocket::is_upgrade/g)) add(m[1], "get");
  for (const m of server.matchAll(/if \(path == "(\/[^"]*)"\) return "metrics";/g)) add(m[1], "get");
  return found;
}

// KnownPath: the exact paths and the prefixes that tell 405 from 404.
function knownPaths() {
  const body = section(routes, /bool KnownPath\(/, /^}$/m);
  const exact = [...body.matchAll(/"(\/api\/[^"]*)"/g)]
    .map((m) => m[1])
    .filter((p) => !body.includes(`starts_with("${p}")`));
  const prefixes = [...body.matchAll(/starts_with\("(\/api\/[^"]*)"\)/g)].map((m) => m[1]);
  return { exact, prefixes };
}

// A template "/api/v1/groups/{}/entries" as a RegExp over described paths.
const templateRegExp = (t) => {
  const [pre, suf] = t.split("{}");
  const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`^${esc(pre)}\\{[a-z_]+\\}${esc(suf)}$`);
};

// ---- Tests ----

test("the file is an OpenAPI 3.1 description with paths and components", () => {
  assert.match(yaml, /^openapi: 3\.1\.\d+$/m);
  assert.match(yaml, /^paths:$/m);
  assert.match(yaml, /^components:$/m);
  assert.ok(specPaths().size > 0);
});

test("every /api/v1 string literal of api_routes.cc and data_routes.cc is described", () => {
  const spec = [...specPaths().keys()];
  const literals = new Set([...routes.matchAll(/"(\/api\/v1\/[^"]*)"/g)].map((m) => m[1]));
  assert.ok(literals.size >= 15, `only ${literals.size} route literals found: the parse broke`);
  for (const lit of literals) {
    if (lit.endsWith("/")) {
      // A prefix: some described path is the prefix, a {parameter}, and perhaps a suffix.
      const re = new RegExp(`^${lit.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\{[a-z_]+\\}`);
      assert.ok(spec.some((p) => re.test(p)), `no described path under ${lit}{...}`);
    } else {
      assert.ok(spec.includes(lit), `${lit} is not in docs/openapi.yaml paths`);
    }
  }
  // data_routes.cc's literals are whole paths, {parameters} and all.
  const data = new Set([...dataRoutes.matchAll(/"(\/api\/v1\/[^"]*)"/g)].map((m) => m[1]));
  assert.ok(data.size >= 10, `only ${data.size} data route literals found: the parse broke`);
  for (const lit of data) {
    assert.ok(spec.includes(lit), `${lit} (data_routes.cc) is not in docs/openapi.yaml paths`);
  }
});

test("every route the code answers is described with its methods, and only those", () => {
  const spec = specPaths();
  const code = codeRoutes();
  assert.ok(code.size >= 14, `only ${code.size} routes parsed from the code: the parse broke`);
  const matched = new Set();
  for (const [route, methods] of code) {
    const paths = route.includes("{}")
      ? [...spec.keys()].filter((p) => templateRegExp(route).test(p))
      : spec.has(route) ? [route] : [];
    assert.equal(paths.length, 1, `${route} should be described exactly once`);
    const path = paths[0];
    matched.add(path);
    for (const m of methods) {
      assert.ok(spec.get(path).has(m), `${m.toUpperCase()} ${path} is not described`);
    }
    for (const m of spec.get(path)) {
      assert.ok(methods.has(m), `${m.toUpperCase()} ${path} is described but the code lacks it`);
    }
  }
  for (const path of spec.keys()) {
    assert.ok(matched.has(path), `${path} is described but the code has no such route`);
  }
});

test("KnownPath, the data table and the described /api paths agree", () => {
  const { exact, prefixes } = knownPaths();
  // HandleData answers 405 itself for a path of its table with another method.
  const data = dataTable().map((r) => r.path);
  const api = [...specPaths().keys()].filter((p) => p.startsWith("/api/"));
  for (const p of exact) assert.ok(api.includes(p), `KnownPath's ${p} is not described`);
  for (const p of prefixes) {
    assert.ok(api.some((a) => a.startsWith(p) && a.length > p.length),
      `KnownPath's prefix ${p} has no described path`);
  }
  for (const a of api) {
    const known = exact.includes(a) || prefixes.some((p) => a.startsWith(p)) || data.includes(a);
    assert.ok(known,
      `${a} is described but neither KnownPath nor the data table knows it (it would answer 404)`);
  }
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
