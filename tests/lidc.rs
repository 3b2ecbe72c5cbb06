//! Consensus on real radiologists: LIDC-IDRI lung-nodule ratings (tests/fixtures/lidc/
//! ratings.csv, CC BY 3.0, from scripts/lidc_extract.py) against crowd-kit, statsmodels and
//! krippendorff (tests/golden/lidc/lidc.json, scripts/golden_lidc.py). Runs natively and in
//! headless Chromium.
//!
//! Tolerances: majority labels equal on untied nodules and ties flagged alike; Dawid-Skene at
//! the same iteration count: posteriors, priors and confusion within 1e-4 (as on the synthetic
//! goldens), labels equal; Fleiss' kappa and the three Krippendorff alphas within 1e-9.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use medtriage::engine::consensus::agreement::{agreement, AgreementOptions};
use medtriage::engine::consensus::dawid_skene::{dawid_skene, DawidSkeneOptions};
use medtriage::engine::consensus::majority::{majority_vote, MajorityOptions};
use medtriage::engine::consensus::ConsensusRequest;
use serde_json::Value;

const RATINGS: &str = include_str!("fixtures/lidc/ratings.csv");
const GOLDEN: &str = include_str!("golden/lidc/lidc.json");
const ALPHA_TOL: f64 = 1e-9;
const DS_TOL: f64 = 1e-4;

struct Rating {
    nodule: String,
    reader: String,
    readers: usize,
    values: Vec<u32>,
}

fn ratings() -> (Vec<String>, Vec<Rating>) {
    let mut lines = RATINGS.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    let traits = header[4..].to_vec();
    let rows = lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Rating {
                nodule: f[0].to_string(),
                reader: f[1].to_string(),
                readers: f[2].parse().unwrap(),
                values: f[4..].iter().map(|v| v.parse().unwrap()).collect(),
            }
        })
        .collect();
    (traits, rows)
}

fn request<O: serde::de::DeserializeOwned + Default>(
    rows: &[&Rating],
    trait_i: usize,
    k: u32,
) -> ConsensusRequest<O> {
    let anns: Vec<Value> = rows
        .iter()
        .map(|r| {
            serde_json::json!({"item": r.nodule, "annotator": r.reader,
                               "label": r.values[trait_i].to_string()})
        })
        .collect();
    let classes: Vec<String> = (1..=k).map(|v| v.to_string()).collect();
    let mut items: Vec<String> = rows.iter().map(|r| r.nodule.clone()).collect();
    items.dedup();
    serde_json::from_value(serde_json::json!({
        "annotations": anns, "classes": classes, "items": items,
        "annotators": ["r1", "r2", "r3", "r4"],
    }))
    .unwrap()
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn close(a: &[f64], b: &[f64], tol: f64, what: &str) -> f64 {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    let mut worst = 0f64;
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let d = (x - y).abs();
        worst = worst.max(d);
        assert!(d <= tol, "{what}[{i}]: {x} vs {y}");
    }
    worst
}

