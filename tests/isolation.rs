//! Tenant isolation: two tenants on one deployment (DynamoDB Local, moto), every route and every
//! store. One tenant's credentials, ids, tokens and callbacks never reach the other's data —
//! and the same request with the right tenant's credentials works, so each refusal is the
//! isolation and not a broken request. The key builders' property tests are in
//! `core/src/keys.rs`.

use reqwest::StatusCode;
use serde_json::{Value, json};
use switchboard::channels::{slack, twilio, whatsapp};
use switchboard::domain::{ConversationId, TenantId};
use switchboard::ports::{ConversationStore, CustomerStore};
use switchboard_tests::helpdesk::FakeHelpdesk;
use switchboard_tests::provider::FakeProvider;
use switchboard_tests::signed_identity;
use switchboard_tests::stack::{IDENTITY_SECRET, Options, Stack, stack};

const URL: &str = "https://abc123.execute-api.eu-west-1.amazonaws.com/v1";

async fn two_tenants(provider: &FakeProvider, helpdesk: Option<&FakeHelpdesk>) -> Stack {
    stack(Options {
        providers: Some(provider.url.clone()),
        helpdesk: helpdesk.map(|d| format!("  kind: webhook\n  url: {}/hook\n  secret: demo-helpdesk-secret", d.url)),
        rival: true,
        ..Options::default()
    })
    .await
}

fn sms(sid: &str, text: &str) -> Vec<(String, String)> {
    [("MessageSid", sid), ("From", "+34600111222"), ("To", "+15550001111"), ("Body", text), ("NumMedia", "0")]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// A provider's request: channel, path, headers, body.
type Request = (&'static str, String, Vec<(&'static str, String)>, Vec<u8>);

/// A request each channel would send to `tenant`, signed with the secrets of `signer`.
fn signed_requests(tenant: &str, signer: &str, n: u32) -> Vec<Request> {
    let secret = |name: &str| format!("{signer}-{name}");
    let params = sms(&format!("SM{signer}{n:030}"), "What are your opening hours?");
    let twilio_sig =
        twilio::signature(secret("twilio-auth-token").as_bytes(), &format!("{URL}/{tenant}/twilio"), &params);
    let telegram = json!({"update_id": n, "message": {"message_id": n, "chat": {"id": 1111111, "type": "private"},
        "from": {"id": 1111111, "is_bot": false, "first_name": "Ana"}, "date": chrono::Utc::now().timestamp(), "text": "Hello"}});
    let wa = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages",
        "value": {"messaging_product": "whatsapp", "metadata": {"phone_number_id": "106540352242922"},
        "messages": [{"from": "34600111222", "id": format!("wamid.{signer}{n}"),
        "timestamp": chrono::Utc::now().timestamp().to_string(), "type": "text", "text": {"body": "Hello"}}]}}]}]})
    .to_string();
    let ts = chrono::Utc::now().timestamp().to_string();
    let slack_body =
        json!({"type": "event_callback", "event_id": format!("Ev{signer}{n}"), "event": {"type": "message",
        "channel": "C1", "user": "U1", "text": "Hello", "ts": format!("{n}.1")}})
        .to_string();
    let mail =
        json!({"MessageID": format!("{signer}-{n}"), "From": "ben@example.com", "TextBody": "Hello"}).to_string();
    use base64::Engine;
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("postmark:{}", secret("postmark-inbound-password")));
    vec![
        (
            "twilio",
            format!("/v1/{tenant}/twilio"),
            vec![("x-twilio-signature", twilio_sig)],
            serde_urlencoded::to_string(&params).unwrap().into_bytes(),
        ),
        (
            "telegram",
            format!("/v1/{tenant}/telegram"),
            vec![("x-telegram-bot-api-secret-token", secret("telegram-secret"))],
            telegram.to_string().into_bytes(),
        ),
        (
            "whatsapp",
            format!("/v1/{tenant}/whatsapp"),
            vec![("x-hub-signature-256", whatsapp::signature(secret("whatsapp-app-secret").as_bytes(), wa.as_bytes()))],
            wa.into_bytes(),
        ),
        (
            "slack",
            format!("/v1/{tenant}/slack"),
            vec![
                ("x-slack-request-timestamp", ts.clone()),
                (
                    "x-slack-signature",
                    slack::signature(secret("slack-signing-secret").as_bytes(), &ts, slack_body.as_bytes()),
                ),
            ],
            slack_body.into_bytes(),
        ),
        ("email", format!("/v1/{tenant}/email"), vec![("authorization", format!("Basic {basic}"))], mail.into_bytes()),
    ]
}

