//! Image decoding under explicit limits, raw RGBA input, and preprocessing to the tensor the
//! manifest describes.
//!
//! Steps: decode (PNG/JPEG, 8 or 16 bit, gray/RGB/RGBA; alpha is dropped, not composited) ->
//! float planes in `[0, 1]` (8-bit / 255, 16-bit / 65535) -> gray (BT.601) or RGB/BGR ->
//! resize (bilinear, skipped when the size already matches) -> `(x - mean) / std` -> layout.

use std::io::Cursor;

use image::imageops::{self, FilterType};
use image::{DynamicImage, ImageBuffer, ImageError, ImageReader, Luma, Rgb};
use serde::{Deserialize, Serialize};

use super::manifest::{Channels, InputSpec, Layout, Resize};
use crate::error::{err, Result};

/// Decoding limits: an image larger than these fails with `image_too_large`, before the
/// decoder allocates its pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ImageLimits {
    /// Largest accepted width in pixels (default 16384).
    pub max_width: u32,
    /// Largest accepted height in pixels (default 16384).
    pub max_height: u32,
    /// Largest allocation the decoder may make, in bytes (default 512 MiB).
    pub max_alloc: u64,
}

impl Default for ImageLimits {
    fn default() -> Self {
        ImageLimits {
            max_width: 16384,
            max_height: 16384,
            max_alloc: 512 * 1024 * 1024,
        }
    }
}

/// Decoded pixels as interleaved `f32` in `[0, 1]`, 1 (gray) or 3 (RGB) channels.
#[derive(Debug, Clone, PartialEq)]
pub struct Pixels {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// 1 or 3.
    pub channels: usize,
    /// `height * width * channels` values, row-major, channels interleaved.
    pub data: Vec<f32>,
}

fn check_size(w: u32, h: u32, limits: &ImageLimits) -> Result<()> {
    if w == 0 || h == 0 {
        return Err(err!(ImageDecode, "image has zero size ({w}x{h})"));
    }
    if w > limits.max_width || h > limits.max_height {
        return Err(err!(
            ImageTooLarge,
            "image is {w}x{h}, limit is {}x{}",
            limits.max_width,
            limits.max_height
        ));
    }
    Ok(())
}

/// Decode PNG or JPEG bytes under `limits`.
pub fn decode(bytes: &[u8], limits: &ImageLimits) -> Result<DynamicImage> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| err!(ImageDecode, "cannot read image: {e}"))?;
    if reader.format().is_none() {
        return Err(err!(
            ImageDecode,
            "unrecognized image format (PNG and JPEG are supported)"
        ));
    }
    let mut l = image::Limits::default();
    l.max_image_width = Some(limits.max_width);
    l.max_image_height = Some(limits.max_height);
    l.max_alloc = Some(limits.max_alloc);
    reader.limits(l);
    let img = reader.decode().map_err(|e| match e {
        ImageError::Limits(l) => err!(ImageTooLarge, "image exceeds limits: {l}"),
        ImageError::Unsupported(u) => err!(ImageDecode, "unsupported image: {u}"),
        other => err!(ImageDecode, "corrupt image: {other}"),
    })?;
    check_size(img.width(), img.height(), limits)?;
    Ok(img)
}

fn bt601(r: f32, g: f32, b: f32) -> f32 {
    0.299 * r + 0.587 * g + 0.114 * b
}

/// Convert a decoded image to float pixels with the channel count the model needs.
pub fn pixels_from_image(img: &DynamicImage, channels: Channels) -> Pixels {
    let (width, height) = (img.width(), img.height());
    let colour = img.color().has_color();
    let data = match channels {
        Channels::Gray if !colour => img.to_luma32f().into_raw(),
        Channels::Gray => img
            .to_rgb32f()
            .pixels()
            .map(|p| bt601(p[0], p[1], p[2]))
            .collect(),
        Channels::Rgb | Channels::Bgr => img.to_rgb32f().into_raw(),
    };
    Pixels {
        width,
        height,
        channels: channels.count(),
        data,
    }
}

