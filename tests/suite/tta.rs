//! Ensembles and test-time augmentation on the real digits models. Runs
//! natively and, unchanged, in headless Chromium. Goldens: scripts/make_tta_fixtures.py
//! (onnxruntime rows of 3 members x 6 transforms, multi-row measures in numpy float64).

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use crate::fixtures::*;
use crate::json::f64s;
use medtriage::engine::image::{decode, pixels_from_image, to_tensor, ImageLimits};
use medtriage::engine::manifest::{Manifest, Transform};
use medtriage::engine::model::LoadOptions;
use medtriage::engine::score::{queue, ImageInput, ItemResult, ScoreOptions, Scorer};
use medtriage::engine::uncertainty::Measure;
use serde_json::Value;

const ENSEMBLE: &str = include_str!("../golden/tta/ensemble.json");
const TRANSFORMS: &str = include_str!("../golden/tta/transforms.json");
const TTA_MANIFEST: &str = include_str!("../golden/tta/manifest.json");

/// tract vs onnxruntime, per probability row.
const ROW_TOL: f64 = 1e-4;
/// Multi-row measures (entropy, expected entropy, BALD, margin, …) vs numpy.
const MEASURE_TOL: f64 = 1e-5;

fn ensemble() -> Scorer {
    Scorer::new_ensemble(
        &[MODEL, MEMBER1, MEMBER2],
        Manifest::from_json(TTA_MANIFEST).unwrap(),
        &LoadOptions::default(),
    )
    .unwrap()
}

fn sample(file: &str) -> &'static [u8] {
    SAMPLES.iter().find(|(f, _)| *f == file).unwrap().1
}

fn golden() -> Value {
    serde_json::from_str(ENSEMBLE).unwrap()
}

fn checksum(x: &[f32]) -> f64 {
    x.iter()
        .enumerate()
        .map(|(i, &v)| v as f64 * (((i as u64 * 7919) % 1000 + 1) as f64 / 1000.0))
        .sum()
}

fn manifest_with(extra: &str) -> Manifest {
    let mut v: Value = serde_json::from_str(MANIFEST).unwrap();
    let e: Value = serde_json::from_str(&format!("{{{extra}}}")).unwrap();
    for (k, x) in e.as_object().unwrap() {
        v[k] = x.clone();
    }
    if e.get("members").is_some() {
        v.as_object_mut().unwrap().remove("sha256");
    }
    Manifest::from_json(&v.to_string()).unwrap()
}

#[test]
fn transforms_match_numpy() {
    let g: Value = serde_json::from_str(TRANSFORMS).unwrap();
    for case in g["cases"].as_array().unwrap() {
        let (w, h, c) = (
            case["w"].as_u64().unwrap(),
            case["h"].as_u64().unwrap(),
            case["c"].as_u64().unwrap(),
        );
        let m = Manifest::from_json(&format!(
            r#"{{"input":{{"width":{w},"height":{h},"layout":{},"channels":"{}","mean":{},"std":{},"resize":{{"mode":"stretch"}}}},
                "output":{{"kind":"logits","classes":["a","b"]}}}}"#,
            case["layout"],
            if c == 1 { "gray" } else { "rgb" },
            case["mean"],
            case["std"]
        ))
        .unwrap();
        let x: Vec<f32> = match case.get("file") {
            Some(f) => {
                let img = decode(sample(f.as_str().unwrap()), &ImageLimits::default()).unwrap();
                to_tensor(pixels_from_image(&img, m.input.channels), &m.input)
            }
            None => f64s(&case["input"]).iter().map(|&v| v as f32).collect(),
        };
        let results = case["results"].as_array().unwrap();
        assert!(results.len() >= 8);
        for r in results {
            let t: Transform = serde_json::from_value(r["transform"].clone()).unwrap();
            let y = t.apply(&x, &m.input).unwrap();
            let want = r["checksum"].as_f64().unwrap();
            let got = checksum(&y);
            assert!(
                (got - want).abs() <= 1e-9 * want.abs().max(1.0),
                "{} {:?}: checksum {got} vs numpy {want}",
                case["name"],
                t
            );
            if let Some(out) = r.get("output") {
                let want: Vec<f32> = f64s(out).iter().map(|&v| v as f32).collect();
                assert_eq!(y, want, "{} {:?}", case["name"], t);
            }
        }
    }
}

fn check_item(it: &Value, s: &medtriage::engine::score::ImageScore, t: usize, rows_from: usize) {
    let file = it["file"].as_str().unwrap();
    let rows = it["rows"].as_array().unwrap();
    let samples = s.samples.as_ref().unwrap();
    assert_eq!(samples.len(), t, "{file}");
    for (j, got) in samples.iter().enumerate() {
        let want = f64s(&rows[rows_from + j]);
        let d = got
            .iter()
            .zip(&want)
            .map(|(a, b)| (*a as f64 - b).abs())
            .fold(0.0, f64::max);
        assert!(d < ROW_TOL, "{file} row {j}: tract vs onnxruntime {d}");
    }
}

