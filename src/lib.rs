//! # medtriage
//!
//! Score medical images with an ONNX model inside the browser (tract compiled to
//! WebAssembly), then rank and flag them for human review. No image, score or label leaves
//! the page.
//!
//! The crate has three faces:
//! - [`engine`]: pure Rust, no wasm-bindgen, no file paths: bytes, slices and structs in,
//!   [`Result`] out;
//! - `wasm` (wasm32 only): the thin wasm-bindgen layer (the npm package's ES module);
//! - the `medtriage` CLI (native only): batch work on a workstation.
//!
//! ```
//! use medtriage::engine::uncertainty::{softmax, RowUncertainty};
//! let p = softmax(&[2.0, 1.0, 0.1]).unwrap();
//! let u = RowUncertainty::of(&p);
//! assert!(u.entropy > 0.0 && u.entropy <= (3f64).ln());
//! assert!((u.least_confidence - (1.0 - p[0] as f64)).abs() < 1e-12);
//! ```
#![deny(missing_docs)]
// No unwrap()/expect() outside tests: bad input must give a typed error, never a panic
// (clippy --all-targets -D warnings in scripts/test.sh keeps it so).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod engine;
pub mod error;
#[cfg(feature = "typescript")]
pub mod typescript;

pub use error::{Error, ErrorKind, Result};

#[cfg(target_arch = "wasm32")]
mod wasm;
