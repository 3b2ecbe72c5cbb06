//! Unit tests of finishing score rows and the review queue.

use super::*;

fn manifest(kind: &str) -> Manifest {
    Manifest::from_json(&format!(
        r#"{{"input":{{"width":2,"height":2,"layout":"nchw","channels":"gray","mean":[0],"std":[1],"resize":{{"mode":"stretch"}}}},
            "output":{{"kind":"{kind}","classes":["a","b","c"]}}}}"#
    ))
    .unwrap()
}

#[test]
fn logits_row() {
    let m = manifest("logits");
    let s = finish_row(&[0.0, 2.0, 1.0], None, &m, &ScoreOptions::default()).unwrap();
    assert_eq!(s.predicted, 1);
    assert_eq!(
        s.top.iter().map(|t| t.index).collect::<Vec<_>>(),
        vec![1, 2, 0]
    );
    assert_eq!(s.top[0].name, "b");
    let sum: f32 = s.probabilities.iter().sum();
    assert!((sum - 1.0).abs() < 1e-6);
}

#[test]
fn probability_rows_are_checked() {
    let m = manifest("probabilities");
    assert!(finish_row(&[0.2, 0.3, 0.5], None, &m, &ScoreOptions::default()).is_ok());
    let e = finish_row(&[0.2, 0.3, 0.6], None, &m, &ScoreOptions::default()).unwrap_err();
    assert_eq!(e.code(), "invalid_probabilities");
    let e = finish_row(&[f32::NAN, 0.3, 0.6], None, &m, &ScoreOptions::default()).unwrap_err();
    assert_eq!(e.code(), "non_finite_output");
}

#[test]
fn several_rows_give_the_mean_and_multi_measures() {
    use crate::engine::triage::multi::{multi_uncertainty, MultiUncertaintyRequest};
    let m = manifest("logits");
    let o = ScoreOptions {
        include_samples: true,
        ..Default::default()
    };
    let rows: [&[f32]; 3] = [&[2.0, 0.0, 0.0], &[0.0, 2.0, 0.0], &[1.0, 1.0, 3.0]];
    let s = finish_rows(&rows, None, &m, &o).unwrap();
    let samples = s.samples.clone().unwrap();
    assert_eq!(samples.len(), 3);
    let flat: Vec<f64> = samples.iter().flatten().map(|&v| v as f64).collect();
    let want = multi_uncertainty(&MultiUncertaintyRequest {
        probs: flat,
        n: 1,
        t: 3,
        k: 3,
        include_mean_probs: true,
    })
    .unwrap();
    let it = want.items[0];
    assert_eq!(s.uncertainty.bald, Some(it.bald));
    assert_eq!(s.uncertainty.expected_entropy, Some(it.expected_entropy));
    assert_eq!(s.uncertainty.variation_ratio, Some(it.variation_ratio));
    assert_eq!(s.uncertainty.entropy, it.entropy);
    assert_eq!(s.predicted, it.predicted);
    for (p, q) in s.probabilities.iter().zip(want.mean_probs.unwrap()) {
        assert!((*p as f64 - q).abs() < 1e-7);
    }
    assert_eq!(s.top[0].index, s.predicted);
    // one row = finish_row; samples only when asked for
    let one = finish_rows(&rows[..1], None, &m, &ScoreOptions::default()).unwrap();
    assert_eq!(
        one,
        finish_row(rows[0], None, &m, &ScoreOptions::default()).unwrap()
    );
    assert!(one.samples.is_none() && one.uncertainty.bald.is_none());
    let j = serde_json::to_value(&s).unwrap();
    assert!(j["bald"].is_f64() && j["samples"].is_array());
    // a non-finite row fails the item
    let bad: [&[f32]; 2] = [&[1.0, 0.0, 0.0], &[f32::NAN, 0.0, 0.0]];
    assert_eq!(
        finish_rows(&bad, None, &m, &o).unwrap_err().code(),
        "non_finite_output"
    );
}

#[test]
fn queue_skips_failures() {
    let m = manifest("logits");
    let o = ScoreOptions::default();
    let items = vec![
        ItemResult::new("sure", finish_row(&[9.0, 0.0, 0.0], None, &m, &o)),
        ItemResult::new("bad", Err(err!(ImageDecode, "x"))),
        ItemResult::new("unsure", finish_row(&[1.0, 1.0, 0.9], None, &m, &o)),
    ];
    let q = queue(&items, Measure::Entropy);
    assert_eq!(q.order, vec!["unsure", "sure"]);
    assert_eq!(q.failed, vec!["bad"]);
    let json = serde_json::to_value(&items[1]).unwrap();
    assert_eq!(json["error"]["code"], "image_decode");
}
