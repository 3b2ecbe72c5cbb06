//! Inter-annotator agreement: Cohen's kappa and observed agreement per annotator pair,
//! Fleiss' kappa, Krippendorff's alpha (nominal), overall observed agreement, and the items
//! with disagreement.
//!
//! - **Cohen's kappa** (sklearn `cohen_kappa_score`, unweighted) on the items both annotators
//!   labeled, for pairs with at least `minOverlap` such items (default 2: the least for which
//!   kappa can be defined at all; it says nothing about reliability, raise it for that).
//!   `κ = 1 - Σ_{c≠d} O_cd / Σ_{c≠d} E_cd`, `E = r sᵀ / N`. Null when undefined (both
//!   annotators used one and the same class on the overlap: sklearn returns NaN there) or
//!   when the overlap is too small; `observedAgreement` per pair follows the same rule.
//! - **Fleiss' kappa** (statsmodels `fleiss_kappa`, method "fleiss"): needs the same number
//!   `r ≥ 2` of ratings on every item. With option `fleiss: "auto"` (default) it is null when
//!   that fails and `fleissNote` says why; `"require"` turns that into an `invalid_input`
//!   error; `"skip"` never computes it. [`fleiss_kappa`] alone always errors.
//! - **Krippendorff's alpha** (package `krippendorff`, nominal): missing ratings allowed;
//!   items with fewer than two ratings do not count. Null when undefined (fewer than two
//!   distinct labels, or no item with two ratings).
//! - **Krippendorff's alpha, ordinal and interval** (package `krippendorff`,
//!   `level_of_measurement="ordinal"` / `"interval"`, `value_domain` = every class): the same
//!   coincidence matrix `o` with a distance `δ`: `α = 1 - (n - 1) Σ o_cd δ_cd / Σ n_c n_d δ_cd`.
//!   Ordinal takes the classes in the request's order (`classes[0]` lowest) and
//!   `δ_cd = (Σ_{g=c..d} n_g - (n_c + n_d) / 2)²`; interval uses each class's number,
//!   `δ_cd = (v_c - v_d)²`, with `v` = option `classValues` (one finite number per class),
//!   else the class names when every one parses as a number (e.g. ratings "1".."5"), else the
//!   class index. Null when undefined, as nominal.
//! - **Observed agreement** overall: the mean over items with ≥ 2 ratings of the share of
//!   agreeing ordered rater pairs `Σ_c n_ic (n_ic - 1) / (n_i (n_i - 1))` (Fleiss' `P̄`,
//!   generalized to varying rater counts). Null when no item has two ratings.

use serde::{Deserialize, Serialize};

use super::data::{ConsensusRequest, Dataset};
use super::majority::reject_probs;
use crate::error::{err, Result};

/// What to do with Fleiss' kappa.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum FleissMode {
    /// Compute it when every item has the same number of ratings, else null with a note.
    #[default]
    Auto,
    /// Error (`invalid_input`) when the rater counts differ.
    Require,
    /// Do not compute it.
    Skip,
}

/// Agreement options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct AgreementOptions {
    /// Least number of shared items for a pair's kappa (default 2, at least 1).
    pub min_overlap: usize,
    /// Fleiss' kappa handling (default auto).
    pub fleiss: FleissMode,
    /// List the items with disagreement (default true).
    pub list_disagreements: bool,
    /// Numeric value of each class for the interval alpha (default: the class names when all
    /// parse as numbers, else the class index).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class_values: Option<Vec<f64>>,
}

impl Default for AgreementOptions {
    fn default() -> Self {
        AgreementOptions {
            min_overlap: 2,
            fleiss: FleissMode::Auto,
            list_disagreements: true,
            class_values: None,
        }
    }
}

/// Statistics of one annotator pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PairAgreement {
    /// First annotator (index order, `a < b`).
    pub annotator_a: String,
    /// Second annotator.
    pub annotator_b: String,
    /// Items both labeled.
    pub overlap: usize,
    /// Share of shared items with the same label (null below `minOverlap`).
    pub observed_agreement: Option<f64>,
    /// Cohen's kappa (null below `minOverlap` or when undefined).
    pub cohen_kappa: Option<f64>,
}

/// One annotator's label in a disagreement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct AnnotatorLabel {
    /// Annotator id.
    pub annotator: String,
    /// Class index.
    #[serde(deserialize_with = "crate::engine::limits::de::class")]
    pub label: usize,
    /// Class name.
    pub class: String,
}

