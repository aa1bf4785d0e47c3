//! Answers in the tenant's own words: intent templates personalised from the profile, or the
//! best FAQ entry, in the customer's language when the tenant has it.

mod faq;
mod orders;
mod templates;

pub use faq::{FaqHit, FaqIndex};
// The history import and the report's question groups analyse text as retrieval does.
#[cfg(any(test, feature = "cli"))]
pub(crate) use faq::{analyse, stemmer};
pub use templates::{CustomerView, TemplateContext, Templates};

use switchboard_core::config::Availability;
use switchboard_core::domain::{Customer, Language, Order, Reply, ReplySource};

/// The language to answer in: the message's, if the tenant speaks it; when the message does not
/// say, the conversation's so far, then the customer's preference; else the tenant's default.
pub fn reply_language(
    tenant_languages: &[Language],
    default: Language,
    detected: Option<Language>,
    conversation: Option<Language>,
    customer: Option<Language>,
) -> Language {
    let speaks = |l: &Language| tenant_languages.contains(l);
    match detected {
        Some(l) if speaks(&l) => l,
        // The customer wrote in a language we do not have: our default beats guessing.
        Some(_) => default,
        None => conversation.filter(speaks).or(customer.filter(speaks)).unwrap_or(default),
    }
}

/// A tenant's templates and FAQ, ready to answer.
#[derive(Debug)]
pub struct Replies {
    /// Compiled templates named `intent/{intent}/{lang}` and `message/{name}/{lang}`.
    pub templates: Templates,
    /// The FAQ index.
    pub faq: FaqIndex,
    /// The business's name for templates.
    pub business: String,
    /// The tenant's default language, the fallback for missing translations.
    pub default_language: Language,
    /// Words from the shop's systems and how each language says them (`values` in the YAML).
    pub values: Vec<std::collections::BTreeMap<Language, String>>,
}

/// The name of intent `intent`'s template in `lang`.
pub fn intent_template(intent: &str, lang: Language) -> String {
    format!("intent/{intent}/{lang}")
}

/// The name of fixed message `name` in `lang`.
/// What the customer is told when no person could be reached, by language.
const HANDOFF_FAILED: [(&str, &str); 6] = [
    (
        "en",
        "Sorry, I couldn't reach our team just now. I'm still here to help, and you can ask for a person again in a little while.",
    ),
    (
        "es",
        "Lo siento, no he podido contactar con nuestro equipo ahora mismo. Sigo aquí para ayudarte, y puedes volver a pedir una persona dentro de un rato.",
    ),
    (
        "de",
        "Entschuldigung, ich konnte unser Team gerade nicht erreichen. Ich helfe Ihnen weiterhin gern, und Sie können in Kürze erneut nach einer Person fragen.",
    ),
    (
        "fr",
        "Désolé, je n'ai pas pu joindre notre équipe pour le moment. Je reste là pour vous aider, et vous pourrez redemander une personne un peu plus tard.",
    ),
    (
        "it",
        "Mi dispiace, non sono riuscito a contattare il nostro team in questo momento. Sono ancora qui per aiutarti, e puoi chiedere di nuovo una persona tra poco.",
    ),
    (
        "pt",
        "Desculpe, não consegui contactar a nossa equipa agora. Continuo aqui para ajudar, e pode voltar a pedir uma pessoa daqui a pouco.",
    ),
];

pub fn message_template(name: &str, lang: Language) -> String {
    format!("message/{name}/{lang}")
}

impl Replies {
    /// The grounded answer to `text` with `intent` in `lang`: the intent's template when it has
    /// one, else the best FAQ entry; `None` when the tenant has nothing that answers it.
    pub fn draft(
        &self,
        intent: Option<&str>,
        text: &str,
        lang: Language,
        customer: Option<&Customer>,
    ) -> Option<Reply> {
        if let Some(intent) = intent {
            for l in [lang, self.default_language] {
                let name = intent_template(intent, l);
                if self.templates.has(&name) {
                    return match self.templates.render(&name, &self.answer_context(customer, intent, text, l)) {
                        Ok(text) if !text.is_empty() => Some(Reply {
                            text,
                            language: l,
                            source: ReplySource::Template { intent: intent.to_string() },
                        }),
                        Ok(_) => None,
                        Err(error) => {
                            tracing::error!(intent, %error, "template failed to render; escalating instead");
                            None
                        }
                    };
                }
            }
        }
        let hit = self.faq.best(text, lang, intent)?;
        // An entry from a help-centre article ends with its link: the customer can read the rest.
        let text = match &hit.entry.source {
            Some(url) => format!("{}\n{url}", hit.entry.answer),
            None => hit.entry.answer.clone(),
        };
        Some(Reply { text, language: lang, source: ReplySource::Faq { entry: hit.entry.id.clone(), score: hit.score } })
    }

    /// The handoff notice in `lang` (or the default language); `hours` says when people are in.
    pub fn handoff(&self, lang: Language, customer: Option<&Customer>, hours: Availability) -> Reply {
        let rendered = [lang, self.default_language].into_iter().find_map(|l| {
            let ctx = TemplateContext { hours: hours.clone(), ..self.context(customer, None, l) };
            self.templates.render(&message_template("handoff", l), &ctx).ok().map(|t| (t, l))
        });
        let (text, language) = rendered
            .unwrap_or_else(|| ("A member of our team will get back to you shortly.".to_string(), Language::EN));
        Reply { text, language, source: ReplySource::Handoff }
    }

