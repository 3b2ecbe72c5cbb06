//! The budget: upper bounds checked *before* anything sized by the input is allocated, so a
//! hostile model, image, table or option value gets a typed error instead of an allocation
//! failure (which aborts the process natively and poisons the instance in wasm), a hang or a
//! panic. The CLI and the JS API share these checks.
//!
//! Every refusal is an [`Error`] whose message names the limit and the value, e.g.
//! `"number of classes is 1000000000000, limit is 4096 (limits::MAX_CLASSES)"`.
//!
//! | what | limit | why |
//! |---|---|---|
//! | classes `K` in a table or a request | [`MAX_CLASSES`] = 4096 | several analyses keep `K x K` matrices (confident joint, confusion, Dawid-Skene confusions per annotator) |
//! | cells `n x K` of a probability table | [`MAX_TABLE_CELLS`] = 10^8 | 800 MB as f64; the wasm address space is 4 GB |
//! | a table read from a file (`.npy` / `.csv`) | [`MAX_TABLE_BYTES`] = 2 GiB, plus the shape checks above | the header's claims are checked against the file's length first |
//! | worker threads (`--threads`) | [`MAX_THREADS`] = 256 | a thread costs a stack; `10^6` of them is a hang |
//! | iterations of an iterative fit (`nIter`, `maxIter`) | [`MAX_ITERATIONS`] = 10^6 | with a negative tolerance the loop never stops early |
//! | batch sizes (`maxBatch`, review batches) | [`MAX_BATCH`] = 4096 images / [`MAX_ITEMS`] items | a fixed model batch of 10^8 would allocate its input tensor at once |
//! | bins of a reliability diagram, points of a threshold grid (`bins`, `gridSize`) | [`MAX_BINS`] = 10^5 | each is a counter allocated up front |
//! | an item index or a class index read from a request | [`MAX_ITEMS`] = 10^8 items, `K` classes | indices size the arrays built from them |
//! | runs of a `Scan` body per model run (the scanned axis, times every enclosing `Scan`'s) | [`MAX_SCAN_ITERATIONS`] = 10^5 | a scan over a long axis, or scans nested 8 deep, run "forever" (tract has no `Loop`) |
//! | one model tensor (any operator's output, at the batch size used) | `LoadOptions::maxTensorBytes`, default 1 GiB | checked after shape inference, before the model runs |
//! | all of a model's initializers and constants | `LoadOptions::maxModelBytes` (default 512 MiB) | declared sizes, checked before tract reads them |
//! | one image | `ImageLimits` (`maxWidth`, `maxHeight`, `maxAlloc`: the decoded pixels **and** their float copy and resize buffers) | |

use crate::error::{Error, ErrorKind, Result};

/// Most classes a table, a manifest or a request may have.
pub const MAX_CLASSES: usize = 4096;
/// Most cells (`rows x columns`) in one table.
pub const MAX_TABLE_CELLS: u64 = 100_000_000;
/// Most bytes of one table file.
pub const MAX_TABLE_BYTES: u64 = 2 * 1024 * 1024 * 1024;
/// Most items (rows) in a request, and the largest item index.
pub const MAX_ITEMS: u64 = 100_000_000;
/// Most worker threads.
pub const MAX_THREADS: usize = 256;
/// Most iterations of an iterative fit.
pub const MAX_ITERATIONS: u64 = 1_000_000;
/// Largest model batch (free batch `maxBatch`, or a model's fixed batch dimension).
pub const MAX_BATCH: u64 = 4096;
/// Deepest nesting of sub-graphs (`If`, `Loop`, `Scan`) in a model.
pub const MAX_GRAPH_DEPTH: usize = 8;
/// Most bins (calibration reliability bins) or grid points a request may ask for.
pub const MAX_BINS: u64 = 100_000;
/// Most runs of a `Scan` body per model run (nested `Scan`s multiply).
pub const MAX_SCAN_ITERATIONS: u64 = 100_000;

/// Refuse `value > limit` with an error of `kind` naming `what`, the value and the limit.
pub fn at_most(kind: ErrorKind, what: &str, value: u64, limit: u64, name: &str) -> Result<()> {
    if value > limit {
        return Err(Error::new(
            kind,
            format!("{what} is {value}, limit is {limit} ({name})"),
        ));
    }
    Ok(())
}

/// The number of classes `k` of a table or request (`invalid_input` above [`MAX_CLASSES`]).
pub fn classes(k: u64) -> Result<()> {
    at_most(
        ErrorKind::InvalidInput,
        "number of classes",
        k,
        MAX_CLASSES as u64,
        "limits::MAX_CLASSES",
    )
}

