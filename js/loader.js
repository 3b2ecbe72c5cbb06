// Loading the wasm engine: `init()` compiles and instantiates it once per JS realm (a page or a
// worker). It accepts whatever the host has: nothing (the package's own .wasm next to this
// file: the relaxed-SIMD build when the browser validates relaxed SIMD, else the SIMD build
// when it validates SIMD, else the plain one), a URL or string,
// a `Response`, bytes (`ArrayBuffer` / typed array) or a compiled `WebAssembly.Module`. It
// fetches nothing but the wasm it is pointed at, and all imports are static, so bundlers
// (Vite, webpack, esbuild) see every file the package needs.
import initGlue from "./medtriage.js";

// The smallest module using a v128 instruction (the probe wasm-feature-detect uses).
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
]);
// The smallest module using a relaxed-SIMD instruction (i8x16.relaxed_swizzle; the same probe).
const RELAXED_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 15, 1, 13, 0, 65, 1, 253, 15, 65, 2, 253, 15,
  253, 128, 2, 11,
]);

function validates(bytes) {
  try {
    return WebAssembly.validate(bytes);
  } catch {
    return false;
  }
}

/** True when this browser can run the SIMD build (2-3.5x faster than the plain one). */
export function simdSupported() {
  return validates(SIMD_PROBE);
}

/** True when this browser can run the relaxed-SIMD build (fused multiply-add in the kernels). */
export function relaxedSimdSupported() {
  return validates(SIMD_PROBE) && validates(RELAXED_PROBE);
}

// the package's own files, as literal `new URL(…, import.meta.url)` so that bundlers emit them
function packageUrl(variant) {
  if (variant === "relaxed") return new URL("./medtriage_relaxed_bg.wasm", import.meta.url);
  if (variant === "simd") return new URL("./medtriage_bg.wasm", import.meta.url);
  return new URL("./medtriage_nosimd_bg.wasm", import.meta.url);
}

/** The fastest build this browser validates: "relaxed", "simd" or "nosimd". */
export function bestVariant({ simd = simdSupported(), relaxed = relaxedSimdSupported() } = {}) {
  return simd ? (relaxed ? "relaxed" : "simd") : "nosimd";
}

/** The package's own wasm file for a variant ("relaxed" | "simd" | "nosimd"; `true` / `false`
 * mean "simd" / "nosimd"; default: the best this browser runs). */
export function defaultWasmUrl(variant = bestVariant()) {
  return packageUrl(variant === true ? "simd" : variant === false ? "nosimd" : variant);
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
 *          | { relaxed?: <one of those>, simd?: <one of those>, nosimd?: <one of those> }
 * With several candidates the fastest the browser validates is tried first and the next one
 * when it fails to compile (e.g. a package built without the relaxed-SIMD file).
 */
export async function compile(input, { simd = simdSupported(), relaxed = relaxedSimdSupported() } = {}) {
  const order = ["relaxed", "simd", "nosimd"].filter((v) => v === "nosimd" || (simd && (v === "simd" || relaxed)));
  let candidates;
  if (input === undefined || input === null) {
    candidates = order.map((v) => [v, packageUrl(v)]);
  } else if (isSource(input)) {
    candidates = [[VARIANTS.get(input) ?? "host", input]];
  } else if (typeof input === "object" && ("simd" in input || "nosimd" in input || "relaxed" in input)) {
    candidates = order.map((v) => [v, input[v]]).filter((x) => x[1] !== undefined && x[1] !== null);
  } else {
    throw Object.assign(loadError("init(): expected a URL, string, Response, bytes, WebAssembly.Module or {relaxed, simd, nosimd}"), {
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

// which build a compiled module is: "relaxed", "simd", "nosimd" or "host" (bytes the host brought)
const VARIANTS = new WeakMap();

/** "relaxed", "simd", "nosimd" or "host" for a module `compile()` returned (a module posted to a worker
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
    return { module, variant, simd: variant === "simd" || variant === "relaxed" };
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
