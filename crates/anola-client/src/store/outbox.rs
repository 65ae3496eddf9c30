//! The outbox: local writes waiting for the server, and what happens to them after a push.

use super::lww::merge_base;
use super::records::{set_sync, REFUSED, SYNCED};
use super::{refresh, LocalStore};
use crate::error::ClientError;
use anola_protocol::plan::OutboxAction;
use anola_protocol::wire::EntityKind;
use anola_protocol::Mutation;
use rusqlite::params;
use std::collections::BTreeSet;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct OutboxEntry {
    pub seq: i64,
    pub mutation: Mutation,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    pub pending: u64,
    pub rejected: u64,
}

impl LocalStore {
    /// The oldest `limit` pending writes, in the order they were made, except those signed with a
    /// key the server has not registered yet (they wait for their author's online sign-in).
    pub fn pending_batch(&self, limit: usize) -> Result<Vec<OutboxEntry>, ClientError> {
        let mut sql = String::from("SELECT seq, body FROM outbox WHERE status = 'pending'");
        let held: Vec<String> = self.unregistered_keys.iter().map(|k| format!("\"key\":\"{k}\"")).collect();
        for i in 0..held.len() {
            sql.push_str(&format!(" AND instr(body, ?{}) = 0", i + 2));
        }
        sql.push_str(" ORDER BY seq LIMIT ?1");
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let limit = limit as i64;
        let mut args: Vec<&dyn rusqlite::ToSql> = vec![&limit];
        args.extend(held.iter().map(|h| h as &dyn rusqlite::ToSql));
        let rows = stmt.query_map(args.as_slice(), |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
        rows.map(|row| {
            let (seq, body) = row?;
            Ok(OutboxEntry {
                seq,
                mutation: serde_json::from_str(&body)?,
            })
        })
        .collect()
    }

    pub fn outbox_counts(&self) -> Result<OutboxCounts, ClientError> {
        let (pending, rejected): (i64, i64) = self.conn().query_row(
            "SELECT COALESCE(SUM(status = 'pending'), 0), COALESCE(SUM(status = 'rejected'), 0) FROM outbox",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(OutboxCounts {
            pending: pending as u64,
            rejected: rejected as u64,
        })
    }

    /// Carries out the server's answers in one transaction: acknowledged writes leave the outbox
    /// and join the confirmed state; refused ones are parked with their reason; the rest stay.
    pub fn apply_outbox_actions(&mut self, actions: &[(Uuid, OutboxAction)]) -> Result<(), ClientError> {
        let tx = self.conn_mut().transaction()?;
        let mut touched: BTreeSet<(EntityKind, Uuid)> = BTreeSet::new();
        for (id, action) in actions {
            let body: Option<String> = {
                let mut stmt = tx.prepare_cached("SELECT body FROM outbox WHERE mutation_id = ?1")?;
                let mut rows = stmt.query([id.to_string()])?;
                match rows.next()? {
                    Some(r) => Some(r.get(0)?),
                    None => None,
                }
            };
            // Already handled (a duplicated answer): nothing to do.
            let Some(body) = body else { continue };
            let m: Mutation = serde_json::from_str(&body)?;
            match action {
                OutboxAction::Acknowledge => {
                    if m.entity.is_lww() {
                        merge_base(&tx, m.entity, m.entity_id, &m.state())?;
                    } else {
                        set_sync(&tx, m.entity_id, SYNCED)?;
                    }
                    tx.execute("DELETE FROM outbox WHERE mutation_id = ?1", [id.to_string()])?;
                }
                OutboxAction::Park { code, message } => {
                    tx.execute(
                        "UPDATE outbox SET status = 'rejected', error_code = ?2, last_error = ?3, attempts = attempts + 1 WHERE mutation_id = ?1",
                        params![id.to_string(), code, message],
                    )?;
                    if !m.entity.is_lww() {
                        set_sync(&tx, m.entity_id, REFUSED)?;
                    }
                }
                OutboxAction::Retry => {
                    tx.execute("UPDATE outbox SET attempts = attempts + 1 WHERE mutation_id = ?1", [id.to_string()])?;
                }
            }
            touched.insert((m.entity, m.entity_id));
        }
        for (entity, id) in touched {
            refresh(&tx, entity, id)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Writes the server refused for good, newest first, with the reason; kept for staff to see.
    pub fn rejected_writes(&self) -> Result<Vec<(Mutation, String, String)>, ClientError> {
        let mut stmt = self.conn().prepare(
            "SELECT body, COALESCE(error_code, ''), COALESCE(last_error, '') FROM outbox WHERE status = 'rejected' ORDER BY seq DESC",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))?;
        rows.map(|r| {
            let (b, c, m) = r?;
            Ok((serde_json::from_str(&b)?, c, m))
        })
        .collect()
    }
}
