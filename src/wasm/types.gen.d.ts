// Generated from the engine's serde structs by src/typescript.rs: do not edit.
// `MEDTRIAGE_REGEN_TYPES=1 cargo test --test ts_types` rewrites it; that test fails when it is stale.

/** Any numeric typed array, or a plain array of numbers. */
export type NumericArray = number[] | Float64Array | Float32Array | Int32Array | Uint32Array
  | Int16Array | Uint16Array | Int8Array | Uint8Array | Uint8ClampedArray;

/** Accuracy with its intervals. */
export interface Accuracy {
  /** `correct / n` (NaN-free: 0 when `n = 0`). */
  accuracy: number;
  /** Clopper-Pearson interval. */
  clopperPearson: [number, number];
  /** Right ones. */
  correct: number;
  /** Scored decisions. */
  n: number;
  /** Wilson score interval. */
  wilson: [number, number];
}

/** What turns a multi-label model's outputs into per-finding probabilities. */
export type Activation =
  | /** The outputs are logits: `p = 1 / (1 + exp(-z))` per finding. */ "sigmoid"
  | /** The outputs are already probabilities (the graph ends in a sigmoid); each is checked to lie in `[0, 1]`. */ "none";

/** ActiveLab options (none yet; unknown fields are rejected). */
export type ActiveLabOptions = Record<string, never>;

/** ActiveLab result. */
export interface ActiveLabResponse {
  /** Annotator weights (empty without labeled items). */
  annotatorWeight: number[];
  /** Class names. */
  classes: string[];
  /** Labeled item ids. */
  items: string[];
  /** Model weight. */
  modelWeight: number;
  /** Argmin score (labeled first on ties, then lowest index); null with no item at all. */
  next: NextItem | null;
  /** Scores of labeled items (low = needs another annotation). */
  scores: number[];
  /** Scores of unlabeled items. */
  scoresUnlabeled: number[];
  /** Temperature applied to the model probabilities. */
  temperature: number;
  /** Unlabeled item ids. */
  unlabeledItems: string[];
}

/** How per-finding scores become one score per image (cleanlab's `aggregator_kwargs`). */
export type Aggregator =
  | {
    /** Weight of each newer (smaller) score, in `[0, 1]`. */
    alpha?: number | null;
    method: "exponentialMovingAverage";
  }
  | {
    method: "softmin";
    /** Softmax temperature, > 0. */
    temperature?: number;
  };

/** Agreement options. */
export interface AgreementOptions {
  /**
   * Numeric value of each class for the interval alpha (default: the class names when all
   * parse as numbers, else the class index).
   */
  classValues?: NumericArray | null;
  /** Fleiss' kappa handling (default auto). */
  fleiss?: FleissMode;
  /** List the items with disagreement (default true). */
  listDisagreements?: boolean;
  /** Least number of shared items for a pair's kappa (default 2, at least 1). */
  minOverlap?: number;
}

/** Agreement result. */
export interface AgreementResponse {
  /** Annotator ids. */
  annotators: string[];
  /** The class values the interval alpha used. */
  classValues: number[];
  /** Class names. */
  classes: string[];
  /** Items with more than one distinct label (empty when not asked for). */
  disagreements: Disagreement[];
  /** Fleiss' kappa. */
  fleissKappa: number | null;
  /** Why Fleiss' kappa is null, when it is. */
  fleissNote?: string | null;
  /** Item ids. */
  items: string[];
  /** Items with at least two ratings. */
  itemsWithMultipleRatings: number;
  /** Krippendorff's alpha (nominal). */
  krippendorffAlpha: number | null;
  /** Krippendorff's alpha, interval metric over the class values. */
  krippendorffAlphaInterval: number | null;
  /** Krippendorff's alpha, ordinal metric over the class order. */
  krippendorffAlphaOrdinal: number | null;
  /** Number of items with disagreement. */
  numDisagreements: number;
  /** Overall observed agreement. */
  observedAgreement: number | null;
  /** Every annotator pair `a < b`. */
  pairs: PairAgreement[];
}

/** One annotation in long format: `annotator` gave `label` to `item`. */
export interface Annotation {
  /** Annotator id. */
  annotator: string;
  /** Item id. */
  item: string;
  /** The label given. */
  label: Label;
}

/** One annotator's label in a disagreement. */
export interface AnnotatorLabel {
  /** Annotator id. */
  annotator: string;
  /** Class name. */
  class: string;
  /** Class index. */
  label: number;
}

/** Per-annotator CROWDLAB statistics (cleanlab's `annotator_stats`, in annotator order). */
export interface AnnotatorStats {
  /** Share of the annotator's labels equal to the consensus. */
  agreementWithConsensus: number;
  /** Annotator id. */
  annotator: string;
  /** Overall quality (null if the annotator only labeled singly-annotated items). */
  annotatorQuality: number | null;
  /** Items labeled. */
  numExamplesLabeled: number;
  /** The class this annotator labels worst (cleanlab's `worst_class`). */
  worstClass: number;
}

/** The VOI actually applied, for display next to a thumbnail. */
export interface AppliedWindow {
  /** Window center (modality units), for windows and min-max. */
  center?: number | null;
  /** The explanation the file gives for the chosen window / LUT, if any. */
  explanation?: string | null;
  /** VOI LUT function of a window. */
  function?: VoiFunction | null;
  /** `file`, `fixed`, `minMax`, `voiLut` or `none` (colour images). */
  source: string;
  /** Window width (modality units), for windows and min-max. */
  width?: number | null;
}

/** Request to apply a fitted temperature (JS `applyTemperature`, CLI `calibrate apply`). */
export interface ApplyTemperatureRequest {
  /** Classes. */
  k: number;
  /** Logits (default) or probabilities. */
  kind?: ScoreKind;
  /** Items. */
  n: number;
  /** Row-major `n x k` logits or probabilities. */
  scores: NumericArray;
  /** The temperature `T`. */
  temperature: number;
}

/** An audit to run. */
export interface AuditPlan {
  /** Failure probability this audit is tested at. */
  delta: number;
  /** Estimated error rate of the pool now (echo it too). */
  estimatedRate: number;
  /** Pool indices to review (uniform sample of the unreviewed, unfailed items). */
  indices: number[];
  /**
   * 1-based audit number: when it equals the number of audit records, the step continues
   * the last record (append to it); otherwise push a new record.
   */
  number: number;
  /** Size of the remainder it was drawn from (echo it in the [`AuditRecord`]). */
  remainderSize: number;
  /** Sequential audit: review `indices` and append them to the record's `indices`. */
  sequential: boolean;
  /** Where the sequential audit stands before this step. */
  status?: AuditStatus | null;
}

/** An audit done: echo of the planner's [`AuditPlan`] with the count of wrong labels found. */
export interface AuditRecord {
  /** The planner's estimated error rate of the pool when it asked for the audit. */
  estimatedRate: number;
  /**
   * A sequential audit: the pool indices audited so far, in the order drawn (each one's
   * outcome is read from `reviewed`).
   */
  indices?: number[] | null;
  /** Unreviewed, unfailed items when the audit was drawn. */
  remainderSize: number;
  /** Items audited (a fixed-size audit; derived from `indices` in a sequential one). */
  sampled?: number;
  /** Audited items whose label (given, or predicted when none) was wrong (fixed-size audit). */
  wrong?: number;
}

/** Where a sequential audit stands (returned in a round plan). */
export interface AuditStatus {
  /** Failure probability of this audit's bound. */
  delta: number;
  /** Items audited so far. */
  sampled: number;
  /** Upper bound on the wrong labels in the remainder at the audit's start. */
  upperWrong: number;
  /**
   * Upper bound on the wrong labels left in it now (`upperWrong - wrong`: the audited wrong
   * labels are fixed).
   */
  upperWrongLeft: number;
  /** Wrong labels among them. */
  wrong: number;
}

/** When the planner asks for an audit instead of another batch. */
export type AuditWhen =
  | /** When the expected reviews to a certificate are fewest by starting now rather than after one or more further batches: each batch removes the wrong labels its items are expected to hold, and the audit is expected to need `ln(1/delta_j) / KL(d ‖ a)` draws for a remainder with error rate `d` that must be certified below `a`. The estimates (the noise model's posteriors) only time the audit: its bound never depends on them. */ "cost"
  | /** Once the estimated error rate is below `auditAt x targetErrorRate` (and, after a failed audit, half the estimate it started at). */ "rate";

/** Auto-accept settings. */
export interface AutoAcceptConfig {
  /** Promised error rate among auto-accepted items (default 0.01). */
  alpha?: number;
  /** Probability that the promise fails (default 0.05). */
  delta?: number;
  /** Auto-accept at all (default true). */
  enabled?: boolean;
  /** Learn-then-Test options (mode, p-value, procedure, grid). */
  options?: AutoAcceptOptions;
  /** Only accept items whose prediction equals the label they came with (default true). */
  requireLabelAgreement?: boolean;
}

/** Options of [`auto_accept_threshold`]. */
export interface AutoAcceptOptions {
  /** Thresholds to test (default: the distinct verified confidences). */
  grid?: NumericArray | null;
  /** Return the per-threshold table (default false). */
  includeTable?: boolean;
  /** Risk mode. */
  mode?: RiskMode;
  /** p-value. */
  pValue?: PValue;
  /** Multiple testing. */
  procedure?: Procedure;
}

/** Request for [`auto_accept_threshold`]. */
export interface AutoAcceptRequest {
  /** Risk level in `(0, 1)`. */
  alpha: number;
  /** Allowed failure probability in `(0, 1)`. */
  delta: number;
  /** Classes. */
  k: number;
  /** Their true labels. */
  labels: NumericArray;
  /** Verified items. */
  n: number;
  /** Options. */
  options?: AutoAcceptOptions;
  /** Row-major `n x k` probabilities of the verified items. */
  probs: NumericArray;
}

/** The chosen threshold. */
export interface AutoAcceptResponse {
  /** Verified items it accepts. */
  accepted: number;
  /** `accepted / n` (expected auto-accept rate). */
  acceptedFraction: number;
  /** Echo: risk level, failure probability, mode. */
  alpha: number;
  /** Failure probability. */
  delta: number;
  /** `errors / accepted`. */
  empiricalError: number;
  /** Wrong among the accepted verified items. */
  errors: number;
  /** Risk mode. */
  mode: RiskMode;
  /** p-value of the chosen threshold. */
  pValue: number;
  /** Per-threshold table (highest first), when asked for. */
  table?: ThresholdTest[] | null;
  /** Thresholds tested. */
  tested: number;
  /** Auto-accept items with confidence `>= threshold`. */
  threshold: number;
}

/** Calibration metrics of a labeled set. */
export interface CalibrationReport {
  /** Top-label accuracy. */
  accuracy: number;
  /** Reliability-diagram bins. */
  bins: ReliabilityBin[];
  /** Multiclass Brier score (sum over classes, mean over items). */
  brier: number;
  /** Expected calibration error. */
  ece: number;
  /** Classes. */
  k: number;
  /** Maximum calibration error. */
  mce: number;
  /** Mean top-label confidence. */
  meanConfidence: number;
  /** Items. */
  n: number;
  /** Mean negative log-likelihood. */
  nll: number;
}

/** Request for [`calibration_report`]. */
export interface CalibrationReportRequest {
  /** Equal-width bins for ECE/MCE (default 15). */
  bins?: number;
  /** Classes. */
  k: number;
  /** True labels. */
  labels: NumericArray;
  /** Items. */
  n: number;
  /** Row-major `n x k` probabilities. */
  probs: NumericArray;
}

/** A candidate item for a session. */
export interface Candidate {
  /** Item index (echoed). */
  index: number;
  /** Calibrated model probabilities (`k` values). */
  probs?: number[] | null;
  /** Reviews so far (may be empty). */
  reviews?: ItemReview[];
}

/** Channel count and order the model expects. */
export type Channels =
  | /** One channel. Colour images become gray as `0.299 R + 0.587 G + 0.114 B` (ITU-R BT.601). */ "gray"
  | /** Three channels, red first. */ "rgb"
  | /** Three channels, blue first (Caffe / OpenCV models). */ "bgr";

/** The per-class split of the batch. */
export interface ClassAllocation {
  /** Picks allocated (and made) in the class. */
  allocated: number;
  /** Class index. */
  class: number;
  /** The estimated error rate used (`byEstimatedError`). */
  errorRate?: number | null;
  /** Eligible items predicted as the class. */
  pool: number;
  /** Explicitly requested count (`counts`). */
  requested?: number | null;
  /** Allocation weight (before the floor and caps). */
  weight: number;
}

/** How the batch is split across classes. */
export type ClassBudget =
  | /** No split (default). */ "none"
  | /** Proportional to the eligible items per class. */ "proportional"
  | /** Proportional to `classErrorRates[c] x` eligible items in class `c`. */ "byEstimatedError"
  | {
    counts: NumericArray;
  };

/** Coverage of one class. */
export interface ClassCoverage {
  /** Test items of this true class. */
  count: number;
  /** Fraction whose set holds the class (`null` when `count = 0`). */
  coverage: number | null;
  /** Mean set size among them (`null` when `count = 0`). */
  meanSize: number | null;
}

/** Expected errors left in one class. */
export interface ClassEstimate {
  /** Items of the next batch from this class. */
  budget: number;
  /** Class (of the item's current label). */
  class: number;
  /** Expected wrong labels among them. */
  expectedErrors: number;
  /** Reviewed items of this class so far. */
  reviewed: number;
  /** Unreviewed items with this current label. */
  unreviewed: number;
  /** Wrong labels found. */
  wrongFound: number;
}

/** One target class: its name and the model classes it gathers. */
export interface ClassGroup {
  /** Model class names it gathers (at least one). */
  classes: string[];
  /** Name of the grouped class. */
  name: string;
}

/** The report. */
export interface ClassReport {
  /** Fraction of rows predicted as their verified label. */
  accuracy: number;
  /** Bins used. */
  bins: number;
  /** `m[true][predicted]` counts. */
  confusionMatrix: number[][];
  /** Expected calibration error over all rows (top-label confidence). */
  ece: number;
  /** See `macro_precision`. */
  macroF1: number;
  /** Unweighted means of precision, recall, F1 over classes. */
  macroPrecision: number;
  /** See `macro_precision`. */
  macroRecall: number;
  /** One entry per class. */
  perClass: ClassStats[];
  /** Support-weighted mean F1. */
  weightedF1: number;
}

/** Options of [`class_report`]. */
export interface ClassReportOptions {
  /** Equal-width confidence bins for the calibration errors (default 15). */
  bins?: number;
}

/** Request of [`class_report_request`]. */
export interface ClassReportRequest {
  /** Classes. */
  k: number;
  /** Verified labels. */
  labels: NumericArray;
  /** Rows. */
  n: number;
  /** Options. */
  options?: ClassReportOptions;
  /** Row-major probabilities, `n x k`. */
  predProbs: NumericArray;
}

/** Statistics of one class. */
export interface ClassStats {
  /** Calibration error over rows predicted as the class. */
  calibrationError: number;
  /** Class index. */
  class: number;
  /** Harmonic mean of precision and recall (0 when both are 0). */
  f1: number;
  /** `tp / (tp + fp)` (0 when nothing is predicted as the class). */
  precision: number;
  /** Rows predicted as the class. */
  predicted: number;
  /** `tp / (tp + fn)` (0 when the class has no verified rows). */
  recall: number;
  /** Rows whose verified label is the class. */
  support: number;
}

/** Cold start of `rankedBatch` without a labelled set. */
export type ColdStart =
  | /** The highest-scored item (default, `O(n)`). */ "topScore"
  | /** modAL's choice: least mean distance to all candidates (`O(n^2 d)`). */ "medoid";

/** Request for [`combine_reviews`]. */
export interface CombineRequest {
  /** Scored decisions (gold, adjudicated), which measure the reviewers. */
  decisions: ScoredDecision[];
  /** Items to combine and route. */
  items: ReviewedItem[];
  /** Classes. */
  k: number;
  /** Options. */
  options?: ReviewerOptions;
  /** Reviewer ids available for another review. */
  reviewers?: string[];
}

/** Response of [`combine_reviews`]. */
export interface CombineResponse {
  /** One per item, in input order. */
  items: CombinedItem[];
  /** The reviewers' measured stats the combination used. */
  reviewers: ReviewerStats[];
}

