//! The Tauri shell: opens the window, owns one `Workstation`, forwards commands to it and state
//! changes to the UI. No logic lives here; see `anola-client`.

mod commands;
mod money_commands;

use anola_client::workstation::{Workstation, WorkstationConfig};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tauri::{Emitter, Manager};

pub struct AppState {
    pub ws: Arc<Workstation>,
    /// The desktop cameras (and `ANOLA_CAMERA_FRAMES`, a recorded one) and the running scan.
    pub cameras: Arc<anola_camera::Cameras>,
}

const DEFAULT_SERVER: &str = "http://127.0.0.1:8787";

fn config(app: &tauri::App) -> Result<WorkstationConfig, Box<dyn std::error::Error>> {
    let data_dir = match std::env::var_os("ANOLA_DATA_DIR") {
        Some(d) => PathBuf::from(d),
        None => app.path().app_data_dir()?,
    };
    let server_url = std::env::var("ANOLA_SERVER_URL").unwrap_or_else(|_| DEFAULT_SERVER.into());
    let mut cfg = WorkstationConfig::new(data_dir, server_url);
    cfg.allow_insecure_http = std::env::var("ANOLA_ALLOW_INSECURE_HTTP").as_deref() == Ok("1");
    if let Some(secs) = std::env::var("ANOLA_AUTO_LOCK_SECS").ok().and_then(|s| s.parse().ok()) {
        cfg.auto_lock_after = Duration::from_secs(secs);
    }
    cfg.background_sync = true;
    Ok(cfg)
}

/// Sends `device-state` and `sync-status` to the window whenever they change. Polled (twice a
/// second) because the signed-in `Clinic` comes and goes with sign-in, lock and wipe.
/// A locked or signed-out device also turns its camera off (nobody is there to see what it reads).
async fn forward_changes(handle: tauri::AppHandle, ws: Arc<Workstation>, cameras: Arc<anola_camera::Cameras>) {
    let (mut last_state, mut last_status) = (String::new(), String::new());
    loop {
        let state = ws.state();
        if (state.locked || state.user.is_none()) && cameras.is_running() {
            // Off this task and not awaited: a stop may wait for the camera driver, and the lock
            // screen must not wait for it.
            let cameras = cameras.clone();
            drop(tauri::async_runtime::spawn_blocking(move || cameras.stop()));
        }
        let json = serde_json::to_string(&state).unwrap_or_default();
        if json != last_state {
            let _ = handle.emit("device-state", &state);
            last_state = json;
        }
        if let Ok(status) = ws.clinic().and_then(|c| c.status()) {
            let json = serde_json::to_string(&status).unwrap_or_default();
            if json != last_status {
                let _ = handle.emit("sync-status", &status);
                last_status = json;
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("ANOLA_LOG").unwrap_or_else(|_| "info".into()))
        .init();
    tauri::Builder::default()
        .setup(|app| {
            let ws = Arc::new(Workstation::open(config(app)?)?);
            let cameras = Arc::new(anola_camera::Cameras::from_env());
            tauri::async_runtime::spawn(ws.auto_lock_task());
            tauri::async_runtime::spawn(forward_changes(app.handle().clone(), ws.clone(), cameras.clone()));
            app.manage(AppState { ws, cameras });
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::list_patients,
            commands::get_patient,
            commands::register_patient,
            commands::update_patient,
            commands::sync_status,
            commands::rejected_writes,
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
            commands::device_state,
            commands::enrol_device,
            commands::sign_in,
            commands::set_pin,
            commands::unlock_with_pin,
            commands::lock,
            commands::sign_out,
            commands::touch,
            commands::local_access_history,
            commands::issue_card,
            commands::reprint_card,
            commands::verify_card,
            commands::check_in,
            commands::refresh_cards,
            commands::enter_kiosk,
            commands::leave_kiosk,
            commands::read_card_image,
            commands::list_cameras,
            commands::start_camera,
            commands::stop_camera,
            money_commands::money_prices,
            money_commands::refresh_prices,
            money_commands::patient_wallets,
            money_commands::offline_money,
            money_commands::open_wallet,
            money_commands::set_wallet_pin,
            money_commands::quote_bill,
            money_commands::patient_sponsorships,
            money_commands::patient_pre_approvals,
            money_commands::ask_pre_approval,
            money_commands::add_sponsor_story,
            money_commands::charge_bill,
            money_commands::charge_offline,
            money_commands::deposit,
            money_commands::refund_charge,
            money_commands::printable_receipt,
            money_commands::reserve_allowances,
            money_commands::settle_offline_charges,
            money_commands::cash_drawer,
            money_commands::close_day,
        ])
        .run(tauri::generate_context!())
        .expect("the clinic window failed to start");
}
