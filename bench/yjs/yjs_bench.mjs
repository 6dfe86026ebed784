// Yjs applying the operations of one pando_bench_crdt workload (bench/README.md,
// "pando_bench_crdt"): the same map field writes or sequence inserts and deletes that the C++
// program gives crdt::Replica, read from the file it wrote.
//
//   node yjs_bench.mjs WORKLOAD_FILE [--text]
//
// Three measurements, each on a fresh Y.Doc with default options:
//   local    each operation applied in its own doc.transact(), with doc.clientID set to the
//            operation's author (Y.Map.set, or Y.Array insert/delete of one element);
//   updates  the update each of those transactions produced (captured from 'update' events in
//            a separate, untimed pass) applied one by one with Y.applyUpdate: what a replica
//            that receives the operations does, and what rebuilding state from them costs;
//   merged   one Y.applyUpdate of Y.encodeStateAsUpdate of the final state.
// With --text a sequence workload also runs on a Y.Text (local and updates), one character per
// element. Every resulting document must hold the same state (size and digest); then one JSON
// line goes to stdout. Anything wrong: a message on stderr and exit code 1.
//
// Workload file (little-endian): "PCRDTWL1", u8 kind (1 map, 2 sequence), u32 operations,
// u32 objects (map) or 0, then per operation:
//   map:       u8 author, u32 object, u8 field length, field, u16 value length, value (JSON)
//   sequence:  u8 author, u8 0 (insert) or 1 (delete), u32 index, and for an insert
//              u16 value length, value (JSON)
// Map object i is doc.getMap('o' + i); the sequence is doc.getArray('seq').
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import * as Y from 'yjs';

const require = createRequire(import.meta.url);
const YJS_VERSION = require('yjs/package.json').version;

function fail(why) {
  process.stderr.write(`yjs_bench: ${why}\n`);
  process.exit(1);
}

const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith('--'));
if (!file) fail('usage: node yjs_bench.mjs WORKLOAD_FILE [--text]');
const withText = args.includes('--text');

// ---- Reading the workload ------------------------------------------------------------------

function readWorkload(path) {
  const buf = readFileSync(path);
  if (buf.toString('latin1', 0, 8) !== 'PCRDTWL1') fail(`${path}: not a workload file`);
  const kind = buf.readUInt8(8);
  const count = buf.readUInt32LE(9);
  const objects = buf.readUInt32LE(13);
  let p = 17;
  const author = new Uint8Array(count);
  const fieldIntern = new Map();
  if (kind === 1) {
    const object = new Uint32Array(count);
    const field = new Array(count);
    const value = new Array(count);
    for (let i = 0; i < count; ++i) {
      author[i] = buf.readUInt8(p);
      object[i] = buf.readUInt32LE(p + 1);
      const fl = buf.readUInt8(p + 5);
      const f = buf.toString('utf8', p + 6, p + 6 + fl);
      if (!fieldIntern.has(f)) fieldIntern.set(f, f);
      field[i] = fieldIntern.get(f);
      p += 6 + fl;
      const vl = buf.readUInt16LE(p);
      value[i] = JSON.parse(buf.toString('utf8', p + 2, p + 2 + vl));
      p += 2 + vl;
    }
    if (p !== buf.length) fail(`${path}: ${buf.length - p} bytes after the last operation`);
    return { kind: 'map', count, objects, author, object, field, value };
  }
  if (kind === 2) {
    const del = new Uint8Array(count);
    const index = new Uint32Array(count);
    const value = new Array(count);
    for (let i = 0; i < count; ++i) {
      author[i] = buf.readUInt8(p);
      del[i] = buf.readUInt8(p + 1);
      index[i] = buf.readUInt32LE(p + 2);
      p += 6;
      if (!del[i]) {
        const vl = buf.readUInt16LE(p);
        value[i] = JSON.parse(buf.toString('utf8', p + 2, p + 2 + vl));
        p += 2 + vl;
      }
    }
    if (p !== buf.length) fail(`${path}: ${buf.length - p} bytes after the last operation`);
    return { kind: 'seq', count, author, del, index, value };
  }
  fail(`${path}: unknown workload kind ${kind}`);
}

// ---- Applying it ---------------------------------------------------------------------------

// Yjs client ids of the workload's authors (any distinct 32-bit numbers).
const clientOf = (a) => 1000 + a;

