//! Rule-based signals next to the intent model: urgency and "I want a human" (sentiment has
//! its own module).
//! Lexicons in English, Spanish and German, matched on folded words (no accents, lowercase).
//! Rules rather than a model because these signals drive escalation and must be predictable
//! and explainable to the business; the hosted model refines them when the cascade asks it.

use super::text::{contains_phrase, phrase_starts};
use switchboard_core::domain::Urgency;

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
    "personliche beratung",
    "atencion personalizada",
    "anybody there",
    "anyone there",
    "someone there",
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
    "people",
    "anybody",
    "rep",
    "owner",
    "filialleiter",
    "leiter",
    "leiterin",
    "inhaber",
    "inhaberin",
    "whoever",
    "in charge",
    "member of",
    "dueno",
    "duena",
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
    "on the line",
    "look into",
    "take a look",
    "hatte gerne",
    "leiten sie mich",
    "free to",
    "id like",
    "would like",
    "quisiera",
    "me gustaria",
    "wurde gerne",
    "hatte lieber",
];

/// Verb stems that reach for someone in any of their forms ("llame", "llamar", "llámenme";
/// "anrufen", "ruft an" aside): matched as word prefixes.
const REACH_STEMS: &[&str] = &[
    "talk",
    "speak",
    "chat",
    "connect",
    "transfer",
    "escalat",
    "contact",
    "phon",
    "call",
    "prefer",
    "forward",
    "habl",
    "llam",
    "comunic",
    "comuniq",
    "contact",
    "atend",
    "atiend",
    "pas",
    "pon",
    "escal",
    "deriv",
    "transfi",
    "sprech",
    "red",
    "verbind",
    "anruf",
    "zuruckruf",
    "weiterleit",
    "durchstell",
    "kontakt",
    "erreich",
    "ring",
    "conect",
    "meld",
    "schick",
];

/// "Is a person available?": these count right after a person word ("ist ein Berater
/// verfügbar", "hay algún agente disponible") and nowhere else ("is the team jersey available").
const AVAILABLE: &[&str] = &["available", "disponible", "disponibles", "verfugbar", "erreichbar"];

/// Words that say the talk with a person already happened ("I talked to someone last week", "ya me
/// atendió una persona") or tell what someone else said ("my neighbour said a person would
/// call"): then a verb stem in any tense is no request, only a word that plainly asks ([`REACH`]:
/// "I spoke to someone yesterday, now I want a manager") still counts.
const DONE: &[&str] = &[
    "said",
    "told me",
    "dijo",
    "me dijeron",
    "sagte",
    "meinte",
    "hat gesagt",
    "yesterday",
    "already",
    "last week",
    "last time",
    "earlier",
    "ago",
    "ayer",
    "ya",
    "semana pasada",
    "gestern",
    "schon",
    "bereits",
    "letzte woche",
    "vorhin",
];

