//! The training pipeline's resize: PIL's `Image.resize` (which torchvision's `Resize` calls on
//! PIL images) with its bilinear and bicubic filters, antialiased when shrinking, and
//! torchvision's `Resize(s)` + `CenterCrop((h, w))` geometry.
//!
//! Most image models are trained on images resized this way, so feeding them pixels resized
//! by another resampler shifts the probabilities (by up to 6.6e-3 on brain MRI with a VGG16
//! model; `image`'s triangle filter differs from PIL's at the borders and in rounding).
//!
//! The filter is PIL's (`libImaging/Resample.c`): for each output pixel `xx` the source
//! centre is `(xx + 0.5) * scale` with `scale = in / out`; when shrinking, the filter is
//! stretched by `scale` (support `s * scale`, argument divided by `scale`), which is the
//! antialiasing; the taps cover `[round(centre - support), round(centre + support))` clipped
//! to the image, and their weights are normalized to sum to 1. Bilinear is the triangle
//! `1 - |x|` (support 1), bicubic the Keys cubic with `a = -0.5` (support 2). Two separable
//! passes, horizontal first, then vertical; a side whose size does not change is not
//! resampled.
//!
//! Two precisions:
//! - [`Precision::Uint8`] (default) is PIL on an 8-bit image: values are taken as 8-bit
//!   (`round(v * 255)`), the weights become 22-bit fixed point, each pass rounds and clamps to
//!   0-255. The result is what `ToTensor()` sees after `Image.resize`: equal to PIL's pixel for
//!   pixel when both sides shrink or both enlarge; Pillow 13 runs the vertical pass first when
//!   one side shrinks much more than the other (e.g. enlarge x, shrink y), and the rounding
//!   between passes then puts some pixels one grey level apart (deliberate: we keep PIL's
//!   classic horizontal-first order rather than guess its undocumented rule). 16-bit
//!   sources lose their low bits here, as they do in a PIL pipeline that converts to "L" or
//!   "RGB" first.
//! - [`Precision::Float`] is PIL on a 32-bit float ("F") image: the same weights in `f64`,
//!   no rounding between passes. This is also the arithmetic of torchvision's tensor resize
//!   with `antialias=True` (same weights, no 8-bit rounding).

use serde::{Deserialize, Serialize};

use super::image::Pixels;

/// The resampling filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum Filter {
    /// PIL `Image.BILINEAR` / torchvision `InterpolationMode.BILINEAR` (torchvision's
    /// default, hence ours).
    #[default]
    Bilinear,
    /// PIL `Image.BICUBIC` / torchvision `InterpolationMode.BICUBIC` (`a = -0.5`; PIL's own
    /// default for `Image.resize`).
    Bicubic,
}

/// The arithmetic of the resize.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum Precision {
    /// PIL on 8-bit images: fixed-point weights, rounding to 0-255 after each pass.
    #[default]
    Uint8,
    /// PIL on float images (and torchvision tensors, `antialias=True`): no rounding.
    Float,
}

impl Filter {
    fn support(self) -> f64 {
        match self {
            Filter::Bilinear => 1.0,
            Filter::Bicubic => 2.0,
        }
    }

    fn weight(self, x: f64) -> f64 {
        let x = x.abs();
        match self {
            Filter::Bilinear => {
                if x < 1.0 {
                    1.0 - x
                } else {
                    0.0
                }
            }
            Filter::Bicubic => {
                const A: f64 = -0.5;
                if x < 1.0 {
                    ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
                } else if x < 2.0 {
                    (((x - 5.0) * x + 8.0) * x - 4.0) * A
                } else {
                    0.0
                }
            }
        }
    }
}

/// The taps of one output pixel: first source index and normalized weights.
#[derive(Debug, Clone, PartialEq)]
struct Taps {
    start: usize,
    weights: Vec<f64>,
}

/// PIL's `precompute_coeffs` for a full-image box.
fn coefficients(in_size: usize, out_size: usize, filter: Filter) -> Vec<Taps> {
    let scale = in_size as f64 / out_size as f64;
    let filterscale = scale.max(1.0);
    let support = filter.support() * filterscale;
    let ss = 1.0 / filterscale;
    (0..out_size)
        .map(|xx| {
            let center = (xx as f64 + 0.5) * scale;
            // C's (int) truncates toward zero; negative values are clipped to 0 anyway
            let xmin = ((center - support + 0.5).trunc().max(0.0)) as usize;
            let xmax = ((center + support + 0.5).trunc() as usize).min(in_size);
            let mut weights: Vec<f64> = (xmin..xmax.max(xmin))
                .map(|x| filter.weight((x as f64 - center + 0.5) * ss))
                .collect();
            let total: f64 = weights.iter().sum();
            if total != 0.0 {
                for w in &mut weights {
                    *w /= total;
                }
            }
            Taps {
                start: xmin,
                weights,
            }
        })
        .collect()
}

