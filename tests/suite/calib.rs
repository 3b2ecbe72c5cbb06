#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

// Golden tests against the Python references of
// scripts/golden_calib.py (scipy, sklearn, netcal, MAPIE). Tolerances: 1e-9 absolute unless
// stated (temperature: 1e-4 relative).

use crate::json::{f64s, usizes};
use medtriage::engine::triage::calibration::{
    calibration_report, fit_temperature, CalibrationReportRequest, ScoreKind, TemperatureOptions,
    TemperatureRequest,
};
use medtriage::engine::triage::conformal::{
    conformal_calibrate, conformal_sets, ConformalCalibrateRequest, ConformalOptions,
    ConformalSetsRequest, SplitMix64,
};
use medtriage::engine::triage::multi::{multi_uncertainty, MultiUncertaintyRequest};
use medtriage::engine::triage::risk::{
    auto_accept_threshold, binom_cdf, hoeffding_bentkus_p, hoeffding_p, AutoAcceptOptions,
    AutoAcceptRequest,
};
use serde_json::Value;

const MULTI: &str = include_str!("../golden/calib/multi.json");
const TEMPERATURE: &str = include_str!("../golden/calib/temperature.json");
const REPORT: &str = include_str!("../golden/calib/report.json");
const CONFORMAL: &str = include_str!("../golden/calib/conformal.json");
const RISK: &str = include_str!("../golden/calib/risk.json");

const TOL: f64 = 1e-9;

fn parse(s: &str) -> Value {
    serde_json::from_str(s).unwrap()
}
fn us(v: &Value) -> usize {
    v.as_u64().unwrap() as usize
}
fn close(a: f64, b: f64, tol: f64, what: &str) {
    assert!(
        (a - b).abs() <= tol,
        "{what}: {a} vs {b} (|diff| {})",
        (a - b).abs()
    );
}

#[test]
fn multi_row_uncertainty_matches_scipy() {
    let g = parse(MULTI);
    for c in g["cases"].as_array().unwrap() {
        let (n, t, k) = (us(&c["n"]), us(&c["t"]), us(&c["k"]));
        let r = multi_uncertainty(&MultiUncertaintyRequest {
            probs: f64s(&c["probs"]),
            n,
            t,
            k,
            include_mean_probs: false,
        })
        .unwrap();
        let pred = usizes(&c["predicted"]);
        let modal = usizes(&c["modalClass"]);
        let fields = [
            "leastConfidence",
            "margin",
            "ratio",
            "entropy",
            "expectedEntropy",
            "bald",
            "variationRatio",
        ];
        let want: Vec<Vec<f64>> = fields.iter().map(|f| f64s(&c[*f])).collect();
        for (i, it) in r.items.iter().enumerate() {
            assert_eq!(it.predicted, pred[i], "item {i}");
            assert_eq!(it.modal_class, modal[i], "item {i}");
            let got = [
                it.least_confidence,
                it.margin,
                it.ratio,
                it.entropy,
                it.expected_entropy,
                it.bald,
                it.variation_ratio,
            ];
            for (j, f) in fields.iter().enumerate() {
                close(
                    got[j],
                    want[j][i],
                    TOL,
                    &format!("n{n} t{t} k{k} item {i} {f}"),
                );
            }
        }
    }
}

#[test]
fn temperature_matches_scipy_minimize_scalar() {
    let g = parse(TEMPERATURE);
    for c in g["cases"].as_array().unwrap() {
        let kind = match c["kind"].as_str().unwrap() {
            "logits" => ScoreKind::Logits,
            _ => ScoreKind::Probabilities,
        };
        let r = fit_temperature(&TemperatureRequest {
            scores: f64s(&c["scores"]),
            n: us(&c["n"]),
            k: us(&c["k"]),
            labels: usizes(&c["labels"]),
            kind,
            options: TemperatureOptions::default(),
        })
        .unwrap();
        let t = c["temperature"].as_f64().unwrap();
        assert!(
            (r.temperature / t - 1.0).abs() < 1e-4,
            "T {} vs scipy {t}",
            r.temperature
        );
        close(
            r.nll_before,
            c["nllBefore"].as_f64().unwrap(),
            TOL,
            "nll before vs sklearn log_loss",
        );
        // the NLL is flat at the optimum: a T error of 1e-4 moves it by ~1e-9 at most
        close(
            r.nll_after,
            c["nllAfter"].as_f64().unwrap(),
            1e-8,
            "nll after vs sklearn log_loss",
        );
        assert!(!r.at_boundary);
    }
}

