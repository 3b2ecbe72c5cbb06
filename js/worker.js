// A scoring worker of the pool ("medtriage/pool"): one wasm instance, one Scorer. The page
// compiles the wasm once and posts the WebAssembly.Module; the model bytes arrive once, at init.
// Messages in (each with a `job` number):
//   {type:"init", wasm: WebAssembly.Module, variant, models:[ArrayBuffer], manifest}
//       -> {type:"ready", variant, simd, batchSize, sha256, members, samplesPerImage}
//   {type:"score", items:[{id, bytes:ArrayBuffer} | {id, rgba:ArrayBuffer, width, height}], options}
//       -> {type:"scored", results, ms, wasmBytes}   (probabilities/embedding as Float64Array, transferred)
//       one result per item; when the manifest scores every frame of a DICOM object
//       (`input.dicom.frame.mode` "each"), that item's result is {id, frames: [result per frame]}
//   {type:"preview", bytes:ArrayBuffer}  a DICOM object as this model sees it (window, channels)
//       -> {type:"previewed", preview: {width, height, rgba, window, identity}} (rgba transferred)
//   {type:"call", fn, request}  (tierItems, planRound, exports, selectBatch, rankQueue, and the
//       multi-label tierItemsMultiLabel, planRoundMultiLabel, their two exports; the Label
//       Studio config and readers; calibrationReport, applyTemperature)
//       -> {type:"called", result}
// Errors: {type:"error", code, message}. A wasm trap (a Rust panic, an out-of-bounds access)
// poisons the instance: the worker answers {type:"trapped", message} and must be replaced.
import * as mt from "./medtriage.js";
import { init, wasmMemory } from "./loader.js";

let scorer = null;
let variant = "host";
let eachFrame = false;
const CALLABLE = new Set([
  "tierItems",
  "planRound",
  "exportLabelStudio",
  "exportPseudoLabels",
  "exportTiersCsv",
  "selectBatch",
  "rankQueue",
  "tierItemsMultiLabel",
  "planRoundMultiLabel",
  "exportLabelStudioMultiLabel",
  "exportPseudoLabelsMultiLabel",
  "labelStudioConfig",
  "readLabelStudio",
  "readLabelStudioMultiLabel",
  "calibrationReport",
  "applyTemperature",
]);

function post(msg, transfer = []) {
  self.postMessage(msg, transfer);
}

// Numeric arrays of each result become Float64Arrays whose buffers are moved, not copied.
function packResults(results, transfer) {
  for (const r of results.flatMap((x) => x?.frames ?? [x])) {
    const s = r?.score;
    if (!s) continue;
    for (const k of ["probabilities", "embedding"]) {
      if (Array.isArray(s[k])) {
        s[k] = Float64Array.from(s[k]);
        transfer.push(s[k].buffer);
      }
    }
  }
  return results;
}

self.onmessage = async ({ data }) => {
  const { type, job } = data;
  try {
    if (type === "init") {
      const loaded = await init(data.wasm, { variant: data.variant });
      variant = loaded.variant;
      scorer?.free();
      const models = data.models.map((m) => new Uint8Array(m));
      scorer = models.length === 1 ? new mt.Scorer(models[0], data.manifest) : mt.Scorer.ensemble(models, data.manifest);
      const manifest = typeof data.manifest === "string" ? JSON.parse(data.manifest) : data.manifest;
      eachFrame = manifest?.input?.dicom?.frame?.mode === "each";
      post({
        type: "ready",
        job,
        variant,
        simd: variant === "simd" || variant === "relaxed",
        batchSize: scorer.batchSize,
        sha256: scorer.sha256,
        members: scorer.members,
        samplesPerImage: scorer.samplesPerImage,
      });
    } else if (type === "score") {
      if (!scorer) throw Object.assign(new Error("no model loaded in this worker"), { code: "invalid_input" });
      const items = data.items.map((it) =>
        it.rgba
          ? { id: it.id, rgba: new Uint8Array(it.rgba), width: it.width, height: it.height }
          : { id: it.id, bytes: new Uint8Array(it.bytes) },
      );
      const t0 = performance.now();
      const results = eachFrame ? items.map((it) => framesOf(it, data.options)) : scorer.scoreBatch(items, data.options);
      const ms = performance.now() - t0;
      const transfer = [];
      post({ type: "scored", job, results: packResults(results, transfer), ms, memory: memoryNow() }, transfer);
    } else if (type === "preview") {
      if (!scorer) throw Object.assign(new Error("no model loaded in this worker"), { code: "invalid_input" });
      const preview = scorer.dicomPreview(new Uint8Array(data.bytes));
      post({ type: "previewed", job, preview }, [preview.rgba.buffer]);
    } else if (type === "call") {
      await init(data.wasm, { variant: data.variant });
      if (!CALLABLE.has(data.fn)) throw Object.assign(new Error(`not callable: ${data.fn}`), { code: "invalid_input" });
      const result = data.fn === "rankQueue" ? mt.rankQueue(data.request.results, data.request.measure) : mt[data.fn](data.request);
      post({ type: "called", job, result });
    } else if (type === "memory") {
      post({ type: "memory", job, memory: memoryNow() });
    } else {
      throw Object.assign(new Error(`unknown message ${type}`), { code: "invalid_input" });
    }
  } catch (e) {
    if (e instanceof WebAssembly.RuntimeError) {
      // the instance is unusable after a trap; the pool replaces this worker
      scorer = null;
      post({ type: "trapped", job, message: String(e.message ?? e) });
      return;
    }
    post({ type: "error", job, code: e?.code ?? "internal", message: String(e?.message ?? e) });
  }
};

// One item of a manifest that scores every frame: a DICOM object becomes {id, frames}, one
// result per frame (ids `SOPInstanceUID#frame`); anything else (PNG, JPEG, an item that
// failed) stays one result.
function framesOf(item, options) {
  const rs = scorer.scoreBatch([item], options);
  return rs.length === 1 && !rs[0].score?.dicom ? rs[0] : { id: item.id, frames: rs };
}

// Memory of this worker: the wasm instance's linear memory (it only grows, so the last value is
// its peak) and, where the browser exposes it, the worker's JS heap.
function memoryNow() {
  const m = { wasm: null, jsHeap: null };
  try {
    m.wasm = wasmMemory()?.buffer.byteLength ?? null;
  } catch {
    /* not loaded yet */
  }
  if (performance.memory) m.jsHeap = performance.memory.usedJSHeapSize;
  return m;
}
