//! The port contracts against the AWS adapters on real local servers (DynamoDB Local, moto),
//! the same suites the memory adapters pass; and the queue behaviour the pipeline relies on.

use aws_lambda_events::event::sqs::SqsBatchResponse;
use aws_sdk_ssm::types::ParameterType;
use std::time::Duration;
use switchboard::Work;
use switchboard::adapters::aws::{
    DynamoConversations, DynamoCustomers, DynamoIdempotency, DynamoTenants, DynamoTickets, SqsEscalationQueue,
    SqsMessageQueue, SsmSecrets, Table,
};
use switchboard::contract;
use switchboard::domain::{Channel, ConversationId, InboundMessage, MessageId, Sender, TenantId};
use switchboard::ports::{MessageQueue, PortError};
use switchboard::tenant::TenantDirectory;
use switchboard_tests::aws::local_aws;

#[tokio::test]
async fn dynamodb_conversations_keep_the_contract() {
    let aws = local_aws().await;
    contract::conversation_store(&DynamoConversations::new(Table::new(aws.clients.dynamodb.clone(), &aws.table))).await;
    contract::turns_in_written_order(&DynamoConversations::new(Table::new(aws.clients.dynamodb.clone(), &aws.table)))
        .await;
}

#[tokio::test]
async fn dynamodb_idempotency_keeps_the_contract() {
    let aws = local_aws().await;
    contract::idempotency_store(&DynamoIdempotency::new(Table::new(aws.clients.dynamodb.clone(), &aws.table))).await;
}

#[tokio::test]
async fn dynamodb_tickets_keep_the_contract() {
    let aws = local_aws().await;
    contract::ticket_store(&DynamoTickets::new(Table::new(aws.clients.dynamodb.clone(), &aws.table))).await;
}

#[tokio::test]
async fn dynamodb_allowances_keep_the_contract() {
    let aws = local_aws().await;
    contract::allowances(&switchboard::adapters::aws::DynamoAllowances::new(Table::new(
        aws.clients.dynamodb.clone(),
        &aws.table,
    )))
    .await;
    contract::limits_across_instances(std::sync::Arc::new(switchboard::adapters::aws::DynamoAllowances::new(
        Table::new(aws.clients.dynamodb.clone(), &aws.table),
    )))
    .await;
}

#[tokio::test]
async fn dynamodb_cost_ledger_keeps_the_contract() {
    let aws = local_aws().await;
    contract::cost_ledger(&switchboard::adapters::aws::DynamoLedger::new(Table::new(
        aws.clients.dynamodb.clone(),
        &aws.table,
    )))
    .await;
}

#[tokio::test]
async fn dynamodb_customers_keep_the_contract() {
    let aws = local_aws().await;
    contract::customer_store(&DynamoCustomers::new(Table::new(aws.clients.dynamodb.clone(), &aws.table))).await;
}

#[tokio::test]
async fn dynamodb_stores_keep_the_privacy_contract() {
    let aws = local_aws().await;
    let table = || Table::new(aws.clients.dynamodb.clone(), &aws.table);
    let (customers, conversations) = (DynamoCustomers::new(table()), DynamoConversations::new(table()));
    let ledger = switchboard::adapters::aws::DynamoLedger::new(table());
    let held =
        switchboard::customers::privacy::Held { customers: &customers, conversations: &conversations, ledger: &ledger };
    contract::customer_privacy(held).await;
}

