//! `medtriage triage …` subcommands: label issues (confident learning), quality scores,
//! confident joint, outliers, near-duplicates, per-class report. Each builds the same
//! request struct as the JS API (options as `--options '<json>'`, the JS options object).

use std::path::PathBuf;

use medtriage::engine::grouping::{group_classes, GroupClassesRequest, Grouping};
use medtriage::engine::triage::{analysis, label_issues as li, outliers};
use medtriage::error::from_json;
use medtriage::{Error, ErrorKind, Result};

use crate::io::{read_labels, read_matrix, read_probs, read_text, write_csv, write_json, Format};

#[derive(clap::Args)]
pub struct ProbsArgs {
    /// Predicted probabilities, n x k (.npy, C or Fortran order, or .csv).
    #[arg(long)]
    pred_probs: PathBuf,
    /// Given (or verified) labels, n integers in 0..k (.npy or .csv).
    #[arg(long)]
    labels: PathBuf,
    /// Options as JSON (the JS API's options object), e.g. '{"filterBy":"both"}'.
    #[arg(long, default_value = "{}")]
    options: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
    /// Output file (default: standard output).
    #[arg(long, short)]
    out: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct OutliersArgs {
    /// Embeddings, n x d.
    #[arg(long, conflicts_with = "pred_probs")]
    embeddings: Option<PathBuf>,
    /// Probabilities, n x k.
    #[arg(long)]
    pred_probs: Option<PathBuf>,
    /// Labels (to fit the class thresholds when scoring probabilities).
    #[arg(long)]
    labels: Option<PathBuf>,
    /// Options as JSON.
    #[arg(long, default_value = "{}")]
    options: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
    /// Output file.
    #[arg(long, short)]
    out: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct DuplicatesArgs {
    /// Embeddings, n x d.
    #[arg(long)]
    embeddings: PathBuf,
    /// Options as JSON, e.g. '{"threshold":0.01}'.
    #[arg(long, default_value = "{}")]
    options: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
    /// Output file.
    #[arg(long, short)]
    out: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct GroupClassesArgs {
    /// Predicted probabilities over the model's classes, n x k.
    #[arg(long)]
    pred_probs: PathBuf,
    /// The grouping: a JSON file, or inline JSON, `{"classes":[model classes],
    /// "groups":[{"name":..,"classes":[..]},..]}`.
    #[arg(long)]
    grouping: String,
    /// Model-class labels (n integers in 0..k) to map to group indices.
    #[arg(long)]
    labels: Option<PathBuf>,
    /// Output format (json: the JS API's response; csv: the grouped matrix).
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
    /// Output file.
    #[arg(long, short)]
    out: Option<PathBuf>,
}

#[derive(clap::Subcommand)]
pub enum Cmd {
    /// Flag likely label errors by confident learning (cleanlab's find_label_issues).
    LabelIssues(ProbsArgs),
    /// Per-row label quality scores (cleanlab's get_label_quality_scores).
    QualityScores(ProbsArgs),
    /// Confident joint, joint, prior and noise matrices.
    ConfidentJoint(ProbsArgs),
    /// Estimated number of label issues (cleanlab's num_label_issues).
    NumIssues(ProbsArgs),
    /// Outlier scores from embeddings (kNN) or from probabilities (entropy-based).
    Outliers(OutliersArgs),
    /// Near-duplicate pairs by cosine distance (exact).
    Duplicates(DuplicatesArgs),
    /// Per-class precision, recall, F1, support, confusion matrix and calibration error.
    ClassReport(ProbsArgs),
    /// Sum model-class probabilities into groups (e.g. tumour = glioma + meningioma +
    /// pituitary); CSV output is the grouped n x groups matrix with the group names as header.
    GroupClasses(GroupClassesArgs),
}

struct Loaded {
    probs: Vec<f64>,
    n: usize,
    k: usize,
    labels: Vec<usize>,
}

impl ProbsArgs {
    /// An engine error in the CLI's words: the flags and files it came from.
    fn context(&self, e: medtriage::Error) -> medtriage::Error {
        crate::io::cli_context(
            e,
            &[
                ("--pred-probs", self.pred_probs.as_path()),
                ("--labels", self.labels.as_path()),
            ],
            "--options",
        )
    }
}

fn load(a: &ProbsArgs) -> Result<Loaded> {
    let m = read_probs(&a.pred_probs)?;
    let labels = read_labels(&a.labels)?;
    Ok(Loaded {
        probs: m.data,
        n: m.rows,
        k: m.cols,
        labels,
    })
}

fn label_issues(a: ProbsArgs) -> Result<()> {
    let l = load(&a)?;
    let r = li::FindLabelIssuesRequest {
        pred_probs: l.probs,
        n: l.n,
        k: l.k,
        labels: l.labels,
        options: from_json(&a.options, "--options")?,
    };
    let res = li::find_label_issues_request(&r).map_err(|e| a.context(e))?;
    match a.format {
        Format::Json => write_json(&res, a.out.as_deref()),
        Format::Csv => {
            // one row per flagged item, in ranked order when ranked
            let idx: Vec<usize> = res
                .ranked_indices
                .clone()
                .unwrap_or_else(|| (0..r.n).filter(|&i| res.is_label_issue[i]).collect());
            let rows = idx.into_iter().enumerate().map(|(rank, i)| {
                let row = &r.pred_probs[i * r.k..(i + 1) * r.k];
                let pred = medtriage::engine::probs::argmax(row);
                vec![
                    rank.to_string(),
                    i.to_string(),
                    r.labels[i].to_string(),
                    pred.to_string(),
                    row[r.labels[i]].to_string(),
                ]
            });
            write_csv(
                &[
                    "rank",
                    "index",
                    "given_label",
                    "predicted_label",
                    "self_confidence",
                ],
                rows,
                a.out.as_deref(),
            )
        }
    }
}

fn quality_scores(a: ProbsArgs) -> Result<()> {
    let l = load(&a)?;
    let r = li::QualityScoresRequest {
        pred_probs: l.probs,
        n: l.n,
        k: l.k,
        labels: l.labels,
        options: from_json(&a.options, "--options")?,
    };
    let res = li::quality_scores_request(&r).map_err(|e| a.context(e))?;
    match a.format {
        Format::Json => write_json(&res, a.out.as_deref()),
        Format::Csv => write_csv(
            &["index", "score"],
            res.scores
                .iter()
                .enumerate()
                .map(|(i, s)| vec![i.to_string(), s.to_string()]),
            a.out.as_deref(),
        ),
    }
}

fn confident_joint(a: ProbsArgs) -> Result<()> {
    let l = load(&a)?;
    let r = li::ConfidentJointRequest {
        pred_probs: l.probs,
        n: l.n,
        k: l.k,
        labels: l.labels,
        options: from_json(&a.options, "--options")?,
    };
    let res = li::confident_joint_request(&r).map_err(|e| a.context(e))?;
    match a.format {
        Format::Json => write_json(&res, a.out.as_deref()),
        Format::Csv => {
            let mut header = vec!["given_label".to_string()];
            header.extend((0..r.k).map(|j| format!("true_{j}")));
            let h: Vec<&str> = header.iter().map(String::as_str).collect();
            let rows = res.confident_joint.iter().enumerate().map(|(i, row)| {
                std::iter::once(i.to_string())
                    .chain(row.iter().map(|v| v.to_string()))
                    .collect()
            });
            write_csv(&h, rows, a.out.as_deref())
        }
    }
}

fn num_issues(a: ProbsArgs) -> Result<()> {
    let l = load(&a)?;
    let r = li::NumIssuesRequest {
        pred_probs: l.probs,
        n: l.n,
        k: l.k,
        labels: l.labels,
        options: from_json(&a.options, "--options")?,
    };
    write_json(
        &li::num_label_issues_request(&r).map_err(|e| a.context(e))?,
        a.out.as_deref(),
    )
}

fn outlier_scores(a: OutliersArgs) -> Result<()> {
    let OutliersArgs {
        embeddings,
        pred_probs,
        labels,
        options,
        format,
        out,
    } = a;
    let (scores, json) = match (embeddings, pred_probs) {
        (Some(e), None) => {
            let m = read_matrix(&e)?;
            let r = outliers::KnnOutlierRequest {
                embeddings: m.data,
                n: m.rows,
                d: m.cols,
                options: from_json(&options, "--options")?,
            };
            let res = outliers::knn_outliers_request(&r)?;
            (res.scores.clone(), serde_json::to_value(&res))
        }
        (None, Some(p)) => {
            let m = read_probs(&p)?;
            let labels = labels.as_deref().map(read_labels).transpose()?;
            let r = outliers::OodProbsRequest {
                pred_probs: m.data,
                n: m.rows,
                k: m.cols,
                labels,
                options: from_json(&options, "--options")?,
            };
            let res = outliers::ood_pred_probs_request(&r)?;
            (res.scores.clone(), serde_json::to_value(&res))
        }
        _ => {
            return Err(Error::new(
                ErrorKind::InvalidOptions,
                "give exactly one of --embeddings or --pred-probs",
            ))
        }
    };
    let json = json.map_err(|e| Error::new(ErrorKind::Io, e.to_string()))?;
    match format {
        Format::Json => write_json(&json, out.as_deref()),
        Format::Csv => write_csv(
            &["index", "score"],
            scores
                .iter()
                .enumerate()
                .map(|(i, s)| vec![i.to_string(), s.to_string()]),
            out.as_deref(),
        ),
    }
}

fn near_duplicate_pairs(a: DuplicatesArgs) -> Result<()> {
    let DuplicatesArgs {
        embeddings,
        options,
        format,
        out,
    } = a;
    let m = read_matrix(&embeddings)?;
    let r = outliers::DuplicatesRequest {
        embeddings: m.data,
        n: m.rows,
        d: m.cols,
        options: from_json(&options, "--options")?,
    };
    let res = outliers::near_duplicates_request(&r)?;
    if res.truncated {
        eprintln!("warning: more than maxPairs pairs; output truncated");
    }
    match format {
        Format::Json => write_json(&res, out.as_deref()),
        Format::Csv => write_csv(
            &["i", "j", "cosine_distance"],
            res.pairs
                .iter()
                .map(|p| vec![p.i.to_string(), p.j.to_string(), p.distance.to_string()]),
            out.as_deref(),
        ),
    }
}

fn grouped_classes(a: GroupClassesArgs) -> Result<()> {
    let GroupClassesArgs {
        pred_probs,
        grouping,
        labels,
        format,
        out,
    } = a;
    let text = if grouping.trim_start().starts_with('{') {
        grouping
    } else {
        read_text(std::path::Path::new(&grouping))?
    };
    let g: Grouping = from_json(&text, "--grouping")?;
    let m = read_probs(&pred_probs)?;
    if m.cols != g.classes.len() {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!(
                "--pred-probs has {} columns, the grouping lists {} model classes",
                m.cols,
                g.classes.len()
            ),
        ));
    }
    let req = GroupClassesRequest {
        classes: g.classes,
        groups: g.groups,
        pred_probs: m.data,
        n: m.rows,
        labels: labels.as_deref().map(read_labels).transpose()?,
    };
    let res = group_classes(&req)?;
    match format {
        Format::Json => write_json(&res, out.as_deref()),
        Format::Csv => {
            let h: Vec<&str> = res.classes.iter().map(String::as_str).collect();
            let g = res.classes.len();
            let rows = res
                .pred_probs
                .chunks_exact(g)
                .map(|r| r.iter().map(|v| v.to_string()).collect());
            write_csv(&h, rows, out.as_deref())
        }
    }
}

fn class_report(a: ProbsArgs) -> Result<()> {
    let l = load(&a)?;
    let r = analysis::ClassReportRequest {
        pred_probs: l.probs,
        n: l.n,
        k: l.k,
        labels: l.labels,
        options: from_json(&a.options, "--options")?,
    };
    let res = analysis::class_report_request(&r)?;
    match a.format {
        Format::Json => write_json(&res, a.out.as_deref()),
        Format::Csv => write_csv(
            &[
                "class",
                "precision",
                "recall",
                "f1",
                "support",
                "predicted",
                "calibration_error",
            ],
            res.per_class.iter().map(|s| {
                vec![
                    s.class.to_string(),
                    s.precision.to_string(),
                    s.recall.to_string(),
                    s.f1.to_string(),
                    s.support.to_string(),
                    s.predicted.to_string(),
                    s.calibration_error.to_string(),
                ]
            }),
            a.out.as_deref(),
        ),
    }
}

pub fn run(cmd: Cmd) -> Result<()> {
    match cmd {
        Cmd::LabelIssues(a) => label_issues(a),
        Cmd::QualityScores(a) => quality_scores(a),
        Cmd::ConfidentJoint(a) => confident_joint(a),
        Cmd::NumIssues(a) => num_issues(a),
        Cmd::Outliers(a) => outlier_scores(a),
        Cmd::Duplicates(a) => near_duplicate_pairs(a),
        Cmd::GroupClasses(a) => grouped_classes(a),
        Cmd::ClassReport(a) => class_report(a),
    }
}
