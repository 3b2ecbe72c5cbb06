//! JS bindings for multi-row uncertainty, calibration, conformal sets and auto-accept.
//! Each function takes one request object (the engine's serde struct, unknown fields
//! rejected) and returns the engine's response; engine errors become JS errors with a
//! `code`. Big arrays are flat, row-major `number[]` / `Float64Array` with `n` and `k` fields.

use wasm_bindgen::prelude::*;

use super::{from_js, js_error, to_js};
use crate::engine::triage::calibration::{
    self, ApplyTemperatureRequest, CalibrationReportRequest, TemperatureRequest,
};
use crate::engine::triage::conformal::{self, ConformalCalibrateRequest, ConformalSetsRequest};
use crate::engine::triage::multi::{self, MultiUncertaintyRequest};
use crate::engine::triage::risk::{self, AutoAcceptRequest};

/// Uncertainty over `t` stochastic rows per item (mean-probability measures, BALD, ...).
#[wasm_bindgen(js_name = multiUncertainty, unchecked_return_type = "MultiUncertaintyResponse")]
pub fn multi_uncertainty(
    #[wasm_bindgen(unchecked_param_type = "MultiUncertaintyRequest")] request: JsValue,
) -> Result<JsValue, JsValue> {
    let req: MultiUncertaintyRequest = from_js(request, "multiUncertainty request")?;
    to_js(&multi::multi_uncertainty(&req).map_err(|e| js_error(&e))?)
}

/// Fit a temperature (probabilities = softmax(logits / T)) by minimizing the NLL.
#[wasm_bindgen(js_name = fitTemperature, unchecked_return_type = "TemperatureResponse")]
pub fn fit_temperature(
    #[wasm_bindgen(unchecked_param_type = "TemperatureRequest")] request: JsValue,
) -> Result<JsValue, JsValue> {
    let req: TemperatureRequest = from_js(request, "fitTemperature request")?;
    to_js(&calibration::fit_temperature(&req).map_err(|e| js_error(&e))?)
}

/// Apply a temperature: returns the n x k calibrated probabilities (flat, row-major).
#[wasm_bindgen(js_name = applyTemperature, unchecked_return_type = "number[]")]
pub fn apply_temperature(
    #[wasm_bindgen(unchecked_param_type = "ApplyTemperatureRequest")] request: JsValue,
) -> Result<JsValue, JsValue> {
    let r: ApplyTemperatureRequest = from_js(request, "applyTemperature request")?;
    let p = calibration::apply_temperature(&r.scores, r.n, r.k, r.kind, r.temperature)
        .map_err(|e| js_error(&e))?;
    to_js(&p)
}

/// NLL, Brier, ECE, MCE and reliability-diagram bins.
#[wasm_bindgen(js_name = calibrationReport, unchecked_return_type = "CalibrationReport")]
pub fn calibration_report(
    #[wasm_bindgen(unchecked_param_type = "CalibrationReportRequest")] request: JsValue,
) -> Result<JsValue, JsValue> {
    let req: CalibrationReportRequest = from_js(request, "calibrationReport request")?;
    to_js(&calibration::calibration_report(&req).map_err(|e| js_error(&e))?)
}

/// Calibrate split-conformal thresholds; pass the result to `conformalSets`.
#[wasm_bindgen(js_name = conformalCalibrate, unchecked_return_type = "ConformalCalibrationOut")]
pub fn conformal_calibrate(
    #[wasm_bindgen(unchecked_param_type = "ConformalCalibrateRequest")] request: JsValue,
) -> Result<JsValue, JsValue> {
    let req: ConformalCalibrateRequest = from_js(request, "conformalCalibrate request")?;
    to_js(&conformal::conformal_calibrate(&req).map_err(|e| js_error(&e))?)
}

/// Conformal prediction sets for new items (coverage report when labels are given).
#[wasm_bindgen(js_name = conformalSets, unchecked_return_type = "ConformalSetsResponse")]
pub fn conformal_sets(
    #[wasm_bindgen(unchecked_param_type = "ConformalSetsRequest")] request: JsValue,
) -> Result<JsValue, JsValue> {
    let req: ConformalSetsRequest = from_js(request, "conformalSets request")?;
    to_js(&conformal::conformal_sets(&req).map_err(|e| js_error(&e))?)
}

/// Risk-controlled auto-accept threshold (Learn-then-Test).
#[wasm_bindgen(js_name = autoAcceptThreshold, unchecked_return_type = "AutoAcceptResponse")]
pub fn auto_accept_threshold(
    #[wasm_bindgen(unchecked_param_type = "AutoAcceptRequest")] request: JsValue,
) -> Result<JsValue, JsValue> {
    let req: AutoAcceptRequest = from_js(request, "autoAcceptThreshold request")?;
    to_js(&risk::auto_accept_threshold(&req).map_err(|e| js_error(&e))?)
}
