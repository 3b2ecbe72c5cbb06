//! Request handling: checking scores, embeddings and classes, then selecting a batch
//! (overall or class by class).

use crate::engine::probs::{argmax, check_row, SplitMix64};
use crate::error::{err, Result};

use super::*;

pub(super) fn check_rows(data: &[f64], w: usize, rows: &[usize], what: &str) -> Result<()> {
    for &i in rows {
        if let Some(c) = data[i * w..(i + 1) * w].iter().position(|v| !v.is_finite()) {
            return Err(err!(
                InvalidInput,
                "{what}: row {i}, column {c} is not finite"
            ));
        }
    }
    Ok(())
}

/// Validate the embeddings (the rows of eligible items finite) and the labeled ones; `d`, or 0
/// without embeddings.
pub(super) fn checked_embeddings(r: &SelectRequest, eligible: &[usize]) -> Result<usize> {
    let n = r.scores.len();
    let mut d = 0;
    if let Some(e) = &r.embeddings {
        d =
            r.d.ok_or_else(|| err!(InvalidInput, "embeddings given without d"))?;
        if d == 0 || e.len() != n * d {
            return Err(err!(
                InvalidInput,
                "embeddings: {} numbers, expected n x d = {n} x {d}",
                e.len()
            ));
        }
        check_rows(e, d, eligible, "embeddings")?;
    } else if r.strategy != Strategy::TopK {
        return Err(err!(
            InvalidInput,
            "{:?} needs embeddings and d",
            r.strategy
        ));
    }
    if let Some(l) = &r.labeled_embeddings {
        if r.embeddings.is_none() || l.len() % d != 0 {
            return Err(err!(
                InvalidInput,
                "labeledEmbeddings: {} numbers, not a multiple of d = {d} (or no embeddings)",
                l.len()
            ));
        }
        if l.iter().any(|v| !v.is_finite()) {
            return Err(err!(
                InvalidInput,
                "labeledEmbeddings has non-finite values"
            ));
        }
    }
    Ok(d)
}

/// Validate `predProbs` (the rows of eligible items) and `predicted`; each item's class (the
/// predicted one, else the arg-max) and the number of classes.
pub(super) fn checked_classes(
    r: &SelectRequest,
    eligible: &[usize],
) -> Result<(Option<Vec<usize>>, Option<usize>)> {
    let n = r.scores.len();
    let k = r.k;
    if let Some(p) = &r.pred_probs {
        let kk = k.ok_or_else(|| err!(InvalidInput, "predProbs given without k"))?;
        if kk == 0 || p.len() != n * kk {
            return Err(err!(
                InvalidProbabilities,
                "predProbs: {} numbers, expected n x k = {n} x {kk}",
                p.len()
            ));
        }
        for &i in eligible {
            check_row(&p[i * kk..(i + 1) * kk], i, "predProbs")?;
        }
    }
    Ok(match (&r.predicted, &r.pred_probs) {
        (Some(pr), _) => {
            if pr.len() != n {
                return Err(err!(
                    InvalidInput,
                    "predicted: {} labels for {n} items",
                    pr.len()
                ));
            }
            let kk = match k {
                Some(kk) => kk,
                None => pr.iter().max().map_or(1, |m| m.saturating_add(1)),
            };
            if let Some((i, c)) = pr.iter().enumerate().find(|(_, &c)| c >= kk) {
                return Err(err!(
                    InvalidInput,
                    "predicted[{i}] = {c} is not below k = {kk}"
                ));
            }
            (Some(pr.clone()), Some(kk))
        }
        (None, Some(p)) => {
            let kk = k.unwrap_or(1);
            let classes = (0..n).map(|i| argmax(&p[i * kk..(i + 1) * kk])).collect();
            (Some(classes), k)
        }
        _ => (None, k),
    })
}

/// The distance the strategy uses (none for top-k), and what the strategy itself requires.
pub(super) fn strategy_metric(r: &SelectRequest) -> Result<Option<Metric>> {
    let metric = match (r.strategy, r.options.metric) {
        (Strategy::TopK, _) => None,
        (Strategy::Badge, Some(Metric::Cosine)) => {
            return Err(err!(
                InvalidOptions,
                "badge uses the Euclidean distance on gradient embeddings; metric cosine is not supported"
            ))
        }
        (_, m) => Some(m.unwrap_or_default()),
    };
    if r.strategy == Strategy::Badge {
        if r.pred_probs.is_none() {
            return Err(err!(InvalidInput, "badge needs predProbs and k"));
        }
        if r.labeled_embeddings.is_some() {
            return Err(err!(
                InvalidOptions,
                "badge does not use labeledEmbeddings (k-means++ seeding on the pool only)"
            ));
        }
    }
    Ok(metric)
}

