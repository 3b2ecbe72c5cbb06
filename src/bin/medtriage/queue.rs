//! `medtriage queue …`: tiered verification, round planning and exports. Each subcommand builds
//! the JS API's request (`TierRequest`, `RoundRequest`, `ExportRequest`) from arrays on disk,
//! or takes that request whole as JSON with `--request`, and writes the JS API's response.

use std::path::{Path, PathBuf};

use clap::ValueEnum;
use medtriage::engine::manifest::Manifest;
use medtriage::engine::queue::{
    calibration_session, export, labelstudio, policy, reviewers, rounds,
};
use medtriage::error::from_json;
use medtriage::{Error, ErrorKind, Result};

use crate::io::{
    read_labels, read_matrix, read_probs, read_text, read_vector, write_csv, write_json,
    write_text, Format,
};

#[derive(clap::Args)]
pub struct Data {
    /// A whole request as JSON (the JS API's shape); replaces every data flag below.
    #[arg(long, conflicts_with_all = ["verified_probs", "pool_probs"])]
    request: Option<PathBuf>,
    /// Verified items' probabilities, n x k (.npy or .csv).
    #[arg(long, required_unless_present = "request")]
    verified_probs: Option<PathBuf>,
    /// Verified items' true labels.
    #[arg(long, required_unless_present = "request")]
    verified_labels: Option<PathBuf>,
    /// The labels the verified items came with (-1: none).
    #[arg(long)]
    verified_given: Option<PathBuf>,
    /// Verified items' outlier scores (lower = more unusual).
    #[arg(long)]
    verified_outlier_scores: Option<PathBuf>,
    /// Pool probabilities, n x k.
    #[arg(long, required_unless_present = "request")]
    pool_probs: Option<PathBuf>,
    /// The labels the pool items came with (-1: none).
    #[arg(long)]
    pool_given: Option<PathBuf>,
    /// Pool outlier scores.
    #[arg(long)]
    pool_outlier_scores: Option<PathBuf>,
    /// Pool annotator agreement in [0, 1] (NaN: none).
    #[arg(long)]
    pool_agreement: Option<PathBuf>,
    /// Pool: index of a verified near-duplicate (-1: none).
    #[arg(long)]
    pool_duplicates: Option<PathBuf>,
    /// Policy: a JSON file or inline JSON (the JS PolicyConfig).
    #[arg(long, default_value = "{}")]
    policy: String,
}

impl Data {
    /// The request fields these flags fill, with the flag and file each came from (or the
    /// `--request` file), to name them in errors.
    fn flag_names(&self) -> Vec<(&'static str, String)> {
        if let Some(r) = &self.request {
            return vec![("", format!("--request {}", r.display()))];
        }
        let flag = |f: &str, p: &Option<PathBuf>| match p {
            Some(p) => format!("{f} {}", p.display()),
            None => f.to_string(),
        };
        vec![
            (
                "verified.predProbs",
                flag("--verified-probs", &self.verified_probs),
            ),
            (
                "verified.labels",
                flag("--verified-labels", &self.verified_labels),
            ),
            (
                "verified.givenLabels",
                flag("--verified-given", &self.verified_given),
            ),
            (
                "verified.outlierScores",
                flag("--verified-outlier-scores", &self.verified_outlier_scores),
            ),
            ("verified.n", flag("--verified-probs", &self.verified_probs)),
            ("pool.predProbs", flag("--pool-probs", &self.pool_probs)),
            ("pool.givenLabels", flag("--pool-given", &self.pool_given)),
            (
                "pool.outlierScores",
                flag("--pool-outlier-scores", &self.pool_outlier_scores),
            ),
            (
                "pool.agreement",
                flag("--pool-agreement", &self.pool_agreement),
            ),
            (
                "pool.duplicateOfVerified",
                flag("--pool-duplicates", &self.pool_duplicates),
            ),
            ("pool.n", flag("--pool-probs", &self.pool_probs)),
        ]
    }

