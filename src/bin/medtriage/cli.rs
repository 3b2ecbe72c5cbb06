//! The CLI: the only code touching file paths. Request and response shapes are the JS API's:
//! `--options` takes the same JSON as `ScoreOptions`, and each JSON line is an `ItemResult`.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

use medtriage::engine::manifest::Manifest;
use medtriage::engine::model::LoadOptions;
use medtriage::engine::score::{self, ImageInput, ItemResult, ScoreOptions, Scorer};
use medtriage::engine::uncertainty::Measure;
use medtriage::{Error, ErrorKind, Result};

use crate::io::{io_err, sink};
use crate::results::write_results;

#[derive(Parser)]
#[command(
    name = "medtriage",
    version,
    about = "Score and triage medical images with an ONNX model, locally."
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

/// The output of `score` (the other subcommands write `io::Format`).
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum ScoreFormat {
    /// One JSON line per image.
    Jsonl,
    /// One CSV row per image.
    Csv,
}

#[derive(Subcommand)]
enum Cmd {
    /// Score images (files or folders of .png/.jpg/.jpeg) with a model and its manifest.
    Score {
        /// ONNX model file; repeat for an ensemble sharing the manifest (in the order of
        /// the manifest's `members`).
        #[arg(long, required = true)]
        model: Vec<PathBuf>,
        /// Manifest JSON file.
        #[arg(long)]
        manifest: PathBuf,
        /// Images or folders (searched recursively). A file holding a list of paths, one per
        /// line, can be given as @list.txt.
        #[arg(required = true)]
        inputs: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "jsonl")]
        format: ScoreFormat,
        /// Output file (default: standard output).
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// Score options as JSON (same shape as the JS API's ScoreOptions), e.g. '{"topK":5}'.
        #[arg(long, default_value = "{}")]
        options: String,
        /// Load options as JSON (same shape as the JS API's LoadOptions).
        #[arg(long, default_value = "{}")]
        load_options: String,
        /// Worker threads (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
        /// Sort the output most uncertain first by this measure (failed items last). With one
        /// row per image, expected-entropy = entropy, bald = 0, variation-ratio = 0.
        #[arg(long, value_enum)]
        sort: Option<Measure>,
        /// Score only shard i of N (0-based, e.g. 2/4): the images whose content SHA-256 falls
        /// there, the same split on every machine. Lines then carry imageSha256, modelSha256,
        /// manifestSha256 and their position, for `merge`. JSON lines only.
        #[arg(long, value_name = "i/N")]
        shard: Option<crate::shard::Shard>,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// Join the outputs of `score --shard i/N` into the output of one run: in input order,
    /// duplicates dropped, mixed models or manifests and missing files refused.
    Merge {
        /// Shard outputs (JSON lines written by `score --shard`).
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Output file (default: standard output).
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// Sort the output most uncertain first by this measure (failed items last), as
        /// `score --sort`.
        #[arg(long, value_enum)]
        sort: Option<Measure>,
        /// No summary on standard error.
        #[arg(long)]
        quiet: bool,
    },
    /// Calibration and guarantees on probabilities: multi-row uncertainty, temperature
    /// scaling, conformal sets, risk-controlled auto-accept.
    Calibrate {
        #[command(subcommand)]
        cmd: crate::calibrate::Cmd,
    },
    /// Label-error detection (confident learning), outliers, near-duplicates, per-class analysis.
    Triage {
        #[command(subcommand)]
        cmd: crate::triage::Cmd,
    },
    /// Annotation consensus and agreement statistics.
    Consensus {
        #[command(subcommand)]
        cmd: crate::consensus::Cmd,
    },
    /// The review queue: tiers with reasons, round planning with a certified stop, exports.
    Queue {
        #[command(subcommand)]
        cmd: crate::queue::Cmd,
    },
    /// Multi-label findings: label issues, calibration and certified auto-accept per
    /// finding, consensus of multi-label reads, tiers, rounds and exports (Label Studio
    /// multiple choice, pseudo-labels with a weight per finding).
    Multilabel {
        #[command(subcommand)]
        cmd: crate::multilabel::Cmd,
    },
    /// Batch selection for review: top-k, diverse batches, per-class budgets.
    Select {
        #[command(subcommand)]
        cmd: crate::select::Cmd,
    },
    /// Load a model (or an ensemble) with its manifest and report what was checked.
    Check {
        /// ONNX model file; repeat for an ensemble.
        #[arg(long, required = true)]
        model: Vec<PathBuf>,
        /// Manifest JSON file.
        #[arg(long)]
        manifest: PathBuf,
    },
}

