//! Sync planning as pure functions: what a device shows, and what it does with server answers.
//!
//! The engine in `anola-client` performs the I/O; every decision it makes is one of these functions,
//! so the rules are unit- and property-tested without a database or a network.

use crate::lww::LwwState;
use crate::wire::{MutationResult, MutationStatus};
use uuid::Uuid;

/// What a device shows for a record: the server-confirmed state with the device's own unsent
/// writes laid over it, oldest first. A pulled change lands in `base`, so it can never hide a
/// write that is still waiting to upload.
pub fn visible_state<'a>(base: &LwwState, pending: impl IntoIterator<Item = &'a LwwState>) -> LwwState {
    let mut v = base.clone();
    for p in pending {
        v.overlay(p);
    }
    v
}

/// What to do with one outbox entry after the server answered a push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboxAction {
    /// The server holds the write: drop it from the outbox and merge it into the confirmed state.
    Acknowledge,
    /// The server refused it for good: park it (kept, shown to staff) and stop sending it.
    Park { code: String, message: String },
    /// No answer for this entry: keep it and send it again.
    Retry,
}

/// Pairs each sent mutation with the action its result calls for. A mutation the server did not
/// mention stays queued: only an explicit answer removes a write from the outbox.
pub fn outbox_actions(sent: &[Uuid], results: &[MutationResult]) -> Vec<(Uuid, OutboxAction)> {
    sent.iter()
        .map(|id| {
            let action = match results.iter().find(|r| r.mutation_id == *id) {
                Some(r) => match r.status {
                    MutationStatus::Applied | MutationStatus::AlreadyApplied | MutationStatus::AppliedWithConflict => {
                        OutboxAction::Acknowledge
                    }
                    MutationStatus::Rejected => OutboxAction::Park {
                        code: r.code.clone().unwrap_or_else(|| "rejected".into()),
                        message: r.message.clone().unwrap_or_default(),
                    },
                },
                None => OutboxAction::Retry,
            };
            (*id, action)
        })
        .collect()
}

/// Exponential back-off with full jitter: the wait before retry number `attempt` (0-based), given a
/// random number in `[0, 1)`. Jitter keeps a clinic's devices from all reconnecting in step.
pub fn backoff_ms(attempt: u32, base_ms: u64, max_ms: u64, random01: f64) -> u64 {
    let cap = base_ms.saturating_mul(1u64 << attempt.min(20)).min(max_ms);
    let r = random01.clamp(0.0, 1.0);
    // Never less than half the cap, so retries do not collapse to zero delay.
    cap / 2 + ((cap as f64 / 2.0) * r) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hlc::Hlc;
    use crate::lww::Stamped;
    use proptest::prelude::*;

    fn st(pairs: &[(&str, &str, u64)]) -> LwwState {
        LwwState(
            pairs
                .iter()
                .map(|(k, v, w)| {
                    (
                        k.to_string(),
                        Stamped {
                            value: serde_json::json!(v),
                            hlc: Hlc::new(*w, 0, "n"),
                        },
                    )
                })
                .collect(),
        )
    }

    #[test]
    fn pending_write_survives_a_newer_pull() {
        let mut base = st(&[("phone", "111", 1)]);
        let pending = st(&[("phone", "222", 2)]);
        // Another device wrote later; the pull lands in base.
        base.merge(&st(&[("phone", "333", 9), ("email", "x@y.z", 9)]));
        let shown = visible_state(&base, [&pending]);
        assert_eq!(shown.0["phone"].value, serde_json::json!("222"));
        assert_eq!(shown.0["email"].value, serde_json::json!("x@y.z"));
    }

    #[test]
    fn unmentioned_mutations_are_retried() {
        let a = Uuid::from_u128(1);
        let b = Uuid::from_u128(2);
        let c = Uuid::from_u128(3);
        let results = vec![
            MutationResult {
                mutation_id: a,
                status: MutationStatus::Applied,
                code: None,
                message: None,
            },
            MutationResult {
                mutation_id: c,
                status: MutationStatus::Rejected,
                code: Some("mutation_id_reused".into()),
                message: None,
            },
        ];
        let actions = outbox_actions(&[a, b, c], &results);
        assert_eq!(actions[0].1, OutboxAction::Acknowledge);
        assert_eq!(actions[1].1, OutboxAction::Retry);
        assert!(matches!(actions[2].1, OutboxAction::Park { .. }));
    }

    proptest! {
        #[test]
        fn every_pending_field_is_shown(base in proptest::collection::btree_map("[a-e]", 0u64..9, 0..5),
                                        pend in proptest::collection::vec(proptest::collection::btree_map("[a-e]", 0u64..9, 0..5), 0..4)) {
            let to_state = |m: &std::collections::BTreeMap<String, u64>, tag: &str| LwwState(m.iter().map(|(k, w)| (k.clone(), Stamped { value: serde_json::json!(format!("{tag}{w}")), hlc: Hlc::new(*w, 0, "n") })).collect());
            let base_s = to_state(&base, "b");
            let pend_s: Vec<LwwState> = pend.iter().enumerate().map(|(i, m)| to_state(m, &format!("p{i}-"))).collect();
            let shown = visible_state(&base_s, pend_s.iter());
            // The newest pending write to each field is what shows, whatever the stamps say.
            for (i, p) in pend_s.iter().enumerate() {
                for (k, v) in &p.0 {
                    let later = pend_s[i + 1..].iter().any(|q| q.0.contains_key(k));
                    if !later { prop_assert_eq!(&shown.0[k], v); }
                }
            }
            for k in base_s.0.keys() { prop_assert!(shown.0.contains_key(k)); }
        }

        #[test]
        fn backoff_is_bounded_and_grows(attempt in 0u32..40, r in 0.0f64..1.0) {
            let d = backoff_ms(attempt, 500, 60_000, r);
            prop_assert!(d <= 60_000);
            prop_assert!(d >= backoff_ms(0, 500, 60_000, 0.0).min(250));
            prop_assert!(backoff_ms(attempt + 1, 500, 60_000, 0.0) >= backoff_ms(attempt, 500, 60_000, 0.0));
        }
    }
}
