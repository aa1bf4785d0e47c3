//! Shopify webhooks (`POST /v1/{tenant}/shopify`): `X-Shopify-Hmac-Sha256` is the base64
//! HMAC-SHA256 of the raw body under the app's client secret; `X-Shopify-Topic` says what the
//! body is; `X-Shopify-Webhook-Id` is the same on every retry of one delivery (our
//! de-duplication key); `X-Shopify-Shop-Domain` names the store (an app's secret signs for
//! every store it is installed on, so the store is checked too).
//!
//! Topics kept: `orders/create`, `orders/updated`, `orders/fulfilled`, `orders/paid`,
//! `orders/cancelled` (an order payload), `customers/create`, `customers/update`, and
//! `fulfillments/create`, `fulfillments/update` (a shipment: its order's name with a `.1`
//! suffix, the order's e-mail and the destination's phone, but no customer id — so it updates
//! an order the tenant holds, of a customer found by that e-mail or phone; docs/design.md,
//! "Step 12").

use super::{Shipment, ShopCustomer, ShopUpdate, date, emails, full_name, items, phones};
use crate::channels::ChannelError;
use base64::Engine;
use serde::Deserialize;
use switchboard_core::domain::Order;
use switchboard_core::keys::hmac_sha256_verify;

/// Verifies `X-Shopify-Hmac-Sha256` over the raw body.
pub fn verify(secret: &[u8], header: Option<&str>, body: &[u8]) -> Result<(), ChannelError> {
    let header = header.ok_or(ChannelError::Unauthorized("missing X-Shopify-Hmac-Sha256"))?;
    let given = base64::engine::general_purpose::STANDARD
        .decode(header.trim())
        .map_err(|_| ChannelError::Unauthorized("X-Shopify-Hmac-Sha256 is not base64"))?;
    if !hmac_sha256_verify(secret, &[body], &given) {
        return Err(ChannelError::Unauthorized("X-Shopify-Hmac-Sha256 does not match the body"));
    }
    Ok(())
}

/// What a verified delivery of `topic` asks for.
pub fn parse(topic: &str, body: &[u8]) -> Result<ShopUpdate, ChannelError> {
    let malformed = |e: serde_json::Error| ChannelError::Malformed(format!("{topic}: {e}"));
    match topic {
        "orders/create" | "orders/updated" | "orders/fulfilled" | "orders/paid" | "orders/cancelled" => {
            let order: ShopifyOrder = serde_json::from_slice(body).map_err(malformed)?;
            Ok(order.into_update())
        }
        "customers/create" | "customers/update" => {
            let customer: ShopifyCustomer = serde_json::from_slice(body).map_err(malformed)?;
            Ok(ShopUpdate::Customer(customer.into_shop(None)))
        }
        "fulfillments/create" | "fulfillments/update" => {
            let fulfillment: ShopifyFulfillment = serde_json::from_slice(body).map_err(malformed)?;
            Ok(fulfillment.into_update())
        }
        _ => Ok(ShopUpdate::Skip("a topic Switchboard does not keep")),
    }
}

/// A Shopify order (as the Admin API and the webhooks give it) as the JSON of our `Order`, when
/// it reads as one.
pub fn order_value(value: &serde_json::Value) -> Option<serde_json::Value> {
    let order: ShopifyOrder = serde_json::from_value(value.clone()).ok()?;
    let last = order.fulfillments.iter().rev().find(|f| f.status.as_deref() != Some("cancelled"));
    serde_json::to_value(order.order(last)).ok()
}

#[derive(Debug, Deserialize)]
struct ShopifyOrder {
    /// `#1001`: what the customer sees and types.
    name: String,
    email: Option<String>,
    phone: Option<String>,
    created_at: Option<String>,
    updated_at: Option<String>,
    cancelled_at: Option<String>,
    financial_status: Option<String>,
    fulfillment_status: Option<String>,
    customer: Option<ShopifyCustomer>,
    shipping_address: Option<Address>,
    billing_address: Option<Address>,
    #[serde(default)]
    line_items: Vec<LineItem>,
    #[serde(default)]
    fulfillments: Vec<Fulfillment>,
}

#[derive(Debug, Deserialize)]
struct ShopifyCustomer {
    id: u64,
    email: Option<String>,
    phone: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    default_address: Option<Address>,
}

#[derive(Debug, Deserialize)]
struct Address {
    phone: Option<String>,
    country_code: Option<String>,
}

