//! Customer data from outside — an import file, the business's data API, a shop's webhook —
//! checked and normalised the same way before anything is stored: phone numbers to E.164,
//! e-mails lowercase, every field bounded, every problem named by its field path.

mod phone;
pub mod privacy;
pub use phone::normalise_phone;

#[cfg(feature = "cli")]
pub mod import;

use switchboard_core::domain::{Customer, Order};

/// Longest name, tier, attribute and order field accepted, in characters: anything longer is a
/// mistake or an attack, and would bloat every answer's context.
const MAX_NAME: usize = 200;
const MAX_TIER: usize = 32;
const MAX_ATTRIBUTES: usize = 50;
const MAX_ATTRIBUTE_KEY: usize = 64;
const MAX_ATTRIBUTE_VALUE: usize = 1_000;
/// Phones and e-mails one profile may list together.
pub const MAX_IDENTITIES: usize = 10;
const MAX_EMAIL: usize = 254;
/// Orders one profile write may carry (an import row, an API call); more arrive one by one.
pub const MAX_ORDERS_PER_WRITE: usize = 100;
const MAX_ORDER_ID: usize = 64;
const MAX_ORDER_FIELD: usize = 500;

/// One thing wrong with a customer record, by field path (`phones[1]`, `orders[0].status`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    /// The field.
    pub field: String,
    /// What is wrong (never the value: it may be personal data).
    pub message: String,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

fn problem(field: impl Into<String>, message: impl Into<String>) -> FieldError {
    FieldError { field: field.into(), message: message.into() }
}

/// `T` read from JSON, a problem named by its field path (`orders[0].status`; `body` for the
/// whole). serde's messages name fields and types, never the values they could not read.
pub fn from_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, FieldError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let field = match e.path().to_string() {
            path if path == "." => "body".to_string(),
            path => path,
        };
        let text = e.inner().to_string();
        // The position serde_json appends is the caller's to give (a line, a request).
        let message = text.rfind(" at line ").map_or(text.as_str(), |at| &text[..at]).to_string();
        FieldError { field, message }
    })
}

/// `customer` checked and normalised (phones E.164, e-mails trimmed and lowercase, orders
/// newest first), or every problem found.
pub fn check_customer(mut customer: Customer) -> Result<Customer, Vec<FieldError>> {
    let mut problems = Vec::new();
    customer.name = customer.name.trim().to_string();
    if customer.name.is_empty() {
        problems.push(problem("name", "required"));
    }
    bounded(&mut problems, "name", &customer.name, MAX_NAME);
    customer.tier = customer.tier.trim().to_lowercase();
    let tier_ok = customer.tier.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if customer.tier.is_empty() || customer.tier.chars().count() > MAX_TIER || !tier_ok {
        problems.push(problem("tier", "letters, digits, `-` or `_`, at most 32"));
    }
    if customer.attributes.len() > MAX_ATTRIBUTES {
        problems.push(problem("attributes", format!("at most {MAX_ATTRIBUTES}")));
    }
    for (key, value) in &customer.attributes {
        bounded(&mut problems, "attributes", key, MAX_ATTRIBUTE_KEY);
        bounded(&mut problems, &format!("attributes.{key}"), value, MAX_ATTRIBUTE_VALUE);
    }
    if customer.phones.len() + customer.emails.len() > MAX_IDENTITIES {
        problems.push(problem("phones", format!("at most {MAX_IDENTITIES} phones and e-mails together")));
    }
    let mut phones = Vec::new();
    for (i, raw) in customer.phones.iter().enumerate() {
        match normalise_phone(raw, None) {
            Some(p) if !phones.contains(&p) => phones.push(p),
            Some(_) => {}
            None => problems.push(problem(format!("phones[{i}]"), "not a phone number in E.164 (+ country code)")),
        }
    }
    customer.phones = phones;
    let mut emails = Vec::new();
    for (i, raw) in customer.emails.iter().enumerate() {
        match normalise_email(raw) {
            Some(e) if !emails.contains(&e) => emails.push(e),
            Some(_) => {}
            None => problems.push(problem(format!("emails[{i}]"), "not an e-mail address")),
        }
    }
    customer.emails = emails;
    if customer.orders.len() > MAX_ORDERS_PER_WRITE {
        problems.push(problem("orders", format!("at most {MAX_ORDERS_PER_WRITE} in one write")));
    }
    let mut orders = Vec::new();
    for (i, order) in std::mem::take(&mut customer.orders).into_iter().enumerate() {
        match check_order(order) {
            Ok(order) if orders.iter().any(|o: &Order| o.id == order.id) => {
                problems.push(problem(format!("orders[{i}].id"), "order listed twice"));
            }
            Ok(order) => orders.push(order),
            Err(errors) => problems
                .extend(errors.into_iter().map(|e| FieldError { field: format!("orders[{i}].{}", e.field), ..e })),
        }
    }
    customer.orders = orders;
    customer.sort_orders();
    if problems.is_empty() { Ok(customer) } else { Err(problems) }
}

