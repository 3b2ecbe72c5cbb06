//! Writing `score` results: one JSON line or one CSV row per image (score columns, or the
//! error and empty columns), with the multi-label and multi-row measures when present.

use std::io::{BufWriter, Write};
use std::path::Path;

use medtriage::engine::score::{self, ItemResult, Scorer};
use medtriage::{Error, ErrorKind, Result};

use crate::cli::ScoreFormat;
use crate::io::sink;

pub(crate) fn write_results(
    results: &[ItemResult],
    scorer: &Scorer,
    format: ScoreFormat,
    out: Option<&Path>,
) -> Result<()> {
    let w = BufWriter::new(sink(out)?);
    match format {
        ScoreFormat::Jsonl => write_jsonl(results, w),
        ScoreFormat::Csv => write_score_csv(results, scorer, w),
    }
}

fn write_err(e: std::io::Error) -> Error {
    Error::new(ErrorKind::Io, format!("writing results: {e}"))
}

/// One JSON object per line, in the order of `results`.
fn write_jsonl<W: Write>(results: &[ItemResult], mut w: BufWriter<W>) -> Result<()> {
    for r in results {
        serde_json::to_writer(&mut w, r).map_err(|e| Error::new(ErrorKind::Io, e.to_string()))?;
        w.write_all(b"\n").map_err(write_err)?;
    }
    w.into_inner()
        .map_err(|e| write_err(e.into_error()))?
        .flush()
        .map_err(write_err)?;
    Ok(())
}

/// One CSV row per result: the score columns, or the error and empty score columns.
fn write_score_csv<W: Write>(results: &[ItemResult], scorer: &Scorer, w: W) -> Result<()> {
    let classes = &scorer.manifest().output.classes;
    // T > 1 rows per image: the multi-row measures get their own columns
    let multi = scorer.samples_per_image() > 1;
    let ml = scorer.manifest().output.is_multi_label();
    let mut c = csv::Writer::from_writer(w);
    let cerr = |e: csv::Error| Error::new(ErrorKind::Io, format!("writing CSV: {e}"));
    c.write_record(score_csv_header(classes, multi, ml))
        .map_err(cerr)?;
    for r in results {
        c.write_record(score_csv_row(r, classes, multi, ml))
            .map_err(cerr)?;
    }
    c.flush().map_err(write_err)?;
    Ok(())
}

fn score_csv_header(classes: &[String], multi: bool, ml: bool) -> Vec<String> {
    let mut header: Vec<String> = [
        "id",
        "ok",
        "error_code",
        "error_message",
        "predicted",
        "predicted_name",
        "confidence",
        "least_confidence",
        "margin",
        "ratio",
        "entropy",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if multi {
        header.extend(["expected_entropy", "bald", "variation_ratio"].map(String::from));
    }
    header.extend(classes.iter().map(|n| format!("p_{n}")));
    if ml {
        header.extend(ml_header(classes, multi));
    }
    header
}

fn score_csv_row(r: &ItemResult, classes: &[String], multi: bool, ml: bool) -> Vec<String> {
    let mut row = vec![r.id.clone()];
    match (&r.score, &r.error) {
        (Some(s), _) => {
            row.extend([
                "true".into(),
                String::new(),
                String::new(),
                s.predicted.to_string(),
                classes[s.predicted].clone(),
                s.confidence.to_string(),
                s.uncertainty.least_confidence.to_string(),
                s.uncertainty.margin.to_string(),
                s.uncertainty.ratio.to_string(),
                s.uncertainty.entropy.to_string(),
            ]);
            if multi {
                let u = &s.uncertainty;
                let f = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
                row.extend([f(u.expected_entropy), f(u.bald), f(u.variation_ratio)]);
            }
            row.extend(s.probabilities.iter().map(|p| p.to_string()));
            if ml {
                row.extend(ml_columns(s, classes, multi));
            }
        }
        (None, e) => {
            let (code, msg) = e
                .as_ref()
                .map(|e| (e.code.clone(), e.message.clone()))
                .unwrap_or_default();
            row.extend(["false".into(), code, msg]);
            let extra = if multi { 3 } else { 0 };
            let ml_extra = if ml {
                ml_header(classes, multi).len()
            } else {
                0
            };
            row.extend(std::iter::repeat_n(
                String::new(),
                7 + extra + classes.len() + ml_extra,
            ));
        }
    }
    row
}

/// Multi-label CSV columns: the present findings, P(some decision wrong), and with `T > 1`
/// rows the BALD of each finding.
fn ml_header(classes: &[String], multi: bool) -> Vec<String> {
    let mut h = vec!["present".to_string(), "p_any_wrong".into()];
    if multi {
        h.extend(classes.iter().map(|n| format!("bald_{n}")));
    }
    h
}

fn ml_columns(s: &score::ImageScore, classes: &[String], multi: bool) -> Vec<String> {
    let Some(sum) = &s.summary else {
        return vec![String::new(); ml_header(classes, multi).len()];
    };
    let present: Vec<&str> = sum.present.iter().map(|&j| classes[j].as_str()).collect();
    let mut c = vec![present.join("|"), sum.p_any_wrong.to_string()];
    if multi {
        let f = s.findings.as_deref().unwrap_or(&[]);
        c.extend(
            f.iter()
                .map(|x| x.measures.bald.map(|b| b.to_string()).unwrap_or_default()),
        );
    }
    c
}