#[test]
fn calibration_report_matches_sklearn_and_netcal() {
    let g = parse(REPORT);
    for c in g["cases"].as_array().unwrap() {
        let r = calibration_report(&CalibrationReportRequest {
            probs: f64s(&c["probs"]),
            n: us(&c["n"]),
            k: us(&c["k"]),
            labels: usizes(&c["labels"]),
            bins: us(&c["bins"]),
        })
        .unwrap();
        close(r.nll, c["nll"].as_f64().unwrap(), TOL, "nll");
        close(r.brier, c["brier"].as_f64().unwrap(), TOL, "brier");
        close(r.accuracy, c["accuracy"].as_f64().unwrap(), TOL, "accuracy");
        close(
            r.ece,
            c["eceNumpy"].as_f64().unwrap(),
            TOL,
            "ece (numpy Guo)",
        );
        close(
            r.mce,
            c["mceNumpy"].as_f64().unwrap(),
            TOL,
            "mce (numpy Guo)",
        );
        if let Some(e) = c.get("eceNetcal") {
            close(r.ece, e.as_f64().unwrap(), TOL, "ece (netcal)");
            close(r.mce, c["mceNetcal"].as_f64().unwrap(), TOL, "mce (netcal)");
        }
        let counts = usizes(&c["binCount"]);
        let lower = f64s(&c["binLower"]);
        for (j, b) in r.bins.iter().enumerate() {
            assert_eq!(b.count, counts[j], "bin {j}");
            // serde_json (without `float_roundtrip`) may read a long decimal 1 ulp off
            close(b.lower, lower[j], 1e-15, "bin lower edge");
            match (b.mean_confidence, c["binMeanConfidence"][j].as_f64()) {
                (Some(a), Some(w)) => close(a, w, TOL, "bin confidence"),
                (None, None) => {}
                other => panic!("bin {j}: {other:?}"),
            }
            match (b.accuracy, c["binAccuracy"][j].as_f64()) {
                (Some(a), Some(w)) => close(a, w, TOL, "bin accuracy"),
                (None, None) => {}
                other => panic!("bin {j}: {other:?}"),
            }
        }
    }
}

#[test]
fn conformal_matches_mapie_and_reference_rule() {
    let g = parse(CONFORMAL);
    let k = us(&g["k"]);
    let (ncal, ntest) = (us(&g["nCal"]), us(&g["nTest"]));
    let cal_p = f64s(&g["calProbs"]);
    let cal_y = usizes(&g["calLabels"]);
    let test_p = f64s(&g["testProbs"]);
    let test_y = usizes(&g["testLabels"]);
    let mut r = SplitMix64::new(0);
    for v in g["splitmix0"].as_array().unwrap() {
        assert_eq!(r.next_u64().to_string(), v.as_str().unwrap());
    }
    let mut mapie_checked = 0;
    for c in g["cases"].as_array().unwrap() {
        let options: ConformalOptions = serde_json::from_value(c["options"].clone()).unwrap();
        let alpha = c["alpha"].as_f64().unwrap();
        let cal = conformal_calibrate(&ConformalCalibrateRequest {
            probs: cal_p.clone(),
            n: ncal,
            k,
            labels: cal_y.clone(),
            alpha,
            options,
        })
        .unwrap();
        let what = format!("alpha {alpha} {options:?}");
        let want = f64s(&c["thresholds"]);
        assert_eq!(cal.thresholds.len(), want.len(), "{what}");
        for (a, b) in cal.thresholds.iter().zip(&want) {
            close(*a, *b, TOL, &what);
        }
        assert_eq!(cal.quantile_ranks, usizes(&c["quantileRanks"]), "{what}");
        if let Some(m) = c.get("mapieThreshold") {
            close(
                cal.thresholds[0],
                m.as_f64().unwrap(),
                TOL,
                &format!("{what} vs MAPIE"),
            );
            mapie_checked += 1;
        }
        let s = conformal_sets(&ConformalSetsRequest {
            calibration: cal,
            probs: test_p.clone(),
            n: ntest,
            k,
            labels: Some(test_y.clone()),
        })
        .unwrap();
        let want_sets: Vec<Vec<usize>> = c["sets"].as_array().unwrap().iter().map(usizes).collect();
        assert_eq!(s.sets, want_sets, "{what}");
        if let Some(m) = c.get("mapieSets") {
            let ms: Vec<Vec<usize>> = m.as_array().unwrap().iter().map(usizes).collect();
            assert_eq!(s.sets, ms, "{what} vs MAPIE sets");
        }
        close(
            s.report.unwrap().coverage,
            c["coverage"].as_f64().unwrap(),
            TOL,
            &what,
        );
        close(s.mean_size, c["meanSize"].as_f64().unwrap(), TOL, &what);
    }
    assert_eq!(mapie_checked, 6);
}

