//! The pure Rust engine: no wasm-bindgen, no file system.

pub mod consensus;
pub mod dicom;
pub mod grouping;
pub mod image;
mod jpeg_scan;
pub mod limits;
pub mod manifest;
#[cfg(feature = "onnx")]
pub mod model;
pub mod multilabel;
#[cfg(feature = "onnx")]
pub mod onnx_check;
pub mod probs;
#[cfg(feature = "onnx")]
pub mod profile;
pub mod queue;
pub mod resample;
pub mod score;
pub mod triage;
pub mod uncertainty;
