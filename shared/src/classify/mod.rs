//! Classification: the local model first, the hosted model when the local one is unsure.

mod cascade;
pub mod encoder;
pub mod eval;
mod intent;
mod language;
mod local;
mod sentiment;
mod signals;
pub mod text;

pub use cascade::{Cascade, ClassifyOutcome};
pub use intent::{IntentModel, Prediction, TrainError, TrainOptions};
pub use language::LanguageDetector;
pub use local::LocalClassifier;

/// No hosted model: the local model alone (the embedded default, and a deployment without
/// `SWITCHBOARD_BEDROCK_MODEL_ID`, which says so in its cold-start log line).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoModel;

#[async_trait::async_trait]
impl crate::ports::LanguageModel for NoModel {
    async fn classify(
        &self,
        _request: &crate::ports::ClassifyRequest,
    ) -> Result<crate::ports::HostedClassification, crate::ports::ModelError> {
        Err(crate::ports::ModelError::Unavailable("no hosted model configured".into()))
    }
}
