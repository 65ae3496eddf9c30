//! One-line commands over the signed-in `Clinic`'s money methods (docs/ledger.md).

use crate::AppState;
use anola_client::clinic_money::{AllowancePolicy, Charged, OfflineBill, OfflineMoney, PrintableReceipt, Settled};
use anola_client::ClientError;
use anola_protocol::money::{
    ChargeRequest, Currency, DayClose, DepositMethod, DrawerView, LedgerApplied, Line, PatientWallets, PriceList, Quote, ReasonCode,
    Receipt,
};
use tauri::State;
use uuid::Uuid;

#[tauri::command(async)]
pub fn money_prices(state: State<AppState>) -> Result<PriceList, ClientError> {
    state.ws.clinic()?.prices()
}

#[tauri::command]
pub async fn refresh_prices(state: State<'_, AppState>) -> Result<PriceList, ClientError> {
    state.ws.clinic()?.refresh_prices().await
}

#[tauri::command]
pub async fn patient_wallets(state: State<'_, AppState>, patient: String) -> Result<PatientWallets, ClientError> {
    state.ws.clinic()?.patient_wallets(&patient).await
}

#[tauri::command(async)]
pub fn offline_money(state: State<AppState>, patient: String) -> Result<OfflineMoney, ClientError> {
    state.ws.clinic()?.offline_money(&patient)
}

#[tauri::command]
pub async fn open_wallet(state: State<'_, AppState>, patient: String, currency: Currency) -> Result<(), ClientError> {
    state.ws.clinic()?.open_wallet(&patient, currency).await
}

#[tauri::command]
pub async fn set_wallet_pin(state: State<'_, AppState>, patient: String, pin: String) -> Result<(), ClientError> {
    state.ws.clinic()?.set_wallet_pin(&patient, &pin).await
}

#[tauri::command]
pub async fn quote_bill(
    state: State<'_, AppState>,
    patient: String,
    lines: Vec<Line>,
    personal: bool,
    context: Option<anola_client::clinic_money::ChargeContext>,
) -> Result<Quote, ClientError> {
    state
        .ws
        .clinic()?
        .quote(&patient, lines, personal, context.unwrap_or_default())
        .await
}

#[tauri::command]
pub async fn patient_sponsorships(
    state: State<'_, AppState>,
    patient: String,
) -> Result<Vec<anola_protocol::sponsor::SponsoredCover>, ClientError> {
    state.ws.clinic()?.sponsorships(&patient).await
}

#[tauri::command]
pub async fn patient_pre_approvals(
    state: State<'_, AppState>,
    patient: String,
) -> Result<Vec<anola_client::store::sponsorship::LocalPreApproval>, ClientError> {
    state.ws.clinic()?.patient_pre_approvals(&patient).await
}

#[tauri::command]
pub async fn ask_pre_approval(
    state: State<'_, AppState>,
    request: anola_protocol::sponsor::NewPreApproval,
) -> Result<anola_client::store::sponsorship::LocalPreApproval, ClientError> {
    state.ws.clinic()?.ask_pre_approval(request).await
}

#[tauri::command]
pub async fn add_sponsor_story(state: State<'_, AppState>, sponsorship: uuid::Uuid, text: String) -> Result<uuid::Uuid, ClientError> {
    state.ws.clinic()?.add_story(sponsorship, &text).await
}

#[tauri::command]
pub async fn charge_bill(state: State<'_, AppState>, request: ChargeRequest) -> Result<Charged, ClientError> {
    state.ws.clinic()?.charge(request).await
}

#[tauri::command(async)]
pub fn charge_offline(state: State<AppState>, bill: OfflineBill) -> Result<Charged, ClientError> {
    state.ws.clinic()?.charge_offline(bill)
}

#[tauri::command]
pub async fn deposit(
    state: State<'_, AppState>,
    patient: String,
    amount: u64,
    method: DepositMethod,
) -> Result<LedgerApplied, ClientError> {
    state.ws.clinic()?.deposit(&patient, amount, method).await
}

#[tauri::command]
pub async fn refund_charge(state: State<'_, AppState>, charge: Uuid, reason: ReasonCode) -> Result<Receipt, ClientError> {
    state.ws.clinic()?.refund(charge, reason).await
}

#[tauri::command]
pub async fn printable_receipt(state: State<'_, AppState>, charge: Uuid) -> Result<PrintableReceipt, ClientError> {
    state.ws.clinic()?.printable_receipt(charge).await
}

#[tauri::command]
pub async fn reserve_allowances(state: State<'_, AppState>, patients: Vec<String>) -> Result<usize, ClientError> {
    state.ws.clinic()?.reserve_allowances(&patients, AllowancePolicy::default()).await
}

#[tauri::command]
pub async fn settle_offline_charges(state: State<'_, AppState>) -> Result<Settled, ClientError> {
    state.ws.clinic()?.settle_offline_charges().await
}

#[tauri::command]
pub async fn cash_drawer(state: State<'_, AppState>) -> Result<DrawerView, ClientError> {
    state.ws.clinic()?.drawer().await
}

#[tauri::command]
pub async fn close_day(state: State<'_, AppState>, counted: u64, note: String) -> Result<DayClose, ClientError> {
    state.ws.clinic()?.close_day(counted, &note).await
}
