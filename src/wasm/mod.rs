//! The wasm-bindgen layer: the only code naming `wasm_bindgen`, `js_sys` or `web_sys`.
//!
//! Thin wrappers: JS values in (serde-wasm-bindgen, unknown option fields rejected), engine
//! call, JS values out. Every engine error becomes a JS `Error` whose `code` property is the
//! stable code string (`invalid_manifest`, `image_decode`, …).

use js_sys::Reflect;
use serde::{de::DeserializeOwned, Serialize};
use wasm_bindgen::prelude::*;

use crate::engine::manifest::Manifest;
use crate::engine::score::{self, ItemResult};
use crate::engine::uncertainty::Measure;
use crate::error::{Error, ErrorKind};

/// A JS function taking one request object (engine request struct) and returning the engine's
/// response; engine errors become JS `Error`s with a code.
macro_rules! bind {
    ($js:literal, $rust:ident, $req_ts:literal, $resp_ts:literal, $req:ty, $f:path, $doc:literal) => {
        #[doc = $doc]
        #[wasm_bindgen(js_name = $js, unchecked_return_type = $resp_ts)]
        pub fn $rust(
            #[wasm_bindgen(unchecked_param_type = $req_ts)] request: JsValue,
        ) -> Result<JsValue, JsValue> {
            let r: $req = from_js(request, $js)?;
            $crate::wasm::respond($f(&r))
        }
    };
}

mod calibrate;
mod consensus;
mod de;
mod grouping;
mod multilabel;
mod queue;
mod reviewers;
mod select;
mod triage;

// Every request and response type, generated from the engine's serde structs (tests/ts_types.rs
// keeps the committed file current), and the few boundary shapes that are not serde structs.
#[wasm_bindgen(typescript_custom_section)]
const TS_GENERATED: &'static str = include_str!("types.gen.d.ts");
#[wasm_bindgen(typescript_custom_section)]
const TS_BOUNDARY: &'static str = include_str!("types.d.ts");

/// Install the panic hook once (a panic then shows its message in the console).
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// Engine error -> JS `Error` with a `code`.
pub(crate) fn js_error(e: &Error) -> JsValue {
    let err = js_sys::Error::new(e.message());
    err.set_name("MedtriageError");
    let _ = Reflect::set(&err, &"code".into(), &e.code().into());
    err.into()
}

/// Engine response -> JS value, through JSON text and `JSON.parse`: one native parse instead of
/// one JS call per array element (a 1,000,000-row response is milliseconds, not seconds), and
/// the very shape the CLI writes (non-finite numbers become `null`, as in the CLI's JSON).
pub(crate) fn to_js<T: Serialize>(v: &T) -> Result<JsValue, JsValue> {
    let text = serde_json::to_string(v)
        .map_err(|e| js_error(&Error::new(ErrorKind::InvalidInput, e.to_string())))?;
    js_sys::JSON::parse(&text)
}

/// An engine result -> JS value, or the engine's error as a JS `Error` with its `code`.
pub(crate) fn respond<T: Serialize>(r: crate::error::Result<T>) -> Result<JsValue, JsValue> {
    to_js(&r.map_err(|e| js_error(&e))?)
}

/// Parse options: `undefined`/`null` -> defaults; unknown fields rejected (see [`de`]).
pub(crate) fn options<T: DeserializeOwned + Default>(v: JsValue, what: &str) -> Result<T, JsValue> {
    if v.is_undefined() || v.is_null() {
        return Ok(T::default());
    }
    from_js(v, what)
}

/// Parse a request: unknown fields rejected, typed arrays copied in one call (see [`de`]).
pub(crate) fn from_js<T: DeserializeOwned>(v: JsValue, what: &str) -> Result<T, JsValue> {
    de::from_value(v).map_err(|e| {
        js_error(&Error::new(
            ErrorKind::InvalidOptions,
            format!("{what}: {e}"),
        ))
    })
}

