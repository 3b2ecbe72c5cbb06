// The package's three builds, as browsers with different wasm features get them. Chromium has
// relaxed SIMD, so init() and the worker pool must pick medtriage_relaxed_bg.wasm; then the
// page's `WebAssembly.validate` is made to refuse the loader's relaxed-SIMD probe (a browser
// with SIMD only: medtriage_bg.wasm), then its SIMD probe (a browser without SIMD:
// medtriage_nosimd_bg.wasm), by an init script that runs before any page code. Each must fetch
// only its own file and score the bundled samples as onnxruntime does (the golden file, same
// tolerance as the demo test) and as the other builds do in the same run.
// scripts/test.sh builds every variant; a variant left out of MEDTRIAGE_VARIANTS is skipped.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { repo, useBrowser } from "./browser.mjs";

const env = useBrowser();
const variants = (process.env.MEDTRIAGE_VARIANTS ?? "simd nosimd relaxed").split(/\s+/);
const golden = JSON.parse(await readFile(join(repo, "tests/golden/digits_scores.json"), "utf8"));
const file = { relaxed: "medtriage_relaxed_bg.wasm", simd: "medtriage_bg.wasm", nosimd: "medtriage_nosimd_bg.wasm" };

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
    return {
      variant,
      simd: mt.simdSupported(),
      relaxed: mt.relaxedSimdSupported(),
      best: mt.bestVariant(),
      poolVariant: info.variant,
      page,
      pooled,
      failed: sum.failed,
    };
  });
}

/** A browser whose validator refuses modules of these byte lengths (the loader's probes: SIMD
 * 31 bytes, relaxed SIMD 36), scoring the samples; with the .wasm files it fetched. */
async function asBrowserWithout(refusedLengths) {
  const context = await env.browser.newContext();
  await context.addInitScript((refused) => {
    const validate = WebAssembly.validate;
    WebAssembly.validate = (bytes) => (refused.includes(bytes.byteLength) ? false : validate(bytes));
  }, refusedLengths);
  const page = await context.newPage();
  const wasmRequests = [];
  page.on("request", (r) => r.url().endsWith(".wasm") && wasmRequests.push(r.url().split("/").pop()));
  await page.goto(`${env.origin}/style.css`);
  const out = await scoreSamples(page);
  await context.close();
  return { ...out, fetched: [...new Set(wasmRequests)] };
}

/** Largest |p - q| between two result lists (by id), and against onnxruntime's golden file. */
function compare(rows, reference) {
  const byFile = new Map(golden.items.map((it) => [it.file.split("/").pop(), it.probabilities]));
  const refById = new Map(reference.page.map((r) => [r.id, r.p]));
  let vsRef = 0, vsOrt = 0, checked = 0;
  for (const r of rows) {
    assert.ok(r.p, `${r.id}: ${r.error}`);
    const s = refById.get(r.id);
    vsRef = Math.max(vsRef, ...r.p.map((x, i) => Math.abs(x - s[i])));
    const g = byFile.get(r.id);
    if (g) {
      vsOrt = Math.max(vsOrt, ...r.p.map((x, i) => Math.abs(x - g[i])));
      checked++;
    }
  }
  return { vsRef, vsOrt, checked };
}

const built = (v) => variants.includes(v);

test("each build is picked where the browser validates it, fetched alone, and scores the same", { skip: !built("nosimd") && !built("relaxed") && "MEDTRIAGE_VARIANTS has only simd" }, async () => {
  for (const v of variants) assert.ok(existsSync(join(repo, "www/pkg", file[v])), `the package has no ${file[v]} (scripts/build.sh left the variant out)`);
  const runs = {};
  runs.best = await asBrowserWithout([]);
  assert.equal(runs.best.relaxed, true, "this Chromium validates relaxed SIMD");
  const expectBest = built("relaxed") ? "relaxed" : "simd";
  assert.equal(runs.best.variant, expectBest);
  assert.equal(runs.best.poolVariant, expectBest);
  assert.deepEqual(runs.best.fetched, [file[expectBest]], "only the best build was fetched");
  if (built("relaxed")) {
    runs.simd = await asBrowserWithout([36]);
    assert.equal(runs.simd.relaxed, false, "the relaxed-SIMD probe was refused");
    assert.equal(runs.simd.best, "simd");
    assert.equal(runs.simd.variant, "simd");
    assert.equal(runs.simd.poolVariant, "simd");
    assert.deepEqual(runs.simd.fetched, [file.simd], "only the SIMD build was fetched");
  }
  if (built("nosimd")) {
    runs.nosimd = await asBrowserWithout([31]);
    assert.equal(runs.nosimd.simd, false, "the SIMD probe was refused");
    assert.equal(runs.nosimd.relaxed, false, "no relaxed SIMD without SIMD");
    assert.equal(runs.nosimd.variant, "nosimd");
    assert.equal(runs.nosimd.poolVariant, "nosimd");
    assert.deepEqual(runs.nosimd.fetched, [file.nosimd], "only the plain build was fetched");
  }
  for (const [name, r] of Object.entries(runs)) {
    assert.equal(r.failed, 0, name);
    const c = compare([...r.page, ...r.pooled], runs.best);
    assert.ok(c.checked >= 2 * 16, `${name}: only ${c.checked} results had a golden`);
    assert.ok(c.vsOrt < 1e-4, `${name} (${r.variant}) vs onnxruntime: ${c.vsOrt}`);
    assert.ok(c.vsRef < 1e-4, `${name} (${r.variant}) vs ${runs.best.variant}: ${c.vsRef}`);
    console.log(`# ${r.variant} build: ${r.page.length} images in the page + ${r.pooled.length} in the pool; max |p - onnxruntime| ${c.vsOrt.toExponential(2)}, max |p - ${runs.best.variant}| ${c.vsRef.toExponential(2)}`);
  }
});
