//! The Anola sync server as a library: configuration, storage, the sync rules and the HTTP API.
//!
//! `main.rs` only wires these together; tests start the same server on a listener they bind
//! themselves (`serve`) and drive it with the real client.

pub mod auth;
pub mod cards;
pub mod config;
pub mod faults;
pub mod http;
pub mod money;
pub mod store;
pub mod sync;

pub use config::Config;
pub use http::{router, serve, serve_tls, AppState};
pub use store::{mongo::MongoStore, Store, StoreError};
