//! Mixing gold items into a reviewer's queue at a target share.

use serde::{Deserialize, Serialize};

use crate::engine::probs::SplitMix64;
use crate::error::{err, Result};

/// Request for [`mix_gold`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MixGoldRequest {
    /// The batch (pool indices), in review order.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub batch: Vec<usize>,
    /// Verified items that may serve as gold (verified-set indices).
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub gold: Vec<usize>,
    /// Gold items this reviewer has already seen (never shown twice).
    #[serde(default)]
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub seen: Vec<usize>,
    /// Share of gold in the mixed batch, in `[0, 0.5]` (default 0.05).
    #[serde(default = "default_share")]
    pub gold_share: f64,
    /// Seed (default 0).
    #[serde(default)]
    pub seed: u64,
}

pub(super) fn default_share() -> f64 {
    0.05
}

/// One slot of a mixed batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Slot {
    /// Pool index, or verified index when `gold`.
    #[serde(deserialize_with = "crate::engine::limits::de::item")]
    pub index: usize,
    /// A gold item: score the answer against the truth, never use it as a label.
    pub gold: bool,
}

/// Response of [`mix_gold`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct MixGoldResponse {
    /// The batch with the gold items at random positions.
    pub slots: Vec<Slot>,
    /// Gold items added.
    pub gold_added: usize,
    /// Gold items still unseen by this reviewer after this batch.
    pub gold_left: usize,
}

/// Hide gold items in a batch (JS `mixGold`, CLI `queue mix-gold`).
pub fn mix_gold(req: &MixGoldRequest) -> Result<MixGoldResponse> {
    let s = req.gold_share;
    if !(0.0..=0.5).contains(&s) {
        return Err(err!(
            InvalidOptions,
            "goldShare must be in [0, 0.5], got {s}"
        ));
    }
    let seen: std::collections::HashSet<usize> = req.seen.iter().copied().collect();
    let mut fresh: Vec<usize> = Vec::new();
    let mut dup = std::collections::HashSet::new();
    for &g in &req.gold {
        if !seen.contains(&g) && dup.insert(g) {
            fresh.push(g);
        }
    }
    // gold share of the mixed batch: g / (b + g) = s, rounded
    let b = req.batch.len();
    let want = if s > 0.0 && b > 0 {
        ((s * b as f64 / (1.0 - s)).round() as usize).max(1)
    } else {
        0
    };
    let g = want.min(fresh.len());
    let mut rng = SplitMix64::new(req.seed ^ 0x5DEE_CE66_D1CE_4E5B);
    for t in 0..g {
        let u = t + (rng.next_u64() % (fresh.len() - t) as u64) as usize;
        fresh.swap(t, u);
    }
    let mut slots: Vec<Slot> = req
        .batch
        .iter()
        .map(|&index| Slot { index, gold: false })
        .chain(fresh[..g].iter().map(|&index| Slot { index, gold: true }))
        .collect();
    // every position equally likely for a gold item: shuffle the gold slots into the batch
    // while keeping the pool items in their review order
    let total = slots.len();
    let mut is_gold = vec![false; total];
    // g distinct positions (partial Fisher-Yates over positions)
    let mut pos: Vec<usize> = (0..total).collect();
    for t in 0..g {
        let u = t + (rng.next_u64() % (total - t) as u64) as usize;
        pos.swap(t, u);
    }
    for &p in &pos[..g] {
        is_gold[p] = true;
    }
    let (pool_part, gold_part) = slots.split_at(b);
    let (mut pi, mut gi) = (pool_part.iter(), gold_part.iter());
    let mixed: Vec<Slot> = is_gold
        .iter()
        .filter_map(|&gp| if gp { gi.next() } else { pi.next() }.copied())
        .collect();
    slots = mixed;
    Ok(MixGoldResponse {
        slots,
        gold_added: g,
        gold_left: fresh.len() - g,
    })
}
