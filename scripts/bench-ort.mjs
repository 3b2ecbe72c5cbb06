// Our package against onnxruntime-web in one headless Chromium, same models, same inputs
// (scripts/bench_ort.sh prepares everything and calls this). Prints, never asserts:
//   1. per image, inference: ours (SIMD; no SIMD when pkg/ has that variant) and ORT-web (wasm
//      EP, 1 thread; 2 threads on a cross-origin isolated page), interleaved run by run, with
//      median/min ms, the ratio ours / ORT, load times, our wasm memory, agreement;
//   2. the whole pipeline on 224x224 PNGs (decode, resize, normalize, infer): our pool with 1
//      and 2 workers (no isolation) against ORT with 1 thread and with 2 threads (isolated).
//   node scripts/bench-ort.mjs --models squeezenet,shufflenet [--runs 25] [--pipeline 48]
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { startServer } from "./serve.mjs";
import { launch, repo } from "../tests/e2e/browser.mjs";

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const models = arg("--models", "squeezenet");
const runs = Number(arg("--runs", 25));
const pipelineCount = Number(arg("--pipeline", 48));
const pipelineModel = arg("--pipeline-model", "squeezenet");
const www = join(repo, "www");
const nosimd = (await readdir(join(www, "pkg"))).some((f) => f.includes("nosimd") && f.endsWith(".wasm"));

const plain = await startServer({ root: www, port: 0 });
const iso = await startServer({ root: www, port: 0, isolated: true });
const at = (s) => `http://127.0.0.1:${s.address().port}`;
const browser = await launch();

async function page(origin, query) {
  const p = await browser.newPage();
  p.on("pageerror", (e) => console.error(`page error: ${e.message}`));
  await p.goto(`${origin}/bench-ort.html?${query}`);
  await p.waitForFunction(() => window.__bench, null, { timeout: 3_600_000 });
  const r = await p.evaluate(() => window.__bench);
  await p.close();
  if (r.error) throw new Error(`${query}: ${r.error}`);
  return r;
}

const fmt = (v, d = 1) => (v == null ? "-" : Number(v).toFixed(d));
const geo = (v) => Math.exp(v.reduce((a, b) => a + Math.log(b), 0) / v.length);
try {
  console.log(`== per image, inference only (${await browser.version()}, ${runs} interleaved runs after 3 warm-ups)`);
  const simd1 = await page(at(plain), `models=${models}&runs=${runs}&threads=1`);
  const simd2 = await page(at(iso), `models=${models}&runs=${runs}&threads=2`);
  const ns = nosimd ? await page(at(plain), `models=${models}&runs=${runs}&threads=1&variant=nosimd`) : null;
  if (!simd2.crossOriginIsolated) console.log("(warning: the 2-thread page is not cross-origin isolated)");
  console.log(
    "| model | ours SIMD ms (min) | ours no-SIMD ms | ORT 1T ms (min) | ORT 2T ms | ours / ORT-1T | ours / ORT-2T | load ms ours / ORT | our wasm memory MB | max prob diff | top-1 equal | ORT max prob |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|---|---|---|");
  const r1 = [], r2 = [];
  simd1.results.forEach((a, i) => {
    const b = simd2.results[i];
    const n = ns?.results[i];
    r1.push(a.oursMedianMs / a.ortMedianMs);
    r2.push(b.oursMedianMs / b.ortMedianMs);
    console.log(
      `| ${a.model} | ${fmt(a.oursMedianMs)} (${fmt(a.oursMinMs)}) | ${n ? fmt(n.oursMedianMs) : "not built"} | ${fmt(a.ortMedianMs)} (${fmt(a.ortMinMs)}) | ${fmt(b.ortMedianMs)} | ` +
        `${fmt(r1.at(-1), 2)} | ${fmt(r2.at(-1), 2)} | ${fmt(a.oursLoadMs, 0)} / ${fmt(a.ortLoadMs, 0)} | ${fmt(a.oursWasmBytes / 1048576)} | ` +
        `${a.maxProbDiff.toExponential(1)} | ${a.top1Equal} | ${fmt(a.maxProb, 3)} |`,
    );
  });
  console.log(`geometric mean ours / ORT-1T: ${fmt(geo(r1), 2)}; ours / ORT-2T: ${fmt(geo(r2), 2)}`);

  if (pipelineCount > 0) {
    const imgs = Array.from({ length: 8 }, (_, i) => `assets/bench/rgb224_${i}.png`).join(",");
    const q = `mode=pipeline&model=${pipelineModel}&images=${imgs}&count=${pipelineCount}`;
    const p1 = await page(at(plain), `${q}&threads=1`);
    const p2 = await page(at(iso), `${q}&threads=2&ours=0`);
    console.log(`\n== whole pipeline, ${pipelineModel}, ${pipelineCount} 224x224 RGB PNGs (decode + resize + normalize + infer)`);
    console.log("| runtime | images/s |");
    console.log("|---|---|");
    console.log(`| ours, pool, 1 worker | ${fmt(p1.ours1.perSecond)} |`);
    console.log(`| ours, pool, 2 workers (not isolated) | ${fmt(p1.ours2.perSecond)} |`);
    console.log(`| ORT-web 1 thread | ${fmt(p1.ort.perSecond)} |`);
    console.log(`| ORT-web 2 threads (cross-origin isolated: ${p2.crossOriginIsolated}) | ${fmt(p2.ort.perSecond)} |`);
    console.log(
      `ours 2 workers / 1 worker: ${fmt(p1.ours2.perSecond / p1.ours1.perSecond, 2)}x; ours 2 workers / ORT 2 threads: ${fmt(p1.ours2.perSecond / p2.ort.perSecond, 2)}x; ours 1 worker / ORT 1 thread: ${fmt(p1.ours1.perSecond / p1.ort.perSecond, 2)}x`,
    );
  }
} finally {
  await browser.close();
  plain.close();
  iso.close();
}
