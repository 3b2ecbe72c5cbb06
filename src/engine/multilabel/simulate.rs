//! A review simulation on multi-reader reads: how many images must a reviewer check before
//! every finding's labels reach an accuracy target, if the order comes from a model?
//!
//! Set-up, for every image with at least three reads (reads in input order):
//! - **given** labels: the first read (what a single reader delivered);
//! - **truth**: the Dawid-Skene consensus (`q >= 0.5`) of the second and third reads, fitted
//!   on those reads only (so the given reader never votes on the truth);
//! - **model-like probabilities** (no images here, so no real model): with `c_ij` the number
//!   of the first three readers listing finding `j` and `pi_j` the truth prevalence,
//!   `p_ij = sigmoid(logit((c_ij + pi_j) / 4) + noise * e_ij)`, `e_ij` standard normal from a
//!   seeded generator (Box-Muller on SplitMix64). It behaves like a model trained on consensus
//!   labels: informative, imperfect, never shown the truth itself, and it shares the given
//!   reader's opinion as one of three votes (as a model trained on such reads would).
//!
//! A review corrects all findings of one image to the truth. The per-finding accuracy of the
//! labels is `1 - wrong_j / n`; the target is reached when every finding has
//! `wrong_j <= floor((1 - target) n)`. Orders compared: uniform random (mean over
//! `randomRepeats` seeds), the multi-label label-quality score (self-confidence + EMA,
//! lowest first), the model's probability that some given finding is wrong
//! (`1 - Π_j P(given_j correct)`, highest first), and the oracle, which knows the truth
//! (greedy set cover: next the image fixing the most findings still above their allowance;
//! an upper bound on the minimum number of reviews); the exact minimum is at least `max_j (wrong_j - allowed_j)`, reported as `oracleLowerBound`.

use serde::{Deserialize, Serialize};

use super::consensus::{ml_consensus, MlConsensusOptions, MlConsensusRequest, MlRead};
use super::label_issues::{label_quality_scores, MlQualityOptions};
use super::MlProbs;
use crate::engine::consensus::Label;
use crate::engine::probs::SplitMix64;
use crate::error::{err, Result};

fn default_target() -> f64 {
    0.99
}
fn default_noise() -> f64 {
    1.0
}
fn default_repeats() -> usize {
    5
}

/// Options of [`simulate_reviews`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SimulateOptions {
    /// Per-finding accuracy target in `(0, 1]` (default 0.99).
    #[serde(default = "default_target")]
    pub target: f64,
    /// Standard deviation of the logit noise of the model-like probabilities (default 1).
    #[serde(default = "default_noise")]
    pub noise: f64,
    /// Seed of the noise and of the random orders (default 0).
    #[serde(default)]
    pub seed: u64,
    /// Random orders averaged (default 5).
    #[serde(default = "default_repeats")]
    #[serde(deserialize_with = "crate::engine::limits::de::iterations")]
    pub random_repeats: usize,
}

impl Default for SimulateOptions {
    fn default() -> Self {
        SimulateOptions {
            target: 0.99,
            noise: 1.0,
            seed: 0,
            random_repeats: 5,
        }
    }
}

/// Request of [`simulate_reviews`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SimulateRequest {
    /// Reads (image, reader, findings); images need at least three.
    pub reads: Vec<MlRead>,
    /// Finding names.
    #[serde(default)]
    pub findings: Option<Vec<String>>,
    /// Number of findings when names are not given.
    #[serde(default)]
    #[serde(deserialize_with = "crate::engine::limits::de::classes")]
    pub num_findings: Option<usize>,
    /// Options.
    #[serde(default)]
    pub options: SimulateOptions,
}

/// One finding's starting point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SimFinding {
    /// Name.
    pub name: String,
    /// Images where the truth has it.
    pub truth_positives: usize,
    /// Given labels wrong at the start.
    pub wrong: usize,
    /// Wrong labels allowed at the target.
    pub allowed: usize,
    /// Starting accuracy of the given labels.
    pub accuracy: f64,
}

/// Reviews needed by one ordering.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SimOrder {
    /// Ordering.
    pub name: String,
    /// Reviews to reach the target (mean for random).
    pub reviews: f64,
    /// `reviews / images`.
    pub fraction: f64,
    /// `reviews / oracle reviews`.
    pub vs_oracle: f64,
}

