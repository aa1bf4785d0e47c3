//! The whole pipeline on the local servers, as the functions run it: the `inbound` router fed
//! API Gateway events, the queues in moto, the batch handlers fed like Lambda's event source
//! mapping, state in DynamoDB Local, secrets in SSM.

use crate::aws::{LocalAws, Queues, local_aws_at};
use crate::bedrock::FakeBedrock;
use axum::Router;
use axum::body::Body;
use http_body_util::BodyExt;
use reqwest::StatusCode;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use switchboard::adapters::aws::{
    DynamoConversations, DynamoCustomers, DynamoTickets, SqsMessageQueue, SqsRedelivery, Table,
};
use switchboard::adapters::memory::ConsoleHelpdesk;
use switchboard::aws_app::{AwsApp, Settings};
use switchboard::helpdesks::HelpdeskRouter;
use switchboard::http::HttpClient;
use switchboard::lambda::{Deadline, escalate_batch, respond_batch};
use switchboard::pipeline::{EscalationDesk, Responder};
use switchboard::ports::SystemClock;
use switchboard::tenant::{DEMO_TENANT_YAML, Secret, TenantConfig};
use tower::ServiceExt;

/// The demo tenant's web chat identity secret, kept in SSM.
pub const IDENTITY_SECRET: &str = "a-secret-that-lives-in-ssm-only";

/// The running pieces.
pub struct Stack {
    /// Clients and the test's table.
    pub aws: LocalAws,
    /// The messages queue.
    pub messages: Queues,
    /// The escalation queue.
    pub escalations: Queues,
    /// The inbound function's router.
    pub router: Router,
    /// A second inbound instance on the same stores ([`Stack::call_on`]).
    pub second_instance: Router,
    /// The responder function's pipeline.
    pub responder: Responder,
    /// The escalation function's desk.
    pub desk: EscalationDesk,
    /// How the escalation function delays and parks records.
    pub redelivery: SqsRedelivery,
    /// How the responder function parks records.
    pub responder_redelivery: SqsRedelivery,
    /// The read token of every conversation a POST here started.
    tokens: std::sync::Mutex<std::collections::HashMap<String, String>>,
}

/// How to build the stack.
pub struct Options {
    /// The model id the responder asks for (default: the fake's test model).
    pub model: Option<String>,
    /// A loopback Bedrock to use.
    pub bedrock: Option<FakeBedrock>,
    /// Let the model write grounded answers.
    pub generate: bool,
    /// The tenant's `classifier.hosted_below`.
    pub hosted_below: f32,
    /// Receives before a message moves to the DLQ.
    pub max_receives: u32,
    /// Seconds a received message stays invisible (1 by default, so retries are quick to test;
    /// the load benchmark's many workers need Lambda's own, longer timeout).
    pub visibility: u32,
    /// Override of the messages queue URL (a missing queue, say).
    pub messages_queue: Option<String>,
    /// Base URL of a loopback stand-in for the providers' send APIs (Twilio, Telegram, Slack).
    pub providers: Option<String>,
    /// The SNS verifier (tests trust their own CA); production roots by default.
    pub sns: Option<std::sync::Arc<switchboard::channels::sns::SnsVerifier>>,
    /// The tenant's `helpdesk:` section (YAML, indented), replacing the console helpdesk.
    pub helpdesk: Option<String>,
    /// Text replacements in the demo tenant's YAML (a longer answer, say).
    pub replace: Vec<(String, String)>,
    /// SQS as seen by the inbound function is down (nothing listens at its endpoint).
    pub sqs_down: bool,
    /// A second tenant, `rival`, on the same deployment: the demo tenant with every secret
    /// (`demo-…` → `rival-…`), URL and order id its own, and Ana García's phone and address
    /// belonging to its own customer, Rosa Rival.
    pub rival: bool,
    /// More tenants on the same deployment, each the demo tenant under its own id with its own
    /// secrets (`demo-…` → `<id>-…`) and URLs (the load benchmark's three tenants).
    pub tenants: Vec<String>,
    /// DynamoDB at this endpoint (a DynamoDB Local of the test's own) instead of the shared one.
    pub dynamodb: Option<String>,
    /// SQS as the functions see it at this endpoint (a proxy that can cut it off); the test's own
    /// receives and counts still go straight to the server.
    pub sqs: Option<String>,
    /// How long provider and helpdesk calls wait: a second by default, so a "timed out" send or
    /// create is quick to test; the load benchmark uses the functions' own.
    pub http_timeout: Duration,
    /// The deployment's message limits (the defaults unless a test floods on purpose).
    pub limits: switchboard::limits::LimitSettings,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            model: None,
            bedrock: None,
            generate: false,
            hosted_below: 0.6,
            max_receives: 3,
            visibility: 1,
            http_timeout: Duration::from_secs(1),
            limits: switchboard::limits::LimitSettings::default(),
            messages_queue: None,
            providers: None,
            sns: None,
            helpdesk: None,
            replace: Vec::new(),
            sqs_down: false,
            rival: false,
            tenants: Vec::new(),
            dynamodb: None,
            sqs: None,
        }
    }
}

