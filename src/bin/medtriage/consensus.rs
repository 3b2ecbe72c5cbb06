//! `medtriage consensus …` subcommands: majority vote, Dawid-Skene, CROWDLAB, ActiveLab and
//! agreement statistics on long-format annotations. The request and response are the JS
//! API's (`ConsensusRequest`, `*Response`).
//!
//! `--annotations` is a CSV with a header naming the columns `item,annotator,label` (any
//! order, no other column; an empty label is a missing annotation and is skipped), or a
//! JSON file holding either an array of `{item, annotator, label}` or a whole request object
//! (the flags then fill what it leaves out; giving a field twice is an error).

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

use medtriage::engine::consensus::agreement::{self, AgreementOptions};
use medtriage::engine::consensus::crowdlab::{self, ActiveLabOptions, CrowdlabOptions};
use medtriage::engine::consensus::dawid_skene::{self, DawidSkeneOptions};
use medtriage::engine::consensus::majority::{self, MajorityOptions};
use medtriage::engine::consensus::{Annotation, ConsensusRequest, Label};
use medtriage::{Error, ErrorKind, Result};

use crate::io::{io_err, read_matrix, read_text, write_csv, write_json};

/// Inputs shared by every consensus subcommand.
#[derive(clap::Args)]
pub struct Args {
    /// Annotations: CSV (header item,annotator,label) or JSON (array or whole request).
    #[arg(long)]
    annotations: Option<PathBuf>,
    /// Model probabilities for the annotated items, n x K (.npy or .csv), rows in item order.
    #[arg(long)]
    pred_probs: Option<PathBuf>,
    /// Model probabilities of unlabeled items, m x K (active-lab only).
    #[arg(long)]
    pred_probs_unlabeled: Option<PathBuf>,
    /// Class names in index order, comma-separated (labels may then be names).
    #[arg(long, value_delimiter = ',')]
    classes: Option<Vec<String>>,
    /// Class count when no class names are given.
    #[arg(long)]
    num_classes: Option<usize>,
    /// Item ids, one per line: fixes the item order (rows of --pred-probs).
    #[arg(long)]
    items: Option<PathBuf>,
    /// Method options as JSON (same shape as the JS API's), e.g. '{"nIter":50}'.
    #[arg(long)]
    options: Option<String>,
    /// Output JSON file (default: standard output).
    #[arg(long, short)]
    out: Option<PathBuf>,
    /// Also write a per-item CSV table (per annotator pair for agreement).
    #[arg(long)]
    csv: Option<PathBuf>,
}

impl Args {
    /// An engine error in the CLI's words: request field names become the flags that gave
    /// them, and a data error names the files it came from.
    fn context(&self, e: Error) -> Error {
        let file = |f: &str, p: &Option<PathBuf>| match p {
            Some(p) => format!("{f} {}", p.display()),
            None => f.to_string(),
        };
        let e = crate::io::name_flags(
            e,
            &[
                ("numClasses", "--num-classes".into()),
                ("predProbs", file("--pred-probs", &self.pred_probs)),
                (
                    "predProbsUnlabeled",
                    file("--pred-probs-unlabeled", &self.pred_probs_unlabeled),
                ),
            ],
        );
        let files: Vec<(&str, &std::path::Path)> = [
            ("--annotations", &self.annotations),
            ("--pred-probs", &self.pred_probs),
            ("--pred-probs-unlabeled", &self.pred_probs_unlabeled),
            ("--items", &self.items),
        ]
        .into_iter()
        .filter_map(|(f, p)| p.as_deref().map(|p| (f, p)))
        .collect();
        crate::io::cli_context(e, &files, "--options")
    }
}

/// The consensus methods.
#[derive(clap::Subcommand)]
pub enum Cmd {
    /// Majority vote (crowd-kit MajorityVote; ties to the lowest class index, flagged).
    Majority(Args),
    /// Dawid-Skene EM (crowd-kit DawidSkene): posteriors, confusion matrices, priors.
    DawidSkene(Args),
    /// CROWDLAB (cleanlab): consensus, quality scores, annotator quality. Needs --pred-probs.
    Crowdlab(Args),
    /// ActiveLab (cleanlab): which item most needs another annotation.
    ActiveLab(Args),
    /// Agreement: Cohen's kappa per pair, Fleiss' kappa, Krippendorff's alpha.
    Agreement(Args),
}

pub fn run(cmd: Cmd) -> Result<()> {
    match cmd {
        Cmd::Majority(a) => run_majority(&a),
        Cmd::DawidSkene(a) => run_dawid_skene(&a),
        Cmd::Crowdlab(a) => run_crowdlab(&a),
        Cmd::ActiveLab(a) => run_active_lab(&a),
        Cmd::Agreement(a) => run_agreement(&a),
    }
}

