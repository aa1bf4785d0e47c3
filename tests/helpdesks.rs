//! Escalation to humans end to end on the local servers (DynamoDB Local, moto) against loopback
//! stand-ins of the helpdesks' APIs: tickets opened once whatever fails, customer messages
//! appended while a human owns the conversation, agent replies delivered on the customer's
//! channel, solved tickets handing the conversation back to the bot, and the dead-letter path.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use switchboard::channels::slack;
use switchboard::helpdesks::callbacks;
use switchboard_tests::helpdesk::{FakeHelpdesk, Faults, slack_ts};
use switchboard_tests::provider::FakeProvider;
use switchboard_tests::stack::{Options, Stack, stack};

const TELEGRAM_SECRET: &str = "demo-telegram-secret";

async fn with_helpdesk(provider: &FakeProvider, section: String) -> Stack {
    stack(Options { providers: Some(provider.url.clone()), helpdesk: Some(section), ..Options::default() }).await
}

async fn post(s: &Stack, path: &str, headers: &[(&str, String)], body: Vec<u8>) -> (StatusCode, String) {
    s.post_raw(path, "application/json", headers, body).await
}

/// The customer writes on Telegram and the responder runs.
async fn customer_says(s: &Stack, update_id: i64, text: &str) {
    let body = json!({"update_id": update_id, "message": {"message_id": update_id, "from": {"id": 1111111, "is_bot": false, "first_name": "Ana"},
           "chat": {"id": 1111111, "type": "private"}, "date": chrono::Utc::now().timestamp(), "text": text}});
    let secret = [("x-telegram-bot-api-secret-token", TELEGRAM_SECRET.to_string())];
    let (status, _) = post(s, "/v1/demo/telegram", &secret, body.to_string().into_bytes()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s.run_responder().await, 1);
}

