//! The reasons behind one pool item's tier: data signals (outlier, label issue, duplicates),
//! expert triggers and auto-accept eligibility.

use super::*;

pub(super) fn reason(
    signal: Signal,
    value: Option<f64>,
    threshold: Option<f64>,
    cmp: &str,
    message: String,
) -> Reason {
    Reason {
        signal,
        value,
        threshold,
        comparison: if cmp.is_empty() {
            None
        } else {
            Some(cmp.into())
        },
        message,
    }
}

/// The reasons of one item, by the tier they point to.
#[derive(Default)]
pub(super) struct Reasons {
    pub(super) outlier: Vec<Reason>,
    pub(super) label_err: Vec<Reason>,
    pub(super) expert: Vec<Reason>,
    pub(super) light: Vec<Reason>,
    pub(super) accept: Vec<Reason>,
}

impl Reasons {
    /// The highest tier any reason points to; auto-accept when none asks for a look.
    pub(super) fn tier(&self) -> Tier {
        if !self.outlier.is_empty() {
            Tier::Outlier
        } else if !self.label_err.is_empty() {
            Tier::SuspectedLabelError
        } else if !self.expert.is_empty() {
            Tier::ExpertReview
        } else if self.light.is_empty() {
            Tier::AutoAccept
        } else {
            Tier::LightReview
        }
    }

    /// The reasons an item in `tier` shows: those of the higher tiers, then the light ones
    /// (or, when auto-accepted, the ones that certify it).
    pub(super) fn into_list(self, tier: Tier) -> Vec<Reason> {
        let mut reasons = Vec::new();
        reasons.extend(self.outlier);
        reasons.extend(self.label_err);
        reasons.extend(self.expert);
        if tier == Tier::AutoAccept {
            reasons.extend(self.accept);
        } else {
            // a confident disagreement already said "model predicts X, label is Y"
            let said = reasons.iter().any(|r| r.signal == Signal::LabelAgreement);
            reasons.extend(
                self.light
                    .into_iter()
                    .filter(|r| !(said && r.signal == Signal::LabelAgreement)),
            );
        }
        reasons
    }
}

/// One valid pool item as the reasons see it.
pub(super) struct ItemView<'a> {
    pub(super) i: usize,
    /// Its calibrated probabilities.
    pub(super) row: &'a [f64],
    pub(super) pred: usize,
    pub(super) conf: f64,
    pub(super) given: Option<usize>,
    pub(super) set: Option<&'a [usize]>,
}

/// Outlier score, confident-learning flag and near-duplicate conflict.
pub(super) fn data_reasons(
    v: &ItemView<'_>,
    pool: &PoolSet,
    policy: &PolicyConfig,
    fp: &FittedPolicy,
    issue: bool,
    r: &mut Reasons,
) {
    let (i, row, pred, conf, g) = (v.i, v.row, v.pred, v.conf, v.given);
    if let (Some(th), Some(s)) = (fp.threshold, &pool.outlier_scores) {
        let x = s[i];
        if x.is_finite() && x < th {
            r.outlier.push(reason(
                Signal::OutlierScore,
                Some(x),
                Some(th),
                "<",
                format!("Outlier score {x:.4} is below {th:.4}, the {:.1}% quantile of the verified items: unlike the data the model was checked on.", policy.outliers.quantile * 100.0),
            ));
        }
    }
    if issue {
        r.label_err.push(reason(
            Signal::LabelIssue,
            g.map(|g| row[g]),
            None,
            "",
            format!(
                "Confident learning flags the given label {}: the model gives it {:.3} and predicts {pred} ({conf:.3}).",
                g.unwrap_or(pred),
                g.map(|g| row[g]).unwrap_or(conf)
            ),
        ));
    }
    if let Some(d) = &pool.duplicate_of_verified {
        let j = d[i];
        if j >= 0 {
            let j = j as usize;
            let vl = fp.verified_labels.get(j).copied();
            if let (Some(vl), Some(g)) = (vl, g) {
                if vl != g {
                    r.label_err.push(reason(
                        Signal::DuplicateConflict,
                        Some(j as f64),
                        None,
                        "!=",
                        format!(
                            "Near-duplicate of verified item {j}, whose label is {vl}, not {g}."
                        ),
                    ));
                }
            }
        }
    }
}

