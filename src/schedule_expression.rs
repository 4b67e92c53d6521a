//! EventBridge Scheduler's schedule expressions, checked before anything is sent, and their next
//! run in a time zone (for `status`).
//!
//! The three forms, as the Scheduler User Guide's "Schedule types" page defines them:
//! - `cron(minutes hours day-of-month month day-of-week year)`: six fields; weekdays count 1-7 from
//!   Sunday (or SUN-SAT), years 1970-2199; one of day-of-month and day-of-week must be `?` and the
//!   other must not;
//! - `rate(value unit)`: a positive whole number and `minute(s)`, `hour(s)` or `day(s)`;
//! - `at(yyyy-mm-ddThh:mm:ss)`: once, at that wall-clock time in the schedule's time zone.
//!
//! Time zones are IANA names, checked against the tz database bundled with jiff (the same on every
//! machine). Cron fields are evaluated by croner in its Quartz mode (weekdays 1-7 from Sunday),
//! after the rules croner does not know (the six fields, `?`, the year range) are checked here.

use std::fmt;

use croner::parser::{CronParser, Seconds, Year};
use croner::Cron;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan, Zoned};

/// A schedule expression, parsed.
#[derive(Debug, Clone)]
pub enum Expression {
    Cron(Box<Cron>),
    Rate { value: u32, unit: RateUnit },
    At(DateTime),
}

/// The unit of a `rate(...)` expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateUnit {
    Minutes,
    Hours,
    Days,
}

/// The cron fields in AWS's order, for messages.
const FIELDS: [&str; 6] = [
    "minutes",
    "hours",
    "day-of-month",
    "month",
    "day-of-week",
    "year",
];

impl Expression {
    /// Parses `text`; the error says what is wrong and how AWS wants it.
    pub fn parse(text: &str) -> Result<Expression, String> {
        let text = text.trim();
        let inner = |prefix: &str| {
            text.strip_prefix(prefix)
                .and_then(|rest| rest.strip_suffix(')'))
                .map(str::trim)
        };
        if let Some(fields) = inner("cron(") {
            return parse_cron(fields).map(|cron| Expression::Cron(Box::new(cron)));
        }
        if let Some(rate) = inner("rate(") {
            return parse_rate(rate);
        }
        if let Some(at) = inner("at(") {
            return at
                .parse::<DateTime>()
                .ok()
                .filter(|_| is_at_layout(at))
                .map(Expression::At)
                .ok_or_else(|| {
                    format!(
                        "`at({at})` is not a date and time: write at(yyyy-mm-ddThh:mm:ss), e.g. \
                         at(2027-01-31T03:00:00)"
                    )
                });
        }
        Err(format!(
            "`{text}` is not a schedule expression: use cron(minutes hours day-of-month month \
             day-of-week year), e.g. cron(0 3 * * ? *) for 3 am every day, rate(value unit), \
             e.g. rate(15 minutes), or at(yyyy-mm-ddThh:mm:ss) for once"
        ))
    }

    /// The next run strictly after `now`, in `zone`. A rate schedule counts from `since` (when
    /// it was made; Scheduler starts a rate schedule without a start date at once). `None`: it
    /// will not run again.
    pub fn next_run(&self, zone: &TimeZone, now: Timestamp, since: Timestamp) -> Option<Zoned> {
        let now = now.to_zoned(zone.clone());
        match self {
            Expression::Cron(cron) => cron.find_next_occurrence(&now, false).ok(),
            Expression::Rate { value, unit } => {
                let step = match unit {
                    RateUnit::Minutes => i64::from(*value) * 60,
                    RateUnit::Hours => i64::from(*value) * 3600,
                    RateUnit::Days => i64::from(*value) * 86_400,
                };
                let elapsed = now.timestamp().as_second() - since.as_second();
                let steps = if elapsed < 0 { 0 } else { elapsed / step + 1 };
                let next = since.checked_add((steps * step).seconds()).ok()?;
                Some(next.to_zoned(zone.clone()))
            }
            Expression::At(at) => {
                let at = at.to_zoned(zone.clone()).ok()?;
                (at > now).then_some(at)
            }
        }
    }
}

impl fmt::Display for RateUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RateUnit::Minutes => "minutes",
            RateUnit::Hours => "hours",
            RateUnit::Days => "days",
        })
    }
}

/// An IANA time zone name, checked against the bundled tz database.
pub fn time_zone(name: &str) -> Result<TimeZone, String> {
    if name.is_empty() || name.starts_with(['+', '-']) || name.contains(' ') {
        return Err(format!(
            "`{name}` is not an IANA time zone: use a name such as Europe/Berlin, \
             America/New_York or UTC"
        ));
    }
    jiff::tz::db().get(name).map_err(|_| {
        format!(
            "`{name}` is not an IANA time zone: use a name such as Europe/Berlin, \
             America/New_York or UTC (the tz database's names, as `timedatectl list-timezones` \
             shows them)"
        )
    })
}