/// The tenant's retention reaches the table as the `ttl` attribute DynamoDB's TTL deletes by
/// (epoch seconds) on every item that holds personal data: profile, identity link, order,
/// turn and the conversation's record. A nightly re-import of an unchanged profile rewrites it
/// only when its expiry must move by more than a tenth of the retention.
#[tokio::test]
async fn dynamodb_items_carry_the_tenants_retention_as_their_ttl() {
    use chrono::{Duration as Days, Utc};
    use switchboard::domain::{Conversation, Customer, CustomerId, Order, Role, Turn, TurnCursor};
    use switchboard::keys::partition;
    use switchboard::ports::{Activity, ConversationStore, CustomerStore};
    let aws = local_aws().await;
    let table = || Table::new(aws.clients.dynamodb.clone(), &aws.table);
    let ttl = |pk: String, sk: &str| {
        let (client, name, sk) = (aws.clients.dynamodb.clone(), aws.table.clone(), sk.to_string());
        async move {
            let item = client.get_item().table_name(name).key("pk", av(pk)).key("sk", av(sk.clone())).send().await;
            let item = item.unwrap_or_else(|e| panic!("get_item: {e}")).item.unwrap_or_else(|| panic!("no item {sk}"));
            item.get("ttl").and_then(|v| v.as_n().ok()).and_then(|n| n.parse::<i64>().ok())
        }
    };
    let tenant = TenantId::new(format!("ret-{}", uuid::Uuid::new_v4().simple())).unwrap_or_else(|e| panic!("{e}"));
    let customers = DynamoCustomers::new(table());
    let id = CustomerId::new("c-1").unwrap_or_else(|e| panic!("{e}"));
    let ana = Customer {
        id: id.clone(),
        name: "Ana".into(),
        tier: "gold".into(),
        language: None,
        orders: vec![],
        attributes: Default::default(),
        phones: vec!["+34600111333".into()],
        emails: vec![],
    };
    let year = Utc::now() + Days::days(365);
    customers.put_customer(&tenant, &ana, Some(year)).await.unwrap_or_else(|e| panic!("put: {e}"));
    assert_eq!(ttl(partition::customer(&tenant, &id), "PROFILE").await, Some(year.timestamp()), "profile");
    let link = partition::identity(&tenant, "phone:+34600111333");
    assert_eq!(ttl(link, "IDENTITY").await, Some(year.timestamp()), "identity link");
    let order = Order {
        id: "DS-1".into(),
        status: "shipped".into(),
        placed: None,
        eta: None,
        tracking: None,
        items: None,
        updated: None,
    };
    customers.put_order(&tenant, &id, &order, Some(year)).await.unwrap_or_else(|e| panic!("order: {e}"));
    assert_eq!(ttl(partition::customer(&tenant, &id), "ORDER#DS-1").await, Some(year.timestamp()), "order");

    let a_day_later = year + Days::days(1);
    customers
        .put_customers(&tenant, std::slice::from_ref(&ana), Some(a_day_later))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ttl(partition::customer(&tenant, &id), "PROFILE").await, Some(year.timestamp()), "a day: not rewritten");
    let months_later = year + Days::days(60);
    customers
        .put_customers(&tenant, std::slice::from_ref(&ana), Some(months_later))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let profile = ttl(partition::customer(&tenant, &id), "PROFILE").await;
    assert_eq!(profile, Some(months_later.timestamp()), "two months, past a tenth of a year: rewritten");
    customers.put_customers(&tenant, std::slice::from_ref(&ana), None).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ttl(partition::customer(&tenant, &id), "PROFILE").await, None, "kept until erased: no ttl");

    let conversations = DynamoConversations::new(table());
    let conversation =
        ConversationId::new(format!("c_{}", uuid::Uuid::new_v4().simple())).unwrap_or_else(|e| panic!("{e}"));
    let now = Utc::now();
    let started = Conversation::new(conversation.clone(), tenant.clone(), Channel::Webchat, "v_1".into(), now);
    conversations.create_conversation(&started).await.unwrap_or_else(|e| panic!("create: {e}"));
    let state = ttl(partition::conversation(&tenant, &conversation), "STATE").await.unwrap_or_default();
    assert!((state - (now + Days::days(90)).timestamp()).abs() < 60, "a new record: 90 days until its first message");
    let month = now + Days::days(30);
    let activity = Activity {
        language: switchboard::domain::Language::EN,
        last_inbound_at: now,
        customer: None,
        thread: None,
        keep: month,
    };
    conversations.record_activity(&tenant, &conversation, &activity).await.unwrap_or_else(|e| panic!("{e}"));
    let state = ttl(partition::conversation(&tenant, &conversation), "STATE").await;
    assert_eq!(state, Some(month.timestamp()), "the record: the tenant's turn retention from the customer's message");
    let message = MessageId::generate();
    let turn = Turn::new(message.clone(), TurnCursor::new(now, &message), Role::Customer, "hola", now);
    conversations.append_turn(&tenant, &conversation, &turn, month).await.unwrap_or_else(|e| panic!("turn: {e}"));
    let sk = format!("TURN#{}", turn.cursor.as_str());
    assert_eq!(ttl(partition::conversation(&tenant, &conversation), &sk).await, Some(month.timestamp()), "turn");
}

fn av(s: String) -> aws_sdk_dynamodb::types::AttributeValue {
    aws_sdk_dynamodb::types::AttributeValue::S(s)
}

