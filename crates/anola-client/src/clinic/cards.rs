//! Health cards on the device: the offline card cache, issuing and printing, offline verification
//! of a scan (QR text from a camera or a keyboard-wedge scanner, or a typed fallback code), and
//! check-in (front desk or kiosk).
//!
//! **Queue numbers** are counted on this device's replica: 1 + the appointments of today already
//! checked in, in progress or completed. Two devices checking patients in while both are offline
//! (or between syncs) can hand out the same number; numbers reconcile only as far as each device
//! sees the other's check-ins after a sync. A re-scan of a patient already checked in shows the
//! number given the first time on this device.
//!
//! **Today** is the device's local date: UTC shifted by the device's UTC offset
//! (`Clinic::set_utc_offset`, default from `ANOLA_UTC_OFFSET` such as `+03:00`, else UTC).

use super::{lock, strip, Clinic};
use crate::error::ClientError;
use crate::store::cards::CachedCard;
use crate::sync::transport::TransportError;
use anola_cards::CardError;
use anola_protocol::access::{may_read, may_write, Role};
use anola_protocol::auth::AuditAction;
use anola_protocol::cards::{IssueCardRequest, IssuedCard};
use anola_protocol::wire::EntityKind;
use anola_protocol::{Appointment, AppointmentFields, AppointmentStatus, ErrorCode, Patient, PatientFields};
use serde::Serialize;
use time::{OffsetDateTime, UtcOffset};
use uuid::Uuid;

/// ID-1 card size (ISO/IEC 7810), millimetres.
pub const CARD_WIDTH_MM: f64 = 85.6;
pub const CARD_HEIGHT_MM: f64 = 53.98;
/// Quiet zone around the QR, in modules.
pub const QR_QUIET_MODULES: usize = 4;
/// The smallest module printed (below this, phone cameras and handheld scanners struggle).
pub const MIN_MODULE_MM: f64 = 0.25;

/// A card ready to print.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrintableCard {
    pub card_id: String,
    pub patient_id: Uuid,
    pub display_name: String,
    pub qr_text: String,
    pub fallback_code: String,
    /// RFC 3339.
    pub issued_at: String,
    pub expires_at: String,
    /// An ID-1 card (85.6 × 53.98 mm) as SVG, sized in millimetres for printing at 100 %.
    pub svg: String,
}

/// A verified card and its patient (as the signed-in role may see them).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CardCheck {
    pub card_id: String,
    pub patient: Patient,
    /// RFC 3339.
    pub expires_at: String,
}

/// What a check-in shows: the patient's initials and their place in today's queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckIn {
    pub patient_id: Uuid,
    /// e.g. `A. O.`
    pub initials: String,
    pub queue_number: u32,
    pub appointment_id: Uuid,
    /// No appointment today: one was created.
    pub walk_in: bool,
    /// Already checked in today (a second scan): the number given the first time.
    pub already_checked_in: bool,
}

