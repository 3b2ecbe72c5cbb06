/** Where the engine's wasm comes from: a URL (or string), a fetch `Response`, the bytes, or a
 * compiled module; or one of each for the SIMD and the plain build (picked by feature detection). */
export type WasmSource = URL | string | Response | ArrayBuffer | ArrayBufferView | WebAssembly.Module;
export type WasmInput = WasmSource | { relaxed?: WasmSource; simd?: WasmSource; nosimd?: WasmSource };
/** The package's own builds, fastest first. */
export type PackageVariant = "relaxed" | "simd" | "nosimd";
/** A package build, or "host": bytes or a module the host brought. */
export type Variant = PackageVariant | "host";
export interface InitResult {
  module: WebAssembly.Module;
  variant: Variant;
  /** True for the SIMD and the relaxed-SIMD builds. */
  simd: boolean;
}
export interface InitOptions {
  /** Force the choice (default: `simdSupported()`). */
  simd?: boolean;
  /** Allow the relaxed-SIMD build (default: `relaxedSimdSupported()`). */
  relaxed?: boolean;
  /** What to report as the variant (a worker given a module by the pool). */
  variant?: Variant;
}
export function simdSupported(): boolean;
export function relaxedSimdSupported(): boolean;
export function bestVariant(opts?: { simd?: boolean; relaxed?: boolean }): PackageVariant;
/** `true` / `false` mean "simd" / "nosimd"; default: `bestVariant()`. */
export function defaultWasmUrl(variant?: PackageVariant | boolean): URL;
export function compile(input?: WasmInput, opts?: InitOptions): Promise<WebAssembly.Module>;
export function variantOf(module: WebAssembly.Module): Variant;
/** Instantiate the engine once in this page or worker (later calls share the first promise). */
export function init(input?: WasmInput, opts?: InitOptions): Promise<InitResult>;
export function loadedWasm(): WebAssembly.Module | null;
export function wasmMemory(): WebAssembly.Memory | null;
