// Tests of the pure parts of the web UI script (src/http/static/app.js): entry encoding,
// signing, decoding and verification against docs/entry-vectors.md, titles, key backup
// texts, CRDT operations against the golden vectors of docs/crdt.md and the clock.
// Run with: node --test tests/web/app_test.mjs
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

import {
  FUTURE_SKEW_MS, KEY_TEXT_PREFIX, catalogItem, catalogPayload, checkPost, crdtDraft,
  decodeEntry, draftAfterHead, encodeBody, encodeClaimBody, normalName, signRegistration, encodeCounterAdd, encodeMapUpdate, encodeSeqDelete,
  encodeSeqInsert, encodeSetAdd, encodeSetRemove, errorText, exportKeyText, followOp,
  fromBase64, fromHex, hlcForWrite, latestSlot, orderKey, hlcFromMs, hlcMs, hlcNext, importKeyText, parseElemId,
  parseHlc, postTitle, profileFieldText, profileOp, seedToPkcs8, signEntry, signingMessage,
  toBase64, toHex, verifyEntry,
} from "../../src/http/static/app.js";

const root = (p) => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const subtle = globalThis.crypto.subtle;

// ---- Golden vectors, read from the Markdown so the test follows the golden file ----

// The hex of the first fenced block after a line that starts with label, lines joined.
function blockAfter(section, label) {
  const at = section.search(new RegExp(`^${label}`, "m"));
  if (at < 0) return null;
  const m = /```[^\n]*\n([\s\S]*?)```/.exec(section.slice(at));
  return m ? m[1].replace(/\s+/g, "") : null;
}

