//! Scoring an archive on many machines: `score --shard i/N` keeps the images whose content
//! hash falls in shard `i` of `N` (the same split on every machine, whatever the paths), and
//! writes each result line with its keys; `merge` joins the shards into exactly the output of
//! one run over the same inputs.
//!
//! A keyed line is the usual result line plus
//! `"imageSha256"`, `"modelSha256"`, `"manifestSha256"` and
//! `"shard": {"index": i, "count": N, "file": k, "files": F}`, where `k` is the file's position
//! in the expanded input list (the same list on every machine) and `F` its length. Every file
//! gives at least one line (a score, an error, or one line per DICOM frame), so `merge` can
//! tell that nothing is missing: every position `0..F` must appear.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use medtriage::engine::model::sha256_hex;
use medtriage::engine::score::ItemResult;
use medtriage::engine::uncertainty::Measure;
use medtriage::{Error, ErrorKind, Result};

use crate::io::io_err;

/// At most this many shards: a job array larger than this is a mistake, not a plan.
pub const MAX_SHARDS: u64 = 1 << 20;

/// Shard `index` of `count`, written `i/N` on the command line (0-based: `0/4` .. `3/4`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Shard, String> {
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| format!("expected i/N (e.g. 0/4), got {s:?}"))?;
        let parse = |t: &str| {
            t.trim()
                .parse::<u64>()
                .map_err(|_| format!("expected i/N with whole numbers, got {s:?}"))
        };
        let (index, count) = (parse(i)?, parse(n)?);
        if count == 0 || count > MAX_SHARDS {
            return Err(format!("N must be 1..={MAX_SHARDS}, got {count}"));
        }
        if index >= count {
            return Err(format!("i must be 0..N-1 (0-based), got {index}/{count}"));
        }
        Ok(Shard { index, count })
    }
}

impl Shard {
    /// The shard a SHA-256 (hex) falls in: its first 64 bits, big-endian, modulo N.
    pub fn of_hash(hex: &str, count: u64) -> u64 {
        let top = hex
            .get(..16)
            .and_then(|h| u64::from_str_radix(h, 16).ok())
            .unwrap_or(0);
        top % count
    }

    /// Whether an item belongs here: by its content hash, or (a file that could not be read)
    /// by the hash of its id, so it is reported by exactly one shard.
    pub fn owns(&self, content_sha: Option<&str>, id: &str) -> bool {
        let h = match content_sha {
            Some(h) => Shard::of_hash(h, self.count),
            None => Shard::of_hash(&sha256_hex(id.as_bytes()), self.count),
        };
        h == self.index
    }
}

/// Where a line sits: its shard and its file's position in the full input list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Position {
    pub index: u64,
    pub count: u64,
    pub file: u64,
    pub files: u64,
}

/// The identity of a whole run: what `merge` requires to be the same on every line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunKeys {
    pub model_sha256: String,
    pub manifest_sha256: String,
}

impl RunKeys {
    /// One model: its SHA-256. An ensemble: the SHA-256 of its members' hashes, one per line,
    /// in order. The manifest: the SHA-256 of the file's bytes.
    pub fn new(model_shas: &[&str], manifest_bytes: &[u8]) -> RunKeys {
        let model_sha256 = match model_shas {
            [one] => one.to_string(),
            many => sha256_hex(many.join("\n").as_bytes()),
        };
        RunKeys {
            model_sha256,
            manifest_sha256: sha256_hex(manifest_bytes),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KeyedOut<'a> {
    #[serde(flatten)]
    result: &'a ItemResult,
    #[serde(skip_serializing_if = "Option::is_none")]
    image_sha256: Option<&'a str>,
    model_sha256: &'a str,
    manifest_sha256: &'a str,
    shard: Position,
}

/// One result line with its keys (`image` is `None` for a file that could not be read).
pub fn keyed_line(
    r: &ItemResult,
    image: Option<&str>,
    run: &RunKeys,
    pos: Position,
) -> Result<String> {
    serde_json::to_string(&KeyedOut {
        result: r,
        image_sha256: image,
        model_sha256: &run.model_sha256,
        manifest_sha256: &run.manifest_sha256,
        shard: pos,
    })
    .map_err(|e| Error::new(ErrorKind::Io, format!("writing results: {e}")))
}

/// A keyed line as `merge` reads it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyedIn {
    #[serde(flatten)]
    result: ItemResult,
    #[serde(default)]
    image_sha256: Option<String>,
    model_sha256: String,
    manifest_sha256: String,
    shard: Position,
}

struct Line {
    keys: KeyedIn,
    /// The plain result line (the keys removed), as `score` without `--shard` writes it.
    text: String,
    source: String,
}

fn bad(what: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::InvalidInput, what.to_string())
}

