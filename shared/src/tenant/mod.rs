//! Tenants compiled for the pipeline: a validated configuration ([`crate::config`]) with its
//! classifier trained, templates parsed and FAQ indexed. Validation that needs the compiled
//! parts (every template rendered for sample customers) is here; the data and the checks that
//! need nothing else are in `config`.

pub use crate::config::*;

use crate::classify::LocalClassifier;
use crate::domain::{Customer, CustomerId, Language, Order, TenantId};
use crate::reply::{CustomerView, FaqIndex, Replies, TemplateContext, Templates, intent_template, message_template};
use std::collections::{BTreeMap, HashSet};

/// Fewest FAQ query weight a hit must match (see `FaqIndex`).
const FAQ_MIN_COVERAGE: f32 = 0.5;

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
}

impl TenantConfig {
    /// Every intent example as (text, intent, language).
    pub fn examples(&self) -> Vec<(String, String, Language)> {
        self.intents
            .iter()
            .flat_map(|i| {
                i.examples.iter().flat_map(move |(l, ex)| ex.iter().map(move |e| (e.clone(), i.name.clone(), *l)))
            })
            .collect()
    }

    /// Trains the intent model [`Tenant::compile`] would (to store it: see
    /// [`Tenant::compile_with`]).
    pub fn train_intents(&self) -> Result<crate::classify::IntentModel, crate::classify::TrainError> {
        LocalClassifier::train_intents(&self.examples())
    }
}

/// A tenant ready to serve: configuration, trained classifier, compiled replies.
#[derive(Debug)]
pub struct Tenant {
    /// The id.
    pub id: TenantId,
    /// The configuration it was built from.
    pub config: TenantConfig,
    /// The local classifier.
    pub classifier: LocalClassifier,
    /// Templates and FAQ.
    pub replies: Replies,
    /// Business hours, when configured.
    pub hours: Option<Schedule>,
}

impl Tenant {
    /// Parses, validates and compiles a YAML configuration.
    pub fn from_yaml(source_name: &str, text: &str) -> Result<Self, ConfigError> {
        Self::compile(source_name, TenantConfig::from_yaml(source_name, text)?)
    }

    /// The demo tenant.
    pub fn demo() -> Result<Self, ConfigError> {
        Self::from_yaml("demo.yaml (built in)", DEMO_TENANT_YAML)
    }

    /// Validates and compiles `config`: trains the classifier, compiles and test-renders every
    /// template against an anonymous visitor and sample customers.
    pub fn compile(source_name: &str, config: TenantConfig) -> Result<Self, ConfigError> {
        Self::compile_with(source_name, config, None)
    }

    /// As [`Self::compile`], reusing an intent model trained from this configuration before
    /// (stored beside it) when it knows exactly the configuration's intents; trains otherwise.
    pub fn compile_with(
        source_name: &str,
        config: TenantConfig,
        trained: Option<crate::classify::IntentModel>,
    ) -> Result<Self, ConfigError> {
        let fail = |problems: Vec<Problem>| ConfigError { source_name: source_name.to_string(), problems };
        // Collect every problem, templates included, so ops fix a file in one round.
        let mut problems = config.problems();
        let hours = match config.handoff.business_hours.as_ref().map(Schedule::compile) {
            Some(Ok(schedule)) => Some(schedule),
            Some(Err(found)) => {
                problems.extend(found.into_iter().map(|(field, message)| Problem { field, message }));
                None
            }
            None => None,
        };
        let mut templates = Templates::default();
        let mut sources: Vec<(String, String)> = Vec::new();
        for (i, intent) in config.intents.iter().enumerate() {
            for (lang, source) in &intent.reply {
                sources.push((intent_template(&intent.name, *lang), format!("intents[{i}].reply.{lang}")));
                if let Err(e) = templates.add(intent_template(&intent.name, *lang), source.clone()) {
                    problems.push(Problem { field: format!("intents[{i}].reply.{lang}"), message: e });
                }
            }
        }
        for (name, messages) in
            [("handoff", &config.messages.handoff), ("handoff_failed", &config.messages.handoff_failed)]
        {
            for (lang, source) in messages {
                sources.push((message_template(name, *lang), format!("messages.{name}.{lang}")));
                if let Err(e) = templates.add(message_template(name, *lang), source.clone()) {
                    problems.push(Problem { field: format!("messages.{name}.{lang}"), message: e });
                }
            }
        }
        let syntax_ok: Vec<(String, String)> =
            sources.into_iter().filter(|(_, field)| !problems.iter().any(|p| &p.field == field)).collect();
        problems.extend(test_render(&templates, &config.name, &syntax_ok));
        if !problems.is_empty() {
            return Err(fail(problems));
        }
        let id = TenantId::new(config.id.clone())
            .map_err(|e| fail(vec![Problem { field: "id".into(), message: e.to_string() }]))?;

        let examples = config.examples();
        let vocabulary: Vec<(Language, String)> =
            config.faq.iter().map(|e| (e.language, format!("{} {}", e.question, e.answer))).collect();
        let mut intents: Vec<&str> = examples.iter().map(|(_, intent, _)| intent.as_str()).collect();
        intents.sort_unstable();
        intents.dedup();
        let oos = config.classifier.out_of_scope_below;
        let classifier = match trained.filter(|model| model.labels().iter().map(String::as_str).eq(intents)) {
            Some(model) => LocalClassifier::with_intents(model, &examples, &config.languages, oos, &vocabulary),
            None => LocalClassifier::train(&examples, &config.languages, oos, &vocabulary)
                .map_err(|e| fail(vec![Problem { field: "intents".into(), message: e.to_string() }]))?,
        };
        let replies = Replies {
            templates,
            faq: FaqIndex::new(config.faq.clone(), FAQ_MIN_COVERAGE),
            business: config.name.clone(),
            default_language: config.default_language,
            values: config.values.clone(),
        };
        Ok(Self { id, config, classifier, replies, hours })
    }

