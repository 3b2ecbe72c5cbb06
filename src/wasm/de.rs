//! Reading JS request objects into the engine's serde structs.
//!
//! A thin layer over `serde-wasm-bindgen` that changes three things:
//!
//! 1. **Unknown fields are rejected.** `serde-wasm-bindgen` reads a struct by looking up the
//!    fields it knows, so `#[serde(deny_unknown_fields)]` never sees a misspelt option. Here a
//!    plain object is read as a map over all its own enumerable keys, at every depth, so
//!    `{ filterBy: "both", fracNoize: 0.5 }` is an `invalid_options` error, as in the CLI.
//! 2. **Numeric arrays are copied in one go.** A typed array (`Float64Array`, `Float32Array`,
//!    `Int32Array`, `Uint32Array`, `Uint8Array`, …) is copied into wasm memory with one
//!    `memcpy`-like call instead of one JS call per element through the iterator protocol
//!    (`findLabelIssues` on 1,000,000 x 10 spent nearly all its time there). Plain arrays of
//!    numbers are read element by element but straight into a `Vec<f64>`. Integers in the
//!    array are handed to serde as integers, so the same path fills `Vec<usize>` labels
//!    (a fractional or negative label is still a type error).
//! 3. **A key whose value is `undefined` counts as absent** (as `JSON.stringify` would drop
//!    it), so `{ fracNoise: undefined }` means "use the default".
//! 4. **Long arrays of anything else** (annotation objects, id strings, nested arrays) cross as
//!    one `JSON.stringify` text parsed by serde_json: two native passes instead of a dozen JS
//!    calls per element (150,000 items' annotations: 12.5 s before). JSON's rules apply inside
//!    them: `NaN` and `Infinity` become `null` (a type error where a number is expected), and
//!    a typed array nested in such an array is not supported (it would arrive as an object).
//!
//! Everything else (strings, enums, booleans, `null`) is `serde-wasm-bindgen`'s behaviour.

use js_sys::{Array, Object, Reflect};
use serde::de::{
    self, value::MapDeserializer, value::SeqDeserializer, DeserializeOwned, IntoDeserializer,
    Visitor,
};
use serde_wasm_bindgen::{Deserializer as SwbDe, Error};
use wasm_bindgen::{JsCast, JsValue};

/// Plain arrays shorter than this are read through serde-wasm-bindgen as they are.
const FAST_MIN_LEN: u32 = 16;

/// Deserialize a JS value into `T` with the rules in the module docs.
pub(crate) fn from_value<T: DeserializeOwned>(v: JsValue) -> Result<T, Error> {
    T::deserialize(Js(v))
}

/// A JS value being deserialized.
struct Js(JsValue);

/// One number of a numeric array: integers are offered to serde as integers.
struct Num(f64);

/// Largest integer a double holds exactly.
const MAX_SAFE: f64 = 9_007_199_254_740_991.0;

