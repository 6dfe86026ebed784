// End-to-end test of the web UI (docs/web.md) in headless Chromium against a 3-node devnet:
// a key made and backed up in the browser, a post written on node A that appears live on
// node B's open front page, found by search on node C, its permalink's signature badge,
// hostile Markdown that must stay inert, a node that alters a post being caught by the
// badge, and a profile (with a hostile name) and a follow signed in the browser, shown
// escaped on another node, then the follow undone. Screenshots of each step are saved as
// artifacts.
//
//   PANDO_BIN=build/src/cli/pando node tests/web/e2e_test.mjs   (or the binary as argument)
//
// PANDO_ARTIFACTS names the screenshot directory (default: a directory under the system's
// temporary directory; the path is printed). Exits 0 on success, 1 on failure, 77 (skipped)
// when tests/web/node_modules is missing (scripts/install-deps.sh runs npm ci here). Every
// process it starts is stopped on every path; a watchdog fails the test after 120 s.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CHROMIUM = "/usr/bin/chromium";
const WATCHDOG_MS = 120_000;
const LIVE_MS = 2_000; // A post must reach another node's open front page this fast.
const SEARCH_MS = 5_000; // The search index may trail the post by a moment.
const STEP_MS = 15_000; // Any single wait of a step.

const started = Date.now();
const log = (msg) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`);

if (!existsSync(path.join(HERE, "node_modules", "playwright-core"))) {
  console.log("SKIP: tests/web/node_modules is missing, so playwright-core cannot be loaded. " +
    "Run scripts/install-deps.sh (it runs npm ci in tests/web).");
  process.exit(77);
}
const { chromium } = await import("playwright-core");

// ---- Processes: everything started is stopped on every path ----

let devnet = null; // The `pando devnet` supervisor, leader of its own process group.
let devnetExited = null; // Resolves when it exits.
let browser = null;
let workDir = null;
let failed = false;
let aborting = false; // The watchdog fired or a signal came: the test is being stopped.
const openPages = new Map(); // label -> page, for screenshots on failure.
const problems = []; // Dialogs and uncaught page errors: each fails the test.

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function stopDevnet() {
  if (!devnet || !devnet.pid || devnet.exitCode !== null || devnet.signalCode !== null) return;
  // The supervisor stops its nodes on SIGTERM (SIGTERM, then SIGKILL after 15 s).
  devnet.kill("SIGTERM");
  const done = await Promise.race([devnetExited.then(() => true), sleep(20_000, false)]);
  if (!done) {
    log("the devnet did not stop within 20 s of SIGTERM: SIGKILL to its process group");
    try {
      process.kill(-devnet.pid, "SIGKILL");
    } catch {}
    await Promise.race([devnetExited, sleep(2_000)]);
  }
}

// Nodes left running by a supervisor that died (they share its process group).
function killStrayNodes() {
  if (!devnet || !devnet.pid) return;
  try {
    process.kill(-devnet.pid, "SIGKILL");
  } catch {}
}

let cleanupPromise = null;
function cleanup() {
  cleanupPromise ??= (async () => {
    if (failed) await saveFailureArtifacts().catch((e) => log(`failure artifacts: ${e.message}`));
    if (browser) {
      await Promise.race([browser.close().catch(() => {}), sleep(10_000)]);
    }
    await stopDevnet().catch((e) => log(`stopping the devnet: ${e.message}`));
    killStrayNodes();
    if (workDir && !failed) rmSync(workDir, { recursive: true, force: true });
    else if (workDir) log(`the devnet's directory (node logs) is kept: ${workDir}`);
  })();
  return cleanupPromise;
}

// Last resort if the process exits some other way: no node outlives the test.
process.on("exit", () => {
  if (devnet && devnet.pid && devnet.exitCode === null && devnet.signalCode === null) {
    try {
      process.kill(-devnet.pid, "SIGKILL");
    } catch {}
  }
});
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, () => {
    console.error(`FAIL: interrupted by ${sig}`);
    aborting = true;
    failed = true;
    cleanup().finally(() => process.exit(1));
  });
}

const watchdog = setTimeout(() => {
  aborting = true;
  console.error(`FAIL: watchdog: the test did not finish within ${WATCHDOG_MS / 1000} s`);
  failed = true;
  cleanup().finally(() => process.exit(1));
}, WATCHDOG_MS);

