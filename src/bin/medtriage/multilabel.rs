//! `medtriage multilabel …`: multi-label findings. Each subcommand builds the JS API's request
//! (`MlFindRequest`, `MlTierRequest`, `MlRoundRequest`, …) from files, or takes it whole as
//! JSON with `--request`, and writes the JS API's response.
//!
//! File shapes: probabilities `n x k` as `.npy` or `.csv`; finding lists as `.json` (a list
//! of lists) or text with one line per image, the findings separated by `|` (indices, or
//! names when the names are given), an empty line = no finding, `?` = came without findings
//! (given labels only); reads as CSV `item,annotator,findings` (header optional).

use std::path::{Path, PathBuf};

use clap::ValueEnum;
use medtriage::engine::consensus::Label;
use medtriage::engine::manifest::Manifest;
use medtriage::engine::multilabel::calibration::{self as cal, MlAutoAcceptOptions};
use medtriage::engine::multilabel::consensus::{self as mlc, MlRead};
use medtriage::engine::multilabel::label_issues as li;
use medtriage::engine::multilabel::simulate;
use medtriage::engine::queue::{labelstudio, ml_export, ml_policy, ml_rounds};
use medtriage::engine::triage::calibration::ScoreKind;
use medtriage::error::from_json;
use medtriage::{Error, ErrorKind, Result};

use crate::io::{read_probs, read_text, read_vector, write_json, write_text};

/// Finding names, for reading and writing findings by name.
#[derive(clap::Args)]
pub struct Findings {
    /// Finding names, one per line, in index order.
    #[arg(long = "findings", conflicts_with = "manifest")]
    names: Option<PathBuf>,
    /// The model manifest: finding names from `output.classes`.
    #[arg(long)]
    manifest: Option<PathBuf>,
}

/// Probabilities and given findings (the label-quality subcommands).
#[derive(clap::Args)]
pub struct Labeled {
    /// A whole request as JSON (the JS API's shape); replaces the data flags.
    #[arg(long, conflicts_with_all = ["probs", "labels"])]
    request: Option<PathBuf>,
    /// Per-finding probabilities, n x k (.npy or .csv).
    #[arg(long, required_unless_present = "request")]
    probs: Option<PathBuf>,
    /// Given findings per image (.json list of lists, or one line per image, `|`-separated).
    #[arg(long, required_unless_present = "request")]
    labels: Option<PathBuf>,
    #[command(flatten)]
    findings: Findings,
    /// Options as JSON (the JS request's `options`).
    #[arg(long, default_value = "{}")]
    options: String,
    /// Output file (default: standard output).
    #[arg(long, short)]
    out: Option<PathBuf>,
}

