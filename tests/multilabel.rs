#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

// Golden tests for multi-label findings against cleanlab 2.9's multilabel_classification
// (tests/golden/multilabel/label_issues.json, from scripts/golden_multilabel.py).
// Tolerances: masks, indices, counts and confident joints exactly equal; scores within
// 1e-12 (observed: 0 or a few ulps).

use medtriage::engine::multilabel::label_issues::*;
use medtriage::engine::multilabel::{onehot, MlProbs};
use medtriage::engine::triage::label_issues::{FilterBy, ScoreMethod};
use serde_json::Value;
#[path = "suite/json.rs"]
mod json;
use json::{f64s, usizes};

const LABELS: &str = include_str!("golden/multilabel/label_issues.json");
const TOL: f64 = 1e-12;

fn unhex(s: &str) -> Vec<f64> {
    (0..s.len() / 16)
        .map(|i| f64::from_bits(u64::from_str_radix(&s[i * 16..i * 16 + 16], 16).unwrap()))
        .collect()
}
fn close(a: &[f64], b: &[f64], tol: f64, what: &str) -> f64 {
    assert_eq!(a.len(), b.len(), "{what}: length");
    let mut worst: f64 = 0.0;
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let d = (x - y).abs();
        assert!(d <= tol, "{what}[{i}]: {x} vs {y}");
        worst = worst.max(d);
    }
    worst
}
fn flagged(mask: &[bool]) -> Vec<usize> {
    (0..mask.len()).filter(|&i| mask[i]).collect()
}
fn de<T: serde::de::DeserializeOwned>(name: &str) -> T {
    serde_json::from_value(Value::String(name.into())).unwrap()
}

struct Case {
    name: String,
    n: usize,
    k: usize,
    p: Vec<f64>,
    y: Vec<u8>,
    c: Value,
}

fn cases() -> Vec<Case> {
    let g: Value = serde_json::from_str(LABELS).unwrap();
    g["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let (n, k) = (
                c["n"].as_u64().unwrap() as usize,
                c["k"].as_u64().unwrap() as usize,
            );
            let labels: Vec<Vec<usize>> =
                c["labels"].as_array().unwrap().iter().map(usizes).collect();
            Case {
                name: c["name"].as_str().unwrap().to_string(),
                n,
                k,
                p: unhex(c["predProbsHex"].as_str().unwrap()),
                y: onehot(&labels, n, k).unwrap(),
                c: c.clone(),
            }
        })
        .collect()
}

#[test]
fn multilabel_find_label_issues_matches_cleanlab() {
    for t in cases() {
        let p = MlProbs::new(&t.p, t.n, t.k).unwrap();
        for (mode, want) in t.c["modes"].as_object().unwrap() {
            let o = MlFindOptions {
                filter_by: de::<FilterBy>(mode),
                ..Default::default()
            };
            let r = find_label_issues(&p, &t.y, &o).unwrap();
            if want.is_null() {
                // cleanlab refuses a finding nobody gave in this mode (documented difference)
                continue;
            }
            assert_eq!(
                flagged(&r.is_label_issue),
                usizes(want),
                "{} {mode}",
                t.name
            );
            assert_eq!(r.num_issues, usizes(want).len());
        }
        let ex = &t.c["extra"];
        let run =
            |o: MlFindOptions| flagged(&find_label_issues(&p, &t.y, &o).unwrap().is_label_issue);
        assert_eq!(
            run(MlFindOptions {
                frac_noise: 0.5,
                ..Default::default()
            }),
            usizes(&ex["fracNoise0.5"]),
            "{}",
            t.name
        );
        assert_eq!(
            run(MlFindOptions {
                filter_by: FilterBy::Both,
                frac_noise: 0.7,
                ..Default::default()
            }),
            usizes(&ex["bothFrac0.7"]),
            "{}",
            t.name
        );
        assert_eq!(
            run(MlFindOptions {
                min_examples_per_class: 30,
                ..Default::default()
            }),
            usizes(&ex["minExamples30"]),
            "{}",
            t.name
        );
        // cleanlab divides by zero rescaling the counts of a finding nobody gave
        if t.name.ends_with("_absent") {
            continue;
        }
        assert_eq!(
            run(MlFindOptions {
                filter_by: FilterBy::PruneByClass,
                num_to_remove_per_class: Some(usizes(&t.c["numToRemovePerClass"])),
                ..Default::default()
            }),
            usizes(&ex["numToRemove"]),
            "{}",
            t.name
        );
    }
}