fn rfc3339(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

fn parse_rfc3339(s: &str) -> Option<i64> {
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

/// The UTC offset named by `ANOLA_UTC_OFFSET` (`+03:00`, `-0500`, `+3`), if set and valid.
pub(crate) fn env_utc_offset() -> Option<UtcOffset> {
    parse_offset(&std::env::var("ANOLA_UTC_OFFSET").ok()?)
}

pub(crate) fn parse_offset(s: &str) -> Option<UtcOffset> {
    let s = s.trim();
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => (1, s),
    };
    let (h, m) = match rest.split_once(':') {
        Some((h, m)) => (h.parse::<i8>().ok()?, m.parse::<i8>().ok()?),
        None if rest.len() == 4 => (rest[..2].parse().ok()?, rest[2..].parse().ok()?),
        None => (rest.parse().ok()?, 0),
    };
    UtcOffset::from_hms(sign * h, sign * m, 0).ok()
}

/// Maps a verification failure to the error staff see.
pub(crate) fn rejected(e: &CardError) -> ClientError {
    ClientError::card_rejected(e.code(), e.to_string())
}

/// `A. O.` from the given and family names (first letter of each; `?` when unknown).
pub fn initials(given: Option<&str>, family: Option<&str>) -> String {
    let first = |s: Option<&str>| {
        s.and_then(|s| s.trim().chars().next())
            .map(|c| c.to_uppercase().collect::<String>())
            .unwrap_or_else(|| "?".into())
    };
    format!("{}. {}.", first(given), first(family))
}

fn display_name(p: &Patient) -> String {
    [p.given_name.as_deref(), p.family_name.as_deref()]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

pub(crate) fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// One line of text no wider than `max_w` mm: the font shrinks for long names, down to 2 mm, and
/// past that the text is squeezed to fit.
fn text_line(x: f64, y: f64, max_w: f64, size: f64, weight: &str, text: &str) -> String {
    let n = text.chars().count().max(1) as f64;
    // Average glyph advance of a sans-serif face is about 0.55 em.
    let fit = (max_w / (0.55 * n)).min(size);
    let font = fit.max(2.0);
    let squeeze = if 0.55 * n * font > max_w {
        format!(r#" textLength="{max_w:.2}" lengthAdjust="spacingAndGlyphs""#)
    } else {
        String::new()
    };
    format!(
        r#"<text x="{x:.2}" y="{y:.2}" font-size="{font:.2}" font-weight="{weight}"{squeeze}>{}</text>"#,
        xml_escape(text)
    )
}

/// The printable card: patient name, card id, QR (dark modules as one path, 4-module quiet zone)
/// and fallback code on an ID-1 card, in millimetres.
pub fn render_card_svg(
    display_name: &str,
    card_id: &str,
    qr_text: &str,
    fallback_code: &str,
    expires_at: &str,
) -> Result<String, ClientError> {
    let qr = anola_cards::card_qr_code(qr_text).map_err(|e| rejected(&e))?;
    let width = qr.width();
    let colors = qr.to_colors();
    let margin = 2.5;
    let total_modules = (width + 2 * QR_QUIET_MODULES) as f64;
    // The QR takes the card's full height (less the margins), at most 0.7 mm per module.
    let module = ((CARD_HEIGHT_MM - 2.0 * margin) / total_modules).min(0.7);
    if module < MIN_MODULE_MM {
        return Err(ClientError::Internal {
            message: format!(
                "this card's QR ({width}×{width} modules) would print at {module:.3} mm per module, under the {MIN_MODULE_MM} mm scanners need"
            ),
        });
    }
    let side = module * total_modules;
    let qr_x = CARD_WIDTH_MM - margin - side;
    let qr_y = (CARD_HEIGHT_MM - side) / 2.0;
    let mut path = String::with_capacity(colors.len() * 6);
    for (i, c) in colors.iter().enumerate() {
        if *c == anola_cards::qrcode::Color::Dark {
            let (x, y) = (i % width + QR_QUIET_MODULES, i / width + QR_QUIET_MODULES);
            path.push_str(&format!("M{x} {y}h1v1h-1z"));
        }
    }
    let text_w = qr_x - 2.0 * margin;
    let tx = margin + 1.0;
    let expiry = expires_at.get(..10).unwrap_or(expires_at);
    let lines = [
        text_line(tx, 8.0, text_w, 3.2, "bold", "Anola Health"),
        text_line(tx, 11.5, text_w, 2.2, "normal", "Health card"),
        text_line(tx, 21.0, text_w, 4.0, "bold", display_name),
        text_line(tx, 27.0, text_w, 2.2, "normal", "Card"),
        text_line(tx, 30.5, text_w, 3.0, "normal", card_id),
        text_line(tx, 38.0, text_w, 2.2, "normal", "If the code will not scan, type"),
        text_line(tx, 42.5, text_w, 3.6, "bold", fallback_code),
        text_line(tx, 49.5, text_w, 2.2, "normal", &format!("Valid until {expiry}")),
    ];
    Ok(format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            "\n",
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}mm" height="{h}mm" viewBox="0 0 {w} {h}">"#,
            "\n",
            r##"<rect x="0" y="0" width="{w}" height="{h}" rx="3.18" fill="#ffffff" stroke="#999999" stroke-width="0.2"/>"##,
            "\n",
            r##"<g font-family="Helvetica, Arial, sans-serif" fill="#111111">{lines}</g>"##,
            "\n",
            r##"<rect x="{qx:.3}" y="{qy:.3}" width="{side:.3}" height="{side:.3}" fill="#ffffff"/>"##,
            "\n",
            r##"<path transform="translate({qx:.3} {qy:.3}) scale({m:.4})" fill="#000000" shape-rendering="crispEdges" d="{path}"/>"##,
            "\n</svg>\n"
        ),
        w = CARD_WIDTH_MM,
        h = CARD_HEIGHT_MM,
        lines = lines.join(""),
        qx = qr_x,
        qy = qr_y,
        side = side,
        m = module,
        path = path,
    ))
}

