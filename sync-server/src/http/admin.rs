//! Staff endpoints under `/admin`: clinic or platform administrators with a second factor, each
//! limited to the clinics they administer.

use super::error::ApiError;
use super::extract::JsonBody;
use super::guard::Admin;
use super::routes::AppState;
use crate::store::Store;
use crate::sync::admin::{self, AdminError};
use crate::sync::validate;
use anola_protocol::wire::MergeRequest;
use anola_protocol::{ConflictNote, ErrorBody, ErrorCode, Provider};
use axum::extract::{Path, Query, State};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use uuid::Uuid;

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::NotFound(m) => ApiError::new(ErrorCode::NotFound, m),
            AdminError::Invalid(m) => ApiError::new(ErrorCode::ValidationFailed, m),
            AdminError::Store(s) => s.into(),
        }
    }
}

pub fn routes<S: Store>() -> Router<AppState<S>> {
    Router::new()
        .route("/admin/providers/{id}", put(put_provider::<S>))
        .route("/admin/merge-candidates", get(candidates::<S>))
        .route("/admin/conflicts", get(conflicts::<S>))
        .route("/admin/patients/merge", post(merge::<S>))
        .route("/admin/clinics/{clinic}/resync", post(resync::<S>))
        .route("/admin/ledger/audit", get(ledger_audit::<S>))
}

/// The whole ledger replayed and checked; platform administrators only (it spans every clinic).
async fn ledger_audit<S: Store>(
    State(state): State<AppState<S>>,
    admin: Admin,
) -> Result<Json<anola_protocol::money::LedgerAudit>, ApiError> {
    if !admin.0.pa {
        return Err(ApiError::new(
            anola_protocol::ErrorCode::Forbidden,
            "the ledger audit is for platform administrators",
        ));
    }
    Ok(Json(crate::money::LedgerService::audit_report(state.store.clone()).await?))
}

#[derive(Deserialize)]
struct ClinicQuery {
    clinic_id: String,
}

/// Providers are written whole; the body must carry the id of the path.
async fn put_provider<S: Store>(
    State(state): State<AppState<S>>,
    admin: Admin,
    Path(id): Path<Uuid>,
    JsonBody(p): JsonBody<Provider>,
) -> Result<Json<Provider>, ApiError> {
    if p.id != id {
        return Err(ApiError(
            ErrorBody::new(ErrorCode::InvalidRequest, "the body's id must match the path").with_field("id"),
        ));
    }
    validate::clinic_id(&p.clinic_id)?;
    admin.require(&p.clinic_id)?;
    let errors = p.validate();
    if !errors.is_empty() {
        let mut body = ErrorBody::new(ErrorCode::ValidationFailed, format!("{}: {}", errors[0].field, errors[0].message))
            .with_field(errors[0].field.clone());
        body.errors = errors;
        return Err(ApiError(body));
    }
    admin::put_provider(state.store.as_ref(), &state.clock, &p).await?;
    Ok(Json(p))
}

async fn candidates<S: Store>(
    State(state): State<AppState<S>>,
    admin: Admin,
    Query(q): Query<ClinicQuery>,
) -> Result<Json<Vec<ConflictNote>>, ApiError> {
    validate::clinic_id(&q.clinic_id)?;
    admin.require(&q.clinic_id)?;
    Ok(Json(admin::merge_candidates(state.store.as_ref(), &q.clinic_id).await?))
}

async fn conflicts<S: Store>(
    State(state): State<AppState<S>>,
    admin: Admin,
    Query(q): Query<ClinicQuery>,
) -> Result<Json<Vec<ConflictNote>>, ApiError> {
    validate::clinic_id(&q.clinic_id)?;
    admin.require(&q.clinic_id)?;
    Ok(Json(admin::conflicts(state.store.as_ref(), &q.clinic_id).await?))
}

async fn merge<S: Store>(
    State(state): State<AppState<S>>,
    admin: Admin,
    JsonBody(req): JsonBody<MergeRequest>,
) -> Result<Json<anola_protocol::wire::MergeNote>, ApiError> {
    validate::protocol_version(req.protocol_version)?;
    validate::clinic_id(&req.clinic_id)?;
    admin.require(&req.clinic_id)?;
    Ok(Json(admin::merge(state.store.as_ref(), &state.clock, &req).await?))
}

async fn resync<S: Store>(
    State(state): State<AppState<S>>,
    admin: Admin,
    Path(clinic): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    validate::clinic_id(&clinic)?;
    admin.require(&clinic)?;
    let generation = admin::resync(state.store.as_ref(), &clinic).await?;
    Ok(Json(serde_json::json!({"clinic_id": clinic, "generation": generation})))
}
