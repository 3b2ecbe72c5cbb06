//! Benchmark figures for batch selection (run through scripts/bench_select.sh, which also
//! times modAL's ranked batch on the same inputs):
//!
//! `cargo run --release --no-default-features --example bench_select -- [n] [d] [batches] [strategies]`
//!
//! Defaults: n = 150,000 items, d = 512, batches `100,1000`, every strategy. Inputs are
//! seeded synthetic blobs built only from SplitMix64 uniforms with `+` and `*` (so the NumPy
//! side of the script regenerates them bit for bit): 20 centres `U(-5, 5)^d`, item = centre +
//! `U(-1, 1)^d`, score `U(0, 1)`; 100 labelled rows from the same recipe (other seeds);
//! probabilities for BADGE = softmax of `0.5 x` the first 10 embedding columns. One thread.
//! Prints the wall time and the bytes of the working arrays the selection allocated.

use std::time::Instant;

use medtriage::engine::queue::select::{select_batch, SelectOptions, SelectRequest, Strategy};
use medtriage::engine::triage::conformal::SplitMix64;

const CENTRES: usize = 20;
const LABELED: usize = 100;
const K: usize = 10;

fn uniforms(seed: u64, len: usize) -> Vec<f64> {
    let mut r = SplitMix64::new(seed);
    (0..len).map(|_| r.next_f64()).collect()
}

/// rows x d blobs from the streams `seed`, `seed + 1`, `seed + 2`.
fn blobs(seed: u64, rows: usize, d: usize) -> Vec<f64> {
    let c: Vec<f64> = uniforms(seed, CENTRES * d)
        .into_iter()
        .map(|u| u * 10.0 - 5.0)
        .collect();
    let ids = uniforms(seed + 1, rows);
    let mut x = uniforms(seed + 2, rows * d);
    for i in 0..rows {
        let cid = ((ids[i] * CENTRES as f64) as usize).min(CENTRES - 1);
        for j in 0..d {
            x[i * d + j] = c[cid * d + j] + (x[i * d + j] - 0.5) * 2.0;
        }
    }
    x
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(150_000);
    let d: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(512);
    let batches: Vec<usize> = args
        .get(3)
        .map(|s| s.split(',').filter_map(|v| v.parse().ok()).collect())
        .unwrap_or_else(|| vec![100, 1000]);
    let strategies: Vec<Strategy> = args
        .get(4)
        .map(|s| {
            s.split(',')
                .filter_map(|v| serde_json::from_value(serde_json::Value::String(v.into())).ok())
                .collect()
        })
        .unwrap_or_else(|| {
            vec![
                Strategy::TopK,
                Strategy::RankedBatch,
                Strategy::KCenterGreedy,
                Strategy::Badge,
            ]
        });
    let t0 = Instant::now();
    let x = blobs(1, n, d);
    let labeled = blobs(11, LABELED, d);
    let scores = uniforms(21, n);
    let mut probs = vec![0.0; n * K];
    for i in 0..n {
        let z: Vec<f64> = (0..K).map(|c| 0.5 * x[i * d + c % d]).collect();
        let m = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = z.iter().map(|v| (v - m).exp()).collect();
        let s: f64 = e.iter().sum();
        for c in 0..K {
            probs[i * K + c] = e[c] / s;
        }
    }
    println!(
        "inputs: n={n} d={d}: embeddings {:.0} MB, generated in {:.2} s",
        (n * d * 8) as f64 / 1e6,
        t0.elapsed().as_secs_f64()
    );
    let mut req = SelectRequest {
        scores,
        batch_size: 1,
        strategy: Strategy::TopK,
        embeddings: Some(x),
        d: Some(d),
        labeled_embeddings: None,
        pred_probs: None,
        k: None,
        predicted: None,
        options: SelectOptions::default(),
    };
    for &b in &batches {
        for &s in &strategies {
            req.batch_size = b;
            req.strategy = s;
            // ranked batch and k-center start from the 100 labelled rows (modAL's cold start
            // is O(n^2)); BADGE takes probabilities and no labelled set.
            req.labeled_embeddings = match s {
                Strategy::RankedBatch | Strategy::KCenterGreedy => Some(labeled.clone()),
                _ => None,
            };
            let (pp, k) = if s == Strategy::Badge {
                (Some(std::mem::take(&mut probs)), Some(K))
            } else {
                (None, None)
            };
            req.pred_probs = pp;
            req.k = k;
            let t = Instant::now();
            let r = match select_batch(&req) {
                Ok(r) => r,
                Err(e) => {
                    println!("medtriage {s:?} failed: {e}");
                    continue;
                }
            };
            let secs = t.elapsed().as_secs_f64();
            if let Some(p) = req.pred_probs.take() {
                probs = p;
            }
            let head: Vec<usize> = r.selected.iter().take(10).copied().collect();
            println!(
                "medtriage {} n={n} d={d} b={b}: {secs:.3} s, working arrays {} bytes ({:.2} MB), first picks {:?}",
                serde_json::to_value(s).map(|v| v.as_str().unwrap_or("?").to_string()).unwrap_or_default(),
                r.working_bytes,
                r.working_bytes as f64 / 1e6,
                head
            );
        }
    }
}
