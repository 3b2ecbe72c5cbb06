#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

// Golden tests for annotation consensus against crowd-kit, cleanlab, sklearn, statsmodels
// and krippendorff (tests/golden/consensus/consensus.json, from
// scripts/golden_consensus.py). Tolerances: labels equal; scores 1e-6; Dawid-Skene
// posteriors 1e-4 at equal iterations (observed agreement is far closer, see the report).

use crate::json::{f64s, usizes};
use medtriage::engine::consensus::agreement::{agreement, AgreementOptions};
use medtriage::engine::consensus::crowdlab::{
    active_lab, crowdlab, ActiveLabOptions, CrowdlabOptions,
};
use medtriage::engine::consensus::dawid_skene::{dawid_skene, DawidSkeneOptions};
use medtriage::engine::consensus::majority::{majority_vote, MajorityOptions};
use medtriage::engine::consensus::ConsensusRequest;
use serde_json::Value;

const GOLDEN: &str = include_str!("../golden/consensus/consensus.json");
const TOL: f64 = 1e-6;

fn golden() -> Value {
    serde_json::from_str(GOLDEN).unwrap()
}

fn opt_f64s(v: &Value) -> Vec<Option<f64>> {
    v.as_array().unwrap().iter().map(|x| x.as_f64()).collect()
}

fn request<O: serde::de::DeserializeOwned + Default>(case: &Value) -> ConsensusRequest<O> {
    serde_json::from_value(case["request"].clone()).unwrap()
}

fn close(a: &[f64], b: &[f64], tol: f64, what: &str) -> f64 {
    assert_eq!(a.len(), b.len(), "{what}: length");
    let mut worst: f64 = 0.0;
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let d = (x - y).abs();
        assert!(d <= tol, "{what}[{i}]: {x} vs {y} (diff {d:e})");
        worst = worst.max(d);
    }
    worst
}

fn close_opt(a: &[Option<f64>], b: &[Option<f64>], tol: f64, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: length");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        match (x, y) {
            (Some(x), Some(y)) => assert!((x - y).abs() <= tol, "{what}[{i}]: {x} vs {y}"),
            (None, None) => {}
            _ => panic!("{what}[{i}]: {x:?} vs {y:?}"),
        }
    }
}

#[test]
fn majority_vote_matches_crowdkit() {
    // crowd-kit breaks ties by its label-column order, which is the order labels appear in
    // pandas' value_counts() (an unstable sort by count): no documented rule. We break ties
    // by the lowest class index and flag them: labels must agree on untied items, and on
    // tied items crowd-kit's pick must be one of our candidates.
    let g = golden();
    let mut untied_cases = 0;
    for c in g["cases"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        let r = majority_vote(&request::<MajorityOptions>(c)).unwrap();
        let want = &c["majority"];
        let labels = usizes(&want["labels"]);
        close(&r.probabilities, &f64s(&want["probabilities"]), 1e-12, name);
        let tied: Vec<bool> = want["tied"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_bool().unwrap())
            .collect();
        assert_eq!(r.tied, tied, "{name}");
        for i in 0..labels.len() {
            if tied[i] {
                let t = r.ties.iter().find(|t| t.index == i).unwrap();
                assert!(t.candidates.contains(&labels[i]), "{name} item {i}");
                assert_eq!(r.consensus_label[i], t.candidates[0]);
            } else {
                assert_eq!(r.consensus_label[i], labels[i], "{name} item {i}");
            }
        }
        // skills_: share of an annotator's labels equal to the consensus
        let m = c["m"].as_u64().unwrap() as usize;
        let (mut hit, mut tot) = (vec![0.0; m], vec![0.0; m]);
        for a in c["request"]["annotations"].as_array().unwrap() {
            let i: usize = a["item"].as_str().unwrap()[1..].parse().unwrap();
            let j: usize = a["annotator"].as_str().unwrap()[1..].parse().unwrap();
            tot[j] += 1.0;
            if a["label"].as_u64().unwrap() as usize == labels[i] {
                hit[j] += 1.0;
            }
        }
        let skills: Vec<f64> = hit.iter().zip(&tot).map(|(h, t)| h / t).collect();
        close(&skills, &f64s(&want["skills"]), 1e-12, name);
        if !tied.iter().any(|&t| t) {
            untied_cases += 1;
            close(&r.annotator_accuracy, &f64s(&want["skills"]), 1e-12, name);
        }
    }
    assert!(untied_cases >= 1);
}