/// An item on which annotators disagree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Disagreement {
    /// Item index.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub index: usize,
    /// Item id.
    pub item: String,
    /// Who said what (annotator order).
    pub labels: Vec<AnnotatorLabel>,
}

/// Agreement result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct AgreementResponse {
    /// Item ids.
    pub items: Vec<String>,
    /// Annotator ids.
    pub annotators: Vec<String>,
    /// Class names.
    pub classes: Vec<String>,
    /// Every annotator pair `a < b`.
    pub pairs: Vec<PairAgreement>,
    /// Fleiss' kappa.
    pub fleiss_kappa: Option<f64>,
    /// Why Fleiss' kappa is null, when it is.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub fleiss_note: Option<String>,
    /// Krippendorff's alpha (nominal).
    pub krippendorff_alpha: Option<f64>,
    /// Krippendorff's alpha, ordinal metric over the class order.
    pub krippendorff_alpha_ordinal: Option<f64>,
    /// Krippendorff's alpha, interval metric over the class values.
    pub krippendorff_alpha_interval: Option<f64>,
    /// The class values the interval alpha used.
    pub class_values: Vec<f64>,
    /// Overall observed agreement.
    pub observed_agreement: Option<f64>,
    /// Items with at least two ratings.
    pub items_with_multiple_ratings: usize,
    /// Items with more than one distinct label (empty when not asked for).
    pub disagreements: Vec<Disagreement>,
    /// Number of items with disagreement.
    pub num_disagreements: usize,
}

/// Cohen's kappa of two label sequences over `k` classes (sklearn's formula); `None` when
/// undefined or empty.
pub fn cohen_kappa(y1: &[usize], y2: &[usize], k: usize) -> Option<f64> {
    let n = y1.len();
    if n == 0 || y2.len() != n {
        return None;
    }
    let mut cm = vec![0usize; k * k];
    let mut r = vec![0usize; k];
    let mut s = vec![0usize; k];
    for (&a, &b) in y1.iter().zip(y2) {
        cm[a * k + b] += 1;
        r[a] += 1;
        s[b] += 1;
    }
    let nf = n as f64;
    let mut num = 0.0;
    let mut den = 0.0;
    for a in 0..k {
        for b in 0..k {
            if a != b {
                num += cm[a * k + b] as f64;
                den += r[a] as f64 * s[b] as f64 / nf;
            }
        }
    }
    if den == 0.0 {
        None
    } else {
        Some(1.0 - num / den)
    }
}

/// Fleiss' kappa of an `n x k` count table (statsmodels' formula). Errors when the rows do
/// not all hold the same number `r ≥ 2` of ratings; `Ok(None)` when undefined (one class
/// only).
pub fn fleiss_kappa_table(counts: &[usize], n: usize, k: usize) -> Result<Option<f64>> {
    if n == 0 {
        return Err(err!(
            InsufficientData,
            "Fleiss' kappa needs at least one item"
        ));
    }
    let raters: Vec<usize> = counts.chunks_exact(k).map(|r| r.iter().sum()).collect();
    let r = raters[0];
    if let Some(i) = raters.iter().position(|&x| x != r) {
        return Err(err!(
            InvalidInput,
            "Fleiss' kappa needs the same number of ratings on every item: item {i} has {}, item 0 has {r}",
            raters[i]
        ));
    }
    if r < 2 {
        return Err(err!(
            InvalidInput,
            "Fleiss' kappa needs at least 2 ratings per item, got {r}"
        ));
    }
    let total = (n * r) as f64;
    let rf = r as f64;
    let mut p_cat = vec![0.0; k];
    let mut p_mean = 0.0;
    for row in counts.chunks_exact(k) {
        let mut sq = 0.0;
        for (c, &v) in row.iter().enumerate() {
            p_cat[c] += v as f64;
            sq += (v * v) as f64;
        }
        p_mean += (sq - rf) / (rf * (rf - 1.0));
    }
    p_mean /= n as f64;
    let pe: f64 = p_cat.iter().map(|&v| (v / total) * (v / total)).sum();
    if 1.0 - pe == 0.0 {
        return Ok(None);
    }
    Ok(Some((p_mean - pe) / (1.0 - pe)))
}

/// Fleiss' kappa of a dataset (errors when rater counts differ).
pub fn fleiss_kappa(d: &Dataset) -> Result<Option<f64>> {
    fleiss_kappa_table(&d.counts(), d.n(), d.k())
}

