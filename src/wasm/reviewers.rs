//! JS bindings for reviewers who make mistakes: gold mixing, accuracy and drift, routing and
//! combination, calibration sessions.

use wasm_bindgen::prelude::*;

use super::{from_js, js_error, to_js};
use crate::engine::queue::{calibration_session, reviewers};

#[wasm_bindgen(typescript_custom_section)]
const TS_REVIEWERS: &'static str = r#"
/** Shared settings of the reviewer functions (unknown fields rejected). */
export interface ReviewerOptions {
  alpha?: number; acceptableErrorRate?: number; alarmErrorRate?: number; alarmAlpha?: number;
  minClassAccuracy?: number; modelConfidence?: number; expertReviews?: number; maxReviews?: number;
  smoothing?: number;
}
/** A decision whose truth is known (a gold item, or an adjudicated one), oldest first. */
export interface ScoredDecision { reviewer: string; truth: number; label: number; }
export interface ReviewerReportRequest { k: number; decisions: ScoredDecision[]; options?: ReviewerOptions; }
export interface Accuracy {
  n: number; correct: number; accuracy: number;
  clopperPearson: [number, number]; wilson: [number, number];
}
export interface ReviewerStats {
  reviewer: string; overall: Accuracy; perClass: Accuracy[];
  /** k x k, confusion[true * k + given]. */
  confusion: number[];
  weakClasses: number[];
  drift: { statistic: number; threshold: number; alarm: boolean; alarmsAt: number[]; guarantee: string };
}
export interface ReviewerReport { reviewers: ReviewerStats[]; }
export interface MixGoldRequest { batch: number[]; gold: number[]; seen?: number[]; goldShare?: number; seed?: number; }
export interface MixGoldResponse { slots: { index: number; gold: boolean }[]; goldAdded: number; goldLeft: number; }
export interface ReviewedItem {
  index: number; reviews: { reviewer: string; label: number }[];
  /** Calibrated model probabilities, the prior. */
  probs?: number[]; expert?: boolean;
}
export interface CombineRequest {
  k: number; decisions: ScoredDecision[]; reviewers?: string[]; items: ReviewedItem[]; options?: ReviewerOptions;
}
export interface CombineResponse {
  items: { index: number; label: number; confidence: number; needsReview: boolean; reasons: string[]; nextReviewer?: string }[];
  reviewers: ReviewerStats[];
}
export interface PickRequest {
  k: number; candidates: { index: number; reviews?: { reviewer: string; label: number }[]; probs?: number[] }[];
  size?: number; modelWeight?: number;
}
export interface PickResponse { items: { index: number; disagreement: number }[]; }
export interface SessionRequest { k: number; labels: { index: number; reviewer: string; label: number }[]; }
export interface SessionReport {
  fleissKappa?: number | null; fleissItems: number; krippendorffAlpha?: number | null;
  items: { index: number; consensus: number; share: number; labels: number }[];
  reviewers: { reviewer: string; labelled: number; compared: number; agreement: number;
               deviations: { index: number; label: number; consensus: number }[]; deviationsByClass: number[] }[];
}
"#;

bind!(
    "reviewerReport",
    reviewer_report,
    "ReviewerReportRequest",
    "ReviewerReport",
    reviewers::ReviewerReportRequest,
    reviewers::reviewer_report,
    "Per-reviewer accuracy (Clopper-Pearson and Wilson intervals), per-class confusion and the drift alarm."
);
bind!(
    "mixGold",
    mix_gold,
    "MixGoldRequest",
    "MixGoldResponse",
    reviewers::MixGoldRequest,
    reviewers::mix_gold,
    "Hide gold items in a reviewer's batch at random positions (seeded), never repeating one."
);
bind!(
    "combineReviews",
    combine_reviews,
    "CombineRequest",
    "CombineResponse",
    reviewers::CombineRequest,
    reviewers::combine_reviews,
    "Combine each item's reviews by the reviewers' measured accuracy and say who should review next."
);
bind!(
    "pickCalibrationItems",
    pick_calibration_items,
    "PickRequest",
    "PickResponse",
    calibration_session::PickRequest,
    calibration_session::pick_session,
    "The most disputed items (reviewers among themselves or against the model) for a calibration session."
);
bind!(
    "calibrationSession",
    calibration_session,
    "SessionRequest",
    "SessionReport",
    calibration_session::SessionRequest,
    calibration_session::session_report,
    "Agreement (Fleiss' kappa, Krippendorff's alpha) and each reviewer's deviations in a calibration session."
);
