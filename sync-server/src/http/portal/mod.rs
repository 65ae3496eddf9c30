//! The web portal (`/portal/`): its page (a browser build of `ui/`, served from a directory) and
//! its API under `/portal/api/`. The portal reuses the server's other endpoints (`/admin/*`,
//! `/auth/*`) with the session cookie in place of a bearer token (`http/guard.rs`); what is here
//! is what only the browser needs: cookie sessions, the console's extra account and device
//! operations, the fleet view, and the patient's self-service.

mod console;
pub use console::uuid_param;
pub mod cookies;
pub mod csrf;
pub mod fleet;
mod patient;
pub use patient::PatientUser;
pub mod security;
mod session;

use super::error::ApiError;
use super::routes::AppState;
use crate::store::Store;
use axum::routing::{get, post, put};
use axum::Router;

pub fn routes<S: Store>() -> Router<AppState<S>> {
    Router::new()
        .route("/portal/api/session", post(session::sign_in::<S>))
        .route("/portal/api/session/refresh", post(session::refresh::<S>))
        .route("/portal/api/session/end", post(session::sign_out::<S>))
        .route("/portal/api/users/{id}/enable", post(console::enable_user::<S>))
        .route("/portal/api/users/{id}/role", put(console::set_role::<S>))
        .route("/portal/api/users/{id}/password", post(console::reset_password::<S>))
        .route("/portal/api/users/{id}/totp-reset", post(console::reset_totp::<S>))
        .route("/portal/api/clinics/{clinic}/enrolment-codes", post(console::enrolment_code::<S>))
        .route("/portal/api/clinics/{clinic}/devices/{id}/name", put(console::rename_device::<S>))
        .route("/portal/api/clinics/{clinic}/providers", get(console::providers::<S>))
        .route("/portal/api/clinics/{clinic}/fleet", get(fleet::fleet::<S>))
        .route("/portal/api/prices", get(console::prices::<S>))
        .route("/portal/api/patients/find", get(console::find_patient::<S>))
        .route("/portal/api/patients/{id}/account", post(console::patient_account::<S>))
        .route("/portal/api/me/patient", get(patient::me::<S>))
        .route("/portal/api/me/card", get(patient::card::<S>))
        .route("/portal/api/me/appointments", get(patient::appointments::<S>))
        .route("/portal/api/me/appointments/{id}/cancel", post(patient::cancel::<S>))
        .route("/portal/api/me/money", get(patient::money::<S>))
        .route("/portal/api/me/records", get(patient::records::<S>))
        .route(
            "/portal/api/me/consents",
            get(patient::consents::<S>).put(patient::set_consents::<S>),
        )
        // Anything else under the API is a JSON 404, never the page.
        .route(
            "/portal/api/{*rest}",
            axum::routing::any(|| async { ApiError::new(anola_protocol::ErrorCode::NotFound, "no such endpoint") }),
        )
}

/// The portal's page: files of `dir` under `/portal/`, `index.html` for any other path below it
/// (the page routes on the client).
pub fn pages(dir: &std::path::Path) -> Router {
    use tower_http::services::{ServeDir, ServeFile};
    let index = dir.join("index.html");
    Router::new()
        .nest_service("/portal", ServeDir::new(dir).fallback(ServeFile::new(index)))
        .route("/", get(|| async { axum::response::Redirect::to("/portal/") }))
}