/// Today in the clinic, `(YYYY-MM-DD, minutes since midnight)`.
fn day_and_minute(now: OffsetDateTime) -> (String, u32) {
    let d = now.date();
    let date = format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day());
    (date, now.hour() as u32 * 60 + now.minute() as u32)
}

fn hhmm(minutes: u32) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

fn minutes_of(t: &str) -> Option<u32> {
    let (h, m) = t.split_once(':')?;
    Some(h.parse::<u32>().ok()? * 60 + m.parse::<u32>().ok()?)
}

const WALK_IN_MINUTES: u32 = 15;
/// How long a cached card key set is used before it is fetched again (keys rotate rarely, and
/// retired keys stay in the set, so cards signed before a rotation keep verifying).
pub const CARD_KEYS_MAX_AGE: time::Duration = time::Duration::hours(6);

/// The first 15-minute slot from `now` (rounded down) where the provider holds no appointment.
fn walk_in_start(day: &[Appointment], provider: Uuid, now_minute: u32) -> u32 {
    let mut start = now_minute / WALK_IN_MINUTES * WALK_IN_MINUTES;
    let last = 24 * 60 - WALK_IN_MINUTES;
    while start < last {
        let taken = day.iter().any(|a| {
            a.provider_id == Some(provider)
                && a.status.is_some_and(AppointmentStatus::holds_slot)
                && a.start_time.as_deref().and_then(minutes_of).is_some_and(|s| {
                    let end = s + a.duration_minutes.unwrap_or(WALK_IN_MINUTES);
                    s < start + WALK_IN_MINUTES && start < end
                })
        });
        if !taken {
            return start;
        }
        start += WALK_IN_MINUTES;
    }
    now_minute / WALK_IN_MINUTES * WALK_IN_MINUTES
}

fn counts_in_queue(s: Option<AppointmentStatus>) -> bool {
    matches!(
        s,
        Some(AppointmentStatus::CheckedIn | AppointmentStatus::InProgress | AppointmentStatus::Completed)
    )
}

