//! The HTTP API: routing, request parsing and error bodies. No storage logic here.

mod admin;
mod auth;
mod cards;
mod clinic_money;
mod deadline;
mod encoding;
mod error;
mod extract;
mod guard;
mod mobile_money;
mod money;
mod portal;
mod routes;
mod sponsors;

/// Request body encodings the server takes, advertised on every response (`Accept-Encoding`,
/// RFC 7694) so a client compresses only what this server can read.
pub const REQUEST_ENCODINGS: &str = "zstd, gzip";

pub use error::ApiError;
pub use routes::{router, serve, serve_tls, AppState, Payments};
