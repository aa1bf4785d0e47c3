//! What the alternatives would have charged for the same month's work, at their published prices
//! (the sourced survey in ../shared/research, anchors.md and anchors-2026-12.md): the cost
//! report and the forecast show them beside Switchboard's.

use serde::Serialize;

/// An alternative's published price.
#[derive(Debug, Clone, Serialize)]
pub struct Alternative {
    /// Product.
    pub name: &'static str,
    /// The price as published.
    pub price: &'static str,
    /// What the month's work would have cost there (low end of a range).
    pub month_usd: f64,
    /// Per automated resolution there.
    pub per_resolution_usd: f64,
    /// Where the price is published.
    pub source: &'static str,
    /// When the price was read there (the sourced survey in shared/research, anchors.md and
    /// anchors-2026-12.md).
    pub as_of: &'static str,
}

/// Published prices of the alternatives (docs: ../shared/research/anchors.md).
const ALTERNATIVES: [(&str, &str, f64, Basis, &str); 5] = [
    (
        "Intercom Fin",
        "$0.99 per outcome",
        0.99,
        Basis::Resolution,
        "https://www.intercom.com/help/en/articles/8205718-fin-ai-agent-outcomes",
    ),
    (
        "Zendesk AI agents",
        "$1.50–2.00 per automated resolution",
        1.50,
        Basis::Resolution,
        "https://support.zendesk.com/hc/en-us/articles/5352026794010",
    ),
    (
        "HubSpot Breeze customer agent",
        "$0.50 per resolved conversation (since 2026-04-14; second-hand)",
        0.50,
        Basis::Resolution,
        "https://resolve247.ai/blog/hubspot-breeze-pricing-change",
    ),
    ("Amazon Lex V2", "$0.75 per 1,000 text requests", 0.00075, Basis::Message, "https://aws.amazon.com/lex/pricing/"),
    ("Amazon Connect chat", "$0.010 per message", 0.010, Basis::Message, "https://aws.amazon.com/connect/pricing/"),
];

/// What `resolutions` automated resolutions out of `messages` messages would cost with each
/// alternative, at its published price.
pub fn alternatives(resolutions: u64, messages: u64) -> Vec<Alternative> {
    ALTERNATIVES
        .iter()
        .map(|(name, price, unit, basis, source)| {
            let month_usd = match basis {
                Basis::Resolution => resolutions as f64 * unit,
                Basis::Message => messages as f64 * unit,
            };
            let per_resolution_usd = if resolutions > 0 { month_usd / resolutions as f64 } else { 0.0 };
            Alternative { name, price, month_usd, per_resolution_usd, source, as_of: ALTERNATIVES_AS_OF }
        })
        .collect()
}

/// When the alternatives' prices were last read at their sources.
const ALTERNATIVES_AS_OF: &str = "2026-12-01";

#[derive(Clone, Copy)]
enum Basis {
    Resolution,
    Message,
}