/// The verified set, the pool and the policy (tiers and plan).
#[derive(clap::Args)]
pub struct Data {
    /// A whole request as JSON (the JS API's shape); replaces every data flag below.
    #[arg(long, conflicts_with_all = ["verified_probs", "pool_probs"])]
    request: Option<PathBuf>,
    /// Verified images' per-finding probabilities, n x k.
    #[arg(long, required_unless_present = "request")]
    verified_probs: Option<PathBuf>,
    /// Verified images' true findings.
    #[arg(long, required_unless_present = "request")]
    verified_labels: Option<PathBuf>,
    /// The findings the verified images came with (`?`: none given).
    #[arg(long)]
    verified_given: Option<PathBuf>,
    /// Verified images' outlier scores (lower = more unusual).
    #[arg(long)]
    verified_outlier_scores: Option<PathBuf>,
    /// Pool per-finding probabilities, n x k.
    #[arg(long, required_unless_present = "request")]
    pool_probs: Option<PathBuf>,
    /// The findings the pool images came with (`?`: none given).
    #[arg(long)]
    pool_given: Option<PathBuf>,
    /// Pool outlier scores.
    #[arg(long)]
    pool_outlier_scores: Option<PathBuf>,
    /// Pool annotator agreement in [0, 1] (NaN: none).
    #[arg(long)]
    pool_agreement: Option<PathBuf>,
    #[command(flatten)]
    findings: Findings,
    /// Policy: a JSON file or inline JSON (the JS MlPolicyConfig).
    #[arg(long, default_value = "{}")]
    policy: String,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ExportFormat {
    /// id,labels,tier, a 0/1 column and a weight column per finding.
    PseudoCsv,
    /// The same rows as JSON.
    PseudoJson,
    /// Label Studio tasks for a multiple-choice labeling config.
    LabelStudio,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum KindArg {
    /// Logits (a sigmoid gives the probability).
    Logits,
    /// Probabilities.
    Probabilities,
}

#[derive(clap::Subcommand)]
pub enum Cmd {
    /// Label issues (cleanlab multilabel find_label_issues), with the flagged findings.
    LabelIssues {
        #[command(flatten)]
        data: Labeled,
    },
    /// Label quality per image and per finding (cleanlab multilabel get_label_quality_scores).
    QualityScores {
        #[command(flatten)]
        data: Labeled,
    },
    /// Fit a temperature (or Platt map, `--options '{"method":"platt"}'`) per finding.
    Calibrate {
        #[command(flatten)]
        data: Labeled,
        /// What --probs holds.
        #[arg(long, value_enum, default_value = "probabilities")]
        kind: KindArg,
    },
    /// Certify an image-level auto-accept rule (Learn-then-Test; joint or Bonferroni).
    AutoAccept {
        #[command(flatten)]
        data: Labeled,
        /// Risk: P(some finding of an accepted image is wrong) at most this.
        #[arg(long, default_value_t = 0.05)]
        alpha: f64,
        /// Probability that the guarantee fails.
        #[arg(long, default_value_t = 0.05)]
        delta: f64,
    },
    /// Consensus of multi-label reads: per-finding majority and Dawid-Skene, agreement per
    /// finding, the images that most need another read.
    Consensus {
        /// The JS MlConsensusRequest as JSON; replaces --reads.
        #[arg(long, conflicts_with = "reads", required_unless_present = "reads")]
        request: Option<PathBuf>,
        /// Reads as CSV `item,annotator,findings` (findings `|`-separated).
        #[arg(long)]
        reads: Option<PathBuf>,
        #[command(flatten)]
        findings: Findings,
        /// Options as JSON (the JS MlConsensusRequest's `options`).
        #[arg(long, default_value = "{}")]
        options: String,
        /// Output file (default: standard output).
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
    /// Review simulation on multi-reader reads: one reader given, the others' consensus as
    /// truth; reviews to reach a per-finding accuracy target, against the oracle.
    Simulate {
        /// The JS SimulateRequest as JSON; replaces --reads.
        #[arg(long, conflicts_with = "reads", required_unless_present = "reads")]
        request: Option<PathBuf>,
        /// Reads as CSV `item,annotator,findings` (findings `|`-separated).
        #[arg(long)]
        reads: Option<PathBuf>,
        #[command(flatten)]
        findings: Findings,
        /// Options as JSON (the JS SimulateRequest's `options`).
        #[arg(long, default_value = "{}")]
        options: String,
        /// Output file (default: standard output).
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
    /// Fit the multi-label policy on the verified set and put every pool image in a tier,
    /// with reasons naming the findings.
    Tiers {
        #[command(flatten)]
        data: Data,
        /// Output file (default: standard output).
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
    /// Plan the next multi-label round: a batch, a sequential audit step, or stop.
    Plan {
        #[command(flatten)]
        data: Data,
        /// Reviews so far: JSON list of {"index", "findings"}, or CSV `index,findings`.
        #[arg(long)]
        reviewed: Option<PathBuf>,
        /// Reviews from Label Studio (its JSON or JSON-MIN export, or the API's tasks, of
        /// tasks exported by `multilabel export --to label-studio`); added to --reviewed.
        #[arg(long)]
        reviewed_label_studio: Option<PathBuf>,
        /// Audits so far: JSON list of the JS AuditRecord (sequential, with indices).
        #[arg(long)]
        audits: Option<PathBuf>,
        /// Planning options as JSON, e.g. '{"batchSize": 50}'.
        #[arg(long, default_value = "{}")]
        options: String,
        /// Output file (default: standard output).
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
    /// Export a multi-label triage (the output of `tiers`, or the `tiers` of a `plan`).
    Export {
        /// The triage JSON.
        #[arg(long)]
        tiers: PathBuf,
        /// What to write.
        #[arg(long, value_enum)]
        to: ExportFormat,
        /// Item ids, one per line (default: the pool index).
        #[arg(long)]
        ids: Option<PathBuf>,
        /// Export options as JSON (MlPseudoLabelOptions or LabelStudioOptions).
        #[arg(long, default_value = "{}")]
        options: String,
        /// Output file (default: standard output).
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
    /// Write the Label Studio labeling config for multi-label tasks (choice="multiple").
    LabelStudioConfig {
        #[command(flatten)]
        findings: Findings,
        /// Options as JSON (the JS LabelConfigOptions; `multiple` is set).
        #[arg(long, default_value = "{}")]
        options: String,
        /// Output file (default: standard output).
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
    /// Read Label Studio's multi-choice annotations back into per-finding review decisions.
    ReadLabelStudio {
        /// The export file.
        #[arg(long)]
        export: PathBuf,
        #[command(flatten)]
        findings: Findings,
        /// The ids the tasks were exported with, one per line (checks medtriage_id).
        #[arg(long)]
        ids: Option<PathBuf>,
        /// Pool size (checks the indices).
        #[arg(long)]
        n: Option<usize>,
        /// Reading options as JSON, e.g. '{"consensus": "dawidSkene"}'.
        #[arg(long = "read-options", default_value = "{}")]
        read_options: String,
        /// Output file (default: standard output).
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
}

fn bad(p: &Path, msg: String) -> Error {
    Error::new(ErrorKind::InvalidInput, format!("{}: {msg}", p.display()))
}

/// Non-empty lines (names, ids).
fn lines(p: &Path) -> Result<Vec<String>> {
    Ok(read_text(p)?
        .lines()
        .map(|l| l.trim_end_matches('\r').to_string())
        .filter(|l| !l.is_empty())
        .collect())
}

fn names_of(f: &Findings) -> Result<Option<Vec<String>>> {
    match (&f.names, &f.manifest) {
        (Some(p), _) => Ok(Some(lines(p)?)),
        (None, Some(m)) => Ok(Some(Manifest::from_json(&read_text(m)?)?.output.classes)),
        (None, None) => Ok(None),
    }
}

fn need_names(f: &Findings) -> Result<Vec<String>> {
    names_of(f)?.ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidOptions,
            "the finding names are needed: --findings or --manifest",
        )
    })
}

fn finding(tok: &str, names: Option<&[String]>, p: &Path, line: usize) -> Result<usize> {
    if let Some(j) = names.and_then(|n| n.iter().position(|x| x == tok)) {
        return Ok(j);
    }
    tok.parse::<usize>().map_err(|_| {
        bad(
            p,
            format!("line {line}: {tok:?} is neither a finding index nor a name"),
        )
    })
}

/// Finding lists, one per image; `None` entries for `?` lines.
fn read_lists(p: &Path, names: Option<&[String]>) -> Result<Vec<Option<Vec<usize>>>> {
    let text = read_text(p)?;
    if p.extension().and_then(|e| e.to_str()) == Some("json") {
        return from_json(&text, &p.display().to_string());
    }
    let mut ls: Vec<&str> = text.split('\n').collect();
    if ls.last() == Some(&"") {
        ls.pop();
    }
    ls.iter()
        .enumerate()
        .map(|(i, l)| {
            let l = l.trim_end_matches('\r').trim();
            match l {
                "?" => Ok(None),
                "" => Ok(Some(Vec::new())),
                _ => l
                    .split('|')
                    .map(|t| finding(t.trim(), names, p, i + 1))
                    .collect::<Result<Vec<_>>>()
                    .map(Some),
            }
        })
        .collect()
}

fn read_truth(p: &Path, names: Option<&[String]>) -> Result<Vec<Vec<usize>>> {
    read_lists(p, names)?
        .into_iter()
        .enumerate()
        .map(|(i, l)| l.ok_or_else(|| bad(p, format!("image {i}: `?` is for given labels only"))))
        .collect()
}

fn read_reads(p: &Path) -> Result<Vec<MlRead>> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(p)
        .map_err(|e| bad(p, e.to_string()))?;
    let mut out = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let r = rec.map_err(|e| bad(p, e.to_string()))?;
        let f: Vec<&str> = r.iter().collect();
        if i == 0 && f.first() == Some(&"item") {
            continue;
        }
        let [item, annotator, rest @ ..] = f.as_slice() else {
            return Err(bad(
                p,
                format!("line {}: expected item,annotator,findings", i + 1),
            ));
        };
        let list = rest.first().map_or("", |s| s.trim());
        out.push(MlRead {
            item: item.to_string(),
            annotator: annotator.to_string(),
            findings: list
                .split('|')
                .filter(|t| !t.trim().is_empty())
                .map(|t| match t.trim().parse::<u64>() {
                    Ok(v) => Label::Index(v),
                    Err(_) => Label::Name(t.trim().to_string()),
                })
                .collect(),
        });
    }
    Ok(out)
}

fn request<T: serde::de::DeserializeOwned>(p: &Path) -> Result<T> {
    from_json(&read_text(p)?, &p.display().to_string())
}

fn json_arg<T: serde::de::DeserializeOwned>(s: &str, what: &str) -> Result<T> {
    let p = Path::new(s);
    if !s.trim_start().starts_with('{') && p.exists() {
        request(p)
    } else {
        from_json(s, what)
    }
}

fn need(p: &Option<PathBuf>, what: &str) -> Result<PathBuf> {
    p.clone()
        .ok_or_else(|| Error::new(ErrorKind::InvalidOptions, format!("{what} is required")))
}

/// Probabilities and given findings from the flags.
fn labeled(d: &Labeled) -> Result<li::MlLabeledProbs> {
    let m = read_probs(&need(&d.probs, "--probs")?)?;
    let names = names_of(&d.findings)?;
    let labels = read_truth(&need(&d.labels, "--labels")?, names.as_deref())?;
    Ok(li::MlLabeledProbs {
        pred_probs: m.data,
        n: m.rows,
        k: m.cols,
        labels,
    })
}

fn opt_vec(p: &Option<PathBuf>) -> Result<Option<Vec<f64>>> {
    p.as_deref().map(read_vector).transpose()
}

/// The verified set, pool, k and names from the flags.
fn load(d: &Data) -> Result<ml_policy::MlTierRequest> {
    let names = names_of(&d.findings)?;
    let n = names.as_deref();
    let vp = read_probs(&need(&d.verified_probs, "--verified-probs")?)?;
    let pp = read_probs(&need(&d.pool_probs, "--pool-probs")?)?;
    if vp.cols != pp.cols {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!(
                "verified probabilities have {} findings, pool probabilities {}",
                vp.cols, pp.cols
            ),
        ));
    }
    let given = |p: &Option<PathBuf>| p.as_deref().map(|p| read_lists(p, n)).transpose();
    Ok(ml_policy::MlTierRequest {
        k: pp.cols,
        findings: names.clone(),
        verified: ml_policy::MlVerifiedSet {
            pred_probs: vp.data,
            n: vp.rows,
            labels: read_truth(&need(&d.verified_labels, "--verified-labels")?, n)?,
            given_labels: given(&d.verified_given)?,
            outlier_scores: opt_vec(&d.verified_outlier_scores)?,
        },
        pool: ml_policy::MlPoolSet {
            pred_probs: pp.data,
            n: pp.rows,
            given_labels: given(&d.pool_given)?,
            outlier_scores: opt_vec(&d.pool_outlier_scores)?,
            agreement: opt_vec(&d.pool_agreement)?,
            failed: Vec::new(),
        },
        policy: json_arg(&d.policy, "--policy")?,
    })
}

fn read_reviewed(p: &Path) -> Result<Vec<ml_rounds::MlReviewOutcome>> {
    if p.extension().and_then(|e| e.to_str()) == Some("json") {
        return request(p);
    }
    let mut out = Vec::new();
    for (i, line) in lines(p)?.iter().enumerate() {
        let (a, b) = line.split_once(',').unwrap_or((line, ""));
        let Ok(index) = a.trim().parse::<usize>() else {
            if i == 0 {
                continue; // header
            }
            return Err(bad(p, format!("line {}: expected `index,findings`", i + 1)));
        };
        let findings = b
            .split('|')
            .filter(|t| !t.trim().is_empty())
            .map(|t| finding(t.trim(), None, p, i + 1))
            .collect::<Result<Vec<_>>>()?;
        out.push(ml_rounds::MlReviewOutcome { index, findings });
    }
    Ok(out)
}

fn read_ls(
    export: &Path,
    findings: Vec<String>,
    ids: &Option<PathBuf>,
    n: Option<usize>,
    options: &str,
) -> Result<ml_export::MlLabelStudioReviews> {
    ml_export::read_label_studio_ml(&ml_export::ReadLabelStudioMlRequest {
        export: request(export)?,
        findings,
        ids: ids.as_deref().map(lines).transpose()?,
        n,
        options: from_json(options, "--read-options")?,
    })
}

fn plan(
    data: &Data,
    reviewed: &Option<PathBuf>,
    from_ls: &Option<PathBuf>,
    audits: &Option<PathBuf>,
    options: &str,
) -> Result<ml_rounds::MlRoundPlan> {
    let mut req: ml_rounds::MlRoundRequest = match &data.request {
        Some(p) => request(p)?,
        None => {
            let t = load(data)?;
            ml_rounds::MlRoundRequest {
                k: t.k,
                findings: t.findings,
                verified: t.verified,
                pool: t.pool,
                reviewed: Vec::new(),
                audits: Vec::new(),
                policy: t.policy,
                options: from_json(options, "--options")?,
            }
        }
    };
    if let Some(p) = reviewed {
        req.reviewed.extend(read_reviewed(p)?);
    }
    if let Some(p) = from_ls {
        let names = match &req.findings {
            Some(n) => n.clone(),
            None => need_names(&data.findings)?,
        };
        req.reviewed
            .extend(read_ls(p, names, &None, Some(req.pool.n), "{}")?.reviewed);
    }
    if let Some(p) = audits {
        req.audits = request(p)?;
    }
    ml_rounds::plan_round_ml(&req)
}

fn export(
    tiers: &Path,
    to: ExportFormat,
    ids: &Option<PathBuf>,
    options: &str,
    out: Option<&Path>,
) -> Result<()> {
    let tiers: ml_policy::MlTierResponse = request(tiers)?;
    let ids = ids.as_deref().map(lines).transpose()?;
    match to {
        ExportFormat::PseudoCsv | ExportFormat::PseudoJson => {
            let r = ml_export::pseudo_labels_ml(&ml_export::MlExportRequest {
                tiers,
                ids,
                options: from_json(options, "--options")?,
            })?;
            match to {
                ExportFormat::PseudoCsv => write_text(&r.csv, out),
                _ => write_json(&r.rows, out),
            }
        }
        ExportFormat::LabelStudio => write_json(
            &ml_export::label_studio_ml(&ml_export::MlExportRequest {
                tiers,
                ids,
                options: from_json(options, "--options")?,
            })?,
            out,
        ),
    }
}

/// The request of a label-quality subcommand: `--request` whole, or made by `build` from the
/// data flags and `--options`.
fn labeled_request<T: serde::de::DeserializeOwned, O: serde::de::DeserializeOwned>(
    d: &Labeled,
    build: impl FnOnce(li::MlLabeledProbs, O) -> T,
) -> Result<T> {
    match &d.request {
        Some(p) => request(p),
        None => {
            let data = labeled(d)?;
            Ok(build(data, from_json(&d.options, "--options")?))
        }
    }
}

fn label_issues(d: &Labeled) -> Result<()> {
    let req = labeled_request(d, |p, options| li::MlFindRequest {
        pred_probs: p.pred_probs,
        n: p.n,
        k: p.k,
        labels: p.labels,
        options,
    })?;
    write_json(&li::find_label_issues_request(&req)?, d.out.as_deref())
}

fn quality(d: &Labeled) -> Result<()> {
    let req = labeled_request(d, |p, options| li::MlQualityRequest {
        pred_probs: p.pred_probs,
        n: p.n,
        k: p.k,
        labels: p.labels,
        options,
    })?;
    write_json(&li::quality_scores_request(&req)?, d.out.as_deref())
}

fn calibrate(d: &Labeled, kind: KindArg) -> Result<()> {
    let kind = match kind {
        KindArg::Logits => ScoreKind::Logits,
        KindArg::Probabilities => ScoreKind::Probabilities,
    };
    let req = labeled_request(d, |p, options| cal::MlCalibrateRequest {
        scores: p.pred_probs,
        n: p.n,
        k: p.k,
        kind,
        labels: p.labels,
        options,
    })?;
    write_json(&cal::fit_calibration(&req)?, d.out.as_deref())
}

fn auto_accept(d: &Labeled, alpha: f64, delta: f64) -> Result<()> {
    let req = labeled_request(d, |p, options: MlAutoAcceptOptions| {
        cal::MlAutoAcceptRequest {
            probs: p.pred_probs,
            n: p.n,
            k: p.k,
            labels: p.labels,
            alpha,
            delta,
            options,
        }
    })?;
    write_json(&cal::auto_accept_ml(&req)?, d.out.as_deref())
}

pub fn run(cmd: Cmd) -> Result<()> {
    match cmd {
        Cmd::LabelIssues { data } => label_issues(&data),
        Cmd::QualityScores { data } => quality(&data),
        Cmd::Calibrate { data, kind } => calibrate(&data, kind),
        Cmd::AutoAccept { data, alpha, delta } => auto_accept(&data, alpha, delta),
        Cmd::Consensus {
            request: r,
            reads,
            findings,
            options,
            out,
        } => {
            let req = match (&r, &reads) {
                (Some(p), _) => request(p)?,
                (None, p) => mlc::MlConsensusRequest {
                    reads: read_reads(&need(p, "--reads")?)?,
                    findings: names_of(&findings)?,
                    num_findings: None,
                    items: None,
                    annotators: None,
                    options: from_json(&options, "--options")?,
                },
            };
            write_json(&mlc::ml_consensus(&req)?, out.as_deref())
        }
        Cmd::Simulate {
            request: r,
            reads,
            findings,
            options,
            out,
        } => {
            let req = match (&r, &reads) {
                (Some(p), _) => request(p)?,
                (None, p) => simulate::SimulateRequest {
                    reads: read_reads(&need(p, "--reads")?)?,
                    findings: names_of(&findings)?,
                    num_findings: None,
                    options: from_json(&options, "--options")?,
                },
            };
            write_json(&simulate::simulate_reviews(&req)?, out.as_deref())
        }
        Cmd::Tiers { data, out } => {
            let req = match &data.request {
                Some(p) => request(p)?,
                None => load(&data)?,
            };
            write_json(&ml_policy::tier_items_ml(&req)?, out.as_deref())
        }
        Cmd::Plan {
            data,
            reviewed,
            reviewed_label_studio,
            audits,
            options,
            out,
        } => write_json(
            &plan(&data, &reviewed, &reviewed_label_studio, &audits, &options)?,
            out.as_deref(),
        ),
        Cmd::Export {
            tiers,
            to,
            ids,
            options,
            out,
        } => export(&tiers, to, &ids, &options, out.as_deref()),
        Cmd::LabelStudioConfig {
            findings,
            options,
            out,
        } => {
            let mut options: labelstudio::LabelConfigOptions = from_json(&options, "--options")?;
            options.multiple = true;
            let x = labelstudio::label_config(&labelstudio::LabelConfigRequest {
                classes: need_names(&findings)?,
                options,
            })?;
            write_text(&x, out.as_deref())
        }
        Cmd::ReadLabelStudio {
            export,
            findings,
            ids,
            n,
            read_options,
            out,
        } => write_json(
            &read_ls(&export, need_names(&findings)?, &ids, n, &read_options)?,
            out.as_deref(),
        ),
    }
}
