//! The reasons behind one image's tier: outlier, label issues, confidence, conformal set,
//! annotator agreement and auto-accept eligibility.

use crate::engine::multilabel::calibration::MlImageSets;
use crate::engine::queue::policy::Signal;

use super::*;

pub(super) fn reason(
    signal: Signal,
    finding: Option<usize>,
    value: Option<f64>,
    threshold: Option<f64>,
    cmp: &str,
    message: String,
) -> MlReason {
    MlReason {
        signal,
        finding,
        value,
        threshold,
        comparison: (!cmp.is_empty()).then(|| cmp.to_string()),
        message,
    }
}

/// The reasons of one image, by the tier they point to.
#[derive(Default)]
pub(super) struct Reasons {
    pub(super) outlier: Vec<MlReason>,
    pub(super) label_err: Vec<MlReason>,
    pub(super) expert: Vec<MlReason>,
    pub(super) light: Vec<MlReason>,
    pub(super) accept: Vec<MlReason>,
}

/// One valid image as the reasons see it.
pub(super) struct View<'a> {
    pub(super) i: usize,
    pub(super) row: &'a [f64],
    pub(super) given: Option<&'a [usize]>,
    pub(super) names: &'a [String],
}

impl View<'_> {
    pub(super) fn name(&self, j: usize) -> &str {
        &self.names[j]
    }
    pub(super) fn word(&self, j: usize) -> &'static str {
        if self.row[j] >= 0.5 {
            "present"
        } else {
            "absent"
        }
    }
}

pub(super) fn outlier_reasons(
    v: &View<'_>,
    pool: &MlPoolSet,
    policy: &MlPolicyConfig,
    th: Option<f64>,
    r: &mut Reasons,
) {
    if let (Some(th), Some(s)) = (th, &pool.outlier_scores) {
        let x = s[v.i];
        if x.is_finite() && x < th {
            r.outlier.push(reason(
                Signal::OutlierScore,
                None,
                Some(x),
                Some(th),
                "<",
                format!("Outlier score {x:.4} is below {th:.4}, the {:.1}% quantile of the verified images: unlike the data the model was checked on.", policy.outliers.quantile * 100.0),
            ));
        }
    }
}

pub(super) fn issue_reasons(v: &View<'_>, flagged: &[usize], r: &mut Reasons) {
    for &j in flagged {
        let was = match v.given {
            Some(g) if g.contains(&j) => "given as present",
            _ => "not given",
        };
        r.label_err.push(reason(
            Signal::LabelIssue,
            Some(j),
            Some(v.row[j]),
            None,
            "",
            format!(
                "Confident learning flags finding {}: {was}, the model gives it {:.3}.",
                v.name(j),
                v.row[j]
            ),
        ));
    }
}

/// A confidence reason for every finding whose confidence `max(p, 1 - p)` is below its
/// threshold `th(j)`; `message(j, p, c, th)` words it.
fn below_threshold(
    v: &View<'_>,
    th: impl Fn(usize) -> f64,
    out: &mut Vec<MlReason>,
    message: impl Fn(usize, f64, f64, f64) -> String,
) {
    for (j, &p) in v.row.iter().enumerate() {
        let (c, th) = (p.max(1.0 - p), th(j));
        if c < th {
            out.push(reason(
                Signal::Confidence,
                Some(j),
                Some(c),
                Some(th),
                "<",
                message(j, p, c, th),
            ));
        }
    }
}

pub(super) fn confidence_reasons(v: &View<'_>, policy: &MlPolicyConfig, r: &mut Reasons) {
    let th = policy.expert.max_confidence;
    below_threshold(
        v,
        |_| th,
        &mut r.expert,
        |j, p, c, th| {
            format!(
                "Finding {}: calibrated probability {p:.3}, confidence {c:.3} is below {th:.3}.",
                v.name(j)
            )
        },
    );
}