/// Result of [`simulate_reviews`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SimulateResponse {
    /// Images simulated.
    pub images: usize,
    /// Images with at least one wrong given finding.
    pub images_with_errors: usize,
    /// Target.
    pub target: f64,
    /// Per finding.
    pub findings: Vec<SimFinding>,
    /// Orders, oracle first.
    pub orders: Vec<SimOrder>,
    /// `max_j (wrong_j - allowed_j)`: no order can do with fewer reviews.
    pub oracle_lower_bound: usize,
    /// Mean per-finding ECE of the model-like probabilities against the truth (15 bins).
    pub model_mean_ece: f64,
    /// Mean per-finding accuracy of the model's decisions (`p >= 0.5`) against the truth.
    pub model_accuracy: f64,
}

/// The simulation's draws: uniforms from [`SplitMix64`], normals by Box-Muller.
struct Rng(SplitMix64);
impl Rng {
    fn next(&mut self) -> f64 {
        self.0.next_f64()
    }
    fn normal(&mut self) -> f64 {
        let u1 = self.next().max(f64::MIN_POSITIVE);
        let u2 = self.next();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
    fn below(&mut self, n: usize) -> usize {
        ((self.next() * n as f64) as usize).min(n - 1)
    }
}

/// Reviews (in `order`) until every finding is within its allowance.
fn reviews_needed(order: &[usize], wrong: &[u8], k: usize, allowed: &[usize]) -> usize {
    let mut left: Vec<usize> = (0..k)
        .map(|j| wrong.chunks_exact(k).filter(|r| r[j] == 1).count())
        .collect();
    let mut above = (0..k).filter(|&j| left[j] > allowed[j]).count();
    if above == 0 {
        return 0;
    }
    for (t, &i) in order.iter().enumerate() {
        for j in 0..k {
            if wrong[i * k + j] == 1 {
                left[j] -= 1;
                if left[j] == allowed[j] {
                    above -= 1;
                }
            }
        }
        if above == 0 {
            return t + 1;
        }
    }
    order.len()
}

fn oracle_reviews(wrong: &[u8], n: usize, k: usize, allowed: &[usize]) -> usize {
    let mut need: Vec<usize> = (0..k)
        .map(|j| {
            let w = (0..n).filter(|&i| wrong[i * k + j] == 1).count();
            w.saturating_sub(allowed[j])
        })
        .collect();
    let mut done = vec![false; n];
    let mut reviews = 0;
    while need.iter().any(|&v| v > 0) {
        let mut best = (0usize, usize::MAX);
        for i in 0..n {
            if done[i] {
                continue;
            }
            let gain = (0..k)
                .filter(|&j| need[j] > 0 && wrong[i * k + j] == 1)
                .count();
            if gain > best.0 {
                best = (gain, i);
            }
        }
        if best.0 == 0 {
            break;
        }
        let i = best.1;
        done[i] = true;
        reviews += 1;
        for j in 0..k {
            if wrong[i * k + j] == 1 && need[j] > 0 {
                need[j] -= 1;
            }
        }
    }
    reviews
}

/// Run the simulation (see the module docs).
pub fn simulate_reviews(r: &SimulateRequest) -> Result<SimulateResponse> {
    let o = &r.options;
    check_options(o)?;
    let imgs = images_with_three_reads(&r.reads);
    let n = imgs.len();
    if n < 10 {
        return Err(err!(
            InsufficientData,
            "the simulation needs at least 10 images with three reads, got {n}"
        ));
    }
    let (names, truth) = consensus_truth(r, &imgs)?;
    let k = names.len();
    let (given, count) = given_and_counts(&imgs, &names)?;
    // one generator: the noise of the probabilities first, then the random orders
    let mut rng = Rng(SplitMix64::new(o.seed));
    let probs = model_like_probs(&count, &truth, n, k, o.noise, &mut rng);
    let wrong: Vec<u8> = given
        .iter()
        .zip(&truth)
        .map(|(a, b)| (a != b) as u8)
        .collect();
    let allowed: Vec<usize> = (0..k)
        .map(|_| ((1.0 - o.target) * n as f64 + 1e-9).floor() as usize)
        .collect();
    let findings = finding_summaries(&names, &truth, &wrong, &allowed, n);
    let lower = findings
        .iter()
        .map(|f| f.wrong.saturating_sub(f.allowed))
        .max()
        .unwrap_or(0);
    let orders = compare_orders(&probs, &given, &wrong, &allowed, n, k, o, &mut rng)?;
    let (ece, acc) = model_quality(&probs, &truth, n, k)?;
    Ok(SimulateResponse {
        images: n,
        images_with_errors: wrong.chunks_exact(k).filter(|r| r.contains(&1)).count(),
        target: o.target,
        findings,
        orders,
        oracle_lower_bound: lower,
        model_mean_ece: ece,
        model_accuracy: acc,
    })
}

fn check_options(o: &SimulateOptions) -> Result<()> {
    if !(o.target > 0.0 && o.target <= 1.0) {
        return Err(err!(InvalidOptions, "target must be in (0, 1]"));
    }
    if !(o.noise.is_finite() && o.noise >= 0.0) {
        return Err(err!(InvalidOptions, "noise must be >= 0"));
    }
    if o.random_repeats == 0 || o.random_repeats > 1000 {
        return Err(err!(InvalidOptions, "randomRepeats must be in 1..=1000"));
    }
    Ok(())
}

/// The first three reads of every image that has three, images in first-seen order.
fn images_with_three_reads(reads: &[MlRead]) -> Vec<Vec<&MlRead>> {
    let mut index = std::collections::HashMap::new();
    let mut per_image: Vec<Vec<&MlRead>> = Vec::new();
    for rd in reads {
        let i = *index.entry(rd.item.as_str()).or_insert_with(|| {
            per_image.push(Vec::new());
            per_image.len() - 1
        });
        if per_image[i].len() < 3 {
            per_image[i].push(rd);
        }
    }
    per_image.retain(|v| v.len() == 3);
    per_image
}

/// The truth: Dawid-Skene consensus of reads 2 and 3 only. Returns the finding names and the
/// truth `n x k`.
fn consensus_truth(r: &SimulateRequest, imgs: &[Vec<&MlRead>]) -> Result<(Vec<String>, Vec<u8>)> {
    let others: Vec<MlRead> = imgs
        .iter()
        .flat_map(|v| v[1..].iter().map(|r| (*r).clone()))
        .collect();
    let item_ids: Vec<String> = imgs.iter().map(|v| v[0].item.clone()).collect();
    let cons = ml_consensus(&MlConsensusRequest {
        reads: others,
        findings: r.findings.clone(),
        num_findings: r.num_findings,
        items: Some(item_ids),
        annotators: None,
        options: MlConsensusOptions::default(),
    })?;
    let k = cons.findings.len();
    let mut truth = vec![0u8; imgs.len() * k];
    for (i, s) in cons.dawid_skene.iter().enumerate() {
        for &j in s {
            truth[i * k + j] = 1;
        }
    }
    Ok((cons.findings, truth))
}

/// The given labels (first read) and, per image and finding, how many of the three readers
/// listed it.
fn given_and_counts(imgs: &[Vec<&MlRead>], names: &[String]) -> Result<(Vec<u8>, Vec<f64>)> {
    let (n, k) = (imgs.len(), names.len());
    let idx = |l: &Label| -> Result<usize> {
        match l {
            Label::Index(v) => Ok(*v as usize),
            Label::Name(s) => names
                .iter()
                .position(|x| x == s)
                .ok_or_else(|| err!(InvalidInput, "finding '{s}' is not listed")),
        }
    };
    let mut given = vec![0u8; n * k];
    let mut count = vec![0.0f64; n * k];
    for (i, v) in imgs.iter().enumerate() {
        for (t, rd) in v.iter().enumerate() {
            for l in &rd.findings {
                let j = idx(l)?;
                if j >= k {
                    return Err(err!(InvalidInput, "finding {j} out of range"));
                }
                count[i * k + j] += 1.0;
                if t == 0 {
                    given[i * k + j] = 1;
                }
            }
        }
    }
    Ok((given, count))
}

/// `p_ij = sigmoid(logit((c_ij + pi_j) / 4) + noise * e_ij)` with `pi_j` the truth prevalence.
fn model_like_probs(
    count: &[f64],
    truth: &[u8],
    n: usize,
    k: usize,
    noise: f64,
    rng: &mut Rng,
) -> Vec<f64> {
    let prev: Vec<f64> = (0..k)
        .map(|j| (0..n).filter(|&i| truth[i * k + j] == 1).count() as f64 / n as f64)
        .collect();
    (0..n * k)
        .map(|x| {
            let p0 = (count[x] + prev[x % k]) / 4.0;
            let z = (p0 / (1.0 - p0)).ln() + noise * rng.normal();
            1.0 / (1.0 + (-z).exp())
        })
        .collect()
}

fn finding_summaries(
    names: &[String],
    truth: &[u8],
    wrong: &[u8],
    allowed: &[usize],
    n: usize,
) -> Vec<SimFinding> {
    let k = names.len();
    (0..k)
        .map(|j| {
            let w = (0..n).filter(|&i| wrong[i * k + j] == 1).count();
            SimFinding {
                name: names[j].clone(),
                truth_positives: (0..n).filter(|&i| truth[i * k + j] == 1).count(),
                wrong: w,
                allowed: allowed[j],
                accuracy: 1.0 - w as f64 / n as f64,
            }
        })
        .collect()
}

/// Reviews needed by each order: oracle, P(some given finding wrong), label quality, and the
/// mean over random permutations.
#[allow(clippy::too_many_arguments)]
fn compare_orders(
    probs: &[f64],
    given: &[u8],
    wrong: &[u8],
    allowed: &[usize],
    n: usize,
    k: usize,
    o: &SimulateOptions,
    rng: &mut Rng,
) -> Result<Vec<SimOrder>> {
    let oracle = oracle_reviews(wrong, n, k, allowed);
    let mp = MlProbs::new(probs, n, k)?;
    let q = label_quality_scores(&mp, given, &MlQualityOptions::default())?;
    let mut by_quality: Vec<usize> = (0..n).collect();
    by_quality.sort_by(|&a, &b| q[a].total_cmp(&q[b]).then(a.cmp(&b)));
    let any_wrong: Vec<f64> = (0..n)
        .map(|i| {
            1.0 - (0..k)
                .map(|j| {
                    let p = probs[i * k + j];
                    if given[i * k + j] == 1 {
                        p
                    } else {
                        1.0 - p
                    }
                })
                .product::<f64>()
        })
        .collect();
    let mut by_any: Vec<usize> = (0..n).collect();
    by_any.sort_by(|&a, &b| any_wrong[b].total_cmp(&any_wrong[a]).then(a.cmp(&b)));
    let mut random_sum = 0.0;
    for _ in 0..o.random_repeats {
        let mut perm: Vec<usize> = (0..n).collect();
        for t in (1..n).rev() {
            perm.swap(t, rng.below(t + 1));
        }
        random_sum += reviews_needed(&perm, wrong, k, allowed) as f64;
    }
    let oracle_f = oracle.max(1) as f64;
    let mk = |name: &str, reviews: f64| SimOrder {
        name: name.to_string(),
        reviews,
        fraction: reviews / n as f64,
        vs_oracle: reviews / oracle_f,
    };
    Ok(vec![
        mk("oracle", oracle as f64),
        mk(
            "pAnyGivenWrong",
            reviews_needed(&by_any, wrong, k, allowed) as f64,
        ),
        mk(
            "labelQuality",
            reviews_needed(&by_quality, wrong, k, allowed) as f64,
        ),
        mk("random", random_sum / o.random_repeats as f64),
    ])
}

/// Mean per-finding ECE (15 bins) and accuracy of the model-like probabilities against the
/// truth.
fn model_quality(probs: &[f64], truth: &[u8], n: usize, k: usize) -> Result<(f64, f64)> {
    let mut ece = 0.0;
    let mut acc = 0.0;
    for j in 0..k {
        let pj: Vec<f64> = (0..n).map(|i| probs[i * k + j]).collect();
        let yj: Vec<u8> = (0..n).map(|i| truth[i * k + j]).collect();
        let m = super::calibration::finding_metrics(&pj, &yj, 15)?;
        ece += m.ece / k as f64;
        acc += m.accuracy / k as f64;
    }
    Ok((ece, acc))
}
