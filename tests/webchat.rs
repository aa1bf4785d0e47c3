//! The web chat API end to end over real HTTP on the embedded default: POST, queue, responder,
//! escalation desk, long poll.

use reqwest::StatusCode;
use serde_json::{Value, json};
use switchboard::Tenant;
use switchboard::channels::webchat::{Identity, sign_identity};
use switchboard::tenant::Secret;
use switchboard_tests::{TestServer, texts};

const SECRET: &str = "demo-identity-secret-change-me";

fn identity(customer: &str) -> serde_json::Value {
    switchboard_tests::signed_identity(SECRET, customer)
}

#[tokio::test]
async fn a_question_is_answered_through_the_http_api() {
    let server = TestServer::start().await;
    let (status, ack) = server
        .post("demo", json!({"visitor_id": "v_1", "client_message_id": "w_1", "text": "What are your opening hours?"}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{ack}");
    let conversation = ack["conversation_id"].as_str().unwrap();
    assert!(ack["message_id"].as_str().unwrap().starts_with("m_"));

    let messages = server.messages_until(conversation, 2).await;
    assert_eq!(messages[0]["role"], "customer");
    assert_eq!(messages[0]["text"], "What are your opening hours?");
    assert_eq!(messages[0]["id"], ack["message_id"]);
    assert_eq!(messages[1]["role"], "bot");
    assert!(messages[1]["text"].as_str().unwrap().contains("Monday to Friday"), "{}", messages[1]);

    // The cursor resumes after what was seen: nothing new, same cursor back.
    let (_, page) = server.get("demo", conversation, "wait=0").await;
    let cursor = page["cursor"].as_str().unwrap().to_string();
    let (status, page) = server.get("demo", conversation, &format!("wait=0&after={cursor}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["messages"].as_array().unwrap().len(), 0);
    assert_eq!(page["cursor"], cursor.as_str());
    assert_eq!(page["state"], "bot");
}

#[tokio::test]
async fn a_conversation_continues_and_follows_the_customers_language() {
    let server = TestServer::start().await;
    let conversation = server.say("v_2", None, "How long does shipping take?").await;
    let again = server.say("v_2", Some(&conversation), "¿Y cuánto tarda el envío a Canarias?").await;
    assert_eq!(again, conversation);
    let messages = server.messages_until(&conversation, 4).await;
    let bot = texts(&messages, "bot");
    assert!(bot[0].contains("business days"), "{bot:?}");
    assert!(bot[1].contains("días laborables"), "answered in Spanish from the Spanish FAQ: {bot:?}");
}

#[tokio::test]
async fn the_same_client_message_twice_is_one_message_answered_once() {
    let server = TestServer::start().await;
    let body = json!({"visitor_id": "v_3", "client_message_id": "w_dup", "text": "Where is my order?"});
    let (s1, first) = server.post("demo", body.clone()).await;
    let (s2, second) = server.post("demo", body.clone()).await;
    assert_eq!((s1, s2), (StatusCode::ACCEPTED, StatusCode::ACCEPTED));
    assert_eq!(first, second, "a repeat gets the first ack");
    server.settle(1).await;
    let (s3, third) = server.post("demo", body).await;
    assert_eq!((s3, &third), (StatusCode::ACCEPTED, &first), "also after it was answered");
    server.settle(1).await;

    let messages = server.messages_until(first["conversation_id"].as_str().unwrap(), 2).await;
    assert_eq!(texts(&messages, "customer").len(), 1);
    assert_eq!(texts(&messages, "bot").len(), 1);
    assert_eq!(server.handled(), 1, "the responder ran once");
}

#[tokio::test]
async fn malformed_json_is_400_and_stores_nothing() {
    let server = TestServer::start().await;
    for body in [
        "{\"visitor_id\": \"v\", \"text\": ",
        "[]",
        "not json",
        "{\"text\": \"hi\"}",
        "{\"visitor_id\": 5, \"text\": \"hi\"}",
    ] {
        let (status, error) = server.post_raw("demo", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(error["error"]["code"], "malformed_json", "{body}");
    }
    let (status, error) = server.post("demo", json!({"visitor_id": "v", "text": "hi", "extra": 1})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error["error"]["message"].as_str().unwrap().contains("unknown field"), "{error}");
    let (status, error) = server.post("demo", json!({"visitor_id": "v w", "text": "hi"})).await;
    assert_eq!((status, error["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_request")));
    let (status, _) = server.post("demo", json!({"visitor_id": "v", "text": "   "})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(server.app.conversations.is_empty() && server.app.idempotency.is_empty());
}

#[tokio::test]
async fn oversize_text_and_bodies_are_413() {
    let server = TestServer::start().await;
    let (status, error) = server.post("demo", json!({"visitor_id": "v", "text": "a".repeat(2001)})).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error["error"]["code"], "text_too_long");
    let (status, _) = server.post("demo", json!({"visitor_id": "v", "text": "ä".repeat(2000)})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "the limit counts characters, not bytes");
    let (status, error) =
        server.post_raw("demo", format!("{{\"visitor_id\":\"v\",\"text\":\"{}\"}}", "a".repeat(70_000))).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error["error"]["code"], "body_too_large");
    server.settle(1).await;
    assert_eq!(server.app.conversations.len(), 1, "only the accepted message stored anything");
}

#[tokio::test]
async fn unknown_tenants_are_404() {
    let server = TestServer::start().await;
    for tenant in ["acme", "Not-A-Tenant", "x%20y"] {
        let (status, error) = server.post(tenant, json!({"visitor_id": "v", "text": "hi"})).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{tenant}");
        assert_eq!(error["error"]["code"], "unknown_tenant");
        let (status, _) = server.get(tenant, "c_1", "").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let (status, error) = server.get("demo", "c_missing", "").await;
    assert_eq!((status, error["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    assert!(server.app.conversations.is_empty() && server.app.idempotency.is_empty());
}

#[tokio::test]
async fn a_tenant_without_the_web_chat_is_404() {
    let yaml = switchboard::tenant::DEMO_TENANT_YAML
        .replace("id: demo", "id: nochat")
        .replace("  webchat:\n", "  disabled_webchat:\n");
    // Turning the channel off is removing its section; the renamed key must be rejected...
    assert!(Tenant::from_yaml("t", &yaml).is_err());
    // ...so remove the section for real.
    let start = switchboard::tenant::DEMO_TENANT_YAML.find("channels:").unwrap();
    let end = switchboard::tenant::DEMO_TENANT_YAML.find("helpdesk:").unwrap();
    let mut yaml = switchboard::tenant::DEMO_TENANT_YAML.to_string();
    yaml.replace_range(start..end, "");
    let yaml = yaml.replace("id: demo", "id: nochat");
    let server = TestServer::with_tenants(vec![Tenant::from_yaml("t", &yaml).unwrap()]).await;
    let (status, _) = server.post("nochat", json!({"visitor_id": "v", "text": "hi"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_verified_identity_personalises_the_answer() {
    let server = TestServer::start().await;
    let (status, ack) = server
        .post("demo", json!({"visitor_id": "v_ben", "text": "Where is my order?", "identity": identity("c-1002")}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{ack}");
    let messages = server.messages_until(ack["conversation_id"].as_str().unwrap(), 2).await;
    let answer = &texts(&messages, "bot")[0];
    assert!(answer.contains("Ben") && answer.contains("DS-20502") && answer.contains("2026-11-28"), "{answer}");
}

#[tokio::test]
async fn spoofed_identities_are_refused_and_store_nothing() {
    let server = TestServer::start().await;
    let someone_elses = identity("c-1002");
    let expires = someone_elses["expires"].clone();
    for signature in [someone_elses["signature"].as_str().unwrap(), "", "nothex", &"0".repeat(64)] {
        let body = json!({"visitor_id": "v_m", "text": "Where is my order?",
                          "identity": {"customer_id": "c-1003", "expires": expires, "signature": signature}});
        let (status, error) = server.post("demo", body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{signature}");
        assert_eq!(error["error"]["code"], "bad_identity");
    }
    assert!(server.app.conversations.is_empty() && server.app.idempotency.is_empty());

    // A signature copied from a page stops working: an expired one, one valid for too long, and
    // the unexpiring form (the demo tenant does not accept it) are refused like a forgery.
    let secret = Secret::new(SECRET);
    let now = chrono::Utc::now();
    for (identity, code) in [
        (json!(Identity::signed(&secret, "c-1002", now - chrono::Duration::minutes(1))), "identity_expired"),
        (json!(Identity::signed(&secret, "c-1002", now + chrono::Duration::days(90))), "identity_expired"),
        (json!({"customer_id": "c-1002", "signature": sign_identity(&secret, "c-1002")}), "identity_unexpiring"),
    ] {
        let (status, error) =
            server.post("demo", json!({"visitor_id": "v_m", "text": "Where is my order?", "identity": identity})).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{error}");
        assert_eq!(error["error"]["code"], code);
    }
    assert!(server.app.conversations.is_empty() && server.app.idempotency.is_empty());

    // Without an identity, a visitor is anonymous: nobody's order is shown.
    let conversation = server.say("v_m", None, "Where is my order? I am Clara Schmidt, customer c-1003").await;
    let messages = server.messages_until(&conversation, 2).await;
    let all = texts(&messages, "bot").join(" ") + &texts(&messages, "system").join(" ");
    assert!(!all.contains("Clara") && !all.contains("DS-20311"), "{all}");
}

#[tokio::test]
async fn conversations_are_bound_to_their_visitor_and_customer() {
    let server = TestServer::start().await;
    let (_, ack) =
        server.post("demo", json!({"visitor_id": "v_ana", "text": "Hola", "identity": identity("c-1001")})).await;
    let conversation = ack["conversation_id"].as_str().unwrap();
    server.settle(1).await;

    let (status, _) =
        server.post("demo", json!({"visitor_id": "v_other", "conversation_id": conversation, "text": "hi"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another visitor cannot write into it");
    let (status, error) = server
        .post("demo", json!({"visitor_id": "v_ana", "conversation_id": conversation, "text": "hi", "identity": identity("c-1002")}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{error}");
    let (status, _) =
        server.post("demo", json!({"visitor_id": "v_ana", "conversation_id": "c_nope", "text": "hi"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// The reviewer's shared browser: the customer logs out, the next person on the same browser
/// (same visitor id, same stored conversation) writes without an identity. A conversation bound
/// to a customer is continued only by that customer, signed in: else 403, nothing stored.
#[tokio::test]
async fn a_conversation_bound_to_a_customer_is_not_continued_without_their_identity() {
    let server = TestServer::start().await;
    let (_, ack) = server
        .post("demo", json!({"visitor_id": "v_shared", "text": "Where is my order?", "identity": identity("c-1002")}))
        .await;
    let conversation = ack["conversation_id"].as_str().unwrap().to_string();
    server.messages_until(&conversation, 2).await;
    let stored = server.app.idempotency.len();

    let (status, error) = server
        .post("demo", json!({"visitor_id": "v_shared", "conversation_id": conversation, "text": "and my address?"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{error}");
    assert_eq!(error["error"]["code"], "forbidden");
    assert!(error.get("token").is_none() && error.get("conversation_id").is_none(), "no read token: {error}");
    assert_eq!(server.app.idempotency.len(), stored, "nothing stored");

    // The customer, signed in again, continues it.
    let (status, again) = server
        .post("demo", json!({"visitor_id": "v_shared", "conversation_id": conversation, "text": "thanks", "identity": identity("c-1002")}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{again}");
    assert_eq!(again["conversation_id"], conversation.as_str());
}

#[tokio::test]
async fn asking_for_a_human_escalates_and_silences_the_bot() {
    let server = TestServer::start().await;
    let conversation = server.say("v_h", None, "I want to talk to a human please").await;
    let messages = server.messages_until(&conversation, 2).await;
    assert_eq!(messages[1]["role"], "system");
    assert!(messages[1]["text"].as_str().unwrap().contains("a person will reply"), "{}", messages[1]);

    server.settle(1).await;
    let tickets = server.app.helpdesk.tickets();
    assert_eq!(tickets.len(), 1);
    let escalation = &tickets[0].1;
    assert_eq!(escalation.conversation.as_str(), conversation);
    assert!(escalation.reasons.contains(&switchboard::Reason::HumanRequested), "{:?}", escalation.reasons);
    assert_eq!(escalation.transcript.last().unwrap().text, "I want to talk to a human please");
    let (_, page) = server.get("demo", &conversation, "wait=0").await;
    assert_eq!(page["state"], "human");

    // While a human owns it the bot stays quiet, but the message is kept for the agent.
    server.say("v_h", Some(&conversation), "What are your opening hours?").await;
    server.settle(2).await;
    let (_, page) = server.get("demo", &conversation, "wait=0").await;
    let messages = page["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 3);
    assert_eq!(messages[2]["role"], "customer");
    let decisions: Vec<Option<String>> =
        server.app.ledger.all().into_iter().filter(|r| r.outcome.message).map(|r| r.outcome.decision).collect();
    assert!(decisions.contains(&Some("silent".to_string())), "{decisions:?}");
    assert_eq!(server.app.helpdesk.tickets().len(), 1, "no second ticket");
}

#[tokio::test]
async fn an_angry_customer_gets_the_answer_and_a_human() {
    let server = TestServer::start().await;
    let conversation = server.say("v_a", None, "This is terrible!! Where is my order, I am furious").await;
    let messages = server.messages_until(&conversation, 3).await;
    assert_eq!(messages[1]["role"], "bot", "answered...");
    assert_eq!(messages[2]["role"], "system", "...and handed over");
    server.settle(1).await;
    let tickets = server.app.helpdesk.tickets();
    assert_eq!(tickets.len(), 1);
    assert_eq!(tickets[0].1.priority, switchboard::Priority::High);
}

#[tokio::test]
async fn a_queue_outage_is_503_and_the_retry_succeeds() {
    let server = TestServer::start().await;
    server.app.messages.set_down(true);
    let body = json!({"visitor_id": "v_q", "client_message_id": "w_q", "text": "Where is my order?"});
    let response = reqwest::Client::new()
        .post(format!("{}/v1/demo/webchat/messages", server.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["retry-after"], "2");
    let error: serde_json::Value = response.json().await.unwrap();
    assert_eq!(error["error"]["code"], "queue_unavailable");
    assert!(server.app.conversations.is_empty(), "the new conversation was rolled back");
    assert!(server.app.idempotency.is_empty(), "the claim was released");

    server.app.messages.set_down(false);
    let (status, ack) = server.post("demo", body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{ack}");
    let messages = server.messages_until(ack["conversation_id"].as_str().unwrap(), 2).await;
    assert_eq!(texts(&messages, "bot").len(), 1);
}

#[tokio::test]
async fn bad_poll_parameters_are_400() {
    let server = TestServer::start().await;
    let conversation = server.say("v_p", None, "Hi").await;
    for query in ["wait=21", "wait=-1", "wait=soon", "after=garbage", "after=123-m_1", "after=0000000000123-bad%23id"] {
        let (status, error) = server.get("demo", &conversation, query).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {error}");
    }
}

#[tokio::test]
async fn unknown_routes_and_methods_are_refused() {
    let server = TestServer::start().await;
    let response = reqwest::get(format!("{}/v2/nothing", server.base)).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = reqwest::get(format!("{}/v1/demo/webchat/messages", server.base)).await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn an_agent_answers_while_the_bot_is_quiet_and_solving_the_ticket_hands_back_to_the_bot() {
    let server = TestServer::start().await;
    let conversation = server.say("v_agent", None, "I want to talk to a human").await;
    server.messages_until(&conversation, 2).await;
    server.settle(1).await;
    let local = |path: &str| format!("{}/local/conversations/demo/{conversation}/{path}", server.base);
    let client = reqwest::Client::new();

    let response = client
        .post(local("agent-reply"))
        .json(&json!({"text": "Hi, this is Marta. Let me check."}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED, "queued for the responder, like a helpdesk callback");
    let messages = server.messages_until(&conversation, 3).await;
    assert_eq!(
        (messages[2]["role"].as_str(), messages[2]["text"].as_str()),
        (Some("agent"), Some("Hi, this is Marta. Let me check."))
    );

    let response = client.post(local("release")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let mut state = Value::Null;
    for _ in 0..40 {
        state = server.get("demo", &conversation, "wait=0").await.1["state"].clone();
        if state == "bot" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(state, "bot", "solving the ticket hands the conversation back");
    server.say("v_agent", Some(&conversation), "What are your opening hours?").await;
    let messages = server.messages_until(&conversation, 5).await;
    assert_eq!(messages[4]["role"], "bot", "the bot answers again");

    let response = client.post(local("agent-reply")).json(&json!({"text": "late"})).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CONFLICT, "no agent replies into a bot-owned conversation");
    let response = client.post(local("agent-reply")).json(&json!({"text": " "})).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let missing = format!("{}/local/conversations/demo/c_missing/release", server.base);
    assert_eq!(client.post(missing).send().await.unwrap().status(), StatusCode::NOT_FOUND);
}

/// A conversation is read with the token its POST returned, and only with that.
#[tokio::test]
async fn reading_a_conversation_needs_its_token() {
    let server = TestServer::start().await;
    let (status, ack) =
        server.post("demo", json!({"visitor_id": "v_tok", "client_message_id": "w_tok", "text": "Hello"})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{ack}");
    let conversation = ack["conversation_id"].as_str().unwrap().to_string();

    // Knowing the id is not enough.
    let (status, body) = server.get_with_token("demo", &conversation, "wait=0", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no token: {body}");
    assert_eq!(body["error"]["code"], "not_found");

    let token = ack["token"].as_str().expect("the 202 carries a read token").to_string();
    assert!(token.len() >= 40, "an opaque credential: {token}");
    let (status, _) = server.get_with_token("demo", &conversation, "wait=0", Some(&token)).await;
    assert_eq!(status, StatusCode::OK);

    // A repeated POST (same client message id) returns the same token.
    let (_, again) =
        server.post("demo", json!({"visitor_id": "v_tok", "client_message_id": "w_tok", "text": "Hello"})).await;
    assert_eq!(again["token"], ack["token"]);

    // Another conversation's token, a tampered token, a token in the wrong scheme: all look
    // exactly like a missing conversation.
    let (_, other) = server.post("demo", json!({"visitor_id": "v_other", "text": "Hi"})).await;
    let other_token = other["token"].as_str().unwrap().to_string();
    let mut tampered = token.clone().into_bytes();
    let last = tampered.len() - 1;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let (missing_status, missing) =
        server.get_with_token("demo", "c_00000000000000000000000000000000", "", Some(&token)).await;
    assert_eq!(missing_status, StatusCode::NOT_FOUND);
    for wrong in [other_token.as_str(), tampered.as_str(), "", "x"] {
        let (status, body) = server.get_with_token("demo", &conversation, "wait=0", Some(wrong)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "token {wrong:?}: {body}");
        assert_eq!(body, missing, "indistinguishable from a missing conversation");
    }
    let url = format!("{}/v1/demo/webchat/conversations/{conversation}/messages", server.base);
    let basic = reqwest::Client::new().get(url).header("authorization", format!("Basic {token}")).send().await.unwrap();
    assert_eq!(basic.status(), StatusCode::NOT_FOUND, "only the Bearer scheme");
}

/// A token is bound to its tenant: the same conversation id under another tenant is not readable.
#[tokio::test]
async fn a_token_does_not_cross_tenants() {
    let other =
        Tenant::from_yaml("other.yaml", &switchboard::tenant::DEMO_TENANT_YAML.replace("id: demo", "id: other"))
            .expect("second tenant compiles");
    let server = TestServer::with_tenants(vec![Tenant::demo().unwrap(), other]).await;
    let (_, ack) = server.post("demo", json!({"visitor_id": "v_x", "text": "Hello"})).await;
    let conversation = ack["conversation_id"].as_str().unwrap();
    let token = ack["token"].as_str().unwrap_or("none");
    let (status, _) = server.get_with_token("other", conversation, "wait=0", Some(token)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// Reproduces the outside review's finding: knowing the tenant and a customer's phone number,
/// anyone could compute the SMS conversation's id and read the transcript through the web chat.
#[tokio::test]
async fn an_sms_conversation_cannot_be_read_through_the_web_chat() {
    use sha2::Digest;
    let server = TestServer::start().await;
    let phone = "+34600111222";
    let (body, signature) =
        switchboard_tests::stack::signed_sms("SM0000000000000000000000000000beef", phone, "Where is my order?");
    let response = reqwest::Client::new()
        .post(format!("{}/v1/demo/twilio", server.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-twilio-signature", signature)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    server.settle(1).await;
    let sent = server.app.outbox.sent();
    let real = sent.first().map(|(c, _)| c.clone()).expect("the SMS was answered");

    // What an outsider computes from public facts.
    let digest = sha2::Sha256::digest(format!("demo\ntwilio_sms\n{phone}").as_bytes());
    let guessed = format!("c_twiliosms_{}", &hex::encode(digest)[..32]);
    let (status, body) = server.get_with_token("demo", &guessed, "wait=0", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the transcript leaked: {body}");
    assert_ne!(guessed, real, "channel conversation ids are keyed, not computable");

    // Even the real id, with a web chat token of another conversation, reads nothing.
    let (_, ack) = server.post("demo", json!({"visitor_id": "v_attacker", "text": "Hi"})).await;
    for token in [None, ack["token"].as_str()] {
        let (status, body) = server.get_with_token("demo", &real, "wait=0", token).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    }
}
