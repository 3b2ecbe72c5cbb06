//! JS bindings for the triage maths: label issues (confident learning), label
//! quality scores, outliers, near-duplicates, per-class analysis. Each function takes one
//! request object (the engine's request struct) and returns the engine's response.

use wasm_bindgen::prelude::*;

use super::{from_js, js_error, to_js};
use crate::engine::triage::{analysis, label_issues as li, outliers};

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
    "NumIssuesRequest",
    "NumIssuesResponse",
    li::NumIssuesRequest,
    li::num_label_issues_request,
    "Estimated number of label issues (cleanlab `num_label_issues`)."
);
bind!(
    "nearDuplicates",
    near_duplicates,
    "DuplicatesRequest",
    "DuplicatesResponse",
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
