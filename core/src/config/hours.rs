//! Business hours: when people answer, so the handoff notice can say when a person will reply.

use super::BusinessHours;
use crate::domain::Language;
use chrono::{DateTime, Datelike, Duration, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::Serialize;

const DAYS: [(&str, Weekday); 7] = [
    ("mon", Weekday::Mon),
    ("tue", Weekday::Tue),
    ("wed", Weekday::Wed),
    ("thu", Weekday::Thu),
    ("fri", Weekday::Fri),
    ("sat", Weekday::Sat),
    ("sun", Weekday::Sun),
];

/// Opening hours compiled from the configuration: a time zone and one span per open weekday.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    zone: Tz,
    /// Monday first; `None` is closed.
    days: [Option<(NaiveTime, NaiveTime)>; 7],
}

/// Whether people are in now, and when they are next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Availability {
    /// People are working now.
    pub open_now: bool,
    /// When they are next in, in the business's time zone and the customer's language
    /// (`Monday 09:00`); empty while open or when the business never opens.
    pub opens: String,
}

impl Availability {
    /// Always open (no business hours configured).
    pub fn always() -> Self {
        Self { open_now: true, opens: String::new() }
    }
}

impl Schedule {
    /// Compiles and checks the configuration; the errors name the field.
    pub fn compile(hours: &BusinessHours) -> Result<Self, Vec<(String, String)>> {
        let mut problems = Vec::new();
        let zone: Option<Tz> = hours.timezone.parse().ok();
        if zone.is_none() {
            problems
                .push(("handoff.business_hours.timezone".into(), format!("unknown time zone `{}`", hours.timezone)));
        }
        let mut days = [None; 7];
        for (day, span) in &hours.weekly {
            let field = format!("handoff.business_hours.weekly.{day}");
            let Some(index) = DAYS.iter().position(|(name, _)| name == day) else {
                problems.push((field, "not a weekday (mon, tue, wed, thu, fri, sat, sun)".into()));
                continue;
            };
            let parsed = span.split_once('-').and_then(|(a, b)| {
                let a = NaiveTime::parse_from_str(a.trim(), "%H:%M").ok()?;
                let b = NaiveTime::parse_from_str(b.trim(), "%H:%M").ok()?;
                (a < b).then_some((a, b))
            });
            match parsed {
                Some(span) => days[index] = Some(span),
                None => problems.push((field, format!("`{span}` is not `HH:MM-HH:MM` with the start first"))),
            }
        }
        match zone {
            Some(zone) if problems.is_empty() => Ok(Self { zone, days }),
            _ => Err(problems),
        }
    }

    /// Open now, or when next (looking a week ahead).
    pub fn availability(&self, now: DateTime<Utc>, language: Language) -> Availability {
        let local = now.with_timezone(&self.zone);
        for offset in 0..8 {
            let date = local.date_naive() + Duration::days(offset);
            let Some((start, end)) = self.days[date.weekday().num_days_from_monday() as usize] else { continue };
            let Some(opens) = self.zone.from_local_datetime(&date.and_time(start)).earliest() else { continue };
            let closes = self.zone.from_local_datetime(&date.and_time(end)).latest();
            if offset == 0 && opens <= local && closes.is_some_and(|c| local < c) {
                return Availability::always();
            }
            if opens > local {
                let day = weekday_name(date.weekday(), language);
                return Availability { open_now: false, opens: format!("{day} {}", start.format("%H:%M")) };
            }
        }
        Availability { open_now: false, opens: String::new() }
    }
}

fn weekday_name(day: Weekday, language: Language) -> &'static str {
    let i = day.num_days_from_monday() as usize;
    let names: [&str; 7] = match language.code() {
        "es" => ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"],
        "de" => ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"],
        "fr" => ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"],
        _ => ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    };
    names[i]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn madrid_weekdays() -> Schedule {
        let weekly: BTreeMap<String, String> =
            ["mon", "tue", "wed", "thu", "fri"].iter().map(|d| (d.to_string(), "09:00-18:00".to_string())).collect();
        Schedule::compile(&BusinessHours { timezone: "Europe/Madrid".into(), weekly }).unwrap()
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn open_in_the_business_time_zone() {
        // 09:30 in Madrid (CET, UTC+1) on Wednesday 25 November 2026.
        assert!(madrid_weekdays().availability(at("2026-11-25T08:30:00Z"), Language::EN).open_now);
        // 08:30 in Madrid: not yet.
        let early = madrid_weekdays().availability(at("2026-11-25T07:30:00Z"), Language::EN);
        assert_eq!(early, Availability { open_now: false, opens: "Wednesday 09:00".into() });
    }

    #[test]
    fn closed_at_the_weekend_says_monday_in_the_customers_language() {
        let saturday = at("2026-11-28T12:00:00Z");
        assert_eq!(madrid_weekdays().availability(saturday, Language::EN).opens, "Monday 09:00");
        assert_eq!(madrid_weekdays().availability(saturday, Language::from_code("es").unwrap()).opens, "lunes 09:00");
        assert_eq!(madrid_weekdays().availability(saturday, Language::from_code("de").unwrap()).opens, "Montag 09:00");
        // Friday 18:00 Madrid is closing time: closed.
        assert!(!madrid_weekdays().availability(at("2026-11-27T17:00:00Z"), Language::EN).open_now);
    }

    #[test]
    fn summer_time_moves_the_hours_with_the_clock() {
        // 09:30 in Madrid in July is 07:30 UTC (CEST, UTC+2).
        assert!(madrid_weekdays().availability(at("2026-07-01T07:30:00Z"), Language::EN).open_now);
    }

    #[test]
    fn bad_configurations_name_the_field() {
        let weekly: BTreeMap<String, String> =
            [("mon".to_string(), "18:00-09:00".to_string()), ("funday".to_string(), "09:00-10:00".to_string())]
                .into_iter()
                .collect();
        let problems = Schedule::compile(&BusinessHours { timezone: "Mars/Olympus".into(), weekly }).unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "handoff.business_hours.timezone",
                "handoff.business_hours.weekly.funday",
                "handoff.business_hours.weekly.mon"
            ]
        );
    }
}
