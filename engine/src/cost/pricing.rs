//! Units × prices: what one request cost, per component, in whole nano-dollars.

use super::prices::{PriceTable, nanos};
use switchboard_core::ledger::Components;
use switchboard_core::meter::Metered;

/// Bytes in the GB CloudWatch Logs bills by.
const LOG_GB: u128 = 1 << 30;

impl PriceTable {
    /// What `units` cost at this table's prices.
    pub fn price(&self, units: &Metered) -> Components {
        let lambda = units.lambda.map_or(0, |l| {
            let line = if l.arm64 { "lambda.gb_second.arm64" } else { "lambda.gb_second.x86_64" };
            // MB × ms → GB-seconds is ÷ (1024 × 1000).
            u128::from(l.memory_mb) * u128::from(l.billed_ms) * self.atto(line) / (1024 * 1000)
                + u128::from(l.requests) * self.atto("lambda.request")
        });
        let dynamodb = (u128::from(units.dynamodb_read_milli_units) * self.atto("dynamodb.read_request_unit")
            + u128::from(units.dynamodb_write_milli_units) * self.atto("dynamodb.write_request_unit"))
            / 1000;
        let sqs = u128::from(units.sqs_standard_requests) * self.atto("sqs.standard.request")
            + u128::from(units.sqs_fifo_requests) * self.atto("sqs.fifo.request");
        // A model without a price adds nothing here: the record lists it as unpriced instead of
        // passing off another model's rates as its cost.
        let model = units
            .models
            .iter()
            .map(|(id, m)| {
                u128::from(m.input_tokens) * self.model_token(id, "input_token").unwrap_or(0)
                    + u128::from(m.output_tokens) * self.model_token(id, "output_token").unwrap_or(0)
            })
            .sum();
        let sms: u128 = units
            .sms_segments
            .iter()
            .map(|(prefix, n)| {
                // The destination's calling code is the longest prefix the table prices.
                let line = (1..=prefix.len())
                    .rev()
                    .filter_map(|len| prefix.get(..len))
                    .map(|code| format!("channel.sms_segment.{code}"))
                    .find(|line| self.has(line))
                    .unwrap_or_else(|| "channel.sms_segment.default".to_string());
                u128::from(*n) * self.atto(&line)
            })
            .sum();
        let channels = sms
            + u128::from(units.whatsapp_messages) * self.atto("channel.whatsapp.service")
            + u128::from(units.twilio_whatsapp_messages)
                * (self.atto("channel.whatsapp.service") + self.atto("channel.whatsapp.twilio_fee"))
            + u128::from(units.emails_sent) * self.atto("channel.email.send");
        Components {
            lambda: nanos(lambda),
            api_gateway: nanos(u128::from(units.api_requests) * self.atto("api_gateway.http.request")),
            dynamodb: nanos(dynamodb),
            sqs: nanos(sqs),
            model: nanos(model),
            logs: nanos(u128::from(units.log_bytes) * self.atto("logs.ingested_gb") / LOG_GB),
            ssm: nanos(u128::from(units.ssm_requests) * self.atto("ssm.api_interaction")),
            channels: nanos(channels),
        }
    }

    /// Attodollars per token of `kind` (`input_token`, `output_token`) for `model_id`: the id's own
    /// line if the table has one (an operator may price a profile apart), else its model's
    /// ([`model_of`]); `None` when neither is priced.
    pub fn model_token(&self, model_id: &str, kind: &str) -> Option<u128> {
        [model_id, model_of(model_id)]
            .into_iter()
            .map(|id| format!("model.{id}.{kind}"))
            .find(|line| self.has(line))
            .map(|line| self.atto(&line))
    }

    /// Whether the table prices `model_id` (itself or its model), input and output alike: a
    /// model with one of the two lines is unpriced, not half-priced.
    pub fn prices_model(&self, model_id: &str) -> bool {
        self.model_token(model_id, "input_token").is_some() && self.model_token(model_id, "output_token").is_some()
    }
}

/// Bedrock's cross-region inference profiles put a geography before the model's id; on-demand
/// they are billed at the model's price in the region the call is made from
/// (docs/costs.md cites AWS's statement).
const PROFILE_PREFIXES: [&str; 8] = ["us.", "eu.", "apac.", "global.", "us-gov.", "ca.", "jp.", "au."];

