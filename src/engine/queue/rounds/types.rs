//! Round request and plan types: review outcomes, audit records, the stopping rule, plan
//! options, estimates and the round plan.

#[cfg(doc)]
use super::plan_round;

use serde::{Deserialize, Serialize};

use crate::engine::queue::audit::AuditStatus;
use crate::engine::queue::noise_model::{NoiseModel, NoiseModelConfig};
use crate::engine::queue::policy::{PolicyConfig, PoolSet, TierResponse, VerifiedSet};
use crate::engine::queue::select::{SelectOptions, Strategy};

/// One review outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReviewOutcome {
    /// Pool index.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub index: usize,
    /// The label the reviewer confirmed or gave.
    #[serde(deserialize_with = "crate::engine::limits::de::class")]
    pub label: usize,
}

/// An audit done: echo of the planner's [`AuditPlan`] with the count of wrong labels found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuditRecord {
    /// Unreviewed, unfailed items when the audit was drawn.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub remainder_size: usize,
    /// Items audited (a fixed-size audit; derived from `indices` in a sequential one).
    #[serde(default)]
    pub sampled: usize,
    /// Audited items whose label (given, or predicted when none) was wrong (fixed-size audit).
    #[serde(default)]
    pub wrong: usize,
    /// The planner's estimated error rate of the pool when it asked for the audit.
    pub estimated_rate: f64,
    /// A sequential audit: the pool indices audited so far, in the order drawn (each one's
    /// outcome is read from `reviewed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub indices: Option<Vec<usize>>,
}

/// Stopping rule settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct StoppingRule {
    /// Stop when the pool's error rate is certified below this (default 0.01).
    pub target_error_rate: f64,
    /// Total failure probability of the certificate (default 0.05).
    pub delta: f64,
    /// With `auditWhen: "rate"` (and for fixed-size audits), ask for an audit once the
    /// estimated rate is below `auditAt x target` (default 0.5: a sequential audit that finds
    /// the rate too high gives up after 3 wrong labels, so an early one costs little).
    pub audit_at: f64,
    /// Largest audit (default 3000).
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub max_audit: usize,
    /// The audit is sized to certify the target if the observed error rate is up to this
    /// multiple of the estimate (default 2; fixed-size audits).
    pub audit_margin: f64,
    /// Audit sequentially (default true): `auditStep` items at a time, read by an
    /// anytime-valid betting confidence sequence ([`super::audit`]), stopping as soon as the
    /// target is certified; false draws one audit sized in advance (Clopper-Pearson).
    pub sequential: bool,
    /// Items per step of a sequential audit (default 25).
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub audit_step: usize,
    /// When a sequential audit starts (default `cost`; fixed-size audits always use `rate`).
    pub audit_when: AuditWhen,
    /// Share of `delta` the first audit is tested at (default 0.8, in (0, 1)); audit `j >= 2`
    /// is tested at `(1 - share) delta / 2^(j-1)`, so all audits together spend at most
    /// `delta` (0.5 gives `delta / 2^j`). A first audit timed by `cost` rarely fails, so most
    /// of `delta` goes to it: fewer draws to certify.
    pub first_audit_share: f64,
}

/// When the planner asks for an audit instead of another batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum AuditWhen {
    /// When the expected reviews to a certificate are fewest by starting now rather than after
    /// one or more further batches: each batch removes the wrong labels its items are expected
    /// to hold, and the audit is expected to need `ln(1/delta_j) / KL(d ‖ a)` draws for a
    /// remainder with error rate `d` that must be certified below `a`. The estimates (the
    /// noise model's posteriors) only time the audit: its bound never depends on them.
    Cost,
    /// Once the estimated error rate is below `auditAt x targetErrorRate` (and, after a
    /// failed audit, half the estimate it started at).
    Rate,
}

impl Default for StoppingRule {
    fn default() -> Self {
        StoppingRule {
            target_error_rate: 0.01,
            delta: 0.05,
            audit_at: 0.5,
            max_audit: 3000,
            audit_margin: 2.0,
            sequential: true,
            audit_step: 25,
            audit_when: AuditWhen::Cost,
            first_audit_share: 0.8,
        }
    }
}

/// A diverse-batch strategy for the round's batch ([`super::select`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Selection {
    /// `topK`, `rankedBatch`, `kCenterGreedy` or `badge` (all but `topK` need `embeddings`).
    pub strategy: Strategy,
    /// Its options (metric, seed, …). With the round's `classBudget`, the per-class counts
    /// are the round's.
    #[serde(default)]
    pub options: SelectOptions,
}

