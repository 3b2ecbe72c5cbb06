// In-browser scoring speed (used by scripts/bench.sh): median ms per image, one thread, after
// warm-up, same inputs as examples/bench_score.rs.
//   bench.html?model=assets/x.onnx&manifest=assets/x.json&image=assets/a.png|rgba:224x224&runs=30
import * as mt from "./pkg/index.js";

const q = new URLSearchParams(location.search);
const out = document.getElementById("out");
try {
  const { variant } = await mt.init(undefined, { simd: q.get("nosimd") !== "1" && mt.simdSupported() });
  const model = new Uint8Array(await (await fetch(q.get("model"))).arrayBuffer());
  const manifest = await (await fetch(q.get("manifest"))).text();
  const runs = Number(q.get("runs") ?? 30);
  let t = performance.now();
  const scorer = new mt.Scorer(model, manifest);
  const loadMs = performance.now() - t;
  const img = q.get("image");
  let score;
  if (img.startsWith("rgba:")) {
    const [w, h] = img.slice(5).split("x").map(Number);
    const px = new Uint8Array(w * h * 4);
    let s = 12345;
    for (let i = 0; i < px.length; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      px[i] = s >>> 24;
    }
    score = () => scorer.scoreRgba(px, w, h);
  } else {
    const bytes = new Uint8Array(await (await fetch(img)).arrayBuffer());
    score = () => scorer.scoreImage(bytes);
  }
  for (let i = 0; i < 3; i++) score();
  const ms = [];
  for (let i = 0; i < runs; i++) {
    t = performance.now();
    score();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  window.__bench = { variant, loadMs, medianMs: ms[ms.length >> 1], minMs: ms[0], runs };
} catch (e) {
  window.__bench = { error: `${e.code ?? ""} ${e.message}` };
}
out.textContent = JSON.stringify(window.__bench, null, 1);
