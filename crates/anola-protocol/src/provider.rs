//! Providers: maintained on the server (by clinic admins), read-only on devices.

use crate::error::FieldError;
use crate::validate::{err, Checker};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub name: String,
    /// Integer minor units (cents): money is never a float, and FerretDB has no Decimal128.
    #[ts(type = "number")]
    pub price_minor: i64,
    pub currency: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct Availability {
    pub day: Weekday,
    /// `HH:MM`
    pub start: String,
    pub end: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct Vacation {
    /// `YYYY-MM-DD`, inclusive.
    pub from: String,
    pub to: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct Provider {
    pub id: Uuid,
    pub clinic_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub given_name: String,
    pub family_name: String,
    #[serde(default)]
    pub specializations: Vec<String>,
    #[serde(default)]
    pub services: Vec<Service>,
    #[serde(default)]
    pub weekly_availability: Vec<Availability>,
    #[serde(default)]
    pub vacations: Vec<Vacation>,
    #[serde(default)]
    pub consultation_modes: Vec<crate::appointment::ConsultationMode>,
    #[serde(default)]
    pub active: bool,
}

impl Provider {
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let mut c = Checker { errors: &mut errors };
        c.text("clinic_id", &self.clinic_id, true);
        c.text("given_name", &self.given_name, true);
        c.text("family_name", &self.family_name, true);
        for (i, s) in self.services.iter().enumerate() {
            c.text(&format!("services[{i}].name"), &s.name, true);
            if s.price_minor < 0 {
                c.errors.push(err(
                    &format!("services[{i}].price_minor"),
                    "negative",
                    "price_minor must not be negative",
                ));
            }
            if s.currency.len() != 3 || !s.currency.bytes().all(|b| b.is_ascii_uppercase()) {
                c.errors.push(err(
                    &format!("services[{i}].currency"),
                    "invalid_currency",
                    "currency must be an ISO 4217 code such as KES",
                ));
            }
        }
        for (i, a) in self.weekly_availability.iter().enumerate() {
            let s = c.time_of_day(&format!("weekly_availability[{i}].start"), &a.start);
            let e = c.time_of_day(&format!("weekly_availability[{i}].end"), &a.end);
            if let (Some(s), Some(e)) = (s, e) {
                if e <= s {
                    c.errors.push(err(
                        &format!("weekly_availability[{i}].end"),
                        "before_start",
                        "end must be after start",
                    ));
                }
            }
        }
        for (i, v) in self.vacations.iter().enumerate() {
            c.any_date(&format!("vacations[{i}].from"), &v.from);
            c.any_date(&format!("vacations[{i}].to"), &v.to);
        }
        errors
    }

    pub fn display_name(&self) -> String {
        match &self.title {
            Some(t) => format!("{t} {} {}", self.given_name, self.family_name),
            None => format!("{} {}", self.given_name, self.family_name),
        }
    }
}
