//! The engine's end-to-end suite on the real fixture model. It runs natively (`cargo test`)
//! and, unchanged, in headless Chromium (`wasm-pack test --headless --chrome`), where it
//! proves that tract compiled to wasm matches onnxruntime's golden outputs.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use crate::fixtures::*;
use crate::json::f64s;
use medtriage::engine::manifest::Manifest;
use medtriage::engine::model::{LoadOptions, Model};
use medtriage::engine::score::{queue, ImageInput, ScoreOptions, Scorer};
use medtriage::engine::uncertainty::Measure;
use serde_json::Value;

const TOL: f64 = 1e-4;
/// Lossy (JPEG) or resized samples: decoders and resamplers differ from PIL by a grey level.
const LOOSE_TOL: f64 = 2e-2;

fn scorer() -> Scorer {
    Scorer::new(
        MODEL,
        Manifest::from_json(MANIFEST).unwrap(),
        &LoadOptions::default(),
    )
    .unwrap()
}

fn golden() -> Value {
    serde_json::from_str(GOLDEN_SCORES).unwrap()
}

fn max_abs(a: &[f32], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (*x as f64 - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn tract_matches_onnxruntime_on_raw_tensors() {
    let g: Value = serde_json::from_str(GOLDEN_TENSORS).unwrap();
    let model = Model::load(
        MODEL,
        Manifest::from_json(MANIFEST).unwrap(),
        &LoadOptions::default(),
    )
    .unwrap();
    let items = g["items"].as_array().unwrap();
    assert!(items.len() >= 4);
    for it in items {
        let input: Vec<f32> = f64s(&it["input"]).iter().map(|&v| v as f32).collect();
        let out = model.run(&[&input]).unwrap();
        let d = max_abs(&out[0].scores, &f64s(&it["logits"]));
        assert!(d < TOL, "{}: logits differ by {d}", it["file"]);
    }
}

#[test]
fn every_sample_matches_golden_probabilities() {
    let s = scorer();
    let g = golden();
    let items = g["items"].as_array().unwrap();
    assert_eq!(items.len(), SAMPLES.len());
    let opts = ScoreOptions {
        embedding: true,
        ..Default::default()
    };
    let mut exact = 0;
    for (it, (file, bytes)) in items.iter().zip(SAMPLES) {
        assert_eq!(it["file"].as_str().unwrap(), *file);
        let r = s.score(ImageInput::Encoded(bytes), &opts).unwrap();
        let want = f64s(&it["probabilities"]);
        let tol = if it["exact"].as_bool().unwrap() {
            exact += 1;
            TOL
        } else {
            LOOSE_TOL
        };
        let d = max_abs(&r.probabilities, &want);
        assert!(
            d < tol,
            "{file}: probabilities differ by {d} (tolerance {tol})"
        );
        let d = max_abs(
            &s.score(ImageInput::Encoded(bytes), &ScoreOptions::default())
                .unwrap()
                .probabilities,
            &want,
        );
        assert!(d < tol);
        if it["exact"].as_bool().unwrap() {
            let dl = max_abs(r.embedding.as_ref().unwrap(), &f64s(&it["embedding"]));
            assert!(dl < 1e-3, "{file}: embedding differs by {dl}");
            assert!((r.uncertainty.entropy - it["entropy"].as_f64().unwrap()).abs() < TOL);
            assert!((r.uncertainty.margin - it["margin"].as_f64().unwrap()).abs() < TOL);
            assert!(
                (r.uncertainty.least_confidence - it["leastConfidence"].as_f64().unwrap()).abs()
                    < TOL
            );
        }
        let argmax = want
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap()
            .0;
        assert_eq!(r.predicted, argmax, "{file}: top class");
    }
    assert!(exact >= 24);
}

#[test]
fn rgba_pixels_score_like_the_png() {
    let s = scorer();
    let (_, png) = SAMPLES[0];
    let img = image::load_from_memory(png).unwrap().to_rgba8();
    let (w, h) = img.dimensions();
    let a = s
        .score(
            ImageInput::Rgba {
                pixels: img.as_raw(),
                width: w,
                height: h,
            },
            &ScoreOptions::default(),
        )
        .unwrap();
    let b = s
        .score(ImageInput::Encoded(png), &ScoreOptions::default())
        .unwrap();
    let d = a
        .probabilities
        .iter()
        .zip(&b.probabilities)
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max);
    assert!(d < 1e-6, "{d}");
}

/// A host's own preprocessed tensor scores exactly like the image it came from; a tensor of
/// the wrong size or with a NaN is refused, not scored.
#[test]
fn a_preprocessed_tensor_scores_like_its_image() {
    let s = scorer();
    let o = ScoreOptions::default();
    let (_, png) = SAMPLES[3];
    let t = s.preprocess(ImageInput::Encoded(png), &o).unwrap();
    let a = s.score_tensor(&t, &o).unwrap();
    let b = s.score(ImageInput::Encoded(png), &o).unwrap();
    assert_eq!(a, b);
    let e = s.score_tensor(&t[1..], &o).unwrap_err();
    assert_eq!(e.code(), "invalid_input", "{}", e.message());
    let mut nan = t.clone();
    nan[7] = f32::NAN;
    let e = s.score_tensor(&nan, &o).unwrap_err();
    assert_eq!(e.code(), "invalid_input");
    assert!(e.message().contains("value 7"), "{}", e.message());
}

#[test]
fn batch_equals_single_and_failures_stay_alone() {
    let s = scorer();
    assert_eq!(s.model().batch_size(), 8, "free batch dimension is used");
    let bad = BAD.iter().find(|(f, _)| *f == "truncated.png").unwrap().1;
    let mut items: Vec<(String, &[u8])> = SAMPLES
        .iter()
        .take(11)
        .map(|(f, b)| (f.to_string(), *b))
        .collect();
    items.insert(3, ("broken".into(), bad));
    let inputs: Vec<(&str, ImageInput)> = items
        .iter()
        .map(|(id, b)| (id.as_str(), ImageInput::Encoded(b)))
        .collect();
    let res = s.score_batch(&inputs, &ScoreOptions::default());
    assert_eq!(res.len(), 12);
    assert_eq!(res[3].error.as_ref().unwrap().code, "image_decode");
    assert!(res[3]
        .error
        .as_ref()
        .unwrap()
        .message
        .starts_with("broken:"));
    for (r, (id, b)) in res.iter().zip(&items) {
        assert_eq!(&r.id, id);
        if id == "broken" {
            continue;
        }
        let one = s
            .score(ImageInput::Encoded(b), &ScoreOptions::default())
            .unwrap();
        let got = &r.score.as_ref().unwrap().probabilities;
        let d = got
            .iter()
            .zip(&one.probabilities)
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max);
        assert!(d < 1e-5, "{id}: batch vs single {d}");
    }
    let q = queue(&res, Measure::Entropy);
    assert_eq!(q.failed, vec!["broken".to_string()]);
    assert_eq!(q.order.len(), 11);
}