fn check_ds(c: &Value, key: &str) -> f64 {
    let name = c["name"].as_str().unwrap();
    let want = &c[key];
    let mut req = request::<DawidSkeneOptions>(c);
    req.options = DawidSkeneOptions {
        n_iter: want["nIter"].as_u64().unwrap() as usize,
        // crowd-kit's negative tol (always run nIter) is stopEarly: false here
        tol: want["tol"].as_f64().unwrap().max(0.0),
        stop_early: want["tol"].as_f64().unwrap() >= 0.0,
    };
    let r = dawid_skene(&req).unwrap();
    assert_eq!(
        r.iterations,
        want["iterations"].as_u64().unwrap() as usize,
        "{name} {key}: iterations"
    );
    let worst = close(
        &r.posteriors,
        &f64s(&want["posteriors"]),
        1e-4,
        &format!("{name} {key} posteriors"),
    );
    assert_eq!(
        r.consensus_label,
        usizes(&want["labels"]),
        "{name} {key}: labels"
    );
    close(
        &r.priors,
        &f64s(&want["priors"]),
        1e-4,
        &format!("{name} {key} priors"),
    );
    close(
        &r.confusion,
        &f64s(&want["confusion"]),
        1e-4,
        &format!("{name} {key} confusion"),
    );
    close(
        &r.loss_history,
        &f64s(&want["lossHistory"]),
        1e-6,
        &format!("{name} {key} loss"),
    );
    let ll = want["logLikelihood"].as_f64().unwrap();
    assert!(
        (r.log_likelihood - ll).abs() <= 1e-6 * ll.abs().max(1.0),
        "{name}: {} vs {ll}",
        r.log_likelihood
    );
    worst
}

#[test]
fn dawid_skene_matches_crowdkit() {
    let g = golden();
    let mut worst: f64 = 0.0;
    for c in g["cases"].as_array().unwrap() {
        worst = worst.max(check_ds(c, "dawidSkene"));
        worst = worst.max(check_ds(c, "dawidSkeneFixed"));
    }
    println!("Dawid-Skene worst posterior difference: {worst:e}");
}

fn check_crowdlab(c: &Value, key: &str, calibrate: bool) {
    let name = format!("{} {key}", c["name"].as_str().unwrap());
    let want = &c[key];
    let mut req = request::<CrowdlabOptions>(c);
    req.pred_probs = Some(f64s(&c["predProbs"]));
    req.options.calibrate_probs = calibrate;
    let r = crowdlab(&req).unwrap();
    assert!(r.unresolved_ties.is_empty(), "{name}");
    assert_eq!(r.consensus_label, usizes(&want["consensusLabel"]), "{name}");
    close(
        &r.consensus_quality_score,
        &f64s(&want["consensusQualityScore"]),
        TOL,
        &name,
    );
    close(
        &r.annotator_agreement,
        &f64s(&want["annotatorAgreement"]),
        TOL,
        &name,
    );
    assert_eq!(r.num_annotations, usizes(&want["numAnnotations"]), "{name}");
    close(
        &r.annotation_quality,
        &f64s(&want["annotationQuality"]),
        TOL,
        &name,
    );
    let q: Vec<Option<f64>> = r
        .annotator_stats
        .iter()
        .map(|s| s.annotator_quality)
        .collect();
    close_opt(&q, &opt_f64s(&want["annotatorQuality"]), TOL, &name);
    let a: Vec<f64> = r
        .annotator_stats
        .iter()
        .map(|s| s.agreement_with_consensus)
        .collect();
    close(&a, &f64s(&want["agreementWithConsensus"]), TOL, &name);
    let wc: Vec<usize> = r.annotator_stats.iter().map(|s| s.worst_class).collect();
    assert_eq!(wc, usizes(&want["worstClass"]), "{name}: worst class");
    let ne: Vec<usize> = r
        .annotator_stats
        .iter()
        .map(|s| s.num_examples_labeled)
        .collect();
    assert_eq!(ne, usizes(&want["numExamplesLabeled"]), "{name}");
    assert!(
        (r.model_weight - want["modelWeight"].as_f64().unwrap()).abs() <= TOL,
        "{name}"
    );
    close(
        &r.annotator_weight,
        &f64s(&want["annotatorWeight"]),
        TOL,
        &name,
    );
}

#[test]
fn crowdlab_matches_cleanlab() {
    let g = golden();
    for c in g["cases"].as_array().unwrap() {
        check_crowdlab(c, "crowdlab", false);
        check_crowdlab(c, "crowdlabCalibrated", true);
    }
}

