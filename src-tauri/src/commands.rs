//! One-line commands over `Clinic`. Errors reach the UI as `{ code, message, ... }`.

use crate::AppState;
use anola_client::{ClientError, SyncStatus};
use anola_protocol::{Patient, PatientFields};
use tauri::State;
use uuid::Uuid;

#[tauri::command]
pub fn list_patients(state: State<AppState>, query: String, limit: u32) -> Result<Vec<Patient>, ClientError> {
    state.clinic.list_patients(&query, limit)
}

#[tauri::command]
pub fn get_patient(state: State<AppState>, id: Uuid) -> Result<Patient, ClientError> {
    state.clinic.get_patient(id)
}

#[tauri::command]
pub fn register_patient(state: State<AppState>, fields: PatientFields) -> Result<Patient, ClientError> {
    state.clinic.register_patient(fields)
}

#[tauri::command]
pub fn update_patient(state: State<AppState>, id: Uuid, fields: PatientFields) -> Result<Patient, ClientError> {
    state.clinic.update_patient(id, fields)
}

#[tauri::command]
pub fn sync_status(state: State<AppState>) -> Result<SyncStatus, ClientError> {
    state.clinic.status()
}

/// Wakes the background task for a round now and answers at once; progress arrives as events.
#[tauri::command]
pub fn sync_now(state: State<AppState>) -> Result<SyncStatus, ClientError> {
    state.clinic.request_sync();
    state.clinic.status()
}