/// A table of `rows x cols` cells (`invalid_input` when too many).
pub fn table(rows: u64, cols: u64) -> Result<()> {
    let cells = rows.saturating_mul(cols);
    at_most(
        ErrorKind::InvalidInput,
        &format!("table size {rows} x {cols}"),
        cells,
        MAX_TABLE_CELLS,
        "limits::MAX_TABLE_CELLS",
    )
}

/// A probability table of `n` rows and `k` classes: both [`classes`] and [`table`].
pub fn prob_table(n: u64, k: u64) -> Result<()> {
    classes(k)?;
    table(n, k)
}

/// A number of items (rows) or an item index (`invalid_input` above [`MAX_ITEMS`]).
pub fn items(what: &str, n: u64) -> Result<()> {
    at_most(
        ErrorKind::InvalidInput,
        what,
        n,
        MAX_ITEMS,
        "limits::MAX_ITEMS",
    )
}

/// A class index `c` against `k` classes (`invalid_input` when `c >= k`).
pub fn class_index(what: &str, c: u64, k: u64) -> Result<()> {
    if c >= k {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!("{what}: class index {c} is out of range for {k} classes"),
        ));
    }
    Ok(())
}

/// A thread count option (`invalid_options`: 1 to [`MAX_THREADS`]).
pub fn threads(what: &str, n: u64) -> Result<()> {
    if n == 0 {
        return Err(Error::new(
            ErrorKind::InvalidOptions,
            format!("{what} must be at least 1"),
        ));
    }
    at_most(
        ErrorKind::InvalidOptions,
        what,
        n,
        MAX_THREADS as u64,
        "limits::MAX_THREADS",
    )
}

/// An iteration count option (`invalid_options` above [`MAX_ITERATIONS`]).
pub fn iterations(what: &str, n: u64) -> Result<()> {
    at_most(
        ErrorKind::InvalidOptions,
        what,
        n,
        MAX_ITERATIONS,
        "limits::MAX_ITERATIONS",
    )
}

/// A tolerance option: finite and >= 0 (`invalid_options`).
pub fn tolerance(what: &str, tol: f64) -> Result<()> {
    if !(tol.is_finite() && tol >= 0.0) {
        return Err(Error::new(
            ErrorKind::InvalidOptions,
            format!("{what} must be finite and >= 0, got {tol}"),
        ));
    }
    Ok(())
}

/// A batch size option (`invalid_options`: 1 to `limit`).
pub fn batch(what: &str, n: u64, limit: u64, name: &str) -> Result<()> {
    if n == 0 {
        return Err(Error::new(
            ErrorKind::InvalidOptions,
            format!("{what} must be at least 1"),
        ));
    }
    at_most(ErrorKind::InvalidOptions, what, n, limit, name)
}

/// A buffer of `len` elements of `T`, reserved with `try_reserve` so a size computed from
/// the input fails with a typed error instead of aborting.
pub fn vec_with_capacity<T>(kind: ErrorKind, what: &str, len: usize) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| {
        Error::new(
            kind,
            format!(
                "{what}: cannot allocate {len} x {} bytes",
                std::mem::size_of::<T>()
            ),
        )
    })?;
    Ok(v)
}

/// The same bounds applied while a request is read (`#[serde(deserialize_with = ...)]` on
/// its fields), so a JS request and a CLI flag or JSON file meet them at the one door both go
/// through: serde. The refusal is a deserialization error, which both faces report as
/// `invalid_options` with the limit and the value, e.g. `nIter is 1000000000000000000, limit
/// is 1000000 (limits::MAX_ITERATIONS)`. Each function takes `usize`, `Option<usize>`,
/// or any nesting of `Vec` and `Option` around it (`Vec<Vec<usize>>`: a set of indices per item) (`f64` / `Option<f64>` for [`de::tolerance`]).
pub mod de {
    use serde::de::{DeserializeOwned, Error as _};
    use serde::{Deserialize, Deserializer};

    type Check<'a> = &'a dyn Fn(u64) -> crate::error::Result<()>;

