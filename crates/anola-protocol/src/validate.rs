//! Field checks shared by every entity's validation. Each check appends a `FieldError` naming the
//! field, so a form can mark every bad field at once.

use crate::error::FieldError;
use time::{Date, Month};

pub const MAX_TEXT: usize = 200;
pub const MAX_LONG_TEXT: usize = 20_000;
pub const MAX_LIST: usize = 50;

pub fn parse_date(s: &str) -> Option<Date> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y: i32 = s[0..4].parse().ok()?;
    let m: u8 = s[5..7].parse().ok()?;
    let d: u8 = s[8..10].parse().ok()?;
    Date::from_calendar_date(y, Month::try_from(m).ok()?, d).ok()
}

pub fn err(field: &str, code: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.to_owned(),
        code: code.to_owned(),
        message: message.into(),
        mutation_index: None,
    }
}

pub struct Checker<'a> {
    pub errors: &'a mut Vec<FieldError>,
}

impl Checker<'_> {
    pub fn text(&mut self, field: &str, v: &str, required: bool) {
        if v.trim().is_empty() {
            if required {
                self.errors.push(err(field, "required", format!("{field} must not be empty")));
            } else {
                self.errors
                    .push(err(field, "empty", format!("{field} must not be blank; send null to clear it")));
            }
        } else if v.chars().count() > MAX_TEXT {
            self.errors
                .push(err(field, "too_long", format!("{field} must be at most {MAX_TEXT} characters")));
        } else if v.chars().any(|c| c.is_control()) {
            self.errors.push(err(
                field,
                "invalid_characters",
                format!("{field} must not contain control characters"),
            ));
        }
    }

    pub fn date(&mut self, field: &str, v: &str, today: Date) {
        match parse_date(v) {
            None => self.errors.push(err(
                field,
                "invalid_date",
                format!("{field} must be a calendar date written YYYY-MM-DD"),
            )),
            Some(d) if d > today => self
                .errors
                .push(err(field, "in_future", format!("{field} must not be in the future"))),
            Some(d) if d.year() < 1880 => self.errors.push(err(field, "out_of_range", format!("{field} must be after 1880"))),
            Some(_) => {}
        }
    }

    pub fn phone(&mut self, field: &str, v: &str) {
        let digits = v.chars().filter(|c| c.is_ascii_digit()).count();
        let allowed = v
            .chars()
            .enumerate()
            .all(|(i, c)| c.is_ascii_digit() || " -().".contains(c) || (c == '+' && i == 0));
        if !allowed || !(7..=15).contains(&digits) {
            self.errors.push(err(
                field,
                "invalid_phone",
                format!("{field} must be 7 to 15 digits, optionally starting with + (spaces, dashes, dots and brackets allowed)"),
            ));
        }
    }

    pub fn email(&mut self, field: &str, v: &str) {
        let ok = v.len() <= 254
            && !v.chars().any(char::is_whitespace)
            && v.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && !domain.contains('@') && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
            });
        if !ok {
            self.errors.push(err(
                field,
                "invalid_email",
                format!("{field} must be an address like name@example.org"),
            ));
        }
    }

    pub fn opt_text(&mut self, field: &str, v: &Option<String>) {
        if let Some(v) = v {
            self.text(field, v, false);
        }
    }

    pub fn list_len<T>(&mut self, field: &str, v: &[T]) {
        if v.len() > MAX_LIST {
            self.errors
                .push(err(field, "too_many", format!("{field} must hold at most {MAX_LIST} entries")));
        }
    }
}

impl Checker<'_> {
    /// Free text such as clinical notes: up to `MAX_LONG_TEXT` characters, newlines allowed.
    pub fn long_text(&mut self, field: &str, v: &str) {
        if v.trim().is_empty() {
            self.errors
                .push(err(field, "empty", format!("{field} must not be blank; leave it out instead")));
        } else if v.chars().count() > MAX_LONG_TEXT {
            self.errors.push(err(
                field,
                "too_long",
                format!("{field} must be at most {MAX_LONG_TEXT} characters"),
            ));
        }
    }

    /// `HH:MM`, 24-hour clock.
    pub fn time_of_day(&mut self, field: &str, v: &str) -> Option<u32> {
        let parsed = parse_time(v);
        if parsed.is_none() {
            self.errors.push(err(
                field,
                "invalid_time",
                format!("{field} must be a time written HH:MM (24-hour)"),
            ));
        }
        parsed
    }

    /// A calendar date with no bound relative to today (appointments may be in the future).
    pub fn any_date(&mut self, field: &str, v: &str) -> Option<Date> {
        let d = parse_date(v);
        if d.is_none() {
            self.errors.push(err(
                field,
                "invalid_date",
                format!("{field} must be a calendar date written YYYY-MM-DD"),
            ));
        }
        d
    }
}

/// Minutes since midnight of an `HH:MM` string.
pub fn parse_time(v: &str) -> Option<u32> {
    let b = v.as_bytes();
    if b.len() != 5 || b[2] != b':' {
        return None;
    }
    let h: u32 = v[0..2].parse().ok()?;
    let m: u32 = v[3..5].parse().ok()?;
    (h < 24 && m < 60).then_some(h * 60 + m)
}

/// The latest calendar date any clinic can be on when UTC says `utc_today`: a day of slack, because
/// a clinic east of UTC is already on tomorrow. Device and server bound dates of birth by it alike.
pub fn latest_local_date(utc_today: Date) -> Date {
    utc_today.next_day().unwrap_or(utc_today)
}