/// A command line clap refuses: help and version as clap prints them; an error as one line
/// `error[invalid_options]: ...` naming the flag and the value (exit 2, as every
/// `invalid_options`), without clap's usage block.
fn flag_error(e: &clap::Error) -> i32 {
    use clap::error::ErrorKind as K;
    if matches!(
        e.kind(),
        K::DisplayHelp | K::DisplayVersion | K::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return if e.kind() == K::DisplayHelpOnMissingArgumentOrSubcommand {
            2
        } else {
            0
        };
    }
    let text = e.render().to_string();
    let what: Vec<&str> = text
        .lines()
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .collect();
    let what = what.join(" ");
    eprintln!(
        "error[invalid_options]: {}",
        medtriage::error::one_line(what.trim_start_matches("error: "), 2000)
    );
    2
}

/// A panic that escapes every guard is a bug: one line on stderr, no backtrace, exit 101.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        eprintln!(
            "error[internal]: medtriage crashed ({}); please report it",
            medtriage::error::one_line(&msg, 200)
        );
    }));
}

pub fn main() -> i32 {
    install_panic_hook();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => return flag_error(&e),
    };
    let r = match cli.cmd {
        Cmd::Score {
            model,
            manifest,
            inputs,
            format,
            out,
            options,
            load_options,
            threads,
            sort,
            shard,
            quiet,
        } => score_cmd(ScoreArgs {
            model,
            manifest,
            inputs,
            format,
            out,
            options,
            load_options,
            threads,
            sort,
            shard,
            quiet,
        }),
        Cmd::Merge {
            inputs,
            out,
            sort,
            quiet,
        } => crate::shard::merge_cmd(&inputs, out.as_deref(), sort, quiet),
        Cmd::Check { model, manifest } => check_cmd(&model, &manifest),
        Cmd::Calibrate { cmd } => crate::calibrate::run(cmd),
        Cmd::Triage { cmd } => crate::triage::run(cmd),
        Cmd::Consensus { cmd } => crate::consensus::run(cmd),
        Cmd::Select { cmd } => crate::select::run(cmd),
        Cmd::Queue { cmd } => crate::queue::run(cmd),
        Cmd::Multilabel { cmd } => crate::multilabel::run(cmd),
    };
    match r {
        Ok(()) => 0,
        Err(e) => {
            eprintln!(
                "error[{}]: {}",
                e.code(),
                medtriage::error::one_line(e.message(), 2000)
            );
            match e.kind() {
                ErrorKind::Io => 3,
                ErrorKind::InvalidOptions => 2,
                _ => 1,
            }
        }
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| io_err(path, e))
}

fn load_scorer(models: &[PathBuf], manifest: &Path, load_options: &str) -> Result<Scorer> {
    let text = String::from_utf8(read(manifest)?).map_err(|_| {
        Error::new(
            ErrorKind::InvalidManifest,
            format!("--manifest {}: not UTF-8", manifest.display()),
        )
    })?;
    let m = Manifest::from_json(&text)
        .map_err(|e| e.context(format!("--manifest {}", manifest.display())))?;
    let lo: LoadOptions = medtriage::error::object_from_json(load_options, "--load-options")?;
    if let [model] = models {
        return Scorer::new(&read(model)?, m, &lo)
            .map_err(|e| e.context(format!("--model {}", model.display())));
    }
    let bytes = models.iter().map(|p| read(p)).collect::<Result<Vec<_>>>()?;
    let refs: Vec<&[u8]> = bytes.iter().map(Vec::as_slice).collect();
    Scorer::new_ensemble(&refs, m, &lo).map_err(|e| {
        e.context(format!(
            "--model {}",
            models
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(" --model ")
        ))
    })
}

