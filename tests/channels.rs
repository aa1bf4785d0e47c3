//! Provider channels end to end on the local servers: webhook → inbound → FIFO queue →
//! responder → the answer delivered to a loopback stand-in of the provider's send API, which
//! records the request so its auth and body can be checked.

use base64::Engine;
use reqwest::StatusCode;
use serde_json::{Value, json};
use switchboard::channels::{slack, twilio};
use switchboard_tests::provider::{FakeProvider, SendFaults};
use switchboard_tests::stack::{Options, Stack, stack};

const TWILIO_TOKEN: &str = "demo-twilio-auth-token";
const TWILIO_URL: &str = "https://abc123.execute-api.eu-west-1.amazonaws.com/v1/demo/twilio";
const TWILIO_ACCOUNT: &str = "AC00000000000000000000000000000000";

async fn with_channels(fake: &FakeProvider) -> Stack {
    stack(Options { providers: Some(fake.url.clone()), ..Options::default() }).await
}

async fn post(
    s: &Stack,
    path: &str,
    content_type: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> (StatusCode, String) {
    s.post_raw(path, content_type, headers, body).await
}

fn sms(sid: &str, from: &str, body: &str) -> Vec<(String, String)> {
    [
        ("MessageSid", sid),
        ("AccountSid", TWILIO_ACCOUNT),
        ("From", from),
        ("To", "+15550001111"),
        ("Body", body),
        ("NumMedia", "0"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect()
}

async fn twilio_webhook(s: &Stack, params: &[(String, String)], token: &str) -> (StatusCode, String) {
    let signature = twilio::signature(token.as_bytes(), TWILIO_URL, params);
    let body = serde_urlencoded::to_string(params).unwrap().into_bytes();
    post(s, "/v1/demo/twilio", "application/x-www-form-urlencoded", &[("x-twilio-signature", signature)], body).await
}

fn form_of(body: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(body).unwrap()
}

#[tokio::test]
async fn an_sms_is_verified_queued_once_and_answered_through_the_messages_api() {
    let fake = FakeProvider::start(1).await;
    let s = with_channels(&fake).await;
    let params = sms("SM00000000000000000000000000000001", "+34600111222", "What are your opening hours?");
    let (status, body) = twilio_webhook(&s, &params, TWILIO_TOKEN).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, twilio::EMPTY_TWIML, "empty TwiML: the answer goes out through the REST API");
    let (status, _) = twilio_webhook(&s, &params, TWILIO_TOKEN).await;
    assert_eq!(status, StatusCode::OK, "Twilio's retry is acknowledged...");
    assert_eq!(s.aws.depth(&s.messages.url).await, 1, "...and not queued again");

    assert_eq!(s.run_responder().await, 1);
    let sent = fake.recorded();
    assert_eq!(sent.len(), 2, "throttled once (429, Retry-After: 1), then sent");
    let request = &sent[1];
    assert_eq!(request.path, "/2010-04-01/Accounts/AC00000000000000000000000000000000/Messages.json");
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{TWILIO_ACCOUNT}:{TWILIO_TOKEN}"))
    );
    assert_eq!(request.headers["authorization"], expected.as_str());
    let form = form_of(&request.body);
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
    assert_eq!(get("To"), "+34600111222");
    assert_eq!(get("From"), "+15550001111");
    assert!(get("Body").contains("Monday to Friday"), "{}", get("Body"));
}

#[tokio::test]
async fn whatsapp_via_twilio_answers_from_the_whatsapp_sender() {
    let fake = FakeProvider::start(0).await;
    let s = with_channels(&fake).await;
    let params = sms("SM00000000000000000000000000000002", "whatsapp:+34600111222", "¿Hacéis envíos a Canarias?");
    assert_eq!(twilio_webhook(&s, &params, TWILIO_TOKEN).await.0, StatusCode::OK);
    assert_eq!(s.run_responder().await, 1);
    let form = form_of(&fake.recorded()[0].body);
    assert!(form.contains(&("From".into(), "whatsapp:+15550001111".into())), "{form:?}");
    assert!(form.contains(&("To".into(), "whatsapp:+34600111222".into())), "{form:?}");
    let body = &form.iter().find(|(k, _)| k == "Body").unwrap().1;
    assert!(body.contains("Canarias"), "answered in Spanish from the FAQ: {body}");
}

#[tokio::test]
async fn forged_tampered_and_unsigned_twilio_webhooks_are_refused_and_store_nothing() {
    let fake = FakeProvider::start(0).await;
    let s = with_channels(&fake).await;
    let before = s.items().await;
    let params = sms("SM00000000000000000000000000000003", "+34600111222", "hi");
    assert_eq!(twilio_webhook(&s, &params, "another-token").await.0, StatusCode::UNAUTHORIZED);
    let signature = twilio::signature(TWILIO_TOKEN.as_bytes(), TWILIO_URL, &params);
    let tampered =
        serde_urlencoded::to_string(sms("SM00000000000000000000000000000003", "+34600111222", "HI")).unwrap();
    let (status, _) = post(
        &s,
        "/v1/demo/twilio",
        "application/x-www-form-urlencoded",
        &[("x-twilio-signature", signature)],
        tampered.into_bytes(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) =
        post(&s, "/v1/demo/twilio", "application/x-www-form-urlencoded", &[], b"Body=hi".to_vec()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, _) = post(&s, "/v1/demo/twilio", "application/x-www-form-urlencoded", &[], vec![b'a'; 70_000]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let (status, _) = post(&s, "/v1/nope/twilio", "application/x-www-form-urlencoded", &[], b"Body=hi".to_vec()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(s.items().await, before);
    assert_eq!(s.aws.depth(&s.messages.url).await, 0);
    assert!(fake.recorded().is_empty());
}

#[tokio::test]
async fn twilio_status_callbacks_are_acknowledged_and_skipped() {
    let fake = FakeProvider::start(0).await;
    let s = with_channels(&fake).await;
    let params: Vec<(String, String)> =
        [("MessageSid", "SM9"), ("MessageStatus", "delivered"), ("From", "+15550001111"), ("To", "+34600111222")]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
    assert_eq!(twilio_webhook(&s, &params, TWILIO_TOKEN).await.0, StatusCode::OK);
    assert_eq!(s.aws.depth(&s.messages.url).await, 0);
}

fn update(id: i64, text: &str) -> Vec<u8> {
    json!({"update_id": id, "message": {"message_id": 7, "from": {"id": 1111111, "is_bot": false, "first_name": "Ana"},
           "chat": {"id": 1111111, "type": "private"}, "date": chrono::Utc::now().timestamp(), "text": text}})
    .to_string()
    .into_bytes()
}

#[tokio::test]
async fn a_telegram_update_is_answered_with_send_message() {
    let fake = FakeProvider::start(0).await;
    let s = with_channels(&fake).await;
    let secret = [("x-telegram-bot-api-secret-token", "demo-telegram-secret".to_string())];
    assert_eq!(
        post(&s, "/v1/demo/telegram", "application/json", &secret, update(900001, "Do you ship to Canada?")).await.0,
        StatusCode::OK
    );
    assert_eq!(
        post(&s, "/v1/demo/telegram", "application/json", &secret, update(900001, "Do you ship to Canada?")).await.0,
        StatusCode::OK
    );
    assert_eq!(s.aws.depth(&s.messages.url).await, 1, "update_id de-duplicates");
    assert_eq!(s.run_responder().await, 1);
    let sent = fake.recorded();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].path, "/bot000000000:demo-telegram-bot-token/sendMessage");
    let body: Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert_eq!(body["chat_id"], 1111111);
    assert!(body["text"].as_str().unwrap().contains("Canada"), "{body}");
}

/// A recorded delivery replayed after its claim would have expired: where the signed body says
/// when the customer wrote (WhatsApp's `timestamp`, Telegram's `date`), a message older than
/// any redelivery (7 days) is acknowledged and skipped.
#[tokio::test]
async fn signed_messages_dated_before_the_replay_window_are_acknowledged_and_skipped() {
    let fake = FakeProvider::start(0).await;
    let s = with_channels(&fake).await;
    let eight_days_ago = (chrono::Utc::now() - chrono::Duration::days(8)).timestamp();
    let old_update = json!({"update_id": 900777, "message": {"message_id": 7, "from": {"id": 1111111, "is_bot": false},
        "chat": {"id": 1111111, "type": "private"}, "date": eight_days_ago, "text": "Do you ship to Canada?"}})
    .to_string();
    let secret = [("x-telegram-bot-api-secret-token", "demo-telegram-secret".to_string())];
    let (status, _) = post(&s, "/v1/demo/telegram", "application/json", &secret, old_update.into_bytes()).await;
    assert_eq!(status, StatusCode::OK);
    let wa = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"phone_number_id": "106540352242922"},
        "messages": [{"from": "447700900123", "id": "wamid.REPLAYED", "timestamp": eight_days_ago.to_string(), "type": "text", "text": {"body": "Hi"}}]}}]}]})
    .to_string();
    let signature = switchboard::channels::whatsapp::signature(b"demo-whatsapp-app-secret", wa.as_bytes());
    let (status, _) =
        post(&s, "/v1/demo/whatsapp", "application/json", &[("x-hub-signature-256", signature)], wa.into_bytes()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s.aws.depth(&s.messages.url).await, 0, "neither replay is queued");
}