/** One item's combined decision. */
export interface CombinedItem {
  /** Its posterior probability. */
  confidence: number;
  /** Pool index. */
  index: number;
  /** The combined label (posterior argmax, ties to the lower class). */
  label: number;
  /** Another review is needed. */
  needsReview: boolean;
  /** Whom to ask next (none when not needed or nobody suitable is left). */
  nextReviewer?: string | null;
  /** Why (empty when none is needed). */
  reasons: string[];
}

/** Options of [`confident_joint_request`]. */
export interface ConfidentJointOptions {
  /** Calibrate the returned confident joint (default true). */
  calibrate?: boolean;
  /**
   * Make the latent estimates agree algebraically (default true, as in cleanlab's
   * `estimate_py_and_noise_matrices_from_probabilities`).
   */
  convergeLatentEstimates?: boolean;
  /** Prior estimate method for the latent estimates (default `cnt`). */
  pyMethod?: PyMethod;
  /** Per-class thresholds (default: mean self-confidence per class). */
  thresholds?: NumericArray | null;
}

/** Request of [`confident_joint_request`]. */
export interface ConfidentJointRequest {
  /** Classes. */
  k: number;
  /** Given labels. */
  labels: NumericArray;
  /** Rows. */
  n: number;
  /** Options. */
  options?: ConfidentJointOptions;
  /** Row-major predicted probabilities, `n x k`. */
  predProbs: NumericArray;
}

/** Everything confident learning estimates about the label noise. */
export interface ConfidentJointResponse {
  /** `C[given][true]` (calibrated unless `calibrate: false`). */
  confidentJoint: number[][];
  /** `p(true = i | given = j)` (columns sum to 1), row-major. */
  inverseNoiseMatrix: number[][];
  /** `estimate_joint`: calibrated joint normalized to sum 1. */
  joint: number[][];
  /** Given-label counts per class. */
  labelCounts: number[];
  /** `p(given = i | true = j)` (columns sum to 1), row-major. */
  noiseMatrix: number[][];
  /** Rows counted off the diagonal (ascending). */
  offDiagonalIndices: number[];
  /** Estimated prior of true labels `p(y)`. */
  py: number[];
  /** Per-class thresholds used. */
  thresholds: number[];
}

/** Request for [`conformal_calibrate`]. */
export interface ConformalCalibrateRequest {
  /** Miscoverage level in `(0, 1)`: sets cover the true label with probability `>= 1 - alpha`. */
  alpha: number;
  /** Classes. */
  k: number;
  /** True labels of the calibration items. */
  labels: NumericArray;
  /** Calibration items. */
  n: number;
  /** Options. */
  options?: ConformalOptions;
  /** Row-major `n x k` calibration probabilities. */
  probs: NumericArray;
}

/** A calibrated conformal predictor: pass it back to [`conformal_sets`]. */
export interface ConformalCalibration {
  /** Miscoverage level. */
  alpha: number;
  /** Calibration items behind each threshold. */
  calibrationCounts: NumericArray;
  /** Classes. */
  k: number;
  /** Options used. */
  options: ConformalOptions;
  /** The order statistic used, `ceil((n + 1)(1 - alpha))`, per threshold. */
  quantileRanks: NumericArray;
  /** Score thresholds: one (marginal) or `k` (class-conditional, indexed by class). */
  thresholds: NumericArray;
}

/** A calibrated conformal predictor: pass it back to [`conformal_sets`]. */
export interface ConformalCalibrationOut {
  /** Miscoverage level. */
  alpha: number;
  /** Calibration items behind each threshold. */
  calibrationCounts: number[];
  /** Classes. */
  k: number;
  /** Options used. */
  options: ConformalOptionsOut;
  /** The order statistic used, `ceil((n + 1)(1 - alpha))`, per threshold. */
  quantileRanks: number[];
  /** Score thresholds: one (marginal) or `k` (class-conditional, indexed by class). */
  thresholds: number[];
}

/** Conformal settings. */
export interface ConformalConfig {
  /** Miscoverage level (default 0.05). */
  alpha?: number;
  /** Use conformal sets (default true). */
  enabled?: boolean;
  /**
   * Sets of at least this many classes go to an expert (default 3); sets of two classes
   * block auto-accept (light review).
   */
  expertSetSize?: number;
  /** Score function and variants. */
  options?: ConformalOptions;
}

/** The score function. */
export type ConformalMethod =
  | /** Least ambiguous set-valued classifier, `1 - p_y`. */ "lac"
  | /** Adaptive prediction sets (default). */ "aps"
  | /** Regularized APS. */ "raps";

/** Options of the conformal calibration. */
export interface ConformalOptions {
  /** Allow empty sets (default true); false adds the top class to empty sets. */
  allowEmpty?: boolean;
  /** Class-conditional (Mondrian) thresholds (default false). */
  classConditional?: boolean;
  /** RAPS: ranks `<= kReg` are not penalized (default 2). */
  kReg?: number;
  /** RAPS penalty per rank beyond `kReg` (default 0.01). */
  lambda?: number;
  /** Score function (default APS). */
  method?: ConformalMethod;
  /** Randomized APS/RAPS scores (default false). */
  randomized?: boolean;
  /** Seed of the uniform draws (randomized only; default 0). Keep below 2^53 from JS. */
  seed?: number;
}

/** Options of the conformal calibration. */
export interface ConformalOptionsOut {
  /** Allow empty sets (default true); false adds the top class to empty sets. */
  allowEmpty: boolean;
  /** Class-conditional (Mondrian) thresholds (default false). */
  classConditional: boolean;
  /** RAPS: ranks `<= kReg` are not penalized (default 2). */
  kReg: number;
  /** RAPS penalty per rank beyond `kReg` (default 0.01). */
  lambda: number;
  /** Score function (default APS). */
  method: ConformalMethod;
  /** Randomized APS/RAPS scores (default false). */
  randomized: boolean;
  /** Seed of the uniform draws (randomized only; default 0). Keep below 2^53 from JS. */
  seed: number;
}

/** Request for [`conformal_sets`]. */
export interface ConformalSetsRequest {
  /** The calibration from [`conformal_calibrate`]. */
  calibration: ConformalCalibration;
  /** Classes. */
  k: number;
  /** True labels, when known: adds a coverage report. */
  labels?: NumericArray | null;
  /** Test items. */
  n: number;
  /** Row-major `n x k` test probabilities. */
  probs: NumericArray;
}

/** Prediction sets. */
export interface ConformalSetsResponse {
  /** Mean set size. */
  meanSize: number;
  /** Present when labels were given. */
  report?: CoverageReport | null;
  /** One set per item: class indices, ascending. */
  sets: number[][];
  /** `sizeHistogram[s]` = items with a set of size `s`, `s = 0..=k`. */
  sizeHistogram: number[];
}

/** How several annotators' choices on one task become its decision. */
export type ConsensusMethod =
  | /** Majority vote, ties to the lowest class index (default). */ "majority"
  | /** Dawid-Skene (annotator confusion matrices, EM). */ "dawidSkene";

/**
 * One request shape for every consensus method (JS API and CLI alike); `O` is the method's
 * options struct.
 *
 * - `annotations`: long format, missing (item, annotator) pairs simply absent; an
 *   (item, annotator) pair given twice is an error.
 * - `classes`: class names; index `i` is `classes[i]`. Without it, labels must be integers
 *   and the class count is `numClasses`, else the column count of `predProbs`, else the
 *   largest label + 1.
 * - `items` / `annotators`: declared ids, fixing the order (rows of `predProbs` follow
 *   `items`). Every declared id must have at least one annotation. Undeclared, ids are
 *   ordered by first appearance in `annotations`.
 * - `predProbs`: model probabilities, row-major `n x K` (CROWDLAB, ActiveLab).
 * - `predProbsUnlabeled` / `unlabeledItems`: probabilities (and optional ids) of items with
 *   no annotation yet (ActiveLab only).
 */
export interface ConsensusRequest<O> {
  /** The annotations, long format. */
  annotations?: Annotation[];
  /** Declared annotator ids. */
  annotators?: string[] | null;
  /** Class names (index order). */
  classes?: string[] | null;
  /** Declared item ids (order of `predProbs` rows). */
  items?: string[] | null;
  /** Class count when `classes` is not given. */
  numClasses?: number | null;
  /** Method options. */
  options?: O;
  /** Model probabilities, `n x K` row-major. */
  predProbs?: NumericArray | null;
  /** Model probabilities of unlabeled items, `m x K` row-major (ActiveLab). */
  predProbsUnlabeled?: NumericArray | null;
  /** Ids of the unlabeled items (default `"0".."m-1"`). */
  unlabeledItems?: string[] | null;
}

/** Coverage and set sizes on labeled test items. */
export interface CoverageReport {
  /** Fraction of items whose set holds the true label. */
  coverage: number;
  /** Per true class. */
  perClass: ClassCoverage[];
}

/** CROWDLAB options. */
export interface CrowdlabOptions {
  /**
   * Temperature-scale the model probabilities first (cleanlab `calibrate_probs`, default
   * false).
   */
  calibrateProbs?: boolean;
}

/** CROWDLAB result. */
export interface CrowdlabResponse {
  /** Quality of each annotation, aligned with the request's `annotations`. */
  annotationQuality: number[];
  /** Share of the item's annotators agreeing with the consensus. */
  annotatorAgreement: number[];
  /** Per-annotator statistics, annotator order. */
  annotatorStats: AnnotatorStats[];
  /** Each annotator's weight. */
  annotatorWeight: number[];
  /** Annotator ids. */
  annotators: string[];
  /** Class names. */
  classes: string[];
  /** Consensus class per item. */
  consensusLabel: number[];
  /** Consensus quality score per item. */
  consensusQualityScore: number[];
  /** Item ids (row order). */
  items: string[];
  /** The (cleanlab) majority vote the method started from. */
  majorityVoteLabel: number[];
  /** The model's weight. */
  modelWeight: number;
  /** Annotations per item. */
  numAnnotations: number[];
  /** Posterior probabilities `n x K` (cleanlab's post_pred_probs). */
  postPredProbs: number[];
  /** Temperature applied to the model probabilities (1 when not calibrating). */
  temperature: number;
  /**
   * Items whose majority-vote tie survived every cleanlab rule (cleanlab: random choice;
   * here: lowest class index).
   */
  unresolvedTies: number[];
}

/** Dawid-Skene options. */
export interface DawidSkeneOptions {
  /**
   * Maximum EM iterations (default 100, as crowd-kit; at most `limits::MAX_ITERATIONS`
   * when read from a request).
   */
  nIter?: number;
  /**
   * `false`: never stop on `tol`, always run `nIter` iterations (what crowd-kit does with
   * a negative `tol`, which is refused here). Default `true`.
   */
  stopEarly?: boolean;
  /**
   * Stop when the loss gains less than this (default 1e-5, as crowd-kit): finite and
   * `>= 0`.
   */
  tol?: number;
}

/** Dawid-Skene result. */
export interface DawidSkeneResponse {
  /** Annotator ids. */
  annotators: string[];
  /** Class names. */
  classes: string[];
  /** Confusion matrices, `m x K x K`: `[annotator][observed][true]` = P(observed | true). */
  confusion: number[];
  /** Consensus (argmax posterior) per item. */
  consensusLabel: number[];
  /** Whether the run stopped on `tol` before `nIter`. */
  converged: boolean;
  /** Item ids (row order). */
  items: string[];
  /** EM iterations run. */
  iterations: number;
  /** Observed-data log-likelihood (natural log) at the final parameters. */
  logLikelihood: number;
  /** crowd-kit's `loss_history_`: ELBO per annotation after each iteration. */
  lossHistory: number[];
  /** Posterior class probabilities, `n x K` row-major. */
  posteriors: number[];
  /** Class priors. */
  priors: number[];
  /** Whether the argmax was tied. */
  tied: boolean[];
}

/** A deviation from the others' consensus. */
export interface Deviation {
  /** The consensus of the other reviewers. */
  consensus: number;
  /** Item index. */
  index: number;
  /** The reviewer's label. */
  label: number;
}

/**
 * Attributes of a frame a host decoded itself (for syntaxes this build cannot decode), with
 * the same names as the DICOM keywords in camelCase. The samples come separately as native
 * little-endian bytes, `bitsAllocated / 8` bytes per sample, samples interleaved
 * (`planarConfiguration` 0) or planar (1), e.g. a cornerstone `pixelData` typed array's bytes.
 */
export interface DicomAttributes {
  /** 8, 16 or 32. */
  bitsAllocated: number;
  /** At most `bitsAllocated`. */
  bitsStored: number;
  /** Columns. */
  columns: number;
  /** 0-based frame number of this frame (for the result's identity). */
  frame?: number;
  /** Default `bitsStored - 1`. */
  highBit?: number | null;
  /** Modality (for the result's identity). */
  modality?: string | null;
  /**
   * `MONOCHROME1`, `MONOCHROME2`, `RGB`, `YBR_FULL`, `YBR_FULL_422` (decoded
   * `YBR_FULL_422` samples are full resolution) or `PALETTE COLOR`.
   */
  photometricInterpretation: string;
  /** 0 unsigned (default), 1 two's complement. */
  pixelRepresentation?: number;
  /** 0 interleaved (default), 1 planar. */
  planarConfiguration?: number;
  /** Rescale Intercept. */
  rescaleIntercept?: number | null;
  /** Rescale Slope (default 1 when an intercept is given). */
  rescaleSlope?: number | null;
  /** Rows. */
  rows: number;
  /** Samples per pixel (1 or 3, default 1). */
  samplesPerPixel?: number;
  /** SOP Instance UID (for the result's identity). */
  sopInstanceUid?: string | null;
  /** VOI LUT Function (`LINEAR`, `LINEAR_EXACT`, `SIGMOID`). */
  voiLutFunction?: string | null;
  /** Window Center values. */
  windowCenter?: NumericArray;
  /** Window Center & Width Explanation values. */
  windowExplanation?: string[];
  /** Window Width values. */
  windowWidth?: NumericArray;
}

/** What identifies a scored frame, and nothing else from the header. */
export interface DicomIdentity {
  /** 0-based frame number. */
  frame: number;
  /** Modality (e.g. `CT`), when present. */
  modality?: string | null;
  /** SOP Instance UID (empty when the file has none). */
  sopInstanceUid: string;
}

/** What the model was trained on, for DICOM inputs (the manifest's `input.dicom`). */
export interface DicomOptions {
  /** Which frame(s) to score (default the first). */
  frame?: FrameChoice;
  /** Invert MONOCHROME1 so that larger always means brighter, as displayed (default true). */
  invertMonochrome1?: boolean;
  /**
   * The values `[0, 1]` map to before the manifest's mean / std (default `[0, 1]`):
   * windowed black becomes `outputRange[0]`, white `outputRange[1]`.
   */
  outputRange?: NumericArray;
  /** Windowing of grayscale images (default: the file's window, else min-max). */
  window?: Window;
}

/** What the model was trained on, for DICOM inputs (the manifest's `input.dicom`). */
export interface DicomOptionsOut {
  /** Which frame(s) to score (default the first). */
  frame: FrameChoice;
  /** Invert MONOCHROME1 so that larger always means brighter, as displayed (default true). */
  invertMonochrome1: boolean;
  /**
   * The values `[0, 1]` map to before the manifest's mean / std (default `[0, 1]`):
   * windowed black becomes `outputRange[0]`, white `outputRange[1]`.
   */
  outputRange: number[];
  /** Windowing of grayscale images (default: the file's window, else min-max). */
  window: WindowOut;
}

/**
 * A display rendering of the frame the model sees: the windowed frame exactly as it goes to
 * the model's resize and normalization (same decoder, same window, same channels), with the
 * output range left at `[0, 1]` and rounded to 8 bits (black 0, white 255); gray frames are
 * replicated into R, G and B.
 */
export interface DicomPreview {
  /** Height in pixels. */
  height: number;
  /** SOP Instance UID, frame and modality. */
  identity: DicomIdentity;
  /** Width in pixels. */
  width: number;
  /** The VOI applied. */
  window: AppliedWindow;
}

/** An item on which annotators disagree. */
export interface Disagreement {
  /** Item index. */
  index: number;
  /** Item id. */
  item: string;
  /** Who said what (annotator order). */
  labels: AnnotatorLabel[];
}

/** The drift alarm's state. */
export interface Drift {
  /** The alarm fired on the latest decision. */
  alarm: boolean;
  /** 0-based positions (in this reviewer's scored decisions) where the alarm fired. */
  alarmsAt: number[];
  /** The guarantee, in words. */
  guarantee: string;
  /** The CUSUM statistic after the last decision. */
  statistic: number;
  /** Its threshold `ln(1/alarmAlpha)`. */
  threshold: number;
}

