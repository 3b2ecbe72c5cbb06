//! Annotation consensus: majority vote, Dawid-Skene, CROWDLAB, ActiveLab,
//! agreement statistics.
//!
//! Every method takes one [`ConsensusRequest`] (long-format annotations `(item, annotator,
//! label)` with missing pairs simply absent, optional class names, declared ids and model
//! probabilities) and returns a serde response; the JS API and the CLI use the same shapes.
//!
//! | method | reference | function |
//! |---|---|---|
//! | majority vote | crowd-kit `MajorityVote` | [`majority::majority_vote`] |
//! | Dawid-Skene | crowd-kit `DawidSkene` | [`dawid_skene::dawid_skene`] |
//! | CROWDLAB | cleanlab `get_label_quality_multiannotator` | [`crowdlab::crowdlab`] |
//! | ActiveLab | cleanlab `get_active_learning_scores` | [`crowdlab::active_lab`] |
//! | agreement | sklearn / statsmodels / krippendorff | [`agreement::agreement`] |
//!
//! Intentional differences from the references are documented in each module; the main
//! ones: every remaining tie is broken by the lowest class index (cleanlab breaks its last
//! ties at random), all `K` classes are modelled even if never used (crowd-kit only keeps
//! labels seen in the data), and per-annotator output follows the annotator order (cleanlab
//! sorts its annotator table by quality).

pub mod agreement;
pub mod crowdlab;
pub mod data;
pub mod dawid_skene;
pub mod majority;
#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
pub(crate) mod testutil;

pub use data::{Annotation, ConsensusRequest, Dataset, Label};
