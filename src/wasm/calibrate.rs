//! JS bindings for multi-row uncertainty, calibration, conformal sets and auto-accept.
//! Each function takes one request object (the engine's serde struct, unknown fields
//! rejected) and returns the engine's response; engine errors become JS errors with a
//! `code`. Big arrays are flat, row-major `number[]` / `Float64Array` with `n` and `k` fields.

use wasm_bindgen::prelude::*;

use super::from_js;
use crate::engine::triage::calibration::{
    self, ApplyTemperatureRequest, CalibrationReportRequest, TemperatureRequest,
};
use crate::engine::triage::conformal::{self, ConformalCalibrateRequest, ConformalSetsRequest};
use crate::engine::triage::multi::{self, MultiUncertaintyRequest};
use crate::engine::triage::risk::{self, AutoAcceptRequest};

bind!(
    "multiUncertainty",
    multi_uncertainty,
    "MultiUncertaintyRequest",
    "MultiUncertaintyResponse",
    MultiUncertaintyRequest,
    multi::multi_uncertainty,
    "Uncertainty over `t` stochastic rows per item (mean-probability measures, BALD, ...)."
);

bind!(
    "fitTemperature",
    fit_temperature,
    "TemperatureRequest",
    "TemperatureResponse",
    TemperatureRequest,
    calibration::fit_temperature,
    "Fit a temperature (probabilities = softmax(logits / T)) by minimizing the NLL."
);

bind!(
    "applyTemperature",
    apply_temperature,
    "ApplyTemperatureRequest",
    "number[]",
    ApplyTemperatureRequest,
    calibration::apply_temperature_request,
    "Apply a temperature: returns the n x k calibrated probabilities (flat, row-major)."
);
bind!(
    "calibrationReport",
    calibration_report,
    "CalibrationReportRequest",
    "CalibrationReport",
    CalibrationReportRequest,
    calibration::calibration_report,
    "NLL, Brier, ECE, MCE and reliability-diagram bins."
);

bind!(
    "conformalCalibrate",
    conformal_calibrate,
    "ConformalCalibrateRequest",
    "ConformalCalibrationOut",
    ConformalCalibrateRequest,
    conformal::conformal_calibrate,
    "Calibrate split-conformal thresholds; pass the result to `conformalSets`."
);

bind!(
    "conformalSets",
    conformal_sets,
    "ConformalSetsRequest",
    "ConformalSetsResponse",
    ConformalSetsRequest,
    conformal::conformal_sets,
    "Conformal prediction sets for new items (coverage report when labels are given)."
);

bind!(
    "autoAcceptThreshold",
    auto_accept_threshold,
    "AutoAcceptRequest",
    "AutoAcceptResponse",
    AutoAcceptRequest,
    risk::auto_accept_threshold,
    "Risk-controlled auto-accept threshold (Learn-then-Test)."
);
