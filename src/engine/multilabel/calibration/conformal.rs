//! Split conformal (LAC) sets per finding, Bonferroni-corrected by default.

use serde::{Deserialize, Serialize};

use super::column_of;
use crate::engine::multilabel::{onehot, probs_and_onehot, MlProbs};
use crate::engine::triage::conformal::{
    conformal_calibrate, ConformalCalibrateRequest, ConformalMethod, ConformalOptions,
};
use crate::error::{err, Result};

fn default_true() -> bool {
    true
}

/// Calibrate per-finding conformal sets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MlConformalRequest {
    /// Row-major `n x k` calibrated probabilities of labeled images.
    pub probs: Vec<f64>,
    /// Images.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub n: usize,
    /// Findings.
    #[serde(deserialize_with = "crate::engine::limits::de::classes")]
    pub k: usize,
    /// True findings per image.
    #[serde(deserialize_with = "crate::engine::limits::de::class")]
    pub labels: Vec<Vec<usize>>,
    /// Image-level miscoverage in `(0, 1)`.
    pub alpha: f64,
    /// Split `alpha` over the findings (`alpha / k` each, default true); false gives each
    /// finding level `alpha` (per-finding coverage only).
    #[serde(default = "default_true")]
    pub bonferroni: bool,
    /// Thresholds per (finding, present/absent) class (Mondrian), default false.
    #[serde(default)]
    pub class_conditional: bool,
}

/// Per-finding conformal thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MlConformal {
    /// Image-level level asked for.
    pub alpha: f64,
    /// Level used per finding.
    pub finding_alpha: f64,
    /// Per finding: score thresholds (1 marginal, or 2 for absent/present).
    pub thresholds: Vec<Vec<f64>>,
}

/// Calibrate (see the module docs).
pub fn conformal_calibrate_ml(r: &MlConformalRequest) -> Result<MlConformal> {
    if !(r.alpha > 0.0 && r.alpha < 1.0) {
        return Err(err!(InvalidOptions, "alpha must be in (0, 1)"));
    }
    let (p, y) = probs_and_onehot(&r.probs, &r.labels, r.n, r.k)?;
    let fa = if r.bonferroni {
        r.alpha / r.k as f64
    } else {
        r.alpha
    };
    let mut thresholds = Vec::with_capacity(r.k);
    for j in 0..r.k {
        let c = conformal_calibrate(&ConformalCalibrateRequest {
            probs: p.binary(j),
            n: r.n,
            k: 2,
            labels: column_of(&y, r.k, j).iter().map(|&v| v as usize).collect(),
            alpha: fa,
            options: ConformalOptions {
                method: ConformalMethod::Lac,
                class_conditional: r.class_conditional,
                ..Default::default()
            },
        })
        .map_err(|e| err!(InsufficientData, "finding {j}: {}", e.message()))?;
        thresholds.push(c.thresholds);
    }
    Ok(MlConformal {
        alpha: r.alpha,
        finding_alpha: fa,
        thresholds,
    })
}

/// Per-finding sets for new images.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MlConformalSetsRequest {
    /// From [`conformal_calibrate_ml`].
    pub calibration: MlConformal,
    /// Row-major `n x k` calibrated probabilities.
    pub probs: Vec<f64>,
    /// Images.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub n: usize,
    /// Findings.
    #[serde(deserialize_with = "crate::engine::limits::de::classes")]
    pub k: usize,
    /// Truths, when known (adds coverage).
    #[serde(default)]
    #[serde(deserialize_with = "crate::engine::limits::de::class")]
    pub labels: Option<Vec<Vec<usize>>>,
}

/// One image's sets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct MlImageSets {
    /// Findings whose set is `{present}`.
    pub present: Vec<usize>,
    /// Findings whose set holds both (not decided at this level).
    pub undecided: Vec<usize>,
    /// Findings whose set is empty.
    pub empty: Vec<usize>,
}

/// Sets and coverage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct MlConformalSets {
    /// One entry per image.
    pub images: Vec<MlImageSets>,
    /// Images with no undecided or empty finding.
    pub fully_decided: usize,
    /// With truths: fraction of images whose every finding set holds its truth.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_coverage: Option<f64>,
    /// With truths: per-finding coverage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finding_coverage: Option<Vec<f64>>,
}

/// Build the sets: class `c` of finding `j` is in the set when `1 - p_c <= q`.
pub fn conformal_sets_ml(r: &MlConformalSetsRequest) -> Result<MlConformalSets> {
    let p = MlProbs::new(&r.probs, r.n, r.k)?;
    let cal = &r.calibration;
    if cal.thresholds.len() != r.k
        || cal
            .thresholds
            .iter()
            .any(|t| !(t.len() == 1 || t.len() == 2) || t.iter().any(|v| !v.is_finite()))
    {
        return Err(err!(
            InvalidInput,
            "calibration has thresholds for {} findings, expected {}",
            cal.thresholds.len(),
            r.k
        ));
    }
    let y = match &r.labels {
        Some(l) => Some(onehot(l, r.n, r.k)?),
        None => None,
    };
    let mut images = Vec::with_capacity(r.n);
    let (mut decided, mut img_cov) = (0usize, 0usize);
    let mut fcov = vec![0usize; r.k];
    for i in 0..r.n {
        let mut s = MlImageSets {
            present: Vec::new(),
            undecided: Vec::new(),
            empty: Vec::new(),
        };
        let mut all_cov = true;
        for j in 0..r.k {
            let t = &cal.thresholds[j];
            let q = |c: usize| if t.len() == 2 { t[c] } else { t[0] };
            let pj = p.at(i, j);
            let has_abs = pj <= q(0); // 1 - (1 - p) <= q
            let has_pres = 1.0 - pj <= q(1);
            match (has_abs, has_pres) {
                (true, true) => s.undecided.push(j),
                (false, true) => s.present.push(j),
                (false, false) => s.empty.push(j),
                (true, false) => {}
            }
            if let Some(y) = &y {
                let covered = if y[i * r.k + j] == 1 {
                    has_pres
                } else {
                    has_abs
                };
                fcov[j] += covered as usize;
                all_cov &= covered;
            }
        }
        decided += (s.undecided.is_empty() && s.empty.is_empty()) as usize;
        img_cov += all_cov as usize;
        images.push(s);
    }
    let nf = r.n as f64;
    Ok(MlConformalSets {
        images,
        fully_decided: decided,
        image_coverage: y.as_ref().map(|_| img_cov as f64 / nf),
        finding_coverage: y
            .as_ref()
            .map(|_| fcov.iter().map(|&c| c as f64 / nf).collect()),
    })
}