fn check_cmd(models: &[PathBuf], manifest: &Path) -> Result<()> {
    let t = Instant::now();
    let s = load_scorer(models, manifest, "{}")?;
    let mut info = serde_json::json!({
        "model": models.first().map(|p| p.display().to_string()),
        "sha256": s.model().sha256(),
        "batchSize": s.model().batch_size(),
        "classes": s.manifest().num_classes(),
        "loadMs": t.elapsed().as_secs_f64() * 1e3,
        "manifest": s.manifest(),
    });
    if s.samples_per_image() > 1 || models.len() > 1 {
        info["members"] = serde_json::json!(models
            .iter()
            .zip(s.members())
            .map(|(p, m)| serde_json::json!({
                "model": p.display().to_string(),
                "sha256": m.sha256(),
                "batchSize": m.batch_size(),
            }))
            .collect::<Vec<_>>());
        info["transforms"] = serde_json::json!(s.transforms().len());
        info["samplesPerImage"] = serde_json::json!(s.samples_per_image());
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&info).unwrap_or_default()
    );
    Ok(())
}

/// PNG, JPEG and DICOM (`.dcm`, `.dicom`, or an extension-less file whose first bytes are
/// DICOM: PACS exports often have no extension).
fn is_image(p: &Path) -> bool {
    match p
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .as_deref()
    {
        Some("png" | "jpg" | "jpeg" | "dcm" | "dicom") => true,
        None => {
            use std::io::Read;
            let mut head = Vec::with_capacity(132);
            std::fs::File::open(p)
                .and_then(|f| f.take(132).read_to_end(&mut head))
                .is_ok()
                && medtriage::engine::dicom::is_dicom(&head)
        }
        _ => false,
    }
}

/// Walk `dir` recursively, sorted: regular image files only (FIFOs, sockets and devices
/// are skipped: reading a FIFO blocks forever), symbolic links followed, and every directory
/// entered at most once (by device and inode), so a link to a parent cannot loop or score a
/// file many times.
fn walk(
    dir: &Path,
    seen: &mut std::collections::HashSet<(u64, u64)>,
    out: &mut Vec<PathBuf>,
) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(dir).map_err(|e| io_err(dir, e))?;
    if !seen.insert((meta.dev(), meta.ino())) {
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| io_err(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        // metadata() follows links; a dangling link is skipped
        let Ok(m) = std::fs::metadata(&p) else {
            continue;
        };
        if m.is_dir() {
            walk(&p, seen, out)?;
        } else if m.is_file() && is_image(&p) {
            out.push(p);
        }
    }
    Ok(())
}

/// Expand the command line into image paths (folders recursively, sorted; @lists read).
fn collect_inputs(inputs: &[String]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for s in inputs {
        if let Some(list) = s.strip_prefix('@') {
            let text = String::from_utf8_lossy(&read(Path::new(list))?).into_owned();
            out.extend(
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(PathBuf::from),
            );
            continue;
        }
        let p = PathBuf::from(s);
        if p.is_dir() {
            walk(&p, &mut seen, &mut out)?;
        } else {
            out.push(p);
        }
    }
    Ok(out)
}

