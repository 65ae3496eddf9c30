//! The revocation list: card ids that must no longer be accepted (lost, stolen, replaced). The
//! server publishes it and devices cache it next to the key set, so revocation works offline as of
//! the device's last sync.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// A set of revoked card ids. JSON: `{"card_ids": ["AH-...", ...]}` (sorted, no duplicates).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationList {
    #[serde(default)]
    card_ids: BTreeSet<String>,
}

impl RevocationList {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a card id; returns whether it was new.
    pub fn revoke(&mut self, card_id: impl Into<String>) -> bool {
        self.card_ids.insert(card_id.into())
    }

    /// Removes a card id (a revocation made in error); returns whether it was listed.
    pub fn reinstate(&mut self, card_id: &str) -> bool {
        self.card_ids.remove(card_id)
    }

    pub fn is_revoked(&self, card_id: &str) -> bool {
        self.card_ids.contains(card_id)
    }

    /// Adds every id of `other` (merging a synced list into the cached one).
    pub fn merge(&mut self, other: &RevocationList) {
        self.card_ids.extend(other.card_ids.iter().cloned());
    }

    pub fn len(&self) -> usize {
        self.card_ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.card_ids.is_empty()
    }

    /// The revoked ids in sorted order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.card_ids.iter().map(String::as_str)
    }
}

impl<S: Into<String>> FromIterator<S> for RevocationList {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        RevocationList {
            card_ids: iter.into_iter().map(Into::into).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_and_ops() {
        let mut list: RevocationList = ["AH-B", "AH-A"].into_iter().collect();
        assert!(list.revoke("AH-C"));
        assert!(!list.revoke("AH-A"));
        let json = serde_json::to_string(&list).unwrap();
        assert_eq!(json, r#"{"card_ids":["AH-A","AH-B","AH-C"]}"#);
        let back: RevocationList = serde_json::from_str(&json).unwrap();
        assert_eq!(back, list);
        assert!(back.is_revoked("AH-B"));
        assert!(list.reinstate("AH-B"));
        assert!(!list.is_revoked("AH-B"));
        let mut empty: RevocationList = serde_json::from_str("{}").unwrap();
        assert!(empty.is_empty());
        empty.merge(&back);
        assert_eq!(empty.len(), 3);
        assert_eq!(empty.iter().collect::<Vec<_>>(), ["AH-A", "AH-B", "AH-C"]);
    }
}
