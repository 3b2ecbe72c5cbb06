//! The human-effort benchmark: how many reviews each ordering needs to bring a noisy
//! pool to 99% and 99.5% label accuracy, on real model outputs.
//!
//! `cargo run --release --no-default-features --example bench_effort -- [label-errors dir] [seeds] [curve.csv]`
//!
//! Data: `cifar10s_resnet18_*` (50,000 CIFAR-10 training images, 5-fold cross-validated
//! ResNet-18 probabilities, about 20% injected label noise, the clean labels). Per seed the
//! 50,000 rows are shuffled; 5,000 become the verified set (true labels known) and 45,000 the
//! pool, which starts with the noisy labels. A simulated reviewer replaces an item's label by
//! the true one when shown it. Strategies:
//! - `uniform`: random order;
//! - `confidence`: lowest model confidence (max probability) first;
//! - `label-issue`: confident learning's flagged items (lowest self-confidence first), then the
//!   rest by self-confidence;
//! - `policy`: the tiered policy in rounds of 500 (`plan_round`, default policy and stopping
//!   rule: target 1% error certified at delta 0.05), audits included in the review count;
//!   after the stopping rule fires, rounds go on (without audits) to measure 99.5%.
//!
//! Prints, per strategy, the reviews to reach 99% and 99.5% (mean, min, max over seeds, and as
//! a fraction of uniform's), the accuracy-versus-reviews curve, and for the policy: where the
//! stopping rule fired (reviews, true accuracy, certified bound) and the error among
//! auto-accepted items versus the promised alpha on every round of every seed.

#[path = "common/npy.rs"]
mod npy;

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use medtriage::engine::queue::policy::{PolicyConfig, PoolSet, Tier, VerifiedSet};
use medtriage::engine::queue::rounds::{
    plan_round, AuditRecord, PlanOptions, ReviewOutcome, RoundRequest,
};
use medtriage::engine::triage::conformal::SplitMix64;
use medtriage::engine::triage::label_issues::{
    find_label_issues, label_quality_scores, FindOptions, Probs, QualityOptions,
};

const K: usize = 10;
const N_VERIFIED: usize = 5000;
const TARGETS: [f64; 2] = [0.99, 0.995];

struct Split {
    vp: Vec<f64>,
    vy: Vec<usize>,
    vs: Vec<usize>,
    pp: Vec<f64>,
    py: Vec<usize>,
    ps: Vec<usize>,
}

fn split(p: &[f64], s: &[usize], y: &[usize], seed: u64) -> Split {
    let n = y.len();
    let mut idx: Vec<usize> = (0..n).collect();
    let mut rng = SplitMix64::new(seed);
    for i in (1..n).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        idx.swap(i, j);
    }
    let take = |ids: &[usize]| {
        let mut pp = Vec::with_capacity(ids.len() * K);
        for &i in ids {
            pp.extend_from_slice(&p[i * K..(i + 1) * K]);
        }
        (
            pp,
            ids.iter().map(|&i| y[i]).collect::<Vec<_>>(),
            ids.iter().map(|&i| s[i]).collect::<Vec<_>>(),
        )
    };
    let (vp, vy, vs) = take(&idx[..N_VERIFIED]);
    let (pp, py, ps) = take(&idx[N_VERIFIED..]);
    Split {
        vp,
        vy,
        vs,
        pp,
        py,
        ps,
    }
}

/// Reviews needed to reach each target when reviewing in `order` (None: never).
fn reviews_to_reach(
    order: &[usize],
    cur: &[usize],
    truth: &[usize],
    curve: &mut Vec<f64>,
) -> [Option<usize>; 2] {
    let n = truth.len();
    let mut correct = cur.iter().zip(truth).filter(|(a, b)| a == b).count();
    let mut out = [None; 2];
    curve.clear();
    curve.push(correct as f64 / n as f64);
    for (r, &i) in order.iter().enumerate() {
        if cur[i] != truth[i] {
            correct += 1;
        }
        let acc = correct as f64 / n as f64;
        for (t, o) in TARGETS.iter().zip(out.iter_mut()) {
            if o.is_none() && acc >= *t - 1e-12 {
                *o = Some(r + 1);
            }
        }
        curve.push(acc);
    }
    for (t, o) in TARGETS.iter().zip(out.iter_mut()) {
        if o.is_none() && curve[0] >= *t {
            *o = Some(0);
        }
    }
    out
}

struct PolicyRun {
    reach: [Option<usize>; 2],
    curve: Vec<(usize, f64)>,
    stop_at: Option<(usize, f64, f64)>,
    rounds: usize,
    audits: usize,
    audit_reviews: usize,
    worst_auto_error: f64,
    final_auto: (usize, usize),
    secs: f64,
}