/// The crate version.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// Parse and validate a manifest (object or JSON string); returns the normalized manifest.
#[wasm_bindgen(js_name = parseManifest, unchecked_return_type = "ManifestOut")]
pub fn parse_manifest(
    #[wasm_bindgen(unchecked_param_type = "Manifest | string")] manifest: JsValue,
) -> Result<JsValue, JsValue> {
    to_js(&manifest_from(manifest)?)
}

fn manifest_from(v: JsValue) -> Result<Manifest, JsValue> {
    let m = match v.as_string() {
        Some(s) => Manifest::from_json(&s),
        None => de::from_value::<Manifest>(v)
            .map_err(|e| Error::new(ErrorKind::InvalidManifest, format!("manifest: {e}")))
            .and_then(|m| m.validate().map(|_| m)),
    };
    m.map_err(|e| js_error(&e))
}

/// Order scored items most uncertain first; failed items are listed apart, never ranked.
#[wasm_bindgen(js_name = rankQueue, unchecked_return_type = "Queue")]
pub fn rank_queue(
    #[wasm_bindgen(unchecked_param_type = "ItemResult[]")] results: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Measure | undefined")] measure: JsValue,
) -> Result<JsValue, JsValue> {
    let items: Vec<ItemResult> = from_js(results, "results")?;
    let m: Measure = options(measure, "measure")?;
    to_js(&score::queue(&items, m))
}

#[cfg(feature = "onnx")]
mod scorer {
    use super::*;
    use crate::engine::model::LoadOptions;
    use crate::engine::profile::ProfileOptions;
    use crate::engine::score::Scorer as EngineScorer;
    use crate::engine::score::{ImageInput, ScoreOptions};
    use js_sys::{Array, Function, Uint8Array};

    /// The realm's `performance.now()` (a page's or a worker's), or `Date.now()` where there is
    /// no `performance`: milliseconds, for the profiler.
    fn performance_clock() -> impl Fn() -> f64 {
        let perf = Reflect::get(&js_sys::global(), &"performance".into())
            .ok()
            .filter(|p| p.is_object());
        let now = perf
            .as_ref()
            .and_then(|p| Reflect::get(p, &"now".into()).ok())
            .and_then(|f| f.dyn_into::<Function>().ok());
        move || match (&perf, &now) {
            (Some(p), Some(f)) => f.call0(p).ok().and_then(|v| v.as_f64()).unwrap_or(0.0),
            _ => js_sys::Date::now(),
        }
    }

    /// A loaded ONNX model with its manifest, ready to score images.
    #[wasm_bindgen]
    pub struct Scorer {
        inner: EngineScorer,
    }

    fn bytes_of(v: &JsValue) -> Option<Vec<u8>> {
        let bytes = v.is_instance_of::<Uint8Array>()
            || v.is_instance_of::<js_sys::Uint8ClampedArray>()
            || v.is_instance_of::<js_sys::ArrayBuffer>();
        bytes.then(|| Uint8Array::new(v).to_vec())
    }

    fn field(obj: &JsValue, name: &str) -> JsValue {
        Reflect::get(obj, &name.into()).unwrap_or(JsValue::UNDEFINED)
    }

    fn invalid(msg: String) -> JsValue {
        js_error(&Error::new(ErrorKind::InvalidInput, msg))
    }

    impl Scorer {
        /// Score one input with the JS options (`undefined`: defaults).
        fn score_js(&self, input: ImageInput<'_>, options: JsValue) -> Result<JsValue, JsValue> {
            let o: ScoreOptions = super::options(options, "score options")?;
            respond(self.inner.score(input, &o))
        }

        /// `view` of a DICOM object as this model sees it: the manifest's `input.dicom`
        /// window and frame, the model's channels, the limits in the JS options.
        fn dicom_view(
            &self,
            bytes: &[u8],
            options: JsValue,
            view: DicomView,
        ) -> Result<JsValue, JsValue> {
            let o: ScoreOptions = super::options(options, "score options")?;
            let spec = &self.inner.manifest().input;
            let d = spec.dicom.clone().unwrap_or_default();
            view(bytes, &d, &o.limits, spec.channels)
        }
    }

