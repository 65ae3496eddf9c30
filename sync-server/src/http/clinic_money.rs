//! Money at the clinic over HTTP (docs/ledger.md): the price list, patients' wallets, charging a
//! bill (online, or settling one made offline), refunds, deposits, offline allowances, the
//! cashier's day-close and withdrawals. Staff call it from an enrolled device (`DeviceSession`);
//! the clinic is the device's and the cashier is the signed-in account. Every answer is the
//! book's: applied, or refused with a stable code naming the field, nothing half-applied.

use super::error::ApiError;
use super::extract::JsonBody;
use super::guard::{Admin, DeviceSession};
use super::money::{failed, now_ms, refusal};
use super::routes::AppState;
use crate::money::MoneyError;
use crate::store::Store;
use anola_ledger::book::{charge, AllowanceSpec, ChargeInput, CloseInput, RefundInput, WithdrawalInput};
use anola_ledger::{AccountId, AccountKind, AccountSpec, Command, LedgerError, Leg, ReasonCode, Request, TxKind};
use anola_protocol::access::Role;
use anola_protocol::money::*;
use anola_protocol::ErrorCode;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use tracing::Instrument;
use uuid::Uuid;

pub fn routes<S: Store>() -> Router<AppState<S>> {
    Router::new()
        .route("/money/prices", get(prices::<S>))
        .route("/money/prices/{code}", put(set_price::<S>))
        .route("/money/fee-rate", put(set_fee::<S>))
        .route("/money/patients/{id}/wallets", get(wallets::<S>))
        .route("/money/patients/{id}/wallet", post(open_wallet::<S>))
        .route("/money/patients/{id}/pin", put(set_pin::<S>))
        .route("/money/quote", post(quote::<S>))
        .route("/money/charges", post(charge_bill::<S>))
        .route("/money/charges/{id}", get(receipt::<S>))
        .route("/money/charges/{id}/refund", post(refund::<S>))
        .route("/money/deposits", post(deposit::<S>))
        .route("/money/allowances", post(reserve::<S>))
        .route("/money/allowances/{id}/return", post(return_allowance::<S>))
        .route("/money/drawer", get(drawer::<S>))
        .route("/money/day-close", post(day_close::<S>))
        .route("/money/withdrawals", post(withdraw::<S>))
        .route("/admin/money/wallets", post(admin_wallet::<S>))
        .route("/admin/money/withdrawals/{id}/approve", post(approve::<S>))
        .route("/admin/money/withdrawals/{id}/reject", post(reject::<S>))
}

fn forbidden(what: &str) -> Response {
    ApiError::new(ErrorCode::Forbidden, format!("your role may not {what}")).into_response()
}

/// Front desk, field workers and clinic administrators take money; clinicians and kiosks do not.
fn cashier(s: &DeviceSession) -> bool {
    s.user.platform_admin || matches!(s.user.role, Some(Role::FrontDesk | Role::FieldWorker | Role::ClinicAdmin))
}

fn bad_field(field: &str, message: &str) -> Response {
    ApiError(anola_protocol::ErrorBody::new(ErrorCode::InvalidRequest, format!("{field}: {message}")).with_field(field)).into_response()
}

/// The refusal of a client-chosen id shaped like the ids the book derives (UUID version 8).
pub(super) fn own_id(id: Uuid) -> Option<Response> {
    anola_ledger::book::is_derived_id(id).then(|| bad_field("id", "choose a random (version 4) or time-ordered (version 7) UUID"))
}

fn money<T>(r: Result<T, MoneyError>, ok: impl FnOnce(T) -> Response) -> Response {
    match r {
        Ok(t) => ok(t),
        Err(e) => failed(e, None),
    }
}

async fn prices<S: Store>(State(state): State<AppState<S>>, _s: DeviceSession) -> Response {
    money(
        state
            .ledger
            .read(|b| PriceList {
                items: b.prices.values().cloned().collect(),
                fee_bps: b.fee_bps,
            })
            .await,
        |p| Json(p).into_response(),
    )
}