pub(super) fn conformal_reasons(
    v: &View<'_>,
    set: &MlImageSets,
    policy: &MlPolicyConfig,
    r: &mut Reasons,
) {
    let level = (1.0 - policy.conformal.alpha) * 100.0;
    for &j in &set.empty {
        r.expert.push(reason(
            Signal::ConformalSetSize,
            Some(j),
            Some(0.0),
            Some(1.0),
            "<",
            format!(
                "Finding {}: the {level:.0}% conformal set is empty (neither present nor absent is plausible enough).",
                v.name(j)
            ),
        ));
    }
    for &j in &set.undecided {
        r.light.push(reason(
            Signal::ConformalSetSize,
            Some(j),
            Some(2.0),
            Some(2.0),
            ">=",
            format!(
                "Finding {}: the {level:.0}% conformal set holds both present and absent (probability {:.3}).",
                v.name(j),
                v.row[j]
            ),
        ));
    }
}

pub(super) fn agreement_reasons(
    v: &View<'_>,
    pool: &MlPoolSet,
    policy: &MlPolicyConfig,
    r: &mut Reasons,
) {
    if let Some(a) = &pool.agreement {
        let x = a[v.i];
        let th = policy.expert.min_agreement;
        if x.is_finite() && x < th {
            r.expert.push(reason(
                Signal::AnnotatorAgreement,
                None,
                Some(x),
                Some(th),
                "<",
                format!("Annotator agreement {x:.3} is below {th:.3}."),
            ));
        }
    }
}

/// Auto-accept eligibility and confident disagreements with the given findings.
pub(super) fn accept_reasons(
    v: &View<'_>,
    accepted: bool,
    fp: &MlFittedPolicy,
    policy: &MlPolicyConfig,
    r: &mut Reasons,
) {
    let Some(rule) = &fp.fitted.auto_accept else {
        let why = fp
            .fitted
            .auto_accept_refused
            .clone()
            .unwrap_or_else(|| "not certified".into());
        r.light.push(reason(
            Signal::AutoAcceptUnavailable,
            None,
            None,
            None,
            "",
            format!("No auto-accept rule: {why}"),
        ));
        return;
    };
    let (alpha, delta) = (policy.auto_accept.alpha, policy.auto_accept.delta);
    below_threshold(
        v,
        |j| rule.thresholds[j],
        &mut r.light,
        |j, _, c, th| {
            format!(
                "Finding {}: confidence {c:.4} is below the auto-accept threshold {th:.4}.",
                v.name(j)
            )
        },
    );
    if accepted {
        let (j, c) = least_confident(v.row);
        r.accept.push(reason(Signal::Confidence, Some(j), Some(c), Some(rule.thresholds[j]), ">=",
            format!("Every finding reaches the certified threshold (the least confident, {}, at {c:.4}): P(some finding wrong) at most {:.2}% with probability {:.3}.", v.name(j), alpha * 100.0, 1.0 - delta)));
    }
    let Some(g) = v
        .given
        .filter(|_| policy.auto_accept.require_label_agreement)
    else {
        return;
    };
    for j in 0..v.row.len() {
        let (p, c, th) = (v.row[j], v.row[j].max(1.0 - v.row[j]), rule.thresholds[j]);
        if (p >= 0.5) == g.contains(&j) {
            continue;
        }
        let given = if g.contains(&j) {
            "given as present"
        } else {
            "not given"
        };
        let msg = format!(
            "Finding {}: the model finds it {} ({p:.3}), but it is {given}.",
            v.name(j),
            v.word(j)
        );
        if c >= th {
            r.label_err.push(reason(Signal::LabelAgreement, Some(j), Some(c), Some(th), ">=",
                format!("{msg} The model is at least as confident as the auto-accept threshold {th:.4}.")));
        } else {
            r.light.push(reason(
                Signal::LabelAgreement,
                Some(j),
                Some(p),
                None,
                "!=",
                msg,
            ));
        }
    }
    if accepted && (0..v.row.len()).all(|j| (v.row[j] >= 0.5) == g.contains(&j)) {
        r.accept.push(reason(
            Signal::LabelAgreement,
            None,
            None,
            None,
            "==",
            "The model's decisions agree with every given finding.".into(),
        ));
    }
}