/// Krippendorff's coincidence matrix of an `n x k` count table,
/// `o_cd = Σ_u n_uc (n_ud - [c=d]) / (m_u - 1)` over the units with at least two values, with
/// its marginals `n_c` and total `n`; `None` when fewer than two classes are used or no unit
/// is pairable (alpha is then undefined).
fn coincidences(counts: &[usize], k: usize) -> Option<(Vec<f64>, Vec<f64>, f64)> {
    let mut o = vec![0.0; k * k];
    let mut used = vec![false; k];
    let mut any_pairable = false;
    for row in counts.chunks_exact(k) {
        let mu: usize = row.iter().sum();
        for (c, &v) in row.iter().enumerate() {
            if v > 0 {
                used[c] = true;
            }
        }
        if mu < 2 {
            continue;
        }
        any_pairable = true;
        let den = (mu - 1) as f64;
        for c in 0..k {
            if row[c] == 0 {
                continue;
            }
            for dd in 0..k {
                let pairs = if c == dd {
                    row[c] * (row[c] - 1)
                } else {
                    row[c] * row[dd]
                };
                o[c * k + dd] += pairs as f64 / den;
            }
        }
    }
    if used.iter().filter(|&&u| u).count() < 2 || !any_pairable {
        return None;
    }
    let nv: Vec<f64> = (0..k)
        .map(|c| (0..k).map(|dd| o[c * k + dd]).sum())
        .collect();
    let n: f64 = nv.iter().sum();
    Some((o, nv, n))
}

/// Krippendorff's alpha (nominal) of an `n x k` count table; `None` when undefined.
pub fn krippendorff_alpha_table(counts: &[usize], k: usize) -> Option<f64> {
    let (o, nv, n) = coincidences(counts, k)?;
    let mut do_ = 0.0;
    let mut de = 0.0;
    for c in 0..k {
        for dd in 0..k {
            if c != dd {
                do_ += o[c * k + dd];
                de += nv[c] * nv[dd] / (n - 1.0);
            }
        }
    }
    if de == 0.0 || !de.is_finite() {
        return None;
    }
    Some(1.0 - do_ / de)
}

/// The metric of Krippendorff's alpha beyond nominal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlphaMetric {
    /// Ranks in class order.
    Ordinal,
    /// Squared differences of the class values.
    Interval,
}

/// Krippendorff's alpha of an `n x k` count table with the ordinal or interval metric
/// (`values[c]` is class `c`'s number, used by interval only); `None` when undefined.
pub fn krippendorff_alpha_metric(
    counts: &[usize],
    k: usize,
    metric: AlphaMetric,
    values: &[f64],
) -> Option<f64> {
    if values.len() != k {
        return None;
    }
    let (o, nv, n) = coincidences(counts, k)?;
    let delta = |c: usize, d: usize| -> f64 {
        match metric {
            AlphaMetric::Ordinal => {
                let (lo, hi) = if c <= d { (c, d) } else { (d, c) };
                let s: f64 = nv[lo..=hi].iter().sum::<f64>() - (nv[lo] + nv[hi]) / 2.0;
                s * s
            }
            AlphaMetric::Interval => (values[c] - values[d]).powi(2),
        }
    };
    let mut do_ = 0.0;
    let mut de = 0.0;
    for c in 0..k {
        for dd in 0..k {
            if c != dd {
                let dl = delta(c, dd);
                do_ += o[c * k + dd] * dl;
                de += nv[c] * nv[dd] * dl;
            }
        }
    }
    if de == 0.0 || !de.is_finite() {
        return None;
    }
    Some(1.0 - (n - 1.0) * do_ / de)
}

/// The class values of the interval alpha: `given` (checked), else the class names when all
/// parse as finite numbers, else the class indices.
pub fn class_values(classes: &[String], given: Option<&[f64]>) -> Result<Vec<f64>> {
    if let Some(v) = given {
        if v.len() != classes.len() {
            return Err(err!(
                InvalidOptions,
                "classValues has {} values for {} classes",
                v.len(),
                classes.len()
            ));
        }
        if v.iter().any(|x| !x.is_finite()) {
            return Err(err!(InvalidOptions, "classValues must be finite numbers"));
        }
        return Ok(v.to_vec());
    }
    let parsed: Option<Vec<f64>> = classes
        .iter()
        .map(|c| c.trim().parse::<f64>().ok().filter(|x| x.is_finite()))
        .collect();
    Ok(parsed.unwrap_or_else(|| (0..classes.len()).map(|i| i as f64).collect()))
}