/// Customers are data, not configuration: a tenant file listing 5,000 customers stores its
/// configuration in a small tenant item and every customer as items of their own, all found.
#[tokio::test]
async fn a_tenant_with_five_thousand_customers_stores_and_loads() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let aws = local_aws().await;
    let table = || Table::new(aws.clients.dynamodb.clone(), &aws.table);
    let split = switchboard::tenant::split_customers("demo", switchboard::tenant::DEMO_TENANT_YAML).unwrap();
    let mut yaml = split.config_yaml.replace("id: demo", "id: bigshop");
    yaml.push_str("customers:\n");
    for n in 0..5_000 {
        yaml.push_str(&format!(
            "- id: c{n:05}\n  name: Customer {n}\n  phones: ['+1555{n:07}']\n  emails: [c{n}@shop.example]\n  \
             orders: [{{id: 'B-{n}', status: shipped, placed: '2026-11-30'}}]\n"
        ));
    }
    assert!(yaml.len() > 400 * 1024, "the file alone is past DynamoDB's item limit: {} bytes", yaml.len());
    let secrets = std::sync::Arc::new(SsmSecrets::new(aws.clients.ssm.clone(), Duration::from_secs(60)));
    let tenants = DynamoTenants::new(table(), secrets, Duration::from_secs(60));
    let customers = DynamoCustomers::new(table());
    let (id, seeded) = tenants.put_tenant(&yaml, &customers).await.expect("put a big tenant");
    assert_eq!((id.as_str(), seeded), ("bigshop", 5_000));

    let item = aws
        .clients
        .dynamodb
        .get_item()
        .table_name(&aws.table)
        .key("pk", AttributeValue::S("T#bigshop".into()))
        .key("sk", AttributeValue::S("CONFIG".into()))
        .send()
        .await
        .unwrap();
    let stored = item.item().and_then(|i| i.get("yaml")).and_then(|y| y.as_s().ok()).expect("a tenant item");
    assert!(stored.len() < 32 * 1024, "the tenant item holds configuration only: {} bytes", stored.len());
    assert!(!stored.contains("c04999"), "no customer in it");

    let tenant = tenants.tenant(&id).await.unwrap().expect("the tenant loads");
    assert!(tenant.config.customers.is_empty());
    use switchboard::ports::CustomerStore;
    for n in [0, 2_500, 4_999] {
        let found = customers.customer_for(&id, &format!("phone:+1555{n:07}")).await.unwrap();
        let found = found.unwrap_or_else(|| panic!("customer {n} is found by phone"));
        let profile = customers.customer(&id, &found).await.unwrap().expect("and has a profile");
        assert_eq!((profile.name, profile.orders.len()), (format!("Customer {n}"), 1));
    }
    let by_mail = customers.customer_for(&id, "email:c4999@shop.example").await.unwrap();
    assert_eq!(by_mail.map(|c| c.as_str().to_string()), Some("c04999".to_string()));
}

#[tokio::test]
async fn ssm_secrets_keep_the_contract_and_are_cached() {
    let aws = local_aws().await;
    let name = format!("/switchboard/{}/webchat-identity", aws.table);
    let put = |value: &'static str| {
        aws.clients
            .ssm
            .put_parameter()
            .name(&name)
            .value(value)
            .r#type(ParameterType::SecureString)
            .overwrite(true)
            .send()
    };
    put("first-secret-value").await.expect("put parameter");
    let cached = SsmSecrets::new(aws.clients.ssm.clone(), Duration::from_secs(300));
    contract::secret_store(&cached, &name, "first-secret-value").await;

    put("rotated-secret-value").await.expect("rotate parameter");
    contract::secret_store(&cached, &name, "first-secret-value").await;
    let fresh = SsmSecrets::new(aws.clients.ssm.clone(), Duration::ZERO);
    contract::secret_store(&fresh, &name, "rotated-secret-value").await;
}

fn message(conversation: &str, provider_id: &str, text: &str) -> Work {
    Work::Customer(Box::new(InboundMessage {
        id: MessageId::generate(),
        tenant: TenantId::new("demo").unwrap(),
        channel: Channel::Webchat,
        provider_message_id: provider_id.into(),
        conversation: ConversationId::new(conversation).unwrap(),
        sender: Sender { address: "v_1".into(), customer: None, unverified: false },
        text: text.into(),
        received_at: chrono::Utc::now(),
        request_id: "r".into(),
        thread: None,
        attachments: Vec::new(),
    }))
}

