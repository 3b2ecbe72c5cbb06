//! Decode every `.jpg`/`.jpeg` under the given folders with the engine's strict decoder
//! (structure walk + the decoder in strict mode) and with the image crate's lenient default,
//! and print how many each accepted: a valid real-world JPEG must never be refused by the
//! strict path, and what it refuses the lenient one "decodes" (grey blocks, zero-filled
//! scans). Files the strict path refuses are listed with the reason.
//!
//!     cargo run --example check_jpegs -- DIR [DIR ...]

use std::path::{Path, PathBuf};

use medtriage::engine::image::{decode, ImageLimits};

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out);
        } else if p
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "jpg" | "jpeg"))
        {
            out.push(p);
        }
    }
}

fn main() {
    let mut files = Vec::new();
    for d in std::env::args().skip(1) {
        walk(Path::new(&d), &mut files);
    }
    let limits = ImageLimits::default();
    let (mut strict_ok, mut lenient_ok, mut refused) = (0usize, 0usize, Vec::new());
    let (mut strict_s, mut lenient_s) = (0f64, 0f64);
    for p in &files {
        let Ok(bytes) = std::fs::read(p) else {
            continue;
        };
        let t = std::time::Instant::now();
        let lenient = image::load_from_memory(&bytes).is_ok();
        lenient_s += t.elapsed().as_secs_f64();
        lenient_ok += usize::from(lenient);
        let t = std::time::Instant::now();
        let strict = decode(&bytes, &limits);
        strict_s += t.elapsed().as_secs_f64();
        match strict {
            Ok(_) => strict_ok += 1,
            Err(e) => refused.push(format!(
                "{} (lenient decoder: {}): {e}",
                p.display(),
                if lenient { "decoded" } else { "refused" }
            )),
        }
    }
    println!(
        "{} JPEG files: strict decoder accepted {strict_ok} in {strict_s:.2} s, lenient accepted {lenient_ok} in {lenient_s:.2} s (ratio {:.2})",
        files.len(),
        strict_s / lenient_s.max(1e-9)
    );
    for r in refused {
        println!("refused: {r}");
    }
}