/// Convert raw RGBA bytes (canvas `ImageData`, `createImageBitmap`) to float pixels.
pub fn pixels_from_rgba(
    rgba: &[u8],
    width: u32,
    height: u32,
    channels: Channels,
    limits: &ImageLimits,
) -> Result<Pixels> {
    check_size(width, height, limits)?;
    let expected = (width as u64) * (height as u64) * 4;
    if rgba.len() as u64 != expected {
        return Err(err!(
            InvalidPixels,
            "RGBA buffer has {} bytes, {width}x{height}x4 = {expected} expected",
            rgba.len()
        ));
    }
    let f = |v: u8| v as f32 / 255.0;
    let data = match channels {
        Channels::Gray => rgba
            .chunks_exact(4)
            .map(|p| {
                if p[0] == p[1] && p[1] == p[2] {
                    f(p[0])
                } else {
                    bt601(f(p[0]), f(p[1]), f(p[2]))
                }
            })
            .collect(),
        Channels::Rgb | Channels::Bgr => rgba
            .chunks_exact(4)
            .flat_map(|p| [f(p[0]), f(p[1]), f(p[2])])
            .collect(),
    };
    Ok(Pixels {
        width,
        height,
        channels: channels.count(),
        data,
    })
}

fn resize_exact(p: Pixels, w: u32, h: u32) -> Pixels {
    if p.width == w && p.height == h {
        return p;
    }
    let data = if p.channels == 1 {
        let buf: ImageBuffer<Luma<f32>, Vec<f32>> =
            ImageBuffer::from_raw(p.width, p.height, p.data).unwrap_or_default();
        imageops::resize(&buf, w, h, FilterType::Triangle).into_raw()
    } else {
        let buf: ImageBuffer<Rgb<f32>, Vec<f32>> =
            ImageBuffer::from_raw(p.width, p.height, p.data).unwrap_or_default();
        imageops::resize(&buf, w, h, FilterType::Triangle).into_raw()
    };
    Pixels {
        width: w,
        height: h,
        channels: p.channels,
        data,
    }
}