fn read_lines(path: &Path, out: &mut Vec<Line>) -> Result<()> {
    let f = std::fs::File::open(path).map_err(|e| io_err(path, e))?;
    for (n, line) in BufReader::new(f).lines().enumerate() {
        let text = line.map_err(|e| io_err(path, e))?;
        if text.trim().is_empty() {
            continue;
        }
        let source = format!("{} line {}", path.display(), n + 1);
        let keys: KeyedIn = serde_json::from_str(&text).map_err(|e| {
            bad(format!(
                "{source}: not a keyed result line (score with --shard i/N): {e}"
            ))
        })?;
        let text =
            serde_json::to_string(&keys.result).map_err(|e| bad(format!("{source}: {e}")))?;
        out.push(Line { keys, text, source });
    }
    Ok(())
}

/// Every line must come from the same model, manifest, shard count and input list.
fn check_same_run(lines: &[Line]) -> Result<()> {
    let Some(first) = lines.first() else {
        return Ok(());
    };
    let k0 = &first.keys;
    for l in lines {
        let k = &l.keys;
        let what = if k.model_sha256 != k0.model_sha256 {
            Some(("model", &k0.model_sha256, &k.model_sha256))
        } else if k.manifest_sha256 != k0.manifest_sha256 {
            Some(("manifest", &k0.manifest_sha256, &k.manifest_sha256))
        } else {
            None
        };
        if let Some((what, a, b)) = what {
            return Err(bad(format!(
                "mixed {what}s: {} has {what} SHA-256 {b}, {} has {a}; shards of one run \
                 must use the same model and manifest",
                l.source, first.source
            )));
        }
        if (k.shard.count, k.shard.files) != (k0.shard.count, k0.shard.files) {
            return Err(bad(format!(
                "{} is shard {}/{} of {} files, {} is of {}/{} of {} files: shards of \
                 different runs",
                l.source,
                k.shard.index,
                k.shard.count,
                k.shard.files,
                first.source,
                k0.shard.index,
                k0.shard.count,
                k0.shard.files
            )));
        }
        if k.shard.file >= k.shard.files || k.shard.index >= k.shard.count {
            return Err(bad(format!("{}: shard position out of range", l.source)));
        }
    }
    Ok(())
}

/// Lines in the order of one run (by file position, then as the shard wrote them), each
/// (file, id) once: an identical repeat (a shard given twice, a retried job) is dropped; two
/// different results for the same item are refused.
fn order_and_dedup(lines: Vec<Line>) -> Result<(Vec<Line>, usize)> {
    let mut lines = lines;
    lines.sort_by_key(|l| l.keys.shard.file);
    let mut seen: HashMap<(u64, String), usize> = HashMap::new();
    let mut out: Vec<Line> = Vec::with_capacity(lines.len());
    let mut dropped = 0;
    for l in lines {
        let key = (l.keys.shard.file, l.keys.result.id.clone());
        if let Some(&j) = seen.get(&key) {
            let prev: &Line = &out[j];
            if prev.text == l.text {
                dropped += 1;
                continue;
            }
            let why = if prev.keys.image_sha256 != l.keys.image_sha256 {
                "the file's content changed between runs"
            } else {
                "the results differ"
            };
            return Err(bad(format!(
                "item {:?} appears in {} and {} with different results ({why})",
                l.keys.result.id, prev.source, l.source
            )));
        }
        seen.insert(key, out.len());
        out.push(l);
    }
    Ok((out, dropped))
}