impl<'de> de::Deserializer<'de> for Num {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let x = self.0;
        if x.fract() == 0.0 && x.abs() <= MAX_SAFE {
            if x >= 0.0 {
                visitor.visit_u64(x as u64)
            } else {
                visitor.visit_i64(x as i64)
            }
        } else {
            visitor.visit_f64(x)
        }
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_f64(self.0)
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_f32(self.0 as f32)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

impl<'de> IntoDeserializer<'de, Error> for Num {
    type Deserializer = Num;
    fn into_deserializer(self) -> Num {
        self
    }
}

impl<'de> IntoDeserializer<'de, Error> for Js {
    type Deserializer = Js;
    fn into_deserializer(self) -> Js {
        self
    }
}

fn is_typed_numeric_array(v: &JsValue) -> bool {
    v.is_instance_of::<js_sys::Float64Array>()
        || v.is_instance_of::<js_sys::Float32Array>()
        || v.is_instance_of::<js_sys::Int32Array>()
        || v.is_instance_of::<js_sys::Uint32Array>()
        || v.is_instance_of::<js_sys::Int16Array>()
        || v.is_instance_of::<js_sys::Uint16Array>()
        || v.is_instance_of::<js_sys::Int8Array>()
        || v.is_instance_of::<js_sys::Uint8Array>()
        || v.is_instance_of::<js_sys::Uint8ClampedArray>()
}

/// The numbers of a typed array or of a plain array holding only numbers (`None` otherwise).
fn numbers(v: &JsValue) -> Option<Vec<f64>> {
    if let Some(f) = v.dyn_ref::<js_sys::Float64Array>() {
        return Some(f.to_vec());
    }
    if is_typed_numeric_array(v) {
        // `new Float64Array(typedArray)` converts element types natively in one call.
        return Some(js_sys::Float64Array::new(v).to_vec());
    }
    let arr = v.dyn_ref::<Array>()?;
    let len = arr.length();
    if len < FAST_MIN_LEN {
        return None;
    }
    // `arr.every(Number.isFinite)` runs inside the JS engine; `Number.isFinite` is true only
    // for values of type number (no coercion of null, booleans or numeric strings). When it
    // holds, `new Float64Array(arr)` copies exactly; otherwise (a string, a NaN, …) the
    // element-wise path reads the array and reports the offending element.
    if all_finite_numbers(arr) {
        return Some(js_sys::Float64Array::new(arr).to_vec());
    }
    let mut out = Vec::with_capacity(len as usize);
    for i in 0..len {
        out.push(arr.get(i).as_f64()?);
    }
    Some(out)
}

fn all_finite_numbers(arr: &Array) -> bool {
    let get = |obj: &JsValue, key: &str| Reflect::get(obj, &key.into()).ok();
    let number = get(&js_sys::global().into(), "Number");
    let is_finite = number.as_ref().and_then(|n| get(n, "isFinite"));
    let every = get(arr, "every").and_then(|f| f.dyn_into::<js_sys::Function>().ok());
    match (is_finite, every) {
        (Some(pred), Some(every)) => every
            .call1(arr, &pred)
            .map(|r| r.is_truthy())
            .unwrap_or(false),
        _ => false,
    }
}

/// An object literal (`{…}` or `Object.create(null)`): its prototype is `Object.prototype`
/// (whose own prototype is null) or null. Arrays, typed arrays, maps, functions and class
/// instances have longer prototype chains.
fn is_plain_object(v: &JsValue) -> bool {
    if !v.is_object() {
        return false;
    }
    let proto = Object::get_prototype_of(v);
    proto.is_null() || Object::get_prototype_of(&proto).is_null()
}

/// Own enumerable keys with a defined value, in JS property order.
fn entries(obj: &JsValue) -> Result<Vec<(String, Js)>, Error> {
    let keys = Object::keys(obj.unchecked_ref::<Object>());
    let mut out = Vec::with_capacity(keys.length() as usize);
    for key in keys.iter() {
        let value = Reflect::get(obj, &key).map_err(Error::from)?;
        if value.is_undefined() {
            continue;
        }
        out.push((key.as_string().unwrap_or_default(), Js(value)));
    }
    Ok(out)
}

macro_rules! forward_to_swb {
    ($($method:ident ( $($arg:ident : $ty:ty),* )),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, Error> {
                SwbDe::from(self.0).$method($($arg,)* visitor)
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for Js {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if is_plain_object(&self.0) {
            return visitor.visit_map(MapDeserializer::new(entries(&self.0)?.into_iter()));
        }
        if Array::is_array(&self.0) {
            return self.deserialize_seq(visitor);
        }
        SwbDe::from(self.0).deserialize_any(visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        if is_plain_object(&self.0) {
            return visitor.visit_map(MapDeserializer::new(entries(&self.0)?.into_iter()));
        }
        SwbDe::from(self.0).deserialize_struct(name, fields, visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if is_plain_object(&self.0) {
            return visitor.visit_map(MapDeserializer::new(entries(&self.0)?.into_iter()));
        }
        SwbDe::from(self.0).deserialize_map(visitor)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if let Some(nums) = numbers(&self.0) {
            return visitor.visit_seq(SeqDeserializer::new(nums.into_iter().map(Num)));
        }
        if let Some(arr) = self.0.dyn_ref::<Array>() {
            // a long array of objects or strings (annotations, item ids, results): one native
            // `JSON.stringify` and a native parse instead of a dozen JS calls per element
            if arr.length() >= FAST_MIN_LEN {
                if let Some(text) = js_sys::JSON::stringify(arr)
                    .ok()
                    .and_then(|t| t.as_string())
                {
                    let mut de = serde_json::Deserializer::from_reader(text.as_bytes());
                    return de
                        .deserialize_seq(visitor)
                        .map_err(<Error as de::Error>::custom);
                }
            }
            return visitor.visit_seq(SeqDeserializer::new(arr.iter().map(Js)));
        }
        SwbDe::from(self.0).deserialize_seq(visitor)
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.0.is_undefined() || self.0.is_null() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    forward_to_swb! {
        deserialize_bool(), deserialize_i8(), deserialize_i16(), deserialize_i32(),
        deserialize_i64(), deserialize_i128(), deserialize_u8(), deserialize_u16(),
        deserialize_u32(), deserialize_u64(), deserialize_u128(), deserialize_f32(),
        deserialize_f64(), deserialize_char(), deserialize_str(), deserialize_string(),
        deserialize_bytes(), deserialize_byte_buf(), deserialize_unit(),
        deserialize_unit_struct(name: &'static str),
        deserialize_enum(name: &'static str, variants: &'static [&'static str]),
        deserialize_identifier(), deserialize_ignored_any(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::triage::label_issues::{FilterBy, FindLabelIssuesRequest};
    use wasm_bindgen_test::wasm_bindgen_test as test;

    wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

    fn parse(js: &str) -> JsValue {
        js_sys::JSON::parse(js).unwrap()
    }

    fn set(obj: &JsValue, key: &str, v: &JsValue) {
        Reflect::set(obj, &key.into(), v).unwrap();
    }

    const N: usize = 20;

    fn probs() -> Vec<f64> {
        (0..N)
            .flat_map(|i| {
                if i % 2 == 0 {
                    [0.75, 0.25]
                } else {
                    [0.125, 0.875]
                }
            })
            .collect()
    }

    fn labels() -> Vec<usize> {
        (0..N).map(|i| if i == 3 { 0 } else { i % 2 }).collect()
    }

    #[test]
    fn typed_and_plain_arrays_give_the_same_request() {
        let plain = parse(&format!(
            r#"{{"predProbs": {:?}, "n": {N}, "k": 2, "labels": {:?}, "options": {{"filterBy": "both"}}}}"#,
            probs(),
            labels()
        ));
        let a: FindLabelIssuesRequest = from_value(plain.clone()).unwrap();
        assert_eq!(a.pred_probs, probs());
        assert_eq!(a.labels, labels());
        assert_eq!(a.options.filter_by, FilterBy::Both);

        let typed = plain.clone();
        set(
            &typed,
            "predProbs",
            &js_sys::Float64Array::from(&probs()[..]).into(),
        );
        let l32: Vec<i32> = labels().iter().map(|&l| l as i32).collect();
        set(&typed, "labels", &js_sys::Int32Array::from(&l32[..]).into());
        let b: FindLabelIssuesRequest = from_value(typed).unwrap();
        assert_eq!(a, b);

        // Float32Array widens exactly (0.75, 0.25, 0.125, 0.875 are dyadic).
        let f32s: Vec<f32> = probs().iter().map(|&x| x as f32).collect();
        let narrow = plain.clone();
        set(
            &narrow,
            "predProbs",
            &js_sys::Float32Array::from(&f32s[..]).into(),
        );
        let c: FindLabelIssuesRequest = from_value(narrow).unwrap();
        assert_eq!(a, c);
    }

    #[test]
    fn unknown_fields_are_rejected_at_every_depth() {
        let top = parse(r#"{"predProbs": [1, 0], "n": 1, "k": 2, "labels": [0], "extra": 1}"#);
        let e = from_value::<FindLabelIssuesRequest>(top).unwrap_err();
        assert!(format!("{e:?}").contains("extra"), "{e:?}");
        let nested = parse(
            r#"{"predProbs": [1, 0], "n": 1, "k": 2, "labels": [0], "options": {"fracNoize": 0.5}}"#,
        );
        let e = from_value::<FindLabelIssuesRequest>(nested).unwrap_err();
        assert!(format!("{e:?}").contains("fracNoize"), "{e:?}");
    }

    #[test]
    fn undefined_is_absent_and_bad_numbers_are_type_errors() {
        let req = parse(r#"{"predProbs": [1, 0], "n": 1, "k": 2, "labels": [0], "options": {}}"#);
        let opts = Reflect::get(&req, &"options".into()).unwrap();
        set(&opts, "fracNoise", &JsValue::UNDEFINED);
        let r: FindLabelIssuesRequest = from_value(req).unwrap();
        assert_eq!(r.options.frac_noise, 1.0);

        // a fractional label, in a plain array long enough for the fast path and in a typed one
        let mut ls: Vec<f64> = labels().iter().map(|&l| l as f64).collect();
        ls[7] = 0.5;
        let plain = parse(&format!(
            r#"{{"predProbs": {:?}, "n": {N}, "k": 2, "labels": {:?}}}"#,
            probs(),
            ls
        ));
        assert!(from_value::<FindLabelIssuesRequest>(plain).is_err());
        let typed = parse(&format!(
            r#"{{"predProbs": {:?}, "n": {N}, "k": 2}}"#,
            probs()
        ));
        set(
            &typed,
            "labels",
            &js_sys::Float64Array::from(&ls[..]).into(),
        );
        assert!(from_value::<FindLabelIssuesRequest>(typed).is_err());

        // a string among numbers falls back to the element-wise path and fails there
        let mut strs: Vec<String> = probs().iter().map(|x| x.to_string()).collect();
        strs[5] = "\"x\"".into();
        let bad = parse(&format!(
            r#"{{"predProbs": [{}], "n": {N}, "k": 2, "labels": {:?}}}"#,
            strs.join(","),
            labels()
        ));
        assert!(from_value::<FindLabelIssuesRequest>(bad).is_err());

        // NaN in a Float64Array arrives as NaN (the engine then refuses it with its own code)
        let mut p = probs();
        p[0] = f64::NAN;
        let nan = parse(&format!(
            r#"{{"n": {N}, "k": 2, "labels": {:?}}}"#,
            labels()
        ));
        set(
            &nan,
            "predProbs",
            &js_sys::Float64Array::from(&p[..]).into(),
        );
        let r: FindLabelIssuesRequest = from_value(nan).unwrap();
        assert!(r.pred_probs[0].is_nan());
    }

    #[test]
    fn long_arrays_of_objects_keep_the_rules() {
        use crate::engine::queue::rounds::ReviewOutcome;
        for n in [3usize, 40] {
            let items: Vec<String> = (0..n)
                .map(|i| format!(r#"{{"index": {i}, "label": {}}}"#, i % 3))
                .collect();
            let ok = parse(&format!("[{}]", items.join(",")));
            let r: Vec<ReviewOutcome> = from_value(ok).unwrap();
            assert_eq!(r.len(), n);
            assert_eq!(r[n - 1].label, (n - 1) % 3);
            let mut bad = items.clone();
            bad[n - 1] = format!(r#"{{"index": {}, "label": 0, "lable": 1}}"#, n - 1);
            let e = from_value::<Vec<ReviewOutcome>>(parse(&format!("[{}]", bad.join(","))));
            assert!(format!("{:?}", e.unwrap_err()).contains("lable"), "n = {n}");
            let mut frac = items.clone();
            frac[0] = r#"{"index": 0.5, "label": 0}"#.into();
            assert!(
                from_value::<Vec<ReviewOutcome>>(parse(&format!("[{}]", frac.join(",")))).is_err()
            );
        }
    }
}
