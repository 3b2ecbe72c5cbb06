//! JS bindings for batch selection (placeholder; being written).
