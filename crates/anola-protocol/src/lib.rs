//! The Anola sync protocol and clinic domain types, shared by the clinic app and the sync server.
//!
//! This crate is deliberately I/O free: serde types, validation and the pure functions that plan a
//! sync (how states merge, what a device shows while changes wait to upload). Both the client
//! library and the server depend on it, so the rules cannot drift apart.

pub mod access;
pub mod appointment;
pub mod auth;
pub mod cards;
pub mod conflict;
pub mod cursor;
pub mod error;
mod fields;
pub mod hlc;
pub mod lww;
pub mod money;
pub mod patient;
pub mod plan;
pub mod portal;
pub mod provider;
pub mod record;
pub mod signing;
pub mod sponsor;
pub mod totp;
pub mod ts;
pub mod validate;
pub mod wire;

pub use access::{Role, UserType};
pub use appointment::{Appointment, AppointmentFields, AppointmentStatus};
pub use conflict::{ConflictKind, ConflictNote};
pub use cursor::Cursor;
pub use error::{ErrorBody, ErrorCode, FieldError};
pub use hlc::{Hlc, HlcClock};
pub use lww::{LwwState, Stamped};
pub use patient::{Patient, PatientFields};
pub use provider::Provider;
pub use record::{MedicalRecordVersion, RecordFields};
pub use wire::*;