/** One near-duplicate pair, `i < j`. */
export interface DuplicatePair {
  /** Cosine distance (f64). */
  distance: number;
  /** First row. */
  i: number;
  /** Second row (`> i`). */
  j: number;
}

/** Options of [`near_duplicates`]. */
export interface DuplicatesOptions {
  /** Stop collecting after this many pairs (default 1,000,000; `truncated` is then set). */
  maxPairs?: number;
  /** Largest cosine distance `1 - cos` counted as a near-duplicate (default 0.02). */
  threshold?: number;
}

/** Request of [`near_duplicates_request`]. */
export interface DuplicatesRequest {
  /** Dimensions. */
  d: number;
  /** Row-major embeddings, `n x d`. */
  embeddings: NumericArray;
  /** Rows. */
  n: number;
  /** Options. */
  options?: DuplicatesOptions;
}

/** Near-duplicate pairs and their groups. */
export interface DuplicatesResponse {
  /** Connected components of the pair graph (each ascending; ordered by first row). */
  groups: number[][];
  /** Pairs, closest first (ties by `i`, then `j`). */
  pairs: DuplicatePair[];
  /**
   * True when `maxPairs` stopped the collection (the pairs kept are the first found in
   * row order).
   */
  truncated: boolean;
}

/** How [`num_label_issues`] counts (cleanlab's `estimation_method`). */
export type EstimationMethod =
  | /** Confident off-diagonal rows whose prediction is not the given label (default). */ "offDiagonal"
  | /** `rint(n (1 - trace(joint)))` from the calibrated confident joint. */ "offDiagonalCalibrated";

/** Expert-review triggers. */
export interface ExpertConfig {
  /** Calibrated confidence below this goes to an expert (default 0.5). */
  maxConfidence?: number;
  /** Annotator agreement below this goes to an expert (default 0.5). */
  minAgreement?: number;
}

/** Common inputs of the exports. */
export interface ExportRequest<O> {
  /** Class names; default: the class index as text. */
  classes?: string[] | null;
  /** Item ids (file names, URLs…), one per pool index; default: the index. */
  ids?: string[] | null;
  /** Export options. */
  options?: O;
  /** The triage to export. */
  tiers: TierResponse;
}

/** What fills the pixels a shift uncovers. */
export type Fill =
  | /** The value of a black (zero) pixel after normalization: `(0 - mean[c]) / std[c]`. */ "black"
  | /** Replicate the nearest edge pixel. */ "edge";

/** The resampling filter. */
export type Filter =
  | /** PIL `Image.BILINEAR` / torchvision `InterpolationMode.BILINEAR` (torchvision's default, hence ours). */ "bilinear"
  | /** PIL `Image.BICUBIC` / torchvision `InterpolationMode.BICUBIC` (`a = -0.5`; PIL's own default for `Image.resize`). */ "bicubic";

/** Which rule flags label issues (cleanlab's `filter_by`). */
export type FilterBy =
  | /** For each (given s, true y) pair, flag the `C[s][y]` rows labelled s with the largest `p[y] - p[s]` (default). */ "pruneByNoiseRate"
  | /** For each class s, flag the `count_s - C[s][s]` rows labelled s with the smallest `p[s]`. */ "pruneByClass"
  | /** Both of the above (intersection). */ "both"
  | /** The confident joint's off-diagonal rows. */ "confidentLearning"
  | /** Rows whose arg-max is not the given label. */ "predictedNeqGiven"
  | /** The `num_label_issues` rows of lowest normalized margin. */ "lowNormalizedMargin"
  | /** The `num_label_issues` rows of lowest self-confidence. */ "lowSelfConfidence";

/** Probabilities plus labels: the common part of the label requests. */
export interface FindLabelIssuesRequest {
  /** Classes. */
  k: number;
  /** Given labels, `n` values in `0..k`. */
  labels: NumericArray;
  /** Rows. */
  n: number;
  /** Options (cleanlab's defaults when absent). */
  options?: FindOptions;
  /** Row-major predicted probabilities, `n x k`. */
  predProbs: NumericArray;
}

/** Options of [`find_label_issues`], cleanlab's keyword arguments (same defaults). */
export interface FindOptions {
  /**
   * A precomputed confident joint (`k x k` counts, row-major); ignored by
   * `confidentLearning`, as in cleanlab.
   */
  confidentJoint?: NumericArray | null;
  /** The flagging rule (default prune by noise rate). */
  filterBy?: FilterBy;
  /** Fraction of the estimated noise to flag, in `(0, 1]` (default 1). */
  fracNoise?: number;
  /** Leave at least this many rows of each class unflagged (default 1). */
  minExamplesPerClass?: number;
  /** Exactly how many rows to flag in each given class (prune modes only). */
  numToRemovePerClass?: NumericArray | null;
  /**
   * Adjust probabilities by the class thresholds for that ranking (cleanlab's
   * `rank_by_kwargs={"adjust_pred_probs": True}`).
   */
  rankByAdjustPredProbs?: boolean;
  /** Also return the flagged indices ordered by this score, lowest first. */
  returnIndicesRankedBy?: ScoreMethod | null;
}

/** One finding's calibration. */
export interface FindingCalibration {
  /** And after. */
  after: FindingMetrics;
  /** The temperature optimum is at an end of the search range. */
  atBoundary: boolean;
  /** Metrics on the fitting set before calibration. */
  before: FindingMetrics;
  /** Finding index. */
  finding: number;
  /** The map. */
  map: FindingMap;
  /** Temperature (temperature scaling only). */
  temperature?: number | null;
}

/** Consensus and agreement of one finding. */
export interface FindingConsensus {
  /** Converged on `tol`. */
  converged: boolean;
  /** Images where Dawid-Skene says present. */
  dawidSkenePositives: number;
  /** Finding index. */
  finding: number;
  /** Fleiss' kappa (null when undefined, e.g. unequal reads per image or no variation). */
  fleissKappa: number | null;
  /** EM iterations and whether `tol` stopped it. */
  iterations: number;
  /** Krippendorff's alpha, nominal (null when undefined). */
  krippendorffAlpha: number | null;
  /** Images where majority vote says present. */
  majorityPositives: number;
  /** Images where the majority was tied (decided "absent"). */
  majorityTies: number;
  /** Finding name. */
  name: string;
  /** Fraction of agreeing read pairs. */
  observedAgreement: number | null;
  /** Reads listing it. */
  positiveReads: number;
  /** Dawid-Skene prior of "present". */
  prevalence: number;
  /** Per reader (annotator order): Dawid-Skene `P(listed | present)`. */
  sensitivity: number[];
  /** Per reader: Dawid-Skene `P(not listed | absent)`. */
  specificity: number[];
}

/** Where one finding stands. */
export interface FindingEstimate {
  /** Expected wrong labels of this finding among the unreviewed, unfailed images. */
  expectedErrors: number;
  /** Finding index. */
  finding: number;
  /** Finding name. */
  name: string;
  /** Reviewed images whose label of this finding was wrong. */
  wrongFound: number;
}

/**
 * Issues of one finding (cleanlab's `common_multilabel_issues` and
 * `rank_classes_by_multilabel_quality`, in finding order).
 */
export interface FindingIssueCount {
  /** Finding index. */
  finding: number;
  /** Flagged where the finding is in the given label. */
  inGivenLabel: number;
  /** `notInGivenLabel / n` (cleanlab's "Inverse Label Noise"). */
  inverseLabelNoise: number;
  /** `inGivenLabel / n` (cleanlab's "Label Noise"). */
  labelNoise: number;
  /** `1 - labelNoise` (cleanlab's per-class "Label Quality Score"). */
  labelQualityScore: number;
  /** Flagged where the finding is not in the given label. */
  notInGivenLabel: number;
}

/** The fitted map of one finding, `p' = sigmoid(slope z + intercept)`. */
export interface FindingMap {
  /** `b` (0 for temperature scaling). */
  intercept: number;
  /** `a` (`1 / T` for temperature scaling). */
  slope: number;
}

/** Metrics of one finding's probabilities against truths. */
export interface FindingMetrics {
  /** Accuracy of the decision `p >= 0.5`. */
  accuracy: number;
  /** Mean squared error of `p`. */
  brier: number;
  /** Expected calibration error of `p` (equal-width bins). */
  ece: number;
  /** Largest bin gap. */
  mce: number;
  /** Mean binary NLL. */
  nll: number;
  /** Images where the finding is present. */
  positives: number;
}

/** One finding of a multi-label result. */
export interface FindingScore {
  /** BALD of the finding, when `T > 1`. */
  bald?: number | null;
  /** `max(p̄_j, 1 - p̄_j)`. */
  confidence: number;
  /** `H(p̄_j)`. */
  entropy: number;
  /** Mean row entropy, when `T > 1`. */
  expectedEntropy?: number | null;
  /** Finding index in the model's output. */
  index: number;
  /** `|2 p̄_j - 1|`. */
  margin: number;
  /** Finding name from the manifest. */
  name: string;
  /** `p̄_j >= 0.5`. */
  present: boolean;
  /** `p̄_j`. */
  probability: number;
  /** `1 - max(votes present, votes absent) / T`, when `T > 1`. */
  variationRatio?: number | null;
}

/** What was fitted on the verified set. */
export interface Fitted {
  /** The auto-accept threshold and its certificate (absent when disabled or refused). */
  autoAccept?: AutoAcceptResponse | null;
  /** Why there is no auto-accept tier (disabled, or too few verified items). */
  autoAcceptRefused?: string | null;
  /** Verified items used for certifying auto-accept. */
  certifiedOn: number;
  /** Conformal threshold(s). */
  conformalThresholds?: NumericArray | null;
  /** The guarantee, in words. */
  guarantee?: string | null;
  /** Outlier threshold. */
  outlierThreshold?: number | null;
  /** Temperature applied. */
  temperature: number;
}

/** What was fitted on the verified set. */
export interface FittedOut {
  /** The auto-accept threshold and its certificate (absent when disabled or refused). */
  autoAccept?: AutoAcceptResponse | null;
  /** Why there is no auto-accept tier (disabled, or too few verified items). */
  autoAcceptRefused?: string | null;
  /** Verified items used for certifying auto-accept. */
  certifiedOn: number;
  /** Conformal threshold(s). */
  conformalThresholds?: number[] | null;
  /** The guarantee, in words. */
  guarantee?: string | null;
  /** Outlier threshold. */
  outlierThreshold?: number | null;
  /** Temperature applied. */
  temperature: number;
}

/** What to do with Fleiss' kappa. */
export type FleissMode =
  | /** Compute it when every item has the same number of ratings, else null with a note. */ "auto"
  | /** Error (`invalid_input`) when the rater counts differ. */ "require"
  | /** Do not compute it. */ "skip";

/** Which frame(s) of a multi-frame object are scored. */
export type FrameChoice =
  | {
    mode: "first";
  }
  | {
    mode: "middle";
  }
  | {
    /** 0-based frame number. */
    index: number;
    mode: "index";
  }
  | {
    mode: "each";
  };

/** Request: a grouping and the probabilities (and optionally labels) to map. */
export interface GroupClassesRequest {
  /** The model's class names, in output order (`k` = its length). */
  classes: string[];
  /** The target classes. */
  groups: ClassGroup[];
  /** Labels over the model's classes (`n` indices in `0..k`), mapped to group indices. */
  labels?: NumericArray | null;
  /** Number of rows. */
  n: number;
  /** Probabilities over the model's classes, `n x k` row-major. */
  predProbs: NumericArray;
}

/** Response: the grouped probabilities. */
export interface GroupClassesResponse {
  /** Group names (the new classes), in order. */
  classes: string[];
  /** `group_of[c]`: the group index of model class `c`. */
  groupOf: number[];
  /** The labels mapped to group indices, when labels were given. */
  labels?: number[] | null;
  /** Rows. */
  n: number;
  /** Grouped probabilities, `n x groups` row-major. */
  predProbs: number[];
}

/**
 * Decoding limits: an image larger than these fails with `image_too_large`, before the
 * decoder allocates its pixels.
 */
export interface ImageLimits {
  /**
   * Largest number of bytes one image may take to decode and preprocess: the decoder's
   * allocations, the float copy of the pixels and the resize buffers together (default
   * 512 MiB). Checked from the header, before the pixels are decoded.
   */
  maxAlloc?: number;
  /** Largest accepted height in pixels (default 16384). */
  maxHeight?: number;
  /** Largest accepted width in pixels (default 16384). */
  maxWidth?: number;
}

/** The result for one image. */
export interface ImageScore {
  /** Mutual information `H(p̄) - mean H(p_t)` (BALD), when there are `T > 1` rows. */
  bald?: number | null;
  /** Its probability. */
  confidence: number;
  /** For DICOM inputs: SOP Instance UID, frame and modality (nothing else from the header). */
  dicom?: DicomIdentity | null;
  /** Embedding, when asked for and the manifest names one. */
  embedding?: number[] | null;
  /** `-Σ p ln p`. */
  entropy: number;
  /** Mean entropy of the `T` rows, when there are `T > 1`. */
  expectedEntropy?: number | null;
  /** Multi-label models: the measures of each finding, in manifest order. */
  findings?: FindingScore[] | null;
  /** `1 - max p`. */
  leastConfidence: number;
  /** `p1 - p2` (small = uncertain). */
  margin: number;
  /** Index of the most probable class. */
  predicted: number;
  /** Class probabilities, in manifest order (with `T > 1` rows: their mean). */
  probabilities: number[];
  /** `p2 / p1` (large = uncertain). */
  ratio: number;
  /**
   * The `T` probability rows (member-major: `member * transforms + transform`), when
   * `includeSamples` is set.
   */
  samples?: number[][] | null;
  /** Multi-label models: the image-level summary. */
  summary?: MultiLabelSummary | null;
  /** The top classes, most probable first (ties: lower index first). */
  top: TopClass[];
  /** `1 - votes(modal class) / T`, when there are `T > 1` rows. */
  variationRatio?: number | null;
}

/** The input side of the manifest. */
export interface InputSpec {
  /** Channel count and order. */
  channels: Channels;
  /**
   * What the model was trained on for DICOM inputs (window, frame, output range); absent:
   * the defaults of [`DicomOptions`] (the file's window, else min-max; the first frame).
   */
  dicom?: DicomOptions | null;
  /** Input height in pixels. */
  height: number;
  /** Tensor layout. */
  layout: Layout;
  /** Per-channel mean, after scaling to [0, 1]; one value per channel. */
  mean: NumericArray;
  /** Name of the ONNX input to feed; defaults to the model's first input. */
  name?: string | null;
  /** Resize mode. */
  resize: Resize;
  /** Per-channel standard deviation, after scaling to [0, 1]; one value per channel, > 0. */
  std: NumericArray;
  /** Input width in pixels. */
  width: number;
}

/** The input side of the manifest. */
export interface InputSpecOut {
  /** Channel count and order. */
  channels: Channels;
  /**
   * What the model was trained on for DICOM inputs (window, frame, output range); absent:
   * the defaults of [`DicomOptions`] (the file's window, else min-max; the first frame).
   */
  dicom?: DicomOptionsOut | null;
  /** Input height in pixels. */
  height: number;
  /** Tensor layout. */
  layout: Layout;
  /** Per-channel mean, after scaling to [0, 1]; one value per channel. */
  mean: number[];
  /** Name of the ONNX input to feed; defaults to the model's first input. */
  name: string | null;
  /** Resize mode. */
  resize: ResizeOut;
  /** Per-channel standard deviation, after scaling to [0, 1]; one value per channel, > 0. */
  std: number[];
  /** Input width in pixels. */
  width: number;
}

/** An error as data: what the JS API and CLI report for a failed item. */
export interface ItemError {
  /** Stable code, e.g. `image_decode`. */
  code: string;
  /** Human message. */
  message: string;
}

/** The result for one item of a batch: a score or an error, never both. */
export interface ItemResult {
  /** The error, when it failed. */
  error?: ItemError | null;
  /** The caller's id for the item. */
  id: string;
  /** The score, when it succeeded. */
  score?: ImageScore | null;
}

/** One review of a pool item. */
export interface ItemReview {
  /** The label given. */
  label: number;
  /** Reviewer id. */
  reviewer: string;
}

/** Distance between embeddings. */
export type KnnMetric =
  | /** cleanlab's rule: cosine when `d > 3`, else Euclidean (default). */ "auto"
  | /** `1 - cos`. */ "cosine"
  | /** Euclidean. */ "euclidean";

