//! Benchmark figures for the `labels` area (run through scripts/bench_labels.sh, which also
//! times cleanlab on the same inputs):
//!
//! `cargo run --release --example bench_labels -- <label-errors dir> <synthetic dir>`
//!
//! (a) detection quality on the shared label-error data; (b) single-thread speed of
//! find_label_issues on synthetic Dirichlet probabilities written by the script
//! (`synth_<n>_probs.npy`, `synth_<n>_labels.npy`); (c) near-duplicates and kNN outliers on
//! synthetic embeddings (`emb_<n>.npy`).

#[path = "common/npy.rs"]
mod npy;

use npy::{labels, npy};
use std::path::PathBuf;
use std::time::Instant;

use medtriage::engine::triage::label_issues::{find_label_issues, FindOptions, Probs};
use medtriage::engine::triage::outliers::{
    knn_outliers, near_duplicates, DuplicatesOptions, KnnOutlierOptions,
};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let data = PathBuf::from(args.get(1).cloned().unwrap_or_else(|| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/label-errors").to_string()
    }));
    let synth = PathBuf::from(
        args.get(2)
            .cloned()
            .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/target/bench_labels").into()),
    );

    println!("== (a) detection quality (find_label_issues, defaults) ==");
    if let (Some((s, p)), Some(noisy), Some(truth)) = (
        npy(&data.join("cifar10s_resnet18_pred_probs.npy")),
        labels(&data.join("cifar10s_resnet18_noisy_labels.npy")),
        labels(&data.join("cifar10s_resnet18_true_labels.npy")),
    ) {
        let pr = Probs::new(&p, s[0], s[1]).expect("probs");
        let t = Instant::now();
        let r = find_label_issues(&pr, &noisy, &FindOptions::default()).expect("find");
        let secs = t.elapsed().as_secs_f64();
        let (mut tp, mut flagged, mut errors) = (0usize, 0usize, 0usize);
        for i in 0..noisy.len() {
            let err = noisy[i] != truth[i];
            errors += err as usize;
            if r.is_label_issue[i] {
                flagged += 1;
                tp += err as usize;
            }
        }
        println!(
            "medtriage cifar10s: flagged {flagged}, precision {:.3}, recall {:.3} ({:.3} s)",
            tp as f64 / flagged as f64,
            tp as f64 / errors as f64,
            secs
        );
    } else {
        println!("cifar10s data absent in {}", data.display());
    }
    for name in ["cifar10", "mnist"] {
        let (Some((s, p)), Some(l), Ok(mt)) = (
            npy(&data.join(format!("{name}_test_pyx.npy"))),
            labels(&data.join(format!("{name}_test_labels.npy"))),
            std::fs::read_to_string(data.join(format!("{name}_mturk.json"))),
        ) else {
            println!("{name} data absent");
            continue;
        };
        let recs: serde_json::Value = serde_json::from_str(&mt).expect("mturk json");
        let mut confirmed = std::collections::HashMap::new();
        for r in recs.as_array().into_iter().flatten() {
            let id = r["id"].as_u64().unwrap_or(u64::MAX) as usize;
            let given = r["mturk"]["given"].as_u64().unwrap_or(5);
            confirmed.insert(id, given < 3);
        }
        let pr = Probs::new(&p, s[0], s[1]).expect("probs");
        let r = find_label_issues(&pr, &l, &FindOptions::default()).expect("find");
        let flagged: Vec<usize> = (0..l.len()).filter(|&i| r.is_label_issue[i]).collect();
        let reviewed = flagged.iter().filter(|i| confirmed.contains_key(i)).count();
        let conf = flagged
            .iter()
            .filter(|i| confirmed.get(i) == Some(&true))
            .count();
        println!(
            "medtriage {name} test: flagged {}, reviewed {reviewed}, confirmed {conf}",
            flagged.len()
        );
    }

    println!("== (b) find_label_issues speed (1 thread) ==");
    for n in [50_000usize, 1_000_000] {
        let (Some((s, p)), Some(l)) = (
            npy(&synth.join(format!("synth_{n}_probs.npy"))),
            labels(&synth.join(format!("synth_{n}_labels.npy"))),
        ) else {
            println!("synthetic {n} absent in {}", synth.display());
            continue;
        };
        let pr = Probs::new(&p, s[0], s[1]).expect("probs");
        let mut best = f64::INFINITY;
        let mut flagged = 0;
        for _ in 0..3 {
            let t = Instant::now();
            let r = find_label_issues(&pr, &l, &FindOptions::default()).expect("find");
            best = best.min(t.elapsed().as_secs_f64());
            flagged = r.num_issues;
        }
        println!(
            "medtriage find_label_issues {n}x{}: {best:.3} s (best of 3), flagged {flagged}",
            s[1]
        );
    }

    println!("== (c) embeddings ==");
    for n in [20_000usize, 150_000] {
        let Some((s, e)) = npy(&synth.join(format!("emb_{n}.npy"))) else {
            println!("embeddings {n} absent");
            continue;
        };
        let t = Instant::now();
        let r = near_duplicates(&e, s[0], s[1], &DuplicatesOptions::default()).expect("dups");
        println!(
            "medtriage near_duplicates {n}x{} (threshold 0.02): {:.2} s, {} pairs, {} groups",
            s[1],
            t.elapsed().as_secs_f64(),
            r.pairs.len(),
            r.groups.len()
        );
        if n <= 20_000 {
            // recall of the pruned scan vs a plain f64 brute force on this sample
            let t = Instant::now();
            let d = s[1];
            let unit: Vec<f64> = e
                .chunks(d)
                .flat_map(|r| {
                    let nr = r.iter().map(|v| v * v).sum::<f64>().sqrt();
                    r.iter().map(move |v| v / nr)
                })
                .collect();
            let mut brute = Vec::new();
            for i in 0..n {
                for j in i + 1..n {
                    let dot: f64 = unit[i * d..(i + 1) * d]
                        .iter()
                        .zip(&unit[j * d..(j + 1) * d])
                        .map(|(a, b)| a * b)
                        .sum();
                    if 1.0 - dot <= 0.02 {
                        brute.push((i, j));
                    }
                }
            }
            let found: std::collections::HashSet<(usize, usize)> =
                r.pairs.iter().map(|p| (p.i, p.j)).collect();
            let hit = brute.iter().filter(|p| found.contains(p)).count();
            println!(
                "plain f64 brute force {n}x{d}: {:.2} s, {} pairs; recall of the pruned scan {hit}/{} = {:.4}",
                t.elapsed().as_secs_f64(),
                brute.len(),
                brute.len(),
                hit as f64 / brute.len().max(1) as f64
            );
            let t = Instant::now();
            let r = knn_outliers(&e, s[0], s[1], &KnnOutlierOptions::default()).expect("knn");
            println!(
                "medtriage knn_outliers {n}x{} (k=10 cosine): {:.2} s, min score {:.4}",
                s[1],
                t.elapsed().as_secs_f64(),
                r.scores.iter().copied().fold(f64::INFINITY, f64::min)
            );
        }
    }
}
