//! Reading arrays and tables for the CLI: `.npy` (NumPy, any numeric dtype, C order) and
//! `.csv` (numbers, optional header row). Shared by every subcommand. C- and Fortran-order
//! `.npy` files are both read into row-major order.

use std::path::Path;

use medtriage::engine::limits;
use medtriage::{Error, ErrorKind, Result};

/// The output format of a table-like result.
#[derive(Clone, Copy, clap::ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// The engine's JSON response.
    Json,
    /// One CSV row per item.
    Csv,
}

/// A dense row-major matrix of f64.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<f64>,
}

impl Matrix {
    pub fn row(&self, i: usize) -> &[f64] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }
}

/// `value_parser` of a flag holding a number of items or an item index: the same bound
/// ([`limits::MAX_ITEMS`]) the JS API's requests meet.
pub fn items_flag(s: &str) -> std::result::Result<usize, String> {
    let n: usize = s.parse().map_err(|e| format!("{e}"))?;
    limits::items("the value", n as u64).map_err(|e| e.message().to_string())?;
    Ok(n)
}

/// `value_parser` of a flag holding a number of classes (at most [`limits::MAX_CLASSES`]).
pub fn classes_flag(s: &str) -> std::result::Result<usize, String> {
    let n: usize = s.parse().map_err(|e| format!("{e}"))?;
    limits::classes(n as u64).map_err(|e| e.message().to_string())?;
    Ok(n)
}

/// An engine error read back in the CLI's words: each request field name in `names` (as the
/// JS API spells it, e.g. `verified.labels`) becomes the flag and file that gave it (e.g.
/// `--verified-labels labels.csv`). Only whole names are replaced.
pub fn name_flags(e: Error, names: &[(&str, String)]) -> Error {
    let mut msg = e.message().to_string();
    let mut order: Vec<&(&str, String)> = names.iter().collect();
    order.sort_by_key(|(api, _)| std::cmp::Reverse(api.len()));
    for (api, flag) in order {
        msg = replace_word(&msg, api, flag);
    }
    Error::new(e.kind(), msg)
}

fn replace_word(text: &str, word: &str, by: &str) -> String {
    let ident = |c: char| c.is_alphanumeric() || c == '_' || c == '.' || c == '-';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(word) {
        let before = rest[..i].chars().next_back();
        let after = rest[i + word.len()..].chars().next();
        let whole = !before.is_some_and(ident) && !after.is_some_and(|c| ident(c) && c != '.');
        out.push_str(&rest[..i]);
        out.push_str(if whole { by } else { word });
        rest = &rest[i + word.len()..];
    }
    out.push_str(rest);
    out
}

/// An engine error met by a command that read `files` (flag, path) and took its options
/// from `options` (e.g. `"--options"`): a data error is prefixed with the flags and files
/// the data came from, an options error with the options flag, so every CLI error names
/// the flag and the file. An error already naming a flag is left as it is.
pub fn cli_context(e: Error, files: &[(&str, &Path)], options: &str) -> Error {
    if e.message().starts_with("--") || e.kind() == ErrorKind::Io {
        return e;
    }
    if e.kind() == ErrorKind::InvalidOptions {
        return e.context(options);
    }
    let named: Vec<String> = files
        .iter()
        .map(|(f, p)| format!("{f} {}", p.display()))
        .collect();
    e.context(named.join(", "))
}

/// An I/O error naming the file.
pub fn io_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Io, format!("{}: {e}", path.display()))
}

fn bad(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::InvalidInput, format!("{}: {e}", path.display()))
}

/// Column-major (Fortran) data of `shape` reordered to row-major.
fn fortran_to_c(shape: &[u64], data: Vec<f64>) -> Vec<f64> {
    let dims: Vec<usize> = shape.iter().map(|&d| d as usize).collect();
    if dims.len() < 2 {
        return data;
    }
    let mut fstride = vec![1usize; dims.len()];
    for a in 1..dims.len() {
        fstride[a] = fstride[a - 1] * dims[a - 1];
    }
    let mut out = Vec::with_capacity(data.len());
    let mut idx = vec![0usize; dims.len()];
    for _ in 0..data.len() {
        let off: usize = idx.iter().zip(&fstride).map(|(i, s)| i * s).sum();
        out.push(data[off]);
        // increment the C-order multi-index
        for a in (0..dims.len()).rev() {
            idx[a] += 1;
            if idx[a] < dims[a] {
                break;
            }
            idx[a] = 0;
        }
    }
    out
}