/// `yyyy-mm-ddThh:mm:ss` exactly: jiff also reads shorter and longer forms AWS refuses.
fn is_at_layout(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 19
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            10 => *b == b'T',
            13 | 16 => *b == b':',
            _ => b.is_ascii_digit(),
        })
}

fn parse_rate(text: &str) -> Result<Expression, String> {
    let usage = || {
        format!(
            "`rate({text})` is not a rate: write rate(value unit) with a positive whole number and \
             minute(s), hour(s) or day(s), e.g. rate(15 minutes)"
        )
    };
    let (value, unit) = text.split_once(' ').ok_or_else(usage)?;
    let value: u32 = value.parse().ok().filter(|v| *v > 0).ok_or_else(usage)?;
    let unit = match unit.trim() {
        "minute" | "minutes" => RateUnit::Minutes,
        "hour" | "hours" => RateUnit::Hours,
        "day" | "days" => RateUnit::Days,
        _ => return Err(usage()),
    };
    Ok(Expression::Rate { value, unit })
}

/// The characters AWS allows in each cron field (besides digits), from the User Guide's table.
fn allowed_in(field: usize) -> &'static str {
    match field {
        2 => ",-*?/LW",
        3 => ",-*/",
        4 => ",-*?L#",
        _ => ",-*/",
    }
}