/** Options of [`knn_outliers`]. */
export interface KnnOutlierOptions {
  /** Neighbours (default `min(10, n - 1)`; must be below `n`). */
  k?: number | null;
  /** Distance (default auto). */
  metric?: KnnMetric;
  /** Score temperature `t` in `exp(-t a / s)` (default 1). */
  t?: number;
}

/** Request of [`knn_outliers_request`]. */
export interface KnnOutlierRequest {
  /** Dimensions. */
  d: number;
  /** Row-major embeddings, `n x d`. */
  embeddings: NumericArray;
  /** Rows. */
  n: number;
  /** Options. */
  options?: KnnOutlierOptions;
}

/** kNN outlier scores. */
export interface KnnOutlierResponse {
  /** Mean distance to the `k` nearest other rows. */
  avgDistances: number[];
  /** Neighbours used. */
  k: number;
  /** Metric used (never `auto`). */
  metric: KnnMetric;
  /** The `k` nearest neighbours of each row, nearest first, row-major `n x k`. */
  neighbors: number[];
  /** `s`: median mean distance (floored at `100 eps`). */
  scalingFactor: number;
  /** Scores in `[0, 1]`, low = outlier. */
  scores: number[];
}

/** A label as given: a class index (`0..K`) or a class name from `classes`. */
export type Label =
  | /** A class index. */ number
  | /** A class name (must be listed in `classes`). */ string;

/** Options of [`label_config`]. */
export interface LabelConfigOptions {
  /** Key of the image URL in the task's `data` (default `"image"`). */
  dataKey?: string;
  /** Name of the class `Choices` control (default `"choice"`, as the export's `fromName`). */
  fromName?: string;
  /** A header with the task's tier and rank (default true). */
  header?: boolean;
  /** Keyboard shortcuts `1`-`9`, `0` for the first ten classes (default true). */
  hotkeys?: boolean;
  /**
   * Multi-label findings (default false): the class control is `choice="multiple"` and
   * carries one more choice, `noFinding`, which the reviewer picks for an image without
   * any finding (so that a submitted empty selection is never mistaken for a decision).
   */
  multiple?: boolean;
  /** The "no finding" choice of a multiple control (default `"No finding"`). */
  noFinding?: string;
  /** Name of the read-only reasons text area (default `"reasons"`; `null`: none). */
  reasonsFromName?: string | null;
  /** Name of the read-only tier control (default `"tier"`; `null`: none). */
  tierFromName?: string | null;
  /** Name of the image object (default `"image"`). */
  toName?: string;
}

/** Request of [`label_config`]. */
export interface LabelConfigRequest {
  /** Class names, in class-index order (the manifest's `output.classes`). */
  classes: string[];
  /** Options. */
  options?: LabelConfigOptions;
}

/** Label-issue settings. */
export interface LabelIssueConfig {
  /** Run confident learning on the pool's given labels (default true). */
  enabled?: boolean;
  /** cleanlab's options. */
  options?: FindOptions;
}

/** Result of [`find_label_issues`]. */
export interface LabelIssues {
  /** One flag per row. */
  isLabelIssue: boolean[];
  /** Number of flagged rows. */
  numIssues: number;
  /** Flagged rows, lowest quality first (when asked). */
  rankedIndices?: number[] | null;
}

/** Options of [`label_studio`]. */
export interface LabelStudioOptions {
  /** Key of the image URL in `data` (default `"image"`). */
  dataKey?: string;
  /** `from_name` of the class `Choices` control (default `"choice"`). */
  fromName?: string;
  /** `model_version` of the predictions (default `"medtriage"`). */
  modelVersion?: string;
  /**
   * Multi-label exports only: the choice that stands for "no finding" (default
   * `"No finding"`, as in the multi-label labeling config).
   */
  noFinding?: string;
  /**
   * `from_name` of a `TextArea` control for the reasons (default `"reasons"`; `null`: not
   * emitted).
   */
  reasonsFromName?: string | null;
  /** Leave out auto-accepted items (default false). */
  skipAutoAccepted?: boolean;
  /**
   * `from_name` of a `Choices` control for the tier (default `"tier"`; `null`: not
   * emitted, for a labeling config without that control).
   */
  tierFromName?: string | null;
  /** `to_name`: the image object (default `"image"`). */
  toName?: string;
  /** Prefix joined to each id to form the URL (default empty: ids are URLs already). */
  urlPrefix?: string;
}

/** Response of [`read_label_studio`]. */
export interface LabelStudioReviews {
  /** Every annotation that counted (after dropping superseded ones). */
  annotations: ReadAnnotation[];
  /** Annotations read (submitted, skipped and without choice alike). */
  annotationsRead: number;
  /** Distinct annotators. */
  annotators: string[];
  /** Tasks with a decision. */
  decided: number;
  /** Tasks whose annotators disagreed. */
  disagreements: number;
  /** Tasks with annotations from more than one annotator. */
  multiAnnotatorTasks: number;
  /**
   * One decision per task with at least one choice (the consensus when several
   * annotators chose), in the order the tasks came: `planRound`'s `reviewed`.
   */
  reviewed: ReviewOutcome[];
  /** Cancelled (skipped) annotations. */
  skipped: number;
  /** Annotations replaced by a later one of the same annotator on the same task. */
  superseded: number;
  /** Tasks in the input. */
  tasks: number;
  /** Tasks whose vote was tied. */
  ties: ReadTie[];
  /** Annotations without a choice of the class control. */
  withoutChoice: number;
}

/** Memory layout of the model's input tensor. */
export type Layout =
  | /** `[batch, channels, height, width]` (PyTorch). */ "nchw"
  | /** `[batch, height, width, channels]` (TensorFlow/Keras). */ "nhwc";

/** Options for loading a model. */
export interface LoadOptions {
  /**
   * Largest number of images run through the model in one call when its batch dimension
   * is free (default 8, at most 4096). Models with a fixed batch size use theirs (at most
   * 4096).
   */
  maxBatch?: number;
  /** Refuse models larger than this many bytes (default 512 MiB). */
  maxModelBytes?: number;
  /**
   * Refuse a model in which one tensor (an operator's output at the batch size used, or a
   * constant) would exceed this many bytes, checked after shape inference and before the
   * model runs (default 1 GiB). The model's initializers and constants together are
   * bounded by `max_model_bytes`, as declared, before tract reads them.
   */
  maxTensorBytes?: number;
}

/** Options of majority vote (none yet; unknown fields are rejected). */
export type MajorityOptions = Record<string, never>;

/** Majority-vote result. */
export interface MajorityResponse {
  /** Share of an item's votes for its consensus class. */
  agreement: number[];
  /** Per annotator: share of their labels equal to the consensus (crowd-kit `skills_`). */
  annotatorAccuracy: number[];
  /** Annotator ids. */
  annotators: string[];
  /** Class names. */
  classes: string[];
  /** Consensus class index per item. */
  consensusLabel: number[];
  /** Item ids (row order). */
  items: string[];
  /** Annotations per item. */
  numAnnotations: number[];
  /** Vote fractions, `n x K` row-major. */
  probabilities: number[];
  /** Whether the top vote count was tied. */
  tied: boolean[];
  /** The tied items with their candidates. */
  ties: Tie[];
}

/** The whole manifest. */
export interface Manifest {
  /** Free-form description (e.g. training data, intended use). */
  description?: string | null;
  /** Input description. */
  input: InputSpec;
  /** The models of an ensemble, one entry per model (see the module docs). */
  members?: Member[] | null;
  /** Free-form model name. */
  name?: string | null;
  /** Output description. */
  output: OutputSpec;
  /** Lower-case hex SHA-256 the model bytes must match, if given. */
  sha256?: string | null;
  /** Test-time augmentations (see the module docs); absent = the identity only. */
  tta?: Transform[] | null;
}

/** The whole manifest. */
export interface ManifestOut {
  /** Free-form description (e.g. training data, intended use). */
  description: string | null;
  /** Input description. */
  input: InputSpecOut;
  /** The models of an ensemble, one entry per model (see the module docs). */
  members?: Member[] | null;
  /** Free-form model name. */
  name: string | null;
  /** Output description. */
  output: OutputSpecOut;
  /** Lower-case hex SHA-256 the model bytes must match, if given. */
  sha256: string | null;
  /** Test-time augmentations (see the module docs); absent = the identity only. */
  tta?: TransformOut[] | null;
}

/**
 * Which measure orders a queue: the one list the JS API (camelCase), the generated types and
 * the CLI's `--sort` (kebab-case) take their names from.
 */
export type Measure =
  | /** `1 - p1`. */ "leastConfidence"
  | /** smallest `p1 - p2` first. */ "margin"
  | /** largest `p2 / p1` first. */ "ratio"
  | /** largest entropy first (default). */ "entropy"
  | /** largest expected entropy first (one-row items: their entropy). */ "expectedEntropy"
  | /** largest BALD (mutual information) first (one-row items: 0). */ "bald"
  | /** largest variation ratio first (one-row items: 0). */ "variationRatio";

/** One model of an ensemble. */
export interface Member {
  /** Free-form name (e.g. the file name). */
  name?: string | null;
  /** Lower-case hex SHA-256 this member's bytes must match, if given. */
  sha256?: string | null;
}

/** Distance between embeddings. */
export type Metric =
  | /** Euclidean (default; modAL's default). */ "euclidean"
  | /** Cosine distance `1 - x·y / (|x||y|)`, clipped to `[0, 2]`; a zero vector is at distance 1 from everything (scikit-learn's `cosine_distances`). */ "cosine";

/** Request for [`mix_gold`]. */
export interface MixGoldRequest {
  /** The batch (pool indices), in review order. */
  batch: NumericArray;
  /** Verified items that may serve as gold (verified-set indices). */
  gold: NumericArray;
  /** Share of gold in the mixed batch, in `[0, 0.5]` (default 0.05). */
  goldShare?: number;
  /** Seed (default 0). */
  seed?: number;
  /** Gold items this reviewer has already seen (never shown twice). */
  seen?: NumericArray;
}

/** Response of [`mix_gold`]. */
export interface MixGoldResponse {
  /** Gold items added. */
  goldAdded: number;
  /** Gold items still unseen by this reviewer after this batch. */
  goldLeft: number;
  /** The batch with the gold items at random positions. */
  slots: Slot[];
}

/** Apply a certified rule to new images. */
export interface MlApplyAutoAcceptRequest {
  /** Findings. */
  k: number;
  /** Truths, when known (held-out check). */
  labels?: number[][] | null;
  /** Images. */
  n: number;
  /** Row-major `n x k` calibrated probabilities. */
  probs: NumericArray;
  /** The rule from [`auto_accept_ml`]. */
  rule: MlAutoAcceptRule;
}

/** Apply per-finding maps. */
export interface MlApplyCalibrationRequest {
  /** Findings. */
  k: number;
  /** Logits (default) or probabilities. */
  kind?: ScoreKind;
  /** One map per finding (`maps` of [`MlCalibration`]). */
  maps: FindingMap[];
  /** Images. */
  n: number;
  /** Row-major `n x k` logits or probabilities. */
  scores: NumericArray;
}

/** Auto-accept settings. */
export interface MlAutoAcceptConfig {
  /** Promised risk that some finding of an accepted image is wrong (default 0.05). */
  alpha?: number;
  /** Probability that the promise fails (default 0.05). */
  delta?: number;
  /** Auto-accept at all (default true). */
  enabled?: boolean;
  /** Multiplicity (joint or Bonferroni), risk mode, p-value, grid. */
  options?: MlAutoAcceptOptions;
  /** Only accept images whose decisions equal the findings they came with (default true). */
  requireLabelAgreement?: boolean;
}

/** Which images are auto-accepted (and, with truths, the held-out error). */
export interface MlAutoAcceptDecision {
  /** One flag per image. */
  accepted: boolean[];
  /** With truths: `errors / numAccepted` (conditional) . */
  errorAmongAccepted?: number | null;
  /** With truths: `errors / n` (marginal). */
  errorMarginal?: number | null;
  /** With truths: accepted images with some finding wrong. */
  errors?: number | null;
  /** Accepted images. */
  numAccepted: number;
}

/** Options of [`auto_accept_ml`]. */
export interface MlAutoAcceptOptions {
  /**
   * Thresholds tested per grid: the verified confidences (sorted from the highest) at
   * ranks `ceil(t n / gridSize)`, `t = 1..gridSize` (default 20; 0 = every distinct
   * confidence). A coarse grid keeps the fixed-sequence test from stopping at its first,
   * smallest accepted sets.
   */
  gridSize?: number;
  /** Joint only: conditional (default) or marginal risk. Bonferroni is always marginal. */
  mode?: RiskMode;
  /** Joint (default) or Bonferroni over findings. */
  multiplicity?: Multiplicity;
  /** p-value (default binomial). */
  pValue?: PValue;
  /** Testing over each threshold grid (default fixed sequence). */
  procedure?: Procedure;
}

/** Certify an auto-accept rule on verified images. */
export interface MlAutoAcceptRequest {
  /** Risk level in `(0, 1)`. */
  alpha: number;
  /** Failure probability in `(0, 1)`. */
  delta: number;
  /** Findings. */
  k: number;
  /** Verified findings per image. */
  labels: number[][];
  /** Images. */
  n: number;
  /** Options. */
  options?: MlAutoAcceptOptions;
  /** Row-major `n x k` calibrated probabilities of the verified images. */
  probs: NumericArray;
}

/** A certified rule: accept an image when `max(p_j, 1 - p_j) >= thresholds[j]` for all `j`. */
export interface MlAutoAcceptRule {
  /** Verified images accepted. */
  accepted: number;
  /** `accepted / n`. */
  acceptedFraction: number;
  /** Risk level. */
  alpha: number;
  /** Failure probability. */
  delta: number;
  /** Accepted verified images with some finding wrong. */
  errors: number;
  /** The guarantee in words. */
  guarantee: string;
  /** Risk mode of the guarantee. */
  mode: RiskMode;
  /** How the rule was certified. */
  multiplicity: Multiplicity;
  /** Per-finding confidence thresholds (all equal in joint mode). */
  thresholds: NumericArray;
}

/** A certified rule: accept an image when `max(p_j, 1 - p_j) >= thresholds[j]` for all `j`. */
export interface MlAutoAcceptRuleOut {
  /** Verified images accepted. */
  accepted: number;
  /** `accepted / n`. */
  acceptedFraction: number;
  /** Risk level. */
  alpha: number;
  /** Failure probability. */
  delta: number;
  /** Accepted verified images with some finding wrong. */
  errors: number;
  /** The guarantee in words. */
  guarantee: string;
  /** Risk mode of the guarantee. */
  mode: RiskMode;
  /** How the rule was certified. */
  multiplicity: Multiplicity;
  /** Per-finding confidence thresholds (all equal in joint mode). */
  thresholds: number[];
}

/** Options of [`fit_calibration`]. */
export interface MlCalibrateOptions {
  /** Reliability bins for the reported ECE (default 15). */
  bins?: number;
  /** Map (default temperature). */
  method?: MlCalibrationMethod;
  /** Temperature search range (temperature only). */
  temperature?: TemperatureOptions;
}

/** Fit a calibration on labeled images. */
export interface MlCalibrateRequest {
  /** Findings. */
  k: number;
  /** Logits (default) or probabilities. */
  kind?: ScoreKind;
  /** True findings per image. */
  labels: number[][];
  /** Images. */
  n: number;
  /** Options. */
  options?: MlCalibrateOptions;
  /** Row-major `n x k` logits or probabilities. */
  scores: NumericArray;
}

/** Result of [`fit_calibration`]: pass `maps` to [`apply_calibration`]. */
export interface MlCalibration {
  /** Details per finding. */
  findings: FindingCalibration[];
  /** One map per finding. */
  maps: FindingMap[];
  /** Map used. */
  method: MlCalibrationMethod;
}

/** Calibration settings. */
export interface MlCalibrationConfig {
  /**
   * Fit a map per finding on the verified set (default true); false: probabilities as
   * given.
   */
  enabled?: boolean;
  /** Temperature (default) or Platt, and the search range. */
  options?: MlCalibrateOptions;
}

/** The calibration map. */
export type MlCalibrationMethod =
  | /** One temperature per finding (default). */ "temperature"
  | /** Platt scaling per finding (slope and intercept). */ "platt";

/** Per-finding metrics. */
export interface MlCalibrationReport {
  /** Images whose every decision is right. */
  exactMatch: number;
  /** One entry per finding. */
  findings: FindingMetrics[];
  /** Mean ECE over findings. */
  meanEce: number;
}

