use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A language as a lowercase ISO 639-1 code (`en`, `es`, `de`...), limited to the languages the
/// local detector knows, so a tenant cannot configure one that would never be detected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Language(&'static str);

/// ISO 639-1 code and the detector's language, for the languages SMEs ask for most.
const KNOWN: &[(&str, whatlang::Lang)] = &[
    ("en", whatlang::Lang::Eng),
    ("es", whatlang::Lang::Spa),
    ("de", whatlang::Lang::Deu),
    ("fr", whatlang::Lang::Fra),
    ("it", whatlang::Lang::Ita),
    ("pt", whatlang::Lang::Por),
    ("nl", whatlang::Lang::Nld),
    ("pl", whatlang::Lang::Pol),
    ("sv", whatlang::Lang::Swe),
    ("da", whatlang::Lang::Dan),
    ("fi", whatlang::Lang::Fin),
    ("cs", whatlang::Lang::Ces),
    ("ro", whatlang::Lang::Ron),
    ("tr", whatlang::Lang::Tur),
    ("ru", whatlang::Lang::Rus),
    ("uk", whatlang::Lang::Ukr),
    ("el", whatlang::Lang::Ell),
    ("ar", whatlang::Lang::Ara),
    ("he", whatlang::Lang::Heb),
    ("hi", whatlang::Lang::Hin),
    ("ja", whatlang::Lang::Jpn),
    ("ko", whatlang::Lang::Kor),
    ("zh", whatlang::Lang::Cmn),
];

impl Language {
    /// English, the fallback of last resort.
    pub const EN: Language = Language("en");

    /// Looks up an ISO 639-1 code.
    pub fn from_code(code: &str) -> Option<Language> {
        KNOWN.iter().find(|(c, _)| *c == code).map(|(c, _)| Language(c))
    }

    /// The language the detector calls `lang`, if we support it.
    pub fn from_detected(lang: whatlang::Lang) -> Option<Language> {
        KNOWN.iter().find(|(_, l)| *l == lang).map(|(c, _)| Language(c))
    }

    /// The detector's name for this language.
    pub fn detector_lang(self) -> whatlang::Lang {
        KNOWN.iter().find(|(c, _)| *c == self.0).map(|(_, l)| *l).unwrap_or(whatlang::Lang::Eng)
    }

    /// The ISO 639-1 code.
    pub fn code(self) -> &'static str {
        self.0
    }
}

impl Serialize for Language {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for Language {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Language::from_code(&code).ok_or_else(|| {
            serde::de::Error::custom(format!("unknown language code `{code}` (use ISO 639-1, e.g. en, es, de)"))
        })
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}
