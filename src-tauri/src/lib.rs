//! The Tauri shell: opens the window, owns one `Clinic`, forwards commands to it and status
//! changes to the UI. No logic lives here; see `anola-client`.

mod commands;

use anola_client::{Clinic, ClinicConfig};
use std::path::PathBuf;
use std::sync::Arc;
use tauri::{Emitter, Manager};

pub struct AppState {
    pub clinic: Arc<Clinic>,
}

const DEFAULT_SERVER: &str = "http://127.0.0.1:8787";

fn config(app: &tauri::App) -> Result<ClinicConfig, Box<dyn std::error::Error>> {
    let data_dir = match std::env::var_os("ANOLA_DATA_DIR") {
        Some(d) => PathBuf::from(d),
        None => app.path().app_data_dir()?,
    };
    let server_url = std::env::var("ANOLA_SERVER_URL").unwrap_or_else(|_| DEFAULT_SERVER.into());
    let clinic_id = std::env::var("ANOLA_CLINIC_ID").unwrap_or_else(|_| anola_client::store::DEFAULT_CLINIC.into());
    let field_worker_id = std::env::var("ANOLA_FIELD_WORKER_ID").ok().filter(|w| !w.is_empty());
    Ok(ClinicConfig {
        data_dir,
        server_url,
        clinic_id,
        field_worker_id,
    })
}

pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("ANOLA_LOG").unwrap_or_else(|_| "info".into()))
        .init();
    tauri::Builder::default()
        .setup(|app| {
            let clinic = Clinic::open(config(app)?)?;
            tauri::async_runtime::spawn(anola_client::sync::task::run(Arc::downgrade(&clinic)));
            // Forward every status change to the window as a `sync-status` event.
            let handle = app.handle().clone();
            let watched = clinic.clone();
            let mut changes = clinic.subscribe();
            tauri::async_runtime::spawn(async move {
                while changes.changed().await.is_ok() {
                    if let Ok(status) = watched.status() {
                        let _ = handle.emit("sync-status", status);
                    }
                }
            });
            app.manage(AppState { clinic });
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::list_patients,
            commands::get_patient,
            commands::register_patient,
            commands::update_patient,
            commands::sync_status,
            commands::sync_now,
            commands::delete_patient,
            commands::list_appointments,
            commands::book_appointment,
            commands::update_appointment,
            commands::list_providers,
            commands::list_records,
            commands::add_record,
            commands::amend_record,
            commands::list_conflicts,
        ])
        .run(tauri::generate_context!())
        .expect("the clinic window failed to start");
}
