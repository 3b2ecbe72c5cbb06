//! `medtriage calibrate …` subcommands: multi-row uncertainty, temperature scaling,
//! calibration report, conformal sets, risk-controlled auto-accept. Each builds the same
//! request struct as the JS API, calls the engine and writes its JSON response.

use std::path::PathBuf;

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

use crate::io::{cli_context, read_labels, read_probs, write_csv, write_json, Matrix};

/// Conformal score function.
#[derive(Clone, Copy, ValueEnum)]
pub enum MethodArg {
    /// Least ambiguous set-valued classifier: score 1 - p(label).
    Lac,
    /// Adaptive prediction sets: the mass of the classes ranked above the label (the default).
    Aps,
    /// Regularized APS: APS plus a penalty per rank beyond --k-reg.
    Raps,
}

/// What the auto-accept risk bounds.
#[derive(Clone, Copy, ValueEnum)]
pub enum ModeArg {
    /// P(accepted and wrong).
    Marginal,
    /// P(wrong | accepted) (the default).
    Conditional,
}

/// The p-value of one threshold.
#[derive(Clone, Copy, ValueEnum)]
pub enum PValueArg {
    /// Exact binomial tail (the default).
    Binomial,
    /// Hoeffding-Bentkus.
    HoeffdingBentkus,
}

/// Family-wise error control over the thresholds tested.
#[derive(Clone, Copy, ValueEnum)]
pub enum ProcedureArg {
    /// From the highest threshold down, stopping at the first not rejected (the default).
    FixedSequence,
    /// Bonferroni.
    Bonferroni,
    /// Holm step-down.
    Holm,
}

/// The axis order of a 3-D probability array.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum AxesArg {
    /// items x rows per item x classes (numpy `probs[i, t, k]`).
    #[value(name = "n-t-k")]
    Ntk,
    /// rows per item x items x classes (an ensemble's outputs stacked member by member,
    /// numpy `probs[t, i, k]`).
    #[value(name = "t-n-k")]
    Tnk,
}

#[derive(clap::Args)]
pub struct UncertaintyArgs {
    /// Probabilities of T stochastic rows per item: a 3-D .npy (float32/float64) whose axis
    /// order --axes gives, or a 2-D (n*T) x K file (.npy or .csv, the T rows of an item
    /// adjacent) with --t.
    #[arg(long)]
    probs: PathBuf,
    /// Axis order of a 3-D --probs; required for a 3-D array, since n x T x K and T x n x K
    /// cannot be told apart from the shape.
    #[arg(long, value_enum)]
    axes: Option<AxesArg>,
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
}

