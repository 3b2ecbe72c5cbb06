#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

// Golden tests for the `select` area (scripts/golden_select.py). Tolerances: selected indices
// EXACTLY equal to modAL 0.4.2.1 (rankedBatch), scikit-activeml 1.0.1 (kCenterGreedy), NumPy
// stable argsort (topK) and the NumPy port of the BADGE authors' init_centers (same SplitMix64
// draws); BADGE gradient norms, pairwise squared gradient distances and D^2 sampling
// probabilities within 1e-9 relative.

use crate::json::{f64s, usizes};
use medtriage::engine::queue::select::*;
use serde_json::Value;

const SYNTH: &str = include_str!("../golden/select/synthetic.json");
const REAL: &str = include_str!("../golden/select/real.json");
const REL: f64 = 1e-9;

/// Numbers with JSON null as NaN.
fn f64n(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap_or(f64::NAN))
        .collect()
}

fn close(a: f64, b: f64, what: &str) {
    let tol = REL * a.abs().max(b.abs()).max(1e-300);
    assert!((a - b).abs() <= tol, "{what}: {a} vs {b}");
}

struct G {
    v: Value,
}

impl G {
    fn new(s: &str) -> Self {
        G {
            v: serde_json::from_str(s).unwrap(),
        }
    }
    fn n(&self) -> usize {
        self.v["n"].as_u64().unwrap() as usize
    }
    fn d(&self) -> usize {
        self.v["d"].as_u64().unwrap() as usize
    }
    fn k(&self) -> usize {
        self.v["k"].as_u64().unwrap() as usize
    }
    fn case(&self, name: &str) -> &Value {
        &self.v["cases"][name]
    }
    fn request(&self, name: &str, strategy: Strategy) -> SelectRequest {
        let c = self.case(name);
        let scores = if c["scores"].is_array() {
            f64n(&c["scores"])
        } else {
            f64n(&self.v["scores"])
        };
        let mut options = SelectOptions::default();
        match c["metric"].as_str() {
            Some("cosine") => options.metric = Some(Metric::Cosine),
            Some(_) => options.metric = Some(Metric::Euclidean),
            None => {}
        }
        let labeled = if c["labeled"].as_bool() == Some(true) {
            Some(f64s(&self.v["labeled"]))
        } else {
            None
        };
        SelectRequest {
            scores,
            batch_size: c["b"].as_u64().unwrap() as usize,
            strategy,
            embeddings: Some(f64s(&self.v["embeddings"])),
            d: Some(self.d()),
            labeled_embeddings: labeled,
            pred_probs: Some(f64s(&self.v["predProbs"])),
            k: Some(self.k()),
            predicted: None,
            options,
        }
    }
}

fn expected(c: &Value) -> Vec<usize> {
    usizes(&c["expected"])
}

#[test]
fn top_k_equals_numpy_stable_argsort_with_ties() {
    let g = G::new(SYNTH);
    let r = select_batch(&g.request("topK", Strategy::TopK)).unwrap();
    assert_eq!(r.selected, expected(g.case("topK")));
    let g = G::new(REAL);
    let r = select_batch(&g.request("topK", Strategy::TopK)).unwrap();
    assert_eq!(r.selected, expected(g.case("topK")));
}

#[test]
fn ranked_batch_equals_modal() {
    let g = G::new(SYNTH);
    for name in ["rankedEuclidean", "rankedCosine", "rankedNaN"] {
        let r = select_batch(&g.request(name, Strategy::RankedBatch)).unwrap();
        assert_eq!(r.selected, expected(g.case(name)), "{name}");
        // alpha = |U| / (|U| + |D|) with |D| = 50 labelled + picks
        let p = &r.picks[3];
        let u = (g.n() - r.skipped_non_finite.len() - 3) as f64;
        assert!((p.alpha.unwrap() - u / (u + 53.0)).abs() < 1e-15, "{name}");
    }
    let r = select_batch(&g.request("rankedNaN", Strategy::RankedBatch)).unwrap();
    assert_eq!(
        r.skipped_non_finite,
        usizes(&g.case("rankedNaN")["skipped"])
    );
}

