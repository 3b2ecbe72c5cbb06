//! DICOM Part 10 parsing and decoding (`--features dicom`: every codec): any bytes must give
//! model-ready pixels or a typed error, and no error may quote a patient field.
#![no_main]
use libfuzzer_sys::fuzz_target;
use medtriage::engine::dicom::{frames, DicomOptions, FrameChoice};
use medtriage::engine::image::ImageLimits;
use medtriage::engine::manifest::Channels;

fuzz_target!(|data: &[u8]| {
    // small limits: the fuzzer's allocation cap stays far above what is accepted
    let limits = ImageLimits {
        max_width: 4096,
        max_height: 4096,
        max_alloc: 64 * 1024 * 1024,
    };
    for (frame, channels) in [
        (FrameChoice::First, Channels::Gray),
        (FrameChoice::Middle, Channels::Rgb),
    ] {
        let opts = DicomOptions {
            frame,
            ..DicomOptions::default()
        };
        match frames(data, &opts, &limits, channels) {
            Ok(f) => assert_eq!(f.len(), 1),
            // the seed corpus carries the canary patient name of canary.dcm
            Err(e) => assert!(!e.message().contains("CANARY"), "{e}"),
        }
    }
});
