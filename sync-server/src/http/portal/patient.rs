//! A patient's own portal: online only, their record alone, every view audited (the clinic's
//! access history shows it like any staff view).

use crate::auth::{now_ms, rfc3339, sessions};
use crate::http::error::ApiError;
use crate::http::extract::JsonBody;
use crate::http::guard::Bearer;
use crate::http::routes::AppState;
use crate::store::accounts::UserRecord;
use crate::store::Store;
use crate::sync::batch::Batch;
use anola_protocol::auth::{AuditAction, AuditEntry};
use anola_protocol::portal::{
    CancelAppointment, Consents, PatientAppointment, PatientMoney, PatientReceipt, PatientSelf, PatientWallet, SharedRecord,
};
use anola_protocol::record::MedicalRecordVersion;
use anola_protocol::wire::EntityKind;
use anola_protocol::{ErrorBody, ErrorCode};
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::Json;
use serde_json::{Map, Value};
use uuid::Uuid;

/// A signed-in patient whose account staff linked to their record.
pub struct PatientUser {
    pub user: UserRecord,
    pub patient: Uuid,
    pub clinic: String,
}

impl<S: Store> FromRequestParts<AppState<S>> for PatientUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState<S>) -> Result<Self, ApiError> {
        let Bearer(claims) = Bearer::from_request_parts(parts, state).await?;
        let user = sessions::current_user(state.store.as_ref(), &claims).await?;
        match (user.user_type, user.patient_id, user.clinic_id.clone()) {
            (anola_protocol::UserType::Patient, Some(patient), Some(clinic)) => Ok(PatientUser { user, patient, clinic }),
            _ => Err(ApiError::new(
                ErrorCode::Forbidden,
                "this is a patient's page: sign in with the patient account the clinic gave you",
            )),
        }
    }
}

impl PatientUser {
    /// Records that the patient looked at `what` of their record.
    pub async fn audit<S: Store>(&self, state: &AppState<S>, action: AuditAction, entity: EntityKind) -> Result<(), ApiError> {
        let entry = AuditEntry {
            id: Uuid::new_v4(),
            at: rfc3339(now_ms()),
            user_id: Some(self.user.id),
            device_id: "portal".into(),
            action,
            entity: Some(entity),
            entity_id: Some(self.patient),
            patient_id: Some(self.patient),
            signature: None,
            verified: None,
        };
        state.store.insert_audit(&[entry], &self.clinic).await?;
        Ok(())
    }
}

fn text(v: &Map<String, Value>, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_owned)
}

/// The parts of a patient's record their portal shows.
pub fn self_view(id: Uuid, v: &Map<String, Value>) -> PatientSelf {
    PatientSelf {
        patient_id: id,
        given_name: text(v, "given_name").unwrap_or_default(),
        family_name: text(v, "family_name").unwrap_or_default(),
        date_of_birth: text(v, "date_of_birth"),
        health_card_id: text(v, "health_card_id"),
        clinic_id: text(v, "clinic_id").unwrap_or_default(),
    }
}

async fn patient_values<S: Store>(state: &AppState<S>, id: Uuid) -> Result<Map<String, Value>, ApiError> {
    let head = state.store.heads(&[(EntityKind::Patient, id)]).await?.pop().flatten();
    head.map(|h| h.state.values())
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "your record is not on the server yet: ask the clinic"))
}

pub async fn me<S: Store>(State(state): State<AppState<S>>, p: PatientUser) -> Result<Json<PatientSelf>, ApiError> {
    let v = patient_values(&state, p.patient).await?;
    p.audit(&state, AuditAction::ViewPatient, EntityKind::Patient).await?;
    Ok(Json(self_view(p.patient, &v)))
}

/// The patient's current health card, printable: the card's QR (as SVG), id and fallback code.
#[derive(serde::Serialize)]
pub struct PrintableCard {
    card_id: String,
    fallback_code: String,
    expires_at: String,
    qr_svg: String,
    patient: PatientSelf,
}

pub async fn card<S: Store>(State(state): State<AppState<S>>, p: PatientUser) -> Result<Json<Option<PrintableCard>>, ApiError> {
    let v = patient_values(&state, p.patient).await?;
    p.audit(&state, AuditAction::ViewPatient, EntityKind::Patient).await?;
    let Some(current) = crate::cards::current_card(state.store.as_ref(), &state.card_keys, p.patient, &state.card_issuer).await? else {
        return Ok(Json(None));
    };
    let qr = qrcode::QrCode::new(current.qr_text.as_bytes()).map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    Ok(Json(Some(PrintableCard {
        card_id: current.card_id,
        fallback_code: current.fallback_code,
        expires_at: current.expires_at,
        qr_svg: qr.render::<qrcode::render::svg::Color>().min_dimensions(220, 220).build(),
        patient: self_view(p.patient, &v),
    })))
}

async fn children<S: Store>(state: &AppState<S>, patient: Uuid, kind: EntityKind) -> Result<Vec<Uuid>, ApiError> {
    Ok(state
        .store
        .children_of(patient)
        .await?
        .into_iter()
        .filter(|(k, _)| *k == kind)
        .map(|(_, id)| id)
        .collect())
}

