//! Image decoding and preprocessing: any bytes must give a tensor or a typed error.
#![no_main]
use libfuzzer_sys::fuzz_target;
use medtriage::engine::image::{preprocess_encoded, ImageLimits};
use medtriage::engine::manifest::Manifest;

const MANIFEST: &str = r#"{"input":{"width":16,"height":16,"layout":"nchw","channels":"gray","mean":[0.5],"std":[0.5],"resize":{"mode":"shorterSideCrop"}},"output":{"kind":"logits","classes":["a","b"]}}"#;

fuzz_target!(|data: &[u8]| {
    let Ok(m) = Manifest::from_json(MANIFEST) else {
        return;
    };
    // small limits: the fuzzer's allocation cap stays far above what is accepted
    let limits = ImageLimits {
        max_width: 4096,
        max_height: 4096,
        max_alloc: 64 * 1024 * 1024,
    };
    if let Ok(t) = preprocess_encoded(data, &m.input, &limits) {
        assert_eq!(t.len(), 16 * 16);
    }
});
