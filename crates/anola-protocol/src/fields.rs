//! Field-level serde helpers shared by the per-field LWW entities (patients, appointments).

use crate::lww::LwwState;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use uuid::Uuid;

/// For partial field sets: absent → `None` (unchanged); `null` → `Some(None)` (cleared); a value →
/// `Some(Some(v))`.
pub(crate) fn present<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Reads an entity as a device shows it out of a merged state: its `id`, the fields it knows, and
/// `pending`. A stored value this build cannot read (written by a newer app) is left out rather than
/// failing the whole record. `T` must accept an object holding only `id` (all else defaulted).
pub(crate) fn read_entity<T: DeserializeOwned>(id: Uuid, state: &LwwState, pending: bool, known: &[&str]) -> T {
    let build = |keep: &dyn Fn(&str, &serde_json::Value) -> bool| {
        let mut obj = serde_json::Map::new();
        obj.insert("id".into(), serde_json::json!(id));
        for (k, v) in state.values() {
            if known.contains(&k.as_str()) && keep(&k, &v) {
                obj.insert(k, v);
            }
        }
        obj.insert("pending".into(), serde_json::json!(pending));
        serde_json::Value::Object(obj)
    };
    // The common case parses once; only a record with an unreadable value pays for field probes.
    if let Ok(t) = serde_json::from_value(build(&|_, _| true)) {
        return t;
    }
    let readable = |k: &str, v: &serde_json::Value| {
        let mut probe = serde_json::Map::new();
        probe.insert("id".into(), serde_json::json!(id));
        probe.insert(k.to_owned(), v.clone());
        serde_json::from_value::<T>(serde_json::Value::Object(probe)).is_ok()
    };
    serde_json::from_value(build(&readable)).expect("every kept field was read on its own")
}