fn crop_center(p: Pixels, w: u32, h: u32) -> Pixels {
    if p.width == w && p.height == h {
        return p;
    }
    let x0 = ((p.width - w) / 2) as usize;
    let y0 = ((p.height - h) / 2) as usize;
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

/// Resize as the manifest says, to exactly `input.width x input.height`.
pub fn resize(p: Pixels, input: &InputSpec) -> Pixels {
    let (w, h) = (input.width, input.height);
    match input.resize {
        Resize::Stretch => resize_exact(p, w, h),
        Resize::ShorterSideCrop { shorter_side } => {
            let s = shorter_side.unwrap_or(w.max(h)).max(w.max(h)) as f64;
            let short = p.width.min(p.height) as f64;
            let scale = s / short;
            // both sides end up >= s >= max(w, h), so the crop always fits
            let nw = ((p.width as f64 * scale).round() as u32).max(w);
            let nh = ((p.height as f64 * scale).round() as u32).max(h);
            crop_center(resize_exact(p, nw, nh), w, h)
        }
        Resize::Pil {
            filter,
            shorter_side,
            precision,
        } => super::resample::pil_resize(p, w, h, filter, shorter_side, precision),
    }
}

/// Full preprocessing: pixels -> resized -> normalized tensor data for one image, without
/// the batch dimension, in the manifest's layout (`C*H*W` for NCHW, `H*W*C` for NHWC).
pub fn to_tensor(p: Pixels, input: &InputSpec) -> Vec<f32> {
    let p = resize(p, input);
    let c = p.channels;
    let hw = p.width as usize * p.height as usize;
    let order: [usize; 3] = match input.channels {
        Channels::Bgr => [2, 1, 0],
        _ => [0, 1, 2],
    };
    let scale: Vec<f32> = input.std.iter().map(|s| 1.0 / s).collect();
    let mut out = vec![0f32; hw * c];
    for (i, px) in p.data.chunks_exact(c).enumerate() {
        for oc in 0..c {
            let v = (px[order[oc]] - input.mean[oc]) * scale[oc];
            match input.layout {
                Layout::Nchw => out[oc * hw + i] = v,
                Layout::Nhwc => out[i * c + oc] = v,
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::manifest::Manifest;

    fn spec(json_resize: &str, channels: &str, layout: &str) -> InputSpec {
        let (mean, std) = if channels == "gray" {
            ("[0.5]", "[0.25]")
        } else {
            ("[0.1,0.2,0.3]", "[0.5,0.5,0.5]")
        };
        let j = format!(
            r#"{{"input":{{"width":4,"height":2,"layout":"{layout}","channels":"{channels}","mean":{mean},"std":{std},"resize":{json_resize}}},
                "output":{{"kind":"logits","classes":["a","b"]}}}}"#
        );
        Manifest::from_json(&j).unwrap().input
    }

    fn rgba(w: u32, h: u32) -> Vec<u8> {
        (0..w * h)
            .flat_map(|i| [(i * 10) as u8, (i * 20) as u8, (i * 30) as u8, 255])
            .collect()
    }

    #[test]
    fn rgba_length_checked() {
        let e =
            pixels_from_rgba(&[0; 15], 2, 2, Channels::Rgb, &ImageLimits::default()).unwrap_err();
        assert_eq!(e.code(), "invalid_pixels");
        let e = pixels_from_rgba(&[], 0, 2, Channels::Rgb, &ImageLimits::default()).unwrap_err();
        assert_eq!(e.code(), "image_decode");
        let small = ImageLimits {
            max_width: 1,
            ..Default::default()
        };
        let e = pixels_from_rgba(&[0; 16], 2, 2, Channels::Rgb, &small).unwrap_err();
        assert_eq!(e.code(), "image_too_large");
    }

    #[test]
    fn nchw_and_nhwc_and_bgr() {
        let px = rgba(4, 2);
        let s = spec(r#"{"mode":"stretch"}"#, "rgb", "nchw");
        let p = pixels_from_rgba(&px, 4, 2, Channels::Rgb, &ImageLimits::default()).unwrap();
        let t = to_tensor(p.clone(), &s);
        // pixel 1 = (10, 20, 30); channel 0 plane starts at 0, channel 1 at 8
        assert!((t[1] - (10.0 / 255.0 - 0.1) / 0.5).abs() < 1e-6);
        assert!((t[8 + 1] - (20.0 / 255.0 - 0.2) / 0.5).abs() < 1e-6);
        let s2 = spec(r#"{"mode":"stretch"}"#, "rgb", "nhwc");
        let t2 = to_tensor(p.clone(), &s2);
        assert!((t2[3 + 1] - t[8 + 1]).abs() < 1e-7);
        let s3 = spec(r#"{"mode":"stretch"}"#, "bgr", "nchw");
        let t3 = to_tensor(p, &s3);
        // BGR: channel 0 is blue = 30
        assert!((t3[1] - (30.0 / 255.0 - 0.1) / 0.5).abs() < 1e-6);
    }

    #[test]
    fn gray_uses_bt601() {
        let px = [255u8, 0, 0, 255];
        let p = pixels_from_rgba(&px, 1, 1, Channels::Gray, &ImageLimits::default()).unwrap();
        assert!((p.data[0] - 0.299).abs() < 1e-6);
    }

    #[test]
    fn resize_modes() {
        let px = rgba(8, 4);
        let p = pixels_from_rgba(&px, 8, 4, Channels::Gray, &ImageLimits::default()).unwrap();
        let s = spec(r#"{"mode":"stretch"}"#, "gray", "nchw");
        let r = resize(p.clone(), &s);
        assert_eq!((r.width, r.height, r.data.len()), (4, 2, 8));
        let s = spec(r#"{"mode":"shorterSideCrop"}"#, "gray", "nchw");
        // shorter side 4 -> 4 (max(w,h)=4): 8x4 stays, crop centre 4x2 = rows 1..3, cols 2..6
        let r = resize(p.clone(), &s);
        assert_eq!((r.width, r.height), (4, 2));
        assert_eq!(r.data[0], p.data[8 + 2]);
    }

    #[test]
    fn decode_rejects_garbage_and_truncation() {
        let e = decode(b"not an image at all", &ImageLimits::default()).unwrap_err();
        assert_eq!(e.code(), "image_decode");
        let mut png = Vec::new();
        let img = DynamicImage::ImageRgb8(ImageBuffer::from_pixel(16, 16, Rgb([1u8, 2, 3])));
        img.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        assert!(decode(&png, &ImageLimits::default()).is_ok());
        let e = decode(&png[..png.len() / 2], &ImageLimits::default()).unwrap_err();
        assert_eq!(e.code(), "image_decode");
        let small = ImageLimits {
            max_width: 8,
            ..Default::default()
        };
        assert_eq!(decode(&png, &small).unwrap_err().code(), "image_too_large");
    }

    #[test]
    fn sixteen_bit_gray_scales_by_65535() {
        let buf: ImageBuffer<Luma<u16>, Vec<u16>> = ImageBuffer::from_pixel(2, 2, Luma([65535u16]));
        let img = DynamicImage::ImageLuma16(buf);
        let p = pixels_from_image(&img, Channels::Gray);
        assert_eq!(p.data, vec![1.0; 4]);
    }
}