    #[wasm_bindgen]
    impl Scorer {
        /// Load an ONNX model (bytes) with its manifest (object or JSON string).
        #[wasm_bindgen(constructor)]
        pub fn new(
            model: &[u8],
            #[wasm_bindgen(unchecked_param_type = "Manifest | string")] manifest: JsValue,
            #[wasm_bindgen(unchecked_param_type = "LoadOptions | undefined")] options: JsValue,
        ) -> Result<Scorer, JsValue> {
            let m = manifest_from(manifest)?;
            let o: LoadOptions = super::options(options, "load options")?;
            let inner = EngineScorer::new(model, m, &o).map_err(|e| js_error(&e))?;
            Ok(Scorer { inner })
        }

        /// Load an ensemble: several ONNX models (bytes) sharing one manifest, whose
        /// `members` (if given) pin each model's SHA-256 in order. Each image then gets
        /// `members x tta` probability rows (see `samplesPerImage`).
        #[wasm_bindgen(js_name = ensemble)]
        pub fn ensemble(
            #[wasm_bindgen(unchecked_param_type = "(Uint8Array | ArrayBuffer)[]")] models: Array,
            #[wasm_bindgen(unchecked_param_type = "Manifest | string")] manifest: JsValue,
            #[wasm_bindgen(unchecked_param_type = "LoadOptions | undefined")] options: JsValue,
        ) -> Result<Scorer, JsValue> {
            let m = manifest_from(manifest)?;
            let o: LoadOptions = super::options(options, "load options")?;
            let mut owned = Vec::with_capacity(models.length() as usize);
            for (i, v) in models.iter().enumerate() {
                owned.push(bytes_of(&v).ok_or_else(|| {
                    invalid(format!("model {i} must be a Uint8Array or ArrayBuffer"))
                })?);
            }
            let refs: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
            let inner = EngineScorer::new_ensemble(&refs, m, &o).map_err(|e| js_error(&e))?;
            Ok(Scorer { inner })
        }

        /// Number of models (1 unless built with `Scorer.ensemble`).
        #[wasm_bindgen(getter)]
        pub fn members(&self) -> usize {
            self.inner.members().len()
        }

        /// Probability rows per image: members x test-time transforms (T).
        #[wasm_bindgen(getter, js_name = samplesPerImage)]
        pub fn samples_per_image(&self) -> usize {
            self.inner.samples_per_image()
        }

        /// Lower-case hex SHA-256 of each model's bytes, in member order.
        #[wasm_bindgen(getter, js_name = memberSha256)]
        pub fn member_sha256(&self) -> Vec<String> {
            self.inner
                .members()
                .iter()
                .map(|m| m.sha256().to_string())
                .collect()
        }

        /// The validated manifest.
        #[wasm_bindgen(getter, unchecked_return_type = "ManifestOut")]
        pub fn manifest(&self) -> Result<JsValue, JsValue> {
            to_js(self.inner.manifest())
        }

        /// Lower-case hex SHA-256 of the (first) model's bytes.
        #[wasm_bindgen(getter)]
        pub fn sha256(&self) -> String {
            self.inner.model().sha256().to_string()
        }

        /// Images per model run (of the first model).
        #[wasm_bindgen(getter, js_name = batchSize)]
        pub fn batch_size(&self) -> usize {
            self.inner.model().batch_size()
        }

        /// Score encoded PNG/JPEG bytes.
        #[wasm_bindgen(js_name = scoreImage, unchecked_return_type = "ImageScore")]
        pub fn score_image(
            &self,
            bytes: &[u8],
            #[wasm_bindgen(unchecked_param_type = "ScoreOptions | undefined")] options: JsValue,
        ) -> Result<JsValue, JsValue> {
            self.score_js(ImageInput::Encoded(bytes), options)
        }

