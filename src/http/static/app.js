// Pando's web UI script (docs/web.md). The pure functions below encode, sign, decode and
// verify entries (docs/entry-format.md) and are exported for tests; the DOM glue at the end
// runs only in a browser and picks its page from <body data-page>.

export const DOMAIN_TAG = "pando.entry.v1";
export const CLAIM_DOMAIN = "pando.name.v1"; // Followed by one zero byte, like DOMAIN_TAG.
export const KEY_TEXT_PREFIX = "pando-key-v1:";
export const PAYLOAD_MAX = 65536;
export const GROUP_MAX = 64;
export const TITLE_BYTES_MAX = 200;
export const ENTRY_MAX = 152 + GROUP_MAX + PAYLOAD_MAX;
const FIXED = 152; // Every byte of an entry but its group name and payload.
const U63_MAX = (1n << 63n) - 1n;
const GROUP_RE = /^[a-z0-9][a-z0-9._-]*$/;
// PKCS#8 wrapping of a bare 32-byte Ed25519 seed (RFC 8410).
const PKCS8_ED25519_PREFIX = "302e020100300506032b657004220420";

// An Error carrying one of docs/errors.md's codes, so the UI can print "error: CODE: ...".
export function codeError(code, message) {
  const err = new Error(message);
  err.code = code;
  return err;
}

export function errorText(err) {
  return `error: ${err.code || "ERROR"}: ${err.message}`;
}

const utf8 = (s) => new TextEncoder().encode(s);
// ignoreBOM keeps a leading U+FEFF, so the text is exactly what the bytes say.
const fromUtf8 = (b) => new TextDecoder("utf-8", { ignoreBOM: true }).decode(b);

export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// Throws a coded Error unless ok: keeps each check of an input to one line.
function need(ok, code, message) {
  if (!ok) throw codeError(code, message);
}

export function fromHex(hex) {
  const ok = typeof hex === "string" && hex.length % 2 === 0 && /^[0-9a-fA-F]*$/.test(hex);
  need(ok, "MALFORMED", "Not an even number of hex digits.");
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16);
  return out;
}

export function toBase64(bytes) {
  return btoa(Array.from(bytes, (b) => String.fromCharCode(b)).join(""));
}

