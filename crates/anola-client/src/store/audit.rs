//! The audit trail on the device: who viewed and changed which patient's data, and sign-ins.
//!
//! Entries are written offline too, in the same transaction as the write they describe (a change
//! can never be saved without its entry), and ride on the next push (`PushRequest::audit`); they are
//! marked sent when the server acknowledged that push. Entries hold ids only, never patient data.

use super::LocalStore;
use crate::error::ClientError;
use anola_protocol::auth::{AuditAction, AuditEntry};
use anola_protocol::wire::EntityKind;
use rusqlite::{params, Connection};
use uuid::Uuid;

pub(crate) fn rfc3339_now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn action_str(a: AuditAction) -> String {
    serde_json::to_value(a)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// A new entry stamped now.
pub fn entry(
    device_id: &str,
    user_id: Option<Uuid>,
    action: AuditAction,
    entity: Option<EntityKind>,
    entity_id: Option<Uuid>,
    patient_id: Option<Uuid>,
) -> AuditEntry {
    AuditEntry {
        id: Uuid::now_v7(),
        at: rfc3339_now(),
        user_id,
        device_id: device_id.to_owned(),
        action,
        entity,
        entity_id,
        patient_id,
        signature: None,
        verified: None,
    }
}

/// Inserts an entry (idempotent by id) inside the caller's transaction.
pub(crate) fn insert(tx: &Connection, e: &AuditEntry) -> Result<(), ClientError> {
    tx.execute(
        "INSERT OR IGNORE INTO audit_log(id, at, user_id, device_id, action, entity, entity_id, patient_id, signature)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            e.id.to_string(),
            e.at,
            e.user_id.map(|u| u.to_string()),
            e.device_id,
            action_str(e.action),
            e.entity.map(|k| k.as_str()),
            e.entity_id.map(|u| u.to_string()),
            e.patient_id.map(|u| u.to_string()),
            e.signature.as_ref().map(serde_json::to_string).transpose()?,
        ],
    )?;
    Ok(())
}

fn read_rows(conn: &Connection, sql: &str, arg: &dyn rusqlite::ToSql) -> Result<Vec<AuditEntry>, ClientError> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map([arg], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<String>>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, Option<String>>(5)?,
            r.get::<_, Option<String>>(6)?,
            r.get::<_, Option<String>>(7)?,
            r.get::<_, Option<String>>(8)?,
        ))
    })?;
    let uuid = |s: Option<String>| s.and_then(|s| s.parse::<Uuid>().ok());
    rows.map(|row| {
        let (id, at, user, device, action, entity, entity_id, patient, signature) = row?;
        Ok(AuditEntry {
            id: id.parse().map_err(|_| ClientError::Storage {
                message: "malformed audit entry id".into(),
            })?,
            at,
            user_id: uuid(user),
            device_id: device,
            action: serde_json::from_value(serde_json::Value::String(action))?,
            entity: entity.and_then(|e| serde_json::from_value(serde_json::Value::String(e)).ok()),
            entity_id: uuid(entity_id),
            patient_id: uuid(patient),
            signature: signature.and_then(|s| serde_json::from_str(&s).ok()),
            verified: None,
        })
    })
    .collect()
}

/// Repeated views of one chart by one person within this window are one entry.
const VIEW_WINDOW: time::Duration = time::Duration::minutes(5);

const COLUMNS: &str = "id, at, user_id, device_id, action, entity, entity_id, patient_id, signature";

impl LocalStore {
    /// Records an entry for the current author on this device.
    pub fn audit(
        &self,
        action: AuditAction,
        entity: Option<EntityKind>,
        entity_id: Option<Uuid>,
        patient_id: Option<Uuid>,
    ) -> Result<(), ClientError> {
        if matches!(action, AuditAction::ViewPatient | AuditAction::ViewRecord) && self.viewed_recently(action, patient_id)? {
            return Ok(());
        }
        let mut e = entry(self.device_id(), self.author(), action, entity, entity_id, patient_id);
        self.sign_entry(&mut e);
        insert(self.conn(), &e)
    }

    /// Signs an entry this session makes for the signed-in staff member, when they have a key
    /// here. Failures name someone who did not prove who they are, so they stay unsigned.
    fn sign_entry(&self, e: &mut AuditEntry) {
        if let (Some(author), Some(key)) = (self.author(), self.signing_key()) {
            let failure = matches!(e.action, AuditAction::SignInFailed | AuditAction::UnlockFailed);
            if e.user_id == Some(author) && e.signature.is_none() && !failure {
                key.sign_audit(e);
            }
        }
    }

    /// A screen re-reads a chart on every sync tick; one view entry per person, chart and
    /// `VIEW_WINDOW` keeps the history readable without hiding who looked.
    fn viewed_recently(&self, action: AuditAction, patient_id: Option<Uuid>) -> Result<bool, ClientError> {
        let since = (time::OffsetDateTime::now_utc() - VIEW_WINDOW)
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let n: i64 = self.conn().query_row(
            "SELECT count(*) FROM audit_log WHERE action = ?1 AND user_id IS ?2 AND patient_id IS ?3 AND at >= ?4",
            params![
                action_str(action),
                self.author().map(|u| u.to_string()),
                patient_id.map(|u| u.to_string()),
                since
            ],
            |r| r.get(0),
        )?;
        Ok(n > 0)
    }

    /// Stores entries made elsewhere (sign-ins recorded in the vault while the replica was closed).
    /// They are stored as they come: an entry is signed when it is made (by whoever made it), never
    /// later, since the vault file that kept it can be edited.
    pub fn import_audit(&mut self, entries: &[AuditEntry]) -> Result<(), ClientError> {
        let tx = self.conn_mut().transaction()?;
        for e in entries {
            insert(&tx, e)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The oldest `limit` entries not yet accepted by the server.
    pub fn unsent_audit(&self, limit: usize) -> Result<Vec<AuditEntry>, ClientError> {
        read_rows(
            self.conn(),
            &format!("SELECT {COLUMNS} FROM audit_log WHERE sent = 0 ORDER BY seq LIMIT ?1"),
            &(limit as i64),
        )
    }

    pub fn mark_audit_sent(&mut self, ids: &[Uuid]) -> Result<(), ClientError> {
        let tx = self.conn_mut().transaction()?;
        {
            let mut stmt = tx.prepare_cached("UPDATE audit_log SET sent = 1 WHERE id = ?1")?;
            for id in ids {
                stmt.execute([id.to_string()])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Every entry about one patient recorded on this device, newest first.
    pub fn audit_for_patient(&self, patient: Uuid) -> Result<Vec<AuditEntry>, ClientError> {
        read_rows(
            self.conn(),
            &format!("SELECT {COLUMNS} FROM audit_log WHERE patient_id = ?1 ORDER BY seq DESC"),
            &patient.to_string(),
        )
    }

    /// Every entry on this device, oldest first (tests and diagnostics).
    pub fn audit_log(&self) -> Result<Vec<AuditEntry>, ClientError> {
        read_rows(
            self.conn(),
            &format!("SELECT {COLUMNS} FROM audit_log WHERE ?1 ORDER BY seq"),
            &1i64,
        )
    }
}
