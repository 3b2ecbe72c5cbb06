//! The integration suite, one test binary: it runs natively (`cargo test`) and, unchanged, in
//! headless Chromium (`wasm-pack test --headless --chrome --test suite`), where it proves that
//! the engine compiled to wasm gives the same answers as the reference libraries.
//!
//! Every fixture and golden file is compiled in (`include_bytes!` / `include_str!`): the
//! browser has no file system.

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

/// Reading golden JSON values.
mod json;

/// The fixture files as bytes.
#[cfg(feature = "onnx")]
mod fixtures;

/// Scoring, ranking and bad inputs on the real fixture model against onnxruntime.
#[cfg(feature = "onnx")]
mod engine;

/// Every row of `tests/fixtures/bad/README.md`, each failing with its code.
#[cfg(feature = "onnx")]
mod bad;

/// Ensembles and test-time augmentation against onnxruntime.
#[cfg(feature = "onnx")]
mod tta;

/// Multi-row uncertainty, temperature scaling, conformal sets, auto-accept.
mod calib;

/// Confident learning, outliers, near-duplicates, per-class analysis against cleanlab.
mod labels;

/// Annotation consensus against crowd-kit, cleanlab, sklearn, statsmodels, krippendorff.
mod consensus;

/// Batch selection against modAL, scikit-activeml and the BADGE reference.
mod select;

/// The review queue: tiers, rounds and the stopping rule, exports.
mod queue;

/// The multi-label review queue: tiers, rounds, exports, Label Studio round trip.
mod ml_queue;

/// Multi-label scoring of a real ONNX model with a multi-label head against onnxruntime.
#[cfg(feature = "onnx")]
mod ml_score;
