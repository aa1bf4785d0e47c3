//! `switchboard forecast`: past customer messages replayed through the real pipeline on the
//! embedded default — the tenant's classifier, policy, rollout modes, templates and FAQ — to
//! say before go-live what share the bot would resolve, how often its answers would likely be
//! wrong, what would go to people, and what a month would cost at the business's volume, beside
//! the alternatives' published prices.

use anyhow::{Context, Result};
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use switchboard::Tenant;
use switchboard::cost::PriceTable;
use switchboard::domain::{Channel, ConversationId, Decision, InboundMessage, MessageId, Sender};
use switchboard::embedded::{Embedded, Options};
use switchboard::history::{self, Format, Past};

/// What `forecast` prints.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Output {
    /// For a person.
    Table,
    /// Everything, for a tool.
    Json,
    /// One self-contained page (inline CSS and SVG, no script), to mail or open from disk.
    Html,
}

/// Counts over some of the replayed messages.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Tally {
    /// Messages.
    pub messages: u64,
    /// The bot answered (alone, or beside a handoff).
    pub answered: u64,
    /// The bot answered alone (no person involved): what may resolve.
    pub resolved_by_bot: u64,
    /// Went to a person (with or without a bot answer).
    pub handed_to_people: u64,
    /// Recorded only: intents in shadow mode.
    pub shadowed: u64,
    /// Would ask the hosted model (local confidence under `classifier.hosted_below`).
    pub hosted_calls: u64,
    /// Bot answers checked against the history's own label (its tag is one of the tenant's
    /// intents), and of those, answered for another intent.
    pub labelled_answers: u64,
    /// Of the labelled answers, those for another intent than the label.
    pub wrong_labelled: u64,
    /// The expected number of wrong answers by the classifier's own confidence (calibrated).
    pub expected_wrong: f64,
    /// What the responder's replay cost (nano-dollars): its share of the path.
    pub cost_nanos: u64,
}

impl Tally {
    fn add(&mut self, o: &Replayed) {
        self.messages += 1;
        self.answered += u64::from(o.answered);
        self.resolved_by_bot += u64::from(o.answered && !o.escalated);
        self.handed_to_people += u64::from(o.escalated);
        self.shadowed += u64::from(o.shadowed);
        self.hosted_calls += u64::from(o.hosted);
        if o.answered {
            self.expected_wrong += f64::from(1.0 - o.confidence.clamp(0.0, 1.0));
            if let Some(right) = o.right {
                self.labelled_answers += 1;
                self.wrong_labelled += u64::from(!right);
            }
        }
        self.cost_nanos += o.cost_nanos;
    }

    /// The share of bot answers likely wrong, and how it was found: against the history's
    /// labels when at least 20 answers carry one, else from the classifier's confidence.
    fn wrong(&self) -> (f64, &'static str) {
        let answered = self.answered.max(1) as f64;
        if self.labelled_answers >= 20 {
            (self.wrong_labelled as f64 / self.labelled_answers as f64, "measured against the history's labels")
        } else {
            (self.expected_wrong / answered, "estimated from the classifier's confidence")
        }
    }
}

/// One message's replay.
#[derive(Clone)]
struct Replayed {
    intent: String,
    language: String,
    answered: bool,
    escalated: bool,
    shadowed: bool,
    hosted: bool,
    confidence: f32,
    right: Option<bool>,
    cost_nanos: u64,
}

/// The forecast.
#[derive(Debug, Clone, Serialize)]
pub struct Forecast {
    /// The tenant.
    pub tenant: String,
    /// Messages replayed.
    pub replayed: u64,
    /// Overall.
    pub overall: Shares,
    /// Per intent the bot recognised (`none`: not recognised).
    pub by_intent: BTreeMap<String, Shares>,
    /// Per intent: the confidence threshold that keeps its wrong answers under the target, and
    /// the mode to start it in.
    pub recommended: BTreeMap<String, Recommendation>,
    /// The share of wrong answers the recommendations keep each intent under.
    pub target_wrong: f64,
    /// Per reply language.
    pub by_language: BTreeMap<String, Shares>,
    /// A month at the business's volume.
    pub month: Month,
}

/// Shares of one group of messages.
#[derive(Debug, Clone, Serialize)]
pub struct Shares {
    /// Messages.
    pub messages: u64,
    /// Answered by the bot (alone, or beside a handoff).
    pub answered: f64,
    /// Resolved by the bot alone.
    pub resolved: f64,
    /// Of the bot's answers, likely wrong.
    pub wrong: f64,
    /// How `wrong` was found.
    pub wrong_basis: &'static str,
    /// Handed to people.
    pub to_people: f64,
    /// Recorded only (shadow mode).
    pub shadowed: f64,
    /// Asking the hosted model.
    pub hosted: f64,
}