// Strict: atob() alone would also accept whitespace and missing padding.
export function fromBase64(text) {
  const ok = typeof text === "string" && text.length % 4 === 0 &&
    /^[A-Za-z0-9+/]*={0,2}$/.test(text);
  need(ok, "MALFORMED", "Not valid base64.");
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

export function fromBase64Url(text) {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  return fromBase64(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((off, p) => (out.set(p, off), off + p.length), 0);
  return out;
}

const isZero = (bytes) => bytes.every((b) => b === 0);

export function isValidGroup(group) {
  return typeof group === "string" && group.length >= 1 && group.length <= GROUP_MAX &&
    GROUP_RE.test(group);
}

function groupError(group) {
  return codeError("INVALID_GROUP", `The group name '${group}' is invalid: use 1 to 64 ` +
    "characters of a-z, 0-9, '.', '_' and '-', starting with a letter or digit.");
}

function bytes32(value, name) {
  need(value instanceof Uint8Array && value.length === 32, "BAD_ARGUMENT", `${name}: 32 bytes.`);
  return value;
}

function u63(value, name, min) {
  const ok = typeof value === "bigint" || Number.isSafeInteger(value);
  const v = ok ? BigInt(value) : -1n;
  need(v >= min && v <= U63_MAX, "BAD_ARGUMENT", `${name} must be an integer ${min} to 2^63-1.`);
  return v;
}

// The body of an entry: every byte before the signature, all integers little-endian.
export function encodeBody({ authorKey, seq, prev, timestampMs, kind, group, payload }) {
  bytes32(authorKey, "The author key");
  bytes32(prev, "prev");
  const s = u63(seq, "seq", 1n);
  const ts = u63(timestampMs, "timestamp_ms", 0n);
  const kindOk = Number.isInteger(kind) && kind >= 0 && kind <= 0xffff;
  need(kindOk, "BAD_ARGUMENT", "kind must be an integer 0 to 65535.");
  if (!isValidGroup(group)) throw groupError(group);
  need(payload instanceof Uint8Array, "BAD_ARGUMENT", "The payload must be a Uint8Array.");
  need(payload.length <= PAYLOAD_MAX, "OVERSIZE",
    `The payload is ${payload.length} bytes; at most ${PAYLOAD_MAX}.`);
  // A feed's first entry has no predecessor; every later one names it.
  need((s === 1n) === isZero(prev), "WRONG_PREV", "prev must be zero exactly when seq is 1.");
  const g = group.length; // ASCII by the rule above.
  const body = new Uint8Array(FIXED - 64 + g + payload.length);
  const view = new DataView(body.buffer);
  body[0] = 1;
  body.set(authorKey, 1);
  view.setBigUint64(33, s, true);
  body.set(prev, 41);
  view.setBigUint64(73, ts, true);
  view.setUint16(81, kind, true);
  body[83] = g;
  body.set(utf8(group), 84);
  view.setUint32(84 + g, payload.length, true);
  body.set(payload, 88 + g);
  return body;
}

// The signed message: the domain tag and a zero byte keep entry signatures apart from any
// other use of the key.
export function signingMessage(body) {
  return concat(utf8(DOMAIN_TAG), new Uint8Array([0]), body);
}

// ---- Name claims (docs/names.md, "Claims") ----

// The browser's part of normalisation: case folding and the allowed characters. The node's
// registry applies every rule (length, confusables, reserved names) and says which one fails.
export function normalName(typed) {
  const name = String(typed).trim().toLowerCase();
  need(/^[a-z][a-z0-9_-]{1,30}[a-z0-9]$/.test(name), "INVALID_NAME",
    "A name is 3 to 32 of a-z, 0-9, - and _, starting with a letter and ending with a " +
    "letter or digit.");
  return name;
}

// A claim's signed bytes (all but the signature): version 1, the name, signer, owner, prev
// (zero for a registration) and the timestamp, little-endian.
export function encodeClaimBody({ name, signer, owner, prev = new Uint8Array(32), timestampMs }) {
  const n = utf8(name);
  need(n.length >= 3 && n.length <= 32, "INVALID_NAME", "A name is 3 to 32 characters.");
  bytes32(signer, "The signer key");
  bytes32(owner, "The owner key");
  bytes32(prev, "prev");
  const body = new Uint8Array(2 + n.length + 96 + 8);
  body[0] = 1;
  body[1] = n.length;
  body.set(n, 2);
  body.set(signer, 2 + n.length);
  body.set(owner, 34 + n.length);
  body.set(prev, 66 + n.length);
  new DataView(body.buffer).setBigInt64(98 + n.length, BigInt(timestampMs), true);
  return body;
}

// A registration: the owner signs a claim to `name` for their own key.
export async function signRegistration(privateKey, publicKeyRaw, name, timestampMs) {
  const body = encodeClaimBody({ name, signer: publicKeyRaw, owner: publicKeyRaw, timestampMs });
  const message = concat(utf8(CLAIM_DOMAIN), new Uint8Array([0]), body);
  const sig = await subtle().sign({ name: "Ed25519" }, privateKey, message);
  return concat(body, new Uint8Array(sig));
}

// Decodes an entry with the checks of docs/entry-format.md "Validation" 1-11, in order.
export function decodeEntry(bytes) {
  const check = (ok, code, why) => need(ok, code, `Not a valid entry: ${why}.`);
  check(bytes instanceof Uint8Array && bytes.length > 0, "MALFORMED", "it is empty");
  check(bytes[0] === 1, "UNKNOWN_VERSION", `version ${bytes[0]}, expected 1`);
  check(bytes.length <= ENTRY_MAX, "OVERSIZE", `${bytes.length} bytes, at most ${ENTRY_MAX}`);
  check(bytes.length >= FIXED, "MALFORMED", `${bytes.length} bytes, at least ${FIXED}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const seq = view.getBigUint64(33, true);
  check(seq !== 0n && seq <= U63_MAX, "MALFORMED", "seq out of range");
  const timestampMs = view.getBigUint64(73, true);
  check(timestampMs <= U63_MAX, "MALFORMED", "timestamp_ms out of range");
  const g = bytes[83];
  check(84 + g <= bytes.length, "MALFORMED", "it ends inside the group name");
  const group = String.fromCharCode(...bytes.subarray(84, 84 + g));
  check(isValidGroup(group), "INVALID_GROUP", "the group name breaks the rule");
  const p = view.getUint32(84 + g, true);
  check(p <= PAYLOAD_MAX, "OVERSIZE", `a payload of ${p} bytes`);
  check(bytes.length === FIXED + g + p, "MALFORMED", "its length does not match its fields");
  const prev = bytes.slice(41, 73);
  check((seq === 1n) === isZero(prev), "WRONG_PREV", "prev does not fit seq");
  const bodyEnd = 88 + g + p;
  return {
    version: 1, author: bytes.slice(1, 33), seq, prev, timestampMs,
    kind: view.getUint16(81, true), group, payload: bytes.slice(88 + g, bodyEnd),
    body: bytes.slice(0, bodyEnd), signature: bytes.slice(bodyEnd),
  };
}

// WebCrypto, or an error named like the one browsers throw for an unknown algorithm
// (crypto.subtle is missing outside secure contexts).
function subtle() {
  if (globalThis.crypto && globalThis.crypto.subtle) return globalThis.crypto.subtle;
  const err = new Error("WebCrypto is not available here.");
  err.name = "NotSupportedError";
  throw err;
}

export async function signEntry(privateKey, draft) {
  const body = encodeBody(draft);
  const sig = await subtle().sign({ name: "Ed25519" }, privateKey, signingMessage(body));
  return concat(body, new Uint8Array(sig));
}

// False for a malformed entry, a bad key or a bad signature; throws NotSupportedError
// when this WebCrypto has no Ed25519, so that callers can tell "cannot check" from "false".
export async function verifyEntry(bytes) {
  try {
    const e = decodeEntry(bytes);
    const key = await subtle().importKey("raw", e.author, { name: "Ed25519" }, false, ["verify"]);
    return await subtle().verify({ name: "Ed25519" }, key, e.signature, signingMessage(e.body));
  } catch (err) {
    if (err.name === "NotSupportedError") throw err;
    return false;
  }
}

// The title of a Markdown post, as the node computes it (core/post.h PostTitle): the
// first non-blank line, leading '#' and blanks removed, control characters made spaces,
// cut to 200 UTF-8 bytes on a character boundary.
export function postTitle(markdown) {
  // Round-trip through UTF-8 so that lone surrogates read as U+FFFD, as in the payload.
  const text = fromUtf8(utf8(markdown));
  for (const raw of text.split("\n")) {
    // As core/post.cc: control characters to spaces; '#' and spaces off the front, spaces off
    // the end, again after the cut, so the title of a title is itself.
    const line = raw.replace(/[\x00-\x1f\x7f-\x9f]/g, " ").replace(/^[ #]+/, "").replace(/ +$/, "");
    if (line === "") continue;
    const bytes = utf8(line);
    if (bytes.length <= TITLE_BYTES_MAX) return line;
    let end = TITLE_BYTES_MAX;
    while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--; // Back off continuation bytes.
    return fromUtf8(bytes.subarray(0, end)).replace(/ +$/, "");
  }
  return "";
}

// The key backup text: the prefix and base64 of the private key's PKCS#8 bytes.
export async function exportKeyText(privateKey) {
  const pkcs8 = new Uint8Array(await subtle().exportKey("pkcs8", privateKey));
  return KEY_TEXT_PREFIX + toBase64(pkcs8);
}

// Reads a backup text; the key stays extractable so that it can be exported again.
export async function importKeyText(text) {
  const t = typeof text === "string" ? text.trim() : "";
  need(t !== "", "BAD_KEY", "The key text is empty.");
  need(t.startsWith(KEY_TEXT_PREFIX), "BAD_KEY", `A key text starts with "${KEY_TEXT_PREFIX}".`);
  let pkcs8;
  try {
    pkcs8 = fromBase64(t.slice(KEY_TEXT_PREFIX.length).replace(/\s+/g, ""));
  } catch {
    throw codeError("BAD_KEY", `The key text after "${KEY_TEXT_PREFIX}" is not valid base64.`);
  }
  let privateKey;
  try {
    privateKey = await subtle().importKey("pkcs8", pkcs8, { name: "Ed25519" }, true, ["sign"]);
  } catch (err) {
    if (err.name === "NotSupportedError") throw codeError("UNSUPPORTED", "No Ed25519 here.");
    throw codeError("BAD_KEY", "The key text does not hold an Ed25519 private key (PKCS#8).");
  }
  // The JWK form carries the public key as x, in every WebCrypto that has Ed25519.
  const jwk = await subtle().exportKey("jwk", privateKey);
  return { privateKey, publicKeyRaw: fromBase64Url(jwk.x) };
}

// The PKCS#8 bytes of a bare 32-byte Ed25519 seed (for tests and tools).
export function seedToPkcs8(seed) {
  return concat(fromHex(PKCS8_ED25519_PREFIX), bytes32(seed, "The seed"));
}

// The draft that follows a feed head as GET /api/v1/head answers it ({seq: 0} for an empty
// feed): docs/entry-format.md, "The next entry of a feed", as store::NextDraft writes it.
export function draftAfterHead(head, { authorKey, kind, group, payload, nowMs }) {
  const headTs = BigInt(head.timestamp_ms ?? 0);
  const now = BigInt(Math.floor(nowMs));
  return {
    authorKey, kind, group, payload,
    seq: BigInt(head.seq ?? 0) + 1n,
    prev: head.seq ? fromHex(head.id) : new Uint8Array(32),
    // A feed's timestamps never decrease, even if this clock is behind the last entry's.
    timestampMs: now > headTs ? now : headTs,
  };
}

export function catalogPayload(title, group, postId) {
  return utf8(JSON.stringify({ title, group, entry: postId }));
}

// A front-page item's place: lists run newest first by (timestamp, record id), as the
// node's views do (docs/store.md), so every node and every browser shows one order.
// Strings that compare as the pairs do: the timestamp padded to 16 digits, then the id.
export function orderKey(timestampMs, idHex) {
  const ts = Number(timestampMs);
  const digits = Number.isSafeInteger(ts) && ts >= 0 ? String(ts) : "0";
  return digits.padStart(16, "0") + "." + String(idHex || "").toLowerCase();
}

// Where an item with `key` goes among items whose keys (newest first) are `keys`: the
// index to insert at, or -1 when it falls after the last of a full list of `max` items.
export function latestSlot(keys, key, max) {
  let at = keys.findIndex((k) => k < key);
  if (at < 0) at = keys.length;
  return at >= max ? -1 : at;
}

// What a front-page item shows for one stream message, or null if it is no catalog record.
export function catalogItem(msg) {
  if (!msg || msg.kind !== 2 || !msg.target || typeof msg.target.entry !== "string") return null;
  const id = msg.target.entry.toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(id)) return null;
  const author = typeof msg.author === "string" ? msg.author : "";
  const group = isValidGroup(msg.target.group) ? msg.target.group : "";
  const date = new Date(Number(msg.timestamp_ms));
  const valid = !Number.isNaN(date.getTime());
  return {
    id, author, group,
    order: orderKey(msg.timestamp_ms, typeof msg.id === "string" ? msg.id : ""),
    title: typeof msg.title === "string" && msg.title !== "" ? msg.title : "(untitled)",
    authorShort: author.length > 12 ? author.slice(0, 12) + "…" : author,
    iso: valid ? date.toISOString() : "",
    // The server's form ("2026-11-22 10:59 UTC"), so live and rendered items read alike.
    local: valid ? date.toISOString().slice(0, 16).replace("T", " ") + " UTC" : "",
  };
}

// The verdict of a post page's badge: { state: valid|invalid|unsupported, reason }.
export async function checkPost({ entryHex, authorKeyHex, sourceText }) {
  const bad = (reason) => ({ state: "invalid", reason });
  let e, bytes;
  try {
    bytes = fromHex(entryHex || "");
    e = decodeEntry(bytes);
  } catch (err) {
    return bad(err.message);
  }
  if (!authorKeyHex || toHex(e.author) !== authorKeyHex.toLowerCase()) {
    return bad("The page names another author key than the entry holds.");
  }
  try {
    if (!(await verifyEntry(bytes))) return bad("The Ed25519 signature does not match the entry.");
  } catch {
    return { state: "unsupported", reason: "This browser's WebCrypto has no Ed25519." };
  }
  // The page shows a payload that is not UTF-8 in hex (src/http/pages.cc).
  let shown;
  try {
    shown = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(e.payload);
  } catch {
    shown = toHex(e.payload);
  }
  if (shown !== sourceText) return bad("The text shown differs from the signed text.");
  return { state: "valid", reason: "Checked in this browser against the author's key." };
}

// ---- CRDT operations (docs/crdt.md) ----
// Each encoder gives the payload of one kind 3 (`crdt`) entry, byte for byte as
// src/crdt/op.cc's EncodeOp. Values, elements and fields' values are JSON texts (strings),
// kept as the exact bytes given: "1" and "1.0" are different values.

export const CRDT_KIND = 3;
export const OP_FORMAT = 1;
export const FUTURE_SKEW_MS = 300000; // limits::kFutureSkewMsMax: how far a clock may lead.
const OP_TYPES = { map: 1, set: 2, seq: 3, counter: 4 };
const OP_NAME_MAX = 128;
const OP_FIELD_MAX = 255;
const OP_VALUE_MAX = 65536;
const OP_ITEMS_MAX = 1024;
const OP_VALUE_DEPTH_MAX = 64; // crdt::kValueDepthMax: arrays and objects nested in a value.
const HLC_LIMIT = 1n << 63n;
const U64 = (1n << 64n) - 1n;

// ---- Hybrid logical clock: hlc = ms << 16 | counter, a BigInt (readings exceed 2^53) ----

// A clock reading from a BigInt, a safe integer or a decimal string (GET /api/v1/clock).
export function parseHlc(value) {
  let v = -1n;
  if (typeof value === "bigint") v = value;
  else if (Number.isSafeInteger(value)) v = BigInt(value);
  else if (typeof value === "string" && /^[0-9]{1,20}$/.test(value)) v = BigInt(value);
  need(v >= 0n && v < HLC_LIMIT, "BAD_ARGUMENT", "A clock reading is an integer 0 to 2^63-1.");
  return v;
}

export const hlcFromMs = (ms) => BigInt(Math.floor(Number(ms))) << 16n;
export const hlcMs = (hlc) => parseHlc(hlc) >> 16n;

// crdt::HlcNext: later than `last` and than the wall clock (now <= 0 counts as 0).
export function hlcNext(last, nowMs) {
  const wall = nowMs > 0 ? hlcFromMs(nowMs) : 0n;
  const next = parseHlc(last) + 1n;
  return wall > next ? wall : next;
}

// crdt::HlcForWrite: the clock of a new write given the newest reading seen, which is
// followed only up to half the skew bound ahead of now, so that the entry carrying the
// write (stamped at least at its clock's milliseconds) is not refused as from the future.
export function hlcForWrite(seen, nowMs) {
  const cap = hlcFromMs(Math.floor(Number(nowMs)) + FUTURE_SKEW_MS / 2);
  const s = parseHlc(seen);
  return hlcNext(s < cap ? s : cap, nowMs);
}

// ---- Encoders ----

// Little-endian writer of the operation's bytes.
function opWriter() {
  const parts = [];
  const le = (n, size) => {
    const b = new Uint8Array(size);
    let v = BigInt(n);
    for (let i = 0; i < size; i++, v >>= 8n) b[i] = Number(v & 0xffn);
    parts.push(b);
  };
  return {
    u8: (n) => le(n, 1), u16: (n) => le(n, 2), u32: (n) => le(n, 4), u64: (n) => le(n, 8),
    bytes: (b) => parts.push(b),
    done: () => concat(...parts),
  };
}

// A string that is Unicode text: no lone surrogate (which UTF-8 would turn into U+FFFD, so
// the bytes signed would differ from the text given).
const wellFormed = (text) => typeof text === "string" &&
  !/[\ud800-\udfff]/.test(text.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ""));

// UTF-8 text without control characters (bytes 0x00..0x1F, 0x7F), of min..max bytes.
function plainText(text, what, min, max) {
  const ok = wellFormed(text) && !/[\x00-\x1f\x7f]/.test(text);
  need(ok, "BAD_ARGUMENT", `${what} must be text without control characters.`);
  const b = utf8(text);
  need(b.length >= min && b.length <= max, "BAD_ARGUMENT",
    `${what} is ${b.length} bytes; it must be ${min} to ${max}.`);
  return b;
}

// The deepest nesting of arrays and objects in a JSON text, counted outside strings, as
// crdt::CheckValue counts it.
function jsonDepth(text) {
  let depth = 0, deepest = 0, inString = false, escaped = false;
  for (const c of text) {
    if (inString) {
      if (escaped) escaped = false;
      else if (c === "\\") escaped = true;
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
    } else if (c === "[" || c === "{") {
      deepest = Math.max(deepest, ++depth);
    } else if ((c === "]" || c === "}") && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

// Whether text is a value of docs/crdt.md ("Values"), as the node's crdt::CheckValue decides:
// one JSON text (JSON.parse follows RFC 8259's grammar) nested at most 64 deep, whose
// numbers are all finite doubles and whose strings are Unicode text (an escaped lone
// surrogate, "\ud800", is refused). The caller checks UTF-8 and the size.
function isJsonText(text) {
  const ok = (x) => typeof x === "number" ? Number.isFinite(x)
    : typeof x === "string" ? wellFormed(x)
    : x !== null && typeof x === "object"
      ? Object.entries(x).every(([k, v]) => wellFormed(k) && ok(v)) : true;
  if (jsonDepth(text) > OP_VALUE_DEPTH_MAX) return false;
  try {
    return ok(JSON.parse(text));
  } catch {
    return false; // Not JSON.
  }
}

// A *value*: u32 length, then one JSON text of at most 64 KiB.
function putValue(w, text, what) {
  const ok = wellFormed(text) && isJsonText(text);
  need(ok, "BAD_ARGUMENT", `${what} must be one JSON text (a string such as '"Ada"').`);
  const b = utf8(text);
  need(b.length <= OP_VALUE_MAX, "BAD_ARGUMENT",
    `${what} is ${b.length} bytes; at most ${OP_VALUE_MAX}.`);
  w.u32(b.length);
  w.bytes(b);
}

function count(list, what) {
  const ok = Array.isArray(list) && list.length >= 1 && list.length <= OP_ITEMS_MAX;
  need(ok, "BAD_ARGUMENT", `${what}: 1 to ${OP_ITEMS_MAX} of them.`);
  return list.length;
}

// An element id as the node writes it, "ENTRY_ID_HEX:INDEX", to { entry, index }.
export function parseElemId(text) {
  const m = typeof text === "string" && /^([0-9a-fA-F]{64}):([0-9]{1,5})$/.exec(text);
  need(m && Number(m[2]) <= 0xffff, "BAD_ARGUMENT",
    `An element id is ENTRY_ID_HEX:INDEX (64 hex digits, an index to 65535): ${text}`);
  return { entry: fromHex(m[1]), index: Number(m[2]) };
}

function putId(w, id) {
  w.bytes(bytes32(id.entry, "An element id's entry"));
  need(Number.isInteger(id.index) && id.index >= 0 && id.index <= 0xffff, "BAD_ARGUMENT",
    "An element id's index is an integer 0 to 65535.");
  w.u16(id.index);
}

function putIds(w, ids, what) {
  w.u16(count(ids, what));
  for (const t of ids) {
    putId(w, typeof t === "string" ? parseElemId(t) : t);
  }
}

// The header: format, type, action, flags (bit 0: personal), hlc, the object name.
function opHeader(type, action, { personal, name, hlc }) {
  const w = opWriter();
  w.u8(OP_FORMAT);
  w.u8(OP_TYPES[type]);
  w.u8(action);
  w.u8(personal ? 1 : 0);
  w.u64(parseHlc(hlc));
  const n = plainText(name, "The object name", 1, OP_NAME_MAX);
  w.u8(n.length);
  w.bytes(n);
  return w;
}

// Unsigned bytewise order of UTF-8 (a proper prefix first), as the format sorts fields.
function compareBytes(a, b) {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return a.length - b.length;
}

// Map update. fields: { FIELD: JSON_TEXT or null (delete) } or [[FIELD, JSON_TEXT|null]];
// they are sorted here into the strictly increasing byte order the format requires.
export function encodeMapUpdate({ personal = false, name, hlc, fields }) {
  const list = Array.isArray(fields) ? fields : Object.entries(fields ?? {});
  const w = opHeader("map", 1, { personal, name, hlc });
  w.u16(count(list, "The fields of a map update"));
  const sorted = list.map(([f, v]) => [plainText(f, "A map field", 1, OP_FIELD_MAX), f, v])
    .sort((a, b) => compareBytes(a[0], b[0]));
  sorted.forEach(([fb, f, v], i) => {
    need(i === 0 || compareBytes(sorted[i - 1][0], fb) < 0, "BAD_ARGUMENT",
      `The field '${f}' is given twice.`);
    w.u8(fb.length);
    w.bytes(fb);
    w.u8(v === null || v === undefined ? 0 : 1);
    if (v !== null && v !== undefined) putValue(w, v, `The value of '${f}'`);
  });
  return w.done();
}

// Set add: each element (a JSON text) gets the tag (this entry's id, its index).
export function encodeSetAdd({ personal = false, name, hlc, elements }) {
  const w = opHeader("set", 1, { personal, name, hlc });
  w.u16(count(elements, "The elements of a set add"));
  for (const e of elements) putValue(w, e, "A set element");
  return w.done();
}

// Set remove: the element and the add tags of it the writer observed ("HEX:INDEX" strings
// as the node lists them, or { entry: 32 bytes, index }).
export function encodeSetRemove({ personal = false, name, hlc, element, tags }) {
  const w = opHeader("set", 2, { personal, name, hlc });
  putValue(w, element, "The set element");
  putIds(w, tags, "The tags of a set remove");
  return w.done();
}

// Sequence insert of values (JSON texts) after the element id `after`, or at the head.
export function encodeSeqInsert({ personal = false, name, hlc, after = null, values }) {
  const w = opHeader("seq", 1, { personal, name, hlc });
  w.u8(after === null ? 0 : 1);
  if (after !== null) putId(w, typeof after === "string" ? parseElemId(after) : after);
  w.u16(count(values, "The values of a sequence insert"));
  for (const v of values) putValue(w, v, "A sequence value");
  return w.done();
}

export function encodeSeqDelete({ personal = false, name, hlc, elements }) {
  const w = opHeader("seq", 2, { personal, name, hlc });
  putIds(w, elements, "The elements of a sequence delete");
  return w.done();
}

// Counter add of a non-zero signed 64-bit delta (a BigInt or a safe integer).
export function encodeCounterAdd({ personal = false, name, hlc, delta }) {
  const ok = typeof delta === "bigint" || Number.isSafeInteger(delta);
  const d = ok ? BigInt(delta) : 0n;
  need(d !== 0n && d >= -(1n << 63n) && d < 1n << 63n, "BAD_ARGUMENT",
    "A counter delta is a non-zero signed 64-bit integer.");
  const w = opHeader("counter", 1, { personal, name, hlc });
  w.u64(d & U64);
  return w.done();
}

// The draft of a kind 3 entry after a feed head (docs/entry-format.md, "The next entry of a
// feed", rule 3, as store::NextOpClock writes it): the clock is taken from `seen` (the
// node's GET /api/v1/clock, and this writer's own last clock), the payload is encode(hlc),
// and the timestamp is at least the clock's milliseconds so that the operation keeps its
// clock bound (docs/crdt.md, "The clock bound").
export function crdtDraft(head, { authorKey, group, seen, nowMs, encode }) {
  const hlc = hlcForWrite(seen, nowMs);
  const draft = draftAfterHead(head, {
    authorKey, kind: CRDT_KIND, group, payload: encode(hlc), nowMs,
  });
  const ms = hlcMs(hlc);
  if (draft.timestampMs < ms) draft.timestampMs = ms;
  return { draft, hlc };
}

// The personal objects of the social data (src/model/data.h), in group `catalog`.
export const SOCIAL_GROUP = "catalog";

// A profile field as the pages show it (src/http/pages.cc FieldText): a JSON string's text,
// any other JSON value as JSON, "" when the field is not set.
export function profileFieldText(value) {
  if (value === undefined) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}

// A profile update: each field a text to set, or "" / null to delete the field.
export function profileOp(hlc, fields) {
  const list = Object.entries(fields).map(([f, v]) => {
    if (v === null || v === undefined || v === "") return [f, null];
    need(wellFormed(String(v)), "BAD_ARGUMENT", `The ${f} is not valid Unicode text.`);
    return [f, JSON.stringify(String(v))];
  });
  return encodeMapUpdate({ personal: true, name: "profile", hlc, fields: list });
}

// Follow (an add of the author id as a JSON string) or unfollow (a remove of it by the
// live tags GET /api/v1/authors/ME/follows lists for it, at most 1,024 as the node takes).
export function followOp(hlc, authorId, follow, tags = []) {
  const element = JSON.stringify(authorId);
  if (follow) return encodeSetAdd({ personal: true, name: "follows", hlc, elements: [element] });
  need(tags.length > 0, "NOT_FOUND", `You do not follow ${authorId}.`);
  return encodeSetRemove({
    personal: true, name: "follows", hlc, element, tags: tags.slice(0, OP_ITEMS_MAX),
  });
}

// ---- DOM glue (browser only) ----

const $ = (id) => document.getElementById(id);

// Fetches JSON; a non-2xx answer becomes an Error with the node's code and sentence.
async function api(path, init) {
  const res = await fetch(path, init).catch((err) => {
    throw codeError("NETWORK", `The node did not answer (${err.message}).`);
  });
  const data = await res.json().catch(() => null);
  if (!res.ok || data === null) {
    const e = data && data.error;
    throw codeError(e && e.code ? e.code : `HTTP_${res.status}`,
      e && e.message ? e.message : `The node answered ${res.status} ${res.statusText}.`);
  }
  return data;
}

function startFront() {
  const list = $("latest");
  if (!list) return;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const connect = () => {
    const ws = new WebSocket(`${scheme}://${location.host}/api/v1/stream?group=catalog`);
    ws.addEventListener("message", (ev) => {
      let item = null;
      try {
        item = catalogItem(JSON.parse(ev.data));
      } catch {
        // Not JSON: ignored, like any message that is no catalog record.
      }
      if (item) addLatest(list, item);
    });
    ws.addEventListener("close", () => setTimeout(connect, 2000));
  };
  connect();
}

function link(href, text, cls) {
  const a = document.createElement("a");
  a.href = href;
  a.textContent = text;
  if (cls) a.className = cls;
  return a;
}

// The front page's length (kFrontPosts in src/http/pages.cc).
const FRONT_POSTS = 20;

function addLatest(list, item) {
  const items = () => Array.from(list.querySelectorAll("li.post"));
  if (items().some((li) => li.dataset.id === item.id)) return;
  const at = latestSlot(items().map((li) => li.dataset.order || ""), item.order, FRONT_POSTS);
  if (at < 0) return;
  const li = document.createElement("li");
  li.className = "post";
  li.dataset.id = item.id;
  li.dataset.order = item.order;
  const author = link(`/a/${encodeURIComponent(item.author)}`, item.authorShort, "author");
  author.title = item.author;
  const time = document.createElement("time");
  time.dateTime = item.iso;
  time.textContent = item.local;
  // The same shape as the items the server renders.
  const meta = document.createElement("span");
  meta.className = "meta";
  meta.append("by ", author);
  if (item.group) meta.append(" in ", link(`/g/${item.group}`, item.group, "group"));
  meta.append(" · ", time);
  li.append(link(`/p/${item.id}`, item.title, "title"), " ", meta);
  const before = items()[at];
  if (before) list.insertBefore(li, before);
  else list.append(li);
  const empty = $("latest-empty");
  if (empty) empty.remove();
  for (const old of items().slice(FRONT_POSTS)) old.remove();
}

async function startPost() {
  const post = $("post");
  const badge = $("sig-badge");
  if (!post || !badge) return;
  const source = $("source");
  const verdict = await checkPost({
    entryHex: post.dataset.entry, authorKeyHex: post.dataset.authorKey,
    sourceText: source ? source.textContent : null,
  });
  const texts = {
    valid: "Signature verified", invalid: "Signature does NOT verify",
    unsupported: "This browser cannot check signatures",
  };
  badge.dataset.state = verdict.state;
  badge.textContent = texts[verdict.state];
  badge.title = verdict.reason;
}

const KEY_STORAGE = "pando.key";
const authorIds = new Map(); // Public key hex -> printable author id.

async function storedKey() {
  const text = localStorage.getItem(KEY_STORAGE);
  return text ? importKeyText(text) : null;
}

// The printable id needs BLAKE2b, which WebCrypto lacks: the node computes it.
async function authorIdOf(publicKeyRaw) {
  const hex = toHex(publicKeyRaw);
  if (!authorIds.has(hex)) authorIds.set(hex, (await api(`/api/v1/author-id?key=${hex}`)).author);
  return authorIds.get(hex);
}

async function showAuthor() {
  const out = $("key-author");
  if (!out) return;
  try {
    const key = await storedKey();
    out.textContent = key ? await authorIdOf(key.publicKeyRaw) : "";
  } catch (err) {
    out.textContent = errorText(err);
  }
}

// One signing step at a time in this page: two at once would race for the same seq.
let signing = Promise.resolve();
function oneAtATime(fn) {
  const run = signing.then(fn, fn);
  signing = run.catch(() => {});
  return run;
}

function feedHead(authorId, group) {
  const q = `author=${encodeURIComponent(authorId)}&group=${encodeURIComponent(group)}`;
  return api(`/api/v1/head?${q}`);
}

async function submitEntry(key, draft) {
  const entry = await signEntry(key.privateKey, draft);
  const res = await api("/api/v1/entries", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ entry: toHex(entry) }),
  });
  return res.id;
}

