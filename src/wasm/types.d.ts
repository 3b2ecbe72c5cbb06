/** The model manifest (see README "Model manifest"). Unknown fields are rejected. */
export interface Manifest {
  name?: string;
  description?: string;
  input: {
    width: number;
    height: number;
    layout: "nchw" | "nhwc";
    channels: "gray" | "rgb" | "bgr";
    /** Per-channel mean after scaling pixels to [0, 1]. */
    mean: number[];
    /** Per-channel std after scaling pixels to [0, 1]. */
    std: number[];
    resize: { mode: "stretch" } | { mode: "shorterSideCrop"; shorterSide?: number };
    /** ONNX input name; defaults to the first input. */
    name?: string;
  };
  output: {
    kind: "logits" | "probabilities";
    classes: string[];
    /** ONNX output holding the class scores; defaults to the first output. */
    name?: string;
    /** ONNX output (e.g. penultimate layer) returned as an embedding. */
    embedding?: string;
  };
  /** Lower-case hex SHA-256 the model bytes must match. */
  sha256?: string;
}

export interface LoadOptions {
  /** Refuse larger models (default 512 MiB). */
  maxModelBytes?: number;
  /** Images per run when the model's batch dimension is free (default 8). */
  maxBatch?: number;
}

export interface ImageLimits {
  maxWidth?: number;
  maxHeight?: number;
  maxAlloc?: number;
}

export interface ScoreOptions {
  /** Number of top classes to list (default 3). */
  topK?: number;
  /** Return the embedding named in the manifest (default false). */
  embedding?: boolean;
  limits?: ImageLimits;
}

export interface TopClass {
  index: number;
  name: string;
  probability: number;
}

export interface ImageScore {
  probabilities: number[];
  top: TopClass[];
  predicted: number;
  confidence: number;
  /** 1 - max p */
  leastConfidence: number;
  /** p1 - p2 (small = uncertain) */
  margin: number;
  /** p2 / p1 (large = uncertain) */
  ratio: number;
  /** -sum p ln p, natural log */
  entropy: number;
  embedding?: number[];
}

export interface ItemError {
  /** Stable code, e.g. "image_decode", "non_finite_output". */
  code: string;
  message: string;
}

export interface ItemResult {
  id: string;
  score?: ImageScore;
  error?: ItemError;
}

export type BatchItem =
  | { id: string; bytes: Uint8Array | ArrayBuffer }
  | { id: string; rgba: Uint8Array | Uint8ClampedArray; width: number; height: number };

export type Measure = "leastConfidence" | "margin" | "ratio" | "entropy";

export interface Queue {
  /** Ids, most uncertain first (ties: input order). */
  order: string[];
  /** Uncertainty of each, larger = more uncertain. */
  values: number[];
  /** Ids of failed items, never ranked. */
  failed: string[];
}

/** Errors thrown by medtriage carry a stable `code`. */
export interface MedtriageError extends Error {
  code: string;
}