#[test]
fn queue_order_follows_golden_entropy() {
    let s = scorer();
    let g = golden();
    let items: Vec<(String, ImageInput)> = SAMPLES
        .iter()
        .take(24)
        .map(|(f, b)| (f.to_string(), ImageInput::Encoded(b)))
        .collect();
    let inputs: Vec<(&str, ImageInput)> = items.iter().map(|(f, i)| (f.as_str(), *i)).collect();
    let q = queue(
        &s.score_batch(&inputs, &ScoreOptions::default()),
        Measure::Entropy,
    );
    let mut want: Vec<(String, f64)> = g["items"].as_array().unwrap()[..24]
        .iter()
        .map(|it| {
            (
                it["file"].as_str().unwrap().to_string(),
                it["entropy"].as_f64().unwrap(),
            )
        })
        .collect();
    want.sort_by(|a, b| b.1.total_cmp(&a.1));
    // compare orders where golden entropies are not within tolerance of each other
    let pos = |id: &str| q.order.iter().position(|x| x == id).unwrap();
    for w in want.windows(2) {
        if w[0].1 - w[1].1 > TOL {
            assert!(
                pos(&w[0].0) < pos(&w[1].0),
                "{} should precede {}",
                w[0].0,
                w[1].0
            );
        }
    }
}

#[test]
fn probabilities_model_gives_the_same_result() {
    let p = Scorer::new(
        PROBS_MODEL,
        Manifest::from_json(PROBS_MANIFEST).unwrap(),
        &LoadOptions::default(),
    )
    .unwrap();
    let s = scorer();
    for (_, b) in SAMPLES.iter().take(5) {
        let a = p
            .score(ImageInput::Encoded(b), &ScoreOptions::default())
            .unwrap();
        let c = s
            .score(ImageInput::Encoded(b), &ScoreOptions::default())
            .unwrap();
        let d = a
            .probabilities
            .iter()
            .zip(&c.probabilities)
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max);
        assert!(d < 1e-5);
    }
}

