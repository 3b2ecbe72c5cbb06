//! The review queue: batch selection, tiered verification with reasons,
//! progressive rounds with a stopping rule, and exports (pseudo-labels, Label Studio).

pub mod export;
pub mod policy;
pub mod rounds;
pub mod select;