// Signs the next entry of the author's feed in group and stores it; returns its id.
function append(key, authorId, kind, group, payload) {
  return oneAtATime(async () => {
    const head = await feedHead(authorId, group);
    return submitEntry(key, draftAfterHead(head, {
      authorKey: key.publicKeyRaw, kind, group, payload, nowMs: Date.now(),
    }));
  });
}

// This page's newest own clock reading: with the node's, what the next operation follows.
let lastHlc = 0n;

// Signs a CRDT operation, encode(hlc), as the next kind 3 entry of the author's feed in
// `catalog` and stores it; returns its id. The clock follows GET /api/v1/clock (a decimal
// string: the reading exceeds 2^53) and this page's previous operation.
function appendOp(key, authorId, encode) {
  return oneAtATime(async () => {
    const [head, clock] = await Promise.all([
      feedHead(authorId, SOCIAL_GROUP), api("/api/v1/clock"),
    ]);
    const nodeHlc = parseHlc(clock.hlc);
    const { draft, hlc } = crdtDraft(head, {
      authorKey: key.publicKeyRaw, group: SOCIAL_GROUP, nowMs: Date.now(), encode,
      seen: nodeHlc > lastHlc ? nodeHlc : lastHlc,
    });
    const id = await submitEntry(key, draft);
    lastHlc = hlc;
    return id;
  });
}

