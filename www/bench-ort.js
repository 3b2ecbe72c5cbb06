// Per-image inference, ours (tract wasm) against onnxruntime-web (wasm EP) in the same page, on
// the same model bytes and the same input tensor, interleaved run by run (scripts/bench-ort.mjs
// drives it and prints the table).
//   bench-ort.html?models=squeezenet,shufflenet&dir=assets/bench&runs=25&warmup=3&threads=1
//     &variant=best|relaxed|simd|nosimd  (the package's builds; best: what init() picks)
//     &wasm=<url>                         (instead: a wasm built elsewhere with the same glue)
//     &profile=1                          (also our time per operator kind, Scorer.profileTensor)
//   bench-ort.html?mode=load&model=NAME    (load times only, on this fresh page: each runtime's
//     first load, whose code the engine has not yet optimized, then a second load of the same bytes)
// Ours: `Scorer.scoreTensor` (the tensor as the manifest describes it; softmax and the
// uncertainty measures included). ORT: `session.run` on the same Float32Array. The ORT files are
// served from assets/ort/ (copied from npm onnxruntime-web by the runner).
import * as mt from "./pkg/index.js";
import * as ort from "./assets/ort/ort.wasm.min.mjs";

const q = new URLSearchParams(location.search);
const out = document.getElementById("out");
const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];

/** A reproducible input in the model's value range: [-2, 2) for ImageNet-normalized models,
 * [0, 1) for models fed pixels / 255 (mean 0, std 1 in the manifest). */
function inputTensor(m) {
  const { width: w, height: h, channels, mean } = m.input;
  const c = channels === "gray" ? 1 : 3;
  const x = new Float32Array(w * h * c);
  const unit = (mean ?? [0]).every((v) => v === 0);
  let s = 12345 >>> 0;
  for (let i = 0; i < x.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const u = (s >>> 8) / 16777216;
    x[i] = unit ? u : u * 4 - 2;
  }
  const dims = m.input.layout === "nhwc" ? [1, h, w, c] : [1, c, h, w];
  return { x, dims };
}

/** Scoring through scoreRgba on pixels whose normalization gives back `x` (within a grey
 * level): for a package built before scoreTensor existed. */
function rgbaPath(m, x) {
  const { width: w, height: h, mean, std } = m.input;
  const nhwc = m.input.layout === "nhwc";
  const C = m.input.channels === "gray" ? 1 : 3;
  const px = new Uint8Array(w * h * 4).fill(255);
  for (let i = 0; i < w * h; i++) {
    for (let c = 0; c < C; c++) {
      const k = nhwc ? i * C + c : c * w * h + i;
      const g = Math.max(0, Math.min(255, Math.round((x[k] * std[c] + mean[c]) * 255)));
      // gray: R = G = B, so the model's luma conversion gives g back
      for (const j of C === 1 ? [0, 1, 2] : [c]) px[i * 4 + j] = g;
      x[k] = (g / 255 - mean[c]) / std[c];
    }
  }
  return () => globalThis.__scorer.scoreRgba(px, w, h);
}

function softmax(v) {
  const mx = Math.max(...v);
  const e = v.map((z) => Math.exp(z - mx));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((z) => z / s);
}

