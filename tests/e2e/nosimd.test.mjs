// The package's no-SIMD build, as a browser without wasm SIMD gets it. Chromium has SIMD, so
// the page's `WebAssembly.validate` is made to refuse the loader's SIMD probe (an init script,
// before any page code): `init()` and the worker pool must then pick medtriage_nosimd_bg.wasm
// by themselves, and both must score the bundled samples as onnxruntime does (the golden
// file, same tolerance as the demo test) and as the SIMD build does in the same run.
// scripts/test.sh builds both variants; with MEDTRIAGE_VARIANTS set without "nosimd" this
// test is skipped (the package then has no no-SIMD file).
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { repo, useBrowser } from "./browser.mjs";

const env = useBrowser();
const variants = (process.env.MEDTRIAGE_VARIANTS ?? "simd nosimd").split(/\s+/);
const golden = JSON.parse(await readFile(join(repo, "tests/golden/digits_scores.json"), "utf8"));

/** Score the bundled samples with init() in the page and with a 2-worker pool. */
async function scoreSamples(page) {
  return page.evaluate(async () => {
    const mt = await import("/pkg/index.js");
    const { WorkerPool } = await import("/pkg/pool.js");
    const { variant } = await mt.init();
    const index = await (await fetch("/assets/digits/index.json")).json();
    const manifest = await (await fetch("/assets/digits/manifest.json")).json();
    const model = new Uint8Array(await (await fetch("/assets/digits/model.onnx")).arrayBuffer());
    const items = [];
    for (const f of index.samples) items.push({ id: f.split("/").pop(), bytes: new Uint8Array(await (await fetch(`/assets/digits/${f}`)).arrayBuffer()) });
    const scorer = new mt.Scorer(model, manifest);
    const page = scorer.scoreBatch(items, {}).map((r) => ({ id: r.id, p: r.score?.probabilities, error: r.error?.code }));
    scorer.free();
    const pool = new WorkerPool({ workers: 2 });
    const info = await pool.load(model, manifest);
    const run = pool.score(items.map((it) => ({ id: it.id, bytes: it.bytes.slice() })), { collect: true });
    const sum = await run.finished;
    pool.terminate();
    const pooled = sum.results.map((r) => ({ id: r.id, p: r.score ? Array.from(r.score.probabilities) : null }));
    return { variant, simd: mt.simdSupported(), poolVariant: info.variant, page, pooled, failed: sum.failed };
  });
}

test("no-SIMD build: a browser without wasm SIMD gets it from init() and the pool, same scores", { skip: !variants.includes("nosimd") && "MEDTRIAGE_VARIANTS has no nosimd" }, async () => {
  assert.ok(existsSync(join(repo, "www/pkg/medtriage_nosimd_bg.wasm")), "the package has no medtriage_nosimd_bg.wasm (scripts/build.sh left the variant out)");
  const simdPage = await env.browser.newPage();
  await simdPage.goto(`${env.origin}/style.css`);
  const simd = await scoreSamples(simdPage);
  await simdPage.close();

  const context = await env.browser.newContext();
  await context.addInitScript(() => {
    const validate = WebAssembly.validate;
    // the loader's probe is the only module of 31 bytes holding a v128 instruction
    WebAssembly.validate = (bytes) => (bytes.byteLength === 31 ? false : validate(bytes));
  });
  const page = await context.newPage();
  const wasmRequests = [];
  page.on("request", (r) => r.url().endsWith(".wasm") && wasmRequests.push(r.url().split("/").pop()));
  await page.goto(`${env.origin}/style.css`);
  const plain = await scoreSamples(page);
  await context.close();

  assert.equal(simd.variant, "simd");
  assert.equal(plain.simd, false, "the probe was refused");
  assert.equal(plain.variant, "nosimd");
  assert.equal(plain.poolVariant, "nosimd");
  assert.deepEqual([...new Set(wasmRequests)], ["medtriage_nosimd_bg.wasm"], "only the plain build was fetched");
  assert.equal(plain.failed, 0);

  const byFile = new Map(golden.items.map((it) => [it.file.split("/").pop(), it.probabilities]));
  let maxVsSimd = 0, maxVsOrt = 0, checked = 0;
  const simdById = new Map(simd.page.map((r) => [r.id, r.p]));
  for (const rows of [plain.page, plain.pooled]) {
    for (const r of rows) {
      assert.ok(r.p, `${r.id}: ${r.error}`);
      const s = simdById.get(r.id);
      maxVsSimd = Math.max(maxVsSimd, ...r.p.map((x, i) => Math.abs(x - s[i])));
      const g = byFile.get(r.id);
      if (g) {
        maxVsOrt = Math.max(maxVsOrt, ...r.p.map((x, i) => Math.abs(x - g[i])));
        checked++;
      }
    }
  }
  assert.ok(checked >= 2 * 16, `only ${checked} results had a golden`);
  assert.ok(maxVsOrt < 1e-4, `no-SIMD vs onnxruntime: ${maxVsOrt}`);
  assert.ok(maxVsSimd < 1e-4, `no-SIMD vs SIMD: ${maxVsSimd}`);
  console.log(`# no-SIMD build: ${plain.page.length} images in the page + ${plain.pooled.length} in the pool; max |p - onnxruntime| ${maxVsOrt.toExponential(2)}, max |p - SIMD| ${maxVsSimd.toExponential(2)}`);
});
