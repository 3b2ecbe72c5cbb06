//! JS bindings for annotation consensus: one request object in, one response
//! object out, the same shapes as the CLI's JSON (see `engine::consensus`).

use wasm_bindgen::prelude::*;

use super::from_js;
use crate::engine::consensus::agreement::{self, AgreementOptions};
use crate::engine::consensus::crowdlab::{self, ActiveLabOptions, CrowdlabOptions};
use crate::engine::consensus::dawid_skene::{self, DawidSkeneOptions};
use crate::engine::consensus::majority::{self, MajorityOptions};
use crate::engine::consensus::ConsensusRequest;

bind!(
    "majorityVote",
    majority_vote,
    "ConsensusRequest<MajorityOptions>",
    "MajorityResponse",
    ConsensusRequest<MajorityOptions>,
    majority::majority_vote,
    "Majority vote (crowd-kit MajorityVote; ties to the lowest class index, flagged)."
);

bind!(
    "dawidSkene",
    dawid_skene,
    "ConsensusRequest<DawidSkeneOptions>",
    "DawidSkeneResponse",
    ConsensusRequest<DawidSkeneOptions>,
    dawid_skene::dawid_skene,
    "Dawid-Skene EM (crowd-kit DawidSkene equations)."
);

bind!(
    "crowdlab",
    crowdlab_js,
    "ConsensusRequest<CrowdlabOptions>",
    "CrowdlabResponse",
    ConsensusRequest<CrowdlabOptions>,
    crowdlab::crowdlab,
    "CROWDLAB consensus and quality scores (cleanlab get_label_quality_multiannotator)."
);

bind!(
    "activeLabScores",
    active_lab_scores,
    "ConsensusRequest<ActiveLabOptions>",
    "ActiveLabResponse",
    ConsensusRequest<ActiveLabOptions>,
    crowdlab::active_lab,
    "ActiveLab scores for labeled and unlabeled items (cleanlab get_active_learning_scores)."
);

bind!(
    "agreement",
    agreement_js,
    "ConsensusRequest<AgreementOptions>",
    "AgreementResponse",
    ConsensusRequest<AgreementOptions>,
    agreement::agreement,
    "Agreement statistics: Cohen's kappa per pair, Fleiss' kappa, Krippendorff's alpha."
);
