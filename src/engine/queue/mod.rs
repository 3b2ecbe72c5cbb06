//! The review queue: batch selection, tiered verification with reasons,
//! progressive rounds with a stopping rule, and exports (pseudo-labels, Label Studio); the
//! same for multi-label images (`ml_policy`, `ml_rounds`, `ml_export`).

pub mod audit;
pub mod calibration_session;
pub mod export;
pub mod labelstudio;
pub mod ml_export;
pub mod ml_policy;
pub mod ml_rounds;
pub mod noise_model;
pub mod policy;
pub mod reviewers;
pub mod rounds;
pub mod select;
