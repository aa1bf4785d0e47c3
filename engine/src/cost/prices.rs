//! The price table: every unit price the pipeline incurs, read from `infra/prices/*.yaml`.
//! Prices are kept exact (atto-dollars, 10⁻¹⁸ USD, per unit) so that a price like Lambda's
//! $0.0000133334 per GB-second loses nothing; what a request costs is rounded to whole
//! nano-dollars once per component.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The table compiled into every binary (us-east-1).
pub const DEFAULT_TABLE: &str = include_str!("../../../infra/prices/us-east-1.yaml");

/// Every region's table compiled in, by region: the functions price at their own region's.
const REGIONAL: [(&str, &str); 4] = [
    ("us-east-1", DEFAULT_TABLE),
    ("us-west-2", include_str!("../../../infra/prices/us-west-2.yaml")),
    ("eu-west-1", include_str!("../../../infra/prices/eu-west-1.yaml")),
    ("eu-central-1", include_str!("../../../infra/prices/eu-central-1.yaml")),
];

/// The regions with a table of their own.
pub fn priced_regions() -> impl Iterator<Item = &'static str> {
    REGIONAL.iter().map(|(region, _)| *region)
}

/// Atto-dollars in one US dollar.
const ATTO_PER_USD: u128 = 1_000_000_000_000_000_000;

/// Atto-dollars in one nano-dollar.
pub const ATTO_PER_NANO: u128 = 1_000_000_000;

/// Why a price table was refused.
#[derive(Debug, thiserror::Error)]
pub enum PriceError {
    /// Not YAML of the expected shape.
    #[error("price table is not valid: {0}")]
    Invalid(String),
    /// A price that is not a plain decimal amount.
    #[error("price line `{line}`: `{usd}` is not a decimal amount of dollars")]
    BadAmount {
        /// The line.
        line: String,
        /// What it said.
        usd: String,
    },
    /// A line the pipeline needs is missing.
    #[error("price line `{0}` is missing")]
    Missing(String),
}

/// One line as written in the file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Line {
    /// Dollars for `per` units, as a decimal string.
    pub usd: String,
    /// How many units `usd` buys.
    #[serde(default = "one")]
    pub per: u64,
    /// What a unit is.
    #[serde(default)]
    pub unit: String,
    /// Where the price comes from.
    #[serde(default)]
    pub source: String,
}

fn one() -> u64 {
    1
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    id: String,
    region: String,
    as_of: String,
    #[serde(default = "default_currency")]
    currency: String,
    lines: BTreeMap<String, Line>,
}

fn default_currency() -> String {
    "USD".into()
}

/// An operator's overrides: any lines, optionally a new id.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Overrides {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    as_of: Option<String>,
    #[serde(default)]
    lines: BTreeMap<String, Line>,
}

/// Which table priced a record: shown in every report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableId {
    /// The table's id.
    pub id: String,
    /// Its region.
    pub region: String,
    /// The date its prices were read.
    pub as_of: String,
}

/// The compiled price table.
#[derive(Debug, Clone)]
pub struct PriceTable {
    /// Which table this is.
    pub id: TableId,
    /// The currency (USD).
    pub currency: String,
    lines: BTreeMap<String, Line>,
    atto: BTreeMap<String, u128>,
}

/// Lines every table must have: the AWS services every request uses.
const REQUIRED: [&str; 9] = [
    "lambda.gb_second.arm64",
    "lambda.gb_second.x86_64",
    "lambda.request",
    "api_gateway.http.request",
    "dynamodb.write_request_unit",
    "dynamodb.read_request_unit",
    "sqs.standard.request",
    "sqs.fifo.request",
    "logs.ingested_gb",
];

impl PriceTable {
    /// The built-in us-east-1 table.
    pub fn default_table() -> Self {
        Self::parse(DEFAULT_TABLE, None).expect("the built-in price table is valid (a unit test checks it)")
    }

