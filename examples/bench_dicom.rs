//! Decode time of DICOM files, natively: `cargo run --release --example bench_dicom -- FILE...`
//! (scripts/bench_dicom.sh passes the benchmark files from the pydicom-data wheel and prints
//! pydicom's times for the same files alongside). Median of 3 runs, every frame decoded and
//! windowed to model input (gray, the file's window).

use std::time::Instant;

use medtriage::engine::dicom::{self, DicomOptions, FrameChoice};
use medtriage::engine::image::ImageLimits;
use medtriage::engine::manifest::Channels;

fn main() {
    let opts = DicomOptions {
        frame: FrameChoice::Each,
        ..Default::default()
    };
    for path in std::env::args().skip(1) {
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("{path}: {e}");
                continue;
            }
        };
        let mut ms = Vec::new();
        let mut frames = 0;
        for _ in 0..3 {
            let t = Instant::now();
            match dicom::frames(&bytes, &opts, &ImageLimits::default(), Channels::Gray) {
                Ok(f) => frames = f.len(),
                Err(e) => {
                    eprintln!("{path}: {e}");
                    break;
                }
            }
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        ms.sort_by(f64::total_cmp);
        if let Some(m) = ms.get(ms.len() / 2) {
            let name = path.rsplit('/').next().unwrap_or(&path);
            println!("{name}: {frames} frame(s), {m:.1} ms (medtriage native)");
        }
    }
}
