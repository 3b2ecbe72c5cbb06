//! Model loading: any bytes must load or give a typed error (`--features onnx`), and
//! tract must never panic (our checks refuse what would make it panic: a trap in wasm).
#![no_main]
use libfuzzer_sys::fuzz_target;
use medtriage::engine::manifest::Manifest;
use medtriage::engine::model::{LoadOptions, Model};

const MANIFEST: &str = r#"{"input":{"width":32,"height":32,"layout":"nchw","channels":"gray","mean":[0.5],"std":[0.5],"resize":{"mode":"stretch"}},"output":{"kind":"logits","classes":["0","1","2","3","4","5","6","7","8","9"]}}"#;

fuzz_target!(|data: &[u8]| {
    let Ok(m) = Manifest::from_json(MANIFEST) else {
        return;
    };
    let opts = LoadOptions {
        max_model_bytes: 16 * 1024 * 1024,
        max_tensor_bytes: 64 * 1024 * 1024,
        ..Default::default()
    };
    // a panic inside tract is caught natively but is a trap in wasm: report it as a crash
    match Model::load(data, m, &opts) {
        Ok(model) => {
            let x = vec![0.0f32; model.image_len()];
            if let Err(e) = model.run(&[&x]) {
                assert!(e.code() != "inference_panicked", "{e}");
            }
        }
        Err(e) => assert!(!e.message().contains("crashed the ONNX loader"), "{e}"),
    }
});