#[test]
/// Beyond the bad files (tests/suite/bad.rs): a pinned hash, the size limit, and manifests
/// disagreeing with a good model.
fn bad_models_are_refused() {
    let bytes = |name: &str| BAD.iter().find(|(f, _)| *f == name).unwrap().1;
    let lo = LoadOptions::default();
    let mut plain = Manifest::from_json(MANIFEST).unwrap();
    plain.sha256 = None;
    // the hash pinned in the digits manifest refuses any other bytes
    let e = Model::load(
        bytes("wrong_classes.onnx"),
        Manifest::from_json(MANIFEST).unwrap(),
        &lo,
    )
    .unwrap_err();
    assert_eq!(e.code(), "model_hash_mismatch");
    // size limit
    let small = LoadOptions {
        max_model_bytes: 1000,
        ..lo
    };
    assert_eq!(
        Model::load(MODEL, plain.clone(), &small)
            .unwrap_err()
            .code(),
        "invalid_model"
    );
    // manifest disagreeing with the model: RGB input declared for a gray model
    let mut rgb = plain.clone();
    rgb.input.channels = medtriage::engine::manifest::Channels::Rgb;
    rgb.input.mean = vec![0.5; 3];
    rgb.input.std = vec![0.5; 3];
    assert_eq!(
        Model::load(MODEL, rgb, &lo).unwrap_err().code(),
        "shape_mismatch"
    );
    let mut k3 = plain.clone();
    k3.output.classes.truncate(3);
    assert_eq!(
        Model::load(MODEL, k3, &lo).unwrap_err().code(),
        "shape_mismatch"
    );
    let mut named = plain;
    named.output.embedding = Some("no_such_layer".into());
    assert_eq!(
        Model::load(MODEL, named, &lo).unwrap_err().code(),
        "shape_mismatch"
    );
}

#[test]
fn nan_outputs_are_errors_never_scores() {
    let man = Manifest::from_json(
        BAD_MANIFESTS
            .iter()
            .find(|(f, _)| *f == "nan_manifest.json")
            .unwrap()
            .1,
    )
    .unwrap();
    let bytes = BAD.iter().find(|(f, _)| *f == "nan_model.onnx").unwrap().1;
    let s = Scorer::new(bytes, man, &LoadOptions::default()).unwrap();
    let inputs: Vec<(&str, ImageInput)> = SAMPLES
        .iter()
        .map(|(f, b)| (*f, ImageInput::Encoded(b)))
        .collect();
    let res = s.score_batch(&inputs, &ScoreOptions::default());
    let color = res.iter().find(|r| r.id.ends_with("v_color.png")).unwrap();
    assert!(color.score.is_some(), "finite for v_color.png");
    let nan = res
        .iter()
        .find(|r| r.id.ends_with("d00_label3.png"))
        .unwrap();
    assert_eq!(nan.error.as_ref().unwrap().code, "non_finite_output");
    let q = queue(&res, Measure::Entropy);
    assert_eq!(q.order, vec!["samples/v_color.png".to_string()]);
    assert_eq!(q.failed.len(), SAMPLES.len() - 1);
}

#[test]
fn profile_times_every_node_of_the_plan_in_every_run() {
    use medtriage::engine::profile::ProfileOptions;
    use std::cell::Cell;
    let s = scorer();
    let x = vec![0.5f32; s.model().image_len()];
    // a clock that moves 1 ms at each reading: each node is read before and after it runs, so
    // every node costs exactly 1 ms per run, and a run 2 ms per node
    let t = Cell::new(0.0);
    let now = || {
        t.set(t.get() + 1.0);
        t.get()
    };
    let runs = 3;
    let opts = ProfileOptions { runs, top_nodes: 4 };
    let p = s.profile_tensor(&x, &opts, &now).unwrap();
    let nodes: usize = p.ops.iter().map(|o| o.nodes).sum();
    assert!(nodes >= 4, "{p:?}");
    assert_eq!(p.runs, runs);
    assert_eq!(p.nodes_ms, nodes as f64);
    // the clock is read once more at the start and once at the end
    assert_eq!(p.run_ms, (2 * nodes * runs + 1) as f64 / runs as f64);
    for o in &p.ops {
        assert_eq!(o.ms, o.nodes as f64, "{o:?}");
        assert_eq!(o.share, o.nodes as f64 / nodes as f64);
    }
    assert!(p.ops.windows(2).all(|w| w[0].ms >= w[1].ms));
    assert_eq!(p.slowest.len(), 4);
    assert!(p.slowest.iter().all(|n| n.ms == 1.0));

    let zero = ProfileOptions { runs: 0, ..opts };
    assert_eq!(
        s.profile_tensor(&x, &zero, &now).unwrap_err().code(),
        "invalid_options"
    );
    assert_eq!(
        s.profile_tensor(&x[1..], &opts, &now).unwrap_err().code(),
        "invalid_input"
    );
    let mut nan = x.clone();
    nan[3] = f32::NAN;
    assert_eq!(
        s.profile_tensor(&nan, &opts, &now).unwrap_err().code(),
        "invalid_input"
    );
}