async fn set_price<S: Store>(
    State(state): State<AppState<S>>,
    admin: Admin,
    Path(code): Path<String>,
    JsonBody(item): JsonBody<PriceItem>,
) -> Response {
    if item.code != code {
        return bad_field("code", "the item's code must be the one in the path");
    }
    let _ = admin;
    money(state.ledger.set_price(item, now_ms()).await, |r| match r {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => refusal(&e, None),
    })
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FeeBody {
    bps: u32,
}

async fn set_fee<S: Store>(State(state): State<AppState<S>>, admin: Admin, JsonBody(b): JsonBody<FeeBody>) -> Response {
    if !admin.0.pa {
        return ApiError::new(ErrorCode::Forbidden, "the platform fee is set by platform administrators").into_response();
    }
    money(state.ledger.set_fee_rate(b.bps, now_ms()).await, |r| match r {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => refusal(&e, None),
    })
}

async fn wallets<S: Store>(State(state): State<AppState<S>>, _s: DeviceSession, Path(patient): Path<String>) -> Response {
    money(state.ledger.read(|b| patient_wallets(b, &patient)).await, |w| {
        Json(w).into_response()
    })
}

/// Most history rows returned per wallet view.
const HISTORY: usize = 30;

pub(super) fn patient_wallets(b: &anola_ledger::Book, patient: &str) -> PatientWallets {
    let mut ids: Vec<AccountId> = b.wallets.get(patient).map(|w| w.iter().cloned().collect()).unwrap_or_default();
    let rcv = charge::receivable(patient);
    let wallets: Vec<WalletView> = ids
        .iter()
        .filter_map(|id| b.ledger.account(id))
        .map(|a| WalletView {
            id: a.spec.id.0.clone(),
            kind: a.spec.kind,
            currency: a.spec.currency,
            status: a.status,
            available: a.balance.available_as(a.spec.kind) as i64,
            posted: a.balance.posted() as i64,
            pending: a.balance.debits_pending,
            limits: a.limits,
        })
        .collect();
    let owed = b.ledger.account(&rcv).map_or(0, |a| (-a.balance.posted()).max(0) as u64);
    ids.push(rcv);
    let mut history: Vec<HistoryEntry> = ids
        .iter()
        .flat_map(|id| b.ledger.history(id, HISTORY))
        .map(|(e, o)| HistoryEntry {
            at: o.map_or(0, |o| o.at),
            request: e.request,
            account: e.account.0.clone(),
            effect: serde_json::to_value(e.effect)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default(),
            amount: e.amount,
            kind: o.and_then(|o| match &o.request.command {
                Command::Transfer { kind, .. } => Some(*kind),
                Command::Reverse { .. } => Some(TxKind::Refund),
                _ => None,
            }),
            reason: o.and_then(|o| match &o.request.command {
                Command::Reverse { reason, .. } => Some(*reason),
                _ => None,
            }),
        })
        .collect();
    history.sort_by_key(|h| std::cmp::Reverse(h.at));
    history.truncate(HISTORY);
    let pin = b.pins.get(patient);
    let mut allowances: Vec<Allowance> = b
        .allowances
        .values()
        .filter(|a| a.spec.patient == patient && a.returned.is_none())
        .cloned()
        .collect();
    allowances.sort_by_key(|a| a.spec.expires_at);
    PatientWallets {
        patient: patient.into(),
        wallets,
        owed,
        pin: PinStatus {
            set: pin.is_some(),
            locked: pin.is_some_and(|p| p.locked()),
            attempts_left: pin.map_or(0, |p| anola_ledger::book::PIN_ATTEMPTS.saturating_sub(p.failures)),
        },
        allowances,
        history,
    }
}

/// The refusal of a malformed patient id, if it is one.
fn check_patient(patient: &str) -> Option<Response> {
    (patient.is_empty() || patient.len() > 100 || patient.contains(char::is_whitespace))
        .then(|| bad_field("patient", "a patient id (1–100 characters, no spaces)"))
}

async fn open_wallet<S: Store>(
    State(state): State<AppState<S>>,
    s: DeviceSession,
    Path(patient): Path<String>,
    JsonBody(b): JsonBody<OpenWalletRequest>,
) -> Response {
    if !cashier(&s) {
        return forbidden("open wallets");
    }
    if let Some(r) = check_patient(&patient) {
        return r;
    }
    let spec = AccountSpec {
        id: charge::personal(&patient),
        kind: AccountKind::Personal,
        currency: b.currency,
    };
    money(state.ledger.open_wallet(spec, patient.clone(), now_ms()).await, |_| {
        (StatusCode::CREATED, Json(serde_json::json!({"id": charge::personal(&patient)}))).into_response()
    })
}

fn pin_format(pin: &str) -> bool {
    (4..=6).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit())
}