#[test]
fn ranked_batch_cold_start_medoid_equals_modal() {
    // modAL's cold-start alpha counts its cold-start item in |U| once more than ours (see
    // the module docs); on these inputs the picks agree regardless.
    for (src, name) in [(SYNTH, "rankedColdMedoid"), (REAL, "ranked")] {
        let g = G::new(src);
        let mut req = g.request(name, Strategy::RankedBatch);
        req.options.cold_start = ColdStart::Medoid;
        let r = select_batch(&req).unwrap();
        assert_eq!(r.selected, expected(g.case(name)), "{name}");
    }
}

#[test]
fn k_center_greedy_equals_scikit_activeml() {
    let g = G::new(SYNTH);
    for name in ["kcenterLabeled", "kcenterCold", "kcenterCosine"] {
        let r = select_batch(&g.request(name, Strategy::KCenterGreedy)).unwrap();
        assert_eq!(r.selected, expected(g.case(name)), "{name}");
        // farthest-first: the distances at pick time never increase (after the cold start)
        let ds: Vec<f64> = r.picks.iter().filter_map(|p| p.distance).collect();
        assert!(ds.windows(2).all(|w| w[1] <= w[0]), "{name}");
    }
    let g = G::new(REAL);
    let r = select_batch(&g.request("kcenter", Strategy::KCenterGreedy)).unwrap();
    assert_eq!(r.selected, expected(g.case("kcenter")));
}

#[test]
fn badge_matches_original_init_centers() {
    let g = G::new(SYNTH);
    let c = g.case("badge");
    let nb = c["n"].as_u64().unwrap() as usize;
    let (d, k) = (g.d(), g.k());
    let emb = f64s(&g.v["embeddings"])[..nb * d].to_vec();
    let probs = f64s(&g.v["predProbs"])[..nb * k].to_vec();
    let scores = f64n(&g.v["scores"])[..nb].to_vec();
    // geometry without materialising the gradient embeddings
    let pr = usizes(&c["pairs"]);
    let pairs: Vec<(usize, usize)> = pr.chunks(2).map(|p| (p[0], p[1])).collect();
    let (norms, sq) = badge_gradient_geometry(&probs, k, &emb, d, &pairs).unwrap();
    for (a, b) in norms.iter().zip(f64s(&c["gradientNorms"])) {
        close(*a, b, "gradient norm");
    }
    for ((a, b), p) in sq.iter().zip(f64s(&c["pairSqDistances"])).zip(&pairs) {
        if p.0 == p.1 {
            assert_eq!(*a, 0.0);
        } else {
            close(*a, b, "pair distance");
        }
    }
    let req = SelectRequest {
        scores,
        batch_size: c["b"].as_u64().unwrap() as usize,
        strategy: Strategy::Badge,
        embeddings: Some(emb),
        d: Some(d),
        labeled_embeddings: None,
        pred_probs: Some(probs),
        k: Some(k),
        predicted: None,
        options: SelectOptions {
            seed: c["seed"].as_u64().unwrap(),
            trace: true,
            ..Default::default()
        },
    };
    let r = select_batch(&req).unwrap();
    let exp = expected(c);
    assert_eq!(
        r.selected[0], exp[0],
        "first centre = largest gradient norm"
    );
    assert_eq!(r.selected, exp);
    let trace = r.trace.unwrap();
    let gt = c["trace"].as_array().unwrap();
    assert_eq!(trace.len(), gt.len());
    for (step, (a, b)) in trace.iter().zip(gt).enumerate() {
        let b = f64s(b);
        for (x, y) in a.iter().zip(&b) {
            if *y == 0.0 {
                assert_eq!(*x, 0.0, "step {step}");
            } else {
                close(*x, *y, "D^2 probability");
            }
        }
    }
    // the pick's reported probability is the trace entry of the picked item
    for (step, p) in r.picks.iter().skip(1).enumerate() {
        close(p.objective, trace[step][p.index], "pick probability");
    }
}

