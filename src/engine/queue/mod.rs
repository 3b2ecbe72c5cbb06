//! The review queue: batch selection, tiered verification with reasons,
//! progressive rounds with a stopping rule, and exports (pseudo-labels, Label Studio).

pub mod audit;
pub mod calibration_session;
pub mod export;
pub mod labelstudio;
pub mod noise_model;
pub mod policy;
pub mod reviewers;
pub mod rounds;
pub mod select;
