//! ActiveLab scores (cleanlab's `get_active_learning_scores`): labeled items from their
//! CROWDLAB consensus quality, unlabeled items from the model's top probability, and the
//! item that most needs another annotation.

use super::quality::{cleanlab_majority, crowdlab_core};
use super::temperature::{find_best_temperature, temperature_scale};
use super::{check_multi, mean, num_annotations, ActiveLabOptions, ActiveLabResponse, NextItem};
use crate::engine::consensus::data::{check_probs, ConsensusRequest, Dataset};
use crate::error::{err, Result};

/// ActiveLab scores for labeled items (annotations + `predProbs`) and/or unlabeled items
/// (`predProbsUnlabeled`).
pub fn active_lab(req: &ConsensusRequest<ActiveLabOptions>) -> Result<ActiveLabResponse> {
    let mut resp = ActiveLabResponse {
        items: Vec::new(),
        unlabeled_items: Vec::new(),
        classes: Vec::new(),
        scores: Vec::new(),
        scores_unlabeled: Vec::new(),
        next: None,
        temperature: 1.0,
        model_weight: 1.0,
        annotator_weight: Vec::new(),
    };
    let (k, avg_w) = if !req.annotations.is_empty() {
        score_labeled(req, &mut resp)?
    } else {
        (classes_without_annotations(req, &mut resp)?, 1.0)
    };
    if let Some(pu) = &req.pred_probs_unlabeled {
        score_unlabeled(req, pu, k, avg_w, &mut resp)?;
    } else if req.unlabeled_items.is_some() {
        return Err(err!(
            InvalidInput,
            "unlabeledItems given without predProbsUnlabeled"
        ));
    }
    resp.next = next_item(&resp);
    Ok(resp)
}

/// The labeled items' scores, weights, temperature, ids and classes; returns `K` and the mean
/// annotator weight.
fn score_labeled(
    req: &ConsensusRequest<ActiveLabOptions>,
    resp: &mut ActiveLabResponse,
) -> Result<(usize, f64)> {
    let d = Dataset::build(req)?;
    let k = d.k();
    let probs = req.pred_probs.as_deref().ok_or_else(|| {
        err!(
            InvalidInput,
            "ActiveLab needs predProbs (n x K) for the annotated items"
        )
    })?;
    check_probs(probs, d.n(), k, "predProbs")?;
    let num = num_annotations(&d);
    let (quality, mw, aw) = if num.iter().all(|&c| c == 1) {
        let wide = d.wide();
        let (mv, _) = cleanlab_majority(&d, &wide, Some(probs));
        let q: Vec<f64> = (0..d.n()).map(|i| probs[i * k + mv[i]]).collect();
        (q, 1.0, vec![1.0; d.m()])
    } else {
        check_multi(&d, &num, "ActiveLab")?;
        let t = find_best_temperature(&d, probs);
        resp.temperature = t;
        let scaled = temperature_scale(probs, k, t);
        let c = crowdlab_core(&d, &scaled, t);
        (
            c.consensus_quality_score,
            c.model_weight,
            c.annotator_weight,
        )
    };
    let avg_w = mean(aw.iter().copied());
    let inv_k = 1.0 / k as f64;
    resp.scores = (0..d.n())
        .map(|i| {
            let w1 = d.item(i).iter().map(|&(j, _)| aw[j]).sum::<f64>() + mw;
            (quality[i] * w1 + inv_k * avg_w) / (w1 + avg_w)
        })
        .collect();
    resp.model_weight = mw;
    resp.annotator_weight = aw;
    resp.items = d.items.clone();
    resp.classes = d.classes.clone();
    Ok((k, avg_w))
}

/// Without annotations: `K` from the class names, `numClasses` or the unlabeled ids, and the
/// class names (given or `"0"`, `"1"`, ...).
fn classes_without_annotations(
    req: &ConsensusRequest<ActiveLabOptions>,
    resp: &mut ActiveLabResponse,
) -> Result<usize> {
    if req.pred_probs.is_some() {
        return Err(err!(
            InvalidInput,
            "predProbs was given without annotations; pass unlabeled items as predProbsUnlabeled"
        ));
    }
    let len = req
        .pred_probs_unlabeled
        .as_ref()
        .map(Vec::len)
        .ok_or_else(|| {
            err!(
                InsufficientData,
                "ActiveLab needs annotations with predProbs, or predProbsUnlabeled"
            )
        })?;
    let k = match (&req.classes, req.num_classes, &req.unlabeled_items) {
        (Some(c), _, _) => c.len(),
        (None, Some(nc), _) => nc,
        (None, None, Some(ids)) if !ids.is_empty() && len % ids.len() == 0 => len / ids.len(),
        _ => {
            return Err(err!(
                InvalidInput,
                "without annotations, give classes or numClasses (or unlabeledItems) to size predProbsUnlabeled"
            ))
        }
    };
    if k < 2 {
        return Err(err!(InvalidInput, "at least 2 classes are needed, got {k}"));
    }
    resp.classes = match &req.classes {
        Some(c) => c.clone(),
        None => (0..k).map(|i| i.to_string()).collect(),
    };
    Ok(k)
}

/// The unlabeled items' ids and scores: the weighted mean of `max_c p_c` (scaled with the
/// labeled items' temperature) and `1/K`.
fn score_unlabeled(
    req: &ConsensusRequest<ActiveLabOptions>,
    pu: &[f64],
    k: usize,
    avg_w: f64,
    resp: &mut ActiveLabResponse,
) -> Result<()> {
    let mu = pu.len() / k;
    check_probs(pu, mu, k, "predProbsUnlabeled")?;
    resp.unlabeled_items = match &req.unlabeled_items {
        Some(ids) if ids.len() != mu => {
            return Err(err!(
                InvalidInput,
                "unlabeledItems has {} ids but predProbsUnlabeled has {mu} rows",
                ids.len()
            ))
        }
        Some(ids) => ids.clone(),
        None => (0..mu).map(|i| i.to_string()).collect(),
    };
    let scaled = temperature_scale(pu, k, resp.temperature);
    let (mw, inv_k) = (resp.model_weight, 1.0 / k as f64);
    resp.scores_unlabeled = scaled
        .chunks_exact(k)
        .map(|row| {
            let q = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            (q * mw + inv_k * avg_w) / (mw + avg_w)
        })
        .collect();
    Ok(())
}

/// The lowest score, labeled items first on ties, then the lowest index.
fn next_item(resp: &ActiveLabResponse) -> Option<NextItem> {
    let mut best: Option<NextItem> = None;
    for (set, ids, scores) in [
        ("labeled", &resp.items, &resp.scores),
        ("unlabeled", &resp.unlabeled_items, &resp.scores_unlabeled),
    ] {
        for (i, &s) in scores.iter().enumerate() {
            if best.as_ref().is_none_or(|b| s < b.score) {
                best = Some(NextItem {
                    set: set.to_string(),
                    index: i,
                    item: ids[i].clone(),
                    score: s,
                });
            }
        }
    }
    best
}
