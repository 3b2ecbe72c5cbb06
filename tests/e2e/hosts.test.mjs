// The package embedded the way a labeling tool would, from the tarball `npm pack` made
// (scripts/build.sh), in headless Chromium:
//   - a plain static page (tests/hosts/static: ten lines of host code, no bundler) served with
//     the strict CSP HOST_CSP;
//   - a Vite app (tests/hosts/vite) installed offline from the tarball and built with vite.
// In both, the privacy proof: every request is routed and logged, anything but a GET of the
// host's own static files fails the test, service workers are blocked, and a canary planted in
// a test image must not appear in any URL or body. The scores must be onnxruntime's.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { cp, mkdir, readFile, writeFile } from "node:fs/promises";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { startServer } from "../../scripts/serve.mjs";
import { CANARY, HOST_CSP, canaryPng, freshDir, guardedContext, launch, repo, staticHost, staticPaths, tarball } from "./browser.mjs";

const golden = JSON.parse(await readFile(join(repo, "tests/golden/digits_scores.json"), "utf8"));
const goldenBy = new Map(golden.items.map((it) => [it.file.split("/").pop(), it]));
const argmax = (p) => p.indexOf(Math.max(...p));
let browser;
before(async () => {
  browser = await launch();
});
after(async () => browser?.close());

async function serve(dir) {
  const server = await startServer({ root: dir, port: 0, csp: HOST_CSP });
  return { server, origin: `http://127.0.0.1:${server.address().port}` };
}

async function pickFiles(page, files) {
  const dir = join(tmpdir(), `medtriage-host-${process.pid}`);
  await mkdir(dir, { recursive: true });
  const paths = [];
  for (const [name, bytes] of files) {
    const p = join(dir, name);
    await writeFile(p, bytes);
    paths.push(p);
  }
  await page.setInputFiles("#images", paths);
}

function checkPicked(results, names) {
  assert.equal(results.length, names.length);
  results.forEach(([id, predicted], i) => {
    assert.equal(id, names[i]);
    const g = goldenBy.get(id.replace(/^canary_/, ""));
    assert.equal(predicted, argmax(g.probabilities), `${id}: predicted ${predicted}`);
  });
}

function privacyVerdict(g, what) {
  assert.deepEqual(g.violations, [], `${what}: requests beyond the page's own static files`);
  assert.ok(g.log.length > 0);
  assert.ok(g.log.some((r) => r.url.endsWith(".wasm")), `${what}: the wasm came from the host's own files`);
  const bodies = g.log.filter((r) => r.bodyBytes > 0);
  assert.deepEqual(bodies, [], `${what}: no request carries a body`);
}

test("static host under a strict CSP: scores picked files, nothing leaves the page", async () => {
  const dir = await staticHost();
  const { server, origin } = await serve(dir);
  const g = await guardedContext(browser, origin, await staticPaths(dir));
  try {
    const page = await g.context.newPage();
    const errors = [];
    const csp = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("console", (m) => /Content Security Policy|Refused/.test(m.text()) && csp.push(m.text()));
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => document.getElementById("out").textContent === "ready", null, { timeout: 120_000 });
    const names = ["d00_label3.png", "d01_label3.png", "d02_label1.png", "canary_d03_label8.png", "d04_label4.png"];
    const files = await Promise.all(names.map(async (n) => [n, n.startsWith("canary_") ? await canaryPng() : await readFile(join(repo, "tests/fixtures/digits/samples", n))]));
    assert.ok(files[3][1].includes(Buffer.from(CANARY)));
    await pickFiles(page, files);
    await page.waitForFunction(() => document.getElementById("out").textContent.startsWith("[["), null, { timeout: 120_000 });
    checkPicked(JSON.parse(await page.textContent("#out")), names);
    // the host code is about ten lines; the page got the strict CSP header; no service worker
    const hostLines = (await readFile(join(repo, "tests/hosts/static/host.js"), "utf8")).split("\n").filter((l) => l.trim() && !l.trim().startsWith("//"));
    assert.ok(hostLines.length <= 12, `host code: ${hostLines.length} lines`);
    assert.equal((await fetch(`${origin}/`)).headers.get("content-security-policy"), HOST_CSP);
    assert.equal(await page.evaluate(() => navigator.serviceWorker?.controller ?? null), null);
    assert.deepEqual(errors, []);
    assert.deepEqual(csp, [], "CSP violations");
    privacyVerdict(g, "static host");
    console.log(`# static host: ${g.log.length} requests, all the host's own files; CSP "${HOST_CSP}"`);
  } finally {
    await g.context.close();
    server.close();
  }
});

