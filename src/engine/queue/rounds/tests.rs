use super::*;

/// A two-class request: `nv` verified items and a pool of `n`, every label right and
/// confident except pool items `wrong` (given the other class).
fn request(nv: usize, n: usize, wrong: &[usize]) -> RoundRequest {
    let row = |i: usize| {
        if i.is_multiple_of(2) {
            [0.9, 0.1]
        } else {
            [0.1, 0.9]
        }
    };
    let json = serde_json::json!({
        "k": 2,
        "verified": {
            "predProbs": (0..nv).flat_map(row).collect::<Vec<f64>>(),
            "n": nv,
            "labels": (0..nv).map(|i| i % 2).collect::<Vec<usize>>(),
        },
        "pool": {
            "predProbs": (0..n).flat_map(row).collect::<Vec<f64>>(),
            "n": n,
            "givenLabels": (0..n)
                .map(|i| ((i % 2) ^ usize::from(wrong.contains(&i))) as i64)
                .collect::<Vec<i64>>(),
        },
    });
    serde_json::from_value(json).unwrap()
}

#[test]
fn clopper_pearson_bounds() {
    // no error in m draws: 1 - delta^(1/m)
    let u = clopper_pearson_upper(0, 10, 0.05);
    assert!((u - (1.0 - 0.05f64.powf(0.1))).abs() < 1e-9, "{u}");
    assert_eq!(clopper_pearson_upper(3, 3, 0.05), 1.0);
    assert_eq!(clopper_pearson_upper(0, 0, 0.05), 1.0);
    // more errors, or more confidence, give a higher bound
    assert!(clopper_pearson_upper(2, 50, 0.05) > clopper_pearson_upper(1, 50, 0.05));
    assert!(clopper_pearson_upper(1, 50, 0.01) > clopper_pearson_upper(1, 50, 0.05));
}

#[test]
fn audit_sizes() {
    assert_eq!(audit_size(0.0, 0.05, 0.05, 0), 0);
    // zero errors: the smallest m with 1 - delta^(1/m) <= target
    let m = audit_size(0.0, 0.05, 0.05, 10_000);
    assert!(clopper_pearson_upper(0, m, 0.05) <= 0.05);
    assert!(clopper_pearson_upper(0, m - 1, 0.05) > 0.05);
    // a rate at the target can never certify it: the cap
    assert_eq!(audit_size(0.05, 0.05, 0.05, 300), 300);
}

#[test]
fn allocation_is_proportional_capped_and_floored() {
    let a = allocate(10, &[3.0, 1.0], &[100, 100], 0);
    assert_eq!(a.iter().sum::<usize>(), 10);
    assert!(a[0] > a[1]);
    assert_eq!(allocate(10, &[3.0, 1.0], &[2, 100], 0), vec![2, 8]);
    assert_eq!(allocate(10, &[1.0, 0.0], &[100, 100], 3)[1], 3);
    // never more than there is
    assert_eq!(allocate(10, &[1.0, 1.0], &[2, 3], 0), vec![2, 3]);
}

#[test]
fn unreviewed_positions() {
    let (rest, pos) = unreviewed(&[false, true, false]);
    assert_eq!(rest, vec![0, 2]);
    assert_eq!(pos, vec![0, usize::MAX, 1]);
}

#[test]
fn a_round_reviews_the_most_likely_wrong_first() {
    let mut req = request(200, 40, &[7, 12]);
    req.options.batch_size = 2;
    let p = plan_round(&req).unwrap();
    assert!(!p.stop);
    assert!(p.audit.is_none());
    let mut b = p.batch.clone();
    b.sort_unstable();
    assert_eq!(b, vec![7, 12], "{}", p.stop_reason);
    assert_eq!(p.estimate.n, 40);
    assert_eq!(p.estimate.unreviewed, 40);
    assert_eq!(p.per_class.iter().map(|c| c.budget).sum::<usize>(), 2);
}