#[test]
fn badge_real_cifar_probabilities() {
    let g = G::new(REAL);
    let c = g.case("badge");
    let mut req = g.request("badge", Strategy::Badge);
    req.options.seed = c["seed"].as_u64().unwrap();
    let r = select_batch(&req).unwrap();
    assert_eq!(r.selected, expected(c));
    for p in &r.picks {
        close(
            p.gradient_norm.unwrap(),
            f64s(&c["gradientNorms"])[p.index],
            "norm",
        );
    }
}

#[test]
fn stratified_by_estimated_error_real() {
    let g = G::new(REAL);
    let c = g.case("stratifiedKcenter");
    let mut req = g.request("stratifiedKcenter", Strategy::KCenterGreedy);
    req.options.class_budget = ClassBudget::ByEstimatedError;
    req.options.class_error_rates = Some(f64s(&c["classErrorRates"]));
    req.options.min_per_class = c["minPerClass"].as_u64().unwrap() as usize;
    let r = select_batch(&req).unwrap();
    let alloc: Vec<usize> = r
        .allocation
        .as_ref()
        .unwrap()
        .iter()
        .map(|a| a.allocated)
        .collect();
    assert_eq!(alloc, usizes(&c["allocation"]));
    assert_eq!(alloc.iter().sum::<usize>(), 60);
    assert_eq!(r.selected, expected(c));
    for p in &r.picks {
        assert_eq!(p.stratum, p.class);
    }
}

#[test]
fn validation_errors_are_typed() {
    let g = G::new(SYNTH);
    let base = g.request("kcenterCold", Strategy::KCenterGreedy);
    let code = |r: &SelectRequest| select_batch(r).unwrap_err().code();
    let mut r = base.clone();
    r.batch_size = 0;
    assert_eq!(code(&r), "invalid_options");
    let mut r = base.clone();
    r.embeddings.as_mut().unwrap()[5] = f64::NAN;
    assert_eq!(code(&r), "invalid_input");
    // a NaN embedding row of an item with a NaN score is never read
    r.scores[0] = f64::NAN;
    assert!(select_batch(&r).is_ok());
    let mut r = base.clone();
    r.d = Some(15);
    assert_eq!(code(&r), "invalid_input");
    let mut r = base.clone();
    r.embeddings = None;
    assert_eq!(code(&r), "invalid_input");
    let mut r = base.clone();
    r.strategy = Strategy::Badge;
    r.options.metric = Some(Metric::Cosine);
    assert_eq!(code(&r), "invalid_options");
    let mut r = base.clone();
    r.pred_probs.as_mut().unwrap()[0] += 0.1;
    assert_eq!(code(&r), "invalid_probabilities");
    let mut r = base.clone();
    r.options.class_budget = ClassBudget::ByEstimatedError;
    assert_eq!(code(&r), "invalid_options"); // no classErrorRates
    let mut r = base.clone();
    r.options.class_budget = ClassBudget::Counts(vec![1, 2, 3, 4, 5]);
    assert_eq!(code(&r), "invalid_options"); // sums to 15, batch is 100
    let mut r = base;
    r.batch_size = 5000;
    let out = select_batch(&r).unwrap();
    assert_eq!(out.batch_size, 2000);
    assert_eq!(out.requested_batch_size, 5000);
    assert_eq!(out.notes.len(), 1);
    // unknown fields are rejected
    let bad = r#"{"scores":[1,2],"batchSize":1,"options":{"bogus":1}}"#;
    assert!(medtriage::error::from_json::<SelectRequest>(bad, "req").is_err());
    let ok = r#"{"scores":[1,2],"batchSize":1,"strategy":"topK","options":{"classBudget":{"counts":[1]}}}"#;
    assert!(medtriage::error::from_json::<SelectRequest>(ok, "req").is_ok());
}
