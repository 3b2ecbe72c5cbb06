//! JS bindings for multi-label findings: label quality (cleanlab multilabel), calibration,
//! conformal sets and certified auto-accept per finding, consensus of multi-label reads, the
//! review simulation, and the multi-label queue (tiers, rounds, exports, Label Studio).
//! One request object in, one response object out (see `engine::multilabel`,
//! `engine::queue::ml_*`).

use wasm_bindgen::prelude::*;

use super::{from_js, js_error, to_js};
use crate::engine::multilabel::{calibration as cal, consensus, label_issues as li, simulate};
use crate::engine::queue::{export, ml_export, ml_policy, ml_rounds};

#[wasm_bindgen(typescript_custom_section)]
const TS_MULTILABEL: &'static str = r#"
/** Given findings per image: lists of finding indices (`[]` = no finding). */
export type FindingLists = number[][];
export interface MlLabeledProbs {
  /** n x k row-major, each in [0, 1] (rows need not sum to 1). */
  predProbs: number[] | Float64Array; n: number; k: number; labels: FindingLists;
}
export type MlAggregator = { method: "exponentialMovingAverage"; alpha?: number | null } | { method: "softmin"; temperature?: number };
export interface MlQualityOptions { method?: ScoreMethod; adjustPredProbs?: boolean; aggregator?: MlAggregator; }
export interface MlQualityRequest extends MlLabeledProbs { options?: MlQualityOptions; }
export interface MlQualityResponse { scores: number[]; perFinding: number[]; findingMean: number[]; }
export interface MlFindOptions {
  filterBy?: FilterBy; fracNoise?: number; minExamplesPerClass?: number; numToRemovePerClass?: number[];
  /** k x 2 x 2 counts (finding, given, true). */
  confidentJoint?: number[]; returnIndicesRankedBy?: ScoreMethod; rankByAdjustPredProbs?: boolean;
}
export interface MlFindRequest extends MlLabeledProbs { options?: MlFindOptions; }
export interface MlLabelIssues {
  isLabelIssue: boolean[]; numIssues: number; rankedIndices?: number[];
  /** n x k row-major flags (empty for the whole-image modes). */
  perFinding: boolean[];
  findingSummary: { finding: number; inGivenLabel: number; notInGivenLabel: number; labelNoise: number;
                    inverseLabelNoise: number; labelQualityScore: number }[];
  skippedFindings: number[]; healthScore: number;
}
export interface MlConfidentJointResponse { confidentJoint: number[]; }

export interface MlCalibrateRequest {
  /** n x k logits (default) or probabilities. */
  scores: number[] | Float64Array; n: number; k: number; kind?: ScoreKind; labels: FindingLists;
  options?: { method?: "temperature" | "platt"; bins?: number; temperature?: { minTemperature?: number; maxTemperature?: number } };
}
export interface FindingMap { slope: number; intercept: number; }
export interface FindingMetrics { positives: number; nll: number; brier: number; ece: number; mce: number; accuracy: number; }
export interface MlCalibration {
  method: "temperature" | "platt"; maps: FindingMap[];
  findings: { finding: number; map: FindingMap; temperature?: number; atBoundary: boolean; before: FindingMetrics; after: FindingMetrics }[];
}
export interface MlApplyCalibrationRequest { scores: number[] | Float64Array; n: number; k: number; kind?: ScoreKind; maps: FindingMap[]; }
export interface MlCalibrationReportRequest { probs: number[] | Float64Array; n: number; k: number; labels: FindingLists; bins?: number; }
export interface MlCalibrationReport { findings: FindingMetrics[]; meanEce: number; exactMatch: number; }
export interface MlConformalRequest {
  probs: number[] | Float64Array; n: number; k: number; labels: FindingLists;
  /** Image-level miscoverage. */
  alpha: number;
  /** alpha / k per finding (default true). */
  bonferroni?: boolean; classConditional?: boolean;
}
export interface MlConformal { alpha: number; findingAlpha: number; thresholds: number[][]; }
export interface MlConformalSetsRequest { calibration: MlConformal; probs: number[] | Float64Array; n: number; k: number; labels?: FindingLists; }
export interface MlConformalSets {
  images: { present: number[]; undecided: number[]; empty: number[] }[];
  fullyDecided: number; imageCoverage?: number; findingCoverage?: number[];
}
export interface MlAutoAcceptOptions {
  gridSize?: number;
  /** joint (default): one threshold on the least confident finding, P(some finding wrong | accepted) <= alpha;
   *  bonferroni: a threshold per finding at (alpha/k, delta/k), marginal risk. */
  multiplicity?: "joint" | "bonferroni";
  mode?: RiskMode; pValue?: "binomial" | "hoeffdingBentkus"; procedure?: "fixedSequence" | "bonferroni" | "holm";
}
export interface MlAutoAcceptRequest { probs: number[] | Float64Array; n: number; k: number; labels: FindingLists; alpha: number; delta: number; options?: MlAutoAcceptOptions; }
export interface MlAutoAcceptRule {
  thresholds: number[]; multiplicity: "joint" | "bonferroni"; mode: RiskMode; alpha: number; delta: number;
  accepted: number; acceptedFraction: number; errors: number; guarantee: string;
}
export interface MlApplyAutoAcceptRequest { rule: MlAutoAcceptRule; probs: number[] | Float64Array; n: number; k: number; labels?: FindingLists; }
export interface MlAutoAcceptDecision { accepted: boolean[]; numAccepted: number; errors?: number; errorAmongAccepted?: number; errorMarginal?: number; }

