//! Stored values -> modality values -> VOI -> `[0, 1]` -> the manifest's output range.
//!
//! Definitions follow pydicom (`apply_modality_lut`, `apply_voi_lut`, `apply_color_lut`),
//! normalized: a window maps to `(y - y_min) / (y_max - y_min)` of pydicom's output, which is
//! independent of pydicom's `y` range:
//! - LINEAR: `c' = c - 0.5`, `w' = w - 1`; `x <= c' - w'/2` -> 0, `x > c' + w'/2` -> 1, else
//!   `(x - c') / w' + 0.5`;
//! - LINEAR_EXACT: the same with `c`, `w`;
//! - SIGMOID: `1 / (1 + exp(-4 (x - c) / w))`;
//! - VOI LUT Sequence: `LUT[clip(x - first, 0, n - 1)] / (2^bits - 1)`;
//! - min-max: `(x - min) / (max - min)` over the frame (0 for a constant frame).
//!
//! MONOCHROME1 is then inverted (`1 - v`) unless `invertMonochrome1` is false. Colour
//! frames (RGB, and YBR converted to RGB when decoded) become `x / (2^bitsStored - 1)`;
//! palette indices become `LUT[clip(x - first, 0, n - 1)] / (2^depth - 1)` per channel, with
//! the LUT's actual entry depth (8 or 16) as pydicom takes it.

use super::parse::{ImageInfo, Lut, Photometric};
use super::{AppliedWindow, DicomOptions, VoiFunction, Window, WindowFallback};
use crate::engine::image::Pixels;
use crate::engine::manifest::Channels;
use crate::error::{err, Result};

pub use super::check_window;

/// A window as a function of the modality value, normalized to `[0, 1]`.
pub fn window(x: f64, center: f64, width: f64, f: VoiFunction) -> f64 {
    match f {
        VoiFunction::Sigmoid => 1.0 / (1.0 + (-4.0 * (x - center) / width).exp()),
        VoiFunction::Linear | VoiFunction::LinearExact => {
            let (c, w) = if f == VoiFunction::Linear {
                (center - 0.5, width - 1.0)
            } else {
                (center, width)
            };
            if x <= c - w / 2.0 {
                0.0
            } else if x > c + w / 2.0 {
                1.0
            } else {
                (x - c) / w + 0.5
            }
        }
    }
}

fn lookup(lut: &Lut, x: f64) -> u16 {
    let n = lut.data.len();
    let i = if x < lut.first as f64 {
        0
    } else {
        ((x - lut.first as f64).floor() as usize).min(n.saturating_sub(1))
    };
    lut.data.get(i).copied().unwrap_or(0)
}

// The pipeline runs sample by sample, from stored value to the model's f32, with no
// full-frame intermediate: a frame-sized `Vec<f64>` per step cost more than the arithmetic
// natively, since the allocator hands such buffers back to the kernel when they are freed
// and every new one is page-faulted in again (~2,000 faults per 512x512 frame).

/// Stored value -> modality value (Modality LUT, else Rescale Slope / Intercept).
enum Modality<'a> {
    Lut(&'a Lut),
    Rescale(f64, f64),
    Identity,
}

impl<'a> Modality<'a> {
    fn of_image(img: &'a ImageInfo) -> Self {
        match (&img.modality_lut, img.rescale) {
            (Some(lut), _) => Modality::Lut(lut),
            (None, Some((s, i))) => Modality::Rescale(s, i),
            (None, None) => Modality::Identity,
        }
    }

    #[inline]
    fn of(&self, x: i64) -> f64 {
        match *self {
            Modality::Lut(lut) => f64::from(lookup(lut, x as f64)),
            Modality::Rescale(s, i) => x as f64 * s + i,
            Modality::Identity => x as f64,
        }
    }
}

/// Modality values (rescale or Modality LUT) of stored values.
pub fn modality(img: &ImageInfo, stored: &[i64]) -> Vec<f64> {
    let m = Modality::of_image(img);
    stored.iter().map(|&x| m.of(x)).collect()
}