#[tokio::test]
async fn bad_telegram_webhooks_are_refused_and_store_nothing() {
    let fake = FakeProvider::start(0).await;
    let s = with_channels(&fake).await;
    let before = s.items().await;
    let wrong = [("x-telegram-bot-api-secret-token", "guess".to_string())];
    assert_eq!(
        post(&s, "/v1/demo/telegram", "application/json", &wrong, update(1, "hi")).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        post(&s, "/v1/demo/telegram", "application/json", &[], update(2, "hi")).await.0,
        StatusCode::UNAUTHORIZED
    );
    let secret = [("x-telegram-bot-api-secret-token", "demo-telegram-secret".to_string())];
    assert_eq!(
        post(&s, "/v1/demo/telegram", "application/json", &secret, b"{oops".to_vec()).await.0,
        StatusCode::BAD_REQUEST
    );
    let sticker = json!({"update_id": 3, "message": {"chat": {"id": 1}, "sticker": {}}}).to_string().into_bytes();
    assert_eq!(
        post(&s, "/v1/demo/telegram", "application/json", &secret, sticker).await.0,
        StatusCode::OK,
        "skipped, acknowledged"
    );
    assert_eq!(s.items().await, before);
    assert_eq!(s.aws.depth(&s.messages.url).await, 0);
}

fn slack_headers(body: &[u8], at: i64) -> Vec<(&'static str, String)> {
    let ts = at.to_string();
    vec![
        ("x-slack-request-timestamp", ts.clone()),
        ("x-slack-signature", slack::signature(b"demo-slack-signing-secret", &ts, body)),
    ]
}

fn slack_message(event_id: &str, text: &str) -> Vec<u8> {
    json!({"type": "event_callback", "event_id": event_id, "event_time": 1795586400, "team_id": "T1",
           "event": {"type": "message", "channel": "C0SUPPORT", "user": "U0CUSTOMER", "text": text,
                     "ts": "1795586400.000100", "channel_type": "channel"}})
    .to_string()
    .into_bytes()
}

#[tokio::test]
async fn a_slack_message_is_answered_in_its_thread_and_retries_are_harmless() {
    let fake = FakeProvider::start(0).await;
    let s = with_channels(&fake).await;
    let now = chrono::Utc::now().timestamp();

    let challenge = br#"{"token": "t", "challenge": "ch4ll3nge", "type": "url_verification"}"#.to_vec();
    let (status, body) =
        post(&s, "/v1/demo/slack", "application/json", &slack_headers(&challenge, now), challenge.clone()).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ch4ll3nge"));

    let event = slack_message("Ev0001", "What are your opening hours?");
    assert_eq!(
        post(&s, "/v1/demo/slack", "application/json", &slack_headers(&event, now), event.clone()).await.0,
        StatusCode::OK
    );
    let mut retry = slack_headers(&event, now + 60);
    retry.push(("x-slack-retry-num", "1".into()));
    retry.push(("x-slack-retry-reason", "http_timeout".into()));
    assert_eq!(post(&s, "/v1/demo/slack", "application/json", &retry, event).await.0, StatusCode::OK);
    assert_eq!(s.aws.depth(&s.messages.url).await, 1, "the retry has the same event_id");

    assert_eq!(s.run_responder().await, 1);
    let sent = fake.recorded();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].path, "/api/chat.postMessage");
    assert_eq!(sent[0].headers["authorization"], "Bearer xoxb-demo-token");
    let body: Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert_eq!((body["channel"].as_str(), body["thread_ts"].as_str()), (Some("C0SUPPORT"), Some("1795586400.000100")));
    assert!(body["text"].as_str().unwrap().contains("Monday to Friday"), "{body}");
}

