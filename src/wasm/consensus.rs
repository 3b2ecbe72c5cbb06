//! JS bindings for annotation consensus: one request object in, one response
//! object out, the same shapes as the CLI's JSON (see `engine::consensus`).

use wasm_bindgen::prelude::*;

use super::{from_js, js_error, to_js};
use crate::engine::consensus::agreement::{self, AgreementOptions};
use crate::engine::consensus::crowdlab::{self, ActiveLabOptions, CrowdlabOptions};
use crate::engine::consensus::dawid_skene::{self, DawidSkeneOptions};
use crate::engine::consensus::majority::{self, MajorityOptions};
use crate::engine::consensus::ConsensusRequest;

/// Majority vote (crowd-kit MajorityVote; ties to the lowest class index, flagged).
#[wasm_bindgen(js_name = majorityVote, unchecked_return_type = "MajorityResponse")]
pub fn majority_vote(
    #[wasm_bindgen(unchecked_param_type = "ConsensusRequest<MajorityOptions>")] request: JsValue,
) -> Result<JsValue, JsValue> {
    let req: ConsensusRequest<MajorityOptions> = from_js(request, "majority vote request")?;
    to_js(&majority::majority_vote(&req).map_err(|e| js_error(&e))?)
}

/// Dawid-Skene EM (crowd-kit DawidSkene equations).
#[wasm_bindgen(js_name = dawidSkene, unchecked_return_type = "DawidSkeneResponse")]
pub fn dawid_skene(
    #[wasm_bindgen(unchecked_param_type = "ConsensusRequest<DawidSkeneOptions>")] request: JsValue,
) -> Result<JsValue, JsValue> {
    let req: ConsensusRequest<DawidSkeneOptions> = from_js(request, "Dawid-Skene request")?;
    to_js(&dawid_skene::dawid_skene(&req).map_err(|e| js_error(&e))?)
}

/// CROWDLAB consensus and quality scores (cleanlab get_label_quality_multiannotator).
#[wasm_bindgen(js_name = crowdlab, unchecked_return_type = "CrowdlabResponse")]
pub fn crowdlab_js(
    #[wasm_bindgen(unchecked_param_type = "ConsensusRequest<CrowdlabOptions>")] request: JsValue,
) -> Result<JsValue, JsValue> {
    let req: ConsensusRequest<CrowdlabOptions> = from_js(request, "CROWDLAB request")?;
    to_js(&crowdlab::crowdlab(&req).map_err(|e| js_error(&e))?)
}

/// ActiveLab scores for labeled and unlabeled items (cleanlab get_active_learning_scores).
#[wasm_bindgen(js_name = activeLabScores, unchecked_return_type = "ActiveLabResponse")]
pub fn active_lab_scores(
    #[wasm_bindgen(unchecked_param_type = "ConsensusRequest<ActiveLabOptions>")] request: JsValue,
) -> Result<JsValue, JsValue> {
    let req: ConsensusRequest<ActiveLabOptions> = from_js(request, "ActiveLab request")?;
    to_js(&crowdlab::active_lab(&req).map_err(|e| js_error(&e))?)
}

/// Agreement statistics: Cohen's kappa per pair, Fleiss' kappa, Krippendorff's alpha.
#[wasm_bindgen(js_name = agreement, unchecked_return_type = "AgreementResponse")]
pub fn agreement_js(
    #[wasm_bindgen(unchecked_param_type = "ConsensusRequest<AgreementOptions>")] request: JsValue,
) -> Result<JsValue, JsValue> {
    let req: ConsensusRequest<AgreementOptions> = from_js(request, "agreement request")?;
    to_js(&agreement::agreement(&req).map_err(|e| js_error(&e))?)
}
