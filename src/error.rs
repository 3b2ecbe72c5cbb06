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

/// Shorthand constructors used across the engine.
macro_rules! err {
    ($kind:ident, $($arg:tt)*) => {
        $crate::error::Error::new($crate::error::ErrorKind::$kind, format!($($arg)*))
    };
}
pub(crate) use err;

/// Parse a JSON options/request object, rejecting unknown fields with a typed error.
pub fn from_json<T: serde::de::DeserializeOwned>(json: &str, what: &str) -> Result<T> {
    serde_json::from_str(json)
        .map_err(|e| Error::new(ErrorKind::InvalidOptions, format!("{what}: {e}")))
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
    fn context_prefixes() {
        let e = err!(ImageDecode, "bad header").context("img-7");
        assert_eq!(e.message(), "img-7: bad header");
        assert_eq!(e.to_string(), "img-7: bad header (image_decode)");
    }
}