#[tokio::test]
async fn stale_forged_and_bot_slack_requests_are_refused_or_skipped() {
    let fake = FakeProvider::start(0).await;
    let s = with_channels(&fake).await;
    let before = s.items().await;
    let now = chrono::Utc::now().timestamp();
    let event = slack_message("Ev0002", "hi");
    let (status, _) =
        post(&s, "/v1/demo/slack", "application/json", &slack_headers(&event, now - 600), event.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "replayed after the window");
    let mut forged = slack_headers(&event, now);
    forged[1].1 = slack::signature(b"guess", &now.to_string(), &event);
    assert_eq!(
        post(&s, "/v1/demo/slack", "application/json", &forged, event.clone()).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(post(&s, "/v1/demo/slack", "application/json", &[], event).await.0, StatusCode::UNAUTHORIZED);
    let bot = json!({"type": "event_callback", "event_id": "Ev0003", "event": {"type": "message", "bot_id": "B1", "channel": "C0SUPPORT", "text": "our own answer", "ts": "1.2"}})
        .to_string()
        .into_bytes();
    assert_eq!(
        post(&s, "/v1/demo/slack", "application/json", &slack_headers(&bot, now), bot).await.0,
        StatusCode::OK,
        "our own echo is skipped"
    );
    let garbage = b"{nope".to_vec();
    assert_eq!(
        post(&s, "/v1/demo/slack", "application/json", &slack_headers(&garbage, now), garbage).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(s.items().await, before);
    assert_eq!(s.aws.depth(&s.messages.url).await, 0);
}

#[tokio::test]
async fn a_request_signed_by_twilios_own_library_is_accepted_at_our_route() {
    let fixture: Value = serde_json::from_str(include_str!("fixtures/channels.json")).unwrap();
    let t = &fixture["twilio"];
    assert_eq!(
        (t["auth_token"].as_str(), t["form"]["url"].as_str()),
        (Some(TWILIO_TOKEN), Some(TWILIO_URL)),
        "signed for the demo tenant's route"
    );
    let fake = FakeProvider::start(0).await;
    let s = with_channels(&fake).await;
    let params: Vec<(String, String)> = t["form"]["params"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    let body = serde_urlencoded::to_string(&params).unwrap().into_bytes();
    let signature = [("x-twilio-signature", t["form"]["signature"].as_str().unwrap().to_string())];
    let (status, answer) = post(&s, "/v1/demo/twilio", "application/x-www-form-urlencoded", &signature, body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(s.aws.depth(&s.messages.url).await, 1);
}

const WA_SECRET: &[u8] = b"demo-whatsapp-app-secret";

fn notification(messages: &[(&str, &str, &str)]) -> Vec<u8> {
    let messages: Vec<Value> = messages
        .iter()
        .map(|(from, id, text)| json!({"from": from, "id": id, "timestamp": chrono::Utc::now().timestamp().to_string(), "type": "text", "text": {"body": text}}))
        .collect();
    json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550001111", "phone_number_id": "106540352242922"},
        "contacts": [{"profile": {"name": "Ben"}, "wa_id": "447700900123"}], "messages": messages,
        "statuses": [{"id": "wamid.OLD", "status": "read", "timestamp": "1795586300", "recipient_id": "447700900123"}]}}]}]})
    .to_string()
    .into_bytes()
}

/// Tenants sharing one Meta app (an agency's) or one Twilio account sign with the same secret:
/// the signature proves the provider, not the tenant. A delivery addressed to another number
/// than the tenant's (WhatsApp's `metadata.phone_number_id`, Twilio's `To` and `AccountSid`) is
/// acknowledged and skipped, never queued as this tenant's.
#[tokio::test]
async fn deliveries_addressed_to_another_tenants_number_are_acknowledged_and_skipped() {
    let fake = FakeProvider::start(0).await;
    let s = with_channels(&fake).await;
    let secret = b"demo-whatsapp-app-secret";
    let others = String::from_utf8(notification(&[("447700900123", "wamid.OTHER1", "Hi")]))
        .unwrap()
        .replace("106540352242922", "999999999999999");
    let signature = switchboard::channels::whatsapp::signature(secret, others.as_bytes());
    let (status, _) =
        post(&s, "/v1/demo/whatsapp", "application/json", &[("x-hub-signature-256", signature)], others.into_bytes())
            .await;
    assert_eq!(status, StatusCode::OK, "acknowledged: Meta must not retry it");
    for (name, value) in [("To", "+15559999999"), ("AccountSid", "AC99999999999999999999999999999999")] {
        let mut params = sms("SM00000000000000000000000000000077", "+34600111222", "Hi");
        params.iter_mut().filter(|(k, _)| k == name).for_each(|(_, v)| *v = value.to_string());
        let (status, body) = twilio_webhook(&s, &params, TWILIO_TOKEN).await;
        assert_eq!(status, StatusCode::OK, "{name}: {body}");
    }
    assert_eq!(s.aws.depth(&s.messages.url).await, 0, "nothing queued as this tenant's");
    // Its own number's delivery is queued.
    let own = notification(&[("447700900123", "wamid.OWN1", "Hi")]);
    let signature = switchboard::channels::whatsapp::signature(secret, &own);
    assert_eq!(
        post(&s, "/v1/demo/whatsapp", "application/json", &[("x-hub-signature-256", signature)], own).await.0,
        StatusCode::OK
    );
    assert_eq!(s.aws.depth(&s.messages.url).await, 1);
}

#[tokio::test]
async fn whatsapp_cloud_batches_are_verified_queued_and_answered_through_the_graph_api() {
    let fake = FakeProvider::start(0).await;
    let s = with_channels(&fake).await;

    let (status, _) = s
        .call(
            "GET",
            "/v1/demo/whatsapp?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=demo-whatsapp-verify-token",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) =
        s.call("GET", "/v1/demo/whatsapp?hub.mode=subscribe&hub.challenge=1&hub.verify_token=guess", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let body = notification(&[
        ("447700900123", "wamid.HBgL1", "What are your opening hours?"),
        ("447700900123", "wamid.HBgL2", "Thanks!"),
    ]);
    let signature = [("x-hub-signature-256", switchboard::channels::whatsapp::signature(WA_SECRET, &body))];
    assert_eq!(post(&s, "/v1/demo/whatsapp", "application/json", &signature, body.clone()).await.0, StatusCode::OK);
    assert_eq!(
        post(&s, "/v1/demo/whatsapp", "application/json", &signature, body).await.0,
        StatusCode::OK,
        "Meta's redelivery"
    );
    assert_eq!(s.aws.depth(&s.messages.url).await, 2, "two messages, each queued once");
    while s.run_responder().await > 0 {}

    let sent = fake.recorded();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].path, "/graph/106540352242922/messages");
    assert_eq!(sent[0].headers["authorization"], "Bearer demo-whatsapp-access-token");
    let first: Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert_eq!((first["to"].as_str(), first["type"].as_str()), (Some("447700900123"), Some("text")));
    assert!(first["text"]["body"].as_str().unwrap().contains("Monday to Friday"), "{first}");
}