    /// An engine error on this data, in the CLI's words (see [`crate::io::name_flags`]).
    fn name_flags(&self, e: Error) -> Error {
        match self.flag_names().as_slice() {
            [("", req)] => e.context(req),
            names => crate::io::name_flags(e, names),
        }
    }
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ExportFormat {
    /// id,label,class,weight,tier (auto-accepted items by default).
    PseudoCsv,
    /// The same rows as JSON.
    PseudoJson,
    /// Label Studio tasks with predictions.
    LabelStudio,
    /// Every item in review order with tier and reasons.
    Csv,
}

/// `queue plan`'s review outcomes from Label Studio.
#[derive(clap::Args)]
pub struct LabelStudioReviewed {
    /// Review outcomes from Label Studio: its JSON or JSON-MIN export, or the API's
    /// tasks, of tasks exported by `queue export --to label-studio` (needs the class
    /// names: --classes or --manifest). Added to --reviewed.
    #[arg(long)]
    reviewed_label_studio: Option<PathBuf>,
    #[command(flatten)]
    names: Names,
}

/// Class names (and ids) for reading Label Studio's annotations back.
#[derive(clap::Args)]
pub struct Names {
    /// Class names, one per line, in class-index order.
    #[arg(long = "classes", conflicts_with = "manifest")]
    class_names: Option<PathBuf>,
    /// The model manifest: class names from `output.classes`.
    #[arg(long)]
    manifest: Option<PathBuf>,
    /// The ids the tasks were exported with, one per line (checks each task's medtriage_id).
    #[arg(long = "ids")]
    task_ids: Option<PathBuf>,
    /// Reading options as JSON (the JS ReadLabelStudioOptions), e.g. '{"consensus": "dawidSkene"}'.
    #[arg(long = "read-options", default_value = "{}")]
    read_options: String,
}

#[derive(clap::Args)]
pub struct TiersArgs {
    #[command(flatten)]
    data: Data,
    /// Output format (csv: one row per item in review order).
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
    /// Output file (default: standard output).
    #[arg(long, short)]
    out: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct PlanArgs {
    #[command(flatten)]
    data: Data,
    /// Review outcomes so far: CSV `index,label` (header optional).
    #[arg(long)]
    reviewed: Option<PathBuf>,
    #[command(flatten)]
    label_studio: Box<LabelStudioReviewed>,
    /// Audits so far: JSON list of the JS AuditRecord.
    #[arg(long)]
    audits: Option<PathBuf>,
    /// Planning options as JSON (the JS PlanOptions), e.g.
    /// '{"batchSize": 200, "selection": {"strategy": "kCenterGreedy"}}'.
    #[arg(long, default_value = "{}")]
    options: String,
    /// Pool embeddings, n x d (for `selection`).
    #[arg(long)]
    pool_embeddings: Option<PathBuf>,
    /// Verified items' embeddings, verified n x d.
    #[arg(long)]
    verified_embeddings: Option<PathBuf>,
    /// Output file (default: standard output).
    #[arg(long, short)]
    out: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct ReviewersArgs {
    /// The JS ReviewerReportRequest as JSON: {"k", "decisions": [{"reviewer", "truth",
    /// "label"}], "options"}.
    #[arg(long)]
    request: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
    /// Output file (default: standard output).
    #[arg(long, short)]
    out: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct SessionArgs {
    /// The JS PickRequest (--pick) or SessionRequest as JSON.
    #[arg(long)]
    request: PathBuf,
    /// Pick the items instead of reporting.
    #[arg(long)]
    pick: bool,
    /// Output format (the report only).
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
    /// Output file (default: standard output).
    #[arg(long, short)]
    out: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct ExportArgs {
    /// The triage JSON.
    #[arg(long)]
    tiers: PathBuf,
    /// What to write.
    #[arg(long, value_enum)]
    to: ExportFormat,
    /// Item ids, one per line (default: the pool index).
    #[arg(long)]
    ids: Option<PathBuf>,
    /// Class names, one per line (default: the class index).
    #[arg(long)]
    classes: Option<PathBuf>,
    /// Export options as JSON (PseudoLabelOptions or LabelStudioOptions).
    #[arg(long, default_value = "{}")]
    options: String,
    /// Output file (default: standard output).
    #[arg(long, short)]
    out: Option<PathBuf>,
}

#[derive(clap::Subcommand)]
pub enum Cmd {
    /// Fit the policy on the verified set and put every pool item in a tier with its reasons.
    Tiers(TiersArgs),
    /// Plan the next round: a batch to review, an audit, or stop (with the certified bound).
    Plan(PlanArgs),
    /// Read Label Studio's annotations (JSON or JSON-MIN export, or the API's tasks) back into
    /// review decisions: `reviewed` (one per task, consensus over annotators), counts of
    /// skipped and superseded annotations, ties.
    ReadLabelStudio {
        /// The export file.
        #[arg(long)]
        export: PathBuf,
        #[command(flatten)]
        names: Names,
        /// Pool size (checks the indices).
        #[arg(long, value_parser = crate::io::items_flag)]
        n: Option<usize>,
        /// Output file (default: standard output).
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
    /// Reviewer accuracy with Clopper-Pearson and Wilson intervals, per-class accuracy and
    /// confusion, and the drift alarm (Bernoulli CUSUM), from scored decisions (gold items or
    /// adjudicated ones). CSV: one row per reviewer and class ("all" = overall).
    Reviewers(ReviewersArgs),
    /// Write the Label Studio labeling config for the exported tasks (classes from the
    /// manifest or a file).
    LabelStudioConfig {
        /// Class names, one per line.
        #[arg(
            long,
            conflicts_with = "manifest",
            required_unless_present = "manifest"
        )]
        classes: Option<PathBuf>,
        /// The model manifest (`output.classes`).
        #[arg(long)]
        manifest: Option<PathBuf>,
        /// Options as JSON (the JS LabelConfigOptions).
        #[arg(long, default_value = "{}")]
        options: String,
        /// Output file (default: standard output).
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
    /// Hide gold items in a reviewer's batch at seeded random positions, never repeating one
    /// the reviewer has seen.
    MixGold {
        /// The JS MixGoldRequest as JSON: {"batch", "gold", "seen", "goldShare", "seed"}.
        #[arg(long)]
        request: PathBuf,
        /// Output file (default: standard output).
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
    /// Combine each item's reviews by the reviewers' measured accuracy (Dawid-Skene with the
    /// gold confusion matrices, the model as prior) and say which items need another reviewer
    /// and whom to ask.
    Combine {
        /// The JS CombineRequest as JSON: {"k", "decisions", "reviewers", "items", "options"}.
        #[arg(long)]
        request: PathBuf,
        /// Output file (default: standard output).
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
    /// Calibration session: with --pick, the most disputed items for every reviewer to label
    /// (a PickRequest); without, the agreement report (a SessionRequest: Fleiss' kappa,
    /// Krippendorff's alpha, each reviewer's deviations). CSV: one row per reviewer and class
    /// with the deviations.
    Session(SessionArgs),
    /// Export a triage (the output of `tiers`, or the `tiers` of a `plan`).
    Export(ExportArgs),
}

fn lines(p: &Path) -> Result<Vec<String>> {
    Ok(read_text(p)?
        .lines()
        .map(|l| l.trim_end_matches('\r').to_string())
        .filter(|l| !l.is_empty())
        .collect())
}

/// Integers where -1 means "none".
fn read_optional_labels(p: &Path) -> Result<Vec<i64>> {
    read_vector(p)?
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            if v.fract() == 0.0 && v >= -1.0 && v < u32::MAX as f64 {
                Ok(v as i64)
            } else {
                Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!("{}: row {i}: {v} is not a label or -1", p.display()),
                ))
            }
        })
        .collect()
}

fn opt<T>(p: &Option<PathBuf>, f: impl Fn(&Path) -> Result<T>) -> Result<Option<T>> {
    p.as_deref().map(f).transpose()
}

fn policy_of(s: &str) -> Result<policy::PolicyConfig> {
    let p = Path::new(s);
    if !s.trim_start().starts_with('{') && p.exists() {
        from_json(&read_text(p)?, &p.display().to_string())
    } else {
        from_json(s, "--policy")
    }
}

/// The verified set, pool and k from the flags.
fn load(d: &Data) -> Result<(usize, policy::VerifiedSet, policy::PoolSet)> {
    let need = |p: &Option<PathBuf>, what: &str| {
        p.clone()
            .ok_or_else(|| Error::new(ErrorKind::InvalidOptions, format!("{what} is required")))
    };
    let vp = read_probs(&need(&d.verified_probs, "--verified-probs")?)?;
    let pp = read_probs(&need(&d.pool_probs, "--pool-probs")?)?;
    if vp.cols != pp.cols {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!(
                "verified probabilities have {} classes, pool probabilities {}",
                vp.cols, pp.cols
            ),
        ));
    }
    let verified = policy::VerifiedSet {
        pred_probs: vp.data,
        n: vp.rows,
        labels: read_labels(&need(&d.verified_labels, "--verified-labels")?)?,
        given_labels: opt(&d.verified_given, read_optional_labels)?,
        outlier_scores: opt(&d.verified_outlier_scores, read_vector)?,
    };
    let pool = policy::PoolSet {
        pred_probs: pp.data,
        n: pp.rows,
        given_labels: opt(&d.pool_given, read_optional_labels)?,
        outlier_scores: opt(&d.pool_outlier_scores, read_vector)?,
        agreement: opt(&d.pool_agreement, read_vector)?,
        duplicate_of_verified: opt(&d.pool_duplicates, read_optional_labels)?,
        failed: Vec::new(),
    };
    Ok((pp.cols, verified, pool))
}

fn read_reviewed(p: &Path) -> Result<Vec<rounds::ReviewOutcome>> {
    let mut out = Vec::new();
    for (i, line) in lines(p)?.iter().enumerate() {
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        let parsed = match f.as_slice() {
            [a, b] => a.parse::<usize>().ok().zip(b.parse::<usize>().ok()),
            _ => None,
        };
        match parsed {
            Some((index, label)) => out.push(rounds::ReviewOutcome { index, label }),
            None if i == 0 => continue, // header
            None => {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!("{}: line {}: expected `index,label`", p.display(), i + 1),
                ))
            }
        }
    }
    Ok(out)
}