/// The model a Bedrock id names: `us.anthropic.claude-3-haiku-20240307-v1:0`, or an ARN of a
/// foundation model or inference profile, → `anthropic.claude-3-haiku-20240307-v1:0`.
pub fn model_of(id: &str) -> &str {
    let id = id.rsplit('/').next().unwrap_or(id);
    PROFILE_PREFIXES.iter().find_map(|prefix| id.strip_prefix(prefix)).unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_core::meter::{LambdaUnits, ModelUnits};

    fn table() -> PriceTable {
        PriceTable::default_table()
    }

    #[test]
    fn lambda_is_memory_times_billed_milliseconds_plus_the_invocation() {
        let units = Metered {
            lambda: Some(LambdaUnits { memory_mb: 128, billed_ms: 100, init_ms: 0, arm64: true, requests: 1 }),
            ..Metered::default()
        };
        // 0.125 GB × 0.1 s × $0.0000133334 = 166.6675 n$, + $0.20/M = 200 n$.
        assert_eq!(table().price(&units).lambda, 367);
        let x86 = Metered {
            lambda: Some(LambdaUnits { memory_mb: 1024, billed_ms: 1000, init_ms: 0, arm64: false, requests: 1 }),
            ..Metered::default()
        };
        assert_eq!(table().price(&x86).lambda, 16_667 + 200);
    }

    #[test]
    fn dynamodb_sqs_and_api_gateway_price_their_units() {
        let units = Metered {
            dynamodb_read_milli_units: 500,
            dynamodb_write_milli_units: 3000,
            sqs_fifo_requests: 3,
            sqs_standard_requests: 1,
            api_requests: 2,
            ..Metered::default()
        };
        let c = table().price(&units);
        // ½ RRU × 125 n$ = 62.5 → 63 (half up); 3 WRU × 625 n$.
        assert_eq!(c.dynamodb, 63 + 1875);
        assert_eq!(c.sqs, 3 * 500 + 400);
        assert_eq!(c.api_gateway, 2000);
        assert_eq!(c.total(), c.dynamodb + c.sqs + c.api_gateway);
    }

    #[test]
    fn a_cross_region_inference_profile_is_priced_as_its_model() {
        let haiku = "anthropic.claude-3-haiku-20240307-v1:0";
        let tokens = ModelUnits { calls: 1, failed: 0, input_tokens: 1000, output_tokens: 100 };
        for id in [
            format!("us.{haiku}"),
            format!("eu.{haiku}"),
            format!("apac.{haiku}"),
            format!("global.{haiku}"),
            format!("arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.{haiku}"),
            format!("arn:aws:bedrock:us-east-1::foundation-model/{haiku}"),
        ] {
            let mut units = Metered::default();
            units.models.insert(id.clone(), tokens);
            assert_eq!(table().price(&units).model, 1000 * 250 + 100 * 1250, "{id}");
            assert!(table().prices_model(&id), "{id}");
        }
    }

    #[test]
    fn an_unknown_model_is_unpriced_never_priced_as_another() {
        let mut unknown = Metered::default();
        unknown.models.insert(
            "acme.new-model".into(),
            ModelUnits { calls: 1, input_tokens: 1000, output_tokens: 10, ..ModelUnits::default() },
        );
        assert_eq!(table().price(&unknown).model, 0, "its cost is unknown, not a guess");
        assert!(!table().prices_model("acme.new-model"));
        assert_eq!(model_of("acme.new-model"), "acme.new-model");
    }

    #[test]
    fn an_operator_may_price_a_profile_apart_from_its_model() {
        let t = PriceTable::parse(
            crate::cost::prices_default(),
            Some("lines:\n  model.global.amazon.nova-micro-v1:0.input_token:\n    usd: \"0.03\"\n    per: 1000000\n"),
        )
        .unwrap();
        assert_eq!(t.model_token("global.amazon.nova-micro-v1:0", "input_token"), Some(30_000_000_000));
        assert_eq!(t.model_token("eu.amazon.nova-micro-v1:0", "input_token"), Some(35_000_000_000));
        let half = PriceTable::parse(
            crate::cost::prices_default(),
            Some("lines:\n  model.acme.half.input_token:\n    usd: \"1\"\n    per: 1000000\n"),
        )
        .unwrap();
        assert!(!half.prices_model("acme.half"), "an input price alone is not a price");
    }

    #[test]
    fn logs_are_priced_per_gigabyte_and_sms_by_destination() {
        let mut units = Metered { log_bytes: 1 << 20, ..Metered::default() };
        // 1 MiB at $0.50 per GiB.
        assert_eq!(table().price(&units).logs, 488_281);
        units.sms_segments.insert("447".into(), 2);
        units.sms_segments.insert("default".into(), 1);
        assert_eq!(table().price(&units).channels, 2 * 52_400_000 + 8_300_000);
        assert_eq!(table().price(&units).aws(), 488_281);
    }
}
