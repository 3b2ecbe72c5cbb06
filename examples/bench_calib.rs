//! Benchmark of the calib engine on real CIFAR-10 probabilities (run by scripts/bench_calib.sh,
//! which makes the seeded splits and prints this next to the Python references).
//!
//! `cargo run --release --example bench_calib -- <data-dir> <split-dir> <seed>...`
//! Prints one JSON object per seed (figures and timings in ms).

use std::path::Path;
use std::time::Instant;

use medtriage::engine::triage::calibration::{
    apply_temperature, calibration_report, fit_temperature, CalibrationReportRequest, ScoreKind,
    TemperatureOptions, TemperatureRequest,
};
use medtriage::engine::triage::conformal::{
    conformal_calibrate, conformal_sets, ConformalCalibrateRequest, ConformalMethod,
    ConformalOptions, ConformalSetsRequest,
};
use medtriage::engine::triage::multi::{multi_uncertainty, MultiUncertaintyRequest};
use medtriage::engine::triage::risk::{
    auto_accept_threshold, AutoAcceptOptions, AutoAcceptRequest, RiskMode,
};
use serde_json::json;

fn npy_f64(path: &Path) -> (Vec<u64>, Vec<f64>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
    let shape = npy.shape().to_vec();
    let fortran = npy.order() == npyz::Order::Fortran;
    let data: Vec<f64> = match npy.dtype() {
        npyz::DType::Plain(t) if t.type_char() == npyz::TypeChar::Int => npy
            .into_vec::<i64>()
            .unwrap()
            .into_iter()
            .map(|v| v as f64)
            .collect(),
        _ => npy.into_vec::<f64>().unwrap(),
    };
    // the shared CIFAR probabilities are stored in Fortran order: transpose 2-D arrays
    if fortran && shape.len() == 2 {
        let (r, c) = (shape[0] as usize, shape[1] as usize);
        let t = (0..r * c).map(|x| data[(x % c) * r + x / c]).collect();
        return (shape, t);
    }
    (shape, data)
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

fn take(p: &[f64], k: usize, idx: &[usize]) -> Vec<f64> {
    idx.iter()
        .flat_map(|&i| p[i * k..(i + 1) * k].iter().copied())
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let data = Path::new(&args[1]);
    let split = Path::new(&args[2]);
    let (shape, probs) = npy_f64(&data.join("cifar10s_resnet18_pred_probs.npy"));
    let k = shape[1] as usize;
    let (_, y) = npy_f64(&data.join("cifar10s_resnet18_true_labels.npy"));
    let y: Vec<usize> = y.into_iter().map(|v| v as usize).collect();
    for seed in &args[3..] {
        let (_, v) = npy_f64(&split.join(format!("seed{seed}_verified.npy")));
        let (_, q) = npy_f64(&split.join(format!("seed{seed}_pool.npy")));
        let v: Vec<usize> = v.into_iter().map(|x| x as usize).collect();
        let q: Vec<usize> = q.into_iter().map(|x| x as usize).collect();
        let (pv, pq) = (take(&probs, k, &v), take(&probs, k, &q));
        let yv: Vec<usize> = v.iter().map(|&i| y[i]).collect();
        let yq: Vec<usize> = q.iter().map(|&i| y[i]).collect();
        let (nv, nq) = (v.len(), q.len());

        let t0 = Instant::now();
        let fit = fit_temperature(&TemperatureRequest {
            scores: pv.clone(),
            n: nv,
            k,
            labels: yv.clone(),
            kind: ScoreKind::Probabilities,
            options: TemperatureOptions::default(),
        })
        .unwrap();
        let t_fit = ms(t0);
        let t0 = Instant::now();
        let before = calibration_report(&CalibrationReportRequest {
            probs: pq.clone(),
            n: nq,
            k,
            labels: yq.clone(),
            bins: 15,
        })
        .unwrap();
        let t_report = ms(t0);
        let pq_cal =
            apply_temperature(&pq, nq, k, ScoreKind::Probabilities, fit.temperature).unwrap();
        let after = calibration_report(&CalibrationReportRequest {
            probs: pq_cal,
            n: nq,
            k,
            labels: yq.clone(),
            bins: 15,
        })
        .unwrap();

        let mut conformal = Vec::new();
        for alpha in [0.1, 0.05] {
            for (name, method, randomized) in [
                ("lac", ConformalMethod::Lac, false),
                ("aps", ConformalMethod::Aps, false),
                ("apsRandomized", ConformalMethod::Aps, true),
                ("raps", ConformalMethod::Raps, true),
            ] {
                let t0 = Instant::now();
                let cal = conformal_calibrate(&ConformalCalibrateRequest {
                    probs: pv.clone(),
                    n: nv,
                    k,
                    labels: yv.clone(),
                    alpha,
                    options: ConformalOptions {
                        method,
                        randomized,
                        seed: seed.parse().unwrap_or(0),
                        ..Default::default()
                    },
                })
                .unwrap();
                let s = conformal_sets(&ConformalSetsRequest {
                    calibration: cal.clone(),
                    probs: pq.clone(),
                    n: nq,
                    k,
                    labels: Some(yq.clone()),
                })
                .unwrap();
                let t = ms(t0);
                conformal.push(json!({
                    "alpha": alpha, "method": name, "threshold": cal.thresholds[0],
                    "coverage": s.report.as_ref().map(|r| r.coverage), "meanSize": s.mean_size, "ms": t,
                }));
            }
        }

        let mut accept = Vec::new();
        for alpha in [0.01, 0.02] {
            for mode in [RiskMode::Conditional, RiskMode::Marginal] {
                let t0 = Instant::now();
                let r = auto_accept_threshold(&AutoAcceptRequest {
                    probs: pv.clone(),
                    n: nv,
                    k,
                    labels: yv.clone(),
                    alpha,
                    delta: 0.05,
                    options: AutoAcceptOptions {
                        mode,
                        ..Default::default()
                    },
                });
                let t = ms(t0);
                match r {
                    Ok(r) => {
                        let (mut acc, mut wrong) = (0usize, 0usize);
                        for (row, &yy) in pq.chunks_exact(k).zip(&yq) {
                            let j = medtriage::engine::probs::argmax(row);
                            if row[j] >= r.threshold {
                                acc += 1;
                                wrong += (j != yy) as usize;
                            }
                        }
                        accept.push(json!({
                            "alpha": alpha, "mode": mode, "threshold": r.threshold, "pValue": r.p_value,
                            "verifiedAccepted": r.accepted_fraction, "verifiedError": r.empirical_error,
                            "poolAccepted": acc as f64 / nq as f64,
                            "poolError": if acc > 0 { wrong as f64 / acc as f64 } else { 0.0 },
                            "poolJointError": wrong as f64 / nq as f64, "ms": t,
                        }));
                    }
                    Err(e) => accept.push(
                        json!({"alpha": alpha, "mode": mode, "error": e.to_string(), "ms": t}),
                    ),
                }
            }
        }
        println!(
            "{}",
            json!({
                "seed": seed, "temperature": fit.temperature, "fitMs": t_fit, "reportMs": t_report,
                "eceBefore": before.ece, "eceAfter": after.ece, "nllBefore": before.nll, "nllAfter": after.nll,
                "conformal": conformal, "autoAccept": accept,
            })
        );
    }
    // multi-row uncertainty speed on synthetic rows: n = 10000, T = 10, K = 10
    let (n, t, kk) = (10_000usize, 10usize, 10usize);
    let mut s = 12345u64;
    let mut p = Vec::with_capacity(n * t * kk);
    for _ in 0..n * t {
        let raw: Vec<f64> = (0..kk)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 11) as f64 / (1u64 << 53) as f64).powi(4)
            })
            .collect();
        let sum: f64 = raw.iter().sum();
        p.extend(raw.iter().map(|v| v / sum));
    }
    let t0 = Instant::now();
    let r = multi_uncertainty(&MultiUncertaintyRequest {
        probs: p,
        n,
        t,
        k: kk,
        include_mean_probs: false,
    })
    .unwrap();
    println!(
        "{}",
        json!({"multi": {"n": n, "t": t, "k": kk, "ms": ms(t0), "meanBald": r.items.iter().map(|i| i.bald).sum::<f64>() / n as f64}})
    );
}