/// The per-item CSV of a consensus result: item, consensus index and class, then the
/// `extra_header` columns, filled by `extra(i)`.
fn write_consensus_csv(
    p: &Path,
    items: &[String],
    consensus: &[usize],
    classes: &[String],
    extra_header: &[&str],
    extra: impl Fn(usize) -> Vec<String>,
) -> Result<()> {
    let mut header = vec!["item", "consensus", "consensus_class"];
    header.extend_from_slice(extra_header);
    let rows = (0..items.len()).map(|i| {
        let mut row = vec![
            items[i].clone(),
            consensus[i].to_string(),
            classes[consensus[i]].clone(),
        ];
        row.extend(extra(i));
        row
    });
    write_csv(&header, rows, Some(p))
}

fn run_majority(a: &Args) -> Result<()> {
    let req = request::<MajorityOptions>(a)?;
    let r = majority::majority_vote(&req).map_err(|e| a.context(e))?;
    if let Some(p) = &a.csv {
        write_consensus_csv(
            p,
            &r.items,
            &r.consensus_label,
            &r.classes,
            &["num_annotations", "agreement", "tied"],
            |i| {
                vec![
                    r.num_annotations[i].to_string(),
                    r.agreement[i].to_string(),
                    r.tied[i].to_string(),
                ]
            },
        )?;
    }
    write_json(&r, a.out.as_deref())
}

fn run_dawid_skene(a: &Args) -> Result<()> {
    let req = request::<DawidSkeneOptions>(a)?;
    let r = dawid_skene::dawid_skene(&req).map_err(|e| a.context(e))?;
    if let Some(p) = &a.csv {
        let k = r.classes.len();
        let mut header: Vec<String> = vec!["tied".into()];
        header.extend(r.classes.iter().map(|c| format!("p_{c}")));
        let h: Vec<&str> = header.iter().map(String::as_str).collect();
        write_consensus_csv(p, &r.items, &r.consensus_label, &r.classes, &h, |i| {
            let mut row = vec![r.tied[i].to_string()];
            row.extend(
                r.posteriors[i * k..(i + 1) * k]
                    .iter()
                    .map(|v| v.to_string()),
            );
            row
        })?;
    }
    write_json(&r, a.out.as_deref())
}

fn run_crowdlab(a: &Args) -> Result<()> {
    let req = request::<CrowdlabOptions>(a)?;
    let r = crowdlab::crowdlab(&req).map_err(|e| a.context(e))?;
    if let Some(p) = &a.csv {
        write_consensus_csv(
            p,
            &r.items,
            &r.consensus_label,
            &r.classes,
            &[
                "consensus_quality_score",
                "annotator_agreement",
                "num_annotations",
            ],
            |i| {
                vec![
                    r.consensus_quality_score[i].to_string(),
                    r.annotator_agreement[i].to_string(),
                    r.num_annotations[i].to_string(),
                ]
            },
        )?;
    }
    write_json(&r, a.out.as_deref())
}

fn run_active_lab(a: &Args) -> Result<()> {
    let req = request::<ActiveLabOptions>(a)?;
    let r = crowdlab::active_lab(&req).map_err(|e| a.context(e))?;
    if let Some(p) = &a.csv {
        let rows = r
            .items
            .iter()
            .zip(&r.scores)
            .map(|(id, s)| vec!["labeled".to_string(), id.clone(), s.to_string()])
            .chain(
                r.unlabeled_items
                    .iter()
                    .zip(&r.scores_unlabeled)
                    .map(|(id, s)| vec!["unlabeled".to_string(), id.clone(), s.to_string()]),
            );
        write_csv(&["set", "item", "score"], rows, Some(p))?;
    }
    write_json(&r, a.out.as_deref())
}

fn run_agreement(a: &Args) -> Result<()> {
    let req = request::<AgreementOptions>(a)?;
    let r = agreement::agreement(&req).map_err(|e| a.context(e))?;
    if let Some(p) = &a.csv {
        let opt = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
        let rows = r.pairs.iter().map(|q| {
            vec![
                q.annotator_a.clone(),
                q.annotator_b.clone(),
                q.overlap.to_string(),
                opt(q.observed_agreement),
                opt(q.cohen_kappa),
            ]
        });
        write_csv(
            &[
                "annotator_a",
                "annotator_b",
                "overlap",
                "observed_agreement",
                "cohen_kappa",
            ],
            rows,
            Some(p),
        )?;
    }
    write_json(&r, a.out.as_deref())
}

fn bad(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidInput, msg)
}

/// Read the annotations CSV: header with exactly the columns item, annotator, label.
pub fn read_annotations_csv(path: &Path, classes: Option<&[String]>) -> Result<Vec<Annotation>> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| io_err(path, e))?;
    let header: Vec<String> = rdr
        .headers()
        .map_err(|e| bad(format!("{}: {e}", path.display())))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_ascii_lowercase())
        .collect();
    let col = |name: &str| header.iter().position(|h| h == name);
    let (ci, ca, cl) = match (col("item"), col("annotator"), col("label")) {
        (Some(i), Some(a), Some(l)) if header.len() == 3 => (i, a, l),
        _ => {
            return Err(bad(format!(
                "{}: the header must name exactly the columns item,annotator,label (got {})",
                path.display(),
                header.join(",")
            )))
        }
    };
    let mut out = Vec::new();
    for (row, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| bad(format!("{}: {e}", path.display())))?;
        let get = |c: usize| rec.get(c).unwrap_or("").to_string();
        let (item, annotator, label) = (get(ci), get(ca), get(cl));
        if label.is_empty() {
            continue;
        }
        if item.is_empty() || annotator.is_empty() {
            return Err(bad(format!(
                "{}: row {}: empty item or annotator id",
                path.display(),
                row + 2
            )));
        }
        out.push(Annotation {
            item,
            annotator,
            label: parse_label(label, classes),
        });
    }
    Ok(out)
}