#[tokio::test]
async fn outside_the_24_hour_window_whatsapp_gets_the_template_not_free_text() {
    let fake = FakeProvider::start(0).await;
    let s = with_channels(&fake).await;
    // A message that waited two days (a redrive from the dead-letter queue, say).
    let tenant = switchboard::domain::TenantId::new("demo").unwrap();
    let conversation = switchboard::domain::ConversationId::new("c_whatsappcloud_late").unwrap();
    let message = switchboard::domain::InboundMessage {
        id: switchboard::domain::MessageId::generate(),
        tenant,
        channel: switchboard::domain::Channel::WhatsappCloud,
        provider_message_id: "wamid.LATE".into(),
        conversation: conversation.clone(),
        sender: switchboard::domain::Sender { address: "447700900123".into(), customer: None, unverified: false },
        text: "What are your opening hours?".into(),
        received_at: chrono::Utc::now() - chrono::Duration::hours(48),
        request_id: "req-late".into(),
        thread: None,
        attachments: Vec::new(),
    };
    s.aws
        .clients
        .sqs
        .send_message()
        .queue_url(&s.messages.url)
        .message_body(serde_json::to_string(&switchboard::Work::Customer(Box::new(message))).unwrap())
        .message_group_id("late")
        .message_deduplication_id("late")
        .send()
        .await
        .unwrap();
    assert_eq!(s.run_responder().await, 1);
    let sent = fake.recorded();
    assert_eq!(sent.len(), 1);
    let body: Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert_eq!(body["type"], "template", "{body}");
    assert_eq!(body["template"]["name"], "follow_up");
}

#[tokio::test]
async fn forged_and_malformed_whatsapp_notifications_are_refused() {
    let fake = FakeProvider::start(0).await;
    let s = with_channels(&fake).await;
    let before = s.items().await;
    let body = notification(&[("447700900123", "wamid.X1", "hi")]);
    let forged = [("x-hub-signature-256", switchboard::channels::whatsapp::signature(b"guess", &body))];
    assert_eq!(
        post(&s, "/v1/demo/whatsapp", "application/json", &forged, body.clone()).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(post(&s, "/v1/demo/whatsapp", "application/json", &[], body).await.0, StatusCode::UNAUTHORIZED);
    let garbage = b"{\"object\": 5}".to_vec();
    let signed = [("x-hub-signature-256", switchboard::channels::whatsapp::signature(WA_SECRET, &garbage))];
    assert_eq!(post(&s, "/v1/demo/whatsapp", "application/json", &signed, garbage).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(s.items().await, before);
    assert_eq!(s.aws.depth(&s.messages.url).await, 0);
}

#[tokio::test]
async fn a_phone_the_tenant_knows_is_that_customer_on_every_phone_channel() {
    let fake = FakeProvider::start(0).await;
    let s = with_channels(&fake).await;
    // Ana's number on SMS, Ben's on the WhatsApp Cloud API; an unknown number stays anonymous.
    let params = sms("SM00000000000000000000000000000010", "+34600111222", "Where is my order?");
    assert_eq!(twilio_webhook(&s, &params, TWILIO_TOKEN).await.0, StatusCode::OK);
    let body = notification(&[("447700900123", "wamid.ORDER", "Where is my order?")]);
    let signature = [("x-hub-signature-256", switchboard::channels::whatsapp::signature(WA_SECRET, &body))];
    assert_eq!(post(&s, "/v1/demo/whatsapp", "application/json", &signature, body).await.0, StatusCode::OK);
    let params = sms("SM00000000000000000000000000000011", "+19995550000", "Where is my order?");
    assert_eq!(twilio_webhook(&s, &params, TWILIO_TOKEN).await.0, StatusCode::OK);
    while s.run_responder().await > 0 {}

    let sent = fake.recorded();
    assert_eq!(sent.len(), 3);
    let texts: Vec<String> = sent
        .iter()
        .map(|r| {
            if r.path.contains("Messages.json") {
                form_of(&r.body).into_iter().find(|(k, _)| k == "Body").map(|(_, v)| v).unwrap_or_default()
            } else {
                serde_json::from_slice::<Value>(&r.body).unwrap()["text"]["body"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            }
        })
        .collect();
    assert!(texts.iter().any(|t| t.contains("Ana") && t.contains("DS-20417")), "{texts:?}");
    assert!(texts.iter().any(|t| t.contains("Ben") && t.contains("DS-20502")), "{texts:?}");
    assert!(
        texts.iter().any(|t| t.contains("confirmation e-mail")),
        "the unknown number gets the anonymous answer: {texts:?}"
    );
}

/// Where Postmark's documented inbound example says it received the mail (its `Received-SPF`).
const POSTMARK_RECEIVER: &str = "451d9b70cf9364d23ff6f9d51d870251569e+ahoy@inbound.postmarkapp.com";

fn inbound_mail(message_id: &str, from: &str, text: &str) -> Vec<u8> {
    let domain = from.split('@').nth(1).unwrap_or_default().to_lowercase();
    let spf = format!(
        "Pass (sender SPF authorized) identity=mailfrom; client-ip=192.0.2.10; envelope-from={from}; helo=mail.{domain}; receiver={POSTMARK_RECEIVER}"
    );
    inbound_mail_with(message_id, from, text, vec![("Received-SPF", spf)])
}

/// A Postmark inbound mail whose headers (after Message-ID) are `auth`, in order.
fn inbound_mail_with(message_id: &str, from: &str, text: &str, auth: Vec<(&str, String)>) -> Vec<u8> {
    let mut headers: Vec<Value> = auth.into_iter().map(|(n, v)| json!({"Name": n, "Value": v})).collect();
    headers.push(json!({"Name": "Message-ID", "Value": "<CAE-ana-1@mail.example.com>"}));
    json!({"MessageID": message_id, "From": from, "FromName": "Ana García", "FromFull": {"Email": from, "Name": "Ana García", "MailboxHash": ""},
           "To": "support@demo-shop.example", "Subject": "My order", "TextBody": format!("{text}\n\nOn Mon, Demo Shop wrote:\n> earlier"),
           "StrippedTextReply": "", "Headers": headers})
    .to_string()
    .into_bytes()
}

/// Anyone can write any From: only mail the receiving server authenticated for that domain
/// unlocks the customer's profile. A spoofed or unauthenticated sender is answered anonymously.
#[tokio::test]
async fn a_spoofed_from_address_does_not_unlock_the_customers_profile() {
    let fake = FakeProvider::start(0).await;
    let s = with_channels(&fake).await;
    let auth = postmark_auth("demo-postmark-inbound-password");
    let ana = "ana.garcia@example.com";
    let cases = [
        ("no authentication results", vec![]),
        ("SPF failed", vec![("Received-SPF", format!("Fail (sender not authorized) envelope-from={ana}"))]),
        (
            "SPF passed for another domain",
            vec![("Received-SPF", "Pass (sender SPF authorized) envelope-from=attacker@evil.example".to_string())],
        ),
        (
            "a forged pass below the receiver's fail",
            vec![
                ("Received-SPF", format!("Fail (sender not authorized) envelope-from={ana}")),
                ("Received-SPF", format!("Pass (sender SPF authorized) envelope-from={ana}")),
            ],
        ),
        (
            "DMARC failed",
            vec![(
                "Authentication-Results",
                "inbound.postmarkapp.com; dkim=fail; dmarc=fail header.from=example.com".to_string(),
            )],
        ),
        // The reviewer's forgery: a verdict the sender wrote, stamped with a host of its choice.
        (
            "a DMARC pass stamped by someone else",
            vec![("Authentication-Results", "evil.example; dmarc=pass header.from=example.com".to_string())],
        ),
        (
            "a DMARC pass for another domain",
            vec![(
                "Authentication-Results",
                "inbound.postmarkapp.com; dmarc=pass header.from=evil.example".to_string(),
            )],
        ),
        (
            "an SPF pass recorded by another receiver",
            vec![(
                "Received-SPF",
                format!("Pass (sender SPF authorized) envelope-from={ana}; receiver=mx.evil.example"),
            )],
        ),
    ];
    let genuine = (
        "DMARC passed",
        vec![(
            "Authentication-Results",
            "inbound.postmarkapp.com; dkim=pass header.d=example.com; dmarc=pass header.from=example.com".into(),
        )],
    );
    let aligned_spf = (
        "SPF passed for the From domain",
        vec![(
            "Received-SPF",
            format!(
                "Pass (sender SPF authorized) identity=mailfrom; envelope-from={ana}; receiver={POSTMARK_RECEIVER}"
            ),
        )],
    );
    let spoofs = cases.into_iter().map(|c| (c, false));
    for (n, ((name, headers), verified)) in spoofs.chain([(genuine, true), (aligned_spf, true)]).enumerate() {
        let mail = inbound_mail_with(&format!("spoof-{n}"), ana, "Where is my order?", headers);
        assert_eq!(post(&s, "/v1/demo/email", "application/json", &auth, mail).await.0, StatusCode::OK, "{name}");
        let (_, received) = s.aws.receive_event(&s.messages.url).await;
        let work: switchboard::Work = serde_json::from_str(received[0].body().unwrap()).unwrap();
        let switchboard::Work::Customer(message) = work else { panic!("a customer message") };
        assert_eq!(message.sender.customer.is_some(), verified, "{name}: {:?}", message.sender);
        assert_eq!(message.sender.unverified, !verified, "{name}: the ticket will say so");
        let handle = received[0].receipt_handle().unwrap();
        s.aws.clients.sqs.delete_message().queue_url(&s.messages.url).receipt_handle(handle).send().await.unwrap();
    }
    assert!(fake.accepted().is_empty());
}

fn postmark_auth(password: &str) -> Vec<(&'static str, String)> {
    vec![(
        "authorization",
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("postmark:{password}"))),
    )]
}

#[tokio::test]
async fn an_email_is_answered_in_its_thread_through_postmark() {
    let fake = FakeProvider::start(0).await;
    let s = with_channels(&fake).await;
    let auth = postmark_auth("demo-postmark-inbound-password");
    let mail = inbound_mail("b7bc2f4a-e38e-4336-af7d-e6c392c2f817", "Ana.Garcia@example.com", "Where is my order?");
    assert_eq!(post(&s, "/v1/demo/email", "application/json", &auth, mail.clone()).await.0, StatusCode::OK);
    assert_eq!(post(&s, "/v1/demo/email", "application/json", &auth, mail).await.0, StatusCode::OK, "Postmark's retry");
    assert_eq!(s.aws.depth(&s.messages.url).await, 1);
    assert_eq!(s.run_responder().await, 1);

    let sent = fake.recorded();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].path, "/postmark/email");
    assert_eq!(sent[0].headers["x-postmark-server-token"], "demo-postmark-server-token");
    let body: Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert_eq!(
        (body["From"].as_str(), body["To"].as_str()),
        (Some("support@demo-shop.example"), Some("ana.garcia@example.com"))
    );
    assert_eq!(body["Headers"][0], json!({"Name": "In-Reply-To", "Value": "<CAE-ana-1@mail.example.com>"}));
    let text = body["TextBody"].as_str().unwrap();
    assert!(text.contains("Ana") && text.contains("DS-20417"), "the address is Ana's in the tenant's records: {text}");
}

