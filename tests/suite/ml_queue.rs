#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

// The multi-label review queue: tiers with reasons naming findings, rounds with the
// sequential audit, pseudo-labels with a weight per finding, the Label Studio export for a
// multiple-choice config and its annotations read back. Seeded synthetic pools whose truth is
// known; behaviours checked exactly (the maths underneath is the cleanlab / Learn-then-Test
// code whose parity tests/multilabel.rs checks).

use medtriage::engine::queue::export::Weight;
use medtriage::engine::queue::export::{label_studio_scores, LabelStudioOptions};
use medtriage::engine::queue::labelstudio::ConsensusMethod;
use medtriage::engine::queue::labelstudio::{
    label_config, LabelConfigOptions, LabelConfigRequest, NO_FINDING,
};
use medtriage::engine::queue::ml_export::{
    label_studio_ml, pseudo_labels_ml, read_label_studio_ml, MlExportRequest, MlPseudoLabelOptions,
    ReadLabelStudioMlOptions, ReadLabelStudioMlRequest,
};
use medtriage::engine::queue::ml_policy::{
    tier_items_ml, MlPolicyConfig, MlPoolSet, MlTierRequest, MlTierResponse, MlVerifiedSet,
};
use medtriage::engine::queue::ml_rounds::{
    plan_round_ml, MlPlanOptions, MlReviewOutcome, MlRoundRequest,
};
use medtriage::engine::queue::policy::{Signal, Tier};
use medtriage::engine::queue::rounds::AuditRecord;
use medtriage::engine::triage::conformal::SplitMix64;
use serde_json::{json, Value};

const K: usize = 3;
const NAMES: [&str; K] = ["effusion", "cardiomegaly", "nodule"];
const PREV: [f64; K] = [0.3, 0.2, 0.1];

/// Images with true findings, given findings (each finding flipped with probability `flip`)
/// and per-finding probabilities from a model that is usually sure and right.
struct Synth {
    probs: Vec<f64>,
    truth: Vec<Vec<usize>>,
    given: Vec<Vec<usize>>,
}

fn synth(n: usize, flip: f64, seed: u64) -> Synth {
    let mut r = SplitMix64::new(seed);
    let mut s = Synth {
        probs: Vec::new(),
        truth: Vec::new(),
        given: Vec::new(),
    };
    for _ in 0..n {
        let (mut t, mut g) = (Vec::new(), Vec::new());
        for (j, &prev) in PREV.iter().enumerate() {
            let y = r.next_f64() < prev;
            let sure = if r.next_f64() < 0.9 {
                4.0 + 4.0 * r.next_f64()
            } else {
                1.5 * r.next_f64() - 0.5
            };
            let z = if y { sure } else { -sure };
            s.probs.push(1.0 / (1.0 + (-z).exp()));
            if y {
                t.push(j);
            }
            if y != (r.next_f64() < flip) {
                g.push(j);
            }
        }
        s.truth.push(t);
        s.given.push(g);
    }
    s
}

fn names() -> Vec<String> {
    NAMES.iter().map(|s| s.to_string()).collect()
}

fn request(nv: usize, np: usize, flip: f64) -> (MlTierRequest, Synth) {
    let v = synth(nv, 0.0, 7);
    let p = synth(np, flip, 11);
    let req = MlTierRequest {
        k: K,
        findings: Some(names()),
        verified: MlVerifiedSet {
            pred_probs: v.probs,
            n: nv,
            labels: v.truth.clone(),
            given_labels: Some(v.truth.iter().cloned().map(Some).collect()),
            outlier_scores: None,
        },
        pool: MlPoolSet {
            pred_probs: p.probs.clone(),
            n: np,
            given_labels: Some(p.given.iter().cloned().map(Some).collect()),
            outlier_scores: None,
            agreement: None,
            failed: vec![3],
        },
        policy: MlPolicyConfig::default(),
    };
    (req, p)
}

fn tiers() -> (MlTierResponse, Synth) {
    let (req, p) = request(2000, 300, 0.05);
    (tier_items_ml(&req).unwrap(), p)
}

