//! Where inference time goes natively: tract's optimized plan run node by node (the engine's
//! `Model::profile`, the same code the wasm `Scorer.profileTensor` runs with the browser's
//! clock), on a seeded random input in the model's value range. Printed, not asserted.
//!   cargo run --release --example op_profile -- MODEL.onnx MANIFEST.json [runs]
use std::time::Instant;

use medtriage::engine::manifest::Manifest;
use medtriage::engine::model::{LoadOptions, Model};
use medtriage::engine::profile::ProfileOptions;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: op_profile MODEL.onnx MANIFEST.json [runs]");
        std::process::exit(2);
    }
    let bytes = std::fs::read(&args[1])?;
    let manifest = Manifest::from_json(&std::fs::read_to_string(&args[2])?)?;
    let runs: usize = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(10);
    let model = Model::load(&bytes, manifest, &LoadOptions::default())?;
    // the same input as the browser benchmark: [-2, 2) for ImageNet-normalized models, [0, 1)
    // for models fed pixels / 255
    let unit = model.manifest().input.mean.iter().all(|&m| m == 0.0);
    let mut s: u32 = 12345;
    let x: Vec<f32> = (0..model.image_len())
        .map(|_| {
            s = s.wrapping_mul(1664525).wrapping_add(1013904223);
            let u = (s >> 8) as f32 / 16_777_216.0;
            if unit {
                u
            } else {
                u * 4.0 - 2.0
            }
        })
        .collect();
    let t0 = Instant::now();
    let now = move || t0.elapsed().as_secs_f64() * 1e3;
    let opts = ProfileOptions {
        runs,
        top_nodes: 10,
    };
    let p = model.profile(&x, &opts, &now)?;
    println!(
        "{}: {:.2} ms per run, {:.2} ms in nodes ({} runs)",
        args[1], p.run_ms, p.nodes_ms, p.runs
    );
    println!("| operator | nodes | ms per run | share |\n|---|---|---|---|");
    for o in &p.ops {
        println!(
            "| {} | {} | {:.3} | {:.1}% |",
            o.op,
            o.nodes,
            o.ms,
            100.0 * o.share
        );
    }
    println!("slowest nodes:");
    for n in &p.slowest {
        println!("  {:.3} ms  {} ({})", n.ms, n.name, n.op);
    }
    Ok(())
}
