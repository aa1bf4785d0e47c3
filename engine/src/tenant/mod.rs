//! Tenants compiled for the pipeline: a validated configuration ([`switchboard_core::config`]) with its
//! classifier trained, templates parsed and FAQ indexed. Validation that needs the compiled
//! parts (every template rendered for sample customers) is here; the data and the checks that
//! need nothing else are in `config`.

pub use switchboard_core::config::*;

mod catalog;
mod seeds;
pub use catalog::{TENANT_CACHE_LIMIT, TenantCatalog, yaml_digest};
pub use seeds::{SplitTenant, split_customers};

use crate::classify::LocalClassifier;
use crate::reply::{CustomerView, FaqIndex, Replies, TemplateContext, Templates, intent_template, message_template};
use std::collections::BTreeMap;
use switchboard_core::domain::{Customer, CustomerId, Language, Order, TenantId};

/// Finds tenants by id, compiled and ready.
#[async_trait::async_trait]
pub trait TenantDirectory: Send + Sync {
    /// The tenant, or `None` when there is no such tenant.
    async fn tenant(&self, id: &TenantId)
    -> Result<Option<std::sync::Arc<Tenant>>, switchboard_core::ports::PortError>;
}

/// Fewest FAQ query weight a hit must match (see `FaqIndex`).
const FAQ_MIN_COVERAGE: f32 = 0.5;

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
    /// Trains the intent model [`Tenant::compile`] would for `config` (to store it: see
    /// [`Tenant::compile_with`]).
    pub fn train_intents(config: &TenantConfig) -> Result<crate::classify::IntentModel, crate::classify::TrainError> {
        LocalClassifier::train_intents(&config.examples())
    }

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
        self.config.budget.limit_nanos()
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
            let unknown_order = customer.is_none().then(|| "DS-0000".to_string());
            let ctx = TemplateContext {
                customer: customer.map(CustomerView::of),
                business,
                intent: None,
                hours,
                unknown_order,
            };
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
                updated: None,
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
            (
                format!("{MINIMAL}policy:\n  intent_min_confidence: {{nope: 0.5}}\n"),
                "policy.intent_min_confidence.nope",
            ),
            (
                format!("{MINIMAL}policy:\n  intent_min_confidence: {{hours: 1.2}}\n"),
                "policy.intent_min_confidence.hours",
            ),
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
            (
                format!(
                    "{MINIMAL}faq:\n  - {{id: a, language: en, question: q, answer: a, source: \"javascript:alert(1)\"}}\n"
                ),
                "faq[0].source",
            ),
            (
                format!(
                    "{MINIMAL}faq:\n  - {{id: a, language: en, question: q, answer: a, source: \"https://x.example/a b\"}}\n"
                ),
                "faq[0].source",
            ),
        ];
        for (yaml, field) in cases {
            let found = fields(&yaml);
            assert!(found.contains(&field.to_string()), "expected a problem at {field}, got {found:?}");
        }
    }

    /// An FAQ entry imported from a help centre answers with its text and then its link.
    #[test]
    fn an_faq_answer_ends_with_its_articles_link() {
        let yaml = format!(
            "{MINIMAL}faq:\n  - {{id: ship, language: en, question: Do you ship to Canada?, answer: Yes we ship to Canada., source: \"https://help.acme.example/shipping\"}}\n"
        );
        let t = Tenant::from_yaml("t.yaml", &yaml).unwrap();
        let reply = t.replies.draft(None, "do you ship to canada", Language::EN, None);
        assert_eq!(
            reply.map(|r| r.text).as_deref(),
            Some("Yes we ship to Canada.\nhttps://help.acme.example/shipping")
        );
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