fn classes_from(classes: &Option<PathBuf>, manifest: &Option<PathBuf>) -> Result<Vec<String>> {
    match (classes, manifest) {
        (Some(c), _) => lines(c),
        (None, Some(m)) => Ok(Manifest::from_json(&read_text(m)?)?.output.classes),
        (None, None) => Err(Error::new(
            ErrorKind::InvalidOptions,
            "the class names are needed: --classes or --manifest",
        )),
    }
}

fn read_ls(
    export: &Path,
    names: &Names,
    n: Option<usize>,
) -> Result<labelstudio::LabelStudioReviews> {
    let at = export.display().to_string();
    labelstudio::read_label_studio(&labelstudio::ReadLabelStudioRequest {
        export: from_json(&read_text(export)?, &at)?,
        classes: classes_from(&names.class_names, &names.manifest)?,
        ids: opt(&names.task_ids, lines)?,
        n,
        options: from_json(&names.read_options, "--read-options")?,
    })
}

fn tiers(a: TiersArgs) -> Result<()> {
    let TiersArgs { data, format, out } = a;
    let req: policy::TierRequest = match &data.request {
        Some(p) => from_json(&read_text(p)?, &p.display().to_string())?,
        None => {
            let (k, verified, pool) = load(&data)?;
            policy::TierRequest {
                k,
                verified,
                pool,
                policy: policy_of(&data.policy)?,
            }
        }
    };
    let res = policy::tier_items(&req).map_err(|e| data.name_flags(e))?;
    match format {
        Format::Json => write_json(&res, out.as_deref()),
        Format::Csv => write_text(
            &export::tiers_csv(&export::ExportRequest {
                tiers: res,
                ids: None,
                classes: None,
                options: export::TableOptions::default(),
            })?,
            out.as_deref(),
        ),
    }
}

