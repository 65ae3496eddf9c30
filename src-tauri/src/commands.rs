//! One-line commands over `Workstation` (the device: enrolment, sign-in, lock) and the signed-in
//! `Clinic`. Errors reach the UI as `{ code, message, ... }`; a locked device answers `locked`.
//!
//! Every command runs off the main thread (`async` functions, or `#[tauri::command(async)]` for
//! plain ones): the main thread only draws the window and handles input, so a slow disk or a
//! sync applying a large page never freezes typing or scrolling.

use crate::AppState;
use anola_client::store::RecordVersionView;
use anola_client::workstation::DeviceState;
use anola_client::{CardCheck, CheckIn, ClientError, PrintableCard, RejectedWrite, SyncStatus};
use anola_protocol::auth::AuditEntry;
use anola_protocol::{Appointment, AppointmentFields, ConflictNote, MedicalRecordVersion, Patient, PatientFields, Provider, RecordFields};
use std::sync::Arc;
use tauri::{Emitter, State};
use uuid::Uuid;

#[tauri::command(async)]
pub fn list_patients(state: State<AppState>, query: String, limit: u32) -> Result<Vec<Patient>, ClientError> {
    state.ws.clinic()?.list_patients(&query, limit)
}

#[tauri::command(async)]
pub fn get_patient(state: State<AppState>, id: Uuid) -> Result<Patient, ClientError> {
    state.ws.clinic()?.get_patient(id)
}

#[tauri::command(async)]
pub fn register_patient(state: State<AppState>, fields: PatientFields) -> Result<Patient, ClientError> {
    state.ws.clinic()?.register_patient(fields)
}

#[tauri::command(async)]
pub fn update_patient(state: State<AppState>, id: Uuid, fields: PatientFields) -> Result<Patient, ClientError> {
    state.ws.clinic()?.update_patient(id, fields)
}

#[tauri::command(async)]
pub fn sync_status(state: State<AppState>) -> Result<SyncStatus, ClientError> {
    state.ws.clinic()?.status()
}

#[tauri::command(async)]
pub fn rejected_writes(state: State<AppState>) -> Result<Vec<RejectedWrite>, ClientError> {
    state.ws.clinic()?.rejected_list()
}

/// Wakes the background task for a round now and answers at once; progress arrives as events.
#[tauri::command(async)]
pub fn sync_now(state: State<AppState>) -> Result<SyncStatus, ClientError> {
    state.ws.clinic()?.request_sync();
    state.ws.clinic()?.status()
}

#[tauri::command(async)]
pub fn delete_patient(state: State<AppState>, id: Uuid) -> Result<Patient, ClientError> {
    state.ws.clinic()?.delete_patient(id)
}

#[tauri::command(async)]
pub fn list_appointments(state: State<AppState>, date: Option<String>, patient_id: Option<Uuid>) -> Result<Vec<Appointment>, ClientError> {
    state.ws.clinic()?.list_appointments(date.as_deref(), patient_id)
}

#[tauri::command(async)]
pub fn book_appointment(state: State<AppState>, fields: AppointmentFields) -> Result<Appointment, ClientError> {
    state.ws.clinic()?.book_appointment(fields)
}

#[tauri::command(async)]
pub fn update_appointment(state: State<AppState>, id: Uuid, fields: AppointmentFields) -> Result<Appointment, ClientError> {
    state.ws.clinic()?.update_appointment(id, fields)
}

#[tauri::command(async)]
pub fn list_providers(state: State<AppState>) -> Result<Vec<Provider>, ClientError> {
    state.ws.clinic()?.list_providers()
}

#[tauri::command(async)]
pub fn list_records(state: State<AppState>, patient_id: Uuid) -> Result<Vec<RecordVersionView>, ClientError> {
    state.ws.clinic()?.list_records(patient_id)
}

#[tauri::command(async)]
pub fn add_record(state: State<AppState>, fields: RecordFields) -> Result<MedicalRecordVersion, ClientError> {
    state.ws.clinic()?.add_record(fields)
}

#[tauri::command(async)]
pub fn amend_record(state: State<AppState>, amends: Uuid, fields: RecordFields) -> Result<MedicalRecordVersion, ClientError> {
    state.ws.clinic()?.amend_record(amends, fields)
}

#[tauri::command(async)]
pub fn list_conflicts(state: State<AppState>, entity_id: Option<Uuid>) -> Result<Vec<ConflictNote>, ClientError> {
    state.ws.clinic()?.list_conflicts(entity_id)
}

#[tauri::command(async)]
pub fn device_state(state: State<AppState>) -> DeviceState {
    state.ws.state()
}

#[tauri::command]
pub async fn enrol_device(
    state: State<'_, AppState>,
    code: String,
    device_name: String,
    username: String,
    password: String,
    totp: Option<String>,
) -> Result<DeviceState, ClientError> {
    state.ws.enrol(&code, &device_name, &username, &password, totp.as_deref()).await
}