// A post is two entries: the post in its group, then its catalog record (docs/web.md).
async function publish(key, group, text) {
  if (!isValidGroup(group)) throw groupError(group);
  const authorId = await authorIdOf(key.publicKeyRaw);
  const title = postTitle(text);
  const postId = await append(key, authorId, 1, group, utf8(text));
  try {
    await append(key, authorId, 2, "catalog", catalogPayload(title, group, postId));
  } catch (err) {
    throw codeError(err.code, `The post /p/${postId} is stored, its catalog record is not: ` +
      err.message);
  }
  return { postId, title };
}

function startWrite() {
  const backup = $("key-backup");
  // Key messages go to #key-status where the page has one, else to an alert.
  const tell = (text) => ($("key-status") ? ($("key-status").textContent = text) : alert(text));
  // Each key button runs one async step; a failure is shown, not lost in the console.
  const on = (id, fn) => $(id).addEventListener("click", () =>
    fn().then((done) => done && tell(done), (err) => tell(errorText(err))));
  on("key-create", async () => {
    if (localStorage.getItem(KEY_STORAGE) &&
        !confirm("This browser already has a key. Replace it? Without its backup text, " +
                 "the old key is lost for good.")) return "";
    const pair = await subtle().generateKey({ name: "Ed25519" }, true, ["sign", "verify"]);
    localStorage.setItem(KEY_STORAGE, await exportKeyText(pair.privateKey));
    await showAuthor();
    loadProfile();
    return "New key created. Export it and keep the text somewhere safe.";
  });
  on("key-export", async () => {
    const text = localStorage.getItem(KEY_STORAGE);
    need(text, "NO_KEY", "This browser has no key yet: create or import one.");
    backup.value = text;
    return "Anyone with this text can post as you: keep it secret.";
  });
  on("key-import", async () => {
    const key = await importKeyText(backup.value);
    const text = await exportKeyText(key.privateKey); // The canonical form of the text.
    const old = localStorage.getItem(KEY_STORAGE);
    if (old && old !== text && !confirm("Replace the key this browser holds?")) return "";
    localStorage.setItem(KEY_STORAGE, text);
    await showAuthor();
    loadProfile();
    return "Key imported.";
  });
  $("compose").addEventListener("submit", compose);
  $("profile").addEventListener("submit", saveProfile);
  $("username").addEventListener("submit", registerName);
  showAuthor();
  loadProfile();
  loadNames();
}