fn run_policy(sp: &Split, seed: u64) -> PolicyRun {
    let t0 = Instant::now();
    let n = sp.py.len();
    let verified = VerifiedSet {
        pred_probs: sp.vp.clone(),
        n: sp.vy.len(),
        labels: sp.vy.clone(),
        given_labels: Some(sp.vs.iter().map(|&v| v as i64).collect()),
        outlier_scores: None,
    };
    let pool = PoolSet {
        pred_probs: sp.pp.clone(),
        n,
        given_labels: Some(sp.ps.iter().map(|&v| v as i64).collect()),
        outlier_scores: None,
        agreement: None,
        duplicate_of_verified: None,
        failed: Vec::new(),
    };
    let mut req = RoundRequest {
        k: K,
        verified,
        pool,
        reviewed: Vec::new(),
        audits: Vec::new(),
        policy: PolicyConfig::default(),
        options: {
            let mut o = PlanOptions {
                seed,
                ..PlanOptions::default()
            };
            // the figures in the README were measured with the fixed-size audit and the
            // self-confidence order; `bench_review` measures the sequential audit and the
            // noise model
            o.stopping.sequential = false;
            o.noise_model.enabled = false;
            o.stopping.audit_at = 0.25;
            if let Some(a) = std::env::var("EFFORT_AUDIT_AT")
                .ok()
                .and_then(|v| v.parse().ok())
            {
                o.stopping.audit_at = a;
            }
            o
        },
        embeddings: None,
        d: None,
        verified_embeddings: None,
    };
    let mut label = sp.ps.clone();
    let mut reviewed = vec![false; n];
    let mut correct = label.iter().zip(&sp.py).filter(|(a, b)| a == b).count();
    let mut run = PolicyRun {
        reach: [None; 2],
        curve: vec![(0, correct as f64 / n as f64)],
        stop_at: None,
        rounds: 0,
        audits: 0,
        audit_reviews: 0,
        worst_auto_error: 0.0,
        final_auto: (0, 0),
        secs: 0.0,
    };
    let review = |i: usize,
                  label: &mut Vec<usize>,
                  reviewed: &mut Vec<bool>,
                  req: &mut RoundRequest,
                  correct: &mut usize| {
        let was_wrong = label[i] != sp.py[i];
        if was_wrong {
            *correct += 1;
        }
        label[i] = sp.py[i];
        reviewed[i] = true;
        req.reviewed.push(ReviewOutcome {
            index: i,
            label: sp.py[i],
        });
        was_wrong
    };
    loop {
        let plan = match plan_round(&req) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("seed {seed}: plan_round failed: {e}");
                break;
            }
        };
        run.rounds += 1;
        // error among auto-accepted items (their label is the prediction = the given label)
        let (mut acc, mut wrong) = (0usize, 0usize);
        for it in &plan.tiers.items {
            if it.tier == Tier::AutoAccept {
                acc += 1;
                if it.predicted != Some(sp.py[it.index]) {
                    wrong += 1;
                }
            }
        }
        if acc > 0 {
            run.worst_auto_error = run.worst_auto_error.max(wrong as f64 / acc as f64);
        }
        run.final_auto = (acc, wrong);
        if std::env::var_os("EFFORT_TRACE").is_some() {
            eprintln!(
                "  round {:>3}: reviewed {:>6}, true error {:.3}%, estimated {:.3}%, certified {:?}, auto {}, batch {}, audit {:?}",
                run.rounds,
                req.reviewed.len(),
                100.0 - 100.0 * correct as f64 / n as f64,
                plan.estimate.expected_error_rate * 100.0,
                plan.estimate.certified_error_rate,
                acc,
                plan.batch.len(),
                plan.audit.as_ref().map(|a| a.indices.len())
            );
        }
        let done_reviews = req.reviewed.len();
        if plan.stop && run.stop_at.is_none() {
            run.stop_at = Some((
                done_reviews,
                correct as f64 / n as f64,
                plan.estimate.certified_error_rate.unwrap_or(f64::NAN),
            ));
        }
        let mut todo: Vec<usize> = Vec::new();
        if let (Some(a), None) = (&plan.audit, run.stop_at) {
            let mut w = 0;
            for &i in &a.indices {
                if review(i, &mut label, &mut reviewed, &mut req, &mut correct) {
                    w += 1;
                }
            }
            run.audits += 1;
            run.audit_reviews += a.indices.len();
            req.audits.push(AuditRecord {
                remainder_size: a.remainder_size,
                sampled: a.indices.len(),
                wrong: w,
                estimated_rate: a.estimated_rate,
                indices: None,
            });
        } else if !plan.batch.is_empty() {
            todo = plan.batch.clone();
        } else {
            // after the stop (or an audit we skip): next items by the policy's order
            todo = plan
                .tiers
                .order
                .iter()
                .copied()
                .filter(|&i| !reviewed[i])
                .take(req.options.batch_size)
                .collect();
            if todo.is_empty() {
                // only auto-accepted items remain: review them by priority
                let mut rest: Vec<(f64, usize)> = plan
                    .tiers
                    .items
                    .iter()
                    .filter(|it| !reviewed[it.index])
                    .map(|it| (it.priority.unwrap_or(1.0), it.index))
                    .collect();
                rest.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
                todo = rest
                    .iter()
                    .take(req.options.batch_size)
                    .map(|x| x.1)
                    .collect();
            }
        }
        for &i in &todo {
            review(i, &mut label, &mut reviewed, &mut req, &mut correct);
            let acc = correct as f64 / n as f64;
            for (t, o) in TARGETS.iter().zip(run.reach.iter_mut()) {
                if o.is_none() && acc >= *t - 1e-12 {
                    *o = Some(req.reviewed.len());
                }
            }
        }
        let acc = correct as f64 / n as f64;
        for (t, o) in TARGETS.iter().zip(run.reach.iter_mut()) {
            if o.is_none() && acc >= *t - 1e-12 {
                *o = Some(req.reviewed.len());
            }
        }
        run.curve.push((req.reviewed.len(), acc));
        if acc >= 0.9995 && run.reach[1].is_some() && run.stop_at.is_some() {
            break;
        }
        if req.reviewed.len() >= n {
            break;
        }
    }
    run.secs = t0.elapsed().as_secs_f64();
    run
}

