import type {
  DicomPreview,
  ItemResult, ScoreOptions, Measure, Queue, TierRequest, TierResponseOut, RoundRequest, RoundPlan, ExportRequest,
  LabelStudioOptions, PseudoLabelOptions, PseudoLabels, TableOptions, SelectRequest, SelectResponse,
  MlTierRequest, MlTierResponseOut, MlRoundRequest, MlRoundPlan, MlExportRequest, MlPseudoLabelOptions, MlPseudoLabels,
  LabelConfigRequest, ReadLabelStudioRequest, LabelStudioReviews, ReadLabelStudioMlRequest, MlLabelStudioReviews,
  CalibrationReportRequest, CalibrationReport, ApplyTemperatureRequest,
} from "./medtriage.js";
import type { WasmInput, Variant } from "./loader.js";
import type { ResultStore } from "./store.js";

export class MedtriageError extends Error {
  constructor(code: string, message: string, options?: ErrorOptions);
  code: string;
}
export function sha256Hex(bytes: ArrayBuffer | ArrayBufferView): Promise<string>;
/** `<sha256 of each model, "+"-joined>:<sha256 of the manifest's JSON text>` */
export function modelKey(models: BufferSource | BufferSource[], manifest: object | string): Promise<string>;

/** The result with typed arrays as plain arrays. */
export function plainResult(r: PoolItemResult): ItemResult;
export interface PoolOptions {
  /** Number of workers (default navigator.hardwareConcurrency). */
  workers?: number;
  wasm?: WasmInput;
  /** Images per message (default 4). */
  chunk?: number;
  /** Watchdog per image in a message (default 30000 ms). */
  timeoutMs?: number;
  /** A worker script of your own that imports "medtriage/worker". */
  workerUrl?: URL | string;
}
export interface ModelInfo {
  variant: Variant;
  simd: boolean;
  batchSize: number;
  sha256: string[] | string;
  members: number;
  samplesPerImage: number;
  modelKey: string;
  workers: number;
}
/** One image: a File or Blob (read when a worker is free), bytes, or an object with an id. */
export type ImageSource =
  | Blob
  | ArrayBuffer
  | ArrayBufferView
  | { id?: string; bytes?: ArrayBuffer | ArrayBufferView; blob?: Blob; file?: File }
  | { id?: string; rgba: ArrayBuffer | ArrayBufferView; width: number; height: number };
/** What the pool returns per image: the engine's ItemResult, with numeric arrays as Float64Array. */
export type PoolItemResult = ItemResult;
/** A DICOM item of a manifest that scores every frame (`input.dicom.frame: {mode: "each"}`). */
export interface PoolFramesResult {
  id: string;
  /** one result per frame, ids `SOPInstanceUID#frame` */
  frames: PoolItemResult[];
}
export interface ResultDetail {
  index: number;
  id: string;
  hash: string | null;
  result: PoolItemResult | PoolFramesResult;
  cached: boolean;
}
export interface Progress {
  done: number;
  failed: number;
  cached: number;
  scored: number;
  retried: number;
  total: number | null;
  /** images scored per second over the last ~5 s */
  rate: number;
  etaSeconds: number | null;
  elapsedMs: number;
  paused: boolean;
}
export interface RunOptions {
  options?: ScoreOptions;
  store?: ResultStore;
  /** Keep every result in `finished.results` (default true; false for huge runs). */
  collect?: boolean;
  chunk?: number;
  total?: number;
  onProgress?: (p: Progress) => void;
  onResult?: (r: ResultDetail) => void;
  signal?: AbortSignal;
  progressEveryMs?: number;
}
export interface RunSummary {
  done: number;
  failed: number;
  cached: number;
  scored: number;
  retried: number;
  total: number | null;
  cancelled: boolean;
  elapsedMs: number;
  /** in input order, an item scored frame by frame as its frames (null with collect: false) */
  results: PoolItemResult[] | null;
}
export class Run extends EventTarget {
  readonly finished: Promise<RunSummary>;
  readonly paused: boolean;
  readonly cancelled: boolean;
  pause(): void;
  resume(): void;
  cancel(): void;
}
export class WorkerPool extends EventTarget {
  constructor(options?: PoolOptions);
  readonly size: number;
  readonly modelKey: string | null;
  readonly info: ModelInfo | null;
  readonly replaced: number;
  /**
   * Load a model in every worker. Loads run in call order (the last one called is the model
   * the workers end with); a run started while a load is pending waits for it; a load while a
   * run is going on is refused with `invalid_input`.
   */
  load(models: BufferSource | BufferSource[], manifest: object | string): Promise<ModelInfo>;
  score(source: Iterable<ImageSource> | AsyncIterable<ImageSource>, options?: RunOptions): Run;
  /** Run an engine function in a worker (the request and response types are the engine's). */
  call(fn: "tierItems", request: TierRequest): Promise<TierResponseOut>;
  call(fn: "planRound", request: RoundRequest): Promise<RoundPlan>;
  call(fn: "exportLabelStudio", request: ExportRequest<LabelStudioOptions>): Promise<unknown[]>;
  call(fn: "exportPseudoLabels", request: ExportRequest<PseudoLabelOptions>): Promise<PseudoLabels>;
  call(fn: "exportTiersCsv", request: ExportRequest<TableOptions>): Promise<string>;
  call(fn: "selectBatch", request: SelectRequest): Promise<SelectResponse>;
  call(fn: "tierItemsMultiLabel", request: MlTierRequest): Promise<MlTierResponseOut>;
  call(fn: "planRoundMultiLabel", request: MlRoundRequest): Promise<MlRoundPlan>;
  call(fn: "exportLabelStudioMultiLabel", request: MlExportRequest<LabelStudioOptions>): Promise<unknown[]>;
  call(fn: "exportPseudoLabelsMultiLabel", request: MlExportRequest<MlPseudoLabelOptions>): Promise<MlPseudoLabels>;
  call(fn: "labelStudioConfig", request: LabelConfigRequest): Promise<string>;
  call(fn: "readLabelStudio", request: ReadLabelStudioRequest): Promise<LabelStudioReviews>;
  call(fn: "readLabelStudioMultiLabel", request: ReadLabelStudioMlRequest): Promise<MlLabelStudioReviews>;
  call(fn: "calibrationReport", request: CalibrationReportRequest): Promise<CalibrationReport>;
  call(fn: "applyTemperature", request: ApplyTemperatureRequest): Promise<number[]>;
  rank(results: ItemResult[], measure?: Measure): Promise<Queue>;
  /** A DICOM object as the loaded model sees it (its window, frame and channels), for thumbnails. */
  preview(bytes: ArrayBuffer | ArrayBufferView): Promise<DicomPreview & { rgba: Uint8ClampedArray }>;
  memory(): Promise<{ worker: number; wasm: number | null; jsHeap: number | null }[]>;
  terminate(): void;
}