/// Builds the stack on a fresh table and queues, with the demo tenant stored.
pub async fn stack(options: Options) -> Stack {
    let aws = local_aws_at(options.dynamodb.as_deref()).await;
    let messages = aws.queues(true, options.max_receives, options.visibility).await;
    let escalations = aws.queues(false, 3, options.visibility).await;
    let mut clients = aws.clients.clone();
    if let Some(fake) = &options.bedrock {
        clients.bedrock = fake.client(Duration::from_secs(2)).await;
    }
    let settings = Settings {
        table: aws.table.clone(),
        messages_queue_url: Some(options.messages_queue.unwrap_or(messages.url.clone())),
        escalations_queue_url: Some(escalations.url.clone()),
        escalations_dlq_url: Some(escalations.dlq_url.clone()),
        messages_dlq_url: Some(messages.dlq_url.clone()),
        bedrock: options.bedrock.as_ref().map(|_| {
            let settings = FakeBedrock::settings(Duration::from_secs(2));
            switchboard::adapters::aws::BedrockSettings {
                model_id: options.model.clone().unwrap_or(settings.model_id.clone()),
                ..settings
            }
        }),
        cache: Duration::from_secs(60),
        key_parameter: Some(format!("/switchboard/{}/deployment-key", aws.table)),
        prices: Arc::new(switchboard::cost::PriceTable::default_table()),
        // The providers' and helpdesks' loopback stand-ins.
        allowed_endpoints: vec!["http://127.0.0.1:*".into()],
        tenant_secrets: true,
        deployment_budget_nanos: 0,
        limits: options.limits,
    };
    let sqs_endpoint = if options.sqs_down { Some("http://127.0.0.1:9".to_string()) } else { options.sqs.clone() };
    if let Some(endpoint) = sqs_endpoint {
        let config = clients.sqs.config().to_builder().endpoint_url(endpoint).build();
        clients.sqs = aws_sdk_sqs::Client::from_conf(config);
    }
    let functions_sqs = clients.sqs.clone();
    let app = AwsApp::new(settings, clients);
    // The refused requests' aggregate written at each one, so a test reads it at once.
    app.costs().set_refused_flush_every(Duration::ZERO);

    // The demo tenant, its identity secret moved to SSM as production keeps it.
    let parameter = format!("/switchboard/demo/{}-webchat-identity", aws.table);
    aws.clients
        .ssm
        .put_parameter()
        .name(&parameter)
        .value(IDENTITY_SECRET)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .overwrite(true)
        .send()
        .await
        .expect("put the identity secret");
    let yaml = DEMO_TENANT_YAML
        .replace(
            "identity_secret: demo-identity-secret-change-me",
            &format!("identity_secret: {{ssm: \"{parameter}\"}}"),
        )
        .replace("hosted_below: 0.6", &format!("hosted_below: {}", options.hosted_below))
        .replace("\npolicy:\n", &format!("\nanswers:\n  generate_with_model: {}\n\npolicy:\n", options.generate));
    let yaml = providers_at(&yaml, options.providers.as_deref().unwrap_or("http://127.0.0.1:9"));
    let yaml = options.replace.iter().fold(yaml, |yaml, (from, to)| yaml.replace(from, to));
    let yaml = match &options.helpdesk {
        Some(section) => yaml.replace("helpdesk:\n  kind: console\n", &format!("helpdesk:\n{section}\n")),
        None => yaml,
    };
    let config = TenantConfig::from_yaml("demo", &yaml).expect("demo yaml");
    assert!(matches!(config.channels.webchat.as_ref().map(|w| &w.identity_secret), Some(Secret::Parameter { .. })));
    let customers = DynamoCustomers::new(Table::new(aws.clients.dynamodb.clone(), &aws.table));
    app.tenants().put_tenant(&yaml, &customers).await.expect("put tenant");
    if options.rival {
        let yaml = demo_as(&yaml, "rival")
            .replace(&format!("identity_secret: {{ssm: \"{parameter}\"}}"), "identity_secret: rival-identity-secret")
            .replace("name: Ana García", "name: Rosa Rival")
            .replace("DS-", "RV-");
        app.tenants().put_tenant(&yaml, &customers).await.expect("put the rival tenant");
    }

    for id in &options.tenants {
        let yaml = demo_as(&yaml, id).replace(
            &format!("identity_secret: {{ssm: \"{parameter}\"}}"),
            &format!("identity_secret: {id}-identity-secret"),
        );
        app.tenants().put_tenant(&yaml, &customers).await.expect("put a tenant");
    }

    aws.clients
        .ssm
        .put_parameter()
        .name(format!("/switchboard/{}/deployment-key", aws.table))
        .value(format!("test-deployment-key-{}-0123456789abcdef0123456789abcdef", aws.table))
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .overwrite(true)
        .send()
        .await
        .expect("put the deployment key");
    let api = match &options.sns {
        Some(sns) => app.api_with(sns.clone()).await,
        None => app.api().await,
    };
    let router = switchboard::lambda::inbound_router(api.expect("inbound settings"));
    // A second instance of the inbound function: its own memory (caches, limits' counts), the
    // same table and queues.
    let api = match options.sns {
        Some(sns) => app.api_with(sns).await,
        None => app.api().await,
    };
    let second_instance = switchboard::lambda::inbound_router(api.expect("inbound settings"));
    let responder = app.responder().expect("responder settings").with_sender(Arc::new(
        switchboard::channels::senders::ChannelRouter::with_http(
            app.tenants(),
            HttpClient::with_timeout(options.http_timeout),
        ),
    ));
    // The queues' visibility is a second by default here: failed records back off from a second.
    let (second, longest) = (Duration::from_secs(1), Duration::from_secs(options.visibility.into()));
    Stack {
        responder,
        desk: EscalationDesk::new(
            Arc::new(HelpdeskRouter::with_http(
                app.tenants(),
                Arc::new(ConsoleHelpdesk::quiet()),
                HttpClient::with_timeout(options.http_timeout),
            )),
            Arc::new(DynamoTickets::new(Table::new(aws.clients.dynamodb.clone(), &aws.table))),
            Arc::new(DynamoConversations::new(Table::new(aws.clients.dynamodb.clone(), &aws.table))),
            Arc::new(SqsMessageQueue::new(functions_sqs, messages.url.clone())),
            app.costs(),
            Arc::new(SystemClock),
        ),
        redelivery: app.escalation_redelivery().expect("escalation settings").with_backoff(second, longest),
        responder_redelivery: app.responder_redelivery().expect("responder settings").with_backoff(second, longest),
        aws,
        messages,
        escalations,
        router,
        second_instance,
        tokens: Default::default(),
    }
}

