//! JS bindings for calibration, conformal sets and auto-accept (issue 3).