fn plan(a: PlanArgs) -> Result<()> {
    let PlanArgs {
        data,
        reviewed,
        label_studio,
        audits,
        options,
        pool_embeddings,
        verified_embeddings,
        out,
    } = a;
    let mut req: rounds::RoundRequest = match &data.request {
        Some(p) => from_json(&read_text(p)?, &p.display().to_string())?,
        None => {
            let (k, verified, pool) = load(&data)?;
            rounds::RoundRequest {
                k,
                verified,
                pool,
                reviewed: Vec::new(),
                audits: Vec::new(),
                policy: policy_of(&data.policy)?,
                options: from_json(&options, "--options")?,
                embeddings: None,
                d: None,
                verified_embeddings: None,
            }
        }
    };
    if let Some(p) = &reviewed {
        req.reviewed = read_reviewed(p)?;
    }
    if let Some(p) = &label_studio.reviewed_label_studio {
        let r = read_ls(p, &label_studio.names, Some(req.pool.n))?;
        eprintln!(
            "{}: {} tasks, {} decisions ({} annotations, {} skipped, {} superseded, {} tied)",
            p.display(),
            r.tasks,
            r.decided,
            r.annotations.len(),
            r.skipped,
            r.superseded,
            r.ties.len()
        );
        req.reviewed.extend(r.reviewed);
    }
    if let Some(p) = &audits {
        req.audits = from_json(&read_text(p)?, &p.display().to_string())?;
    }
    if let Some(p) = &pool_embeddings {
        let m = read_matrix(p)?;
        req.d = Some(m.cols);
        req.embeddings = Some(m.data);
    }
    if let Some(p) = &verified_embeddings {
        req.verified_embeddings = Some(read_matrix(p)?.data);
    }
    let plan = rounds::plan_round(&req).map_err(|e| data.name_flags(e))?;
    write_json(&plan, out.as_deref())
}