/** One multi-label read: `annotator` read `item` and listed `findings` (indices or names). */
export interface MlRead { item: string; annotator: string; findings: (number | string)[]; }
export interface MlConsensusRequest {
  reads: MlRead[]; findings?: string[]; numFindings?: number; items?: string[]; annotators?: string[];
  options?: { dawidSkene?: DawidSkeneOptions; minOverlap?: number; top?: number; uncertainThreshold?: number };
}
export interface MlConsensusResponse {
  items: string[]; annotators: string[]; findings: string[]; numReads: number[];
  majority: FindingLists; majorityFraction: number[]; dawidSkene: FindingLists; posteriors: number[];
  perFinding: { finding: number; name: string; positiveReads: number; majorityPositives: number; majorityTies: number;
                dawidSkenePositives: number; prevalence: number; fleissKappa: number | null;
                [more: string]: unknown }[];
  nextReads: { index: number; item: string; score: number; reads: number; uncertainFindings: string[] }[];
}
export interface SimulateRequest {
  reads: MlRead[]; findings?: string[]; numFindings?: number;
  options?: { target?: number; noise?: number; seed?: number; randomRepeats?: number };
}
export interface SimulateResponse {
  images: number; imagesWithErrors: number; target: number;
  findings: { name: string; truthPositives: number; wrong: number; allowed: number; accuracy: number }[];
  orders: { name: string; reviews: number; fraction: number; vsOracle: number }[];
  oracleLowerBound: number; modelMeanEce: number; fleissKappa: number | null; krippendorffAlpha: number | null;
  observedAgreement: number | null; sensitivity: number[]; specificity: number[]; iterations: number; converged: boolean;
}

