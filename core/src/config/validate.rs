//! Parsing a tenant's YAML, and the checks that need nothing compiled.

use super::*;
use crate::domain::{Language, TenantId};
use std::collections::HashSet;

impl TenantConfig {
    /// Parses YAML; errors name the field (`intents[3].examples`) and the line.
    pub fn from_yaml(source_name: &str, text: &str) -> Result<Self, ConfigError> {
        let de = serde_norway::Deserializer::from_str(text);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let field = e.path().to_string();
            ConfigError {
                source_name: source_name.to_string(),
                problems: vec![Problem {
                    field: if field == "." { "(top level)".into() } else { field },
                    message: e.into_inner().to_string(),
                }],
            }
        })
    }

    /// Every semantic problem: references to unknown intents, missing translations, bad ranges.
    pub fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        let mut bad = |field: String, message: String| out.push(Problem { field, message });

        if let Err(e) = TenantId::new(self.id.clone()) {
            bad("id".into(), e.to_string());
        }
        for p in self.data.problems() {
            bad(p.field, p.message);
        }
        if self.languages.is_empty() {
            bad("languages".into(), "list at least one language".into());
        }
        if !self.languages.contains(&self.default_language) {
            bad("default_language".into(), format!("`{}` is not in `languages`", self.default_language));
        }
        let speaks = |l: &Language| self.languages.contains(l);

        let mut names = HashSet::new();
        for (i, intent) in self.intents.iter().enumerate() {
            let at = format!("intents[{i}]");
            if intent.name.is_empty()
                || !intent.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                bad(format!("{at}.name"), "use lowercase letters, digits and `_`".into());
            }
            if !names.insert(intent.name.as_str()) {
                bad(format!("{at}.name"), format!("intent `{}` is defined twice", intent.name));
            }
            if intent.examples.values().all(Vec::is_empty) {
                bad(format!("{at}.examples"), "give at least one example".into());
            }
            for (lang, examples) in &intent.examples {
                if !speaks(lang) {
                    bad(format!("{at}.examples.{lang}"), format!("`{lang}` is not in `languages`"));
                }
                if examples.iter().any(|e| e.trim().is_empty()) {
                    bad(format!("{at}.examples.{lang}"), "empty example".into());
                }
            }
            for lang in intent.reply.keys() {
                if !speaks(lang) {
                    bad(format!("{at}.reply.{lang}"), format!("`{lang}` is not in `languages`"));
                }
            }
            if !intent.reply.is_empty() && !intent.reply.contains_key(&self.default_language) {
                bad(format!("{at}.reply"), format!("missing the default language `{}`", self.default_language));
            }
        }
        if names.len() < 2 {
            bad("intents".into(), "define at least two intents".into());
        }
        let known = |name: &str| names.contains(name);
        for (i, name) in self.policy.escalate_intents.iter().enumerate() {
            if !known(name) {
                bad(format!("policy.escalate_intents[{i}]"), format!("unknown intent `{name}`"));
            }
        }
        for (i, name) in self.policy.complaint_intents.iter().enumerate() {
            if !known(name) {
                bad(format!("policy.complaint_intents[{i}]"), format!("unknown intent `{name}`"));
            }
        }
        for (name, threshold) in &self.policy.intent_min_confidence {
            if !known(name) {
                bad(format!("policy.intent_min_confidence.{name}"), format!("unknown intent `{name}`"));
            }
            if !(0.0..=1.0).contains(threshold) {
                bad(format!("policy.intent_min_confidence.{name}"), "a confidence from 0 to 1".into());
            }
        }
        if !(0.0..=1.0).contains(&self.rollout.review_share) {
            bad("rollout.review_share".into(), "a share from 0 to 1".into());
        }
        for name in self.rollout.intents.keys() {
            if !known(name) {
                bad(format!("rollout.intents.{name}"), format!("unknown intent `{name}`"));
            }
        }
        for (field, value, range) in [
            ("policy.min_confidence", self.policy.min_confidence, 0.0..=1.0),
            ("policy.negative_sentiment_at_or_below", self.policy.negative_sentiment_at_or_below, -1.0..=0.0),
            ("classifier.out_of_scope_below", self.classifier.out_of_scope_below, 0.0..=1.0),
            ("classifier.hosted_below", self.classifier.hosted_below, 0.0..=1.0),
        ] {
            if !range.contains(&value) {
                bad(field.into(), format!("{value} is outside {}..={}", range.start(), range.end()));
            }
        }
        if !(self.budget.monthly_usd.is_finite() && self.budget.monthly_usd >= 0.0) {
            bad("budget.monthly_usd".into(), "must be zero or a positive amount".into());
        }
        if !(self.budget.soft_at > 0.0 && self.budget.soft_at <= 1.0) {
            bad("budget.soft_at".into(), "must be a share of the budget above 0 and at most 1 (0.8 = 80 %)".into());
        }
        if !(self.budget.paid_sends_usd.is_finite() && self.budget.paid_sends_usd >= 0.0) {
            bad("budget.paid_sends_usd".into(), "must be zero (no cap) or a positive amount".into());
        }
        if !(self.budget.human_ticket_usd.is_finite() && self.budget.human_ticket_usd >= 0.0) {
            bad("budget.human_ticket_usd".into(), "must be zero or a positive amount".into());
        }
        if !self.messages.handoff.contains_key(&self.default_language) {
            bad("messages.handoff".into(), format!("missing the default language `{}`", self.default_language));
        }
        let mut config = self.clone();
        for (field, secret) in config.secrets_mut() {
            if let Some(name) = secret.parameter() {
                bad(field.into(), format!("SSM parameter `{name}` was not resolved"));
            } else if secret.expose().is_empty() {
                bad(field.into(), "empty secret".into());
            }
        }
        if let Some(twilio) = &self.channels.twilio {
            if !twilio.account_sid.starts_with("AC") {
                bad("channels.twilio.account_sid".into(), "a Twilio account SID starts with AC".into());
            }
            if !twilio.public_url.starts_with("https://") && !twilio.public_url.starts_with("http://") {
                bad("channels.twilio.public_url".into(), "the full URL Twilio calls, https://…".into());
            }
            if twilio.from.is_none() && twilio.whatsapp_from.is_none() {
                bad("channels.twilio".into(), "set `from` and/or `whatsapp_from`".into());
            }
        }
        if let Some(webchat) = &self.channels.webchat {
            if webchat.identity_secret.parameter().is_none() && webchat.identity_secret.expose().len() < 16 {
                bad("channels.webchat.identity_secret".into(), "use at least 16 characters".into());
            }
            if !(1..=10_000).contains(&webchat.max_message_chars) {
                bad("channels.webchat.max_message_chars".into(), "must be between 1 and 10000".into());
            }
            for (i, origin) in webchat.allowed_origins.iter().enumerate() {
                if !crate::config::is_origin_pattern(origin) {
                    bad(
                        format!("channels.webchat.allowed_origins[{i}]"),
                        format!("`{origin}` is not an origin: scheme and host, an optional port or `:*`, no path"),
                    );
                }
            }
        }
        for (i, words) in self.values.iter().enumerate() {
            if words.is_empty() || words.values().any(|w| w.trim().is_empty()) {
                bad(format!("values[{i}]"), "give the word in at least one language, none empty".into());
            }
            if let Some(lang) = words.keys().find(|l| !self.languages.contains(l)) {
                bad(format!("values[{i}].{lang}"), format!("{lang} is not one of the tenant's languages"));
            }
        }
        let mut faq_ids = HashSet::new();
        for (i, e) in self.faq.iter().enumerate() {
            let at = format!("faq[{i}]");
            if !faq_ids.insert(e.id.as_str()) {
                bad(format!("{at}.id"), format!("FAQ id `{}` is used twice", e.id));
            }
            if !speaks(&e.language) {
                bad(format!("{at}.language"), format!("`{}` is not in `languages`", e.language));
            }
            if e.answer.trim().is_empty() {
                bad(format!("{at}.answer"), "empty answer".into());
            }
            if let Some(url) = &e.source
                && !is_link(url)
            {
                bad(
                    format!("{at}.source"),
                    "an https:// or http:// link, without spaces, at most 2,000 characters".into(),
                );
            }
            for (j, name) in e.intents.iter().enumerate() {
                if !known(name) {
                    bad(format!("{at}.intents[{j}]"), format!("unknown intent `{name}`"));
                }
            }
        }
        let mut customer_ids = HashSet::new();
        // A phone or e-mail identifies one customer: listed twice, a message from it would unlock
        // whichever profile was stored last.
        let mut owners: std::collections::HashMap<String, &str> = std::collections::HashMap::new();
        for (i, c) in self.customers.iter().enumerate() {
            if !customer_ids.insert(c.id.as_str()) {
                bad(format!("customers[{i}].id"), "customer id used twice".into());
            }
            let listed =
                c.phones.iter().enumerate().map(|(j, p)| (format!("phones[{j}]"), format!("phone:{}", p.trim())));
            let emails = c
                .emails
                .iter()
                .enumerate()
                .map(|(j, e)| (format!("emails[{j}]"), format!("email:{}", e.trim().to_lowercase())));
            for (field, identity) in listed.chain(emails) {
                match owners.get(&identity) {
                    Some(owner) if *owner != c.id.as_str() => bad(
                        format!("customers[{i}].{field}"),
                        format!("listed for both customer `{owner}` and customer `{}`", c.id),
                    ),
                    _ => {
                        owners.insert(identity, c.id.as_str());
                    }
                }
            }
        }
        out
    }

    /// Every intent example as (text, intent, language).
    pub fn examples(&self) -> Vec<(String, String, Language)> {
        self.intents
            .iter()
            .flat_map(|i| {
                i.examples.iter().flat_map(move |(l, ex)| ex.iter().map(move |e| (e.clone(), i.name.clone(), *l)))
            })
            .collect()
    }
}