    /// A field type holding integers (one, none or many, at any depth of `Vec` / `Option`):
    /// read as `u64` first, so a value beyond `usize` (in wasm, 32 bits) meets the limit, not
    /// a type error, then narrowed.
    pub trait Values: Sized {
        /// The same shape with `u64` in place of `usize`.
        type Wide: DeserializeOwned;
        /// The largest value held (the one a limit is checked against).
        fn largest(w: &Self::Wide) -> Option<u64>;
        /// Convert, once the largest value passed the check.
        fn convert(w: Self::Wide) -> crate::error::Result<Self>;
        /// Check the largest value, then convert.
        fn narrow(w: Self::Wide, check: Check<'_>) -> crate::error::Result<Self> {
            if let Some(m) = Self::largest(&w) {
                check(m)?;
            }
            Self::convert(w)
        }
    }
    impl Values for usize {
        type Wide = u64;
        fn largest(w: &u64) -> Option<u64> {
            Some(*w)
        }
        fn convert(v: u64) -> crate::error::Result<Self> {
            // every limit is far below u32::MAX: the conversion cannot fail after the check
            usize::try_from(v).map_err(|_| crate::error::err!(InvalidOptions, "{v} does not fit"))
        }
    }
    impl<T: Values> Values for Vec<T> {
        type Wide = Vec<T::Wide>;
        fn largest(w: &Self::Wide) -> Option<u64> {
            w.iter().filter_map(T::largest).max()
        }
        fn convert(w: Self::Wide) -> crate::error::Result<Self> {
            w.into_iter().map(T::convert).collect()
        }
    }
    impl<T: Values> Values for Option<T> {
        type Wide = Option<T::Wide>;
        fn largest(w: &Self::Wide) -> Option<u64> {
            w.as_ref().and_then(T::largest)
        }
        fn convert(w: Self::Wide) -> crate::error::Result<Self> {
            w.map(T::convert).transpose()
        }
    }

    fn bounded<'de, D, T>(d: D, check: Check<'_>) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: Values,
    {
        let w = T::Wide::deserialize(d)?;
        T::narrow(w, check).map_err(|e| D::Error::custom(e.message()))
    }

    /// An item index or a number of items: at most [`super::MAX_ITEMS`].
    pub fn item<'de, D, T>(d: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: Values,
    {
        bounded(d, &|x| super::items("an item index or count", x))
    }

    /// A number of classes: at most [`super::MAX_CLASSES`].
    pub fn classes<'de, D, T>(d: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: Values,
    {
        bounded(d, &super::classes)
    }

    /// A class index: below [`super::MAX_CLASSES`] (no table has more classes).
    pub fn class<'de, D, T>(d: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: Values,
    {
        bounded(d, &|c| {
            super::at_most(
                crate::error::ErrorKind::InvalidInput,
                "a class index",
                c,
                super::MAX_CLASSES as u64 - 1,
                "limits::MAX_CLASSES - 1",
            )
        })
    }

    /// A number of bins or grid points: at most [`super::MAX_BINS`].
    pub fn bins<'de, D, T>(d: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: Values,
    {
        bounded(d, &|b| {
            super::at_most(
                crate::error::ErrorKind::InvalidOptions,
                "a number of bins",
                b,
                super::MAX_BINS,
                "limits::MAX_BINS",
            )
        })
    }

    /// An iteration count (`nIter`, `iterations`): at most [`super::MAX_ITERATIONS`].
    pub fn iterations<'de, D, T>(d: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: Values,
    {
        bounded(d, &|n| super::iterations("an iteration count", n))
    }

    /// A tolerance: finite and `>= 0`.
    pub fn tolerance<'de, D>(d: D) -> Result<f64, D::Error>
    where
        D: Deserializer<'de>,
    {
        let t = f64::deserialize(d)?;
        super::tolerance("a tolerance", t).map_err(|e| D::Error::custom(e.message()))?;
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_name_the_limit_and_the_value() {
        let e = classes(1_000_000_000_000).unwrap_err();
        assert_eq!(e.code(), "invalid_input");
        assert!(e.message().contains("1000000000000"), "{e}");
        assert!(e.message().contains("MAX_CLASSES"), "{e}");
        assert!(classes(4096).is_ok());
        let e = prob_table(2, 1_000_000).unwrap_err();
        assert!(e.message().contains("1000000"), "{e}");
        let e = table(1_000_000, 1000).unwrap_err();
        assert!(e.message().contains("1000000 x 1000"), "{e}");
        assert!(table(u64::MAX, u64::MAX).is_err());
        assert_eq!(
            threads("--threads", 1_000_000).unwrap_err().code(),
            "invalid_options"
        );
        assert!(threads("--threads", 0).is_err() && threads("--threads", 8).is_ok());
        assert!(iterations("nIter", 1_000_000_000_000_000_000).is_err());
        assert!(tolerance("tol", -1.0).is_err() && tolerance("tol", f64::NAN).is_err());
        assert!(tolerance("tol", 0.0).is_ok());
        assert!(class_index("row 3", 4_000_000_000, 10).is_err());
        assert!(class_index("row 3", 9, 10).is_ok());
        let e =
            vec_with_capacity::<f64>(ErrorKind::InvalidInput, "table", usize::MAX / 2).unwrap_err();
        assert_eq!(e.code(), "invalid_input");
    }
}