/// Modality value -> normalized VOI output in `[0, 1]`.
enum Voi<'a> {
    Window(f64, f64, VoiFunction),
    Lut(&'a Lut, f64),
    MinMax(f64, f64),
}

impl Voi<'_> {
    #[inline]
    fn of(&self, x: f64) -> f64 {
        match *self {
            Voi::Window(c, w, f) => window(x, c, w, f),
            Voi::Lut(lut, max) => f64::from(lookup(lut, x)) / max,
            Voi::MinMax(lo, span) => {
                if span > 0.0 {
                    (x - lo) / span
                } else {
                    0.0
                }
            }
        }
    }
}

fn pick<'a, T>(
    items: &'a [T],
    explanation_of: impl Fn(&T) -> Option<&str>,
    index: Option<usize>,
    explanation: Option<&str>,
    what: &str,
) -> Result<(usize, &'a T)> {
    if let Some(want) = explanation {
        return items
            .iter()
            .enumerate()
            .find(|(_, t)| explanation_of(t).is_some_and(|e| e.eq_ignore_ascii_case(want.trim())))
            .ok_or_else(|| {
                err!(
                    InvalidInput,
                    "no {what} with the explanation asked for among the file's {}",
                    items.len()
                )
            });
    }
    let i = index.unwrap_or(0);
    items.get(i).map(|t| (i, t)).ok_or_else(|| {
        err!(
            InvalidInput,
            "{what} {i} asked for, the file has {}",
            items.len()
        )
    })
}

/// The VOI `w` chooses for this image and what it is; min-max reads the frame's modality
/// values (`values`) once for their range.
fn voi_of<'a>(
    img: &'a ImageInfo,
    values: impl Iterator<Item = f64>,
    w: &Window,
) -> Result<(Voi<'a>, AppliedWindow)> {
    let min_max = |values: &mut dyn Iterator<Item = f64>| {
        let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
            (a.min(x), b.max(x))
        });
        let span = hi - lo;
        (
            Voi::MinMax(lo, span),
            AppliedWindow {
                source: "minMax".into(),
                center: Some((lo + hi) / 2.0),
                width: Some(span),
                function: None,
                explanation: None,
            },
        )
    };
    let mut values = values;
    match w {
        Window::MinMax {} => Ok(min_max(&mut values)),
        Window::Fixed {
            center,
            width,
            function,
        } => {
            check_window(*center, *width, *function)?;
            Ok((
                Voi::Window(*center, *width, *function),
                AppliedWindow {
                    source: "fixed".into(),
                    center: Some(*center),
                    width: Some(*width),
                    function: Some(*function),
                    explanation: None,
                },
            ))
        }
        Window::File {
            index,
            explanation,
            fallback,
        } => {
            if !img.voi_luts.is_empty() {
                let (_, lut) = pick(
                    &img.voi_luts,
                    |l| l.explanation.as_deref(),
                    *index,
                    explanation.as_deref(),
                    "VOI LUT",
                )?;
                let max = ((1u64 << lut.bits) - 1) as f64;
                return Ok((
                    Voi::Lut(lut, max),
                    AppliedWindow {
                        source: "voiLut".into(),
                        center: None,
                        width: None,
                        function: None,
                        explanation: lut.explanation.clone(),
                    },
                ));
            }
            if !img.windows.is_empty() {
                let (_, (c, wd, ex)) = pick(
                    &img.windows,
                    |t| t.2.as_deref(),
                    *index,
                    explanation.as_deref(),
                    "window",
                )?;
                let f = match &img.voi_function {
                    None => VoiFunction::Linear,
                    Some(Ok(f)) => *f,
                    Some(Err(name)) => {
                        return Err(err!(
                            ImageDecode,
                            "DICOM: VOI LUT Function (0028,1056) is {name}: not supported"
                        ))
                    }
                };
                check_window(*c, *wd, f).map_err(|e| {
                    crate::error::Error::new(
                        crate::error::ErrorKind::ImageDecode,
                        format!("DICOM: the file's window: {}", e.message()),
                    )
                })?;
                return Ok((
                    Voi::Window(*c, *wd, f),
                    AppliedWindow {
                        source: "file".into(),
                        center: Some(*c),
                        width: Some(*wd),
                        function: Some(f),
                        explanation: ex.clone(),
                    },
                ));
            }
            match fallback {
                WindowFallback::MinMax => Ok(min_max(&mut values)),
                WindowFallback::Error => Err(err!(
                    InvalidInput,
                    "the file has no window or VOI LUT and the manifest allows no fallback"
                )),
            }
        }
    }
}