impl From<&Tally> for Shares {
    fn from(t: &Tally) -> Self {
        let n = t.messages.max(1) as f64;
        let (wrong, wrong_basis) = t.wrong();
        Shares {
            messages: t.messages,
            answered: t.answered as f64 / n,
            resolved: t.resolved_by_bot as f64 / n,
            wrong,
            wrong_basis,
            to_people: t.handed_to_people as f64 / n,
            shadowed: t.shadowed as f64 / n,
            hosted: t.hosted_calls as f64 / n,
        }
    }
}

/// What to set for one intent.
#[derive(Debug, Clone, Serialize)]
pub struct Recommendation {
    /// `policy.intent_min_confidence` for it; `None` when no threshold gets under the target.
    pub min_confidence: Option<f32>,
    /// The share of the messages classified as it that the threshold keeps for the bot (the
    /// rest go to a person), answered or not today: an intent without a template yet is
    /// judged on what its answers would be.
    pub keeps: f64,
    /// Its answers' wrong share at that threshold.
    pub wrong: f64,
    /// `auto` (under the target, keeping at least half its answers), `assist` (under the target
    /// only by holding most back, or too few answers to tell) or `shadow` (never under it).
    pub mode: &'static str,
}

/// Answers an intent needs before the forecast trusts a recommendation for it.
const MIN_ANSWERS: usize = 5;

/// Thresholds tried, from the tenant's own up.
const THRESHOLDS: [f32; 11] = [0.0, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9];

/// The lowest threshold that keeps `answers`' wrong share at or under `target`: measured where
/// the history labels them, else from their confidence.
fn recommend(answers: &[&Replayed], floor: f32, target: f64) -> Recommendation {
    let wrong_at = |t: f32| {
        let kept: Vec<&&Replayed> = answers.iter().filter(|r| r.confidence >= t).collect();
        let labelled: Vec<bool> = kept.iter().filter_map(|r| r.right).collect();
        let wrong = if labelled.len() >= MIN_ANSWERS {
            labelled.iter().filter(|right| !**right).count() as f64 / labelled.len() as f64
        } else {
            kept.iter().map(|r| f64::from(1.0 - r.confidence.clamp(0.0, 1.0))).sum::<f64>() / kept.len().max(1) as f64
        };
        (kept.len() as f64 / answers.len().max(1) as f64, wrong)
    };
    let found = THRESHOLDS
        .iter()
        .map(|t| t.max(floor))
        .map(|t| (t, wrong_at(t)))
        .find(|(_, (keeps, wrong))| *keeps > 0.0 && *wrong <= target);
    match found {
        Some((t, (keeps, wrong))) => Recommendation {
            min_confidence: Some(t),
            keeps,
            wrong,
            mode: if answers.len() < MIN_ANSWERS || keeps < 0.5 { "assist" } else { "auto" },
        },
        None => {
            let (keeps, wrong) = wrong_at(floor);
            Recommendation { min_confidence: None, keeps, wrong, mode: "shadow" }
        }
    }
}

/// A month at the business's volume.
#[derive(Debug, Clone, Serialize)]
pub struct Month {
    /// Messages a month.
    pub messages: u64,
    /// Of which the bot would resolve.
    pub resolved: u64,
    /// All in: AWS and channel fees as replayed, plus the hosted model's calls at the price
    /// table (US dollars).
    pub cost_usd: f64,
    /// Of which the hosted model.
    pub hosted_model_usd: f64,
    /// Per resolution.
    pub per_resolution_usd: f64,
    /// The model priced for hosted calls.
    pub priced_model: String,
    /// The same work elsewhere, at published prices (sources with each).
    pub alternatives: Vec<switchboard::cost::report::Alternative>,
}

