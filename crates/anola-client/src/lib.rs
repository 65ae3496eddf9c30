//! The clinic device's engine, shared by the Tauri app, the `anola` command-line client and tests.
//!
//! - `store`: the local SQLite replica. A local write and its outbox entry commit in one
//!   transaction, so a write the user saw saved is a write that will be uploaded.
//! - `sync`: pushes the outbox, then pulls changes; runs in the background with back-off.
//! - `Clinic`: the facade the app's commands call, one method per user action, for one signed-in
//!   staff member (role checks, audit trail).
//! - `security`: the replica's key, the vault sidecar, password and PIN unlock.
//! - `Workstation`: the device as the app and the CLI see it: enrolment, sign-in (online and
//!   offline), lock and PIN unlock, remote wipe; it hands out the unlocked `Clinic`.

pub mod card_image;
pub mod card_print;
mod clinic;
mod error;
pub mod security;
pub mod store;
pub mod sync;
pub mod workstation;

pub use clinic::money as clinic_money;
pub use clinic::{
    initials, render_card_svg, Actor, CardCheck, CheckIn, Clinic, ClinicConfig, PrintableCard, RejectedWrite, SecurityEvent, SecurityHook,
};
pub use error::ClientError;
pub use security::DataKey;
pub use sync::status::SyncStatus;
pub use workstation::{DeviceState, DeviceSummary, KnownUser, Workstation, WorkstationConfig};