/// Normalized VOI output and what was applied, for grayscale modality values.
pub fn voi(img: &ImageInfo, m: &[f64], w: &Window) -> Result<(Vec<f64>, AppliedWindow)> {
    let (v, applied) = voi_of(img, m.iter().copied(), w)?;
    Ok((m.iter().map(|&x| v.of(x)).collect(), applied))
}

/// `[0, 1]` RGB of one colour pixel: a palette index, or 3 samples of RGB.
enum Colour<'a> {
    Palette(&'a [Lut; 3], [f64; 3]),
    Rgb(f64),
}

impl<'a> Colour<'a> {
    fn of_image(img: &'a ImageInfo) -> Self {
        match (img.photometric, &img.palette) {
            (Photometric::Palette, Some(p)) => {
                Colour::Palette(p, p.each_ref().map(|l| ((1u64 << l.bits) - 1) as f64))
            }
            _ => Colour::Rgb(((1u64 << img.bits_stored.min(63)) - 1) as f64),
        }
    }

    /// Stored samples per pixel.
    fn samples(&self) -> usize {
        match self {
            Colour::Palette(..) => 1,
            Colour::Rgb(_) => 3,
        }
    }

    #[inline]
    fn of(&self, px: &[i64]) -> [f64; 3] {
        match self {
            Colour::Palette(p, max) => {
                let x = px[0] as f64;
                [
                    f64::from(lookup(&p[0], x)) / max[0],
                    f64::from(lookup(&p[1], x)) / max[1],
                    f64::from(lookup(&p[2], x)) / max[2],
                ]
            }
            Colour::Rgb(max) => [px[0] as f64 / max, px[1] as f64 / max, px[2] as f64 / max],
        }
    }
}

/// `[0, 1]` RGB of colour or palette samples.
pub fn colour(img: &ImageInfo, stored: &[i64]) -> Vec<f64> {
    let c = Colour::of_image(img);
    stored
        .chunks_exact(c.samples())
        .flat_map(|p| c.of(p))
        .collect()
}

fn bt601(r: f64, g: f64, b: f64) -> f64 {
    0.299 * r + 0.587 * g + 0.114 * b
}

/// The model's pixels (in `opts.outputRange`) and the VOI applied, for one decoded frame.
pub fn to_pixels(
    img: &ImageInfo,
    stored: &[i64],
    opts: &DicomOptions,
    channels: Channels,
) -> Result<(Pixels, AppliedWindow)> {
    let [lo, hi] = opts.output_range.map(f64::from);
    let scale = |v: f64| (lo + v * (hi - lo)) as f32;
    let n = stored.len();
    let (data, window) = if img.photometric.is_monochrome() {
        let m = Modality::of_image(img);
        let (voi, applied) = voi_of(img, stored.iter().map(|&x| m.of(x)), &opts.window)?;
        let invert = img.photometric == Photometric::Monochrome1 && opts.invert_monochrome1;
        let px = |x: i64| {
            let v = voi.of(m.of(x));
            scale(if invert { 1.0 - v } else { v })
        };
        let data: Vec<f32> = match channels {
            Channels::Gray => stored.iter().map(|&x| px(x)).collect(),
            Channels::Rgb | Channels::Bgr => {
                let mut d = Vec::with_capacity(n * 3);
                for &x in stored {
                    let s = px(x);
                    d.extend_from_slice(&[s, s, s]);
                }
                d
            }
        };
        (data, applied)
    } else {
        let c = Colour::of_image(img);
        let pixels = stored.chunks_exact(c.samples());
        let data: Vec<f32> = match channels {
            Channels::Gray => pixels
                .map(|p| {
                    let [r, g, b] = c.of(p);
                    scale(bt601(r, g, b))
                })
                .collect(),
            Channels::Rgb | Channels::Bgr => {
                let mut d = Vec::with_capacity(pixels.len() * 3);
                for p in pixels {
                    d.extend(c.of(p).map(scale));
                }
                d
            }
        };
        (
            data,
            AppliedWindow {
                source: "none".into(),
                center: None,
                width: None,
                function: None,
                explanation: None,
            },
        )
    };
    Ok((
        Pixels {
            width: img.cols,
            height: img.rows,
            channels: channels.count(),
            data,
        },
        window,
    ))
}