fn stats(v: &[Option<usize>]) -> String {
    let got: Vec<usize> = v.iter().flatten().copied().collect();
    if got.len() < v.len() {
        return format!(
            "not reached in {} of {} seeds",
            v.len() - got.len(),
            v.len()
        );
    }
    let mean = got.iter().sum::<usize>() as f64 / got.len() as f64;
    format!(
        "{mean:>8.0} (min {}, max {})",
        got.iter().min().unwrap_or(&0),
        got.iter().max().unwrap_or(&0)
    )
}

fn mean_of(v: &[Option<usize>]) -> Option<f64> {
    let got: Vec<usize> = v.iter().flatten().copied().collect();
    (got.len() == v.len() && !got.is_empty())
        .then(|| got.iter().sum::<usize>() as f64 / got.len() as f64)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let data = PathBuf::from(args.get(1).cloned().unwrap_or_else(|| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/label-errors").to_string()
    }));
    let seeds: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(5);
    let curve_path = args.get(3).cloned();
    let (Some((_, p)), Some(s), Some(y)) = (
        npy::npy(&data.join("cifar10s_resnet18_pred_probs.npy")),
        npy::labels(&data.join("cifar10s_resnet18_noisy_labels.npy")),
        npy::labels(&data.join("cifar10s_resnet18_true_labels.npy")),
    ) else {
        eprintln!("cifar10s_resnet18_* not found under {}", data.display());
        std::process::exit(2);
    };
    let noise = s.iter().zip(&y).filter(|(a, b)| a != b).count();
    println!(
        "data: {} rows, {} classes, {} noisy labels ({:.2}%); per seed {} verified + {} pool; {} seeds",
        y.len(),
        K,
        noise,
        100.0 * noise as f64 / y.len() as f64,
        N_VERIFIED,
        y.len() - N_VERIFIED,
        seeds
    );
    let names = ["uniform", "confidence", "label-issue", "policy"];
    let mut reach: Vec<Vec<[Option<usize>; 2]>> = vec![Vec::new(); 4];
    let checkpoints: Vec<usize> = (0..=20).map(|i| i * 2500).collect();
    let mut curves: Vec<Vec<Vec<f64>>> = vec![Vec::new(); 4];
    let mut csv = String::from("seed,strategy,reviews,accuracy\n");
    for seed in 0..seeds {
        let sp = split(&p, &s, &y, 1000 + seed);
        let n = sp.py.len();
        let mut curve = Vec::new();
        // uniform
        let mut order: Vec<usize> = (0..n).collect();
        let mut rng = SplitMix64::new(7 + seed);
        for i in (1..n).rev() {
            let j = (rng.next_u64() % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
        let orders: Vec<Vec<usize>> = {
            let conf: Vec<f64> = sp
                .pp
                .chunks_exact(K)
                .map(|r| r.iter().copied().fold(f64::MIN, f64::max))
                .collect();
            let mut by_conf: Vec<usize> = (0..n).collect();
            by_conf.sort_by(|&a, &b| conf[a].total_cmp(&conf[b]).then(a.cmp(&b)));
            let probs = Probs::new(&sp.pp, n, K).expect("valid probabilities");
            let q =
                label_quality_scores(&probs, &sp.ps, &QualityOptions::default()).expect("scores");
            let flagged =
                find_label_issues(&probs, &sp.ps, &FindOptions::default()).expect("issues");
            let mut by_issue: Vec<usize> = (0..n).collect();
            by_issue.sort_by(|&a, &b| {
                flagged.is_label_issue[b]
                    .cmp(&flagged.is_label_issue[a])
                    .then(q[a].total_cmp(&q[b]))
                    .then(a.cmp(&b))
            });
            vec![order, by_conf, by_issue]
        };
        for (si, o) in orders.iter().enumerate() {
            let r = reviews_to_reach(o, &sp.ps, &sp.py, &mut curve);
            reach[si].push(r);
            curves[si].push(checkpoints.iter().map(|&c| curve[c.min(n)]).collect());
            for &c in &checkpoints {
                csv.push_str(&format!(
                    "{seed},{},{c},{:.6}\n",
                    names[si],
                    curve[c.min(n)]
                ));
            }
        }
        let pr = run_policy(&sp, seed);
        reach[3].push(pr.reach);
        let at = |c: usize| {
            pr.curve
                .iter()
                .rev()
                .find(|(r, _)| *r <= c)
                .map(|x| x.1)
                .unwrap_or(f64::NAN)
        };
        curves[3].push(checkpoints.iter().map(|&c| at(c)).collect());
        for &(r, a) in &pr.curve {
            csv.push_str(&format!("{seed},policy,{r},{a:.6}\n"));
        }
        let (sr, sa, sb) = pr.stop_at.unwrap_or((0, f64::NAN, f64::NAN));
        println!(
            "seed {seed}: policy {} rounds in {:.1} s; stopping rule fired after {sr} reviews ({} audits, {} audit reviews): true accuracy {:.3}%, certified error <= {:.3}%; auto-accepted at the end {} ({} wrong = {:.3}%), worst auto-accept error over rounds {:.3}% (promised <= 1%)",
            pr.rounds,
            pr.secs,
            pr.audits,
            pr.audit_reviews,
            sa * 100.0,
            sb * 100.0,
            pr.final_auto.0,
            pr.final_auto.1,
            100.0 * pr.final_auto.1 as f64 / pr.final_auto.0.max(1) as f64,
            pr.worst_auto_error * 100.0
        );
        let holds = pr.worst_auto_error <= 0.01;
        println!(
            "seed {seed}: auto-accept bound {}",
            if holds {
                "held on every round"
            } else {
                "VIOLATED"
            }
        );
    }
    println!(
        "\nreviews needed (pool of {}; mean over seeds):",
        y.len() - N_VERIFIED
    );
    println!(
        "{:<12} {:>32} {:>32} {:>10} {:>10}",
        "strategy", "to 99%", "to 99.5%", "/uniform", "/uniform"
    );
    let u: Vec<Option<f64>> = (0..2)
        .map(|t| mean_of(&reach[0].iter().map(|r| r[t]).collect::<Vec<_>>()))
        .collect();
    for (si, name) in names.iter().enumerate() {
        let col = |t: usize| reach[si].iter().map(|r| r[t]).collect::<Vec<_>>();
        let ratio = |t: usize| match (mean_of(&col(t)), u[t]) {
            (Some(a), Some(b)) => format!("{:.3}", a / b),
            _ => "-".into(),
        };
        println!(
            "{:<12} {:>32} {:>32} {:>10} {:>10}",
            name,
            stats(&col(0)),
            stats(&col(1)),
            ratio(0),
            ratio(1)
        );
    }
    println!("\naccuracy vs reviews (mean over seeds):");
    print!("{:<12}", "reviews");
    for c in checkpoints.iter().step_by(2) {
        print!(" {c:>7}");
    }
    println!();
    for (si, name) in names.iter().enumerate() {
        print!("{name:<12}");
        for (ci, _) in checkpoints.iter().enumerate().step_by(2) {
            let m: f64 = curves[si].iter().map(|c| c[ci]).sum::<f64>() / curves[si].len() as f64;
            print!(" {:>6.2}%", m * 100.0);
        }
        println!();
    }
    if let Some(path) = curve_path {
        if let Ok(mut f) = std::fs::File::create(&path) {
            let _ = f.write_all(csv.as_bytes());
            println!("\ncurves written to {path}");
        }
    }
}
