//! Label Studio, the way back: the labeling config written from the class names, and the
//! annotations a reviewer submitted read back into review decisions for the next round.
//!
//! The tasks go out through [`super::export::label_studio`]; each carries its pool index in
//! `data.medtriage_index` (and its id in `data.medtriage_id`). [`read_label_studio`] takes
//! what Label Studio gives back, in any of its three shapes:
//! - the **JSON** export (a list of tasks, each with `data` and `annotations`);
//! - the **JSON-MIN** export (one flat object per annotation: the task's `data` fields at the
//!   top level, the choice under the control's name, `annotator`, `annotation_id`);
//! - the **API's task objects** (`GET /api/tasks?project=…`: `{"tasks": […]}`, or a list, or
//!   one task), shaped like the JSON export.
//!
//! Task -> pool index: `data.medtriage_index`; when `ids` are given, `data.medtriage_id` must
//! be `ids[index]` (an export of another pool is refused), and a task without an index is
//! found by its id. Choice -> class: the chosen value must be one of `classes` (the
//! manifest's names), else `invalid_input` naming the task. An annotation marked
//! `was_cancelled` (the reviewer pressed Skip) is counted in `skipped` and is no decision; an
//! annotation without a choice of the class control is counted in `withoutChoice`. Several
//! annotations by the same annotator on one task: the last one counts (by `updated_at`, then
//! `created_at`, then annotation id, then position), the others are counted in
//! `superseded`. Several annotators on one task go to consensus (majority vote, ties to the
//! lowest class index and listed in `ties`; or Dawid-Skene), and the consensus is the task's
//! decision: `reviewed`, ready for `planRound`.

mod config;
mod gather;
mod read;

pub use config::*;
pub(super) use gather::*;
pub use read::*;

#[cfg(test)]
mod tests;
