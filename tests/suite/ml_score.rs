//! Multi-label scoring of a real ONNX model with a multi-label head (the digits CNN body with
//! four "findings", tests/fixtures/multilabel/, scripts/make_multilabel_model.py) through
//! tract, against onnxruntime's outputs and numpy's per-finding measures
//! (tests/golden/multilabel/scores.json). Runs natively and in headless Chromium.
//! Tolerance 1e-5 (tract vs onnxruntime in f32; the measures of f32 probabilities).

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use crate::fixtures::SAMPLES;
use crate::json::f64s;
use medtriage::engine::manifest::Manifest;
use medtriage::engine::model::LoadOptions;
use medtriage::engine::score::{queue, ImageInput, ImageScore, ItemResult, ScoreOptions, Scorer};
use medtriage::engine::uncertainty::Measure;
use serde_json::Value;

const MODEL: &[u8] = include_bytes!("../fixtures/multilabel/model.onnx");
const MANIFEST: &str = include_str!("../fixtures/multilabel/manifest.json");
const PROBS_MANIFEST: &str = include_str!("../fixtures/multilabel/probs_manifest.json");
const TTA_MANIFEST: &str = include_str!("../fixtures/multilabel/tta_manifest.json");
const GOLDEN: &str = include_str!("../golden/multilabel/scores.json");
const TOL: f64 = 1e-5;

fn scorer(manifest: &str) -> Scorer {
    Scorer::new(
        MODEL,
        Manifest::from_json(manifest).unwrap(),
        &LoadOptions::default(),
    )
    .unwrap()
}

fn items() -> Vec<Value> {
    let g: Value = serde_json::from_str(GOLDEN).unwrap();
    g["items"].as_array().unwrap().clone()
}

fn bytes(file: &str) -> &'static [u8] {
    SAMPLES.iter().find(|(f, _)| *f == file).unwrap().1
}

fn close(got: &[f64], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (j, (a, b)) in got.iter().zip(want).enumerate() {
        assert!((a - b).abs() <= TOL, "{what}[{j}]: {a} vs {b}");
    }
}