// Shows the usernames this browser's author holds, as the node's registry says.
async function loadNames() {
  const out = $("username-current");
  try {
    const key = await storedKey();
    if (!key) return;
    const me = await authorIdOf(key.publicKeyRaw);
    const { names } = await api(`/api/v1/names?owner=${encodeURIComponent(me)}`);
    if (names.length === 0) {
      out.textContent = "You have no username yet.";
      return;
    }
    out.replaceChildren("Your username: ");
    names.forEach((n, i) => out.append(i ? ", " : "", link(`/@${n.name}`, `@${n.name}`)));
  } catch (err) {
    out.textContent = errorText(err);
  }
}

// Signs a registration of the typed name with this browser's key and asks the registry.
async function registerName(ev) {
  ev.preventDefault();
  const status = $("username-status");
  const submit = $("username-submit");
  submit.disabled = true;
  status.textContent = "Registering…";
  try {
    const key = await storedKey();
    need(key, "NO_KEY", "Create or import a key first.");
    const name = normalName($("username-name").value);
    const claim = await signRegistration(key.privateKey, key.publicKeyRaw, name, Date.now());
    await api("/api/v1/names", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ claim: toHex(claim) }),
    });
    status.replaceChildren("Registered: your blog lives at ", link(`/@${name}`, `/@${name}`),
      ".");
    loadNames();
  } catch (err) {
    status.textContent = errorText(err);
  } finally {
    submit.disabled = false;
  }
}