/// What the customer received on Telegram, in order.
fn telegram_texts(provider: &FakeProvider) -> Vec<String> {
    provider
        .recorded()
        .iter()
        .filter(|r| r.path.ends_with("/sendMessage"))
        .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap()["text"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Runs the escalation function until its queue is empty, waiting out each visibility timeout.
async fn escalate_until_drained(s: &Stack) {
    for _ in 0..5 {
        s.run_escalation().await;
        if s.aws.depth(&s.escalations.url).await == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    panic!("the escalation queue did not drain");
}

fn zendesk_section(url: &str) -> String {
    format!(
        "  kind: zendesk\n  api_base: {url}\n  email: bot@demo.example\n  api_token: zendesk-token\n  webhook_secret: zendesk-webhook-secret"
    )
}

fn zendesk_auth() -> String {
    format!("Basic {}", STANDARD.encode("bot@demo.example/token:zendesk-token"))
}

async fn zendesk_callback(s: &Stack, body: Value) -> StatusCode {
    let body = body.to_string().into_bytes();
    let ts = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let signature = callbacks::zendesk_signature(b"zendesk-webhook-secret", &ts, &body);
    let headers = [("x-zendesk-webhook-signature", signature), ("x-zendesk-webhook-signature-timestamp", ts.clone())];
    post(s, "/v1/demo/helpdesk/zendesk", &headers, body).await.0
}

#[tokio::test]
async fn zendesk_ticket_comment_agent_reply_and_solved_end_to_end() {
    let provider = FakeProvider::start(0).await;
    let desk = FakeHelpdesk::start(Some(zendesk_auth())).await;
    let s = with_helpdesk(&provider, zendesk_section(&desk.url)).await;

    customer_says(&s, 1, "I want to speak to a human, this is urgent!").await;
    assert_eq!(telegram_texts(&provider).len(), 1, "told a person will reply");
    assert_eq!(s.run_escalation().await, 1);
    let tickets = desk.tickets();
    assert_eq!(tickets.len(), 1);
    let ticket = &tickets[0]["ticket"];
    assert_eq!(ticket["priority"], "high", "urgency raises the priority: {ticket}");
    assert_eq!(ticket["comment"]["public"], false);
    let text = ticket["comment"]["body"].as_str().unwrap();
    assert!(text.contains("Intent: human_agent") && text.contains("Urgency: high"), "{text}");
    assert!(text.contains("Recent conversation:") && text.contains("this is urgent"), "{text}");
    let create = desk.calls().into_iter().find(|c| c.method == "POST").unwrap();
    assert_eq!(create.headers.get("idempotency-key").unwrap(), ticket["external_id"].as_str().unwrap());

    // The customer writes again: appended to the same ticket, the bot stays quiet.
    customer_says(&s, 2, "My order number is 1234").await;
    assert_eq!(telegram_texts(&provider).len(), 1, "no bot answer while a human owns it");
    assert_eq!(s.run_escalation().await, 1);
    let comment = desk.calls().into_iter().find(|c| c.method == "PUT").expect("a comment on the ticket");
    assert_eq!(comment.uri, "/api/v2/tickets/1001.json");
    assert!(comment.body["ticket"]["comment"]["body"].as_str().unwrap().contains("1234"));
    assert_eq!(desk.tickets().len(), 1, "no second ticket");

    // Our own (private) comment echoed back by a trigger is ignored; the agent's reply goes out.
    let echo = json!({"ticket_id": 1001, "comment": "The customer wrote:\nMy order number is 1234", "public": false, "author_email": "bot@demo.example", "status": "open"});
    assert_eq!(zendesk_callback(&s, echo).await, StatusCode::OK);
    assert_eq!(s.aws.depth(&s.messages.url).await, 0, "loops are not queued");
    let reply = json!({"ticket_id": 1001, "comment_id": "c1", "comment": "Hi Ana, Marta here: it ships today.", "public": true, "author_email": "marta@demo.example", "status": "open"});
    assert_eq!(zendesk_callback(&s, reply.clone()).await, StatusCode::OK);
    assert_eq!(zendesk_callback(&s, reply).await, StatusCode::OK, "Zendesk's retry is harmless");
    assert_eq!(s.run_responder().await, 1);
    assert_eq!(telegram_texts(&provider).last().unwrap(), "Hi Ana, Marta here: it ships today.");
    assert_eq!(telegram_texts(&provider).len(), 2);

    // A tampered callback is refused.
    let headers = [
        ("x-zendesk-webhook-signature", "AAAA".to_string()),
        ("x-zendesk-webhook-signature-timestamp", chrono::Utc::now().to_rfc3339()),
    ];
    let (status, _) = post(&s, "/v1/demo/helpdesk/zendesk", &headers, b"{\"ticket_id\":1001}".to_vec()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Solved: the bot answers again.
    assert_eq!(zendesk_callback(&s, json!({"ticket_id": 1001, "status": "solved"})).await, StatusCode::OK);
    assert_eq!(s.run_responder().await, 1);
    customer_says(&s, 3, "What are your opening hours?").await;
    assert!(telegram_texts(&provider).last().unwrap().contains("Monday"), "{:?}", telegram_texts(&provider));
}

/// The documented trigger fires on every ticket update; only a new public comment by an agent
/// reaches the customer, once. An internal note or a status change never re-sends the previous
/// public reply.
#[tokio::test]
async fn zendesk_relays_each_public_agent_reply_once_and_nothing_else() {
    let (provider, _desk, s) = zendesk_handoff(Faults::default(), "I want to speak to a human").await;
    let before = telegram_texts(&provider).len();
    // What the trigger body in docs/helpdesks.md renders to, update after update.
    let update = |comment_id: &str, comment: &str, public: &str, author: &str, status: &str| {
        json!({"ticket_id": "1001", "comment_id": comment_id, "comment": comment, "public": public,
               "author_email": author, "status": status})
    };
    let steps = [
        update("201", "Hi Ana, Marta here: it ships today.", "true", "marta@demo.example", "open"),
        update("202", "internal: customer is a VIP, be nice", "false", "marta@demo.example", "open"),
        update("202", "internal: customer is a VIP, be nice", "false", "marta@demo.example", "pending"),
        update("201", "Hi Ana, Marta here: it ships today.", "true", "marta@demo.example", "hold"),
        update("203", "Tracking number: DS-20417.", "true", "marta@demo.example", "pending"),
    ];
    for step in steps {
        assert_eq!(zendesk_callback(&s, step).await, StatusCode::OK);
        while s.run_responder().await > 0 {}
    }
    let texts = telegram_texts(&provider);
    assert_eq!(
        texts[before..].to_vec(),
        vec!["Hi Ana, Marta here: it ships today.".to_string(), "Tracking number: DS-20417.".to_string()],
        "each public reply once, the note never"
    );
}

#[tokio::test]
async fn throttled_failing_and_timed_out_creates_open_exactly_one_ticket() {
    let provider = FakeProvider::start(0).await;
    let desk = FakeHelpdesk::start(Some(zendesk_auth())).await;
    let s = with_helpdesk(&provider, zendesk_section(&desk.url)).await;
    // 429 with a long Retry-After: the record is delayed by it, not hammered.
    desk.set_faults(Faults { throttle: Some((1, 30)), ..Faults::default() });
    customer_says(&s, 1, "I want to talk to a person").await;
    assert_eq!(s.run_escalation().await, 1);
    assert!(desk.tickets().is_empty());
    assert_eq!(s.aws.depth(&s.escalations.url).await, 1, "still queued");
    assert_eq!(s.run_escalation().await, 0, "invisible for the Retry-After");

    // 5xx twice then fine, and a create that answers after the client gave up: one ticket.
    let s = with_helpdesk(&provider, zendesk_section(&desk.url)).await;
    desk.set_faults(Faults { unavailable: 2, slow: Some((1, Duration::from_secs(2))), ..Faults::default() });
    customer_says(&s, 2, "I want to talk to a person").await;
    let before = desk.tickets().len();
    escalate_until_drained(&s).await;
    assert_eq!(desk.tickets().len() - before, 1, "the timed-out create was found, not repeated");

    // Freshdesk and HubSpot take no idempotency key: a create that may have happened is not
    // repeated in the call; the next attempt finds it by its key.
    let freshdesk = FakeHelpdesk::start(Some(format!("Basic {}", STANDARD.encode("fd-key:X")))).await;
    let hubspot = FakeHelpdesk::start(Some("Bearer hs-token".into())).await;
    let sections = [
        (
            &freshdesk,
            format!("  kind: freshdesk\n  api_base: {}\n  api_key: fd-key\n  callback_secret: cb", freshdesk.url),
        ),
        (
            &hubspot,
            format!(
                "  kind: hubspot\n  api_base: {}\n  access_token: hs-token\n  client_secret: cs\n  callback_url: https://x/",
                hubspot.url
            ),
        ),
    ];
    for (desk, section) in sections {
        let s = with_helpdesk(&provider, section).await;
        desk.set_faults(Faults { slow: Some((1, Duration::from_secs(2))), ..Faults::default() });
        customer_says(&s, 3, "I want to talk to a person").await;
        escalate_until_drained(&s).await;
        assert_eq!(desk.tickets().len(), 1, "one ticket in {}", desk.url);
    }
}

/// The stack on a Zendesk stand-in (with `faults`), a Telegram customer who says `text`, and the
/// escalation function's first run.
async fn zendesk_handoff(faults: Faults, text: &str) -> (FakeProvider, FakeHelpdesk, Stack) {
    let provider = FakeProvider::start(0).await;
    let desk = FakeHelpdesk::start(Some(zendesk_auth())).await;
    let s = with_helpdesk(&provider, zendesk_section(&desk.url)).await;
    desk.set_faults(faults);
    customer_says(&s, 1, text).await;
    assert_eq!(s.run_escalation().await, 1);
    (provider, desk, s)
}

/// A Zendesk that refuses every ticket (400) and a customer who asks for a person.
async fn refused_handoff() -> (FakeProvider, FakeHelpdesk, Stack) {
    zendesk_handoff(Faults { refuse: true, ..Faults::default() }, "I want to talk to a person").await
}

#[tokio::test]
async fn a_permanent_refusal_is_parked_and_a_redrive_opens_exactly_one_ticket() {
    let (_provider, desk, s) = refused_handoff().await;
    assert_eq!(s.aws.depth(&s.escalations.url).await, 0, "not retried: no retry fixes a 400");
    let parked = switchboard::adapters::aws::dead_letters(&s.aws.clients.sqs, &s.escalations.dlq_url).await.unwrap();
    assert_eq!(parked.len(), 1);
    assert!(parked[0].error.as_deref().unwrap_or_default().contains("HTTP 400"), "{parked:?}");
    assert_eq!(
        switchboard::adapters::aws::dead_letters(&s.aws.clients.sqs, &s.escalations.dlq_url).await.unwrap().len(),
        1,
        "listing leaves them in place"
    );

    desk.set_faults(Faults::default());
    let moved =
        switchboard::adapters::aws::redrive(&s.aws.clients.sqs, &s.escalations.dlq_url, &s.escalations.url, None)
            .await
            .unwrap();
    assert_eq!(moved, 1);
    assert_eq!(s.run_escalation().await, 1);
    s.run_escalation().await;
    assert_eq!(desk.tickets().len(), 1, "exactly one ticket");
    assert!(
        switchboard::adapters::aws::dead_letters(&s.aws.clients.sqs, &s.escalations.dlq_url).await.unwrap().is_empty()
    );
}

/// A handoff whose ticket cannot be opened (a misconfigured helpdesk) does not leave the customer
/// talking to nobody: the conversation returns to the bot, the customer is told, later messages
/// are answered, and a redrive that succeeds once the helpdesk is fixed hands it to a person.
#[tokio::test]
async fn a_handoff_that_cannot_open_a_ticket_returns_to_the_bot_and_a_redrive_hands_it_over_again() {
    let (provider, desk, s) = refused_handoff().await;
    assert_eq!(
        switchboard::adapters::aws::dead_letters(&s.aws.clients.sqs, &s.escalations.dlq_url).await.unwrap().len(),
        1,
        "parked with its reason"
    );

    // The failure comes back through the messages queue: the customer is told honestly.
    assert_eq!(s.run_responder().await, 1, "the failed handoff is handled by the responder");
    let texts = telegram_texts(&provider);
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(texts[0].contains("passed this to our team"), "{texts:?}");
    assert!(texts[1].contains("couldn't reach our team"), "told honestly: {texts:?}");

    // The bot answers again instead of sending every message to the dead-letter queue.
    customer_says(&s, 2, "What are your opening hours?").await;
    let texts = telegram_texts(&provider);
    assert!(texts.last().unwrap().contains("Monday to Friday"), "{texts:?}");
    assert_eq!(s.aws.depth(&s.escalations.url).await, 0, "no comment queued for a ticket that does not exist");

    // Fixed and redriven: the ticket opens and a person owns the conversation again.
    desk.set_faults(Faults::default());
    switchboard::adapters::aws::redrive(&s.aws.clients.sqs, &s.escalations.dlq_url, &s.escalations.url, None)
        .await
        .unwrap();
    escalate_until_drained(&s).await;
    assert_eq!(desk.tickets().len(), 1);
    let before = telegram_texts(&provider).len();
    customer_says(&s, 3, "Hello? Is anyone there?").await;
    assert_eq!(telegram_texts(&provider).len(), before, "a person owns it: the bot is quiet");
    escalate_until_drained(&s).await;
    assert!(desk.calls().iter().any(|c| c.uri.contains("/tickets/") && c.method == "PUT"), "appended to the ticket");
}

#[tokio::test]
async fn freshdesk_hubspot_slack_and_webhook_open_comment_and_call_back() {
    let provider = FakeProvider::start(0).await;

    // Freshdesk: Basic auth with the API key, priority codes, a private note, a shared-secret callback.
    let desk = FakeHelpdesk::start(Some(format!("Basic {}", STANDARD.encode("fd-key:X")))).await;
    let section =
        format!("  kind: freshdesk\n  api_base: {}\n  api_key: fd-key\n  callback_secret: fd-callback", desk.url);
    let s = with_helpdesk(&provider, section).await;
    customer_says(&s, 1, "I want to speak to a human, this is urgent!").await;
    s.run_escalation().await;
    let ticket = &desk.tickets()[0];
    assert_eq!((ticket["priority"].as_u64(), ticket["source"].as_u64()), (Some(3), Some(7)), "{ticket}");
    assert!(ticket["description"].as_str().unwrap().contains("<br>"));
    customer_says(&s, 2, "hello?").await;
    s.run_escalation().await;
    let note = desk.calls().into_iter().find(|c| c.uri.ends_with("/notes")).expect("a note");
    assert_eq!(note.body["private"], true);
    let reply = json!({"ticket_id": 1001, "reply_id": "r1", "reply": "Refund issued.", "status": "Open"});
    let wrong = [("x-switchboard-secret", "guess".to_string())];
    assert_eq!(
        post(&s, "/v1/demo/helpdesk/freshdesk", &wrong, reply.to_string().into_bytes()).await.0,
        StatusCode::UNAUTHORIZED
    );
    let right = [("x-switchboard-secret", "fd-callback".to_string())];
    assert_eq!(post(&s, "/v1/demo/helpdesk/freshdesk", &right, reply.to_string().into_bytes()).await.0, StatusCode::OK);
    s.run_responder().await;
    assert_eq!(telegram_texts(&provider).last().unwrap(), "Refund issued.");
    assert_eq!(
        post(&s, "/v1/demo/helpdesk/zendesk", &right, b"{}".to_vec()).await.0,
        StatusCode::NOT_FOUND,
        "not this tenant's helpdesk"
    );

    // HubSpot: Bearer token, HIGH priority, a note associated with the ticket, v3-signed callbacks.
    let desk = FakeHelpdesk::start(Some("Bearer hs-token".into())).await;
    let callback_url = "https://hooks.example/v1/demo/helpdesk/hubspot";
    let section = format!(
        "  kind: hubspot\n  api_base: {}\n  access_token: hs-token\n  client_secret: hs-secret\n  callback_url: {callback_url}",
        desk.url
    );
    let s = with_helpdesk(&provider, section).await;
    customer_says(&s, 1, "I want to speak to a human, this is urgent!").await;
    s.run_escalation().await;
    let properties = &desk.tickets()[0]["properties"];
    assert_eq!(properties["hs_ticket_priority"], "HIGH");
    assert_eq!(properties["hs_pipeline_stage"], "1");
    assert!(properties["switchboard_escalation"].as_str().unwrap().starts_with("switchboard-demo-"));
    customer_says(&s, 2, "hello?").await;
    s.run_escalation().await;
    let note = desk.calls().into_iter().find(|c| c.uri.ends_with("/crm/v3/objects/notes")).expect("a note");
    assert_eq!(note.body["associations"][0]["to"]["id"], "1001");
    let events =
        json!([{"eventId": 5, "objectId": 1001, "propertyName": "switchboard_reply", "propertyValue": "Sorted!"}]);
    let body = events.to_string().into_bytes();
    let ts = chrono::Utc::now().timestamp_millis().to_string();
    let signature = callbacks::hubspot_signature(b"hs-secret", "POST", callback_url, &body, &ts);
    let headers = [("x-hubspot-signature-v3", signature), ("x-hubspot-request-timestamp", ts)];
    assert_eq!(post(&s, "/v1/demo/helpdesk/hubspot", &headers, body).await.0, StatusCode::OK);
    s.run_responder().await;
    assert_eq!(telegram_texts(&provider).last().unwrap(), "Sorted!");

    // Slack incoming webhook: the team channel is told, the customer's next message too.
    let desk = FakeHelpdesk::start(None).await;
    let s = with_helpdesk(&provider, format!("  kind: slack_webhook\n  url: {}/services/T0/B0/secret", desk.url)).await;
    customer_says(&s, 1, "I want to speak to a human").await;
    s.run_escalation().await;
    customer_says(&s, 2, "still there?").await;
    s.run_escalation().await;
    let posts: Vec<_> = desk.calls().into_iter().filter(|c| c.uri.starts_with("/services/")).collect();
    assert_eq!(posts.len(), 2);
    assert!(posts[0].body["text"].as_str().unwrap().contains("human_agent"), "{}", posts[0].body);
    assert!(posts[0].body["blocks"].to_string().contains("Priority: normal"), "{}", posts[0].body);
    assert!(posts[1].body["text"].as_str().unwrap().contains("still there?"));

    // Generic webhook: signed both ways, with an idempotency key.
    let desk = FakeHelpdesk::start(None).await;
    let s = with_helpdesk(&provider, format!("  kind: webhook\n  url: {}/hook\n  secret: wh-secret", desk.url)).await;
    customer_says(&s, 1, "I want to speak to a human").await;
    s.run_escalation().await;
    let call = desk.calls().into_iter().find(|c| c.uri == "/hook").unwrap();
    let ts: i64 = call.headers["x-switchboard-timestamp"].to_str().unwrap().parse().unwrap();
    let raw = serde_json::to_vec(&call.body).unwrap();
    assert_eq!(
        call.headers["x-switchboard-signature"].to_str().unwrap(),
        switchboard::helpdesks::webhook::sign(b"wh-secret", ts, &raw)
    );
    assert_eq!(call.headers["idempotency-key"].to_str().unwrap(), call.body["id"].as_str().unwrap());
    let body =
        json!({"event_id": "e1", "ticket_id": "EXT-1001", "reply": "Done!", "solved": true}).to_string().into_bytes();
    let now = chrono::Utc::now().timestamp();
    let headers = [
        ("x-switchboard-signature", switchboard::helpdesks::webhook::sign(b"wh-secret", now, &body)),
        ("x-switchboard-timestamp", now.to_string()),
    ];
    assert_eq!(post(&s, "/v1/demo/helpdesk/webhook", &headers, body).await.0, StatusCode::OK);
    s.run_responder().await;
    assert_eq!(telegram_texts(&provider).last().unwrap(), "Done!");
    customer_says(&s, 3, "What are your opening hours?").await;
    assert!(telegram_texts(&provider).last().unwrap().contains("Monday"), "solved: the bot answers again");
}

fn slack_section(url: &str) -> String {
    format!(
        "  kind: slack\n  channel: C0SUPPORT\n  bot_token: xoxb-helpdesk\n  signing_secret: slack-helpdesk-secret\n  api_base: {url}/api"
    )
}

/// Slack's Events API posts `body`, signed v0, as its `retry`-th delivery.
async fn slack_signed(s: &Stack, body: Value, retry: Option<u32>) -> (StatusCode, String) {
    let body = body.to_string().into_bytes();
    let ts = chrono::Utc::now().timestamp().to_string();
    let mut headers = vec![
        ("x-slack-signature", slack::signature(b"slack-helpdesk-secret", &ts, &body)),
        ("x-slack-request-timestamp", ts),
    ];
    if let Some(n) = retry {
        headers.push(("x-slack-retry-num", n.to_string()));
        headers.push(("x-slack-retry-reason", "http_timeout".to_string()));
    }
    post(s, "/v1/demo/helpdesk/slack", &headers, body).await
}

fn slack_event(event_id: &str, event: Value) -> Value {
    json!({"type": "event_callback", "team_id": "T0", "api_app_id": "A0", "event_id": event_id,
           "event_time": chrono::Utc::now().timestamp(), "event": event})
}

#[tokio::test]
async fn slack_channel_ticket_thread_replies_and_solved_reaction() {
    let provider = FakeProvider::start(0).await;
    let desk = FakeHelpdesk::start(Some("Bearer xoxb-helpdesk".into())).await;
    let s = with_helpdesk(&provider, slack_section(&desk.url)).await;

    // Slack checks the Request URL before sending events: signed, answered with the challenge.
    let challenge = json!({"token": "t", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmd", "type": "url_verification"});
    assert_eq!(
        slack_signed(&s, challenge.clone(), None).await,
        (StatusCode::OK, "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmd".into())
    );
    let ts = chrono::Utc::now().timestamp().to_string();
    let forged = [("x-slack-signature", slack::signature(b"guess", &ts, b"{}")), ("x-slack-request-timestamp", ts)];
    assert_eq!(
        post(&s, "/v1/demo/helpdesk/slack", &forged, challenge.to_string().into_bytes()).await.0,
        StatusCode::UNAUTHORIZED
    );

    let stale = (chrono::Utc::now().timestamp() - 600).to_string();
    let body = challenge.to_string().into_bytes();
    let old = [
        ("x-slack-signature", slack::signature(b"slack-helpdesk-secret", &stale, &body)),
        ("x-slack-request-timestamp", stale),
    ];
    assert_eq!(post(&s, "/v1/demo/helpdesk/slack", &old, body).await.0, StatusCode::UNAUTHORIZED, "a replay");
    let ts = chrono::Utc::now().timestamp().to_string();
    let signed = [
        ("x-slack-signature", slack::signature(b"slack-helpdesk-secret", &ts, b"{oops")),
        ("x-slack-request-timestamp", ts),
    ];
    assert_eq!(post(&s, "/v1/demo/helpdesk/slack", &signed, b"{oops".to_vec()).await.0, StatusCode::BAD_REQUEST);

    // The escalation's message: the first post answers after the client gave up; the retry
    // finds it by its metadata in the channel's history instead of posting twice.
    desk.set_faults(Faults { slow: Some((1, Duration::from_secs(2))), ..Faults::default() });
    customer_says(&s, 1, "I want to speak to a human, this is urgent!").await;
    escalate_until_drained(&s).await;
    let tickets = desk.tickets();
    assert_eq!(tickets.len(), 1, "one message in the channel");
    let message = &tickets[0];
    assert_eq!(message["channel"], "C0SUPPORT");
    assert_eq!(message["metadata"]["event_type"], "switchboard_escalation");
    let shown = message["blocks"].to_string();
    assert!(shown.contains("Intent: human_agent") && shown.contains("this is urgent"), "{shown}");
    assert!(shown.contains("Priority: high"), "urgency raises the priority: {shown}");
    assert!(shown.contains("!solved"), "agents are told how to answer: {shown}");
    assert!(
        desk.calls()
            .iter()
            .any(|c| c.uri.contains("/api/conversations.history?") && c.uri.contains("include_all_metadata=true"))
    );
    let thread = slack_ts(1001);

    // The customer writes again: a reply in the thread, escaped so it cannot ping the channel.
    customer_says(&s, 2, "Order 1234 <!channel>").await;
    assert_eq!(telegram_texts(&provider).len(), 1, "no bot answer while a human owns it");
    s.run_escalation().await;
    let comment = desk
        .calls()
        .into_iter()
        .find(|c| c.uri.ends_with("/chat.postMessage") && c.body["thread_ts"] == thread.as_str())
        .expect("a reply in the ticket's thread");
    assert_eq!(comment.body["text"], "The customer wrote:\nOrder 1234 &lt;!channel&gt;");
    assert_eq!(desk.tickets().len(), 1);

    // Our own post and an internal note come back as events: neither reaches the customer.
    let ours = json!({"type": "message", "channel": "C0SUPPORT", "bot_id": "B0SWITCH", "text": "The customer wrote: …",
                      "ts": "1795601900.000200", "thread_ts": thread});
    assert_eq!(slack_signed(&s, slack_event("Ev01", ours), None).await.0, StatusCode::OK);
    let note = json!({"type": "message", "channel": "C0SUPPORT", "user": "U0MARTA", "text": "!note checking the warehouse",
                      "ts": "1795601901.000300", "thread_ts": thread});
    assert_eq!(slack_signed(&s, slack_event("Ev02", note), None).await.0, StatusCode::OK);
    assert_eq!(s.aws.depth(&s.messages.url).await, 0, "nothing queued for the customer");

    // The agent replies in the thread; Slack's retry of the same event is harmless.
    let reply = json!({"type": "message", "channel": "C0SUPPORT", "user": "U0MARTA", "client_msg_id": "m1",
                       "text": "Hi Ana, it ships today &amp; tracking is <https://t.example/1234|here>",
                       "ts": "1795601902.000400", "thread_ts": thread});
    assert_eq!(slack_signed(&s, slack_event("Ev03", reply.clone()), None).await.0, StatusCode::OK);
    assert_eq!(slack_signed(&s, slack_event("Ev03", reply), Some(1)).await.0, StatusCode::OK);
    s.run_responder().await;
    let texts = telegram_texts(&provider);
    assert_eq!(texts.last().unwrap(), "Hi Ana, it ships today & tracking is here (https://t.example/1234)");
    assert_eq!(texts.len(), 2, "delivered once: {texts:?}");

    // ✅ on the escalation's message: solved, the bot answers again.
    let done = json!({"type": "reaction_added", "user": "U0MARTA", "reaction": "white_check_mark",
                      "item": {"type": "message", "channel": "C0SUPPORT", "ts": thread}, "event_ts": "1795601903.000500"});
    assert_eq!(slack_signed(&s, slack_event("Ev04", done), None).await.0, StatusCode::OK);
    s.run_responder().await;
    customer_says(&s, 3, "What are your opening hours?").await;
    assert!(telegram_texts(&provider).last().unwrap().contains("Monday"), "{:?}", telegram_texts(&provider));

    // Slack refuses for good (the app is not in the channel): parked with the reason.
    desk.set_faults(Faults { refuse: true, ..Faults::default() });
    let s = with_helpdesk(&provider, slack_section(&desk.url)).await;
    customer_says(&s, 1, "I want to speak to a human").await;
    assert_eq!(s.run_escalation().await, 1);
    let parked = switchboard::adapters::aws::dead_letters(&s.aws.clients.sqs, &s.escalations.dlq_url).await.unwrap();
    assert_eq!(parked.len(), 1);
    assert!(parked[0].error.as_deref().unwrap_or_default().contains("not_in_channel"), "{parked:?}");
}