const PRECISION_BITS: u32 = 32 - 8 - 2;

/// PIL's `normalize_coeffs_8bpc`: weights to 22-bit fixed point, rounded away from zero.
fn fixed_point(taps: &[Taps]) -> Vec<(usize, Vec<i32>)> {
    let one = f64::from(1u32 << PRECISION_BITS);
    taps.iter()
        .map(|t| {
            let k = t
                .weights
                .iter()
                .map(|&w| {
                    if w < 0.0 {
                        (-0.5 + w * one) as i32
                    } else {
                        (0.5 + w * one) as i32
                    }
                })
                .collect();
            (t.start, k)
        })
        .collect()
}

fn clip8(v: i64) -> u8 {
    if v >= (1i64 << (PRECISION_BITS + 8)) {
        255
    } else if v <= 0 {
        0
    } else {
        (v >> PRECISION_BITS) as u8
    }
}

/// A channel-interleaved image being resampled.
struct Plane<T> {
    width: usize,
    height: usize,
    channels: usize,
    data: Vec<T>,
}

fn horizontal_u8(src: &Plane<u8>, out_w: usize, filter: Filter) -> Plane<u8> {
    let taps = fixed_point(&coefficients(src.width, out_w, filter));
    let c = src.channels;
    let mut data = Vec::with_capacity(out_w * src.height * c);
    for y in 0..src.height {
        let row = &src.data[y * src.width * c..(y + 1) * src.width * c];
        for (start, k) in &taps {
            for ch in 0..c {
                let mut ss: i64 = 1 << (PRECISION_BITS - 1);
                for (j, &w) in k.iter().enumerate() {
                    ss += i64::from(row[(start + j) * c + ch]) * i64::from(w);
                }
                data.push(clip8(ss));
            }
        }
    }
    Plane {
        width: out_w,
        height: src.height,
        channels: c,
        data,
    }
}

fn vertical_u8(src: &Plane<u8>, out_h: usize, filter: Filter) -> Plane<u8> {
    let taps = fixed_point(&coefficients(src.height, out_h, filter));
    let c = src.channels;
    let stride = src.width * c;
    let mut data = Vec::with_capacity(src.width * out_h * c);
    for (start, k) in &taps {
        for i in 0..stride {
            let mut ss: i64 = 1 << (PRECISION_BITS - 1);
            for (j, &w) in k.iter().enumerate() {
                ss += i64::from(src.data[(start + j) * stride + i]) * i64::from(w);
            }
            data.push(clip8(ss));
        }
    }
    Plane {
        width: src.width,
        height: out_h,
        channels: c,
        data,
    }
}

fn horizontal_f(src: &Plane<f32>, out_w: usize, filter: Filter) -> Plane<f32> {
    let taps = coefficients(src.width, out_w, filter);
    let c = src.channels;
    let mut data = Vec::with_capacity(out_w * src.height * c);
    for y in 0..src.height {
        let row = &src.data[y * src.width * c..(y + 1) * src.width * c];
        for t in &taps {
            for ch in 0..c {
                let mut ss = 0.0f64;
                for (j, &w) in t.weights.iter().enumerate() {
                    ss += f64::from(row[(t.start + j) * c + ch]) * w;
                }
                data.push(ss as f32);
            }
        }
    }
    Plane {
        width: out_w,
        height: src.height,
        channels: c,
        data,
    }
}

fn vertical_f(src: &Plane<f32>, out_h: usize, filter: Filter) -> Plane<f32> {
    let taps = coefficients(src.height, out_h, filter);
    let c = src.channels;
    let stride = src.width * c;
    let mut data = Vec::with_capacity(src.width * out_h * c);
    for t in &taps {
        for i in 0..stride {
            let mut ss = 0.0f64;
            for (j, &w) in t.weights.iter().enumerate() {
                ss += f64::from(src.data[(t.start + j) * stride + i]) * w;
            }
            data.push(ss as f32);
        }
    }
    Plane {
        width: src.width,
        height: out_h,
        channels: c,
        data,
    }
}

