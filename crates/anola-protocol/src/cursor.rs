//! The pull cursor: opaque to clients (base64url of a small JSON object), meaningful to the server.
//!
//! It names the last change-log sequence number the device has applied. Being opaque lets the
//! server change what it tracks (per-scope positions, a resync generation) without a client update.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// Cursor format version.
    pub v: u32,
    /// Highest change-log sequence number already delivered; 0 before the first pull.
    pub seq: u64,
    /// The clinic's resync generation when the cursor was issued: a newer generation on the
    /// server means "start over".
    #[serde(default)]
    pub gen: u64,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the cursor is not one this server issued")]
pub struct CursorError;

const CURSOR_FORMAT: u32 = 1;

impl Cursor {
    pub fn at(seq: u64) -> Self {
        Self {
            v: CURSOR_FORMAT,
            seq,
            gen: 0,
        }
    }

    pub fn at_gen(seq: u64, gen: u64) -> Self {
        Self {
            v: CURSOR_FORMAT,
            seq,
            gen,
        }
    }

    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).expect("cursor serializes"))
    }

    pub fn decode(s: &str) -> Result<Self, CursorError> {
        if s.len() > 512 {
            return Err(CursorError);
        }
        let bytes = URL_SAFE_NO_PAD.decode(s).map_err(|_| CursorError)?;
        let c: Cursor = serde_json::from_slice(&bytes).map_err(|_| CursorError)?;
        if c.v != CURSOR_FORMAT {
            return Err(CursorError);
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trips(seq in any::<u64>()) {
            prop_assert_eq!(Cursor::decode(&Cursor::at(seq).encode()), Ok(Cursor::at(seq)));
        }

        #[test]
        fn garbage_is_rejected_not_panicking(s in ".{0,80}") {
            let _ = Cursor::decode(&s);
        }
    }
}
