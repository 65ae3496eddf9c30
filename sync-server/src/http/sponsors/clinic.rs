//! A clinic's side of sponsorship: a clinician asks for a pre-approval from a device (online, or
//! queued offline and sent with its id when the device is back), the device follows its state,
//! and the front desk and the patient see a beneficiary's sponsorships — the sponsor's name
//! unless the sponsor is anonymous, what is covered and what is left.

use super::cover;
use crate::http::error::ApiError;
use crate::http::extract::JsonBody;
use crate::http::guard::DeviceSession;
use crate::http::money::{failed, now_ms, refusal};
use crate::http::routes::AppState;
use crate::store::Store;
use anola_ledger::book::sponsor::PreApprovalInput;
use anola_ledger::book::Book;
use anola_ledger::LedgerError;
use anola_protocol::access::Role;
use anola_protocol::sponsor::{NewPreApproval, SponsoredCover};
use anola_protocol::ErrorCode;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use uuid::Uuid;

/// Clinicians (and clinic administrators) ask for pre-approvals: they plan the care.
fn may_ask(s: &DeviceSession) -> bool {
    s.user.platform_admin || matches!(s.user.role, Some(Role::Clinician | Role::ClinicAdmin))
}

/// Whether the patient is one of this clinic's (a clinic acts only for its own patients'
/// sponsorships): one point read of the patient's record.
async fn clinic_patient<S: Store>(state: &AppState<S>, patient: &str, clinic: &str) -> Result<(), Response> {
    let id = uuid::Uuid::parse_str(patient).ok();
    let head = match id {
        Some(id) => state
            .store
            .heads(&[(anola_protocol::wire::EntityKind::Patient, id)])
            .await
            .map_err(|e| ApiError::from(e).into_response())?
            .pop()
            .flatten(),
        None => None,
    };
    match head.as_ref().and_then(|h| h.text("clinic_id")) {
        Some(c) if c == clinic => Ok(()),
        _ => Err(ApiError(
            anola_protocol::ErrorBody::new(ErrorCode::NotFound, "patient: not a patient of this clinic").with_field("patient"),
        )
        .into_response()),
    }
}

pub async fn ask<S: Store>(State(state): State<AppState<S>>, s: DeviceSession, JsonBody(n): JsonBody<NewPreApproval>) -> Response {
    if !may_ask(&s) {
        return ApiError::new(ErrorCode::Forbidden, "your role may not ask for pre-approvals (clinicians do)").into_response();
    }
    if let Some(bad) = crate::http::clinic_money::own_id(n.id) {
        return bad;
    }
    if let Err(r) = clinic_patient(&state, &n.patient, &s.device.clinic_id).await {
        return r;
    }
    let input = PreApprovalInput {
        id: n.id,
        sponsorship: n.sponsorship,
        patient: n.patient,
        clinic: s.device.clinic_id.clone(),
        provider: n.provider,
        lines: n.lines,
        diagnoses: n.diagnoses,
        note: n.note,
        valid_days: n.valid_days,
        requested_by: s.user.username.clone(),
    };
    match state.ledger.ask_pre_approval(input, now_ms()).await {
        Ok(p) => match state.ledger.read(|b| super::portal::pa_view(b, &p)).await {
            Ok(v) => (StatusCode::CREATED, Json(v)).into_response(),
            Err(e) => failed(e, None),
        },
        Err(e) => failed(e, Some(n.id)),
    }
}

pub async fn show<S: Store>(State(state): State<AppState<S>>, s: DeviceSession, Path(id): Path<Uuid>) -> Response {
    let clinic = s.device.clinic_id.clone();
    match state
        .ledger
        .read(|b| {
            b.pre_approvals
                .get(&id)
                .filter(|p| p.input.clinic == clinic)
                .map(|p| super::portal::pa_view(b, p))
        })
        .await
    {
        Ok(Some(v)) => Json(v).into_response(),
        Ok(None) => refusal(
            &LedgerError::UnknownPreApproval {
                pre_approval: id.to_string(),
            },
            None,
        ),
        Err(e) => failed(e, None),
    }
}

