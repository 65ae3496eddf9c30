//! Text and JSON output.

use anola_client::store::RecordVersionView;
use anola_client::sync::round::RoundReport;
use anola_client::{ClientError, SyncStatus};
use anola_protocol::{Appointment, ConflictNote, Mutation, Patient, Provider};
use serde::Serialize;

pub struct Out {
    pub json: bool,
}

fn print_json<T: Serialize>(v: &T) {
    println!("{}", serde_json::to_string_pretty(v).expect("output serializes"));
}

impl Out {
    pub fn patient(&self, p: &Patient) {
        if self.json {
            return print_json(p);
        }
        println!("{}  {}", p.id, p.display_name());
        let v = serde_json::to_value(p).expect("patients serialize");
        if let serde_json::Value::Object(m) = v {
            for (k, v) in m {
                if k == "id" || v.is_null() {
                    continue;
                }
                let shown = match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                println!("  {k:<20} {shown}");
            }
        }
    }

    pub fn patients(&self, ps: &[Patient]) {
        if self.json {
            return print_json(&ps);
        }
        if ps.is_empty() {
            println!("no patients");
            return;
        }
        for p in ps {
            println!(
                "{}  {:<32} {:<10} {:<16}{}",
                p.id,
                p.display_name(),
                p.date_of_birth.as_deref().unwrap_or(""),
                p.phone.as_deref().unwrap_or(""),
                if p.pending { "  (not synced)" } else { "" }
            );
        }
    }

    /// Any serialisable value: JSON with --json, indented JSON otherwise.
    pub fn value<T: Serialize>(&self, v: &T) {
        print_json(v);
    }

    pub fn appointment(&self, a: &Appointment) {
        if self.json {
            return print_json(a);
        }
        self.appointments(std::slice::from_ref(a));
        if let Some(c) = &a.conflict {
            println!("  needs rescheduling: {}", c.reason);
        }
    }

    pub fn appointments(&self, list: &[Appointment]) {
        if self.json {
            return print_json(&list);
        }
        if list.is_empty() {
            println!("no appointments");
        }
        for a in list {
            let status = a.status.map(|s| {
                serde_json::to_value(s)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            });
            println!(
                "{}  {} {} {:>3}min  patient {}  provider {}  {}{}",
                a.id,
                a.date.as_deref().unwrap_or("?"),
                a.start_time.as_deref().unwrap_or("?"),
                a.duration_minutes.unwrap_or(0),
                a.patient_id.map(|p| p.to_string()).unwrap_or_default(),
                a.provider_id.map(|p| p.to_string()).unwrap_or_default(),
                status.unwrap_or_default(),
                if a.pending { "  (not synced)" } else { "" }
            );
        }
    }

    pub fn records(&self, list: &[RecordVersionView]) {
        if self.json {
            return print_json(&list);
        }
        if list.is_empty() {
            println!("no records");
        }
        for r in list {
            let mut flags = vec![r.sync];
            if r.superseded {
                flags.push("amended");
            }
            if r.concurrent_amendment {
                flags.push("CONCURRENT AMENDMENT: reconcile");
            }
            println!(
                "{}  record {}  by {}  {}{}  [{}]",
                r.version.id,
                r.version.fields.record_id,
                r.version.fields.author,
                r.version.fields.consultation_notes.as_deref().unwrap_or(""),
                r.version.fields.amends.map(|a| format!("  (amends {a})")).unwrap_or_default(),
                flags.join(", ")
            );
        }
    }

    pub fn providers(&self, list: &[Provider]) {
        if self.json {
            return print_json(&list);
        }
        if list.is_empty() {
            println!("no providers (they are maintained on the server: anola admin put-provider)");
        }
        for p in list {
            println!("{}  {}  {}", p.id, p.display_name(), p.specializations.join(", "));
        }
    }

    pub fn conflicts(&self, list: &[ConflictNote]) {
        if self.json {
            return print_json(&list);
        }
        if list.is_empty() {
            println!("no conflicts");
        }
        for c in list {
            let kind = serde_json::to_value(&c.kind).unwrap_or_default();
            println!(
                "{}  {}  {} {}  {}",
                c.detected_at,
                kind["kind"].as_str().unwrap_or("?"),
                c.entity.as_str(),
                c.entity_id,
                kind
            );
        }
    }

    pub fn status(&self, s: &SyncStatus) {
        if self.json {
            return print_json(s);
        }
        println!("server        {} ({})", s.server_url, if s.online { "online" } else { "offline" });
        println!("device        {} (clinic {})", s.device_id, s.clinic_id);
        println!("patients      {}", s.patients);
        println!("pending       {}", s.pending);
        println!("rejected      {}", s.rejected);
        println!("conflicts     {}", s.conflicts);
        if let Some(p) = &s.progress {
            println!("last pull     {} of {} change-log entries (resumes from here)", p.done, p.total);
        }
        println!("last synced   {}", s.last_synced_at.as_deref().unwrap_or("never"));
        if let Some(e) = &s.last_error {
            println!("last error    {e}");
        }
    }

    /// Reports of one or more rounds; the last is `report`.
    pub fn sync(&self, rounds: Vec<RoundReport>, s: &SyncStatus) {
        let Some(r) = rounds.last().cloned() else { return };
        if self.json {
            let mut v = serde_json::json!({"report": r, "status": s, "peak_rss_kb": peak_rss_kb()});
            if rounds.len() > 1 {
                v["rounds"] = serde_json::json!(rounds);
            }
            return print_json(&v);
        }
        println!(
            "synced: pushed {}, refused {}, pulled {} in {} page(s); {} pending",
            r.pushed, r.rejected, r.pulled, r.pull_pages, s.pending
        );
    }

    pub fn rejected(&self, rows: &[(Mutation, String, String)]) {
        if self.json {
            let v: Vec<_> = rows
                .iter()
                .map(|(m, c, msg)| serde_json::json!({"mutation": m, "code": c, "message": msg}))
                .collect();
            return print_json(&v);
        }
        if rows.is_empty() {
            println!("no refused changes");
        }
        for (m, c, msg) in rows {
            println!("{} patient {} {:?}: {c}: {msg}", m.id, m.entity_id, m.op);
        }
    }

    pub fn error(&self, e: &ClientError) {
        if self.json {
            print_json(e);
        } else {
            eprintln!("anola: {e}");
            if let ClientError::ValidationFailed { errors, .. } = e {
                for fe in errors {
                    eprintln!("  {}: {}", fe.field, fe.message);
                }
            }
        }
    }
}

/// This process's peak resident memory (Linux `VmHWM`), for benchmarks.
fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}