// Fills the profile form with the profile of this browser's author, as the node holds it.
async function loadProfile() {
  const status = $("profile-status");
  try {
    const key = await storedKey();
    if (!key) return;
    const me = await authorIdOf(key.publicKeyRaw);
    const p = await api(`/api/v1/authors/${encodeURIComponent(me)}/profile`);
    $("profile-name").value = profileFieldText(p.fields.name);
    $("profile-bio").value = profileFieldText(p.fields.bio);
    return me;
  } catch (err) {
    status.textContent = errorText(err);
  }
}

// Signs one update of the author's profile: name and bio set, or deleted when empty.
async function saveProfile(ev) {
  ev.preventDefault();
  const status = $("profile-status");
  const submit = $("profile-submit");
  submit.disabled = true;
  status.textContent = "Saving…";
  try {
    const key = await storedKey();
    need(key, "NO_KEY", "Create or import a key first.");
    const me = await authorIdOf(key.publicKeyRaw);
    const fields = { bio: $("profile-bio").value.trim(), name: $("profile-name").value.trim() };
    await appendOp(key, me, (hlc) => profileOp(hlc, fields));
    // The merged state, as every reader sees it (a later write elsewhere may win).
    if ((await loadProfile()) === me) {
      status.replaceChildren("Profile saved: see ", link(`/a/${me}`, "your blog page"), ".");
    }
  } catch (err) {
    status.textContent = errorText(err);
  } finally {
    submit.disabled = false;
  }
}