/// Expand Segmented Palette Color LUT Data (PS3.3 C.7.9.2) as pydicom does: discrete,
/// linear (rounded half to even) and indirect segments; at most `n` entries.
pub fn expand_segmented(data: &[u16], n: usize) -> Result<Vec<u16>> {
    let mut out = Vec::with_capacity(n.min(65536));
    expand_into(data, &mut out, n, usize::MAX, 0)?;
    out.truncate(n);
    Ok(out)
}

fn expand_into(
    data: &[u16],
    out: &mut Vec<u16>,
    n: usize,
    max_segments: usize,
    depth: u32,
) -> Result<()> {
    let corrupt = || err!(ImageDecode, "DICOM: segmented palette LUT is corrupt");
    if depth > 4 {
        return Err(corrupt());
    }
    let (mut i, mut segs) = (0usize, 0usize);
    while i + 1 < data.len() && segs < max_segments && out.len() < n {
        let (op, len) = (data[i], usize::from(data[i + 1]));
        i += 2;
        segs += 1;
        match op {
            0 => {
                let s = data.get(i..i + len).ok_or_else(corrupt)?;
                out.extend_from_slice(s);
                i += len;
            }
            1 => {
                let &y0 = out.last().ok_or_else(corrupt)?;
                let &y1 = data.get(i).ok_or_else(corrupt)?;
                i += 1;
                if y0 == y1 || len == 0 {
                    out.extend(std::iter::repeat_n(y1, len));
                } else {
                    let (a, b) = (f64::from(y0), f64::from(y1));
                    let step = (b - a) / len as f64;
                    let start = a + step;
                    for k in 0..len {
                        let t = if len == 1 {
                            start
                        } else {
                            start + (b - start) * k as f64 / (len - 1) as f64
                        };
                        out.push(t.round_ties_even().clamp(0.0, 65535.0) as u16);
                    }
                }
            }
            2 => {
                if out.is_empty() {
                    return Err(corrupt());
                }
                let (&lo, &hi) = (
                    data.get(i).ok_or_else(corrupt)?,
                    data.get(i + 1).ok_or_else(corrupt)?,
                );
                i += 2;
                let off = (usize::from(hi) << 16 | usize::from(lo)) / 2;
                let sub = data.get(off..).ok_or_else(corrupt)?;
                expand_into(sub, out, n, len, depth + 1)?;
            }
            _ => return Err(corrupt()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_window_edges() {
        // LINEAR with c=40, w=400: c'=39.5, w'=399
        assert_eq!(window(39.5 - 199.5, 40.0, 400.0, VoiFunction::Linear), 0.0);
        assert_eq!(window(239.1, 40.0, 400.0, VoiFunction::Linear), 1.0);
        let mid = window(39.5, 40.0, 400.0, VoiFunction::Linear);
        assert!((mid - 0.5).abs() < 1e-12);
        assert!((window(0.0, 0.0, 4.0, VoiFunction::Sigmoid) - 0.5).abs() < 1e-12);
        assert!(check_window(0.0, 0.5, VoiFunction::Linear).is_err());
        assert!(check_window(0.0, 0.5, VoiFunction::LinearExact).is_ok());
    }

    #[test]
    fn segmented_lut() {
        // discrete 2 entries, linear to 10 over 4, indirect copy of the first segment
        let d = [0u16, 2, 0, 2, 1, 4, 10, 2, 1, 0, 0];
        let v = expand_segmented(&d, 9).unwrap();
        assert_eq!(v, vec![0, 2, 4, 6, 8, 10, 0, 2]);
    }
}
