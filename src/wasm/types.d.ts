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
    resize: { mode: "stretch" } | { mode: "shorterSideCrop"; shorterSide?: number }
      | { mode: "pil"; filter?: "bilinear" | "bicubic"; shorterSide?: number; precision?: "uint8" | "float" };
    /** ONNX input name; defaults to the first input. */
    name?: string;
    /** DICOM inputs: window, frame(s), output range (see README "DICOM"). */
    dicom?: DicomOptions;
  };
  output: {
    /** "multiLabel": one independent probability per finding (`classes` names the findings). */
    kind: "logits" | "probabilities" | "multiLabel";
    /** kind "multiLabel" only, and required there: "sigmoid" (the outputs are logits) or
     *  "none" (they are probabilities already). */
    activation?: "sigmoid" | "none";
    classes: string[];
    /** ONNX output holding the class scores; defaults to the first output. */
    name?: string;
    /** ONNX output (e.g. penultimate layer) returned as an embedding. */
    embedding?: string;
  };
  /** Lower-case hex SHA-256 the model bytes must match (every model of an ensemble, when
   *  `members` is absent). Exclusive with `members`. */
  sha256?: string;
  /** The models of an ensemble (`Scorer.ensemble`), in order; 1 to 16. */
  members?: Member[];
  /** Test-time augmentations of the preprocessed tensor; 1 to 32 (absent: identity only).
   *  Each image gets members x tta probability rows (at most 256). */
  tta?: Transform[];
}

export interface Member {
  name?: string;
  /** Lower-case hex SHA-256 this member's bytes must match. */
  sha256?: string;
}

/** out(c, y, x) = in(c, sy, sx) on the normalized tensor (see README "Ensembles and TTA"). */
export type Transform =
  | { op: "identity" }
  /** mirror left-right */
  | { op: "hflip" }
  /** mirror top-bottom */
  | { op: "vflip" }
  /** content moves dx right and dy down (|dx| < width, |dy| < height); uncovered pixels:
   *  "black" (default, (0 - mean) / std) or "edge" (nearest edge pixel) */
  | { op: "shift"; dx: number; dy: number; fill?: "black" | "edge" }
  /** k x 90 degrees counter-clockwise (numpy.rot90); odd k needs width == height */
  | { op: "rot90"; k?: 1 | 2 | 3 };

export interface LoadOptions {
  /** Refuse larger models, and models whose initializers and constants declare more
   *  (default 512 MiB). */
  maxModelBytes?: number;
  /** Images per run when the model's batch dimension is free (default 8, at most 4096). */
  maxBatch?: number;
  /** Refuse a model in which one tensor (an operator's output at the batch size used) would
   *  exceed this many bytes, checked after shape inference, before running (default 1 GiB). */
  maxTensorBytes?: number;
}

export interface ImageLimits {
  maxWidth?: number;
  maxHeight?: number;
  /** Bytes one image may take to decode and preprocess: the decoded pixels, their float
   *  copy and the resize buffers (default 512 MiB); larger images fail with image_too_large. */
  maxAlloc?: number;
}

export interface ScoreOptions {
  /** Number of top classes to list (default 3). */
  topK?: number;
  /** Return the embedding named in the manifest (default false). */
  embedding?: boolean;
  limits?: ImageLimits;
  /** Return the T probability rows of each image as `samples` (default false). */
  includeSamples?: boolean;
}

export interface TopClass {
  index: number;
  name: string;
  probability: number;
}

export interface ImageScore {
  /** Class probabilities (with T > 1 rows: their mean, which top/predicted/confidence use). */
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
  /** With T > 1 rows (ensemble / TTA): mean of the row entropies. */
  expectedEntropy?: number;
  /** With T > 1 rows: mutual information entropy - expectedEntropy (BALD), >= 0. */
  bald?: number;
  /** With T > 1 rows: 1 - (rows voting for the modal class) / T. */
  variationRatio?: number;
  /** Embedding (of the first member under the first transform). */
  embedding?: number[];
  /** The T probability rows (member-major), when `includeSamples` is set. */
  samples?: number[][];
  /** DICOM inputs only: SOP Instance UID, frame and modality. */
  dicom?: DicomIdentity;
  /** Multi-label models: each finding's measures, in manifest order. With a multi-label model
   *  `probabilities` are per finding, `top`/`predicted`/`confidence` the most probable findings,
   *  and the flattened uncertainty fields describe the image: leastConfidence = 1 - min_j c_j,
   *  margin = min_j margin_j, ratio = max_j (1 - c_j) / c_j, entropy = sum_j H(p_j), and with
   *  T > 1 expectedEntropy / bald the sums over findings, variationRatio the largest. */
  findings?: FindingScore[];
  /** Multi-label models: the image-level summary. */
  summary?: MultiLabelSummary;
}