#[test]
fn ensemble_with_tta_matches_onnxruntime() {
    let s = ensemble();
    let g = golden();
    let t = g["t"].as_u64().unwrap() as usize;
    assert_eq!(t, 18);
    assert_eq!(s.samples_per_image(), t);
    assert_eq!(s.members().len(), 3);
    assert_eq!(s.transforms().len(), 6);
    let items = g["items"].as_array().unwrap();
    assert!(items.len() >= 24);
    let owned: Vec<(String, &[u8])> = items
        .iter()
        .map(|it| {
            let f = it["file"].as_str().unwrap();
            (f.to_string(), sample(f))
        })
        .collect();
    let inputs: Vec<(&str, ImageInput)> = owned
        .iter()
        .map(|(f, b)| (f.as_str(), ImageInput::Encoded(b)))
        .collect();
    let opts = ScoreOptions {
        include_samples: true,
        top_k: 10,
        ..Default::default()
    };
    let res = s.score_batch(&inputs, &opts);
    let (mut worst_row, mut worst_measure) = (0f64, 0f64);
    for (it, r) in items.iter().zip(&res) {
        let file = it["file"].as_str().unwrap();
        let sc = r.score.as_ref().unwrap();
        check_item(it, sc, t, 0);
        for (j, got) in sc.samples.as_ref().unwrap().iter().enumerate() {
            let want = f64s(&it["rows"][j]);
            for (a, b) in got.iter().zip(&want) {
                worst_row = worst_row.max((*a as f64 - b).abs());
            }
        }
        let u = &sc.uncertainty;
        let pairs = [
            ("entropy", u.entropy),
            ("expectedEntropy", u.expected_entropy.unwrap()),
            ("bald", u.bald.unwrap()),
            ("leastConfidence", u.least_confidence),
            ("margin", u.margin),
            ("ratio", u.ratio),
            ("variationRatio", u.variation_ratio.unwrap()),
        ];
        for (name, got) in pairs {
            let want = it[name].as_f64().unwrap();
            worst_measure = worst_measure.max((got - want).abs());
            assert!(
                (got - want).abs() < MEASURE_TOL,
                "{file} {name}: {got} vs numpy {want}"
            );
        }
        let mean = f64s(&it["mean"]);
        for (a, b) in sc.probabilities.iter().zip(&mean) {
            assert!((*a as f64 - b).abs() < MEASURE_TOL, "{file}: mean row");
        }
        assert_eq!(sc.predicted, it["predicted"].as_u64().unwrap() as usize);
        assert_eq!(sc.top[0].index, sc.predicted);
        assert_eq!(sc.top.len(), 10);
        assert!((sc.confidence as f64 - it["confidence"].as_f64().unwrap()).abs() < MEASURE_TOL);
    }
    // the figures quoted in the report
    println!("worst row difference {worst_row:.2e}, worst measure difference {worst_measure:.2e}");
}

#[test]
fn batch_equals_single_for_an_ensemble() {
    let s = ensemble();
    let opts = ScoreOptions::default();
    let inputs: Vec<(&str, ImageInput)> = SAMPLES
        .iter()
        .take(5)
        .map(|(f, b)| (*f, ImageInput::Encoded(b)))
        .collect();
    let res = s.score_batch(&inputs, &opts);
    for (r, (_, b)) in res.iter().zip(SAMPLES) {
        let one = s.score(ImageInput::Encoded(b), &opts).unwrap();
        let got = r.score.as_ref().unwrap();
        assert!(got.samples.is_none(), "samples only when asked for");
        assert!((got.uncertainty.bald.unwrap() - one.uncertainty.bald.unwrap()).abs() < 1e-6);
        for (a, b) in got.probabilities.iter().zip(&one.probabilities) {
            assert!((a - b).abs() < 1e-6);
        }
    }
}

#[test]
fn tta_on_one_model_matches_onnxruntime() {
    // the first member alone, with the manifest's transforms: rows 0..6 of the golden
    let mut m = Manifest::from_json(TTA_MANIFEST).unwrap();
    let pin = m.members.as_ref().unwrap()[0].sha256.clone();
    m.members = None;
    m.sha256 = pin;
    let s = Scorer::new(MODEL, m, &LoadOptions::default()).unwrap();
    assert_eq!(s.samples_per_image(), 6);
    let g = golden();
    let opts = ScoreOptions {
        include_samples: true,
        ..Default::default()
    };
    for it in g["items"].as_array().unwrap().iter().take(8) {
        let sc = s
            .score(
                ImageInput::Encoded(sample(it["file"].as_str().unwrap())),
                &opts,
            )
            .unwrap();
        check_item(it, &sc, 6, 0);
        assert!(sc.uncertainty.bald.unwrap() >= 0.0);
    }
}

