//! Dawid-Skene EM, with crowd-kit's `DawidSkene` update equations.
//!
//! - Initialization: the majority-vote fractions `q` (not one-hot), priors `p = mean_i q_i`,
//!   confusion matrices from one M-step.
//! - M-step: `E_w[l][c] = Σ_{i: w labeled i as l} q_i[c]`, each entry of a label `l` that `w`
//!   used at least once clipped below at `1e-10`, entries of labels `w` never used are 0;
//!   then each column `c` (true class) normalized over `l`. So `E_w[l][c] = P(w says l | true
//!   c)` (crowd-kit's `errors_` orientation: `[annotator][observed][true]`).
//! - E-step: `q_i[c] ∝ max(p_c, 1e-10) · Π_{(w,l) on i} E_w[l][c]`, in logs, max-shifted.
//! - After each E-step: `p = mean_i q_i`, M-step, then the loss
//!   `ELBO / #annotations` with `ELBO = Σ_{annotations (i,w,l)} Σ_c q_i[c] (ln E_w[l][c] + ln
//!   max(p_c, 1e-10)) - Σ_i Σ_c q'_i[c] ln q'_i[c]`, `q' = max(q, 1e-10)` (crowd-kit adds the
//!   prior term once per annotation, not once per item; we keep that). The run stops after
//!   `nIter` iterations or when the loss rises by less than `tol` (`new - old < tol`); the first
//!   iteration never stops. `stopEarly: false` always runs `nIter` (crowd-kit's negative `tol`;
//!   here `tol` must be finite and `>= 0`, and `nIter` at most `limits::MAX_ITERATIONS`).
//!   As in crowd-kit, the returned posteriors are the last E-step's,
//!   clipped below at `1e-10` (not renormalized).
//!
//! Defaults as crowd-kit: `nIter = 100`, `tol = 1e-5`. Consensus = argmax posterior, ties to
//! the lowest class index (crowd-kit `idxmax`), flagged in `tied`.
//!
//! Differences: crowd-kit computes the E-step in base 2 (same result up to rounding); it
//! models only the labels seen in the data, here all `K` classes (a class nobody used gets a
//! prior ~0 and uniform confusion columns, which leaves the other classes' numbers
//! unchanged up to `1e-10` terms). `logLikelihood` (not in crowd-kit) is the observed-data
//! log-likelihood `Σ_i ln Σ_c max(p_c,1e-10) Π E_w[l][c]` at the final parameters.

use serde::{Deserialize, Serialize};

use super::data::{ConsensusRequest, Dataset};
use super::majority::{majority_vote_data, reject_probs};
use crate::engine::probs::argmax_tied;
use crate::error::Result;

/// crowd-kit's `_EPS`.
pub const EPS: f64 = 1e-10;

/// Dawid-Skene options.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct DawidSkeneOptions {
    /// Maximum EM iterations (default 100, as crowd-kit; at most `limits::MAX_ITERATIONS`
    /// when read from a request).
    #[serde(deserialize_with = "crate::engine::limits::de::iterations")]
    pub n_iter: usize,
    /// Stop when the loss gains less than this (default 1e-5, as crowd-kit): finite and
    /// `>= 0`.
    #[serde(deserialize_with = "crate::engine::limits::de::tolerance")]
    pub tol: f64,
    /// `false`: never stop on `tol`, always run `nIter` iterations (what crowd-kit does with
    /// a negative `tol`, which is refused here). Default `true`.
    pub stop_early: bool,
}

impl Default for DawidSkeneOptions {
    fn default() -> Self {
        DawidSkeneOptions {
            n_iter: 100,
            tol: 1e-5,
            stop_early: true,
        }
    }
}

