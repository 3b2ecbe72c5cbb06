#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

// The review queue: tiered policy, rounds with the audited stopping rule, exports.
// Golden values from scripts/golden_queue.py (scipy's beta quantile for Clopper-Pearson,
// 1e-9 relative; scikit-learn's IsotonicRegression, 1e-12); the rest are behaviours checked
// on seeded synthetic pools where the truth is known.

use crate::json::f64s;
use medtriage::engine::queue::export::{
    label_studio, pseudo_labels, tiers_csv, ExportRequest, LabelStudioOptions, PseudoLabelOptions,
    TableOptions,
};
use medtriage::engine::queue::policy::{
    tier_items, ErrorModel, PolicyConfig, PoolSet, Signal, Tier, TierRequest, VerifiedSet,
};
use medtriage::engine::queue::rounds::{
    allocate, clopper_pearson_upper, plan_round, AuditRecord, PlanOptions, ReviewOutcome,
    RoundRequest,
};
use medtriage::engine::triage::conformal::SplitMix64;
use serde_json::Value;

const GOLDEN: &str = include_str!("../golden/queue/queue.json");
const K: usize = 4;

/// A seeded pool: true class, a noisy given label (20% flipped), and probabilities from a
/// reasonably good model (the true class gets most mass on 85% of items).
struct Synth {
    probs: Vec<f64>,
    truth: Vec<usize>,
    given: Vec<usize>,
}

fn synth(n: usize, seed: u64) -> Synth {
    let mut r = SplitMix64::new(seed);
    let (mut probs, mut truth, mut given) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..n {
        let y = (r.next_u64() % K as u64) as usize;
        let good = r.next_f64() < 0.85;
        let peak = if good {
            y
        } else {
            (r.next_u64() % K as u64) as usize
        };
        // a right peak is usually sharp, a wrong one usually soft
        let conc = if good {
            2.0 + 40.0 * r.next_f64()
        } else {
            3.0 * r.next_f64()
        };
        let mut row: Vec<f64> = (0..K)
            .map(|j| (if j == peak { conc } else { 0.0 }) + r.next_f64())
            .collect();
        let s: f64 = row.iter().sum();
        row.iter_mut().for_each(|v| *v /= s);
        probs.extend(row);
        truth.push(y);
        given.push(if r.next_f64() < 0.2 {
            (r.next_u64() % K as u64) as usize
        } else {
            y
        });
    }
    Synth {
        probs,
        truth,
        given,
    }
}

fn request(v: &Synth, p: &Synth) -> TierRequest {
    TierRequest {
        k: K,
        verified: VerifiedSet {
            pred_probs: v.probs.clone(),
            n: v.truth.len(),
            labels: v.truth.clone(),
            given_labels: Some(v.given.iter().map(|&g| g as i64).collect()),
            outlier_scores: None,
        },
        pool: PoolSet {
            pred_probs: p.probs.clone(),
            n: p.truth.len(),
            given_labels: Some(p.given.iter().map(|&g| g as i64).collect()),
            outlier_scores: None,
            agreement: None,
            duplicate_of_verified: None,
            failed: Vec::new(),
        },
        policy: PolicyConfig::default(),
    }
}

fn round(base: &TierRequest, options: PlanOptions) -> RoundRequest {
    RoundRequest {
        k: K,
        verified: base.verified.clone(),
        pool: base.pool.clone(),
        reviewed: Vec::new(),
        audits: Vec::new(),
        policy: PolicyConfig::default(),
        options,
        embeddings: None,
        d: None,
        verified_embeddings: None,
    }
}

#[test]
fn clopper_pearson_matches_scipy() {
    let g: Value = serde_json::from_str(GOLDEN).unwrap();
    for c in g["clopperPearson"].as_array().unwrap() {
        let (x, m) = (
            c["x"].as_u64().unwrap() as usize,
            c["m"].as_u64().unwrap() as usize,
        );
        let (d, want) = (c["delta"].as_f64().unwrap(), c["upper"].as_f64().unwrap());
        let got = clopper_pearson_upper(x, m, d);
        assert!(
            (got - want).abs() <= 1e-9 * want.max(1e-3),
            "x={x} m={m} delta={d}: {got} vs scipy {want}"
        );
    }
    assert_eq!(clopper_pearson_upper(5, 5, 0.05), 1.0);
}

