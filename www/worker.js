// A scoring worker: one wasm instance, one Scorer. Messages:
//   {type:"init", models:[ArrayBuffer], manifest:Object}       -> {type:"ready", simd, variant, batchSize, sha256, members, samplesPerImage}
//     (several models: an ensemble sharing the manifest; the manifest's `tta` applies either way)
//   {type:"score", job, items:[{id, bytes:ArrayBuffer}], options} -> {type:"scored", job, results}
//   {type:"rank", job, results, measure}                         -> {type:"ranked", job, queue}
//   {type:"call", job, fn, request}  (tierItems, planRound, …)  -> {type:"called", job, result}
// Errors come back as {type:"error", job, code, message}.
import { loadMedtriage } from "./pkg/loader.js";

let loaded;
let scorer;

function fail(job, e) {
  postMessage({ type: "error", job, code: e?.code ?? "internal", message: String(e?.message ?? e) });
}

self.onmessage = async ({ data }) => {
  const { type, job } = data;
  try {
    if (type === "init") {
      loaded ??= await loadMedtriage(new URL("./pkg/", import.meta.url));
      scorer?.free();
      const models = data.models.map((m) => new Uint8Array(m));
      scorer =
        models.length === 1
          ? new loaded.mt.Scorer(models[0], data.manifest)
          : loaded.mt.Scorer.ensemble(models, data.manifest);
      postMessage({
        type: "ready",
        job,
        simd: loaded.simd,
        variant: loaded.variant,
        batchSize: scorer.batchSize,
        sha256: scorer.sha256,
        members: scorer.members,
        samplesPerImage: scorer.samplesPerImage,
      });
    } else if (type === "score") {
      const items = data.items.map((it) =>
        it.rgba
          ? { id: it.id, rgba: new Uint8Array(it.rgba), width: it.width, height: it.height }
          : { id: it.id, bytes: new Uint8Array(it.bytes) },
      );
      const t0 = performance.now();
      const results = scorer.scoreBatch(items, data.options);
      postMessage({ type: "scored", job, results, ms: performance.now() - t0 });
    } else if (type === "call") {
      loaded ??= await loadMedtriage(new URL("./pkg/", import.meta.url));
      const allowed = ["tierItems", "planRound", "exportLabelStudio", "exportPseudoLabels", "exportTiersCsv", "selectBatch"];
      if (!allowed.includes(data.fn)) throw Object.assign(new Error(`not callable: ${data.fn}`), { code: "invalid_input" });
      postMessage({ type: "called", job, result: loaded.mt[data.fn](data.request) });
    } else if (type === "rank") {
      loaded ??= await loadMedtriage(new URL("./pkg/", import.meta.url));
      postMessage({ type: "ranked", job, queue: loaded.mt.rankQueue(data.results, data.measure) });
    } else {
      fail(job, { code: "invalid_input", message: `unknown message ${type}` });
    }
  } catch (e) {
    fail(job, e);
  }
};