#[tauri::command]
pub async fn sign_in(
    state: State<'_, AppState>,
    username: String,
    password: String,
    totp: Option<String>,
) -> Result<DeviceState, ClientError> {
    state.ws.sign_in(&username, &password, totp.as_deref()).await
}

#[tauri::command(async)]
pub fn set_pin(state: State<AppState>, pin: String) -> Result<DeviceState, ClientError> {
    state.ws.set_pin(&pin)
}

#[tauri::command(async)]
pub fn unlock_with_pin(state: State<AppState>, pin: String) -> Result<DeviceState, ClientError> {
    state.ws.unlock_with_pin(&pin)
}

#[tauri::command(async)]
pub fn lock(state: State<AppState>) -> DeviceState {
    state.ws.lock()
}

#[tauri::command]
pub async fn sign_out(state: State<'_, AppState>) -> Result<DeviceState, ClientError> {
    Ok(state.ws.sign_out().await)
}

#[tauri::command(async)]
pub fn touch(state: State<AppState>) {
    state.ws.touch()
}

#[tauri::command(async)]
pub fn local_access_history(state: State<AppState>, patient_id: Uuid) -> Result<Vec<AuditEntry>, ClientError> {
    state.ws.clinic()?.local_access_history(patient_id)
}

#[tauri::command]
pub async fn issue_card(state: State<'_, AppState>, patient_id: Uuid) -> Result<PrintableCard, ClientError> {
    state.ws.clinic()?.issue_card(patient_id).await
}

#[tauri::command(async)]
pub fn reprint_card(state: State<AppState>, patient_id: Uuid, card_id: Option<String>) -> Result<PrintableCard, ClientError> {
    state.ws.clinic()?.card_svg(patient_id, card_id.as_deref())
}

#[tauri::command]
pub async fn verify_card(state: State<'_, AppState>, text: String) -> Result<CardCheck, ClientError> {
    state.ws.clinic()?.verify_card(&text).await
}

#[tauri::command]
pub async fn check_in(state: State<'_, AppState>, text: String) -> Result<CheckIn, ClientError> {
    state.ws.clinic()?.check_in(&text).await
}

#[tauri::command]
pub async fn refresh_cards(state: State<'_, AppState>) -> Result<(), ClientError> {
    state.ws.clinic()?.refresh_cards().await
}

#[tauri::command(async)]
pub fn enter_kiosk(state: State<AppState>) -> Result<DeviceState, ClientError> {
    state.ws.enter_kiosk()
}

#[tauri::command(async)]
pub fn leave_kiosk(state: State<AppState>, pin: String) -> Result<DeviceState, ClientError> {
    state.ws.leave_kiosk(&pin)
}

/// The card text in a picture (PNG/JPEG bytes sent as the raw request body, not JSON). Decoded
/// off the main thread: a large photo takes a second or two.
#[tauri::command]
pub async fn read_card_image(request: tauri::ipc::Request<'_>) -> Result<String, ClientError> {
    let bytes = match request.body() {
        tauri::ipc::InvokeBody::Raw(bytes) => bytes.clone(),
        tauri::ipc::InvokeBody::Json(_) => Vec::new(),
    };
    tauri::async_runtime::spawn_blocking(move || anola_client::card_image::card_text_from_image(&bytes))
        .await
        .map_err(|e| ClientError::Internal { message: e.to_string() })?
}

#[tauri::command(async)]
pub fn list_cameras(state: State<AppState>) -> Vec<anola_camera::CameraInfo> {
    state.cameras.list()
}

/// Starts scanning with a camera; previews, reads and the end arrive as `camera` events. Only for
/// an unlocked device (or a kiosk). Runs off the main thread (opening a camera can be slow).
#[tauri::command(async)]
pub fn start_camera(app: tauri::AppHandle, state: State<AppState>, id: String) -> Result<anola_camera::CameraInfo, CameraCommandError> {
    state.ws.clinic()?;
    Ok(state.cameras.start(&id, Arc::new(move |e| drop(app.emit("camera", e))))?)
}

#[tauri::command(async)]
pub fn stop_camera(state: State<AppState>) {
    state.cameras.stop()
}

/// `start_camera` fails for the device's reasons (locked…) or the camera's.
#[derive(serde::Serialize)]
#[serde(untagged)]
pub enum CameraCommandError {
    Device(ClientError),
    Camera(anola_camera::CameraError),
}

impl From<ClientError> for CameraCommandError {
    fn from(e: ClientError) -> Self {
        CameraCommandError::Device(e)
    }
}

impl From<anola_camera::CameraError> for CameraCommandError {
    fn from(e: anola_camera::CameraError) -> Self {
        CameraCommandError::Camera(e)
    }
}