#[test]
fn isotonic_error_model_matches_sklearn() {
    let g: Value = serde_json::from_str(GOLDEN).unwrap();
    let iso = &g["isotonic"];
    let x = f64s(&iso["priority"]);
    let w: Vec<bool> = iso["wrong"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_bool().unwrap())
        .collect();
    let want = f64s(&iso["fitted"]);
    let pairs: Vec<(f64, bool)> = x.iter().copied().zip(w).collect();
    let m = ErrorModel::fit(&pairs).unwrap();
    for (xi, wi) in x.iter().zip(&want) {
        assert!(
            (m.predict(*xi) - wi).abs() < 1e-12,
            "at {xi}: {} vs {wi}",
            m.predict(*xi)
        );
    }
}

#[test]
fn tiers_carry_reasons_and_auto_accept_keeps_its_promise() {
    let v = synth(3000, 1);
    let p = synth(6000, 2);
    let r = tier_items(&request(&v, &p)).unwrap();
    assert_eq!(r.items.len(), 6000);
    let aa = r
        .fitted
        .auto_accept
        .as_ref()
        .expect("certified on 3000 items");
    assert!(r
        .fitted
        .guarantee
        .as_ref()
        .unwrap()
        .contains("at most 1.00%"));
    let (mut acc, mut wrong) = (0, 0);
    for it in &r.items {
        assert!(!it.reasons.is_empty(), "item {} has no reason", it.index);
        match it.tier {
            Tier::AutoAccept => {
                acc += 1;
                let c = it.confidence.unwrap();
                assert!(c >= aa.threshold);
                assert_eq!(it.predicted, it.given_label, "agreement rule");
                if it.predicted != Some(p.truth[it.index]) {
                    wrong += 1;
                }
                assert!(it.reasons.iter().any(
                    |r| r.signal == Signal::Confidence && r.comparison.as_deref() == Some(">=")
                ));
            }
            Tier::SuspectedLabelError => {
                assert!(it
                    .reasons
                    .iter()
                    .any(|r| matches!(r.signal, Signal::LabelIssue | Signal::LabelAgreement)));
            }
            Tier::LightReview | Tier::ExpertReview => {}
            t => panic!("unexpected tier {t:?}"),
        }
    }
    assert!(acc > 1000, "auto-accepted only {acc}");
    assert!(
        (wrong as f64) / (acc as f64) <= 0.01,
        "{wrong} wrong of {acc} auto-accepted"
    );
    // review order: every non-auto-accepted item once, priority non-increasing
    assert_eq!(r.order.len(), 6000 - acc);
    let pr: Vec<f64> = r
        .order
        .iter()
        .map(|&i| r.items[i].priority.unwrap())
        .collect();
    assert!(pr.windows(2).all(|w| w[0] >= w[1]));
    // most wrong given labels are among the suspected label errors or high in the queue
    let wrong_given: Vec<usize> = (0..6000).filter(|&i| p.given[i] != p.truth[i]).collect();
    let top: std::collections::HashSet<usize> = r.order[..wrong_given.len() * 3 / 2]
        .iter()
        .copied()
        .collect();
    let found = wrong_given.iter().filter(|i| top.contains(i)).count();
    assert!(
        found * 10 >= wrong_given.len() * 8,
        "{found} of {}",
        wrong_given.len()
    );
}

#[test]
fn a_bad_row_fails_alone_and_too_few_verified_items_refuse_auto_accept() {
    let v = synth(3000, 3);
    let p = synth(200, 4);
    let mut req = request(&v, &p);
    req.pool.pred_probs[5 * K] = f64::NAN;
    req.pool.failed = vec![7];
    let r = tier_items(&req).unwrap();
    for i in [5, 7] {
        assert_eq!(r.items[i].tier, Tier::Failed);
        assert_eq!(r.items[i].reasons[0].signal, Signal::Failure);
        assert!(r.items[i].priority.is_none());
    }
    assert_eq!(r.counts.failed, 2);
    // failed items are listed last in the order, never ranked among the others
    assert_eq!(&r.order[r.order.len() - 2..], &[5, 7]);

    let small = synth(40, 5);
    let r = tier_items(&request(&small, &p)).unwrap();
    assert!(r.fitted.auto_accept.is_none());
    assert!(r
        .fitted
        .auto_accept_refused
        .as_ref()
        .unwrap()
        .contains("at least"));
    assert_eq!(r.counts.auto_accept, 0);
    assert!(r.items.iter().all(|it| it.tier == Tier::Failed
        || it.tier != Tier::AutoAccept
            && (it.tier != Tier::LightReview
                || it
                    .reasons
                    .iter()
                    .any(|r| r.signal == Signal::AutoAcceptUnavailable))));
}