/** One finding of a multi-label result (c = max(p, 1 - p); H the binary entropy, nats). */
export interface FindingScore {
  index: number;
  name: string;
  /** Mean over the T rows. */
  probability: number;
  /** probability >= 0.5 */
  present: boolean;
  confidence: number;
  /** H(p) in [0, ln 2]. */
  entropy: number;
  /** |2p - 1|: distance from 0.5, scaled to [0, 1] (small = uncertain). */
  margin: number;
  /** T > 1: mean H of the rows. */
  expectedEntropy?: number;
  /** T > 1: BALD of the finding, H(mean) - mean H(rows). */
  bald?: number;
  /** T > 1: 1 - max(votes present, votes absent) / T. */
  variationRatio?: number;
}

export interface MultiLabelSummary {
  /** Findings decided present. */
  present: number[];
  /** 1 - prod_j c_j: P(some decision wrong) if the findings are independent. */
  pAnyWrong: number;
  leastConfident: number;
  minConfidence: number;
  /** sum_j H(p_j). */
  entropy: number;
  expectedEntropy?: number;
  bald?: number;
  maxBald?: number;
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
  | { id: string; dicomFrame: { samples: Uint8Array; attributes: DicomAttributes } }
  | { id: string; rgba: Uint8Array | Uint8ClampedArray; width: number; height: number };

/** The multi-row measures rank an item scored from one row as T = 1: expectedEntropy =
 *  entropy, bald = 0, variationRatio = 0. */
export type Measure =
  | "leastConfidence"
  | "margin"
  | "ratio"
  | "entropy"
  | "expectedEntropy"
  | "bald"
  | "variationRatio";

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

/** A manifest's `input.dicom`: what the model was trained on for DICOM inputs. */
export interface DicomOptions {
  window?:
    | { mode: "file"; index?: number; explanation?: string; fallback?: "minMax" | "error" }
    | { mode: "fixed"; center: number; width: number; function?: "linear" | "linearExact" | "sigmoid" }
    | { mode: "minMax" };
  frame?: { mode: "first" } | { mode: "middle" } | { mode: "index"; index: number } | { mode: "each" };
  outputRange?: [number, number];
  invertMonochrome1?: boolean;
}

/** What identifies a scored DICOM frame (nothing else from the header is returned). */
export interface DicomIdentity {
  sopInstanceUid: string;
  frame: number;
  modality?: string;
}

/** The VOI applied to a DICOM frame. */
export interface AppliedWindow {
  source: "file" | "fixed" | "minMax" | "voiLut" | "none";
  center?: number;
  width?: number;
  function?: "linear" | "linearExact" | "sigmoid";
  explanation?: string;
}

/** A DICOM frame rendered with the model's window. */
export interface DicomPreview {
  width: number;
  height: number;
  rgba: Uint8ClampedArray;
  window: AppliedWindow;
  identity: DicomIdentity;
}

/** Attributes of a DICOM frame a host decoded itself (DICOM keywords in camelCase). */
export interface DicomAttributes {
  sopInstanceUid?: string;
  modality?: string;
  frame?: number;
  rows: number;
  columns: number;
  samplesPerPixel?: number;
  photometricInterpretation: string;
  bitsAllocated: number;
  bitsStored: number;
  highBit?: number;
  pixelRepresentation?: number;
  planarConfiguration?: number;
  rescaleSlope?: number;
  rescaleIntercept?: number;
  windowCenter?: number[];
  windowWidth?: number[];
  windowExplanation?: string[];
  voiLutFunction?: string;
}