#[tokio::test]
async fn the_fifo_queue_keeps_order_and_drops_provider_retries() {
    let aws = local_aws().await;
    let queues = aws.queues(true, 3, 30).await;
    let queue = SqsMessageQueue::new(aws.clients.sqs.clone(), &queues.url);
    for (id, text) in [("p1", "one"), ("p2", "two"), ("p1", "one again"), ("p3", "three")] {
        queue.enqueue(&message("c_1", id, text)).await.expect("enqueue");
    }
    let mut texts = Vec::new();
    for _ in 0..5 {
        let bodies = aws.deliver(&queues.url, |_event| async { SqsBatchResponse::default() }).await;
        texts.extend(bodies.iter().map(|b| match serde_json::from_str::<Work>(b).unwrap() {
            Work::Customer(m) => m.text,
            other => panic!("{other:?}"),
        }));
        if texts.len() >= 3 {
            break;
        }
    }
    assert_eq!(texts, vec!["one", "two", "three"], "in order, the retry of p1 dropped by deduplication");
}

#[tokio::test]
async fn a_missing_queue_is_a_configuration_error() {
    let aws = local_aws().await;
    let missing = format!("{}/000000000000/missing-{}", std::env::var("AWS_ENDPOINT_URL_SQS").unwrap(), aws.table);
    let error = SqsMessageQueue::new(aws.clients.sqs.clone(), format!("{missing}.fifo"))
        .enqueue(&message("c_1", "p1", "hi"))
        .await
        .unwrap_err();
    assert!(matches!(error, PortError::Misconfigured { .. }), "{error}");
    assert!(error.to_string().contains("NonExistentQueue") || error.to_string().contains("QueueDoesNotExist"));
}

#[tokio::test]
async fn dynamodb_tenants_keep_the_contract_and_resolve_ssm_secrets() {
    let aws = local_aws().await;
    let parameter = format!("/switchboard/demo/{}-identity", aws.table);
    aws.clients
        .ssm
        .put_parameter()
        .name(&parameter)
        .value("secret-from-parameter-store")
        .r#type(ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    let yaml = switchboard::tenant::DEMO_TENANT_YAML.replace(
        "identity_secret: demo-identity-secret-change-me",
        &format!("identity_secret: {{ssm: \"{parameter}\"}}"),
    );
    let secrets = std::sync::Arc::new(SsmSecrets::new(aws.clients.ssm.clone(), Duration::from_secs(60)));
    let tenants =
        DynamoTenants::new(Table::new(aws.clients.dynamodb.clone(), &aws.table), secrets, Duration::from_secs(60));
    tenants.put_config(&yaml).await.expect("put config");
    contract::tenant_directory(&tenants).await;
    contract::tenant_store(&tenants, &yaml).await;
    let demo = tenants.tenant(&TenantId::new("demo").unwrap()).await.unwrap().unwrap();
    assert_eq!(demo.config.channels.webchat.as_ref().unwrap().identity_secret.expose(), b"secret-from-parameter-store");

    // A tenant whose secret is missing from SSM is a broken tenant, reported, never served.
    let broken = yaml.replace("id: demo", "id: broken").replace(&parameter, "/switchboard/broken/missing");
    tenants.put_config(&broken).await.expect("put config");
    let error = tenants.tenant(&TenantId::new("broken").unwrap()).await.unwrap_err();
    assert!(matches!(error, PortError::Misconfigured { .. }), "{error}");
    assert!(error.to_string().contains("/switchboard/broken/missing"), "names the parameter: {error}");
}

