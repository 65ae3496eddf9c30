//! Where a push's time goes on the server: the server logs `push step: <name>` at debug level with
//! the milliseconds since the push began (sync-server/src/sync/push.rs). The bench runs the server
//! with JSON logs and that one target at debug, and reads the lines a phase wrote (by file offset).

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// The steps in the order push.rs logs them, with what happens between the previous one and it.
pub const STEPS: &[(&str, &str)] = &[
    ("gate", "gate: insert_many into `mutations`"),
    ("preload", "head reads (none for fresh creates)"),
    ("staged", "merge into staged states"),
    ("flushed", "insert_many of versions"),
    ("rules", "rules: slot claims (one insert per block), identity-key claims"),
    ("committed", "record versions, change-log append, readable views"),
];

/// The log filter the bench gives the server: the usual one plus the push steps.
pub const LOG_FILTER: &str = "info,mongodb=warn,tower_http=info,anola_sync_server::sync::push=debug";

#[derive(Debug, Clone, Default)]
pub struct StepStats {
    /// Pushes that logged every step.
    pub pushes: usize,
    /// Mean milliseconds of each step (time since the previous step), in `STEPS` order.
    pub mean_ms: Vec<f64>,
    /// Mean milliseconds from the start of `apply` to `committed`.
    pub mean_total_ms: f64,
    /// Pushes that stopped before `committed` (an error answer): the last step each reached and
    /// its milliseconds since the push began, in log order.
    pub unfinished: Vec<(String, f64)>,
}

/// The log file's current length (a phase's lines start here).
pub fn offset(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// Reads the push-step lines written between two offsets.
pub fn read(path: &Path, from: u64, to: u64) -> StepStats {
    let mut text = String::new();
    if let Ok(mut f) = std::fs::File::open(path) {
        if f.seek(SeekFrom::Start(from)).is_ok() {
            let _ = f.take(to.saturating_sub(from)).read_to_string(&mut text);
        }
    }
    // request id → step → cumulative ms; request ids in order of first appearance
    let mut pushes: HashMap<String, HashMap<String, f64>> = HashMap::new();
    let mut order: Vec<String> = Vec::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let Some(msg) = v["fields"]["message"].as_str() else { continue };
        let Some(step) = msg.strip_prefix("push step: ") else { continue };
        let Some(ms) = v["fields"]["ms"].as_f64() else { continue };
        let id = v["spans"]
            .as_array()
            .and_then(|s| s.iter().find_map(|sp| sp["id"].as_str()))
            .unwrap_or_default()
            .to_owned();
        if id.is_empty() {
            continue;
        }
        if !pushes.contains_key(&id) {
            order.push(id.clone());
        }
        pushes.entry(id).or_default().insert(step.to_owned(), ms);
    }
    let mut sums = vec![0.0; STEPS.len()];
    let mut total = 0.0;
    let mut n = 0usize;
    for steps in pushes.values() {
        if !STEPS.iter().all(|(s, _)| steps.contains_key(*s)) {
            continue;
        }
        let mut prev = 0.0;
        for (i, (s, _)) in STEPS.iter().enumerate() {
            let at = steps[*s];
            sums[i] += (at - prev).max(0.0);
            prev = at;
        }
        total += prev;
        n += 1;
    }
    let unfinished = order
        .iter()
        .filter_map(|id| {
            let steps = &pushes[id];
            if steps.contains_key("committed") {
                return None;
            }
            STEPS.iter().rev().find_map(|(s, _)| steps.get(*s).map(|ms| ((*s).to_owned(), *ms)))
        })
        .collect();
    StepStats {
        unfinished,
        pushes: n,
        mean_ms: sums.iter().map(|s| s / n.max(1) as f64).collect(),
        mean_total_ms: total / n.max(1) as f64,
    }
}