const CLOSED: &[&str] = &["cancelled", "completed", "no_show", "checked_in", "in_progress"];

/// The earliest date it can be anywhere on Earth now (UTC−12): an appointment dated this day or
/// later may still be ahead in its own time zone, so the patient may cancel it.
fn earliest_today() -> String {
    (time::OffsetDateTime::now_utc() - time::Duration::hours(12)).date().to_string()
}

pub async fn appointments<S: Store>(State(state): State<AppState<S>>, p: PatientUser) -> Result<Json<Vec<PatientAppointment>>, ApiError> {
    let ids = children(&state, p.patient, EntityKind::Appointment).await?;
    let keys: Vec<(EntityKind, Uuid)> = ids.iter().map(|id| (EntityKind::Appointment, *id)).collect();
    let heads: Vec<_> = state.store.heads(&keys).await?.into_iter().flatten().collect();
    let mut provider_ids: Vec<Uuid> = heads
        .iter()
        .filter_map(|h| h.text("provider_id").and_then(|s| Uuid::parse_str(s).ok()))
        .collect();
    provider_ids.sort_unstable();
    provider_ids.dedup();
    let pkeys: Vec<(EntityKind, Uuid)> = provider_ids.iter().map(|id| (EntityKind::Provider, *id)).collect();
    let providers: std::collections::HashMap<Uuid, String> = state
        .store
        .heads(&pkeys)
        .await?
        .into_iter()
        .flatten()
        .map(|h| {
            let v = h.state.values();
            let name = [text(&v, "title"), text(&v, "given_name"), text(&v, "family_name")]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            (h.id, name)
        })
        .collect();
    let today = earliest_today();
    let mut out: Vec<PatientAppointment> = heads
        .iter()
        .filter_map(|h| {
            let v = h.state.values();
            if v.get("deleted").and_then(Value::as_bool) == Some(true) {
                return None;
            }
            let date = text(&v, "date")?;
            let status = text(&v, "status").unwrap_or_else(|| "scheduled".into());
            Some(PatientAppointment {
                id: h.id,
                cancellable: date >= today && !CLOSED.contains(&status.as_str()),
                start_time: text(&v, "start_time").unwrap_or_default(),
                duration_minutes: v.get("duration_minutes").and_then(Value::as_u64).unwrap_or(0) as u32,
                provider_name: text(&v, "provider_id")
                    .and_then(|s| Uuid::parse_str(&s).ok())
                    .and_then(|id| providers.get(&id).cloned()),
                reason: text(&v, "reason"),
                status,
                date,
            })
        })
        .collect();
    out.sort_by(|a, b| (&b.date, &b.start_time).cmp(&(&a.date, &a.start_time)));
    p.audit(&state, AuditAction::ViewPatient, EntityKind::Appointment).await?;
    Ok(Json(out))
}

/// The patient cancels one of their upcoming appointments; devices receive it with their next pull.
pub async fn cancel<S: Store>(
    State(state): State<AppState<S>>,
    p: PatientUser,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<CancelAppointment>,
) -> Result<Json<Vec<PatientAppointment>>, ApiError> {
    let id = super::console::uuid_param(&id, "id")?;
    if req
        .reason
        .as_deref()
        .is_some_and(|r| r.chars().count() > anola_protocol::validate::MAX_TEXT)
    {
        return Err(ApiError(
            ErrorBody::new(ErrorCode::ValidationFailed, "reason: at most 200 characters").with_field("reason"),
        ));
    }
    let head = state.store.heads(&[(EntityKind::Appointment, id)]).await?.pop().flatten();
    let deleted = |h: &crate::store::Version| h.state.values().get("deleted").and_then(Value::as_bool) == Some(true);
    let Some(head) = head.filter(|h| h.text("patient_id") == Some(p.patient.to_string().as_str()) && !deleted(h)) else {
        return Err(ApiError(
            ErrorBody::new(ErrorCode::NotFound, "no such appointment of yours").with_field("id"),
        ));
    };
    let status = head.text("status").unwrap_or("scheduled").to_owned();
    let date = head.text("date").unwrap_or("").to_owned();
    let clinic = head.text("clinic_id").unwrap_or(&p.clinic).to_owned();
    let past = date < earliest_today();
    if past || CLOSED.contains(&status.as_str()) {
        let why = if past { "past" } else { status.as_str() };
        return Err(ApiError(
            ErrorBody::new(
                ErrorCode::ValidationFailed,
                format!("id: this appointment is {why} and can no longer be cancelled"),
            )
            .with_field("id"),
        ));
    }
    let mut fields = Map::new();
    fields.insert("status".into(), Value::String("cancelled".into()));
    fields.insert(
        "cancellation".into(),
        serde_json::json!({"reason": req.reason, "cancelled_by": "patient", "cancelled_at": rfc3339(now_ms())}),
    );
    let mut batch = Batch::new(state.store.as_ref(), &state.clock, &clinic, "portal");
    batch.server_change(EntityKind::Appointment, id, fields).await?;
    batch.commit().await?;
    tracing::info!(appointment = %id, "appointment cancelled by the patient");
    appointments(State(state), p).await
}

