//! JS bindings for the triage maths: label issues (confident learning), label
//! quality scores, outliers, near-duplicates, per-class analysis. Each function takes one
//! request object (the engine's request struct) and returns the engine's response.

use wasm_bindgen::prelude::*;

use super::{from_js, js_error, to_js};
use crate::engine::triage::{analysis, label_issues as li, outliers};

#[wasm_bindgen(typescript_custom_section)]
const TS_LABELS: &'static str = r#"
/** cleanlab's filter_by (snake_case names are accepted too). */
export type FilterBy = "pruneByNoiseRate" | "pruneByClass" | "both" | "confidentLearning"
  | "predictedNeqGiven" | "lowNormalizedMargin" | "lowSelfConfidence";
/** Label quality score (low = likely mislabelled). */
export type ScoreMethod = "selfConfidence" | "normalizedMargin" | "confidenceWeightedEntropy";
/** Probabilities (row-major n x k) with given labels. */
export interface LabeledProbs {
  predProbs: number[] | Float64Array;
  n: number;
  k: number;
  labels: number[] | Int32Array;
}
export interface FindLabelIssuesOptions {
  filterBy?: FilterBy;
  fracNoise?: number;
  numToRemovePerClass?: number[];
  minExamplesPerClass?: number;
  /** k x k counts, row-major (ignored by confidentLearning). */
  confidentJoint?: number[];
  returnIndicesRankedBy?: ScoreMethod;
  rankByAdjustPredProbs?: boolean;
}
export interface FindLabelIssuesRequest extends LabeledProbs { options?: FindLabelIssuesOptions; }
export interface LabelIssues { isLabelIssue: boolean[]; numIssues: number; rankedIndices?: number[]; }
export interface QualityScoresRequest extends LabeledProbs {
  options?: { method?: ScoreMethod; adjustPredProbs?: boolean };
}
export interface QualityScoresResponse { scores: number[]; }
export interface ConfidentJointRequest extends LabeledProbs {
  options?: {
    calibrate?: boolean;
    thresholds?: number[];
    pyMethod?: "cnt" | "eqn" | "marginal" | "marginalPs";
    convergeLatentEstimates?: boolean;
  };
}
export interface ConfidentJointResponse {
  thresholds: number[];
  confidentJoint: number[][];
  offDiagonalIndices: number[];
  joint: number[][];
  py: number[];
  noiseMatrix: number[][];
  inverseNoiseMatrix: number[][];
  labelCounts: number[];
}
export interface NumLabelIssuesRequest extends LabeledProbs {
  options?: { estimationMethod?: "offDiagonal" | "offDiagonalCalibrated" };
}
export interface NumLabelIssuesResponse { numLabelIssues: number; }
export interface OodProbsRequest {
  predProbs: number[] | Float64Array;
  n: number;
  k: number;
  labels?: number[];
  options?: {
    method?: "entropy" | "leastConfidence" | "gen";
    adjustPredProbs?: boolean;
    confidentThresholds?: number[];
    m?: number;
    gamma?: number;
  };
}
export interface OodProbsResponse { scores: number[]; confidentThresholds?: number[]; }
export interface Embeddings { embeddings: number[] | Float64Array; n: number; d: number; }
export interface KnnOutlierRequest extends Embeddings {
  options?: { k?: number; t?: number; metric?: "auto" | "cosine" | "euclidean" };
}
export interface KnnOutlierResponse {
  scores: number[];
  avgDistances: number[];
  scalingFactor: number;
  k: number;
  metric: "cosine" | "euclidean";
  /** n x k, nearest first. */
  neighbors: number[];
}
/** Either probabilities (entropy-based) or embeddings (kNN). */
export type OutlierScoresRequest = ({ predProbs: number[] | Float64Array } & OodProbsRequest) | KnnOutlierRequest;
export interface NearDuplicatesRequest extends Embeddings {
  options?: { threshold?: number; maxPairs?: number };
}
export interface NearDuplicatesResponse {
  pairs: { i: number; j: number; distance: number }[];
  groups: number[][];
  truncated: boolean;
}
export interface ClassReportRequest extends LabeledProbs { options?: { bins?: number }; }
export interface ClassStats {
  class: number; precision: number; recall: number; f1: number; support: number;
  predicted: number; calibrationError: number;
}
export interface ClassReport {
  confusionMatrix: number[][];
  perClass: ClassStats[];
  accuracy: number;
  macroPrecision: number;
  macroRecall: number;
  macroF1: number;
  weightedF1: number;
  ece: number;
  bins: number;
}
"#;

bind!(
    "findLabelIssues",
    find_label_issues,
    "FindLabelIssuesRequest",
    "LabelIssues",
    li::FindLabelIssuesRequest,
    li::find_label_issues_request,
    "Confident-learning label issues (cleanlab `find_label_issues`)."
);
bind!(
    "labelQualityScores",
    label_quality_scores,
    "QualityScoresRequest",
    "QualityScoresResponse",
    li::QualityScoresRequest,
    li::quality_scores_request,
    "Per-row label quality scores (cleanlab `get_label_quality_scores`)."
);
bind!(
    "confidentJoint",
    confident_joint,
    "ConfidentJointRequest",
    "ConfidentJointResponse",
    li::ConfidentJointRequest,
    li::confident_joint_request,
    "Confident joint, joint, prior and noise matrices."
);
bind!(
    "numLabelIssues",
    num_label_issues,
    "NumLabelIssuesRequest",
    "NumLabelIssuesResponse",
    li::NumIssuesRequest,
    li::num_label_issues_request,
    "Estimated number of label issues (cleanlab `num_label_issues`)."
);
bind!(
    "nearDuplicates",
    near_duplicates,
    "NearDuplicatesRequest",
    "NearDuplicatesResponse",
    outliers::DuplicatesRequest,
    outliers::near_duplicates_request,
    "Exact near-duplicate pairs by cosine distance."
);
bind!(
    "classReport",
    class_report,
    "ClassReportRequest",
    "ClassReport",
    analysis::ClassReportRequest,
    analysis::class_report_request,
    "Confusion matrix, per-class precision/recall/F1/support and calibration error."
);

/// Outlier scores: from `predProbs` (entropy-based, cleanlab `OutOfDistribution`) or from
/// `embeddings` (kNN distance).
#[wasm_bindgen(js_name = outlierScores, unchecked_return_type = "OodProbsResponse | KnnOutlierResponse")]
pub fn outlier_scores(
    #[wasm_bindgen(unchecked_param_type = "OutlierScoresRequest")] request: JsValue,
) -> Result<JsValue, JsValue> {
    let has_probs = js_sys::Reflect::has(&request, &"predProbs".into()).unwrap_or(false);
    if has_probs {
        let r: outliers::OodProbsRequest = from_js(request, "outlierScores")?;
        to_js(&outliers::ood_pred_probs_request(&r).map_err(|e| js_error(&e))?)
    } else {
        let r: outliers::KnnOutlierRequest = from_js(request, "outlierScores")?;
        to_js(&outliers::knn_outliers_request(&r).map_err(|e| js_error(&e))?)
    }
}