/// Resize `p` to exactly `w x h` as PIL's `Image.resize((w, h), filter)` does.
pub fn resize_exact(p: Pixels, w: u32, h: u32, filter: Filter, precision: Precision) -> Pixels {
    if (p.width == w && p.height == h) || w == 0 || h == 0 {
        return p;
    }
    let (ow, oh) = (w as usize, h as usize);
    let channels = p.channels;
    let need_h = p.width != w;
    let need_v = p.height != h;
    let data = match precision {
        Precision::Uint8 => {
            let mut plane = Plane {
                width: p.width as usize,
                height: p.height as usize,
                channels,
                data: p
                    .data
                    .iter()
                    .map(|&v| (v * 255.0).round().clamp(0.0, 255.0) as u8)
                    .collect(),
            };
            if need_h {
                plane = horizontal_u8(&plane, ow, filter);
            }
            if need_v {
                plane = vertical_u8(&plane, oh, filter);
            }
            plane.data.iter().map(|&v| f32::from(v) / 255.0).collect()
        }
        Precision::Float => {
            let mut plane = Plane {
                width: p.width as usize,
                height: p.height as usize,
                channels,
                data: p.data,
            };
            if need_h {
                plane = horizontal_f(&plane, ow, filter);
            }
            if need_v {
                plane = vertical_f(&plane, oh, filter);
            }
            plane.data
        }
    };
    Pixels {
        width: w,
        height: h,
        channels,
        data,
    }
}

/// torchvision's `Resize(shorter)` size for a `width x height` image: the shorter side
/// becomes `shorter`, the longer `int(shorter * long / short)` (truncated, as torchvision
/// does).
pub fn shorter_side_size(width: u32, height: u32, shorter: u32) -> (u32, u32) {
    let (short, long) = if width <= height {
        (width, height)
    } else {
        (height, width)
    };
    let new_long = (u64::from(shorter) * u64::from(long) / u64::from(short.max(1)))
        .min(u64::from(u32::MAX)) as u32;
    if width <= height {
        (shorter, new_long)
    } else {
        (new_long, shorter)
    }
}

/// torchvision's `CenterCrop` offset: `int(round((size - crop) / 2))` with Python's
/// round-half-to-even.
fn crop_offset(size: u32, crop: u32) -> usize {
    let d = size.saturating_sub(crop);
    let half = d / 2;
    // d odd: (d / 2) is x.5; round half to even
    if d % 2 == 1 && half % 2 == 1 {
        (half + 1) as usize
    } else {
        half as usize
    }
}

/// Crop the centre `w x h` as torchvision's `CenterCrop((h, w))` (the image must be at
/// least that large on both sides).
pub fn center_crop(p: Pixels, w: u32, h: u32) -> Pixels {
    if (p.width == w && p.height == h) || p.width < w || p.height < h {
        return p;
    }
    let x0 = crop_offset(p.width, w);
    let y0 = crop_offset(p.height, h);
    crop(&p, x0, y0, w, h)
}

/// The `w x h` window of `p` whose top-left pixel is (`x0`, `y0`).
pub(super) fn crop(p: &Pixels, x0: usize, y0: usize, w: u32, h: u32) -> Pixels {
    let c = p.channels;
    let row = p.width as usize * c;
    let mut data = Vec::with_capacity(w as usize * h as usize * c);
    for y in y0..y0 + h as usize {
        let start = y * row + x0 * c;
        data.extend_from_slice(&p.data[start..start + w as usize * c]);
    }
    Pixels {
        width: w,
        height: h,
        channels: c,
        data,
    }
}