/// E-mail is bigger than a chat message: a mail with a 300 KB or a 5 MB attachment is accepted
/// and answered, and only its text travels through the queue; the turn notes the attachment.
#[tokio::test]
async fn mail_with_large_attachments_is_answered_and_the_attachment_stays_out_of_the_queue() {
    let fake = FakeProvider::start(0).await;
    let s = with_channels(&fake).await;
    let auth = postmark_auth("demo-postmark-inbound-password");
    for (n, size) in [(1, 300 * 1024), (2, 5 * 1024 * 1024)] {
        let mut mail: Value =
            serde_json::from_slice(&inbound_mail(&format!("big-{n}"), "ana.garcia@example.com", "Where is my order?"))
                .unwrap();
        let content = base64::engine::general_purpose::STANDARD.encode(vec![b'x'; size * 3 / 4]);
        mail["Attachments"] = json!([{"Name": format!("photo-{n}.jpg"), "Content": content,
                                      "ContentType": "image/jpeg", "ContentLength": size}]);
        let body = mail.to_string().into_bytes();
        assert!(body.len() >= size, "the request is as big as the attachment");
        let (status, answer) = post(&s, "/v1/demo/email", "application/json", &auth, body).await;
        assert_eq!(status, StatusCode::OK, "{size} bytes: {answer}");

        let (event, received) = s.aws.receive_event(&s.messages.url).await;
        assert_eq!(received.len(), 1);
        let queued = received[0].body().unwrap();
        assert!(queued.len() < 16 * 1024, "only the text is queued ({} bytes)", queued.len());
        let work: switchboard::Work = serde_json::from_str(queued).unwrap();
        let switchboard::Work::Customer(message) = work else { panic!("a customer message") };
        let response =
            switchboard::lambda::respond_batch(&s.responder, None, switchboard::lambda::Deadline::none(), event).await;
        assert!(response.batch_item_failures.is_empty());
        let handle = received[0].receipt_handle().unwrap();
        s.aws.clients.sqs.delete_message().queue_url(&s.messages.url).receipt_handle(handle).send().await.unwrap();
        let turns =
            s.responder.conversations().turns_after(&message.tenant, &message.conversation, None, 100).await.unwrap();
        let customer = turns.iter().rev().find(|t| t.id == message.id).expect("the customer turn");
        assert!(customer.text.starts_with("Where is my order?"), "{}", customer.text);
        assert!(customer.text.contains(&format!("photo-{n}.jpg")), "the turn notes the attachment: {}", customer.text);
    }
    assert_eq!(fake.recorded().len(), 2, "both mails were answered");
}

