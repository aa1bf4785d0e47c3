//! The local classifier: intent (n-gram model and the encoder head), language, sentiment,
//! urgency, requests for a person. Asking the hosted model when it is unsure is the pipeline's
//! cascade; measuring all of it is `eval`.

pub mod encoder;
pub mod handover;
pub(crate) mod intent;
pub(crate) mod language;
pub(crate) mod local;
pub(crate) mod sentiment;
pub mod sentiment_head;
pub(crate) mod signals;
pub(crate) mod text;

pub use intent::{Heads, IntentModel, Prediction, TrainError, TrainOptions};
pub use language::LanguageDetector;
pub use local::LocalClassifier;
