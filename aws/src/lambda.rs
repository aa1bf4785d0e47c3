//! Lambda glue shared by the SQS-triggered functions: batches with partial failures.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use serde::de::DeserializeOwned;
use std::time::Duration;
use switchboard_core::ports::PortError;
use switchboard_engine::pipeline::Verdict;
use tracing::Instrument;

/// The body of an SQS record, parsed. A record that does not parse is a poison message: it is
/// reported failed, and the queue's redrive policy parks it in the dead-letter queue.
pub fn parse_body<T: DeserializeOwned>(record: &SqsMessage) -> Result<T, String> {
    let body = record.body.as_deref().ok_or("record has no body")?;
    serde_json::from_str(body).map_err(|e| format!("record body is not valid: {e}"))
}

/// When the invocation ends, and the longest one record can take: a record is started only if
/// the time left covers it, and it is cut off before the invocation would be. Lambda kills an
/// invocation at its deadline and retries the whole batch, so a batch that overruns loses every
/// record's progress and, after the redrive policy's receives, parks messages that were fine.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    ends: Option<tokio::time::Instant>,
    per_record: Duration,
}

/// Kept free at the end of an invocation to report the batch.
const REPORT_MARGIN: Duration = Duration::from_millis(500);

impl Deadline {
    /// No deadline (the local runner, tests).
    pub fn none() -> Self {
        Self { ends: None, per_record: Duration::ZERO }
    }

    /// Ends `left` from now; a record needs at most `per_record`.
    pub fn after(left: Duration, per_record: Duration) -> Self {
        Self { ends: Some(tokio::time::Instant::now() + left), per_record }
    }

    /// From Lambda's context deadline (milliseconds since the epoch).
    pub fn from_lambda(deadline_ms: u64, per_record: Duration) -> Self {
        let now_ms = chrono::Utc::now().timestamp_millis().max(0) as u64;
        Self::after(Duration::from_millis(deadline_ms.saturating_sub(now_ms)), per_record)
    }

    fn left(&self) -> Option<Duration> {
        self.ends.map(|end| end.saturating_duration_since(tokio::time::Instant::now()).saturating_sub(REPORT_MARGIN))
    }

    /// Whether one more record can be started.
    fn covers_one_more(&self) -> bool {
        self.left().is_none_or(|left| left >= self.per_record)
    }

    /// Runs `work`, cut off before the invocation would end.
    async fn run<Fut: Future<Output = Result<(), Failed>>>(&self, work: Fut) -> Result<(), Failed> {
        match self.left() {
            Some(left) => tokio::time::timeout(left, work)
                .await
                .unwrap_or_else(|_| Err(Failed::from("cut off before the invocation deadline".to_string()))),
            None => work.await,
        }
    }

    /// The time left to hand records back: half the margin kept for the report.
    fn left_to_report(&self) -> Option<Duration> {
        self.ends
            .map(|end| end.saturating_duration_since(tokio::time::Instant::now()).saturating_sub(REPORT_MARGIN / 2))
    }
}

/// The worst case of one responder record, from the timeouts it can meet: the hosted model
/// twice (classify, then write an answer), one provider send, and a second for the stores.
/// docs/design.md derives the template's timeouts from it.
pub fn responder_record_budget(model_timeout: Duration, http_timeout: Duration) -> Duration {
    model_timeout * 2 + http_timeout + Duration::from_secs(1)
}

/// The worst case of one escalation record: a lookup and a create (sent at most once), plus
/// the stores.
pub fn escalation_record_budget(http_timeout: Duration) -> Duration {
    http_timeout * 2 + Duration::from_secs(2)
}

/// A record that failed: why, and how long the other side asked us to wait (a 429's
/// `Retry-After`). Without such a wait the record backs off by how often it has been received.
#[derive(Debug)]
pub struct Failed {
    reason: String,
    wait: Option<Duration>,
}

impl Failed {
    /// Failed; try again after the other side's `wait`.
    pub fn after(reason: impl Into<String>, wait: Duration) -> Self {
        Self { reason: reason.into(), wait: Some(wait) }
    }
}

impl From<String> for Failed {
    fn from(reason: String) -> Self {
        Self { reason, wait: None }
    }
}

/// The records of one batch that go back to the queue, and when each is to be seen again.
/// Without this, a record reported failed stays invisible for the queue's whole visibility
/// timeout (360 s): a moment's failure would delay the customer's answer by six minutes.
struct HandBack<'a> {
    redelivery: Option<&'a dyn Redelivery>,
    records: Vec<(String, Duration)>,
}

