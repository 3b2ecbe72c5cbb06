// A plain static host: the package unpacked next to this page, no bundler, strict CSP.
import { WorkerPool } from "./medtriage/pool.js";
import { openStore } from "./medtriage/store.js";
const pool = new WorkerPool({ workers: 2 });
const [store, model, manifest] = await Promise.all([openStore(), fetch("model/model.onnx").then((r) => r.arrayBuffer()), fetch("model/manifest.json").then((r) => r.json())]);
await pool.load(model, manifest);
const out = document.getElementById("out");
out.textContent = "ready";
document.getElementById("images").onchange = async (e) => {
  const { results } = await pool.score(e.target.files, { store }).finished;
  out.textContent = JSON.stringify(results.map((r) => [r.id, r.score ? r.score.predicted : r.error.code]));
};