/// Planning options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct PlanOptions {
    /// Items per batch (default 500).
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub batch_size: usize,
    /// Per-class budget proportional to expected errors left (default true).
    pub class_budget: bool,
    /// Floor per class under `classBudget` (default 0).
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub min_per_class: usize,
    /// Seed of the audit draws (default 0).
    pub seed: u64,
    /// Stopping rule.
    pub stopping: StoppingRule,
    /// Pick the batch with a diversity strategy over the review candidates, scored by their
    /// priority (default: none, the highest priorities).
    pub selection: Option<Selection>,
    /// The label-noise model behind the review order and the per-class budgets
    /// ([`super::noise_model`]; default on).
    pub noise_model: NoiseModelConfig,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            batch_size: 500,
            class_budget: true,
            min_per_class: 0,
            seed: 0,
            stopping: StoppingRule::default(),
            selection: None,
            noise_model: NoiseModelConfig::default(),
        }
    }
}

/// Request for [`plan_round`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoundRequest {
    /// Classes.
    #[serde(deserialize_with = "crate::engine::limits::de::classes")]
    pub k: usize,
    /// The verified set before any round.
    pub verified: VerifiedSet,
    /// The whole pool (reviewed items included; they are skipped).
    pub pool: PoolSet,
    /// Review outcomes so far (batches and audits).
    #[serde(default)]
    pub reviewed: Vec<ReviewOutcome>,
    /// Audits so far, oldest first.
    #[serde(default)]
    pub audits: Vec<AuditRecord>,
    /// The policy.
    #[serde(default)]
    pub policy: PolicyConfig,
    /// Planning options.
    #[serde(default)]
    pub options: PlanOptions,
    /// Pool embeddings, `n x d` row-major (for `options.selection`).
    #[serde(default)]
    pub embeddings: Option<Vec<f64>>,
    /// Embedding dimension.
    #[serde(default)]
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub d: Option<usize>,
    /// Verified items' embeddings, `verified.n x d` (the initial labelled set of the
    /// diversity strategies; reviewed pool items join it).
    #[serde(default)]
    pub verified_embeddings: Option<Vec<f64>>,
}

/// An audit to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuditPlan {
    /// Pool indices to review (uniform sample of the unreviewed, unfailed items).
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub indices: Vec<usize>,
    /// Size of the remainder it was drawn from (echo it in the [`AuditRecord`]).
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub remainder_size: usize,
    /// Estimated error rate of the pool now (echo it too).
    pub estimated_rate: f64,
    /// Failure probability this audit is tested at.
    pub delta: f64,
    /// Sequential audit: review `indices` and append them to the record's `indices`.
    pub sequential: bool,
    /// 1-based audit number: when it equals the number of audit records, the step continues
    /// the last record (append to it); otherwise push a new record.
    pub number: usize,
    /// Where the sequential audit stands before this step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<AuditStatus>,
}

/// Expected errors left in one class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ClassEstimate {
    /// Class (of the item's current label).
    pub class: usize,
    /// Unreviewed items with this current label.
    pub unreviewed: usize,
    /// Expected wrong labels among them.
    pub expected_errors: f64,
    /// Reviewed items of this class so far.
    pub reviewed: usize,
    /// Wrong labels found.
    pub wrong_found: usize,
    /// Items of the next batch from this class.
    pub budget: usize,
}

/// Where the pool stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PoolEstimate {
    /// Pool size.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub n: usize,
    /// Reviewed so far.
    pub reviewed: usize,
    /// Unreviewed.
    pub unreviewed: usize,
    /// Failed items (unreviewed, no usable probabilities).
    pub failed: usize,
    /// Auto-accepted now.
    pub auto_accepted: usize,
    /// Expected wrong labels left (model estimate, corrected per class; failed count as wrong).
    pub expected_errors: f64,
    /// `expectedErrors / n`.
    pub expected_error_rate: f64,
    /// Certified upper bound on the pool's error rate from the latest audit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certified_error_rate: Option<f64>,
    /// Probability that the certificate fails (sum over audits).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certified_delta: Option<f64>,
}

/// The plan of the next round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct RoundPlan {
    /// Pool indices to review next, in order (empty when an audit is asked for or when
    /// stopping).
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub batch: Vec<usize>,
    /// An audit to run instead of a batch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit: Option<AuditPlan>,
    /// Stop: the target is certified (or nothing is left to review).
    pub stop: bool,
    /// Why (or why not) stop.
    pub stop_reason: String,
    /// Pool estimate.
    pub estimate: PoolEstimate,
    /// Per-class estimates and budgets.
    pub per_class: Vec<ClassEstimate>,
    /// The triage of the unreviewed items (indices are pool indices).
    pub tiers: TierResponse,
    /// The fitted label-noise model (when enabled and the pool came with labels).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub noise_model: Option<NoiseModel>,
}