/// Dawid-Skene result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct DawidSkeneResponse {
    /// Item ids (row order).
    pub items: Vec<String>,
    /// Annotator ids.
    pub annotators: Vec<String>,
    /// Class names.
    pub classes: Vec<String>,
    /// Consensus (argmax posterior) per item.
    pub consensus_label: Vec<usize>,
    /// Whether the argmax was tied.
    pub tied: Vec<bool>,
    /// Posterior class probabilities, `n x K` row-major.
    pub posteriors: Vec<f64>,
    /// Confusion matrices, `m x K x K`: `[annotator][observed][true]` = P(observed | true).
    pub confusion: Vec<f64>,
    /// Class priors.
    pub priors: Vec<f64>,
    /// EM iterations run.
    #[serde(deserialize_with = "crate::engine::limits::de::iterations")]
    pub iterations: usize,
    /// Whether the run stopped on `tol` before `nIter`.
    pub converged: bool,
    /// crowd-kit's `loss_history_`: ELBO per annotation after each iteration.
    pub loss_history: Vec<f64>,
    /// Observed-data log-likelihood (natural log) at the final parameters.
    pub log_likelihood: f64,
}

struct Model<'a> {
    d: &'a Dataset,
    k: usize,
    /// `observed[w*k + l]`: annotator `w` used label `l`.
    observed: Vec<bool>,
}

impl Model<'_> {
    fn m_step(&self, q: &[f64], e: &mut [f64]) {
        let (k, kk) = (self.k, self.k * self.k);
        e.iter_mut().for_each(|v| *v = 0.0);
        for i in 0..self.d.n() {
            let qi = &q[i * k..(i + 1) * k];
            for &(w, l) in self.d.item(i) {
                let row = &mut e[w * kk + l * k..w * kk + (l + 1) * k];
                for (r, &v) in row.iter_mut().zip(qi) {
                    *r += v;
                }
            }
        }
        for w in 0..self.d.m() {
            let ew = &mut e[w * kk..(w + 1) * kk];
            for l in 0..k {
                if self.observed[w * k + l] {
                    for v in &mut ew[l * k..(l + 1) * k] {
                        *v = v.max(EPS);
                    }
                }
            }
            for c in 0..k {
                let s: f64 = (0..k).map(|l| ew[l * k + c]).sum();
                if s > 0.0 {
                    for l in 0..k {
                        ew[l * k + c] /= s;
                    }
                }
            }
        }
    }

    /// Log of the confusion entries (only observed entries are ever read; others -inf).
    fn log_e(e: &[f64]) -> Vec<f64> {
        e.iter()
            .map(|&v| if v > 0.0 { v.ln() } else { f64::NEG_INFINITY })
            .collect()
    }

    /// Unnormalized log joint per item and class, into `ll`.
    fn item_ll(&self, i: usize, log_prior: &[f64], le: &[f64], ll: &mut [f64]) {
        let (k, kk) = (self.k, self.k * self.k);
        ll.copy_from_slice(log_prior);
        for &(w, l) in self.d.item(i) {
            let row = &le[w * kk + l * k..w * kk + (l + 1) * k];
            for (a, &b) in ll.iter_mut().zip(row) {
                *a += b;
            }
        }
    }

    /// Posteriors into `q` and their logs into `lq` (reused by the ELBO's entropy).
    fn e_step(&self, priors: &[f64], le: &[f64], q: &mut [f64], lq: &mut [f64]) {
        let k = self.k;
        let log_prior: Vec<f64> = priors.iter().map(|&p| p.max(EPS).ln()).collect();
        let mut ll = vec![0.0; k];
        for i in 0..self.d.n() {
            self.item_ll(i, &log_prior, le, &mut ll);
            let mx = ll.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let qi = &mut q[i * k..(i + 1) * k];
            let mut s = 0.0;
            for (o, &v) in qi.iter_mut().zip(&ll) {
                *o = (v - mx).exp();
                s += *o;
            }
            let ls = s.ln();
            for o in qi.iter_mut() {
                *o /= s;
            }
            for (o, &v) in lq[i * k..(i + 1) * k].iter_mut().zip(&ll) {
                *o = v - mx - ls;
            }
        }
    }

    fn elbo(&self, q: &[f64], lq: &[f64], priors: &[f64], le: &[f64]) -> f64 {
        let (k, kk) = (self.k, self.k * self.k);
        let log_prior: Vec<f64> = priors.iter().map(|&p| p.max(EPS).ln()).collect();
        let mut joint = 0.0;
        for i in 0..self.d.n() {
            let qi = &q[i * k..(i + 1) * k];
            for &(w, l) in self.d.item(i) {
                let row = &le[w * kk + l * k..w * kk + (l + 1) * k];
                for c in 0..k {
                    // q = 0 with ln E = -inf contributes 0 (pandas: 0 * -inf = nan, skipped by sum)
                    if qi[c] != 0.0 {
                        joint += qi[c] * (row[c] + log_prior[c]);
                    }
                }
            }
        }
        let eps_term = EPS * EPS.ln();
        let entropy: f64 = -q
            .iter()
            .zip(lq)
            .map(|(&v, &lv)| if v >= EPS { v * lv } else { eps_term })
            .sum::<f64>();
        joint + entropy
    }

    fn log_likelihood(&self, priors: &[f64], le: &[f64]) -> f64 {
        let k = self.k;
        let log_prior: Vec<f64> = priors.iter().map(|&p| p.max(EPS).ln()).collect();
        let mut ll = vec![0.0; k];
        let mut total = 0.0;
        for i in 0..self.d.n() {
            self.item_ll(i, &log_prior, le, &mut ll);
            let mx = ll.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            total += mx + ll.iter().map(|&v| (v - mx).exp()).sum::<f64>().ln();
        }
        total
    }
}

