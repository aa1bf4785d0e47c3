#!/usr/bin/env python3
"""Seeds fuzz/corpus/<target>/ from the sample events in events/, the signed fixtures in
tests/fixtures/ and the demo tenant: one file per seed, in each target's input layout
(header lines, then the body; see fuzz/src/lib.rs). Run again after changing an event."""
import base64
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"


def write(target, name, data):
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"seed-{name}").write_bytes(data if isinstance(data, bytes) else data.encode())


def event(path):
    e = json.loads((ROOT / "events" / path).read_text())
    body = e.get("body") or ""
    body = base64.b64decode(body) if e.get("isBase64Encoded") else body.encode()
    return e, {k.lower(): v for k, v in e.get("headers", {}).items()}, body


def lines(*values, body=b""):
    return "".join(f"{v}\n" for v in values).encode() + body


# Provider webhooks, from the sample events.
demo_url = "https://abc123.execute-api.eu-west-1.amazonaws.com/v1/demo/twilio"
for name in ["twilio-sms", "twilio-whatsapp"]:
    _, h, body = event(f"inbound/{name}.json")
    write("twilio", name, lines(demo_url, h.get("x-twilio-signature", ""), body=body))
fixtures = json.loads((ROOT / "tests/fixtures/channels.json").read_text())
tw = fixtures["twilio"]
from urllib.parse import urlencode  # noqa: E402

write("twilio", "official-form", lines(tw["form"]["url"], tw["form"]["signature"], body=urlencode(tw["form"]["params"]).encode()))
write("twilio", "official-json", lines(tw["json"]["url"], tw["json"]["signature"], body=tw["json"]["body"].encode()))
write("twilio", "status-callback", lines(demo_url, "x", body=b"MessageSid=SM1&MessageStatus=delivered&To=%2B1555"))

_, h, body = event("inbound/whatsapp-notification.json")
write("whatsapp", "notification", lines(h["x-hub-signature-256"], body=body))
e, _, _ = event("inbound/whatsapp-verify.json")
write("whatsapp", "verify", lines(e["rawQueryString"], body=b"{}"))

_, h, body = event("inbound/telegram-message.json")
write("telegram", "message", lines(h["x-telegram-bot-api-secret-token"], body=body))
write("telegram", "edited", lines("x", body=b'{"update_id":1,"edited_message":{"message_id":1,"chat":{"id":1},"text":"hi"}}'))

_, h, body = event("inbound/slack-message.json")
write("slack", "message", lines(h["x-slack-request-timestamp"], h["x-slack-signature"], body=body))
sl = fixtures["slack"]
write("slack", "official", lines(sl["timestamp"], sl["signature"], body=sl["body"].encode()))
write("slack", "challenge", lines("1", "v0=00", body=b'{"type":"url_verification","challenge":"abc","token":"t"}'))

_, h, body = event("inbound/email-postmark.json")
write("postmark", "inbound", lines(h["authorization"], body=body))

# Web chat bodies.
for name in ["webchat-post", "webchat-post-identified", "webchat-post-spoofed", "webchat-post-malformed"]:
    _, _, body = event(f"inbound/{name}.json")
    write("webchat", name, body)
write("webchat", "cursor", b"0001733000000000-m_0123456789abcdef")

# SES mail through SNS, and raw MIME.
mime_plain = (
    "From: Ana Lopez <ana@example.com>\r\nTo: support@shop.example\r\nSubject: Order\r\n"
    "Message-ID: <m1@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    "Where is my order?\r\n\r\nOn Mon, Bob wrote:\r\n> old text\r\n"
)
mime_multipart = (
    "From: ben@example.com\r\nTo: support@shop.example\r\nSubject: =?utf-8?q?R=C3=BCckgabe?=\r\n"
    'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\n\r\n'
    "--b1\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
    "<p>Ich m=C3=B6chte zur=C3=BCckgeben</p>\r\n"
    "--b1\r\nContent-Type: application/pdf; name=invoice.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    "JVBERi0xLjQK\r\n--b1--\r\n"
)
mime_auto = "From: noreply@example.com\r\nAuto-Submitted: auto-replied\r\n\r\nI am away\r\n"
for name, raw in [("plain", mime_plain), ("multipart", mime_multipart), ("auto", mime_auto)]:
    write("mime", name, raw)
    notification = {"notificationType": "Received", "mail": {"messageId": f"ses-{name}"},
                    "receipt": {"dmarcVerdict": {"status": "PASS"}}, "content": raw}
    envelope = {"Type": "Notification", "MessageId": f"sns-{name}", "TopicArn": "arn:aws:sns:eu-west-1:123456789012:mail",
                "Subject": "Amazon SES Email Receipt Notification", "Message": json.dumps(notification),
                "Timestamp": "2026-01-02T10:00:00.000Z", "SignatureVersion": "2", "Signature": "AAAA",
                "SigningCertURL": "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-1.pem"}
    write("sns", name, json.dumps(envelope))