        /// Score raw RGBA pixels (`ImageData.data`), `width * height * 4` bytes.
        #[wasm_bindgen(js_name = scoreRgba, unchecked_return_type = "ImageScore")]
        pub fn score_rgba(
            &self,
            pixels: &[u8],
            width: u32,
            height: u32,
            #[wasm_bindgen(unchecked_param_type = "ScoreOptions | undefined")] options: JsValue,
        ) -> Result<JsValue, JsValue> {
            let input = ImageInput::Rgba {
                pixels,
                width,
                height,
            };
            self.score_js(input, options)
        }

        /// Score a tensor already preprocessed as the manifest describes (width x height x
        /// channels floats in its layout, normalized): for a host with its own pipeline.
        #[wasm_bindgen(js_name = scoreTensor, unchecked_return_type = "ImageScore")]
        pub fn score_tensor(
            &self,
            tensor: &[f32],
            #[wasm_bindgen(unchecked_param_type = "ScoreOptions | undefined")] options: JsValue,
        ) -> Result<JsValue, JsValue> {
            let o: ScoreOptions = super::options(options, "score options")?;
            respond(self.inner.score_tensor(tensor, &o))
        }

        /// Where inference time goes on a tensor as `scoreTensor` takes it: tract's optimized
        /// plan run node by node with `performance.now()` read around each node, summed per
        /// operator kind and per node (after one untimed run).
        #[wasm_bindgen(js_name = profileTensor, unchecked_return_type = "OpProfile")]
        pub fn profile_tensor(
            &self,
            tensor: &[f32],
            #[wasm_bindgen(unchecked_param_type = "ProfileOptions | undefined")] options: JsValue,
        ) -> Result<JsValue, JsValue> {
            let o: ProfileOptions = super::options(options, "profile options")?;
            let now = performance_clock();
            respond(self.inner.profile_tensor(tensor, &o, &now))
        }

