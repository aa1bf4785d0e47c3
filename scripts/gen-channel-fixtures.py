#!/usr/bin/env python3
"""Signs requests to our own routes with the providers' official libraries, so the Rust
verifiers are checked against what Twilio and Slack really compute, not only against our reading
of their docs. Writes tests/fixtures/channels.json; the unit tests in edge/src/channels load it.

    python3 -m venv .local/fixtures && .local/fixtures/bin/pip install twilio slack_sdk
    .local/fixtures/bin/python scripts/gen-channel-fixtures.py
"""
import hashlib
import json
import pathlib

from slack_sdk.signature import SignatureVerifier
from twilio.request_validator import RequestValidator

ROOT = pathlib.Path(__file__).resolve().parent.parent

# The demo tenant's credentials (infra/tenants/demo.yaml), so the fixture is a request to our route.
twilio_token = "demo-twilio-auth-token"
validator = RequestValidator(twilio_token)
form_url = "https://abc123.execute-api.eu-west-1.amazonaws.com/v1/demo/twilio"
form_params = {
    "MessageSid": "SM11111111111111111111111111111111",
    "AccountSid": "AC00000000000000000000000000000000",
    "From": "whatsapp:+34600111222",
    "To": "whatsapp:+15550001111",
    "Body": "¿Dónde está mi pedido? & gracias = 100%",
    "ProfileName": "Ana García",
    "NumMedia": "0",
}
json_body = '{"MessageSid": "SM2", "Body": "hello"}'
json_url = f"{form_url}?bodySHA256={validator.compute_hash(json_body)}"

slack_secret = "demo-slack-signing-secret"
slack_body = json.dumps({
    "type": "event_callback", "event_id": "Ev0FIXTURE", "team_id": "T1",
    "event": {"type": "message", "channel": "C0SUPPORT", "user": "U1", "text": "Wo ist meine Bestellung?", "ts": "1795586400.000100"},
})
slack_timestamp = "1795586400"

fixtures = {
    "generated_by": "scripts/gen-channel-fixtures.py (twilio RequestValidator, slack_sdk SignatureVerifier)",
    "twilio": {
        "auth_token": twilio_token,
        "form": {
            "url": form_url,
            "params": form_params,
            "signature": validator.compute_signature(form_url, form_params),
        },
        "json": {
            "url": json_url,
            "body": json_body,
            "body_sha256": hashlib.sha256(json_body.encode()).hexdigest(),
            "signature": validator.compute_signature(json_url, {}),
        },
    },
    "slack": {
        "signing_secret": slack_secret,
        "timestamp": slack_timestamp,
        "body": slack_body,
        "signature": SignatureVerifier(slack_secret).generate_signature(timestamp=slack_timestamp, body=slack_body),
    },
}
out = ROOT / "tests" / "fixtures" / "channels.json"
out.write_text(json.dumps(fixtures, indent=2, ensure_ascii=False) + "\n")
print(f"wrote {out}")