/// Low confidence, the conformal set's size and low annotator agreement.
pub(super) fn expert_reasons(
    v: &ItemView<'_>,
    pool: &PoolSet,
    policy: &PolicyConfig,
    r: &mut Reasons,
) {
    let conf = v.conf;
    let e = &policy.expert;
    if conf < e.max_confidence {
        r.expert.push(reason(
            Signal::Confidence,
            Some(conf),
            Some(e.max_confidence),
            "<",
            format!(
                "Calibrated confidence {conf:.3} is below {:.3}.",
                e.max_confidence
            ),
        ));
    }
    if let Some(set) = v.set {
        let sz = set.len();
        let level = (1.0 - policy.conformal.alpha) * 100.0;
        let expert_size = policy.conformal.expert_set_size;
        if sz == 0 || sz >= expert_size {
            r.expert.push(reason(
                Signal::ConformalSetSize,
                Some(sz as f64),
                Some(expert_size as f64),
                if sz == 0 { "==" } else { ">=" },
                if sz == 0 {
                    format!("The {level:.0}% conformal set is empty: no class is plausible enough.")
                } else {
                    format!("The {level:.0}% conformal set holds {sz} classes {set:?}.")
                },
            ));
        } else if sz >= 2 {
            r.light.push(reason(
                Signal::ConformalSetSize,
                Some(sz as f64),
                Some(2.0),
                ">=",
                format!("The {level:.0}% conformal set holds {sz} classes {set:?}."),
            ));
        }
    }
    if let Some(a) = &pool.agreement {
        let x = a[v.i];
        if x.is_finite() && x < e.min_agreement {
            r.expert.push(reason(
                Signal::AnnotatorAgreement,
                Some(x),
                Some(e.min_agreement),
                "<",
                format!(
                    "Annotator agreement {x:.3} is below {:.3}.",
                    e.min_agreement
                ),
            ));
        }
    }
}

/// Auto-accept eligibility (the certified threshold, agreement with the given label), and a
/// confident disagreement with the given label as a suspected label error.
pub(super) fn accept_reasons(
    v: &ItemView<'_>,
    policy: &PolicyConfig,
    fp: &FittedPolicy,
    r: &mut Reasons,
) {
    let (pred, conf, g) = (v.pred, v.conf, v.given);
    let Some(th) = fp.fitted.auto_accept.as_ref().map(|a| a.threshold) else {
        r.light.push(reason(
            Signal::AutoAcceptUnavailable,
            None,
            None,
            "",
            format!(
                "No auto-accept threshold: {}",
                fp.fitted
                    .auto_accept_refused
                    .clone()
                    .unwrap_or_else(|| "not certified".into())
            ),
        ));
        return;
    };
    if conf < th {
        r.light.push(reason(
            Signal::Confidence,
            Some(conf),
            Some(th),
            "<",
            format!("Calibrated confidence {conf:.4} is below the auto-accept threshold {th:.4}."),
        ));
    } else {
        r.accept.push(reason(
            Signal::Confidence,
            Some(conf),
            Some(th),
            ">=",
            format!(
                "Calibrated confidence {conf:.4} reaches the certified threshold {th:.4} (at most {:.2}% wrong, with probability {:.3}).",
                policy.auto_accept.alpha * 100.0,
                1.0 - policy.auto_accept.delta
            ),
        ));
    }
    let Some(g) = g else {
        return;
    };
    if policy.auto_accept.require_label_agreement {
        if g != pred {
            r.light.push(reason(
                Signal::LabelAgreement,
                Some(pred as f64),
                Some(g as f64),
                "!=",
                format!("The model predicts {pred}, the given label is {g}."),
            ));
        } else {
            r.accept.push(reason(
                Signal::LabelAgreement,
                Some(pred as f64),
                Some(g as f64),
                "==",
                format!("The model's prediction agrees with the given label {g}."),
            ));
        }
    }
    if g != pred && conf >= th && r.label_err.is_empty() {
        r.label_err.push(reason(
            Signal::LabelAgreement,
            Some(conf),
            Some(th),
            ">=",
            format!("The model predicts {pred} with confidence {conf:.4} (at least the auto-accept threshold {th:.4}), but the given label is {g}."),
        ));
    }
}