#[test]
fn four_reader_malignancy_matches_crowdkit_statsmodels_krippendorff() {
    let g: Value = serde_json::from_str(GOLDEN).unwrap();
    let want = &g["malignancy4"];
    let (traits, rows) = ratings();
    let mal = traits.iter().position(|t| t == "malignancy").unwrap();
    let four: Vec<&Rating> = rows.iter().filter(|r| r.readers == 4).collect();
    let nodules: Vec<String> = want["nodules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert!(nodules.len() > 800, "{} four-reader nodules", nodules.len());
    assert_eq!(four.len(), 4 * nodules.len());

    let mv = majority_vote(&request::<MajorityOptions>(&four, mal, 5)).unwrap();
    assert_eq!(mv.items, nodules);
    let tied: Vec<bool> = want["majorityTied"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_bool().unwrap())
        .collect();
    assert_eq!(mv.tied, tied);
    let mut compared = 0;
    for (i, l) in want["majorityLabels"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        if !tied[i] {
            assert_eq!(
                mv.consensus_label[i] as u64,
                l.as_u64().unwrap(),
                "{}",
                nodules[i]
            );
            compared += 1;
        }
    }
    assert!(compared > 500);

    let ds_want = &want["dawidSkene"];
    let mut req = request::<DawidSkeneOptions>(&four, mal, 5);
    req.options = DawidSkeneOptions {
        n_iter: ds_want["nIter"].as_u64().unwrap() as usize,
        tol: ds_want["tol"].as_f64().unwrap(),
        stop_early: true,
    };
    let ds = dawid_skene(&req).unwrap();
    assert_eq!(
        ds.iterations as u64,
        ds_want["iterations"].as_u64().unwrap()
    );
    let worst = close(
        &ds.posteriors,
        &f64s(&ds_want["posteriors"]),
        DS_TOL,
        "posteriors",
    );
    close(&ds.priors, &f64s(&ds_want["priors"]), DS_TOL, "priors");
    close(
        &ds.confusion,
        &f64s(&ds_want["confusion"]),
        DS_TOL,
        "confusion",
    );
    let labels: Vec<usize> = ds_want["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    assert_eq!(ds.consensus_label, labels);
    println!("LIDC Dawid-Skene: worst posterior difference to crowd-kit {worst:e}");

    // the nodules whose consensus is least sure: same posterior maxima as crowd-kit's 20
    let mut ours: Vec<f64> = ds
        .posteriors
        .chunks_exact(5)
        .map(|r| r.iter().copied().fold(0.0, f64::max))
        .collect();
    ours.sort_by(f64::total_cmp);
    let idx = |n: &str| nodules.iter().position(|x| x == n).unwrap();
    let mut theirs: Vec<f64> = want["leastSure"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let i = idx(n.as_str().unwrap());
            f64s(&ds_want["posteriors"])[i * 5..i * 5 + 5]
                .iter()
                .copied()
                .fold(0.0, f64::max)
        })
        .collect();
    theirs.sort_by(f64::total_cmp);
    close(&ours[..20], &theirs, DS_TOL, "least sure");

    let ag = agreement(&request::<AgreementOptions>(&four, mal, 5)).unwrap();
    let fk = want["fleissKappa"].as_f64().unwrap();
    assert!((ag.fleiss_kappa.unwrap() - fk).abs() < ALPHA_TOL);
    let kr = &want["krippendorff"];
    for (got, key) in [
        (ag.krippendorff_alpha, "nominal"),
        (ag.krippendorff_alpha_ordinal, "ordinal"),
        (ag.krippendorff_alpha_interval, "interval"),
    ] {
        let w = kr[key].as_f64().unwrap();
        assert!(
            (got.unwrap() - w).abs() < ALPHA_TOL,
            "{key}: {got:?} vs {w}"
        );
    }
}

#[test]
fn every_trait_alpha_matches_krippendorff() {
    let g: Value = serde_json::from_str(GOLDEN).unwrap();
    let (traits, rows) = ratings();
    let all: Vec<&Rating> = rows.iter().collect();
    for (ti, t) in traits.iter().enumerate() {
        let want = &g["traits"][t];
        let k = want["max"].as_u64().unwrap() as u32;
        let ag = agreement(&request::<AgreementOptions>(&all, ti, k)).unwrap();
        assert_eq!(ag.items.len() as u64, want["nodules"].as_u64().unwrap());
        for (got, key) in [
            (ag.krippendorff_alpha, "nominal"),
            (ag.krippendorff_alpha_ordinal, "ordinal"),
            (ag.krippendorff_alpha_interval, "interval"),
        ] {
            let w = want["krippendorff"][key].as_f64().unwrap();
            assert!(
                (got.unwrap() - w).abs() < ALPHA_TOL,
                "{t} {key}: {got:?} vs {w}"
            );
        }
    }
}
