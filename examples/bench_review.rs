//! Human effort under real conditions: several noise settings, three review orders side by
//! side, the certificate's cost, and reviewers who make mistakes.
//!
//! `cargo run --release --no-default-features --example bench_review -- [label-errors dir] [seeds]`
//! (`scripts/bench_effort.sh` runs it; the data directory defaults to `$MEDTRIAGE_SHARED`
//! or `../shared` next to the repository, `/data/label-errors` under it).
//!
//! Settings (per seed the rows are shuffled, then split):
//! - `cifar10s`: 50,000 cross-validated ResNet-18 probabilities on CIFAR-10 train with ~20%
//!   injected uniform noise; 5,000 verified + 45,000 pool, batches of 500;
//! - `pairs`: the 10,000 CIFAR-10 *test* probabilities, the original labels taken as the
//!   truth, noise injected in class pairs (cat<->dog 30%, automobile<->truck 20%,
//!   deer<->horse 15%) plus 2% uniform; 1,000 verified + 9,000 pool, batches of 250;
//! - `pairs-confident`: the same pairs, but an item's flip probability grows as the model is
//!   less sure of its true class (`rate x (0.4 + 3 (1 - p_true))`, capped at 0.9);
//! - `pairs-small`: the `pairs` noise with only 300 verified items + 9,700 pool.
//!
//! Strategies: `uniform` (random order), `self-conf` (lowest model probability of the given
//! label first), `policy-old` (rounds with the noise model off: calibrated self-confidence and
//! the isotonic budgets), `ours` (rounds with the noise model and the sequential audit), and
//! for reference `true-noise`: a static order by the posterior under the noise process as it
//! was injected (the matrix read off all rows for cifar10s), which no order that sees only the
//! model's probabilities and the labels beats in expectation. Each review replaces the item's label with the reviewer's. The **oracle minimum** is the
//! number of wrong labels that must be fixed to reach the target (a reviewer shown only wrong
//! labels). `ours` also runs with reviewer teams: 3 reviewers at 3% error, 3 at 8%, and two at
//! 3% with one drifting from 3% to 15% halfway (after half the perfect run's reviews), with 5%
//! gold items hidden in every batch, second/third reviews routed by `combine_reviews` and the
//! labels combined by the measured accuracies; gold answers count as reviews.
//!
//! Counting: a perfect reviewer works through a batch in its order, so the reviews to a target
//! are counted to the item that reaches it (as for the static orders); a team's are counted to
//! the end of the batch that reaches it (its batch is combined as a whole), which favours the
//! perfect runs: a team's extra reviews are overstated by at most one batch.

#[path = "common/npy.rs"]
mod npy;

use std::path::PathBuf;
use std::time::Instant;

use medtriage::engine::queue::policy::{PolicyConfig, PoolSet, Tier, VerifiedSet};
use medtriage::engine::queue::reviewers::{
    combine_reviews, mix_gold, reviewer_report, CombineRequest, Cusum, ItemReview, MixGoldRequest,
    ReviewedItem, ReviewerOptions, ReviewerReportRequest, ScoredDecision,
};
use medtriage::engine::queue::rounds::{
    plan_round, AuditRecord, PlanOptions, ReviewOutcome, RoundRequest,
};
use medtriage::engine::triage::conformal::SplitMix64;

const K: usize = 10;
const TARGETS: [f64; 2] = [0.99, 0.995];

#[derive(Clone)]
struct Data {
    probs: Vec<f64>,
    truth: Vec<usize>,
    given: Vec<usize>,
}

struct Setting {
    name: &'static str,
    verified: Data,
    pool: Data,
    batch: usize,
    /// The noise process as the simulation injected it (for the reference order).
    noise: Noise,
}

/// How the given labels were made from the true ones.
#[derive(Clone)]
enum Noise {
    /// Class-conditional with this K x K matrix `P(given | true)` (read off all rows).
    Matrix(Vec<f64>),
    /// [`pair_noise`] with `confident`.
    Pairs(bool),
}

impl Noise {
    /// `P(given = g | true = t, model probabilities row)`.
    fn p_given(&self, g: usize, t: usize, row: &[f64]) -> f64 {
        match self {
            Noise::Matrix(m) => m[t * K + g],
            Noise::Pairs(confident) => {
                let (rate, other) = pair_rate(t, row, *confident);
                let flip = if g == other && other != t { rate } else { 0.0 };
                let rest = 1.0 - rate;
                flip + if g == t {
                    rest * 0.98
                } else {
                    rest * 0.02 / (K - 1) as f64
                }
            }
        }
    }
}