async fn set_pin<S: Store>(
    State(state): State<AppState<S>>,
    s: DeviceSession,
    Path(patient): Path<String>,
    JsonBody(b): JsonBody<SetPinRequest>,
) -> Response {
    if !cashier(&s) {
        return forbidden("set wallet PINs");
    }
    if let Some(r) = check_patient(&patient) {
        return r;
    }
    if !pin_format(&b.pin) {
        return bad_field("pin", "4 to 6 digits");
    }
    let pin = b.pin;
    let verifier = match tokio::task::spawn_blocking(move || crate::auth::password::hash(&pin)).await {
        Ok(v) => v,
        Err(_) => return ApiError::new(ErrorCode::Internal, "the PIN could not be hashed").into_response(),
    };
    money(state.ledger.set_pin(patient, verifier, now_ms()).await, |_| {
        StatusCode::NO_CONTENT.into_response()
    })
}

/// The patient's consent to spend personal funds: their PIN, checked against the verifier with
/// an attempt lock kept in the book (so every server process counts the same wrong entries).
async fn consent<S: Store>(state: &AppState<S>, patient: &str, pin: &str) -> Result<(), Response> {
    // The attempt is counted before the PIN is checked, so parallel guesses cannot all pass the
    // lock; a right PIN clears the count.
    let (verifier, failures) = state
        .ledger
        .pin_attempt(patient.into(), now_ms())
        .await
        .map_err(|e| failed(e, None))?;
    let pin = pin.to_owned();
    let ok = pin_format(&pin)
        && tokio::task::spawn_blocking(move || crate::auth::password::verify(&pin, &verifier))
            .await
            .unwrap_or(false);
    if ok {
        state
            .ledger
            .pin_right(patient.into(), now_ms())
            .await
            .map_err(|e| failed(e, None))?;
        return Ok(());
    }
    let left = anola_ledger::book::PIN_ATTEMPTS.saturating_sub(failures);
    Err(refusal(
        &if left == 0 {
            LedgerError::PinLocked
        } else {
            LedgerError::PinIncorrect { attempts_left: left }
        },
        None,
    ))
}

fn charge_input(s: &DeviceSession, mut r: ChargeRequest, consent: bool) -> ChargeInput {
    if let Desk::Cash { drawer } = &mut r.desk {
        if drawer.is_empty() {
            *drawer = s.user.username.clone();
        }
    }
    ChargeInput {
        id: r.id,
        patient: r.patient,
        clinic: s.device.clinic_id.clone(),
        lines: r.lines,
        desk: r.desk,
        desk_amount: r.desk_amount,
        personal_consent: consent,
        visit: r.visit,
        offline: r.offline,
        staff: s.user.username.clone(),
        provider: r.provider,
        diagnoses: r.diagnoses,
        pre_approval: r.pre_approval,
    }
}

