use super::{Channel, ConversationId, Customer, CustomerId, Language, MessageId, TenantId, Turn};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How far the bot may act on an intent, so a business can pilot it safely.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RolloutMode {
    /// Classify and record what the bot would have done; send nothing.
    Shadow,
    /// Escalate to a human with the bot's draft answer for the agent.
    Assist,
    /// Answer the customer.
    #[default]
    Auto,
}

/// Where an answer came from: always the tenant's own words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReplySource {
    /// The intent's template.
    Template {
        /// The intent whose template answered.
        intent: String,
    },
    /// An FAQ entry found by retrieval.
    Faq {
        /// The entry's id.
        entry: String,
        /// Its retrieval score.
        score: f32,
    },
    /// Written by the hosted model from these FAQ entries (and the profile), nothing else.
    Generated {
        /// The entries it used.
        entries: Vec<String>,
    },
    /// The tenant's handoff notice.
    Handoff,
}

/// A message the bot would send to the customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    /// The text.
    pub text: String,
    /// Its language.
    pub language: Language,
    /// Where it came from.
    pub source: ReplySource,
}

/// Why a conversation goes to a human. Order matters for nothing; every reason that applies is
/// listed so the agent sees the whole picture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Reason {
    /// The customer asked for a person.
    HumanRequested,
    /// The intent is on the tenant's escalate list.
    EscalatedIntent {
        /// Which intent.
        intent: String,
    },
    /// Sentiment below the tenant's threshold.
    NegativeSentiment,
    /// The customer needs an answer now.
    HighUrgency,
    /// A VIP customer complains.
    VipComplaint,
    /// A customer complains while the bot only shadows the intent: a pilot must not leave a
    /// complaint unanswered.
    Complaint {
        /// The complaint intent.
        intent: String,
    },
    /// The classifier is unsure or the message is out of scope, and no FAQ entry answers it.
    LowConfidence,
    /// The intent is known but the tenant has no grounded answer for it.
    NoGroundedAnswer,
    /// The customer has asked the same thing this many times in a row.
    Repeated {
        /// How many times, this message included.
        times: u32,
    },
    /// The tenant runs this intent in assist mode: an agent reviews the bot's draft.
    AssistMode,
    /// The channel no longer allows a free-form answer (WhatsApp's 24-hour window).
    ChannelWindowClosed,
    /// The customer rated the bot's answer 👎.
    RatedDown,
    /// The tenant's monthly cap on sends over channels that bill per message is reached.
    PaidSendsCapped,
}

impl Reason {
    /// The reason in words, for a ticket's subject and a pilot's review.
    pub fn words(&self) -> String {
        match self {
            Reason::HumanRequested => "asked for a person".to_string(),
            Reason::EscalatedIntent { intent } => format!("{intent} goes to a human"),
            Reason::NegativeSentiment => "customer is unhappy".to_string(),
            Reason::HighUrgency => "urgent".to_string(),
            Reason::VipComplaint => "VIP complaint".to_string(),
            Reason::Complaint { intent } => format!("complaint ({intent}) during the pilot"),
            Reason::LowConfidence => "bot unsure what is asked".to_string(),
            Reason::NoGroundedAnswer => "no answer in the knowledge base".to_string(),
            Reason::Repeated { times } => format!("asked {times} times"),
            Reason::AssistMode => "draft for review".to_string(),
            Reason::ChannelWindowClosed => "WhatsApp's 24-hour window has closed: reply with a template".to_string(),
            Reason::RatedDown => "rated the bot's answer down".to_string(),
            Reason::PaidSendsCapped => "the month's cap on paid sends is reached: a person answers".to_string(),
        }
    }

    /// Reasons after which the bot should not answer by itself at all.
    pub fn blocks_answer(&self) -> bool {
        !matches!(self, Reason::NegativeSentiment | Reason::HighUrgency)
    }
}

/// How soon an agent should look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// When there is time.
    Low,
    /// The default.
    Normal,
    /// Soon.
    High,
    /// Now.
    Urgent,
}

impl Priority {
    /// One step up, capped at `Urgent`.
    pub fn raised(self) -> Self {
        match self {
            Priority::Low => Priority::Normal,
            Priority::Normal => Priority::High,
            Priority::High | Priority::Urgent => Priority::Urgent,
        }
    }
}