/// The reference order: by the posterior P(label wrong) under the true noise process, the
/// model's probabilities as the prior of the true class. No order that sees only the model's
/// probabilities and the given labels does better in expectation (the items are independent
/// given the process); it shows what part of the gap to the oracle no noise model can close.
fn true_noise_order(d: &Data, noise: &Noise) -> Vec<usize> {
    let n = d.truth.len();
    let key: Vec<f64> = (0..n)
        .map(|i| {
            let row = &d.probs[i * K..(i + 1) * K];
            let g = d.given[i];
            let w: Vec<f64> = (0..K).map(|t| row[t] * noise.p_given(g, t, row)).collect();
            let z: f64 = w.iter().sum();
            if z > 0.0 {
                1.0 - w[g] / z
            } else {
                1.0
            }
        })
        .collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| key[b].total_cmp(&key[a]).then(a.cmp(&b)));
    order
}

fn shuffle(n: usize, seed: u64) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..n).collect();
    let mut rng = SplitMix64::new(seed);
    for i in (1..n).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        idx.swap(i, j);
    }
    idx
}

fn take(d: &Data, ids: &[usize]) -> Data {
    let mut probs = Vec::with_capacity(ids.len() * K);
    for &i in ids {
        probs.extend_from_slice(&d.probs[i * K..(i + 1) * K]);
    }
    Data {
        probs,
        truth: ids.iter().map(|&i| d.truth[i]).collect(),
        given: ids.iter().map(|&i| d.given[i]).collect(),
    }
}

const PAIRS: [(usize, usize, f64); 3] = [(3, 5, 0.30), (1, 9, 0.20), (4, 7, 0.15)];

/// Class-pair noise on clean labels; `confident`: the flip probability depends on the model.
/// An item's flip rate within its class pair and the pair's other class (its own class and 0
/// outside the pairs).
fn pair_rate(t: usize, row: &[f64], confident: bool) -> (f64, usize) {
    let mut rate = 0.0;
    let mut other = t;
    for &(a, b, r) in &PAIRS {
        if t == a || t == b {
            rate = r;
            other = if t == a { b } else { a };
        }
    }
    if confident {
        rate = (rate * (0.4 + 3.0 * (1.0 - row[t]))).min(0.9);
    }
    (rate, other)
}

fn pair_noise(probs: &[f64], truth: &[usize], confident: bool, seed: u64) -> Vec<usize> {
    let mut rng = SplitMix64::new(seed);
    truth
        .iter()
        .enumerate()
        .map(|(i, &t)| {
            let row = &probs[i * K..(i + 1) * K];
            let (rate, other) = pair_rate(t, row, confident);
            let u = rng.next_f64();
            if u < rate {
                other
            } else if rng.next_f64() < 0.02 {
                (t + 1 + (rng.next_u64() % (K as u64 - 1)) as usize) % K
            } else {
                t
            }
        })
        .collect()
}

fn settings(dir: &std::path::Path, seed: u64) -> Vec<Setting> {
    let mut out = Vec::new();
    if let (Some((_, p)), Some(s), Some(y)) = (
        npy::npy(&dir.join("cifar10s_resnet18_pred_probs.npy")),
        npy::labels(&dir.join("cifar10s_resnet18_noisy_labels.npy")),
        npy::labels(&dir.join("cifar10s_resnet18_true_labels.npy")),
    ) {
        let d = Data {
            probs: p,
            truth: y,
            given: s,
        };
        let idx = shuffle(d.truth.len(), 1000 + seed);
        let mut m = vec![0.0; K * K];
        for (&t, &g) in d.truth.iter().zip(&d.given) {
            m[t * K + g] += 1.0;
        }
        for t in 0..K {
            let z: f64 = m[t * K..(t + 1) * K].iter().sum::<f64>().max(1.0);
            m[t * K..(t + 1) * K].iter_mut().for_each(|v| *v /= z);
        }
        out.push(Setting {
            name: "cifar10s",
            verified: take(&d, &idx[..5000]),
            pool: take(&d, &idx[5000..]),
            batch: 500,
            noise: Noise::Matrix(m),
        });
    } else {
        eprintln!("cifar10s_resnet18_* not found under {}", dir.display());
    }
    if let (Some((_, p)), Some(y)) = (
        npy::npy(&dir.join("cifar10_test_pyx.npy")),
        npy::labels(&dir.join("cifar10_test_labels.npy")),
    ) {
        for (name, confident, nv) in [
            ("pairs", false, 1000),
            ("pairs-confident", true, 1000),
            ("pairs-small", false, 300),
        ] {
            let given = pair_noise(&p, &y, confident, 77 + seed);
            let d = Data {
                probs: p.clone(),
                truth: y.clone(),
                given,
            };
            let idx = shuffle(d.truth.len(), 2000 + seed);
            out.push(Setting {
                name,
                verified: take(&d, &idx[..nv]),
                pool: take(&d, &idx[nv..]),
                batch: 250,
                noise: Noise::Pairs(confident),
            });
        }
    } else {
        eprintln!("cifar10_test_* not found under {}", dir.display());
    }
    out
}

