//! `medtriage calibrate …` subcommands: multi-row uncertainty, temperature scaling,
//! calibration report, conformal sets, risk-controlled auto-accept. Each builds the same
//! request struct as the JS API, calls the engine and writes its JSON response.

use std::path::{Path, PathBuf};

use clap::{Subcommand, ValueEnum};

use medtriage::engine::triage::calibration::{
    self, ApplyTemperatureRequest, CalibrationReportRequest, ScoreKind, TemperatureOptions,
    TemperatureRequest,
};
use medtriage::engine::triage::conformal::{
    self, ConformalCalibrateRequest, ConformalMethod, ConformalOptions, ConformalSetsRequest,
};
use medtriage::engine::triage::multi::{self, MultiUncertaintyRequest};
use medtriage::engine::triage::risk::{
    self, AutoAcceptOptions, AutoAcceptRequest, PValue, Procedure, RiskMode,
};
use medtriage::{Error, ErrorKind, Result};

use crate::io::{cli_context, io_err, read_labels, read_probs, write_json, Matrix};

#[derive(Clone, Copy, ValueEnum)]
pub enum MethodArg {
    Lac,
    Aps,
    Raps,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ModeArg {
    Marginal,
    Conditional,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum PValueArg {
    Binomial,
    HoeffdingBentkus,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ProcedureArg {
    FixedSequence,
    Bonferroni,
    Holm,
}

#[derive(Subcommand)]
pub enum Cmd {
    /// Uncertainty over T stochastic rows per item (ensembles, test-time augmentation): mean
    /// least confidence / margin / ratio / entropy, expected entropy, BALD, variation ratio.
    Uncertainty {
        /// n x T x K probabilities (.npy, float32/float64), or a 2-D (n*T) x K file with --t.
        #[arg(long)]
        probs: PathBuf,
        /// Rows per item when --probs is 2-D.
        #[arg(long, value_parser = crate::io::items_flag)]
        t: Option<usize>,
        /// Also output the mean probabilities.
        #[arg(long)]
        mean_probs: bool,
        /// JSON output (default: standard output).
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// Also write one CSV row per item.
        #[arg(long)]
        csv: Option<PathBuf>,
    },
    /// Fit a temperature T (probabilities = softmax(logits / T)) by minimizing the NLL.
    Temperature {
        /// n x K logits.
        #[arg(long, conflicts_with = "probs", required_unless_present = "probs")]
        logits: Option<PathBuf>,
        /// n x K probabilities (logits taken as ln p).
        #[arg(long)]
        probs: Option<PathBuf>,
        /// True labels (n).
        #[arg(long)]
        labels: PathBuf,
        /// Smallest T searched.
        #[arg(long, default_value_t = 0.05)]
        min_t: f64,
        /// Largest T searched.
        #[arg(long, default_value_t = 20.0)]
        max_t: f64,
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
    /// Apply a temperature; writes the calibrated n x K probabilities as CSV.
    Apply {
        #[arg(long, conflicts_with = "probs", required_unless_present = "probs")]
        logits: Option<PathBuf>,
        #[arg(long)]
        probs: Option<PathBuf>,
        #[arg(long)]
        temperature: f64,
        /// CSV output (default: standard output).
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
    /// NLL, Brier, ECE, MCE and reliability-diagram bins.
    Report {
        #[arg(long)]
        pred_probs: PathBuf,
        #[arg(long)]
        labels: PathBuf,
        /// Equal-width bins.
        #[arg(long, default_value_t = 15, value_parser = crate::io::items_flag)]
        bins: usize,
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// Also write the reliability bins as CSV.
        #[arg(long)]
        bins_csv: Option<PathBuf>,
    },
    /// Split conformal prediction sets (calibrate on labeled items, predict on new ones).
    Conformal {
        #[arg(long)]
        cal_probs: PathBuf,
        #[arg(long)]
        cal_labels: PathBuf,
        #[arg(long)]
        test_probs: PathBuf,
        /// Test labels: adds coverage and per-class report.
        #[arg(long)]
        test_labels: Option<PathBuf>,
        /// Miscoverage level.
        #[arg(long)]
        alpha: f64,
        /// Options as JSON (the JS API's ConformalOptions); flags below override it.
        #[arg(long, default_value = "{}")]
        options: String,
        #[arg(long, value_enum)]
        method: Option<MethodArg>,
        #[arg(long)]
        randomized: bool,
        #[arg(long)]
        lambda: Option<f64>,
        #[arg(long, value_parser = crate::io::classes_flag)]
        k_reg: Option<usize>,
        #[arg(long)]
        class_conditional: bool,
        #[arg(long)]
        seed: Option<u64>,
        /// Put the top class into sets that would be empty.
        #[arg(long)]
        no_empty: bool,
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// Also write one CSV row per test item (set as space-separated classes).
        #[arg(long)]
        sets_csv: Option<PathBuf>,
    },
    /// Risk-controlled auto-accept threshold (Learn-then-Test) from verified items.
    AutoAccept {
        #[arg(long)]
        pred_probs: PathBuf,
        #[arg(long)]
        labels: PathBuf,
        /// Risk level.
        #[arg(long)]
        alpha: f64,
        /// Failure probability.
        #[arg(long)]
        delta: f64,
        /// Options as JSON (the JS API's AutoAcceptOptions); flags below override it.
        #[arg(long, default_value = "{}")]
        options: String,
        #[arg(long, value_enum)]
        mode: Option<ModeArg>,
        #[arg(long, value_enum)]
        p_value: Option<PValueArg>,
        #[arg(long, value_enum)]
        procedure: Option<ProcedureArg>,
        /// Include the per-threshold table.
        #[arg(long)]
        table: bool,
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
}

fn bad(msg: String) -> Error {
    Error::new(ErrorKind::InvalidInput, msg)
}

fn scores_of(logits: &Option<PathBuf>, probs: &Option<PathBuf>) -> Result<(Matrix, ScoreKind)> {
    match (logits, probs) {
        (Some(l), _) => Ok((read_probs(l)?, ScoreKind::Logits)),
        (None, Some(p)) => Ok((read_probs(p)?, ScoreKind::Probabilities)),
        (None, None) => Err(Error::new(
            ErrorKind::InvalidOptions,
            "give --logits or --probs",
        )),
    }
}

fn csv_writer(path: &Path) -> Result<csv::Writer<std::fs::File>> {
    csv::Writer::from_path(path).map_err(|e| io_err(path, e))
}

fn cerr(e: csv::Error) -> Error {
    Error::new(ErrorKind::Io, format!("writing CSV: {e}"))
}

/// The flags and files of a `--logits` / `--probs` (+ `--labels`) input, for errors.
fn scores_files<'a>(
    logits: &'a Option<PathBuf>,
    probs: &'a Option<PathBuf>,
    labels: impl Into<Option<&'a PathBuf>>,
) -> Vec<(&'static str, &'a std::path::Path)> {
    let mut files = Vec::new();
    if let Some(p) = logits {
        files.push(("--logits", p.as_path()));
    }
    if let Some(p) = probs {
        files.push(("--probs", p.as_path()));
    }
    if let Some(p) = labels.into() {
        files.push(("--labels", p.as_path()));
    }
    files
}

pub fn run(cmd: Cmd) -> Result<()> {
    match cmd {
        Cmd::Uncertainty {
            probs,
            t,
            mean_probs,
            out,
            csv,
        } => {
            let (n, t, k, data) =
                if probs.extension().and_then(|e| e.to_str()) == Some("npy") && t.is_none() {
                    let (shape, data) = crate::io::read_array(&probs)?;
                    match shape.as_slice() {
                        [n, t, k] => (*n as usize, *t as usize, *k as usize, data),
                        s => {
                            return Err(bad(format!(
                                "{}: expected n x T x K, got shape {s:?} (or pass --t)",
                                probs.display()
                            )))
                        }
                    }
                } else {
                    let m = read_probs(&probs)?;
                    let t = t.ok_or_else(|| bad("a 2-D input needs --t (rows per item)".into()))?;
                    if t == 0 || m.rows % t != 0 {
                        return Err(bad(format!(
                            "{} rows are not a multiple of --t {t}",
                            m.rows
                        )));
                    }
                    (m.rows / t, t, m.cols, m.data)
                };
            let req = MultiUncertaintyRequest {
                probs: data,
                n,
                t,
                k,
                include_mean_probs: mean_probs,
            };
            let r = multi::multi_uncertainty(&req)
                .map_err(|e| cli_context(e, &[("--probs", probs.as_path())], "--t"))?;
            if let Some(path) = csv {
                let mut w = csv_writer(&path)?;
                w.write_record([
                    "item",
                    "predicted",
                    "confidence",
                    "least_confidence",
                    "margin",
                    "ratio",
                    "entropy",
                    "expected_entropy",
                    "bald",
                    "modal_class",
                    "variation_ratio",
                ])
                .map_err(cerr)?;
                for (i, it) in r.items.iter().enumerate() {
                    w.write_record([
                        i.to_string(),
                        it.predicted.to_string(),
                        it.confidence.to_string(),
                        it.least_confidence.to_string(),
                        it.margin.to_string(),
                        it.ratio.to_string(),
                        it.entropy.to_string(),
                        it.expected_entropy.to_string(),
                        it.bald.to_string(),
                        it.modal_class.to_string(),
                        it.variation_ratio.to_string(),
                    ])
                    .map_err(cerr)?;
                }
                w.flush().map_err(|e| io_err(&path, e))?;
            }
            write_json(&r, out.as_deref())
        }
        Cmd::Temperature {
            logits,
            probs,
            labels,
            min_t,
            max_t,
            out,
        } => {
            let (m, kind) = scores_of(&logits, &probs)?;
            let req = TemperatureRequest {
                scores: m.data,
                n: m.rows,
                k: m.cols,
                labels: read_labels(&labels)?,
                kind,
                options: TemperatureOptions {
                    min_temperature: min_t,
                    max_temperature: max_t,
                },
            };
            let files = scores_files(&logits, &probs, &labels);
            let r = calibration::fit_temperature(&req)
                .map_err(|e| cli_context(e, &files, "--min-t / --max-t"))?;
            write_json(&r, out.as_deref())
        }
        Cmd::Apply {
            logits,
            probs,
            temperature,
            out,
        } => {
            let (m, kind) = scores_of(&logits, &probs)?;
            let req = ApplyTemperatureRequest {
                scores: m.data,
                n: m.rows,
                k: m.cols,
                kind,
                temperature,
            };
            let p = calibration::apply_temperature(
                &req.scores,
                req.n,
                req.k,
                req.kind,
                req.temperature,
            )
            .map_err(|e| cli_context(e, &scores_files(&logits, &probs, None), "--temperature"))?;
            let sink: Box<dyn std::io::Write> = match &out {
                Some(path) => Box::new(std::fs::File::create(path).map_err(|e| io_err(path, e))?),
                None => Box::new(std::io::stdout().lock()),
            };
            let mut w = csv::Writer::from_writer(sink);
            w.write_record((0..req.k).map(|j| format!("p{j}")))
                .map_err(cerr)?;
            for row in p.chunks_exact(req.k) {
                w.write_record(row.iter().map(|v| v.to_string()))
                    .map_err(cerr)?;
            }
            w.flush()
                .map_err(|e| Error::new(ErrorKind::Io, e.to_string()))
        }
        Cmd::Report {
            pred_probs,
            labels,
            bins,
            out,
            bins_csv,
        } => {
            let m = read_probs(&pred_probs)?;
            let req = CalibrationReportRequest {
                probs: m.data,
                n: m.rows,
                k: m.cols,
                labels: read_labels(&labels)?,
                bins,
            };
            let r = calibration::calibration_report(&req).map_err(|e| {
                cli_context(
                    e,
                    &[
                        ("--pred-probs", pred_probs.as_path()),
                        ("--labels", labels.as_path()),
                    ],
                    "--bins",
                )
            })?;
            if let Some(path) = bins_csv {
                let mut w = csv_writer(&path)?;
                w.write_record(["lower", "upper", "count", "mean_confidence", "accuracy"])
                    .map_err(cerr)?;
                for b in &r.bins {
                    let opt = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
                    w.write_record([
                        b.lower.to_string(),
                        b.upper.to_string(),
                        b.count.to_string(),
                        opt(b.mean_confidence),
                        opt(b.accuracy),
                    ])
                    .map_err(cerr)?;
                }
                w.flush().map_err(|e| io_err(&path, e))?;
            }
            write_json(&r, out.as_deref())
        }
        Cmd::Conformal {
            cal_probs,
            cal_labels,
            test_probs,
            test_labels,
            alpha,
            options,
            method,
            randomized,
            lambda,
            k_reg,
            class_conditional,
            seed,
            no_empty,
            out,
            sets_csv,
        } => {
            let mut o: ConformalOptions = medtriage::error::from_json(&options, "--options")?;
            if let Some(m) = method {
                o.method = match m {
                    MethodArg::Lac => ConformalMethod::Lac,
                    MethodArg::Aps => ConformalMethod::Aps,
                    MethodArg::Raps => ConformalMethod::Raps,
                };
            }
            o.randomized |= randomized;
            o.class_conditional |= class_conditional;
            if let Some(l) = lambda {
                o.lambda = l;
            }
            if let Some(kr) = k_reg {
                o.k_reg = kr;
            }
            if let Some(s) = seed {
                o.seed = s;
            }
            if no_empty {
                o.allow_empty = false;
            }
            let cm = read_probs(&cal_probs)?;
            let cal = conformal::conformal_calibrate(&ConformalCalibrateRequest {
                probs: cm.data,
                n: cm.rows,
                k: cm.cols,
                labels: read_labels(&cal_labels)?,
                alpha,
                options: o,
            })
            .map_err(|e| {
                cli_context(
                    e,
                    &[
                        ("--cal-probs", cal_probs.as_path()),
                        ("--cal-labels", cal_labels.as_path()),
                    ],
                    "--alpha / --options",
                )
            })?;
            let tm = read_probs(&test_probs)?;
            let labels = match &test_labels {
                Some(p) => Some(read_labels(p)?),
                None => None,
            };
            let sets = conformal::conformal_sets(&ConformalSetsRequest {
                calibration: cal.clone(),
                probs: tm.data,
                n: tm.rows,
                k: tm.cols,
                labels,
            })
            .map_err(|e| {
                let mut files = vec![("--test-probs", test_probs.as_path())];
                if let Some(p) = &test_labels {
                    files.push(("--test-labels", p.as_path()));
                }
                cli_context(e, &files, "--options")
            })?;
            if let Some(path) = sets_csv {
                let mut w = csv_writer(&path)?;
                w.write_record(["item", "size", "set"]).map_err(cerr)?;
                for (i, s) in sets.sets.iter().enumerate() {
                    let joined: Vec<String> = s.iter().map(|c| c.to_string()).collect();
                    w.write_record([i.to_string(), s.len().to_string(), joined.join(" ")])
                        .map_err(cerr)?;
                }
                w.flush().map_err(|e| io_err(&path, e))?;
            }
            let v = serde_json::json!({ "calibration": cal, "prediction": sets });
            write_json(&v, out.as_deref())
        }
        Cmd::AutoAccept {
            pred_probs,
            labels,
            alpha,
            delta,
            options,
            mode,
            p_value,
            procedure,
            table,
            out,
        } => {
            let mut o: AutoAcceptOptions = medtriage::error::from_json(&options, "--options")?;
            if let Some(m) = mode {
                o.mode = match m {
                    ModeArg::Marginal => RiskMode::Marginal,
                    ModeArg::Conditional => RiskMode::Conditional,
                };
            }
            if let Some(p) = p_value {
                o.p_value = match p {
                    PValueArg::Binomial => PValue::Binomial,
                    PValueArg::HoeffdingBentkus => PValue::HoeffdingBentkus,
                };
            }
            if let Some(p) = procedure {
                o.procedure = match p {
                    ProcedureArg::FixedSequence => Procedure::FixedSequence,
                    ProcedureArg::Bonferroni => Procedure::Bonferroni,
                    ProcedureArg::Holm => Procedure::Holm,
                };
            }
            o.include_table |= table;
            let m = read_probs(&pred_probs)?;
            let req = AutoAcceptRequest {
                probs: m.data,
                n: m.rows,
                k: m.cols,
                labels: read_labels(&labels)?,
                alpha,
                delta,
                options: o,
            };
            let r = risk::auto_accept_threshold(&req).map_err(|e| {
                cli_context(
                    e,
                    &[
                        ("--pred-probs", pred_probs.as_path()),
                        ("--labels", labels.as_path()),
                    ],
                    "--alpha / --delta / --options",
                )
            })?;
            write_json(&r, out.as_deref())
        }
    }
}
