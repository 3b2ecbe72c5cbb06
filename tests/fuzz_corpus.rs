//! Replays the fuzz corpus and every crash the fuzzers found (`fuzz/corpus/<target>/`,
//! `fuzz/regressions/<target>/`) through the same calls as the fuzz targets, on stable and
//! without fuzzing: each input must give a value or a typed error, never a panic.
#![cfg(not(target_arch = "wasm32"))]

use std::path::Path;

use medtriage::engine::image::{preprocess_encoded, ImageLimits};
use medtriage::engine::manifest::Manifest;
use medtriage::engine::score::ScoreOptions;

const IMAGE_MANIFEST: &str = r#"{"input":{"width":16,"height":16,"layout":"nchw","channels":"gray","mean":[0.5],"std":[0.5],"resize":{"mode":"shorterSideCrop"}},"output":{"kind":"logits","classes":["a","b"]}}"#;

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut out = Vec::new();
    for dir in ["corpus", "regressions"] {
        let Ok(rd) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        for e in rd.flatten() {
            if e.path().is_file() {
                out.push((
                    e.path().display().to_string(),
                    std::fs::read(e.path()).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn image_corpus_and_regressions() {
    let m = Manifest::from_json(IMAGE_MANIFEST).unwrap();
    let limits = ImageLimits {
        max_width: 4096,
        max_height: 4096,
        max_alloc: 64 * 1024 * 1024,
    };
    let all = inputs("image");
    assert!(all.len() >= 4, "the image corpus is missing");
    for (name, data) in all {
        if let Ok(t) = preprocess_encoded(&data, &m.input, &limits) {
            assert_eq!(t.len(), 256, "{name}");
        }
    }
}

#[test]
fn manifest_corpus_and_regressions() {
    let all = inputs("manifest");
    assert!(!all.is_empty(), "the manifest corpus is missing");
    for (_name, data) in all {
        let Ok(text) = std::str::from_utf8(&data) else {
            continue;
        };
        if let Ok(m) = Manifest::from_json(text) {
            let n = m.input.channels.count() * m.input.width as usize * m.input.height as usize;
            if n <= 1 << 16 {
                let x = vec![0.5f32; n];
                for t in m.transforms() {
                    let _ = t.apply(&x, &m.input);
                }
            }
        }
        let _ = medtriage::error::object_from_json::<ScoreOptions>(text, "options");
        let _ = medtriage::error::object_from_json::<ImageLimits>(text, "limits");
    }
}

#[path = "../src/bin/medtriage/io.rs"]
#[allow(dead_code)]
mod io;

#[test]
fn table_corpus_and_regressions() {
    let all = inputs("table");
    assert!(all.len() >= 4, "the table corpus is missing");
    for (name, data) in all {
        if let Ok((shape, values)) = io::npy_from_bytes(Path::new("fuzz.npy"), &data) {
            assert_eq!(
                shape.iter().product::<u64>() as usize,
                values.len(),
                "{name}"
            );
        }
        if let Ok((shape, values)) = io::csv_from_bytes(Path::new("fuzz.csv"), &data) {
            assert_eq!((shape[0] * shape[1]) as usize, values.len(), "{name}");
        }
    }
}

#[cfg(feature = "onnx")]
#[test]
fn model_corpus_and_regressions() {
    use medtriage::engine::model::{LoadOptions, Model};
    let manifest = r#"{"input":{"width":32,"height":32,"layout":"nchw","channels":"gray","mean":[0.5],"std":[0.5],"resize":{"mode":"stretch"}},"output":{"kind":"logits","classes":["0","1","2","3","4","5","6","7","8","9"]}}"#;
    let opts = LoadOptions {
        max_model_bytes: 16 * 1024 * 1024,
        max_tensor_bytes: 64 * 1024 * 1024,
        ..Default::default()
    };
    for (_name, data) in inputs("model") {
        let m = Manifest::from_json(manifest).unwrap();
        match Model::load(&data, m, &opts) {
            Ok(model) => {
                let x = vec![0.0f32; model.image_len()];
                if let Err(e) = model.run(&[&x]) {
                    assert!(e.code() != "inference_panicked", "{_name}: {e}");
                }
            }
            // tract's panics are caught natively but trap in wasm: our checks must come first
            Err(e) => assert!(
                !e.message().contains("crashed the ONNX loader"),
                "{_name}: {e}"
            ),
        }
    }
}

#[cfg(feature = "dicom")]
#[test]
fn dicom_corpus_and_regressions() {
    use medtriage::engine::dicom::{frames, DicomOptions, FrameChoice};
    use medtriage::engine::manifest::Channels;
    let limits = ImageLimits {
        max_width: 4096,
        max_height: 4096,
        max_alloc: 64 * 1024 * 1024,
    };
    let all = inputs("dicom");
    assert!(all.len() >= 4, "the DICOM corpus is missing");
    for (name, data) in all {
        for (frame, channels) in [
            (FrameChoice::First, Channels::Gray),
            (FrameChoice::Middle, Channels::Rgb),
        ] {
            let opts = DicomOptions {
                frame,
                ..DicomOptions::default()
            };
            match frames(&data, &opts, &limits, channels) {
                Ok(f) => assert_eq!(f.len(), 1, "{name}"),
                Err(e) => assert!(!e.message().contains("CANARY"), "{name}: {e}"),
            }
        }
    }
}