async function one(name, dir, runs, warmup) {
  const bytes = new Uint8Array(await (await fetch(`${dir}/${name}.onnx`)).arrayBuffer());
  const manifestText = await (await fetch(`${dir}/${name}.json`)).text();
  const m = JSON.parse(manifestText);
  const { x, dims } = inputTensor(m);

  let t = performance.now();
  const scorer = new mt.Scorer(bytes, manifestText);
  globalThis.__scorer = scorer;
  const oursLoadMs = performance.now() - t;
  t = performance.now();
  const sess = await ort.InferenceSession.create(bytes, {
    executionProviders: ["wasm"],
    graphOptimizationLevel: "all",
  });
  const ortLoadMs = performance.now() - t;
  const feeds = { [sess.inputNames[0]]: new ort.Tensor("float32", x, dims) };
  const outName = m.output.name ?? sess.outputNames[0];

  // a package without scoreTensor: the same values as RGBA pixels (normalization included)
  const ours = typeof scorer.scoreTensor === "function" ? () => scorer.scoreTensor(x) : rgbaPath(m, x);
  const theirs = async () => (await sess.run(feeds))[outName].data;
  let a, b;
  for (let i = 0; i < warmup; i++) {
    a = ours();
    b = await theirs();
  }
  const msOurs = [], msOrt = [];
  for (let r = 0; r < runs; r++) {
    // alternate which goes first, so neither always runs on a warmer cache
    const order = r % 2 ? ["ort", "ours"] : ["ours", "ort"];
    for (const who of order) {
      t = performance.now();
      if (who === "ours") a = ours();
      else b = await theirs();
      (who === "ours" ? msOurs : msOrt).push(performance.now() - t);
    }
  }
  const pOrt = m.output.kind === "logits" ? softmax(Array.from(b)) : Array.from(b);
  let maxDiff = 0;
  for (let i = 0; i < pOrt.length; i++) maxDiff = Math.max(maxDiff, Math.abs(pOrt[i] - a.probabilities[i]));
  const top = (p) => p.indexOf(Math.max(...p));
  const res = {
    model: name,
    oursMedianMs: median(msOurs),
    oursMinMs: Math.min(...msOurs),
    ortMedianMs: median(msOrt),
    ortMinMs: Math.min(...msOrt),
    oursLoadMs,
    ortLoadMs,
    oursWasmBytes: mt.wasmMemory()?.buffer.byteLength ?? null,
    maxProbDiff: maxDiff,
    top1Equal: top(pOrt) === a.predicted,
    maxProb: Math.max(...pOrt),
    runs,
  };
  // where our time goes, node by node (performance.now() around each node of tract's plan)
  if (q.get("profile") === "1" && typeof scorer.profileTensor === "function") {
    res.profile = scorer.profileTensor(x, { runs: Number(q.get("profileRuns") ?? 3), topNodes: 5 });
  }
  scorer.free();
  await sess.release();
  return res;
}

/** The whole pipeline as a web app would write it with ORT: decode the PNG (createImageBitmap),
 * resize on a canvas to the model's size, normalize into the model's layout, run, softmax. */
async function ortPipeline(name, dir, images, count) {
  const bytes = new Uint8Array(await (await fetch(`${dir}/${name}.onnx`)).arrayBuffer());
  const m = await (await fetch(`${dir}/${name}.json`)).json();
  const sess = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
  const { width: w, height: h, mean, std } = m.input;
  const nhwc = m.input.layout === "nhwc";
  const blobs = await Promise.all(images.map(async (u) => new Blob([await (await fetch(u)).arrayBuffer()])));
  const canvas = new OffscreenCanvas(w, h);
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  const x = new Float32Array(w * h * 3);
  const run = async (blob) => {
    const bmp = await createImageBitmap(blob);
    ctx.drawImage(bmp, 0, 0, w, h);
    bmp.close();
    const px = ctx.getImageData(0, 0, w, h).data;
    for (let i = 0; i < w * h; i++) {
      for (let c = 0; c < 3; c++) {
        const v = (px[i * 4 + c] / 255 - mean[c]) / std[c];
        x[nhwc ? i * 3 + c : c * w * h + i] = v;
      }
    }
    const dims = nhwc ? [1, h, w, 3] : [1, 3, h, w];
    const o = await sess.run({ [sess.inputNames[0]]: new ort.Tensor("float32", x, dims) });
    const z = Array.from(o[sess.outputNames[0]].data);
    return m.output.kind === "logits" ? softmax(z) : z;
  };
  for (let i = 0; i < 4; i++) await run(blobs[i % blobs.length]);
  const t0 = performance.now();
  for (let i = 0; i < count; i++) await run(blobs[i % blobs.length]);
  const s = (performance.now() - t0) / 1000;
  await sess.release();
  return { perSecond: count / s, seconds: s, count };
}