#[test]
fn active_lab_matches_cleanlab() {
    let g = golden();
    let mut all: Vec<&Value> = g["cases"].as_array().unwrap().iter().collect();
    all.push(&g["singleLabel"]);
    for c in all {
        let name = c["name"].as_str().unwrap_or("singleLabel");
        let want = &c["activeLab"];
        let mut req = request::<ActiveLabOptions>(c);
        req.pred_probs = Some(f64s(&c["predProbs"]));
        req.pred_probs_unlabeled = Some(f64s(&c["predProbsUnlabeled"]));
        let r = active_lab(&req).unwrap();
        close(&r.scores, &f64s(&want["scores"]), TOL, name);
        close(
            &r.scores_unlabeled,
            &f64s(&want["scoresUnlabeled"]),
            TOL,
            name,
        );
        // argmin over labeled then unlabeled
        let mut best = (0usize, 0usize, f64::INFINITY);
        for (set, s) in [&r.scores, &r.scores_unlabeled].iter().enumerate() {
            for (i, &v) in s.iter().enumerate() {
                if v < best.2 {
                    best = (set, i, v);
                }
            }
        }
        let next = r.next.unwrap();
        assert_eq!((next.set == "unlabeled") as usize, best.0, "{name}");
        assert_eq!(next.index, best.1, "{name}");
        // labeled items only
        req.pred_probs_unlabeled = None;
        let r2 = active_lab(&req).unwrap();
        close(&r2.scores, &f64s(&want["scores"]), TOL, name);
        // unlabeled items only
        let mut u = ConsensusRequest::<ActiveLabOptions>::new(vec![]);
        u.num_classes = req.num_classes;
        u.pred_probs_unlabeled = Some(f64s(&c["predProbsUnlabeled"]));
        let r3 = active_lab(&u).unwrap();
        close(
            &r3.scores_unlabeled,
            &f64s(&want["scoresUnlabeledOnly"]),
            TOL,
            name,
        );
    }
}

#[test]
fn agreement_matches_references() {
    let g = golden();
    for c in g["cases"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        let want = &c["agreement"];
        let r = agreement(&request::<AgreementOptions>(c)).unwrap();
        let pairs = want["pairs"].as_array().unwrap();
        assert_eq!(r.pairs.len(), pairs.len());
        for (p, w) in r.pairs.iter().zip(pairs) {
            assert_eq!(p.overlap, w["overlap"].as_u64().unwrap() as usize, "{name}");
            close_opt(&[p.cohen_kappa], &[w["cohenKappa"].as_f64()], 1e-12, name);
            close_opt(
                &[p.observed_agreement],
                &[w["observedAgreement"].as_f64()],
                1e-12,
                name,
            );
        }
        close_opt(
            &[r.fleiss_kappa],
            &[want["fleissKappa"].as_f64()],
            1e-12,
            &format!("{name} fleiss"),
        );
        close_opt(
            &[r.krippendorff_alpha],
            &[want["krippendorffAlpha"].as_f64()],
            1e-12,
            &format!("{name} alpha"),
        );
        close_opt(
            &[r.observed_agreement],
            &[want["observedAgreement"].as_f64()],
            1e-12,
            name,
        );
        assert_eq!(
            r.num_disagreements,
            want["numDisagreements"].as_u64().unwrap() as usize
        );
    }
}

#[test]
fn request_json_shape() {
    // class names, unknown fields and unknown labels
    let ok = r#"{"annotations":[{"item":"a","annotator":"x","label":"cat"},{"item":"a","annotator":"y","label":"dog"},
        {"item":"b","annotator":"x","label":1},{"item":"b","annotator":"y","label":"dog"}],
        "classes":["cat","dog"],"options":{"nIter":5}}"#;
    let req: ConsensusRequest<DawidSkeneOptions> = serde_json::from_str(ok).unwrap();
    let r = dawid_skene(&req).unwrap();
    assert_eq!(r.classes, vec!["cat", "dog"]);
    assert!(r.iterations <= 5);
    assert!(serde_json::from_str::<ConsensusRequest<DawidSkeneOptions>>(
        &ok.replace("nIter", "iters")
    )
    .is_err());
    assert!(serde_json::from_str::<ConsensusRequest<MajorityOptions>>(
        &ok.replace("\"classes\"", "\"klasses\"")
    )
    .is_err());
    let bad: ConsensusRequest<MajorityOptions> = serde_json::from_str(
        &ok.replace("\"dog\"}", "\"cow\"}")
            .replace(r#""options":{"nIter":5}"#, r#""options":{}"#),
    )
    .unwrap();
    let e = majority_vote(&bad).unwrap_err();
    assert_eq!(e.code(), "invalid_input");
    assert!(e.message().contains("unknown label 'cow'"));
}