fn oracle_min(d: &Data, target: f64) -> usize {
    let n = d.truth.len();
    let correct = d.given.iter().zip(&d.truth).filter(|(a, b)| a == b).count();
    let need = (target * n as f64 - 1e-9).ceil() as usize;
    need.saturating_sub(correct)
}

fn static_reach(order: &[usize], d: &Data) -> [Option<usize>; 2] {
    let n = d.truth.len();
    let mut correct = d.given.iter().zip(&d.truth).filter(|(a, b)| a == b).count();
    let mut out = [None; 2];
    for (r, &i) in order.iter().enumerate() {
        if d.given[i] != d.truth[i] {
            correct += 1;
        }
        for (t, o) in TARGETS.iter().zip(out.iter_mut()) {
            if o.is_none() && correct as f64 >= *t * n as f64 - 1e-9 {
                *o = Some(r + 1);
            }
        }
    }
    out
}

/// A simulated reviewer: wrong with probability `rate` (after `drift_at` total reviews
/// `drift_rate`), and then gives the model's most probable class other than the truth.
#[derive(Clone)]
struct Reviewer {
    id: String,
    rate: f64,
    drift: Option<(usize, f64)>,
    active: bool,
    gold_seen: Vec<usize>,
    rng: SplitMix64,
}

impl Reviewer {
    fn label(&mut self, probs: &[f64], truth: usize, now: usize) -> usize {
        let rate = match self.drift {
            Some((at, r)) if now >= at => r,
            _ => self.rate,
        };
        if self.rng.next_f64() < rate {
            let mut best = (truth + 1) % K;
            for c in 0..K {
                if c != truth && probs[c] > probs[best] {
                    best = c;
                }
            }
            best
        } else {
            truth
        }
    }
}

#[derive(Default, Clone)]
struct Run {
    reach: [Option<usize>; 2],
    stop: Option<(usize, f64, f64)>,
    first_audit_at: Option<usize>,
    audit_reviews: usize,
    audits: usize,
    worst_auto: f64,
    auto_over: usize,
    rounds: usize,
    gold: usize,
    extra_reviews: usize,
    final_acc: f64,
    alarm_delay: Option<(usize, usize)>,
    false_alarms: usize,
    decisions: usize,
    /// Scored decisions (gold, and consensus items) the reviewer report saw at the end.
    scored: usize,
    secs: f64,
}

struct Team {
    reviewers: Vec<Reviewer>,
    gold_share: f64,
}