#[test]
fn identity_tta_equals_no_tta() {
    let lo = LoadOptions::default();
    let plain = Scorer::new(MODEL, Manifest::from_json(MANIFEST).unwrap(), &lo).unwrap();
    let ident = Scorer::new(MODEL, manifest_with(r#""tta":[{"op":"identity"}]"#), &lo).unwrap();
    let sha = plain.model().sha256().to_string();
    let one = manifest_with(&format!(r#""members":[{{"sha256":"{sha}"}}]"#));
    let one = Scorer::new(MODEL, one, &lo).unwrap();
    let zero_shift = Scorer::new(
        MODEL,
        manifest_with(r#""tta":[{"op":"shift","dx":0,"dy":0}]"#),
        &lo,
    )
    .unwrap();
    assert_eq!(ident.samples_per_image(), 1);
    let opts = ScoreOptions {
        embedding: true,
        ..Default::default()
    };
    let inputs: Vec<(&str, ImageInput)> = SAMPLES
        .iter()
        .map(|(f, b)| (*f, ImageInput::Encoded(b)))
        .collect();
    let want = plain.score_batch(&inputs, &opts);
    for other in [&ident, &one, &zero_shift] {
        let got = other.score_batch(&inputs, &opts);
        assert_eq!(got, want);
        assert_eq!(
            serde_json::to_string(&got).unwrap(),
            serde_json::to_string(&want).unwrap()
        );
    }
    let j = serde_json::to_value(&want[0]).unwrap();
    assert!(j["score"].get("bald").is_none() && j["score"].get("samples").is_none());
}

#[test]
fn bad_tta_manifests_fail_with_their_code() {
    let base: Value = serde_json::from_str(MANIFEST).unwrap();
    for (tta, what) in [
        (r#"[]"#, "empty"),
        (r#"[{"op":"rotate"}]"#, "unknown op"),
        (
            r#"[{"op":"shift","dx":32,"dy":0}]"#,
            "shift as wide as the image",
        ),
        (
            r#"[{"op":"shift","dx":1,"dy":1,"extra":true}]"#,
            "unknown field",
        ),
        (r#"[{"op":"rot90","k":5}]"#, "k out of range"),
    ] {
        let mut v = base.clone();
        v["tta"] = serde_json::from_str(tta).unwrap();
        let e = Manifest::from_json(&v.to_string()).unwrap_err();
        assert_eq!(e.code(), "invalid_manifest", "{what}: {e}");
    }
    let mut v = base.clone();
    v["tta"] = Value::Array(vec![serde_json::json!({"op": "hflip"}); 33]);
    assert_eq!(
        Manifest::from_json(&v.to_string()).unwrap_err().code(),
        "invalid_manifest"
    );
    // top-level sha256 and members together
    let mut v = base;
    v["members"] = serde_json::json!([{}]);
    assert_eq!(
        Manifest::from_json(&v.to_string()).unwrap_err().code(),
        "invalid_manifest"
    );
}

#[test]
fn mismatched_members_are_refused() {
    let lo = LoadOptions::default();
    let bad = |name: &str| BAD.iter().find(|(f, _)| *f == name).unwrap().1;
    let mut unpinned = Manifest::from_json(MANIFEST).unwrap();
    unpinned.sha256 = None;
    // a member with 7 classes, or a 28x28 input
    for (file, code) in [
        ("wrong_classes.onnx", "shape_mismatch"),
        ("wrong_input.onnx", "shape_mismatch"),
        ("not_a_model.onnx", "invalid_model"),
    ] {
        let e = Scorer::new_ensemble(&[MODEL, bad(file)], unpinned.clone(), &lo).unwrap_err();
        assert_eq!(e.code(), code, "{file}: {e}");
        assert!(e.message().starts_with("member 1:"), "{e}");
    }
    // the digits manifest pins model.onnx: every member must then be that model
    let e = Scorer::new_ensemble(
        &[MODEL, MEMBER1],
        Manifest::from_json(MANIFEST).unwrap(),
        &lo,
    )
    .unwrap_err();
    assert_eq!(e.code(), "model_hash_mismatch");
    // members pinned in order: swapping two models is refused
    let m = Manifest::from_json(TTA_MANIFEST).unwrap();
    let e = Scorer::new_ensemble(&[MODEL, MEMBER2, MEMBER1], m.clone(), &lo).unwrap_err();
    assert_eq!(e.code(), "model_hash_mismatch");
    assert!(e.message().starts_with("member 1:"), "{e}");
    // member count disagrees with the manifest, or no model at all
    let e = Scorer::new_ensemble(&[MODEL, MEMBER1], m.clone(), &lo).unwrap_err();
    assert_eq!(e.code(), "invalid_input");
    let e = Scorer::new_ensemble(&[], unpinned.clone(), &lo).unwrap_err();
    assert_eq!(e.code(), "invalid_input");
    // unpinned ensemble of the three: fine
    let s = Scorer::new_ensemble(&[MODEL, MEMBER1, MEMBER2], unpinned, &lo).unwrap();
    assert_eq!(s.samples_per_image(), 3);
}

#[test]
fn queue_by_bald_follows_golden() {
    let s = ensemble();
    let g = golden();
    let items = g["items"].as_array().unwrap();
    let inputs: Vec<(&str, ImageInput)> = items
        .iter()
        .map(|it| {
            let f = it["file"].as_str().unwrap();
            (f, ImageInput::Encoded(sample(f)))
        })
        .collect();
    let res = s.score_batch(&inputs, &ScoreOptions::default());
    for (measure, key) in [
        (Measure::Bald, "bald"),
        (Measure::ExpectedEntropy, "expectedEntropy"),
        (Measure::VariationRatio, "variationRatio"),
    ] {
        let q = queue(&res, measure);
        assert_eq!(q.order.len(), items.len());
        let pos = |id: &str| q.order.iter().position(|x| x == id).unwrap();
        for a in items {
            for b in items {
                let (va, vb) = (a[key].as_f64().unwrap(), b[key].as_f64().unwrap());
                if va - vb > 1e-4 {
                    assert!(
                        pos(a["file"].as_str().unwrap()) < pos(b["file"].as_str().unwrap()),
                        "{key}: {} before {}",
                        a["file"],
                        b["file"]
                    );
                }
            }
        }
    }
    // one-row items: BALD and variation ratio rank as 0, expected entropy as the entropy
    let plain = Scorer::new(
        MODEL,
        Manifest::from_json(MANIFEST).unwrap(),
        &LoadOptions::default(),
    )
    .unwrap();
    let single = plain.score_batch(&inputs[..4], &ScoreOptions::default());
    assert!(queue(&single, Measure::Bald)
        .values
        .iter()
        .all(|&v| v == 0.0));
    assert_eq!(
        queue(&single, Measure::ExpectedEntropy),
        queue(&single, Measure::Entropy)
    );
    // results round-trip through JSON (what rankQueue receives from JS)
    let back: Vec<ItemResult> =
        serde_json::from_str(&serde_json::to_string(&res).unwrap()).unwrap();
    assert_eq!(queue(&back, Measure::Bald), queue(&res, Measure::Bald));
}

/// The CLI with three `--model`s and the TTA manifest (native only).
#[cfg(not(target_arch = "wasm32"))]
#[test]
fn cli_scores_an_ensemble() {
    use std::process::Command;
    let bin = env!("CARGO_BIN_EXE_medtriage");
    let root = env!("CARGO_MANIFEST_DIR");
    let fx = format!("{root}/tests/fixtures/digits");
    let models = ["model", "member1", "member2"].map(|m| format!("{fx}/{m}.onnx"));
    let manifest = format!("{root}/tests/golden/tta/manifest.json");
    let mut args: Vec<String> = vec![];
    for m in &models {
        args.extend(["--model".into(), m.clone()]);
    }
    args.extend(["--manifest".into(), manifest]);
    let out = Command::new(bin).arg("check").args(&args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let info: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["samplesPerImage"], 18);
    assert_eq!(info["members"].as_array().unwrap().len(), 3);
    let g = golden();
    let it = &g["items"][0];
    let file = format!("{fx}/{}", it["file"].as_str().unwrap());
    let bad = format!("{root}/tests/fixtures/bad/garbage.png");
    let out = Command::new(bin)
        .args(["score", "--quiet", "--format", "csv", "--sort", "bald"])
        .args(&args)
        .args([&file, &bad])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut rd = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = rd.headers().unwrap().iter().map(String::from).collect();
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    let rows: Vec<csv::StringRecord> = rd.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].len(), header.len());
    assert_eq!(rows[1].len(), header.len());
    let bald: f64 = rows[0][col("bald")].parse().unwrap();
    assert!((bald - it["bald"].as_f64().unwrap()).abs() < MEASURE_TOL);
    let vr: f64 = rows[0][col("variation_ratio")].parse().unwrap();
    assert!((vr - it["variationRatio"].as_f64().unwrap()).abs() < MEASURE_TOL);
    assert_eq!(&rows[1][col("ok")], "false");
    // one model, no tta: the CSV keeps its old columns
    let out = Command::new(bin)
        .args(["score", "--quiet", "--format", "csv", "--model", &models[0]])
        .args(["--manifest", &format!("{fx}/manifest.json"), &file])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.lines().next().unwrap().contains("bald"));
}