/// The id of a file: its path when it is UTF-8; otherwise each byte that is not part of
/// valid UTF-8, and each `%`, written as `%XX`, so two different names never share an id
/// (a lossy conversion turned every invalid byte into U+FFFD).
pub fn path_id(p: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let bytes = p.as_os_str().as_bytes();
    if let Ok(s) = std::str::from_utf8(bytes) {
        return s.to_string();
    }
    let mut out = String::with_capacity(bytes.len() + 16);
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '%' {
                out.push_str("%25");
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Read an image file named on the command line or found in a folder: regular files only.
fn read_image(path: &Path) -> Result<Vec<u8>> {
    let m = std::fs::metadata(path).map_err(|e| io_err(path, e))?;
    if !m.is_file() {
        return Err(io_err(path, "not a regular file (FIFO, socket or device)"));
    }
    read(path)
}

struct ScoreArgs {
    model: Vec<PathBuf>,
    manifest: PathBuf,
    inputs: Vec<String>,
    format: ScoreFormat,
    out: Option<PathBuf>,
    options: String,
    load_options: String,
    threads: Option<usize>,
    sort: Option<Measure>,
    shard: Option<crate::shard::Shard>,
    quiet: bool,
}

/// One file's outcome: its position in the input list, its content hash (when sharding),
/// and its results (several for a multi-frame DICOM object).
struct FileResults {
    file: usize,
    sha256: Option<String>,
    results: Vec<ItemResult>,
}

/// Score one chunk of files: runs of readable files go to the scorer together; with a shard,
/// files hashed elsewhere are skipped (read once: hashing needs the bytes anyway).
fn score_chunk(
    scorer: &Scorer,
    opts: &ScoreOptions,
    shard: Option<crate::shard::Shard>,
    chunk: &[(usize, PathBuf)],
) -> Vec<FileResults> {
    let mut out: Vec<FileResults> = Vec::with_capacity(chunk.len());
    let mut run: Vec<Readable> = Vec::new();
    for (k, p) in chunk {
        let id = path_id(p);
        let bytes = read_image(p);
        let sha = match (&shard, &bytes) {
            (Some(_), Ok(b)) => Some(medtriage::engine::model::sha256_hex(b)),
            _ => None,
        };
        if shard.is_some_and(|s| !s.owns(sha.as_deref(), &id)) {
            continue;
        }
        match bytes {
            Ok(b) => run.push((*k, id, b, sha)),
            Err(e) => {
                score_run(scorer, opts, &mut run, &mut out);
                out.push(FileResults {
                    file: *k,
                    sha256: None,
                    results: vec![ItemResult::new(id, Err(e))],
                });
            }
        }
    }
    score_run(scorer, opts, &mut run, &mut out);
    out
}

/// A readable file: position, id, bytes, content hash.
type Readable = (usize, String, Vec<u8>, Option<String>);

/// Score a run of readable files in one batch. A manifest scoring every DICOM frame gives an
/// unknown number of results per file, so there each file is its own batch (its frames are
/// batched together).
fn score_run(
    scorer: &Scorer,
    opts: &ScoreOptions,
    run: &mut Vec<Readable>,
    out: &mut Vec<FileResults>,
) {
    let each_frame = matches!(
        scorer.manifest().input.dicom.as_ref().map(|d| d.frame),
        Some(medtriage::engine::dicom::FrameChoice::Each)
    );
    if each_frame {
        for (k, id, b, sha) in run.drain(..) {
            let results = scorer.score_batch(&[(id.as_str(), ImageInput::Encoded(&b))], opts);
            out.push(FileResults {
                file: k,
                sha256: sha,
                results,
            });
        }
        return;
    }
    let batch: Vec<(&str, ImageInput)> = run
        .iter()
        .map(|(_, id, b, _)| (id.as_str(), ImageInput::Encoded(b.as_slice())))
        .collect();
    let results = scorer.score_batch(&batch, opts);
    for ((k, _, _, sha), r) in run.drain(..).zip(results) {
        out.push(FileResults {
            file: k,
            sha256: sha,
            results: vec![r],
        });
    }
}

fn score_cmd(a: ScoreArgs) -> Result<()> {
    let opts: ScoreOptions = medtriage::error::object_from_json(&a.options, "--options")?;
    if a.shard.is_some() && (a.sort.is_some() || a.format != ScoreFormat::Jsonl) {
        return Err(Error::new(
            ErrorKind::InvalidOptions,
            "--shard writes JSON lines in input order: sort or convert after `merge` \
             (merge --sort)",
        ));
    }
    let scorer = load_scorer(&a.model, &a.manifest, &a.load_options)?;
    let paths = collect_inputs(&a.inputs)?;
    if let Some(t) = a.threads {
        medtriage::engine::limits::threads("--threads", t as u64)?;
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(a.threads.unwrap_or(0))
        .build()
        .map_err(|e| Error::new(ErrorKind::InvalidOptions, e.to_string()))?;
    let bar = if a.quiet {
        ProgressBar::hidden()
    } else {
        let b = ProgressBar::new(paths.len() as u64);
        b.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} images  {per_sec}  eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b
    };
    let started = Instant::now();
    let chunk = scorer.model().batch_size().max(1);
    let indexed: Vec<(usize, PathBuf)> = paths.into_iter().enumerate().collect();
    let files: Vec<FileResults> = pool.install(|| {
        indexed
            .par_chunks(chunk)
            .flat_map_iter(|ps| {
                let out = score_chunk(&scorer, &opts, a.shard, ps);
                bar.inc(ps.len() as u64);
                out
            })
            .collect()
    });
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    if let Some(shard) = a.shard {
        return write_keyed(&files, &scorer, &a, shard, indexed.len(), secs);
    }
    let mut results: Vec<ItemResult> = files.into_iter().flat_map(|f| f.results).collect();
    if let Some(m) = a.sort {
        results = sort_results(results, m);
    }
    let failed = results.iter().filter(|r| r.error.is_some()).count();
    write_results(&results, &scorer, a.format, a.out.as_deref())?;
    if !a.quiet {
        eprintln!(
            "scored {} image(s), {failed} failed, in {secs:.2} s ({:.2} ms/image)",
            results.len(),
            if results.is_empty() {
                0.0
            } else {
                secs * 1e3 / results.len() as f64
            }
        );
    }
    Ok(())
}

/// Each result's place in the review queue by `m` (most uncertain first, failed last).
pub fn queue_keys(results: &[ItemResult], m: Measure) -> Vec<usize> {
    let q = score::queue(results, m);
    let pos: std::collections::HashMap<&str, usize> = q
        .order
        .iter()
        .chain(q.failed.iter())
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    results
        .iter()
        .map(|r| pos.get(r.id.as_str()).copied().unwrap_or(usize::MAX))
        .collect()
}

/// Results in queue order by `m` (a stable sort: equal keys keep their input order).
fn sort_results(results: Vec<ItemResult>, m: Measure) -> Vec<ItemResult> {
    let keys = queue_keys(&results, m);
    let mut keyed: Vec<(usize, ItemResult)> = keys.into_iter().zip(results).collect();
    keyed.sort_by_key(|(k, _)| *k);
    keyed.into_iter().map(|(_, r)| r).collect()
}

/// A shard's output: JSON lines with their keys and positions, in input order.
fn write_keyed(
    files: &[FileResults],
    scorer: &Scorer,
    a: &ScoreArgs,
    shard: crate::shard::Shard,
    total: usize,
    secs: f64,
) -> Result<()> {
    let shas: Vec<&str> = scorer.members().iter().map(|m| m.sha256()).collect();
    let run = crate::shard::RunKeys::new(&shas, &read(&a.manifest)?);
    let mut w = BufWriter::new(sink(a.out.as_deref())?);
    let werr = |e: std::io::Error| Error::new(ErrorKind::Io, format!("writing results: {e}"));
    let mut n = 0;
    for f in files {
        let pos = crate::shard::Position {
            index: shard.index,
            count: shard.count,
            file: f.file as u64,
            files: total as u64,
        };
        for r in &f.results {
            let line = crate::shard::keyed_line(r, f.sha256.as_deref(), &run, pos)?;
            w.write_all(line.as_bytes()).map_err(werr)?;
            w.write_all(b"\n").map_err(werr)?;
            n += 1;
        }
    }
    w.flush().map_err(werr)?;
    if !a.quiet {
        eprintln!(
            "shard {}/{}: scored {n} item(s) from {} of {total} file(s) in {secs:.2} s",
            shard.index,
            shard.count,
            files.len()
        );
    }
    Ok(())
}