fn mean_rows(q: &[f64], n: usize, k: usize) -> Vec<f64> {
    let mut p = vec![0.0; k];
    for row in q.chunks_exact(k) {
        for (a, &b) in p.iter_mut().zip(row) {
            *a += b;
        }
    }
    p.iter_mut().for_each(|v| *v /= n as f64);
    p
}

/// Dawid-Skene on a validated dataset.
pub fn dawid_skene_data(d: &Dataset, opts: &DawidSkeneOptions) -> Result<DawidSkeneResponse> {
    crate::engine::limits::tolerance("tol", opts.tol)?;
    crate::engine::limits::iterations("nIter", opts.n_iter as u64)?;
    let (n, k, m) = (d.n(), d.k(), d.m());
    let mut observed = vec![false; m * k];
    for &(_, w, l) in &d.obs {
        observed[w * k + l] = true;
    }
    let model = Model { d, k, observed };
    let mut q = majority_vote_data(d).probabilities;
    let mut lq = vec![0.0; q.len()];
    let mut priors = mean_rows(&q, n, k);
    let mut e = vec![0.0; m * k * k];
    model.m_step(&q, &mut e);
    let mut le = Model::log_e(&e);
    let mut loss = f64::NEG_INFINITY;
    let mut history = Vec::new();
    let mut converged = false;
    let n_ann = d.obs.len() as f64;
    for _ in 0..opts.n_iter {
        model.e_step(&priors, &le, &mut q, &mut lq);
        priors = mean_rows(&q, n, k);
        model.m_step(&q, &mut e);
        le = Model::log_e(&e);
        let new_loss = model.elbo(&q, &lq, &priors, &le) / n_ann;
        history.push(new_loss);
        // crowd-kit clips the posteriors in place while computing the ELBO
        q.iter_mut().for_each(|v| *v = v.max(EPS));
        if opts.stop_early && new_loss - loss < opts.tol {
            converged = true;
            break;
        }
        loss = new_loss;
    }
    let mut consensus = Vec::with_capacity(n);
    let mut tied = Vec::with_capacity(n);
    for row in q.chunks_exact(k) {
        let (c, t) = argmax_tied(row);
        consensus.push(c);
        tied.push(t);
    }
    let log_likelihood = model.log_likelihood(&priors, &le);
    Ok(DawidSkeneResponse {
        items: d.items.clone(),
        annotators: d.annotators.clone(),
        classes: d.classes.clone(),
        consensus_label: consensus,
        tied,
        posteriors: q,
        confusion: e,
        priors,
        iterations: history.len(),
        converged,
        loss_history: history,
        log_likelihood,
    })
}

