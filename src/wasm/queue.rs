//! JS bindings for the review queue: tiered verification, round planning, exports.

use wasm_bindgen::prelude::*;

use super::{from_js, js_error, to_js};
use crate::engine::queue::{export, labelstudio, policy, rounds};

#[wasm_bindgen(typescript_custom_section)]
const TS_QUEUE: &'static str = r#"
/** Items whose true label is known. `-1` in givenLabels: the item came without a label. */
export interface VerifiedSet {
  predProbs: number[] | Float64Array;
  n: number;
  labels: number[] | Int32Array;
  givenLabels?: number[] | Int32Array;
  outlierScores?: number[] | Float64Array;
}
/** Items to triage (probabilities uncalibrated; the policy calibrates). */
export interface PoolSet {
  predProbs: number[] | Float64Array;
  n: number;
  givenLabels?: number[] | Int32Array;
  /** Lower = more unusual (outlierScores' convention). */
  outlierScores?: number[] | Float64Array;
  /** Annotator agreement in [0, 1]; NaN: no annotations. */
  agreement?: number[] | Float64Array;
  /** Index of a verified near-duplicate, -1: none. */
  duplicateOfVerified?: number[] | Int32Array;
  /** Items that failed upstream (decode / score). */
  failed?: number[];
}
/** The tiered-verification policy: one JSON object, unknown fields rejected. */
export interface PolicyConfig {
  temperature?: { fit?: boolean; value?: number; range?: { minTemperature?: number; maxTemperature?: number } };
  autoAccept?: {
    enabled?: boolean; alpha?: number; delta?: number; requireLabelAgreement?: boolean;
    options?: AutoAcceptOptions;
  };
  conformal?: { enabled?: boolean; alpha?: number; expertSetSize?: number; options?: ConformalOptions };
  labelIssues?: { enabled?: boolean; options?: FindLabelIssuesOptions };
  expert?: { maxConfidence?: number; minAgreement?: number };
  outliers?: { quantile?: number; threshold?: number };
}
export type Tier = "failed" | "outlier" | "suspectedLabelError" | "expertReview" | "autoAccept" | "lightReview";
export type Signal = "confidence" | "labelAgreement" | "labelIssue" | "conformalSetSize" | "outlierScore"
  | "annotatorAgreement" | "duplicateConflict" | "autoAcceptUnavailable" | "failure";
export interface Reason { signal: Signal; value?: number; threshold?: number; comparison?: string; message: string; }
export interface TieredItem {
  index: number;
  tier: Tier;
  predicted?: number;
  confidence?: number;
  givenLabel?: number;
  conformalSet?: number[];
  /** Probability that the current label is wrong (review priority). */
  priority?: number;
  /** The label the item keeps if nobody reviews it. */
  label?: number;
  reasons: Reason[];
}
export interface TierResponse {
  items: TieredItem[];
  /** Items to review, highest priority first; failed last. */
  order: number[];
  counts: { autoAccept: number; lightReview: number; expertReview: number; suspectedLabelError: number; outlier: number; failed: number };
  fitted: {
    temperature: number;
    autoAccept?: AutoAcceptResponse;
    autoAcceptRefused?: string;
    guarantee?: string;
    conformalThresholds?: number[];
    outlierThreshold?: number;
    certifiedOn: number;
  };
}
export interface TierRequest { k: number; verified: VerifiedSet; pool: PoolSet; policy?: PolicyConfig; }
export interface ReviewOutcome { index: number; label: number; }
/** A fixed-size audit: sampled + wrong. A sequential one: indices (audited so far, in draw order). */
export interface AuditRecord { remainderSize: number; sampled?: number; wrong?: number; estimatedRate: number; indices?: number[]; }
export interface PlanOptions {
  batchSize?: number;
  classBudget?: boolean;
  minPerClass?: number;
  seed?: number;
  /** sequential (default true): anytime-valid audit in steps of auditStep (default 25). */
  stopping?: { targetErrorRate?: number; delta?: number; auditAt?: number; maxAudit?: number; auditMargin?: number;
               sequential?: boolean; auditStep?: number };
  /** The label-noise model P(given | true, confidence bin) behind the review order (default on). */
  noiseModel?: { enabled?: boolean; bins?: number; iterations?: number; priorStrength?: number };
  /** Diverse batches among the review candidates, scored by priority (needs `embeddings`). */
  selection?: { strategy: SelectStrategy; options?: SelectOptions };
}
export interface RoundRequest {
  k: number; verified: VerifiedSet; pool: PoolSet;
  reviewed?: ReviewOutcome[]; audits?: AuditRecord[];
  policy?: PolicyConfig; options?: PlanOptions;
  /** Pool embeddings, n x d row-major (for options.selection). */
  embeddings?: number[] | Float64Array; d?: number;
  /** Verified items' embeddings: the initial labelled set of the diversity strategies. */
  verifiedEmbeddings?: number[] | Float64Array;
}
export interface RoundPlan {
  batch: number[];
  /** number == audits.length: append indices to the last record's indices; else push a new record. */
  audit?: { indices: number[]; remainderSize: number; estimatedRate: number; delta: number;
            sequential: boolean; number: number;
            status?: { sampled: number; wrong: number; upperWrong: number; upperWrongLeft: number; delta: number } };
  stop: boolean;
  stopReason: string;
  estimate: {
    n: number; reviewed: number; unreviewed: number; failed: number; autoAccepted: number;
    expectedErrors: number; expectedErrorRate: number;
    certifiedErrorRate?: number; certifiedDelta?: number;
  };
  perClass: { class: number; unreviewed: number; expectedErrors: number; reviewed: number; wrongFound: number; budget: number }[];
  tiers: TierResponse;
  /** transition[(b * k + true) * k + given]; flipRates[b * k + class]. */
  noiseModel?: { k: number; edges: number[]; transition: number[]; flipRates: number[]; known: number; latent: number; iterations: number };
}
export interface ExportRequest<O> { tiers: TierResponse; ids?: string[]; classes?: string[]; options?: O; }
export interface PseudoLabelOptions { tiers?: Tier[]; minConfidence?: number; weight?: "confidence" | "labelProbability" | "one"; }
export interface PseudoLabels {
  rows: { id: string; index: number; label: number; class: string; weight: number; tier: Tier }[];
  /** id,label,class,weight,tier */
  csv: string;
}
export interface LabelStudioOptions {
  fromName?: string; toName?: string; dataKey?: string; urlPrefix?: string; modelVersion?: string;
  tierFromName?: string; reasonsFromName?: string; skipAutoAccepted?: boolean;
  /** Multi-label exports: the choice standing for "no finding" (default "No finding"). */
  noFinding?: string;
}
/**
 * Label Studio tasks (import as JSON). Prediction `score` = how sure medtriage is that the current
 * label is right, strictly increasing along the review order: sort by prediction score ascending, or
 * use "Uncertainty sampling", to review in our order. `data` carries medtriage_tier / _priority /
 * _rank / _index / _id / _reasons (class names in the reasons).
 */