/// The patient's sponsorships (not ended), as the front desk and the patient see them.
pub fn patient_covers(b: &Book, patient: &str) -> Vec<SponsoredCover> {
    b.sponsored_wallets(patient)
        .iter()
        .filter_map(|w| b.sponsorship_of_wallet(w))
        .filter(|s| !s.status.ended())
        .map(|s| cover(b, s))
        .collect()
}

pub async fn covers<S: Store>(State(state): State<AppState<S>>, s: DeviceSession, Path(patient): Path<String>) -> Response {
    // A clinic reads its own patients' sponsorships only.
    if let Err(r) = clinic_patient(&state, &patient, &s.device.clinic_id).await {
        return r;
    }
    match state.ledger.read(|b| patient_covers(b, &patient)).await {
        Ok(v) => Json(v).into_response(),
        Err(e) => failed(e, None),
    }
}

/// A patient's own sponsorships in their portal.
pub async fn my_sponsorships<S: Store>(State(state): State<AppState<S>>, p: crate::http::portal::PatientUser) -> Response {
    // Every view of the patient's own pages is in the clinic's access history.
    if let Err(e) = p
        .audit(
            &state,
            anola_protocol::auth::AuditAction::ViewPatient,
            anola_protocol::wire::EntityKind::Patient,
        )
        .await
    {
        return e.into_response();
    }
    let patient = p.patient.to_string();
    match state.ledger.read(|b| patient_covers(b, &patient)).await {
        Ok(v) => Json(v).into_response(),
        Err(e) => failed(e, None),
    }
}

/// The patient's pre-approvals asked at this device's clinic, newest first (the front desk picks
/// an approved one to charge against).
pub async fn patient_pre_approvals<S: Store>(State(state): State<AppState<S>>, s: DeviceSession, Path(patient): Path<String>) -> Response {
    if let Err(r) = clinic_patient(&state, &patient, &s.device.clinic_id).await {
        return r;
    }
    let clinic = s.device.clinic_id.clone();
    let found = state
        .ledger
        .read(|b| {
            let mut v: Vec<_> = b
                .sponsored_wallets(&patient)
                .iter()
                .filter_map(|w| b.sponsorship_of_wallet(w))
                .flat_map(|sp| sp.pre_approvals.iter())
                .filter_map(|id| b.pre_approvals.get(id))
                .filter(|p| p.input.clinic == clinic)
                .map(|p| super::portal::pa_view(b, p))
                .collect();
            v.sort_by_key(|p| -p.requested_at);
            v.truncate(50);
            v
        })
        .await;
    match found {
        Ok(v) => Json(v).into_response(),
        Err(e) => failed(e, None),
    }
}

/// A clinician writes how the sponsored care went (a success story, an outcome update); the
/// sponsor reads it only while the patient consents.
pub async fn add_story<S: Store>(
    State(state): State<AppState<S>>,
    s: DeviceSession,
    Path(id): Path<Uuid>,
    JsonBody(n): JsonBody<anola_protocol::sponsor::NewStory>,
) -> Response {
    if !may_ask(&s) {
        return ApiError::new(ErrorCode::Forbidden, "your role may not write sponsors' stories (clinicians do)").into_response();
    }
    if let Some(bad) = crate::http::clinic_money::own_id(n.id) {
        return bad;
    }
    let patient = match state.ledger.read(|b| b.sponsorships.get(&id).map(|x| x.spec.patient.clone())).await {
        Ok(Some(p)) => p,
        Ok(None) => {
            return refusal(
                &LedgerError::UnknownSponsorship {
                    sponsorship: id.to_string(),
                },
                None,
            )
        }
        Err(e) => return failed(e, None),
    };
    if let Err(r) = clinic_patient(&state, &patient, &s.device.clinic_id).await {
        return r;
    }
    let story = anola_ledger::book::sponsor::Story {
        id: n.id,
        sponsorship: id,
        text: n.text,
        by: s.user.username.clone(),
        at: 0,
    };
    match state.ledger.add_story(story, now_ms()).await {
        Ok(()) => StatusCode::CREATED.into_response(),
        Err(e) => failed(e, Some(n.id)),
    }
}