/// Dawid-Skene for a request (model probabilities are refused).
pub fn dawid_skene(req: &ConsensusRequest<DawidSkeneOptions>) -> Result<DawidSkeneResponse> {
    reject_probs(req, "Dawid-Skene")?;
    dawid_skene_data(&Dataset::build(req)?, &req.options)
}

#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
#[allow(clippy::needless_range_loop)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn recovers_a_good_annotator() {
        // a and d always right, b always says 0, c random-ish
        let truth = [0, 1, 2, 1, 0, 2, 2, 1, 0, 1];
        let c_labels = [1, 1, 0, 2, 0, 1, 2, 0, 1, 1];
        let mut anns = Vec::new();
        for (i, &t) in truth.iter().enumerate() {
            anns.push((format!("{i}"), "a".to_string(), t));
            anns.push((format!("{i}"), "b".to_string(), 0));
            anns.push((format!("{i}"), "c".to_string(), c_labels[i]));
            anns.push((format!("{i}"), "d".to_string(), t));
        }
        let r = dawid_skene(&request(&anns, 3)).unwrap();
        assert_eq!(r.consensus_label, truth.to_vec());
        assert!(r.iterations >= 1 && r.iterations <= 100);
        for row in r.posteriors.chunks(3) {
            assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-6);
        }
        // columns of each confusion matrix sum to 1
        for w in 0..4 {
            for c in 0..3 {
                let s: f64 = (0..3).map(|l| r.confusion[w * 9 + l * 3 + c]).sum();
                assert!((s - 1.0).abs() < 1e-9);
            }
        }
        assert!(r.log_likelihood < 0.0);
        // loss is non-decreasing (EM)
        for w in r.loss_history.windows(2) {
            assert!(w[1] >= w[0] - 1e-9, "{:?}", r.loss_history);
        }
    }

    #[test]
    fn zero_iterations_is_majority_vote() {
        let mut req = request(&[("x", "a", 1), ("x", "b", 1), ("y", "a", 0)], 2);
        req.options = DawidSkeneOptions {
            n_iter: 0,
            tol: 1e-5,
            stop_early: true,
        };
        let r = dawid_skene(&req).unwrap();
        assert_eq!(r.iterations, 0);
        assert_eq!(r.posteriors, vec![0.0, 1.0, 1.0, 0.0]);
        let mut req = request::<_, DawidSkeneOptions>(&[("x", "a", 1)], 2);
        req.options.tol = f64::NAN;
        assert_eq!(dawid_skene(&req).unwrap_err().code(), "invalid_options");
        let mut req = request::<_, DawidSkeneOptions>(&[("x", "a", 1)], 2);
        req.pred_probs = Some(vec![0.5, 0.5]);
        assert_eq!(dawid_skene(&req).unwrap_err().code(), "invalid_options");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn permutation_equivariant(data in random_annotations(2..30, 2..5, 2..5)) {
            let (anns, k, perm) = data;
            let mut req = request(&anns, k);
            req.options = DawidSkeneOptions { n_iter: 20, tol: 0.0, stop_early: false };
            let mut preq = request(&permute(&anns, &perm), k);
            preq.options = req.options;
            let a = dawid_skene(&req).unwrap();
            let b = dawid_skene(&preq).unwrap();
            prop_assert_eq!(a.iterations, b.iterations);
            for i in 0..a.items.len() {
                for c in 0..k {
                    let (x, y) = (a.posteriors[i * k + c], b.posteriors[i * k + perm[c]]);
                    prop_assert!((x - y).abs() < 1e-7, "{} vs {}", x, y);
                }
                let row = &a.posteriors[i * k..(i + 1) * k];
                let mut s = row.to_vec();
                s.sort_by(|x, y| y.total_cmp(x));
                if s[0] - s[1] > 1e-6 {
                    prop_assert_eq!(perm[a.consensus_label[i]], b.consensus_label[i]);
                }
            }
            for (x, y) in a.loss_history.iter().zip(&b.loss_history) {
                prop_assert!((x - y).abs() < 1e-9);
            }
        }
    }
}