/// The provider a charge names must be one of the device's clinic (sponsorships may cover some
/// providers only, so a device cannot name another clinic's to pass a network rule): one point
/// read.
async fn check_provider<S: Store>(state: &AppState<S>, s: &DeviceSession, r: &ChargeRequest) -> Result<(), Response> {
    let Some(p) = &r.provider else { return Ok(()) };
    let Ok(id) = Uuid::parse_str(p) else {
        return Err(bad_field("provider", "a provider id of this clinic"));
    };
    let head = state
        .store
        .heads(&[(anola_protocol::wire::EntityKind::Provider, id)])
        .await
        .map_err(|e| ApiError::from(e).into_response())?
        .pop()
        .flatten();
    match head.as_ref().and_then(|h| h.text("clinic_id")) {
        Some(c) if c == s.device.clinic_id => Ok(()),
        _ => Err(bad_field("provider", "not a provider of this clinic")),
    }
}

/// A cashier takes cash into their own drawer only, and an offline charge is settled by the
/// device that made it.
fn check_charge(s: &DeviceSession, r: &ChargeRequest) -> Option<Response> {
    if !cashier(s) {
        return Some(forbidden("take payments"));
    }
    if let Some(bad) = check_patient(&r.patient) {
        return Some(bad);
    }
    if let Desk::Cash { drawer } = &r.desk {
        if !drawer.is_empty() && *drawer != s.user.username {
            return Some(bad_field("desk.drawer", "cash goes into the signed-in cashier's own drawer"));
        }
    }
    if let Some(off) = &r.offline {
        if off.device != s.device.device_id {
            return Some(bad_field(
                "offline.device",
                "an offline charge is settled by the device that made it",
            ));
        }
        if r.pin.is_some() {
            return Some(bad_field("pin", "an offline charge's consent was checked on the device"));
        }
    }
    None
}

async fn quote<S: Store>(State(state): State<AppState<S>>, s: DeviceSession, JsonBody(r): JsonBody<ChargeRequest>) -> Response {
    if let Some(resp) = check_charge(&s, &r) {
        return resp;
    }
    if let Err(resp) = check_provider(&state, &s, &r).await {
        return resp;
    }
    // A quote shows what personal funds would pay if the patient consents; no PIN is checked.
    let consent = r.pin.is_some();
    let input = charge_input(&s, r, consent);
    let found = state.ledger.quote(input, now_ms()).await;
    match found {
        Ok(p) => Json(Quote {
            currency: p.currency,
            total: p.parts.iter().map(|x| x.amount).sum(),
            fee: p.fee,
            desk_amount: p.input.desk_amount,
            parts: p.parts,
            coverage: p.coverage,
        })
        .into_response(),
        Err(e) => failed(e, None),
    }
}

async fn charge_bill<S: Store>(State(state): State<AppState<S>>, s: DeviceSession, JsonBody(r): JsonBody<ChargeRequest>) -> Response {
    if let Some(bad) = own_id(r.id) {
        return bad;
    }
    if let Some(resp) = check_charge(&s, &r) {
        return resp;
    }
    if let Err(resp) = check_provider(&state, &s, &r).await {
        return resp;
    }
    let id = r.id;
    // A retry of a charge already made answers its receipt without asking for the PIN again.
    let input = charge_input(&s, r.clone(), r.pin.is_some());
    let known = state.ledger.read(|b| b.known_charge(&input).map(|x| x.cloned())).await;
    match known {
        Ok(Some(Ok(receipt))) => return (StatusCode::CREATED, Json(receipt)).into_response(),
        Ok(Some(Err(e))) => return refusal(&e, Some(id)),
        Ok(None) => {}
        Err(e) => return failed(e, Some(id)),
    }
    if let Some(pin) = &r.pin {
        if let Err(resp) = consent(&state, &r.patient, pin).await {
            return resp;
        }
    }
    let span = tracing::info_span!("charge", charge = %id, offline = input.offline.is_some());
    match state.ledger.charge(input, now_ms()).instrument(span).await {
        Ok(receipt) => (StatusCode::CREATED, Json(receipt)).into_response(),
        Err(e) => failed(e, Some(id)),
    }
}

async fn receipt<S: Store>(State(state): State<AppState<S>>, s: DeviceSession, Path(id): Path<Uuid>) -> Response {
    money(state.ledger.read(|b| b.receipts.get(&id).cloned()).await, |r| match r {
        // Another clinic's receipt reads as absent.
        Some(r) if r.clinic == s.device.clinic_id || s.user.platform_admin => Json(r).into_response(),
        _ => refusal(&LedgerError::UnknownCharge { charge: id.to_string() }, None),
    })
}