/** Our pool, 1 or 2 workers, on the same PNGs: decode, resize, normalize, infer, score. */
async function oursPipeline(name, dir, images, count, workers) {
  const { WorkerPool } = await import("./pkg/pool.js");
  const pool = new WorkerPool({ workers });
  await pool.load(await (await fetch(`${dir}/${name}.onnx`)).arrayBuffer(), await (await fetch(`${dir}/${name}.json`)).json());
  const blobs = await Promise.all(images.map(async (u) => new Blob([await (await fetch(u)).arrayBuffer()])));
  const warm = await pool.score(blobs.slice(0, workers * 2)).finished;
  if (warm.failed) throw new Error(JSON.stringify(warm.results.find((r) => r.error).error));
  const items = Array.from({ length: count }, (_, i) => blobs[i % blobs.length]);
  const t0 = performance.now();
  const sum = await pool.score(items, { collect: false }).finished;
  const s = (performance.now() - t0) / 1000;
  pool.terminate();
  return { perSecond: count / s, seconds: s, count, failed: sum.failed };
}

/** Load times on a fresh page: ours twice (`new Scorer`), then ORT twice (`create`). The first
 * of each is what a user's first model costs: the engine then still runs the runtime's code
 * unoptimized. The second is any later load in the same page (or worker). */
async function loads(name, dir) {
  const bytes = new Uint8Array(await (await fetch(`${dir}/${name}.onnx`)).arrayBuffer());
  const manifestText = await (await fetch(`${dir}/${name}.json`)).text();
  const ours = [], theirs = [];
  for (let i = 0; i < 2; i++) {
    const t = performance.now();
    const scorer = new mt.Scorer(bytes, manifestText);
    ours.push(performance.now() - t);
    scorer.free();
  }
  for (let i = 0; i < 2; i++) {
    const t = performance.now();
    const sess = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
    theirs.push(performance.now() - t);
    await sess.release();
  }
  return { model: name, bytes: bytes.length, ours, ort: theirs };
}

if (q.get("mode") === "load") {
  try {
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.proxy = false;
    ort.env.wasm.wasmPaths = new URL("./assets/ort/", location.href).href;
    const { variant } = await mt.init();
    window.__bench = { variant, ...(await loads(q.get("model") ?? "squeezenet", q.get("dir") ?? "assets/bench")) };
  } catch (e) {
    window.__bench = { error: `${e.code ?? ""} ${e.message ?? e}` };
  }
  out.textContent = JSON.stringify(window.__bench, null, 1);
} else if (q.get("mode") === "pipeline") {
  try {
    const threads = Number(q.get("threads") ?? 1);
    ort.env.wasm.numThreads = threads;
    ort.env.wasm.proxy = false;
    ort.env.wasm.wasmPaths = new URL("./assets/ort/", location.href).href;
    const name = q.get("model") ?? "squeezenet";
    const dir = q.get("dir") ?? "assets/bench";
    const images = (q.get("images") ?? "").split(",");
    const count = Number(q.get("count") ?? 48);
    const res = { model: name, threads, crossOriginIsolated: self.crossOriginIsolated };
    if (q.get("ours") !== "0") {
      res.ours1 = await oursPipeline(name, dir, images, count, 1);
      res.ours2 = await oursPipeline(name, dir, images, count, 2);
    }
    res.ort = await ortPipeline(name, dir, images, count);
    window.__bench = res;
  } catch (e) {
    window.__bench = { error: `${e.code ?? ""} ${e.message ?? e}` };
  }
  out.textContent = JSON.stringify(window.__bench, null, 1);
} else try {
  const threads = Number(q.get("threads") ?? 1);
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmPaths = new URL("./assets/ort/", location.href).href;
  const want = q.get("variant") ?? "best";
  const { variant } = q.get("wasm")
    ? await mt.init(new URL(q.get("wasm"), location.href))
    : await mt.init(undefined, {
        simd: want !== "nosimd" && mt.simdSupported(),
        relaxed: (want === "best" || want === "relaxed") && mt.relaxedSimdSupported(),
      });
  if (want !== "best" && !q.get("wasm") && variant !== want) throw new Error(`asked for the ${want} build, init() gave ${variant}`);
  const results = [];
  for (const name of (q.get("models") ?? "squeezenet").split(",")) {
    results.push(await one(name, q.get("dir") ?? "assets/bench", Number(q.get("runs") ?? 25), Number(q.get("warmup") ?? 3)));
  }
  window.__bench = { variant, threads, crossOriginIsolated: self.crossOriginIsolated, results };
} catch (e) {
  window.__bench = { error: `${e.code ?? ""} ${e.message ?? e}` };
}
out.textContent = JSON.stringify(window.__bench, null, 1);