// The value of a "- name: value" input or output line; backticks stripped.
function field(section, name) {
  const m = new RegExp(`^- ${name}(?: \\(([0-9]+) bytes?\\))?: *(.*)$`, "m").exec(section);
  if (!m) throw new Error(`vector is missing "${name}"`);
  return { size: m[1] === undefined ? null : Number(m[1]), text: m[2].replace(/`/g, "").trim() };
}

function parseVectors() {
  const md = readFileSync(root("docs/entry-vectors.md"), "utf8");
  const sections = md.split(/^## (?=\d+\. )/m).slice(1);
  return sections.map((sec) => {
    const name = sec.slice(0, sec.indexOf("\n")).trim();
    const group = field(sec, "group");
    const payloadField = field(sec, "payload");
    // An empty payload has no hex block ("payload (0 bytes): empty").
    const payload = payloadField.size === 0 ? new Uint8Array(0)
      : fromHex(blockAfter(sec, "Payload hex:"));
    assert.equal(payload.length, payloadField.size, `${name}: payload size`);
    assert.equal(group.text.length, group.size, `${name}: group size`);
    const hex = (label) => {
      const h = blockAfter(sec, label);
      assert.ok(h, `${name}: no block after "${label}"`);
      return h;
    };
    return {
      name,
      seed: fromHex(field(sec, "seed").text),
      seq: BigInt(field(sec, "seq").text),
      prev: fromHex(field(sec, "prev").text),
      timestampMs: BigInt(field(sec, "timestamp_ms").text),
      kind: Number(/^\d+/.exec(field(sec, "kind").text)[0]),
      group: group.text,
      payload,
      publicKey: field(sec, "public key").text,
      entryLength: Number(/^\d+/.exec(field(sec, "entry length").text)[0]),
      entry: hex("Entry \\(hex\\):"),
      signature: hex("Signature \\(hex\\):"),
    };
  });
}

const vectors = parseVectors();

async function seedKey(seed) {
  return subtle.importKey("pkcs8", seedToPkcs8(seed), { name: "Ed25519" }, true, ["sign"]);
}

// docs/entry-vectors.md, "Refused vectors": one key=value line per input;
// tests/store/refused_vectors_test.cc checks the same lines against the node's checks.
function refusedVectors() {
  const md = readFileSync(root("docs/entry-vectors.md"), "utf8");
  const at = md.indexOf("\n## Refused vectors\n");
  assert.ok(at >= 0, "docs/entry-vectors.md has no refused vectors");
  const block = /```\n([\s\S]*?)```/.exec(md.slice(at));
  return block[1].split("\n").filter((l) => l.trim()).map((line) =>
    Object.fromEntries(line.split(/\s+/).map((w) => [w.slice(0, w.indexOf("=")),
      w.slice(w.indexOf("=") + 1)])));
}

test("decodeEntry refuses the refused vectors with the node's decode codes", async () => {
  const cases = refusedVectors();
  assert.ok(cases.length >= 20, "the refused vectors");
  const decodeCodes = ["MALFORMED", "UNKNOWN_VERSION", "OVERSIZE", "INVALID_GROUP"];
  for (const c of cases) {
    const hex = fromHex(c.hex);
    const bytes = new Uint8Array(hex.length + Number(c.zeros ?? 0));
    bytes.set(hex);
    // WRONG_PREV is a decode code when the input alone shows it (prev against seq), a feed
    // code when a stored head does.
    const atDecode = decodeCodes.includes(c.code) || (c.code === "WRONG_PREV" && c.stored === "-");
    if (atDecode) {
      assert.throws(() => decodeEntry(bytes), { code: c.code }, c.case);
    } else {
      assert.doesNotThrow(() => decodeEntry(bytes), c.case);
      if (c.code === "BAD_SIGNATURE") assert.equal(await verifyEntry(bytes), false, c.case);
    }
  }
});

test("the golden file holds every vector of its summary", () => {
  const md = readFileSync(root("docs/entry-vectors.md"), "utf8");
  const rows = md.match(/^\| \d+\. [^|]+\| `[0-9a-f]{64}` \|$/gm) || [];
  assert.ok(vectors.length >= 7, `found ${vectors.length} vectors`);
  assert.equal(vectors.length, rows.length);
});

for (const v of vectors) {
  test(`vector ${v.name}`, async () => {
    const key = await seedKey(v.seed);
    const { publicKeyRaw } = await importKeyText(KEY_TEXT_PREFIX + toBase64(seedToPkcs8(v.seed)));
    assert.equal(toHex(publicKeyRaw), v.publicKey, "public key from the seed");

    const draft = {
      authorKey: publicKeyRaw, seq: v.seq, prev: v.prev, timestampMs: v.timestampMs,
      kind: v.kind, group: v.group, payload: v.payload,
    };
    const body = encodeBody(draft);
    assert.equal(toHex(body), v.entry.slice(0, v.entry.length - 128), "body");
    assert.equal(toHex(signingMessage(body)).slice(0, 30), "70616e646f2e656e7472792e763100");

    const entry = await signEntry(key, draft);
    assert.equal(entry.length, v.entryLength, "entry length");
    assert.equal(toHex(entry), v.entry, "whole entry");
    assert.equal(toHex(entry.subarray(entry.length - 64)), v.signature, "signature");

    const e = decodeEntry(entry);
    assert.equal(e.version, 1);
    assert.equal(toHex(e.author), v.publicKey);
    assert.equal(e.seq, v.seq);
    assert.equal(toHex(e.prev), toHex(v.prev));
    assert.equal(e.timestampMs, v.timestampMs);
    assert.equal(e.kind, v.kind);
    assert.equal(e.group, v.group);
    assert.equal(toHex(e.payload), toHex(v.payload));
    assert.equal(toHex(e.body), toHex(body));
    assert.equal(toHex(e.signature), v.signature);
    // Re-encoding the decoded fields gives the same bytes (one encoding per entry).
    assert.equal(toHex(encodeBody({ ...e, authorKey: e.author })), toHex(body));

    assert.equal(await verifyEntry(entry), true);
    const flipped = (at) => {
      const copy = entry.slice();
      copy[at] ^= 0x01;
      return copy;
    };
    if (v.payload.length > 0) {
      assert.equal(await verifyEntry(flipped(88 + v.group.length)), false, "payload flipped");
    }
    assert.equal(await verifyEntry(flipped(entry.length - 1)), false, "signature flipped");
    assert.equal(await verifyEntry(flipped(1)), false, "author key flipped");
  });
}

// ---- Decoding ----

test("decodeEntry reports the first failure with its code", () => {
  const entry = fromHex(vectors[0].entry);
  const code = (bytes) => {
    try {
      decodeEntry(bytes);
      return "OK";
    } catch (err) {
      return err.code;
    }
  };
  assert.equal(code(entry), "OK");
  assert.equal(code(new Uint8Array(0)), "MALFORMED");
  const v2 = entry.slice();
  v2[0] = 2;
  assert.equal(code(v2), "UNKNOWN_VERSION");
  assert.equal(code(entry.subarray(0, 151)), "MALFORMED");
  assert.equal(code(entry.subarray(0, entry.length - 1)), "MALFORMED");
  assert.equal(code(new Uint8Array([...entry, 0])), "MALFORMED");
  const seq0 = entry.slice();
  seq0[33] = 0;
  assert.equal(code(seq0), "MALFORMED");
  const badGroup = entry.slice();
  badGroup[84] = "G".charCodeAt(0);
  assert.equal(code(badGroup), "INVALID_GROUP");
  const prev = entry.slice();
  prev[41] = 1;
  assert.equal(code(prev), "WRONG_PREV");
  assert.equal(code(new Uint8Array(70000).fill(1)), "OVERSIZE");
});

// ---- encodeBody refusals ----

test("encodeBody refuses bad group names and other bad fields", () => {
  const ok = {
    authorKey: new Uint8Array(32), seq: 1n, prev: new Uint8Array(32), timestampMs: 0,
    kind: 1, group: "blog", payload: new Uint8Array(0),
  };
  assert.equal(encodeBody(ok).length, 88 + 4);
  for (const group of ["", "Blog", "-blog", ".x", "a b", "é", "a".repeat(65), undefined]) {
    assert.throws(() => encodeBody({ ...ok, group }),
      (err) => err.code === "INVALID_GROUP" && /group name/.test(err.message), `group ${group}`);
  }
  assert.equal(encodeBody({ ...ok, group: "a".repeat(64) }).length, 88 + 64);
  assert.throws(() => encodeBody({ ...ok, payload: new Uint8Array(65537) }), { code: "OVERSIZE" });
  assert.throws(() => encodeBody({ ...ok, seq: 0n }), /seq/);
  assert.throws(() => encodeBody({ ...ok, seq: 1n << 63n }), /seq/);
  assert.throws(() => encodeBody({ ...ok, seq: 2n }), { code: "WRONG_PREV" });
  assert.throws(() => encodeBody({ ...ok, kind: 65536 }), /kind/);
  assert.throws(() => encodeBody({ ...ok, authorKey: new Uint8Array(31) }), /author key/);
});

// ---- Titles ----

test("postTitle takes the first non-blank line without its heading marks", () => {
  assert.equal(postTitle("# Hello"), "Hello");
  assert.equal(postTitle("### Hello world  \nbody"), "Hello world");
  assert.equal(postTitle("Plain first line\n# Heading"), "Plain first line");
  assert.equal(postTitle("#No space"), "No space");
  assert.equal(postTitle("\n\n  ## Later title\r\nbody"), "Later title");
  assert.equal(postTitle("#\n# \nSecond"), "Second");
  assert.equal(postTitle("# a\tb"), "a b");
  assert.equal(postTitle(""), "");
  assert.equal(postTitle("\n \n#\n"), "");
  assert.equal(postTitle("# Grüße aus Zürich\n\n*Pando*"), "Grüße aus Zürich");
});

test("postTitle cuts at 200 UTF-8 bytes on a character boundary", () => {
  const bytes = (s) => new TextEncoder().encode(s).length;
  assert.equal(postTitle("a".repeat(250)), "a".repeat(200));
  assert.equal(postTitle("é".repeat(150)), "é".repeat(100)); // 2 bytes each: exactly 200.
  const euro = postTitle("# a" + "€".repeat(100)); // 1 + 3n bytes: 199 fits, 202 does not.
  assert.equal(euro, "a" + "€".repeat(66));
  assert.equal(bytes(euro), 199);
  const emoji = postTitle("xy" + "📚".repeat(60)); // 2 + 4n: 198 fits.
  assert.equal(emoji, "xy" + "📚".repeat(49));
  assert.ok(!emoji.includes("\ufffd"));
  assert.equal(postTitle("分".repeat(67)), "分".repeat(66)); // 198 bytes; 201 would not fit.
});

// ---- Key backup text ----

test("signRegistration makes docs/names.md's golden claim byte for byte", async () => {
  const md = readFileSync(root("docs/names.md"), "utf8");
  const golden = blockAfter(md, "### Golden vector");
  assert.ok(golden && golden.length === 2 * (2 + 12 + 96 + 8 + 64), "the golden claim's hex");
  const key = await importKeyText(KEY_TEXT_PREFIX + toBase64(seedToPkcs8(new Uint8Array(32).fill(1))));
  const claim = await signRegistration(key.privateKey, key.publicKeyRaw, "ada_lovelace",
    1_700_000_000_000);
  assert.equal(toHex(claim), golden);
  assert.equal(toHex(encodeClaimBody({
    name: "ada_lovelace", signer: key.publicKeyRaw, owner: key.publicKeyRaw,
    timestampMs: 1_700_000_000_000,
  })), golden.slice(0, 2 * (2 + 12 + 96 + 8)));
});

test("normalName folds case and refuses what cannot be a name", () => {
  assert.equal(normalName("  Ada_Lovelace "), "ada_lovelace");
  for (const bad of ["ab", "1abc", "abc-", "ada lovelace", "ad\u00e1", "x".repeat(33)]) {
    assert.throws(() => normalName(bad), (err) => err.code === "INVALID_NAME", bad);
  }
});

test("exportKeyText and importKeyText round-trip a generated key", async () => {
  const pair = await subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]);
  const text = await exportKeyText(pair.privateKey);
  assert.match(text, /^pando-key-v1:[A-Za-z0-9+/]+={0,2}$/);
  const key = await importKeyText(`  ${text}\n`);
  const raw = new Uint8Array(await subtle.exportKey("raw", pair.publicKey));
  assert.equal(toHex(key.publicKeyRaw), toHex(raw));
  assert.equal(await exportKeyText(key.privateKey), text);
  // The imported key signs entries that verify under the original public key.
  const entry = await signEntry(key.privateKey, {
    authorKey: key.publicKeyRaw, seq: 1n, prev: new Uint8Array(32), timestampMs: Date.now(),
    kind: 1, group: "blog", payload: new TextEncoder().encode("hi"),
  });
  assert.equal(await verifyEntry(entry), true);
});

test("importKeyText says what is wrong with a bad text", async () => {
  const bad = async (text, re) => assert.rejects(importKeyText(text), (err) => {
    assert.equal(err.code, "BAD_KEY");
    assert.match(err.message, re);
    return true;
  });
  await bad("", /empty/);
  await bad("   ", /empty/);
  await bad("MC4CAQAwBQYDK2VwBCIEIA==", /starts with "pando-key-v1:"/);
  await bad("pando-key-v1:not base64!", /base64/);
  await bad("pando-key-v1:" + toBase64(new Uint8Array(10)), /Ed25519 private key/);
  // A valid PKCS#8 with one byte cut off.
  const pkcs8 = seedToPkcs8(new Uint8Array(32).fill(7));
  await bad("pando-key-v1:" + toBase64(pkcs8.subarray(0, 47)), /Ed25519 private key/);
});

// ---- Helpers of the pages ----

test("hex and base64 helpers round-trip and refuse junk", () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  assert.deepEqual(fromHex(toHex(all)), all);
  assert.deepEqual(fromBase64(toBase64(all)), all);
  assert.deepEqual(fromHex("ABcd"), Uint8Array.from([0xab, 0xcd]));
  assert.throws(() => fromHex("abc"));
  assert.throws(() => fromHex("zz"));
  assert.throws(() => fromBase64("abc"));
  assert.throws(() => fromBase64("a=bc"));
});

test("draftAfterHead follows the feed head", () => {
  const common = {
    authorKey: new Uint8Array(32), kind: 1, group: "blog", payload: new Uint8Array(0),
  };
  const first = draftAfterHead({ seq: 0 }, { ...common, nowMs: 1700000000000 });
  assert.equal(first.seq, 1n);
  assert.equal(toHex(first.prev), "00".repeat(32));
  assert.equal(first.timestampMs, 1700000000000n);
  const id = "ab".repeat(32);
  const next = draftAfterHead({ seq: 7, id, timestamp_ms: 1800000000000 },
    { ...common, nowMs: 1700000000000 });
  assert.equal(next.seq, 8n);
  assert.equal(toHex(next.prev), id);
  assert.equal(next.timestampMs, 1800000000000n, "never before the head's timestamp");
  assert.equal(encodeBody(next).length, 92);
});

// docs/entry-format.md, "The next entry of a feed": its golden cases, one key=value line
// each, inputs before "->"; tests/store/feed_writer_test.cc checks the same lines in C++.
function nextEntryCases() {
  const md = readFileSync(root("docs/entry-format.md"), "utf8");
  const section = md.slice(md.indexOf("## The next entry of a feed"));
  const block = /```\n([\s\S]*?)```/.exec(section.slice(section.indexOf("Golden cases")));
  assert.ok(block, "docs/entry-format.md has no golden cases for the next entry");
  return block[1].split("\n").filter((l) => l.trim()).map((line) =>
    Object.fromEntries(line.split(/\s+/).filter((w) => w.includes("="))
      .map((w) => [w.slice(0, w.indexOf("=")), w.slice(w.indexOf("=") + 1)])));
}

test("draftAfterHead and crdtDraft give the golden next entries of docs/entry-format.md", () => {
  const cases = nextEntryCases();
  assert.ok(cases.length >= 8, "the golden cases");
  assert.ok(cases.some((c) => BigInt(c.now_ms) < BigInt(c.head_timestamp_ms ?? 0)),
    "a case whose clock is behind the head");
  for (const c of cases) {
    const head = c.head_seq === "0" ? { seq: 0 }
      : { seq: Number(c.head_seq), id: c.head_id, timestamp_ms: Number(c.head_timestamp_ms) };
    const common = { authorKey: new Uint8Array(32), group: "blog", nowMs: Number(c.now_ms) };
    let draft;
    if (c.seen_hlc === undefined) {
      draft = draftAfterHead(head, { ...common, kind: 1, payload: new Uint8Array(0) });
    } else {
      const encode = (hlc) => encodeCounterAdd({ name: "n", hlc, delta: 1 });
      const made = crdtDraft(head, { ...common, seen: c.seen_hlc, encode });
      assert.equal(made.hlc, BigInt(c.hlc), `${c.case}: hlc`);
      draft = made.draft;
    }
    assert.equal(draft.seq, BigInt(c.seq), `${c.case}: seq`);
    assert.equal(toHex(draft.prev), c.prev, `${c.case}: prev`);
    assert.equal(draft.timestampMs, BigInt(c.timestamp_ms), `${c.case}: timestamp_ms`);
  }
});

test("orderKey and latestSlot keep the front page in (timestamp, id) order", () => {
  const a = "aa".repeat(32), b = "bb".repeat(32);
  assert.equal(orderKey(1700000000000, a), "0001700000000000." + a);
  assert.equal(orderKey("x", a), "0000000000000000." + a);
  // Same timestamp: the larger id is newer, as in the store's views.
  assert.ok(orderKey(5, b) > orderKey(5, a));
  assert.ok(orderKey(10, a) > orderKey(9, b));
  const keys = [orderKey(30, a), orderKey(20, b), orderKey(20, a)];
  assert.equal(latestSlot(keys, orderKey(40, a), 20), 0);
  assert.equal(latestSlot(keys, orderKey(20, "ab".repeat(32)), 20), 2);
  assert.equal(latestSlot(keys, orderKey(10, a), 20), 3);
  assert.equal(latestSlot(keys, orderKey(10, a), 3), -1);
  assert.equal(latestSlot([], orderKey(1, a), 20), 0);
});

test("catalogPayload and catalogItem", () => {
  const id = "cd".repeat(32);
  assert.deepEqual(JSON.parse(new TextDecoder().decode(catalogPayload("T \"q\"", "blog", id))),
    { title: "T \"q\"", group: "blog", entry: id });
  const author = "pdrkeohxlubhyzl7ks3mwtzos5olfgocn7dwkbeg7toseadnapn5omlyq";
  const msg = { type: "entry", kind: 2, author, timestamp_ms: 1700000000000, title: "",
    target: { group: "blog", entry: id } };
  const item = catalogItem(msg);
  assert.equal(item.id, id);
  assert.equal(item.title, "(untitled)");
  assert.equal(item.authorShort, "pdrkeohxlubh…");
  assert.equal(item.author, author);
  assert.equal(item.group, "blog");
  assert.equal(catalogItem({ ...msg, target: { group: "a/b", entry: id } }).group, "");
  assert.equal(item.iso, "2023-11-14T22:13:20.000Z");
  // The record's own id places it (the item links to the post it names).
  assert.equal(catalogItem({ ...msg, id: "EF".repeat(32) }).order,
    "0001700000000000." + "ef".repeat(32));
  assert.equal(catalogItem({ ...msg, title: "<b>x</b>" }).title, "<b>x</b>");
  assert.equal(catalogItem({ ...msg, kind: 1 }), null);
  assert.equal(catalogItem({ ...msg, target: undefined }), null);
  assert.equal(catalogItem({ ...msg, target: { entry: "\"><script>" } }), null);
  assert.equal(catalogItem(null), null);
});

test("checkPost: the badge's verdict", async () => {
  const v = vectors.find((x) => x.kind === 1 && x.payload.length > 0);
  const source = new TextDecoder().decode(v.payload);
  const page = { entryHex: v.entry, authorKeyHex: v.publicKey, sourceText: source };
  assert.equal((await checkPost(page)).state, "valid");
  assert.equal((await checkPost({ ...page, entryHex: v.entry.toUpperCase() })).state, "valid");
  const other = await checkPost({ ...page, sourceText: source + " " });
  assert.equal(other.state, "invalid");
  assert.match(other.reason, /text/);
  assert.equal((await checkPost({ ...page, authorKeyHex: "00".repeat(32) })).state, "invalid");
  assert.equal((await checkPost({ ...page, authorKeyHex: undefined })).state, "invalid");
  const tampered = fromHex(v.entry);
  tampered[tampered.length - 1] ^= 1;
  assert.equal((await checkPost({ ...page, entryHex: toHex(tampered) })).state, "invalid");
  assert.equal((await checkPost({ ...page, entryHex: "zz" })).state, "invalid");
  assert.equal((await checkPost({ ...page, entryHex: undefined })).state, "invalid");
  // A payload that is not UTF-8 is shown, and compared, in hex.
  const bin = vectors.find((x) => x.name.includes("all-byte-values"));
  const binPage = {
    entryHex: bin.entry, authorKeyHex: bin.publicKey, sourceText: toHex(bin.payload),
  };
  assert.equal((await checkPost(binPage)).state, "valid");
  assert.equal((await checkPost({ ...binPage, sourceText: "x" })).state, "invalid");
});

test("errorText prints CODE and sentence", () => {
  const err = new Error("The group name 'X' is invalid.");
  err.code = "INVALID_GROUP";
  assert.equal(errorText(err), "error: INVALID_GROUP: The group name 'X' is invalid.");
  assert.equal(errorText(new Error("boom")), "error: ERROR: boom");
});

// ---- CRDT operations: docs/crdt.md's golden vectors, read from the Markdown ----

// {name: {hex, size}} from the "### N. name" sections under "## Golden vectors": the first
// fenced block of each, lines joined, and the "N bytes:" the text states.
function crdtVectors() {
  const md = readFileSync(root("docs/crdt.md"), "utf8");
  const golden = md.slice(md.indexOf("\n## Golden vectors"));
  assert.ok(golden.length > 100, "docs/crdt.md has no Golden vectors section");
  const out = new Map();
  for (const sec of golden.split(/^### (?=\d+\. )/m).slice(1)) {
    const name = /^\d+\. (\S+)/.exec(sec)[1];
    const hex = /```\n([0-9a-f\n]+)```/.exec(sec);
    const size = /(\d+) bytes:\n/.exec(sec);
    assert.ok(hex && size, `${name}: no hex block or byte count`);
    out.set(name, { hex: hex[1].replace(/\s+/g, ""), size: Number(size[1]) });
  }
  return out;
}

const MS = 1700000000000; // The vectors' base time: 2023-11-14 22:13:20 UTC.
const id32 = (byte) => byte.repeat(32); // The made-up entry ids 11…11 and so on, in hex.

// Each vector's operation, as docs/crdt.md describes it in words.
const crdtCases = {
  "map-update": () => encodeMapUpdate({
    personal: true, name: "profile", hlc: hlcFromMs(MS) + 1n,
    fields: { name: '"Ada"', bio: null }, // Given out of order: the encoder sorts.
  }),
  "set-add": () => encodeSetAdd({
    name: "tags", hlc: hlcFromMs(MS + 1000), elements: ['"cpp"', "42"],
  }),
  "set-remove": () => encodeSetRemove({
    name: "tags", hlc: hlcFromMs(MS + 2000), element: '"cpp"',
    tags: [`${id32("11")}:0`, { entry: fromHex(id32("22")), index: 3 }],
  }),
  "seq-insert-head": () => encodeSeqInsert({
    name: "doc", hlc: hlcFromMs(MS + 3000), values: ['"H"', '"i"'],
  }),
  "seq-insert-after": () => encodeSeqInsert({
    name: "doc", hlc: hlcFromMs(MS + 4000) + 2n, after: `${id32("33")}:1`, values: ['"!"'],
  }),
  "seq-delete": () => encodeSeqDelete({
    name: "doc", hlc: hlcFromMs(MS + 5000), elements: [`${id32("33")}:0`, `${id32("44")}:258`],
  }),
  "counter-add": () => encodeCounterAdd({
    name: "\u{1F44D}", hlc: hlcFromMs(MS + 6000), delta: -5,
  }),
};

const opVectors = crdtVectors();

test("docs/crdt.md's golden vectors are the ones these encoders cover", () => {
  assert.deepEqual([...opVectors.keys()].sort(), Object.keys(crdtCases).sort());
});

for (const [name, encode] of Object.entries(crdtCases)) {
  test(`crdt vector ${name}`, () => {
    const v = opVectors.get(name);
    const bytes = encode();
    assert.equal(toHex(bytes), v.hex);
    assert.equal(bytes.length, v.size, "the byte count the text states");
  });
}

// docs/crdt.md, "Golden values": one line per value, its verdict and its bytes in hex
// (HEX*N repeats, + joins, - is empty); tests/crdt/crdt_vectors_test.cc checks the same lines
// against crdt::CheckValue.
function goldenValues() {
  const md = readFileSync(root("docs/crdt.md"), "utf8");
  const at = md.indexOf("\n### Golden values\n");
  assert.ok(at >= 0, "docs/crdt.md has no Golden values");
  const block = /```\n([\s\S]*?)```/.exec(md.slice(at));
  return block[1].split("\n").filter((l) => l.trim()).map((line) => {
    const [verdict, parts] = line.split(/\s+/);
    const chunks = parts === "-" ? [] : parts.split("+").map((p) => {
      const [hex, times] = p.split("*");
      return Array(Number(times ?? 1)).fill(fromHex(hex));
    }).flat();
    const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    chunks.reduce((at, c) => (bytes.set(c, at), at + c.length), 0);
    return { verdict, bytes, line: line.slice(0, 80) };
  });
}

test("a value is accepted or refused as docs/crdt.md's golden values say", () => {
  const values = goldenValues();
  assert.ok(values.length >= 40, "the golden values");
  for (const { verdict, bytes, line } of values) {
    let text;
    try {
      text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
    } catch {
      // Not UTF-8: no string of the browser's holds these bytes.
      assert.equal(verdict, "refuse", line);
      continue;
    }
    const encode = () => encodeMapUpdate({ name: "m", hlc: hlcFromMs(MS), fields: { k: text } });
    if (verdict === "accept") assert.doesNotThrow(encode, line);
    else assert.throws(encode, { code: "BAD_ARGUMENT" }, line);
  }
});

test("the profile and follow operations of the social data", () => {
  const hlc = hlcFromMs(MS) + 1n;
  // Vector 1 is a profile update: name set to "Ada", bio deleted (empty means delete).
  assert.equal(toHex(profileOp(hlc, { name: "Ada", bio: "" })), opVectors.get("map-update").hex);
  assert.equal(toHex(profileOp(hlc, { bio: null, name: "Ada" })), opVectors.get("map-update").hex);
  const author = "pdrkeohxlubhyzl7ks3mwtzos5olfgocn7dwkbeg7toseadnapn5omlyq";
  assert.equal(toHex(followOp(hlc, author, true)), toHex(encodeSetAdd({
    personal: true, name: "follows", hlc, elements: [`"${author}"`],
  })));
  const tags = [`${id32("ab")}:0`, `${id32("cd")}:7`];
  const remove = followOp(hlc, author, false, tags);
  assert.equal(toHex(remove), toHex(encodeSetRemove({
    personal: true, name: "follows", hlc, element: `"${author}"`, tags,
  })));
  // Header: format 1, set, remove, personal; then the clock, little-endian.
  assert.equal(toHex(remove.subarray(0, 4)), "01020201");
  assert.equal(new DataView(remove.buffer).getBigUint64(4, true), hlc);
  assert.throws(() => followOp(hlc, author, false, []), { code: "NOT_FOUND" });
  // A hostile name is just a JSON string: its bytes, escaped only as JSON needs.
  const name = `<img src=x onerror=alert(1)> "q"`;
  const op = profileOp(hlc, { name });
  assert.ok(toHex(op).endsWith(Buffer.from(JSON.stringify(name)).toString("hex")));
  assert.equal(profileFieldText("Ada"), "Ada");
  assert.equal(profileFieldText(undefined), "");
  assert.equal(profileFieldText(12), "12");
  assert.equal(profileFieldText({ a: [1] }), '{"a":[1]}');
});

test("map fields go in UTF-8 byte order, once each", () => {
  const hlc = 1n;
  // UTF-16 puts U+1F600 (a surrogate pair, 0xD83D...) before U+E000; UTF-8 the other way.
  const op = encodeMapUpdate({ name: "m", hlc, fields: [["\u{1F600}", "1"], ["\uE000", "2"]] });
  const e000 = Buffer.from("\uE000").toString("hex");
  const smile = Buffer.from("\u{1F600}").toString("hex");
  assert.ok(toHex(op).indexOf(e000) < toHex(op).indexOf(smile), "U+E000 comes first");
  // A proper prefix first.
  const ab = encodeMapUpdate({ name: "m", hlc, fields: { ab: null, a: null } });
  assert.equal(toHex(ab.subarray(14)), "0200" + "0161" + "00" + "026162" + "00");
  assert.throws(() => encodeMapUpdate({ name: "m", hlc, fields: [["a", "1"], ["a", "2"]] }),
    /given twice/);
});

test("the encoders refuse what the decoder refuses", () => {
  const ok = { name: "m", hlc: 1n };
  const bad = (fn) => assert.throws(fn, { code: "BAD_ARGUMENT" });
  bad(() => encodeSetAdd({ ...ok, name: "", elements: ["1"] }));
  bad(() => encodeSetAdd({ ...ok, name: "a".repeat(129), elements: ["1"] }));
  const long = encodeSetAdd({ ...ok, name: "é".repeat(64), elements: ["1"] }); // 128 bytes.
  assert.equal(long.length, 13 + 128 + 7);
  bad(() => encodeSetAdd({ ...ok, name: "a\nb", elements: ["1"] }));
  bad(() => encodeSetAdd({ ...ok, name: "a\x7f", elements: ["1"] }));
  bad(() => encodeSetAdd({ ...ok, name: "\ud800", elements: ["1"] }));
  bad(() => encodeSetAdd({ ...ok, elements: [] }));
  bad(() => encodeSetAdd({ ...ok, elements: Array(1025).fill("1") }));
  assert.equal(encodeSetAdd({ ...ok, elements: Array(1024).fill("1") }).length, 16 + 1024 * 5);
  for (const v of ["", "a", "{", "1e309", "[-1e400]", "\ufeff1", "'a'", "1 2", undefined,
    '"\\ud800"', '{"\\udc00": 1}', '["\ud800"]', "[".repeat(100000) + "]".repeat(100000)]) {
    bad(() => encodeSetAdd({ ...ok, elements: [v] }));
  }
  for (const v of ["1e308", " \"a\" ", "null", "{\"a\":[true,false]}", "-0.5e-3",
    '"\\ud83d\\ude00"']) {
    assert.ok(encodeSetAdd({ ...ok, elements: [v] }).length > 0, v);
  }
  bad(() => encodeSetAdd({ ...ok, elements: [`"${"a".repeat(65535)}"`] }));
  assert.equal(encodeSetAdd({ ...ok, elements: [`"${"a".repeat(65534)}"`] }).length,
    16 + 65536 + 4);
  bad(() => encodeMapUpdate({ ...ok, fields: {} }));
  bad(() => encodeMapUpdate({ ...ok, fields: { "": "1" } }));
  bad(() => encodeMapUpdate({ ...ok, fields: { ["f".repeat(256)]: "1" } }));
  bad(() => encodeMapUpdate({ ...ok, fields: { "a\tb": "1" } }));
  bad(() => encodeSetRemove({ ...ok, element: "1", tags: [] }));
  bad(() => encodeSetRemove({ ...ok, element: "1", tags: ["ab:0"] }));
  bad(() => encodeSetRemove({ ...ok, element: "1", tags: [`${id32("11")}:65536`] }));
  bad(() => encodeSetRemove({ ...ok, element: "1", tags: [`${id32("11")}`] }));
  const zero = new Uint8Array(32);
  bad(() => encodeSetRemove({ ...ok, element: "1", tags: [{ entry: zero, index: 65536 }] }));
  bad(() => encodeSeqInsert({ ...ok, after: { entry: zero, index: -1 }, values: ["1"] }));
  bad(() => profileOp(1n, { name: "a\ud800" }));
  bad(() => encodeCounterAdd({ ...ok, delta: 0 }));
  bad(() => encodeCounterAdd({ ...ok, delta: 1n << 63n }));
  bad(() => encodeCounterAdd({ ...ok, delta: 0.5 }));
  assert.equal(toHex(encodeCounterAdd({ ...ok, delta: -(1n << 63n) }).subarray(-8)),
    "0000000000000080");
  bad(() => encodeSetAdd({ ...ok, hlc: 1n << 63n, elements: ["1"] }));
  bad(() => encodeSetAdd({ ...ok, hlc: -1n, elements: ["1"] }));
  bad(() => encodeSetAdd({ ...ok, hlc: 2 ** 60, elements: ["1"] })); // Not a safe integer.
  assert.deepEqual(parseElemId(`${id32("0A")}:258`), { entry: fromHex(id32("0a")), index: 258 });
});

// ---- The hybrid logical clock, as crdt::HlcNext and crdt::HlcForWrite ----

test("hlc readings are BigInts: ms << 16 | counter, read from decimal strings", () => {
  assert.equal(hlcFromMs(MS), 0x018bcfe568000000n);
  assert.equal(hlcFromMs(MS), 111411200000000000n);
  assert.equal(hlcMs(0x018bcfe568000001n), BigInt(MS));
  // GET /api/v1/clock answers a string; a double would have rounded this reading.
  const text = "117660475484471297";
  assert.notEqual(BigInt(Number(text)), 117660475484471297n);
  assert.equal(parseHlc(text), 117660475484471297n);
  assert.equal(parseHlc(JSON.parse(`{"hlc": "${text}"}`).hlc), 117660475484471297n);
  assert.equal(parseHlc("0"), 0n);
  assert.equal(parseHlc("9223372036854775807"), (1n << 63n) - 1n);
  for (const bad of ["9223372036854775808", "-1", "1.5", "", " 1", "0x10", null, 1.5, 2 ** 53]) {
    assert.throws(() => parseHlc(bad), { code: "BAD_ARGUMENT" }, String(bad));
  }
});

test("hlcNext and hlcForWrite follow src/crdt/op.cc", () => {
  const start = 1795000000000;
  // As tests/crdt/crdt_test.cc (CrdtHlc).
  assert.equal(hlcNext(0n, start), hlcFromMs(start));
  const ahead = hlcFromMs(start + 5000) + 3n;
  assert.equal(hlcNext(ahead, start), ahead + 1n);
  assert.equal(hlcMs(hlcNext(ahead, start)), BigInt(start + 5000));
  const far = hlcFromMs(start + 2 * FUTURE_SKEW_MS);
  assert.equal(hlcMs(hlcForWrite(far, start)), BigInt(start + FUTURE_SKEW_MS / 2));
  assert.equal(hlcForWrite(far, start), hlcFromMs(start + FUTURE_SKEW_MS / 2) + 1n);
  assert.equal(hlcForWrite(hlcFromMs(start + 10) + 4n, start), hlcFromMs(start + 10) + 5n);
  // Behind the wall clock: the wall clock, counter 0; the counter carries into ms.
  assert.equal(hlcForWrite("12345", start), hlcFromMs(start));
  assert.equal(hlcNext(hlcFromMs(start) + 0xffffn, start), hlcFromMs(start + 1));
  assert.equal(hlcNext(5n, 0), 6n);
  assert.equal(hlcNext(5n, -3), 6n);
  assert.equal(hlcForWrite(0n, start) > 1n << 53n, true);
});

test("crdtDraft: next in the feed, the clock in the payload, the timestamp at the clock", () => {
  const common = { authorKey: new Uint8Array(32), group: "catalog" };
  const encode = (hlc) => encodeSetAdd({ personal: true, name: "follows", hlc, elements: ["1"] });
  const now = 1795000000000;
  const { draft, hlc } = crdtDraft({ seq: 0 }, { ...common, seen: "0", nowMs: now, encode });
  assert.equal(hlc, hlcFromMs(now));
  assert.equal(draft.seq, 1n);
  assert.equal(draft.kind, 3);
  assert.equal(draft.group, "catalog");
  assert.equal(draft.timestampMs, BigInt(now));
  assert.equal(toHex(draft.payload), toHex(encode(hlc)));
  // A clock seen 100 s ahead (another node's) is followed, and so is the timestamp, so
  // that the operation stays within its clock bound.
  const head = { seq: 4, id: "ef".repeat(32), timestamp_ms: now - 10 };
  const seen = (hlcFromMs(now + 100000) + 7n).toString();
  const next = crdtDraft(head, { ...common, seen, nowMs: now, encode });
  assert.equal(next.hlc, hlcFromMs(now + 100000) + 8n);
  assert.equal(next.draft.seq, 5n);
  assert.equal(toHex(next.draft.prev), "ef".repeat(32));
  assert.equal(next.draft.timestampMs, BigInt(now + 100000));
  assert.equal(encodeBody(next.draft).length, 88 + 7 + next.draft.payload.length);
  // A head stamped later than both keeps its timestamp.
  const later = crdtDraft({ ...head, timestamp_ms: now + 200000 },
    { ...common, seen: "0", nowMs: now, encode });
  assert.equal(later.draft.timestampMs, BigInt(now + 200000));
});
