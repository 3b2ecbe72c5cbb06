// Our package against onnxruntime-web in one headless Chromium, same models, same inputs
// (scripts/bench_ort.sh prepares everything and calls this). Prints, never asserts:
//   1. per image, inference: ours (each build pkg/ has: relaxed SIMD, SIMD, no SIMD; and any
//      --extra wasm, e.g. a build with other cargo settings) and ORT-web (wasm EP, 1 thread; 2
//      threads on a cross-origin isolated page), interleaved run by run on each page, with
//      median/min ms, the ratio ours / ORT on the same page, load times, our wasm memory,
//      agreement;
//   2. load times, a fresh page per model (the first load and a second one);
//   3. the whole pipeline on 224x224 PNGs (decode, resize, normalize, infer): our pool with 1
//      and 2 workers (no isolation) against ORT with 1 thread and with 2 threads (isolated).
//   node scripts/bench-ort.mjs --models squeezenet,shufflenet [--runs 25] [--pipeline 48]
//     [--extra lto=assets/extra/lto.wasm,...]   (files under www/, built with the package's glue)
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
const files = await readdir(join(www, "pkg"));
// the package's builds, fastest first; "best" is what init() picks in this browser
const builds = [
  ["relaxed", "medtriage_relaxed_bg.wasm"],
  ["simd", "medtriage_bg.wasm"],
  ["nosimd", "medtriage_nosimd_bg.wasm"],
].filter(([, f]) => files.includes(f)).map(([v]) => v);
const extras = (arg("--extra", "") || "").split(",").filter(Boolean).map((e) => e.split("="));
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
  const pages = [];
  for (const v of builds) {
    const profile = v === builds[0] ? "&profile=1" : "";
    pages.push([v, await page(at(plain), `models=${models}&runs=${runs}&threads=1&variant=${v}${profile}`)]);
  }
  for (const [name, url] of extras) pages.push([name, await page(at(plain), `models=${models}&runs=${runs}&threads=1&wasm=${encodeURIComponent(url)}`)]);
  const best = pages[0][1];
  const two = await page(at(iso), `models=${models}&runs=${runs}&threads=2&variant=${builds[0]}`);
  if (!two.crossOriginIsolated) console.log("(warning: the 2-thread page is not cross-origin isolated)");
  console.log(`ours: ${pages.map(([n]) => n).join(", ")}; each ratio is against ORT on the same page; the first build (${pages[0][0]}) is what init() picks here`);
  const cols = pages.map(([n]) => `ours ${n} ms (min) | ${n} / ORT-1T`).join(" | ");
  console.log(`| model | ${cols} | ORT 1T ms (min) | ORT 2T ms | ${pages[0][0]} / ORT-2T | load ms ours / ORT | our wasm memory MB | max prob diff | top-1 equal | ORT max prob |`);
  console.log(`|---|${pages.map(() => "---|---|").join("")}---|---|---|---|---|---|---|---|`);
  const ratios = pages.map(() => []), r2 = [];
  best.results.forEach((a, i) => {
    const b = two.results[i];
    const cells = pages.map(([, p], k) => {
      const x = p.results[i];
      ratios[k].push(x.oursMedianMs / x.ortMedianMs);
      return `${fmt(x.oursMedianMs)} (${fmt(x.oursMinMs)}) | ${fmt(ratios[k].at(-1), 2)}`;
    });
    r2.push(b.oursMedianMs / b.ortMedianMs);
    console.log(
      `| ${a.model} | ${cells.join(" | ")} | ${fmt(a.ortMedianMs)} (${fmt(a.ortMinMs)}) | ${fmt(b.ortMedianMs)} | ${fmt(r2.at(-1), 2)} | ` +
        `${fmt(a.oursLoadMs, 0)} / ${fmt(a.ortLoadMs, 0)} | ${fmt(a.oursWasmBytes / 1048576)} | ` +
        `${a.maxProbDiff.toExponential(1)} | ${a.top1Equal} | ${fmt(a.maxProb, 3)} |`,
    );
  });
  const five = ["squeezenet", "shufflenet", "inception_v1", "densenet121", "resnet50"];
  const idx = best.results.map((r, i) => (five.includes(r.model) ? i : -1)).filter((i) => i >= 0);
  const over = idx.length ? idx : best.results.map((_, i) => i);
  const what = idx.length === five.length ? "the five architectures" : `${over.length} model(s)`;
  pages.forEach(([n], k) => console.log(`geometric mean over ${what}, ${n} / ORT-1T: ${fmt(geo(over.map((i) => ratios[k][i])), 2)}`));
  console.log(`geometric mean over ${what}, ${pages[0][0]} / ORT-2T: ${fmt(geo(over.map((i) => r2[i])), 2)}`);

  // where our time goes (the first build's page): operator kinds by share of the node time
  if (best.results.some((r) => r.profile)) {
    console.log(`\n== where our time goes (${pages[0][0]} build, Scorer.profileTensor: performance.now() around each node of tract's optimized plan)`);
    console.log("| model | run ms | in nodes ms | top operator kinds (ms per run, share) | slowest nodes |");
    console.log("|---|---|---|---|---|");
    for (const r of best.results) {
      const p = r.profile;
      if (!p) continue;
      const ops = p.ops.slice(0, 5).map((o) => `${o.op} x${o.nodes} ${fmt(o.ms)} (${fmt(100 * o.share, 0)}%)`).join("; ");
      const slow = p.slowest.slice(0, 3).map((n) => `${n.name} (${n.op}) ${fmt(n.ms)}`).join("; ");
      console.log(`| ${r.model} | ${fmt(p.runMs)} | ${fmt(p.nodesMs)} | ${ops} | ${slow} |`);
    }
  }
  // load times, a fresh page per model: the first load is what a user's first model costs
  console.log("\n== load, a fresh page per model (ms; first load, then a second of the same bytes in that page)");
  console.log("| model | MB | ours first | ours second | ORT first | ORT second | first ours / ORT | second ours / ORT |");
  console.log("|---|---|---|---|---|---|---|---|");
  for (const name of models.split(",")) {
    const r = await page(at(plain), `mode=load&model=${name}`);
    console.log(
      `| ${name} (${r.variant}) | ${fmt(r.bytes / 1e6)} | ${fmt(r.ours[0], 0)} | ${fmt(r.ours[1], 0)} | ${fmt(r.ort[0], 0)} | ${fmt(r.ort[1], 0)} | ` +
        `${fmt(r.ours[0] / r.ort[0], 2)} | ${fmt(r.ours[1] / r.ort[1], 2)} |`,
    );
  }
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