fn reviewer_report(a: ReviewersArgs) -> Result<()> {
    let ReviewersArgs {
        request,
        format,
        out,
    } = a;
    let req: reviewers::ReviewerReportRequest =
        from_json(&read_text(&request)?, &request.display().to_string())?;
    let r = reviewers::reviewer_report(&req)?;
    if format == Format::Json {
        return write_json(&r, out.as_deref());
    }
    let f = |x: f64| format!("{x:.6}");
    let mut rows = Vec::new();
    for s in &r.reviewers {
        let alarms = s
            .drift
            .alarms_at
            .iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>()
            .join(" ");
        let all = std::iter::once(("all".to_string(), &s.overall));
        let per = s
            .per_class
            .iter()
            .enumerate()
            .map(|(c, a)| (c.to_string(), a));
        for (class, a) in all.chain(per) {
            rows.push(vec![
                s.reviewer.clone(),
                class,
                a.n.to_string(),
                a.correct.to_string(),
                f(a.accuracy),
                f(a.clopper_pearson.0),
                f(a.clopper_pearson.1),
                f(a.wilson.0),
                f(a.wilson.1),
                alarms.clone(),
            ]);
        }
    }
    write_csv(
        &[
            "reviewer",
            "class",
            "n",
            "correct",
            "accuracy",
            "cp_low",
            "cp_high",
            "wilson_low",
            "wilson_high",
            "drift_alarms_at",
        ],
        rows.into_iter(),
        out.as_deref(),
    )
}

fn session(a: SessionArgs) -> Result<()> {
    let SessionArgs {
        request,
        pick,
        format,
        out,
    } = a;
    let text = read_text(&request)?;
    let what = request.display().to_string();
    if pick {
        let req: calibration_session::PickRequest = from_json(&text, &what)?;
        return write_json(&calibration_session::pick_session(&req)?, out.as_deref());
    }
    let req: calibration_session::SessionRequest = from_json(&text, &what)?;
    let r = calibration_session::session_report(&req)?;
    if format == Format::Json {
        return write_json(&r, out.as_deref());
    }
    let mut rows = Vec::new();
    for s in &r.reviewers {
        for (c, &d) in s.deviations_by_class.iter().enumerate() {
            rows.push(vec![
                s.reviewer.clone(),
                c.to_string(),
                d.to_string(),
                s.labelled.to_string(),
                s.compared.to_string(),
                format!("{:.6}", s.agreement),
                r.fleiss_kappa.map_or(String::new(), |v| format!("{v:.6}")),
                r.krippendorff_alpha
                    .map_or(String::new(), |v| format!("{v:.6}")),
            ]);
        }
    }
    write_csv(
        &[
            "reviewer",
            "consensus_class",
            "deviations",
            "labelled",
            "compared",
            "agreement",
            "fleiss_kappa",
            "krippendorff_alpha",
        ],
        rows.into_iter(),
        out.as_deref(),
    )
}

