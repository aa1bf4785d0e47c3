//! Order numbers in a customer's message ("Where is DS-20417?"). A number is looked up only
//! among the verified customer's own orders, which are the only ones the responder loads: an
//! unverified sender who types someone else's number learns nothing about it, and is told how
//! to be recognised instead (the template's `unknown_order`).

use switchboard_core::domain::{Customer, Order};

/// What a message says about orders.
#[derive(Debug, Clone, PartialEq)]
pub enum Asked<'a> {
    /// No order number in it.
    Nothing,
    /// One of the verified customer's orders, by number.
    Theirs(&'a Order),
    /// A number that is not one of the verified customer's orders (or there is no verified
    /// customer): as the customer typed it.
    Unknown(String),
}

/// The order `text` asks about, given who is verified.
pub fn asked<'a>(text: &str, customer: Option<&'a Customer>) -> Asked<'a> {
    let numbers = candidates(text);
    if let Some(found) = customer.and_then(|c| numbers.iter().find_map(|n| c.order(n))) {
        return Asked::Theirs(found);
    }
    match numbers.into_iter().next() {
        Some(number) => Asked::Unknown(number),
        None => Asked::Nothing,
    }
}

/// Words that look like order numbers: 3 to 32 characters of letters, digits, `-`, `_`, `/`,
/// with at least three digits and a leading `#` allowed (`#1001`, `DS-20417`, `727`); not
/// dates, years, prices or phone numbers, which customers write beside them.
fn candidates(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '(' | ')' | '"' | '\'' | '¿' | '¡'))
        .map(|w| w.trim_end_matches(['.', '?', '!', ':']))
        .filter(|w| looks_like_order(w))
        .map(str::to_string)
        .collect()
}

fn looks_like_order(word: &str) -> bool {
    let body = word.strip_prefix('#').unwrap_or(word);
    let digits = body.chars().filter(char::is_ascii_digit).count();
    let shaped = (3..=32).contains(&body.chars().count())
        && digits >= 3
        && body.chars().all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '/'))
        && body.chars().next().is_some_and(char::is_alphanumeric);
    let all_digits = digits == body.chars().count();
    let year = all_digits && !word.starts_with('#') && body.len() == 4 && matches!(body.get(..2), Some("19" | "20"));
    let date = body.len() == 10 && body.chars().filter(|c| *c == '-' || *c == '/').count() == 2 && digits == 8;
    let phone = all_digits && body.len() > 9;
    shaped && !year && !date && !phone
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_core::domain::CustomerId;

    fn ana() -> Customer {
        let order = |id: &str| Order {
            id: id.into(),
            status: "shipped".into(),
            placed: None,
            eta: None,
            tracking: None,
            items: None,
            updated: None,
        };
        Customer {
            id: CustomerId::new("c-1").unwrap(),
            name: "Ana".into(),
            tier: "standard".into(),
            language: None,
            orders: vec![order("DS-20417"), order("#1001")],
            attributes: Default::default(),
            phones: vec![],
            emails: vec![],
        }
    }

    #[test]
    fn a_number_is_found_among_the_verified_customers_orders_only() {
        let ana = ana();
        assert_eq!(asked("Where is DS-20417?", Some(&ana)), Asked::Theirs(&ana.orders[0]));
        assert_eq!(asked("¿y el pedido 1001?", Some(&ana)), Asked::Theirs(&ana.orders[1]), "without its #");
        assert_eq!(asked("what about ds-20417", Some(&ana)), Asked::Theirs(&ana.orders[0]), "any case");
        assert_eq!(asked("Where is DS-20417?", None), Asked::Unknown("DS-20417".into()), "unverified: nothing found");
        assert_eq!(asked("Where is DS-99999?", Some(&ana)), Asked::Unknown("DS-99999".into()), "not theirs");
        assert_eq!(asked("where is my order?", Some(&ana)), Asked::Nothing);
    }

    #[test]
    fn dates_years_phones_and_quantities_are_not_order_numbers() {
        for text in [
            "I ordered on 2026-11-20",
            "back in 2025 I ordered",
            "call me on 34600111222",
            "I bought 2 shirts",
            "it cost 49.99",
            "my order from 20/11/2026",
        ] {
            assert_eq!(asked(text, None), Asked::Nothing, "{text}");
        }
    }
}