#[test]
fn multilabel_ranked_issues_match_cleanlab() {
    for t in cases() {
        let p = MlProbs::new(&t.p, t.n, t.k).unwrap();
        let rk = &t.c["ranked"];
        for (key, m, adj) in [
            ("selfConfidence", ScoreMethod::SelfConfidence, false),
            ("normalizedMargin", ScoreMethod::NormalizedMargin, false),
            (
                "confidenceWeightedEntropy",
                ScoreMethod::ConfidenceWeightedEntropy,
                false,
            ),
            ("selfConfidenceAdjusted", ScoreMethod::SelfConfidence, true),
        ] {
            let o = MlFindOptions {
                return_indices_ranked_by: Some(m),
                rank_by_adjust_pred_probs: adj,
                ..Default::default()
            };
            let r = find_label_issues(&p, &t.y, &o).unwrap();
            assert_eq!(
                r.ranked_indices.unwrap(),
                usizes(&rk[key]),
                "{} {key}",
                t.name
            );
        }
        // low_* ranking: same set as cleanlab, ordered by the score (documented difference)
        let o = MlFindOptions {
            filter_by: FilterBy::LowSelfConfidence,
            return_indices_ranked_by: Some(ScoreMethod::NormalizedMargin),
            ..Default::default()
        };
        let got = find_label_issues(&p, &t.y, &o)
            .unwrap()
            .ranked_indices
            .unwrap();
        let mut a = got.clone();
        a.sort();
        let mut b = usizes(&rk["lowSelfConfidenceNormalizedMargin"]);
        b.sort();
        assert_eq!(a, b, "{}", t.name);
        let s = label_quality_scores(
            &p,
            &t.y,
            &MlQualityOptions {
                method: ScoreMethod::NormalizedMargin,
                ..Default::default()
            },
        )
        .unwrap();
        assert!(got.windows(2).all(|w| s[w[0]] <= s[w[1]]), "{}", t.name);
    }
}

#[test]
fn multilabel_per_finding_issues_match_cleanlab() {
    for t in cases() {
        let p = MlProbs::new(&t.p, t.n, t.k).unwrap();
        let r = find_label_issues_per_finding(&p, &t.y, &MlFindOptions::default()).unwrap();
        let want: Vec<bool> = usizes(&t.c["perClassMask"])
            .iter()
            .map(|&v| v == 1)
            .collect();
        assert_eq!(r.is_label_issue, want, "{}", t.name);
        let r = find_label_issues_per_finding(
            &p,
            &t.y,
            &MlFindOptions {
                return_indices_ranked_by: Some(ScoreMethod::SelfConfidence),
                ..Default::default()
            },
        )
        .unwrap();
        let want: Vec<Vec<usize>> = t.c["perClassRanked"]
            .as_array()
            .unwrap()
            .iter()
            .map(usizes)
            .collect();
        assert_eq!(r.ranked_indices.unwrap(), want, "{}", t.name);
        // dataset-level summaries (common_multilabel_issues, rank_classes_by_multilabel_quality,
        // overall_multilabel_health_score)
        let all = find_label_issues(&p, &t.y, &MlFindOptions::default()).unwrap();
        for w in t.c["commonIssues"].as_array().unwrap() {
            let j = w["finding"].as_u64().unwrap() as usize;
            let s = &all.finding_summary[j];
            assert_eq!(s.in_given_label as u64, w["inGivenLabel"].as_u64().unwrap());
            assert_eq!(
                s.not_in_given_label as u64,
                w["notInGivenLabel"].as_u64().unwrap()
            );
        }
        for w in t.c["rankClasses"].as_array().unwrap() {
            let s = &all.finding_summary[w["finding"].as_u64().unwrap() as usize];
            close(
                &[s.label_noise, s.inverse_label_noise, s.label_quality_score],
                &[
                    w["labelNoise"].as_f64().unwrap(),
                    w["inverseLabelNoise"].as_f64().unwrap(),
                    w["labelQualityScore"].as_f64().unwrap(),
                ],
                TOL,
                &t.name,
            );
        }
        close(
            &[all.health_score],
            &[t.c["healthScore"].as_f64().unwrap()],
            TOL,
            &t.name,
        );
    }
}