#[test]
fn ml_tiers_partition_name_findings_and_certify_auto_accept() {
    let (t, p) = tiers();
    let c = t.counts;
    assert_eq!(
        c.auto_accept
            + c.light_review
            + c.expert_review
            + c.suspected_label_error
            + c.outlier
            + c.failed,
        300
    );
    assert_eq!(c.failed, 1);
    assert!(c.auto_accept > 100, "{c:?}");
    assert!(c.suspected_label_error > 0 && c.expert_review > 0, "{c:?}");
    assert_eq!(t.order.len(), 300 - c.auto_accept);
    assert_eq!(t.items[3].tier, Tier::Failed);
    assert_eq!(*t.order.last().unwrap(), 3, "failed images come last");
    let rule = t.fitted.auto_accept.as_ref().unwrap();
    assert!(t
        .fitted
        .guarantee
        .as_ref()
        .unwrap()
        .contains("some finding"));
    let mut wrong_accepted = 0;
    for it in &t.items {
        assert!(!it.reasons.is_empty());
        // every finding-level reason names its finding
        for r in &it.reasons {
            if let Some(j) = r.finding {
                assert!(r.message.contains(NAMES[j]), "{}", r.message);
            }
        }
        if it.tier == Tier::AutoAccept {
            let probs = it.probabilities.as_ref().unwrap();
            for (j, &q) in probs.iter().enumerate() {
                assert!(q.max(1.0 - q) >= rule.thresholds[j]);
            }
            assert_eq!(it.predicted, it.given_labels, "agreement rule");
            wrong_accepted += (it.given_labels.as_ref() != Some(&p.truth[it.index])) as usize;
        }
        if it.tier == Tier::SuspectedLabelError {
            assert!(it
                .reasons
                .iter()
                .any(|r| matches!(r.signal, Signal::LabelIssue | Signal::LabelAgreement)));
        }
    }
    // the promise is 5% of accepted images with some finding wrong (w.p. 0.95); the synthetic
    // pool is exchangeable with the verified set, so the observed rate stays near it
    assert!(
        (wrong_accepted as f64) <= 0.1 * c.auto_accept as f64,
        "{wrong_accepted} of {}",
        c.auto_accept
    );
    // priorities are in [0, 1] and the order is by priority
    let pr = |i: usize| t.items[i].priority.unwrap_or(f64::NEG_INFINITY);
    assert!(t.order.windows(2).all(|w| pr(w[0]) >= pr(w[1])));
    // a given finding the model confidently contradicts is named in a suspected label error
    let named = t
        .items
        .iter()
        .filter(|it| it.tier == Tier::SuspectedLabelError)
        .any(|it| {
            it.reasons
                .iter()
                .any(|r| r.signal == Signal::LabelAgreement && r.message.contains("but it is"))
        });
    assert!(named);
}

#[test]
fn ml_tiers_reject_bad_requests() {
    let (mut req, _) = request(200, 20, 0.05);
    req.pool.given_labels.as_mut().unwrap()[0] = Some(vec![K]);
    assert_eq!(tier_items_ml(&req).unwrap_err().code(), "invalid_input");
    let (mut req, _) = request(200, 20, 0.05);
    req.findings = Some(vec!["a".into()]);
    assert_eq!(tier_items_ml(&req).unwrap_err().code(), "invalid_input");
    let (mut req, _) = request(200, 20, 0.05);
    req.policy.auto_accept.alpha = 1.5;
    assert_eq!(tier_items_ml(&req).unwrap_err().code(), "invalid_options");
    // a NaN row fails that image only
    let (mut req, _) = request(200, 20, 0.05);
    req.pool.pred_probs[5 * K] = f64::NAN;
    let t = tier_items_ml(&req).unwrap();
    assert_eq!(t.items[5].tier, Tier::Failed);
    assert_eq!(t.counts.failed, 2);
}