/// The training pipeline's resize to `w x h`: PIL `Image.resize((w, h))` when `shorter_side`
/// is `None`, else torchvision `Resize(shorter_side)` followed by `CenterCrop((h, w))`
/// (`shorter_side` is raised to at least `max(w, h)` so the crop always fits).
pub fn pil_resize(
    p: Pixels,
    w: u32,
    h: u32,
    filter: Filter,
    shorter_side: Option<u32>,
    precision: Precision,
) -> Pixels {
    match shorter_side {
        None => resize_exact(p, w, h, filter, precision),
        Some(s) => {
            let s = s.max(w.max(h));
            let (nw, nh) = shorter_side_size(p.width, p.height, s);
            center_crop(resize_exact(p, nw, nh, filter, precision), w, h)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gray(w: u32, h: u32, f: impl Fn(u32, u32) -> u8) -> Pixels {
        let data = (0..h)
            .flat_map(|y| (0..w).map(move |x| (x, y)))
            .map(|(x, y)| f32::from(f(x, y)) / 255.0)
            .collect();
        Pixels {
            width: w,
            height: h,
            channels: 1,
            data,
        }
    }

    #[test]
    fn weights_sum_to_one_and_stay_inside() {
        for filter in [Filter::Bilinear, Filter::Bicubic] {
            for (i, o) in [(10, 3), (3, 10), (240, 240), (1920, 240), (7, 1), (1, 5)] {
                let taps = coefficients(i, o, filter);
                assert_eq!(taps.len(), o);
                for t in &taps {
                    assert!(t.start + t.weights.len() <= i);
                    assert!(!t.weights.is_empty());
                    let s: f64 = t.weights.iter().sum();
                    assert!((s - 1.0).abs() < 1e-12, "{i}->{o} {filter:?}: {s}");
                }
            }
        }
    }

    #[test]
    fn constant_image_stays_constant() {
        for precision in [Precision::Uint8, Precision::Float] {
            for filter in [Filter::Bilinear, Filter::Bicubic] {
                let p = gray(37, 23, |_, _| 200);
                let r = resize_exact(p, 11, 50, filter, precision);
                assert_eq!((r.width, r.height, r.data.len()), (11, 50, 550));
                assert!(r.data.iter().all(|&v| (v - 200.0 / 255.0).abs() < 1e-6));
            }
        }
    }

    #[test]
    fn halving_bilinear_averages_pairs() {
        // 4 -> 2 with scale 2: support 2, taps at distance 0.5 and 1.5 -> weights 3/8, 1/8
        // each side; for the left pixel only indices 0..2 fall inside: 0.75 / 0.25 renormalized
        let p = gray(4, 1, |x, _| [0, 100, 200, 255][x as usize]);
        let r = resize_exact(p, 2, 1, Filter::Bilinear, Precision::Float);
        let want0 = (0.0 * 3.0 + 100.0 * 3.0 + 200.0 * 1.0) / 7.0;
        assert!(
            (r.data[0] * 255.0 - want0).abs() < 1e-3,
            "{}",
            r.data[0] * 255.0
        );
    }

    #[test]
    fn torchvision_geometry() {
        assert_eq!(shorter_side_size(500, 375, 256), (341, 256));
        assert_eq!(shorter_side_size(375, 500, 256), (256, 341));
        assert_eq!(shorter_side_size(300, 300, 256), (256, 256));
        // (341 - 240) / 2 = 50.5 -> 50 (half to even), (7 - 4) / 2 = 1.5 -> 2
        assert_eq!(crop_offset(341, 240), 50);
        assert_eq!(crop_offset(7, 4), 2);
        assert_eq!(crop_offset(8, 4), 2);
        let p = gray(500, 375, |x, y| ((x + y) % 256) as u8);
        let r = pil_resize(p, 240, 240, Filter::Bicubic, Some(256), Precision::Uint8);
        assert_eq!((r.width, r.height, r.data.len()), (240, 240, 240 * 240));
    }

    #[test]
    fn uint8_output_is_on_the_8bit_grid() {
        let p = gray(50, 40, |x, y| ((x * 7 + y * 13) % 256) as u8);
        let r = resize_exact(p, 17, 61, Filter::Bicubic, Precision::Uint8);
        for v in r.data {
            let g = v * 255.0;
            assert!((g - g.round()).abs() < 1e-4 && (0.0..=255.0).contains(&g));
        }
    }
}

#[cfg(test)]
mod manifest_tests {
    use crate::engine::manifest::{Manifest, Resize};

    fn with_resize(r: &str) -> crate::error::Result<Manifest> {
        Manifest::from_json(&format!(
            r#"{{"input":{{"width":240,"height":240,"layout":"nhwc","channels":"rgb","mean":[0,0,0],"std":[1,1,1],"resize":{r}}},
                "output":{{"kind":"probabilities","classes":["a","b"]}}}}"#
        ))
    }

    #[test]
    fn pil_mode_parses_with_defaults_and_rejects_unknown_fields() {
        let m = with_resize(r#"{"mode":"pil"}"#).unwrap();
        assert_eq!(
            m.input.resize,
            Resize::Pil {
                filter: super::Filter::Bilinear,
                shorter_side: None,
                precision: super::Precision::Uint8
            }
        );
        let m = with_resize(
            r#"{"mode":"pil","filter":"bicubic","shorterSide":256,"precision":"float"}"#,
        )
        .unwrap();
        assert_eq!(
            m.input.resize,
            Resize::Pil {
                filter: super::Filter::Bicubic,
                shorter_side: Some(256),
                precision: super::Precision::Float
            }
        );
        for bad in [
            r#"{"mode":"pil","antialias":true}"#,
            r#"{"mode":"pil","filter":"lanczos"}"#,
            r#"{"mode":"pil","precision":"u8"}"#,
            r#"{"mode":"pil","shorterSide":200}"#,
        ] {
            assert_eq!(
                with_resize(bad).unwrap_err().code(),
                "invalid_manifest",
                "{bad}"
            );
        }
    }
}