#[test]
fn multilabel_quality_scores_match_cleanlab() {
    for t in cases() {
        let p = MlProbs::new(&t.p, t.n, t.k).unwrap();
        let q = &t.c["quality"];
        for (key, m, adj) in [
            ("selfConfidence", ScoreMethod::SelfConfidence, false),
            ("normalizedMargin", ScoreMethod::NormalizedMargin, false),
            (
                "confidenceWeightedEntropy",
                ScoreMethod::ConfidenceWeightedEntropy,
                false,
            ),
            ("selfConfidenceAdjusted", ScoreMethod::SelfConfidence, true),
            (
                "normalizedMarginAdjusted",
                ScoreMethod::NormalizedMargin,
                true,
            ),
        ] {
            let o = MlQualityOptions {
                method: m,
                adjust_pred_probs: adj,
                ..Default::default()
            };
            let s = label_quality_scores(&p, &t.y, &o).unwrap();
            close(&s, &f64s(&q[key]), TOL, &format!("{} {key}", t.name));
            let per = per_finding_quality_scores(
                &p,
                &t.y,
                &PerFindingQualityOptions {
                    method: m,
                    adjust_pred_probs: adj,
                },
            )
            .unwrap();
            close(
                &per,
                &f64s(&q[format!("{key}PerClass").as_str()]),
                TOL,
                &format!("{} {key} per class", t.name),
            );
        }
        for (key, a) in [
            (
                "emaAlphaNone",
                Aggregator::ExponentialMovingAverage { alpha: None },
            ),
            (
                "emaAlpha0.5",
                Aggregator::ExponentialMovingAverage { alpha: Some(0.5) },
            ),
            ("softmin", Aggregator::Softmin { temperature: 0.1 }),
            ("softminT0.5", Aggregator::Softmin { temperature: 0.5 }),
        ] {
            let o = MlQualityOptions {
                aggregator: a,
                ..Default::default()
            };
            let s = label_quality_scores(&p, &t.y, &o).unwrap();
            close(&s, &f64s(&q[key]), TOL, &format!("{} {key}", t.name));
        }
    }
}

#[test]
fn multilabel_confident_joint_matches_cleanlab() {
    for t in cases() {
        let p = MlProbs::new(&t.p, t.n, t.k).unwrap();
        let want: Vec<i64> = usizes(&t.c["confidentJoint"])
            .iter()
            .map(|&v| v as i64)
            .collect();
        assert_eq!(confident_joint(&p, &t.y, true).unwrap(), want, "{}", t.name);
        let raw: Vec<i64> = usizes(&t.c["confidentJointRaw"])
            .iter()
            .map(|&v| v as i64)
            .collect();
        assert_eq!(confident_joint(&p, &t.y, false).unwrap(), raw, "{}", t.name);
        // a user-given confident joint gives the same result as the computed one
        let o = MlFindOptions {
            confident_joint: Some(want),
            ..Default::default()
        };
        assert_eq!(
            flagged(&find_label_issues(&p, &t.y, &o).unwrap().is_label_issue),
            usizes(&t.c["modes"]["pruneByNoiseRate"]),
            "{}",
            t.name
        );
    }
}