// ---- Helpers ----

const artifacts = path.resolve(process.env.PANDO_ARTIFACTS ||
  path.join(tmpdir(), "pando-web-artifacts"));

async function shot(page, name) {
  const file = path.join(artifacts, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  log(`screenshot ${file}`);
}

async function saveFailureArtifacts() {
  mkdirSync(artifacts, { recursive: true });
  for (const [label, page] of openPages) {
    if (page.isClosed()) continue;
    const name = `failure-${label.replace(/[^A-Za-z0-9]+/g, "-")}`;
    await Promise.race([shot(page, name).catch(() => {}), sleep(5_000)]);
  }
  if (workDir) {
    for (let i = 0; i < 3; i++) {
      const from = path.join(workDir, `node-${i}`, "node.log");
      if (existsSync(from)) copyFileSync(from, path.join(artifacts, `failure-node-${i}.log`));
    }
  }
}

// Resolves with the promise's value, or rejects with message after ms.
async function within(ms, promise, message) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function getJson(url) {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  const body = await res.json();
  if (!res.ok) throw new Error(`${url}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

// Waits until the node at base holds entry id (GET /api/v1/wait, docs/api.md).
async function waitHeld(base, id, what) {
  const r = await getJson(`${base}/api/v1/wait?id=${id}&timeout_ms=4000`);
  assert.equal(r.held, true, `${what}: the node at ${base} did not receive entry ${id} in 4 s`);
}

function checkProblems() {
  assert.deepEqual(problems, [], `the pages misbehaved:\n  ${problems.join("\n  ")}`);
}

async function newPage(context, label) {
  const page = await context.newPage();
  openPages.set(label, page);
  page.on("dialog", (d) => {
    problems.push(`${label}: a ${d.type()} dialog opened (${JSON.stringify(d.message())})`);
    d.dismiss().catch(() => {});
  });
  page.on("pageerror", (e) => problems.push(`${label}: uncaught error in the page: ${e.message}`));
  page.on("console", (m) => {
    const url = m.location().url || "";
    // Chromium asks every node for /favicon.ico, which it does not serve.
    if (m.type() === "error" && !url.endsWith("/favicon.ico")) {
      log(`${label}: console error: ${m.text()} ${url}`);
    }
  });
  return page;
}

// Waits for the post page's badge to leave "pending" and returns { state, reason, text }.
async function badgeVerdict(page) {
  await page.waitForFunction(() => {
    const b = document.getElementById("sig-badge");
    return b && b.dataset.state !== "pending";
  }, null, { timeout: STEP_MS });
  return page.$eval("#sig-badge", (b) => ({
    state: b.dataset.state, reason: b.title, text: b.textContent,
  }));
}

const hexOf = (text) => Buffer.from(text, "utf8").toString("hex");
const nonce = randomBytes(4).toString("hex");

// ---- The test ----

let nodeAuthors = []; // The author id of each devnet node, by index.

// Starts `pando devnet 3` and waits until every node has started and has peers.
async function startDevnet(bin) {
  workDir = mkdtempSync(path.join(tmpdir(), "pando-web-e2e-"));
  const dir = path.join(workDir, "net");
  const outFile = path.join(workDir, "devnet.out");
  const out = openSync(outFile, "a");
  log(`starting ${bin} devnet 3 --dir ${dir} --group blog`);
  // Its own process group, so that the nodes it forks can be killed with it if need be.
  devnet = spawn(bin, ["devnet", "3", "--dir", dir, "--group", "blog"], {
    detached: true, stdio: ["ignore", out, out],
  });
  closeSync(out);
  let spawnError = null;
  devnetExited = new Promise((resolve) => {
    devnet.once("exit", resolve);
    devnet.once("error", (e) => {
      spawnError = e;
      resolve();
    });
  });
  devnet.once("exit", (code, sig) => {
    if (!cleanupPromise) problems.push(`pando devnet exited (status ${code}, signal ${sig})`);
  });
  const over = () => spawnError || devnet.exitCode !== null || devnet.signalCode !== null;
  const exitedEarly = () => {
    if (spawnError) return new Error(`cannot run ${bin}: ${spawnError.message}`);
    const text = existsSync(outFile) ? readFileSync(outFile, "utf8") : "";
    const how = devnet.signalCode ? `signal ${devnet.signalCode}` : `status ${devnet.exitCode}`;
    return new Error(`pando devnet exited during start-up (${how}):\n${text}`);
  };

  const file = path.join(dir, "devnet.json");
  let nodes = null;
  for (const until = Date.now() + 30_000; !nodes; await sleep(100)) {
    if (over()) throw exitedEarly();
    assert.ok(Date.now() < until, `no complete ${file} within 30 s`);
    try {
      const j = JSON.parse(readFileSync(file, "utf8"));
      if (j.nodes && j.nodes.length === 3 && j.nodes.every((n) => n.http)) nodes = j.nodes;
    } catch {
      // Not written yet, or half written.
    }
  }
  nodes.sort((a, b) => a.index - b.index);
  const bases = nodes.map((n) => `http://${n.http}`);
  nodeAuthors = nodes.map((n) => n.id);

  // started: true (joined the overlays), a peer, and a neighbour in every group.
  for (const base of bases) {
    let st = null;
    for (const until = Date.now() + 30_000; ; await sleep(200)) {
      if (over()) throw exitedEarly();
      st = await getJson(`${base}/api/v1/status`).catch(() => null);
      const ready = st && st.started === true && st.peers.length > 0 &&
        st.groups.length === 2 && st.groups.every((g) => g.neighbours.length > 0);
      if (ready) break;
      assert.ok(Date.now() < until,
        `${base} did not start with peers within 30 s: ${JSON.stringify(st)}`);
    }
    log(`${base} started: ${st.peers.length} peers, groups ` +
      st.groups.map((g) => `${g.name} (${g.neighbours.length} neighbours)`).join(", "));
  }
  return bases;
}

async function main() {
  const given = process.argv[2] || process.env.PANDO_BIN;
  assert.ok(given, "give the pando binary as PANDO_BIN=... or as the first argument");
  const bin = path.resolve(given);
  assert.ok(existsSync(bin), `the pando binary ${bin} does not exist: build it first`);
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium ` +
    "(scripts/install-deps.sh)");
  mkdirSync(artifacts, { recursive: true });
  log(`artifacts (screenshots): ${artifacts}`);

  const [A, B, C] = await startDevnet(bin);
  log(`node A ${A}, node B ${B}, node C ${C}`);

  // Our own signal handlers stop the devnet too; Playwright still kills Chromium at exit.
  browser = await chromium.launch({
    executablePath: CHROMIUM, args: ["--no-sandbox"],
    handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false,
  });
  log(`chromium ${browser.version()}`);
  const viewport = { width: 1000, height: 700 };

  // 1. A key made in the browser on node A's /write, exported, and imported elsewhere.
  const author = await browser.newContext({ viewport });
  const write = await newPage(author, "A write");
  await write.goto(`${A}/write`);
  await write.click("#key-create");
  await write.waitForFunction(() => /^pd[a-z0-9]{20,}$/.test(
    document.getElementById("key-author").textContent), null, { timeout: STEP_MS });
  const authorId = await write.textContent("#key-author");
  log(`key created in the browser: author ${authorId}`);
  await write.click("#key-export");
  await write.waitForFunction(() => document.getElementById("key-backup").value !== "", null,
    { timeout: STEP_MS });
  const backup = await write.inputValue("#key-backup");
  assert.ok(backup.startsWith("pando-key-v1:"),
    `#key-backup should start with "pando-key-v1:": ${JSON.stringify(backup.slice(0, 40))}`);
  await write.fill("#key-backup", ""); // The secret stays out of the screenshots.

  const device2 = await browser.newContext({ viewport });
  const imp = await newPage(device2, "B write import");
  await imp.goto(`${B}/write`);
  assert.equal(await imp.textContent("#key-author"), "", "a fresh browser holds no key");
  await imp.fill("#key-backup", backup);
  await imp.click("#key-import");
  await imp.waitForFunction(() => document.getElementById("key-author").textContent !== "",
    null, { timeout: STEP_MS });
  assert.equal(await imp.textContent("#key-author"), authorId,
    "the imported key should be the same author");
  assert.equal(await imp.textContent("#key-status"), "Key imported.");
  log("key exported and imported into a second browser context: same author id");
  openPages.delete("B write import");
  await device2.close();
  checkProblems();

  // 2. Node B's front page, open before the post is written, its stream connected.
  const readers = await browser.newContext({ viewport });
  await readers.addInitScript(() => {
    // Content-Security-Policy violations of each document, for the hostile post below.
    window.__csp = [];
    document.addEventListener("securitypolicyviolation",
      (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  const front = await newPage(readers, "B front");
  const cdp = await readers.newCDPSession(front);
  await cdp.send("Network.enable");
  const wsUrls = new Map();
  cdp.on("Network.webSocketCreated", (ev) => wsUrls.set(ev.requestId, ev.url));
  const streamOpen = new Promise((resolve) => {
    cdp.on("Network.webSocketHandshakeResponseReceived", (ev) => {
      const url = wsUrls.get(ev.requestId) || "";
      if (ev.response.status === 101 && url.endsWith("/api/v1/stream?group=catalog")) resolve();
    });
  });
  await front.goto(`${B}/`);
  // The node subscribes a follower before it answers the handshake: from here on, every
  // catalog record B stores reaches the page.
  await within(STEP_MS, streamOpen, "B's front page did not open /api/v1/stream?group=catalog");
  await front.evaluate(() => {
    window.__seenAt = {}; // Entry id -> Date.now() when its item appeared.
    new MutationObserver((records) => {
      for (const r of records) {
        for (const n of r.addedNodes) {
          if (n.nodeType === 1 && n.matches("li.post")) window.__seenAt[n.dataset.id] ??= Date.now();
        }
      }
    }).observe(document.getElementById("latest"), { childList: true });
  });
  log("B's front page is open and its WebSocket stream connected");

  // 3. A post written and signed on node A.
  // The answers to POST /api/v1/entries, each with the wall-clock time the browser got it
  // (the browser's network timing: this process hears of it later). B's page stamps items
  // with Date.now() of the same machine's clock.
  const created = [];
  write.on("response", (r) => {
    if (r.request().method() !== "POST" || r.url() !== `${A}/api/v1/entries`) return;
    const t = r.request().timing();
    const at = t.startTime > 0 && t.responseStart >= 0 ? t.startTime + t.responseStart : Date.now();
    created.push({ at: Math.round(at), status: r.status(), res: r });
  });
  const title = `E2E zebrafinch ${nonce}`;
  const text = `# ${title}\n\nWritten in headless Chromium on node A, signed in the browser.\n\n` +
    "Pay 100 coins to alice.\n\n- one\n- **two**\n";
  await write.fill("#compose-text", text);
  await write.click("#compose-submit");
  await write.waitForFunction(() => /^(Posted|error)/.test(
    document.getElementById("compose-status").textContent), null, { timeout: STEP_MS });
  const status = await write.textContent("#compose-status");
  assert.match(status, /^Posted /, `posting on A failed: ${status}`);
  const href = await write.getAttribute("#compose-status a", "href");
  const postId = (/^\/p\/([0-9a-f]{64})$/.exec(href) || [])[1];
  assert.ok(postId, `#compose-status should link to /p/ID: ${href}`);
  assert.equal(created.length, 2, "a post is two entries: the post and its catalog record");
  assert.deepEqual(created.map((c) => c.status), [201, 201]);
  assert.equal((await created[0].res.json()).id, postId, "the first 201 is the post's");
  log(`posted on A: /p/${postId}`);

  // 4. It appears on B's open front page within 2 s of the post's 201, without a reload.
  const item = `#latest li.post[data-id="${postId}"]`;
  const left = created[0].at + LIVE_MS - Date.now();
  await front.waitForSelector(item, { timeout: Math.max(left, 1) }).catch(() => {
    throw new Error(`the post did not appear on B's open front page within ${LIVE_MS} ms ` +
      "of its 201 on A");
  });
  const seenAt = await front.evaluate((id) => window.__seenAt && window.__seenAt[id], postId);
  assert.ok(seenAt, "B's front page was reloaded: the item should arrive over the WebSocket");
  const delay = seenAt - created[0].at;
  log(`LIVE: the post was on B's front page ${delay} ms after its 201 on A ` +
    `(${seenAt - created[1].at} ms after its catalog record's 201)`);
  assert.ok(delay <= LIVE_MS, `the post took ${delay} ms to reach B's front page`);
  assert.equal(await front.textContent(`${item} a.title`), title);
  assert.equal(await front.getAttribute(`${item} a.title`, "href"), `/p/${postId}`);
  assert.equal(await front.getAttribute(`${item} a.author`, "href"), `/a/${authorId}`);
  assert.equal(await front.locator("#latest-empty").count(), 0, "'No posts yet' should be gone");
  await shot(write, "1-node-A-write-posted");
  await shot(front, "2-node-B-front-live");
  checkProblems();

  // 5. Found by search on node C (through the header's search form), then its permalink.
  const search = await newPage(readers, "C search");
  await search.goto(`${C}/`);
  await search.fill("#search input[name=q]", "zebrafinch");
  await Promise.all([
    search.waitForURL(`${C}/search?q=zebrafinch`, { timeout: STEP_MS }),
    search.press("#search input[name=q]", "Enter"),
  ]);
  const result = `#results li.post a.title[href="/p/${postId}"]`;
  for (const until = Date.now() + SEARCH_MS; ; await sleep(250)) {
    if ((await search.locator(result).count()) > 0) break;
    assert.ok(Date.now() < until,
      `searching "zebrafinch" on C found no link to /p/${postId} within ${SEARCH_MS} ms`);
    await search.reload();
  }
  assert.equal(await search.textContent(result), title);
  log(`search on C: ${await search.textContent("#search-count")}`);
  await shot(search, "3-node-C-search");

  await waitHeld(C, postId, "the post");
  await Promise.all([search.waitForURL(`${C}/p/${postId}`), search.click(result)]);
  const v = await badgeVerdict(search);
  assert.equal(v.state, "valid", `the badge on C should be valid: ${JSON.stringify(v)}`);
  assert.equal(v.text, "Signature verified");
  const shown = await search.$eval("#post", (p) => ({
    id: p.dataset.id, author: p.dataset.author, h1: p.querySelector(".body h1").textContent,
    source: document.getElementById("source").textContent, title: document.title,
  }));
  assert.deepEqual(shown, { id: postId, author: authorId, h1: title, source: text,
    title: `${title} · Pando` });
  log("permalink on C: Signature verified");
  await shot(search, "4-node-C-permalink-valid");
  checkProblems();

  // 6. Hostile Markdown, posted on A, read on B: inert, shown as text, still verified.
  const hostileTitle = `Hostile ${nonce} "><svg onload="window.__pwned=1;alert('title')">`;
  const hostileText = [
    `# ${hostileTitle}`,
    "<script>window.__pwned = 1; alert('script')</script>",
    `<img src=x onerror="window.__pwned=1;alert('img')">`,
    "[click](javascript:window.__pwned=1)",
    "[shout](JaVaScRiPt:alert('case'))",
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    `<iframe src="javascript:alert('iframe')"></iframe>`,
    `<a href="javascript:alert('raw')">raw link</a>`,
    "<style>body { display: none }</style>",
    `<form action="https://example.invalid/"><button>go</button></form>`,
    `<p onmouseover="alert('p')">hover</p>`,
    `Inline <svg onload="alert('inline')"></svg> and <b onclick="alert('b')">bold</b>.`,
    "Plain **text** and `<script>code</script>` survive.",
  ].join("\n\n") + "\n";
  created.length = 0;
  await write.fill("#compose-text", hostileText);
  await write.click("#compose-submit");
  await write.waitForFunction((prev) => {
    const s = document.getElementById("compose-status");
    return /^error/.test(s.textContent) || (s.querySelector("a") &&
      s.querySelector("a").getAttribute("href") !== prev);
  }, href, { timeout: STEP_MS });
  const hostileStatus = await write.textContent("#compose-status");
  assert.match(hostileStatus, /^Posted /, `posting the hostile post failed: ${hostileStatus}`);
  const hostileId = (await write.getAttribute("#compose-status a", "href")).slice(3);
  assert.equal(hostileStatus, `Posted ${hostileTitle}`, "the status shows the title as text");
  log(`hostile post on A: /p/${hostileId}`);

  await waitHeld(B, hostileId, "the hostile post");
  const hostile = await newPage(readers, "B hostile");
  await hostile.goto(`${B}/p/${hostileId}`);
  const hv = await badgeVerdict(hostile);
  assert.equal(hv.state, "valid", `the hostile post's badge should be valid: ${JSON.stringify(hv)}`);
  const inspect = () => hostile.evaluate(() => {
    const body = document.querySelector("#post .body");
    const tags = "script, iframe, frame, object, embed, svg, math, style, link, meta, base, form";
    const handlers = [];
    for (const el of document.querySelectorAll("*")) {
      for (const a of el.attributes) {
        if (/^on/i.test(a.name)) handlers.push(`<${el.localName} ${a.name}>`);
      }
    }
    return {
      pwned: typeof window.__pwned,
      elements: Array.from(body.querySelectorAll(tags), (e) => e.outerHTML.slice(0, 80)),
      handlers,
      links: Array.from(body.querySelectorAll("a"), (a) => ({
        text: a.textContent, href: a.getAttribute("href"), protocol: a.href && a.protocol,
      })),
      title: document.title,
      source: document.getElementById("source").textContent,
      csp: window.__csp,
    };
  });
  const seen = await inspect();
  assert.equal(seen.pwned, "undefined", "window.__pwned was set: a script of the post ran");
  assert.deepEqual(seen.elements, [], "active elements inside #post .body");
  assert.deepEqual(seen.handlers, [], "event handler attributes on the post page");
  for (const l of seen.links) {
    assert.ok(!/^\s*(javascript|vbscript|data):/i.test(l.href || ""),
      `a link in the post keeps a dangerous href: ${JSON.stringify(l)}`);
    assert.ok(!["javascript:", "vbscript:", "data:"].includes(l.protocol),
      `a link in the post has a dangerous protocol: ${JSON.stringify(l)}`);
  }
  const clickLink = seen.links.find((l) => l.text === "click");
  assert.ok(clickLink, `the Markdown link "click" should render as a link: ${JSON.stringify(seen.links)}`);
  assert.equal(seen.title, `${hostileTitle} · Pando`, "the page title shows the post title as text");
  assert.equal(seen.source, hostileText, "the hidden #source holds the signed text");
  assert.deepEqual(seen.csp, [], "the page should carry nothing that CSP has to block");
  // The live item on B's front page shows the hostile title as text, too.
  const hostileItem = `#latest li.post[data-id="${hostileId}"]`;
  await front.waitForSelector(hostileItem, { timeout: STEP_MS });
  assert.equal(await front.textContent(`${hostileItem} a.title`), hostileTitle);
  assert.equal(await front.locator("#latest svg").count(), 0);
  await shot(hostile, "5-node-B-hostile-post");

  // Clicking the neutered javascript: link runs nothing.
  await hostile.locator("#post .body a", { hasText: /^click$/ }).click();
  await hostile.waitForLoadState("load");
  const after = await inspect();
  assert.equal(after.pwned, "undefined", "clicking the javascript: link ran script");
  assert.equal((await badgeVerdict(hostile)).state, "valid");
  // The server-rendered front page escapes the hostile title.
  await front.reload();
  assert.equal(await front.textContent(`${hostileItem} a.title`), hostileTitle);
  assert.equal(await front.locator("svg, script:not([src])").count(), 0);
  checkProblems();
  log("hostile post on B: nothing ran, no active markup, title as text, Signature verified");

  // 7. A node that alters a post is caught: C's permalink, rewritten on its way to the
  // browser. First the text shown (rendered body and #source), then the signed entry too.
  const tamper = await browser.newContext({ viewport });
  const before = "Pay 100 coins";
  const altered = "Pay 900 coins";
  for (const [name, alsoEntry, reason] of [
    ["text", false, "The text shown differs from the signed text."],
    ["entry", true, "The Ed25519 signature does not match the entry."],
  ]) {
    const page = await newPage(tamper, `C tampered ${name}`);
    let rewrites = 0;
    await page.route(`${C}/p/${postId}`, async (route) => {
      const res = await route.fetch();
      let html = await res.text();
      rewrites = html.split(before).length - 1; // The rendered body and the hidden source.
      html = html.replaceAll(before, altered);
      if (alsoEntry) {
        assert.ok(html.includes(hexOf(before)), "data-entry holds the sentence's UTF-8 in hex");
        html = html.replace(hexOf(before), hexOf(altered));
      }
      await route.fulfill({ response: res, body: html });
    });
    await page.goto(`${C}/p/${postId}`);
    assert.equal(rewrites, 2, "the page should show the sentence twice (body and #source)");
    const tv = await badgeVerdict(page);
    const body = await page.textContent("#post .body");
    assert.ok(body.includes(altered) && !body.includes(before), "the page shows the altered text");
    assert.equal(tv.state, "invalid", `the altered page (${name}) should fail: ${JSON.stringify(tv)}`);
    assert.equal(tv.text, "Signature does NOT verify");
    assert.equal(tv.reason, reason);
    log(`tampered page (${name}) on C: ${tv.text}: ${tv.reason}`);
    await shot(page, `6-node-C-tampered-${name}`);
  }
  checkProblems();

  // 8. A profile and a follow, signed in the browser on A (kind 3 entries of the catalog),
  // shown on C's page of the author: the hostile name as text. Then the follow undone.
  const step8 = Date.now();
  const nodeB = nodeAuthors[1];
  assert.match(nodeB || "", /^pd[a-z0-9]{20,}$/, "devnet.json should name node B's author id");
  const hostileName = `Ada <img src=x onerror=alert(1)> ${nonce}`;
  const bio = `Sails & <b onclick="alert(2)">ships</b> "${nonce}"`;
  created.length = 0;
  await write.fill("#profile-name", hostileName);
  await write.fill("#profile-bio", bio);
  await write.click("#profile-submit");
  await write.waitForFunction(() => /^(Profile saved|error)/.test(
    document.getElementById("profile-status").textContent), null, { timeout: STEP_MS });
  const profileStatus = await write.textContent("#profile-status");
  assert.equal(profileStatus, "Profile saved: see your blog page.", "saving the profile");
  assert.equal(await write.getAttribute("#profile-status a", "href"), `/a/${authorId}`);
  assert.deepEqual(created.map((c) => c.status), [201], "a profile update is one entry");
  // The form shows the profile as re-read from the node.
  assert.equal(await write.inputValue("#profile-name"), hostileName);
  assert.equal(await write.inputValue("#profile-bio"), bio);
  log(`profile set in the browser on A (${Date.now() - step8} ms)`);
  await shot(write, "7-node-A-write-profile");

  // One's own page offers no Follow button; B's page does.
  const own = await newPage(author, "A own author page");
  await own.goto(`${A}/a/${authorId}`);
  await own.waitForFunction(() => !document.getElementById("follow").hidden, null,
    { timeout: STEP_MS });
  assert.equal(await own.textContent("#profile-name"), hostileName);
  assert.match(await own.textContent("#follow-status"), /^This is you/);
  assert.equal(await own.isVisible("#follow-button"), false);
  await own.close();
  openPages.delete("A own author page");

  const followPage = await newPage(author, "A author B");
  followPage.on("response", (r) => {
    if (r.request().method() === "POST" && r.url() === `${A}/api/v1/entries`) {
      created.push({ status: r.status() });
    }
  });
  await followPage.goto(`${A}/a/${nodeB}`);
  const buttonReads = (text) => followPage.waitForFunction((t) => {
    const b = document.getElementById("follow-button");
    return b && !b.disabled && b.textContent === t;
  }, text, { timeout: STEP_MS });
  await buttonReads("Follow");
  created.length = 0;
  await followPage.click("#follow-button");
  await buttonReads("Unfollow");
  assert.equal(await followPage.textContent("#follow-status"), "You follow this author.");
  log(`followed node B's author from its page on A (${Date.now() - step8} ms)`);
  await shot(followPage, "8-node-A-author-B-followed");

  // C's page of the browser's author: the name and bio as text, B among the follows.
  const onC = await newPage(readers, "C author page");
  const authorPage = async (want) => {
    for (const until = Date.now() + STEP_MS; ; await sleep(250)) {
      await onC.goto(`${C}/a/${authorId}`);
      const got = await onC.evaluate((b) => ({
        name: document.getElementById("profile-name")?.textContent ?? null,
        bio: document.getElementById("profile-bio")?.textContent ?? null,
        follows: Array.from(document.querySelectorAll("#follows a.author"),
          (a) => a.getAttribute("href")),
        followsB: !!document.querySelector(`#follows a.author[href="/a/${b}"]`),
      }), nodeB);
      if (got.name === want.name && got.followsB === want.followsB) return got;
      assert.ok(Date.now() < until, `C's page of ${authorId} did not show ` +
        `${JSON.stringify(want)} within ${STEP_MS} ms: ${JSON.stringify(got)}`);
    }
  };
  const shownC = await authorPage({ name: hostileName, followsB: true });
  assert.equal(shownC.bio, bio);
  assert.deepEqual(shownC.follows, [`/a/${nodeB}`]);
  const inert = await onC.evaluate(() => ({
    active: Array.from(document.querySelectorAll("main img, main b, main [onerror], " +
      "main [onclick]"), (e) => e.outerHTML.slice(0, 80)),
    title: document.title,
    followHidden: document.getElementById("follow").hidden,
    csp: window.__csp,
  }));
  assert.deepEqual(inert.active, [], "the profile's markup should be text, not elements");
  assert.equal(inert.title, `Blog of ${hostileName} · Pando`);
  assert.equal(inert.followHidden, true, "a browser without a key gets no Follow button");
  assert.deepEqual(inert.csp, [], "the author page should carry nothing that CSP blocks");
  await onC.evaluate(() => { document.getElementById("follows").open = true; });
  log(`C shows the profile name as text and the follow (${Date.now() - step8} ms)`);
  await shot(onC, "9-node-C-author-profile-follows");
  checkProblems();

  // Unfollow on A: C's page no longer lists B.
  await followPage.click("#follow-button");
  await buttonReads("Follow");
  assert.equal(await followPage.textContent("#follow-status"), "You do not follow this author.");
  assert.deepEqual(created.map((c) => c.status), [201, 201], "a follow and an unfollow");
  await authorPage({ name: hostileName, followsB: false });
  assert.equal(await onC.locator("#follows").count(), 0, "C should list no follows");
  const followsC = await getJson(`${C}/api/v1/authors/${authorId}/follows`);
  assert.deepEqual(followsC, { author: authorId, follows: [], tags: {} });
  log(`unfollowed on A; C's page lists no follows (step 8: ${Date.now() - step8} ms)`);
  await shot(onC, "10-node-C-author-unfollowed");
  checkProblems();

  // 9. A username, signed in the browser on B's /write (B uses node A's registry, as every
  // devnet node but A does), then /@name on C; a confusable name gets a clear answer.
  const step9 = Date.now();
  const username = `e2e_${nonce}`.toLowerCase().replace(/[^a-z0-9_]/g, "").slice(0, 32);
  // A third device: it imports the author's key from the backup text made in step 1.
  const device3 = await browser.newContext({ viewport });
  const named = await newPage(device3, "B write username");
  await named.goto(`${B}/write`);
  await named.fill("#key-backup", backup);
  await named.click("#key-import");
  await named.waitForFunction((id) => document.getElementById("key-author").textContent === id,
    authorId, { timeout: STEP_MS });
  const register = async (name) => {
    await named.fill("#username-name", name);
    await named.click("#username-submit");
    await named.waitForFunction(() => /^(Registered|error)/.test(
      document.getElementById("username-status").textContent), null, { timeout: STEP_MS });
    return named.textContent("#username-status");
  };
  assert.equal(await register(username.toUpperCase()),
    `Registered: your blog lives at /@${username}.`);
  await named.waitForFunction((n) => document.getElementById("username-current").textContent
    .includes(`@${n}`), username, { timeout: STEP_MS });
  const taken = await register(username.replace("_", "-"));
  assert.match(taken, /^error: NAME_TAKEN: The name .* is taken by the confusable name /, taken);
  await shot(named, "11-node-B-write-username");
  // C resolves the name from the attestation in its log.
  await onC.waitForFunction(async (n) => (await fetch(`/@${n}`)).status === 200, username,
    { timeout: STEP_MS });
  await onC.goto(`${C}/@${username}`);
  assert.equal(await onC.textContent("#usernames a.username"), `@${username}`);
  assert.equal(await onC.title(), `Blog of ${hostileName} · Pando`);
  log(`username @${username} registered on B, shown on C (${Date.now() - step9} ms)`);
  await shot(onC, "12-node-C-at-username");
  checkProblems();
  openPages.delete("B write username");
  await device3.close();
}

let code = 0;
try {
  await main();
  log("PASS");
} catch (err) {
  failed = true;
  code = 1;
  // After the watchdog or a signal, the steps under way fail as their pages close: noise.
  if (!aborting) console.error(`FAIL: ${err && err.stack ? err.stack : err}`);
} finally {
  clearTimeout(watchdog);
  await cleanup();
}
process.exit(code);
