// medtriage: score medical images with an ONNX model inside the browser, then rank and flag
// them for human review. Call `await init()` once, then use the engine's API:
//   import { init, Scorer, rankQueue, tierItems } from "medtriage";
//   await init();                       // or init(url | response | bytes | WebAssembly.Module)
// For many images use the worker pool ("medtriage/pool") and keep results across reloads with
// the store ("medtriage/store").
export * from "./medtriage.js";
export { init, compile, simdSupported, relaxedSimdSupported, bestVariant, defaultWasmUrl, variantOf, loadedWasm, wasmMemory } from "./loader.js";
