//! Mobile money over HTTP (ADR 0016): a deposit asked of the patient's phone, its state, payouts
//! of approved withdrawals, and the provider's callbacks. A callback URL carries the intent's id
//! and an HMAC of it under the server's key, so only the provider that was given the URL can
//! report on that intent; callbacks repeat and cross safely (each intent pays once).

use super::error::ApiError;
use super::extract::JsonBody;
use super::guard::{Admin, DeviceSession};
use super::money::{failed, now_ms, refusal};
use super::routes::{AppState, Payments};
use crate::money::provider::{B2cCallback, CollectRequest, PayoutRequest, ProviderError, StkCallback};
use crate::money::{CollectUpdate, PayoutUpdate};
use crate::store::Store;
use anola_ledger::book::{charge, CollectIntent, CollectState};
use anola_ledger::{Currency, LedgerError};
use anola_protocol::access::Role;
use anola_protocol::ErrorCode;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use uuid::Uuid;

pub fn routes<S: Store>() -> Router<AppState<S>> {
    Router::new()
        .route("/money/deposits/mobile", post(start::<S>))
        .route("/money/deposits/mobile/{id}", get(show::<S>))
        .route("/admin/money/withdrawals/{id}/payout", post(payout::<S>))
        .route("/money/callbacks/mpesa/stk/{id}/{token}", post(stk_callback::<S>))
        .route("/money/callbacks/mpesa/b2c/{id}/{token}", post(b2c_callback::<S>))
}

/// The token in a callback URL: HMAC-SHA256 of its kind and id, hex, 32 characters.
pub fn callback_token(key: &[u8], kind: &str, id: Uuid) -> String {
    let mut m = Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes any key");
    m.update(format!("{kind}|{id}").as_bytes());
    m.finalize().into_bytes()[..16].iter().map(|b| format!("{b:02x}")).collect()
}