/// The policy's request to involve a human.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EscalationPlan {
    /// Every reason that applied.
    pub reasons: Vec<Reason>,
    /// How soon.
    pub priority: Priority,
    /// The bot's draft answer for the agent (assist mode).
    pub draft: Option<Reply>,
}

/// What to do with one customer message. Made by plain code from the classification, the
/// customer and the conversation: no model decides policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Decision {
    /// Answer the customer; nobody else needs to look.
    Answer {
        /// The answer.
        reply: Reply,
    },
    /// Hand the conversation to a human; the bot tells the customer so.
    Escalate {
        /// Why and how soon.
        escalation: EscalationPlan,
    },
    /// Answer now and have a human follow up.
    AnswerAndEscalate {
        /// The answer.
        reply: Reply,
        /// Why and how soon.
        escalation: EscalationPlan,
    },
    /// Say nothing: a human owns the conversation.
    Silent,
    /// Shadow mode: record what would have happened, do nothing.
    Shadow {
        /// What the bot would have done.
        would: Box<Decision>,
    },
    /// The customer rated the bot's last answer; nothing to say back.
    Rated {
        /// How.
        rating: Rating,
    },
}

/// A customer's one-tap verdict on the bot's answer: 👍 in the widget, or a message that is
/// only 👍 or 👎 on any channel right after an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rating {
    /// It helped.
    Up,
    /// It did not.
    Down,
}

impl Rating {
    /// The rating a message is, when it is nothing but a thumb (any skin tone, any spacing, or
    /// Slack's shortcode for one).
    pub fn of(text: &str) -> Option<Self> {
        let thumb: String = text
            .chars()
            .filter(|c| !c.is_whitespace() && !('\u{1F3FB}'..='\u{1F3FF}').contains(c) && *c != '\u{FE0F}')
            .collect();
        match thumb.as_str() {
            "👍" | ":+1:" | ":thumbsup:" => Some(Rating::Up),
            "👎" | ":-1:" | ":thumbsdown:" => Some(Rating::Down),
            _ => None,
        }
    }
}

impl Decision {
    /// A short name for logs and usage records.
    pub fn name(&self) -> &'static str {
        match self {
            Decision::Answer { .. } => "answer",
            Decision::Escalate { .. } => "escalate",
            Decision::AnswerAndEscalate { .. } => "answer_and_escalate",
            Decision::Silent => "silent",
            Decision::Shadow { .. } => "shadow",
            Decision::Rated { .. } => "rated",
        }
    }
}

/// A helpdesk's reference to the ticket it opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketRef {
    /// Which helpdesk (`console`, `zendesk`...).
    pub helpdesk: String,
    /// The helpdesk's ticket id.
    pub id: String,
    /// A link for the agent, when there is one.
    pub url: Option<String>,
}

/// Everything an agent needs to pick a conversation up: the body of a message on the escalation
/// queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Escalation {
    /// Stable id (the customer message's id), so a redelivery opens no second ticket.
    pub id: MessageId,
    /// The business.
    pub tenant: TenantId,
    /// The conversation to take over.
    pub conversation: ConversationId,
    /// Its channel.
    pub channel: Channel,
    /// The verified customer, if any.
    pub customer_id: Option<CustomerId>,
    /// The sender's address could not be authenticated (a spoofable e-mail From).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sender_unverified: bool,
    /// What we know of them.
    pub customer: Option<Customer>,
    /// How soon.
    pub priority: Priority,
    /// Why.
    pub reasons: Vec<Reason>,
    /// One line for the ticket subject.
    pub summary: String,
    /// The intent, if one was recognised.
    pub intent: Option<String>,
    /// How the customer feels.
    #[serde(default)]
    pub sentiment: Option<super::Sentiment>,
    /// How urgent it sounds.
    #[serde(default)]
    pub urgency: Option<super::Urgency>,
    /// The conversation's language.
    pub language: Language,
    /// The recent turns, oldest first, the customer's triggering message last.
    pub transcript: Vec<Turn>,
    /// The bot's draft answer (assist mode).
    pub draft: Option<String>,
    /// When the bot escalated.
    pub created_at: DateTime<Utc>,
    /// The inbound request id, to follow it through the logs.
    pub request_id: String,
}