// Applies every operation to `doc`, one transaction each. `onUpdate`, if given, receives the
// update of each transaction.
function applyLocal(w, doc, onUpdate, text) {
  if (onUpdate) doc.on('update', onUpdate);
  const n = w.count;
  const author = w.author;
  if (w.kind === 'map') {
    const maps = new Array(w.objects);
    for (let o = 0; o < w.objects; ++o) maps[o] = doc.getMap('o' + o);
    const { object, field, value } = w;
    for (let i = 0; i < n; ++i) {
      doc.clientID = clientOf(author[i]);
      const m = maps[object[i]];
      const f = field[i];
      const v = value[i];
      doc.transact(() => m.set(f, v));
    }
  } else {
    const seq = text ? doc.getText('text') : doc.getArray('seq');
    const { del, index, value } = w;
    for (let i = 0; i < n; ++i) {
      doc.clientID = clientOf(author[i]);
      const at = index[i];
      if (del[i]) {
        doc.transact(() => seq.delete(at, 1));
      } else {
        const v = text ? value[i] : [value[i]];
        doc.transact(() => seq.insert(at, v));
      }
    }
  }
  if (onUpdate) doc.off('update', onUpdate);
}

// FNV-1a (32 bits) of the UTF-8 bytes of s.
function fnv1a32(s) {
  const bytes = new TextEncoder().encode(s);
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; ++i) {
    h ^= bytes[i];
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

// The visible state as the C++ program writes it: for a map, one line "o<i> <field> <JSON>"
// per field, objects in index order and fields in byte order; for a sequence, one line per
// element, its value as JSON. Returns its size (fields or elements) and digest.
function stateOf(w, doc, text) {
  const lines = [];
  if (w.kind === 'map') {
    for (let o = 0; o < w.objects; ++o) {
      const m = doc.getMap('o' + o);
      const keys = Array.from(m.keys()).sort();
      for (const k of keys) lines.push(`o${o} ${k} ${JSON.stringify(m.get(k))}\n`);
    }
  } else if (text) {
    for (const c of doc.getText('text').toString()) lines.push(JSON.stringify(c) + '\n');
  } else {
    for (const v of doc.getArray('seq').toArray()) lines.push(JSON.stringify(v) + '\n');
  }
  return { size: lines.length, digest: fnv1a32(lines.join('')) };
}

function sameState(a, b, what) {
  if (a.size !== b.size || a.digest !== b.digest) {
    fail(`${what}: state differs (size ${a.size} vs ${b.size}, digest ${a.digest} vs ${b.digest})`);
  }
}

// Runs the three measurements on one kind of document (text: a Y.Text for the sequence).
function measure(w, text) {
  // local
  let doc = new Y.Doc();
  let t0 = performance.now();
  applyLocal(w, doc, null, text);
  const localS = (performance.now() - t0) / 1e3;
  const state = stateOf(w, doc, text);
  doc.destroy();

  // The updates, untimed.
  const updates = new Array(w.count);
  let k = 0;
  doc = new Y.Doc();
  applyLocal(w, doc, (u) => { updates[k++] = u; }, text);
  if (k !== w.count) fail(`${k} updates for ${w.count} operations`);
  doc.destroy();
  let updateBytes = 0;
  for (const u of updates) updateBytes += u.length;

  // updates
  doc = new Y.Doc();
  t0 = performance.now();
  for (let i = 0; i < updates.length; ++i) Y.applyUpdate(doc, updates[i]);
  const updatesS = (performance.now() - t0) / 1e3;
  sameState(state, stateOf(w, doc, text), 'applying the updates');
  const merged = Y.encodeStateAsUpdate(doc);
  doc.destroy();

  // merged
  doc = new Y.Doc();
  t0 = performance.now();
  Y.applyUpdate(doc, merged);
  const mergedS = (performance.now() - t0) / 1e3;
  sameState(state, stateOf(w, doc, text), 'applying the merged state');
  doc.destroy();

  return {
    local_s: localS,
    updates_s: updatesS,
    update_bytes: updateBytes,
    merged_s: mergedS,
    merged_bytes: merged.length,
    size: state.size,
    digest: state.digest,
  };
}

const w = readWorkload(file);
const out = {
  yjs_version: YJS_VERSION,
  node_version: process.versions.node,
  kind: w.kind,
  ops: w.count,
  ...measure(w, false),
};
if (withText && w.kind === 'seq') {
  const t = measure(w, true);
  if (t.size !== out.size || t.digest !== out.digest) {
    fail(`Y.Text and Y.Array states differ (size ${t.size} vs ${out.size})`);
  }
  out.text = { local_s: t.local_s, updates_s: t.updates_s, update_bytes: t.update_bytes,
    merged_s: t.merged_s, merged_bytes: t.merged_bytes };
}
process.stdout.write(JSON.stringify(out) + '\n');