/** Per-finding metrics of probabilities against truths. */
export interface MlCalibrationReportRequest {
  /** Bins (default 15). */
  bins?: number;
  /** Findings. */
  k: number;
  /** True findings per image. */
  labels: number[][];
  /** Images. */
  n: number;
  /** Row-major `n x k` probabilities. */
  probs: NumericArray;
}

/** Response of [`confident_joint_request`]. */
export interface MlConfidentJointResponse {
  /** `k x 2 x 2` counts, row-major (finding, given, true). */
  confidentJoint: number[];
}

/** Per-finding conformal thresholds. */
export interface MlConformal {
  /** Image-level level asked for. */
  alpha: number;
  /** Level used per finding. */
  findingAlpha: number;
  /** Per finding: score thresholds (1 marginal, or 2 for absent/present). */
  thresholds: number[][];
}

/** Conformal settings. */
export interface MlConformalConfig {
  /** Image-level miscoverage (default 0.1). */
  alpha?: number;
  /** Split `alpha` over the findings (default true). */
  bonferroni?: boolean;
  /** Use conformal sets per finding (default true). */
  enabled?: boolean;
}

/** Calibrate per-finding conformal sets. */
export interface MlConformalRequest {
  /** Image-level miscoverage in `(0, 1)`. */
  alpha: number;
  /**
   * Split `alpha` over the findings (`alpha / k` each, default true); false gives each
   * finding level `alpha` (per-finding coverage only).
   */
  bonferroni?: boolean;
  /** Thresholds per (finding, present/absent) class (Mondrian), default false. */
  classConditional?: boolean;
  /** Findings. */
  k: number;
  /** True findings per image. */
  labels: number[][];
  /** Images. */
  n: number;
  /** Row-major `n x k` calibrated probabilities of labeled images. */
  probs: NumericArray;
}

/** Sets and coverage. */
export interface MlConformalSets {
  /** With truths: per-finding coverage. */
  findingCoverage?: number[] | null;
  /** Images with no undecided or empty finding. */
  fullyDecided: number;
  /** With truths: fraction of images whose every finding set holds its truth. */
  imageCoverage?: number | null;
  /** One entry per image. */
  images: MlImageSets[];
}

/** Per-finding sets for new images. */
export interface MlConformalSetsRequest {
  /** From [`conformal_calibrate_ml`]. */
  calibration: MlConformal;
  /** Findings. */
  k: number;
  /** Truths, when known (adds coverage). */
  labels?: number[][] | null;
  /** Images. */
  n: number;
  /** Row-major `n x k` calibrated probabilities. */
  probs: NumericArray;
}

/** Options of [`ml_consensus`]. */
export interface MlConsensusOptions {
  /** Dawid-Skene EM options (crowd-kit's defaults). */
  dawidSkene?: DawidSkeneOptions;
  /** Smallest shared images for a reader pair's kappa (default 2). */
  minOverlap?: number;
  /** How many images to list in `nextReads` (default all). */
  top?: number | null;
  /** A finding is named as uncertain when `min(q, 1 - q)` exceeds this (default 0.1). */
  uncertainThreshold?: number;
}

/** Request of [`ml_consensus`]. */
export interface MlConsensusRequest {
  /** Declared reader ids. */
  annotators?: string[] | null;
  /** Finding names (index order). */
  findings?: string[] | null;
  /** Declared image ids (fixing the order). */
  items?: string[] | null;
  /** Number of findings when `findings` is not given (default: largest index + 1). */
  numFindings?: number | null;
  /** Options. */
  options?: MlConsensusOptions;
  /** The reads, one per (image, reader). */
  reads: MlRead[];
}

/** Result of [`ml_consensus`]. */
export interface MlConsensusResponse {
  /** Reader ids. */
  annotators: string[];
  /** Dawid-Skene findings per image (`q >= 0.5`). */
  dawidSkene: number[][];
  /** Finding names. */
  findings: string[];
  /** Image ids (row order). */
  items: string[];
  /** Majority-vote findings per image. */
  majority: number[][];
  /** Majority vote's fraction of reads listing each finding, `n x k`. */
  majorityFraction: number[];
  /** Images ranked by how much another read is needed (highest first). */
  nextReads: NextRead[];
  /** Reads per image. */
  numReads: number[];
  /** Per finding. */
  perFinding: FindingConsensus[];
  /** Dawid-Skene `P(present)`, `n x k` row-major. */
  posteriors: number[];
}

/** Expert triggers. */
export interface MlExpertConfig {
  /**
   * A finding whose calibrated confidence is below this sends the image to an expert
   * (default 0.6: a probability between 0.4 and 0.6).
   */
  maxConfidence?: number;
  /** Annotator agreement below this sends the image to an expert (default 0.5). */
  minAgreement?: number;
}

/** Common inputs of the multi-label exports. */
export interface MlExportRequest<O> {
  /** Item ids, one per pool index; default: the index. */
  ids?: string[] | null;
  /** Export options. */
  options?: O;
  /** The triage to export (its `findings` name the findings). */
  tiers: MlTierResponse;
}

/** Options of [`find_label_issues`] (cleanlab's keyword arguments, same defaults). */
export interface MlFindOptions {
  /**
   * A precomputed one-vs-rest confident joint, `k x 2 x 2` counts (finding, given,
   * true), row-major; ignored by `confidentLearning`.
   */
  confidentJoint?: NumericArray | null;
  /** The flagging rule, applied per finding (default prune by noise rate). */
  filterBy?: FilterBy;
  /** Fraction of the estimated noise to flag, in `(0, 1]` (default 1). */
  fracNoise?: number;
  /** Leave at least this many images of each (finding, present/absent) class unflagged. */
  minExamplesPerClass?: number;
  /** One count per finding (prune modes only), cleanlab 2.9's `num_to_remove_per_class`. */
  numToRemovePerClass?: NumericArray | null;
  /** Adjust probabilities by the class thresholds for that ranking. */
  rankByAdjustPredProbs?: boolean;
  /** Also return the flagged images ordered by this multi-label score, lowest first. */
  returnIndicesRankedBy?: ScoreMethod | null;
}

/** Request of [`find_label_issues_request`]. */
export interface MlFindRequest {
  /** Findings. */
  k: number;
  /** Given findings per image. */
  labels: number[][];
  /** Images. */
  n: number;
  /** Options. */
  options?: MlFindOptions;
  /** Row-major probabilities, `n x k`. */
  predProbs: NumericArray;
}

/** What was fitted on the verified set. */
export interface MlFitted {
  /** The certified rule (absent when disabled or refused). */
  autoAccept?: MlAutoAcceptRule | null;
  /** Why there is no auto-accept tier. */
  autoAcceptRefused?: string | null;
  /** Verified images the rule was certified on. */
  certifiedOn: number;
  /** Conformal thresholds per finding. */
  conformal?: MlConformal | null;
  /** The guarantee, in words. */
  guarantee?: string | null;
  /** Calibration maps per finding (absent when disabled). */
  maps?: FindingMap[] | null;
  /** Outlier threshold. */
  outlierThreshold?: number | null;
}

/** What was fitted on the verified set. */
export interface MlFittedOut {
  /** The certified rule (absent when disabled or refused). */
  autoAccept?: MlAutoAcceptRuleOut | null;
  /** Why there is no auto-accept tier. */
  autoAcceptRefused?: string | null;
  /** Verified images the rule was certified on. */
  certifiedOn: number;
  /** Conformal thresholds per finding. */
  conformal?: MlConformal | null;
  /** The guarantee, in words. */
  guarantee?: string | null;
  /** Calibration maps per finding (absent when disabled). */
  maps?: FindingMap[] | null;
  /** Outlier threshold. */
  outlierThreshold?: number | null;
}

/** One image's sets. */
export interface MlImageSets {
  /** Findings whose set is empty. */
  empty: number[];
  /** Findings whose set is `{present}`. */
  present: number[];
  /** Findings whose set holds both (not decided at this level). */
  undecided: number[];
}

/** Label-issue settings. */
export interface MlLabelIssueConfig {
  /** Run cleanlab's multi-label `find_label_issues` on the given findings (default true). */
  enabled?: boolean;
  /** Its options. */
  options?: MlFindOptions;
}

/** Result of [`find_label_issues`]. */
export interface MlLabelIssues {
  /**
   * Per finding: flagged images where the finding was given (possibly a false positive
   * annotation) and where it was not given (possibly missed).
   */
  findingSummary: FindingIssueCount[];
  /** `1 - numIssues / n` (cleanlab's `overall_multilabel_health_score`). */
  healthScore: number;
  /** One flag per image: some finding of it is likely mislabelled. */
  isLabelIssue: boolean[];
  /** Number of flagged images. */
  numIssues: number;
  /**
   * `n x k` row-major: finding `j` of image `i` is flagged (empty for the
   * `lowSelfConfidence` / `lowNormalizedMargin` modes, which rank whole images).
   */
  perFinding: boolean[];
  /** Flagged images, lowest multi-label quality first (when asked). */
  rankedIndices?: number[] | null;
  /** Findings given on every image (nothing flagged there). */
  skippedFindings: number[];
}

/** Response of [`read_label_studio_ml`]. */
export interface MlLabelStudioReviews {
  /** Every annotation that counted. */
  annotations: MlReadAnnotation[];
  /** Annotations read. */
  annotationsRead: number;
  /** Distinct annotators. */
  annotators: string[];
  /** Tasks with a decision. */
  decided: number;
  /** Tasks whose annotators chose different findings. */
  disagreements: number;
  /** Tasks with more than one annotator. */
  multiAnnotatorTasks: number;
  /** One decision per task with at least one annotation, in pool-index order. */
  reviewed: MlReviewOutcome[];
  /** Cancelled (skipped) annotations. */
  skipped: number;
  /** Annotations replaced by a later one of the same annotator on the same task. */
  superseded: number;
  /** Tasks in the input. */
  tasks: number;
  /** Majority ties per task. */
  ties: MlReadTie[];
  /** Annotations without a choice of the findings control. */
  withoutChoice: number;
}

/** Multi-label probabilities plus given labels: the common part of the requests. */
export interface MlLabeledProbs {
  /** Findings. */
  k: number;
  /** Given findings per image (lists of indices in `0..k`). */
  labels: number[][];
  /** Images. */
  n: number;
  /** Row-major probabilities, `n x k`, each in `[0, 1]`. */
  predProbs: NumericArray;
}

/** Planning options. */
export interface MlPlanOptions {
  /** Images per batch (default 100). */
  batchSize?: number;
  /** Seed of the audit draws (default 0). */
  seed?: number;
  /** Stopping rule (sequential audits only: `sequential` must stay true). */
  stopping?: StoppingRule;
}

/** The multi-label policy (one JSON object; unknown fields rejected at every level). */
export interface MlPolicyConfig {
  /** Certified auto-accept. */
  autoAccept?: MlAutoAcceptConfig;
  /** Calibration per finding. */
  calibration?: MlCalibrationConfig;
  /** Conformal sets per finding. */
  conformal?: MlConformalConfig;
  /** Expert triggers. */
  expert?: MlExpertConfig;
  /** Label issues on the given findings. */
  labelIssues?: MlLabelIssueConfig;
  /** Outliers. */
  outliers?: OutlierConfig;
}

/** Pool images to triage. */
export interface MlPoolSet {
  /**
   * Annotator agreement in `[0, 1]` per image (NaN: no annotations), e.g. the mean
   * per-finding agreement of `multiLabelConsensus`.
   */
  agreement?: NumericArray | null;
  /** Images that failed upstream (decoding, scoring): tier `failed`. */
  failed?: NumericArray;
  /** The findings each image came with (`null`: none given). */
  givenLabels?: (number[] | null)[] | null;
  /** Images. */
  n: number;
  /** Outlier scores (lower = more unusual). */
  outlierScores?: NumericArray | null;
  /**
   * Row-major `n x k` per-finding probabilities (uncalibrated); rows of failed images may
   * hold anything.
   */
  predProbs: NumericArray;
}

/** Calibrated probabilities. */
export interface MlProbabilities {
  /** Row-major `n x k`. */
  probabilities: number[];
}

/** One multi-label pseudo-label. */
export interface MlPseudoLabel {
  /** Their names. */
  findings: string[];
  /** Item id. */
  id: string;
  /** Pool index. */
  index: number;
  /** Findings present (indices). */
  labels: number[];
  /** 0/1 per finding. */
  targets: number[];
  /** Tier it came from. */
  tier: Tier;
  /** Training weight per finding. */
  weights: number[];
}

/** Options of [`pseudo_labels_ml`]. */
export interface MlPseudoLabelOptions {
  /**
   * Only images whose least confident finding has at least this calibrated confidence
   * (default 0).
   */
  minConfidence?: number;
  /** Tiers to export (default: auto-accept only). */
  tiers?: Tier[];
  /** Weight per finding. */
  weight?: Weight;
}

/** Pseudo-labels with their CSV rendering. */
export interface MlPseudoLabels {
  /** The CSV (module docs). */
  csv: string;
  /** Rows, in pool order. */
  rows: MlPseudoLabel[];
}

/** Options of [`label_quality_scores`]. */
export interface MlQualityOptions {
  /** Subtract each finding's one-vs-rest class thresholds before scoring. */
  adjustPredProbs?: boolean;
  /** Aggregation across findings (default EMA, alpha 0.8). */
  aggregator?: Aggregator;
  /** Per-finding score method (default self-confidence). */
  method?: ScoreMethod;
}

/** Request of [`quality_scores_request`]. */
export interface MlQualityRequest {
  /** Findings. */
  k: number;
  /** Given findings per image. */
  labels: number[][];
  /** Images. */
  n: number;
  /** Options. */
  options?: MlQualityOptions;
  /** Row-major probabilities, `n x k`. */
  predProbs: NumericArray;
}

/** Response of [`quality_scores_request`]. */
export interface MlQualityResponse {
  /** Per finding, the mean of its per-image scores (low = a noisy finding). */
  findingMean: number[];
  /** `n x k` row-major per-finding scores. */
  perFinding: number[];
  /** One score per image in `[0, 1]`; low = some finding likely mislabelled. */
  scores: number[];
}

/** One multi-label read: `annotator` read `item` and listed `findings`. */
export interface MlRead {
  /** Reader id. */
  annotator: string;
  /** Findings seen: indices or names from `findings` (empty = none). */
  findings: Label[];
  /** Image id. */
  item: string;
}

/** One multi-label annotation read back. */
export interface MlReadAnnotation {
  /** The annotator. */
  annotator: string;
  /** The findings chosen (`[]`: "no finding"). */
  findings: number[];
  /** Pool index. */
  index: number;
  /** Label Studio's task id. */
  task?: number | null;
}

/** A task whose annotators tied on some findings (read as absent). */
export interface MlReadTie {
  /** The tied findings. */
  findings: number[];
  /** Pool index. */
  index: number;
}

/** Why an image is where it is. */
export interface MlReason {
  /** The comparison that held (`"<"`, `">="`, `"!="`, …). */
  comparison?: string | null;
  /** The finding it is about (absent: the whole image). */
  finding?: number | null;
  /** A sentence for the reviewer, naming the finding. */
  message: string;
  /** The signal. */
  signal: Signal;
  /** The threshold it was compared with. */
  threshold?: number | null;
  /** Its value for this image. */
  value?: number | null;
}

/** One review of a multi-label image. */
export interface MlReviewOutcome {
  /** The findings the reviewer confirmed or gave (`[]`: no finding). */
  findings: number[];
  /** Pool index. */
  index: number;
}

/** The plan of the next round. */
export interface MlRoundPlan {
  /** An audit step to run instead of a batch. */
  audit?: AuditPlan | null;
  /** Pool indices to review next (empty when an audit is asked for or when stopping). */
  batch: number[];
  /** Pool estimate (images). */
  estimate: PoolEstimate;
  /** Per-finding estimates. */
  perFinding: FindingEstimate[];
  /** Stop: the target is certified (or nothing is left to review). */
  stop: boolean;
  /** Why (or why not) stop. */
  stopReason: string;
  /** The triage of the unreviewed images (indices are pool indices). */
  tiers: MlTierResponseOut;
  /** Reviewed images with some finding wrong. */
  wrongImagesFound: number;
}

/** Request of [`plan_round_ml`]. */
export interface MlRoundRequest {
  /** Audits so far, oldest first (each with its `indices`). */
  audits?: AuditRecord[];
  /** Finding names (default: the index). */
  findings?: string[] | null;
  /** Findings per image. */
  k: number;
  /** Planning options. */
  options?: MlPlanOptions;
  /** The policy. */
  policy?: MlPolicyConfig;
  /** The whole pool (reviewed images included; they are skipped). */
  pool: MlPoolSet;
  /** Reviews so far (batches and audits). */
  reviewed?: MlReviewOutcome[];
  /** The verified set before any round. */
  verified: MlVerifiedSet;
}

