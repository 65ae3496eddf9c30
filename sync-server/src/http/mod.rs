//! The HTTP API: routing, request parsing and error bodies. No storage logic here.

mod admin;
mod auth;
mod cards;
mod error;
mod extract;
mod guard;
mod routes;

pub use error::ApiError;
pub use routes::{router, serve, serve_tls, AppState};
