//! The clinic device's engine, shared by the Tauri app, the `anola` command-line client and tests.
//!
//! - `store`: the local SQLite replica. A local write and its outbox entry commit in one
//!   transaction, so a write the user saw saved is a write that will be uploaded.
//! - `sync`: pushes the outbox, then pulls changes; runs in the background with back-off.
//! - `Clinic`: the facade the app's commands call, one method per user action.

mod clinic;
mod error;
pub mod store;
pub mod sync;

pub use clinic::{Clinic, ClinicConfig};
pub use error::ClientError;
pub use sync::status::SyncStatus;
