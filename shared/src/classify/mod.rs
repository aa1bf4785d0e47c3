//! Classification: the local model first, the hosted model when the local one is unsure.

mod cascade;
pub mod eval;
mod intent;
mod language;
mod local;
mod signals;
pub mod text;

pub use cascade::{Cascade, ClassifyOutcome};
pub use intent::{IntentModel, Prediction, TrainError, TrainOptions};
pub use language::LanguageDetector;
pub use local::LocalClassifier;
