//! `medtriage select …` subcommands: batch selection for the review queue. Builds the same
//! request struct as the JS API's `selectBatch` (options as `--options '<json>'`).

use std::path::PathBuf;

use clap::ValueEnum;
use medtriage::engine::queue::select::{self, SelectRequest, Strategy};
use medtriage::error::from_json;
use medtriage::{Error, ErrorKind, Result};

use crate::io::{read_labels, read_matrix, read_vector, sink, write_json, Format};

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum StrategyArg {
    /// Highest scores.
    TopK,
    /// Ranked batch (Cardoso et al. 2017, as modAL): uncertainty vs similarity.
    RankedBatch,
    /// Core-set k-center greedy (Sener & Savarese 2018).
    KCenterGreedy,
    /// BADGE (Ash et al. 2020): k-means++ seeding on gradient embeddings.
    Badge,
}

impl From<StrategyArg> for Strategy {
    fn from(s: StrategyArg) -> Self {
        match s {
            StrategyArg::TopK => Strategy::TopK,
            StrategyArg::RankedBatch => Strategy::RankedBatch,
            StrategyArg::KCenterGreedy => Strategy::KCenterGreedy,
            StrategyArg::Badge => Strategy::Badge,
        }
    }
}

#[derive(clap::Args)]
pub struct BatchArgs {
    /// One score per item, higher = more informative (.npy or .csv); NaN items are skipped.
    #[arg(long)]
    scores: PathBuf,
    /// Items to select.
    #[arg(long, value_parser = crate::io::items_flag)]
    batch_size: usize,
    /// Selection rule.
    #[arg(long, value_enum, default_value = "top-k")]
    strategy: StrategyArg,
    /// Embeddings, n x d.
    #[arg(long)]
    embeddings: Option<PathBuf>,
    /// Embeddings of the already-verified items, m x d.
    #[arg(long)]
    labeled_embeddings: Option<PathBuf>,
    /// Predicted probabilities, n x k (BADGE; classes for a class budget).
    #[arg(long)]
    pred_probs: Option<PathBuf>,
    /// Predicted class per item (default: arg-max of --pred-probs).
    #[arg(long)]
    predicted: Option<PathBuf>,
    /// Number of classes (with --predicted and no --pred-probs).
    #[arg(long, value_parser = crate::io::classes_flag)]
    k: Option<usize>,
    /// Options as JSON (the JS API's options object), e.g.
    /// '{"classBudget":"byEstimatedError","classErrorRates":[0.1,0.3],"minPerClass":2}'.
    #[arg(long, default_value = "{}")]
    options: String,
    /// Output format (CSV: one row per pick).
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
    /// Output file (default: standard output).
    #[arg(long, short)]
    out: Option<PathBuf>,
}

/// Batch selection subcommands.
#[derive(clap::Subcommand)]
pub enum Cmd {
    /// Select a batch for review (top-k, ranked batch, k-center greedy, BADGE; per-class budgets).
    Batch(BatchArgs),
}

fn opt(v: Option<impl ToString>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

fn build(a: &BatchArgs) -> Result<SelectRequest> {
    let scores = read_vector(&a.scores)?;
    let (embeddings, d) = match &a.embeddings {
        Some(p) => {
            let m = read_matrix(p)?;
            (Some(m.data), Some(m.cols))
        }
        None => (None, None),
    };
    let labeled_embeddings = match &a.labeled_embeddings {
        Some(p) => {
            let m = read_matrix(p)?;
            if Some(m.cols) != d {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!(
                        "--labeled-embeddings has {} columns, --embeddings {}",
                        m.cols,
                        opt(d)
                    ),
                ));
            }
            Some(m.data)
        }
        None => None,
    };
    let (pred_probs, k) = match &a.pred_probs {
        Some(p) => {
            let m = read_matrix(p)?;
            (Some(m.data), Some(m.cols))
        }
        None => (None, a.k),
    };
    let predicted = a.predicted.as_deref().map(read_labels).transpose()?;
    Ok(SelectRequest {
        scores,
        batch_size: a.batch_size,
        strategy: a.strategy.into(),
        embeddings,
        d,
        labeled_embeddings,
        pred_probs,
        k,
        predicted,
        options: from_json(&a.options, "--options")?,
    })
}

impl BatchArgs {
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
                ("batchSize", "--batch-size".into()),
                ("predProbs", file("--pred-probs", &self.pred_probs)),
                (
                    "labeledEmbeddings",
                    file("--labeled-embeddings", &self.labeled_embeddings),
                ),
            ],
        );
        let mut files: Vec<(&str, &std::path::Path)> = vec![("--scores", self.scores.as_path())];
        for (f, p) in [
            ("--embeddings", &self.embeddings),
            ("--labeled-embeddings", &self.labeled_embeddings),
            ("--pred-probs", &self.pred_probs),
            ("--predicted", &self.predicted),
        ] {
            if let Some(p) = p {
                files.push((f, p.as_path()));
            }
        }
        crate::io::cli_context(e, &files, "--options")
    }
}

pub fn run(cmd: Cmd) -> Result<()> {
    match cmd {
        Cmd::Batch(a) => {
            let r = build(&a)?;
            let res = select::select_batch(&r).map_err(|e| a.context(e))?;
            for note in &res.notes {
                eprintln!("note: {note}");
            }
            match a.format {
                Format::Json => write_json(&res, a.out.as_deref()),
                Format::Csv => {
                    let cerr =
                        |e: csv::Error| Error::new(ErrorKind::Io, format!("writing CSV: {e}"));
                    let mut w = csv::Writer::from_writer(sink(a.out.as_deref())?);
                    w.write_record([
                        "rank",
                        "index",
                        "score",
                        "objective",
                        "distance",
                        "similarity",
                        "alpha",
                        "gradient_norm",
                        "class",
                        "stratum",
                    ])
                    .map_err(cerr)?;
                    for p in &res.picks {
                        w.write_record([
                            p.rank.to_string(),
                            p.index.to_string(),
                            p.score.to_string(),
                            p.objective.to_string(),
                            opt(p.distance),
                            opt(p.similarity),
                            opt(p.alpha),
                            opt(p.gradient_norm),
                            opt(p.class),
                            opt(p.stratum),
                        ])
                        .map_err(cerr)?;
                    }
                    w.flush()
                        .map_err(|e| Error::new(ErrorKind::Io, e.to_string()))
                }
            }
        }
    }
}
