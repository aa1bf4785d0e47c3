//! Phone numbers to E.164, the form channels give them in (`+34600111222`). A number written
//! nationally (`600 111 222`, as a shop's checkout form keeps it) is only completed when the
//! record says the country; otherwise it is refused, never guessed.

/// Country calling codes by ISO 3166 alpha-2, for the countries whose shops we expect first
/// (the EU, the rest of Europe, North America and a few large markets), and whether the
/// national trunk prefix `0` stays in the international form (Italy, San Marino, the Vatican).
#[rustfmt::skip]
const CALLING_CODES: &[(&str, &str, bool)] = &[
    ("AT", "43", false), ("AU", "61", false), ("BE", "32", false), ("BG", "359", false), ("BR", "55", false),
    ("CA", "1", false), ("CH", "41", false), ("CY", "357", false), ("CZ", "420", false), ("DE", "49", false),
    ("DK", "45", false), ("EE", "372", false), ("ES", "34", false), ("FI", "358", false), ("FR", "33", false),
    ("GB", "44", false), ("GR", "30", false), ("HR", "385", false), ("HU", "36", false), ("IE", "353", false),
    ("IN", "91", false), ("IS", "354", false), ("IT", "39", true), ("LT", "370", false), ("LU", "352", false),
    ("LV", "371", false), ("MT", "356", false), ("MX", "52", false), ("NL", "31", false), ("NO", "47", false),
    ("NZ", "64", false), ("PL", "48", false), ("PT", "351", false), ("RO", "40", false), ("SE", "46", false),
    ("SI", "386", false), ("SK", "421", false), ("SM", "378", true), ("TR", "90", false), ("UA", "380", false),
    ("US", "1", false), ("VA", "39", true), ("ZA", "27", false),
];

/// `raw` in E.164, if it is a phone number: international (`+…` or `00…`), or national with
/// `country` (ISO alpha-2) saying where. Spaces, dashes, dots, brackets and an `(0)` go.
pub fn normalise_phone(raw: &str, country: Option<&str>) -> Option<String> {
    let cleaned: String = raw
        .replace("(0)", "")
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '.' | '(' | ')' | '/'))
        .collect();
    let international = cleaned.strip_prefix('+').or_else(|| cleaned.strip_prefix("00"));
    let digits = match international {
        Some(rest) => rest.to_string(),
        None => national(&cleaned, country?)?,
    };
    let shaped =
        digits.chars().all(|c| c.is_ascii_digit()) && (8..=15).contains(&digits.len()) && !digits.starts_with('0');
    shaped.then(|| format!("+{digits}"))
}

/// A national number completed with its country's calling code.
fn national(number: &str, country: &str) -> Option<String> {
    let country = country.trim().to_ascii_uppercase();
    let (_, code, keeps_trunk) = CALLING_CODES.iter().find(|(iso, _, _)| *iso == country)?;
    if !number.chars().all(|c| c.is_ascii_digit()) || number.is_empty() {
        return None;
    }
    let subscriber = match (*code, *keeps_trunk) {
        ("1", _) if number.len() == 11 => number.strip_prefix('1')?,
        (_, false) => number.strip_prefix('0').unwrap_or(number),
        (_, true) => number,
    };
    Some(format!("{code}{subscriber}"))
}

#[cfg(test)]
mod tests {
    use super::normalise_phone;

    #[test]
    fn international_numbers_keep_their_digits() {
        for (raw, want) in [
            ("+34 600 111 222", "+34600111222"),
            ("0034600111222", "+34600111222"),
            ("+44 (0) 7700 900123", "+447700900123"),
            ("+1 (415) 555-0100", "+14155550100"),
        ] {
            assert_eq!(normalise_phone(raw, None).as_deref(), Some(want), "{raw}");
        }
    }

    #[test]
    fn national_numbers_need_their_country() {
        assert_eq!(normalise_phone("600 111 222", None), None, "never guessed");
        assert_eq!(normalise_phone("600 111 222", Some("es")).as_deref(), Some("+34600111222"));
        assert_eq!(normalise_phone("07700 900123", Some("GB")).as_deref(), Some("+447700900123"));
        assert_eq!(normalise_phone("030 1234567", Some("DE")).as_deref(), Some("+49301234567"));
        assert_eq!(normalise_phone("06 1234 5678", Some("IT")).as_deref(), Some("+390612345678"), "Italy keeps its 0");
        assert_eq!(normalise_phone("1 415 555 0100", Some("US")).as_deref(), Some("+14155550100"));
        assert_eq!(normalise_phone("600 111 222", Some("XX")), None, "an unknown country completes nothing");
    }

    #[test]
    fn what_is_not_a_number_is_refused() {
        for raw in ["", "+", "+34 abc", "+0123456789", "+1234567", "+1234567890123456", "call me"] {
            assert_eq!(normalise_phone(raw, Some("ES")), None, "{raw}");
        }
    }
}
