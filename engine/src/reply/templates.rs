//! Answer templates (Jinja syntax, via minijinja), personalised from the customer profile.

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;
use std::collections::BTreeMap;
use switchboard_core::domain::{Customer, Order};

/// What a template can use: `customer` (or none for anonymous visitors), `business`, `intent`,
/// and `hours` (`open_now`, `opens`: when people are next in).
#[derive(Debug, Serialize)]
pub struct TemplateContext<'a> {
    /// The verified customer, or none.
    pub customer: Option<CustomerView<'a>>,
    /// The business's name.
    pub business: &'a str,
    /// The intent being answered.
    pub intent: Option<&'a str>,
    /// Whether people are in (always open when the tenant set no business hours).
    pub hours: switchboard_core::config::Availability,
    /// An order number the message names that is not one of the verified customer's (or with
    /// no verified customer): nothing is known about it here, so say how to be recognised.
    pub unknown_order: Option<String>,
}

/// The customer as templates see them.
#[derive(Debug, Serialize)]
pub struct CustomerView<'a> {
    /// Full name.
    pub name: &'a str,
    /// First name.
    pub first_name: &'a str,
    /// Loyalty tier.
    pub tier: &'a str,
    /// Recent orders, newest first, their statuses in the reply's language.
    pub orders: Vec<Order>,
    /// The newest order, or none.
    pub last_order: Option<Order>,
    /// The order the message is about: the one of theirs it names, else the newest.
    pub order: Option<Order>,
    /// Free-form attributes.
    pub attributes: &'a BTreeMap<String, String>,
}

impl<'a> CustomerView<'a> {
    /// The view of `c`, values from the shop's systems as stored.
    pub fn of(c: &'a Customer) -> Self {
        Self::translated(c, |value| value.to_string())
    }

    /// The view of `c`, each order's status passed through `say` (into the reply's language).
    pub fn translated(c: &'a Customer, say: impl Fn(&str) -> String) -> Self {
        let translate = |o: &Order| Order { status: say(&o.status), ..o.clone() };
        Self {
            name: &c.name,
            first_name: c.first_name(),
            tier: &c.tier,
            orders: c.orders.iter().map(translate).collect(),
            last_order: c.last_order().map(translate),
            order: c.last_order().map(translate),
            attributes: &c.attributes,
        }
    }
}

/// A set of compiled templates, by name.
pub struct Templates {
    env: Environment<'static>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates").field("count", &self.env.templates().count()).finish()
    }
}

impl Default for Templates {
    fn default() -> Self {
        let mut env = Environment::new();
        // A typo like `{{ custmer.name }}` must fail validation, not render as an empty string.
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // Replies are plain text, not HTML: no escaping.
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        Self { env }
    }
}

impl Templates {
    /// Compiles `source` under `name`; the error says what is wrong with the syntax.
    pub fn add(&mut self, name: String, source: String) -> Result<(), String> {
        self.env.add_template_owned(name, source).map_err(|e| describe(&e))
    }

    /// True when a template of that name exists.
    pub fn has(&self, name: &str) -> bool {
        self.env.get_template(name).is_ok()
    }

    /// Renders template `name`.
    pub fn render(&self, name: &str, context: &TemplateContext<'_>) -> Result<String, String> {
        let template = self.env.get_template(name).map_err(|e| describe(&e))?;
        template.render(context).map(|s| s.trim().to_string()).map_err(|e| describe(&e))
    }
}

fn describe(e: &minijinja::Error) -> String {
    let mut text = e.to_string();
    if let Some(detail) = e.detail()
        && !text.contains(detail)
    {
        text.push_str(": ");
        text.push_str(detail);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_core::domain::CustomerId;

    fn customer() -> Customer {
        Customer {
            id: CustomerId::new("c-1").unwrap(),
            name: "Ana García".into(),
            tier: "gold".into(),
            language: None,
            orders: vec![Order {
                id: "A-100".into(),
                status: "shipped".into(),
                placed: None,
                eta: Some("2026-11-28".into()),
                tracking: None,
                items: None,
                updated: None,
            }],
            attributes: BTreeMap::new(),
            phones: vec![],
            emails: vec![],
        }
    }

    const ORDER: &str = "{% if customer %}Hi {{ customer.first_name }}! {% if customer.last_order %}Order {{ customer.last_order.id }} is {{ customer.last_order.status }}.{% endif %}{% else %}Please sign in.{% endif %}";

    #[test]
    fn personalises_from_the_profile() {
        let mut t = Templates::default();
        t.add("order".into(), ORDER.into()).unwrap();
        let c = customer();
        let ctx = TemplateContext {
            customer: Some(CustomerView::of(&c)),
            business: "Shop",
            intent: None,
            hours: switchboard_core::config::Availability::always(),
            unknown_order: None,
        };
        assert_eq!(t.render("order", &ctx).unwrap(), "Hi Ana! Order A-100 is shipped.");
        let anon = TemplateContext {
            customer: None,
            business: "Shop",
            intent: None,
            hours: switchboard_core::config::Availability::always(),
            unknown_order: None,
        };
        assert_eq!(t.render("order", &anon).unwrap(), "Please sign in.");
    }

    #[test]
    fn typos_and_bad_syntax_are_errors() {
        let mut t = Templates::default();
        assert!(t.add("bad".into(), "{% if %}".into()).is_err());
        t.add("typo".into(), "Hi {{ custmer.name }}".into()).unwrap();
        let anon = TemplateContext {
            customer: None,
            business: "Shop",
            intent: None,
            hours: switchboard_core::config::Availability::always(),
            unknown_order: None,
        };
        assert!(t.render("typo", &anon).is_err());
    }
}