/// A CSV label: a class name when it is one, else an index when it parses, else a name
/// (which the engine reports as unknown).
fn parse_label(s: String, classes: Option<&[String]>) -> Label {
    if classes.is_some_and(|c| c.contains(&s)) {
        return Label::Name(s);
    }
    match s.parse::<u64>() {
        Ok(i) => Label::Index(i),
        Err(_) => Label::Name(s),
    }
}

fn set_once<T>(field: &mut Option<T>, value: Option<T>, what: &str) -> Result<()> {
    if let Some(v) = value {
        if field.is_some() {
            return Err(Error::new(
                ErrorKind::InvalidOptions,
                format!("{what} is given both in the request file and on the command line"),
            ));
        }
        *field = Some(v);
    }
    Ok(())
}

/// Build the request from the files and flags.
fn request<O: DeserializeOwned + Default + Serialize>(a: &Args) -> Result<ConsensusRequest<O>> {
    let mut req: ConsensusRequest<O> = match &a.annotations {
        None => ConsensusRequest::new(Vec::new()),
        Some(p) => {
            let ext = p
                .extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase);
            match ext.as_deref() {
                Some("json") => {
                    let text = read_text(p)?;
                    let v: serde_json::Value = serde_json::from_str(&text)
                        .map_err(|e| bad(format!("{}: {e}", p.display())))?;
                    if v.is_array() {
                        let anns: Vec<Annotation> = serde_json::from_value(v)
                            .map_err(|e| bad(format!("{}: {e}", p.display())))?;
                        ConsensusRequest::new(anns)
                    } else {
                        let r: ConsensusRequest<O> = serde_json::from_value(v).map_err(|e| {
                            Error::new(ErrorKind::InvalidOptions, format!("{}: {e}", p.display()))
                        })?;
                        if a.options.is_some()
                            && serde_json::to_value(&r.options).ok()
                                != serde_json::to_value(O::default()).ok()
                        {
                            return Err(Error::new(
                                ErrorKind::InvalidOptions,
                                "options are given both in the request file and with --options",
                            ));
                        }
                        r
                    }
                }
                Some("csv") | Some("tsv") | Some("txt") => {
                    ConsensusRequest::new(read_annotations_csv(p, a.classes.as_deref())?)
                }
                _ => {
                    return Err(bad(format!(
                        "{}: expected a .csv or .json annotations file",
                        p.display()
                    )))
                }
            }
        }
    };
    set_once(&mut req.classes, a.classes.clone(), "classes")?;
    set_once(&mut req.num_classes, a.num_classes, "numClasses")?;
    if let Some(k) = req.num_classes {
        medtriage::engine::limits::classes(k as u64).map_err(|e| e.context("--num-classes"))?;
    }
    if let Some(p) = &a.items {
        let text = read_text(p)?;
        let ids: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect();
        set_once(&mut req.items, Some(ids), "items")?;
    }
    let mut cols = None;
    if let Some(p) = &a.pred_probs {
        let m = read_matrix(p)?;
        cols = Some(m.cols);
        set_once(&mut req.pred_probs, Some(m.data), "predProbs")?;
    }
    if let Some(p) = &a.pred_probs_unlabeled {
        let m = read_matrix(p)?;
        if cols.is_some_and(|c| c != m.cols) {
            return Err(bad(
                "--pred-probs and --pred-probs-unlabeled have different column counts",
            ));
        }
        cols = Some(m.cols);
        set_once(
            &mut req.pred_probs_unlabeled,
            Some(m.data),
            "predProbsUnlabeled",
        )?;
    }
    if req.classes.is_none() && req.num_classes.is_none() {
        req.num_classes = cols;
    }
    if let Some(o) = &a.options {
        req.options = medtriage::error::from_json(o, "--options")?;
    }
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_annotations() {
        let dir = std::env::temp_dir().join(format!("medtriage-consensus-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("a.csv");
        std::fs::write(&p, "item,annotator,label\nx,a,cat\nx,b,1\ny,a,\n").unwrap();
        let classes = vec!["cat".to_string(), "dog".to_string()];
        let a = read_annotations_csv(&p, Some(&classes)).unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].label, Label::Name("cat".into()));
        assert_eq!(a[1].label, Label::Index(1));
        std::fs::write(&p, "x,a,1\n").unwrap();
        assert!(read_annotations_csv(&p, None)
            .unwrap_err()
            .message()
            .contains("header"));
        std::fs::write(&p, "item,annotator,label,weight\nx,a,1,2\n").unwrap();
        assert!(read_annotations_csv(&p, None).is_err());
        std::fs::remove_dir_all(&dir).ok();
    }
}
