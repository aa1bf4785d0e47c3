//! Rule-based signals next to the intent model: sentiment, urgency and "I want a human".
//! Lexicons in English, Spanish and German, matched on folded words (no accents, lowercase).
//! Rules rather than a model because these signals drive escalation and must be predictable
//! and explainable to the business; the hosted model refines them when the cascade asks it.

use super::text::{contains_phrase, phrase_starts};
use crate::domain::{Sentiment, Urgency};

/// Word valences from -3 to 3.
const VALENCE: &[(&str, f32)] = &[
    // English
    ("angry", -3.0),
    ("furious", -3.0),
    ("terrible", -3.0),
    ("awful", -3.0),
    ("horrible", -3.0),
    ("worst", -3.0),
    ("useless", -2.5),
    ("scam", -3.0),
    ("disgusting", -3.0),
    ("unacceptable", -3.0),
    ("ridiculous", -2.5),
    ("disappointed", -2.0),
    ("disappointing", -2.0),
    ("annoyed", -2.0),
    ("frustrated", -2.0),
    ("frustrating", -2.0),
    ("upset", -2.0),
    ("bad", -1.5),
    ("poor", -1.5),
    ("broken", -1.5),
    ("damaged", -1.5),
    ("wrong", -1.2),
    ("late", -1.0),
    ("never", -0.5),
    ("problem", -1.0),
    ("issue", -0.8),
    ("hate", -3.0),
    ("sucks", -2.5),
    ("rude", -2.5),
    ("waste", -2.0),
    ("complaint", -1.5),
    ("unhappy", -2.0),
    ("sad", -1.5),
    ("fed", -1.0),
    ("good", 1.5),
    ("great", 2.5),
    ("excellent", 3.0),
    ("amazing", 3.0),
    ("awesome", 3.0),
    ("love", 2.5),
    ("perfect", 3.0),
    ("happy", 2.0),
    ("thanks", 1.5),
    ("thank", 1.5),
    ("helpful", 2.0),
    ("nice", 1.5),
    ("fantastic", 3.0),
    ("wonderful", 3.0),
    ("pleased", 2.0),
    // Spanish
    ("enfadado", -3.0),
    ("enojado", -3.0),
    ("furioso", -3.0),
    ("terrible", -3.0),
    ("horrible", -3.0),
    ("pesimo", -3.0),
    ("fatal", -2.5),
    ("inaceptable", -3.0),
    ("estafa", -3.0),
    ("decepcionado", -2.0),
    ("decepcionada", -2.0),
    ("molesto", -2.0),
    ("molesta", -2.0),
    ("harto", -2.0),
    ("harta", -2.0),
    ("mal", -1.5),
    ("malo", -1.5),
    ("roto", -1.5),
    ("rota", -1.5),
    ("danado", -1.5),
    ("problema", -1.0),
    ("queja", -1.5),
    ("tarde", -0.8),
    ("odio", -3.0),
    ("verguenza", -2.5),
    ("bueno", 1.5),
    ("buena", 1.5),
    ("genial", 2.5),
    ("excelente", 3.0),
    ("perfecto", 3.0),
    ("gracias", 1.5),
    ("encanta", 2.5),
    ("feliz", 2.0),
    ("contento", 2.0),
    ("contenta", 2.0),
    ("estupendo", 2.5),
    ("maravilloso", 3.0),
    // German
    ("wutend", -3.0),
    ("verargert", -2.5),
    ("schrecklich", -3.0),
    ("furchtbar", -3.0),
    ("katastrophe", -3.0),
    ("unverschamt", -3.0),
    ("inakzeptabel", -3.0),
    ("betrug", -3.0),
    ("enttauscht", -2.0),
    ("enttauschend", -2.0),
    ("schlecht", -1.5),
    ("kaputt", -1.5),
    ("beschadigt", -1.5),
    ("problem", -1.0),
    ("beschwerde", -1.5),
    ("spat", -0.8),
    ("argerlich", -2.0),
    ("gut", 1.5),
    ("super", 2.5),
    ("toll", 2.5),
    ("ausgezeichnet", 3.0),
    ("perfekt", 3.0),
    ("danke", 1.5),
    ("vielen", 0.5),
    ("zufrieden", 2.0),
    ("freundlich", 1.5),
    ("prima", 2.0),
];