        /// Score a batch of `{id, bytes}` or `{id, rgba, width, height}` items. A failing item
        /// gets an `error` and does not stop the others.
        #[wasm_bindgen(js_name = scoreBatch, unchecked_return_type = "ItemResult[]")]
        pub fn score_batch(
            &self,
            #[wasm_bindgen(unchecked_param_type = "BatchItem[]")] items: JsValue,
            #[wasm_bindgen(unchecked_param_type = "ScoreOptions | undefined")] options: JsValue,
        ) -> Result<JsValue, JsValue> {
            let o: ScoreOptions = super::options(options, "score options")?;
            if !Array::is_array(&items) {
                return Err(invalid("scoreBatch expects an array".into()));
            }
            let arr = Array::from(&items);
            // own the bytes first, then borrow them for the engine
            // (id, encoded bytes, the size of raw RGBA pixels when the item is pixels)
            type Owned = (String, Vec<u8>, Option<(u32, u32)>);
            let mut owned: Vec<Owned> = Vec::with_capacity(arr.length() as usize);
            let mut frames: Vec<(String, Vec<u8>, DicomAttributes)> = Vec::new();
            for (i, it) in arr.iter().enumerate() {
                let id = field(&it, "id")
                    .as_string()
                    .ok_or_else(|| invalid(format!("item {i}: id must be a string")))?;
                let enc = field(&it, "bytes");
                if let Some(b) = bytes_of(&enc) {
                    owned.push((id, b, None));
                    continue;
                }
                let frame = field(&it, "dicomFrame");
                if !frame.is_undefined() {
                    let samples = bytes_of(&field(&frame, "samples")).ok_or_else(|| {
                        invalid(format!(
                            "item {id}: dicomFrame.samples must be a Uint8Array"
                        ))
                    })?;
                    let attrs: DicomAttributes =
                        from_js(field(&frame, "attributes"), "dicomFrame.attributes")?;
                    frames.push((id, samples, attrs));
                    continue;
                }
                let rgba = field(&it, "rgba");
                let b = bytes_of(&rgba).ok_or_else(|| {
                    invalid(format!("item {id}: needs bytes or rgba (Uint8Array)"))
                })?;
                let w = field(&it, "width").as_f64();
                let h = field(&it, "height").as_f64();
                let (w, h) = match (w, h) {
                    (Some(w), Some(h))
                        if w >= 0.0 && h >= 0.0 && w <= u32::MAX as f64 && h <= u32::MAX as f64 =>
                    {
                        (w as u32, h as u32)
                    }
                    _ => {
                        return Err(invalid(format!(
                            "item {id}: rgba needs numeric width and height"
                        )))
                    }
                };
                owned.push((id, b, Some((w, h))));
            }
            let mut inputs: Vec<(&str, ImageInput<'_>)> = owned
                .iter()
                .map(|(id, b, wh)| {
                    let input = match wh {
                        None => ImageInput::Encoded(b),
                        Some((width, height)) => ImageInput::Rgba {
                            pixels: b,
                            width: *width,
                            height: *height,
                        },
                    };
                    (id.as_str(), input)
                })
                .collect();
            inputs.extend(frames.iter().map(|(id, samples, attributes)| {
                (
                    id.as_str(),
                    ImageInput::DicomFrame {
                        samples,
                        attributes,
                    },
                )
            }));
            to_js(&self.inner.score_batch(&inputs, &o))
        }

        /// Score a DICOM frame the host decoded itself (a transfer syntax this build cannot
        /// decode, e.g. JPEG-LS with cornerstone's codec): its native little-endian samples
        /// (the bytes of the decoded typed array) and its attributes.
        #[wasm_bindgen(js_name = scoreDicomFrame, unchecked_return_type = "ImageScore")]
        pub fn score_dicom_frame(
            &self,
            samples: &[u8],
            #[wasm_bindgen(unchecked_param_type = "DicomAttributes")] attributes: JsValue,
            #[wasm_bindgen(unchecked_param_type = "ScoreOptions | undefined")] options: JsValue,
        ) -> Result<JsValue, JsValue> {
            let a: DicomAttributes = from_js(attributes, "DICOM attributes")?;
            let input = ImageInput::DicomFrame {
                samples,
                attributes: &a,
            };
            self.score_js(input, options)
        }

        /// Render a DICOM object for display exactly as this model sees it (the manifest's
        /// `input.dicom` window and frame, the model's channels; before resize and
        /// normalization): `{width, height, rgba, window, identity}`.
        #[wasm_bindgen(js_name = dicomPreview, unchecked_return_type = "DicomPreview & { rgba: Uint8ClampedArray }")]
        pub fn dicom_preview(
            &self,
            bytes: &[u8],
            #[wasm_bindgen(unchecked_param_type = "ScoreOptions | undefined")] options: JsValue,
        ) -> Result<JsValue, JsValue> {
            self.dicom_view(bytes, options, super::preview_js)
        }

        /// The windowed frames of a DICOM object as this model gets them before resize and
        /// normalization (every frame when the manifest scores each): `[{width, height,
        /// channels, pixels: Float32Array in [0, 1], window, identity}]`.
        #[wasm_bindgen(js_name = dicomFrames, unchecked_return_type = "{ width: number; height: number; channels: number; pixels: Float32Array; window: AppliedWindow; identity: DicomIdentity }[]")]
        pub fn dicom_frames(
            &self,
            bytes: &[u8],
            #[wasm_bindgen(unchecked_param_type = "ScoreOptions | undefined")] options: JsValue,
        ) -> Result<JsValue, JsValue> {
            self.dicom_view(bytes, options, super::frames_js)
        }
    }

