//! One error type for the whole engine: a [`ErrorKind`] (with a stable string code that the
//! JS binding and the CLI expose) plus a human message with the context.

use std::fmt;

/// What went wrong, as a stable category. New kinds may be added (non-exhaustive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Options or a request object are malformed (unknown field, wrong type, out of range).
    InvalidOptions,
    /// The model manifest is malformed or inconsistent.
    InvalidManifest,
    /// The model bytes do not hash to the manifest's `sha256`.
    ModelHashMismatch,
    /// The model could not be parsed or optimized, or is refused (too large, hostile).
    InvalidModel,
    /// The model's input or output shape disagrees with the manifest.
    ShapeMismatch,
    /// An image could not be decoded (corrupt, truncated, unsupported format).
    ImageDecode,
    /// An image exceeds the configured limits (width, height, allocation).
    ImageTooLarge,
    /// Raw pixels were given with a length that does not match width x height x 4.
    InvalidPixels,
    /// Inference failed at run time.
    Inference,
    /// The model (tract) panicked while running on this item: natively the panic is caught
    /// and the item fails alone.
    InferencePanicked,
    /// The model produced NaN or infinity.
    NonFiniteOutput,
    /// Probabilities given as input are not a valid distribution.
    InvalidProbabilities,
    /// Input data (labels, tables, arrays) are malformed or inconsistent.
    InvalidInput,
    /// Not enough data to compute what was asked with the promised guarantee.
    InsufficientData,
    /// A feature was compiled out of this build.
    Unsupported,
    /// Reading or writing a file failed (CLI only).
    Io,
    /// A DICOM transfer syntax this build cannot decode (the message names it and its UID).
    UnsupportedTransferSyntax,
}

impl ErrorKind {
    /// The stable code string (snake_case) carried by JS errors and CLI output.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::InvalidOptions => "invalid_options",
            ErrorKind::InvalidManifest => "invalid_manifest",
            ErrorKind::ModelHashMismatch => "model_hash_mismatch",
            ErrorKind::InvalidModel => "invalid_model",
            ErrorKind::ShapeMismatch => "shape_mismatch",
            ErrorKind::ImageDecode => "image_decode",
            ErrorKind::ImageTooLarge => "image_too_large",
            ErrorKind::InvalidPixels => "invalid_pixels",
            ErrorKind::Inference => "inference",
            ErrorKind::InferencePanicked => "inference_panicked",
            ErrorKind::NonFiniteOutput => "non_finite_output",
            ErrorKind::InvalidProbabilities => "invalid_probabilities",
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::InsufficientData => "insufficient_data",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Io => "io",
            ErrorKind::UnsupportedTransferSyntax => "unsupported_transfer_syntax",
        }
    }
}

/// The engine's error: a kind and a message that says what and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

/// Shorthand for `std::result::Result<T, medtriage::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }
    /// The category.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    /// The stable code string of the category.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }
    /// The human-readable message.
    pub fn message(&self) -> &str {
        &self.message
    }
    /// Prefix the message with context (e.g. the item id).
    pub fn context(mut self, ctx: impl fmt::Display) -> Self {
        self.message = format!("{ctx}: {}", self.message);
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.kind.code())
    }
}

impl std::error::Error for Error {}

