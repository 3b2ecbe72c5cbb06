//! JS bindings for reviewers who make mistakes: gold mixing, accuracy and drift, routing and
//! combination, calibration sessions.

use wasm_bindgen::prelude::*;

use super::from_js;
use crate::engine::queue::{calibration_session, reviewers};

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