#[test]
fn risk_pvalues_match_scipy() {
    let g = parse(RISK);
    for c in g["pValues"].as_array().unwrap() {
        let (e, n, a) = (us(&c["errors"]), us(&c["n"]), c["alpha"].as_f64().unwrap());
        let what = format!("errors {e} n {n} alpha {a}");
        close(
            binom_cdf(e, n, a),
            c["binomial"].as_f64().unwrap(),
            TOL,
            &what,
        );
        close(
            hoeffding_p(e, n, a),
            c["hoeffding"].as_f64().unwrap(),
            TOL,
            &what,
        );
        close(
            hoeffding_bentkus_p(e, n, a),
            c["hoeffdingBentkus"].as_f64().unwrap(),
            TOL,
            &what,
        );
    }
}

#[test]
fn auto_accept_selects_reference_threshold() {
    let g = parse(RISK);
    let (n, k) = (us(&g["n"]), us(&g["k"]));
    let probs = f64s(&g["probs"]);
    let labels = usizes(&g["labels"]);
    for c in g["cases"].as_array().unwrap() {
        let options: AutoAcceptOptions = serde_json::from_value(serde_json::json!({
            "mode": c["mode"], "pValue": c["pValue"], "procedure": c["procedure"],
        }))
        .unwrap();
        let (alpha, delta) = (c["alpha"].as_f64().unwrap(), c["delta"].as_f64().unwrap());
        let r = auto_accept_threshold(&AutoAcceptRequest {
            probs: probs.clone(),
            n,
            k,
            labels: labels.clone(),
            alpha,
            delta,
            options: options.clone(),
        });
        let what = format!("alpha {alpha} delta {delta} {options:?}");
        match (&c["result"], r) {
            (Value::Null, Err(e)) => assert_eq!(e.code(), "insufficient_data", "{what}"),
            (w, Ok(r)) if !w.is_null() => {
                close(r.threshold, w["threshold"].as_f64().unwrap(), 1e-15, &what);
                assert_eq!(r.accepted, us(&w["accepted"]), "{what}");
                assert_eq!(r.errors, us(&w["errors"]), "{what}");
                assert_eq!(r.tested, us(&w["tested"]), "{what}");
                close(r.p_value, w["pValue"].as_f64().unwrap(), TOL, &what);
            }
            (w, r) => panic!("{what}: want {w}, got {r:?}"),
        }
    }
}

#[test]
fn bad_inputs_are_typed_errors() {
    let e = calibration_report(&CalibrationReportRequest {
        probs: vec![f64::NAN, 1.0],
        n: 1,
        k: 2,
        labels: vec![0],
        bins: 15,
    })
    .unwrap_err();
    assert_eq!(e.code(), "invalid_probabilities");
    let e = conformal_calibrate(&ConformalCalibrateRequest {
        probs: vec![0.5, 0.5],
        n: 1,
        k: 2,
        labels: vec![2],
        alpha: 0.1,
        options: ConformalOptions::default(),
    })
    .unwrap_err();
    assert_eq!(e.code(), "invalid_input");
    let e: Result<AutoAcceptOptions, _> = serde_json::from_str(r#"{"bogus": 1}"#);
    assert!(e.is_err());
}
