// A Vite host: the package installed from its tarball, imported by name. It scores the bundled
// samples in the worker pool, keeps them in the store, ranks them with the main API, and then
// scores whatever images the user picks.
import { init, rankQueue } from "medtriage";
import { WorkerPool, plainResult } from "medtriage/pool";
import { openStore } from "medtriage/store";

const out = document.getElementById("out");
const pool = new WorkerPool({ workers: 2 });
const store = await openStore({ name: "vite-host" });
const get = (u) => fetch(u).then((r) => (r.ok ? r : Promise.reject(new Error(`${u}: ${r.status}`))));
const index = await (await get("/samples/index.json")).json();
await pool.load(await (await get("/model/model.onnx")).arrayBuffer(), await (await get("/model/manifest.json")).json());

async function score(source) {
  const { results } = await pool.score(source, { store }).finished;
  await init(); // the main API in the page too (its own wasm asset)
  const queue = rankQueue(results.map(plainResult), "entropy");
  return { results: results.map((r) => [r.id, r.score ? r.score.predicted : r.error.code]), order: queue.order };
}

const samples = (async function* () {
  for (const name of index.samples) yield { id: name, blob: await (await get(`/samples/${name}`)).blob() };
})();
window.__host = { bundled: await score(samples) };
out.textContent = "ready";
document.getElementById("images").onchange = async (e) => {
  window.__host.picked = await score(e.target.files);
  out.textContent = JSON.stringify(window.__host.picked.results);
};
