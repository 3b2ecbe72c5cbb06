//! Manifest and options parsing: any text must parse or give a typed error.
#![no_main]
use libfuzzer_sys::fuzz_target;
use medtriage::engine::image::ImageLimits;
use medtriage::engine::manifest::Manifest;
use medtriage::engine::score::ScoreOptions;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(m) = Manifest::from_json(text) {
        // a valid manifest's transforms apply to a tensor of its size without a panic
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
});