/** Request of [`tier_items_ml`]. */
export interface MlTierRequest {
  /** Finding names for the reasons (default: the finding index). */
  findings?: string[] | null;
  /** Findings per image. */
  k: number;
  /** The policy. */
  policy?: MlPolicyConfig;
  /** Images to triage. */
  pool: MlPoolSet;
  /** Verified images. */
  verified: MlVerifiedSet;
}

/** Response of [`tier_items_ml`]. */
export interface MlTierResponse {
  /** Images per tier. */
  counts: TierCounts;
  /** Finding names (the request's, else the index as text). */
  findings: string[];
  /** Fitted parameters. */
  fitted: MlFitted;
  /** One entry per pool image, in input order. */
  items: MlTieredItem[];
  /** Images to review, highest priority first (every tier but auto-accept; failed last). */
  order: NumericArray;
}

/** Response of [`tier_items_ml`]. */
export interface MlTierResponseOut {
  /** Images per tier. */
  counts: TierCounts;
  /** Finding names (the request's, else the index as text). */
  findings: string[];
  /** Fitted parameters. */
  fitted: MlFittedOut;
  /** One entry per pool image, in input order. */
  items: MlTieredItem[];
  /** Images to review, highest priority first (every tier but auto-accept; failed last). */
  order: number[];
}

/** One triaged image. */
export interface MlTieredItem {
  /** The confidence of the least confident finding, `min_j max(p_j, 1 - p_j)`. */
  confidence?: number | null;
  /** Per finding: probability that its current label is wrong. */
  findingPriority?: number[] | null;
  /** The findings the image came with. */
  givenLabels?: number[] | null;
  /** Pool index. */
  index: number;
  /** The findings the image ends with if nobody reviews it (given, else predicted). */
  labels?: number[] | null;
  /** Findings the model decides present. */
  predicted?: number[] | null;
  /** Probability that the current findings are not all right (review priority). */
  priority?: number | null;
  /** Calibrated per-finding probabilities (absent when failed). */
  probabilities?: number[] | null;
  /** Every signal that fired (for auto-accepted images: the ones that certify it). */
  reasons: MlReason[];
  /** Its tier. */
  tier: Tier;
  /** Findings whose conformal set holds both answers (when computed). */
  undecided?: number[] | null;
}

/** Verified images: their true findings are known. */
export interface MlVerifiedSet {
  /** The findings each image came with before verification (`null`: none given). */
  givenLabels?: (number[] | null)[] | null;
  /** True findings per image (`[]`: no finding). */
  labels: number[][];
  /** Images. */
  n: number;
  /** Outlier scores (lower = more unusual). */
  outlierScores?: NumericArray | null;
  /** Row-major `n x k` per-finding probabilities (uncalibrated). */
  predProbs: NumericArray;
}

/** Measures of one item. */
export interface MultiItem {
  /** Mutual information `H(p̄) - mean H(p_t)` (BALD), `>= 0`. */
  bald: number;
  /** Its mean probability. */
  confidence: number;
  /** Predictive entropy `H(p̄)`. */
  entropy: number;
  /** Mean of the per-row entropies. */
  expectedEntropy: number;
  /** `1 - max p̄`. */
  leastConfidence: number;
  /** `p̄(1) - p̄(2)` (small = uncertain). */
  margin: number;
  /** Class most rows vote for (ties: lowest index). */
  modalClass: number;
  /** Argmax of the mean row (ties: lowest index). */
  predicted: number;
  /** `p̄(2) / p̄(1)` (large = uncertain). */
  ratio: number;
  /** `1 - votes(modal) / T`. */
  variationRatio: number;
}

/** The image-level summary (definitions in the module docs). */
export interface MultiLabelSummary {
  /** `Σ_j` BALD, when `T > 1`. */
  bald?: number | null;
  /** `Σ_j H(p̄_j)`. */
  entropy: number;
  /** `Σ_j` expected entropy, when `T > 1`. */
  expectedEntropy?: number | null;
  /** The finding with the smallest confidence (ties: the lower index). */
  leastConfident: number;
  /** `max_j` BALD, when `T > 1`. */
  maxBald?: number | null;
  /** Its confidence, `min_j confidence_j`. */
  minConfidence: number;
  /** `1 - Π_j confidence_j`. */
  pAnyWrong: number;
  /** Findings decided present, in finding order. */
  present: number[];
}

/** Request for [`multi_uncertainty`]. */
export interface MultiUncertaintyRequest {
  /** Also return the mean probabilities (`n x k`, default false). */
  includeMeanProbs?: boolean;
  /** Classes. */
  k: number;
  /** Items. */
  n: number;
  /** Row-major `n x t x k` probabilities. */
  probs: NumericArray;
  /** Stochastic rows per item. */
  t: number;
}

/** Response of [`multi_uncertainty`]. */
export interface MultiUncertaintyResponse {
  /** One entry per item, in input order. */
  items: MultiItem[];
  /** Mean probabilities, row-major `n x k`, when asked for. */
  meanProbs?: number[] | null;
}

/** How the `k` findings of an image are combined. */
export type Multiplicity =
  | /** One threshold on the image's least confident finding, tested on "some finding wrong" (default). */ "joint"
  | /** One threshold per finding at `(alpha / k, delta / k)`, marginal risk. */ "bonferroni";

/** The next item to annotate. */
export interface NextItem {
  /** Index within that set. */
  index: number;
  /** Its id. */
  item: string;
  /** Its score. */
  score: number;
  /** `"labeled"` or `"unlabeled"`. */
  set: string;
}

/** An image that most needs another read. */
export interface NextRead {
  /** Image index. */
  index: number;
  /** Image id. */
  item: string;
  /** Reads so far. */
  reads: number;
  /** `1 - Π_j max(q_j, 1 - q_j)`. */
  score: number;
  /** Findings with `min(q, 1 - q) > uncertainThreshold`, most uncertain first. */
  uncertainFindings: string[];
}

/** One node of the plan, per run. */
export interface NodeTime {
  /** Milliseconds per run. */
  ms: number;
  /** The node's name in the optimized graph (derived from the ONNX node names). */
  name: string;
  /** Its operator's name. */
  op: string;
}

/** The fitted noise process (returned in a round plan as `noiseModel`). */
export interface NoiseModel {
  /**
   * Confidence cut points (`bins - 1`, ascending): bin `b` holds confidences in
   * `[edges[b-1], edges[b])`.
   */
  edges: number[];
  /** `bins x k`: `1 - P(given c | true c, bin b)`, the flip rate of class `c` in bin `b`. */
  flipRates: number[];
  /** EM iterations run. */
  iterations: number;
  /** Classes. */
  k: number;
  /** Items with true class and given label known. */
  known: number;
  /** Unreviewed items whose true class was latent. */
  latent: number;
  /** `bins x k x k` row-major: `transition[(b * k + c) * k + g] = P(given g | true c, bin b)`. */
  transition: number[];
}

/** Settings of the noise model (`options.noiseModel` of a round). */
export interface NoiseModelConfig {
  /** Confidence bins (1-20, default 3). */
  bins?: number;
  /**
   * Use the noise-model posterior for the review order and budgets (default true); false
   * ranks by the calibrated self-confidence `1 - p[given]`.
   */
  enabled?: boolean;
  /** Most EM iterations (1-500, default 30). */
  iterations?: number;
  /** Pseudo-counts of the shrinkage (> 0, default 20). */
  priorStrength?: number;
}

/** Options of [`num_label_issues_request`]. */
export interface NumIssuesOptions {
  /** Counting method (default off-diagonal). */
  estimationMethod?: EstimationMethod;
}

/** Request of [`num_label_issues_request`]. */
export interface NumIssuesRequest {
  /** Classes. */
  k: number;
  /** Given labels. */
  labels: NumericArray;
  /** Rows. */
  n: number;
  /** Options. */
  options?: NumIssuesOptions;
  /** Row-major predicted probabilities, `n x k`. */
  predProbs: NumericArray;
}

/** Response of [`num_label_issues_request`]. */
export interface NumIssuesResponse {
  /** Estimated number of label issues. */
  numLabelIssues: number;
}

/** The score computed from probabilities. */
export type OodMethod =
  | /** `1 - normalized entropy` (default). */ "entropy"
  | /** Largest (adjusted) probability. */ "leastConfidence"
  | /** Generalized entropy (GEN). */ "gen";

/** Options of [`ood_pred_probs`] (cleanlab's `OutOfDistribution` params). */
export interface OodProbsOptions {
  /**
   * Adjust by the per-class confident thresholds (default true; needs labels or
   * `confidentThresholds`).
   */
  adjustPredProbs?: boolean;
  /** Precomputed thresholds (one per class). */
  confidentThresholds?: NumericArray | null;
  /** GEN: exponent (default 0.1). */
  gamma?: number;
  /** GEN: number of top probabilities (default 100, capped at k). */
  m?: number;
  /** Score (default entropy). */
  method?: OodMethod;
}

/** Request of [`ood_pred_probs_request`]. */
export interface OodProbsRequest {
  /** Classes. */
  k: number;
  /** Given labels (needed to fit the thresholds when adjusting). */
  labels?: NumericArray | null;
  /** Rows. */
  n: number;
  /** Options. */
  options?: OodProbsOptions;
  /** Row-major probabilities, `n x k`. */
  predProbs: NumericArray;
}

/** Outlier scores: one per row, in `[0, 1]`, low = outlier. */
export interface OodProbsResponse {
  /** Thresholds used for the adjustment (reuse them to score new data). */
  confidentThresholds?: number[] | null;
  /** Scores (low = more likely out of distribution). */
  scores: number[];
}

/** Where one inference spends its time. */
export interface OpProfile {
  /**
   * Sum of the per-node times, per run (the rest of `run_ms` is the plan's own work:
   * inputs, outputs, freeing intermediate values).
   */
  nodesMs: number;
  /** Operator kinds, slowest first. */
  ops: OpTime[];
  /** Wall time of a whole run (clock to clock), per run. */
  runMs: number;
  /** Timed runs. */
  runs: number;
  /** The slowest nodes, slowest first. */
  slowest: NodeTime[];
}

/**
 * Time per operator kind (tract's name for the optimized operator, e.g. `OptMatMul`,
 * `DepthWise`, `Im2col`), per run.
 */
export interface OpTime {
  /** Milliseconds per run, summed over those nodes. */
  ms: number;
  /** Nodes of this kind the plan runs. */
  nodes: number;
  /** The operator's name. */
  op: string;
  /** Fraction of the timed total. */
  share: number;
}

/** Outlier settings. */
export interface OutlierConfig {
  /**
   * Quantile of the verified items' outlier scores below which a pool item is an outlier
   * (default 0.01).
   */
  quantile?: number;
  /** A fixed threshold instead (used when set, or when the verified set has no scores). */
  threshold?: number | null;
}

/**
 * Whether the model's output rows are logits (softmax is applied), probabilities, or
 * independent per-finding scores (multi-label).
 */
export type OutputKind =
  | /** Unnormalized scores; probabilities = softmax(logits). */ "logits"
  | /** Already probabilities; each row is checked to sum to 1 (within 1e-3). */ "probabilities"
  | /** Multi-label findings: one independent probability per finding (`classes` names the findings), rows need not sum to anything; `activation` says whether the outputs are logits (a sigmoid is applied) or already probabilities. */ "multiLabel";

/** The output side of the manifest. */
export interface OutputSpec {
  /**
   * For `kind: "multiLabel"` (required there, refused elsewhere): `sigmoid` when the
   * outputs are logits, `none` when they are probabilities already.
   */
  activation?: Activation | null;
  /** Class names, in output order; their count must equal the output width. */
  classes: string[];
  /** Name of an ONNX output (e.g. the penultimate layer) to return as an embedding. */
  embedding?: string | null;
  /** Logits or probabilities. */
  kind: OutputKind;
  /** Name of the ONNX output holding the class scores; defaults to the first output. */
  name?: string | null;
}

/** The output side of the manifest. */
export interface OutputSpecOut {
  /**
   * For `kind: "multiLabel"` (required there, refused elsewhere): `sigmoid` when the
   * outputs are logits, `none` when they are probabilities already.
   */
  activation?: Activation | null;
  /** Class names, in output order; their count must equal the output width. */
  classes: string[];
  /** Name of an ONNX output (e.g. the penultimate layer) to return as an embedding. */
  embedding: string | null;
  /** Logits or probabilities. */
  kind: OutputKind;
  /** Name of the ONNX output holding the class scores; defaults to the first output. */
  name: string | null;
}

/** p-value of one threshold. */
export type PValue =
  | /** Exact binomial tail (default). */ "binomial"
  | /** Hoeffding-Bentkus. */ "hoeffdingBentkus";

/** Statistics of one annotator pair. */
export interface PairAgreement {
  /** First annotator (index order, `a < b`). */
  annotatorA: string;
  /** Second annotator. */
  annotatorB: string;
  /** Cohen's kappa (null below `minOverlap` or when undefined). */
  cohenKappa: number | null;
  /** Share of shared items with the same label (null below `minOverlap`). */
  observedAgreement: number | null;
  /** Items both labeled. */
  overlap: number;
}

/** One selected item and why. */
export interface Pick {
  /** `rankedBatch`: the weight `alpha` at this pick. */
  alpha?: number | null;
  /** Predicted class, when classes are known. */
  class?: number | null;
  /**
   * Distance to the nearest labelled-or-already-selected item when picked (absent when
   * that set was empty); BADGE: gradient-space distance to the nearest centre.
   */
  distance?: number | null;
  /** `badge`: `|g_i|`. */
  gradientNorm?: number | null;
  /** Item index. */
  index: number;
  /**
   * The value the strategy maximised at this pick: the score (`topK`), the ranked-batch
   * combination, the distance to the nearest centre (`kCenterGreedy`), the sampling
   * probability (`badge`; 1 for the first centre).
   */
  objective: number;
  /** Position in the batch (0 = first pick). */
  rank: number;
  /** The item's score. */
  score: number;
  /** `rankedBatch`: `1 / (1 + distance)`. */
  similarity?: number | null;
  /** Class stratum the pick was made in (with a class budget). */
  stratum?: number | null;
}

/** Request for [`pick_session`]. */
export interface PickRequest {
  /** Candidates. */
  candidates: Candidate[];
  /** Classes. */
  k: number;
  /** Weight of the model's opinion, in votes (default 1). */
  modelWeight?: number;
  /** Items to pick (default 20). */
  size?: number;
}

/** Response of [`pick_session`]. */
export interface PickResponse {
  /** Most informative first. */
  items: Picked[];
}

/** One picked item. */
export interface Picked {
  /** Entropy of the pooled votes. */
  disagreement: number;
  /** Item index. */
  index: number;
}

/** Planning options. */
export interface PlanOptions {
  /** Items per batch (default 500). */
  batchSize?: number;
  /** Per-class budget proportional to expected errors left (default true). */
  classBudget?: boolean;
  /** Floor per class under `classBudget` (default 0). */
  minPerClass?: number;
  /**
   * The label-noise model behind the review order and the per-class budgets
   * ([`super::noise_model`]; default on).
   */
  noiseModel?: NoiseModelConfig;
  /** Seed of the audit draws (default 0). */
  seed?: number;
  /**
   * Pick the batch with a diversity strategy over the review candidates, scored by their
   * priority (default: none, the highest priorities).
   */
  selection?: Selection | null;
  /** Stopping rule. */
  stopping?: StoppingRule;
}

/** The whole policy (one JSON object; unknown fields rejected at every level). */
export interface PolicyConfig {
  /** Risk-controlled auto-accept. */
  autoAccept?: AutoAcceptConfig;
  /** Conformal sets. */
  conformal?: ConformalConfig;
  /** Expert triggers. */
  expert?: ExpertConfig;
  /** Confident learning on given labels. */
  labelIssues?: LabelIssueConfig;
  /** Outliers. */
  outliers?: OutlierConfig;
  /** Temperature scaling. */
  temperature?: TemperatureConfig;
}

