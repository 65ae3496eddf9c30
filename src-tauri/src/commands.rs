//! One-line commands over `Clinic`. Errors reach the UI as `{ code, message, ... }`.

use crate::AppState;
use anola_client::store::RecordVersionView;
use anola_client::{ClientError, SyncStatus};
use anola_protocol::{Appointment, AppointmentFields, ConflictNote, MedicalRecordVersion, Patient, PatientFields, Provider, RecordFields};
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

#[tauri::command]
pub fn delete_patient(state: State<AppState>, id: Uuid) -> Result<Patient, ClientError> {
    state.clinic.delete_patient(id)
}

#[tauri::command]
pub fn list_appointments(state: State<AppState>, date: Option<String>, patient_id: Option<Uuid>) -> Result<Vec<Appointment>, ClientError> {
    state.clinic.list_appointments(date.as_deref(), patient_id)
}

#[tauri::command]
pub fn book_appointment(state: State<AppState>, fields: AppointmentFields) -> Result<Appointment, ClientError> {
    state.clinic.book_appointment(fields)
}

#[tauri::command]
pub fn update_appointment(state: State<AppState>, id: Uuid, fields: AppointmentFields) -> Result<Appointment, ClientError> {
    state.clinic.update_appointment(id, fields)
}

#[tauri::command]
pub fn list_providers(state: State<AppState>) -> Result<Vec<Provider>, ClientError> {
    state.clinic.list_providers()
}

#[tauri::command]
pub fn list_records(state: State<AppState>, patient_id: Uuid) -> Result<Vec<RecordVersionView>, ClientError> {
    state.clinic.list_records(patient_id)
}

#[tauri::command]
pub fn add_record(state: State<AppState>, fields: RecordFields) -> Result<MedicalRecordVersion, ClientError> {
    state.clinic.add_record(fields)
}

#[tauri::command]
pub fn amend_record(state: State<AppState>, amends: Uuid, fields: RecordFields) -> Result<MedicalRecordVersion, ClientError> {
    state.clinic.amend_record(amends, fields)
}

#[tauri::command]
pub fn list_conflicts(state: State<AppState>, entity_id: Option<Uuid>) -> Result<Vec<ConflictNote>, ClientError> {
    state.clinic.list_conflicts(entity_id)
}
