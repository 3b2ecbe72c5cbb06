// Loading the wasm engine: `init()` compiles and instantiates it once per JS realm (a page or a
// worker). It accepts whatever the host has: nothing (the package's own .wasm next to this
// file, the SIMD build when the browser validates SIMD, else the plain one), a URL or string,
// a `Response`, bytes (`ArrayBuffer` / typed array) or a compiled `WebAssembly.Module`. It
// fetches nothing but the wasm it is pointed at, and all imports are static, so bundlers
// (Vite, webpack, esbuild) see every file the package needs.
import initGlue from "./medtriage.js";

// The smallest module using a v128 instruction (the probe wasm-feature-detect uses).
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
]);

/** True when this browser can run the SIMD build (2-3.5x faster than the plain one). */
export function simdSupported() {
  try {
    return WebAssembly.validate(SIMD_PROBE);
  } catch {
    return false;
  }
}

/** The package's own wasm files (literal `new URL(…, import.meta.url)`: bundlers emit them). */
export function defaultWasmUrl(simd = simdSupported()) {
  return simd
    ? new URL("./medtriage_bg.wasm", import.meta.url)
    : new URL("./medtriage_nosimd_bg.wasm", import.meta.url);
}

function loadError(message, cause) {
  const e = new Error(message, cause ? { cause } : undefined);
  e.name = "MedtriageError";
  e.code = "wasm_load";
  return e;
}

function isSource(x) {
  return (
    typeof x === "string" ||
    x instanceof URL ||
    (typeof Response !== "undefined" && x instanceof Response) ||
    x instanceof ArrayBuffer ||
    ArrayBuffer.isView(x) ||
    x instanceof WebAssembly.Module
  );
}

async function compileOne(src) {
  if (src instanceof WebAssembly.Module) return src;
  if (typeof src === "string" || src instanceof URL) {
    const r = await fetch(src, { credentials: "same-origin" });
    if (!r.ok) throw loadError(`wasm ${String(src)}: HTTP ${r.status}`);
    src = r;
  }
  if (typeof Response !== "undefined" && src instanceof Response) {
    if (!src.ok) throw loadError(`wasm response: HTTP ${src.status}`);
    const type = src.headers.get("Content-Type") ?? "";
    // streaming compile needs application/wasm; any other MIME type is compiled from bytes
    if (type.split(";")[0].trim() === "application/wasm" && WebAssembly.compileStreaming) {
      return WebAssembly.compileStreaming(src);
    }
    src = await src.arrayBuffer();
  }
  return WebAssembly.compile(src);
}

/**
 * Compile the engine without instantiating it (a `WebAssembly.Module` can be posted to workers,
 * so the pool fetches and compiles once for all of them).
 *   input: undefined | URL | string | Response | BufferSource | WebAssembly.Module
 *          | { simd?: <one of those>, nosimd?: <one of those> }
 */
export async function compile(input, { simd = simdSupported() } = {}) {
  let candidates;
  if (input === undefined || input === null) {
    candidates = simd ? [["simd", defaultWasmUrl(true)], ["nosimd", defaultWasmUrl(false)]] : [["nosimd", defaultWasmUrl(false)]];
  } else if (isSource(input)) {
    candidates = [[VARIANTS.get(input) ?? "host", input]];
  } else if (typeof input === "object" && ("simd" in input || "nosimd" in input)) {
    candidates = [simd ? ["simd", input.simd] : [], ["nosimd", input.nosimd]].filter((x) => x[1] !== undefined && x[1] !== null);
  } else {
    throw Object.assign(loadError("init(): expected a URL, string, Response, bytes, WebAssembly.Module or {simd, nosimd}"), {
      code: "invalid_input",
    });
  }
  if (candidates.length === 0) throw loadError("init(): no wasm build usable in this browser");
  let last;
  for (const [variant, c] of candidates) {
    try {
      const m = await compileOne(c);
      VARIANTS.set(m, variant);
      return m;
    } catch (e) {
      last = e; // e.g. the SIMD build in a browser whose validator refused it: try the plain one
    }
  }
  throw last?.code ? last : loadError(`wasm compile failed: ${last?.message ?? last}`, last);
}

// which build a compiled module is: "simd", "nosimd" or "host" (bytes the host brought)
const VARIANTS = new WeakMap();

/** "simd", "nosimd" or "host" for a module `compile()` returned (a module posted to a worker
 * loses this, so the pool passes the variant along). */
export function variantOf(module) {
  return VARIANTS.get(module) ?? "host";
}

let ready = null;
let loadedModule = null;
let memory = null;

/**
 * Compile (if needed) and instantiate the engine in this realm; resolves with
 * `{ module, variant, simd }` where `module` is the compiled `WebAssembly.Module`. Later calls return
 * the first call's promise (one instance per page or worker).
 */
export function init(input, opts = {}) {
  ready ??= (async () => {
    const module = await compile(input, opts);
    const exports = await initGlue({ module_or_path: module });
    loadedModule = module;
    memory = exports?.memory ?? null;
    const variant = opts.variant ?? variantOf(module);
    return { module, variant, simd: variant === "simd" };
  })().catch((e) => {
    ready = null;
    throw e;
  });
  return ready;
}

/** The compiled module `init()` instantiated (null before). */
export function loadedWasm() {
  return loadedModule;
}

/** The engine's linear memory in this realm (null before `init()`): its size only grows, so
 * `wasmMemory().buffer.byteLength` is also its peak. */
export function wasmMemory() {
  return memory;
}