/// The batch under a class budget: the eligible items split by class, each class's share
/// allocated, and the strategy run within each class. `working` is the memory counted so far.
pub(super) fn by_class(
    r: &SelectRequest,
    eligible: &[usize],
    classes: &Option<Vec<usize>>,
    k: Option<usize>,
    b: usize,
    mut working: usize,
    run: &mut dyn FnMut(&[usize], usize) -> Result<Out>,
) -> Result<(Out, Vec<ClassAllocation>)> {
    let o = &r.options;
    let (Some(cls), Some(kk)) = (classes, k) else {
        return Err(err!(
            InvalidInput,
            "a classBudget needs predicted classes (predicted or predProbs with k)"
        ));
    };
    if let Some(rates) = &o.class_error_rates {
        if rates.len() != kk {
            return Err(err!(
                InvalidOptions,
                "classErrorRates: {} rates for {kk} classes",
                rates.len()
            ));
        }
    }
    let mut strata: Vec<Vec<usize>> = vec![Vec::new(); kk];
    for &i in eligible {
        strata[cls[i]].push(i);
    }
    let pool: Vec<usize> = strata.iter().map(Vec::len).collect();
    if let ClassBudget::Counts(c) = &o.class_budget {
        let s: usize = c.iter().sum();
        if s != r.batch_size {
            return Err(err!(
                InvalidOptions,
                "classBudget counts sum to {s}, batchSize is {}",
                r.batch_size
            ));
        }
    }
    let (alloc, weights) = allocate(
        &o.class_budget,
        b,
        &pool,
        o.class_error_rates.as_deref(),
        o.min_per_class,
    )?;
    working += std::mem::size_of_val(eligible);
    let (mut picks, mut trace) = (Vec::with_capacity(b), Vec::new());
    for (c, cands) in strata.iter().enumerate() {
        if alloc[c] == 0 {
            continue;
        }
        let out = run(cands, alloc[c])?;
        working = working.max(out.working_bytes + eligible.len() * 16);
        for mut p in out.picks {
            p.stratum = Some(c);
            picks.push(p);
        }
        trace.extend(out.trace);
    }
    let allocation = (0..kk)
        .map(|c| ClassAllocation {
            class: c,
            pool: pool[c],
            error_rate: match o.class_budget {
                ClassBudget::ByEstimatedError => o.class_error_rates.as_ref().map(|r| r[c]),
                _ => None,
            },
            weight: weights[c],
            requested: match &o.class_budget {
                ClassBudget::Counts(v) => Some(v[c]),
                _ => None,
            },
            allocated: alloc[c],
        })
        .collect();
    let out = Out {
        picks,
        trace,
        working_bytes: working,
    };
    Ok((out, allocation))
}

/// Select a batch (see the module docs): check the request, then run the strategy on the
/// eligible items (those with a finite score), over the whole pool or class by class.
pub fn select_batch(r: &SelectRequest) -> Result<SelectResponse> {
    let n = r.scores.len();
    let o = &r.options;
    if n == 0 {
        return Err(err!(InvalidInput, "scores is empty"));
    }
    if r.batch_size == 0 {
        return Err(err!(InvalidOptions, "batchSize must be at least 1"));
    }
    let mut notes = Vec::new();
    let (eligible, skipped): (Vec<usize>, Vec<usize>) =
        (0..n).partition(|&i| r.scores[i].is_finite());
    let d = checked_embeddings(r, &eligible)?;
    let (classes, k) = checked_classes(r, &eligible)?;
    let metric = strategy_metric(r)?;
    if r.strategy == Strategy::TopK && (r.embeddings.is_some() || r.labeled_embeddings.is_some()) {
        notes.push("topK ignores embeddings".to_string());
    }
    if let Some(rates) = &o.class_error_rates {
        if rates
            .iter()
            .any(|v| !(v.is_finite() && (0.0..=1.0).contains(v)))
        {
            return Err(err!(InvalidOptions, "classErrorRates must be in [0, 1]"));
        }
    }
    let requested = r.batch_size;
    let b = requested.min(eligible.len());
    if b < requested {
        notes.push(format!(
            "batchSize {requested} clipped to the {} eligible items",
            eligible.len()
        ));
    }
    let space = r
        .embeddings
        .as_deref()
        .map(|e| Space::new(e, d, metric.unwrap_or_default(), eligible.iter().copied()));
    let cx = Ctx {
        scores: &r.scores,
        space,
        labeled: r.labeled_embeddings.as_deref().unwrap_or(&[]),
        probs: r.pred_probs.as_deref().zip(k),
        cold_start: o.cold_start,
        seed: o.seed,
        trace: o.trace,
        n,
    };
    let mut rng = SplitMix64::new(cx.seed);
    let mut run = |cands: &[usize], b: usize| -> Result<Out> {
        match r.strategy {
            Strategy::TopK => Ok(top_k(cands, b, cx.scores)),
            Strategy::RankedBatch => ranked_batch(cands, b, &cx),
            Strategy::KCenterGreedy => k_center(cands, b, &cx),
            Strategy::Badge => badge(cands, b, &cx, &mut rng),
        }
    };
    let working = n * std::mem::size_of::<usize>();
    let (mut out, allocation) = if o.class_budget == ClassBudget::None {
        if o.min_per_class > 0 {
            notes.push("minPerClass ignored without a classBudget".to_string());
        }
        let mut out = run(&eligible, b)?;
        out.working_bytes += working;
        (out, None)
    } else {
        let (out, a) = by_class(r, &eligible, &classes, k, b, working, &mut run)?;
        (out, Some(a))
    };
    for (rank, p) in out.picks.iter_mut().enumerate() {
        p.rank = rank;
        p.class = classes.as_ref().map(|c| c[p.index]);
    }
    Ok(SelectResponse {
        strategy: r.strategy,
        requested_batch_size: requested,
        batch_size: out.picks.len(),
        selected: out.picks.iter().map(|p| p.index).collect(),
        picks: out.picks,
        skipped_non_finite: skipped,
        metric,
        allocation,
        trace: if o.trace && r.strategy == Strategy::Badge {
            Some(out.trace)
        } else {
            None
        },
        working_bytes: out.working_bytes,
        notes,
    })
}