#[test]
fn ml_pseudo_labels_weigh_each_finding() {
    let (t, _) = tiers();
    let r = pseudo_labels_ml(&MlExportRequest {
        tiers: t.clone(),
        ids: None,
        options: MlPseudoLabelOptions::default(),
    })
    .unwrap();
    assert_eq!(r.rows.len(), t.counts.auto_accept);
    let header = r.csv.lines().next().unwrap();
    assert_eq!(header, "id,labels,tier,effusion,cardiomegaly,nodule,weight_effusion,weight_cardiomegaly,weight_nodule");
    for row in &r.rows {
        let it = &t.items[row.index];
        let p = it.probabilities.as_ref().unwrap();
        for (j, &q) in p.iter().enumerate() {
            assert_eq!(row.weights[j], q.max(1.0 - q));
            assert_eq!(row.targets[j] == 1, row.labels.contains(&j));
        }
        assert_eq!(row.findings.len(), row.labels.len());
    }
    let lp = pseudo_labels_ml(&MlExportRequest {
        tiers: t.clone(),
        ids: None,
        options: MlPseudoLabelOptions {
            tiers: vec![Tier::LightReview],
            weight: Weight::LabelProbability,
            min_confidence: 0.0,
        },
    })
    .unwrap();
    for row in &lp.rows {
        let fp = t.items[row.index].finding_priority.as_ref().unwrap();
        for (w, f) in row.weights.iter().zip(fp) {
            assert!((w - (1.0 - f)).abs() < 1e-15);
        }
    }
    assert_eq!(lp.csv.lines().count(), lp.rows.len() + 1);
}

/// A Label Studio JSON export of the exported tasks: each annotator chooses the truth,
/// except `wrong` who adds a finding.
fn annotate(
    tasks: &[Value],
    truth: &[Vec<usize>],
    annotators: &[&str],
    extra: Option<(&str, usize)>,
) -> Value {
    let tasks: Vec<Value> = tasks
        .iter()
        .enumerate()
        .map(|(tid, t)| {
            let i = t["data"]["medtriage_index"].as_u64().unwrap() as usize;
            let anns: Vec<Value> = annotators
                .iter()
                .enumerate()
                .map(|(a, who)| {
                    let mut f = truth[i].clone();
                    if let Some((w, j)) = extra {
                        if w == *who && !f.contains(&j) {
                            f.push(j);
                        }
                    }
                    let mut choices: Vec<&str> = f.iter().map(|&j| NAMES[j]).collect();
                    if choices.is_empty() {
                        choices.push(NO_FINDING);
                    }
                    json!({"id": tid * 10 + a, "completed_by": who, "was_cancelled": false,
                           "result": [{"from_name": "choice", "to_name": "image", "type": "choices",
                                       "value": {"choices": choices}}]})
                })
                .collect();
            json!({"id": tid + 1, "data": t["data"].clone(), "annotations": anns})
        })
        .collect();
    Value::Array(tasks)
}