/// Refunds need a role: a clinic administrator may refund any charge for any reason; the cashier
/// who took a charge may void it the same day, as a duplicate or entered in error.
async fn refund<S: Store>(
    State(state): State<AppState<S>>,
    s: DeviceSession,
    Path(charge_id): Path<Uuid>,
    JsonBody(r): JsonBody<RefundRequest>,
) -> Response {
    if let Some(bad) = own_id(r.id) {
        return bad;
    }
    let found = match state.ledger.read(|b| b.receipts.get(&charge_id).cloned()).await {
        Ok(Some(x)) => x,
        Ok(None) => {
            return refusal(
                &LedgerError::UnknownCharge {
                    charge: charge_id.to_string(),
                },
                None,
            )
        }
        Err(e) => return failed(e, None),
    };
    let admin = s.user.platform_admin || s.user.role == Some(Role::ClinicAdmin);
    let void = found.staff == s.user.username
        && cashier(&s)
        && matches!(r.reason, ReasonCode::DuplicateCharge | ReasonCode::EnteredInError)
        && now_ms().div_euclid(86_400_000) == found.at.div_euclid(86_400_000);
    if !admin && !void {
        return forbidden(
            "refund this charge (a clinic administrator refunds; the cashier who took it may void it the same day as a duplicate or entered in error)",
        );
    }
    if found.clinic != s.device.clinic_id && !s.user.platform_admin {
        return forbidden("refund another clinic's charge");
    }
    let input = RefundInput {
        id: r.id,
        charge: charge_id,
        reason: r.reason,
        staff: s.user.username.clone(),
    };
    money(state.ledger.refund(input, now_ms()).await, |r| Json(r).into_response())
}

async fn deposit<S: Store>(State(state): State<AppState<S>>, s: DeviceSession, JsonBody(d): JsonBody<DepositRequest>) -> Response {
    if let Some(bad) = own_id(d.id) {
        return bad;
    }
    if !cashier(&s) {
        return forbidden("take deposits");
    }
    if let Some(r) = check_patient(&d.patient) {
        return r;
    }
    let wallet = charge::personal(&d.patient);
    let currency = match state.ledger.read(|b| b.ledger.account(&wallet).map(|a| a.spec.currency)).await {
        Ok(Some(c)) => c,
        Ok(None) => return refusal(&LedgerError::UnknownAccount { account: wallet.0 }, Some(d.id)),
        Err(e) => return failed(e, Some(d.id)),
    };
    let (from, kind) = match &d.method {
        DepositMethod::Cash => (charge::drawer(&s.user.username), AccountKind::CashDrawer),
        DepositMethod::MobileMoney { reference } => {
            if reference.is_empty() || reference.len() > 64 {
                return bad_field("method.reference", "1–64 characters");
            }
            (charge::mobile_money(currency), AccountKind::Outside)
        }
    };
    let spec = AccountSpec {
        id: from.clone(),
        kind,
        currency,
    };
    if let Err(e) = state.ledger.ensure_accounts(vec![spec], now_ms()).await {
        return failed(e, Some(d.id));
    }
    let request = Request {
        id: d.id,
        command: Command::Transfer {
            kind: TxKind::Deposit,
            legs: vec![Leg {
                debit: from,
                credit: wallet,
                amount: d.amount,
            }],
            hold_until: None,
        },
    };
    match state.ledger.execute(request, now_ms()).await {
        Ok(o) => match o.result {
            Ok(entries) => (
                StatusCode::CREATED,
                Json(LedgerApplied {
                    request_id: d.id,
                    status: "applied".into(),
                    entries,
                    at: o.at,
                }),
            )
                .into_response(),
            Err(e) => refusal(&e, Some(d.id)),
        },
        Err(e) => failed(e, Some(d.id)),
    }
}

