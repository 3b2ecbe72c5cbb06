//! The review queue (issue 5): batch selection, tiered verification with reasons,
//! progressive rounds with a stopping rule, and exports (pseudo-labels, Label Studio).

pub mod export;
pub mod labelstudio;
pub mod policy;
pub mod rounds;
pub mod select;
