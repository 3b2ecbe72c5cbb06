// DICOM decode time in the browser (used by scripts/bench_dicom.sh), as examples/bench_dicom.rs
// natively: after one warm-up run, the median and the best of `runs` runs of every frame decoded and
// windowed to the model's input (gray, the file's window): `dicomFrames(bytes, {frame: each},
// "gray")`, the copy of each frame out to a Float32Array included.
//   bench-dicom.html?file=assets/bench/dicom/x.dcm&runs=5
import * as mt from "./pkg/index.js";

const q = new URLSearchParams(location.search);
const out = document.getElementById("out");
try {
  const { variant } = await mt.init();
  const file = q.get("file");
  const runs = Number(q.get("runs") ?? 5);
  const bytes = new Uint8Array(await (await fetch(file)).arrayBuffer());
  const opts = { frame: { mode: "each" } };
  let frames = mt.dicomFrames(bytes, opts, "gray").length;
  const ms = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    frames = mt.dicomFrames(bytes, opts, "gray").length;
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  window.__bench = { file: file.split("/").pop(), bytes: bytes.length, frames, decodeWindowMs: ms[runs >> 1], decodeWindowBestMs: ms[0], runs, variant };
  out.textContent = JSON.stringify(window.__bench, null, 1);
} catch (e) {
  window.__bench = { error: String(e?.message ?? e), code: e?.code };
  out.textContent = `error: ${e?.message ?? e}`;
}
