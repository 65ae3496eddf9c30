//! Test-only fault injection, switched on by environment variables and off by default.
//!
//! End-to-end tests need a server that dies *in the middle* of a push, at a known step, to prove a
//! retry loses and doubles nothing. A kill signal sent from outside cannot hit a step reliably.

/// Steps of a push (or a merge) after which the server can be made to crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Point {
    /// Mutations recorded in the gate, nothing applied yet.
    AfterGate,
    /// Versions written, not yet announced in the change log.
    AfterVersions,
    /// Announced in the change log, readable documents not yet refreshed.
    AfterLog,
    /// Everything written except the results; no answer sent.
    AfterViews,
    /// A merge tombstoned the duplicate; its children still point at it.
    MergeAfterTombstone,
    /// A merge moved the duplicate's children; nothing of it announced, no merge note.
    MergeAfterChildren,
}

impl Point {
    fn parse(s: &str) -> Option<Point> {
        match s {
            "after_gate" => Some(Point::AfterGate),
            "after_versions" => Some(Point::AfterVersions),
            "after_log" => Some(Point::AfterLog),
            "after_views" => Some(Point::AfterViews),
            "merge_after_tombstone" => Some(Point::MergeAfterTombstone),
            "merge_after_children" => Some(Point::MergeAfterChildren),
            _ => None,
        }
    }
}

#[derive(Debug, Default)]
pub struct Faults {
    /// Abort the process (as a crash would: no clean-up, no response) the first time this step is
    /// reached. Env: `ANOLA_FAULT_ABORT_AT` = after_gate | after_versions | after_log | after_views |
    /// merge_after_tombstone | merge_after_children.
    abort_at: Option<Point>,
}

impl Faults {
    pub fn from_env() -> Self {
        let abort_at = std::env::var("ANOLA_FAULT_ABORT_AT").ok().and_then(|v| Point::parse(&v));
        if abort_at.is_some() {
            tracing::warn!(?abort_at, "fault injection is ON: this server will crash on purpose");
        }
        Self { abort_at }
    }

    pub fn none() -> Self {
        Self::default()
    }

    pub fn reached(&self, point: Point) {
        if self.abort_at == Some(point) {
            tracing::error!(?point, "fault injection: aborting mid-push");
            std::process::abort();
        }
    }
}