fn check(s: &ImageScore, want: &Value, file: &str) {
    let f = s.findings.as_ref().unwrap();
    let col = |g: fn(&medtriage::engine::multilabel::score::FindingMeasures) -> f64| -> Vec<f64> {
        f.iter().map(|x| g(&x.measures)).collect()
    };
    let w = &want["findings"];
    close(
        &col(|m| m.probability),
        &f64s(&w["probability"]),
        &format!("{file} probability"),
    );
    close(
        &col(|m| m.entropy),
        &f64s(&w["entropy"]),
        &format!("{file} entropy"),
    );
    close(
        &col(|m| m.margin),
        &f64s(&w["margin"]),
        &format!("{file} margin"),
    );
    close(
        &col(|m| m.confidence),
        &f64s(&w["confidence"]),
        &format!("{file} confidence"),
    );
    let probs: Vec<f64> = s.probabilities.iter().map(|&v| f64::from(v)).collect();
    close(
        &probs,
        &f64s(&w["probability"]),
        &format!("{file} probabilities"),
    );
    if w.get("bald").is_some() {
        close(
            &col(|m| m.bald.unwrap()),
            &f64s(&w["bald"]),
            &format!("{file} bald"),
        );
        close(
            &col(|m| m.expected_entropy.unwrap()),
            &f64s(&w["expectedEntropy"]),
            &format!("{file} expected entropy"),
        );
        close(
            &col(|m| m.variation_ratio.unwrap()),
            &f64s(&w["variationRatio"]),
            &format!("{file} variation ratio"),
        );
    }
    let sum = s.summary.as_ref().unwrap();
    let ws = &want["summary"];
    let present: Vec<usize> = ws["present"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    assert_eq!(sum.present, present, "{file}");
    assert!(
        (sum.p_any_wrong - ws["pAnyWrong"].as_f64().unwrap()).abs() <= TOL,
        "{file}"
    );
    assert!(
        (sum.entropy - ws["entropy"].as_f64().unwrap()).abs() <= TOL,
        "{file}"
    );
    assert!(
        (sum.min_confidence - ws["minConfidence"].as_f64().unwrap()).abs() <= TOL,
        "{file}"
    );
    if let Some(b) = ws.get("bald") {
        assert!(
            (sum.bald.unwrap() - b.as_f64().unwrap()).abs() <= TOL,
            "{file}"
        );
        assert!(
            (sum.max_bald.unwrap() - ws["maxBald"].as_f64().unwrap()).abs() <= TOL,
            "{file}"
        );
        assert_eq!(s.uncertainty.bald, sum.bald);
    }
    // the flattened uncertainty describes the image
    assert_eq!(s.uncertainty.entropy, sum.entropy);
    assert_eq!(s.uncertainty.least_confidence, 1.0 - sum.min_confidence);
    assert_eq!(s.top[0].index, s.predicted);
}

#[test]
fn multi_label_scores_match_onnxruntime() {
    let (sig, none) = (scorer(MANIFEST), scorer(PROBS_MANIFEST));
    let o = ScoreOptions {
        top_k: 4,
        ..Default::default()
    };
    for it in items() {
        let file = it["file"].as_str().unwrap();
        let s = sig.score(ImageInput::Encoded(bytes(file)), &o).unwrap();
        check(&s, &it, file);
        assert_eq!(s.top.len(), 4);
        // the graph's own Sigmoid output, activation "none": onnxruntime's probs
        let q = none.score(ImageInput::Encoded(bytes(file)), &o).unwrap();
        let qp: Vec<f64> = q.probabilities.iter().map(|&v| f64::from(v)).collect();
        close(&qp, &f64s(&it["probs"]), &format!("{file} probs output"));
        let j = serde_json::to_value(&s).unwrap();
        assert!(j["findings"][0]["name"].is_string() && j["summary"]["pAnyWrong"].is_f64());
        assert!(j.get("bald").is_none() && j["findings"][0].get("bald").is_none());
    }
}

#[test]
fn multi_label_tta_gives_bald_per_finding() {
    let tta = scorer(TTA_MANIFEST);
    assert_eq!(tta.samples_per_image(), 3);
    let o = ScoreOptions {
        include_samples: true,
        ..Default::default()
    };
    let list: Vec<(String, &[u8])> = items()
        .iter()
        .map(|it| {
            let f = it["file"].as_str().unwrap().to_string();
            let b = bytes(&f);
            (f, b)
        })
        .collect();
    let batch: Vec<(&str, ImageInput<'_>)> = list
        .iter()
        .map(|(f, b)| (f.as_str(), ImageInput::Encoded(b)))
        .collect();
    let res: Vec<ItemResult> = tta.score_batch(&batch, &o);
    for (r, it) in res.iter().zip(items()) {
        let s = r.score.as_ref().unwrap();
        check(s, &it["tta"], &r.id);
        let rows = s.samples.as_ref().unwrap();
        for (t, want) in rows.iter().zip(it["tta"]["rows"].as_array().unwrap()) {
            let got: Vec<f64> = t.iter().map(|&v| f64::from(v)).collect();
            close(&got, &f64s(want), &format!("{} row", r.id));
        }
    }
    // ranking by BALD orders the images by their summed per-finding BALD
    let q = queue(&res, Measure::Bald);
    assert!(q.values.windows(2).all(|w| w[0] >= w[1]));
    assert_eq!(q.order.len(), res.len());
}

#[test]
fn multi_label_manifests_and_outputs_are_checked() {
    let m: Value = serde_json::from_str(MANIFEST).unwrap();
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = m.clone();
        f(&mut v);
        Manifest::from_json(&v.to_string())
    };
    let e = with(&|v| {
        v["output"].as_object_mut().unwrap().remove("activation");
    })
    .unwrap_err();
    assert_eq!(e.code(), "invalid_manifest");
    assert!(e.message().contains("activation"), "{e}");
    let e = with(&|v| v["output"]["kind"] = "logits".into()).unwrap_err();
    assert!(e.message().contains("multiLabel"), "{e}");
    assert_eq!(
        with(&|v| v["output"]["activation"] = "softmax".into())
            .unwrap_err()
            .code(),
        "invalid_manifest"
    );
    // one finding is a valid multi-label model (a single-label one needs two classes)
    assert!(with(&|v| v["output"]["classes"] = serde_json::json!(["x"])).is_ok());
    // the logits read as probabilities: an image whose logit leaves [0, 1] fails alone
    let raw = with(&|v| v["output"]["activation"] = "none".into()).unwrap();
    let s = Scorer::new(MODEL, raw, &LoadOptions::default()).unwrap();
    let files: Vec<String> = items()
        .iter()
        .map(|it| it["file"].as_str().unwrap().to_string())
        .collect();
    let batch: Vec<(&str, ImageInput<'_>)> = files
        .iter()
        .map(|f| (f.as_str(), ImageInput::Encoded(bytes(f))))
        .collect();
    let res = s.score_batch(&batch, &ScoreOptions::default());
    assert!(res.iter().any(|r| r
        .error
        .as_ref()
        .is_some_and(|e| e.code == "invalid_probabilities")));
}
