//! JS bindings for multi-label findings: label quality (cleanlab multilabel), calibration,
//! conformal sets and certified auto-accept per finding, consensus of multi-label reads, the
//! review simulation, and the multi-label queue (tiers, rounds, exports, Label Studio).
//! One request object in, one response object out (see `engine::multilabel`,
//! `engine::queue::ml_*`).

use wasm_bindgen::prelude::*;

use super::from_js;
use crate::engine::multilabel::{calibration as cal, consensus, label_issues as li, simulate};
use crate::engine::queue::{export, ml_export, ml_policy, ml_rounds};

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
    "MlProbabilities",
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
    "MlAutoAcceptRuleOut",
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
    "MlTierResponseOut",
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
    "MlExportRequest<MlPseudoLabelOptions>",
    "MlPseudoLabels",
    ml_export::MlExportRequest<ml_export::MlPseudoLabelOptions>,
    ml_export::pseudo_labels_ml,
    "Multi-label pseudo-labels with a weight per finding, rows and CSV."
);
bind!(
    "exportLabelStudioMultiLabel",
    export_label_studio_multi_label,
    "MlExportRequest<LabelStudioOptions>",
    "unknown[]",
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