confirm = {"Type": "SubscriptionConfirmation", "MessageId": "c1", "TopicArn": "arn:aws:sns:eu-west-1:1:mail",
           "Message": "You have chosen to subscribe", "Timestamp": "2026-01-02T10:00:00.000Z",
           "SignatureVersion": "2", "Signature": "AAAA", "Token": "tok",
           "SigningCertURL": "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-1.pem",
           "SubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=tok"}
write("sns", "confirm", json.dumps(confirm))
write("sns", "own-cert", json.dumps(confirm).encode() + b"\xff" + (ROOT / "tests/fixtures/sns/signer.pem").read_bytes())

# Helpdesk callbacks: selector byte (0 Zendesk, 1 Freshdesk, 2 HubSpot, 3 webhook, 4 Slack).
helpdesks = [
    (0, "zendesk", b'{"ticket_id":42,"comment_id":"9","comment":"Hi, Marta here","public":true,"author_email":"marta@acme.example","status":"open"}'),
    (0, "zendesk-solved", b'{"ticket_id":42,"status":"Solved"}'),
    (1, "freshdesk", b'{"ticket_id":5,"reply":"Refund issued","reply_id":"r1","status":"Open"}'),
    (1, "freshdesk-resolved", b'{"ticket_id":5,"status":4}'),
    (2, "hubspot", b'[{"eventId":1,"objectId":77,"propertyName":"switchboard_reply","propertyValue":"On its way!"},{"eventId":2,"objectId":77,"propertyName":"hs_pipeline_stage","propertyValue":"4"}]'),
    (3, "webhook", b'{"event_id":"e1","ticket_id":"T-1","reply":"Hello","solved":true}'),
    (4, "slack-reply", json.dumps({"type": "event_callback", "event_id": "Ev1", "event": {"type": "message", "channel": "C1", "user": "U7", "text": "On it", "ts": "2.1", "thread_ts": "1.1"}}).encode()),
    (4, "slack-reaction", json.dumps({"type": "event_callback", "event_id": "Ev2", "event": {"type": "reaction_added", "user": "U7", "reaction": "white_check_mark", "item": {"type": "message", "channel": "C1", "ts": "1.1"}}}).encode()),
    (4, "slack-challenge", b'{"type":"url_verification","challenge":"abc123","token":"t"}'),
]
for selector, name, body in helpdesks:
    write("helpdesk", name, bytes([selector]) + lines("sig", "1700000000", body=body))

# The tenant YAML loader.
write("tenant_yaml", "demo", (ROOT / "infra/tenants/demo.yaml").read_bytes())
write("tenant_yaml", "minimal", "id: shop\nname: Shop\nlanguages: [en]\nintents:\n  - name: hours\n    examples: [when are you open]\n    reply: {en: \"We open at 9.\"}\n")

# SQS records.
for path in ["responder/sqs-fifo-batch.json", "responder/sqs-fifo-poison.json", "escalation/sqs-batch.json"]:
    e = json.loads((ROOT / "events" / path).read_text())
    write("sqs_records", pathlib.Path(path).stem, json.dumps(e))
    for i, record in enumerate(e["Records"]):
        write("sqs_records", f"{pathlib.Path(path).stem}-{i}", record["body"])

# Whole requests, for the routes target.
for path in sorted((ROOT / "events/inbound").glob("*.json")):
    e, h, body = event(f"inbound/{path.name}")
    http = e["requestContext"]["http"]
    target = e["rawPath"] + (f"?{e['rawQueryString']}" if e.get("rawQueryString") else "")
    head = f"{http['method']} {target}\n" + "".join(f"{k}: {v}\n" for k, v in h.items())
    write("routes", path.stem, head.encode() + b"\n" + body)
write("routes", "helpdesk-webhook", b"POST /v1/demo/helpdesk/webhook\ncontent-type: application/json\nx-switchboard-signature: v1=00\nx-switchboard-timestamp: 1700000000\n\n" + helpdesks[5][2])
write("routes", "preflight", b"OPTIONS /v1/demo/webchat/messages\norigin: http://localhost:8080\naccess-control-request-method: POST\n\n")
write("routes", "widget", b"GET /v1/demo/widget.js\n\n")
write("routes", "ses", b"POST /v1/demo/email/ses\ncontent-type: text/plain\nx-amz-sns-message-type: Notification\n\n" + json.dumps(confirm).encode())
