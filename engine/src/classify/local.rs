use super::encoder;
use super::intent::{Heads, IntentModel, TrainError, TrainOptions};
use super::language::LanguageDetector;
use super::text::{fold, words};
use super::{handover, sentiment_head, signals};
use switchboard_core::domain::{Classification, ClassifierSource, IntentScore, Language};

/// Below this share of known features a message is out of scope whatever its confidence: it has
/// almost nothing in common with any example.
pub const MIN_COVERAGE: f32 = 0.15;

/// The in-process classifier of one tenant: intent model, language detector and rule signals.
/// Built once per tenant (at cold start or config load); classifying is pure CPU, no I/O.
#[derive(Debug, Clone)]
pub struct LocalClassifier {
    intents: IntentModel,
    languages: LanguageDetector,
    out_of_scope_below: f32,
    min_coverage: f32,
}

impl LocalClassifier {
    /// Trains on `(text, intent, language)` examples. A message whose best intent is less likely
    /// than `out_of_scope_below`, or that shares almost no features with any example, is out of
    /// scope.
    pub fn train(
        examples: &[(String, String, Language)],
        languages: &[Language],
        out_of_scope_below: f32,
        extra_vocabulary: &[(Language, String)],
    ) -> Result<Self, TrainError> {
        let intents = Self::train_intents(examples)?;
        Ok(Self::with_intents(intents, examples, languages, out_of_scope_below, extra_vocabulary))
    }

    /// The intent model [`Self::train`] trains from these examples (to store it); with the encoder
    /// heads its examples' languages are asked through ([`Heads::for_languages`]).
    pub fn train_intents(examples: &[(String, String, Language)]) -> Result<IntentModel, TrainError> {
        let pairs: Vec<(&str, &str)> = examples.iter().map(|(t, i, _)| (t.as_str(), i.as_str())).collect();
        let heads = Heads::for_languages(examples.iter().map(|(_, _, l)| *l));
        IntentModel::train(&pairs, TrainOptions { heads, ..TrainOptions::default() })
    }

    /// The same around an intent model trained before (stored beside the tenant): only the
    /// language detector is built, which takes microseconds.
    pub fn with_intents(
        intents: IntentModel,
        examples: &[(String, String, Language)],
        languages: &[Language],
        out_of_scope_below: f32,
        extra_vocabulary: &[(Language, String)],
    ) -> Self {
        let folded: Vec<(Language, String)> = examples
            .iter()
            .map(|(t, _, l)| (*l, fold(t)))
            .chain(extra_vocabulary.iter().map(|(l, t)| (*l, fold(t))))
            .collect();
        let languages = LanguageDetector::new(languages, folded.iter().map(|(l, t)| (*l, t.as_str())));
        Self { intents, languages, out_of_scope_below, min_coverage: MIN_COVERAGE }
    }

    /// The intent model (kept to reuse while the tenant's YAML is unchanged).
    pub fn intents(&self) -> &IntentModel {
        &self.intents
    }

    /// Classifies one message.
    pub fn classify(&self, text: &str) -> Classification {
        let folded = fold(text);
        let ws: Vec<&str> = words(&folded).collect();
        let language = self.languages.detect(text, &ws);
        let lexicon_language = language.or_else(|| self.languages.guess_unsure(text));
        // The message's embedding, computed once if the intent tier or the request-for-a-person
        // head asks for it.
        let embedding = std::cell::OnceCell::new();
        let embed = || embedding.get_or_init(|| encoder::shared().map(|e| std::sync::Arc::new(e.embed(text)))).clone();
        let prediction = self.intents.predict_with(text, lexicon_language, &embed);
        let labels = self.intents.labels();
        let top: Vec<IntentScore> = prediction
            .ranked
            .iter()
            .take(3)
            .map(|&(i, p)| IntentScore { intent: labels[i].clone(), probability: p })
            .collect();
        let confidence = top.first().map(|t| t.probability).unwrap_or(0.0);
        let in_scope = confidence >= self.out_of_scope_below && prediction.covered(self.min_coverage);
        Classification {
            intent: if in_scope { top.first().map(|t| t.intent.clone()) } else { None },
            confidence,
            top,
            sentiment: sentiment_head::sentiment(text, &ws, lexicon_language, embed),
            urgency: signals::urgency(text, &ws),
            language,
            wants_human: handover::wants_human(&ws, lexicon_language, embed),
            summary: None,
            source: if prediction.encoder_used { ClassifierSource::Encoder } else { ClassifierSource::Local },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tenant gets the heads its languages are asked through: English examples train the
    /// English head, any other language the multilingual one.
    #[test]
    fn a_tenant_trains_the_heads_of_its_languages() {
        let de = Language::from_code("de").expect("de");
        let ex = |t: &str, i: &str, l: Language| (t.to_string(), i.to_string(), l);
        let german = [ex("wo ist meine Bestellung", "order", de), ex("ich will mein Geld zurück", "refund", de)];
        let heads =
            |examples: &[(String, String, Language)]| LocalClassifier::train_intents(examples).expect("trains").heads();
        assert_eq!(heads(&german), Heads { english: false, multilingual: true });
        let english = [ex("where is my order", "order", Language::EN), ex("I want a refund", "refund", Language::EN)];
        assert_eq!(heads(&english), Heads { english: true, multilingual: false });
        let mixed = [german[0].clone(), german[1].clone(), english[0].clone()];
        assert_eq!(heads(&mixed), Heads::ALL);
    }

    /// The classification says which tier decided: a paraphrase the n-gram model has no words for
    /// goes to the encoder — the English encoder in English, the multilingual one in Spanish.
    #[test]
    fn paraphrases_go_to_the_encoder_in_every_language() {
        let (en, es) = (Language::EN, Language::from_code("es").expect("es"));
        let ex = |t: &str, i: &str, l: Language| (t.to_string(), i.to_string(), l);
        let examples = vec![
            ex("where is my order", "order_status", en),
            ex("track my parcel", "order_status", en),
            ex("when will my package arrive", "order_status", en),
            ex("has my order shipped yet", "order_status", en),
            ex("i want my money back", "refund", en),
            ex("please refund me", "refund", en),
            ex("can i return this item", "refund", en),
            ex("refund for a broken product", "refund", en),
            ex("¿dónde está mi pedido?", "order_status", es),
            ex("quiero seguir mi paquete", "order_status", es),
            ex("quiero un reembolso", "refund", es),
            ex("devuélveme el dinero", "refund", es),
        ];
        let local = LocalClassifier::train(&examples, &[en, es], 0.3, &[]).expect("trains");
        assert_eq!(local.intents().heads(), Heads::ALL);
        let c = local.classify("The box never turned up at my house");
        assert_eq!((c.source, c.intent.as_deref()), (ClassifierSource::Encoder, Some("order_status")), "{c:?}");
        // Routed to the multilingual head (four Spanish examples are too few for its answer to be
        // more than a lean: the benchmarks measure that, on MASSIVE de).
        let c = local.classify("la caja nunca llegó a mi casa");
        assert_eq!(c.source, ClassifierSource::Encoder, "{c:?}");
    }
}