/// A table file's bytes, refused above [`limits::MAX_TABLE_BYTES`] before reading.
fn read_table_bytes(path: &Path) -> Result<Vec<u8>> {
    let m = std::fs::metadata(path).map_err(|e| io_err(path, e))?;
    if !m.is_file() {
        return Err(io_err(path, "not a regular file"));
    }
    limits::at_most(
        ErrorKind::InvalidInput,
        &format!("{}: file size", path.display()),
        m.len(),
        limits::MAX_TABLE_BYTES,
        "limits::MAX_TABLE_BYTES",
    )?;
    std::fs::read(path).map_err(|e| io_err(path, e))
}

/// The `.npy` header's own length field must fit in the file (a 20-byte file claiming a
/// 4 GB header made the parser allocate 4 GB).
fn check_npy_header(path: &Path, b: &[u8]) -> Result<()> {
    if b.len() < 10 || !b.starts_with(b"\x93NUMPY") {
        return Err(bad(path, "not a .npy file (no \\x93NUMPY magic)"));
    }
    let (start, len) = match b[6] {
        1 => (10usize, u16::from_le_bytes([b[8], b[9]]) as usize),
        2 | 3 if b.len() >= 12 => (12, u32::from_le_bytes([b[8], b[9], b[10], b[11]]) as usize),
        v => return Err(bad(path, format!(".npy version {v} is not supported"))),
    };
    if start.saturating_add(len) > b.len() {
        return Err(bad(
            path,
            format!(
                ".npy header claims {len} bytes, the file has {}",
                b.len() - start
            ),
        ));
    }
    Ok(())
}

fn npy_f64(path: &Path) -> Result<(Vec<u64>, Vec<f64>)> {
    npy_from_bytes(path, &read_table_bytes(path)?)
}

/// A `.npy` file's shape and values (as f64), from its bytes; `path` names it in errors.
/// Every size the header claims is checked against the bytes that are there and the table
/// budget before anything is allocated (the fuzz target `table` calls this directly).
pub fn npy_from_bytes(path: &Path, bytes: &[u8]) -> Result<(Vec<u64>, Vec<f64>)> {
    use npyz::{DType, TypeChar};
    check_npy_header(path, bytes)?;
    let npy = npyz::NpyFile::new(bytes).map_err(|e| bad(path, e))?;
    let fortran = npy.order() == npyz::Order::Fortran;
    let shape = npy.shape().to_vec();
    let (tc, size) = match npy.dtype() {
        DType::Plain(t) => (t.type_char(), t.num_bytes().unwrap_or(0)),
        other => return Err(bad(path, format!("unsupported dtype {other:?}"))),
    };
    // the shape's claim against the bytes that are there, and the table budget
    let count = shape.iter().try_fold(1u64, |a, &d| a.checked_mul(d));
    let need = count.and_then(|c| c.checked_mul(size as u64));
    if need.is_none_or(|n| n > bytes.len() as u64) {
        return Err(bad(
            path,
            format!(
                "shape {shape:?} of {size}-byte values needs more than the file's {} bytes",
                bytes.len()
            ),
        ));
    }
    let cols = if shape.len() >= 2 {
        shape[1..].iter().product()
    } else {
        1
    };
    limits::table(shape.first().copied().unwrap_or(1), cols)
        .map_err(|e| e.context(path.display()))?;
    macro_rules! conv {
        ($t:ty) => {
            npy.into_vec::<$t>()
                .map_err(|e| bad(path, e))?
                .into_iter()
                .map(|v| v as f64)
                .collect()
        };
    }
    let data: Vec<f64> = match (tc, size) {
        (TypeChar::Float, 8) => conv!(f64),
        (TypeChar::Float, 4) => conv!(f32),
        (TypeChar::Int, 8) => conv!(i64),
        (TypeChar::Int, 4) => conv!(i32),
        (TypeChar::Int, 2) => conv!(i16),
        (TypeChar::Int, 1) => conv!(i8),
        (TypeChar::Uint, 8) => conv!(u64),
        (TypeChar::Uint, 4) => conv!(u32),
        (TypeChar::Uint, 2) => conv!(u16),
        (TypeChar::Uint, 1) => conv!(u8),
        (TypeChar::Bool, 1) => npy
            .into_vec::<bool>()
            .map_err(|e| bad(path, e))?
            .into_iter()
            .map(|v| if v { 1.0 } else { 0.0 })
            .collect(),
        (t, s) => return Err(bad(path, format!("unsupported dtype {t:?}{s}"))),
    };
    let data = if fortran {
        fortran_to_c(&shape, data)
    } else {
        data
    };
    Ok((shape, data))
}

fn csv_f64(path: &Path) -> Result<(Vec<u64>, Vec<f64>)> {
    csv_from_bytes(path, &read_table_bytes(path)?)
}

