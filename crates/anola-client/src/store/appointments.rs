//! Appointments in the replica. The slot rule is the server's: a device books optimistically and
//! learns from the next pull whether it kept the slot (`conflict_needs_rescheduling` otherwise).

use super::lww::{enqueue, shown, Writer};
use super::{now_ms, LocalStore};
use crate::error::ClientError;
use anola_protocol::wire::{EntityKind, Op};
use anola_protocol::{Appointment, AppointmentFields};
use rusqlite::{params, Connection, OptionalExtension};
use uuid::Uuid;

pub(crate) fn refresh_view(tx: &Connection, id: Uuid) -> Result<Option<Appointment>, ClientError> {
    let (state, pending) = shown(tx, EntityKind::Appointment, id)?;
    if state.0.is_empty() {
        tx.execute("DELETE FROM appointments WHERE id = ?1", [id.to_string()])?;
        return Ok(None);
    }
    let a = Appointment::from_state(id, &state, pending);
    tx.execute(
        "INSERT INTO appointments(id, doc, patient_id, provider_id, date, start_time, status, deleted, pending, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT(id) DO UPDATE SET doc = excluded.doc, patient_id = excluded.patient_id, provider_id = excluded.provider_id,
            date = excluded.date, start_time = excluded.start_time, status = excluded.status, deleted = excluded.deleted,
            pending = excluded.pending, updated_at = excluded.updated_at",
        params![
            id.to_string(),
            serde_json::to_string(&a)?,
            a.patient_id.map(|p| p.to_string()),
            a.provider_id.map(|p| p.to_string()),
            a.date,
            a.start_time,
            a.status
                .and_then(|s| serde_json::to_value(s).ok().and_then(|v| v.as_str().map(str::to_owned))),
            a.deleted == Some(true),
            a.pending,
            now_ms() as i64
        ],
    )?;
    Ok(Some(a))
}

impl LocalStore {
    fn write_appointment(&mut self, id: Uuid, op: Op, mut fields: AppointmentFields) -> Result<Appointment, ClientError> {
        if op == Op::Create {
            fields.clinic_id = Some(Some(self.clinic_id().to_owned()));
        }
        let errors = fields.validate(op);
        if !errors.is_empty() {
            return Err(ClientError::validation(errors));
        }
        let device = self.device_id().to_owned();
        let author = self.author();
        let signer = self.signing_key().cloned();
        let tx = self.conn_mut().transaction()?;
        if op == Op::Create {
            let patient = fields.patient_id.flatten().map(|p| p.to_string()).unwrap_or_default();
            let known: bool = tx.query_row(
                "SELECT EXISTS(SELECT 1 FROM patients WHERE id = ?1 AND deleted = 0)",
                [patient],
                |r| r.get(0),
            )?;
            if !known {
                return Err(ClientError::NotFound {
                    message: "no such patient on this device".into(),
                });
            }
        } else {
            let exists: bool = tx.query_row("SELECT EXISTS(SELECT 1 FROM appointments WHERE id = ?1)", [id.to_string()], |r| {
                r.get(0)
            })?;
            if !exists {
                return Err(ClientError::NotFound {
                    message: format!("no appointment {id} on this device"),
                });
            }
        }
        enqueue(
            &tx,
            Writer {
                device: &device,
                author,
                key: signer.as_ref(),
            },
            EntityKind::Appointment,
            id,
            op,
            serde_json::to_value(&fields)?,
        )?;
        let a = refresh_view(&tx, id)?.ok_or_else(|| ClientError::Internal {
            message: "a saved appointment has no fields".into(),
        })?;
        tx.commit()?;
        Ok(a)
    }

    pub fn book_appointment(&mut self, fields: AppointmentFields) -> Result<Appointment, ClientError> {
        self.write_appointment(Uuid::now_v7(), Op::Create, fields)
    }

    pub fn update_appointment(&mut self, id: Uuid, fields: AppointmentFields) -> Result<Appointment, ClientError> {
        self.write_appointment(id, Op::Update, fields)
    }

    pub fn get_appointment(&self, id: Uuid) -> Result<Appointment, ClientError> {
        let doc: Option<String> = self
            .conn()
            .query_row("SELECT doc FROM appointments WHERE id = ?1", [id.to_string()], |r| r.get(0))
            .optional()?;
        match doc {
            Some(d) => Ok(serde_json::from_str(&d)?),
            None => Err(ClientError::NotFound {
                message: format!("no appointment {id} on this device"),
            }),
        }
    }

    /// Appointments of a day (`YYYY-MM-DD`) or of a patient, in time order; deleted ones left out,
    /// cancelled ones kept as history.
    pub fn list_appointments(&self, date: Option<&str>, patient: Option<Uuid>) -> Result<Vec<Appointment>, ClientError> {
        let mut stmt = self.conn().prepare(
            "SELECT doc FROM appointments WHERE deleted = 0 AND (?1 IS NULL OR date = ?1) AND (?2 IS NULL OR patient_id = ?2)
             ORDER BY date, start_time",
        )?;
        let rows = stmt.query_map(params![date, patient.map(|p| p.to_string())], |r| r.get::<_, String>(0))?;
        rows.map(|d| Ok(serde_json::from_str(&d?)?)).collect()
    }
}