impl<'a> HandBack<'a> {
    fn new(redelivery: Option<&'a dyn Redelivery>) -> Self {
        Self { redelivery, records: Vec::new() }
    }

    /// `record` failed, or was not started (the deadline, or an earlier failure in its FIFO
    /// batch): back after the other side's `wait`, or else its backoff. A record not started
    /// backs off too: every receive counts toward the redrive policy, and in an outage a record
    /// that came back at once, behind one failing record after another, would use up its
    /// receives in seconds and be parked. (SQS holds a FIFO record back while an earlier one of
    /// its group is invisible, so the order within a conversation stands either way.)
    fn push(&mut self, record: &Record, wait: Option<Duration>) {
        if let Some(redelivery) = self.redelivery {
            let wait = wait.unwrap_or_else(|| redelivery.backoff(record.receives));
            self.records.push((record.receipt_handle.clone(), wait));
        }
    }

    /// Tells SQS, in one request; if that fails, the records come back after the visibility
    /// timeout, as they would have anyway.
    async fn send(self, deadline: &Deadline) {
        let (Some(redelivery), false) = (self.redelivery, self.records.is_empty()) else { return };
        let records: Vec<(&str, Duration)> = self.records.iter().map(|(h, d)| (h.as_str(), *d)).collect();
        let result = match deadline.left_to_report() {
            Some(left) => tokio::time::timeout(left, redelivery.delay(&records)).await.unwrap_or_else(|_| {
                Err(PortError::Unavailable { port: "queue", detail: "no time left before the deadline".into() })
            }),
            None => redelivery.delay(&records).await,
        };
        if let Err(error) = result {
            tracing::warn!(%error, records = records.len(), "could not hand records back early; they come back after the visibility timeout");
        }
    }
}

/// What the batch runners need of a record besides the record itself.
struct Record {
    id: String,
    receipt_handle: String,
    /// How often SQS has handed it out, this time included.
    receives: u32,
    /// Its FIFO message group (one conversation); records without one share one group.
    group: String,
}

impl Record {
    fn of(message: &SqsMessage) -> Self {
        Self {
            id: message.message_id.clone().unwrap_or_default(),
            receipt_handle: message.receipt_handle.clone().unwrap_or_default(),
            receives: message.attributes.get("ApproximateReceiveCount").and_then(|n| n.parse().ok()).unwrap_or(1),
            group: message.attributes.get("MessageGroupId").cloned().unwrap_or_default(),
        }
    }
}

/// How a batch's records relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// A FIFO batch: records in order within their message group (a conversation); at a group's
    /// first record not done, it and every later record of that group are reported failed, so
    /// SQS redelivers them in the same order (answering a conversation's second message before
    /// its first would be wrong). Other groups go on: one tenant's outage must not spend
    /// another's receives.
    Fifo,
    /// A standard-queue batch: every record on its own; only the ones not done are retried.
    Independent,
}

/// Runs `handle` on each record of a batch. Records the deadline cannot cover are not started and
/// are handed back as failures (in `order`); with `redelivery`, every record handed back comes
/// back after its backoff instead of the visibility timeout.
pub async fn batch<F, Fut>(
    event: SqsEvent,
    deadline: Deadline,
    redelivery: Option<&dyn Redelivery>,
    order: Order,
    mut handle: F,
) -> SqsBatchResponse
where
    F: FnMut(SqsMessage) -> Fut,
    Fut: Future<Output = Result<(), Failed>>,
{
    let in_order = order == Order::Fifo;
    let mut response = SqsBatchResponse::default();
    let mut back = HandBack::new(redelivery);
    // Past the deadline nothing more is started; in a FIFO batch, groups with a failure stop.
    let mut out_of_time = false;
    let mut stopped_groups = std::collections::HashSet::new();
    for message in event.records {
        let record = Record::of(&message);
        if !out_of_time && !deadline.covers_one_more() {
            tracing::warn!(message_id = %record.id, "not started: the invocation deadline cannot cover it; handed back");
            out_of_time = in_order;
            back.push(&record, None);
            response.add_failure(record.id);
            continue;
        }
        if out_of_time || stopped_groups.contains(&record.group) {
            back.push(&record, None);
            response.add_failure(record.id);
            continue;
        }
        let span = tracing::info_span!("sqs_record", message_id = %record.id);
        if let Err(failure) = deadline.run(handle(message).instrument(span)).await {
            let after =
                if in_order { "; it and its group's records after it will be retried" } else { "; it will be retried" };
            tracing::error!(message_id = %record.id, error = %failure.reason, "record failed{after}");
            if in_order {
                stopped_groups.insert(record.group.clone());
            }
            back.push(&record, failure.wait);
            response.add_failure(record.id);
        }
    }
    back.send(&deadline).await;
    response
}

