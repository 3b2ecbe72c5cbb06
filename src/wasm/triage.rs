//! JS bindings for the triage maths (issue 3).