    /// The table of `region` with an operator's `overrides` on top, and whether the region has a
    /// table of its own: one without is priced at us-east-1's (the caller says so), and its
    /// table's id names both so that no report passes it off as the region's.
    pub fn for_region(region: &str, overrides: Option<&str>) -> Result<(Self, bool), PriceError> {
        match REGIONAL.iter().find(|(r, _)| *r == region) {
            Some((_, yaml)) => Ok((Self::parse(yaml, overrides)?, true)),
            None => {
                let mut table = Self::parse(DEFAULT_TABLE, overrides)?;
                table.id.id = format!("{} (for {region}, which has no table)", table.id.id);
                Ok((table, false))
            }
        }
    }

    /// A table from its YAML, with an operator's `overrides` (YAML with `lines`) on top.
    pub fn parse(yaml: &str, overrides: Option<&str>) -> Result<Self, PriceError> {
        let mut file: File = serde_norway::from_str(yaml).map_err(|e| PriceError::Invalid(e.to_string()))?;
        if let Some(overrides) = overrides.filter(|o| !o.trim().is_empty()) {
            let o: Overrides =
                serde_norway::from_str(overrides).map_err(|e| PriceError::Invalid(format!("overrides: {e}")))?;
            // A changed table must not carry the default's name, or two reports with different
            // prices would claim the same table.
            file.id = o.id.unwrap_or_else(|| format!("{}+overrides", file.id));
            if let Some(as_of) = o.as_of {
                file.as_of = as_of;
            }
            file.lines.extend(o.lines);
        }
        let mut atto = BTreeMap::new();
        for (name, line) in &file.lines {
            let per_unit = usd_to_atto(&line.usd)
                .ok_or_else(|| PriceError::BadAmount { line: name.clone(), usd: line.usd.clone() })?
                / u128::from(line.per.max(1));
            atto.insert(name.clone(), per_unit);
        }
        if let Some(missing) = REQUIRED.iter().find(|r| !atto.contains_key(**r)) {
            return Err(PriceError::Missing((*missing).to_string()));
        }
        Ok(Self {
            id: TableId { id: file.id, region: file.region, as_of: file.as_of },
            currency: file.currency,
            lines: file.lines,
            atto,
        })
    }

    /// Atto-dollars per unit of `line` (0 for a line the table does not have).
    pub fn atto(&self, line: &str) -> u128 {
        self.atto.get(line).copied().unwrap_or(0)
    }

    /// Whether the table has `line`.
    pub fn has(&self, line: &str) -> bool {
        self.atto.contains_key(line)
    }

    /// The lines as written, for reports.
    pub fn lines(&self) -> &BTreeMap<String, Line> {
        &self.lines
    }
}

/// `"0.0000133334"` → 13 333 400 000 000 atto-dollars. Plain decimals only (no sign, no
/// exponent), at most 18 places.
fn usd_to_atto(usd: &str) -> Option<u128> {
    let (whole, fraction) = usd.trim().split_once('.').unwrap_or((usd.trim(), ""));
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if whole.is_empty() && fraction.is_empty() || !digits(whole) || !digits(fraction) || fraction.len() > 18 {
        return None;
    }
    let whole: u128 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    let fraction: u128 = if fraction.is_empty() { 0 } else { fraction.parse().ok()? };
    let scale = 10u128.pow(18 - u32::try_from(usd.trim().split_once('.').map_or(0, |(_, f)| f.len())).ok()?);
    whole.checked_mul(ATTO_PER_USD)?.checked_add(fraction * scale)
}

/// Atto-dollars → whole nano-dollars, half up.
pub fn nanos(atto: u128) -> u64 {
    u64::try_from((atto + ATTO_PER_NANO / 2) / ATTO_PER_NANO).unwrap_or(u64::MAX)
}