/// Agreement statistics of a validated dataset.
pub fn agreement_data(d: &Dataset, opts: &AgreementOptions) -> Result<AgreementResponse> {
    if opts.min_overlap == 0 {
        return Err(err!(InvalidOptions, "minOverlap must be at least 1"));
    }
    let (n, k) = (d.n(), d.k());
    let counts = d.counts();
    let values = class_values(&d.classes, opts.class_values.as_deref())?;
    let pairs = pair_agreements(d, opts.min_overlap);
    let (fleiss, fleiss_note) = fleiss_with_note(&counts, n, k, opts.fleiss)?;
    let items = item_agreement(d, &counts, opts.list_disagreements);
    Ok(AgreementResponse {
        items: d.items.clone(),
        annotators: d.annotators.clone(),
        classes: d.classes.clone(),
        pairs,
        fleiss_kappa: fleiss,
        fleiss_note,
        krippendorff_alpha: krippendorff_alpha_table(&counts, k),
        krippendorff_alpha_ordinal: krippendorff_alpha_metric(
            &counts,
            k,
            AlphaMetric::Ordinal,
            &values,
        ),
        krippendorff_alpha_interval: krippendorff_alpha_metric(
            &counts,
            k,
            AlphaMetric::Interval,
            &values,
        ),
        class_values: values,
        observed_agreement: if items.multi > 0 {
            Some(items.agreement_sum / items.multi as f64)
        } else {
            None
        },
        items_with_multiple_ratings: items.multi,
        disagreements: items.disagreements,
        num_disagreements: items.num_disagreements,
    })
}

/// Observed agreement and Cohen's kappa of every annotator pair on the items both labeled
/// (null below `min_overlap` shared items).
fn pair_agreements(d: &Dataset, min_overlap: usize) -> Vec<PairAgreement> {
    let (n, k, m) = (d.n(), d.k(), d.m());
    let wide = d.wide();
    let mut pairs = Vec::with_capacity(m * m.saturating_sub(1) / 2);
    let mut y1 = Vec::new();
    let mut y2 = Vec::new();
    for a in 0..m {
        for b in a + 1..m {
            y1.clear();
            y2.clear();
            for i in 0..n {
                let (la, lb) = (wide[i * m + a], wide[i * m + b]);
                if la >= 0 && lb >= 0 {
                    y1.push(la as usize);
                    y2.push(lb as usize);
                }
            }
            let overlap = y1.len();
            let enough = overlap >= min_overlap;
            let same = y1.iter().zip(&y2).filter(|(x, y)| x == y).count();
            pairs.push(PairAgreement {
                annotator_a: d.annotators[a].clone(),
                annotator_b: d.annotators[b].clone(),
                overlap,
                observed_agreement: if enough && overlap > 0 {
                    Some(same as f64 / overlap as f64)
                } else {
                    None
                },
                cohen_kappa: if enough {
                    cohen_kappa(&y1, &y2, k)
                } else {
                    None
                },
            });
        }
    }
    pairs
}

/// Fleiss' kappa as the mode asks, with a note when it is not given.
fn fleiss_with_note(
    counts: &[usize],
    n: usize,
    k: usize,
    mode: FleissMode,
) -> Result<(Option<f64>, Option<String>)> {
    let with_note = |v: Option<f64>| {
        let note = v
            .is_none()
            .then(|| "undefined: a single class was used".to_string());
        (v, note)
    };
    Ok(match mode {
        FleissMode::Skip => (None, Some("not computed (fleiss: skip)".to_string())),
        FleissMode::Require => with_note(fleiss_kappa_table(counts, n, k)?),
        FleissMode::Auto => match fleiss_kappa_table(counts, n, k) {
            Ok(v) => with_note(v),
            Err(e) => (None, Some(e.message().to_string())),
        },
    })
}

/// Per-item agreement summed over the items with several ratings, and the items whose
/// annotators disagree.
struct ItemAgreement {
    agreement_sum: f64,
    multi: usize,
    disagreements: Vec<Disagreement>,
    num_disagreements: usize,
}