impl Stack {
    /// Calls the inbound router with the web chat event, its method, URI and body replaced.
    pub async fn call(&self, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.call_on(&self.router, method, uri, body).await
    }

    /// The same, on `router` (this stack's [`Stack::router`] or [`Stack::second_instance`]).
    pub async fn call_on(&self, router: &Router, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
        let path = format!(
            "{}/../events/inbound/{}",
            env!("CARGO_MANIFEST_DIR"),
            if method == "POST" { "webchat-post.json" } else { "webchat-get.json" }
        );
        let mut request = lambda_http::request::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        *request.uri_mut() = uri.parse().unwrap();
        if let Some(body) = body {
            *request.body_mut() = lambda_http::Body::Text(body.to_string());
        }
        // A GET presents the token the conversation's POST returned, as the widget does.
        let conversation = uri.split("/conversations/").nth(1).and_then(|rest| rest.split('/').next());
        if let Some(token) = conversation.and_then(|c| self.token(c)) {
            request.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
        }
        let response = router.clone().oneshot(request.map(|b| Body::from(b.to_vec()))).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if let (Some(conversation), Some(token)) = (body["conversation_id"].as_str(), body["token"].as_str()) {
            self.tokens.lock().unwrap().insert(conversation.to_string(), token.to_string());
        }
        (status, body)
    }

    /// The read token a POST here returned for `conversation`.
    pub fn token(&self, conversation: &str) -> Option<String> {
        self.tokens.lock().unwrap().get(conversation).cloned()
    }

    /// POSTs a raw body with `headers` to `path` of the inbound router, as a provider or a
    /// helpdesk would; the status and the body as text.
    pub async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> (StatusCode, String) {
        self.send_raw("POST", path, content_type, headers, body).await
    }

