//! The `inbound` function: API Gateway HTTP API (payload v2) → the web chat routes.
//! Verify, normalise, de-duplicate, enqueue, ack — the shared router does the work.

use switchboard::aws_app::AwsApp;
use switchboard::lambda::inbound_router;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    switchboard::cost::lambda::process_started();
    switchboard::telemetry::init_json_logs();
    // Clients and configuration once per cold start; a missing variable fails here, loudly.
    let app = AwsApp::from_env().await?;
    lambda_http::run(inbound_router(app.api().await?)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::http::StatusCode;
    use http_body_util::BodyExt;
    use serde_json::Value;
    use switchboard::Tenant;
    use switchboard::embedded::{Embedded, Options};
    use tower::ServiceExt;

    async fn app() -> Embedded {
        Embedded::start(vec![Tenant::demo().unwrap()], Options { print_escalations: false, ..Options::default() })
            .await
            .unwrap()
    }

    fn event(name: &str) -> lambda_http::Request {
        let path = format!("{}/../../events/inbound/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap();
        lambda_http::request::from_str(&fresh(&text)).unwrap()
    }

    /// The sample event as if sent now: the samples were recorded on 2026-11-25, and a signed
    /// Telegram or WhatsApp message dated more than 7 days back is a replay; an identity is
    /// signed for the next hour (WhatsApp's body signature is made again with the demo secret).
    fn fresh(text: &str) -> String {
        let mut event: Value = serde_json::from_str(text).unwrap();
        let Some(mut body) = event["body"].as_str().and_then(|b| serde_json::from_str::<Value>(b).ok()) else {
            return text.to_string();
        };
        let now = chrono::Utc::now();
        if body["message"]["date"].is_i64() {
            body["message"]["date"] = serde_json::json!(now.timestamp());
        }
        // `get_mut`, not indexing: indexing a missing key would add it.
        let entries = body.get_mut("entry").and_then(Value::as_array_mut);
        for entry in entries.into_iter().flatten() {
            for change in entry.get_mut("changes").and_then(Value::as_array_mut).into_iter().flatten() {
                let messages = change.pointer_mut("/value/messages").and_then(Value::as_array_mut);
                for m in messages.into_iter().flatten() {
                    m["timestamp"] = serde_json::json!(now.timestamp().to_string());
                }
            }
        }
        if let Some(customer) =
            body["identity"]["customer_id"].as_str().filter(|_| body["identity"]["expires"].is_null())
        {
            let secret = switchboard::tenant::Secret::new("demo-identity-secret-change-me");
            let identity =
                switchboard::channels::webchat::Identity::signed(&secret, customer, now + chrono::Duration::hours(1));
            body["identity"] = serde_json::json!(identity);
        }
        let body = body.to_string();
        if event["headers"]["x-hub-signature-256"].is_string() {
            let signature = switchboard::channels::whatsapp::signature(b"demo-whatsapp-app-secret", body.as_bytes());
            event["headers"]["x-hub-signature-256"] = serde_json::json!(signature);
        }
        event["body"] = serde_json::json!(body);
        event.to_string()
    }

    async fn call(router: &Router, request: lambda_http::Request) -> (StatusCode, Value) {
        let response = router.clone().oneshot(request.map(|b| Body::from(b.to_vec()))).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    /// Long-polls the conversation through the GET event until it has a bot message; returns
    /// all message texts, oldest first.
    async fn until_answered(router: &Router, conversation: &str, token: &str) -> Vec<(String, String)> {
        let mut get = event("webchat-get.json");
        *get.uri_mut() = format!("/v1/demo/webchat/conversations/{conversation}/messages?wait=5").parse().unwrap();
        get.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
        for _ in 0..10 {
            let (status, page) = call(router, get.clone_for_test()).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            let messages: Vec<(String, String)> = page["messages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| (m["role"].as_str().unwrap().to_string(), m["text"].as_str().unwrap().to_string()))
                .collect();
            if messages.iter().any(|(role, _)| role == "bot") {
                return messages;
            }
        }
        panic!("no answer in {conversation}");
    }

    #[tokio::test]
    async fn webchat_post_event_is_accepted_and_answered() {
        let app = app().await;
        let router = inbound_router(app.api.clone());
        let (status, ack) = call(&router, event("webchat-post.json")).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{ack}");
        let messages =
            until_answered(&router, ack["conversation_id"].as_str().unwrap(), ack["token"].as_str().unwrap()).await;
        assert_eq!(messages[0], ("customer".to_string(), "What are your opening hours?".to_string()));
        assert!(messages[1].1.contains("Monday to Friday"), "{messages:?}");
    }

    #[tokio::test]
    async fn api_gateway_request_id_reaches_the_pipeline() {
        let app = app().await;
        let router = inbound_router(app.api.clone());
        let (status, _) = call(&router, event("webchat-post.json")).await;
        assert_eq!(status, StatusCode::ACCEPTED);
        for _ in 0..100 {
            if let Some(u) = responder_records(&app).first() {
                assert_eq!(u.request_id, "req-1");
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("the responder recorded no usage");
    }

    #[tokio::test]
    async fn bad_events_get_honest_statuses() {
        let app = app().await;
        let router = inbound_router(app.api.clone());
        let (status, body) = call(&router, event("webchat-post-malformed.json")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"]["code"], "malformed_json");
        let (status, body) = call(&router, event("webchat-post-spoofed.json")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["error"]["code"], "bad_identity");
        let (status, _) = call(&router, event("webchat-get.json")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "an unknown conversation");
        assert!(app.conversations.is_empty() && app.idempotency.is_empty(), "refused requests store nothing");
    }

    #[tokio::test]
    async fn provider_events_are_verified_and_acknowledged_the_way_each_provider_expects() {
        let app = app().await;
        let router = inbound_router(app.api.clone());
        let response = router.clone().oneshot(event("twilio-sms.json").map(|b| Body::from(b.to_vec()))).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "text/xml");
        let (status, _) = call(&router, event("twilio-whatsapp.json")).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = call(&router, event("telegram-message.json")).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = call(&router, event("whatsapp-notification.json")).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = call(&router, event("email-postmark.json")).await;
        assert_eq!(status, StatusCode::OK);
        let response =
            router.clone().oneshot(event("whatsapp-verify.json").map(|b| Body::from(b.to_vec()))).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(&response.into_body().collect().await.unwrap().to_bytes()[..], b"1158201444");
        // The Slack sample is signed at a fixed time: outside the five-minute window it is a replay.
        let (status, body) = call(&router, event("slack-message.json")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        for _ in 0..100 {
            if responder_records(&app).len() == 5 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let channels: Vec<String> =
            responder_records(&app).iter().filter_map(|u| u.channel.map(|c| c.to_string())).collect();
        assert_eq!(channels.len(), 5, "{channels:?}");
        for c in ["twilio_sms", "twilio_whatsapp", "telegram", "whatsapp_cloud", "email"] {
            assert!(channels.contains(&c.to_string()), "{c} in {channels:?}");
        }
    }

    #[tokio::test]
    async fn identified_event_personalises_the_answer() {
        let app = app().await;
        let router = inbound_router(app.api.clone());
        let (status, ack) = call(&router, event("webchat-post-identified.json")).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{ack}");
        let messages =
            until_answered(&router, ack["conversation_id"].as_str().unwrap(), ack["token"].as_str().unwrap()).await;
        let answer = &messages[1].1;
        assert!(answer.contains("Ben") && answer.contains("DS-20502"), "{answer}");
    }

    fn responder_records(app: &Embedded) -> Vec<switchboard::cost::CostRecord> {
        app.ledger.all().into_iter().filter(|r| r.function == switchboard::cost::Function::Responder).collect()
    }

    trait CloneForTest {
        fn clone_for_test(&self) -> Self;
    }

    impl CloneForTest for lambda_http::Request {
        fn clone_for_test(&self) -> Self {
            let mut r = lambda_http::Request::new(self.body().clone());
            *r.uri_mut() = self.uri().clone();
            *r.method_mut() = self.method().clone();
            *r.headers_mut() = self.headers().clone();
            r
        }
    }
}
