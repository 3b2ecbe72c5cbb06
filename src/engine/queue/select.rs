//! Batch selection (placeholder; being written).