/// Run `f`, turning a panic into `Err(message)` without printing it.
///
/// Natively the panic is caught with `catch_unwind`, and the process-wide panic hook (which
/// would print the message and, with `RUST_BACKTRACE`, a backtrace) is told to stay quiet on
/// this thread while `f` runs: a hostile model or file fails its item with a typed error and
/// the batch goes on. The message comes back cut to one line of at most 200 characters.
///
/// **In wasm this cannot work**: `wasm32-unknown-unknown` has no unwinding, a panic is a trap
/// that leaves the instance unusable, and `f` is just called. There the JS side treats a trap
/// as the loss of that instance (the worker pool starts a fresh worker and retries the item
/// alone), and the engine's budget checks (`engine::limits`) keep known hostile inputs from
/// reaching a panic at all.
pub fn catch_panic<R>(f: impl FnOnce() -> R) -> std::result::Result<R, String> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        quiet::run(f)
    }
    #[cfg(target_arch = "wasm32")]
    {
        Ok(f())
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod quiet {
    use std::cell::Cell;
    use std::panic::{self, AssertUnwindSafe};
    use std::sync::Once;

    thread_local! {
        static QUIET: Cell<u32> = const { Cell::new(0) };
    }
    static HOOK: Once = Once::new();

    pub(super) fn run<R>(f: impl FnOnce() -> R) -> std::result::Result<R, String> {
        HOOK.call_once(|| {
            let previous = panic::take_hook();
            panic::set_hook(Box::new(move |info| {
                if QUIET.with(Cell::get) == 0 {
                    previous(info);
                }
            }));
        });
        QUIET.with(|q| q.set(q.get() + 1));
        let r = panic::catch_unwind(AssertUnwindSafe(f));
        QUIET.with(|q| q.set(q.get().saturating_sub(1)));
        r.map_err(|payload| {
            let text = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            // an unwrapped anyhow error carries its backtrace in the text
            let text = match text.find("Stack backtrace") {
                Some(i) => &text[..i],
                None => &text[..],
            };
            super::one_line(text, 200)
        })
    }
}

/// `text` on one line (whitespace runs become one space), cut to `max` characters.
pub fn one_line(text: &str, max: usize) -> String {
    let mut s: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() > max {
        s = s.chars().take(max).collect::<String>() + "…";
    }
    s
}

/// Shorthand constructors used across the engine.
macro_rules! err {
    ($kind:ident, $($arg:tt)*) => {
        $crate::error::Error::new($crate::error::ErrorKind::$kind, format!($($arg)*))
    };
}
pub(crate) use err;

/// Parse a JSON options/request value, rejecting unknown fields with a typed error.
pub fn from_json<T: serde::de::DeserializeOwned>(json: &str, what: &str) -> Result<T> {
    serde_json::from_str(json)
        .map_err(|e| Error::new(ErrorKind::InvalidOptions, format!("{what}: {e}")))
}

/// [`from_json`] for an options struct: the text must be a JSON object (serde would also
/// fill a struct from an array, by position).
pub fn object_from_json<T: serde::de::DeserializeOwned>(json: &str, what: &str) -> Result<T> {
    if !json.trim_start().starts_with('{') {
        return Err(Error::new(
            ErrorKind::InvalidOptions,
            format!("{what}: expected a JSON object"),
        ));
    }
    from_json(json, what)
}

/// `#[serde(deserialize_with = "object")]`: a struct field that must be given as an object
/// (serde's derive also accepts an array of the fields by position, which turned
/// `"limits": [1, 2, 3]` into limits of 1, 2 and 3 pixels / bytes).
pub fn object<'de, D, T>(d: D) -> std::result::Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    struct V<T>(std::marker::PhantomData<T>);
    impl<'de, T: serde::Deserialize<'de>> serde::de::Visitor<'de> for V<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            map: A,
        ) -> std::result::Result<T, A::Error> {
            T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
        }
    }
    d.deserialize_map(V(std::marker::PhantomData))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct() {
        let kinds = [
            ErrorKind::InvalidOptions,
            ErrorKind::InvalidManifest,
            ErrorKind::ModelHashMismatch,
            ErrorKind::InvalidModel,
            ErrorKind::ShapeMismatch,
            ErrorKind::ImageDecode,
            ErrorKind::ImageTooLarge,
            ErrorKind::InvalidPixels,
            ErrorKind::Inference,
            ErrorKind::InferencePanicked,
            ErrorKind::NonFiniteOutput,
            ErrorKind::InvalidProbabilities,
            ErrorKind::InvalidInput,
            ErrorKind::InsufficientData,
            ErrorKind::Unsupported,
            ErrorKind::Io,
            ErrorKind::UnsupportedTransferSyntax,
        ];
        let mut codes: Vec<_> = kinds.iter().map(|k| k.code()).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), kinds.len());
    }

    #[test]
    fn panics_are_caught_quietly() {
        let r: std::result::Result<(), String> = catch_panic(|| panic!("boom\n  at line 2"));
        assert_eq!(r.unwrap_err(), "boom at line 2");
        assert_eq!(catch_panic(|| 7).unwrap(), 7);
        assert_eq!(one_line(&"x".repeat(300), 5), "xxxxx…");
    }

    #[test]
    fn context_prefixes() {
        let e = err!(ImageDecode, "bad header").context("img-7");
        assert_eq!(e.message(), "img-7: bad header");
        assert_eq!(e.to_string(), "img-7: bad header (image_decode)");
    }
}
