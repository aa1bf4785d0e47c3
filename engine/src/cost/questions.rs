//! The questions the bot could not answer, grouped by what they ask: the FAQ entries worth
//! writing next, most asked first, each with a few of the customers' own words.
//!
//! Grouping is by the words the questions share — analysed as the FAQ's retrieval does: stop
//! words dropped, stemmed in the question's language, so "card" and "cards" are one word —
//! weighted by how rare each word is among them
//! (so "order" or "please", in every other question, counts for little), each question joining
//! the group it is most like when that likeness is high enough, else starting its own. It is
//! plain word overlap: paraphrases with no word in common stay apart.

use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use switchboard_core::domain::ReviewItem;

/// One group of questions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuestionGroup {
    /// How many questions it holds.
    pub count: usize,
    /// The words that characterise it, most telling first.
    pub words: Vec<String>,
    /// Up to three of the customers' questions, as written.
    pub examples: Vec<String>,
    /// The intents the classifier gave them (`none`: not recognised), most frequent first.
    pub intents: Vec<String>,
    /// Their languages.
    pub languages: Vec<String>,
}

/// How alike (cosine of word weights) a question and a group must be for it to join.
const JOIN_AT: f32 = 0.3;
/// Examples shown per group.
const EXAMPLES: usize = 3;
/// Words shown per group.
const WORDS: usize = 4;

/// `questions` grouped, the largest groups first (ties: the group first asked).
pub fn group(questions: &[ReviewItem]) -> Vec<QuestionGroup> {
    let mut stemmers = HashMap::new();
    let bags: Vec<HashMap<String, f32>> = questions
        .iter()
        .map(|q| {
            let stemmer = stemmers.entry(q.language).or_insert_with(|| crate::reply::stemmer(q.language));
            bag(&q.text, q.language, stemmer.as_ref())
        })
        .collect();
    let mut document_frequency: HashMap<&str, f32> = HashMap::new();
    for bag in &bags {
        for word in bag.keys() {
            *document_frequency.entry(word.as_str()).or_default() += 1.0;
        }
    }
    let n = questions.len().max(1) as f32;
    let weighted: Vec<HashMap<String, f32>> = bags
        .iter()
        .map(|bag| {
            let mut v: HashMap<String, f32> = bag
                .iter()
                .map(|(w, tf)| {
                    (w.clone(), tf * (1.0 + (n / document_frequency.get(w.as_str()).copied().unwrap_or(1.0)).ln()))
                })
                .collect();
            normalise(&mut v);
            v
        })
        .collect();
    // Each group: its members and the sum of their vectors (the direction it points in).
    let mut groups: Vec<(Vec<usize>, HashMap<String, f32>)> = Vec::new();
    for (i, v) in weighted.iter().enumerate() {
        if v.is_empty() {
            continue;
        }
        let best = groups
            .iter()
            .enumerate()
            .map(|(g, (_, centre))| (g, cosine(v, centre)))
            .filter(|(_, likeness)| *likeness >= JOIN_AT)
            .max_by(|a, b| a.1.total_cmp(&b.1));
        match best {
            Some((g, _)) => {
                let (members, centre) = &mut groups[g];
                members.push(i);
                for (w, x) in v {
                    *centre.entry(w.clone()).or_default() += x;
                }
            }
            None => groups.push((vec![i], v.clone())),
        }
    }
    groups.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0[0].cmp(&b.0[0])));
    groups.into_iter().map(|(members, centre)| describe(questions, &members, &centre)).collect()
}

fn describe(questions: &[ReviewItem], members: &[usize], centre: &HashMap<String, f32>) -> QuestionGroup {
    let mut words: Vec<(&String, &f32)> = centre.iter().collect();
    words.sort_by(|a, b| b.1.total_cmp(a.1).then(a.0.cmp(b.0)));
    let count_of = |values: Vec<String>| {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for v in values {
            *counts.entry(v).or_default() += 1;
        }
        let mut ranked: Vec<(String, usize)> = counts.into_iter().collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked.into_iter().map(|(v, _)| v).collect::<Vec<_>>()
    };
    let mut examples: Vec<String> = Vec::new();
    for &i in members {
        let text = questions[i].text.trim().to_string();
        if examples.len() < EXAMPLES && !examples.contains(&text) {
            examples.push(text);
        }
    }
    QuestionGroup {
        count: members.len(),
        words: words.into_iter().take(WORDS).map(|(w, _)| w.clone()).collect(),
        examples,
        intents: count_of(
            members.iter().map(|&i| questions[i].intent.clone().unwrap_or_else(|| "none".into())).collect(),
        ),
        languages: count_of(members.iter().map(|&i| questions[i].language.code().to_string()).collect()),
    }
}

/// The question's words, as the FAQ's retrieval analyses them, and how often each appears.
fn bag(
    text: &str,
    language: switchboard_core::domain::Language,
    stemmer: Option<&rust_stemmers::Stemmer>,
) -> HashMap<String, f32> {
    let mut bag = HashMap::new();
    for word in crate::reply::analyse(stemmer, language, text) {
        *bag.entry(word).or_default() += 1.0;
    }
    bag
}

fn normalise(v: &mut HashMap<String, f32>) {
    let norm = v.values().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.values_mut().for_each(|x| *x /= norm);
    }
}

fn cosine(a: &HashMap<String, f32>, b: &HashMap<String, f32>) -> f32 {
    let norm = b.values().map(|x| x * x).sum::<f32>().sqrt();
    if norm == 0.0 {
        return 0.0;
    }
    a.iter().map(|(w, x)| x * b.get(w).copied().unwrap_or(0.0)).sum::<f32>() / norm
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use switchboard_core::domain::{Channel, ConversationId, Language, MessageId, ReviewKind, RolloutMode};

    fn asked(text: &str, intent: Option<&str>) -> ReviewItem {
        ReviewItem {
            kind: ReviewKind::Unanswered,
            conversation: ConversationId::new("c_1").unwrap(),
            message: MessageId::generate(),
            at: Utc::now(),
            channel: Channel::Webchat,
            mode: RolloutMode::Auto,
            intent: intent.map(str::to_string),
            confidence: 0.3,
            language: Language::EN,
            text: text.into(),
            decision: "escalate".into(),
            reply: None,
            reasons: vec!["no answer in the knowledge base".into()],
        }
    }

    #[test]
    fn questions_that_ask_the_same_are_one_group_the_most_asked_first() {
        let questions = [
            asked("Do you sell gift cards?", None),
            asked("Can I change the delivery address of my order?", Some("order_status")),
            asked("how do gift cards work", None),
            asked("Do you have socks in size 46?", Some("product_question")),
            asked("Where can I buy a gift card for my sister", None),
            asked("I need to change my delivery address please", Some("order_status")),
        ];
        let groups = group(&questions);
        let sizes: Vec<usize> = groups.iter().map(|g| g.count).collect();
        assert_eq!(sizes, [3, 2, 1], "{groups:#?}");
        assert!(groups[0].words.iter().any(|w| w == "gift"), "{:?}", groups[0].words);
        assert_eq!(groups[0].examples[0], "Do you sell gift cards?");
        assert_eq!(groups[0].examples.len(), 3);
        assert_eq!(groups[1].intents, ["order_status"]);
        assert!(groups[1].words.iter().any(|w| w == "address"), "{:?}", groups[1].words);
        assert_eq!(groups[2].languages, ["en"]);
        assert!(group(&[]).is_empty());
        assert!(group(&[asked("?!", None)]).is_empty(), "nothing asked, no group");
    }
}
