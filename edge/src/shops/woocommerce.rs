//! WooCommerce webhooks (`POST /v1/{tenant}/woocommerce`): `X-WC-Webhook-Signature` is the
//! base64 HMAC-SHA256 of the raw body under the webhook's secret; `X-WC-Webhook-Topic` says
//! what it is (`order.created`, `order.updated`, `customer.created`, `customer.updated` kept).
//! WooCommerce pings a new webhook's URL with the form body `webhook_id=N`, unsigned, and will
//! not save the webhook unless it is answered 2xx: that ping is acknowledged and stores nothing.
//!
//! WooCommerce gives phone numbers as typed at checkout; the billing or shipping country
//! completes a national number to E.164.

use super::{ShopCustomer, ShopUpdate, date, emails, full_name, items, phones};
use crate::channels::ChannelError;
use base64::Engine;
use serde::Deserialize;
use switchboard_core::domain::Order;
use switchboard_core::keys::hmac_sha256_verify;

/// Whether `body` is WooCommerce's unsigned ping of a new webhook (`webhook_id=123`).
pub fn is_ping(body: &[u8]) -> bool {
    body.strip_prefix(b"webhook_id=")
        .is_some_and(|id| !id.is_empty() && id.len() <= 20 && id.iter().all(u8::is_ascii_digit))
}

/// Verifies `X-WC-Webhook-Signature` over the raw body.
pub fn verify(secret: &[u8], header: Option<&str>, body: &[u8]) -> Result<(), ChannelError> {
    let header = header.ok_or(ChannelError::Unauthorized("missing X-WC-Webhook-Signature"))?;
    let given = base64::engine::general_purpose::STANDARD
        .decode(header.trim())
        .map_err(|_| ChannelError::Unauthorized("X-WC-Webhook-Signature is not base64"))?;
    if !hmac_sha256_verify(secret, &[body], &given) {
        return Err(ChannelError::Unauthorized("X-WC-Webhook-Signature does not match the body"));
    }
    Ok(())
}

/// What a verified delivery of `topic` asks for.
pub fn parse(topic: &str, body: &[u8]) -> Result<ShopUpdate, ChannelError> {
    let malformed = |e: serde_json::Error| ChannelError::Malformed(format!("{topic}: {e}"));
    match topic {
        "order.created" | "order.updated" => {
            let order: WooOrder = serde_json::from_slice(body).map_err(malformed)?;
            Ok(order.into_update())
        }
        "customer.created" | "customer.updated" => {
            let customer: WooCustomer = serde_json::from_slice(body).map_err(malformed)?;
            Ok(ShopUpdate::Customer(customer.into_shop()))
        }
        _ => Ok(ShopUpdate::Skip("a topic Switchboard does not keep")),
    }
}

#[derive(Debug, Deserialize)]
struct WooOrder {
    id: u64,
    number: Option<String>,
    status: String,
    #[serde(default)]
    customer_id: u64,
    date_created_gmt: Option<String>,
    date_modified_gmt: Option<String>,
    billing: Option<Contact>,
    shipping: Option<Contact>,
    #[serde(default)]
    line_items: Vec<LineItem>,
    #[serde(default)]
    meta_data: Vec<Meta>,
}

#[derive(Debug, Deserialize)]
struct WooCustomer {
    id: u64,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    billing: Option<Contact>,
    shipping: Option<Contact>,
}

#[derive(Debug, Default, Deserialize)]
struct Contact {
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    country: Option<String>,
}

#[derive(Debug, Deserialize)]
struct LineItem {
    name: Option<String>,
    #[serde(default)]
    quantity: u64,
}

/// An order's meta entry; the Shipment Tracking extension keeps its numbers in one.
#[derive(Debug, Deserialize)]
struct Meta {
    key: String,
    value: serde_json::Value,
}

impl WooCustomer {
    fn into_shop(self) -> ShopCustomer {
        let (billing, shipping) = (self.billing.unwrap_or_default(), self.shipping.unwrap_or_default());
        ShopCustomer {
            external_id: format!("woocommerce-{}", self.id),
            name: full_name(self.first_name.as_deref(), self.last_name.as_deref())
                .or_else(|| full_name(billing.first_name.as_deref(), billing.last_name.as_deref())),
            phones: phones([
                (billing.phone.as_deref(), billing.country.as_deref()),
                (shipping.phone.as_deref(), shipping.country.as_deref().or(billing.country.as_deref())),
            ]),
            emails: emails([self.email.as_deref(), billing.email.as_deref()]),
        }
    }
}