#[test]
fn multilabel_requests_reject_bad_input() {
    let bad = |json: &str| -> String {
        match serde_json::from_str::<MlFindRequest>(json) {
            Err(_) => "invalid_options".into(),
            Ok(r) => find_label_issues_request(&r)
                .unwrap_err()
                .kind()
                .code()
                .to_string(),
        }
    };
    assert_eq!(
        bad(r#"{"predProbs":[0.1,0.9],"n":1,"k":2,"labels":[[2]]}"#),
        "invalid_input"
    );
    assert_eq!(
        bad(r#"{"predProbs":[0.1,1.9],"n":1,"k":2,"labels":[[1]]}"#),
        "invalid_probabilities"
    );
    assert_eq!(
        bad(r#"{"predProbs":[0.1,0.9,0.3],"n":1,"k":2,"labels":[[1]]}"#),
        "invalid_input"
    );
    assert_eq!(
        bad(r#"{"predProbs":[0.1,0.9],"n":1,"k":2,"labels":[[1]],"options":{"fracNoise":2}}"#),
        "invalid_options"
    );
    assert_eq!(
        bad(r#"{"predProbs":[0.1,0.9],"n":1,"k":2,"labels":[[1]],"options":{"filterBy":"x"}}"#),
        "invalid_options"
    );
    assert_eq!(
        bad(r#"{"predProbs":[0.1,0.9],"n":1,"k":2,"labels":[[1]],"extra":1}"#),
        "invalid_options"
    );
}

// ---------------------------------------------------------------------------------------
// Calibration, conformal and certified auto-accept per finding
// (tests/golden/multilabel/calibration.json: scikit-learn's _SigmoidCalibration, scipy's
// bounded minimizer, numpy.histogram bins, numpy's inverted-CDF quantile). Tolerances:
// Platt slope/intercept 1e-5 (scikit-learn stops L-BFGS at a gradient of 1e-6),
// temperature 1e-6, metrics 1e-12, conformal thresholds exact.

use medtriage::engine::multilabel::calibration::*;
use medtriage::engine::triage::calibration::ScoreKind;
use medtriage::engine::triage::risk::RiskMode;

const CALIB: &str = include_str!("golden/multilabel/calibration.json");

fn label_lists(v: &Value) -> Vec<Vec<usize>> {
    v.as_array().unwrap().iter().map(usizes).collect()
}

#[test]
fn multilabel_calibration_matches_sklearn_and_scipy() {
    let g: Value = serde_json::from_str(CALIB).unwrap();
    let mut worst = [0.0f64; 3];
    for c in g["cases"].as_array().unwrap() {
        let (n, k) = (
            c["n"].as_u64().unwrap() as usize,
            c["k"].as_u64().unwrap() as usize,
        );
        let z = unhex(c["logitsHex"].as_str().unwrap());
        let labels = label_lists(&c["labels"]);
        let fit = |method| {
            fit_calibration(&MlCalibrateRequest {
                scores: z.clone(),
                n,
                k,
                kind: ScoreKind::Logits,
                labels: labels.clone(),
                options: MlCalibrateOptions {
                    method,
                    ..Default::default()
                },
            })
            .unwrap()
        };
        let platt = fit(MlCalibrationMethod::Platt);
        let temp = fit(MlCalibrationMethod::Temperature);
        for j in 0..k {
            let w = &c["platt"][j];
            worst[0] = worst[0].max(close(
                &[platt.maps[j].slope, platt.maps[j].intercept],
                &[
                    w["slope"].as_f64().unwrap(),
                    w["intercept"].as_f64().unwrap(),
                ],
                1e-5,
                "platt",
            ));
            worst[1] = worst[1].max(close(
                &[temp.findings[j].temperature.unwrap()],
                &[c["temperature"][j].as_f64().unwrap()],
                1e-6,
                "temperature",
            ));
            let m = &temp.findings[j].before;
            let w = &c["metricsBefore"][j];
            worst[2] = worst[2].max(close(
                &[m.ece, m.mce, m.brier, m.nll, m.accuracy],
                &[
                    w["ece"].as_f64().unwrap(),
                    w["mce"].as_f64().unwrap(),
                    w["brier"].as_f64().unwrap(),
                    w["nll"].as_f64().unwrap(),
                    w["accuracy"].as_f64().unwrap(),
                ],
                1e-12,
                "metrics",
            ));
            // calibration never makes the fitting-set NLL worse
            assert!(platt.findings[j].after.nll <= platt.findings[j].before.nll + 1e-12);
            assert!(temp.findings[j].after.nll <= temp.findings[j].before.nll + 1e-12);
        }
        // conformal thresholds per finding at alpha / k (raw sigmoid probabilities)
        let probs: Vec<f64> = z.iter().map(|&v| 1.0 / (1.0 + (-v).exp())).collect();
        let cal = conformal_calibrate_ml(&MlConformalRequest {
            probs: probs.clone(),
            n,
            k,
            labels: labels.clone(),
            alpha: c["conformalAlpha"].as_f64().unwrap(),
            bonferroni: true,
            class_conditional: false,
        })
        .unwrap();
        let want = f64s(&c["conformalThresholds"]);
        // within 1e-15: the absent class scores 1 - (1 - p), numpy's reference p
        for (t, w) in cal.thresholds.iter().zip(&want) {
            close(t, &[*w], 1e-15, "conformal");
        }
    }
    println!(
        "calibration parity: max |diff| platt {:.1e}, temperature {:.1e}, metrics {:.1e}",
        worst[0], worst[1], worst[2]
    );
}

/// SplitMix64 uniforms for the simulation below.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// `n` images x `k` findings whose truths are drawn from the calibrated probabilities
/// (so the model is calibrated) and whose raw scores are over-confident logits (`2 z`).
fn draw(rng: &mut Rng, n: usize, k: usize) -> (Vec<f64>, Vec<Vec<usize>>) {
    let mut logits = Vec::with_capacity(n * k);
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        let mut l = Vec::new();
        for j in 0..k {
            // mostly confident negatives, some positives, a few hard cases
            let u = rng.next();
            let z = if u < 0.7 {
                -4.0 - 3.0 * rng.next()
            } else if u < 0.9 {
                4.0 + 3.0 * rng.next()
            } else {
                4.0 * (rng.next() - 0.5)
            };
            if rng.next() < 1.0 / (1.0 + (-z).exp()) {
                l.push(j);
            }
            logits.push(2.0 * z);
        }
        labels.push(l);
    }
    (logits, labels)
}

#[test]
fn multilabel_auto_accept_holds_on_held_out_images() {
    // 60 repetitions: fit temperatures + certify on 3,000 verified images, apply to 20,000
    // held-out images. The guarantee fails in a repetition when the held-out error exceeds
    // alpha; it may fail in at most a delta fraction of repetitions (plus binomial slack).
    let (k, alpha, delta, reps) = (5, 0.05, 0.1, 60);
    let mut rng = Rng(7);
    let mut fails = [0usize; 2];
    let mut refused = [0usize; 2];
    let mut accepted_frac = [0.0f64; 2];
    for _ in 0..reps {
        let (zc, yc) = draw(&mut rng, 3000, k);
        let (zt, yt) = draw(&mut rng, 20_000, k);
        let cal = fit_calibration(&MlCalibrateRequest {
            scores: zc.clone(),
            n: 3000,
            k,
            kind: ScoreKind::Logits,
            labels: yc.clone(),
            options: MlCalibrateOptions::default(),
        })
        .unwrap();
        // a temperature above 1 undoes the over-confident (doubled) logits
        assert!(cal.findings.iter().all(|f| f.temperature.unwrap() > 1.3));
        let apply = |z: &[f64], n| {
            apply_calibration(&MlApplyCalibrationRequest {
                scores: z.to_vec(),
                n,
                k,
                kind: ScoreKind::Logits,
                maps: cal.maps.clone(),
            })
            .unwrap()
            .probabilities
        };
        let (pc, pt) = (apply(&zc, 3000), apply(&zt, 20_000));
        for (m, multiplicity) in [Multiplicity::Joint, Multiplicity::Bonferroni]
            .into_iter()
            .enumerate()
        {
            let rule = match auto_accept_ml(&MlAutoAcceptRequest {
                probs: pc.clone(),
                n: 3000,
                k,
                labels: yc.clone(),
                alpha,
                delta,
                options: MlAutoAcceptOptions {
                    multiplicity,
                    ..Default::default()
                },
            }) {
                Ok(r) => r,
                Err(e) => {
                    // refusing to certify accepts nothing: safe, but counted
                    assert_eq!(e.code(), "insufficient_data");
                    refused[m] += 1;
                    continue;
                }
            };
            let d = apply_auto_accept(&MlApplyAutoAcceptRequest {
                rule: rule.clone(),
                probs: pt.clone(),
                n: 20_000,
                k,
                labels: Some(yt.clone()),
            })
            .unwrap();
            let held_out = match rule.mode {
                RiskMode::Conditional => d.error_among_accepted.unwrap(),
                RiskMode::Marginal => d.error_marginal.unwrap(),
            };
            fails[m] += (held_out > alpha) as usize;
            accepted_frac[m] += d.num_accepted as f64 / 20_000.0 / reps as f64;
        }
    }
    // P(Binomial(60, 0.1) > 12) < 0.01
    println!(
        "auto-accept held out ({reps} repetitions): guarantee violated joint {}, bonferroni {}; refused joint {}, bonferroni {}; mean accepted fraction joint {:.3}, bonferroni {:.3}",
        fails[0], fails[1], refused[0], refused[1], accepted_frac[0], accepted_frac[1]
    );
    assert!(fails[0] <= 12 && fails[1] <= 12, "{fails:?}");
    // the rule is not vacuous
    assert!(
        refused[0] <= reps / 2 && refused[1] <= reps / 2,
        "{refused:?}"
    );
    assert!(
        accepted_frac[0] > 0.05 && accepted_frac[1] > 0.05,
        "{accepted_frac:?}"
    );
}

#[test]
fn multilabel_conformal_covers_images_held_out() {
    let (k, alpha) = (5, 0.1);
    let mut rng = Rng(11);
    let (zc, yc) = draw(&mut rng, 2000, k);
    let (zt, yt) = draw(&mut rng, 20_000, k);
    let sig = |z: &[f64]| -> Vec<f64> { z.iter().map(|&v| 1.0 / (1.0 + (-v).exp())).collect() };
    let cal = conformal_calibrate_ml(&MlConformalRequest {
        probs: sig(&zc),
        n: 2000,
        k,
        labels: yc,
        alpha,
        bonferroni: true,
        class_conditional: false,
    })
    .unwrap();
    let s = conformal_sets_ml(&MlConformalSetsRequest {
        calibration: cal,
        probs: sig(&zt),
        n: 20_000,
        k,
        labels: Some(yt),
    })
    .unwrap();
    let cov = s.image_coverage.unwrap();
    println!(
        "conformal image coverage {cov:.4} (target >= {})",
        1.0 - alpha
    );
    assert!(cov >= 1.0 - alpha - 0.01, "{cov}");
    assert!(s
        .finding_coverage
        .unwrap()
        .iter()
        .all(|&c| c >= 1.0 - alpha / k as f64 - 0.01));
}

#[test]
fn multilabel_calibration_rejects_bad_input() {
    let e = fit_calibration(&MlCalibrateRequest {
        scores: vec![0.1, f64::NAN],
        n: 1,
        k: 2,
        kind: ScoreKind::Logits,
        labels: vec![vec![]],
        options: MlCalibrateOptions::default(),
    })
    .unwrap_err();
    assert_eq!(e.code(), "non_finite_output");
    let e = auto_accept_ml(&MlAutoAcceptRequest {
        probs: vec![0.9; 20],
        n: 10,
        k: 2,
        labels: vec![vec![0, 1]; 10],
        alpha: 0.01,
        delta: 0.05,
        options: MlAutoAcceptOptions::default(),
    })
    .unwrap_err();
    assert_eq!(e.code(), "insufficient_data");
    let r: std::result::Result<MlAutoAcceptOptions, _> =
        serde_json::from_str(r#"{"multiplicity":"holm"}"#);
    assert!(r.is_err());
}

// ---------------------------------------------------------------------------------------
// Consensus of multi-label reads against crowd-kit 1.4 (MajorityVote, DawidSkene),
// statsmodels (Fleiss) and krippendorff (nominal alpha), per finding: committed synthetic
// reads (tests/golden/multilabel/consensus.json) here and in Chromium; the real vinbigdata
// reads natively when scripts/golden_vinbig.py has written target/vinbig/ (the reads may not
// be committed). Tolerances: majority labels and fractions exact (1e-12), Dawid-Skene
// posteriors, priors and confusions 1e-4 at equal iterations (as the single-label suite),
// agreement 1e-9.

use medtriage::engine::consensus::Label;
use medtriage::engine::multilabel::consensus::*;

const CONS: &str = include_str!("golden/multilabel/consensus.json");

fn ml_request(
    items: &Value,
    annotators: &Value,
    reads: &Value,
    names: Option<Vec<String>>,
    k: usize,
) -> MlConsensusRequest {
    let items: Vec<String> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let annotators: Vec<String> = annotators
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let reads = reads
        .as_array()
        .unwrap()
        .iter()
        .map(|r| MlRead {
            item: items[r[0].as_u64().unwrap() as usize].clone(),
            annotator: annotators[r[1].as_u64().unwrap() as usize].clone(),
            findings: r[2]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| Label::Index(v.as_u64().unwrap()))
                .collect(),
        })
        .collect();
    MlConsensusRequest {
        reads,
        num_findings: if names.is_none() { Some(k) } else { None },
        findings: names,
        items: Some(items),
        annotators: Some(annotators),
        options: MlConsensusOptions::default(),
    }
}

/// Compare one consensus run with the reference; returns the worst differences
/// (majority fraction, Dawid-Skene posterior, Krippendorff / Fleiss).
fn check_consensus(r: &MlConsensusResponse, want: &Value, what: &str) -> [f64; 3] {
    let (n, k) = (r.items.len(), r.findings.len());
    let mut worst = [0.0f64; 3];
    for j in 0..k {
        let w = &want[j];
        let name = format!("{what} finding {j}");
        let mv: Vec<usize> = (0..n)
            .map(|i| r.majority[i].contains(&j) as usize)
            .collect();
        assert_eq!(mv, usizes(&w["majorityLabels"]), "{name} majority");
        let frac: Vec<f64> = (0..n).map(|i| r.majority_fraction[i * k + j]).collect();
        worst[0] = worst[0].max(close(&frac, &f64s(&w["majorityFraction"]), 1e-12, &name));
        let f = &r.per_finding[j];
        assert_eq!(
            f.iterations as u64,
            w["dsIterations"].as_u64().unwrap(),
            "{name} iterations"
        );
        let post: Vec<f64> = (0..n).map(|i| r.posteriors[i * k + j]).collect();
        worst[1] = worst[1].max(close(&post, &f64s(&w["dsPosterior"]), 1e-4, &name));
        let ds: Vec<usize> = (0..n)
            .map(|i| r.dawid_skene[i].contains(&j) as usize)
            .collect();
        let want_ds = usizes(&w["dsLabels"]);
        // a posterior within 1e-4 of 0.5 may fall either side
        for i in 0..n {
            if (post[i] - 0.5).abs() > 1e-4 {
                assert_eq!(ds[i], want_ds[i], "{name} Dawid-Skene label {i}");
            }
        }
        close(&[f.prevalence], &[f64s(&w["dsPriors"])[1]], 1e-4, &name);
        let conf = f64s(&w["dsConfusion"]);
        let m = r.annotators.len();
        let sens: Vec<f64> = (0..m).map(|a| conf[a * 4 + 3]).collect();
        let spec: Vec<f64> = (0..m).map(|a| conf[a * 4]).collect();
        close(&f.sensitivity, &sens, 1e-4, &name);
        close(&f.specificity, &spec, 1e-4, &name);
        let ka = w["krippendorffAlpha"].as_f64().unwrap();
        worst[2] = worst[2].max(close(&[f.krippendorff_alpha.unwrap()], &[ka], 1e-9, &name));
        match w["fleissKappa"].as_f64() {
            Some(fk) => {
                worst[2] = worst[2].max(close(&[f.fleiss_kappa.unwrap()], &[fk], 1e-9, &name))
            }
            None => assert!(f.fleiss_kappa.is_none(), "{name}"),
        }
    }
    worst
}

#[test]
fn multilabel_consensus_matches_crowdkit_and_krippendorff() {
    let g: Value = serde_json::from_str(CONS).unwrap();
    for c in g["cases"].as_array().unwrap() {
        let k = c["k"].as_u64().unwrap() as usize;
        let req = ml_request(&c["items"], &c["annotators"], &c["reads"], None, k);
        let r = ml_consensus(&req).unwrap();
        let w = check_consensus(&r, &c["perFinding"], c["name"].as_str().unwrap());
        println!(
            "{}: max |diff| majority {:.1e}, Dawid-Skene {:.1e}, agreement {:.1e}",
            c["name"], w[0], w[1], w[2]
        );
        // next reads: ranked by the score, which is 1 - prod max(q, 1 - q)
        assert!(r.next_reads.windows(2).all(|p| p[0].score >= p[1].score));
        let top = &r.next_reads[0];
        let q = &r.posteriors[top.index * k..(top.index + 1) * k];
        let s = 1.0 - q.iter().map(|&v| v.max(1.0 - v)).product::<f64>();
        assert!((s - top.score).abs() < 1e-12);
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn vinbig_dir() -> Option<std::path::PathBuf> {
    let dir = std::env::var_os("MEDTRIAGE_VINBIG_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/vinbig"));
    if dir.join("golden.json").is_file() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("MEDTRIAGE_REQUIRE_VINBIG").is_none(),
        "MEDTRIAGE_REQUIRE_VINBIG is set but {} has no golden.json (run scripts/golden_vinbig.py)",
        dir.display()
    );
    eprintln!("vinbigdata reads not installed (scripts/check_vinbig.sh): skipped");
    None
}

#[cfg(not(target_arch = "wasm32"))]
#[test]
fn multilabel_consensus_on_vinbigdata_matches_crowdkit() {
    let Some(dir) = vinbig_dir() else { return };
    let reads: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("reads.json")).unwrap()).unwrap();
    let g: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("golden.json")).unwrap()).unwrap();
    let names: Vec<String> = reads["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let req = ml_request(
        &reads["items"],
        &reads["annotators"],
        &reads["reads"],
        Some(names),
        0,
    );
    let t = std::time::Instant::now();
    let r = ml_consensus(&req).unwrap();
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(
        (r.items.len(), r.annotators.len(), r.findings.len()),
        (15_000, 17, 14)
    );
    let w = check_consensus(&r, &g["perFinding"], "vinbigdata");
    println!(
        "vinbigdata consensus: max |diff| majority {:.1e}, Dawid-Skene {:.1e}, agreement {:.1e}; {secs:.2} s here vs {:.1} s for crowd-kit + krippendorff + statsmodels",
        w[0], w[1], w[2], g["referenceSeconds"].as_f64().unwrap()
    );
    for f in &r.per_finding {
        println!(
            "  {:<20} reads+ {:>5}  MV+ {:>5}  DS+ {:>5}  Fleiss {:>6.3}  Krippendorff {:>6.3}",
            f.name,
            f.positive_reads,
            f.majority_positives,
            f.dawid_skene_positives,
            f.fleiss_kappa.unwrap_or(f64::NAN),
            f.krippendorff_alpha.unwrap_or(f64::NAN)
        );
    }
}

#[cfg(not(target_arch = "wasm32"))]
#[test]
fn multilabel_review_simulation_on_vinbigdata() {
    use medtriage::engine::multilabel::simulate::*;
    let Some(dir) = vinbig_dir() else { return };
    let reads: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("reads.json")).unwrap()).unwrap();
    let names: Vec<String> = reads["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let req = ml_request(
        &reads["items"],
        &reads["annotators"],
        &reads["reads"],
        Some(names.clone()),
        0,
    );
    for target in [0.99, 0.995] {
        let r = simulate_reviews(&SimulateRequest {
            reads: req.reads.clone(),
            findings: Some(names.clone()),
            num_findings: None,
            options: SimulateOptions {
                target,
                ..Default::default()
            },
        })
        .unwrap();
        println!(
            "vinbigdata review simulation, per-finding accuracy target {target}: {} images, {} with a wrong given finding; model mean ECE {:.3}, accuracy {:.4}; oracle lower bound {}",
            r.images, r.images_with_errors, r.model_mean_ece, r.model_accuracy, r.oracle_lower_bound
        );
        for o in &r.orders {
            println!(
                "  {:<16} {:>8.1} reviews  ({:.3} of images, {:.2} x oracle)",
                o.name, o.reviews, o.fraction, o.vs_oracle
            );
        }
        let get = |n: &str| r.orders.iter().find(|o| o.name == n).unwrap().reviews;
        assert!(get("oracle") >= r.oracle_lower_bound as f64);
        // a model-ranked queue beats reviewing at random
        assert!(get("pAnyGivenWrong") < get("random"));
        assert!(get("labelQuality") < get("random"));
    }
}
