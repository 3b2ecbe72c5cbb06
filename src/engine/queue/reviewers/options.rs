//! Settings shared by the reviewer functions, and their checks.

use serde::{Deserialize, Serialize};

use crate::error::{err, Result};

/// Settings shared by the reviewer functions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ReviewerOptions {
    /// Level of the intervals is `1 - alpha` (default 0.05).
    pub alpha: f64,
    /// In-control error rate of the drift alarm (default 0.05).
    pub acceptable_error_rate: f64,
    /// Error rate the alarm is to catch (default 0.15).
    pub alarm_error_rate: f64,
    /// The alarm's false-alarm rate: at most one per `1/alarmAlpha` decisions on average while
    /// in control (default 0.001).
    pub alarm_alpha: f64,
    /// A reviewer whose Clopper-Pearson lower bound on a class's accuracy is below this is weak
    /// on it (default 0.85).
    pub min_class_accuracy: f64,
    /// A model this confident (calibrated) that disagrees with a single review calls a second
    /// reviewer (default 0.9).
    pub model_confidence: f64,
    /// Reviews an expert-tier item gets (default 2).
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub expert_reviews: usize,
    /// Most reviews per item (default 3).
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub max_reviews: usize,
    /// Pseudo-counts pulling a reviewer's per-class confusion towards their overall accuracy
    /// (default 5).
    pub smoothing: f64,
}

impl Default for ReviewerOptions {
    fn default() -> Self {
        ReviewerOptions {
            alpha: 0.05,
            acceptable_error_rate: 0.05,
            alarm_error_rate: 0.15,
            alarm_alpha: 0.001,
            min_class_accuracy: 0.85,
            model_confidence: 0.9,
            expert_reviews: 2,
            max_reviews: 3,
            smoothing: 5.0,
        }
    }
}

pub(super) fn unit_open(x: f64, what: &str) -> Result<()> {
    if x > 0.0 && x < 1.0 {
        Ok(())
    } else {
        Err(err!(InvalidOptions, "{what} must be in (0, 1), got {x}"))
    }
}

impl ReviewerOptions {
    /// Check the ranges.
    pub fn check(&self) -> Result<()> {
        unit_open(self.alpha, "alpha")?;
        unit_open(self.acceptable_error_rate, "acceptableErrorRate")?;
        unit_open(self.alarm_error_rate, "alarmErrorRate")?;
        unit_open(self.alarm_alpha, "alarmAlpha")?;
        if self.alarm_error_rate <= self.acceptable_error_rate {
            return Err(err!(
                InvalidOptions,
                "alarmErrorRate ({}) must be above acceptableErrorRate ({})",
                self.alarm_error_rate,
                self.acceptable_error_rate
            ));
        }
        if !(0.0..=1.0).contains(&self.min_class_accuracy) {
            return Err(err!(
                InvalidOptions,
                "minClassAccuracy must be in [0, 1], got {}",
                self.min_class_accuracy
            ));
        }
        if !(0.0..=1.0).contains(&self.model_confidence) {
            return Err(err!(
                InvalidOptions,
                "modelConfidence must be in [0, 1], got {}",
                self.model_confidence
            ));
        }
        if self.max_reviews < 1 || self.expert_reviews > self.max_reviews {
            return Err(err!(
                InvalidOptions,
                "need 1 <= expertReviews <= maxReviews, got {} and {}",
                self.expert_reviews,
                self.max_reviews
            ));
        }
        if !(self.smoothing.is_finite() && self.smoothing >= 0.0) {
            return Err(err!(
                InvalidOptions,
                "smoothing must be a finite number >= 0, got {}",
                self.smoothing
            ));
        }
        Ok(())
    }
}