/// The intent model trained at `put_config` is stored (an item keyed by the YAML's digest) and
/// used by a cold start (a fresh directory) instead of training; YAML without its model trains;
/// a new YAML's put removes the old model.
#[tokio::test]
async fn a_tenants_trained_model_is_stored_and_used_by_a_cold_start() {
    use aws_sdk_dynamodb::types::AttributeValue;
    use sha2::Digest;
    use switchboard::classify::{IntentModel, TrainOptions};
    let aws = local_aws().await;
    let table = || Table::new(aws.clients.dynamodb.clone(), &aws.table);
    let secrets = std::sync::Arc::new(SsmSecrets::new(aws.clients.ssm.clone(), Duration::from_secs(60)));
    let cold = || DynamoTenants::new(table(), secrets.clone(), Duration::from_secs(60));
    let model_key = |yaml: &str| format!("MODEL#{}", hex::encode(sha2::Sha256::digest(yaml.as_bytes())));
    let models = || async {
        let out = aws
            .clients
            .dynamodb
            .query()
            .table_name(&aws.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :m)")
            .expression_attribute_values(":pk", AttributeValue::S("T#demo".into()))
            .expression_attribute_values(":m", AttributeValue::S("MODEL#".into()))
            .send()
            .await
            .unwrap();
        out.items().iter().map(|i| i["sk"].as_s().unwrap().clone()).collect::<Vec<String>>()
    };
    // What the tenant item stores: the demo file without its seed customers.
    let split = switchboard::tenant::split_customers("demo", switchboard::tenant::DEMO_TENANT_YAML).unwrap();
    let yaml = split.config_yaml.as_str();
    cold().put_config(yaml).await.expect("put config");
    let stored = models().await;
    assert!(!stored.is_empty() && stored.iter().all(|k| k.starts_with(&format!("{}#", model_key(yaml)))), "{stored:?}");

    // Replace the stored model with a different one for the same intents (one epoch): a cold
    // start that uses it classifies differently from one that trains.
    let demo = switchboard::Tenant::demo().unwrap();
    let examples: Vec<(String, String)> = demo
        .config
        .intents
        .iter()
        .flat_map(|i| i.examples.values().flatten().map(move |e| (e.clone(), i.name.clone())))
        .collect();
    let weak =
        IntentModel::train(&examples, TrainOptions { epochs: 1, calibration_folds: 0, ..TrainOptions::default() })
            .unwrap();
    let id = TenantId::new("demo").unwrap();
    let digest = model_key(yaml).trim_start_matches("MODEL#").to_string();
    let store_model = |model: &IntentModel| {
        let (id, digest) = (id.clone(), digest.clone());
        let model = model.clone();
        async move { cold().put_model(&id, &digest, &model).await }
    };
    store_model(&weak).await.unwrap();
    let refreshing = DynamoTenants::new(table(), secrets.clone(), Duration::ZERO);
    let loaded = refreshing.tenant(&id).await.unwrap().unwrap();
    let text = "where is my parcel?";
    let used = loaded.classifier.classify(text).confidence;
    assert_eq!(
        used,
        weak.predict(text, Some(switchboard::domain::Language::EN)).ranked[0].1,
        "the stored model answered"
    );
    assert_ne!(used, demo.classifier.classify(text).confidence, "not a freshly trained one");

    // A cache refresh with unchanged YAML keeps the model it has: it does not read it again.
    let other =
        IntentModel::train(&examples, TrainOptions { epochs: 2, calibration_folds: 0, ..TrainOptions::default() })
            .unwrap();
    store_model(&other).await.unwrap();
    let refreshed = refreshing.tenant(&id).await.unwrap().unwrap();
    assert_eq!(refreshed.classifier.classify(text).confidence, used, "the model this instance had");
    assert!(!std::sync::Arc::ptr_eq(&loaded, &refreshed), "the tenant itself was reloaded");

    // YAML changed without its model (written by hand, say): no model for it, the tenant trains.
    let edited = format!("{yaml}\n# edited\n");
    aws.clients
        .dynamodb
        .update_item()
        .table_name(&aws.table)
        .key("pk", AttributeValue::S("T#demo".into()))
        .key("sk", AttributeValue::S("CONFIG".into()))
        .update_expression("SET yaml = :y")
        .expression_attribute_values(":y", AttributeValue::S(edited.clone()))
        .send()
        .await
        .unwrap();
    let trained = cold().tenant(&id).await.unwrap().unwrap();
    assert_eq!(trained.classifier.classify(text).confidence, demo.classifier.classify(text).confidence);

    // Putting new YAML stores its model and removes the old one, every part of it.
    let parts_of = |yaml: &str, keys: &[String]| keys.iter().filter(|k| k.starts_with(&model_key(yaml))).count();
    cold().put_config(yaml).await.expect("put config");
    let keys = models().await;
    assert_eq!(parts_of(yaml, &keys), keys.len());
    cold().put_config(&edited).await.expect("put config");
    let keys = models().await;
    assert!(!keys.is_empty() && parts_of(&edited, &keys) == keys.len(), "{keys:?}");

    // A part missing (a put that failed half-way): the tenant trains rather than read half a model.
    assert!(keys.len() > 1, "the demo tenant's model takes more than one item: {keys:?}");
    {
        aws.clients
            .dynamodb
            .delete_item()
            .table_name(&aws.table)
            .key("pk", AttributeValue::S("T#demo".into()))
            .key("sk", AttributeValue::S(keys[keys.len() - 1].clone()))
            .send()
            .await
            .unwrap();
        let trained = cold().tenant(&id).await.unwrap().unwrap();
        assert_eq!(trained.classifier.classify(text).confidence, demo.classifier.classify(text).confidence);
    }
}

