//! Per-field last-writer-wins state: the merge rule for patient demographics.
//!
//! A state maps each field name to the value last written and the HLC of that write. Merging two
//! states keeps, field by field, the value with the greater stamp. The merge is commutative,
//! associative and idempotent (a join-semilattice), which is what lets the server apply a mutation
//! twice, and devices receive changes in any order, and still converge on the same state.

use crate::hlc::Hlc;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamped {
    /// `null` means the field was cleared.
    pub value: serde_json::Value,
    pub hlc: Hlc,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LwwState(pub BTreeMap<String, Stamped>);

impl LwwState {
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds the state written by one mutation: every field it sets, stamped with its HLC.
    pub fn from_fields(fields: &serde_json::Map<String, serde_json::Value>, hlc: &Hlc) -> Self {
        Self(
            fields
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        Stamped {
                            value: v.clone(),
                            hlc: hlc.clone(),
                        },
                    )
                })
                .collect(),
        )
    }

    /// Merges `other` into `self`; returns whether anything changed.
    pub fn merge(&mut self, other: &LwwState) -> bool {
        let mut changed = false;
        for (field, incoming) in &other.0 {
            match self.0.get(field) {
                Some(current) if current.hlc >= incoming.hlc => {}
                _ => {
                    self.0.insert(field.clone(), incoming.clone());
                    changed = true;
                }
            }
        }
        changed
    }

    /// True when merging `other` would change nothing.
    pub fn dominates(&self, other: &LwwState) -> bool {
        other.0.iter().all(|(f, s)| self.0.get(f).is_some_and(|c| c.hlc >= s.hlc))
    }

    /// Lays `overlay` over `self` regardless of stamps. Used for a device's own unsent writes, which
    /// a pulled change must never hide.
    pub fn overlay(&mut self, overlay: &LwwState) {
        for (field, s) in &overlay.0 {
            self.0.insert(field.clone(), s.clone());
        }
    }

    /// The plain field values, as a JSON object.
    pub fn values(&self) -> serde_json::Map<String, serde_json::Value> {
        self.0.iter().map(|(k, s)| (k.clone(), s.value.clone())).collect()
    }

    /// The greatest stamp in the state, if any.
    pub fn max_hlc(&self) -> Option<&Hlc> {
        self.0.values().map(|s| &s.hlc).max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn state() -> impl Strategy<Value = LwwState> {
        proptest::collection::btree_map("[a-d]", (0u64..5, 0u32..3, "[xy]"), 0..4).prop_map(|m| {
            LwwState(
                m.into_iter()
                    .map(|(field, (w, c, n))| {
                        let hlc = Hlc::new(w, c, n);
                        // The value is a function of field and stamp: one write never carries two values.
                        let value = serde_json::json!(format!("{field}@{hlc}"));
                        (field, Stamped { value, hlc })
                    })
                    .collect(),
            )
        })
    }

    fn merged(a: &LwwState, b: &LwwState) -> LwwState {
        let mut x = a.clone();
        x.merge(b);
        x
    }

    proptest! {
        #[test]
        fn merge_is_commutative(a in state(), b in state()) {
            prop_assert_eq!(merged(&a, &b), merged(&b, &a));
        }

        #[test]
        fn merge_is_associative(a in state(), b in state(), c in state()) {
            prop_assert_eq!(merged(&merged(&a, &b), &c), merged(&a, &merged(&b, &c)));
        }

        #[test]
        fn merge_is_idempotent(a in state(), b in state()) {
            let once = merged(&a, &b);
            let mut twice = once.clone();
            prop_assert!(!twice.merge(&b));
            prop_assert_eq!(twice, once);
        }

        #[test]
        fn merged_dominates_both(a in state(), b in state()) {
            let m = merged(&a, &b);
            prop_assert!(m.dominates(&a));
            prop_assert!(m.dominates(&b));
        }

        #[test]
        fn any_delivery_order_converges(parts in proptest::collection::vec(state(), 1..6), seed in any::<u64>()) {
            let mut forward = LwwState::new();
            for p in &parts { forward.merge(p); }
            // A shuffled order with duplicates, as a faulty network would deliver it.
            let mut order: Vec<usize> = (0..parts.len()).chain(0..parts.len()).collect();
            let mut s = seed;
            for i in (1..order.len()).rev() {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                order.swap(i, (s >> 33) as usize % (i + 1));
            }
            let mut shuffled = LwwState::new();
            for i in order { shuffled.merge(&parts[i]); }
            prop_assert_eq!(forward, shuffled);
        }
    }
}