async fn reserve<S: Store>(State(state): State<AppState<S>>, s: DeviceSession, JsonBody(r): JsonBody<AllowanceRequest>) -> Response {
    if let Some(bad) = own_id(r.id) {
        return bad;
    }
    if !cashier(&s) {
        return forbidden("reserve offline allowances");
    }
    let wallet = AccountId(r.wallet);
    // Personal funds go into an allowance only with the patient's consent (their PIN).
    if wallet == charge::personal(&r.patient) {
        let Some(pin) = r.pin.as_deref() else {
            return bad_field("pin", "reserving personal funds for offline use needs the patient's PIN");
        };
        if let Err(resp) = consent(&state, &r.patient, pin).await {
            return resp;
        }
    }
    let spec = AllowanceSpec {
        id: r.id,
        patient: r.patient,
        wallet: wallet.clone(),
        device: s.device.device_id.clone(),
        total: r.total,
        per_charge: r.per_charge,
        max_count: r.max_count,
        expires_at: r.expires_at,
    };
    let patient = spec.patient.clone();
    let allowance = match state.ledger.reserve(spec, now_ms()).await {
        Ok(a) => a,
        Err(e) => return failed(e, Some(r.id)),
    };
    let personal = wallet == charge::personal(&patient);
    let verifier = match personal {
        true => state
            .ledger
            .read(|b| b.pins.get(&patient).map(|p| p.verifier.clone()))
            .await
            .ok()
            .flatten(),
        false => None,
    };
    // A sponsored wallet's terms travel with its allowance: eligibility offline.
    let terms = state.ledger.read(|b| super::sponsors::eligibility(b, &wallet)).await.ok().flatten();
    (
        StatusCode::CREATED,
        Json(AllowanceGrant {
            allowance,
            pin_verifier: verifier,
            terms,
        }),
    )
        .into_response()
}

async fn return_allowance<S: Store>(State(state): State<AppState<S>>, s: DeviceSession, Path(id): Path<Uuid>) -> Response {
    match state.ledger.read(|b| b.allowances.get(&id).map(|a| a.spec.device.clone())).await {
        Ok(Some(d)) if d == s.device.device_id || s.user.role == Some(Role::ClinicAdmin) || s.user.platform_admin => {}
        Ok(Some(_)) => return forbidden("return another device's allowance"),
        Ok(None) => return refusal(&LedgerError::UnknownAllowance { allowance: id.to_string() }, None),
        Err(e) => return failed(e, None),
    }
    money(state.ledger.return_allowance(id, now_ms()).await, |a| Json(a).into_response())
}

async fn drawer<S: Store>(State(state): State<AppState<S>>, s: DeviceSession) -> Response {
    let name = s.user.username.clone();
    let id = charge::drawer(&name);
    money(
        state
            .ledger
            .read(|b| {
                let a = b.ledger.account(&id);
                let mut closes: Vec<DayClose> = b.closes.values().filter(|c| c.input.drawer == name).cloned().collect();
                closes.sort_by_key(|c| std::cmp::Reverse(c.at));
                closes.truncate(30);
                DrawerView {
                    drawer: id.0.clone(),
                    currency: a.map(|a| a.spec.currency),
                    expected: a.map_or(0, |a| a.balance.available_as(a.spec.kind).max(0) as u64),
                    closes,
                }
            })
            .await,
        |d| Json(d).into_response(),
    )
}

async fn day_close<S: Store>(State(state): State<AppState<S>>, s: DeviceSession, JsonBody(r): JsonBody<DayCloseRequest>) -> Response {
    if let Some(bad) = own_id(r.id) {
        return bad;
    }
    if !cashier(&s) {
        return forbidden("close a cash drawer");
    }
    let input = CloseInput {
        id: r.id,
        drawer: s.user.username.clone(),
        counted: r.counted,
        note: r.note,
        staff: s.user.username.clone(),
    };
    money(state.ledger.close_day(input, now_ms()).await, |c| {
        (StatusCode::CREATED, Json(c)).into_response()
    })
}