#[test]
fn everything_reviewed_stops() {
    let mut req = request(200, 4, &[]);
    req.reviewed = (0..4)
        .map(|i| ReviewOutcome {
            index: i,
            label: i % 2,
        })
        .collect();
    let p = plan_round(&req).unwrap();
    assert!(p.stop);
    assert_eq!(p.stop_reason, "Every item is reviewed.");
    assert!(p.batch.is_empty());
    assert_eq!(p.estimate.reviewed, 4);
}

#[test]
fn bad_audit_records_and_reviews_are_refused() {
    let mut req = request(200, 40, &[]);
    req.audits = vec![AuditRecord {
        remainder_size: 10,
        sampled: 11,
        wrong: 0,
        estimated_rate: 0.01,
        indices: None,
    }];
    assert_eq!(plan_round(&req).unwrap_err().code(), "invalid_input");
    let mut req = request(200, 40, &[]);
    req.reviewed = vec![ReviewOutcome {
        index: 40,
        label: 0,
    }];
    assert_eq!(plan_round(&req).unwrap_err().code(), "invalid_input");
    let mut req = request(200, 40, &[]);
    req.options.batch_size = 0;
    assert_eq!(plan_round(&req).unwrap_err().code(), "invalid_options");
}

#[test]
fn audits_spend_at_most_delta_and_one_half_is_the_halving_schedule() {
    let mut s = StoppingRule::default();
    for share in [0.5, 0.8, 0.99] {
        s.first_audit_share = share;
        let mut sum = 0.0;
        for j in 1..=60 {
            sum += audit_delta(&s, j);
            assert!(
                (sum - spent_delta(&s, j)).abs() < 1e-12,
                "share {share}, audit {j}"
            );
        }
        assert!(sum <= s.delta + 1e-12, "share {share} spends {sum}");
    }
    s.first_audit_share = 0.5;
    for j in 1..=10 {
        assert!((audit_delta(&s, j) - s.delta / 2f64.powi(j as i32)).abs() < 1e-15);
    }
}

#[test]
fn expected_audit_draws_follow_the_kl_rate() {
    // a clean remainder: ln(1/delta) / -ln(1 - a/R) draws
    let d = expected_audit_draws(0.0, 10_000, 100.0, 0.05);
    assert!((d - 20f64.ln() / -(1.0 - 0.01f64).ln()).abs() < 1e-9, "{d}");
    // more errors expected, or a smaller allowance, or more confidence: more draws
    assert!(expected_audit_draws(40.0, 10_000, 100.0, 0.05) > d);
    assert!(expected_audit_draws(0.0, 10_000, 50.0, 0.05) > d);
    assert!(expected_audit_draws(0.0, 10_000, 100.0, 0.01) > d);
    // at or over the allowance no audit can certify: review everything
    assert_eq!(expected_audit_draws(100.0, 10_000, 100.0, 0.05), 10_000.0);
    assert_eq!(expected_audit_draws(0.0, 0, 100.0, 0.05), 0.0);
}

#[test]
fn an_audit_waits_while_a_batch_is_expected_to_pay_for_itself() {
    // 9,000 items, 90 wrong allowed. Now 80 expected wrong, 60 of them in the next 200 items:
    // reviewing them first makes the audit far shorter, so it is not due yet.
    let mut p = vec![0.3; 200];
    p.extend(vec![20.0 / 8800.0; 8800]);
    assert!(!audit_now_pays(&p, 80.0, 9000, 90.0, 0.04, 100));
    // once those are reviewed, 20 expected wrong spread thin: no batch pays, audit now
    let rest = vec![20.0 / 8800.0; 8800];
    assert!(audit_now_pays(&rest, 20.0, 8800, 90.0, 0.04, 100));
    // over the allowance: never audit (review on)
    assert!(!audit_now_pays(&rest, 95.0, 8800, 90.0, 0.04, 100));
}

#[test]
fn the_first_audit_share_is_checked() {
    for bad in [0.0, 1.0, f64::NAN, -0.1] {
        let mut o = PlanOptions::default();
        o.stopping.first_audit_share = bad;
        let e = check_options(&o).unwrap_err();
        assert!(e.to_string().contains("firstAuditShare"), "{e}");
    }
}