fn token_ok(p: &Payments, kind: &str, id: Uuid, token: &str) -> bool {
    let want = callback_token(&p.callback_key, kind, id);
    // Constant time: compare every byte.
    want.len() == token.len() && want.bytes().zip(token.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

fn not_configured() -> Response {
    ApiError::new(
        ErrorCode::ProviderUnavailable,
        "mobile money is not configured on this server (ANOLA_MPESA_URL and its credentials)",
    )
    .into_response()
}

fn bad(field: &str, message: &str) -> Response {
    ApiError(anola_protocol::ErrorBody::new(ErrorCode::InvalidRequest, format!("{field}: {message}")).with_field(field)).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MobileDeposit {
    id: Uuid,
    patient: String,
    /// Minor units; M-Pesa takes whole shillings.
    amount: u64,
    phone: String,
}

/// Whole units of a KES amount in cents, or why not.
fn whole_shillings(c: Currency, amount: u64) -> Result<u64, &'static str> {
    if c != Currency::KES {
        return Err("M-Pesa takes Kenyan shillings only");
    }
    if !amount.is_multiple_of(100) {
        return Err("M-Pesa takes whole shillings");
    }
    Ok(amount / 100)
}

async fn start<S: Store>(State(state): State<AppState<S>>, s: DeviceSession, JsonBody(d): JsonBody<MobileDeposit>) -> Response {
    let Some(payments) = state.payments.clone() else {
        return not_configured();
    };
    if let Some(bad) = super::clinic_money::own_id(d.id) {
        return bad;
    }
    if !(s.user.platform_admin || matches!(s.user.role, Some(Role::FrontDesk | Role::FieldWorker | Role::ClinicAdmin))) {
        return ApiError::new(ErrorCode::Forbidden, "your role may not take deposits").into_response();
    }
    let intent = CollectIntent {
        id: d.id,
        patient: d.patient.clone(),
        wallet: charge::personal(&d.patient),
        amount: d.amount,
        phone: d.phone,
        requested_by: s.user.username.clone(),
    };
    push(&state, &payments, intent).await
}

/// Records a mobile-money deposit's intent and asks the provider for it (an STK push to the
/// payer's phone), once: a retry of an intent already pushed, paid or failed only reports it.
pub(super) async fn push<S: Store>(state: &AppState<S>, payments: &Payments, intent: CollectIntent) -> Response {
    let id = intent.id;
    let collection = match state.ledger.collect_intent(intent, now_ms()).await {
        Ok(c) => c,
        Err(e) => return failed(e, Some(id)),
    };
    let shillings = match whole_shillings(collection.currency, collection.intent.amount) {
        Ok(n) => n,
        Err(why) => {
            let _ = state
                .ledger
                .collect_update(id, CollectUpdate::Failed { reason: why.into() }, now_ms())
                .await;
            return bad("amount", why);
        }
    };
    // Asked once: a retry of an intent already pushed, paid or failed only reports it.
    if collection.state != CollectState::Pending {
        return Json(collection).into_response();
    }
    let req = CollectRequest {
        phone: collection.intent.phone.clone(),
        amount: shillings,
        reference: id.simple().to_string()[..12].to_owned(),
        callback_url: format!(
            "{}/money/callbacks/mpesa/stk/{}/{}",
            payments.public_url,
            id,
            callback_token(&payments.callback_key, "stk", id)
        ),
    };
    let update = match payments.provider.collect(&req).await {
        Ok(checkout) => CollectUpdate::Pushed { checkout },
        Err(ProviderError::Refused(why)) => CollectUpdate::Failed { reason: why },
        Err(e @ ProviderError::Unreachable(_)) => {
            tracing::warn!(error = %e, "mobile-money request not confirmed; the intent stays pending");
            return ApiError::new(
                ErrorCode::ProviderUnavailable,
                format!("{e}; the deposit waits (ask again to retry)"),
            )
            .into_response();
        }
    };
    match state.ledger.collect_update(id, update, now_ms()).await {
        Ok(c) => (StatusCode::ACCEPTED, Json(c)).into_response(),
        Err(e) => failed(e, Some(id)),
    }
}

async fn show<S: Store>(State(state): State<AppState<S>>, _s: DeviceSession, Path(id): Path<Uuid>) -> Response {
    match state.ledger.read(|b| b.collections.get(&id).cloned()).await {
        Ok(Some(c)) => Json(c).into_response(),
        Ok(None) => refusal(&LedgerError::UnknownCharge { charge: id.to_string() }, None),
        Err(e) => failed(e, None),
    }
}

/// A callback's body, when mobile money is on and the URL's token is this intent's (`kind`:
/// `stk` or `b2c`); otherwise the refusal to answer with.
fn verified<S, T: serde::de::DeserializeOwned>(
    state: &AppState<S>,
    kind: &str,
    id: Uuid,
    token: &str,
    body: serde_json::Value,
    (field, what): (&str, &str),
) -> Result<T, Box<Response>> {
    let Some(payments) = state.payments.as_ref() else {
        return Err(Box::new(not_configured()));
    };
    if !token_ok(payments, kind, id, token) {
        return Err(Box::new(ApiError::new(ErrorCode::Forbidden, "unknown callback").into_response()));
    }
    serde_json::from_value(body).map_err(|_| Box::new(bad(field, what)))
}

/// The provider's answers are acknowledged whatever they say (M-Pesa retries otherwise).
fn accepted() -> Response {
    Json(serde_json::json!({"ResultCode": 0, "ResultDesc": "Accepted"})).into_response()
}

async fn stk_callback<S: Store>(
    State(state): State<AppState<S>>,
    Path((id, token)): Path<(Uuid, String)>,
    JsonBody(cb): JsonBody<serde_json::Value>,
) -> Response {
    let cb: StkCallback = match verified(&state, "stk", id, &token, cb, ("Body", "not an STK callback")) {
        Ok(cb) => cb,
        Err(r) => return *r,
    };
    let r = cb.body.stk;
    let expected = match state.ledger.read(|b| b.collections.get(&id).map(|c| c.intent.amount)).await {
        Ok(Some(a)) => a,
        Ok(None) => return refusal(&LedgerError::UnknownCharge { charge: id.to_string() }, None),
        Err(e) => return failed(e, None),
    };
    let update = if r.result_code == 0 {
        match r.amount() {
            Some(a) if a.checked_mul(100) == Some(expected) => CollectUpdate::Paid {
                receipt: r.receipt().unwrap_or(r.checkout_request_id.clone()),
            },
            other => CollectUpdate::Failed {
                reason: format!("paid {other:?} shillings, asked {}: reconcile by hand", expected / 100),
            },
        }
    } else {
        CollectUpdate::Failed {
            reason: format!("{} ({})", r.result_desc, r.result_code),
        }
    };
    match state.ledger.collect_update(id, update, now_ms()).await {
        Ok(_) => accepted(),
        Err(e) => failed(e, None),
    }
}

/// Sends an approved withdrawal to the payer's phone (once recorded as sent, not again).
pub(super) async fn send_payout<S: Store>(state: &AppState<S>, id: Uuid) -> Result<(), Response> {
    let Some(payments) = state.payments.clone() else {
        return Err(not_configured());
    };
    let found = state
        .ledger
        .read(|b| b.withdrawals.get(&id).map(|w| (w.clone(), b.payouts.get(&id).cloned())))
        .await
        .map_err(|e| failed(e, None))?;
    let Some((w, sent)) = found else {
        return Err(refusal(
            &LedgerError::UnknownWithdrawal {
                withdrawal: id.to_string(),
            },
            None,
        ));
    };
    if sent.is_some() || !matches!(w.decision, Some((true, _, _))) {
        // Already claimed (sent or being sent), or not approved.
        return Ok(());
    }
    let shillings = whole_shillings(w.currency, w.input.amount).map_err(|why| bad("amount", why))?;
    let req = PayoutRequest {
        id: id.to_string(),
        phone: w.input.to.clone(),
        amount: shillings,
        result_url: format!(
            "{}/money/callbacks/mpesa/b2c/{id}/{}",
            payments.public_url,
            callback_token(&payments.callback_key, "b2c", id)
        ),
    };
    // Recorded before the provider is asked: whoever loses this race does not send.
    if !state.ledger.payout_claim(id, now_ms()).await.map_err(|e| failed(e, None))? {
        return Ok(());
    }
    match payments.provider.payout(&req).await {
        Ok(_) => Ok(()),
        // Refused outright: nothing was paid, so the withdrawal goes back into the wallet.
        Err(ProviderError::Refused(why)) => state
            .ledger
            .payout_update(id, PayoutUpdate::Failed { reason: why }, now_ms())
            .await
            .map(|_| ())
            .map_err(|e| failed(e, None)),
        // No answer: it may have been paid; the result callback (or a reconciliation) settles it.
        Err(e) => Err(ApiError::new(ErrorCode::ProviderUnavailable, format!("{e}; the payout's result will settle it")).into_response()),
    }
}

async fn payout<S: Store>(State(state): State<AppState<S>>, _admin: Admin, Path(id): Path<Uuid>) -> Response {
    match send_payout(&state, id).await {
        Ok(()) => match state.ledger.read(|b| b.payouts.get(&id).cloned()).await {
            Ok(p) => Json(p).into_response(),
            Err(e) => failed(e, None),
        },
        Err(r) => r,
    }
}

async fn b2c_callback<S: Store>(
    State(state): State<AppState<S>>,
    Path((id, token)): Path<(Uuid, String)>,
    JsonBody(cb): JsonBody<serde_json::Value>,
) -> Response {
    let cb: B2cCallback = match verified(&state, "b2c", id, &token, cb, ("Result", "not a B2C result")) {
        Ok(cb) => cb,
        Err(r) => return *r,
    };
    let update = if cb.result.result_code == 0 {
        PayoutUpdate::Done {
            reference: cb.result.transaction_id,
        }
    } else {
        PayoutUpdate::Failed {
            reason: format!("{} ({})", cb.result.result_desc, cb.result.result_code),
        }
    };
    match state.ledger.payout_update(id, update, now_ms()).await {
        Ok(_) => accepted(),
        Err(e) => failed(e, None),
    }
}