export type LabelStudioTasks = { data: Record<string, unknown>; predictions: { model_version: string; score: number; result: unknown[] }[] }[];
export interface LabelConfigOptions {
  fromName?: string; toName?: string; dataKey?: string;
  tierFromName?: string | null; reasonsFromName?: string | null; hotkeys?: boolean; header?: boolean;
  /** Multi-label findings: choice="multiple" plus a `noFinding` choice (default "No finding"). */
  multiple?: boolean; noFinding?: string;
}
export interface LabelConfigRequest { classes: string[]; options?: LabelConfigOptions; }
export interface ReadLabelStudioOptions { fromName?: string; consensus?: "majority" | "dawidSkene"; }
export interface ReadLabelStudioRequest {
  /** Label Studio's JSON or JSON-MIN export, or the API's tasks ({tasks: [...]}, a list, or one task). */
  export: unknown;
  /** Class names in class-index order (the manifest's). */
  classes: string[];
  /** The ids the tasks were exported with (checks each task's medtriage_id). */
  ids?: string[];
  /** Pool size (checks the indices). */
  n?: number;
  options?: ReadLabelStudioOptions;
}
export interface LabelStudioReviews {
  /** One decision per decided task (consensus over annotators): planRound's `reviewed`. */
  reviewed: ReviewOutcome[];
  annotations: { index: number; task?: number; annotator: string; label: number }[];
  tasks: number; decided: number; annotationsRead: number; skipped: number; withoutChoice: number;
  superseded: number; multiAnnotatorTasks: number; disagreements: number;
  ties: { index: number; candidates: number[] }[];
  annotators: string[];
}
"#;

bind!(
    "labelStudioConfig",
    label_studio_config,
    "LabelConfigRequest",
    "string",
    labelstudio::LabelConfigRequest,
    labelstudio::label_config,
    "The Label Studio labeling config (XML) for the exported tasks, from the class names."
);
bind!(
    "readLabelStudio",
    read_label_studio,
    "ReadLabelStudioRequest",
    "LabelStudioReviews",
    labelstudio::ReadLabelStudioRequest,
    labelstudio::read_label_studio,
    "Label Studio annotations (JSON / JSON-MIN export or API tasks) back into review decisions."
);
bind!(
    "tierItems",
    tier_items,
    "TierRequest",
    "TierResponse",
    policy::TierRequest,
    policy::tier_items,
    "Fit the policy on the verified set and put every pool item in a tier, with its reasons."
);
bind!(
    "planRound",
    plan_round,
    "RoundRequest",
    "RoundPlan",
    rounds::RoundRequest,
    rounds::plan_round,
    "Plan the next review batch (or an audit, or stop) from the outcomes so far."
);
bind!(
    "exportPseudoLabels",
    export_pseudo_labels,
    "ExportRequest<PseudoLabelOptions>",
    "PseudoLabels",
    export::ExportRequest<export::PseudoLabelOptions>,
    export::pseudo_labels,
    "Pseudo-labels (auto-accepted items by default) with confidence weights, rows and CSV."
);
bind!(
    "exportLabelStudio",
    export_label_studio,
    "ExportRequest<LabelStudioOptions>",
    "LabelStudioTasks",
    export::ExportRequest<export::LabelStudioOptions>,
    export::label_studio,
    "Label Studio tasks with predictions: score rises along the review order (low = review first)."
);
bind!(
    "exportTiersCsv",
    export_tiers_csv,
    "ExportRequest<{}>",
    "string",
    export::ExportRequest<export::TableOptions>,
    export::tiers_csv,
    "The triage as CSV, in review order."
);
