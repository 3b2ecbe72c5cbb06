//! Scoring speed natively: median ms per image (decode/preprocess + inference + softmax), one
//! thread, after warm-up. Printed, not asserted.
//!   cargo run --release --example bench_score -- MODEL.onnx MANIFEST.json [IMAGE.png|rgba:WxH] [runs]
use std::time::Instant;

use medtriage::engine::manifest::Manifest;
use medtriage::engine::model::LoadOptions;
use medtriage::engine::score::{ImageInput, ScoreOptions, Scorer};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: bench_score MODEL MANIFEST IMAGE|rgba:WxH [runs]");
        std::process::exit(2);
    }
    let model = std::fs::read(&args[1])?;
    let manifest = Manifest::from_json(&std::fs::read_to_string(&args[2])?)?;
    let runs: usize = args.get(4).map(|s| s.parse()).transpose()?.unwrap_or(30);
    let t = Instant::now();
    let scorer = Scorer::new(&model, manifest, &LoadOptions::default())?;
    let load_ms = t.elapsed().as_secs_f64() * 1e3;
    let (bytes, wh) = match args[3].strip_prefix("rgba:") {
        Some(dim) => {
            let (w, h) = dim.split_once('x').ok_or("rgba:WxH")?;
            let (w, h): (u32, u32) = (w.parse()?, h.parse()?);
            // seeded pseudo-random pixels (splitmix-like), the same as www/bench.js
            let mut s: u32 = 12345;
            let px: Vec<u8> = (0..w * h * 4)
                .map(|_| {
                    s = s.wrapping_mul(1664525).wrapping_add(1013904223);
                    (s >> 24) as u8
                })
                .collect();
            (px, Some((w, h)))
        }
        None => (std::fs::read(&args[3])?, None),
    };
    let input = match wh {
        Some((width, height)) => ImageInput::Rgba {
            pixels: &bytes,
            width,
            height,
        },
        None => ImageInput::Encoded(&bytes),
    };
    let opts = ScoreOptions::default();
    for _ in 0..3 {
        scorer.score(input, &opts)?;
    }
    let mut ms = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        scorer.score(input, &opts)?;
        ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    ms.sort_by(f64::total_cmp);
    // inference + softmax only, on the already preprocessed tensor
    let tensor = scorer.preprocess(input, &opts)?;
    let mut inf = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        let r = scorer.score_tensors(&[&tensor], &opts);
        inf.push(t.elapsed().as_secs_f64() * 1e3);
        if let Some(Err(e)) = r.into_iter().next() {
            return Err(e.into());
        }
    }
    inf.sort_by(f64::total_cmp);
    println!(
        "{{\"model\":{:?},\"loadMs\":{load_ms:.1},\"medianMs\":{:.3},\"minMs\":{:.3},\"medianInferenceMs\":{:.3},\"runs\":{runs}}}",
        args[1],
        ms[ms.len() / 2],
        ms[0],
        inf[inf.len() / 2]
    );
    Ok(())
}