#[derive(clap::Args)]
pub struct TemperatureArgs {
    /// n x K logits (.npy or .csv).
    #[arg(long, conflicts_with = "probs", required_unless_present = "probs")]
    logits: Option<PathBuf>,
    /// n x K probabilities (logits taken as ln p).
    #[arg(long)]
    probs: Option<PathBuf>,
    /// True labels (n integers in 0..K, .npy or .csv).
    #[arg(long)]
    labels: PathBuf,
    /// Smallest T searched.
    #[arg(long, default_value_t = 0.05)]
    min_t: f64,
    /// Largest T searched.
    #[arg(long, default_value_t = 20.0)]
    max_t: f64,
    /// JSON output (default: standard output).
    #[arg(long, short)]
    out: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct ApplyArgs {
    /// n x K logits (.npy or .csv).
    #[arg(long, conflicts_with = "probs", required_unless_present = "probs")]
    logits: Option<PathBuf>,
    /// n x K probabilities (logits taken as ln p).
    #[arg(long)]
    probs: Option<PathBuf>,
    /// The temperature T (probabilities = softmax(logits / T)), e.g. from `calibrate
    /// temperature`.
    #[arg(long)]
    temperature: f64,
    /// CSV output (default: standard output).
    #[arg(long, short)]
    out: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct ReportArgs {
    /// n x K predicted probabilities (.npy or .csv).
    #[arg(long)]
    pred_probs: PathBuf,
    /// True labels (n integers in 0..K).
    #[arg(long)]
    labels: PathBuf,
    /// Equal-width bins.
    #[arg(long, default_value_t = 15, value_parser = crate::io::items_flag)]
    bins: usize,
    /// JSON output (default: standard output).
    #[arg(long, short)]
    out: Option<PathBuf>,
    /// Also write the reliability bins as CSV.
    #[arg(long)]
    bins_csv: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct ConformalArgs {
    /// Calibration probabilities, n x K (.npy or .csv).
    #[arg(long)]
    cal_probs: PathBuf,
    /// Calibration labels (n integers in 0..K).
    #[arg(long)]
    cal_labels: PathBuf,
    /// Probabilities of the items to predict sets for, m x K.
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
    /// Score function (default aps, deterministic unless --randomized).
    #[arg(long, value_enum)]
    method: Option<MethodArg>,
    /// Randomized APS/RAPS scores (default: deterministic).
    #[arg(long)]
    randomized: bool,
    /// RAPS penalty per rank beyond --k-reg (default 0.01).
    #[arg(long)]
    lambda: Option<f64>,
    /// RAPS: ranks up to this are not penalized (default 2).
    #[arg(long, value_parser = crate::io::classes_flag)]
    k_reg: Option<usize>,
    /// Class-conditional (Mondrian) thresholds.
    #[arg(long)]
    class_conditional: bool,
    /// Seed of the uniform draws of randomized scores (default 0).
    #[arg(long)]
    seed: Option<u64>,
    /// Put the top class into sets that would be empty.
    #[arg(long)]
    no_empty: bool,
    /// JSON output (default: standard output).
    #[arg(long, short)]
    out: Option<PathBuf>,
    /// Also write one CSV row per test item (set as space-separated classes).
    #[arg(long)]
    sets_csv: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct AutoAcceptArgs {
    /// Verified items' probabilities, n x K (.npy or .csv).
    #[arg(long)]
    pred_probs: PathBuf,
    /// Their true labels (n integers in 0..K).
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
    /// What the risk bounds (default conditional).
    #[arg(long, value_enum)]
    mode: Option<ModeArg>,
    /// p-value of each threshold (default binomial).
    #[arg(long, value_enum)]
    p_value: Option<PValueArg>,
    /// Multiple-testing procedure (default fixed-sequence).
    #[arg(long, value_enum)]
    procedure: Option<ProcedureArg>,
    /// Include the per-threshold table.
    #[arg(long)]
    table: bool,
    /// JSON output (default: standard output).
    #[arg(long, short)]
    out: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum Cmd {
    /// Uncertainty over T stochastic rows per item (ensembles, test-time augmentation): mean
    /// least confidence / margin / ratio / entropy, expected entropy, BALD, variation ratio.
    Uncertainty(UncertaintyArgs),
    /// Fit a temperature T (probabilities = softmax(logits / T)) by minimizing the NLL.
    Temperature(TemperatureArgs),
    /// Apply a temperature; writes the calibrated n x K probabilities as CSV.
    Apply(ApplyArgs),
    /// NLL, Brier, ECE, MCE and reliability-diagram bins.
    Report(ReportArgs),
    /// Split conformal prediction sets (calibrate on labeled items, predict on new ones).
    Conformal(ConformalArgs),
    /// Risk-controlled auto-accept threshold (Learn-then-Test) from verified items.
    AutoAccept(AutoAcceptArgs),
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

/// `T x n x K` (row-major) reordered to `n x T x K`.
fn items_first(data: &[f64], n: usize, t: usize, k: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(data.len());
    for i in 0..n {
        for r in 0..t {
            let at = (r * n + i) * k;
            out.extend_from_slice(&data[at..at + k]);
        }
    }
    out
}

/// The `n x T x K` probabilities of `calibrate uncertainty`, from a 3-D array in the given
/// axis order or a 2-D one with `--t`.
fn multi_rows(a: &UncertaintyArgs) -> Result<(usize, usize, usize, Vec<f64>)> {
    let probs = &a.probs;
    if probs.extension().and_then(|e| e.to_str()) == Some("npy") && a.t.is_none() {
        let (shape, data) = crate::io::read_array(probs)?;
        let [d0, d1, k] = shape.as_slice() else {
            return Err(bad(format!(
                "{}: expected a 3-D array, got shape {shape:?} (or pass --t)",
                probs.display()
            )));
        };
        let (d0, d1, k) = (*d0 as usize, *d1 as usize, *k as usize);
        return match a.axes {
            Some(AxesArg::Ntk) => Ok((d0, d1, k, data)),
            Some(AxesArg::Tnk) => Ok((d1, d0, k, items_first(&data, d1, d0, k))),
            None => Err(Error::new(
                ErrorKind::InvalidOptions,
                format!(
                    "{}: a 3-D array of shape {shape:?} needs --axes n-t-k (items, rows, classes) or --axes t-n-k (rows, items, classes)",
                    probs.display()
                ),
            )),
        };
    }
    if a.axes.is_some() {
        return Err(Error::new(
            ErrorKind::InvalidOptions,
            "--axes is for a 3-D .npy array; a 2-D input takes --t",
        ));
    }
    let m = read_probs(probs)?;
    let t =
        a.t.ok_or_else(|| bad("a 2-D input needs --t (rows per item)".into()))?;
    if t == 0 || m.rows % t != 0 {
        return Err(bad(format!(
            "{} rows are not a multiple of --t {t}",
            m.rows
        )));
    }
    Ok((m.rows / t, t, m.cols, m.data))
}

fn uncertainty(a: UncertaintyArgs) -> Result<()> {
    let (n, t, k, data) = multi_rows(&a)?;
    let req = MultiUncertaintyRequest {
        probs: data,
        n,
        t,
        k,
        include_mean_probs: a.mean_probs,
    };
    let r = multi::multi_uncertainty(&req)
        .map_err(|e| cli_context(e, &[("--probs", a.probs.as_path())], "--t"))?;
    if let Some(path) = &a.csv {
        let header = [
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
        ];
        let rows = r.items.iter().enumerate().map(|(i, it)| {
            vec![
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
            ]
        });
        write_csv(&header, rows, Some(path))?;
    }
    write_json(&r, a.out.as_deref())
}

fn temperature(a: TemperatureArgs) -> Result<()> {
    let (m, kind) = scores_of(&a.logits, &a.probs)?;
    let req = TemperatureRequest {
        scores: m.data,
        n: m.rows,
        k: m.cols,
        labels: read_labels(&a.labels)?,
        kind,
        options: TemperatureOptions {
            min_temperature: a.min_t,
            max_temperature: a.max_t,
        },
    };
    let files = scores_files(&a.logits, &a.probs, &a.labels);
    let r = calibration::fit_temperature(&req)
        .map_err(|e| cli_context(e, &files, "--min-t / --max-t"))?;
    write_json(&r, a.out.as_deref())
}

fn apply(a: ApplyArgs) -> Result<()> {
    let (m, kind) = scores_of(&a.logits, &a.probs)?;
    let req = ApplyTemperatureRequest {
        scores: m.data,
        n: m.rows,
        k: m.cols,
        kind,
        temperature: a.temperature,
    };
    let p = calibration::apply_temperature(&req.scores, req.n, req.k, req.kind, req.temperature)
        .map_err(|e| cli_context(e, &scores_files(&a.logits, &a.probs, None), "--temperature"))?;
    let names: Vec<String> = (0..req.k).map(|j| format!("p{j}")).collect();
    let header: Vec<&str> = names.iter().map(String::as_str).collect();
    let rows = p
        .chunks_exact(req.k)
        .map(|row| row.iter().map(|v| v.to_string()).collect());
    write_csv(&header, rows, a.out.as_deref())
}

fn report(a: ReportArgs) -> Result<()> {
    let m = read_probs(&a.pred_probs)?;
    let req = CalibrationReportRequest {
        probs: m.data,
        n: m.rows,
        k: m.cols,
        labels: read_labels(&a.labels)?,
        bins: a.bins,
    };
    let r = calibration::calibration_report(&req).map_err(|e| {
        cli_context(
            e,
            &[
                ("--pred-probs", a.pred_probs.as_path()),
                ("--labels", a.labels.as_path()),
            ],
            "--bins",
        )
    })?;
    if let Some(path) = &a.bins_csv {
        let opt = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
        let rows = r.bins.iter().map(|b| {
            vec![
                b.lower.to_string(),
                b.upper.to_string(),
                b.count.to_string(),
                opt(b.mean_confidence),
                opt(b.accuracy),
            ]
        });
        write_csv(
            &["lower", "upper", "count", "mean_confidence", "accuracy"],
            rows,
            Some(path),
        )?;
    }
    write_json(&r, a.out.as_deref())
}

/// The conformal options: `--options` with the flags laid over it.
fn conformal_options(a: &ConformalArgs) -> Result<ConformalOptions> {
    let mut o: ConformalOptions = medtriage::error::from_json(&a.options, "--options")?;
    if let Some(m) = a.method {
        o.method = match m {
            MethodArg::Lac => ConformalMethod::Lac,
            MethodArg::Aps => ConformalMethod::Aps,
            MethodArg::Raps => ConformalMethod::Raps,
        };
    }
    o.randomized |= a.randomized;
    o.class_conditional |= a.class_conditional;
    if let Some(l) = a.lambda {
        o.lambda = l;
    }
    if let Some(kr) = a.k_reg {
        o.k_reg = kr;
    }
    if let Some(s) = a.seed {
        o.seed = s;
    }
    if a.no_empty {
        o.allow_empty = false;
    }
    Ok(o)
}

fn conformal(a: ConformalArgs) -> Result<()> {
    let o = conformal_options(&a)?;
    let cm = read_probs(&a.cal_probs)?;
    let cal = conformal::conformal_calibrate(&ConformalCalibrateRequest {
        probs: cm.data,
        n: cm.rows,
        k: cm.cols,
        labels: read_labels(&a.cal_labels)?,
        alpha: a.alpha,
        options: o,
    })
    .map_err(|e| {
        cli_context(
            e,
            &[
                ("--cal-probs", a.cal_probs.as_path()),
                ("--cal-labels", a.cal_labels.as_path()),
            ],
            "--alpha / --options",
        )
    })?;
    let tm = read_probs(&a.test_probs)?;
    let labels = match &a.test_labels {
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
        let mut files = vec![("--test-probs", a.test_probs.as_path())];
        if let Some(p) = &a.test_labels {
            files.push(("--test-labels", p.as_path()));
        }
        cli_context(e, &files, "--options")
    })?;
    if let Some(path) = &a.sets_csv {
        let rows = sets.sets.iter().enumerate().map(|(i, s)| {
            let joined: Vec<String> = s.iter().map(|c| c.to_string()).collect();
            vec![i.to_string(), s.len().to_string(), joined.join(" ")]
        });
        write_csv(&["item", "size", "set"], rows, Some(path))?;
    }
    let v = serde_json::json!({ "calibration": cal, "prediction": sets });
    write_json(&v, a.out.as_deref())
}

/// The auto-accept options: `--options` with the flags laid over it.
fn auto_accept_options(a: &AutoAcceptArgs) -> Result<AutoAcceptOptions> {
    let mut o: AutoAcceptOptions = medtriage::error::from_json(&a.options, "--options")?;
    if let Some(m) = a.mode {
        o.mode = match m {
            ModeArg::Marginal => RiskMode::Marginal,
            ModeArg::Conditional => RiskMode::Conditional,
        };
    }
    if let Some(p) = a.p_value {
        o.p_value = match p {
            PValueArg::Binomial => PValue::Binomial,
            PValueArg::HoeffdingBentkus => PValue::HoeffdingBentkus,
        };
    }
    if let Some(p) = a.procedure {
        o.procedure = match p {
            ProcedureArg::FixedSequence => Procedure::FixedSequence,
            ProcedureArg::Bonferroni => Procedure::Bonferroni,
            ProcedureArg::Holm => Procedure::Holm,
        };
    }
    o.include_table |= a.table;
    Ok(o)
}

fn auto_accept(a: AutoAcceptArgs) -> Result<()> {
    let options = auto_accept_options(&a)?;
    let m = read_probs(&a.pred_probs)?;
    let req = AutoAcceptRequest {
        probs: m.data,
        n: m.rows,
        k: m.cols,
        labels: read_labels(&a.labels)?,
        alpha: a.alpha,
        delta: a.delta,
        options,
    };
    let r = risk::auto_accept_threshold(&req).map_err(|e| {
        cli_context(
            e,
            &[
                ("--pred-probs", a.pred_probs.as_path()),
                ("--labels", a.labels.as_path()),
            ],
            "--alpha / --delta / --options",
        )
    })?;
    write_json(&r, a.out.as_deref())
}

pub fn run(cmd: Cmd) -> Result<()> {
    match cmd {
        Cmd::Uncertainty(a) => uncertainty(a),
        Cmd::Temperature(a) => temperature(a),
        Cmd::Apply(a) => apply(a),
        Cmd::Report(a) => report(a),
        Cmd::Conformal(a) => conformal(a),
        Cmd::AutoAccept(a) => auto_accept(a),
    }
}
