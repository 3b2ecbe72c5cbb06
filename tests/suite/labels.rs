#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

// Golden tests for the `labels` area against cleanlab 2.9 and scikit-learn
// (scripts/golden_labels.py). Tolerances: masks, indices, counts and confident joints
// exactly equal; scores and matrices within 1e-6 (observed ~1e-15).

use crate::json::{f64s, usizes};
use medtriage::engine::triage::analysis::{class_report, ClassReportOptions};
use medtriage::engine::triage::label_issues::*;
use medtriage::engine::triage::outliers::*;
use serde_json::Value;

const SYNTH: &str = include_str!("../golden/labels/synthetic.json");
const OUTL: &str = include_str!("../golden/labels/outliers.json");
const ANAL: &str = include_str!("../golden/labels/analysis.json");
const TOL: f64 = 1e-6;

fn unhex(s: &str) -> Vec<f64> {
    (0..s.len() / 16)
        .map(|i| f64::from_bits(u64::from_str_radix(&s[i * 16..i * 16 + 16], 16).unwrap()))
        .collect()
}
fn mat_i64(v: &Value) -> Vec<Vec<i64>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_i64().unwrap())
                .collect()
        })
        .collect()
}
fn mat_f64(v: &Value) -> Vec<Vec<f64>> {
    v.as_array().unwrap().iter().map(f64s).collect()
}
fn close(a: &[f64], b: &[f64], tol: f64, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: length");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= tol, "{what}[{i}]: {x} vs {y}");
    }
}
fn flagged(mask: &[bool]) -> Vec<usize> {
    (0..mask.len()).filter(|&i| mask[i]).collect()
}
fn mode(name: &str) -> FilterBy {
    serde_json::from_value(Value::String(name.into())).unwrap()
}
fn method(name: &str) -> ScoreMethod {
    serde_json::from_value(Value::String(name.into())).unwrap()
}

