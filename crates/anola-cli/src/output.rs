//! Text and JSON output.

use anola_client::sync::round::RoundReport;
use anola_client::{ClientError, SyncStatus};
use anola_protocol::{Mutation, Patient};
use serde::Serialize;

pub struct Out {
    pub json: bool,
}

fn print_json<T: Serialize>(v: &T) {
    println!(
        "{}",
        serde_json::to_string_pretty(v).expect("output serializes")
    );
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

    pub fn status(&self, s: &SyncStatus) {
        if self.json {
            return print_json(s);
        }
        println!(
            "server        {} ({})",
            s.server_url,
            if s.online { "online" } else { "offline" }
        );
        println!("device        {}", s.device_id);
        println!("patients      {}", s.patients);
        println!("pending       {}", s.pending);
        println!("rejected      {}", s.rejected);
        println!(
            "last synced   {}",
            s.last_synced_at.as_deref().unwrap_or("never")
        );
        if let Some(e) = &s.last_error {
            println!("last error    {e}");
        }
    }

    pub fn sync(&self, r: RoundReport, s: &SyncStatus) {
        if self.json {
            return print_json(&serde_json::json!({"report": r, "status": s}));
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
