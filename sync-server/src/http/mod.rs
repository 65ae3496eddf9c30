//! The HTTP API: routing, request parsing and error bodies. No storage logic here.

mod admin;
mod error;
mod extract;
mod routes;

pub use error::ApiError;
pub use routes::{router, serve, AppState};