fn export(a: ExportArgs) -> Result<()> {
    let ExportArgs {
        tiers,
        to,
        ids,
        classes,
        options,
        out,
    } = a;
    let text = read_text(&tiers)?;
    // a round plan carries its triage under `tiers`
    let value: serde_json::Value = from_json(&text, &tiers.display().to_string())?;
    let t = value.get("tiers").cloned().unwrap_or(value);
    let t: policy::TierResponse = serde_json::from_value(t).map_err(|e| {
        Error::new(
            ErrorKind::InvalidInput,
            format!("--tiers {}: not a triage: {e}", tiers.display()),
        )
    })?;
    let mut files = vec![("--tiers", tiers.as_path())];
    files.extend(ids.as_deref().map(|p| ("--ids", p)));
    files.extend(classes.as_deref().map(|p| ("--classes", p)));
    let ctx = |e: Error| crate::io::cli_context(e, &files, "--options");
    let ids = opt(&ids, lines)?;
    let classes = opt(&classes, lines)?;
    fn req<O: serde::de::DeserializeOwned>(
        tiers: policy::TierResponse,
        ids: Option<Vec<String>>,
        classes: Option<Vec<String>>,
        options: &str,
    ) -> Result<export::ExportRequest<O>> {
        Ok(export::ExportRequest {
            tiers,
            ids,
            classes,
            options: from_json(options, "--options")?,
        })
    }
    let out = out.as_deref();
    match to {
        ExportFormat::PseudoCsv | ExportFormat::PseudoJson => {
            let r = export::pseudo_labels(&req(t, ids, classes, &options)?).map_err(ctx)?;
            if to == ExportFormat::PseudoCsv {
                write_text(&r.csv, out)
            } else {
                write_json(&r.rows, out)
            }
        }
        ExportFormat::LabelStudio => write_json(
            &export::label_studio(&req(t, ids, classes, &options)?).map_err(ctx)?,
            out,
        ),
        ExportFormat::Csv => {
            let csv = export::tiers_csv(&req(t, ids, classes, &options)?).map_err(ctx)?;
            write_text(&csv, out)
        }
    }
}

pub fn run(cmd: Cmd) -> Result<()> {
    match cmd {
        Cmd::Tiers(a) => tiers(a),
        Cmd::Plan(a) => plan(a),
        Cmd::ReadLabelStudio {
            export,
            names,
            n,
            out,
        } => write_json(&read_ls(&export, &names, n)?, out.as_deref()),
        Cmd::LabelStudioConfig {
            classes,
            manifest,
            options,
            out,
        } => write_text(
            &labelstudio::label_config(&labelstudio::LabelConfigRequest {
                classes: classes_from(&classes, &manifest)?,
                options: from_json(&options, "--options")?,
            })?,
            out.as_deref(),
        ),
        Cmd::Reviewers(a) => reviewer_report(a),
        Cmd::MixGold { request, out } => {
            let req: reviewers::MixGoldRequest =
                from_json(&read_text(&request)?, &request.display().to_string())?;
            write_json(&reviewers::mix_gold(&req)?, out.as_deref())
        }
        Cmd::Combine { request, out } => {
            let req: reviewers::CombineRequest =
                from_json(&read_text(&request)?, &request.display().to_string())?;
            write_json(&reviewers::combine_reviews(&req)?, out.as_deref())
        }
        Cmd::Session(a) => session(a),
        Cmd::Export(a) => export(a),
    }
}