// The author page's Follow / Unfollow button, for the author of this browser's key.
async function startAuthor() {
  const box = $("follow");
  if (!box) return;
  const button = $("follow-button");
  const status = $("follow-status");
  const target = box.dataset.author;
  let key, me;
  try {
    key = await storedKey();
    if (!key) return; // No key: nothing to follow with.
    me = await authorIdOf(key.publicKeyRaw);
  } catch (err) {
    box.hidden = false;
    button.hidden = true;
    status.textContent = errorText(err);
    return;
  }
  box.hidden = false;
  if (me === target) {
    button.hidden = true;
    status.replaceChildren("This is you: ", link("/write", "edit your profile"), ".");
    return;
  }
  let tags = [];
  // Re-reads whom this browser's author follows; sets the button; returns whether they
  // follow the page's author.
  const refresh = async () => {
    const f = await api(`/api/v1/authors/${encodeURIComponent(me)}/follows`);
    const following = Array.isArray(f.follows) && f.follows.includes(target);
    tags = (f.tags && f.tags[target]) || [];
    button.textContent = following ? "Unfollow" : "Follow";
    button.dataset.following = following ? "1" : "0";
    button.disabled = false;
    return following;
  };
  try {
    await refresh();
  } catch (err) {
    status.textContent = errorText(err);
    return;
  }
  button.addEventListener("click", async () => {
    const follow = button.dataset.following !== "1";
    button.disabled = true;
    status.textContent = follow ? "Following…" : "Unfollowing…";
    try {
      await appendOp(key, me, (hlc) => followOp(hlc, target, follow, tags));
      const now = await refresh();
      status.textContent = now ? "You follow this author." : "You do not follow this author.";
    } catch (err) {
      status.textContent = errorText(err);
      button.disabled = false;
    }
  });
}

async function compose(ev) {
  ev.preventDefault();
  const status = $("compose-status");
  const submit = $("compose-submit");
  const textArea = $("compose-text");
  submit.disabled = true; // One post at a time: a second would race for the same seq.
  status.textContent = "Posting…";
  try {
    const key = await storedKey();
    need(key, "NO_KEY", "Create or import a key first.");
    const group = $("compose-group").value.trim() || "blog";
    const text = textArea.value;
    need(text.trim() !== "", "EMPTY", "Write something first.");
    const { postId, title } = await publish(key, group, text);
    status.replaceChildren("Posted ", link(`/p/${postId}`, title || "(untitled)"));
    textArea.value = "";
  } catch (err) {
    status.textContent = errorText(err);
  } finally {
    submit.disabled = false;
  }
}

if (typeof document !== "undefined") {
  const pages = { front: startFront, post: startPost, write: startWrite, author: startAuthor };
  const start = pages[document.body && document.body.dataset.page];
  if (start) start();
}
