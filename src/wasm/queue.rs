//! JS bindings for the review queue: tiered verification, round planning, exports.

use wasm_bindgen::prelude::*;

use super::from_js;
use crate::engine::queue::{export, labelstudio, policy, rounds};

bind!(
    "labelStudioConfig",
    label_studio_config,
    "LabelConfigRequest",
    "string",
    labelstudio::LabelConfigRequest,
    labelstudio::label_config,
    "The Label Studio labeling config (XML) for the exported tasks, from the class names."
);
bind!(
    "readLabelStudio",
    read_label_studio,
    "ReadLabelStudioRequest",
    "LabelStudioReviews",
    labelstudio::ReadLabelStudioRequest,
    labelstudio::read_label_studio,
    "Label Studio annotations (JSON / JSON-MIN export or API tasks) back into review decisions."
);
bind!(
    "tierItems",
    tier_items,
    "TierRequest",
    "TierResponseOut",
    policy::TierRequest,
    policy::tier_items,
    "Fit the policy on the verified set and put every pool item in a tier, with its reasons."
);
bind!(
    "planRound",
    plan_round,
    "RoundRequest",
    "RoundPlan",
    rounds::RoundRequest,
    rounds::plan_round,
    "Plan the next review batch (or an audit, or stop) from the outcomes so far."
);
bind!(
    "exportPseudoLabels",
    export_pseudo_labels,
    "ExportRequest<PseudoLabelOptions>",
    "PseudoLabels",
    export::ExportRequest<export::PseudoLabelOptions>,
    export::pseudo_labels,
    "Pseudo-labels (auto-accepted items by default) with confidence weights, rows and CSV."
);
bind!(
    "exportLabelStudio",
    export_label_studio,
    "ExportRequest<LabelStudioOptions>",
    "unknown[]",
    export::ExportRequest<export::LabelStudioOptions>,
    export::label_studio,
    "Label Studio tasks with predictions: score rises along the review order (low = review first)."
);
bind!(
    "exportTiersCsv",
    export_tiers_csv,
    "ExportRequest<TableOptions>",
    "string",
    export::ExportRequest<export::TableOptions>,
    export::tiers_csv,
    "The triage as CSV, in review order."
);