/// `order` checked (fields trimmed; empty optional fields dropped), or every problem found.
pub fn check_order(mut order: Order) -> Result<Order, Vec<FieldError>> {
    let mut problems = Vec::new();
    order.id = order.id.trim().to_string();
    if order.id.is_empty() || order.id.chars().count() > MAX_ORDER_ID || order.id.chars().any(char::is_control) {
        problems.push(problem("id", format!("1 to {MAX_ORDER_ID} characters, no control characters")));
    }
    order.status = order.status.trim().to_string();
    if order.status.is_empty() {
        problems.push(problem("status", "required"));
    }
    bounded(&mut problems, "status", &order.status, MAX_ORDER_ID);
    for (field, value) in [
        ("placed", &mut order.placed),
        ("eta", &mut order.eta),
        ("tracking", &mut order.tracking),
        ("items", &mut order.items),
    ] {
        if let Some(v) = value.as_mut() {
            *v = v.trim().to_string();
            bounded(&mut problems, field, v, MAX_ORDER_FIELD);
        }
        if value.as_deref() == Some("") {
            *value = None;
        }
    }
    if problems.is_empty() { Ok(order) } else { Err(problems) }
}

fn bounded(problems: &mut Vec<FieldError>, field: &str, value: &str, max: usize) {
    if value.chars().count() > max {
        problems.push(problem(field, format!("at most {max} characters")));
    } else if value.chars().any(|c| c.is_control() && c != '\n') {
        problems.push(problem(field, "control characters"));
    }
}

/// An e-mail address trimmed and lowercase, if it looks like one (`local@domain.tld`).
pub fn normalise_email(raw: &str) -> Option<String> {
    let email = raw.trim().to_lowercase();
    let (local, domain) = email.split_once('@')?;
    let shaped = !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';'))
        && !domain.contains('@');
    (shaped && email.len() <= MAX_EMAIL).then_some(email)
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_core::domain::CustomerId;

    fn customer() -> Customer {
        Customer {
            id: CustomerId::new("c-1").unwrap(),
            name: "  Ana García ".into(),
            tier: "Gold".into(),
            language: None,
            orders: vec![],
            attributes: Default::default(),
            phones: vec!["+34 600-111-222".into(), "+34600111222".into()],
            emails: vec![" Ana@Example.COM ".into()],
        }
    }

    #[test]
    fn a_good_record_is_normalised() {
        let c = check_customer(customer()).unwrap();
        assert_eq!(c.name, "Ana García");
        assert_eq!(c.tier, "gold");
        assert_eq!(c.phones, ["+34600111222"], "E.164, listed once");
        assert_eq!(c.emails, ["ana@example.com"]);
    }

    #[test]
    fn every_problem_is_named_by_its_field_path() {
        let mut c = customer();
        c.name = " ".into();
        c.phones = vec!["+34600111222".into(), "600 111 222".into()];
        c.emails = vec!["not-an-address".into()];
        c.orders = vec![
            Order {
                id: "A-1".into(),
                status: "".into(),
                placed: None,
                eta: None,
                tracking: None,
                items: None,
                updated: None,
            },
            Order {
                id: "x".repeat(65),
                status: "new".into(),
                placed: None,
                eta: None,
                tracking: None,
                items: None,
                updated: None,
            },
        ];
        let errors = check_customer(c).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "phones[1]", "emails[0]", "orders[0].status", "orders[1].id"], "{errors:?}");
        assert!(errors.iter().all(|e| !e.message.contains("600")), "no value echoed back");
    }

    #[test]
    fn e_mails_must_look_like_addresses() {
        assert_eq!(normalise_email("A@B.co").as_deref(), Some("a@b.co"));
        for bad in ["a@b", "@b.co", "a b@c.co", "a@.co", "a@b.co.", "a@b@c.co", "<a@b.co>"] {
            assert_eq!(normalise_email(bad), None, "{bad}");
        }
    }
}