/// Replays `source` for the tenant file at `path`; `volume` messages a month (default: as many
/// as the history holds).
pub async fn forecast(
    path: &Path,
    source: &Path,
    from: Option<Format>,
    volume: Option<u64>,
    model_id: &str,
    target_wrong: f64,
) -> Result<Forecast> {
    // Standard output is the forecast: the replay's metric lines are counted, not printed.
    switchboard::metrics::silence();
    let yaml = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let name = path.display().to_string();
    let tenant = Tenant::from_yaml(&name, &yaml)?;
    let format = match from {
        Some(f) => f,
        None => Format::detect(source)?,
    };
    let mut messages = history::read(source, format)?;
    anyhow::ensure!(!messages.is_empty(), "{}: no customer message in it", source.display());
    // The newest, as `import history` keeps them (exports list the newest last).
    messages.drain(..messages.len().saturating_sub(history::MAX_MESSAGES));
    let intents: HashSet<String> = tenant.config.intents.iter().map(|i| i.name.clone()).collect();
    let hosted_below = tenant.config.classifier.hosted_below;
    let call_usd = switchboard::eval::tenant::hosted_call_usd(&tenant.config, &PriceTable::default_table(), model_id)
        .ok_or_else(|| {
        anyhow::anyhow!("the price table has no price for the model `{model_id}`: a forecast's cost would be a guess")
    })?;
    let id = tenant.id.clone();
    let app = Embedded::start(
        vec![Tenant::from_yaml(&name, &yaml)?],
        Options { print_escalations: false, ..Options::default() },
    )
    .await?;
    let mut overall = Tally::default();
    let mut by_intent: BTreeMap<String, Tally> = BTreeMap::new();
    let mut by_language: BTreeMap<String, Tally> = BTreeMap::new();
    let mut all = Vec::with_capacity(messages.len());
    for (i, past) in messages.iter().enumerate() {
        let replayed = replay(&app, &id, i, past, &intents, hosted_below).await?;
        overall.add(&replayed);
        by_intent.entry(replayed.intent.clone()).or_default().add(&replayed);
        by_language.entry(replayed.language.clone()).or_default().add(&replayed);
        all.push(replayed);
    }
    let floor = tenant.config.policy.min_confidence;
    // Every message classified as the intent, answered or not: an intent without a template yet
    // is judged on what its answers would be once it has one.
    let recommended = by_intent
        .keys()
        .filter(|intent| intents.contains(*intent))
        .filter_map(|intent| {
            let answers: Vec<&Replayed> = all.iter().filter(|r| &r.intent == intent).collect();
            (!answers.is_empty()).then(|| (intent.clone(), recommend(&answers, floor, target_wrong)))
        })
        .collect();
    let volume = volume.unwrap_or(overall.messages).max(1);
    let scale = volume as f64 / overall.messages.max(1) as f64;
    let resolved = (overall.resolved_by_bot as f64 * scale).round() as u64;
    let hosted_model_usd = overall.hosted_calls as f64 * scale * call_usd;
    // What the whole path costs — API Gateway, the inbound function, the queue, the responder,
    // the escalation desk — is what the same messages cost through `serve`'s web chat API.
    let served_nanos = through_serve(&name, &yaml, &messages).await?;
    let cost_usd = served_nanos as f64 / 1e9 * scale + hosted_model_usd;
    Ok(Forecast {
        tenant: id.to_string(),
        replayed: overall.messages,
        overall: Shares::from(&overall),
        by_intent: by_intent.iter().map(|(k, t)| (k.clone(), Shares::from(t))).collect(),
        by_language: by_language.iter().map(|(k, t)| (k.clone(), Shares::from(t))).collect(),
        recommended,
        target_wrong,
        month: Month {
            messages: volume,
            resolved,
            cost_usd,
            hosted_model_usd,
            per_resolution_usd: if resolved > 0 { cost_usd / resolved as f64 } else { 0.0 },
            priced_model: model_id.to_string(),
            alternatives: switchboard::cost::report::alternatives(resolved, volume),
        },
    })
}

