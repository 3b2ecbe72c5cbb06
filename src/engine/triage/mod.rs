//! Triage maths on probabilities: uncertainty over stochastic rows, calibration,
//! conformal prediction, risk-controlled auto-accept, label-error detection, outliers,
//! per-class error analysis.

pub mod analysis;
pub mod calibration;
pub mod conformal;
pub mod label_issues;
pub mod multi;
pub mod outliers;
pub mod risk;