const NEGATORS: &[&str] = &[
    "not", "no", "never", "dont", "doesnt", "didnt", "isnt", "wasnt", "cant", "wont", "nothing", "nunca", "nada", "ni",
    "tampoco", "nicht", "kein", "keine", "keinen", "nie", "niemals",
];

const BOOSTERS: &[&str] = &[
    "very",
    "really",
    "so",
    "extremely",
    "totally",
    "absolutely",
    "completely",
    "muy",
    "tan",
    "realmente",
    "totalmente",
    "sehr",
    "total",
    "wirklich",
    "absolut",
    "extrem",
];

/// Scores sentiment like VADER: summed valences, flipped after a negator, boosted by intensifiers,
/// exclamation marks and shouting, then squashed into [-1, 1].
pub fn sentiment(raw: &str, words: &[&str]) -> Sentiment {
    let shouted: Vec<bool> = raw
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.chars().count() > 2 && w.chars().all(|c| !c.is_lowercase()) && w.chars().any(char::is_alphabetic))
        .collect();
    let mut total = 0.0f32;
    for (i, w) in words.iter().enumerate() {
        let Some(&(_, v)) = VALENCE.iter().find(|(lex, _)| lex == w) else { continue };
        let mut v = v;
        let window = &words[i.saturating_sub(3)..i];
        if window.iter().any(|p| BOOSTERS.contains(p)) {
            v *= 1.4;
        }
        if window.iter().any(|p| NEGATORS.contains(p)) {
            v *= -0.6;
        }
        if shouted.get(i).copied().unwrap_or(false) {
            v *= 1.3;
        }
        total += v;
    }
    let bangs = raw.matches('!').count().min(3) as f32;
    if total != 0.0 {
        total += total.signum() * 0.3 * bangs;
    }
    Sentiment::from_score(total / (total * total + 15.0).sqrt())
}

const URGENT: &[&str] = &[
    "urgent",
    "urgently",
    "asap",
    "immediately",
    "emergency",
    "right now",
    "as soon as possible",
    "right away",
    "straight away",
    "critical",
    "urgente",
    "urgentemente",
    "inmediatamente",
    "ahora mismo",
    "cuanto antes",
    "lo antes posible",
    "ya mismo",
    "dringend",
    "sofort",
    "umgehend",
    "notfall",
    "schnellstmoglich",
    "so schnell wie moglich",
];

const UNHURRIED: &[&str] = &[
    "no rush",
    "no hurry",
    "whenever",
    "when you can",
    "no urgency",
    "sin prisa",
    "cuando puedas",
    "cuando pueda",
    "keine eile",
    "wann immer",
];

/// High when the customer says they need it now, low when they say there is no rush.
pub fn urgency(raw: &str, words: &[&str]) -> Urgency {
    if UNHURRIED.iter().any(|p| contains_phrase(words, p)) {
        return Urgency::Low;
    }
    if URGENT.iter().any(|p| contains_phrase(words, p)) || raw.contains("!!!") {
        return Urgency::High;
    }
    Urgency::Normal
}

/// Phrases that ask for a person on their own.
const HUMAN: &[&str] = &[
    "real person",
    "real human",
    "live agent",
    "live chat",
    "talk to someone",
    "speak to someone",
    "speak with someone",
    "talk with someone",
    "talk to somebody",
    "speak to somebody",
    "call me back",
    "not a bot",
    "no bot",
    "dont want to talk to a bot",
    "dont want a bot",
    "persona real",
    "persona de verdad",
    "hablar con alguien",
    "hay alguien de",
    "no quiero hablar con un robot",
    "no quiero un robot",
    "no quiero hablar con una maquina",
    "llamenme",
    "llamadme",
    "echte person",
    "echten person",
    "echten menschen",
    "einen ansprechpartner",
    "kein bot",
    "keinen bot",
    "rufen sie mich an",
];