test("the CSP really is enforced on the static host: no inline script, no blob: worker", async () => {
  const dir = await staticHost();
  const { server, origin } = await serve(dir);
  const g = await guardedContext(browser, origin, await staticPaths(dir));
  try {
    const page = await g.context.newPage();
    await page.goto(`${origin}/`);
    const r = await page.evaluate(async () => {
      const violations = [];
      document.addEventListener("securitypolicyviolation", (e) => violations.push(e.violatedDirective));
      const s = document.createElement("script");
      s.textContent = "window.__inline = 1";
      document.head.append(s);
      const blobWorker = await new Promise((ok) => {
        try {
          const w = new Worker(URL.createObjectURL(new Blob(["postMessage(1)"], { type: "text/javascript" })));
          w.onmessage = () => ok("ran");
          w.onerror = () => ok("refused");
          setTimeout(() => ok("silent"), 3000);
        } catch (e) {
          ok(`refused: ${e.name}`);
        }
      });
      await new Promise((ok) => setTimeout(ok, 100));
      return { inline: window.__inline ?? null, blobWorker, violations };
    });
    assert.equal(r.inline, null, "an inline script ran");
    assert.notEqual(r.blobWorker, "ran", "a blob: worker ran");
    assert.ok(r.violations.some((v) => v.startsWith("script-src")), JSON.stringify(r.violations));
    assert.ok(r.violations.some((v) => v.startsWith("worker-src")), JSON.stringify(r.violations));
  } finally {
    await g.context.close();
    server.close();
  }
});

test("Vite app built offline from the tarball: bundled samples and picked files scored, nothing leaves the page", async () => {
  const dir = await freshDir("vite");
  await cp(join(repo, "tests/hosts/vite"), dir, { recursive: true });
  const pj = JSON.parse(await readFile(join(dir, "package.json"), "utf8"));
  pj.dependencies.medtriage = `file:${tarball()}`;
  await writeFile(join(dir, "package.json"), JSON.stringify(pj));
  execFileSync("npm", ["install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts"], { cwd: dir, stdio: "pipe" });
  await mkdir(join(dir, "public/model"), { recursive: true });
  for (const f of ["model.onnx", "manifest.json"]) await cp(join(repo, "tests/fixtures/digits", f), join(dir, "public/model", f));
  const samples = ["d00_label3.png", "d05_label3.png", "d06_label1.png", "d07_label2.png", "d08_label5.png", "d09_label4.png"];
  await mkdir(join(dir, "public/samples"));
  for (const s of samples) await cp(join(repo, "tests/fixtures/digits/samples", s), join(dir, "public/samples", s));
  await writeFile(join(dir, "public/samples/index.json"), JSON.stringify({ samples }));
  await writeFile(join(dir, "public/favicon.ico"), "");
  const t0 = Date.now();
  execFileSync(process.execPath, [join(repo, "node_modules/vite/bin/vite.js"), "build"], { cwd: dir, stdio: "pipe" });
  console.log(`# vite build: ${Date.now() - t0} ms`);
  const dist = join(dir, "dist");
  const { server, origin } = await serve(dist);
  const g = await guardedContext(browser, origin, await staticPaths(dist));
  try {
    const page = await g.context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => document.getElementById("out").textContent === "ready" || window.__hostError, null, { timeout: 120_000 });
    const bundled = await page.evaluate(() => window.__host.bundled);
    checkPicked(bundled.results, samples);
    assert.equal(bundled.order.length, samples.length);
    const names = ["canary_d03_label8.png", "d02_label1.png"];
    await pickFiles(page, [
      [names[0], await canaryPng()],
      [names[1], await readFile(join(repo, "tests/fixtures/digits/samples", names[1]))],
    ]);
    await page.waitForFunction(() => window.__host.picked, null, { timeout: 120_000 });
    checkPicked((await page.evaluate(() => window.__host.picked)).results, names);
    assert.deepEqual(errors, []);
    privacyVerdict(g, "vite host");
    const workers = g.log.filter((r) => /worker/.test(r.url)).length;
    assert.ok(workers >= 1, "the pool's worker was bundled and loaded");
    console.log(`# vite host: ${g.log.length} requests, all the built app's own files`);
  } finally {
    await g.context.close();
    server.close();
  }
});

test("typed host: tsc --noEmit against the tarball's declarations (engine API, init, pool, store)", async () => {
  const dir = await freshDir("typed");
  await cp(join(repo, "tests/hosts/typed"), dir, { recursive: true });
  await mkdir(join(dir, "node_modules/medtriage"), { recursive: true });
  execFileSync("tar", ["-xzf", tarball(), "-C", join(dir, "node_modules/medtriage"), "--strip-components=1"]);
  try {
    execFileSync(process.execPath, [join(repo, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"], { cwd: dir, stdio: "pipe" });
  } catch (e) {
    assert.fail(`tsc --noEmit failed:\n${e.stdout}${e.stderr}`);
  }
});