fn parse_cron(text: &str) -> Result<Cron, String> {
    let fields: Vec<&str> = text.split_whitespace().collect();
    if fields.len() != 6 {
        return Err(format!(
            "`cron({text})` has {} fields; AWS's cron has six: minutes hours day-of-month month \
             day-of-week year, e.g. cron(0 3 * * ? *) for 3 am every day",
            fields.len()
        ));
    }
    for (i, field) in fields.iter().enumerate() {
        let upper = field.to_ascii_uppercase();
        // Month and weekday names are letters that are not special characters.
        let without_names = match i {
            3 => strip_names(&upper, &MONTHS),
            4 => strip_names(&upper, &WEEKDAYS),
            _ => upper.clone(),
        };
        if let Some(bad) = without_names
            .chars()
            .find(|c| !c.is_ascii_digit() && !allowed_in(i).contains(*c))
        {
            return Err(format!(
                "`cron({text})`: the {} field `{field}` has `{bad}`, which AWS does not allow \
                 there (allowed: digits and {})",
                FIELDS[i],
                allowed_in(i)
            ));
        }
    }
    let (day_of_month, day_of_week) = (fields[2], fields[4]);
    match (day_of_month == "?", day_of_week == "?") {
        (false, false) => {
            return Err(format!(
                "`cron({text})`: one of day-of-month (`{day_of_month}`) and day-of-week \
                 (`{day_of_week}`) must be `?`, AWS's rule: e.g. cron(0 3 * * ? *) for every day, \
                 cron(0 3 ? * MON-FRI *) for weekdays"
            ))
        }
        (true, true) => {
            return Err(format!(
                "`cron({text})`: day-of-month and day-of-week are both `?`; give one of them, \
                 e.g. `*` in day-of-month for every day"
            ))
        }
        _ => {}
    }
    if let Some(year) = numbers_in(fields[5]).find(|y| !(1970..=2199).contains(y)) {
        return Err(format!(
            "`cron({text})`: the year {year} is outside AWS's range, 1970-2199"
        ));
    }
    // AWS writes "the last Friday" as 6L; croner as 6#L. A lone L is the last day of the week,
    // Saturday.
    let day_of_week = match day_of_week.to_ascii_uppercase().as_str() {
        "L" => "7".to_string(),
        other => match other.strip_suffix('L') {
            Some(day) if !day.is_empty() && !day.ends_with('#') => format!("{day}#L"),
            _ => other.to_string(),
        },
    };
    let pattern = format!(
        "0 {} {} {} {} {} {}",
        fields[0], fields[1], day_of_month, fields[3], day_of_week, fields[5]
    );
    CronParser::builder()
        .seconds(Seconds::Required)
        .year(Year::Required)
        .alternative_weekdays(true)
        .sloppy_ranges(true)
        .build()
        .parse(&pattern)
        .map_err(|e| format!("`cron({text})` is not a valid cron expression: {e}"))
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

fn strip_names(field: &str, names: &[&str]) -> String {
    names
        .iter()
        .fold(field.to_string(), |field, name| field.replace(name, "1"))
}

/// The whole numbers written in a field (`2027,2030-2032` → 2027, 2030, 2032).
fn numbers_in(field: &str) -> impl Iterator<Item = u32> + '_ {
    field
        .split([',', '-', '/'])
        .filter_map(|part| part.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn next(expression: &str, zone: &str, now: &str) -> String {
        let zone = time_zone(zone).unwrap();
        let now: Timestamp = now.parse().unwrap();
        Expression::parse(expression)
            .unwrap()
            .next_run(&zone, now, now)
            .map(|z| z.strftime("%Y-%m-%dT%H:%M %Z").to_string())
            .unwrap_or_default()
    }

    #[test]
    fn cron_runs_at_local_time_across_daylight_saving() {
        // 3 am in Berlin is 02:00 UTC in winter and 01:00 UTC in summer.
        assert_eq!(
            next("cron(0 3 * * ? *)", "Europe/Berlin", "2026-12-03T12:00:00Z"),
            "2026-12-04T03:00 CET"
        );
        assert_eq!(
            next("cron(0 3 * * ? *)", "Europe/Berlin", "2027-07-01T12:00:00Z"),
            "2027-07-02T03:00 CEST"
        );
        // Weekdays count from Sunday = 1, as AWS counts them: 2-6 is Monday to Friday.
        assert_eq!(
            next("cron(30 6 ? * 2-6 *)", "UTC", "2026-12-05T00:00:00Z"),
            "2026-12-07T06:30 UTC"
        );
        assert_eq!(
            next("cron(0 9 ? * MON-FRI *)", "UTC", "2026-12-05T00:00:00Z"),
            "2026-12-07T09:00 UTC"
        );
        // The last Friday of the month, as AWS writes it.
        assert_eq!(
            next("cron(0 12 ? * 6L *)", "UTC", "2026-12-01T00:00:00Z"),
            "2026-12-25T12:00 UTC"
        );
        assert_eq!(
            next("cron(0/15 * * * ? *)", "UTC", "2026-12-01T00:07:00Z"),
            "2026-12-01T00:15 UTC"
        );
        assert_eq!(
            next("cron(0 0 1 1 ? 2020)", "UTC", "2026-12-01T00:00:00Z"),
            ""
        );
    }

    #[test]
    fn rate_counts_from_when_the_schedule_was_made() {
        let zone = time_zone("UTC").unwrap();
        let since: Timestamp = "2026-12-01T00:00:00Z".parse().unwrap();
        let now: Timestamp = "2026-12-01T00:20:00Z".parse().unwrap();
        let next = Expression::parse("rate(15 minutes)")
            .unwrap()
            .next_run(&zone, now, since)
            .unwrap();
        assert_eq!(next.timestamp().to_string(), "2026-12-01T00:30:00Z");
    }

    #[test]
    fn at_runs_once_in_its_time_zone() {
        assert_eq!(
            next(
                "at(2027-01-31T03:00:00)",
                "America/New_York",
                "2026-12-01T00:00:00Z"
            ),
            "2027-01-31T03:00 EST"
        );
        assert_eq!(
            next("at(2020-01-31T03:00:00)", "UTC", "2026-12-01T00:00:00Z"),
            ""
        );
    }

    #[test]
    fn what_aws_refuses_is_refused_with_the_rule() {
        for (expression, said) in [
            ("cron(0 3 * * *)", "has 5 fields"),
            ("cron(0 3 * * MON *)", "must be `?`"),
            ("cron(0 3 ? * ? *)", "both `?`"),
            ("cron(0 3 * * ? 1900)", "1970-2199"),
            ("cron(0 3 * * ? x)", "year field"),
            ("cron(61 3 * * ? *)", "not a valid cron"),
            ("cron(0 25 * * ? *)", "not a valid cron"),
            ("rate(0 minutes)", "positive whole number"),
            ("rate(5 weeks)", "minute(s)"),
            ("rate(5)", "rate(value unit)"),
            ("at(2027-01-31 03:00)", "yyyy-mm-ddThh:mm:ss"),
            ("at(2027-02-30T03:00:00)", "yyyy-mm-ddThh:mm:ss"),
            ("every night", "not a schedule expression"),
            ("0 3 * * ? *", "not a schedule expression"),
        ] {
            let error = Expression::parse(expression).unwrap_err();
            assert!(error.contains(said), "{expression}: {error}");
        }
        for good in [
            "cron(0 3 * * ? *)",
            "cron(0 3 ? * 1 *)",
            "cron(0 3 L * ? *)",
            "cron(0 3 15W * ? *)",
            "cron(0 3 ? * 2#1 *)",
            "cron(0 3 ? JAN-MAR MON 2027-2030)",
            "rate(1 minute)",
            "rate(2 days)",
            "at(2027-01-31T03:00:00)",
        ] {
            assert!(Expression::parse(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn time_zones_are_iana_names() {
        for good in ["Europe/Berlin", "UTC", "America/New_York", "Asia/Kolkata"] {
            assert!(time_zone(good).is_ok(), "{good}");
        }
        for bad in ["Europe/Berln", "CEST+1", "+02:00", "", "Mars/Olympus"] {
            assert!(time_zone(bad).is_err(), "{bad}");
        }
    }
}
