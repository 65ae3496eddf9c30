//! Quick unlock with a short PIN, in memory only.
//!
//! Why the PIN never touches disk: a 4–8 digit PIN has at most 10^8 values. Anything written to
//! disk that a PIN can open — a PIN-wrapped data key, a PIN hash — can be attacked offline by
//! whoever copies the disk (a stolen laptop), trying every PIN at leisure; Argon2id slows each guess
//! but 10^4–10^8 guesses stay feasible. That would make the PIN, not the password, the real
//! strength of the replica's encryption. So the PIN-wrapped key lives only in this process's memory:
//! it exists only after the same staff member signed in with their password in this process, the
//! try counter cannot be reset by copying a file, and after `MAX_PIN_FAILURES` wrong PINs the
//! wrapped key is dropped and the password is required again. A restart also requires the password.

use super::kdf::KdfParams;
use super::wrap::{unwrap, unwrap_staff_key, wrap, wrap_staff_key, UnwrapError, Wrapped};
use super::DataKey;
use anola_protocol::signing::StaffKey;

/// Wrong PINs before the in-memory key is dropped.
pub const MAX_PIN_FAILURES: u32 = 5;
const PIN_AAD: &[u8] = b"anola/replica-key/pin/v1";
const PIN_SIGNING_AAD: &[u8] = b"anola/signing-key/pin/v1";

/// Whether `pin` is 4 to 8 ASCII digits.
pub fn valid_pin(pin: &str) -> bool {
    (4..=8).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit())
}

/// The data key (and the staff member's signing key) wrapped under a PIN-derived key, held in memory.
pub struct PinSlot {
    kdf: KdfParams,
    wrapped: Wrapped,
    signing: Option<Wrapped>,
    failures: u32,
}

#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // one per unlock attempt: boxing the key would buy nothing
pub enum PinOutcome {
    Unlocked(DataKey, Option<StaffKey>),
    /// Wrong PIN; this many tries remain.
    Wrong {
        remaining: u32,
    },
    /// Too many wrong PINs: the slot must be dropped.
    Exhausted,
}

impl PinSlot {
    /// `None` when the PIN is not 4–8 digits.
    pub fn new(pin: &str, key: &DataKey, signer: Option<&StaffKey>) -> Option<PinSlot> {
        if !valid_pin(pin) {
            return None;
        }
        let kdf = KdfParams::new_random();
        let kek = kdf.derive(pin.as_bytes()).ok()?;
        Some(PinSlot {
            wrapped: wrap(&kek, key, PIN_AAD),
            signing: signer.map(|s| wrap_staff_key(&kek, s, PIN_SIGNING_AAD)),
            kdf,
            failures: 0,
        })
    }

    pub fn try_unlock(&mut self, pin: &str) -> PinOutcome {
        if self.failures >= MAX_PIN_FAILURES {
            return PinOutcome::Exhausted;
        }
        let result = self.kdf.derive(pin.as_bytes()).map_err(|_| UnwrapError::Malformed).and_then(|kek| {
            let key = unwrap(&kek, &self.wrapped, PIN_AAD)?;
            let signer = match &self.signing {
                Some(w) => Some(unwrap_staff_key(&kek, w, PIN_SIGNING_AAD)?),
                None => None,
            };
            Ok((key, signer))
        });
        match result {
            Ok((k, signer)) => {
                self.failures = 0;
                PinOutcome::Unlocked(k, signer)
            }
            Err(_) => {
                self.failures += 1;
                if self.failures >= MAX_PIN_FAILURES {
                    PinOutcome::Exhausted
                } else {
                    PinOutcome::Wrong {
                        remaining: MAX_PIN_FAILURES - self.failures,
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_rules_and_exhaustion() {
        assert!(valid_pin("1234") && valid_pin("12345678"));
        assert!(!valid_pin("123") && !valid_pin("123456789") && !valid_pin("12a4"));
        let key = DataKey::random();
        let signer = StaffKey::from_seed(&[3; 32]);
        let mut slot = PinSlot::new("2468", &key, Some(&signer)).unwrap();
        assert!(matches!(slot.try_unlock("2468"), PinOutcome::Unlocked(k, Some(s)) if k == key && s == signer));
        for i in 1..MAX_PIN_FAILURES {
            assert!(matches!(slot.try_unlock("0000"), PinOutcome::Wrong { remaining } if remaining == MAX_PIN_FAILURES - i));
        }
        assert!(matches!(slot.try_unlock("0000"), PinOutcome::Exhausted));
        // Even the right PIN no longer opens it.
        assert!(matches!(slot.try_unlock("2468"), PinOutcome::Exhausted));
    }
}
