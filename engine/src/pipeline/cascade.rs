use crate::classify::LocalClassifier;
use switchboard_core::domain::Classification;
use switchboard_core::ports::{ClassifyRequest, LanguageModel, ModelError, ModelUsage};

/// What the cascade decided, and what it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassifyOutcome {
    /// The classification the policy will use.
    pub classification: Classification,
    /// Tokens used by the hosted model, when it was asked.
    pub model_usage: Option<ModelUsage>,
    /// Why the hosted model's answer was not used, when it was asked and failed.
    pub fallback: Option<ModelError>,
}

/// Local model first; the hosted model only when the local one is unsure.
pub struct Cascade<'a> {
    /// The tenant's local classifier.
    pub local: &'a LocalClassifier,
    /// The hosted model (or the null one).
    pub hosted: &'a dyn LanguageModel,
    /// Ask the hosted model when local confidence is below this.
    pub hosted_below: f32,
}

impl Cascade<'_> {
    /// Classifies `request.text`. Never fails: when the hosted model is down or answers nonsense,
    /// the local result stands and the failure is reported alongside.
    pub async fn classify(&self, request: ClassifyRequest) -> ClassifyOutcome {
        let local = self.local.classify(&request.text);
        if local.confidence >= self.hosted_below {
            return ClassifyOutcome { classification: local, model_usage: None, fallback: None };
        }
        match self.hosted.classify(&request).await {
            Ok(hosted) => match check_catalogue(&request, hosted.classification) {
                Ok(mut classification) => {
                    // The rule signals stay: a hosted "no" must not hide an explicit human request.
                    classification.wants_human |= local.wants_human;
                    if classification.language.is_none() {
                        classification.language = local.language;
                    }
                    ClassifyOutcome { classification, model_usage: Some(hosted.usage), fallback: None }
                }
                Err(error) => {
                    ClassifyOutcome { classification: local, model_usage: Some(hosted.usage), fallback: Some(error) }
                }
            },
            Err(error) => ClassifyOutcome { classification: local, model_usage: None, fallback: Some(error) },
        }
    }
}

/// The hosted model may only name intents from the tenant's catalogue.
fn check_catalogue(request: &ClassifyRequest, c: Classification) -> Result<Classification, ModelError> {
    match &c.intent {
        Some(intent) if !request.intents.iter().any(|(name, _)| name == intent) => {
            Err(ModelError::InvalidOutput(format!("intent `{intent}` is not in the tenant's catalogue")))
        }
        _ if !(0.0..=1.0).contains(&c.confidence) => Err(ModelError::InvalidOutput("confidence outside 0..=1".into())),
        _ => Ok(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::{NoModel, ScriptedModel};
    use switchboard_core::domain::{ClassifierSource, Language};

    fn local() -> LocalClassifier {
        let en = Language::EN;
        let ex = |t: &str, i: &str| (t.to_string(), i.to_string(), en);
        LocalClassifier::train(
            &[
                ex("where is my order", "order"),
                ex("track my parcel", "order"),
                ex("refund please", "refund"),
                ex("i want my money back", "refund"),
            ],
            &[en],
            0.3,
            &[],
        )
        .unwrap()
    }

    fn request(text: &str) -> ClassifyRequest {
        ClassifyRequest {
            text: text.into(),
            intents: vec![("order".into(), "".into()), ("refund".into(), "".into())],
            languages: vec![Language::EN],
        }
    }

    #[tokio::test]
    async fn confident_local_result_skips_the_hosted_model() {
        let local = local();
        let hosted = ScriptedModel::default();
        let out =
            Cascade { local: &local, hosted: &hosted, hosted_below: 0.0 }.classify(request("where is my order")).await;
        // The local tier decided: the n-gram model or, where it is below `ENCODER_BELOW`, the encoder.
        assert_ne!(out.classification.source, ClassifierSource::Hosted);
        assert_eq!(hosted.calls(), 0);
    }

    #[tokio::test]
    async fn unsure_local_result_asks_the_hosted_model() {
        let local = local();
        let mut answer = local.classify("x");
        answer.intent = Some("refund".into());
        answer.confidence = 0.9;
        answer.source = ClassifierSource::Hosted;
        let hosted = ScriptedModel::answering(answer);
        let out = Cascade { local: &local, hosted: &hosted, hosted_below: 1.1 }.classify(request("hmm")).await;
        assert_eq!(out.classification.source, ClassifierSource::Hosted);
        assert_eq!(out.classification.intent.as_deref(), Some("refund"));
        assert!(out.model_usage.is_some());
    }

    #[tokio::test]
    async fn model_down_or_off_catalogue_falls_back_to_local() {
        let local = local();
        let out =
            Cascade { local: &local, hosted: &NoModel, hosted_below: 1.1 }.classify(request("where is my order")).await;
        assert_ne!(out.classification.source, ClassifierSource::Hosted);
        assert!(matches!(out.fallback, Some(ModelError::Unavailable(_))));

        let mut answer = local.classify("x");
        answer.intent = Some("teleport".into());
        let hosted = ScriptedModel::answering(answer);
        let out =
            Cascade { local: &local, hosted: &hosted, hosted_below: 1.1 }.classify(request("where is my order")).await;
        assert_ne!(out.classification.source, ClassifierSource::Hosted);
        assert!(matches!(out.fallback, Some(ModelError::InvalidOutput(_))));
    }
}