impl WooOrder {
    fn into_update(self) -> ShopUpdate {
        let billing = self.billing.unwrap_or_default();
        let shipping = self.shipping.unwrap_or_default();
        let emails = emails([billing.email.as_deref()]);
        let phones = phones([
            (billing.phone.as_deref(), billing.country.as_deref()),
            (shipping.phone.as_deref(), shipping.country.as_deref().or(billing.country.as_deref())),
        ]);
        // A guest checkout has no customer id: the order's e-mail (or phone) finds a stored
        // profile, and otherwise names a new one without putting the address in the id.
        let external_id = match (self.customer_id, emails.first().or(phones.first())) {
            (0, Some(identity)) => {
                format!("woocommerce-guest-{}", &switchboard_core::keys::data_key::digest(identity)[..16])
            }
            (0, None) => return ShopUpdate::Skip("a guest order without an e-mail or phone"),
            (id, _) => format!("woocommerce-{id}"),
        };
        let customer = ShopCustomer {
            external_id,
            name: full_name(billing.first_name.as_deref(), billing.last_name.as_deref()),
            phones,
            emails,
        };
        let tracking = self.meta_data.iter().find(|m| m.key == "_wc_shipment_tracking_items").and_then(|m| {
            let last = m.value.as_array()?.last()?;
            let link = last.get("custom_tracking_link").and_then(|v| v.as_str()).filter(|v| !v.is_empty());
            link.or_else(|| last.get("tracking_number").and_then(|v| v.as_str())).map(str::to_string)
        });
        let order = Order {
            id: self.number.clone().unwrap_or_else(|| self.id.to_string()),
            status: status(&self.status),
            placed: date(self.date_created_gmt.as_deref()),
            eta: None,
            tracking,
            items: items(self.line_items.iter().map(|l| (l.quantity, l.name.as_deref().unwrap_or("item")))),
            // WooCommerce's GMT times carry no zone.
            updated: self.date_modified_gmt.as_ref().map(|t| format!("{t}Z")),
        };
        ShopUpdate::Order { customer, order }
    }
}

/// WooCommerce's status slugs in plain words.
fn status(slug: &str) -> String {
    match slug {
        "pending" => "awaiting payment",
        "processing" => "processing",
        "on-hold" => "on hold",
        "completed" => "shipped",
        "cancelled" => "cancelled",
        "refunded" => "refunded",
        "failed" => "payment failed",
        "checkout-draft" => "draft",
        other => other,
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORDER: &str = include_str!("../../../tests/fixtures/shops/woocommerce-order-updated.json");

    #[test]
    fn an_order_maps_onto_its_customer_status_and_tracking() {
        let ShopUpdate::Order { customer, order } = parse("order.updated", ORDER.as_bytes()).unwrap() else {
            panic!("an order update")
        };
        assert_eq!(customer.external_id, "woocommerce-25");
        assert_eq!(customer.name.as_deref(), Some("Clara Schmidt"));
        assert_eq!(customer.phones, ["+49301234567"], "completed with the billing country");
        assert_eq!(customer.emails, ["clara@example.de"]);
        assert_eq!((order.id.as_str(), order.status.as_str()), ("727", "shipped"));
        assert_eq!(order.tracking.as_deref(), Some("https://tracking.example/DHL/00340434"));
        assert_eq!(order.items.as_deref(), Some("1 × Winterstiefel Gr. 39"));
        assert_eq!(order.updated.as_deref(), Some("2026-11-30T07:02:11Z"));
    }

    #[test]
    fn the_ping_is_recognised_and_nothing_else_is() {
        assert!(is_ping(b"webhook_id=42"));
        for other in [&b"webhook_id="[..], b"webhook_id=42&x=1", b"{}", ORDER.as_bytes()] {
            assert!(!is_ping(other));
        }
    }

    #[test]
    fn the_signature_is_checked_over_the_raw_body() {
        let fixture: serde_json::Value =
            serde_json::from_str(include_str!("../../../tests/fixtures/shops/signed.json")).unwrap();
        let woo = &fixture["woocommerce"];
        let secret = woo["secret"].as_str().unwrap().as_bytes();
        let signature = woo["order.updated"].as_str().unwrap();
        assert!(verify(secret, Some(signature), ORDER.as_bytes()).is_ok());
        assert!(verify(secret, Some(signature), ORDER.replace("completed", "refunded").as_bytes()).is_err());
        assert!(verify(b"", Some(signature), ORDER.as_bytes()).is_err(), "an empty secret verifies nothing");
    }
}