/** Multi-label verified images: true findings known. `null` in givenLabels: came without findings. */
export interface MlVerifiedSet {
  predProbs: number[] | Float64Array; n: number; labels: FindingLists;
  givenLabels?: (number[] | null)[]; outlierScores?: number[] | Float64Array;
}
export interface MlPoolSet {
  predProbs: number[] | Float64Array; n: number; givenLabels?: (number[] | null)[];
  outlierScores?: number[] | Float64Array; agreement?: number[] | Float64Array; failed?: number[];
}
export interface MlPolicyConfig {
  calibration?: { enabled?: boolean; options?: MlCalibrateRequest["options"] };
  autoAccept?: { enabled?: boolean; alpha?: number; delta?: number; requireLabelAgreement?: boolean; options?: MlAutoAcceptOptions };
  conformal?: { enabled?: boolean; alpha?: number; bonferroni?: boolean };
  labelIssues?: { enabled?: boolean; options?: MlFindOptions };
  /** maxConfidence (default 0.6): a finding less confident sends the image to an expert. */
  expert?: { maxConfidence?: number; minAgreement?: number };
  outliers?: { quantile?: number; threshold?: number };
}
export interface MlTierRequest { k: number; findings?: string[]; verified: MlVerifiedSet; pool: MlPoolSet; policy?: MlPolicyConfig; }
export interface MlReason {
  signal: Signal;
  /** The finding the reason is about (absent: the whole image). */
  finding?: number;
  value?: number; threshold?: number; comparison?: string;
  /** Names the finding. */
  message: string;
}
export interface MlTieredItem {
  index: number; tier: Tier;
  /** Calibrated per-finding probabilities. */
  probabilities?: number[];
  /** Findings decided present (p >= 0.5). */
  predicted?: number[];
  /** min_j max(p_j, 1 - p_j). */
  confidence?: number;
  givenLabels?: number[]; undecided?: number[];
  /** P(some current finding wrong). */
  priority?: number;
  /** Per finding: P(its current label is wrong). */
  findingPriority?: number[];
  /** The findings the image ends with unreviewed. */
  labels?: number[];
  reasons: MlReason[];
}
export interface MlTierResponse {
  findings: string[]; items: MlTieredItem[]; order: number[];
  counts: { autoAccept: number; lightReview: number; expertReview: number; suspectedLabelError: number; outlier: number; failed: number };
  fitted: { maps?: FindingMap[]; autoAccept?: MlAutoAcceptRule; autoAcceptRefused?: string; guarantee?: string;
            conformal?: MlConformal; outlierThreshold?: number; certifiedOn: number };
}
export interface MlReviewOutcome { index: number; findings: number[]; }
export interface MlRoundRequest {
  k: number; findings?: string[]; verified: MlVerifiedSet; pool: MlPoolSet;
  reviewed?: MlReviewOutcome[]; audits?: AuditRecord[]; policy?: MlPolicyConfig;
  /** Sequential audits only (stopping.sequential must stay true). */
  options?: { batchSize?: number; seed?: number; stopping?: PlanOptions["stopping"] };
}
export interface MlRoundPlan {
  batch: number[]; audit?: RoundPlan["audit"]; stop: boolean; stopReason: string;
  estimate: RoundPlan["estimate"];
  perFinding: { finding: number; name: string; expectedErrors: number; wrongFound: number }[];
  wrongImagesFound: number; tiers: MlTierResponse;
}
export interface MlExportRequest<O> { tiers: MlTierResponse; ids?: string[]; options?: O; }
export interface MlPseudoLabels {
  rows: { id: string; index: number; labels: number[]; findings: string[]; targets: number[]; weights: number[]; tier: Tier }[];
  /** id,labels,tier,<finding>...,weight_<finding>... */
  csv: string;
}
export interface ReadLabelStudioMlRequest {
  export: unknown; findings: string[]; ids?: string[]; n?: number;
  options?: { fromName?: string; consensus?: "majority" | "dawidSkene"; noFinding?: string };
}
export interface MlLabelStudioReviews {
  /** planRoundMultiLabel's `reviewed`. */
  reviewed: MlReviewOutcome[];
  annotations: { index: number; task?: number; annotator: string; findings: number[] }[];
  tasks: number; decided: number; annotationsRead: number; skipped: number; withoutChoice: number;
  superseded: number; multiAnnotatorTasks: number; disagreements: number;
  ties: { index: number; findings: number[] }[]; annotators: string[];
}
"#;