/** Where the pool stands. */
export interface PoolEstimate {
  /** Auto-accepted now. */
  autoAccepted: number;
  /** Probability that the certificate fails (sum over audits). */
  certifiedDelta?: number | null;
  /** Certified upper bound on the pool's error rate from the latest audit. */
  certifiedErrorRate?: number | null;
  /** `expectedErrors / n`. */
  expectedErrorRate: number;
  /** Expected wrong labels left (model estimate, corrected per class; failed count as wrong). */
  expectedErrors: number;
  /** Failed items (unreviewed, no usable probabilities). */
  failed: number;
  /** Pool size. */
  n: number;
  /** Reviewed so far. */
  reviewed: number;
  /** Unreviewed. */
  unreviewed: number;
}

/** The pool: items to triage. */
export interface PoolSet {
  /**
   * Annotator agreement in `[0, 1]` per item (NaN: no annotations), e.g. CROWDLAB's
   * consensus quality or the share of annotators agreeing with the consensus.
   */
  agreement?: NumericArray | null;
  /**
   * Index of a verified item this one nearly duplicates (`-1`: none), e.g. from
   * `nearDuplicates` run on pool and verified embeddings together.
   */
  duplicateOfVerified?: NumericArray | null;
  /** Items that failed upstream (decoding, scoring): tier `failed`. */
  failed?: NumericArray;
  /** The labels the items came with (`-1`: none). */
  givenLabels?: NumericArray | null;
  /** Items. */
  n: number;
  /** Outlier scores (lower = more unusual), e.g. from `outlierScores`. */
  outlierScores?: NumericArray | null;
  /** Row-major `n x k` probabilities (uncalibrated). Rows of failed items may hold anything. */
  predProbs: NumericArray;
}

/** The arithmetic of the resize. */
export type Precision =
  | /** PIL on 8-bit images: fixed-point weights, rounding to 0-255 after each pass. */ "uint8"
  | /** PIL on float images (and torchvision tensors, `antialias=True`): no rounding. */ "float";

/** Family-wise error control over the grid. */
export type Procedure =
  | /** Fixed sequence from the highest threshold down (default). */ "fixedSequence"
  | /** Bonferroni. */ "bonferroni"
  | /** Holm step-down. */ "holm";

/** What to profile. */
export interface ProfileOptions {
  /** Timed runs after one untimed warm-up run (default 5, 1 to 1000). */
  runs?: number;
  /** How many of the slowest nodes to list (default 10). */
  topNodes?: number;
}

/** One pseudo-label. */
export interface PseudoLabel {
  /** Class name. */
  class: string;
  /** Item id. */
  id: string;
  /** Pool index. */
  index: number;
  /** Class index. */
  label: number;
  /** Tier it came from. */
  tier: Tier;
  /** Training weight. */
  weight: number;
}

/** Options of [`pseudo_labels`]. */
export interface PseudoLabelOptions {
  /** Only rows with calibrated confidence at least this (default 0). */
  minConfidence?: number;
  /** Tiers to export (default: auto-accept only). */
  tiers?: Tier[];
  /** Weight column. */
  weight?: Weight;
}

/** Pseudo-labels with their CSV rendering. */
export interface PseudoLabels {
  /** `id,label,class,weight,tier` with a header. */
  csv: string;
  /** Rows, in pool order. */
  rows: PseudoLabel[];
}

/** How [`estimate_latent`] estimates the prior of true labels (cleanlab's `py_method`). */
export type PyMethod =
  | /** `diag(p(y|s)) / diag(p(s|y)) * p(s)` (default). */ "cnt"
  | /** Solve `p(s|y) p(y) = p(s)`. */ "eqn"
  | /** Column totals of the confident joint, normalized. */ "marginal"
  | /** `p(y|s) p(s)`. */ "marginalPs";

/** Options of [`label_quality_scores`]. */
export interface QualityOptions {
  /**
   * Subtract the per-class thresholds from the probabilities (then shift by the largest
   * threshold and renormalize) before scoring. Not with confidence-weighted entropy.
   */
  adjustPredProbs?: boolean;
  /** Score method (default self-confidence). */
  method?: ScoreMethod;
}

/** Request of [`label_quality_scores`]. */
export interface QualityScoresRequest {
  /** Classes. */
  k: number;
  /** Given labels. */
  labels: NumericArray;
  /** Rows. */
  n: number;
  /** Options. */
  options?: QualityOptions;
  /** Row-major predicted probabilities, `n x k`. */
  predProbs: NumericArray;
}

/** Response of [`quality_scores_request`]. */
export interface QualityScoresResponse {
  /** One score per row in `[0, 1]`; low = likely mislabelled. */
  scores: number[];
}

/** A review queue: item ids, most uncertain first, and the ids that failed. */
export interface Queue {
  /** Ids of failed items (never ranked). */
  failed: string[];
  /** Ids of scored items, most uncertain first (ties: input order). */
  order: string[];
  /** The uncertainty value of each, oriented larger = more uncertain. */
  values: number[];
}

/** One annotation read back. */
export interface ReadAnnotation {
  /** The annotator (Label Studio user id or e-mail, as the export gives it). */
  annotator: string;
  /** Pool index. */
  index: number;
  /** The class chosen. */
  label: number;
  /** Label Studio's task id (when the export has it). */
  task?: number | null;
}

/** Options of [`read_label_studio_ml`]. */
export interface ReadLabelStudioMlOptions {
  /** Consensus over several annotators, per finding (default majority). */
  consensus?: ConsensusMethod;
  /** Name of the findings `Choices` control (default `"choice"`). */
  fromName?: string;
  /** The "no finding" choice (default `"No finding"`). */
  noFinding?: string;
}

/** Request of [`read_label_studio_ml`]. */
export interface ReadLabelStudioMlRequest {
  /** What Label Studio returned (JSON, JSON-MIN, or the API's tasks). */
  export: unknown;
  /** Finding names in index order (the manifest's `output.classes`). */
  findings: string[];
  /** The ids the tasks were exported with (checks `medtriage_id`). */
  ids?: string[] | null;
  /** Pool size (default `ids.len()`). */
  n?: number | null;
  /** Options. */
  options?: ReadLabelStudioMlOptions;
}

/** Options of [`read_label_studio`]. */
export interface ReadLabelStudioOptions {
  /** Consensus over several annotators (default `majority`). */
  consensus?: ConsensusMethod;
  /** Name of the class `Choices` control (default `"choice"`). */
  fromName?: string;
}

/** Request of [`read_label_studio`]. */
export interface ReadLabelStudioRequest {
  /** Class names in class-index order (the manifest's). */
  classes: string[];
  /** What Label Studio returned: the JSON or JSON-MIN export, or the API's tasks. */
  export: unknown;
  /** The ids the tasks were exported with, one per pool index (checks `medtriage_id`). */
  ids?: string[] | null;
  /** Pool size (checks the indices; default: `ids.len()` when given). */
  n?: number | null;
  /** Options. */
  options?: ReadLabelStudioOptions;
}

/** A task whose annotators tied. */
export interface ReadTie {
  /** The tied classes (the first one was chosen). */
  candidates: number[];
  /** Pool index. */
  index: number;
}

/** Why an item is where it is. */
export interface Reason {
  /** The comparison that held (`"<"`, `">="`, `"!="`, …). */
  comparison?: string | null;
  /** A sentence for the reviewer. */
  message: string;
  /** The signal. */
  signal: Signal;
  /** The threshold it was compared with. */
  threshold?: number | null;
  /** Its value for this item. */
  value?: number | null;
}

/** One bin of the reliability diagram. */
export interface ReliabilityBin {
  /** Accuracy in the bin (`null` when empty). */
  accuracy: number | null;
  /** Items whose confidence falls in the bin. */
  count: number;
  /** Lower edge (inclusive). */
  lower: number;
  /** Mean confidence in the bin (`null` when empty). */
  meanConfidence: number | null;
  /** Upper edge (exclusive, except the last bin). */
  upper: number;
}

/** How an image is brought to the model's input size. */
export type Resize =
  | {
    mode: "stretch";
  }
  | {
    mode: "shorterSideCrop";
    /** Target length of the shorter side before cropping. */
    shorterSide?: number | null;
  }
  | {
    /** `bilinear` (default) or `bicubic`. */
    filter?: Filter;
    mode: "pil";
    /** `uint8` (default) or `float`. */
    precision?: Precision;
    /**
     * Shorter side before the centre crop; absent: resize to exactly width x height.
     * Must be at least max(width, height).
     */
    shorterSide?: number | null;
  };

/** How an image is brought to the model's input size. */
export type ResizeOut =
  | {
    mode: "stretch";
  }
  | {
    mode: "shorterSideCrop";
    /** Target length of the shorter side before cropping. */
    shorterSide: number | null;
  }
  | {
    /** `bilinear` (default) or `bicubic`. */
    filter: Filter;
    mode: "pil";
    /** `uint8` (default) or `float`. */
    precision: Precision;
    /**
     * Shorter side before the centre crop; absent: resize to exactly width x height.
     * Must be at least max(width, height).
     */
    shorterSide: number | null;
  };

/** One review outcome. */
export interface ReviewOutcome {
  /** Pool index. */
  index: number;
  /** The label the reviewer confirmed or gave. */
  label: number;
}

/** An item's reviews so far. */
export interface ReviewedItem {
  /** In the expert tier. */
  expert?: boolean;
  /** Pool index (echoed). */
  index: number;
  /** Calibrated model probabilities (`k` values), the prior; none: uniform. */
  probs?: number[] | null;
  /** Reviews, oldest first (at least one). */
  reviews: ItemReview[];
}

/** Settings shared by the reviewer functions. */
export interface ReviewerOptions {
  /** In-control error rate of the drift alarm (default 0.05). */
  acceptableErrorRate?: number;
  /**
   * The alarm's false-alarm rate: at most one per `1/alarmAlpha` decisions on average while
   * in control (default 0.001).
   */
  alarmAlpha?: number;
  /** Error rate the alarm is to catch (default 0.15). */
  alarmErrorRate?: number;
  /** Level of the intervals is `1 - alpha` (default 0.05). */
  alpha?: number;
  /** Reviews an expert-tier item gets (default 2). */
  expertReviews?: number;
  /** Most reviews per item (default 3). */
  maxReviews?: number;
  /**
   * A reviewer whose Clopper-Pearson lower bound on a class's accuracy is below this is weak
   * on it (default 0.85).
   */
  minClassAccuracy?: number;
  /**
   * A model this confident (calibrated) that disagrees with a single review calls a second
   * reviewer (default 0.9).
   */
  modelConfidence?: number;
  /**
   * Pseudo-counts pulling a reviewer's per-class confusion towards their overall accuracy
   * (default 5).
   */
  smoothing?: number;
}

/** Response of [`reviewer_report`]. */
export interface ReviewerReport {
  /** One per reviewer, in order of first appearance. */
  reviewers: ReviewerStats[];
}

/** Request for [`reviewer_report`]. */
export interface ReviewerReportRequest {
  /** Scored decisions, oldest first. */
  decisions: ScoredDecision[];
  /** Classes. */
  k: number;
  /** Options. */
  options?: ReviewerOptions;
}

/** One reviewer's report. */
export interface ReviewerStats {
  /** `k x k` row-major counts: `confusion[true * k + given]`. */
  confusion: number[];
  /** The drift alarm. */
  drift: Drift;
  /** Overall accuracy. */
  overall: Accuracy;
  /** Per true class. */
  perClass: Accuracy[];
  /** Reviewer id. */
  reviewer: string;
  /** Classes whose lower accuracy bound is below `minClassAccuracy` (weak classes). */
  weakClasses: number[];
}

/** Which risk is controlled. */
export type RiskMode =
  | /** `P(accepted and wrong)`. */ "marginal"
  | /** `P(wrong | accepted)` (default). */ "conditional";

/** The plan of the next round. */
export interface RoundPlan {
  /** An audit to run instead of a batch. */
  audit?: AuditPlan | null;
  /**
   * Pool indices to review next, in order (empty when an audit is asked for or when
   * stopping).
   */
  batch: number[];
  /** Pool estimate. */
  estimate: PoolEstimate;
  /** The fitted label-noise model (when enabled and the pool came with labels). */
  noiseModel?: NoiseModel | null;
  /** Per-class estimates and budgets. */
  perClass: ClassEstimate[];
  /** Stop: the target is certified (or nothing is left to review). */
  stop: boolean;
  /** Why (or why not) stop. */
  stopReason: string;
  /** The triage of the unreviewed items (indices are pool indices). */
  tiers: TierResponseOut;
}

/** Request for [`plan_round`]. */
export interface RoundRequest {
  /** Audits so far, oldest first. */
  audits?: AuditRecord[];
  /** Embedding dimension. */
  d?: number | null;
  /** Pool embeddings, `n x d` row-major (for `options.selection`). */
  embeddings?: NumericArray | null;
  /** Classes. */
  k: number;
  /** Planning options. */
  options?: PlanOptions;
  /** The policy. */
  policy?: PolicyConfig;
  /** The whole pool (reviewed items included; they are skipped). */
  pool: PoolSet;
  /** Review outcomes so far (batches and audits). */
  reviewed?: ReviewOutcome[];
  /** The verified set before any round. */
  verified: VerifiedSet;
  /**
   * Verified items' embeddings, `verified.n x d` (the initial labelled set of the
   * diversity strategies; reviewed pool items join it).
   */
  verifiedEmbeddings?: NumericArray | null;
}

/** What the `scores` of a [`TemperatureRequest`] are. */
export type ScoreKind =
  | /** Unnormalized logits (default). */ "logits"
  | /** Probabilities (rows summing to 1); logits are taken as `ln p`. */ "probabilities";

/** A label-quality score (cleanlab's `rank` methods). Low = likely mislabelled. */
export type ScoreMethod =
  | /** `p[i][s_i]` (default). */ "selfConfidence"
  | /** `(p[i][s_i] - max_{j != s_i} p[i][j] + 1) / 2`. */ "normalizedMargin"
  | /** `ln(h/sc + 1) / max(h/sc, 1e-6)` with `h` the entropy over `ln k` and `sc` the self-confidence clipped below at 1e-6. */ "confidenceWeightedEntropy";

/** Options for scoring (one struct for the JS API and the CLI). */
export interface ScoreOptions {
  /** Return the embedding when the manifest names one (default false). */
  embedding?: boolean;
  /** Return the `T` probability rows of each image as `samples` (default false). */
  includeSamples?: boolean;
  /** Decoding limits. */
  limits?: ImageLimits;
  /** How many top classes to list (default 3, capped at the class count). */
  topK?: number;
}

/**
 * One decision of a reviewer whose truth is known (a gold item or an adjudicated one), in
 * the order they were made.
 */
export interface ScoredDecision {
  /** The label the reviewer gave. */
  label: number;
  /** Reviewer id. */
  reviewer: string;
  /** The true class. */
  truth: number;
}

/** Options of [`select_batch`]. */
export interface SelectOptions {
  /** Per-class split of the batch. */
  classBudget?: ClassBudget;
  /**
   * Per-class estimated error rates in `[0, 1]` (`1 - precision` from the verified set),
   * needed by `byEstimatedError`.
   */
  classErrorRates?: NumericArray | null;
  /** Cold start of `rankedBatch` without labelled embeddings. */
  coldStart?: ColdStart;
  /**
   * Distance on embeddings for `rankedBatch` and `kCenterGreedy` (default Euclidean;
   * BADGE is always Euclidean and rejects `cosine`).
   */
  metric?: Metric | null;
  /** Minimum picks per class (capped at the class's eligible items) when splitting. */
  minPerClass?: number;
  /** Seed of BADGE's sampling stream (default 0). */
  seed?: number;
  /** BADGE: return the sampling probabilities of each step. */
  trace?: boolean;
}

/** A batch-selection request (same struct for the JS API and the CLI). */
export interface SelectRequest {
  /** Items to select. */
  batchSize: number;
  /** Embedding dimension. */
  d?: number | null;
  /** Row-major embeddings, `n x d` (needed by every strategy but `topK`). */
  embeddings?: NumericArray | null;
  /** Classes (needed with `predProbs` or a class budget). */
  k?: number | null;
  /**
   * Embeddings of the already-labelled (verified) items, `m x d` row-major: the initial
   * labelled set of `rankedBatch`, the initial centres of `kCenterGreedy`.
   */
  labeledEmbeddings?: NumericArray | null;
  /** Options. */
  options?: SelectOptions;
  /** Row-major predicted probabilities, `n x k` (BADGE; classes for stratification). */
  predProbs?: NumericArray | null;
  /** Predicted class per item (stratification; default arg-max of `predProbs`). */
  predicted?: NumericArray | null;
  /** One score per item, higher = more informative; non-finite items are never selected. */
  scores: NumericArray;
  /** Strategy (default `topK`). */
  strategy?: Strategy;
}