#[test]
fn policy_json_rejects_unknown_fields_and_bad_values() {
    let ok: PolicyConfig = serde_json::from_str(
        r#"{"autoAccept": {"alpha": 0.02}, "conformal": {"expertSetSize": 2}}"#,
    )
    .unwrap();
    assert_eq!(ok.auto_accept.alpha, 0.02);
    assert_eq!(ok.auto_accept.delta, 0.05);
    assert!(serde_json::from_str::<PolicyConfig>(
        r#"{"autoAccept": {"alpha": 0.02, "detla": 0.1}}"#
    )
    .is_err());
    assert!(serde_json::from_str::<PolicyConfig>(r#"{"tiers": {}}"#).is_err());
    let v = synth(500, 6);
    let p = synth(50, 7);
    let mut req = request(&v, &p);
    req.policy.auto_accept.alpha = 1.5;
    assert_eq!(tier_items(&req).unwrap_err().code(), "invalid_options");
    let mut req = request(&v, &p);
    req.pool.given_labels.as_mut().unwrap()[3] = K as i64;
    assert_eq!(tier_items(&req).unwrap_err().code(), "invalid_input");
}

#[test]
fn outliers_agreement_and_duplicates_route_items() {
    let v = synth(2000, 8);
    let p = synth(300, 9);
    let mut req = request(&v, &p);
    req.verified.outlier_scores = Some((0..2000).map(|i| 0.5 + (i % 100) as f64 / 200.0).collect());
    let mut scores = vec![0.9; 300];
    scores[10] = 0.1;
    req.pool.outlier_scores = Some(scores);
    let mut agree = vec![f64::NAN; 300];
    agree[20] = 0.2;
    req.pool.agreement = Some(agree);
    let mut dup = vec![-1i64; 300];
    let vl = v.truth[0];
    // item 30's given label differs from its verified near-duplicate's label
    let i30 = 30;
    req.pool.given_labels.as_mut().unwrap()[i30] = ((vl + 1) % K) as i64;
    dup[i30] = 0;
    req.pool.duplicate_of_verified = Some(dup);
    let r = tier_items(&req).unwrap();
    assert_eq!(r.items[10].tier, Tier::Outlier);
    assert!(r.fitted.outlier_threshold.unwrap() > 0.5);
    let t20 = r.items[20].tier;
    assert!(
        t20 == Tier::ExpertReview || t20 == Tier::SuspectedLabelError,
        "{t20:?}"
    );
    assert!(r.items[20]
        .reasons
        .iter()
        .any(|r| r.signal == Signal::AnnotatorAgreement));
    assert_eq!(r.items[i30].tier, Tier::SuspectedLabelError);
    assert!(r.items[i30]
        .reasons
        .iter()
        .any(|r| r.signal == Signal::DuplicateConflict));
}

#[test]
fn rounds_reach_a_certified_stop_that_holds() {
    let v = synth(2000, 10);
    let p = synth(8000, 11);
    let base = request(&v, &p);
    let mut req = round(
        &base,
        PlanOptions {
            batch_size: 400,
            seed: 3,
            ..PlanOptions::default()
        },
    );
    let n = p.truth.len();
    let mut label = p.given.clone();
    let mut seen = vec![false; n];
    let mut stopped = None;
    for _round in 0..300 {
        let plan = plan_round(&req).unwrap();
        assert_eq!(plan.estimate.reviewed, req.reviewed.len());
        if std::env::var_os("TRACE").is_some() {
            let err = label.iter().zip(&p.truth).filter(|(a, b)| a != b).count();
            eprintln!(
                "reviewed {} true wrong {err} est {:.4} cert {:?} audit {:?} batch {} | {}",
                req.reviewed.len(),
                plan.estimate.expected_error_rate,
                plan.estimate.certified_error_rate,
                plan.audit.as_ref().map(|a| (a.number, a.indices.len())),
                plan.batch.len(),
                plan.stop_reason
            );
        }
        if plan.stop {
            stopped = Some(plan);
            break;
        }
        let mut review = |i: usize, req: &mut RoundRequest| {
            assert!(!seen[i], "item {i} planned twice");
            seen[i] = true;
            let wrong = label[i] != p.truth[i];
            label[i] = p.truth[i];
            req.reviewed.push(ReviewOutcome {
                index: i,
                label: p.truth[i],
            });
            wrong
        };
        if let Some(a) = &plan.audit {
            assert!(plan.batch.is_empty());
            let wrong = a.indices.iter().filter(|&&i| review(i, &mut req)).count();
            if !a.sequential {
                req.audits.push(AuditRecord {
                    remainder_size: a.remainder_size,
                    sampled: a.indices.len(),
                    wrong,
                    estimated_rate: a.estimated_rate,
                    indices: None,
                });
            } else if a.number == req.audits.len() {
                if let Some(ix) = req.audits.last_mut().and_then(|r| r.indices.as_mut()) {
                    ix.extend_from_slice(&a.indices);
                }
            } else {
                req.audits.push(AuditRecord {
                    remainder_size: a.remainder_size,
                    sampled: 0,
                    wrong: 0,
                    estimated_rate: a.estimated_rate,
                    indices: Some(a.indices.clone()),
                });
            }
        } else {
            assert!(!plan.batch.is_empty() && plan.batch.len() <= 400);
            let budget: usize = plan.per_class.iter().map(|c| c.budget).sum();
            assert_eq!(budget, plan.batch.len());
            for &i in &plan.batch {
                review(i, &mut req);
            }
        }
    }
    let plan = stopped.expect("the stopping rule fires within 300 rounds (audit steps included)");
    let cert = plan.estimate.certified_error_rate.unwrap();
    assert!(cert <= 0.01, "{}", plan.stop_reason);
    let err = label.iter().zip(&p.truth).filter(|(a, b)| a != b).count() as f64 / n as f64;
    assert!(err <= cert, "true error {err} above the certified {cert}");
    // batches stay well below the pool; the audit (sized for twice the estimated error rate,
    // capped at 3000) is the price of the certificate on a pool this small
    let audited: usize = req
        .audits
        .iter()
        .map(|a| a.indices.as_ref().map_or(a.sampled, Vec::len))
        .sum();
    let batches = req.reviewed.len() - audited;
    assert!(batches < n * 2 / 5, "{batches} batch reviews of {n}");
    assert!(
        req.reviewed.len() < n / 2,
        "reviewed {} of {n}",
        req.reviewed.len()
    );
}

#[test]
fn round_requests_are_validated() {
    let v = synth(500, 12);
    let p = synth(100, 13);
    let base = request(&v, &p);
    let mk = || round(&base, PlanOptions::default());
    let mut r = mk();
    r.reviewed = vec![
        ReviewOutcome { index: 3, label: 0 },
        ReviewOutcome { index: 3, label: 1 },
    ];
    assert_eq!(plan_round(&r).unwrap_err().code(), "invalid_input");
    let mut r = mk();
    r.audits = vec![AuditRecord {
        remainder_size: 10,
        sampled: 20,
        wrong: 0,
        estimated_rate: 0.0,
        indices: None,
    }];
    assert_eq!(plan_round(&r).unwrap_err().code(), "invalid_input");
    // a short array is an error before anything indexes into it (reviewed items included)
    let mut r = mk();
    r.pool.given_labels.as_mut().unwrap().truncate(10);
    r.reviewed = vec![ReviewOutcome {
        index: 50,
        label: 0,
    }];
    assert_eq!(plan_round(&r).unwrap_err().code(), "invalid_input");
    let mut r = mk();
    r.pool.outlier_scores = Some(vec![0.5; 3]);
    r.reviewed = vec![ReviewOutcome {
        index: 50,
        label: 0,
    }];
    assert_eq!(plan_round(&r).unwrap_err().code(), "invalid_input");
    let mut r = mk();
    r.options.batch_size = 0;
    assert_eq!(plan_round(&r).unwrap_err().code(), "invalid_options");
}

#[test]
fn allocation_follows_the_weights() {
    assert_eq!(
        allocate(10, &[1.0, 1.0, 2.0], &[100, 100, 100], 0),
        vec![3, 2, 5]
    );
    assert_eq!(
        allocate(10, &[0.0, 0.0, 5.0], &[100, 100, 3], 1),
        vec![4, 3, 3]
    );
    assert_eq!(allocate(10, &[1.0, 1.0], &[2, 3], 0), vec![2, 3]);
    assert_eq!(
        allocate(7, &[0.0, 0.0], &[5, 5], 0).iter().sum::<usize>(),
        7
    );
}

#[test]
fn exports_for_training_and_label_studio() {
    let v = synth(3000, 14);
    let p = synth(400, 15);
    let t = tier_items(&request(&v, &p)).unwrap();
    let ids: Vec<String> = (0..400).map(|i| format!("img,{i}.png")).collect();
    let classes: Vec<String> = ["normal", "benign", "malignant", "other \"x\""]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let pl = pseudo_labels(&ExportRequest {
        tiers: t.clone(),
        ids: Some(ids.clone()),
        classes: Some(classes.clone()),
        options: PseudoLabelOptions::default(),
    })
    .unwrap();
    assert_eq!(pl.rows.len(), t.counts.auto_accept);
    assert!(pl
        .rows
        .iter()
        .all(|r| r.tier == Tier::AutoAccept && r.weight > 0.5));
    let lines: Vec<&str> = pl.csv.lines().collect();
    assert_eq!(lines[0], "id,label,class,weight,tier");
    assert_eq!(lines.len(), pl.rows.len() + 1);
    assert!(lines[1].starts_with("\"img,"), "{}", lines[1]);

    let ls = label_studio(&ExportRequest {
        tiers: t.clone(),
        ids: Some(ids.clone()),
        classes: Some(classes.clone()),
        options: LabelStudioOptions {
            url_prefix: "/data/local-files/?d=".into(),
            reasons_from_name: Some("reasons".into()),
            tier_from_name: Some("tier".into()),
            ..LabelStudioOptions::default()
        },
    })
    .unwrap();
    assert_eq!(ls.len(), 400);
    let first = &ls[0];
    assert_eq!(
        first["data"]["image"].as_str().unwrap(),
        format!("/data/local-files/?d={}", ids[t.order[0]])
    );
    let pred = &first["predictions"][0];
    assert_eq!(pred["model_version"], "medtriage");
    let res = pred["result"].as_array().unwrap();
    assert_eq!(res.len(), 3);
    assert_eq!(res[0]["type"], "choices");
    assert_eq!(res[0]["from_name"], "choice");
    assert_eq!(res[0]["to_name"], "image");
    assert_eq!(res[2]["type"], "textarea");
    // score: how sure we are the current label is right, strictly increasing along the
    // exported order (ascending sort = Label Studio's uncertainty sampling = our order), never
    // above 1 - priority, auto-accepted items highest
    let scores: Vec<f64> = ls
        .iter()
        .map(|x| x["predictions"][0]["score"].as_f64().unwrap())
        .collect();
    assert!(scores.windows(2).all(|w| w[0] < w[1]));
    assert!(scores.iter().all(|s| (0.0..=1.0).contains(s)));
    for (r, task) in ls.iter().enumerate() {
        let d = &task["data"];
        assert_eq!(d["medtriage_rank"].as_u64().unwrap() as usize, r + 1);
        let it = &t.items[d["medtriage_index"].as_u64().unwrap() as usize];
        assert_eq!(d["medtriage_id"].as_str().unwrap(), ids[it.index]);
        if let Some(pr) = it.priority {
            assert!(scores[r] <= 1.0 - pr + 1e-15);
        }
        // reasons name classes, never indices
        let why = d["medtriage_reasons"].as_str().unwrap();
        if let (Some(g), Some(pd)) = (it.given_label, it.predicted) {
            if g != pd
                && it.tier != Tier::Failed
                && it
                    .reasons
                    .iter()
                    .any(|x| x.signal == medtriage::engine::queue::policy::Signal::LabelAgreement)
            {
                assert!(
                    why.contains(&classes[g]) && why.contains(&classes[pd]),
                    "{why}"
                );
            }
        }
    }
    let n_review = t.order.len();
    assert!(ls[n_review..]
        .iter()
        .all(|x| x["data"]["medtriage_tier"] == "autoAccept"));
    // the reviewer's annotations come back as decisions for the next round
    use medtriage::engine::queue::labelstudio::{read_label_studio, ReadLabelStudioRequest};
    let annotated: Vec<serde_json::Value> = ls
        .iter()
        .take(5)
        .enumerate()
        .map(|(j, task)| {
            let mut task = task.clone();
            let choice = classes[j % classes.len()].clone();
            task["id"] = serde_json::json!(100 + j);
            task["annotations"] = serde_json::json!([{ "id": j, "completed_by": 1,
                "was_cancelled": j == 4,
                "result": [{ "from_name": "choice", "to_name": "image", "type": "choices",
                             "value": { "choices": [choice] } }] }]);
            task
        })
        .collect();
    let back = read_label_studio(&ReadLabelStudioRequest {
        export: serde_json::Value::Array(annotated),
        classes: classes.clone(),
        ids: Some(ids.clone()),
        n: None,
        options: Default::default(),
    })
    .unwrap();
    assert_eq!((back.tasks, back.decided, back.skipped), (5, 4, 1));
    for (j, r) in back.reviewed.iter().enumerate() {
        assert_eq!(r.index, t.order[j]);
        assert_eq!(r.label, j % classes.len());
    }

    let csv = tiers_csv(&ExportRequest {
        tiers: t.clone(),
        ids: None,
        classes: Some(classes),
        options: TableOptions::default(),
    })
    .unwrap();
    assert_eq!(csv.lines().count(), 401);
    assert!(csv.starts_with("rank,id,index,tier,priority,"));
    // too few ids is an error, not a panic
    let e = pseudo_labels(&ExportRequest {
        tiers: t,
        ids: Some(vec!["a".into()]),
        classes: None,
        options: PseudoLabelOptions::default(),
    })
    .unwrap_err();
    assert_eq!(e.code(), "invalid_input");
}

#[test]
fn rounds_can_pick_diverse_batches() {
    use medtriage::engine::queue::rounds::Selection;
    use medtriage::engine::queue::select::Strategy;
    let v = synth(1500, 16);
    let p = synth(900, 17);
    let base = request(&v, &p);
    // embeddings: 3 tight clusters by item index, 2-D
    let emb = |n: usize, off: usize| -> Vec<f64> {
        (0..n)
            .flat_map(|i| {
                let c = ((i + off) % 3) as f64;
                [c * 10.0 + (i % 7) as f64 * 0.01, (i % 5) as f64 * 0.01]
            })
            .collect()
    };
    for strategy in [
        Strategy::KCenterGreedy,
        Strategy::RankedBatch,
        Strategy::Badge,
    ] {
        for class_budget in [true, false] {
            let mut req = round(
                &base,
                PlanOptions {
                    batch_size: 30,
                    class_budget,
                    selection: Some(Selection {
                        strategy,
                        options: Default::default(),
                    }),
                    ..PlanOptions::default()
                },
            );
            req.reviewed = vec![ReviewOutcome {
                index: 1,
                label: p.truth[1],
            }];
            req.embeddings = Some(emb(900, 0));
            req.d = Some(2);
            req.verified_embeddings = Some(emb(1500, 1));
            let plan = plan_round(&req).unwrap();
            assert_eq!(plan.batch.len(), 30, "{strategy:?}");
            let set: std::collections::HashSet<usize> = plan.batch.iter().copied().collect();
            assert_eq!(set.len(), 30);
            assert!(!set.contains(&1), "a reviewed item was picked again");
            let review: std::collections::HashSet<usize> =
                plan.tiers.order.iter().copied().collect();
            assert!(
                set.iter().all(|i| review.contains(i)),
                "picked an auto-accepted item"
            );
            assert_eq!(plan.per_class.iter().map(|c| c.budget).sum::<usize>(), 30);
            if strategy == Strategy::KCenterGreedy {
                // the three clusters are all represented
                let clusters: std::collections::HashSet<usize> =
                    set.iter().map(|i| i % 3).collect();
                assert_eq!(clusters.len(), 3);
            }
        }
    }
    // a selection without embeddings is a clear error
    let req = round(
        &base,
        PlanOptions {
            selection: Some(Selection {
                strategy: Strategy::KCenterGreedy,
                options: Default::default(),
            }),
            ..PlanOptions::default()
        },
    );
    let e = plan_round(&req).unwrap_err();
    assert!(
        matches!(e.code(), "invalid_input" | "invalid_options"),
        "{e}"
    );
}