fn run_rounds(st: &Setting, seed: u64, noise_model: bool, team: Option<Team>) -> Run {
    let t0 = Instant::now();
    let n = st.pool.truth.len();
    let mut options = PlanOptions {
        seed,
        batch_size: st.batch,
        ..PlanOptions::default()
    };
    options.noise_model.enabled = noise_model;
    options.stopping.sequential = noise_model;
    let mut req = RoundRequest {
        k: K,
        verified: VerifiedSet {
            pred_probs: st.verified.probs.clone(),
            n: st.verified.truth.len(),
            labels: st.verified.truth.clone(),
            given_labels: Some(st.verified.given.iter().map(|&v| v as i64).collect()),
            outlier_scores: None,
        },
        pool: PoolSet {
            pred_probs: st.pool.probs.clone(),
            n,
            given_labels: Some(st.pool.given.iter().map(|&v| v as i64).collect()),
            outlier_scores: None,
            agreement: None,
            duplicate_of_verified: None,
            failed: Vec::new(),
        },
        reviewed: Vec::new(),
        audits: Vec::new(),
        policy: PolicyConfig::default(),
        options,
        embeddings: None,
        d: None,
        verified_embeddings: None,
    };
    let mut label = st.pool.given.clone();
    let mut reviewed = vec![false; n];
    let mut correct = label
        .iter()
        .zip(&st.pool.truth)
        .filter(|(a, b)| a == b)
        .count();
    let mut run = Run::default();
    let mut team = team;
    let mut scored: Vec<ScoredDecision> = Vec::new();
    let mut decisions = 0usize; // every reviewer decision, gold included
    let mut alarms_seen: std::collections::HashMap<String, usize> = Default::default();
    let mut rr = 0usize; // round-robin cursor
    let ropts = ReviewerOptions::default();
    let gold_pool: Vec<usize> = (0..st.verified.truth.len()).collect();
    loop {
        let plan = match plan_round(&req) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("{} seed {seed}: plan_round failed: {e}", st.name);
                break;
            }
        };
        run.rounds += 1;
        let (mut acc, mut wrong) = (0usize, 0usize);
        let mut expert = vec![false; 0];
        if team.is_some() {
            expert = vec![false; n];
        }
        for it in &plan.tiers.items {
            if it.tier == Tier::AutoAccept {
                acc += 1;
                if it.predicted != Some(st.pool.truth[it.index]) {
                    wrong += 1;
                }
            }
            if it.tier == Tier::ExpertReview && !expert.is_empty() {
                expert[it.index] = true;
            }
        }
        if acc > 0 {
            let e = wrong as f64 / acc as f64;
            run.worst_auto = run.worst_auto.max(e);
            if e > 0.01 {
                run.auto_over += 1;
            }
        }
        if plan.stop && run.stop.is_none() {
            run.stop = Some((
                decisions.max(req.reviewed.len()),
                correct as f64 / n as f64,
                plan.estimate.certified_error_rate.unwrap_or(f64::NAN),
            ));
        }
        // what to review now
        let mut audit_step: Option<(usize, usize, f64, bool)> = None;
        let todo: Vec<usize> = if let (Some(a), None) = (&plan.audit, run.stop) {
            if run.first_audit_at.is_none() {
                run.first_audit_at = Some(decisions.max(req.reviewed.len()));
            }
            audit_step = Some((a.number, a.remainder_size, a.estimated_rate, a.sequential));
            a.indices.clone()
        } else if !plan.batch.is_empty() {
            plan.batch.clone()
        } else {
            let mut t: Vec<usize> = plan
                .tiers
                .order
                .iter()
                .copied()
                .filter(|&i| !reviewed[i])
                .take(st.batch)
                .collect();
            if t.is_empty() {
                let mut rest: Vec<(f64, usize)> = plan
                    .tiers
                    .items
                    .iter()
                    .filter(|it| !reviewed[it.index])
                    .map(|it| (it.priority.unwrap_or(1.0), it.index))
                    .collect();
                rest.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
                t = rest.iter().take(st.batch).map(|x| x.1).collect();
            }
            t
        };
        if todo.is_empty() {
            break;
        }
        // review them
        let mut outcome: Vec<(usize, usize)> = Vec::with_capacity(todo.len());
        match team.as_mut() {
            None => {
                // a perfect reviewer goes through the batch in its order; the decisions are
                // counted one by one below, so a target is reached mid-batch where it is
                for &i in &todo {
                    outcome.push((i, st.pool.truth[i]));
                }
            }
            Some(tm) => {
                let active: Vec<usize> = (0..tm.reviewers.len())
                    .filter(|&r| tm.reviewers[r].active)
                    .collect();
                // first reviews: round robin, each reviewer's share mixed with gold
                let mut share: Vec<Vec<usize>> = vec![Vec::new(); tm.reviewers.len()];
                for &i in &todo {
                    share[active[rr % active.len()]].push(i);
                    rr += 1;
                }
                let mut reviews: std::collections::HashMap<usize, Vec<ItemReview>> =
                    Default::default();
                for (r, mine) in share.iter().enumerate() {
                    if mine.is_empty() {
                        continue;
                    }
                    let mixed = mix_gold(&MixGoldRequest {
                        batch: mine.clone(),
                        gold: gold_pool.clone(),
                        seen: tm.reviewers[r].gold_seen.clone(),
                        gold_share: tm.gold_share,
                        seed: seed ^ (run.rounds as u64 * 31 + r as u64),
                    })
                    .expect("mix gold");
                    for s in &mixed.slots {
                        decisions += 1;
                        let rv = &mut tm.reviewers[r];
                        if s.gold {
                            let row = &st.verified.probs[s.index * K..(s.index + 1) * K];
                            let t = st.verified.truth[s.index];
                            let l = rv.label(row, t, decisions);
                            rv.gold_seen.push(s.index);
                            scored.push(ScoredDecision {
                                reviewer: rv.id.clone(),
                                truth: t,
                                label: l,
                            });
                            run.gold += 1;
                        } else {
                            let row = &st.pool.probs[s.index * K..(s.index + 1) * K];
                            let l = rv.label(row, st.pool.truth[s.index], decisions);
                            reviews.entry(s.index).or_default().push(ItemReview {
                                reviewer: rv.id.clone(),
                                label: l,
                            });
                        }
                    }
                }
                // further reviews where routing asks for them
                let ids: Vec<String> = active.iter().map(|&r| tm.reviewers[r].id.clone()).collect();
                for _round in 0..2 {
                    let items: Vec<ReviewedItem> = todo
                        .iter()
                        .map(|&i| ReviewedItem {
                            index: i,
                            reviews: reviews[&i].clone(),
                            probs: Some(st.pool.probs[i * K..(i + 1) * K].to_vec()),
                            expert: expert[i],
                        })
                        .collect();
                    let c = combine_reviews(&CombineRequest {
                        k: K,
                        decisions: scored.clone(),
                        reviewers: ids.clone(),
                        items,
                        options: ropts,
                    })
                    .expect("combine");
                    let mut more = false;
                    for it in &c.items {
                        if !it.needs_review {
                            continue;
                        }
                        let next = it.next_reviewer.clone().or_else(|| {
                            ids.iter()
                                .find(|id| reviews[&it.index].iter().all(|r| &r.reviewer != *id))
                                .cloned()
                        });
                        if let Some(id) = next {
                            if let Some(r) = tm.reviewers.iter_mut().find(|r| r.id == id) {
                                decisions += 1;
                                run.extra_reviews += 1;
                                let row = &st.pool.probs[it.index * K..(it.index + 1) * K];
                                let l = r.label(row, st.pool.truth[it.index], decisions);
                                if let Some(v) = reviews.get_mut(&it.index) {
                                    v.push(ItemReview {
                                        reviewer: id.clone(),
                                        label: l,
                                    });
                                }
                                more = true;
                            }
                        }
                    }
                    if !more {
                        break;
                    }
                }
                let items: Vec<ReviewedItem> = todo
                    .iter()
                    .map(|&i| ReviewedItem {
                        index: i,
                        reviews: reviews[&i].clone(),
                        probs: Some(st.pool.probs[i * K..(i + 1) * K].to_vec()),
                        expert: expert[i],
                    })
                    .collect();
                let c = combine_reviews(&CombineRequest {
                    k: K,
                    decisions: scored.clone(),
                    reviewers: ids.clone(),
                    items,
                    options: ropts,
                })
                .expect("combine");
                for it in &c.items {
                    outcome.push((it.index, it.label));
                    // an item several reviewers agree on scores their decisions too
                    let rv = &reviews[&it.index];
                    if rv.len() >= 2 && it.confidence >= 0.99 {
                        for r in rv {
                            scored.push(ScoredDecision {
                                reviewer: r.reviewer.clone(),
                                truth: it.label,
                                label: r.label,
                            });
                        }
                    }
                }
                // drift alarm: a new alarm of a reviewer who has drifted is a detection
                // (the reviewer is taken off), any other new alarm a false one
                let rep = reviewer_report(&ReviewerReportRequest {
                    k: K,
                    decisions: scored.clone(),
                    options: ropts,
                })
                .expect("report");
                for s in &rep.reviewers {
                    let Some(r) = tm.reviewers.iter_mut().find(|r| r.id == s.reviewer) else {
                        continue;
                    };
                    let seen = alarms_seen.entry(r.id.clone()).or_insert(0);
                    let new = s.drift.alarms_at.len().saturating_sub(*seen);
                    *seen = s.drift.alarms_at.len();
                    if new == 0 || !r.active {
                        continue;
                    }
                    match r.drift {
                        Some((at, _)) if decisions >= at => {
                            run.alarm_delay = Some((s.overall.n, decisions - at));
                            r.active = false;
                        }
                        _ => run.false_alarms += new,
                    }
                }
            }
        }
        let mut audit_wrong = 0;
        let perfect = team.is_none();
        for &(i, l) in &outcome {
            if perfect {
                decisions += 1;
            }
            if label[i] != l && audit_step.is_some() {
                audit_wrong += 1;
            }
            let was = label[i] == st.pool.truth[i];
            let now = l == st.pool.truth[i];
            if !was && now {
                correct += 1;
            } else if was && !now {
                correct -= 1;
            }
            label[i] = l;
            reviewed[i] = true;
            req.reviewed.push(ReviewOutcome { index: i, label: l });
            let acc = correct as f64 / n as f64;
            for (t, o) in TARGETS.iter().zip(run.reach.iter_mut()) {
                if o.is_none() && acc >= *t - 1e-12 {
                    *o = Some(decisions.max(req.reviewed.len()));
                }
            }
        }
        if let Some((number, remainder_size, estimated_rate, sequential)) = audit_step {
            run.audit_reviews += todo.len();
            if sequential {
                if number == req.audits.len() {
                    if let Some(ix) = req.audits.last_mut().and_then(|a| a.indices.as_mut()) {
                        ix.extend_from_slice(&todo);
                    }
                } else {
                    run.audits += 1;
                    req.audits.push(AuditRecord {
                        remainder_size,
                        sampled: 0,
                        wrong: 0,
                        estimated_rate,
                        indices: Some(todo.clone()),
                    });
                }
            } else {
                run.audits += 1;
                req.audits.push(AuditRecord {
                    remainder_size,
                    sampled: todo.len(),
                    wrong: audit_wrong,
                    estimated_rate,
                    indices: None,
                });
            }
        }
        let acc = correct as f64 / n as f64;
        if acc >= 0.9995 && run.reach[1].is_some() && run.stop.is_some() {
            break;
        }
        if run.stop.is_some() && run.reach[1].is_some() && team.is_some() {
            break;
        }
        if req.reviewed.len() >= n {
            break;
        }
    }
    run.decisions = decisions.max(req.reviewed.len());
    run.scored = scored.len();
    run.final_acc = correct as f64 / n as f64;
    run.secs = t0.elapsed().as_secs_f64();
    run
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