impl Clinic {
    /// The device's local time (UTC shifted by its UTC offset).
    pub fn local_now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc().to_offset(*self.utc_offset.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Today's date on this device, `YYYY-MM-DD`.
    pub fn local_today(&self) -> String {
        day_and_minute(self.local_now()).0
    }

    /// Sets the device's UTC offset, which decides what "today" is for check-in.
    pub fn set_utc_offset(&self, offset: UtcOffset) {
        *self.utc_offset.lock().unwrap_or_else(|p| p.into_inner()) = offset;
    }

    /// Downloads the card keys, issuer, revocations and card summaries into the replica: the whole
    /// list again (an explicit refresh; rounds bring cards through the change log).
    pub async fn refresh_cards(&self) -> Result<(), ClientError> {
        self.guard_open()?;
        let sync = self.transport.cards_sync().await.map_err(super::client_error)?;
        lock(&self.store).save_card_cache(&sync)?;
        self.notify_changed();
        Ok(())
    }

    /// Fetches the issuer and key set when none is cached or the cached one is older than
    /// `CARD_KEYS_MAX_AGE` (keys rotate rarely; cards and revocations come through pulls).
    pub async fn refresh_card_keys_if_stale(&self) -> Result<(), ClientError> {
        self.guard_open()?;
        let fetched = lock(&self.store).card_keys()?.map(|k| k.fetched_at);
        let fresh = fetched
            .and_then(|at| time::OffsetDateTime::parse(&at, &time::format_description::well_known::Rfc3339).ok())
            .is_some_and(|at| time::OffsetDateTime::now_utc() - at < CARD_KEYS_MAX_AGE);
        if fresh {
            return Ok(());
        }
        let keys = self.transport.card_keys().await.map_err(super::client_error)?;
        lock(&self.store).save_card_keys(&keys.issuer, &keys.jwks)?;
        self.notify_changed();
        Ok(())
    }

    /// When the cached card keys were last downloaded (RFC 3339); `None`: never.
    pub fn cards_fetched_at(&self) -> Result<Option<String>, ClientError> {
        self.guard_open()?;
        Ok(lock(&self.store).card_keys()?.map(|k| k.fetched_at))
    }

    /// Issues a new card for a patient the server knows (online; earlier cards are revoked),
    /// records it as the patient's `health_card_id` (synced like any write) and returns it ready
    /// to print.
    pub async fn issue_card(&self, patient_id: Uuid) -> Result<PrintableCard, ClientError> {
        self.guard()?;
        if !may_write(self.role(), EntityKind::Patient, Some("health_card_id")) {
            return Err(ClientError::forbidden(self.role(), "patient", Some("health_card_id")));
        }
        let patient = {
            let s = lock(&self.store);
            self.require_scope(&s, Some(patient_id))?;
            s.get_patient(patient_id)?
        };
        let issued: IssuedCard = match self.transport.issue_card(&IssueCardRequest { patient_id }).await {
            Ok(c) => c,
            Err(e) => {
                return Err(match super::client_error(e) {
                    ClientError::ServerRejected { server_code, .. } if server_code == "not_found" => ClientError::NotFound {
                        message: "the server does not know this patient yet: sync this device, then issue the card".into(),
                    },
                    ClientError::Offline { message } => ClientError::Offline {
                        message: format!("issuing a card needs the server ({message}); cards already issued still verify offline"),
                    },
                    other => other,
                })
            }
        };
        let expires = parse_rfc3339(&issued.expires_at).unwrap_or(i64::MAX);
        {
            let mut s = lock(&self.store);
            s.remember_issued_card(&issued, expires)?;
            let fields = PatientFields {
                health_card_id: Some(Some(issued.card_id.clone())),
                ..Default::default()
            };
            s.update_patient(patient_id, fields)?;
        }
        self.after_write();
        if let Err(e) = self.refresh_cards().await {
            tracing::info!(code = e.code(), "card cache not refreshed after issuing");
        }
        let display_name = display_name(&patient);
        let svg = render_card_svg(
            &display_name,
            &issued.card_id,
            &issued.qr_text,
            &issued.fallback_code,
            &issued.expires_at,
        )?;
        Ok(PrintableCard {
            card_id: issued.card_id,
            patient_id,
            display_name,
            qr_text: issued.qr_text,
            fallback_code: issued.fallback_code,
            issued_at: issued.issued_at,
            expires_at: issued.expires_at,
            svg,
        })
    }

    /// Reprints a card issued on this device from the cache (the patient's current card when
    /// `card_id` is `None`).
    pub fn card_svg(&self, patient_id: Uuid, card_id: Option<&str>) -> Result<PrintableCard, ClientError> {
        self.guard()?;
        if !may_write(self.role(), EntityKind::Patient, Some("health_card_id")) {
            return Err(ClientError::forbidden(self.role(), "patient", Some("health_card_id")));
        }
        let s = lock(&self.store);
        self.require_scope(&s, Some(patient_id))?;
        let patient = s.get_patient(patient_id)?;
        let cards = s.cards_of_patient(patient_id)?;
        let card: Option<CachedCard> = cards
            .into_iter()
            .filter(|c| card_id.is_none_or(|id| c.summary.card_id == id))
            .find(|c| c.qr_text.is_some() && (card_id.is_some() || !c.summary.revoked));
        let Some(card) = card else {
            return Err(ClientError::NotFound {
                message: "no printable card of this patient on this device (cards are printable where they were issued): issue a new card"
                    .into(),
            });
        };
        drop(s);
        let qr_text = card.qr_text.unwrap_or_default();
        let expires_at = rfc3339(card.summary.expires_at);
        let display_name = display_name(&patient);
        let svg = render_card_svg(
            &display_name,
            &card.summary.card_id,
            &qr_text,
            &card.summary.fallback_code,
            &expires_at,
        )?;
        Ok(PrintableCard {
            card_id: card.summary.card_id,
            patient_id,
            display_name,
            qr_text,
            fallback_code: card.summary.fallback_code,
            issued_at: card.issued_at.unwrap_or_default(),
            expires_at,
            svg,
        })
    }

    /// The card's id, patient and expiry, checked offline against the cached keys; `None` when
    /// the patient is not on this device.
    fn check_card(&self, text: &str) -> Result<(String, Uuid, i64), ClientError> {
        let text = text.trim_matches(|c: char| c.is_whitespace() || c.is_control());
        if text.is_empty() {
            return Err(ClientError::card_rejected("malformed", "nothing was scanned: scan the card again"));
        }
        let s = lock(&self.store);
        let Some(keys) = s.card_keys()? else {
            return Err(ClientError::card_rejected(
                "no_keys",
                "this device has not downloaded the health-card keys yet: sync it while online, then scan again",
            ));
        };
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let typed = text.len() <= 32 && text.chars().all(|c| c.is_ascii_digit() || c == '-' || c == ' ');
        if typed {
            let code = anola_cards::check_fallback_format(text).map_err(|e| {
                ClientError::card_rejected(
                    "malformed",
                    format!("that fallback code is mistyped ({e}): check the 12 digits on the card and type them again"),
                )
            })?;
            let Some(card) = s.card_by_fallback(&code)? else {
                return Err(ClientError::card_rejected(
                    "unknown_card",
                    format!("no card with fallback code {code} is known on this device: sync, then try again, or scan the QR"),
                ));
            };
            let c = card.summary;
            if c.revoked || keys.revoked.is_revoked(&c.card_id) {
                return Err(rejected(&CardError::Revoked { card_id: c.card_id }));
            }
            if c.expires_at <= now {
                return Err(rejected(&CardError::Expired {
                    card_id: c.card_id,
                    expires: c.expires_at,
                }));
            }
            return Ok((c.card_id, c.patient_id, c.expires_at));
        }
        let issuer = keys.issuer.as_str();
        let card = anola_cards::verify(text, &keys.jwks, &[issuer], &keys.revoked, now).map_err(|e| rejected(&e))?;
        // The cache may know of a revocation the signed list missed (a card replaced here).
        if s.card_by_id(&card.claims.card_id)?.is_some_and(|c| c.summary.revoked) {
            return Err(rejected(&CardError::Revoked {
                card_id: card.claims.card_id,
            }));
        }
        Ok((card.claims.card_id, card.claims.patient_id, card.claims.expires))
    }

    /// The patient as stored (unprojected), if this device holds them (and the actor's scope does).
    fn card_patient(&self, id: Uuid) -> Result<Option<Patient>, ClientError> {
        let s = lock(&self.store);
        if !self.in_scope(&s, Some(id))? {
            return Ok(None);
        }
        match s.get_patient(id) {
            Ok(p) if p.deleted != Some(true) => Ok(Some(p)),
            Ok(_) | Err(ClientError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Verifies a scanned card (QR text, with a wedge scanner's whitespace) or a typed fallback
    /// code offline, and finds its patient. An unknown patient on an online device triggers one
    /// sync round.
    pub async fn verify_card(&self, text: &str) -> Result<CardCheck, ClientError> {
        self.guard_open()?;
        if !may_read(self.role(), EntityKind::Patient, None) {
            return Err(ClientError::Forbidden {
                field: None,
                message: format!("the {} role may not look up patients", self.role().as_str()),
            });
        }
        let (card_id, patient_id, expires) = self.check_card(text)?;
        let mut patient = self.card_patient(patient_id)?;
        let mut missing = (
            "unknown_patient",
            "this card is genuine but its patient is not on this device yet: sync, then scan again",
        );
        if patient.is_none() && self.credentials.as_ref().is_some_and(|c| c.has_session()) {
            // Online: fetch just this patient (a whole sync round could take minutes on a slow
            // link). Merged like a pulled record; the pull cursor does not move.
            match self.transport.fetch_patient(patient_id).await {
                Ok(fetched) => {
                    // The device may have been locked or wiped while the request was out.
                    self.guard_open()?;
                    lock(&self.store).apply_fetched(&fetched.changes)?;
                    self.notify_changed();
                    patient = self.card_patient(patient_id)?;
                }
                Err(e) => {
                    // The fetch endpoint names the field `id`; a server without the endpoint
                    // answers a field-less `not_found`, which says nothing about the patient.
                    let refused = match &e {
                        TransportError::Refused { body, .. } if body.field.as_deref() == Some("id") => Some(body.code),
                        _ => None,
                    };
                    let e = super::client_error(e);
                    tracing::info!(code = e.code(), "fetching an unknown card patient failed");
                    self.emit_for(&e);
                    match refused {
                        Some(ErrorCode::NotFound) => {
                            missing = (
                                "other_clinic",
                                "this card is genuine but its patient is not registered at this clinic: ask where they registered, or register them here",
                            )
                        }
                        Some(ErrorCode::Forbidden) => {
                            missing = (
                                "not_assigned",
                                "this card is genuine but its patient is not assigned to this device's field worker",
                            )
                        }
                        _ if matches!(e, ClientError::DeviceRevoked { .. } | ClientError::AccountDisabled { .. }) => return Err(e),
                        _ => {}
                    }
                }
            }
        }
        let Some(patient) = patient else {
            return Err(ClientError::card_rejected(missing.0, missing.1));
        };
        lock(&self.store).audit(
            AuditAction::ViewPatient,
            Some(EntityKind::Patient),
            Some(patient_id),
            Some(patient_id),
        )?;
        Ok(CardCheck {
            card_id,
            patient: strip(self.role(), EntityKind::Patient, patient)?,
            expires_at: rfc3339(expires),
        })
    }

    /// Checks a patient in by their card: today's scheduled or confirmed appointment is marked
    /// `checked_in`, or a 15-minute walk-in is created with the clinic's first active provider.
    /// Works offline; the change syncs like any write.
    pub async fn check_in(&self, text: &str) -> Result<CheckIn, ClientError> {
        let check = self.verify_card(text).await?;
        let patient_id = check.patient.id;
        // Writes are checked against the signed-in staff member's role (kiosk mode narrows what
        // the screen shows, not whose check-in it is).
        let writer = self.actor.role;
        let (date, minute) = day_and_minute(self.local_now());
        let mut s = lock(&self.store);
        let full = s.get_patient(patient_id)?;
        let initials = initials(full.given_name.as_deref(), full.family_name.as_deref());
        let day = s.list_appointments(Some(&date), None)?;
        let mine: Vec<&Appointment> = day.iter().filter(|a| a.patient_id == Some(patient_id)).collect();
        let queue_now = day.iter().filter(|a| counts_in_queue(a.status)).count() as u32 + 1;

        if let Some(a) = mine
            .iter()
            .find(|a| matches!(a.status, Some(AppointmentStatus::Scheduled | AppointmentStatus::Confirmed)))
        {
            if !may_write(writer, EntityKind::Appointment, Some("status")) {
                return Err(ClientError::forbidden(writer, "appointment", Some("status")));
            }
            let fields = AppointmentFields {
                status: Some(Some(AppointmentStatus::CheckedIn)),
                ..Default::default()
            };
            s.update_appointment(a.id, fields)?;
            s.record_check_in(a.id, &date, queue_now)?;
            drop(s);
            self.after_write();
            return Ok(CheckIn {
                patient_id,
                initials,
                queue_number: queue_now,
                appointment_id: a.id,
                walk_in: false,
                already_checked_in: false,
            });
        }
        if let Some(a) = mine.iter().find(|a| counts_in_queue(a.status)) {
            let number = match s.check_in_number(a.id)? {
                Some(n) => n,
                None => {
                    let n = day
                        .iter()
                        .filter(|b| counts_in_queue(b.status))
                        .position(|b| b.id == a.id)
                        .unwrap_or(0) as u32
                        + 1;
                    s.record_check_in(a.id, &date, n)?;
                    n
                }
            };
            return Ok(CheckIn {
                patient_id,
                initials,
                queue_number: number,
                appointment_id: a.id,
                walk_in: false,
                already_checked_in: true,
            });
        }
        if !may_write(writer, EntityKind::Appointment, None) {
            return Err(ClientError::Forbidden {
                field: None,
                message: "no appointment today, and walk-ins cannot be created on this device: please see the front desk".into(),
            });
        }
        let clinic_id = s.clinic_id().to_owned();
        let Some(provider) = s.list_providers()?.into_iter().find(|p| p.active && p.clinic_id == clinic_id) else {
            return Err(ClientError::ValidationFailed {
                message: "no appointment today, and this clinic has no active provider to see a walk-in: ask an administrator to add one (then sync)".into(),
                errors: vec![anola_protocol::FieldError {
                    field: "provider_id".into(),
                    code: "no_active_provider".into(),
                    message: "the clinic has no active provider".into(),
                    mutation_index: None,
                }],
            });
        };
        let start = walk_in_start(&day, provider.id, minute);
        let fields = AppointmentFields {
            patient_id: Some(Some(patient_id)),
            provider_id: Some(Some(provider.id)),
            date: Some(Some(date.clone())),
            start_time: Some(Some(hhmm(start))),
            duration_minutes: Some(Some(WALK_IN_MINUTES)),
            mode: Some(Some(anola_protocol::appointment::ConsultationMode::InPerson)),
            reason: Some(Some("Walk-in".into())),
            status: Some(Some(AppointmentStatus::CheckedIn)),
            ..Default::default()
        };
        let a = s.book_appointment(fields)?;
        s.record_check_in(a.id, &date, queue_now)?;
        drop(s);
        self.after_write();
        Ok(CheckIn {
            patient_id,
            initials,
            queue_number: queue_now,
            appointment_id: a.id,
            walk_in: true,
            already_checked_in: false,
        })
    }

    /// Whether this handle is in kiosk mode (acts as role kiosk: only `check_in` and
    /// `verify_card`).
    pub fn kiosk_mode(&self) -> bool {
        self.kiosk.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub(crate) fn set_kiosk(&self, on: bool) {
        self.kiosk.store(on, std::sync::atomic::Ordering::SeqCst);
        self.notify_changed();
    }

    /// The role this handle acts in now: kiosk in kiosk mode, else the signed-in staff member's.
    pub fn role(&self) -> Role {
        if self.kiosk_mode() {
            Role::Kiosk
        } else {
            self.actor.role
        }
    }
}

#[cfg(test)]
mod tests;
