//! Medical records in the replica: append-only versions. Adding a record writes its first version;
//! amending writes a new version pointing at the one it amends. Nothing here updates or deletes a
//! version's clinical content.

use super::lww::{enqueue, Writer};
use super::LocalStore;
use crate::error::ClientError;
use anola_protocol::wire::{EntityKind, Op};
use anola_protocol::{MedicalRecordVersion, RecordFields};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use uuid::Uuid;

/// Sync state of a local version.
pub const SYNCED: i64 = 0;
pub const PENDING: i64 = 1;
pub const REFUSED: i64 = 2;

/// A version as the device shows it.
#[derive(Debug, Clone, Serialize)]
pub struct RecordVersionView {
    #[serde(flatten)]
    pub version: MedicalRecordVersion,
    /// "synced", "pending" or "refused".
    pub sync: &'static str,
    /// A later version amends this one.
    pub superseded: bool,
    /// Another version amends the same version as this one: a clinician must reconcile them.
    pub concurrent_amendment: bool,
}

pub(crate) fn upsert_version(tx: &Connection, v: &MedicalRecordVersion, sync: i64) -> Result<(), ClientError> {
    tx.execute(
        "INSERT INTO medical_records(id, record_id, amends, patient_id, doc, hlc, pending) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT(id) DO UPDATE SET patient_id = excluded.patient_id, doc = excluded.doc, pending = excluded.pending",
        params![
            v.id.to_string(),
            v.fields.record_id.to_string(),
            v.fields.amends.map(|a| a.to_string()),
            v.fields.patient_id.to_string(),
            serde_json::to_string(v)?,
            v.hlc.to_string(),
            sync
        ],
    )?;
    Ok(())
}

pub(crate) fn set_sync(tx: &Connection, id: Uuid, sync: i64) -> Result<(), ClientError> {
    tx.execute(
        "UPDATE medical_records SET pending = ?2 WHERE id = ?1",
        params![id.to_string(), sync],
    )?;
    Ok(())
}

impl LocalStore {
    fn write_record(&mut self, version_id: Uuid, mut fields: RecordFields) -> Result<MedicalRecordVersion, ClientError> {
        fields.clinic_id = self.clinic_id().to_owned();
        // The author is the signed-in staff member, never typed text; the server writes the
        // account's name again from the signature.
        if let Some(name) = self.signer_name() {
            fields.author = name.to_owned();
        }
        let errors = fields.validate(version_id);
        if !errors.is_empty() {
            return Err(ClientError::validation(errors));
        }
        let device = self.device_id().to_owned();
        let author = self.author();
        let signer = self.signing_key().cloned();
        let tx = self.conn_mut().transaction()?;
        let known: bool = tx.query_row(
            "SELECT EXISTS(SELECT 1 FROM patients WHERE id = ?1)",
            [fields.patient_id.to_string()],
            |r| r.get(0),
        )?;
        if !known {
            return Err(ClientError::NotFound {
                message: "no such patient on this device".into(),
            });
        }
        let m = enqueue(
            &tx,
            Writer {
                device: &device,
                author,
                key: signer.as_ref(),
            },
            EntityKind::MedicalRecord,
            version_id,
            Op::Create,
            serde_json::to_value(&fields)?,
        )?;
        let v = MedicalRecordVersion {
            id: version_id,
            fields,
            hlc: m.hlc,
            device_id: device,
        };
        upsert_version(&tx, &v, PENDING)?;
        tx.commit()?;
        Ok(v)
    }

    /// Writes a new record (its first version).
    pub fn add_record(&mut self, mut fields: RecordFields) -> Result<MedicalRecordVersion, ClientError> {
        let id = Uuid::now_v7();
        fields.record_id = id;
        fields.amends = None;
        self.write_record(id, fields)
    }

    /// Amends version `amends`: a new version of the same record; the old one stays.
    pub fn amend_record(&mut self, amends: Uuid, mut fields: RecordFields) -> Result<MedicalRecordVersion, ClientError> {
        let target: Option<(String, String)> = self
            .conn()
            .query_row(
                "SELECT record_id, patient_id FROM medical_records WHERE id = ?1",
                [amends.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((record_id, patient_id)) = target else {
            return Err(ClientError::NotFound {
                message: format!("no record version {amends} on this device"),
            });
        };
        fields.record_id = record_id.parse().map_err(|_| ClientError::Storage {
            message: "malformed record id".into(),
        })?;
        fields.patient_id = patient_id.parse().map_err(|_| ClientError::Storage {
            message: "malformed patient id".into(),
        })?;
        fields.amends = Some(amends);
        self.write_record(Uuid::now_v7(), fields)
    }

    /// The patient a record version belongs to.
    pub fn record_patient(&self, version: Uuid) -> Result<Option<Uuid>, ClientError> {
        let p: Option<String> = self
            .conn()
            .query_row("SELECT patient_id FROM medical_records WHERE id = ?1", [version.to_string()], |r| {
                r.get(0)
            })
            .optional()?;
        Ok(p.and_then(|p| p.parse().ok()))
    }

    /// Every version of every record of a patient, oldest first, with amendment flags.
    pub fn list_records(&self, patient: Uuid) -> Result<Vec<RecordVersionView>, ClientError> {
        let mut stmt = self
            .conn()
            .prepare("SELECT doc, pending FROM medical_records WHERE patient_id = ?1 ORDER BY hlc")?;
        let rows: Vec<(MedicalRecordVersion, i64)> = stmt
            .query_map([patient.to_string()], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
            .map(|r| -> Result<_, ClientError> {
                let (d, p) = r?;
                Ok((serde_json::from_str(&d)?, p))
            })
            .collect::<Result<_, _>>()?;
        Ok(rows
            .iter()
            .map(|(v, p)| {
                let superseded = rows.iter().any(|(o, _)| o.fields.amends == Some(v.id));
                let concurrent_amendment =
                    v.fields.amends.is_some() && rows.iter().any(|(o, _)| o.id != v.id && o.fields.amends == v.fields.amends);
                RecordVersionView {
                    version: v.clone(),
                    sync: match *p {
                        SYNCED => "synced",
                        PENDING => "pending",
                        _ => "refused",
                    },
                    superseded,
                    concurrent_amendment,
                }
            })
            .collect())
    }
}
