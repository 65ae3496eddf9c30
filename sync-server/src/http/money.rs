//! The ledger over HTTP (docs/ledger.md): accounts and requests, for platform administrators
//! until wallets, prices and charging for staff are built on top. Every answer is the ledger's:
//! applied (200), or refused with the ledger's stable code (422; 409 for `id_reused` and
//! `account_exists`; 404 for an unknown account), nothing half-applied.

use super::error::ApiError;
use super::extract::JsonBody;
use super::guard::Admin;
use super::routes::AppState;
use crate::money::MoneyError;
use crate::store::Store;
use anola_ledger::{AccountId, AccountSpec, AccountStatus, LedgerError, Limits, Request};
use anola_protocol::money::{LedgerApplied, LedgerRefusal};
use anola_protocol::ErrorCode;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use tracing::Instrument;

pub fn routes<S: Store>() -> Router<AppState<S>> {
    Router::new()
        .route("/money/accounts", post(open::<S>))
        .route("/money/accounts/{id}", get(account::<S>))
        .route("/money/accounts/{id}/status", put(status::<S>))
        .route("/money/accounts/{id}/limits", put(limits::<S>))
        .route("/money/requests", post(execute::<S>))
}

fn platform(admin: &Admin) -> Result<(), ApiError> {
    if admin.0.pa {
        Ok(())
    } else {
        Err(ApiError::new(ErrorCode::Forbidden, "the ledger API is for platform administrators"))
    }
}

pub(super) use crate::auth::now_ms;

