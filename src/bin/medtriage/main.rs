//! The medtriage command-line tool (native only): the only code that touches file paths.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#[cfg(not(target_arch = "wasm32"))]
mod calibrate;
#[cfg(not(target_arch = "wasm32"))]
mod cli;
#[cfg(not(target_arch = "wasm32"))]
mod consensus;
#[cfg(not(target_arch = "wasm32"))]
#[allow(dead_code)]
mod io;
#[cfg(not(target_arch = "wasm32"))]
mod multilabel;
#[cfg(not(target_arch = "wasm32"))]
mod queue;
#[cfg(not(target_arch = "wasm32"))]
mod results;
#[cfg(not(target_arch = "wasm32"))]
mod select;
#[cfg(not(target_arch = "wasm32"))]
mod shard;
#[cfg(not(target_arch = "wasm32"))]
mod triage;

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    std::process::exit(cli::main());
}

#[cfg(target_arch = "wasm32")]
fn main() {}