#[tokio::test]
async fn bad_credentials_loops_and_malformed_mail_are_refused_or_skipped() {
    let fake = FakeProvider::start(0).await;
    let s = with_channels(&fake).await;
    let before = s.items().await;
    let mail = inbound_mail("m1", "ana.garcia@example.com", "hi");
    assert_eq!(
        post(&s, "/v1/demo/email", "application/json", &postmark_auth("guess"), mail.clone()).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(post(&s, "/v1/demo/email", "application/json", &[], mail).await.0, StatusCode::UNAUTHORIZED);
    let auth = postmark_auth("demo-postmark-inbound-password");
    let own = inbound_mail("m2", "support@demo-shop.example", "our own answer");
    assert_eq!(
        post(&s, "/v1/demo/email", "application/json", &auth, own).await.0,
        StatusCode::OK,
        "our own mail is skipped"
    );
    assert_eq!(
        post(&s, "/v1/demo/email", "application/json", &auth, b"{\"From\": 1}".to_vec()).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(s.items().await, before);
    assert_eq!(s.aws.depth(&s.messages.url).await, 0);
}

#[tokio::test]
async fn every_channel_refuses_oversize_bodies_and_unknown_tenants_clearly() {
    let fake = FakeProvider::start(0).await;
    let s = with_channels(&fake).await;
    for route in ["twilio", "telegram", "slack", "whatsapp", "email", "email/ses", "webchat/messages"] {
        // Chat routes take 64 KiB; e-mail routes what Lambda takes (6 MB).
        let size = if route.starts_with("email") { 6 * 1024 * 1024 + 1 } else { 70_000 };
        let (status, body) = post(&s, &format!("/v1/demo/{route}"), "application/json", &[], vec![b'x'; size]).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{route}: {body}");
        assert!(body.contains("body_too_large"), "{route}: {body}");
        let valid_webchat = br#"{"visitor_id": "v", "text": "hi"}"#.to_vec();
        let (status, body) = post(&s, &format!("/v1/nobody/{route}"), "application/json", &[], valid_webchat).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{route}: {body}");
        assert!(body.contains("unknown_tenant"), "{route}: {body}");
    }
    assert_eq!(s.aws.depth(&s.messages.url).await, 0);
}

/// SNS's certificate host, served from the test PKI (`scripts/gen-sns-fixtures.sh`); records GETs.
struct TestSns {
    gets: std::sync::Mutex<Vec<String>>,
    /// Serve the intermediate inside the PEM too, and nothing at the issuer URL.
    chain_in_pem: bool,
}

#[async_trait::async_trait]
impl switchboard::channels::sns::SnsFetch for TestSns {
    async fn get(&self, url: &str) -> Result<Vec<u8>, switchboard::channels::ChannelError> {
        self.gets.lock().unwrap().push(url.to_string());
        // As AWS serves it: the signing certificate alone at SigningCertURL, its issuer (DER) at
        // the certificate's Authority Information Access URL.
        Ok(if url.ends_with(".pem") {
            let mut pem = include_bytes!("fixtures/sns/signer.pem").to_vec();
            if self.chain_in_pem {
                let der = include_bytes!("fixtures/sns/intermediate.cer");
                let b64 = base64::engine::general_purpose::STANDARD.encode(der);
                pem.extend_from_slice(b"-----BEGIN CERTIFICATE-----\n");
                for line in b64.as_bytes().chunks(64) {
                    pem.extend_from_slice(line);
                    pem.push(b'\n');
                }
                pem.extend_from_slice(b"-----END CERTIFICATE-----\n");
            }
            pem
        } else if url == "http://crt.r2m02.test.amazontrust.com/r2m02.cer" && !self.chain_in_pem {
            include_bytes!("fixtures/sns/intermediate.cer").to_vec()
        } else {
            b"<ConfirmSubscriptionResponse/>".to_vec()
        })
    }
}

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:switchboard-demo-inbound-mail";
const CERT_URL: &str = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem";

fn signed(mut envelope: Value) -> Vec<u8> {
    envelope["SignatureVersion"] = json!("2");
    envelope["SigningCertURL"] = json!(CERT_URL);
    envelope["Signature"] = json!("");
    let parsed: switchboard::channels::sns::Envelope = serde_json::from_value(envelope.clone()).unwrap();
    let key = ring::signature::RsaKeyPair::from_pkcs8(include_bytes!("fixtures/sns/signer.pk8")).unwrap();
    let mut signature = vec![0; key.public().modulus_len()];
    key.sign(
        &ring::signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        parsed.string_to_sign().as_bytes(),
        &mut signature,
    )
    .unwrap();
    envelope["Signature"] = json!(base64::engine::general_purpose::STANDARD.encode(signature));
    envelope.to_string().into_bytes()
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn ses_notification(message_id: &str, from: &str, text: &str) -> Value {
    ses_notification_with(message_id, from, text, "PASS")
}

fn ses_notification_with(message_id: &str, from: &str, text: &str, dmarc: &str) -> Value {
    let mime = format!(
        "From: Ben Miller <{from}>\r\nTo: support@demo-shop.example\r\nSubject: Order\r\nMessage-ID: <ses-{message_id}@mail.example.com>\r\n\
         Content-Type: text/plain; charset=UTF-8\r\n\r\n{text}\r\n\r\nOn Mon, Demo Shop wrote:\r\n> earlier\r\n"
    );
    let message = json!({"notificationType": "Received", "mail": {"messageId": message_id, "source": from, "destination": ["support@demo-shop.example"]},
                         "receipt": {"action": {"type": "SNS", "topicArn": TOPIC}, "spfVerdict": {"status": "PASS"},
                                     "dkimVerdict": {"status": "PASS"}, "dmarcVerdict": {"status": dmarc}}, "content": mime});
    json!({"Type": "Notification", "MessageId": format!("sns-{message_id}"), "TopicArn": TOPIC, "Subject": "Amazon SES Email Receipt Notification",
           "Message": message.to_string(), "Timestamp": now_rfc3339()})
}

async fn with_test_sns(fake: &FakeProvider) -> (Stack, std::sync::Arc<TestSns>) {
    let fetch = std::sync::Arc::new(TestSns { gets: std::sync::Mutex::new(Vec::new()), chain_in_pem: false });
    let verifier =
        switchboard::channels::sns::SnsVerifier::with_roots(include_bytes!("fixtures/sns/ca.pem"), fetch.clone())
            .unwrap();
    let s = stack(Options {
        providers: Some(fake.url.clone()),
        sns: Some(std::sync::Arc::new(verifier)),
        ..Options::default()
    })
    .await;
    (s, fetch)
}

#[tokio::test]
async fn ses_mail_through_sns_is_verified_confirmed_and_answered() {
    let fake = FakeProvider::start(0).await;
    let (s, fetch) = with_test_sns(&fake).await;
    let confirm = signed(
        json!({"Type": "SubscriptionConfirmation", "MessageId": "sub-1", "TopicArn": TOPIC, "Token": "tok",
        "Message": "You have chosen to subscribe", "SubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=tok",
        "Timestamp": now_rfc3339()}),
    );
    assert_eq!(post(&s, "/v1/demo/email/ses", "text/plain; charset=UTF-8", &[], confirm).await.0, StatusCode::OK);
    assert!(
        fetch.gets.lock().unwrap().iter().any(|u| u.contains("Action=ConfirmSubscription")),
        "the subscription was confirmed"
    );

    let mail = signed(ses_notification("ses-1", "ben@example.com", "Where is my order?"));
    assert_eq!(post(&s, "/v1/demo/email/ses", "text/plain; charset=UTF-8", &[], mail.clone()).await.0, StatusCode::OK);
    assert_eq!(
        post(&s, "/v1/demo/email/ses", "text/plain; charset=UTF-8", &[], mail).await.0,
        StatusCode::OK,
        "SNS retry"
    );
    assert_eq!(s.aws.depth(&s.messages.url).await, 1);
    assert_eq!(s.run_responder().await, 1);
    let sent = fake.recorded();
    let body: Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert_eq!(body["To"], "ben@example.com");
    assert_eq!(body["Headers"][0]["Value"], "<ses-ses-1@mail.example.com>");
    assert!(body["TextBody"].as_str().unwrap().contains("DS-20502"), "{body}");
    let gets = fetch.gets.lock().unwrap().clone();
    assert!(
        gets.iter().any(|u| u == "http://crt.r2m02.test.amazontrust.com/r2m02.cer"),
        "the issuer came from the certificate's AIA URL: {gets:?}"
    );
}

/// Anyone can mail a business: SES mail counts against the tenant's e-mail limit like every
/// other channel's messages (the review found the SES route skipped the limit).
#[tokio::test]
async fn ses_mail_counts_against_the_tenants_email_limit() {
    let fake = FakeProvider::start(0).await;
    let fetch = std::sync::Arc::new(TestSns { gets: std::sync::Mutex::new(Vec::new()), chain_in_pem: false });
    let verifier =
        switchboard::channels::sns::SnsVerifier::with_roots(include_bytes!("fixtures/sns/ca.pem"), fetch).unwrap();
    let limits = switchboard::limits::LimitSettings {
        tenant_messages_per_minute: 2,
        visitor_messages_per_minute: 0,
        data_writes_per_minute: 0,
    };
    let s = stack(Options {
        providers: Some(fake.url.clone()),
        sns: Some(std::sync::Arc::new(verifier)),
        limits,
        ..Options::default()
    })
    .await;
    switchboard_tests::within_one_minute(10).await;
    let mut statuses = Vec::new();
    for i in 0..3 {
        let mail = signed(ses_notification(&format!("ses-limit-{i}"), "ben@example.com", "Where is my order?"));
        statuses.push(post(&s, "/v1/demo/email/ses", "text/plain; charset=UTF-8", &[], mail).await.0);
    }
    assert_eq!(statuses, [StatusCode::OK, StatusCode::OK, StatusCode::TOO_MANY_REQUESTS]);
    assert_eq!(s.aws.depth(&s.messages.url).await, 2, "the refused mail was not queued");
}

/// A PEM that carries its chain verifies without fetching the issuer.
#[tokio::test]
async fn an_sns_certificate_with_its_chain_in_the_pem_verifies_without_fetching_the_issuer() {
    let fetch = std::sync::Arc::new(TestSns { gets: std::sync::Mutex::new(Vec::new()), chain_in_pem: true });
    let verifier =
        switchboard::channels::sns::SnsVerifier::with_roots(include_bytes!("fixtures/sns/ca.pem"), fetch.clone())
            .unwrap();
    let envelope: switchboard::channels::sns::Envelope =
        serde_json::from_slice(&signed(ses_notification("ses-9", "ben@example.com", "hi"))).unwrap();
    verifier.verify(&envelope, chrono::Utc::now()).await.expect("verifies");
    assert_eq!(fetch.gets.lock().unwrap().clone(), vec![CERT_URL.to_string()]);
}

#[tokio::test]
async fn forged_or_misdirected_sns_messages_are_refused() {
    let fake = FakeProvider::start(0).await;
    let (s, _) = with_test_sns(&fake).await;
    let before = s.items().await;
    let good = ses_notification("ses-2", "ben@example.com", "hi");
    let mut tampered: Value = serde_json::from_slice(&signed(good.clone())).unwrap();
    tampered["Message"] = json!(good["Message"].as_str().unwrap().replace("hi", "HI"));
    let mut wrong_host: Value = serde_json::from_slice(&signed(good.clone())).unwrap();
    wrong_host["SigningCertURL"] = json!("https://sns.us-east-1.amazonaws.com.evil.example/cert.pem");
    let mut v1: Value = serde_json::from_slice(&signed(good.clone())).unwrap();
    v1["SignatureVersion"] = json!("1");
    let mut stale = good.clone();
    stale["Timestamp"] =
        json!((chrono::Utc::now() - chrono::Duration::hours(2)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    let mut other_topic = good.clone();
    other_topic["TopicArn"] = json!("arn:aws:sns:us-east-1:999999999999:someone-else");
    for (name, body) in [
        ("tampered", tampered.to_string().into_bytes()),
        ("certificate off SNS", wrong_host.to_string().into_bytes()),
        ("SHA1 signatures", v1.to_string().into_bytes()),
        ("another topic", signed(other_topic)),
        ("replayed two hours later", signed(stale)),
    ] {
        assert_eq!(post(&s, "/v1/demo/email/ses", "text/plain", &[], body).await.0, StatusCode::UNAUTHORIZED, "{name}");
    }
    assert_eq!(post(&s, "/v1/demo/email/ses", "text/plain", &[], b"{}".to_vec()).await.0, StatusCode::BAD_REQUEST);
    // A verifier that does not trust the test CA refuses the very same, correctly signed message.
    let fetch = std::sync::Arc::new(TestSns { gets: std::sync::Mutex::new(Vec::new()), chain_in_pem: false });
    let untrusting =
        switchboard::channels::sns::SnsVerifier::with_roots(include_bytes!("fixtures/sns/signer.pem"), fetch).unwrap();
    let envelope: switchboard::channels::sns::Envelope = serde_json::from_slice(&signed(good)).unwrap();
    let error = untrusting.verify(&envelope, chrono::Utc::now()).await.unwrap_err();
    assert_eq!(error.to_string(), "unauthorized: signing certificate is not trusted");
    assert_eq!(s.items().await, before);
    assert_eq!(s.aws.depth(&s.messages.url).await, 0);
}

#[tokio::test]
async fn a_signed_twilio_webhook_without_the_fields_of_a_message_is_400() {
    let fake = FakeProvider::start(0).await;
    let s = with_channels(&fake).await;
    let params: Vec<(String, String)> = vec![("Body".into(), "hi".into()), ("To".into(), "+15550001111".into())];
    let (status, body) = twilio_webhook(&s, &params, TWILIO_TOKEN).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("malformed_payload"), "{body}");
    assert_eq!(s.aws.depth(&s.messages.url).await, 0);
}

#[tokio::test]
async fn a_redelivered_message_whose_answer_went_out_is_not_sent_again() {
    let fake = FakeProvider::start(0).await;
    let s = with_channels(&fake).await;
    let params = sms("SM00000000000000000000000000000020", "+34600111222", "What are your opening hours?");
    assert_eq!(twilio_webhook(&s, &params, TWILIO_TOKEN).await.0, StatusCode::OK);
    let (event, _) = s.aws.receive_event(&s.messages.url).await;
    for _ in 0..2 {
        let response = switchboard::lambda::respond_batch(
            &s.responder,
            None,
            switchboard::lambda::Deadline::none(),
            event.clone(),
        )
        .await;
        assert!(response.batch_item_failures.is_empty());
    }
    assert_eq!(fake.recorded().len(), 1, "one SMS, although the message was handled twice");
}

/// A long answer goes out in parts; a retry after a failure sends only the parts the provider
/// did not accept yet.
#[tokio::test]
async fn a_split_answer_is_resent_only_from_the_part_that_failed() {
    let fake = FakeProvider::start(0).await;
    let hours = "We're open Monday to Friday 9:00–18:00 and Saturday 10:00–14:00 (CET).";
    let long =
        format!("{hours} {} SECOND-PART {}", "Our shop never closes. ".repeat(70), "Ask us anything. ".repeat(20));
    let s = stack(Options {
        providers: Some(fake.url.clone()),
        max_receives: 5,
        replace: vec![(format!("{hours} The online shop never closes, and this chat answers around the clock."), long)],
        ..Options::default()
    })
    .await;
    fake.set_faults(SendFaults { fail_containing: Some(("SECOND-PART".into(), 3)), ..SendFaults::default() });
    let params = sms("SM00000000000000000000000000000031", "+34600111222", "What are your opening hours?");
    assert_eq!(twilio_webhook(&s, &params, TWILIO_TOKEN).await.0, StatusCode::OK);
    for _ in 0..10 {
        s.run_responder().await;
        if s.aws.depth(&s.messages.url).await == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    }
    let bodies: Vec<String> = fake
        .accepted()
        .iter()
        .map(|r| form_of(&r.body).into_iter().find(|(k, _)| k == "Body").map(|(_, v)| v).unwrap_or_default())
        .collect();
    assert!(bodies.len() >= 2, "{bodies:?}");
    assert_eq!(bodies.iter().filter(|b| b.starts_with("We're open")).count(), 1, "the first part once: {bodies:?}");
    assert_eq!(bodies.iter().filter(|b| b.contains("SECOND-PART")).count(), 1, "the second part once");
    assert!(bodies.iter().all(|b| b.chars().count() <= 1600));
}

/// A send the provider accepted but answered only after our timeout is looked up before it is
/// sent again: one copy reaches the customer on Twilio, Slack and Postmark.
#[tokio::test]
async fn a_send_answered_after_the_timeout_is_found_not_repeated() {
    let fake = FakeProvider::start(0).await;
    let s = with_channels(&fake).await;
    let slow = SendFaults { slow: Some((1, std::time::Duration::from_millis(2500))), ..SendFaults::default() };

    fake.set_faults(slow.clone());
    let params = sms("SM00000000000000000000000000000032", "+34600111222", "What are your opening hours?");
    assert_eq!(twilio_webhook(&s, &params, TWILIO_TOKEN).await.0, StatusCode::OK);
    drain(&s).await;
    let sms_sent = fake.accepted().iter().filter(|r| r.path.ends_with("/Messages.json")).count();
    assert_eq!(sms_sent, 1, "one SMS");

    fake.set_faults(slow.clone());
    let mail = inbound_mail("slow-1", "ben@example.com", "What are your opening hours?");
    let auth = postmark_auth("demo-postmark-inbound-password");
    assert_eq!(post(&s, "/v1/demo/email", "application/json", &auth, mail).await.0, StatusCode::OK);
    drain(&s).await;
    assert_eq!(fake.accepted().iter().filter(|r| r.path.ends_with("/email")).count(), 1, "one e-mail");

    fake.set_faults(slow);
    let event = json!({"token": "x", "team_id": "T1", "api_app_id": "A1", "type": "event_callback", "event_id": "Ev-slow-1", "event_time": 1795586400,
        "event": {"type": "message", "channel": "C1", "user": "U1", "text": "What are your opening hours?", "ts": "1795586400.000100"}});
    let body = event.to_string().into_bytes();
    let ts = chrono::Utc::now().timestamp().to_string();
    let signature = slack::signature(b"demo-slack-signing-secret", &ts, &body);
    let headers = [("x-slack-request-timestamp", ts), ("x-slack-signature", signature)];
    assert_eq!(post(&s, "/v1/demo/slack", "application/json", &headers, body).await.0, StatusCode::OK);
    drain(&s).await;
    assert_eq!(fake.accepted().iter().filter(|r| r.path.ends_with("/chat.postMessage")).count(), 1, "one Slack post");
}

/// Runs the responder until the messages queue is empty.
async fn drain(s: &Stack) {
    for _ in 0..10 {
        s.run_responder().await;
        if s.aws.depth(&s.messages.url).await == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    }
    panic!("the messages queue did not drain");
}

/// SES's own verdicts decide for mail received through SES: a DMARC failure is anonymous.
#[tokio::test]
async fn ses_mail_that_fails_dmarc_is_answered_without_the_profile() {
    let fake = FakeProvider::start(0).await;
    let (s, _) = with_test_sns(&fake).await;
    let spoofed = signed(ses_notification_with("ses-spoof", "ben@example.com", "Where is my order?", "FAIL"));
    assert_eq!(post(&s, "/v1/demo/email/ses", "text/plain", &[], spoofed).await.0, StatusCode::OK);
    drain(&s).await;
    let sent = fake.accepted();
    let body: Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert!(!body["TextBody"].as_str().unwrap().contains("DS-20502"), "anonymous: {body}");
}