    /// Told when a handoff failed and the bot is back: the tenant's `messages.handoff_failed`
    /// in `lang` (or the default language), else a built-in text in `lang`, else English.
    pub fn handoff_failed(&self, lang: Language, customer: Option<&Customer>) -> Reply {
        let rendered = [lang, self.default_language].into_iter().find_map(|l| {
            let ctx = self.context(customer, None, l);
            self.templates.render(&message_template("handoff_failed", l), &ctx).ok().map(|t| (t, l))
        });
        let (text, language) = rendered.unwrap_or_else(|| {
            let built_in =
                |l: Language| HANDOFF_FAILED.iter().find(|(code, _)| *code == l.code()).map(|(_, t)| (*t, l));
            let (text, l) = built_in(lang)
                .or_else(|| built_in(self.default_language))
                .unwrap_or((HANDOFF_FAILED[0].1, Language::EN));
            (text.to_string(), l)
        });
        Reply { text, language, source: ReplySource::Handoff }
    }

    /// How `lang` says `value`, a word from the shop's systems (an order status): the tenant's
    /// `values` entry that lists it, in any language, else the word as it is.
    pub fn say(&self, value: &str, lang: Language) -> String {
        let same = |word: &String| word.trim().eq_ignore_ascii_case(value.trim());
        self.values
            .iter()
            .find(|words| words.values().any(same))
            .and_then(|words| words.get(&lang))
            .cloned()
            .unwrap_or_else(|| value.to_string())
    }

    /// The context of an intent's answer: the order the message names, if it is one of the
    /// verified customer's; else `unknown_order` says a number was named that is not.
    fn answer_context<'a>(
        &'a self,
        customer: Option<&'a Customer>,
        intent: &'a str,
        text: &str,
        lang: Language,
    ) -> TemplateContext<'a> {
        let mut ctx = self.context(customer, Some(intent), lang);
        match orders::asked(text, customer) {
            orders::Asked::Nothing => {}
            orders::Asked::Theirs(order) => {
                if let Some(view) = ctx.customer.as_mut() {
                    view.order = Some(Order { status: self.say(&order.status, lang), ..order.clone() });
                }
            }
            orders::Asked::Unknown(number) => ctx.unknown_order = Some(number),
        }
        ctx
    }

    fn context<'a>(
        &'a self,
        customer: Option<&'a Customer>,
        intent: Option<&'a str>,
        lang: Language,
    ) -> TemplateContext<'a> {
        TemplateContext {
            customer: customer.map(|c| CustomerView::translated(c, |value| self.say(value, lang))),
            business: &self.business,
            intent,
            hours: Availability::always(),
            unknown_order: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The demo shop stores each order's status in its customer's language; a reply says it in
    /// the reply's language, in all three.
    #[test]
    fn order_statuses_are_said_in_the_replys_language() {
        let demo = crate::tenant::Tenant::demo().unwrap();
        let customer = |id: &str| demo.config.customers.iter().find(|c| c.id.as_str() == id).unwrap();
        let cases = [
            ("c-1001", "en", "shipped"),
            ("c-1001", "es", "enviado"),
            ("c-1001", "de", "versandt"),
            ("c-1002", "en", "being packed"),
            ("c-1002", "es", "en preparación"),
            ("c-1002", "de", "in Vorbereitung"),
            ("c-1003", "en", "shipped"),
            ("c-1003", "es", "enviado"),
            ("c-1003", "de", "versandt"),
        ];
        for (id, code, word) in cases {
            let lang = l(code);
            let reply =
                demo.replies.draft(Some("order_status"), "where is my order", lang, Some(customer(id))).unwrap();
            assert_eq!(reply.language, lang);
            assert!(reply.text.contains(word), "{id} in {code}: {}", reply.text);
            for other in ["shipped", "enviado", "versandt", "being packed", "en preparación", "in Vorbereitung"] {
                if !word.contains(other) && !other.contains(word) {
                    assert!(!reply.text.contains(other), "{id} in {code} says {other}: {}", reply.text);
                }
            }
        }
    }

    #[test]
    fn words_the_tenant_does_not_list_are_said_as_stored() {
        let demo = crate::tenant::Tenant::demo().unwrap();
        assert_eq!(demo.replies.say("ENVIADO ", l("de")), "versandt");
        assert_eq!(demo.replies.say("on hold", l("es")), "on hold");
    }

    #[test]
    fn values_in_a_language_the_tenant_does_not_speak_are_refused() {
        let yaml = crate::tenant::DEMO_TENANT_YAML
            .replace("  - {en: cancelled, es: cancelado, de: storniert}", "  - {en: cancelled, fr: annulée}\n  - {}");
        let text = crate::tenant::Tenant::from_yaml("t", &yaml).map(|_| ()).expect_err("refused").to_string();
        assert!(text.contains("values[3].fr") && text.contains("values[4]"), "{text}");
    }

    fn l(code: &str) -> Language {
        Language::from_code(code).unwrap()
    }

    #[test]
    fn reply_language_prefers_the_message_then_the_conversation_then_the_default() {
        let tenant = [l("en"), l("es"), l("de")];
        assert_eq!(reply_language(&tenant, l("en"), Some(l("es")), None, None), l("es"));
        assert_eq!(reply_language(&tenant, l("en"), Some(l("fr")), Some(l("de")), None), l("en"));
        assert_eq!(reply_language(&tenant, l("en"), None, Some(l("de")), Some(l("es"))), l("de"));
        assert_eq!(reply_language(&tenant, l("en"), None, None, Some(l("es"))), l("es"));
        assert_eq!(reply_language(&tenant, l("en"), None, Some(l("fr")), None), l("en"));
        assert_eq!(reply_language(&tenant, l("de"), None, None, None), l("de"));
    }
}