pub async fn money<S: Store>(State(state): State<AppState<S>>, p: PatientUser) -> Result<Json<PatientMoney>, ApiError> {
    let patient = p.patient.to_string();
    let view = state
        .ledger
        .read(|b| {
            let w = crate::http::clinic_money::patient_wallets(b, &patient);
            let receipts: Vec<PatientReceipt> = b
                .receipts_of
                .get(&patient)
                .map(|ids| ids.iter().rev().take(50).filter_map(|id| b.receipts.get(id)).collect::<Vec<_>>())
                .unwrap_or_default()
                .into_iter()
                .map(|r| PatientReceipt {
                    id: r.id.to_string(),
                    at: rfc3339(r.at),
                    total: anola_ledger::format_amount(r.total, r.currency),
                    currency: r.currency.code().into(),
                    items: r.lines.iter().map(|l| format!("{} × {}", l.quantity, l.item)).collect(),
                })
                .collect();
            let currency = w.wallets.first().map(|x| x.currency);
            PatientMoney {
                wallets: w
                    .wallets
                    .iter()
                    .map(|x| PatientWallet {
                        wallet_id: x.id.clone(),
                        kind: match x.kind {
                            anola_ledger::AccountKind::Sponsored => "sponsored".into(),
                            _ => "personal".into(),
                        },
                        currency: x.currency.code().into(),
                        balance_minor: x.available,
                        balance: anola_ledger::format_amount(x.available.max(0) as u64, x.currency),
                    })
                    .collect(),
                owed: (w.owed > 0).then(|| match currency {
                    Some(c) => anola_ledger::format_amount(w.owed, c),
                    None => w.owed.to_string(),
                }),
                receipts,
            }
        })
        .await
        .map_err(|e| ApiError::new(ErrorCode::DatabaseUnavailable, e.to_string()))?;
    p.audit(&state, AuditAction::ViewPatient, EntityKind::Patient).await?;
    Ok(Json(view))
}

pub async fn records<S: Store>(State(state): State<AppState<S>>, p: PatientUser) -> Result<Json<Vec<SharedRecord>>, ApiError> {
    let ids = children(&state, p.patient, EntityKind::MedicalRecord).await?;
    let mut versions: Vec<MedicalRecordVersion> = Vec::new();
    for id in ids {
        if let Some(doc) = state.store.get_doc(EntityKind::MedicalRecord, id).await? {
            if let Ok(v) = serde_json::from_value::<MedicalRecordVersion>(doc) {
                versions.push(v);
            }
        }
    }
    // The newest version of each entry; shown only if that version is shared.
    let amended: std::collections::HashSet<Uuid> = versions.iter().filter_map(|v| v.fields.amends).collect();
    let mut out: Vec<(anola_protocol::Hlc, SharedRecord)> = versions
        .into_iter()
        .filter(|v| !amended.contains(&v.id) && v.fields.shared_with_patient)
        .map(|v| {
            let summary = v
                .fields
                .diagnoses
                .iter()
                .map(|d| d.description.clone().unwrap_or_else(|| d.code.clone()))
                .chain(v.fields.plan.clone())
                .collect::<Vec<_>>()
                .join(" · ");
            (
                v.hlc.clone(),
                SharedRecord {
                    id: v.id,
                    date: Some(rfc3339(v.hlc.wall_ms as i64)),
                    record_type: Some(
                        if v.fields.amends.is_some() {
                            "Amended entry"
                        } else {
                            "Consultation"
                        }
                        .into(),
                    ),
                    summary: (!summary.is_empty()).then_some(summary),
                    provider_name: Some(v.fields.author.clone()),
                },
            )
        })
        .collect();
    out.sort_by(|a, b| b.0.cmp(&a.0));
    p.audit(&state, AuditAction::ViewRecord, EntityKind::MedicalRecord).await?;
    Ok(Json(out.into_iter().map(|(_, r)| r).collect()))
}

pub async fn consents<S: Store>(State(state): State<AppState<S>>, p: PatientUser) -> Result<Json<Consents>, ApiError> {
    let c = state.store.consents(p.patient).await?.unwrap_or_default();
    p.audit(&state, AuditAction::ViewPatient, EntityKind::Patient).await?;
    Ok(Json(c))
}

pub async fn set_consents<S: Store>(
    State(state): State<AppState<S>>,
    p: PatientUser,
    JsonBody(mut c): JsonBody<Consents>,
) -> Result<Json<Consents>, ApiError> {
    c.updated_at = Some(rfc3339(now_ms()));
    state.store.set_consents(p.patient, &c).await?;
    tracing::info!(patient_account = %p.user.id, "consents changed");
    let entry_kind = EntityKind::Patient;
    p.audit(&state, AuditAction::Write, entry_kind).await?;
    Ok(Json(c))
}