/// Who the customer may ask for. Alone these words are no request ("the agent at the post
/// office said…", "suitable for a person with allergies"): they count next to a [`REACH`] word.
const PERSON: &[&str] = &[
    "human",
    "person",
    "someone",
    "somebody",
    "anyone",
    "agent",
    "representative",
    "operator",
    "manager",
    "supervisor",
    "employee",
    "staff",
    "team",
    "customer service",
    "customer support",
    "support",
    "humano",
    "persona",
    "alguien",
    "agente",
    "operador",
    "representante",
    "encargado",
    "gerente",
    "empleado",
    "equipo",
    "atencion al cliente",
    "soporte",
    "mensch",
    "menschen",
    "jemand",
    "jemandem",
    "mitarbeiter",
    "mitarbeiterin",
    "berater",
    "beraterin",
    "ansprechpartner",
    "vorgesetzten",
    "kundenservice",
    "kundendienst",
    "boss",
    "colleague",
    "coworker",
    "member of staff",
    "customer care",
    "customer services",
    "service desk",
    "helpdesk",
    "human being",
    "responsable",
    "asesor",
    "asesora",
    "jefe",
    "companero",
    "servicio al cliente",
    "kollege",
    "kollegin",
    "chef",
    "chefin",
    "zustandigen",
    "verantwortlichen",
    "kundenbetreuung",
    "kundenbetreuer",
];

/// Words that reach for someone: talk, connect, transfer, call back.
const REACH: &[&str] = &[
    "talk",
    "speak",
    "chat",
    "connect",
    "transfer",
    "put me through",
    "get me",
    "give me",
    "want",
    "need",
    "rather",
    "call me",
    "contact me",
    "help me",
    "look at",
    "please",
    "hablar",
    "pasame",
    "pongame",
    "ponganme",
    "comunicame",
    "atienda",
    "atender",
    "llame",
    "quiero",
    "necesito",
    "por favor",
    "sprechen",
    "reden",
    "verbinden",
    "zuruckrufen",
    "holen",
    "mochte",
    "will",
    "brauche",
    "bitte",
    "escalate",
    "pass",
    "forward",
    "put in touch",
    "get in touch",
    "let me",
    "can i get",
    "hand me over",
    "reach",
    "pasas",
    "pasa",
    "paseme",
    "dejame",
    "ponme",
    "ponerme en contacto",
    "contactar",
    "prefiero",
    "hay",
    "escalar",
    "derivar",
    "transferir",
    "weiterleiten",
    "durchstellen",
    "geben",
    "hatte gern",
    "erreichen",
    "ist da",
    "gibt es",
    "klaren",
];

/// Words apart at most between a [`REACH`] word and the [`PERSON`] it reaches for.
const REACH_WINDOW: usize = 6;

/// The machine the customer is talking to, and the words that turn it away ("enough with the
/// automated replies", "kein Bot"): rejecting the bot is asking for a person.
const BOT: &[&str] = &[
    "bot",
    "bots",
    "chatbot",
    "robot",
    "machine",
    "automated",
    "automatic",
    "maquina",
    "automaticas",
    "automaticos",
    "maschine",
    "automatischen",
    "automatische",
];
const REJECT: &[&str] = &[
    "not", "no", "dont", "enough", "stop", "instead", "basta", "nada", "nicht", "kein", "keine", "keinen", "schluss",
    "genug", "statt",
];

/// Endings a person word may carry (plurals, feminine forms): "humans", "Mitarbeitern".
const ENDINGS: &[&str] = &["", "s", "es", "n", "en", "in", "innen"];

/// Bytes of the lexicons compiled into the binary (the rule signals' "model size").
pub fn lexicon_bytes() -> usize {
    let phrases = |list: &[&str]| list.iter().map(|p| p.len()).sum::<usize>();
    VALENCE.iter().map(|(w, _)| w.len() + 4).sum::<usize>()
        + [NEGATORS, BOOSTERS, URGENT, UNHURRIED, HUMAN, PERSON, REACH, BOT, REJECT, ENDINGS]
            .iter()
            .map(|l| phrases(l))
            .sum::<usize>()
}