/// Words that turn a person away ("no need for a human", "ich brauche keinen Menschen"): a person
/// word at most two words after one is not asked for — unless the bot is named between them
/// ("kein Bot, einen Menschen"), which turns the bot away instead.
const DECLINE: &[&str] = &[
    "no need",
    "dont need",
    "do not need",
    "no need to talk",
    "dont need to talk",
    "dont need to speak",
    "dont want to talk",
    "without",
    "no hace falta",
    "no necesito hablar",
    "sin",
    "kein",
    "keine",
    "keinen",
    "nicht notig",
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
#[cfg(any(test, feature = "cli"))]
pub fn lexicon_bytes() -> usize {
    let phrases = |list: &[&str]| list.iter().map(|p| p.len()).sum::<usize>();
    super::sentiment::lexicon_bytes()
        + [
            URGENT,
            UNHURRIED,
            HUMAN,
            PERSON,
            REACH,
            REACH_STEMS,
            AVAILABLE,
            DONE,
            DECLINE,
            OTHER_BEFORE,
            OTHER_AFTER,
            BOT,
            REJECT,
            ENDINGS,
        ]
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
    let bots: Vec<usize> = words.iter().enumerate().filter(|(_, w)| BOT.contains(w)).map(|(i, _)| i).collect();
    let declined = |person: usize| {
        DECLINE.iter().any(|cue| {
            let width = cue.split(' ').count();
            phrase_starts(words, cue)
                .any(|c| c < person && person <= c + width + 2 && !bots.iter().any(|&b| c < b && b < person))
        })
    };
    let people: Vec<usize> = PERSON.iter().flat_map(|p| person_starts(words, p)).filter(|&p| !declined(p)).collect();
    let available = PERSON.iter().any(|p| {
        let after = p.split(' ').count();
        person_starts(words, p).any(|s| !declined(s) && words.get(s + after).is_some_and(|w| AVAILABLE.contains(w)))
    });
    if available {
        return true;
    }
    let near = |cues: &[usize], targets: &[usize], window: usize| {
        cues.iter().any(|&c| targets.iter().any(|&t| t.abs_diff(c) <= window))
    };
    if !people.is_empty() {
        let done = DONE.iter().any(|p| contains_phrase(words, p));
        let stems: Vec<usize> = words
            .iter()
            .enumerate()
            .filter(|(_, w)| !done && REACH_STEMS.iter().any(|s| w.starts_with(s)))
            .map(|(i, _)| i)
            .collect();
        let reach: Vec<usize> =
            REACH.iter().flat_map(|c| phrase_starts(words, c)).chain(stems.iter().copied()).collect();
        // "another person" is reached for only by a verb ("let me speak to another agent"), not
        // by a plain "need" ("I need the invoice sent to another person").
        let (others, own): (Vec<usize>, Vec<usize>) = people.iter().partition(|&&p| third_party(words, p));
        if words.len() <= 2 || near(&reach, &own, REACH_WINDOW) || near(&stems, &others, REACH_WINDOW) {
            return true;
        }
    }
    let rejects: Vec<usize> = REJECT.iter().flat_map(|c| phrase_starts(words, c)).collect();
    !bots.is_empty() && near(&rejects, &bots, REACH_WINDOW)
}

/// Words that make a person someone other than the one the customer is talking to: before it
/// ("another person", "otra persona", "eine andere Person") or after it ("someone else",
/// "alguien más", "jemand anderes").
const OTHER_BEFORE: &[&str] = &["another", "other", "otra", "otro", "andere", "anderen", "anderer"];
const OTHER_AFTER: &[&str] = &["else", "mas", "anderes", "anderem", "anders"];

fn third_party(words: &[&str], person: usize) -> bool {
    person.checked_sub(1).and_then(|b| words.get(b)).is_some_and(|w| OTHER_BEFORE.contains(w))
        || words.get(person + 1).is_some_and(|w| OTHER_AFTER.contains(w))
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

    fn run<T>(text: &str, f: impl Fn(&str, &[&str]) -> T) -> T {
        let folded = fold(text);
        let ws: Vec<&str> = words(&folded).collect();
        f(text, &ws)
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

    /// The false alarms of the fourth held-out round (docs/design.md): a person turned away, or
    /// a talk that already happened, is no request — while asking plainly still is.
    #[test]
    fn a_person_declined_or_already_talked_to_is_no_request() {
        for text in [
            "no need for a human, just tell me the opening hours",
            "ich brauche keinen Menschen, nur die Öffnungszeiten",
            "I talked to someone last week and it is sorted",
            "hablé con alguien ayer y ya está solucionado",
            "ya me atendió una persona muy amable, gracias",
            "I don't need to talk to anyone, the tracking link is enough",
            "the agent on the phone yesterday promised me a refund",
            "my neighbour said a person from your team would call",
            "Mein Nachbar sagte, jemand von Ihrem Team würde anrufen",
            "I need the invoice sent to another person",
            "Ich brauche die Rechnung auf eine andere Person",
            "quiero pedir un regalo para otra persona",
        ] {
            assert!(!run(text, |_, w| wants_human(w)), "{text}");
        }
        for text in [
            "kein Bot, einen Menschen bitte",
            "I spoke to someone yesterday, now I want a manager",
            "necesito hablar con un supervisor ya",
            "put a supervisor on the line",
            "ich brauche eine persönliche Beratung",
            "comuníqueme con un operador",
            "Kann ich den Filialleiter sprechen?",
            "Kann sich ein Berater bei mir melden?",
            "Ich hätte lieber einen Menschen am Telefon",
            "let me speak to another agent",
            "quiero hablar con otra persona",
        ] {
            assert!(run(text, |_, w| wants_human(w)), "{text}");
        }
    }

    /// The misses of the sixth held-out round: asking whether someone is available, reaching
    /// for whoever is in charge, "ring me", and the Spanish "conectar" with its pronoun attached.
    #[test]
    fn asking_whether_someone_is_available_is_a_request() {
        for text in [
            "is a live person available right now?",
            "Ist gerade ein Berater verfügbar?",
            "¿hay algún asesor disponible?",
            "I need to talk to whoever is in charge",
            "can you get someone to ring me on my mobile",
            "conéctame con un humano",
        ] {
            assert!(run(text, |_, w| wants_human(w)), "{text}");
        }
        for text in [
            "is this jacket available in blue?",
            "is the team jersey available in kids sizes",
            "¿está disponible en talla M?",
            "Ist der Artikel verfügbar?",
        ] {
            assert!(!run(text, |_, w| wants_human(w)), "{text}");
        }
    }
}