/** The selection. */
export interface SelectResponse {
  /** Per-class allocation (with a class budget). */
  allocation?: ClassAllocation[] | null;
  /** Effective batch size (clipped to the eligible items). */
  batchSize: number;
  /** Metric used on embeddings (absent for `topK`). */
  metric?: Metric | null;
  /** Remarks (clipping, ignored inputs). */
  notes: string[];
  /** One entry per selected item, in pick order. */
  picks: Pick[];
  /** Batch size asked for. */
  requestedBatchSize: number;
  /** Selected item indices in pick order. */
  selected: number[];
  /** Items with a non-finite score (never selected), ascending. */
  skippedNonFinite: number[];
  /** Strategy used. */
  strategy: Strategy;
  /** BADGE with `trace`: per sampling step, the probability of each item (length n). */
  trace?: number[][] | null;
  /** Bytes of the working arrays the selection allocated (inputs excluded). */
  workingBytes: number;
}

/** A diverse-batch strategy for the round's batch ([`super::select`]). */
export interface Selection {
  /**
   * Its options (metric, seed, …). With the round's `classBudget`, the per-class counts
   * are the round's.
   */
  options?: SelectOptions;
  /** `topK`, `rankedBatch`, `kCenterGreedy` or `badge` (all but `topK` need `embeddings`). */
  strategy: Strategy;
}

/** One item's consensus. */
export interface SessionItem {
  /** Plurality label (ties to the lower class). */
  consensus: number;
  /** Item index. */
  index: number;
  /** Labels given. */
  labels: number;
  /** Its share of the labels. */
  share: number;
}

/** One label of the session. */
export interface SessionLabel {
  /** Item index. */
  index: number;
  /** Label. */
  label: number;
  /** Reviewer id. */
  reviewer: string;
}

/** Response of [`session_report`]. */
export interface SessionReport {
  /** Items Fleiss' kappa was computed on. */
  fleissItems: number;
  /**
   * Fleiss' kappa over the items every reviewer labelled (none when undefined or fewer
   * than 2 reviewers).
   */
  fleissKappa: number | null;
  /** Per item, by index. */
  items: SessionItem[];
  /** Krippendorff's alpha (nominal) over every item. */
  krippendorffAlpha: number | null;
  /** Per reviewer, in order of first appearance. */
  reviewers: SessionReviewer[];
}

/** Request for [`session_report`]. */
export interface SessionRequest {
  /** Classes. */
  k: number;
  /** Every label given in the session (one per reviewer and item). */
  labels: SessionLabel[];
}

/** One reviewer in the session. */
export interface SessionReviewer {
  /** Share of `compared` items agreeing with the others' consensus (NaN-free: 0 when none). */
  agreement: number;
  /** Items where at least one other reviewer labelled too. */
  compared: number;
  /** Deviations from the others' consensus. */
  deviations: Deviation[];
  /** Deviations counted by the consensus class (`k` values). */
  deviationsByClass: number[];
  /** Items labelled. */
  labelled: number;
  /** Reviewer id. */
  reviewer: string;
}

/** Which signal a reason is about. */
export type Signal =
  | /** Calibrated confidence (max probability). */ "confidence"
  | /** Prediction vs the label the item came with. */ "labelAgreement"
  | /** Confident learning flagged the given label. */ "labelIssue"
  | /** Conformal set size. */ "conformalSetSize"
  | /** Outlier score. */ "outlierScore"
  | /** Annotator agreement. */ "annotatorAgreement"
  | /** Near-duplicate of a verified item with another label. */ "duplicateConflict"
  | /** No certified auto-accept threshold. */ "autoAcceptUnavailable"
  | /** Invalid probabilities or upstream failure. */ "failure";

/** One finding's starting point. */
export interface SimFinding {
  /** Starting accuracy of the given labels. */
  accuracy: number;
  /** Wrong labels allowed at the target. */
  allowed: number;
  /** Name. */
  name: string;
  /** Images where the truth has it. */
  truthPositives: number;
  /** Given labels wrong at the start. */
  wrong: number;
}

/** Reviews needed by one ordering. */
export interface SimOrder {
  /** `reviews / images`. */
  fraction: number;
  /** Ordering. */
  name: string;
  /** Reviews to reach the target (mean for random). */
  reviews: number;
  /** `reviews / oracle reviews`. */
  vsOracle: number;
}

/** Options of [`simulate_reviews`]. */
export interface SimulateOptions {
  /** Standard deviation of the logit noise of the model-like probabilities (default 1). */
  noise?: number;
  /** Random orders averaged (default 5). */
  randomRepeats?: number;
  /** Seed of the noise and of the random orders (default 0). */
  seed?: number;
  /** Per-finding accuracy target in `(0, 1]` (default 0.99). */
  target?: number;
}

/** Request of [`simulate_reviews`]. */
export interface SimulateRequest {
  /** Finding names. */
  findings?: string[] | null;
  /** Number of findings when names are not given. */
  numFindings?: number | null;
  /** Options. */
  options?: SimulateOptions;
  /** Reads (image, reader, findings); images need at least three. */
  reads: MlRead[];
}

/** Result of [`simulate_reviews`]. */
export interface SimulateResponse {
  /** Per finding. */
  findings: SimFinding[];
  /** Images simulated. */
  images: number;
  /** Images with at least one wrong given finding. */
  imagesWithErrors: number;
  /** Mean per-finding accuracy of the model's decisions (`p >= 0.5`) against the truth. */
  modelAccuracy: number;
  /** Mean per-finding ECE of the model-like probabilities against the truth (15 bins). */
  modelMeanEce: number;
  /** `max_j (wrong_j - allowed_j)`: no order can do with fewer reviews. */
  oracleLowerBound: number;
  /** Orders, oracle first. */
  orders: SimOrder[];
  /** Target. */
  target: number;
}

/** One slot of a mixed batch. */
export interface Slot {
  /** A gold item: score the answer against the truth, never use it as a label. */
  gold: boolean;
  /** Pool index, or verified index when `gold`. */
  index: number;
}

/** Stopping rule settings. */
export interface StoppingRule {
  /**
   * With `auditWhen: "rate"` (and for fixed-size audits), ask for an audit once the
   * estimated rate is below `auditAt x target` (default 0.5: a sequential audit that finds
   * the rate too high gives up after 3 wrong labels, so an early one costs little).
   */
  auditAt?: number;
  /**
   * The audit is sized to certify the target if the observed error rate is up to this
   * multiple of the estimate (default 2; fixed-size audits).
   */
  auditMargin?: number;
  /** Items per step of a sequential audit (default 25). */
  auditStep?: number;
  /** When a sequential audit starts (default `cost`; fixed-size audits always use `rate`). */
  auditWhen?: AuditWhen;
  /** Total failure probability of the certificate (default 0.05). */
  delta?: number;
  /**
   * Share of `delta` the first audit is tested at (default 0.8, in (0, 1)); audit `j >= 2`
   * is tested at `(1 - share) delta / 2^(j-1)`, so all audits together spend at most
   * `delta` (0.5 gives `delta / 2^j`). A first audit timed by `cost` rarely fails, so most
   * of `delta` goes to it: fewer draws to certify.
   */
  firstAuditShare?: number;
  /** Largest audit (default 3000). */
  maxAudit?: number;
  /**
   * Audit sequentially (default true): `auditStep` items at a time, read by an
   * anytime-valid betting confidence sequence ([`super::audit`]), stopping as soon as the
   * target is certified; false draws one audit sized in advance (Clopper-Pearson).
   */
  sequential?: boolean;
  /** Stop when the pool's error rate is certified below this (default 0.01). */
  targetErrorRate?: number;
}

/** The selection rule. */
export type Strategy =
  | /** Highest scores (default). */ "topK"
  | /** Ranked batch (Cardoso et al. 2017, modAL): uncertainty balanced against similarity. */ "rankedBatch"
  | /** Core-set k-center greedy (Sener & Savarese 2018). */ "kCenterGreedy"
  | /** BADGE (Ash et al. 2020): k-means++ seeding on gradient embeddings. */ "badge";

/** Options of [`tiers_csv`] (none yet; unknown fields rejected). */
export type TableOptions = Record<string, never>;

/** Temperature scaling settings. */
export interface TemperatureConfig {
  /** Fit `T` on the verified set (default true); false uses `value`. */
  fit?: boolean;
  /** Search range when fitting. */
  range?: TemperatureOptions;
  /** The temperature when not fitted (default 1 = probabilities as given). */
  value?: number;
}

/** Search range for the temperature. */
export interface TemperatureOptions {
  /** Largest `T` (default 20). */
  maxTemperature?: number;
  /** Smallest `T` (default 0.05). */
  minTemperature?: number;
}

/** Fit a temperature on a labeled set. */
export interface TemperatureRequest {
  /** Classes. */
  k: number;
  /** Logits (default) or probabilities. */
  kind?: ScoreKind;
  /** True labels, `n` of them, each `< k`. */
  labels: NumericArray;
  /** Items. */
  n: number;
  /** Search range for `T`. */
  options?: TemperatureOptions;
  /** Row-major `n x k` logits or probabilities. */
  scores: NumericArray;
}

/** The fitted temperature. */
export interface TemperatureResponse {
  /** The optimum is at an end of the search range. */
  atBoundary: boolean;
  /** Mean NLL at the fitted `T`. */
  nllAfter: number;
  /** Mean NLL at `T = 1`. */
  nllBefore: number;
  /** `T`: calibrated probabilities are `softmax(logits / T)`. */
  temperature: number;
}

/** One tested threshold. */
export interface ThresholdTest {
  /** Verified items with confidence `>= lambda`. */
  accepted: number;
  /** Rejected (certified). */
  certified: boolean;
  /** Wrong among them. */
  errors: number;
  /** The threshold. */
  lambda: number;
  /** p-value. */
  pValue: number;
}

/** A tied item and the classes that share the top vote count. */
export interface Tie {
  /** Tied class indices, ascending (the first one was chosen). */
  candidates: number[];
  /** Item index. */
  index: number;
  /** Item id. */
  item: string;
}

/** Tiers, in priority order. */
export type Tier =
  | /** No usable probabilities. */ "failed"
  | /** Unlike the verified data. */ "outlier"
  | /** The label it came with is likely wrong. */ "suspectedLabelError"
  | /** Hard case: an expert should look. */ "expertReview"
  | /** Safe to skip, with the stated error bound. */ "autoAccept"
  | /** A quick look suffices. */ "lightReview";

/** Items per tier. */
export interface TierCounts {
  /** Auto-accepted. */
  autoAccept: number;
  /** Expert review. */
  expertReview: number;
  /** Failed. */
  failed: number;
  /** Light review. */
  lightReview: number;
  /** Outliers. */
  outlier: number;
  /** Suspected label errors. */
  suspectedLabelError: number;
}

/** Request for [`tier_items`]. */
export interface TierRequest {
  /** Classes. */
  k: number;
  /** The policy. */
  policy?: PolicyConfig;
  /** Items to triage. */
  pool: PoolSet;
  /** Verified items. */
  verified: VerifiedSet;
}

/** Response of [`tier_items`]. */
export interface TierResponse {
  /** Items per tier. */
  counts: TierCounts;
  /** Fitted parameters. */
  fitted: Fitted;
  /** One entry per pool item, in input order. */
  items: TieredItem[];
  /** Items to review, highest priority first (every tier but auto-accept; failed last). */
  order: NumericArray;
}

/** Response of [`tier_items`]. */
export interface TierResponseOut {
  /** Items per tier. */
  counts: TierCounts;
  /** Fitted parameters. */
  fitted: FittedOut;
  /** One entry per pool item, in input order. */
  items: TieredItem[];
  /** Items to review, highest priority first (every tier but auto-accept; failed last). */
  order: number[];
}

/** One triaged item. */
export interface TieredItem {
  /** Calibrated max probability. */
  confidence?: number | null;
  /** Conformal set (when computed). */
  conformalSet?: number[] | null;
  /** The label the item came with. */
  givenLabel?: number | null;
  /** Pool index. */
  index: number;
  /** The label the item ends with if nobody reviews it (given label, else prediction). */
  label?: number | null;
  /** Calibrated arg-max class (absent when failed). */
  predicted?: number | null;
  /** Probability that the current label is wrong (review priority). */
  priority?: number | null;
  /** Every signal that fired (for auto-accepted items: the ones that certify it). */
  reasons: Reason[];
  /** Its tier. */
  tier: Tier;
}

/** One of the top classes. */
export interface TopClass {
  /** Class index in the model's output. */
  index: number;
  /** Class name from the manifest. */
  name: string;
  /** Probability. */
  probability: number;
}

/**
 * A test-time augmentation applied to the preprocessed input tensor (definitions in the
 * module docs).
 */
export type Transform =
  | {
    op: "identity";
  }
  | {
    op: "hflip";
  }
  | {
    op: "vflip";
  }
  | {
    /** Pixels to the right (negative: left). */
    dx: number;
    /** Pixels down (negative: up). */
    dy: number;
    /** What fills the uncovered pixels (default black). */
    fill?: Fill;
    op: "shift";
  }
  | {
    /** Quarter turns, 1 to 3 (default 1). */
    k?: number;
    op: "rot90";
  };

/**
 * A test-time augmentation applied to the preprocessed input tensor (definitions in the
 * module docs).
 */
export type TransformOut =
  | {
    op: "identity";
  }
  | {
    op: "hflip";
  }
  | {
    op: "vflip";
  }
  | {
    /** Pixels to the right (negative: left). */
    dx: number;
    /** Pixels down (negative: up). */
    dy: number;
    /** What fills the uncovered pixels (default black). */
    fill: Fill;
    op: "shift";
  }
  | {
    /** Quarter turns, 1 to 3 (default 1). */
    k: number;
    op: "rot90";
  };

/** The verified set: items whose true label is known. */
export interface VerifiedSet {
  /**
   * The labels the items came with before verification (`-1`: none), for certifying the
   * agreement rule.
   */
  givenLabels?: NumericArray | null;
  /** True labels. */
  labels: NumericArray;
  /** Items. */
  n: number;
  /** Outlier scores (lower = more unusual), for the outlier threshold. */
  outlierScores?: NumericArray | null;
  /** Row-major `n x k` probabilities (uncalibrated: the policy fits the temperature). */
  predProbs: NumericArray;
}

/** The VOI LUT function of a fixed window (PS3.3 C.11.2.1.2 / C.11.2.1.3). */
export type VoiFunction =
  | /** `LINEAR`: `((x - (c - 0.5)) / (w - 1) + 0.5)` clipped to `[0, 1]`; needs `w >= 1`. */ "linear"
  | /** `LINEAR_EXACT`: `((x - c) / w + 0.5)` clipped to `[0, 1]`; needs `w > 0`. */ "linearExact"
  | /** `SIGMOID`: `1 / (1 + exp(-4 (x - c) / w))`; needs `w > 0`. */ "sigmoid";

/** Pseudo-label weight. */
export type Weight =
  | /** The calibrated confidence (default). */ "confidence"
  | /** `1 - priority`: the probability that the exported label is right. */ "labelProbability"
  | /** 1 for every row. */ "one";

/** How modality values (after rescale / Modality LUT) become `[0, 1]` for grayscale images. */
export type Window =
  | {
    /** The explanation of the window to use (e.g. `"LUNG"`). */
    explanation?: string | null;
    /** When the file has no window (default: min-max). */
    fallback?: WindowFallback;
    /** 0-based index of the window / VOI LUT. */
    index?: number | null;
    mode: "file";
  }
  | {
    /** Window center. */
    center: number;
    /** VOI LUT function (default linear). */
    function?: VoiFunction;
    mode: "fixed";
    /** Window width. */
    width: number;
  }
  | {
    mode: "minMax";
  };

/** What to do when the file is asked for its window but has none. */
export type WindowFallback =
  | /** Use the frame's min-max (default). */ "minMax"
  | /** Fail the item with `invalid_input`. */ "error";

/** How modality values (after rescale / Modality LUT) become `[0, 1]` for grayscale images. */
export type WindowOut =
  | {
    /** The explanation of the window to use (e.g. `"LUNG"`). */
    explanation: string | null;
    /** When the file has no window (default: min-max). */
    fallback: WindowFallback;
    /** 0-based index of the window / VOI LUT. */
    index: number | null;
    mode: "file";
  }
  | {
    /** Window center. */
    center: number;
    /** VOI LUT function (default linear). */
    function: VoiFunction;
    mode: "fixed";
    /** Window width. */
    width: number;
  }
  | {
    mode: "minMax";
  };