#[test]
fn synthetic_confident_learning_matches_cleanlab() {
    let g: Value = serde_json::from_str(SYNTH).unwrap();
    for c in g["cases"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        let (n, k) = (
            c["n"].as_u64().unwrap() as usize,
            c["k"].as_u64().unwrap() as usize,
        );
        let data = unhex(c["predProbsHex"].as_str().unwrap());
        let labels = usizes(&c["labels"]);
        let p = Probs::new(&data, n, k).unwrap();
        // bit-exact (hex: serde_json's default float parsing is not correctly rounded)
        assert_eq!(
            confident_thresholds(&p, &labels).unwrap(),
            unhex(c["thresholdsHex"].as_str().unwrap()),
            "{name}"
        );
        let raw = compute_confident_joint(&p, &labels, None, false).unwrap();
        assert_eq!(raw.joint.rows(), mat_i64(&c["cjRaw"]), "{name} raw cj");
        assert_eq!(
            raw.off_diagonal,
            usizes(&c["offDiagonal"]),
            "{name} off-diagonal"
        );
        let cal = compute_confident_joint(&p, &labels, None, true).unwrap();
        assert_eq!(
            cal.joint.rows(),
            mat_i64(&c["cjCalibrated"]),
            "{name} calibrated cj"
        );
        let lc = label_counts(&labels, k);
        let joint = estimate_joint(&raw.joint, &lc);
        for (a, b) in joint.rows().iter().zip(mat_f64(&c["joint"])) {
            close(a, &b, TOL, &format!("{name} joint"));
        }
        let req = ConfidentJointRequest {
            pred_probs: data.clone(),
            n,
            k,
            labels: labels.clone(),
            options: ConfidentJointOptions::default(),
        };
        let r = confident_joint_request(&req).unwrap();
        close(&r.latent.py, &f64s(&c["py"]), TOL, &format!("{name} py"));
        for (a, b) in r.latent.noise_matrix.iter().zip(mat_f64(&c["noiseMatrix"])) {
            close(a, &b, TOL, &format!("{name} noise matrix"));
        }
        for (a, b) in r
            .latent
            .inverse_noise_matrix
            .iter()
            .zip(mat_f64(&c["inverseNoiseMatrix"]))
        {
            close(a, &b, TOL, &format!("{name} inverse noise matrix"));
        }
        assert_eq!(
            num_label_issues(&p, &labels, EstimationMethod::OffDiagonal).unwrap(),
            c["numOffDiagonal"].as_u64().unwrap() as usize,
            "{name}"
        );
        assert_eq!(
            num_label_issues(&p, &labels, EstimationMethod::OffDiagonalCalibrated).unwrap(),
            c["numOffDiagonalCalibrated"].as_u64().unwrap() as usize,
            "{name}"
        );
        for (m, want) in c["modes"].as_object().unwrap() {
            let o = FindOptions {
                filter_by: mode(m),
                ..FindOptions::default()
            };
            let r = find_label_issues(&p, &labels, &o).unwrap();
            assert_eq!(flagged(&r.is_label_issue), usizes(want), "{name} mode {m}");
            assert_eq!(r.num_issues, usizes(want).len());
        }
        let extra = &c["extra"];
        let run =
            |o: FindOptions| flagged(&find_label_issues(&p, &labels, &o).unwrap().is_label_issue);
        assert_eq!(
            run(FindOptions {
                frac_noise: 0.5,
                ..FindOptions::default()
            }),
            usizes(&extra["fracNoise0.5"]),
            "{name} frac 0.5"
        );
        assert_eq!(
            run(FindOptions {
                filter_by: FilterBy::Both,
                frac_noise: 0.7,
                ..FindOptions::default()
            }),
            usizes(&extra["bothFrac0.7"]),
            "{name} both frac 0.7"
        );
        assert_eq!(
            run(FindOptions {
                min_examples_per_class: 30,
                ..FindOptions::default()
            }),
            usizes(&extra["minExamples30"]),
            "{name} min examples 30"
        );
        if let Some(ntr) = c.get("numToRemovePerClass") {
            assert_eq!(
                run(FindOptions {
                    num_to_remove_per_class: Some(usizes(ntr)),
                    ..FindOptions::default()
                }),
                usizes(&extra["numToRemove"]),
                "{name} num to remove"
            );
        }
        for (m, want) in c["ranked"].as_object().unwrap() {
            let (meth, adj) = match m.as_str() {
                "selfConfidenceAdjusted" => (ScoreMethod::SelfConfidence, true),
                other => (method(other), false),
            };
            let o = FindOptions {
                return_indices_ranked_by: Some(meth),
                rank_by_adjust_pred_probs: adj,
                ..FindOptions::default()
            };
            let r = find_label_issues(&p, &labels, &o).unwrap();
            assert_eq!(r.ranked_indices.unwrap(), usizes(want), "{name} ranked {m}");
        }
        for (m, want) in c["quality"].as_object().unwrap() {
            let (meth, adj) = match m.strip_suffix("Adjusted") {
                Some(base) => (method(base), true),
                None => (method(m), false),
            };
            let o = QualityOptions {
                method: meth,
                adjust_pred_probs: adj,
            };
            let s = label_quality_scores(&p, &labels, &o).unwrap();
            close(&s, &f64s(want), TOL, &format!("{name} quality {m}"));
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod real {
    use super::*;
    const REAL: &str = include_str!("../golden/labels/real.json");
    const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/label-errors/");

    fn npy_f64(name: &str) -> Option<(Vec<u64>, Vec<f64>)> {
        let bytes = std::fs::read(format!("{DATA}{name}")).ok()?;
        let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
        let shape = npy.shape().to_vec();
        let fortran = npy.order() == npyz::Order::Fortran;
        let ts = format!("{:?}", npy.dtype());
        let v: Vec<f64> = if ts.contains("Float") {
            npy.into_vec::<f64>().unwrap()
        } else if ts.contains("Uint") {
            npy.into_vec::<u16>()
                .unwrap()
                .into_iter()
                .map(f64::from)
                .collect()
        } else {
            npy.into_vec::<i64>()
                .unwrap()
                .into_iter()
                .map(|x| x as f64)
                .collect()
        };
        if fortran && shape.len() == 2 {
            let (r, c) = (shape[0] as usize, shape[1] as usize);
            let t = (0..r * c).map(|x| v[(x % c) * r + x / c]).collect();
            return Some((shape, t));
        }
        Some((shape, v))
    }

    fn load(
        prefix: &str,
        probs: &str,
        labels: &str,
    ) -> Option<(Vec<f64>, usize, usize, Vec<usize>)> {
        let (shape, p) = npy_f64(&format!("{prefix}{probs}"))?;
        let (_, l) = npy_f64(&format!("{prefix}{labels}"))?;
        Some((
            p,
            shape[0] as usize,
            shape[1] as usize,
            l.into_iter().map(|v| v as usize).collect(),
        ))
    }

    #[test]
    fn real_data_matches_cleanlab() {
        let g: Value = serde_json::from_str(REAL).unwrap();
        for name in ["cifar10", "mnist"] {
            let Some((data, n, k, labels)) = load(name, "_test_pyx.npy", "_test_labels.npy") else {
                eprintln!("note: {DATA} absent, skipping {name}");
                return;
            };
            let r = &g[name];
            let p = Probs::new(&data, n, k).unwrap();
            assert_eq!(
                confident_thresholds(&p, &labels).unwrap(),
                unhex(r["thresholdsHex"].as_str().unwrap()),
                "{name}"
            );
            let cj = compute_confident_joint(&p, &labels, None, true).unwrap();
            assert_eq!(cj.joint.rows(), mat_i64(&r["cjCalibrated"]), "{name}");
            for (est, key) in [
                (EstimationMethod::OffDiagonal, "numOffDiagonal"),
                (
                    EstimationMethod::OffDiagonalCalibrated,
                    "numOffDiagonalCalibrated",
                ),
            ] {
                assert_eq!(
                    num_label_issues(&p, &labels, est).unwrap() as u64,
                    r[key].as_u64().unwrap(),
                    "{name} {key}"
                );
            }
            for (m, want) in r["modes"].as_object().unwrap() {
                let o = FindOptions {
                    filter_by: mode(m),
                    ..FindOptions::default()
                };
                let got = find_label_issues(&p, &labels, &o).unwrap();
                assert_eq!(flagged(&got.is_label_issue), usizes(want), "{name} {m}");
            }
            for (key, meth) in [
                ("rankedSelfConfidence", ScoreMethod::SelfConfidence),
                ("rankedNormalizedMargin", ScoreMethod::NormalizedMargin),
            ] {
                let o = FindOptions {
                    return_indices_ranked_by: Some(meth),
                    ..FindOptions::default()
                };
                let got = find_label_issues(&p, &labels, &o).unwrap();
                assert_eq!(got.ranked_indices.unwrap(), usizes(&r[key]), "{name} {key}");
            }
            for (m, want) in r["quality"].as_object().unwrap() {
                let (meth, adj) = match m.strip_suffix("Adjusted") {
                    Some(b) => (method(b), true),
                    None => (method(m), false),
                };
                let s = label_quality_scores(
                    &p,
                    &labels,
                    &QualityOptions {
                        method: meth,
                        adjust_pred_probs: adj,
                    },
                )
                .unwrap();
                let sub: Vec<f64> = s.iter().step_by(10).copied().collect();
                close(&sub, &f64s(want), TOL, &format!("{name} quality {m}"));
            }
        }
        let Some((data, n, k, labels)) =
            load("cifar10s_resnet18_", "pred_probs.npy", "noisy_labels.npy")
        else {
            return;
        };
        let p = Probs::new(&data, n, k).unwrap();
        let r = &g["cifar10s"];
        let got = find_label_issues(&p, &labels, &FindOptions::default()).unwrap();
        assert_eq!(flagged(&got.is_label_issue), usizes(&r["pruneByNoiseRate"]));
        assert_eq!(
            num_label_issues(&p, &labels, EstimationMethod::OffDiagonal).unwrap() as u64,
            r["numOffDiagonal"].as_u64().unwrap()
        );
        assert_eq!(
            num_label_issues(&p, &labels, EstimationMethod::OffDiagonalCalibrated).unwrap() as u64,
            r["numOffDiagonalCalibrated"].as_u64().unwrap()
        );
    }
}

#[test]
fn stable_tie_rule_lower_index_first() {
    // Rows 2 and 3 tie exactly on p[1] - p[0] and on self-confidence; the confident joint asks
    // for one issue in (given 0, true 1): the lower index (2) is flagged. cleanlab's
    // np.argsort (quicksort) may pick either.
    let p = vec![0.9, 0.1, 0.9, 0.1, 0.3, 0.7, 0.3, 0.7, 0.1, 0.9, 0.2, 0.8];
    let labels = vec![0, 0, 0, 0, 1, 1];
    let pr = Probs::new(&p, 6, 2).unwrap();
    let o = FindOptions {
        confident_joint: Some(vec![3, 1, 0, 2]),
        ..FindOptions::default()
    };
    let r = find_label_issues(&pr, &labels, &o).unwrap();
    assert_eq!(flagged(&r.is_label_issue), vec![2]);
    let o = FindOptions {
        filter_by: FilterBy::PruneByClass,
        confident_joint: Some(vec![3, 1, 0, 2]),
        return_indices_ranked_by: Some(ScoreMethod::SelfConfidence),
        ..FindOptions::default()
    };
    let r = find_label_issues(&pr, &labels, &o).unwrap();
    assert_eq!(r.ranked_indices.unwrap(), vec![2]);
    let o = FindOptions {
        confident_joint: Some(vec![2, 2, 0, 2]),
        return_indices_ranked_by: Some(ScoreMethod::SelfConfidence),
        ..FindOptions::default()
    };
    let r = find_label_issues(&pr, &labels, &o).unwrap();
    assert_eq!(r.ranked_indices.unwrap(), vec![2, 3]);
}

#[test]
fn requests_parse_cleanlab_and_camel_names() {
    let j = r#"{"predProbs":[0.9,0.1,0.2,0.8,0.6,0.4],"n":3,"k":2,"labels":[0,1,1],
        "options":{"filterBy":"prune_by_class","returnIndicesRankedBy":"normalizedMargin"}}"#;
    let r: FindLabelIssuesRequest = serde_json::from_str(j).unwrap();
    assert_eq!(r.options.filter_by, FilterBy::PruneByClass);
    assert!(find_label_issues_request(&r).is_ok());
    let bad = r#"{"predProbs":[0.5,0.5],"n":1,"k":2,"labels":[0],"options":{"filterby":"both"}}"#;
    assert!(serde_json::from_str::<FindLabelIssuesRequest>(bad).is_err());
}

#[test]
fn ood_pred_probs_match_cleanlab() {
    let g: Value = serde_json::from_str(OUTL).unwrap();
    for c in g["predProbs"].as_array().unwrap() {
        let (n, k) = (
            c["n"].as_u64().unwrap() as usize,
            c["k"].as_u64().unwrap() as usize,
        );
        let data = unhex(c["predProbsHex"].as_str().unwrap());
        let labels = usizes(&c["labels"]);
        for (key, want) in c["scores"].as_object().unwrap() {
            let (m, adj) = key.rsplit_once('_').unwrap();
            let method: OodMethod = serde_json::from_value(Value::String(m.into())).unwrap();
            let o = OodProbsOptions {
                method,
                adjust_pred_probs: adj == "adj",
                m: k,
                ..OodProbsOptions::default()
            };
            let req = OodProbsRequest {
                pred_probs: data.clone(),
                n,
                k,
                labels: if adj == "adj" {
                    Some(labels.clone())
                } else {
                    None
                },
                options: o,
            };
            let r = ood_pred_probs_request(&req).unwrap();
            close(&r.scores, &f64s(want), TOL, key);
        }
    }
}

#[test]
fn knn_outliers_match_cleanlab() {
    let g: Value = serde_json::from_str(OUTL).unwrap();
    for c in g["features"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        let (n, d) = (
            c["n"].as_u64().unwrap() as usize,
            c["d"].as_u64().unwrap() as usize,
        );
        let req = KnnOutlierRequest {
            embeddings: unhex(c["featuresHex"].as_str().unwrap()),
            n,
            d,
            options: KnnOutlierOptions {
                k: c["k"].as_u64().map(|v| v as usize),
                t: c["t"].as_f64().unwrap(),
                metric: serde_json::from_value(Value::String("auto".into())).unwrap(),
            },
        };
        let r = knn_outliers_request(&req).unwrap();
        assert_eq!(
            serde_json::to_value(r.metric).unwrap(),
            c["metric"],
            "{name} metric"
        );
        assert!(
            (r.scaling_factor - c["scalingFactor"].as_f64().unwrap()).abs() < TOL,
            "{name}"
        );
        close(&r.scores, &f64s(&c["scores"]), TOL, name);
    }
}

#[test]
fn near_duplicates_match_brute_force() {
    let g: Value = serde_json::from_str(OUTL).unwrap();
    let c = &g["duplicates"];
    let req = DuplicatesRequest {
        embeddings: unhex(c["featuresHex"].as_str().unwrap()),
        n: c["n"].as_u64().unwrap() as usize,
        d: c["d"].as_u64().unwrap() as usize,
        options: DuplicatesOptions {
            threshold: c["threshold"].as_f64().unwrap(),
            ..DuplicatesOptions::default()
        },
    };
    let r = near_duplicates_request(&req).unwrap();
    let mut got: Vec<(usize, usize)> = r.pairs.iter().map(|p| (p.i, p.j)).collect();
    got.sort();
    let want: Vec<(usize, usize)> = c["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p[0].as_u64().unwrap() as usize,
                p[1].as_u64().unwrap() as usize,
            )
        })
        .collect();
    assert_eq!(got, want);
    for p in &r.pairs {
        let w = c["pairs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q[0].as_u64() == Some(p.i as u64) && q[1].as_u64() == Some(p.j as u64))
            .unwrap();
        assert!((p.distance - w[2].as_f64().unwrap()).abs() < 1e-6);
    }
    assert!(!r.truncated);
    assert!(r.groups.iter().any(|g| g == &vec![100, 101, 102]));
}

#[test]
fn class_report_matches_sklearn() {
    let g: Value = serde_json::from_str(ANAL).unwrap();
    for c in g["cases"].as_array().unwrap() {
        let (n, k) = (
            c["n"].as_u64().unwrap() as usize,
            c["k"].as_u64().unwrap() as usize,
        );
        let data = unhex(c["predProbsHex"].as_str().unwrap());
        let labels = usizes(&c["labels"]);
        let o = ClassReportOptions {
            bins: c["bins"].as_u64().unwrap() as usize,
        };
        let r = class_report(&data, n, k, &labels, &o).unwrap();
        assert_eq!(
            r.confusion_matrix,
            mat_i64(&c["confusion"])
                .iter()
                .map(|r| r.iter().map(|&v| v as usize).collect())
                .collect::<Vec<Vec<usize>>>()
        );
        let col = |f: fn(&medtriage::engine::triage::analysis::ClassStats) -> f64| -> Vec<f64> {
            r.per_class.iter().map(f).collect()
        };
        close(
            &col(|s| s.precision),
            &f64s(&c["precision"]),
            1e-12,
            "precision",
        );
        close(&col(|s| s.recall), &f64s(&c["recall"]), 1e-12, "recall");
        close(&col(|s| s.f1), &f64s(&c["f1"]), 1e-12, "f1");
        close(
            &col(|s| s.calibration_error),
            &f64s(&c["ece"]),
            1e-12,
            "ece",
        );
        let sup: Vec<usize> = r.per_class.iter().map(|s| s.support).collect();
        assert_eq!(sup, usizes(&c["support"]));
        assert!((r.accuracy - c["accuracy"].as_f64().unwrap()).abs() < 1e-12);
    }
}