#[test]
fn ml_label_studio_export_and_round_trip() {
    let (t, p) = tiers();
    let ids: Vec<String> = (0..300).map(|i| format!("img{i:03}.png")).collect();
    let tasks = label_studio_ml(&MlExportRequest {
        tiers: t.clone(),
        ids: Some(ids.clone()),
        options: LabelStudioOptions::default(),
    })
    .unwrap();
    assert_eq!(tasks.len(), 300);
    // review order first, scores strictly increasing
    let scores: Vec<f64> = tasks
        .iter()
        .map(|t| t["predictions"][0]["score"].as_f64().unwrap())
        .collect();
    assert!(scores.windows(2).all(|w| w[0] < w[1]));
    let base: Vec<Option<f64>> = tasks
        .iter()
        .map(|t| t["data"]["medtriage_priority"].as_f64().map(|v| 1.0 - v))
        .collect();
    assert_eq!(scores, label_studio_scores(&base));
    for task in &tasks {
        let i = task["data"]["medtriage_index"].as_u64().unwrap() as usize;
        assert_eq!(task["data"]["medtriage_id"], ids[i].as_str());
        let res = &task["predictions"][0]["result"][0];
        let chosen: Vec<&str> = res["value"]["choices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let labels = t.items[i].labels.as_ref().unwrap();
        if labels.is_empty() {
            assert_eq!(chosen, vec![NO_FINDING]);
        } else {
            assert_eq!(chosen, labels.iter().map(|&j| NAMES[j]).collect::<Vec<_>>());
        }
        if t.items[i].tier != Tier::Failed {
            let f = task["data"]["medtriage_findings"].as_str().unwrap();
            assert!(f.starts_with("effusion ") && f.contains(", nodule "), "{f}");
        }
    }
    // the matching labeling config
    let x = label_config(&LabelConfigRequest {
        classes: names(),
        options: LabelConfigOptions {
            multiple: true,
            ..Default::default()
        },
    })
    .unwrap();
    assert!(
        x.contains(r#"choice="multiple""#) && x.contains(r#"<Choice value="No finding""#),
        "{x}"
    );
    let bad = LabelConfigOptions {
        multiple: true,
        no_finding: "nodule".into(),
        ..Default::default()
    };
    assert_eq!(
        label_config(&LabelConfigRequest {
            classes: names(),
            options: bad
        })
        .unwrap_err()
        .code(),
        "invalid_options"
    );
    // two annotators agree with the truth, a third adds a nodule everywhere: the majority is the truth
    let export = annotate(&tasks, &p.truth, &["r1", "r2", "r3"], Some(("r3", 2)));
    let rr = |export: Value, consensus| {
        read_label_studio_ml(&ReadLabelStudioMlRequest {
            export,
            findings: names(),
            ids: Some(ids.clone()),
            n: None,
            options: ReadLabelStudioMlOptions {
                consensus,
                ..Default::default()
            },
        })
    };
    let r = rr(export.clone(), ConsensusMethod::Majority).unwrap();
    assert_eq!(r.tasks, 300);
    assert_eq!(r.decided, 300);
    assert_eq!(r.annotations.len(), 900);
    assert_eq!(r.multi_annotator_tasks, 300);
    assert!(r.ties.is_empty());
    for d in &r.reviewed {
        assert_eq!(d.findings, p.truth[d.index], "image {}", d.index);
    }
    let with_nodule = p.truth.iter().filter(|t| !t.contains(&2)).count();
    assert_eq!(r.disagreements, with_nodule);
    let ds = rr(export, ConsensusMethod::DawidSkene).unwrap();
    assert_eq!(ds.decided, 300);
    // one annotator: its choices are the decision, "No finding" = []
    let one = rr(
        annotate(&tasks, &p.truth, &["r1"], None),
        ConsensusMethod::Majority,
    )
    .unwrap();
    assert!(one.reviewed.iter().all(|d| d.findings == p.truth[d.index]));
    // "No finding" with a finding, and an unknown choice, are named errors
    let mut e = annotate(&tasks[..1], &p.truth, &["r1"], None);
    e[0]["annotations"][0]["result"][0]["value"]["choices"] = json!([NO_FINDING, "nodule"]);
    let err = rr(e.clone(), ConsensusMethod::Majority).unwrap_err();
    assert!(err.message().contains("task 1"), "{}", err.message());
    e[0]["annotations"][0]["result"][0]["value"]["choices"] = json!(["pneumonia"]);
    assert_eq!(
        rr(e, ConsensusMethod::Majority).unwrap_err().code(),
        "invalid_input"
    );
    // a triage fed back with a finding beyond the named ones, or a huge index: typed errors
    let mut hostile = t.clone();
    hostile.items[0].labels = Some(vec![7]);
    let req = MlExportRequest {
        tiers: hostile,
        ids: None,
        options: LabelStudioOptions::default(),
    };
    assert_eq!(label_studio_ml(&req).unwrap_err().code(), "invalid_input");
    let mut far = t.clone();
    far.items[0].index = 100_000_000;
    let r = pseudo_labels_ml(&MlExportRequest {
        tiers: far,
        ids: None,
        options: MlPseudoLabelOptions::default(),
    });
    assert!(r.is_ok());
    let mut j = json!({"tiers": serde_json::to_value(&t).unwrap()});
    j["tiers"]["items"][0]["index"] = json!(200_000_000u64);
    let back: Result<MlExportRequest<MlPseudoLabelOptions>, _> = serde_json::from_value(j);
    assert!(back.unwrap_err().to_string().contains("MAX_ITEMS"));
}

#[test]
fn ml_rounds_review_then_certify_with_a_sequential_audit() {
    let (req, p) = request(1500, 400, 0.03);
    let mut rr = MlRoundRequest {
        k: K,
        findings: req.findings.clone(),
        verified: req.verified.clone(),
        pool: MlPoolSet {
            failed: vec![],
            ..req.pool.clone()
        },
        reviewed: Vec::new(),
        audits: Vec::new(),
        policy: MlPolicyConfig::default(),
        options: MlPlanOptions {
            batch_size: 40,
            ..Default::default()
        },
    };
    rr.options.stopping.target_error_rate = 0.05;
    let review = |rr: &mut MlRoundRequest, ix: &[usize]| {
        for &i in ix {
            rr.reviewed.push(MlReviewOutcome {
                index: i,
                findings: p.truth[i].clone(),
            });
        }
    };
    let mut batches = 0;
    let mut last = None;
    for _ in 0..60 {
        let plan = plan_round_ml(&rr).unwrap();
        assert_eq!(plan.per_finding.len(), K);
        assert_eq!(plan.per_finding[0].name, "effusion");
        if plan.stop {
            last = Some(plan);
            break;
        }
        match &plan.audit {
            Some(a) => {
                review(&mut rr, &a.indices);
                if a.number > rr.audits.len() {
                    rr.audits.push(AuditRecord {
                        remainder_size: a.remainder_size,
                        sampled: 0,
                        wrong: 0,
                        estimated_rate: a.estimated_rate,
                        indices: Some(a.indices.clone()),
                    });
                } else {
                    rr.audits
                        .last_mut()
                        .unwrap()
                        .indices
                        .as_mut()
                        .unwrap()
                        .extend(&a.indices);
                }
            }
            None => {
                assert!(!plan.batch.is_empty() && plan.batch.len() <= 40);
                batches += 1;
                review(&mut rr, &plan.batch.clone());
            }
        }
    }
    let plan = last.expect("the rounds stop");
    assert!(
        batches >= 1,
        "the noisy pool needs review before an audit can certify"
    );
    let cert = plan.estimate.certified_error_rate.unwrap();
    assert!(cert <= 0.05, "{}", plan.stop_reason);
    assert!(
        plan.stop_reason.starts_with("Certified"),
        "{}",
        plan.stop_reason
    );
    // the truth: images left unreviewed whose given findings are wrong
    let reviewed: std::collections::HashSet<usize> = rr.reviewed.iter().map(|r| r.index).collect();
    let wrong_left = (0..400)
        .filter(|i| !reviewed.contains(i) && p.given[*i] != p.truth[*i])
        .count();
    assert!(
        wrong_left as f64 / 400.0 <= cert,
        "{wrong_left} wrong left vs certified {cert}"
    );
    assert!(plan.wrong_images_found > 0);
    // bad reviews are named errors
    let mut bad = rr.clone();
    bad.reviewed.push(MlReviewOutcome {
        index: 0,
        findings: vec![],
    });
    bad.reviewed.push(MlReviewOutcome {
        index: 0,
        findings: vec![],
    });
    assert_eq!(plan_round_ml(&bad).unwrap_err().code(), "invalid_input");
    let mut bad = rr.clone();
    bad.pool.pred_probs.pop();
    assert_eq!(plan_round_ml(&bad).unwrap_err().code(), "invalid_input");
    let mut bad = rr.clone();
    bad.options.stopping.sequential = false;
    assert_eq!(plan_round_ml(&bad).unwrap_err().code(), "invalid_options");
}