/// Parks a record's body with `reason`, or — without a dead-letter queue to park in — fails it,
/// leaving it to the queue's redrive policy.
async fn park(redelivery: Option<&dyn Redelivery>, record: &SqsMessage, reason: &str) -> Result<(), Failed> {
    let Some(redelivery) = redelivery else { return Err(reason.to_string().into()) };
    let body = record.body.as_deref().unwrap_or_default();
    redelivery.park(body, reason).await.map_err(|e| format!("{reason}; parking failed: {e}"))?;
    tracing::error!(reason, "can never succeed: parked in the dead-letter queue");
    Ok(())
}

/// The `inbound` function's router: the shared web chat routes, with API Gateway's request id
/// attached to every request so logs and usage records carry it.
pub fn inbound_router(api: std::sync::Arc<switchboard_edge::web::Api>) -> axum::Router {
    switchboard_edge::web::router(api).layer(axum::middleware::map_request(tag_request_id))
}

async fn tag_request_id(mut request: axum::extract::Request) -> axum::extract::Request {
    use lambda_http::request::RequestContext;
    let id = match request.extensions().get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.request_id.clone(),
        _ => None,
    };
    if let Some(id) = id {
        request.extensions_mut().insert(switchboard_edge::web::RequestId(id));
    }
    request
}

/// The `responder` function's work on one SQS FIFO batch. Records that can never succeed (not a
/// message, an unknown tenant) are parked at once instead of blocking their conversation's group
/// until the redrive policy gives up; a slow model costs time, not messages: the local result
/// stands, and what the deadline cannot cover is handed back unharmed.
pub async fn respond_batch(
    responder: &switchboard_engine::pipeline::Responder,
    redelivery: Option<&dyn Redelivery>,
    deadline: Deadline,
    event: SqsEvent,
) -> SqsBatchResponse {
    batch(event, deadline, redelivery, Order::Fifo, |record| async move {
        let work: switchboard_core::domain::Work = match parse_body(&record) {
            Ok(work) => work,
            Err(reason) => return park(redelivery, &record, &reason).await,
        };
        let error = match responder.handle_work(&work).await {
            Ok(()) => return Ok(()),
            Err(error) => error,
        };
        match Verdict::of_respond(&error) {
            Verdict::Park => park(redelivery, &record, &error.to_string()).await,
            Verdict::Delay(by) => Err(Failed::after(error.to_string(), by)),
            Verdict::Retry => Err(error.to_string().into()),
        }
    })
    .await
}

/// What the SQS-triggered functions do to their records besides failing them.
#[async_trait::async_trait]
pub trait Redelivery: Send + Sync {
    /// Makes each record visible again after its wait, instead of after the queue's visibility
    /// timeout.
    async fn delay(&self, records: &[(&str, Duration)]) -> Result<(), PortError>;
    /// Parks the record in the dead-letter queue now.
    async fn park(&self, body: &str, reason: &str) -> Result<(), PortError>;
    /// How long a record that failed on its `receives`-th receive waits before the next.
    fn backoff(&self, receives: u32) -> Duration;
}

/// A failed record's first retry comes this long after the failure…
pub const FIRST_RETRY: Duration = Duration::from_secs(5);
/// …and no retry waits longer than the queues' visibility timeout in the template.
pub const LONGEST_WAIT: Duration = Duration::from_secs(360);

/// Receives before a record is parked (the template's `maxReceiveCount`).
pub const MAX_RECEIVES: u32 = 8;

/// The wait before the next try of a record that failed on its `receives`-th receive: `first`,
/// four times longer each time, at most `most` (the queue's visibility timeout, which a failed
/// record waits without us). With the template's 5 s and 360 s: 5 s, 20 s, 80 s, 320 s, then
/// 360 s — a moment's failure costs seconds, and an outage still takes half an hour of receives
/// (`maxReceiveCount` 8) before a message is parked.
pub fn backoff(first: Duration, most: Duration, receives: u32) -> Duration {
    let factor = 4u32.saturating_pow(receives.saturating_sub(1).min(15));
    first.saturating_mul(factor).min(most)
}