/// A link a customer can open: http(s), no whitespace, bounded.
fn is_link(url: &str) -> bool {
    (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() <= 2_000
        && url.len() > "https://".len()
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// The budget settings of a tenant's stored YAML and nothing else: what `switchboard costs`
/// needs, read without compiling the tenant or resolving any of its secrets. No `budget` key:
/// the defaults (no budget).
pub fn budget_of(text: &str) -> Result<super::BudgetConfig, String> {
    #[derive(serde::Deserialize)]
    struct OnlyBudget {
        #[serde(default)]
        budget: super::BudgetConfig,
    }
    serde_norway::from_str::<OnlyBudget>(text).map(|t| t.budget).map_err(|e| format!("budget: {e}"))
}

#[cfg(test)]
mod budget_only_tests {
    #[test]
    fn the_budget_is_read_alone_and_secrets_are_left_untouched() {
        let yaml = "id: shop\nchannels:\n  telegram:\n    bot_token: {ssm: /switchboard/shop/telegram}\nbudget:\n  monthly_usd: 40\n  counts: aws\n";
        let b = super::budget_of(yaml).unwrap();
        assert_eq!((b.monthly_usd, b.counts), (40.0, crate::config::BudgetCounts::Aws));
        assert_eq!(super::budget_of("id: shop\n").unwrap().monthly_usd, 0.0);
        assert!(super::budget_of("budget:\n  monthly_usd: lots\n").is_err());
    }
}
