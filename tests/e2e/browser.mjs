// Debian's Chromium, headless, with no background traffic of its own (shared by the e2e tests).
import { before, after } from "node:test";
import { chromium } from "playwright-core";
import { startServer } from "../../scripts/serve.mjs";
import { cp, mkdir, readdir, rm, readFile, writeFile } from "node:fs/promises";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { crc32 } from "node:zlib";

export async function launch({ extraArgs = [] } = {}) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      ...extraArgs,
    ],
  });
}

/** Serve www/ on a free port and launch the browser around a test file's tests. */
export function useBrowser() {
  const env = {};
  before(async () => {
    env.server = await startServer({ root: new URL("../../www", import.meta.url).pathname, port: 0 });
    env.origin = `http://127.0.0.1:${env.server.address().port}`;
    env.browser = await launch();
  });
  after(async () => {
    await env.browser?.close();
    env.server?.close();
  });
  return env;
}

/** Requests that left the page's origin (local blob: and data: URLs are not requests out). */
export function foreignRequests(requests, origin) {
  return requests.filter((u) => !u.startsWith(origin + "/") && !u.startsWith("blob:") && !u.startsWith("data:"));
}

// ---- hosts embedding the packed package (tests/hosts/), shared by hosts.test.mjs and package.test.mjs


export const repo = fileURLToPath(new URL("../../", import.meta.url));
/** The CSP the hosts are served with: no unsafe-eval, no blob: workers, no inline script. */
export const HOST_CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'";
/** Planted in a test image (a PNG text chunk): must never appear in a request. */
export const CANARY = "MEDTRIAGE-CANARY-PATIENT-7f3a9c51";

/** The tarball scripts/build.sh packed (npm pack). */
export function tarball() {
  return join(repo, "target", "medtriage.tgz");
}

/** A folder under target/e2e-hosts/<name> (emptied). */
export async function freshDir(name) {
  const dir = join(repo, "target", "e2e-hosts", name);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  return dir;
}

/** The static host: its page, the tarball unpacked into medtriage/, models and fixtures. */
export async function staticHost() {
  const dir = await freshDir("static");
  await cp(join(repo, "tests/hosts/static"), dir, { recursive: true });
  await mkdir(join(dir, "medtriage"));
  execFileSync("tar", ["-xzf", tarball(), "-C", join(dir, "medtriage"), "--strip-components=1"]);
  await mkdir(join(dir, "model"));
  for (const f of ["model.onnx", "manifest.json"]) await cp(join(repo, "tests/fixtures/digits", f), join(dir, "model", f));
  await cp(join(repo, "tests/fixtures/trap"), join(dir, "trap"), { recursive: true });
  await cp(join(repo, "tests/fixtures/digits/samples"), join(dir, "samples"), { recursive: true });
  await cp(join(repo, "tests/hosts/fault-worker.js"), join(dir, "fault-worker.js"));
  await writeFile(join(dir, "favicon.ico"), ""); // the browser asks for it: one of the host's own files
  return dir;
}

/** Every file under dir, as URL paths ("/a/b.js"). */
export async function staticPaths(dir, prefix = "") {
  const out = new Set();
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = `${prefix}/${e.name}`;
    if (e.isDirectory()) for (const q of await staticPaths(join(dir, e.name), p)) out.add(q);
    else out.add(p);
  }
  if (prefix === "" && out.has("/index.html")) out.add("/");
  return out;
}

/** A PNG (a real digit sample) with the canary in a tEXt chunk before IEND. */
export async function canaryPng(sample = "d03_label8.png") {
  const png = await readFile(join(repo, "tests/fixtures/digits/samples", sample));
  const data = Buffer.concat([Buffer.from("Comment\0"), Buffer.from(`patient: ${CANARY}`)]);
  const type = Buffer.from("tEXt");
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([type, data])) >>> 0);
  const iend = png.length - 12;
  return Buffer.concat([png.subarray(0, iend), len, type, data, crc, png.subarray(iend)]);
}

function canaryForms() {
  const raw = Buffer.from(CANARY);
  const forms = [raw, Buffer.from(raw.toString("hex")), Buffer.from(encodeURIComponent(CANARY))];
  // base64 at the three alignments a canary can sit at inside a longer base64 text
  for (let k = 0; k < 3; k++) {
    const b = Buffer.from(Buffer.concat([Buffer.alloc(k), raw]).toString("base64"));
    forms.push(b.subarray(Math.ceil((k * 4) / 3) + 1, b.length - 4));
  }
  return forms;
}

/**
 * The privacy proof around a browser context: every request (page and workers) is routed and
 * logged; one that is not a GET of a file the host's own folder holds, on its own origin, is
 * aborted and recorded; service workers are blocked; websockets are recorded; the canary must
 * not be in any URL or body.
 */
export async function guardedContext(browser, origin, allowedPaths) {
  const context = await browser.newContext({ serviceWorkers: "block" });
  const log = [];
  const violations = [];
  const forms = canaryForms();
  const hasCanary = (buf) => !!buf && forms.some((f) => buf.includes(f));
  await context.route("**/*", async (route) => {
    const r = route.request();
    const url = r.url();
    const body = r.postDataBuffer();
    log.push({ method: r.method(), url, bodyBytes: body?.length ?? 0 });
    let path = null;
    try {
      const u = new URL(url);
      if (u.origin === origin) path = decodeURIComponent(u.pathname);
    } catch {
      /* not a URL we serve */
    }
    const bad = [];
    if (path === null || !allowedPaths.has(path)) bad.push("not one of the host's static files");
    if (r.method() !== "GET") bad.push(`method ${r.method()}`);
    if (body?.length) bad.push(`a ${body.length}-byte body`);
    if (hasCanary(Buffer.from(url)) || hasCanary(body)) bad.push("CANARY");
    if (bad.length) {
      violations.push({ method: r.method(), url, why: bad });
      return route.abort("blockedbyclient");
    }
    return route.continue();
  });
  context.on("websocket", (ws) => violations.push({ url: ws.url(), why: ["websocket"] }));
  context.on("page", (p) => p.on("websocket", (ws) => violations.push({ url: ws.url(), why: ["websocket"] })));
  return { context, log, violations };
}
