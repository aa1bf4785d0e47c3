use super::lock;
use switchboard_core::domain::Classification;
use switchboard_core::ports::{ClassifyRequest, HostedClassification, LanguageModel, ModelError, ModelUsage};

use async_trait::async_trait;
use std::sync::Mutex;

/// A model that gives a fixed answer (or fails) and counts its calls, for tests.
#[derive(Debug, Default)]
pub struct ScriptedModel {
    answer: Option<Classification>,
    calls: Mutex<u32>,
}

impl ScriptedModel {
    /// A model that always answers `classification`, at 100 input and 20 output tokens.
    pub fn answering(classification: Classification) -> Self {
        Self { answer: Some(classification), calls: Mutex::new(0) }
    }

    /// How often it was asked.
    pub fn calls(&self) -> u32 {
        *lock(&self.calls)
    }
}

#[async_trait]
impl LanguageModel for ScriptedModel {
    async fn classify(&self, _request: &ClassifyRequest) -> Result<HostedClassification, ModelError> {
        *lock(&self.calls) += 1;
        switchboard_core::meter::model_call("scripted", 100, 20, self.answer.is_none());
        match &self.answer {
            Some(c) => Ok(HostedClassification {
                classification: c.clone(),
                usage: ModelUsage { input_tokens: 100, output_tokens: 20 },
            }),
            None => Err(ModelError::Unavailable("scripted model has no answer".into())),
        }
    }
}

/// No hosted model: the local model alone (the embedded default, and a deployment without
/// `SWITCHBOARD_BEDROCK_MODEL_ID`, which says so in its cold-start log line).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoModel;

#[async_trait::async_trait]
impl switchboard_core::ports::LanguageModel for NoModel {
    async fn classify(
        &self,
        _request: &switchboard_core::ports::ClassifyRequest,
    ) -> Result<switchboard_core::ports::HostedClassification, switchboard_core::ports::ModelError> {
        Err(switchboard_core::ports::ModelError::Unavailable("no hosted model configured".into()))
    }
}
