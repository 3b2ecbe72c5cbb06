//! JS bindings for annotation consensus: one request object in, one response
//! object out, the same shapes as the CLI's JSON (see `engine::consensus`).

use wasm_bindgen::prelude::*;

use super::{from_js, js_error, to_js};
use crate::engine::consensus::agreement::{self, AgreementOptions};
use crate::engine::consensus::crowdlab::{self, ActiveLabOptions, CrowdlabOptions};
use crate::engine::consensus::dawid_skene::{self, DawidSkeneOptions};
use crate::engine::consensus::majority::{self, MajorityOptions};
use crate::engine::consensus::ConsensusRequest;

#[wasm_bindgen(typescript_custom_section)]
const TS_CONSENSUS: &'static str = r#"
/** One annotation, long format. `label` is a class index or a name listed in `classes`. */
export interface Annotation {
  item: string;
  annotator: string;
  label: number | string;
}

/**
 * A consensus request (every method). Missing (item, annotator) pairs are simply absent.
 * `items` / `annotators` fix the order (rows of `predProbs` follow `items`); every declared
 * id needs an annotation. Without `classes`, labels are indices and K is `numClasses`, else
 * `predProbs` columns, else max label + 1. Unknown fields are rejected.
 */
export interface ConsensusRequest<O> {
  annotations: Annotation[];
  classes?: string[];
  numClasses?: number;
  items?: string[];
  annotators?: string[];
  /** n x K row-major model probabilities (CROWDLAB, ActiveLab). */
  predProbs?: number[] | Float64Array;
  /** m x K probabilities of unlabeled items (ActiveLab). */
  predProbsUnlabeled?: number[] | Float64Array;
  /** Ids of the unlabeled items (default "0".."m-1"). */
  unlabeledItems?: string[];
  options?: O;
}

export interface MajorityOptions {}
export interface DawidSkeneOptions {
  /** Max EM iterations (default 100, at most 1e6). */
  nIter?: number;
  /** Stop when the loss gains less than this (default 1e-5; finite and >= 0). */
  tol?: number;
  /** false: always run nIter iterations, never stop on tol (default true). */
  stopEarly?: boolean;
}
export interface CrowdlabOptions {
  /** Temperature-scale predProbs first (default false). */
  calibrateProbs?: boolean;
}
export interface ActiveLabOptions {}
export interface AgreementOptions {
  /** Least shared items for a pair's kappa (default 2). */
  minOverlap?: number;
  /** "auto" (default): null + note when rater counts differ; "require": error; "skip". */
  fleiss?: "auto" | "require" | "skip";
  /** List items with disagreement (default true). */
  listDisagreements?: boolean;
  /** Each class's number for the interval alpha (default: the class names when all are
   *  numbers, else the class index). */
  classValues?: number[];
}

export interface ConsensusBase {
  items: string[];
  annotators: string[];
  classes: string[];
}

export interface MajorityResponse extends ConsensusBase {
  consensusLabel: number[];
  /** Vote fractions, n x K row-major. */
  probabilities: number[];
  numAnnotations: number[];
  agreement: number[];
  /** Top vote tied (the lowest class index was chosen). */
  tied: boolean[];
  ties: { index: number; item: string; candidates: number[] }[];
  annotatorAccuracy: number[];
}

export interface DawidSkeneResponse extends ConsensusBase {
  consensusLabel: number[];
  tied: boolean[];
  /** n x K row-major. */
  posteriors: number[];
  /** m x K x K: [annotator][observed][true] = P(observed | true). */
  confusion: number[];
  priors: number[];
  iterations: number;
  converged: boolean;
  lossHistory: number[];
  logLikelihood: number;
}

export interface AnnotatorStats {
  annotator: string;
  annotatorQuality: number | null;
  agreementWithConsensus: number;
  worstClass: number;
  numExamplesLabeled: number;
}

export interface CrowdlabResponse extends ConsensusBase {
  consensusLabel: number[];
  consensusQualityScore: number[];
  annotatorAgreement: number[];
  numAnnotations: number[];
  /** Aligned with the request's annotations. */
  annotationQuality: number[];
  annotatorStats: AnnotatorStats[];
  modelWeight: number;
  annotatorWeight: number[];
  postPredProbs: number[];
  majorityVoteLabel: number[];
  unresolvedTies: number[];
  temperature: number;
}

export interface ActiveLabResponse {
  items: string[];
  unlabeledItems: string[];
  classes: string[];
  scores: number[];
  scoresUnlabeled: number[];
  /** The item that most needs another annotation (argmin score). */
  next: { set: "labeled" | "unlabeled"; index: number; item: string; score: number } | null;
  temperature: number;
  modelWeight: number;
  annotatorWeight: number[];
}

export interface PairAgreement {
  annotatorA: string;
  annotatorB: string;
  overlap: number;
  observedAgreement: number | null;
  cohenKappa: number | null;
}

export interface AgreementResponse extends ConsensusBase {
  pairs: PairAgreement[];
  fleissKappa: number | null;
  fleissNote?: string;
  krippendorffAlpha: number | null;
  /** Ordinal metric, classes in request order (lowest first). */
  krippendorffAlphaOrdinal: number | null;
  /** Interval metric over classValues. */
  krippendorffAlphaInterval: number | null;
  classValues: number[];
  observedAgreement: number | null;
  itemsWithMultipleRatings: number;
  disagreements: { index: number; item: string; labels: { annotator: string; label: number; class: string }[] }[];
  numDisagreements: number;
}
"#;

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