fn fmt_reach(v: &[Option<usize>], oracle: &[usize]) -> String {
    if v.iter().any(|x| x.is_none()) {
        return format!(
            "not reached ({} of {})",
            v.iter().filter(|x| x.is_none()).count(),
            v.len()
        );
    }
    let r: Vec<f64> = v
        .iter()
        .zip(oracle)
        .map(|(a, &o)| a.unwrap_or(0) as f64 / o.max(1) as f64)
        .collect();
    let m = mean(&v.iter().map(|x| x.unwrap_or(0) as f64).collect::<Vec<_>>());
    let (lo, hi) = r
        .iter()
        .fold((f64::MAX, f64::MIN), |a, &x| (a.0.min(x), a.1.max(x)));
    format!("{m:>7.0} = {:.3}x ({lo:.3}-{hi:.3})", mean(&r))
}

/// The drift alarm on long streams: false alarms per 10,000 scored decisions at 3% error
/// (the in-control level is 5%), and the delay after a jump from 3% to 15%.
fn drift_stream(opts: &ReviewerOptions) -> (f64, f64, usize) {
    let mut rng = SplitMix64::new(99);
    let (mut fa, mut total, mut delays) = (0usize, 0usize, Vec::new());
    for _ in 0..200 {
        let mut c = Cusum::new(
            opts.acceptable_error_rate,
            opts.alarm_error_rate,
            opts.alarm_alpha,
        );
        for _ in 0..5000 {
            total += 1;
            if c.push(rng.next_f64() < 0.03) {
                fa += 1;
            }
        }
        let mut t = 0;
        loop {
            t += 1;
            if c.push(rng.next_f64() < 0.15) || t > 100_000 {
                break;
            }
        }
        delays.push(t);
    }
    delays.sort();
    (
        fa as f64 * 10_000.0 / total as f64,
        mean(&delays.iter().map(|&d| d as f64).collect::<Vec<_>>()),
        delays[delays.len() * 9 / 10],
    )
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = PathBuf::from(args.get(1).cloned().unwrap_or_else(|| {
        let shared = std::env::var("MEDTRIAGE_SHARED")
            .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../shared").to_string());
        format!("{shared}/data/label-errors")
    }));
    let seeds: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(2);
    let only: Option<String> = std::env::var("EFFORT_SETTINGS").ok();
    let teams_on = std::env::var("EFFORT_TEAMS").map_or(true, |v| v != "0");
    let names = ["uniform", "self-conf", "policy-old", "ours", "true-noise"];
    let team_names = ["3% x3", "8% x3", "drift"];
    println!("data: {}; {seeds} seeds", dir.display());
    let first = settings(&dir, 0);
    if first.is_empty() {
        std::process::exit(2);
    }
    for si in 0..first.len() {
        let name = first[si].name;
        if only
            .as_ref()
            .is_some_and(|o| !o.split(',').any(|x| x == name))
        {
            continue;
        }
        let mut reach: Vec<Vec<[Option<usize>; 2]>> = vec![Vec::new(); 5];
        let mut oracle: [Vec<usize>; 2] = [Vec::new(), Vec::new()];
        let mut ours_runs: Vec<Run> = Vec::new();
        let mut team_runs: Vec<Vec<Run>> = vec![Vec::new(); 3];
        let mut noise_rate = Vec::new();
        for seed in 0..seeds {
            let all = settings(&dir, seed);
            let st = &all[si];
            let n = st.pool.truth.len();
            for (t, o) in TARGETS.iter().zip(oracle.iter_mut()) {
                o.push(oracle_min(&st.pool, *t));
            }
            noise_rate.push(
                st.pool
                    .given
                    .iter()
                    .zip(&st.pool.truth)
                    .filter(|(a, b)| a != b)
                    .count() as f64
                    / n as f64,
            );
            reach[0].push(static_reach(&shuffle(n, 7 + seed), &st.pool));
            let mut by_sc: Vec<usize> = (0..n).collect();
            by_sc.sort_by(|&a, &b| {
                st.pool.probs[a * K + st.pool.given[a]]
                    .total_cmp(&st.pool.probs[b * K + st.pool.given[b]])
                    .then(a.cmp(&b))
            });
            reach[1].push(static_reach(&by_sc, &st.pool));
            let old = run_rounds(st, seed, false, None);
            reach[2].push(old.reach);
            let ours = run_rounds(st, seed, true, None);
            reach[3].push(ours.reach);
            reach[4].push(static_reach(
                &true_noise_order(&st.pool, &st.noise),
                &st.pool,
            ));
            eprintln!(
                "{name} seed {seed}: policy-old {:.1} s, ours {:.1} s ({} rounds)",
                old.secs, ours.secs, ours.rounds
            );
            if teams_on {
                let half = ours.stop.map_or(n / 10, |s| s.0) / 2;
                for (ti, tr) in team_runs.iter_mut().enumerate() {
                    let mk = |id: &str, rate: f64, drift: Option<(usize, f64)>, s: u64| Reviewer {
                        id: id.into(),
                        rate,
                        drift,
                        active: true,
                        gold_seen: Vec::new(),
                        rng: SplitMix64::new(s),
                    };
                    let reviewers = match ti {
                        0 => vec![
                            mk("a", 0.03, None, seed * 7 + 1),
                            mk("b", 0.03, None, seed * 7 + 2),
                            mk("c", 0.03, None, seed * 7 + 3),
                        ],
                        1 => vec![
                            mk("a", 0.08, None, seed * 7 + 1),
                            mk("b", 0.08, None, seed * 7 + 2),
                            mk("c", 0.08, None, seed * 7 + 3),
                        ],
                        _ => vec![
                            mk("a", 0.03, None, seed * 7 + 1),
                            mk("b", 0.03, None, seed * 7 + 2),
                            mk("c", 0.03, Some((half, 0.15)), seed * 7 + 3),
                        ],
                    };
                    let r = run_rounds(
                        st,
                        seed,
                        true,
                        Some(Team {
                            reviewers,
                            gold_share: 0.05,
                        }),
                    );
                    eprintln!(
                        "{name} seed {seed}: team {} {:.1} s",
                        team_names[ti], r.secs
                    );
                    tr.push(r);
                }
            }
            ours_runs.push(ours);
        }
        println!(
            "\n== {name}: pool {} ({:.2}% wrong labels), verified {}, batches of {}; oracle minimum to 99% {:.0}, to 99.5% {:.0}",
            first[si].pool.truth.len(),
            100.0 * mean(&noise_rate),
            first[si].verified.truth.len(),
            first[si].batch,
            mean(&oracle[0].iter().map(|&x| x as f64).collect::<Vec<_>>()),
            mean(&oracle[1].iter().map(|&x| x as f64).collect::<Vec<_>>())
        );
        println!(
            "{:<12} {:>36} {:>36}",
            "strategy", "reviews to 99% = x oracle (range)", "to 99.5%"
        );
        for (k, nm) in names.iter().enumerate() {
            let col = |t: usize| reach[k].iter().map(|r| r[t]).collect::<Vec<_>>();
            println!(
                "{nm:<12} {:>36} {:>36}",
                fmt_reach(&col(0), &oracle[0]),
                fmt_reach(&col(1), &oracle[1])
            );
        }
        // certificate
        for (s, r) in ours_runs.iter().enumerate() {
            let (sr, sa, sb) = r.stop.unwrap_or((0, f64::NAN, f64::NAN));
            let before = r.first_audit_at.unwrap_or(0);
            println!(
                "ours seed {s}: stop after {sr} reviews (true accuracy {:.3}%, certified error <= {:.3}%); audits {} with {} reviews = {:.1}% of the {before} reviews before the first audit; stop - reach99 = {}; auto-accept worst error {:.3}% (bound 1%), rounds over the bound {} of {}",
                sa * 100.0,
                sb * 100.0,
                r.audits,
                r.audit_reviews,
                100.0 * r.audit_reviews as f64 / before.max(1) as f64,
                sr as i64 - r.reach[0].map_or(0, |x| x as i64),
                r.worst_auto * 100.0,
                r.auto_over,
                r.rounds
            );
        }
        for (ti, runs) in team_runs.iter().enumerate() {
            if runs.is_empty() {
                continue;
            }
            let col = |t: usize| runs.iter().map(|r| r.reach[t]).collect::<Vec<_>>();
            let extra: Vec<f64> = runs
                .iter()
                .zip(&ours_runs)
                .filter_map(|(a, b)| Some(a.reach[0]? as f64 / b.reach[0]? as f64 - 1.0))
                .collect();
            println!(
                "team {:<7} to 99%: {}; to 99.5%: {}; extra vs perfect reviewers {:+.1}%; gold {:.0}, further reviews {:.0}, final accuracy {:.3}%; auto-accept worst {:.3}% ({} rounds over 1%); stop at {:?}",
                team_names[ti],
                fmt_reach(&col(0), &oracle[0]),
                fmt_reach(&col(1), &oracle[1]),
                100.0 * mean(&extra),
                mean(&runs.iter().map(|r| r.gold as f64).collect::<Vec<_>>()),
                mean(&runs.iter().map(|r| r.extra_reviews as f64).collect::<Vec<_>>()),
                100.0 * mean(&runs.iter().map(|r| r.final_acc).collect::<Vec<_>>()),
                100.0 * runs.iter().map(|r| r.worst_auto).fold(0.0, f64::max),
                runs.iter().map(|r| r.auto_over).sum::<usize>(),
                runs.iter().map(|r| r.stop.map(|s| s.0)).collect::<Vec<_>>()
            );
            // the certificate against the truth: what the reviewers' audit answers certified
            let at_stop: Vec<f64> = runs.iter().filter_map(|r| r.stop.map(|s| s.1)).collect();
            println!(
                "  certified stop: true accuracy {} (mean {:.2}%), certified error <= {}; reviews to the stop {:?}; audit reviews {:?}",
                runs.iter()
                    .map(|r| r.stop.map_or("none".to_string(), |s| format!("{:.2}%", 100.0 * s.1)))
                    .collect::<Vec<_>>()
                    .join(" / "),
                100.0 * mean(&at_stop),
                runs.iter()
                    .map(|r| r.stop.map_or("-".to_string(), |s| format!("{:.2}%", 100.0 * s.2)))
                    .collect::<Vec<_>>()
                    .join(" / "),
                runs.iter().map(|r| r.stop.map(|s| s.0)).collect::<Vec<_>>(),
                runs.iter().map(|r| r.audit_reviews).collect::<Vec<_>>()
            );
            let fa: usize = runs.iter().map(|r| r.false_alarms).sum();
            let dec: usize = runs.iter().map(|r| r.decisions).sum();
            let scored: usize = runs.iter().map(|r| r.scored).sum();
            if ti == 2 {
                println!(
                    "  drift alarm: (scored decisions of the drifting reviewer at the alarm, decisions of the team since the drift began) {:?}",
                    runs.iter().map(|r| r.alarm_delay).collect::<Vec<_>>(),
                );
            }
            // alarms on reviewers who never drifted (at 8% error they are above the
            // acceptable 5%, so there an alarm is not a false one)
            println!(
                "  alarms on reviewers who did not drift: {} in {} decisions = {:.2} per 10,000 ({} scored decisions)",
                fa,
                dec,
                fa as f64 * 10_000.0 / dec.max(1) as f64,
                scored
            );
        }
    }
    let (fa, md, p90) = drift_stream(&ReviewerOptions::default());
    println!(
        "\ndrift alarm on long streams (CUSUM 5% vs 15%, alarmAlpha 0.001; 200 streams): {fa:.2} false alarms per 10,000 scored decisions at 3% error; after a jump to 15%: mean delay {md:.0} scored decisions, 90th percentile {p90}"
    );
}