#[tokio::test]
async fn sqs_queues_keep_the_contract() {
    let aws = local_aws().await;
    let messages = aws.queues(true, 3, 30).await;
    let escalations = aws.queues(false, 3, 30).await;
    let receive = |url: String| {
        let sqs = aws.clients.sqs.clone();
        async move {
            let out = sqs
                .receive_message()
                .queue_url(&url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .unwrap();
            for m in out.messages() {
                sqs.delete_message().queue_url(&url).receipt_handle(m.receipt_handle().unwrap()).send().await.unwrap();
            }
            out.messages().iter().map(|m| m.body().unwrap().to_string()).collect::<Vec<_>>()
        }
    };
    contract::message_queue(&SqsMessageQueue::new(aws.clients.sqs.clone(), &messages.url), || {
        let bodies = receive(messages.url.clone());
        async move { bodies.await.iter().map(|b| serde_json::from_str(b).unwrap()).collect() }
    })
    .await;
    contract::escalation_queue(&SqsEscalationQueue::new(aws.clients.sqs.clone(), &escalations.url), || {
        let bodies = receive(escalations.url.clone());
        async move { bodies.await.iter().map(|b| serde_json::from_str(b).unwrap()).collect() }
    })
    .await;
}

/// A stream of random tenant ids cannot grow an instance's memory without bound: the cache of
/// lookups (unknown ids included) stays within its limit, and known tenants still resolve.
#[tokio::test]
async fn the_tenant_cache_is_bounded_under_a_stream_of_unknown_ids() {
    let aws = local_aws().await;
    let secrets = std::sync::Arc::new(switchboard::adapters::aws::SsmSecrets::new(
        aws.clients.ssm.clone(),
        Duration::from_secs(60),
    ));
    let table = Table::new(aws.clients.dynamodb.clone(), &aws.table);
    let tenants =
        switchboard::adapters::aws::DynamoTenants::with_cache_limit(table, secrets, Duration::from_secs(300), 50);
    tenants.put_config(switchboard::tenant::DEMO_TENANT_YAML).await.unwrap();
    let demo = switchboard::domain::TenantId::new("demo").unwrap();
    for i in 0..120 {
        let garbage = switchboard::domain::TenantId::new(format!("nobody-{i}")).unwrap();
        assert!(tenants.tenant(&garbage).await.unwrap().is_none());
        assert!(tenants.cached() <= 50, "{} cached after {i} lookups", tenants.cached());
    }
    assert!(tenants.tenant(&demo).await.unwrap().is_some(), "a known tenant still resolves");
}

/// Counts secret reads.
struct CountingSecrets {
    inner: switchboard::adapters::aws::SsmSecrets,
    reads: std::sync::atomic::AtomicUsize,
}

impl CountingSecrets {
    /// Counting the reads of local AWS's SSM, uncached.
    fn of(aws: &switchboard_tests::aws::LocalAws) -> std::sync::Arc<Self> {
        let inner = switchboard::adapters::aws::SsmSecrets::new(aws.clients.ssm.clone(), Duration::from_secs(0));
        std::sync::Arc::new(Self { inner, reads: Default::default() })
    }
}

#[async_trait::async_trait]
impl switchboard::ports::SecretStore for CountingSecrets {
    async fn secret(&self, name: &str) -> Result<Option<switchboard::tenant::Secret>, PortError> {
        self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.secret(name).await
    }
}

/// A tenant that cannot be loaded (its secret parameter is missing) is a configuration error
/// naming the parameter, and is cached as broken: one config and SSM read per cache period, not
/// one per request.
#[tokio::test]
async fn a_broken_tenant_is_misconfigured_and_cached_as_broken() {
    let aws = local_aws().await;
    let missing = format!("/switchboard/demo/{}-never-stored", aws.table);
    let secrets = CountingSecrets::of(&aws);
    let table = Table::new(aws.clients.dynamodb.clone(), &aws.table);
    let tenants = switchboard::adapters::aws::DynamoTenants::new(table, secrets.clone(), Duration::from_secs(300));
    let yaml = switchboard::tenant::DEMO_TENANT_YAML.replace(
        "identity_secret: demo-identity-secret-change-me",
        &format!("identity_secret: {{ssm: \"{missing}\"}}"),
    );
    tenants.put_config(&yaml).await.unwrap();
    let demo = TenantId::new("demo").unwrap();
    for _ in 0..5 {
        let error = tenants.tenant(&demo).await.unwrap_err();
        assert!(matches!(error, PortError::Misconfigured { .. }), "{error}");
        assert!(error.to_string().contains(&missing), "the log names the parameter: {error}");
    }
    assert_eq!(secrets.reads.load(std::sync::atomic::Ordering::SeqCst), 1, "read once per cache period");
}

/// A tenant file may be written by a business, not by ops: one naming another tenant's secret
/// (or the deployment key) or sending to a host off its providers' is refused at put and at
/// load, naming the field, and the parameter is never read (on the old code both loaded and
/// handed rival's token to the writer's host).
#[tokio::test]
async fn a_tenant_file_cannot_reach_another_tenants_secrets_or_send_them_elsewhere() {
    let aws = local_aws().await;
    let secrets = CountingSecrets::of(&aws);
    let table = Table::new(aws.clients.dynamodb.clone(), &aws.table);
    let tenants = DynamoTenants::new(table, secrets.clone(), Duration::from_secs(0));
    let theft = switchboard::tenant::DEMO_TENANT_YAML
        .replace("auth_token: demo-twilio-auth-token", "auth_token: {ssm: /switchboard/rival/twilio-auth-token}");
    assert!(theft.contains("/switchboard/rival/"), "the fixture changed");
    let error = tenants.put_config(&theft).await.unwrap_err().to_string();
    assert!(error.contains("channels.twilio.auth_token") && error.contains("/switchboard/demo/"), "{error}");
    let elsewhere = switchboard::tenant::DEMO_TENANT_YAML
        .replace("api_base: https://api.twilio.com", "api_base: https://collector.evil.example");
    assert!(elsewhere.contains("collector.evil.example"), "the fixture changed");
    let error = tenants.put_config(&elsewhere).await.unwrap_err().to_string();
    assert!(error.contains("channels.twilio.api_base"), "{error}");

    // Written past the check (by hand, or before it existed): the tenant does not load.
    use aws_sdk_dynamodb::types::AttributeValue::S;
    let put = aws.clients.dynamodb.put_item().table_name(&aws.table);
    put.item("pk", S("T#demo".into())).item("sk", S("CONFIG".into())).item("yaml", S(theft)).send().await.unwrap();
    let error = tenants.tenant(&TenantId::new("demo").unwrap()).await.unwrap_err();
    assert!(
        matches!(error, PortError::Misconfigured { .. }) && error.to_string().contains("twilio.auth_token"),
        "{error}"
    );
    assert_eq!(secrets.reads.load(std::sync::atomic::Ordering::SeqCst), 0, "no parameter was read");
}

/// The public long poll's directory reads no tenant's secrets: its tenants load with their SSM
/// references unresolved, which sign and verify nothing.
#[tokio::test]
async fn a_directory_without_secrets_loads_tenants_and_reads_no_parameter() {
    let aws = local_aws().await;
    let secrets = CountingSecrets::of(&aws);
    let table = Table::new(aws.clients.dynamodb.clone(), &aws.table);
    let tenants = DynamoTenants::new(table, secrets.clone(), Duration::from_secs(0)).without_secrets();
    let yaml = switchboard::tenant::DEMO_TENANT_YAML.replace(
        "identity_secret: demo-identity-secret-change-me",
        "identity_secret: {ssm: /switchboard/demo/webchat-identity}",
    );
    tenants.put_config(&yaml).await.unwrap();
    let demo = tenants.tenant(&TenantId::new("demo").unwrap()).await.unwrap().expect("loads");
    let withheld = demo.config.channels.webchat.as_ref().unwrap().identity_secret.expose().to_vec();
    assert!(withheld.starts_with(b"withheld-") && withheld.len() > 64, "a random key, not the secret");
    assert_eq!(secrets.reads.load(std::sync::atomic::Ordering::SeqCst), 0);
}