    /// The tenant's catalogue as (name, description) pairs.
    pub fn catalogue(&self) -> Vec<(String, String)> {
        self.config.intents.iter().map(|i| (i.name.clone(), i.description.clone())).collect()
    }

    /// Whether people are in at `now`, for the handoff notice.
    pub fn availability(&self, now: chrono::DateTime<chrono::Utc>, language: Language) -> Availability {
        self.hours.as_ref().map_or_else(Availability::always, |h| h.availability(now, language))
    }

    /// The monthly budget in nano-dollars (0: none).
    pub fn monthly_budget_nanos(&self) -> u64 {
        (self.config.budget.monthly_usd * 1e9).round() as u64
    }
}

/// Renders every template with an anonymous visitor and two sample customers, so a typo in a
/// field name is caught when the config is loaded, not when a customer asks.
fn test_render(templates: &Templates, business: &str, sources: &[(String, String)]) -> Vec<Problem> {
    let with_order = sample_customer(true);
    let without_order = sample_customer(false);
    let contexts = [None, Some(&with_order), Some(&without_order)];
    let mut out = Vec::new();
    for (name, field) in sources {
        for customer in contexts {
            // Closed, so a template that mentions when people are back renders it.
            let hours = Availability { open_now: false, opens: "Monday 09:00".into() };
            let ctx = TemplateContext { customer: customer.map(CustomerView::of), business, intent: None, hours };
            if let Err(e) = templates.render(name, &ctx) {
                let who = if customer.is_some() { "a customer" } else { "an anonymous visitor" };
                out.push(Problem { field: field.clone(), message: format!("fails to render for {who}: {e}") });
                break;
            }
        }
    }
    out
}