    /// [`Stack::post_raw`] with another method (the data API's PUT and DELETE).
    pub async fn send_raw(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> (StatusCode, String) {
        let mut request = axum::http::Request::builder().method(method).uri(path).header("content-type", content_type);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let response = self.router.clone().oneshot(request.body(Body::from(body)).unwrap()).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&bytes).to_string())
    }

    /// Twilio delivers an SMS from `from` to the demo tenant's number (see [`signed_sms`]).
    pub async fn sms(&self, sid: &str, from: &str, text: &str) -> (StatusCode, String) {
        let (body, signature) = signed_sms(sid, from, text);
        let headers = [("x-twilio-signature", signature)];
        self.post_raw("/v1/demo/twilio", "application/x-www-form-urlencoded", &headers, body.into_bytes()).await
    }

    /// POSTs to the demo tenant's web chat.
    pub async fn post(&self, body: Value) -> (StatusCode, Value) {
        self.call("POST", "/v1/demo/webchat/messages", Some(body)).await
    }

    /// The web chat page of a conversation.
    pub async fn messages(&self, conversation: &str) -> Value {
        let (status, page) =
            self.call("GET", &format!("/v1/demo/webchat/conversations/{conversation}/messages?wait=0"), None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        page
    }

    /// Runs the responder function on what the messages queue holds.
    pub async fn run_responder(&self) -> usize {
        self.aws
            .deliver(&self.messages.url, |event| {
                respond_batch(&self.responder, Some(&self.responder_redelivery), Deadline::none(), event)
            })
            .await
            .len()
    }

    /// One responder invocation on `event` whose Lambda deadline is `left` from now.
    pub async fn respond_batch_until(
        &self,
        event: aws_lambda_events::event::sqs::SqsEvent,
        left: Duration,
    ) -> aws_lambda_events::event::sqs::SqsBatchResponse {
        // The stand-in model's timeout is 2 s (see `stack`), providers' 10 s.
        let budget = switchboard::lambda::responder_record_budget(Duration::from_secs(2), Duration::from_secs(1));
        respond_batch(&self.responder, Some(&self.responder_redelivery), Deadline::after(left, budget), event).await
    }

    /// Runs the escalation function on what the escalation queue holds.
    pub async fn run_escalation(&self) -> usize {
        self.aws
            .deliver(&self.escalations.url, |event| {
                escalate_batch(&self.desk, Some(&self.redelivery), Deadline::none(), event)
            })
            .await
            .len()
    }

    /// How many items the table holds besides the cost ledger (a refused request still costs
    /// money and is recorded; what must not be left behind is state).
    pub async fn items(&self) -> i32 {
        self.aws
            .clients
            .dynamodb
            .scan()
            .table_name(&self.aws.table)
            .filter_expression("NOT contains(pk, :cost)")
            .expression_attribute_values(":cost", aws_sdk_dynamodb::types::AttributeValue::S("#COST#".into()))
            .select(aws_sdk_dynamodb::types::Select::Count)
            .send()
            .await
            .unwrap()
            .count()
    }
}

/// An SMS from `from` to the demo tenant's number as Twilio posts it: the form body and its
/// `X-Twilio-Signature`, signed with the demo tenant's auth token.
pub fn signed_sms(sid: &str, from: &str, text: &str) -> (String, String) {
    let params: Vec<(String, String)> = [
        ("MessageSid", sid),
        ("AccountSid", "AC00000000000000000000000000000000"),
        ("From", from),
        ("To", "+15550001111"),
        ("Body", text),
        ("NumMedia", "0"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    let url = "https://abc123.execute-api.eu-west-1.amazonaws.com/v1/demo/twilio";
    let signature = switchboard::channels::twilio::signature(b"demo-twilio-auth-token", url, &params);
    (serde_urlencoded::to_string(&params).expect("a form"), signature)
}

/// The demo tenant's YAML with every provider's send API at the loopback `base`.
pub fn providers_at(yaml: &str, base: &str) -> String {
    yaml.replace("api_base: https://api.twilio.com", &format!("api_base: {base}"))
        .replace("api_base: https://api.telegram.org", &format!("api_base: {base}"))
        .replace("api_base: https://graph.facebook.com/v21.0", &format!("api_base: {base}/graph"))
        .replace("api_base: https://api.postmarkapp.com", &format!("api_base: {base}/postmark"))
        .replace("api_base: https://slack.com/api", &format!("api_base: {base}/api"))
}

/// The demo tenant's YAML as tenant `id`: its id, every secret (`demo-…` → `<id>-…`) and URL its own.
pub fn demo_as(yaml: &str, id: &str) -> String {
    yaml.replace("id: demo\n", &format!("id: {id}\n"))
        .replace("demo-", &format!("{id}-"))
        .replace("/v1/demo/", &format!("/v1/{id}/"))
}
