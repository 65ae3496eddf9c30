//! The sync rules, generic over `Store`. Handlers parse and validate; these functions decide.

pub mod pull;
pub mod push;
pub mod validate;
