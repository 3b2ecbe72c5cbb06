//! Consensus benchmark (native, single-threaded like the wasm build): Dawid-Skene with a
//! fixed number of iterations and CROWDLAB on inputs written by scripts/bench_consensus.sh.
//!
//!     cargo run --release --no-default-features --example bench_consensus -- DIR ITERS
//!
//! DIR holds `labels.npy` (n x m int64, -1 = missing) and `probs.npy` (n x K float64).
//! Prints one JSON line of timings (seconds).

use std::time::Instant;

use medtriage::engine::consensus::crowdlab::{crowdlab, CrowdlabOptions};
use medtriage::engine::consensus::dawid_skene::{dawid_skene, DawidSkeneOptions};
use medtriage::engine::consensus::{Annotation, ConsensusRequest, Label};

fn read(path: &std::path::Path) -> (Vec<u64>, npyz::NpyFile<std::io::Cursor<Vec<u8>>>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let f = npyz::NpyFile::new(std::io::Cursor::new(bytes)).expect("npy header");
    (f.shape().to_vec(), f)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = std::path::PathBuf::from(args.get(1).expect("usage: bench_consensus DIR ITERS"));
    let iters: usize = args
        .get(2)
        .map(|s| s.parse().expect("ITERS"))
        .unwrap_or(100);
    let (ls, lf) = read(&dir.join("labels.npy"));
    let labels: Vec<i64> = lf.into_vec().expect("labels int64");
    let (ps, pf) = read(&dir.join("probs.npy"));
    let probs: Vec<f64> = pf.into_vec().expect("probs float64");
    let (n, m, k) = (ls[0] as usize, ls[1] as usize, ps[1] as usize);

    let t = Instant::now();
    let mut anns = Vec::new();
    for i in 0..n {
        for j in 0..m {
            let l = labels[i * m + j];
            if l >= 0 {
                anns.push(Annotation {
                    item: i.to_string(),
                    annotator: j.to_string(),
                    label: Label::Index(l as u64),
                });
            }
        }
    }
    let n_ann = anns.len();
    let mut req: ConsensusRequest<DawidSkeneOptions> = ConsensusRequest::new(anns);
    req.num_classes = Some(k);
    req.items = Some((0..n).map(|i| i.to_string()).collect());
    let build = t.elapsed().as_secs_f64();

    let t = Instant::now();
    req.options = DawidSkeneOptions {
        n_iter: iters,
        tol: 0.0,
        stop_early: false,
    };
    let ds = dawid_skene(&req).expect("dawid-skene");
    let ds_s = t.elapsed().as_secs_f64();
    assert_eq!(ds.iterations, iters);

    let mut creq: ConsensusRequest<CrowdlabOptions> = ConsensusRequest::new(req.annotations);
    creq.num_classes = Some(k);
    creq.items = req.items;
    creq.pred_probs = Some(probs);
    let t = Instant::now();
    let cl = crowdlab(&creq).expect("crowdlab");
    let cl_s = t.elapsed().as_secs_f64();
    println!(
        "{{\"n\":{n},\"annotators\":{m},\"classes\":{k},\"annotations\":{n_ann},\"iters\":{iters},\"build_s\":{build:.4},\"dawid_skene_s\":{ds_s:.4},\"crowdlab_s\":{cl_s:.4},\"ds_first_label\":{},\"cl_first_label\":{}}}",
        ds.consensus_label[0], cl.consensus_label[0]
    );
}
