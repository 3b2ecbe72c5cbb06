//! JS bindings for annotation consensus (issue 4).
