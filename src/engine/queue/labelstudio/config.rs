//! The labeling config written from the class names (single-choice, or multiple with a
//! "no finding" choice), with optional read-only tier and reasons fields.

use serde::{Deserialize, Serialize};

use crate::engine::queue::policy::Tier;
use crate::error::{err, Result};

/// Options of [`label_config`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct LabelConfigOptions {
    /// Name of the class `Choices` control (default `"choice"`, as the export's `fromName`).
    pub from_name: String,
    /// Name of the image object (default `"image"`).
    pub to_name: String,
    /// Key of the image URL in the task's `data` (default `"image"`).
    pub data_key: String,
    /// Name of the read-only tier control (default `"tier"`; `null`: none).
    pub tier_from_name: Option<String>,
    /// Name of the read-only reasons text area (default `"reasons"`; `null`: none).
    pub reasons_from_name: Option<String>,
    /// Keyboard shortcuts `1`-`9`, `0` for the first ten classes (default true).
    pub hotkeys: bool,
    /// A header with the task's tier and rank (default true).
    pub header: bool,
    /// Multi-label findings (default false): the class control is `choice="multiple"` and
    /// carries one more choice, `noFinding`, which the reviewer picks for an image without
    /// any finding (so that a submitted empty selection is never mistaken for a decision).
    pub multiple: bool,
    /// The "no finding" choice of a multiple control (default `"No finding"`).
    pub no_finding: String,
}

impl Default for LabelConfigOptions {
    fn default() -> Self {
        LabelConfigOptions {
            from_name: "choice".into(),
            to_name: "image".into(),
            data_key: "image".into(),
            tier_from_name: Some("tier".into()),
            reasons_from_name: Some("reasons".into()),
            hotkeys: true,
            header: true,
            multiple: false,
            no_finding: NO_FINDING.into(),
        }
    }
}

/// The default "no finding" choice of a multi-label labeling config.
pub const NO_FINDING: &str = "No finding";

/// Request of [`label_config`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LabelConfigRequest {
    /// Class names, in class-index order (the manifest's `output.classes`).
    pub classes: Vec<String>,
    /// Options.
    #[serde(default)]
    pub options: LabelConfigOptions,
}

pub(super) fn xml_attr(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            '\n' => o.push_str("&#10;"),
            c => o.push(c),
        }
    }
    o
}

pub(super) fn xml_name(s: &str, what: &str) -> Result<()> {
    let ok = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !s.starts_with(|c: char| c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(err!(
            InvalidOptions,
            "{what} must be a name of letters, digits, '_' or '-' (not starting with a digit), got {s:?}"
        ))
    }
}

/// The labeling config for the export's tasks (JS `labelStudioConfig`, CLI
/// `queue label-studio-config`): the image, a header with tier and rank, one single choice per
/// class (hotkeys 1-9, 0; with `multiple`, a multiple choice of the findings and "no
/// finding"), the tier (read-only) and the reasons (read-only text area), named as the
/// export's defaults name them.
pub fn label_config(req: &LabelConfigRequest) -> Result<String> {
    let o = &req.options;
    if req.classes.is_empty() {
        return Err(err!(InvalidInput, "classes: at least one class is needed"));
    }
    let mut seen = std::collections::HashSet::new();
    for c in &req.classes {
        if c.trim().is_empty() {
            return Err(err!(InvalidInput, "classes: a class name is empty"));
        }
        if !seen.insert(c.as_str()) {
            return Err(err!(InvalidInput, "classes: {c:?} is listed twice"));
        }
    }
    xml_name(&o.from_name, "fromName")?;
    xml_name(&o.to_name, "toName")?;
    xml_name(&o.data_key, "dataKey")?;
    for (n, what) in [
        (&o.tier_from_name, "tierFromName"),
        (&o.reasons_from_name, "reasonsFromName"),
    ] {
        if let Some(n) = n {
            xml_name(n, what)?;
        }
    }
    let mut x = String::from("<View>\n");
    x.push_str(&format!(
        "  <Image name=\"{}\" value=\"${}\"/>\n",
        o.to_name, o.data_key
    ));
    if o.header {
        x.push_str("  <Header value=\"$medtriage_tier, rank $medtriage_rank\"/>\n");
    }
    x.push_str(&format!(
        "  <Choices name=\"{}\" toName=\"{}\" choice=\"{}\" showInline=\"true\" required=\"true\">\n",
        o.from_name,
        o.to_name,
        if o.multiple { "multiple" } else { "single" }
    ));
    const KEYS: [&str; 10] = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0"];
    let mut choices = req.classes.clone();
    if o.multiple {
        if o.no_finding.trim().is_empty() || req.classes.contains(&o.no_finding) {
            return Err(err!(
                InvalidOptions,
                "noFinding must be a non-empty name that is not a finding, got {:?}",
                o.no_finding
            ));
        }
        choices.push(o.no_finding.clone());
    }
    for (i, c) in choices.iter().enumerate() {
        match KEYS.get(i).filter(|_| o.hotkeys) {
            Some(k) => x.push_str(&format!(
                "    <Choice value=\"{}\" hotkey=\"{k}\"/>\n",
                xml_attr(c)
            )),
            None => x.push_str(&format!("    <Choice value=\"{}\"/>\n", xml_attr(c))),
        }
    }
    x.push_str("  </Choices>\n");
    if let Some(t) = &o.tier_from_name {
        x.push_str(&format!(
            "  <Choices name=\"{t}\" toName=\"{}\" choice=\"single\" readonly=\"true\">\n",
            o.to_name
        ));
        for tier in [
            Tier::AutoAccept,
            Tier::LightReview,
            Tier::ExpertReview,
            Tier::SuspectedLabelError,
            Tier::Outlier,
            Tier::Failed,
        ] {
            x.push_str(&format!("    <Choice value=\"{}\"/>\n", tier.name()));
        }
        x.push_str("  </Choices>\n");
    }
    if let Some(r) = &o.reasons_from_name {
        x.push_str(&format!(
            "  <TextArea name=\"{r}\" toName=\"{}\" editable=\"false\"/>\n",
            o.to_name
        ));
    }
    x.push_str("</View>\n");
    Ok(x)
}
