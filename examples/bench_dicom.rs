//! DICOM decode time, natively: `cargo run --release --example bench_dicom -- RUNS FILE...`
//! (scripts/bench_dicom.sh passes the benchmark files from the pydicom-data wheel and prints
//! pydicom's and Chromium's times for the same files beside these). For each file, after one
//! warm-up run, the median and the best of RUNS runs of:
//! - `decode`: parse + every frame to stored values (what pydicom's `pixel_array` does);
//! - `decodeWindow`: every frame decoded and windowed to the model's input (gray, the file's
//!   window), i.e. `dicom::frames` with `frame: each`, what scoring runs before the resize.
//!
//! Prints one JSON line per file.

use std::time::Instant;

use medtriage::engine::dicom::{self, DicomFile, DicomOptions, FrameChoice};
use medtriage::engine::image::ImageLimits;
use medtriage::engine::manifest::Channels;

/// (median ms, best ms, what `f` returned) of `runs` runs after a warm-up.
fn median_ms(
    runs: usize,
    mut f: impl FnMut() -> Result<usize, String>,
) -> Result<(f64, f64, usize), String> {
    let mut n = f()?;
    let mut ms = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        n = f()?;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(f64::total_cmp);
    let best = ms.first().copied().unwrap_or(f64::NAN);
    Ok((ms.get(ms.len() / 2).copied().unwrap_or(f64::NAN), best, n))
}

fn decode_all(bytes: &[u8], limits: &ImageLimits) -> Result<usize, String> {
    let file = DicomFile::parse(bytes, limits).map_err(|e| e.to_string())?;
    let n = file.image.number_of_frames;
    for f in 0..n {
        file.decode_frame(f, limits).map_err(|e| e.to_string())?;
    }
    Ok(n as usize)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let runs: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(5);
    let opts = DicomOptions {
        frame: FrameChoice::Each,
        ..Default::default()
    };
    let limits = ImageLimits::default();
    for path in args {
        let name = path.rsplit('/').next().unwrap_or(&path).to_string();
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("{name}: {e}");
                continue;
            }
        };
        let decode = median_ms(runs, || decode_all(&bytes, &limits));
        let window = median_ms(runs, || {
            dicom::frames(&bytes, &opts, &limits, Channels::Gray)
                .map(|f| f.len())
                .map_err(|e| e.to_string())
        });
        match (decode, window) {
            (Ok((d, db, frames)), Ok((w, wb, _))) => println!(
                "{{\"file\":\"{name}\",\"bytes\":{},\"frames\":{frames},\"decodeMs\":{d:.3},\"decodeBestMs\":{db:.3},\"decodeWindowMs\":{w:.3},\"decodeWindowBestMs\":{wb:.3},\"runs\":{runs}}}",
                bytes.len()
            ),
            (Err(e), _) | (_, Err(e)) => eprintln!("{name}: {e}"),
        }
    }
}