/// A `.csv` table of numbers (optional header row) as `[rows, cols]` and row-major values;
/// `path` names it in errors.
pub fn csv_from_bytes(path: &Path, bytes: &[u8]) -> Result<(Vec<u64>, Vec<f64>)> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(false)
        .from_reader(bytes);
    let mut data = Vec::new();
    let mut rows = 0u64;
    let mut cols = 0u64;
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| bad(path, e))?;
        let parsed: std::result::Result<Vec<f64>, _> =
            rec.iter().map(|f| f.trim().parse::<f64>()).collect();
        match parsed {
            Ok(v) => {
                cols = v.len() as u64;
                data.extend(v);
                rows += 1;
                limits::table(rows, cols).map_err(|e| e.context(path.display()))?;
            }
            // a non-numeric first row is a header
            Err(_) if i == 0 => continue,
            Err(e) => return Err(bad(path, format!("row {}: {e}", i + 1))),
        }
    }
    Ok((vec![rows, cols], data))
}

/// Read a 2-D matrix (`.npy` or `.csv`).
pub fn read_matrix(path: &Path) -> Result<Matrix> {
    let (shape, data) = read_any(path)?;
    match shape.as_slice() {
        [r, c] => Ok(Matrix {
            rows: *r as usize,
            cols: *c as usize,
            data,
        }),
        s => Err(bad(path, format!("expected a 2-D array, got shape {s:?}"))),
    }
}

/// Read a matrix of probabilities or logits: a [`read_matrix`] whose column count is a
/// number of classes, at most [`limits::MAX_CLASSES`] (several analyses keep K x K arrays).
pub fn read_probs(path: &Path) -> Result<Matrix> {
    let m = read_matrix(path)?;
    limits::classes(m.cols as u64).map_err(|e| e.context(path.display()))?;
    Ok(m)
}

/// Read a 1-D vector (`.npy` of shape (n,) or (n, 1); `.csv` with one column).
pub fn read_vector(path: &Path) -> Result<Vec<f64>> {
    let (shape, data) = read_any(path)?;
    match shape.as_slice() {
        [_] | [_, 1] => Ok(data),
        s => Err(bad(path, format!("expected a 1-D array, got shape {s:?}"))),
    }
}

/// Read integer labels (a 1-D vector of non-negative integers).
pub fn read_labels(path: &Path) -> Result<Vec<usize>> {
    read_vector(path)?
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            if v >= 0.0 && v.fract() == 0.0 && v < u32::MAX as f64 {
                Ok(v as usize)
            } else {
                Err(bad(
                    path,
                    format!("row {i}: label {v} is not a non-negative integer"),
                ))
            }
        })
        .collect()
}

/// Read an array of any rank (`.npy`; `.csv` gives 2-D) as (shape, row-major data).
pub fn read_array(path: &Path) -> Result<(Vec<u64>, Vec<f64>)> {
    read_any(path)
}

fn read_any(path: &Path) -> Result<(Vec<u64>, Vec<f64>)> {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("npy") => npy_f64(path),
        Some("csv") | Some("txt") => csv_f64(path),
        _ => Err(bad(path, "expected a .npy or .csv file")),
    }
}

/// Write a JSON value (pretty) to a file or standard output.
pub fn write_json(value: &impl serde::Serialize, out: Option<&Path>) -> Result<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::new(ErrorKind::Io, e.to_string()))?;
    match out {
        Some(p) => std::fs::write(p, text + "\n").map_err(|e| io_err(p, e)),
        None => {
            use std::io::Write;
            // a closed pipe (`| head`) is not worth a panic
            let _ = writeln!(std::io::stdout(), "{text}");
            Ok(())
        }
    }
}

/// A whole text file.
pub fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| io_err(path, e))
}

/// A file to write, or standard output.
pub fn sink(out: Option<&Path>) -> Result<Box<dyn std::io::Write>> {
    Ok(match out {
        Some(p) => Box::new(std::fs::File::create(p).map_err(|e| io_err(p, e))?),
        None => Box::new(std::io::stdout().lock()),
    })
}

/// Write text to a file or standard output (a closed pipe is not an error).
pub fn write_text(text: &str, out: Option<&Path>) -> Result<()> {
    match out {
        Some(p) => std::fs::write(p, text).map_err(|e| io_err(p, e)),
        None => {
            use std::io::Write;
            let _ = std::io::stdout().write_all(text.as_bytes());
            Ok(())
        }
    }
}

/// Write a CSV table (header + rows) to a file or standard output.
pub fn write_csv(
    header: &[&str],
    rows: impl Iterator<Item = Vec<String>>,
    out: Option<&Path>,
) -> Result<()> {
    let cerr = |e: csv::Error| Error::new(ErrorKind::Io, format!("writing CSV: {e}"));
    let mut w = csv::Writer::from_writer(sink(out)?);
    w.write_record(header).map_err(cerr)?;
    for r in rows {
        w.write_record(&r).map_err(cerr)?;
    }
    w.flush()
        .map_err(|e| Error::new(ErrorKind::Io, e.to_string()))
}