fn sample_customer(with_order: bool) -> Customer {
    Customer {
        id: CustomerId::new("sample").unwrap_or_else(|_| unreachable!("a literal valid id")),
        name: "Sam Sample".into(),
        tier: "standard".into(),
        language: None,
        orders: if with_order {
            vec![Order {
                id: "0001".into(),
                status: "shipped".into(),
                placed: Some("2026-01-01".into()),
                eta: Some("2026-01-03".into()),
                tracking: Some("TRACK1".into()),
                items: Some("1 item".into()),
            }]
        } else {
            Vec::new()
        },
        attributes: BTreeMap::new(),
        phones: vec![],
        emails: vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
id: acme
name: Acme
default_language: en
languages: [en]
messages:
  handoff: {en: "A person will reply."}
intents:
  - name: hours
    description: Opening hours
    examples: {en: ["when are you open", "opening hours"]}
    reply: {en: "9 to 5."}
  - name: refund
    description: Money back
    examples: {en: ["i want a refund", "money back please"]}
"#;

    fn problems(yaml: &str) -> Vec<Problem> {
        match Tenant::from_yaml("test.yaml", yaml) {
            Ok(_) => Vec::new(),
            Err(e) => e.problems,
        }
    }

    fn fields(yaml: &str) -> Vec<String> {
        problems(yaml).into_iter().map(|p| p.field).collect()
    }

    #[test]
    fn minimal_config_compiles_with_defaults() {
        let t = Tenant::from_yaml("test.yaml", MINIMAL).unwrap();
        assert_eq!(t.id.as_str(), "acme");
        assert_eq!(t.config.policy.repeat_limit, 3);
        assert_eq!(t.monthly_budget_nanos(), 0);
        assert!(t.config.channels.webchat.is_none());
    }

    #[test]
    fn demo_tenant_compiles_and_understands_its_shop() {
        let t = Tenant::demo().unwrap();
        assert_eq!(t.monthly_budget_nanos(), 25_000_000_000);
        assert_eq!(t.config.customers.len(), 4);
        for (text, intent, lang) in [
            ("where is my order?", "order_status", "en"),
            ("¿Dónde está mi pedido?", "order_status", "es"),
            ("Wann kommt mein Paket an?", "order_status", "de"),
            ("how do I send this back", "returns_refunds", "en"),
            ("what are your opening hours", "opening_hours", "en"),
        ] {
            let c = t.classifier.classify(text);
            assert_eq!(c.intent.as_deref(), Some(intent), "{text}: {c:?}");
            assert_eq!(c.language.map(|l| l.code()), Some(lang), "{text}");
        }
        let c = t.classifier.classify("I want to talk to a real person");
        assert!(c.wants_human);
        assert_eq!(c.intent.as_deref(), Some("human_agent"));
    }

    #[test]
    fn yaml_errors_name_the_field() {
        let bad = MINIMAL.replace("examples: {en: [\"when are you open\", \"opening hours\"]}", "examples: {en: 12}");
        assert_eq!(fields(&bad), vec!["intents[0].examples.en"]);
        let unknown = MINIMAL.replace("name: Acme", "name: Acme\ncolour: blue");
        let p = problems(&unknown);
        assert!(p[0].message.contains("unknown field `colour`"), "{p:?}");
        let lang = MINIMAL.replace("languages: [en]", "languages: [en, xx]");
        assert_eq!(fields(&lang), vec!["languages[1]"]);
        assert!(problems(&lang)[0].message.contains("unknown language code `xx`"));
    }

    #[test]
    fn semantic_errors_name_the_field() {
        let cases = [
            (MINIMAL.replace("id: acme", "id: Acme Inc"), "id"),
            (MINIMAL.replace("default_language: en", "default_language: es"), "default_language"),
            (format!("{MINIMAL}policy:\n  escalate_intents: [nope]\n"), "policy.escalate_intents[0]"),
            (format!("{MINIMAL}policy:\n  min_confidence: 1.5\n"), "policy.min_confidence"),
            (format!("{MINIMAL}rollout:\n  intents: {{nope: assist}}\n"), "rollout.intents.nope"),
            (format!("{MINIMAL}budget:\n  monthly_usd: -3\n"), "budget.monthly_usd"),
            (format!("{MINIMAL}budget:\n  soft_at: 1.5\n"), "budget.soft_at"),
            (
                format!("{MINIMAL}channels:\n  webchat:\n    identity_secret: short\n"),
                "channels.webchat.identity_secret",
            ),
            (MINIMAL.replace("handoff: {en: \"A person will reply.\"}", "handoff: {}"), "messages.handoff"),
            (
                MINIMAL.replace("reply: {en: \"9 to 5.\"}", "reply: {en: \"Hi {{ custmer.name }}\"}"),
                "intents[0].reply.en",
            ),
            (MINIMAL.replace("reply: {en: \"9 to 5.\"}", "reply: {en: \"{% if %}\"}"), "intents[0].reply.en"),
            (MINIMAL.replace("name: refund", "name: hours"), "intents[1].name"),
            (
                format!("{MINIMAL}faq:\n  - {{id: a, language: en, question: q, answer: a, intents: [nope]}}\n"),
                "faq[0].intents[0]",
            ),
        ];
        for (yaml, field) in cases {
            let found = fields(&yaml);
            assert!(found.contains(&field.to_string()), "expected a problem at {field}, got {found:?}");
        }
    }

    #[test]
    fn all_problems_are_reported_at_once() {
        let yaml = MINIMAL
            .replace("id: acme", "id: BAD")
            .replace("languages: [en]", "languages: [en, de]")
            .replace("default_language: en", "default_language: de")
            .replace("reply: {en: \"9 to 5.\"}", "reply: {en: \"{{ custmer }}\", de: \"9 bis 5.\"}");
        let f = fields(&yaml);
        for field in ["id", "messages.handoff", "intents[0].reply.en"] {
            assert!(f.contains(&field.to_string()), "{field} missing from {f:?}");
        }
        let text = Tenant::from_yaml("t.yaml", &yaml).unwrap_err().to_string();
        assert!(text.starts_with("invalid tenant configuration t.yaml:"), "{text}");
    }

    #[test]
    fn one_phone_or_email_for_two_customers_is_an_error_naming_both() {
        let yaml = DEMO_TENANT_YAML.to_string();
        let config = TenantConfig::from_yaml("t", &yaml).unwrap();
        let first = &config.customers[0];
        let second = &config.customers[1];
        let phone = first.phones.first().cloned().unwrap_or_else(|| "+34600111222".into());
        let mut config = config.clone();
        config.customers[0].phones = vec![phone.clone()];
        config.customers[1].phones = vec![format!(" {phone}")];
        let problems = config.problems();
        let p = problems
            .iter()
            .find(|p| p.field.starts_with("customers[1].phones"))
            .expect("a problem on the second listing");
        assert!(p.message.contains(first.id.as_str()) && p.message.contains(second.id.as_str()), "{}", p.message);
        let mut config = config.clone();
        config.customers[1].phones = vec![];
        config.customers[0].emails = vec!["Same@Example.com".into()];
        config.customers[1].emails = vec!["same@example.com".into()];
        assert!(
            config.problems().iter().any(|p| p.field.starts_with("customers[1].emails")),
            "e-mails compare lowercase"
        );
    }
}