/// True when the customer asks for a person: a phrase that says so, a person named near a word
/// that reaches for one ("put me through to an agent", "ich möchte einen Mitarbeiter"), the bot
/// turned away, or a message that is nothing but a person ("agent?").
pub fn wants_human(words: &[&str]) -> bool {
    if HUMAN.iter().any(|p| contains_phrase(words, p)) {
        return true;
    }
    let people: Vec<usize> = PERSON.iter().flat_map(|p| person_starts(words, p)).collect();
    let near = |cues: &[&str], targets: &[usize], window: usize| {
        cues.iter().flat_map(|c| phrase_starts(words, c)).any(|c| targets.iter().any(|&t| t.abs_diff(c) <= window))
    };
    if !people.is_empty() && (words.len() <= 2 || near(REACH, &people, REACH_WINDOW)) {
        return true;
    }
    let bots: Vec<usize> = words.iter().enumerate().filter(|(_, w)| BOT.contains(w)).map(|(i, _)| i).collect();
    !bots.is_empty() && near(REJECT, &bots, 4)
}

/// Where a person word starts, with any of its [`ENDINGS`] (multi-word ones as written).
fn person_starts<'a>(words: &'a [&str], person: &'a str) -> Box<dyn Iterator<Item = usize> + 'a> {
    if person.contains(' ') {
        return Box::new(phrase_starts(words, person));
    }
    Box::new(
        words
            .iter()
            .enumerate()
            .filter(move |(_, w)| w.strip_prefix(person).is_some_and(|rest| ENDINGS.contains(&rest)))
            .map(|(i, _)| i),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::text::{fold, words};
    use crate::domain::SentimentLabel;

    fn run<T>(text: &str, f: impl Fn(&str, &[&str]) -> T) -> T {
        let folded = fold(text);
        let ws: Vec<&str> = words(&folded).collect();
        f(text, &ws)
    }

    #[test]
    fn sentiment_labels_and_orders() {
        let angry = run("This is terrible, I am furious!!", sentiment);
        let meh = run("Where is my order?", sentiment);
        let happy = run("Thanks, that was really helpful", sentiment);
        assert_eq!(angry.label, SentimentLabel::Negative);
        assert_eq!(meh.label, SentimentLabel::Neutral);
        assert_eq!(happy.label, SentimentLabel::Positive);
        assert!(angry.score < -0.5 && happy.score > 0.3);
    }

    #[test]
    fn sentiment_handles_negation_shouting_and_other_languages() {
        assert_eq!(run("not good at all", sentiment).label, SentimentLabel::Negative);
        assert!(run("TERRIBLE service", sentiment).score < run("terrible service", sentiment).score);
        assert_eq!(run("Estoy muy enfadado, es inaceptable", sentiment).label, SentimentLabel::Negative);
        assert_eq!(run("Ich bin sehr enttäuscht", sentiment).label, SentimentLabel::Negative);
        assert_eq!(run("Vielen Dank, super!", sentiment).label, SentimentLabel::Positive);
    }

    #[test]
    fn urgency_levels() {
        assert_eq!(run("I need this asap, it's urgent", urgency), Urgency::High);
        assert_eq!(run("when do you close today", urgency), Urgency::Normal);
        assert_eq!(run("Lo necesito ahora mismo", urgency), Urgency::High);
        assert_eq!(run("Bitte sofort antworten", urgency), Urgency::High);
        assert_eq!(run("no rush, whenever you can", urgency), Urgency::Low);
        assert_eq!(run("where is my order", urgency), Urgency::Normal);
    }

    #[test]
    fn human_requests_in_three_languages() {
        for text in [
            "I want to talk to a human",
            "can I speak to someone please",
            "quiero hablar con una persona",
            "Ich möchte mit einem Mitarbeiter sprechen",
        ] {
            assert!(run(text, |_, w| wants_human(w)), "{text}");
        }
        for text in ["where is my order", "the package arrived damaged", "dónde está mi pedido"] {
            assert!(!run(text, |_, w| wants_human(w)), "{text}");
        }
    }
}