pub(super) fn refusal(e: &LedgerError, request_id: Option<uuid::Uuid>) -> Response {
    let status = match e {
        LedgerError::IdReused { .. }
        | LedgerError::AccountExists { .. }
        | LedgerError::QuoteChanged { .. }
        | LedgerError::PriceChanged { .. }
        | LedgerError::PinNotSet
        | LedgerError::PreApprovalDecided { .. }
        | LedgerError::SponsorshipState { .. } => StatusCode::CONFLICT,
        LedgerError::UnknownCharge { .. }
        | LedgerError::UnknownAllowance { .. }
        | LedgerError::UnknownWithdrawal { .. }
        | LedgerError::UnknownSponsor { .. }
        | LedgerError::UnknownSponsorship { .. }
        | LedgerError::UnknownPreApproval { .. } => StatusCode::NOT_FOUND,
        LedgerError::PinIncorrect { .. } => StatusCode::FORBIDDEN,
        LedgerError::PinLocked => StatusCode::LOCKED,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let body = LedgerRefusal {
        code: e.code().into(),
        message: e.to_string(),
        request_id,
        field: e.field(),
    };
    (status, Json(body)).into_response()
}

pub(super) fn failed(e: MoneyError, request_id: Option<uuid::Uuid>) -> Response {
    match e {
        MoneyError::Refused(e) => refusal(&e, request_id),
        MoneyError::Store(e) => ApiError::from(e).into_response(),
        // A log that does not replay: stop answering money rather than guess (the auditor names it).
        e @ MoneyError::Diverged { .. } => {
            tracing::error!(error = %e, "the ledger log does not replay");
            ApiError::new(
                ErrorCode::Internal,
                "the ledger is unavailable: its log does not replay (run the ledger audit)",
            )
            .into_response()
        }
    }
}

fn answer(result: Result<usize, LedgerError>, ok: impl FnOnce() -> Response) -> Response {
    match result {
        Ok(_) => ok(),
        Err(e) => refusal(&e, None),
    }
}

async fn open<S: Store>(State(state): State<AppState<S>>, admin: Admin, JsonBody(spec): JsonBody<AccountSpec>) -> Response {
    if let Err(e) = platform(&admin) {
        return e.into_response();
    }
    let expected = AccountId::new(spec.kind, "");
    if !spec.id.0.starts_with(expected.as_str()) || spec.id.0.len() == expected.0.len() || spec.id.0.len() > 100 {
        return ApiError(
            anola_protocol::ErrorBody::new(
                ErrorCode::InvalidRequest,
                format!("an account of this kind is named {}<name> (1–100 characters)", expected.0),
            )
            .with_field("id"),
        )
        .into_response();
    }
    let id = spec.id.clone();
    match state.ledger.open_account(spec, now_ms()).await {
        Ok(r) => answer(r, || (StatusCode::CREATED, Json(serde_json::json!({"id": id}))).into_response()),
        Err(e) => failed(e, None),
    }
}

async fn account<S: Store>(State(state): State<AppState<S>>, admin: Admin, Path(id): Path<String>) -> Response {
    if let Err(e) = platform(&admin) {
        return e.into_response();
    }
    match state.ledger.account(&AccountId(id.clone())).await {
        Ok(Some(a)) => Json(serde_json::json!({
            "id": a.spec.id,
            "kind": a.spec.kind,
            "currency": a.spec.currency,
            "status": a.status,
            "balance": a.balance,
            "posted": a.balance.posted().to_string(),
            "available": a.balance.available_as(a.spec.kind).to_string(),
            "limits": a.limits,
            "entries": a.seq,
        }))
        .into_response(),
        Ok(None) => ApiError::new(ErrorCode::NotFound, format!("no account {id}")).into_response(),
        Err(e) => failed(e, None),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusBody {
    status: AccountStatus,
}

async fn status<S: Store>(
    State(state): State<AppState<S>>,
    admin: Admin,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<StatusBody>,
) -> Response {
    if let Err(e) = platform(&admin) {
        return e.into_response();
    }
    match state.ledger.set_status(AccountId(id), body.status, now_ms()).await {
        Ok(r) => answer(r, || StatusCode::NO_CONTENT.into_response()),
        Err(e) => failed(e, None),
    }
}

async fn limits<S: Store>(
    State(state): State<AppState<S>>,
    admin: Admin,
    Path(id): Path<String>,
    JsonBody(limits): JsonBody<Limits>,
) -> Response {
    if let Err(e) = platform(&admin) {
        return e.into_response();
    }
    match state.ledger.set_limits(AccountId(id), limits, now_ms()).await {
        Ok(r) => answer(r, || StatusCode::NO_CONTENT.into_response()),
        Err(e) => failed(e, None),
    }
}

/// Parses a request, naming the field of a bad amount: `Command` is tagged by `op`, so serde's own
/// errors would only say `command`.
fn parse_request(raw: serde_json::Value) -> Result<Request, ApiError> {
    let bad = |field: String, message: &str| {
        ApiError(anola_protocol::ErrorBody::new(ErrorCode::InvalidRequest, format!("{field}: {message}")).with_field(field))
    };
    let command = &raw["command"];
    if let Some(legs) = command.get("legs").and_then(|l| l.as_array()) {
        for (i, leg) in legs.iter().enumerate() {
            if let Some(a) = leg.get("amount") {
                if !a.is_u64() {
                    return Err(bad(
                        format!("command.legs[{i}].amount"),
                        "an amount is a whole number of minor units (1250 for 12.50), not text, a fraction or below zero",
                    ));
                }
            }
        }
    }
    if let Some(a) = command.get("amount").filter(|a| !a.is_null()) {
        if !a.is_u64() {
            return Err(bad("command.amount".into(), "an amount is a whole number of minor units"));
        }
    }
    serde_path_to_error::deserialize(raw).map_err(|e| {
        let path = e.path().to_string();
        bad(if path == "." { String::new() } else { path }, &e.into_inner().to_string())
    })
}

async fn execute<S: Store>(State(state): State<AppState<S>>, admin: Admin, JsonBody(raw): JsonBody<serde_json::Value>) -> Response {
    if let Err(e) = platform(&admin) {
        return e.into_response();
    }
    let request = match parse_request(raw) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let id = request.id;
    if let Some(bad) = super::clinic_money::own_id(id) {
        return bad;
    }
    let span = tracing::info_span!("ledger_request", request = %id);
    match state.ledger.execute(request, now_ms()).instrument(span).await {
        Ok(o) => match o.result {
            Ok(entries) => Json(LedgerApplied {
                request_id: id,
                status: "applied".into(),
                entries,
                at: o.at,
            })
            .into_response(),
            Err(e) => refusal(&e, Some(id)),
        },
        Err(e) => failed(e, Some(id)),
    }
}