/// Each multiply-rated item's share of agreeing annotator pairs, and the disagreements
/// (listed when `list` is set).
fn item_agreement(d: &Dataset, counts: &[usize], list: bool) -> ItemAgreement {
    let k = d.k();
    let mut out = ItemAgreement {
        agreement_sum: 0.0,
        multi: 0,
        disagreements: Vec::new(),
        num_disagreements: 0,
    };
    for i in 0..d.n() {
        let row = &counts[i * k..(i + 1) * k];
        let mi: usize = row.iter().sum();
        if mi >= 2 {
            let agree: usize = row.iter().map(|&v| v * v.saturating_sub(1)).sum();
            out.agreement_sum += agree as f64 / (mi * (mi - 1)) as f64;
            out.multi += 1;
        }
        if row.iter().filter(|&&v| v > 0).count() > 1 {
            out.num_disagreements += 1;
            if list {
                out.disagreements.push(Disagreement {
                    index: i,
                    item: d.items[i].clone(),
                    labels: d
                        .item(i)
                        .iter()
                        .map(|&(a, l)| AnnotatorLabel {
                            annotator: d.annotators[a].clone(),
                            label: l,
                            class: d.classes[l].clone(),
                        })
                        .collect(),
                });
            }
        }
    }
    out
}

/// Agreement statistics for a request (model probabilities are refused).
pub fn agreement(req: &ConsensusRequest<AgreementOptions>) -> Result<AgreementResponse> {
    reject_probs(req, "agreement")?;
    agreement_data(&Dataset::build(req)?, &req.options)
}

