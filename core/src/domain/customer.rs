use super::{CustomerId, Language};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What the business knows about a customer, used to personalise answers and brief agents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Customer {
    /// The tenant's own customer id.
    pub id: CustomerId,
    /// The name to greet them by.
    pub name: String,
    /// Loyalty tier (`standard`, `gold`, `vip`...); the tenant's policy says which tiers are VIP.
    #[serde(default = "standard_tier")]
    pub tier: String,
    /// The language they prefer, when known.
    #[serde(default)]
    pub language: Option<Language>,
    /// Recent orders, newest first.
    #[serde(default)]
    pub orders: Vec<Order>,
    /// Anything else the tenant wants templates to see.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// Phone numbers (E.164) that are this customer on SMS and WhatsApp.
    #[serde(default)]
    pub phones: Vec<String>,
    /// E-mail addresses that are this customer.
    #[serde(default)]
    pub emails: Vec<String>,
}

fn standard_tier() -> String {
    "standard".to_string()
}

impl Customer {
    /// The first word of the name, for a friendly greeting.
    pub fn first_name(&self) -> &str {
        self.name.split_whitespace().next().unwrap_or(&self.name)
    }

    /// The channel identities that are this customer (see `channels::identity_of`).
    pub fn identities(&self) -> Vec<String> {
        let phones = self.phones.iter().map(|p| format!("phone:{}", p.trim()));
        let emails = self.emails.iter().map(|e| format!("email:{}", e.trim().to_lowercase()));
        phones.chain(emails).collect()
    }

    /// The newest order, if any.
    pub fn last_order(&self) -> Option<&Order> {
        self.orders.first()
    }

    /// The order with this number, if it is one of this customer's (case and a leading `#`
    /// ignored, as customers type them).
    pub fn order(&self, number: &str) -> Option<&Order> {
        let wanted = order_key(number);
        self.orders.iter().find(|o| order_key(&o.id) == wanted)
    }

    /// Puts the orders newest first: by the date placed (undated last), then by number.
    pub fn sort_orders(&mut self) {
        self.orders.sort_by(|a, b| b.placed.cmp(&a.placed).then_with(|| b.id.cmp(&a.id)));
    }

    /// Stores `order`, replacing the one with the same number, keeping the others newest first.
    pub fn upsert_order(&mut self, order: Order) {
        self.orders.retain(|o| o.id != order.id);
        self.orders.push(order);
        self.sort_orders();
    }
}

/// An order number as compared: trimmed, without a leading `#`, lowercase.
fn order_key(number: &str) -> String {
    number.trim().trim_start_matches('#').to_lowercase()
}

/// One order, as templates show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Order {
    /// The shop's order number.
    pub id: String,
    /// Its status in the shop's words (`shipped`, `processing`...).
    pub status: String,
    /// When it was placed (ISO date).
    #[serde(default)]
    pub placed: Option<String>,
    /// Expected delivery (ISO date), when known.
    #[serde(default)]
    pub eta: Option<String>,
    /// Carrier tracking link or number.
    #[serde(default)]
    pub tracking: Option<String>,
    /// Short description of what was ordered.
    #[serde(default)]
    pub items: Option<String>,
    /// When the shop last changed it (ISO timestamp), when the source says: an update older
    /// than the stored one (webhooks arrive out of order) does not replace it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<String>,
}

impl Order {
    /// Whether `self` is older than `stored` by the shop's own timestamps (both must have one).
    pub fn is_older_than(&self, stored: &Order) -> bool {
        match (&self.updated, &stored.updated) {
            (Some(new), Some(old)) => parse_time(new).zip(parse_time(old)).is_some_and(|(new, old)| new < old),
            _ => false,
        }
    }
}

fn parse_time(text: &str) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    chrono::DateTime::parse_from_rfc3339(text).ok()
}
