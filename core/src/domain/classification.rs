use super::Language;
use serde::{Deserialize, Serialize};

/// Negative, neutral or positive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SentimentLabel {
    /// Unhappy, angry, disappointed.
    Negative,
    /// Neither.
    Neutral,
    /// Happy, thankful.
    Positive,
}

/// How the customer feels, with a score from -1 (furious) to 1 (delighted).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sentiment {
    /// The label.
    pub label: SentimentLabel,
    /// The score in [-1, 1].
    pub score: f32,
}

impl Sentiment {
    /// Labels a score with the usual ±0.05 neutral band.
    pub fn from_score(score: f32) -> Self {
        let score = score.clamp(-1.0, 1.0);
        let label = if score <= -0.05 {
            SentimentLabel::Negative
        } else if score >= 0.05 {
            SentimentLabel::Positive
        } else {
            SentimentLabel::Neutral
        };
        Self { label, score }
    }
}

/// How soon the customer needs an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    /// "No rush."
    Low,
    /// The default.
    Normal,
    /// "Urgent", "right now", "asap".
    High,
}

/// Which model produced a classification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassifierSource {
    /// The in-process model trained from the tenant's examples.
    Local,
    /// The in-process sentence encoder, asked because the n-gram model was unsure.
    Encoder,
    /// The hosted model (Bedrock), asked because the local one was unsure.
    Hosted,
}

/// One intent and its probability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntentScore {
    /// The intent's name from the tenant's catalogue.
    pub intent: String,
    /// Calibrated probability.
    pub probability: f32,
}

/// What the classifiers make of one customer message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Classification {
    /// The intent from the tenant's catalogue, or `None` when the message is out of scope.
    pub intent: Option<String>,
    /// Calibrated probability of the top intent (also reported when out of scope).
    pub confidence: f32,
    /// The best few intents, most likely first.
    pub top: Vec<IntentScore>,
    /// How the customer feels.
    pub sentiment: Sentiment,
    /// How soon they need an answer.
    pub urgency: Urgency,
    /// The detected language, when the text says enough to tell.
    pub language: Option<Language>,
    /// The customer asked for a person.
    pub wants_human: bool,
    /// One-line summary for agents (hosted model only).
    pub summary: Option<String>,
    /// Which model decided.
    pub source: ClassifierSource,
}