async fn withdraw<S: Store>(State(state): State<AppState<S>>, s: DeviceSession, JsonBody(r): JsonBody<WithdrawalRequest>) -> Response {
    if let Some(bad) = own_id(r.id) {
        return bad;
    }
    if !cashier(&s) {
        return forbidden("request withdrawals");
    }
    let wallet = AccountId(r.wallet.clone());
    let owner = match state.ledger.read(|b| b.owner_of(&wallet).map(String::from)).await {
        Ok(o) => o,
        Err(e) => return failed(e, Some(r.id)),
    };
    // A patient's personal funds leave only with the patient's PIN.
    if wallet.0.starts_with("PW-") {
        let (Some(owner), Some(pin)) = (owner, r.pin.as_deref()) else {
            return bad_field("pin", "a withdrawal from a personal wallet needs the patient's PIN");
        };
        if let Err(resp) = consent(&state, &owner, pin).await {
            return resp;
        }
    }
    let input = WithdrawalInput {
        id: r.id,
        wallet,
        amount: r.amount,
        to: r.to,
        requested_by: s.user.username.clone(),
    };
    money(state.ledger.withdraw(input, now_ms()).await, |w| {
        (StatusCode::CREATED, Json(w)).into_response()
    })
}

/// Approves or rejects; an approved withdrawal to a phone is sent through the payment provider
/// when one is configured (a failed send is retried with `…/payout`; the approval stands).
async fn decide<S: Store>(state: AppState<S>, admin: Admin, id: Uuid, approve: bool) -> Response {
    let by = admin.0.sub.to_string();
    let w = match state.ledger.decide_withdrawal(id, approve, by, now_ms()).await {
        Ok(w) => w,
        Err(e) => return failed(e, Some(id)),
    };
    if approve && state.payments.is_some() {
        if let Err(r) = super::mobile_money::send_payout(&state, id).await {
            tracing::warn!(status = %r.status(), "payout not sent yet");
        }
    }
    Json(w).into_response()
}

async fn approve<S: Store>(State(state): State<AppState<S>>, admin: Admin, Path(id): Path<Uuid>) -> Response {
    decide(state, admin, id, true).await
}

async fn reject<S: Store>(State(state): State<AppState<S>>, admin: Admin, Path(id): Path<Uuid>) -> Response {
    decide(state, admin, id, false).await
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct WalletBody {
    id: AccountId,
    kind: AccountKind,
    currency: anola_ledger::Currency,
    owner: String,
}

/// Opens a wallet with an owner (a sponsored wallet for a patient, a sponsor's, provider's or
/// vendor's wallet): platform administrators, until sponsorships open their own.
async fn admin_wallet<S: Store>(State(state): State<AppState<S>>, admin: Admin, JsonBody(b): JsonBody<WalletBody>) -> Response {
    if !admin.0.pa {
        return ApiError::new(ErrorCode::Forbidden, "wallets with owners are opened by platform administrators").into_response();
    }
    let spec = AccountSpec {
        id: b.id,
        kind: b.kind,
        currency: b.currency,
    };
    let expected = AccountId::new(spec.kind, "");
    if !matches!(
        spec.kind,
        AccountKind::Personal | AccountKind::Sponsored | AccountKind::SponsorGlobal | AccountKind::Provider | AccountKind::Vendor
    ) {
        return bad_field("kind", "a wallet is personal, sponsored, sponsor_global, provider or vendor");
    }
    if !spec.id.0.starts_with(expected.as_str()) || spec.id.0.len() == expected.0.len() || spec.id.0.len() > 100 {
        return bad_field(
            "id",
            &format!("a wallet of this kind is named {}<name> (1–100 characters)", expected.0),
        );
    }
    if let Some(r) = check_patient(&b.owner) {
        return r;
    }
    let id = spec.id.clone();
    money(state.ledger.open_wallet(spec, b.owner, now_ms()).await, |_| {
        (StatusCode::CREATED, Json(serde_json::json!({"id": id}))).into_response()
    })
}
