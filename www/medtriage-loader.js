// Loads the medtriage wasm module, choosing the SIMD build when the browser supports wasm
// SIMD (2-3.5x faster), else the plain build. Works in pages and workers.
//   import { loadMedtriage } from "medtriage/loader";
//   const { mt, simd } = await loadMedtriage();
//   const scorer = new mt.Scorer(modelBytes, manifest);

// The smallest module using a v128 instruction (the probe wasm-feature-detect uses).
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
]);

export function simdSupported() {
  try {
    return WebAssembly.validate(SIMD_PROBE);
  } catch {
    return false;
  }
}

export async function loadMedtriage(base = new URL(".", import.meta.url), { forceNoSimd = false } = {}) {
  const simd = !forceNoSimd && simdSupported();
  const names = simd ? ["medtriage", "medtriage_nosimd"] : ["medtriage_nosimd"];
  let lastError;
  for (const name of names) {
    try {
      const mt = await import(new URL(`${name}.js`, base).href);
      await mt.default({ module_or_path: new URL(`${name}_bg.wasm`, base) });
      return { mt, simd: name === "medtriage", variant: name };
    } catch (e) {
      lastError = e;
    }
  }
  throw lastError;
}