/// The cost, as the ledger records it, of `messages` posted to a fresh embedded app's web chat
/// API and answered by its workers: every function of the path, each request measured.
async fn through_serve(name: &str, yaml: &str, messages: &[Past]) -> Result<u64> {
    use tower::ServiceExt;
    // A month of messages arrives in a minute here: the per-tenant limits are not what is measured.
    let limits = switchboard::limits::LimitSettings {
        tenant_messages_per_minute: u32::MAX,
        visitor_messages_per_minute: u32::MAX,
        ..Default::default()
    };
    let options = Options { print_escalations: false, limits, ..Options::default() };
    let mut replayed = Tenant::from_yaml(name, yaml)?;
    // The messages come in through the web chat API, whatever channels the business uses: a
    // tenant without the web chat gets one for this run (its cost is the web chat's).
    if replayed.config.channels.webchat.is_none() {
        let webchat = "identity_secret: forecast-replay-identity-secret-of-32-bytes";
        replayed.config.channels.webchat = Some(serde_norway::from_str(webchat).context("a web chat for the replay")?);
    }
    let tenant = replayed.id.clone();
    let app = Embedded::start(vec![replayed], options).await?;
    let router = app.router();
    for (i, m) in messages.iter().enumerate() {
        let body = serde_json::json!({"visitor_id": format!("v_serve_{i}"), "text": m.text}).to_string();
        let post = axum::http::Request::post(format!("/v1/{tenant}/webchat/messages"))
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body))
            .context("building a request")?;
        let status = router.clone().oneshot(post).await.map_err(|e| anyhow::anyhow!("{e}"))?.status();
        anyhow::ensure!(
            status == axum::http::StatusCode::ACCEPTED,
            "message {} refused by the web chat API: {status}",
            i + 1
        );
    }
    // The workers answer in the background: wait until every message is in the ledger, as long
    // as a slow machine may take for that many.
    let month = switchboard::cost::Month::of(chrono::Utc::now());
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(30_000 + 20 * messages.len() as u64);
    while std::time::Instant::now() < deadline {
        let now = chrono::Utc::now();
        let report =
            switchboard::cost::report::build(app.ledger.as_ref(), &app.costs.prices, &tenant, None, month, now, 0)
                .await?;
        if report.messages >= messages.len() as u64 {
            return Ok(report.total_nanos);
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    anyhow::bail!("the embedded app did not answer every message in time")
}

/// One past message as a first message of its own web chat conversation, from an anonymous
/// visitor: what a newcomer's question meets.
async fn replay(
    app: &Embedded,
    tenant: &switchboard::domain::TenantId,
    i: usize,
    past: &Past,
    intents: &HashSet<String>,
    hosted_below: f32,
) -> Result<Replayed> {
    let id = MessageId::generate();
    let message = InboundMessage {
        provider_message_id: id.to_string(),
        id,
        tenant: tenant.clone(),
        channel: Channel::Webchat,
        conversation: ConversationId::new(format!("c_forecast_{i}")).map_err(anyhow::Error::msg)?,
        sender: Sender { address: format!("v_forecast_{i}"), customer: None, unverified: false },
        text: past.text.clone(),
        received_at: chrono::Utc::now(),
        request_id: format!("forecast-{i}"),
        thread: None,
        attachments: Vec::new(),
    };
    let outcome = app.responder.respond(&message).await.with_context(|| format!("replaying message {}", i + 1))?;
    let (answered, escalated, shadowed) = match &outcome.decision {
        Decision::Answer { .. } => (true, false, false),
        Decision::AnswerAndEscalate { .. } => (true, true, false),
        Decision::Escalate { .. } => (false, true, false),
        Decision::Shadow { .. } => (false, false, true),
        Decision::Silent | Decision::Rated { .. } => (false, false, false),
    };
    let c = &outcome.classification;
    let label =
        past.tag.as_ref().map(|t| t.trim().to_lowercase().replace([' ', '-'], "_")).filter(|t| intents.contains(t));
    Ok(Replayed {
        intent: c.intent.clone().unwrap_or_else(|| "none".into()),
        language: outcome.cost.outcome.language.map_or_else(|| "-".into(), |l| l.code().to_string()),
        answered,
        escalated,
        shadowed,
        hosted: c.confidence < hosted_below,
        confidence: c.confidence,
        right: label.map(|l| c.intent.as_deref() == Some(l.as_str())),
        cost_nanos: outcome.cost.cost_nanos,
    })
}

/// Puts `f`'s recommendations in the tenant file at `path`: each intent's mode in
/// `rollout.intents` and its threshold, where above the tenant's own, in
/// `policy.intent_min_confidence` (other intents' entries kept). Shows the diff; writes with
/// `write`, only a file that loads and says exactly that.
pub fn write_recommendations(path: &Path, f: &Forecast, write: bool) -> Result<()> {
    let yaml = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let config = switchboard::config::TenantConfig::from_yaml("tenant", &yaml)?;
    let mut modes: BTreeMap<String, String> = config
        .rollout
        .intents
        .iter()
        .map(|(k, v)| {
            (k.clone(), serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default())
        })
        .collect();
    let mut thresholds: BTreeMap<String, f32> = config.policy.intent_min_confidence.clone();
    for (intent, r) in &f.recommended {
        modes.insert(intent.clone(), r.mode.to_string());
        match r.min_confidence.filter(|t| *t > config.policy.min_confidence) {
            Some(t) => thresholds.insert(intent.clone(), t),
            None => thresholds.remove(intent),
        };
    }
    let flow = |pairs: Vec<String>| format!("{{{}}}", pairs.join(", "));
    let mut after = switchboard::knowledge::tenant_file::set_child(
        &yaml,
        "rollout",
        "intents",
        &flow(modes.iter().map(|(k, v)| format!("{k}: {v}")).collect()),
    )
    .map_err(anyhow::Error::msg)?;
    if !thresholds.is_empty() || !config.policy.intent_min_confidence.is_empty() {
        after = switchboard::knowledge::tenant_file::set_child(
            &after,
            "policy",
            "intent_min_confidence",
            &flow(thresholds.iter().map(|(k, v)| format!("{k}: {v:.2}")).collect()),
        )
        .map_err(anyhow::Error::msg)?;
    }
    let name = path.display().to_string();
    Tenant::from_yaml(&name, &after).context("the file with the recommendations would not load; nothing written")?;
    let written = switchboard::config::TenantConfig::from_yaml("tenant", &after)?;
    for (intent, r) in &f.recommended {
        let mode = written.rollout.intents.get(intent).and_then(|m| serde_json::to_value(m).ok());
        anyhow::ensure!(
            mode.as_ref().and_then(|m| m.as_str()) == Some(r.mode),
            "the file would not say `{intent}: {}`; nothing written",
            r.mode
        );
    }
    crate::knowledge::show_or_write(path, &yaml, &after, write, "review the modes and thresholds")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/history").join(name)
    }

    /// The demo tenant's forecast on a labelled history: shares that add up, wrong answers
    /// measured where the history's tags name the tenant's intents, a month's cost scaled to
    /// the volume asked, and the alternatives priced on the same work.
    fn answered(confidence: f32, right: Option<bool>) -> Replayed {
        Replayed {
            intent: "x".into(),
            language: "en".into(),
            answered: true,
            escalated: false,
            shadowed: false,
            hosted: false,
            confidence,
            right,
            cost_nanos: 0,
        }
    }

    /// The threshold is the lowest that keeps the wrong answers under the target, measured on
    /// labelled answers; an intent never under it starts in shadow, one under it only by
    /// holding most answers back in assist.
    #[test]
    fn the_recommended_threshold_is_the_lowest_under_the_target() {
        let mut answers: Vec<Replayed> = (0..10).map(|_| answered(0.9, Some(true))).collect();
        answers.extend((0..3).map(|_| answered(0.52, Some(false))));
        let refs: Vec<&Replayed> = answers.iter().collect();
        let r = recommend(&refs, 0.45, 0.02);
        assert_eq!(r.min_confidence, Some(0.55), "{r:?}");
        assert_eq!((r.mode, r.wrong), ("auto", 0.0));
        assert!((r.keeps - 10.0 / 13.0).abs() < 1e-9);
        let wrong: Vec<Replayed> = (0..10).map(|_| answered(0.95, Some(false))).collect();
        let refs: Vec<&Replayed> = wrong.iter().collect();
        assert_eq!(recommend(&refs, 0.45, 0.02).mode, "shadow");
        let mut mostly_unsure: Vec<Replayed> = (0..8).map(|_| answered(0.6, Some(false))).collect();
        mostly_unsure.extend((0..6).map(|_| answered(0.95, Some(true))));
        let refs: Vec<&Replayed> = mostly_unsure.iter().collect();
        let r = recommend(&refs, 0.45, 0.02);
        assert_eq!((r.min_confidence, r.mode), (Some(0.65), "assist"), "{r:?}");
    }

    /// The forecast is checked against the real thing: the same messages sent to `switchboard
    /// serve`'s web chat API, answered by its workers through the queue, land within a few
    /// points of what the forecast said (the cost ledger counts what was done).
    #[tokio::test]
    async fn the_same_messages_through_serve_land_where_the_forecast_said() {
        use tower::ServiceExt;
        let (dir, file) = crate::knowledge::scratch_tenant("forecast-serve");
        let source = fixture("forecast.csv");
        let f = forecast(&file, &source, None, None, "anthropic.claude-3-haiku-20240307-v1:0", 0.02).await.unwrap();
        let yaml = std::fs::read_to_string(&file).unwrap();
        let options = Options { print_escalations: false, ..Options::default() };
        let app = Embedded::start(vec![Tenant::from_yaml("acme.yaml", &yaml).unwrap()], options).await.unwrap();
        let router = app.router();
        let messages = history::read(&source, Format::Csv).unwrap();
        for (i, m) in messages.iter().enumerate() {
            let body = serde_json::json!({"visitor_id": format!("v_serve_{i}"), "text": m.text}).to_string();
            let post = axum::http::Request::post("/v1/demo/webchat/messages")
                .header("content-type", "application/json")
                .body(axum::body::Body::from(body))
                .unwrap();
            assert_eq!(router.clone().oneshot(post).await.unwrap().status(), axum::http::StatusCode::ACCEPTED);
        }
        let tenant = switchboard::domain::TenantId::new("demo").unwrap();
        let mut report = None;
        for _ in 0..200 {
            let now = chrono::Utc::now();
            let month = switchboard::cost::Month::of(now);
            let r =
                switchboard::cost::report::build(app.ledger.as_ref(), &app.costs.prices, &tenant, None, month, now, 10)
                    .await
                    .unwrap();
            if r.messages == messages.len() as u64 {
                report = Some(r);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        let served = report.expect("every message answered by serve's workers");
        let n = served.messages as f64;
        let (answered, escalated) = (served.answered as f64 / n, served.escalated as f64 / n);
        assert!((answered - f.overall.answered).abs() <= 0.05, "answered: serve {answered}, forecast {:?}", f.overall);
        assert!(
            (escalated - f.overall.to_people).abs() <= 0.05,
            "to people: serve {escalated}, forecast {:?}",
            f.overall
        );
        std::fs::remove_dir_all(&dir).ok();
    }

    /// The recommendations go into the tenant file: modes under `rollout.intents`, thresholds
    /// above the tenant's own under `policy.intent_min_confidence`; once written, writing again
    /// changes nothing.
    #[tokio::test]
    async fn the_recommendations_are_written_into_the_tenant_file() {
        let (dir, file) = crate::knowledge::scratch_tenant("forecast-write");
        let source = fixture("forecast.csv");
        let f = forecast(&file, &source, None, None, "anthropic.claude-3-haiku-20240307-v1:0", 0.02).await.unwrap();
        write_recommendations(&file, &f, false).unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), switchboard::tenant::DEMO_TENANT_YAML, "shown only");
        write_recommendations(&file, &f, true).unwrap();
        let written = std::fs::read_to_string(&file).unwrap();
        let tenant = Tenant::from_yaml("acme.yaml", &written).unwrap();
        for (intent, r) in &f.recommended {
            let mode = tenant.config.rollout.mode(Some(intent));
            assert_eq!(serde_json::to_value(mode).unwrap(), r.mode, "{intent}");
        }
        write_recommendations(&file, &f, true).unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), written, "the same again changes nothing");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[tokio::test]
    async fn a_forecast_replays_the_history_through_the_pipeline() {
        let (dir, file) = crate::knowledge::scratch_tenant("forecast");
        let f = forecast(
            &file,
            &fixture("forecast.csv"),
            None,
            Some(10_000),
            "anthropic.claude-3-haiku-20240307-v1:0",
            0.02,
        )
        .await
        .unwrap();
        assert_eq!(f.replayed, 24);
        let hours_advice = f.recommended.get("opening_hours").expect("a recommendation for opening hours");
        assert!(hours_advice.min_confidence.is_some() && hours_advice.wrong <= 0.02, "{hours_advice:?}");
        assert_eq!(hours_advice.mode, "auto", "{hours_advice:?}");
        let o = &f.overall;
        assert!(o.resolved > 0.3 && o.to_people > 0.0, "{o:?}");
        assert!(o.resolved + o.to_people <= 1.0 + 1e-9, "{o:?}");
        assert_eq!(o.wrong_basis, "measured against the history's labels", "{o:?}");
        assert!(o.wrong < 0.5, "{o:?}");
        let hours = f.by_intent.get("opening_hours").expect("opening hours recognised");
        assert!(hours.resolved > 0.9, "{hours:?}");
        assert!(f.by_intent.get("human_agent").is_some_and(|s| s.to_people == 1.0), "{:?}", f.by_intent);
        assert_eq!(f.month.messages, 10_000);
        assert!(f.month.resolved > 3_000 && f.month.cost_usd > 0.0, "{:?}", f.month);
        let fin = f.month.alternatives.iter().find(|a| a.name == "Intercom Fin").unwrap();
        assert!((fin.month_usd - f.month.resolved as f64 * 0.99).abs() < 1e-6);
        std::fs::remove_dir_all(&dir).ok();
    }
}
