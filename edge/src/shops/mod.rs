//! Shop webhooks that keep customers and orders live: Shopify and WooCommerce. Each module
//! verifies its platform's signature over the raw body and maps its payloads onto what the
//! customer store keeps ([`ShopUpdate`]); `web::shops` finds the customer and stores it.

pub mod shopify;
pub mod woocommerce;

use switchboard_core::domain::Order;

/// A customer as a shop's payload names them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShopCustomer {
    /// Our id for a customer the shop creates (`shopify-123`), used when no stored profile has
    /// one of their phones or e-mails.
    pub external_id: String,
    /// Their name, when the payload gives one.
    pub name: Option<String>,
    /// Phones, in E.164 (numbers that could not be normalised are left out).
    pub phones: Vec<String>,
    /// E-mail addresses, lowercase.
    pub emails: Vec<String>,
}

/// What one webhook asks the customer store to do.
#[derive(Debug, Clone, PartialEq)]
pub enum ShopUpdate {
    /// A customer was created or changed.
    Customer(ShopCustomer),
    /// An order was created or changed, for this customer.
    Order {
        /// Who placed it.
        customer: ShopCustomer,
        /// The order as templates show it.
        order: Order,
    },
    /// A shipment of an order changed. A shipment names no shop customer id, so it applies
    /// only to an order the tenant already holds, of a customer found by the shipment's phone
    /// or e-mail.
    Shipment {
        /// The phones and e-mails it names (`external_id` empty: it gives none).
        customer: ShopCustomer,
        /// The order's number (`#1001`).
        order: String,
        /// What it says now.
        shipment: Shipment,
    },
    /// A topic we do not keep (acknowledged, so the shop does not retry it), and why.
    Skip(&'static str),
}

/// A shipment's news about its order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shipment {
    /// The order's status in plain words (`in transit`, `delivered`).
    pub status: String,
    /// The tracking link (or number), when it has one.
    pub tracking: Option<String>,
    /// The expected delivery date, when the carrier gives one.
    pub eta: Option<String>,
    /// When the shop last changed the shipment (an older one than the stored order is not kept).
    pub updated: Option<String>,
}

impl Shipment {
    /// `order` with this shipment's news; `None` when the shipment is older than the order, or
    /// the order was cancelled or refunded (a late parcel scan does not undo either).
    pub fn applied_to(&self, order: &Order) -> Option<Order> {
        if matches!(order.status.as_str(), "cancelled" | "refunded") {
            return None;
        }
        let mut updated = order.clone();
        updated.status = self.status.clone();
        updated.tracking = self.tracking.clone().or(updated.tracking);
        updated.eta = self.eta.clone().or(updated.eta);
        updated.updated = self.updated.clone().or(updated.updated);
        (!updated.is_older_than(order)).then_some(updated)
    }
}

/// Phones from a payload, normalised with the address's country; unusable ones dropped.
fn phones<'a>(candidates: impl IntoIterator<Item = (Option<&'a str>, Option<&'a str>)>) -> Vec<String> {
    let mut out = Vec::new();
    for (phone, country) in candidates {
        let Some(phone) = phone.filter(|p| !p.trim().is_empty()) else { continue };
        if let Some(p) = switchboard_engine::customers::normalise_phone(phone, country)
            && !out.contains(&p)
        {
            out.push(p);
        }
    }
    out
}

/// E-mails from a payload, normalised; unusable ones dropped.
fn emails<'a>(candidates: impl IntoIterator<Item = Option<&'a str>>) -> Vec<String> {
    let mut out = Vec::new();
    for email in candidates.into_iter().flatten() {
        if let Some(e) = switchboard_engine::customers::normalise_email(email)
            && !out.contains(&e)
        {
            out.push(e);
        }
    }
    out
}

/// `first last`, trimmed; `None` when both are empty.
fn full_name(first: Option<&str>, last: Option<&str>) -> Option<String> {
    let name = format!("{} {}", first.unwrap_or_default().trim(), last.unwrap_or_default().trim());
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_string())
}

/// `2 × Wool sweater, 1 × Hat`, bounded (templates show it in a message).
fn items<'a>(lines: impl IntoIterator<Item = (u64, &'a str)>) -> Option<String> {
    let text: Vec<String> = lines.into_iter().map(|(quantity, name)| format!("{quantity} × {}", name.trim())).collect();
    let joined = text.join(", ");
    match joined.chars().count() {
        0 => None,
        n if n > 300 => Some(joined.chars().take(297).collect::<String>() + "…"),
        _ => Some(joined),
    }
}

/// The date part of an ISO timestamp (`2026-11-20T10:00:00+01:00` → `2026-11-20`).
fn date(timestamp: Option<&str>) -> Option<String> {
    timestamp.and_then(|t| t.get(..10)).filter(|d| d.chars().filter(|c| *c == '-').count() == 2).map(str::to_string)
}
