#!/usr/bin/env python3
"""Signs the shop webhook fixtures in tests/fixtures/shops/ as the platforms do, and writes
tests/fixtures/shops/signed.json, which the Rust verifiers' tests load.

Shopify (shopify.dev, "Deliver webhooks through HTTPS" / "Verify webhooks"): base64 of the
HMAC-SHA256 of the raw body under the app's client secret, in X-Shopify-Hmac-Sha256.
WooCommerce (WC_Webhook::generate_signature): base64 of the HMAC-SHA256 of the payload under the
webhook's secret, in X-WC-Webhook-Signature. Neither platform ships a signer in a registry
library that runs without a configured app (Shopify's @shopify/shopify-api validates, given an
app config and a request adapter; WooCommerce signs in PHP inside WordPress), so this follows the
documented algorithm with Python's standard library.

    python3 scripts/gen-shop-fixtures.py
"""
import base64
import hashlib
import hmac
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
SHOPS = ROOT / "tests" / "fixtures" / "shops"

# The demo tenant's secrets (infra/tenants/demo.yaml, `data:`).
SHOPIFY_SECRET = "demo-shopify-webhook-secret"
WOO_SECRET = "demo-woocommerce-webhook-secret"


def sign(secret: str, path: pathlib.Path) -> str:
    digest = hmac.new(secret.encode(), path.read_bytes(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


fixtures = {
    "generated_by": "scripts/gen-shop-fixtures.py (the platforms' documented HMAC-SHA256, base64)",
    "shopify": {
        "secret": SHOPIFY_SECRET,
        "orders/updated": sign(SHOPIFY_SECRET, SHOPS / "shopify-orders-updated.json"),
        "fulfillments/update": sign(SHOPIFY_SECRET, SHOPS / "shopify-fulfillments-update.json"),
    },
    "woocommerce": {
        "secret": WOO_SECRET,
        "order.updated": sign(WOO_SECRET, SHOPS / "woocommerce-order-updated.json"),
    },
}
(SHOPS / "signed.json").write_text(json.dumps(fixtures, indent=2) + "\n")
print(f"wrote {SHOPS / 'signed.json'}")