/// Every file position must be present (lines are sorted by position), else name the shards
/// that gave nothing.
fn check_complete(lines: &[Line]) -> Result<()> {
    let Some(first) = lines.first() else {
        return Ok(());
    };
    let (count, files) = (first.keys.shard.count, first.keys.shard.files);
    let mut distinct = 0u64;
    let mut last = None;
    for l in lines {
        if last != Some(l.keys.shard.file) {
            distinct += 1;
            last = Some(l.keys.shard.file);
        }
    }
    let missing = files.saturating_sub(distinct);
    if missing == 0 {
        return Ok(());
    }
    let present: std::collections::HashSet<u64> =
        lines.iter().map(|l| l.keys.shard.index).collect();
    let absent: Vec<String> = (0..count)
        .filter(|s| !present.contains(s))
        .take(20)
        .map(|s| format!("{s}/{count}"))
        .collect();
    Err(bad(format!(
        "incomplete: {missing} of {files} input files have no line; shards with no lines: {}",
        if absent.is_empty() {
            "none (a shard's output was cut short?)".to_string()
        } else {
            absent.join(", ")
        }
    )))
}

/// Order by an uncertainty measure, most uncertain first, failed items last (as
/// `score --sort`).
fn sort_by_measure(lines: Vec<Line>, m: Measure) -> Vec<Line> {
    let results: Vec<ItemResult> = lines.iter().map(|l| l.keys.result.clone()).collect();
    let keys = crate::cli::queue_keys(&results, m);
    let mut keyed: Vec<(usize, Line)> = keys.into_iter().zip(lines).collect();
    keyed.sort_by_key(|(k, _)| *k);
    keyed.into_iter().map(|(_, l)| l).collect()
}

/// The `merge` command: read shard outputs, check they are one run, write one output.
pub fn merge_cmd(
    inputs: &[PathBuf],
    out: Option<&Path>,
    sort: Option<Measure>,
    quiet: bool,
) -> Result<()> {
    let mut lines = Vec::new();
    for p in inputs {
        read_lines(p, &mut lines)?;
    }
    check_same_run(&lines)?;
    let (lines, dropped) = order_and_dedup(lines)?;
    check_complete(&lines)?;
    let lines = match sort {
        Some(m) => sort_by_measure(lines, m),
        None => lines,
    };
    let sink: Box<dyn Write> = match out {
        Some(p) => Box::new(std::fs::File::create(p).map_err(|e| io_err(p, e))?),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut w = BufWriter::new(sink);
    let werr = |e: std::io::Error| Error::new(ErrorKind::Io, format!("writing results: {e}"));
    for l in &lines {
        w.write_all(l.text.as_bytes()).map_err(werr)?;
        w.write_all(b"\n").map_err(werr)?;
    }
    w.flush().map_err(werr)?;
    if !quiet {
        eprintln!(
            "merged {} line(s) from {} file(s), {dropped} duplicate(s) dropped",
            lines.len(),
            inputs.len()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_shards() {
        assert_eq!("2/4".parse::<Shard>(), Ok(Shard { index: 2, count: 4 }));
        for bad in ["4/4", "0/0", "x/4", "1", "-1/4", "0/99999999999"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn every_hash_has_exactly_one_shard() {
        for n in 1..9u64 {
            for id in ["a", "b", "c.png", "d/e.dcm#3"] {
                let h = sha256_hex(id.as_bytes());
                let owners = (0..n)
                    .filter(|&i| Shard { index: i, count: n }.owns(Some(&h), id))
                    .count();
                assert_eq!(owners, 1);
                let owners = (0..n)
                    .filter(|&i| Shard { index: i, count: n }.owns(None, id))
                    .count();
                assert_eq!(owners, 1);
            }
        }
    }

    #[test]
    fn ensemble_key_depends_on_member_order() {
        let a = RunKeys::new(&["aa", "bb"], b"{}");
        let b = RunKeys::new(&["bb", "aa"], b"{}");
        assert_ne!(a.model_sha256, b.model_sha256);
        assert_eq!(RunKeys::new(&["aa"], b"{}").model_sha256, "aa");
    }
}