/// The `escalation` function's work on one SQS batch. A helpdesk's 429 delays the record by its
/// `Retry-After`; a permanent refusal parks it in the dead-letter queue at once (no retry will
/// fix it, and `switchboard dlq redrive` brings it back once the cause is fixed); anything else
/// that fails backs off and is retried until its redrive policy parks it.
pub async fn escalate_batch(
    desk: &switchboard_engine::pipeline::EscalationDesk,
    redelivery: Option<&dyn Redelivery>,
    deadline: Deadline,
    event: SqsEvent,
) -> SqsBatchResponse {
    batch(event, deadline, redelivery, Order::Independent, |record| async move {
        let job: switchboard_core::domain::EscalationJob = match parse_body(&record) {
            Ok(job) => job,
            Err(reason) => return park(redelivery, &record, &reason).await,
        };
        let error = match desk.handle(&job).await {
            Ok(()) => return Ok(()),
            Err(error) => error,
        };
        match Verdict::of(&error) {
            Verdict::Delay(by) => Err(Failed::after(error.to_string(), by)),
            Verdict::Park => {
                park(redelivery, &record, &error.to_string()).await?;
                // If telling the responder fails, the pending timeout still frees the conversation.
                if redelivery.is_some()
                    && let Err(e) = desk.failed(&job, &error.to_string()).await
                {
                    tracing::error!(error = %e, "could not report the failed handoff; the pending timeout will");
                }
                Ok(())
            }
            Verdict::Retry => Err(error.to_string().into()),
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(ids: &[&str]) -> SqsEvent {
        let records: Vec<serde_json::Value> =
            ids.iter().map(|id| serde_json::json!({"messageId": id, "body": id})).collect();
        serde_json::from_value(serde_json::json!({ "Records": records })).unwrap()
    }

    fn failures(r: &SqsBatchResponse) -> Vec<&str> {
        r.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect()
    }

    #[tokio::test]
    async fn fifo_stops_at_the_first_failure() {
        let mut seen = Vec::new();
        let r = batch(event(&["a", "b", "c"]), Deadline::none(), None, Order::Fifo, |m: SqsMessage| {
            seen.push(m.body.clone().unwrap());
            async move { if m.body.as_deref() == Some("b") { Err("boom".to_string().into()) } else { Ok(()) } }
        })
        .await;
        assert_eq!(failures(&r), vec!["b", "c"]);
        assert_eq!(seen, vec!["a", "b"], "c is not attempted out of order");
    }

    /// Remembers what it was asked to do, as SQS would be told it.
    #[derive(Default)]
    struct Recorder {
        delays: std::sync::Mutex<Vec<(String, Duration)>>,
    }

    #[async_trait::async_trait]
    impl Redelivery for Recorder {
        async fn delay(&self, records: &[(&str, Duration)]) -> Result<(), PortError> {
            self.delays.lock().unwrap().extend(records.iter().map(|(h, d)| (h.to_string(), *d)));
            Ok(())
        }
        async fn park(&self, _body: &str, _reason: &str) -> Result<(), PortError> {
            Ok(())
        }
        fn backoff(&self, receives: u32) -> Duration {
            backoff(FIRST_RETRY, LONGEST_WAIT, receives)
        }
    }

    /// Records with receipt handles `h-<id>`, each received `receives` times.
    fn received(ids: &[&str], receives: u32) -> SqsEvent {
        let records: Vec<serde_json::Value> = ids
            .iter()
            .map(|id| {
                serde_json::json!({"messageId": id, "body": id, "receiptHandle": format!("h-{id}"),
                "attributes": {"ApproximateReceiveCount": receives.to_string()}})
            })
            .collect();
        serde_json::from_value(serde_json::json!({ "Records": records })).unwrap()
    }

    #[test]
    fn a_failed_record_backs_off_from_seconds_to_the_visibility_timeout() {
        let waits: Vec<u64> = (1..=6).map(|n| backoff(FIRST_RETRY, LONGEST_WAIT, n).as_secs()).collect();
        assert_eq!(waits, [5, 20, 80, 320, 360, 360]);
        assert_eq!(backoff(FIRST_RETRY, LONGEST_WAIT, u32::MAX), LONGEST_WAIT, "no overflow");
        assert_eq!(backoff(FIRST_RETRY, LONGEST_WAIT, 0), FIRST_RETRY, "a record without a count is a first receive");
    }

    #[tokio::test]
    async fn a_fifo_failure_and_the_records_behind_it_back_off_by_their_receives() {
        let desk = Recorder::default();
        let r = batch(
            received(&["a", "b", "c"], 3),
            Deadline::none(),
            Some(&desk),
            Order::Fifo,
            |m: SqsMessage| async move {
                if m.body.as_deref() == Some("b") { Err("boom".to_string().into()) } else { Ok(()) }
            },
        )
        .await;
        assert_eq!(failures(&r), vec!["b", "c"]);
        let delays = desk.delays.lock().unwrap().clone();
        assert_eq!(
            delays,
            vec![("h-b".to_string(), Duration::from_secs(80)), ("h-c".to_string(), Duration::from_secs(80))],
            "b failed on its third receive and c, not started, is on its third too (had it come back at \
             once, an outage would spend its receives in seconds); a succeeded and is not touched"
        );
    }

    /// One tenant's provider down must not park another's messages: in a FIFO batch a failure
    /// holds back only its own message group (its conversation); the other groups' records are
    /// handled, and nothing of theirs is handed back or counts a receive.
    #[tokio::test]
    async fn a_fifo_failure_holds_back_its_own_message_group_only() {
        let desk = Recorder::default();
        let records: Vec<serde_json::Value> = [("a1", "down"), ("b1", "up"), ("a2", "down"), ("b2", "up")]
            .iter()
            .map(|(id, group)| {
                serde_json::json!({"messageId": id, "body": id, "receiptHandle": format!("h-{id}"),
                "attributes": {"ApproximateReceiveCount": "2", "MessageGroupId": group}})
            })
            .collect();
        let event: SqsEvent = serde_json::from_value(serde_json::json!({ "Records": records })).unwrap();
        let mut seen = Vec::new();
        let r = batch(event, Deadline::none(), Some(&desk), Order::Fifo, |m: SqsMessage| {
            seen.push(m.body.clone().unwrap());
            async move { if m.body.as_deref() == Some("a1") { Err("provider down".to_string().into()) } else { Ok(()) } }
        })
        .await;
        assert_eq!(failures(&r), vec!["a1", "a2"], "the failed group, in order");
        assert_eq!(seen, vec!["a1", "b1", "b2"], "a2 is not attempted out of order; b's go on");
        let handed: Vec<String> = desk.delays.lock().unwrap().iter().map(|(h, _)| h.clone()).collect();
        assert_eq!(handed, vec!["h-a1", "h-a2"]);
    }

    #[tokio::test]
    async fn a_wait_the_other_side_asked_for_wins_over_the_backoff() {
        let desk = Recorder::default();
        let r = batch(
            received(&["a", "b"], 1),
            Deadline::none(),
            Some(&desk),
            Order::Independent,
            |m: SqsMessage| async move {
                match m.body.as_deref() {
                    Some("a") => Err(Failed::after("429", Duration::from_secs(42))),
                    _ => Err("503".to_string().into()),
                }
            },
        )
        .await;
        assert_eq!(failures(&r), vec!["a", "b"]);
        let delays = desk.delays.lock().unwrap().clone();
        assert_eq!(delays, vec![("h-a".to_string(), Duration::from_secs(42)), ("h-b".to_string(), FIRST_RETRY)]);
    }

    #[tokio::test(start_paused = true)]
    async fn records_the_deadline_cannot_cover_come_back_after_their_backoff() {
        let desk = Recorder::default();
        let deadline = Deadline::after(Duration::from_secs(2), Duration::from_secs(3));
        let r =
            batch(
                received(&["a"], 1),
                deadline,
                Some(&desk),
                Order::Independent,
                |_m: SqsMessage| async move { Ok(()) },
            )
            .await;
        assert_eq!(failures(&r), vec!["a"]);
        assert_eq!(desk.delays.lock().unwrap().clone(), vec![("h-a".to_string(), FIRST_RETRY)]);
    }

    #[tokio::test]
    async fn standard_batches_fail_only_the_failing_records() {
        let r =
            batch(event(&["a", "b", "c"]), Deadline::none(), None, Order::Independent, |m: SqsMessage| async move {
                if m.body.as_deref() == Some("b") { Err("boom".to_string().into()) } else { Ok(()) }
            })
            .await;
        assert_eq!(failures(&r), vec!["b"]);
    }

    #[tokio::test(start_paused = true)]
    async fn records_the_deadline_cannot_cover_are_handed_back_in_order() {
        // 10 s left, 3 s per record at worst, each record taking 2 s: four fit (the last one
        // starts with 3.5 s left), the rest are handed back without being started.
        let deadline = Deadline::after(Duration::from_secs(10), Duration::from_secs(3));
        let mut started = Vec::new();
        let ids = ["a", "b", "c", "d", "e", "f"];
        let r = batch(event(&ids), deadline, None, Order::Fifo, |m: SqsMessage| {
            started.push(m.body.clone().unwrap());
            async move {
                tokio::time::sleep(Duration::from_secs(2)).await;
                Ok(())
            }
        })
        .await;
        assert_eq!(started, vec!["a", "b", "c", "d"]);
        assert_eq!(failures(&r), vec!["e", "f"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_record_that_would_outlive_the_invocation_is_cut_off_and_handed_back() {
        let start = tokio::time::Instant::now();
        let deadline = Deadline::after(Duration::from_secs(10), Duration::from_secs(1));
        let r = batch(event(&["slow", "next"]), deadline, None, Order::Independent, |_m: SqsMessage| async move {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok(())
        })
        .await;
        assert_eq!(failures(&r), vec!["slow", "next"]);
        assert!(start.elapsed() < Duration::from_secs(10), "returned before the deadline: {:?}", start.elapsed());
    }

    #[test]
    fn failures_get_one_verdict_everywhere() {
        let p = |e: PortError| Verdict::of(&e);
        assert_eq!(p(PortError::Rejected { port: "x", detail: String::new() }), Verdict::Park);
        assert_eq!(p(PortError::Corrupt { port: "x", detail: String::new() }), Verdict::Park);
        assert_eq!(p(PortError::Unavailable { port: "x", detail: String::new() }), Verdict::Retry);
        assert_eq!(p(PortError::Misconfigured { port: "x", detail: String::new() }), Verdict::Retry);
        assert_eq!(
            p(PortError::RateLimited { port: "x", retry_after: Duration::from_secs(7) }),
            Verdict::Delay(Duration::from_secs(7))
        );
        let unknown = switchboard_engine::pipeline::RespondError::UnknownTenant(
            switchboard_core::domain::TenantId::new("gone").unwrap(),
        );
        assert_eq!(Verdict::of_respond(&unknown), Verdict::Park);
    }

    /// The template's numbers follow the one calculation: each SQS-triggered function's timeout
    /// covers two worst-case records, and its queue's visibility timeout is at least six times
    /// the function's timeout (AWS's guidance), so a record is never visible again while the
    /// invocation that holds it still runs.
    #[test]
    fn template_timeouts_follow_the_calculation() {
        let template: serde_norway::Value =
            serde_norway::from_str(include_str!("../../infra/template.yaml")).expect("the template is YAML");
        let r = &template["Resources"];
        let seconds = |v: &serde_norway::Value| {
            v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok())).expect("a number") as u32
        };
        let model = Duration::from_millis(seconds(
            &r["ResponderFunction"]["Properties"]["Environment"]["Variables"]["SWITCHBOARD_BEDROCK_TIMEOUT_MS"],
        ) as u64);
        let budgets = [
            (
                "ResponderFunction",
                "MessagesQueue",
                responder_record_budget(model, switchboard_edge::http::DEFAULT_TIMEOUT),
            ),
            (
                "EscalationFunction",
                "EscalationsQueue",
                escalation_record_budget(switchboard_edge::http::DEFAULT_TIMEOUT),
            ),
        ];
        for (function, queue, budget) in budgets {
            let timeout = seconds(&r[function]["Properties"]["Timeout"]);
            assert!(
                Duration::from_secs(timeout.into()) >= budget * 2,
                "{function}: {timeout} s for records of up to {budget:?}"
            );
            let visibility = seconds(&r[queue]["Properties"]["VisibilityTimeout"]);
            assert!(visibility >= 6 * timeout, "{queue}: visibility {visibility} s < 6 × {timeout} s");
            // The backoff never waits longer than a failed record would without it, and an
            // outage gets about half an hour of receives before its messages are parked.
            assert_eq!(LONGEST_WAIT, Duration::from_secs(visibility.into()), "{queue}");
            let receives = seconds(&r[queue]["Properties"]["RedrivePolicy"]["maxReceiveCount"]);
            assert_eq!(receives, MAX_RECEIVES, "{queue}");
            let patience: Duration = (1..=receives).map(|n| backoff(FIRST_RETRY, LONGEST_WAIT, n)).sum();
            assert!(patience >= Duration::from_secs(25 * 60), "{queue}: parked after {patience:?}");
        }
        let inbound = seconds(&r["InboundFunction"]["Properties"]["Timeout"]);
        assert!(inbound < 30, "API Gateway gives up at 30 s");
    }

    /// The IAM policies of `function` in the SAM template, as YAML text.
    fn policies(function: &str) -> String {
        let template: serde_norway::Value =
            serde_norway::from_str(include_str!("../../infra/template.yaml")).expect("the template is YAML");
        serde_norway::to_string(&template["Resources"][function]["Properties"]["Policies"]).expect("policies")
    }

    /// The DynamoDB actions `function`'s policies allow, SAM's policy templates expanded as SAM
    /// expands them, each with the statement text it comes from.
    fn dynamodb_actions(function: &str) -> Vec<(String, String)> {
        let template: serde_norway::Value =
            serde_norway::from_str(include_str!("../../infra/template.yaml")).expect("the template is YAML");
        let mut found = Vec::new();
        let policies = template["Resources"][function]["Properties"]["Policies"].as_sequence().cloned();
        for policy in policies.unwrap_or_default() {
            let text = serde_norway::to_string(&policy).expect("policy");
            let expanded: &[&str] = if !policy["DynamoDBCrudPolicy"].is_null() {
                &[
                    "GetItem",
                    "DeleteItem",
                    "PutItem",
                    "Scan",
                    "Query",
                    "UpdateItem",
                    "BatchWriteItem",
                    "BatchGetItem",
                    "DescribeTable",
                    "ConditionCheckItem",
                ]
            } else if !policy["DynamoDBReadPolicy"].is_null() {
                &["GetItem", "Scan", "Query", "BatchGetItem", "DescribeTable"]
            } else {
                &[]
            };
            found.extend(expanded.iter().map(|a| (a.to_string(), text.clone())));
            for statement in policy["Statement"].as_sequence().into_iter().flatten() {
                let statement_text = serde_norway::to_string(statement).expect("statement");
                let actions = match &statement["Action"] {
                    serde_norway::Value::String(a) => vec![a.clone()],
                    serde_norway::Value::Sequence(list) => {
                        list.iter().filter_map(|a| a.as_str().map(str::to_string)).collect()
                    }
                    _ => Vec::new(),
                };
                for action in actions {
                    if let Some(a) = action.strip_prefix("dynamodb:") {
                        found.push((a.to_string(), statement_text.clone()));
                    }
                }
            }
        }
        found
    }

    /// The public long poll verifies read tokens, which the deployment key derives: it reads
    /// that parameter and none of the tenants' (the shared policy reads all of `/switchboard/*`).
    #[test]
    fn the_poll_function_reads_the_deployment_key_and_no_tenants_secrets() {
        let poll = policies("PollFunction");
        assert!(!poll.contains("ReadSecretsPolicy") && !poll.contains("parameter/switchboard/*"), "{poll}");
        assert!(poll.contains("parameter${DeploymentKeyParameter}"), "{poll}");
        let template: serde_norway::Value =
            serde_norway::from_str(include_str!("../../infra/template.yaml")).expect("the template is YAML");
        let variables = &template["Resources"]["PollFunction"]["Properties"]["Environment"]["Variables"];
        assert_eq!(variables["SWITCHBOARD_TENANT_SECRETS"].as_str(), Some("none"), "it resolves no tenant secret");
    }

    /// Every function writes its requests' cost records (a put and a day-total update). The poll
    /// function once had a read-only policy: in AWS each poll's record was an AccessDenied.
    #[test]
    fn every_function_may_write_its_cost_records() {
        for function in ["InboundFunction", "PollFunction", "ResponderFunction", "EscalationFunction"] {
            let actions: Vec<String> = dynamodb_actions(function).into_iter().map(|(a, _)| a).collect();
            for needed in ["PutItem", "UpdateItem"] {
                assert!(actions.contains(&needed.to_string()), "{function} may not dynamodb:{needed}: {actions:?}");
            }
        }
    }

    /// The poll function is behind a public route: every statement letting it write is bounded
    /// by `dynamodb:LeadingKeys` to cost-ledger and held-poll keys. (Which actions each function
    /// may call is checked against the calls its code makes, in
    /// `tests/deployed.rs::each_function_is_granted_what_its_code_calls_and_nothing_more`.)
    #[test]
    fn the_poll_functions_writes_are_bounded_to_its_own_keys() {
        let writes: Vec<(String, String)> =
            dynamodb_actions("PollFunction").into_iter().filter(|(a, _)| a != "GetItem" && a != "Query").collect();
        assert!(!writes.is_empty());
        for (_, statement) in writes {
            let keys = statement.contains("T#*#COST#*") || statement.contains("T#*#POLL#*");
            assert!(statement.contains("dynamodb:LeadingKeys") && keys, "{statement}");
        }
    }

    /// A failed record is handed back with ChangeMessageVisibility, which the SQS event source's
    /// managed policy does not grant: without its own statement every hand-back is an
    /// AccessDenied and the record comes back only after the visibility timeout.
    #[test]
    fn each_function_may_hand_back_its_own_records() {
        for (function, queue) in [("EscalationFunction", "EscalationsQueue"), ("ResponderFunction", "MessagesQueue")] {
            let policies = policies(function);
            let delay = policies.split("- Effect").find(|s| s.contains("sqs:ChangeMessageVisibility"));
            let delay = delay.unwrap_or_else(|| panic!("{function}: a statement allowing sqs:ChangeMessageVisibility"));
            assert!(delay.contains(&format!("{queue}.Arn")), "{function}: on its own queue only: {delay}");
        }
    }

    /// An inference profile (`us.anthropic…`) routes each call to a foundation model in one of
    /// several regions: the responder may invoke the profile, and foundation models only through
    /// that profile.
    #[test]
    fn the_responder_may_invoke_an_inference_profile_and_the_models_it_routes_to() {
        let responder = policies("ResponderFunction");
        assert!(responder.contains("inference-profile/${BedrockModelId}"), "{responder}");
        let routed = responder.split("- Effect").find(|s| s.contains("bedrock:InferenceProfileArn"));
        let routed = routed.expect("foundation models allowed through the profile only");
        assert!(routed.contains("foundation-model/*"), "{routed}");
    }

    /// Operable: every dead-letter queue, every function's errors and throttles, failed handoffs,
    /// budget alerts and the hosted model's failure rate have an alarm on the topic parameter
    /// (none without one, so idle cost stays $0); every function logs JSON to a log group whose
    /// retention is a parameter; one dashboard.
    #[test]
    fn every_failure_an_operator_must_see_has_an_alarm_and_logs_are_kept_as_long_as_asked() {
        let template: serde_norway::Value =
            serde_norway::from_str(include_str!("../../infra/template.yaml")).expect("the template is YAML");
        let resources = template["Resources"].as_mapping().expect("Resources");
        let alarms: Vec<String> = resources
            .values()
            .filter(|r| r["Type"].as_str() == Some("AWS::CloudWatch::Alarm"))
            .map(|r| {
                assert_eq!(r["Condition"].as_str(), Some("HasAlarms"), "alarms only with a topic: {r:?}");
                serde_norway::to_string(&r["Properties"]).expect("alarm")
            })
            .collect();
        let watched = |needle: &str| alarms.iter().filter(|a| a.contains(needle)).count();
        for queue in ["MessagesDeadLetterQueue", "EscalationsDeadLetterQueue"] {
            assert_eq!(watched(&format!("{queue}.QueueName")), 1, "{queue} depth");
        }
        for function in ["InboundFunction", "PollFunction", "ResponderFunction", "EscalationFunction"] {
            let mine: Vec<&String> = alarms.iter().filter(|a| a.contains(&format!("Value: !Ref {function}"))).collect();
            for metric in ["MetricName: Errors", "MetricName: Throttles"] {
                assert_eq!(mine.iter().filter(|a| a.contains(metric)).count(), 1, "{function} {metric}");
            }
            let properties = &template["Resources"][function]["Properties"];
            let group = serde_norway::to_string(&properties["LoggingConfig"]["LogGroup"]).expect("log group");
            let group = group.trim().trim_start_matches("!Ref ").to_string();
            assert_eq!(properties["LoggingConfig"]["LogFormat"].as_str(), Some("JSON"), "{function}");
            let retention =
                serde_norway::to_string(&template["Resources"][group.as_str()]["Properties"]["RetentionInDays"]);
            assert_eq!(retention.expect("retention").trim(), "!Ref LogRetentionDays", "{function}'s {group}");
        }
        for metric in ["MetricName: EscalationFailed", "MetricName: BudgetAlert", "MetricName: ModelFailures"] {
            assert_eq!(watched(metric), 1, "{metric}");
        }
        assert!(alarms.iter().all(|a| a.contains("AlarmActions") && a.contains("AlarmTopicArn")), "{alarms:?}");
        assert!(resources.values().any(|r| r["Type"].as_str() == Some("AWS::CloudWatch::Dashboard")));
        let tracing = serde_norway::to_string(&template["Globals"]["Function"]["Tracing"]).expect("tracing");
        assert_eq!(tracing.trim(), "!Ref Tracing", "X-Ray is a parameter");
    }
}