/// Posts `params` to `tenant`'s Twilio route, signed with its own token.
async fn signed_sms(s: &Stack, tenant: &str, params: &[(String, String)]) -> StatusCode {
    let token = format!("{tenant}-twilio-auth-token");
    let signature = twilio::signature(token.as_bytes(), &format!("{URL}/{tenant}/twilio"), params);
    let body = serde_urlencoded::to_string(params).unwrap().into_bytes();
    send(s, &format!("/v1/{tenant}/twilio"), &[("x-twilio-signature", signature)], body).await
}

async fn send(s: &Stack, path: &str, headers: &[(&'static str, String)], body: Vec<u8>) -> StatusCode {
    let content_type = if path.ends_with("/twilio") { "application/x-www-form-urlencoded" } else { "application/json" };
    s.post_raw(path, content_type, headers, body).await.0
}

#[tokio::test]
async fn one_tenants_credentials_open_no_route_of_another() {
    let provider = FakeProvider::start(0).await;
    let s = two_tenants(&provider, None).await;
    for (channel, path, headers, body) in signed_requests("rival", "demo", 1) {
        assert_eq!(
            send(&s, &path, &headers, body).await,
            StatusCode::UNAUTHORIZED,
            "{channel}: demo's secret at rival's route"
        );
    }
    assert_eq!(s.aws.depth(&s.messages.url).await, 0, "a refused request queues nothing");
    for (channel, path, headers, body) in signed_requests("rival", "rival", 2) {
        assert!(send(&s, &path, &headers, body).await.is_success(), "{channel}: rival's own secret is accepted");
    }
    assert_eq!(s.aws.depth(&s.messages.url).await, 5, "one message per channel, all rival's");

    // The web chat: a customer identity signed with demo's secret proves nothing to rival.
    let demo_signed = signed_identity(IDENTITY_SECRET, "c-1001");
    let post =
        |identity: serde_json::Value| json!({"visitor_id": "v_1", "text": "Where is my order?", "identity": identity});
    let (status, body) = s.call("POST", "/v1/rival/webchat/messages", Some(post(demo_signed))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let rival_signed = signed_identity("rival-identity-secret", "c-1001");
    let (status, body) = s.call("POST", "/v1/rival/webchat/messages", Some(post(rival_signed))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
}

/// One tenant's provider down must not hold back another tenant's messages: both conversations
/// in one FIFO batch, demo's answer refused by the provider every time, rival's answered in the
/// same batch (on the old code it was handed back behind demo's failure, batch after batch,
/// until the redrive policy parked it); demo's message waits in the queue, nothing parked.
#[tokio::test]
async fn one_tenants_provider_outage_does_not_hold_back_another_tenants_messages() {
    let provider = FakeProvider::start(0).await;
    let s = two_tenants(&provider, None).await;
    provider.set_faults(switchboard_tests::provider::SendFaults {
        fail_containing: Some(("Monday".into(), u32::MAX)),
        ..Default::default()
    });
    for (tenant, text) in [("demo", "What are your opening hours?"), ("rival", "Which payment methods do you accept?")]
    {
        assert_eq!(signed_sms(&s, tenant, &sms(&format!("SM{tenant:0>32}"), text)).await, 200);
    }
    let (event, _) = s.aws.receive_event(&s.messages.url).await;
    assert_eq!(event.records.len(), 2, "one batch holds both conversations");
    let response = s.respond_batch_until(event, std::time::Duration::from_secs(60)).await;
    assert_eq!(response.batch_item_failures.len(), 1, "demo's record alone is handed back");
    let answered: Vec<String> =
        provider.accepted().iter().map(|r| r.headers["authorization"].to_str().unwrap().to_string()).collect();
    use base64::Engine;
    let rival = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("AC00000000000000000000000000000000:rival-twilio-auth-token")
    );
    assert_eq!(answered, vec![rival], "rival's customer is answered in the same batch");
    assert_eq!(s.aws.depth(&s.messages.dlq_url).await, 0, "nothing parked");
}

#[tokio::test]
async fn one_phone_is_each_tenants_own_customer_and_one_message_id_is_two_messages() {
    let provider = FakeProvider::start(0).await;
    let s = two_tenants(&provider, None).await;
    // Twilio's ids are unique, but the claim must not rest on that: the same id, two tenants.
    let params = sms("SM0000000000000000000000000000c0de", "Where is my order?");
    for tenant in ["demo", "rival"] {
        assert_eq!(signed_sms(&s, tenant, &params).await, 200);
    }
    assert_eq!(s.aws.depth(&s.messages.url).await, 2, "not de-duplicated across tenants");
    while s.aws.depth(&s.messages.url).await > 0 {
        s.run_responder().await;
    }
    let answers: Vec<(String, String)> = provider
        .accepted()
        .iter()
        .map(|r| {
            let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&r.body).unwrap();
            let text = form.iter().find(|(k, _)| k == "Body").map(|(_, v)| v.clone()).unwrap_or_default();
            (r.headers["authorization"].to_str().unwrap().to_string(), text)
        })
        .collect();
    assert_eq!(answers.len(), 2, "{answers:?}");
    use base64::Engine;
    let auth = |t: &str| {
        let credentials = format!("AC00000000000000000000000000000000:{t}-twilio-auth-token");
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(credentials))
    };
    let of = |t: &str| answers.iter().find(|(a, _)| *a == auth(t)).map(|(_, text)| text.clone()).expect("an answer");
    let (demo, rival) = (of("demo"), of("rival"));
    assert!(demo.contains("Ana") && demo.contains("DS-20417") && !demo.contains("RV-"), "demo answered: {demo}");
    assert!(rival.contains("Rosa") && rival.contains("RV-20417") && !rival.contains("DS-"), "rival answered: {rival}");

    // The stores agree: each tenant's profile under each tenant's key.
    let customers = switchboard::adapters::aws::DynamoCustomers::new(switchboard::adapters::aws::Table::new(
        s.aws.clients.dynamodb.clone(),
        &s.aws.table,
    ));
    for (tenant, name) in [("demo", "Ana García"), ("rival", "Rosa Rival")] {
        let t = TenantId::new(tenant).unwrap();
        let id = customers.customer_for(&t, "phone:+34600111222").await.unwrap().expect("a customer");
        assert_eq!(customers.customer(&t, &id).await.unwrap().expect("a profile").name, name);
    }
}

#[tokio::test]
async fn a_conversation_of_one_tenant_cannot_be_read_or_continued_through_another() {
    let provider = FakeProvider::start(0).await;
    let s = two_tenants(&provider, None).await;
    let (status, ack) = s.post(json!({"visitor_id": "v_same", "text": "Hello"})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{ack}");
    let id = ack["conversation_id"].as_str().unwrap().to_string();
    // Demo's token, demo's conversation id, rival's route: nothing there.
    let (status, body) = s.call("GET", &format!("/v1/rival/webchat/conversations/{id}/messages?wait=0"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    // Continuing demo's conversation at rival is a missing conversation, not a write.
    let (status, body) = s
        .call(
            "POST",
            "/v1/rival/webchat/messages",
            Some(json!({"visitor_id": "v_same", "conversation_id": id, "text": "Hi"})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    // The same visitor id at rival starts rival's own conversation.
    let (status, rival_ack) =
        s.call("POST", "/v1/rival/webchat/messages", Some(json!({"visitor_id": "v_same", "text": "Hi"}))).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_ne!(rival_ack["conversation_id"], ack["conversation_id"]);

    let conversations = switchboard::adapters::aws::DynamoConversations::new(switchboard::adapters::aws::Table::new(
        s.aws.clients.dynamodb.clone(),
        &s.aws.table,
    ));
    let id = ConversationId::new(id).unwrap();
    assert!(conversations.conversation(&TenantId::new("demo").unwrap(), &id).await.unwrap().is_some());
    assert!(conversations.conversation(&TenantId::new("rival").unwrap(), &id).await.unwrap().is_none());
}

#[tokio::test]
async fn a_helpdesk_callback_reaches_only_its_own_tenants_tickets() {
    let provider = FakeProvider::start(0).await;
    let desk = FakeHelpdesk::start(None).await;
    let s = two_tenants(&provider, Some(&desk)).await;
    let escalate = json!({"update_id": 7, "message": {"message_id": 7, "chat": {"id": 1111111, "type": "private"},
        "from": {"id": 1111111, "is_bot": false, "first_name": "Ana"}, "date": chrono::Utc::now().timestamp(), "text": "I want to speak to a human"}});
    let secret = [("x-telegram-bot-api-secret-token", "demo-telegram-secret".to_string())];
    assert_eq!(send(&s, "/v1/demo/telegram", &secret, escalate.to_string().into_bytes()).await, 200);
    s.run_responder().await;
    s.run_escalation().await;
    let ticket = desk.calls().iter().find(|c| c.uri == "/hook").map(|_| "EXT-1001").expect("demo's ticket opened");

    let callback = |signer: &str, tenant: &str, reply: &str| {
        let body =
            json!({"event_id": format!("e-{signer}"), "ticket_id": ticket, "reply": reply}).to_string().into_bytes();
        let now = chrono::Utc::now().timestamp();
        let sig = switchboard::helpdesks::webhook::sign(format!("{signer}-helpdesk-secret").as_bytes(), now, &body);
        (
            format!("/v1/{tenant}/helpdesk/webhook"),
            vec![("x-switchboard-signature", sig), ("x-switchboard-timestamp", now.to_string())],
            body,
        )
    };
    // Demo's callback secret at rival's route; rival's own secret naming demo's ticket.
    let (path, headers, body) = callback("demo", "rival", "from demo's desk to rival");
    assert_eq!(send(&s, &path, &headers, body).await, StatusCode::UNAUTHORIZED);
    let (path, headers, body) = callback("rival", "rival", "rival's agent writes to demo's customer");
    let status = send(&s, &path, &headers, body).await;
    assert!(status.is_success() || status == StatusCode::NOT_FOUND, "{status}");
    s.run_responder().await;
    let texts: Vec<Value> = provider
        .recorded()
        .iter()
        .filter(|r| r.path.ends_with("/sendMessage"))
        .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap()["text"].clone())
        .collect();
    assert!(!texts.iter().any(|t| t.as_str().is_some_and(|t| t.contains("rival"))), "{texts:?}");
    // Demo's own desk reaches demo's customer: the ticket was real.
    let (path, headers, body) = callback("demo", "demo", "Hello from demo's desk");
    assert_eq!(send(&s, &path, &headers, body).await, StatusCode::OK);
    s.run_responder().await;
    let last =
        provider.recorded().iter().rev().find(|r| r.path.ends_with("/sendMessage")).map(|r| r.body.clone()).unwrap();
    assert!(String::from_utf8_lossy(&last).contains("Hello from demo's desk"));
}

/// API Gateway's route throttles are one bucket for every tenant: the reviewer's 25 junk web
/// chat posts a second gave every tenant's widget 429s. The limits in code are per visitor and
/// per tenant and channel, checked before anything is stored: one visitor's flood is refused for
/// that visitor, a flood of invented visitors for that tenant's web chat — its SMS still answered
/// — and a flood of its SMS for its SMS; the other tenant is answered throughout. Two inbound
/// instances share the counts through the table. Nothing refused is stored or queued.
#[tokio::test]
async fn one_visitors_or_one_tenants_flood_is_refused_for_it_alone() {
    let provider = FakeProvider::start(0).await;
    let limits = switchboard::limits::LimitSettings {
        tenant_messages_per_minute: 12,
        visitor_messages_per_minute: 4,
        data_writes_per_minute: 0,
    };
    let s = stack(Options { providers: Some(provider.url.clone()), rival: true, limits, ..Options::default() }).await;
    switchboard_tests::within_one_minute(30).await;
    let post = |router: usize, tenant: &'static str, visitor: String| {
        let s = &s;
        async move {
            let body = json!({"visitor_id": visitor, "text": "What are your opening hours?"});
            let router = if router == 0 { &s.router } else { &s.second_instance };
            let (status, body) = s.call_on(router, "POST", &format!("/v1/{tenant}/webchat/messages"), Some(body)).await;
            (status, body["error"]["code"].as_str().unwrap_or("-").to_string())
        }
    };
    let mut codes = Vec::new();
    for _ in 0..8 {
        codes.push(post(0, "demo", "v_loop".into()).await);
    }
    assert!(codes[..4].iter().all(|c| c.0 == StatusCode::ACCEPTED), "{codes:?}");
    let refused = (StatusCode::TOO_MANY_REQUESTS, "visitor_rate_limited".to_string());
    assert!(codes[4..].iter().all(|c| *c == refused), "the visitor's fifth message on is refused: {codes:?}");
    assert_eq!(post(0, "demo", "v_other".into()).await.0, StatusCode::ACCEPTED, "another visitor of the tenant");

    // Demo's web chat has had 5 of its 12; invented visitors at two instances take the rest.
    let mut webchat = 5;
    for i in 0..24 {
        let (status, code) = post(i % 2, "demo", format!("v_f{i}")).await;
        match status {
            StatusCode::ACCEPTED => webchat += 1,
            _ => assert_eq!((status, code.as_str()), (StatusCode::TOO_MANY_REQUESTS, "tenant_rate_limited")),
        }
        if i % 6 == 0 {
            assert_eq!(post(i % 2, "rival", format!("v_r{i}")).await.0, StatusCode::ACCEPTED, "rival during the flood");
        }
    }
    // Counted apart, each instance would take 12; shared, at most a share (4) past the limit each.
    assert!((12..=12 + 2 * 3).contains(&webchat), "{webchat} of demo's web chat messages admitted, limit 12");

    // The web chat flood does not touch demo's SMS; an SMS flood is refused for SMS alone.
    let mut texts = 0;
    for i in 0..16 {
        let params = sms(&format!("SMdemo{i:026}"), "Hello");
        match signed_sms(&s, "demo", &params).await {
            StatusCode::OK => texts += 1,
            status => assert_eq!(status, StatusCode::TOO_MANY_REQUESTS),
        }
    }
    assert_eq!(texts, 12, "demo's SMS limit, on one instance");
    assert_eq!(signed_sms(&s, "rival", &sms("SMrival0000000000000000000001", "Hello")).await, StatusCode::OK);

    // What was admitted was queued (rival: 4 web chat posts and an SMS); the refused left nothing.
    assert_eq!(s.aws.depth(&s.messages.url).await, webchat + texts + 5);
}