bind!(
    "multiLabelQualityScores",
    multi_label_quality_scores,
    "MlQualityRequest",
    "MlQualityResponse",
    li::MlQualityRequest,
    li::quality_scores_request,
    "Multi-label label quality per image and per finding (cleanlab multilabel get_label_quality_scores)."
);
bind!(
    "multiLabelLabelIssues",
    multi_label_label_issues,
    "MlFindRequest",
    "MlLabelIssues",
    li::MlFindRequest,
    li::find_label_issues_request,
    "Multi-label label issues (cleanlab multilabel find_label_issues), with the flagged findings."
);
bind!(
    "multiLabelConfidentJoint",
    multi_label_confident_joint,
    "MlLabeledProbs",
    "MlConfidentJointResponse",
    li::MlLabeledProbs,
    li::confident_joint_request,
    "The calibrated one-vs-rest confident joint, k x 2 x 2 (finding, given, true)."
);
bind!(
    "multiLabelCalibrate",
    multi_label_calibrate,
    "MlCalibrateRequest",
    "MlCalibration",
    cal::MlCalibrateRequest,
    cal::fit_calibration,
    "Fit a temperature (or Platt map) per finding, with each finding's metrics before and after."
);
bind!(
    "multiLabelApplyCalibration",
    multi_label_apply_calibration,
    "MlApplyCalibrationRequest",
    "{ probabilities: number[] }",
    cal::MlApplyCalibrationRequest,
    cal::apply_calibration,
    "Apply per-finding calibration maps."
);
bind!(
    "multiLabelCalibrationReport",
    multi_label_calibration_report,
    "MlCalibrationReportRequest",
    "MlCalibrationReport",
    cal::MlCalibrationReportRequest,
    cal::calibration_report,
    "Per-finding NLL, Brier, ECE, MCE and accuracy, and the exact-match rate."
);
bind!(
    "multiLabelConformal",
    multi_label_conformal,
    "MlConformalRequest",
    "MlConformal",
    cal::MlConformalRequest,
    cal::conformal_calibrate_ml,
    "Calibrate conformal sets per finding (Bonferroni across findings by default)."
);
bind!(
    "multiLabelConformalSets",
    multi_label_conformal_sets,
    "MlConformalSetsRequest",
    "MlConformalSets",
    cal::MlConformalSetsRequest,
    cal::conformal_sets_ml,
    "Conformal sets per finding: present, undecided, empty (with coverage when truths are given)."
);
bind!(
    "multiLabelAutoAccept",
    multi_label_auto_accept,
    "MlAutoAcceptRequest",
    "MlAutoAcceptRule",
    cal::MlAutoAcceptRequest,
    cal::auto_accept_ml,
    "Certify an image-level auto-accept rule by Learn-then-Test (joint or Bonferroni over findings)."
);
bind!(
    "multiLabelApplyAutoAccept",
    multi_label_apply_auto_accept,
    "MlApplyAutoAcceptRequest",
    "MlAutoAcceptDecision",
    cal::MlApplyAutoAcceptRequest,
    cal::apply_auto_accept,
    "Apply a certified rule (and, with truths, report the held-out error)."
);
bind!(
    "multiLabelConsensus",
    multi_label_consensus,
    "MlConsensusRequest",
    "MlConsensusResponse",
    consensus::MlConsensusRequest,
    consensus::ml_consensus,
    "Per-finding majority vote and Dawid-Skene, agreement per finding, images needing another read."
);
bind!(
    "multiLabelSimulate",
    multi_label_simulate,
    "SimulateRequest",
    "SimulateResponse",
    simulate::SimulateRequest,
    simulate::simulate_reviews,
    "Review simulation on multi-reader reads (one reader given, the others' consensus as truth)."
);
bind!(
    "tierItemsMultiLabel",
    tier_items_multi_label,
    "MlTierRequest",
    "MlTierResponse",
    ml_policy::MlTierRequest,
    ml_policy::tier_items_ml,
    "Put every multi-label pool image in a tier, with reasons naming the findings."
);
bind!(
    "planRoundMultiLabel",
    plan_round_multi_label,
    "MlRoundRequest",
    "MlRoundPlan",
    ml_rounds::MlRoundRequest,
    ml_rounds::plan_round_ml,
    "Plan the next multi-label review batch (or an audit step, or stop)."
);
bind!(
    "exportPseudoLabelsMultiLabel",
    export_pseudo_labels_multi_label,
    "MlExportRequest<PseudoLabelOptions>",
    "MlPseudoLabels",
    ml_export::MlExportRequest<ml_export::MlPseudoLabelOptions>,
    ml_export::pseudo_labels_ml,
    "Multi-label pseudo-labels with a weight per finding, rows and CSV."
);
bind!(
    "exportLabelStudioMultiLabel",
    export_label_studio_multi_label,
    "MlExportRequest<LabelStudioOptions>",
    "LabelStudioTasks",
    ml_export::MlExportRequest<export::LabelStudioOptions>,
    ml_export::label_studio_ml,
    "Label Studio tasks for a multiple-choice config: the prediction preselects the findings."
);
bind!(
    "readLabelStudioMultiLabel",
    read_label_studio_multi_label,
    "ReadLabelStudioMlRequest",
    "MlLabelStudioReviews",
    ml_export::ReadLabelStudioMlRequest,
    ml_export::read_label_studio_ml,
    "Label Studio multi-choice annotations back into per-finding review decisions."
);
