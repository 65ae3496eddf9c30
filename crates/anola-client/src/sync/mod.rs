//! Talking to the sync server: the transport, one sync round, and the background task.

pub mod admin;
pub mod round;
pub mod status;
pub mod task;
pub mod transport;