#[derive(Debug, Deserialize)]
struct LineItem {
    #[serde(default)]
    quantity: u64,
    name: Option<String>,
    title: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Fulfillment {
    status: Option<String>,
    shipment_status: Option<String>,
    tracking_number: Option<String>,
    tracking_url: Option<String>,
    #[serde(default)]
    tracking_urls: Vec<String>,
    estimated_delivery_at: Option<String>,
}

/// A fulfilment webhook's payload (the REST `Fulfillment` resource).
#[derive(Debug, Deserialize)]
struct ShopifyFulfillment {
    /// The order's name and the fulfilment's place among its fulfilments: `#1001.1`.
    name: Option<String>,
    email: Option<String>,
    destination: Option<Address>,
    updated_at: Option<String>,
    #[serde(flatten)]
    shipment: Fulfillment,
}

impl ShopifyFulfillment {
    fn into_update(self) -> ShopUpdate {
        let Some(order) = self.name.as_deref().and_then(order_name) else {
            return ShopUpdate::Skip("a fulfilment without its order's name");
        };
        let status = match (self.shipment.shipment_status.as_deref(), self.shipment.status.as_deref()) {
            (Some(shipment), _) if shipment_words(shipment).is_some() => shipment_words(shipment),
            (_, Some("success")) => Some("shipped"),
            // Pending and open: nothing has left; cancelled, error, failure: the order's own
            // update says what is left of it.
            _ => None,
        };
        let Some(status) = status else {
            return ShopUpdate::Skip("a fulfilment that has not shipped, or was cancelled");
        };
        let customer = ShopCustomer {
            external_id: String::new(),
            name: None,
            phones: phones([address_phone(self.destination.as_ref())]),
            emails: emails([self.email.as_deref()]),
        };
        let shipment = Shipment {
            status: status.into(),
            tracking: self.shipment.tracking(),
            eta: date(self.shipment.estimated_delivery_at.as_deref()),
            updated: self.updated_at,
        };
        ShopUpdate::Shipment { customer, order: order.to_string(), shipment }
    }
}

/// The order's name in a fulfilment's (`#1001.1` → `#1001`).
fn order_name(fulfillment: &str) -> Option<&str> {
    let name = fulfillment.trim();
    let order = match name.rsplit_once('.') {
        Some((order, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => order,
        _ => name,
    };
    (!order.is_empty()).then_some(order)
}

/// A carrier's shipment status in plain words.
fn shipment_words(status: &str) -> Option<&'static str> {
    Some(match status {
        "delivered" => "delivered",
        "out_for_delivery" => "out for delivery",
        "in_transit" => "in transit",
        "attempted_delivery" => "delivery attempted",
        "ready_for_pickup" => "ready for pickup",
        "failure" => "delivery failed",
        "label_printed" | "label_purchased" | "confirmed" => "shipped",
        _ => return None,
    })
}

impl Fulfillment {
    /// Its tracking link, else its tracking number.
    fn tracking(&self) -> Option<String> {
        self.tracking_url
            .clone()
            .or_else(|| self.tracking_urls.first().cloned())
            .or_else(|| self.tracking_number.clone())
    }
}

/// An address's phone and the country that completes it.
fn address_phone(address: Option<&Address>) -> (Option<&str>, Option<&str>) {
    (address.and_then(|a| a.phone.as_deref()), address.and_then(|a| a.country_code.as_deref()))
}

impl ShopifyCustomer {
    fn into_shop(self, order: Option<&ShopifyOrder>) -> ShopCustomer {
        let country = self.default_address.as_ref().and_then(|a| a.country_code.as_deref());
        let shipping = order.and_then(|o| o.shipping_address.as_ref());
        let billing = order.and_then(|o| o.billing_address.as_ref());
        let phones = phones([
            (self.phone.as_deref(), country),
            (order.and_then(|o| o.phone.as_deref()), shipping.and_then(|a| a.country_code.as_deref()).or(country)),
            (self.default_address.as_ref().and_then(|a| a.phone.as_deref()), country),
            address_phone(shipping),
            address_phone(billing),
        ]);
        let emails = emails([self.email.as_deref(), order.and_then(|o| o.email.as_deref())]);
        ShopCustomer {
            external_id: format!("shopify-{}", self.id),
            name: full_name(self.first_name.as_deref(), self.last_name.as_deref()),
            phones,
            emails,
        }
    }
}

impl ShopifyOrder {
    fn into_update(mut self) -> ShopUpdate {
        let Some(customer) = self.customer.take() else {
            return ShopUpdate::Skip("an order without a customer (a draft, a POS sale)");
        };
        let customer = customer.into_shop(Some(&self));
        let last = self.fulfillments.iter().rev().find(|f| f.status.as_deref() != Some("cancelled"));
        ShopUpdate::Order { customer, order: self.order(last) }
    }

    /// The order as templates show it; `last` is its latest live fulfilment.
    fn order(&self, last: Option<&Fulfillment>) -> Order {
        let tracking = last.and_then(Fulfillment::tracking);
        Order {
            id: self.name.trim().to_string(),
            status: self.status(last),
            placed: date(self.created_at.as_deref()),
            eta: date(last.and_then(|f| f.estimated_delivery_at.as_deref())),
            tracking,
            items: items(
                self.line_items
                    .iter()
                    .map(|l| (l.quantity, l.name.as_deref().or(l.title.as_deref()).unwrap_or("item"))),
            ),
            updated: self.updated_at.clone(),
        }
    }

    /// The status in plain words: what happened last, from cancellation to delivery.
    fn status(&self, last: Option<&Fulfillment>) -> String {
        if self.cancelled_at.is_some() {
            return "cancelled".into();
        }
        let shipment = last.and_then(|f| f.shipment_status.as_deref()).and_then(shipment_words);
        let words = match (shipment, self.fulfillment_status.as_deref(), self.financial_status.as_deref()) {
            (Some(words), ..) => words,
            (_, Some("fulfilled"), _) => "shipped",
            (_, Some("partial"), _) => "partially shipped",
            (_, _, Some("refunded")) => "refunded",
            (_, _, Some("pending")) => "awaiting payment",
            _ => "processing",
        };
        words.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shopify's documented example of an order webhook, trimmed to the fields read and some
    /// beside them (tests/fixtures/shops/ holds the full fixtures, signed).
    const ORDER: &str = include_str!("../../../tests/fixtures/shops/shopify-orders-updated.json");

    #[test]
    fn an_order_maps_onto_its_customer_and_status() {
        let ShopUpdate::Order { customer, order } = parse("orders/updated", ORDER.as_bytes()).unwrap() else {
            panic!("an order update")
        };
        assert_eq!(customer.external_id, "shopify-115310627314723954");
        assert_eq!(customer.name.as_deref(), Some("Ana García"));
        assert_eq!(customer.phones, ["+34600777888"], "E.164, from the national number and the address's country");
        assert_eq!(customer.emails, ["ana.garcia@example.com"]);
        assert_eq!(order.id, "#1001");
        assert_eq!(order.status, "in transit");
        assert_eq!(order.placed.as_deref(), Some("2026-11-28"));
        assert_eq!(order.tracking.as_deref(), Some("https://tracking.example/1Z2345"));
        assert_eq!(order.items.as_deref(), Some("2 × Wool sweater - M, 1 × Rain jacket"));
    }

    #[test]
    fn unknown_topics_and_a_fulfilment_without_its_order_are_skipped_and_bad_json_refused() {
        assert!(matches!(parse("products/update", b"{}"), Ok(ShopUpdate::Skip(_))));
        assert!(matches!(parse("fulfillments/create", b"{}"), Ok(ShopUpdate::Skip(_))), "no order name");
        assert!(matches!(parse("orders/create", b"{\"name\": 3}"), Err(ChannelError::Malformed(_))));
    }

    /// Shopify's documented `fulfillments/update` sample, for the order above.
    const FULFILLMENT: &str = include_str!("../../../tests/fixtures/shops/shopify-fulfillments-update.json");

    #[test]
    fn a_fulfilment_names_its_order_and_how_to_find_its_customer() {
        let ShopUpdate::Shipment { customer, order, shipment } =
            parse("fulfillments/update", FULFILLMENT.as_bytes()).unwrap()
        else {
            panic!("a shipment")
        };
        assert_eq!(order, "#1001", "the order's name without the fulfilment's suffix");
        assert_eq!(customer.emails, ["ana.garcia@example.com"]);
        assert_eq!(customer.phones, ["+34600777888"], "the destination's phone, completed with its country");
        assert_eq!(shipment.status, "delivered");
        assert_eq!(shipment.tracking.as_deref(), Some("https://tracking.example/1Z2345"));
        assert_eq!(shipment.updated.as_deref(), Some("2026-12-01T15:00:00+01:00"));
        let pending = FULFILLMENT
            .replace("\"status\": \"success\"", "\"status\": \"pending\"")
            .replace("\"shipment_status\": \"delivered\"", "\"shipment_status\": null");
        assert!(matches!(parse("fulfillments/create", pending.as_bytes()), Ok(ShopUpdate::Skip(_))), "not shipped");
        assert_eq!(order_name("#1001.2"), Some("#1001"));
        let stored = |status: &str| switchboard_core::domain::Order {
            id: "#1001".into(),
            status: status.into(),
            placed: None,
            eta: None,
            tracking: None,
            items: None,
            updated: None,
        };
        assert!(shipment.applied_to(&stored("in transit")).is_some());
        assert!(shipment.applied_to(&stored("cancelled")).is_none(), "a cancelled order stays cancelled");
        assert!(shipment.applied_to(&stored("refunded")).is_none(), "a refunded one stays refunded");
        assert_eq!(order_name("DS-20417"), Some("DS-20417"), "a name without a suffix is the order's");
        assert_eq!(order_name("1.5.x"), Some("1.5.x"));
    }

    #[test]
    fn the_signature_is_checked_over_the_raw_body() {
        let fixture: serde_json::Value =
            serde_json::from_str(include_str!("../../../tests/fixtures/shops/signed.json")).unwrap();
        let shopify = &fixture["shopify"];
        let secret = shopify["secret"].as_str().unwrap().as_bytes();
        let body = ORDER.as_bytes();
        let signature = shopify["orders/updated"].as_str().unwrap();
        assert!(verify(secret, Some(signature), body).is_ok());
        assert!(verify(b"another-secret", Some(signature), body).is_err());
        let tampered = ORDER.replace("in_transit", "delivered");
        assert!(verify(secret, Some(signature), tampered.as_bytes()).is_err());
        assert!(verify(secret, None, body).is_err());
    }
}
