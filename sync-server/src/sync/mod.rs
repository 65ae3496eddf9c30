//! The sync rules, generic over `Store`. Handlers parse and validate; these functions decide.

pub mod admin;
pub mod announce;
pub mod assignment;
pub mod authorize;
pub mod batch;
pub mod clock;
pub mod fetch;
pub mod patients;
pub mod pull;
pub mod push;
pub mod reassign;
pub mod records;
pub mod slots;
pub mod validate;
