//! Live propagation, measured as a user sees it: a patient registered on one device, and the
//! moment each other device's own replica lists it, with every device running the real
//! background sync task (rounds, then live pulls held by the server).

use anola_client::Clinic;
use anola_protocol::PatientFields;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Registers a patient named `family` on `writer` (its background task pushes it at once).
pub fn register(writer: &Clinic, family: &str) {
    let fields: PatientFields = serde_json::from_value(serde_json::json!({
        "given_name": "Live",
        "family_name": family,
        "date_of_birth": "1990-01-01",
    }))
    .expect("patient fields");
    writer.register_patient(fields).expect("register on the writer");
}

/// Waits until every observer lists a patient named `family`; returns each one's delay from
/// `since` (`None` for an observer that did not within `within`). Polls each replica every 10 ms.
pub async fn seen_by(observers: &[Arc<Clinic>], family: &str, since: Instant, within: Duration) -> Vec<Option<Duration>> {
    let mut seen: Vec<Option<Duration>> = vec![None; observers.len()];
    while since.elapsed() < within && seen.iter().any(Option::is_none) {
        for (i, o) in observers.iter().enumerate() {
            if seen[i].is_none() && o.list_patients(family, 1).map(|l| !l.is_empty()).unwrap_or(false) {
                seen[i] = Some(since.elapsed());
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    seen
}

/// The `q`-quantile (0..=1) of `samples` (sorted in place).
pub fn quantile(samples: &mut [Duration], q: f64) -> Duration {
    samples.sort();
    if samples.is_empty() {
        return Duration::ZERO;
    }
    let i = ((samples.len() - 1) as f64 * q).round() as usize;
    samples[i]
}