    use crate::engine::dicom::DicomAttributes;
}

/// Whether bytes are DICOM (by content: preamble + `DICM`, `DICM`, or a bare data set).
#[wasm_bindgen(js_name = isDicom)]
pub fn is_dicom(bytes: &[u8]) -> bool {
    crate::engine::dicom::is_dicom(bytes)
}

/// Render a DICOM object for display with the given DICOM options (a manifest's
/// `input.dicom`; default: the file's window) and channels (`"gray"`, `"rgb"` (default) or
/// `"bgr"`, as the model's): `{width, height, rgba, window, identity}`.
#[wasm_bindgen(js_name = dicomPreview, unchecked_return_type = "DicomPreview & { rgba: Uint8ClampedArray }")]
pub fn dicom_preview(
    bytes: &[u8],
    #[wasm_bindgen(unchecked_param_type = "DicomOptions | undefined")] opts: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Channels | undefined")] channels: JsValue,
) -> Result<JsValue, JsValue> {
    view_with(bytes, opts, channels, preview_js)
}

/// The windowed frames of a DICOM object, decoded and windowed as a model with these DICOM
/// options and channels gets them before resize and normalization (every frame with
/// `frame: {mode: "each"}`): `[{width, height, channels, pixels: Float32Array in [0, 1],
/// window, identity}]`.
#[wasm_bindgen(js_name = dicomFrames, unchecked_return_type = "{ width: number; height: number; channels: number; pixels: Float32Array; window: AppliedWindow; identity: DicomIdentity }[]")]
pub fn dicom_frames(
    bytes: &[u8],
    #[wasm_bindgen(unchecked_param_type = "DicomOptions | undefined")] opts: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Channels | undefined")] channels: JsValue,
) -> Result<JsValue, JsValue> {
    view_with(bytes, opts, channels, frames_js)
}

/// `view` of a DICOM object with the JS DICOM options and channels, default limits.
fn view_with(
    bytes: &[u8],
    opts: JsValue,
    channels: JsValue,
    view: DicomView,
) -> Result<JsValue, JsValue> {
    let d: crate::engine::dicom::DicomOptions = options(opts, "DICOM options")?;
    let c = channels_of(channels)?;
    view(bytes, &d, &crate::engine::image::ImageLimits::default(), c)
}

fn channels_of(v: JsValue) -> Result<crate::engine::manifest::Channels, JsValue> {
    if v.is_undefined() || v.is_null() {
        return Ok(crate::engine::manifest::Channels::Rgb);
    }
    from_js(v, "channels")
}

/// A DICOM rendering for JS: the object's bytes, the DICOM options, limits and channels.
type DicomView = fn(
    &[u8],
    &crate::engine::dicom::DicomOptions,
    &crate::engine::image::ImageLimits,
    crate::engine::manifest::Channels,
) -> Result<JsValue, JsValue>;

fn preview_js(
    bytes: &[u8],
    d: &crate::engine::dicom::DicomOptions,
    limits: &crate::engine::image::ImageLimits,
    channels: crate::engine::manifest::Channels,
) -> Result<JsValue, JsValue> {
    let p = crate::engine::dicom::preview(bytes, d, limits, channels).map_err(|e| js_error(&e))?;
    let v = to_js(&p)?;
    Reflect::set(
        &v,
        &"rgba".into(),
        &js_sys::Uint8ClampedArray::from(p.rgba.as_slice()),
    )?;
    Ok(v)
}

fn frames_js(
    bytes: &[u8],
    d: &crate::engine::dicom::DicomOptions,
    limits: &crate::engine::image::ImageLimits,
    channels: crate::engine::manifest::Channels,
) -> Result<JsValue, JsValue> {
    let frames = crate::engine::dicom::windowed(bytes, d, limits, channels, true)
        .map_err(|e| js_error(&e))?;
    let out = js_sys::Array::new();
    for f in frames {
        let o = js_sys::Object::new();
        Reflect::set(&o, &"width".into(), &f.pixels.width.into())?;
        Reflect::set(&o, &"height".into(), &f.pixels.height.into())?;
        Reflect::set(&o, &"channels".into(), &(f.pixels.channels as u32).into())?;
        Reflect::set(
            &o,
            &"pixels".into(),
            &js_sys::Float32Array::from(f.pixels.data.as_slice()),
        )?;
        Reflect::set(&o, &"window".into(), &to_js(&f.window)?)?;
        Reflect::set(&o, &"identity".into(), &to_js(&f.identity)?)?;
        out.push(&o);
    }
    Ok(out.into())
}
