// The medical benchmark's browser half: loads one model into the package's WorkerPool with
// `workers` workers, fetches the listed images (same origin) and scores them, timing each
// phase and reading each worker's wasm memory. Results land in window.__bench for
// scripts/medical/bench_browser.mjs.
import { WorkerPool } from "./pkg/pool.js";

const q = new URLSearchParams(location.search);
const out = document.getElementById("out");
try {
  const t0 = performance.now();
  const [model, manifest, list] = await Promise.all([
    fetch(q.get("model")).then((r) => r.arrayBuffer()),
    fetch(q.get("manifest")).then((r) => r.json()),
    fetch(q.get("list")).then((r) => r.json()),
  ]);
  const tFetched = performance.now();
  const pool = new WorkerPool({ workers: Number(q.get("workers") ?? 1), chunk: Number(q.get("chunk") ?? 2), timeoutMs: 600000 });
  const info = await pool.load(model, manifest);
  const tLoaded = performance.now();
  const items = await Promise.all(
    list.map(async (u) => ({ id: u, bytes: await (await fetch(u)).arrayBuffer() })),
  );
  const tImages = performance.now();
  const { results } = await pool.score(items).finished;
  const tScored = performance.now();
  const memory = await pool.memory();
  pool.terminate();
  window.__bench = {
    workers: pool.size,
    variant: info.variant,
    simd: info.simd,
    modelBytes: model.byteLength,
    fetchMs: tFetched - t0,
    loadMs: tLoaded - tFetched,
    images: items.length,
    scoreMs: tScored - tImages,
    msPerImage: (tScored - tImages) / items.length,
    failed: results.filter((r) => r.error).length,
    wasmMemoryMb: memory.map((m) => (m.wasm == null ? null : m.wasm / 1048576)),
    results: results.map((r) => ({ id: r.id, probabilities: r.score?.probabilities ? Array.from(r.score.probabilities) : null, error: r.error ?? null })),
  };
  out.textContent = JSON.stringify({ ...window.__bench, results: undefined }, null, 1);
} catch (e) {
  window.__bench = { error: String(e?.message ?? e), code: e?.code };
  out.textContent = `error: ${e?.message ?? e}`;
}