/// Nano-dollars as dollars, for people.
pub fn usd(nanos: u64) -> f64 {
    nanos as f64 / 1e9
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_table_has_every_line_and_a_source_for_each() {
        let t = PriceTable::default_table();
        assert_eq!(t.id.region, "us-east-1");
        for (name, line) in t.lines() {
            assert!(line.source.starts_with("https://"), "{name} says where its price comes from");
        }
        // Single units cost less than a micro-dollar: whole nano-dollars are needed.
        assert_eq!(t.atto("dynamodb.write_request_unit"), 625_000_000_000);
        assert_eq!(t.atto("lambda.gb_second.arm64"), 13_333_400_000_000);
        assert_eq!(t.atto("lambda.request"), 200_000_000_000);
    }

    #[test]
    fn every_region_has_its_table_and_the_same_kinds_of_line() {
        let base = PriceTable::default_table();
        for region in priced_regions() {
            let (t, own) = PriceTable::for_region(region, None).unwrap();
            assert!(own && t.id.region == region && t.id.id.contains(region), "{region}: {:?}", t.id);
            for (name, line) in t.lines() {
                assert!(line.source.starts_with("https://"), "{region} {name} says where its price comes from");
                assert!(base.has(name), "{region} {name}: a line us-east-1 does not have");
            }
            for name in base.lines().keys().filter(|n| !n.starts_with("model.")) {
                assert!(t.has(name), "{region} lacks {name}");
            }
        }
        // Prices that differ by region, from AWS's regional price data.
        let (frankfurt, _) = PriceTable::for_region("eu-central-1", None).unwrap();
        assert_eq!(frankfurt.atto("dynamodb.write_request_unit"), 762_500_000_000);
        assert_eq!(frankfurt.atto("logs.ingested_gb"), 630_000_000_000_000_000);
        let (ireland, _) = PriceTable::for_region("eu-west-1", None).unwrap();
        assert_eq!(ireland.model_token("eu.amazon.nova-micro-v1:0", "input_token"), Some(40_000_000_000));
        assert_eq!(ireland.model_token("eu.anthropic.claude-3-haiku-20240307-v1:0", "input_token"), None);
        let (elsewhere, own) = PriceTable::for_region("ap-southeast-2", None).unwrap();
        assert!(!own && elsewhere.id.region == "us-east-1" && elsewhere.id.id.contains("ap-southeast-2"));
    }

    #[test]
    fn decimal_prices_are_exact() {
        assert_eq!(usd_to_atto("1"), Some(ATTO_PER_USD));
        assert_eq!(usd_to_atto("0.5"), Some(ATTO_PER_USD / 2));
        assert_eq!(usd_to_atto(".25"), Some(ATTO_PER_USD / 4));
        assert_eq!(usd_to_atto("0.000000000000000001"), Some(1));
        for bad in ["", ".", "-1", "1e-6", "0.0000000000000000001", "1,5", "abc"] {
            assert_eq!(usd_to_atto(bad), None, "{bad}");
        }
    }

    #[test]
    fn rounding_to_nanos_is_half_up() {
        assert_eq!(nanos(0), 0);
        assert_eq!(nanos(499_999_999), 0);
        assert_eq!(nanos(500_000_000), 1);
        assert_eq!(nanos(1_499_999_999), 1);
    }

    #[test]
    fn an_operator_overrides_single_lines_and_the_table_says_so() {
        let t = PriceTable::parse(
            DEFAULT_TABLE,
            Some("lines:\n  dynamodb.write_request_unit:\n    usd: \"1.25\"\n    per: 1000000\n"),
        )
        .unwrap();
        assert_eq!(t.atto("dynamodb.write_request_unit"), 1_250_000_000_000);
        assert_eq!(t.atto("dynamodb.read_request_unit"), 125_000_000_000, "other lines kept");
        assert_eq!(t.id.id, "aws-us-east-1-2026-11+overrides");
    }

    #[test]
    fn bad_tables_are_refused_with_the_line_named() {
        let bad = PriceTable::parse(DEFAULT_TABLE, Some("lines:\n  lambda.request:\n    usd: \"-0.2\"\n"));
        assert!(matches!(bad, Err(PriceError::BadAmount { line, .. }) if line == "lambda.request"));
        let missing = "id: x\nregion: r\nas_of: d\nlines: {}\n";
        assert!(matches!(PriceTable::parse(missing, None), Err(PriceError::Missing(_))));
        assert!(matches!(PriceTable::parse("- a list", None), Err(PriceError::Invalid(_))));
    }
}