#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
#[allow(clippy::needless_range_loop)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_values() {
        // sklearn: cohen_kappa_score([0,1,1,0,2],[0,1,0,0,2]) = 0.6875
        let k = cohen_kappa(&[0, 1, 1, 0, 2], &[0, 1, 0, 0, 2], 3).unwrap();
        assert!((k - 0.6875).abs() < 1e-12, "{k}");
        assert_eq!(cohen_kappa(&[1, 1], &[1, 1], 3), None);
        // Fleiss, statsmodels doc example style: table of counts
        let t = [3, 0, 0, 2, 1, 0, 0, 3, 0, 1, 1, 1];
        let f = fleiss_kappa_table(&t, 4, 3).unwrap().unwrap();
        // by hand: p_cat = [6,5,1]/12; Pe = (36+25+1)/144; P_i = [1, 1/3, 1, 0] -> mean 7/12
        let pe = 62.0 / 144.0;
        assert!((f - (7.0 / 12.0 - pe) / (1.0 - pe)).abs() < 1e-12);
        let uneven = [3, 0, 0, 2, 0, 0];
        let e = fleiss_kappa_table(&uneven, 2, 3).unwrap_err();
        assert_eq!(e.code(), "invalid_input");
        assert!(e.message().contains("same number of ratings"));
        // Krippendorff: perfect agreement -> 1
        assert_eq!(krippendorff_alpha_table(&[2, 0, 0, 2, 1, 0], 2), Some(1.0));
        assert_eq!(krippendorff_alpha_table(&[2, 0, 2, 0], 2), None);
    }

    #[test]
    fn ordinal_and_interval_known_values() {
        // Krippendorff (2011), "Computing Krippendorff's alpha-reliability", the 4 coders x
        // 12 units example (values 1-5, missing allowed): interval 0.849, ordinal 0.815
        // (krippendorff 0.9.0 on the same data: 0.8491071428571428, 0.8153875037548814, and
        // 0.743421052631579 nominal).
        let units: [&[usize]; 12] = [
            &[1, 1, 1],
            &[2, 2, 3, 2],
            &[3, 3, 3, 3],
            &[3, 3, 3, 3],
            &[2, 2, 2, 2],
            &[1, 2, 3, 4],
            &[4, 4, 4, 4],
            &[1, 1, 2, 1],
            &[2, 2, 2, 2],
            &[5, 5, 5],
            &[1, 1],
            &[3],
        ];
        let k = 5;
        let mut counts = vec![0usize; 12 * k];
        for (u, vals) in units.iter().enumerate() {
            for &v in vals.iter() {
                counts[u * k + v - 1] += 1;
            }
        }
        let values = [1.0, 2.0, 3.0, 4.0, 5.0];
        let iv = krippendorff_alpha_metric(&counts, k, AlphaMetric::Interval, &values).unwrap();
        let or = krippendorff_alpha_metric(&counts, k, AlphaMetric::Ordinal, &values).unwrap();
        assert!((iv - 0.8491071428571428).abs() < 1e-12, "{iv}");
        assert!((or - 0.8153875037548814).abs() < 1e-12, "{or}");
        let nom = krippendorff_alpha_table(&counts, k).unwrap();
        assert!((nom - 0.743421052631579).abs() < 1e-12, "{nom}");
        // interval is invariant to an affine change of the values, ordinal to any increasing one
        let v2: Vec<f64> = values.iter().map(|v| 3.0 * v - 7.0).collect();
        let iv2 = krippendorff_alpha_metric(&counts, k, AlphaMetric::Interval, &v2).unwrap();
        assert!((iv - iv2).abs() < 1e-12);
        assert_eq!(
            krippendorff_alpha_metric(&[2, 0, 2, 0], 2, AlphaMetric::Ordinal, &[0.0, 1.0]),
            None
        );
        let names: Vec<String> = ["1", "2", "5"].iter().map(|s| s.to_string()).collect();
        assert_eq!(class_values(&names, None).unwrap(), vec![1.0, 2.0, 5.0]);
        let names: Vec<String> = ["low", "high"].iter().map(|s| s.to_string()).collect();
        assert_eq!(class_values(&names, None).unwrap(), vec![0.0, 1.0]);
        assert_eq!(
            class_values(&names, Some(&[1.0])).unwrap_err().code(),
            "invalid_options"
        );
        assert_eq!(
            class_values(&names, Some(&[1.0, f64::NAN]))
                .unwrap_err()
                .code(),
            "invalid_options"
        );
    }

    #[test]
    fn fleiss_modes() {
        let anns = [
            ("x", "a", 0),
            ("x", "b", 1),
            ("y", "a", 1),
            ("y", "b", 1),
            ("y", "c", 0),
        ];
        let mut req = request::<_, AgreementOptions>(&anns, 2);
        let r = agreement(&req).unwrap();
        assert_eq!(r.fleiss_kappa, None);
        assert!(r.fleiss_note.unwrap().contains("same number of ratings"));
        assert_eq!(r.num_disagreements, 2);
        assert_eq!(r.disagreements[1].labels.len(), 3);
        assert_eq!(r.pairs.len(), 3);
        assert_eq!(r.pairs[1].overlap, 1); // a-c
        assert_eq!(r.pairs[1].cohen_kappa, None);
        req.options.fleiss = FleissMode::Require;
        assert_eq!(agreement(&req).unwrap_err().code(), "invalid_input");
        req.options.min_overlap = 0;
        assert_eq!(agreement(&req).unwrap_err().code(), "invalid_options");
    }

    fn identical_raters() -> impl Strategy<Value = (Vec<usize>, usize, usize)> {
        (2..6usize, 2..5usize).prop_flat_map(|(k, m)| {
            (proptest::collection::vec(0..k, 2..40), Just(k), Just(m))
                .prop_filter("non-constant", |(v, _, _)| v.iter().any(|&x| x != v[0]))
        })
    }

    proptest! {
        #[test]
        fn identical_raters_give_one((labels, k, m) in identical_raters()) {
            let mut anns = Vec::new();
            for (i, &l) in labels.iter().enumerate() {
                for a in 0..m {
                    anns.push((format!("i{i}"), format!("a{a}"), l));
                }
            }
            let r = agreement(&request(&anns, k)).unwrap();
            for p in &r.pairs {
                prop_assert!((p.cohen_kappa.unwrap() - 1.0).abs() < 1e-12);
            }
            prop_assert!((r.fleiss_kappa.unwrap() - 1.0).abs() < 1e-12);
            prop_assert!((r.krippendorff_alpha.unwrap() - 1.0).abs() < 1e-12);
            prop_assert_eq!(r.observed_agreement, Some(1.0));
            prop_assert_eq!(r.num_disagreements, 0);
        }

        #[test]
        fn permutation_invariant(data in random_annotations(2..40, 2..6, 2..5)) {
            let (anns, k, perm) = data;
            let a = agreement(&request(&anns, k)).unwrap();
            let b = agreement(&request(&permute(&anns, &perm), k)).unwrap();
            let close = |x: Option<f64>, y: Option<f64>| match (x, y) {
                (Some(x), Some(y)) => (x - y).abs() < 1e-12,
                (None, None) => true,
                _ => false,
            };
            for (p, q) in a.pairs.iter().zip(&b.pairs) {
                prop_assert!(close(p.cohen_kappa, q.cohen_kappa));
                prop_assert_eq!(p.observed_agreement, q.observed_agreement);
            }
            prop_assert!(close(a.fleiss_kappa, b.fleiss_kappa));
            prop_assert!(close(a.krippendorff_alpha, b.krippendorff_alpha));
            prop_assert!(close(a.observed_agreement, b.observed_agreement));
            prop_assert_eq!(a.num_disagreements, b.num_disagreements);
        }
    }
}
