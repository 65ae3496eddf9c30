//! Patients in the replica: local writes, the shown view, search.

use super::lww::{enqueue, shown, Writer};
use super::{now_ms, LocalStore};
use crate::error::ClientError;
use anola_protocol::wire::{EntityKind, Op};
use anola_protocol::{Patient, PatientFields};
use rusqlite::{params, Connection, OptionalExtension};
use uuid::Uuid;

pub(crate) fn today() -> time::Date {
    anola_protocol::validate::latest_local_date(time::OffsetDateTime::now_utc().date())
}

/// Lower-cased names, digits of the phone, and ids: what search-as-you-type matches against.
fn search_text(p: &Patient) -> String {
    let mut parts: Vec<String> = [
        &p.family_name,
        &p.given_name,
        &p.middle_name,
        &p.national_id,
        &p.health_card_id,
        &p.email,
    ]
    .into_iter()
    .flatten()
    .map(|s| s.to_lowercase())
    .collect();
    if let Some(phone) = &p.phone {
        parts.push(phone.chars().filter(char::is_ascii_digit).collect());
    }
    parts.join(" ")
}

/// Recomputes what the device shows for one patient from its base and its unsent writes.
pub(crate) fn refresh_view(tx: &Connection, id: Uuid) -> Result<Option<Patient>, ClientError> {
    let (state, pending) = shown(tx, EntityKind::Patient, id)?;
    if state.0.is_empty() {
        // Nothing confirmed and nothing pending (e.g. a registration the server refused).
        tx.execute("DELETE FROM patients WHERE id = ?1", [id.to_string()])?;
        return Ok(None);
    }
    let p = Patient::from_state(id, &state, pending);
    tx.execute(
        "INSERT INTO patients(id, doc, family_name, given_name, date_of_birth, search, pending, deleted, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT(id) DO UPDATE SET doc = excluded.doc, family_name = excluded.family_name,
            given_name = excluded.given_name, date_of_birth = excluded.date_of_birth, search = excluded.search,
            pending = excluded.pending, deleted = excluded.deleted, updated_at = excluded.updated_at",
        params![
            id.to_string(),
            serde_json::to_string(&p)?,
            p.family_name,
            p.given_name,
            p.date_of_birth,
            search_text(&p),
            p.pending,
            p.deleted == Some(true) || p.merged_into.is_some(),
            now_ms() as i64
        ],
    )?;
    Ok(Some(p))
}

impl LocalStore {
    fn write_patient(&mut self, id: Uuid, op: Op, mut fields: PatientFields) -> Result<Patient, ClientError> {
        if op == Op::Create {
            fields.clinic_id = Some(Some(self.clinic_id().to_owned()));
        }
        let errors = fields.validate(op, today());
        if !errors.is_empty() {
            return Err(ClientError::validation(errors));
        }
        let device = self.device_id().to_owned();
        let author = self.author();
        let signer = self.signing_key().cloned();
        let tx = self.conn_mut().transaction()?;
        if op != Op::Create {
            let exists: bool = tx.query_row(
                "SELECT EXISTS(SELECT 1 FROM patients WHERE id = ?1 AND deleted = 0)",
                [id.to_string()],
                |r| r.get(0),
            )?;
            if !exists {
                return Err(ClientError::NotFound {
                    message: format!("no patient {id} on this device"),
                });
            }
        }
        let value = serde_json::to_value(&fields)?;
        let writer = Writer {
            device: &device,
            author,
            key: signer.as_ref(),
        };
        enqueue(&tx, writer, EntityKind::Patient, id, op, value)?;
        let p = refresh_view(&tx, id)?.ok_or_else(|| ClientError::Internal {
            message: "a saved patient has no fields".into(),
        })?;
        tx.commit()?;
        Ok(p)
    }

    /// Registers a patient in this device's clinic: the record and its outbox entry commit together.
    pub fn register_patient(&mut self, fields: PatientFields) -> Result<Patient, ClientError> {
        self.write_patient(Uuid::now_v7(), Op::Create, fields)
    }

    /// Changes some fields of a patient (`Some(None)` clears a field).
    pub fn update_patient(&mut self, id: Uuid, fields: PatientFields) -> Result<Patient, ClientError> {
        self.write_patient(id, Op::Update, fields)
    }

    /// Deletes a patient: a tombstone that travels to every device.
    pub fn delete_patient(&mut self, id: Uuid) -> Result<Patient, ClientError> {
        self.write_patient(id, Op::Delete, PatientFields::default())
    }

    pub fn get_patient(&self, id: Uuid) -> Result<Patient, ClientError> {
        let doc: Option<String> = self
            .conn()
            .query_row("SELECT doc FROM patients WHERE id = ?1", [id.to_string()], |r| r.get(0))
            .optional()?;
        match doc {
            Some(d) => Ok(serde_json::from_str(&d)?),
            None => Err(ClientError::NotFound {
                message: format!("no patient {id} on this device"),
            }),
        }
    }

    /// Patients matching every word of `query` (names, phone digits, ids); all patients, most
    /// recently changed first, when the query is empty. Deleted and merged-away patients are left out.
    pub fn list_patients(&self, query: &str, limit: u32) -> Result<Vec<Patient>, ClientError> {
        let words: Vec<String> = query
            .split_whitespace()
            .map(|w| {
                let lower = w.to_lowercase();
                // "+254 712" should find a phone stored as digits.
                let digits: String = lower.chars().filter(char::is_ascii_digit).collect();
                if !digits.is_empty() && lower.chars().all(|c| c.is_ascii_digit() || "+-().".contains(c)) {
                    digits
                } else {
                    lower
                }
            })
            .collect();
        let like = |w: &str| format!("%{}%", w.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        // Words of 3+ characters go through the trigram index (a substring match without a scan);
        // shorter ones filter what it finds, or, when no word is that long, the most recently
        // changed patients (a scan that stops at `limit` matches).
        let (long, short): (Vec<&String>, Vec<&String>) = words.iter().partition(|w| w.chars().count() >= 3);
        let mut params: Vec<String> = Vec::new();
        let mut sql = String::from("SELECT p.doc FROM patients p");
        if !long.is_empty() {
            let phrase = long
                .iter()
                .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
                .collect::<Vec<_>>()
                .join(" AND ");
            params.push(phrase);
            if short.is_empty() {
                // The matches sorted by the narrow `patient_sort` table; only the shown rows are read.
                sql.push_str(&format!(
                    " WHERE p.rowid IN (SELECT s.rowid FROM patient_sort s WHERE s.deleted = 0 AND s.rowid IN \
                     (SELECT rowid FROM patients_fts WHERE patients_fts MATCH ?1) ORDER BY s.sortkey LIMIT {limit})",
                    limit = limit.clamp(1, 1000)
                ));
            } else {
                sql.push_str(" WHERE p.deleted = 0 AND p.rowid IN (SELECT rowid FROM patients_fts WHERE patients_fts MATCH ?1)");
            }
        } else {
            sql.push_str(" WHERE p.deleted = 0");
        }
        for w in &short {
            params.push(like(w));
            sql.push_str(&format!(" AND p.search LIKE ?{} ESCAPE '\\'", params.len()));
        }
        sql.push_str(if long.is_empty() {
            " ORDER BY p.updated_at DESC"
        } else {
            " ORDER BY p.family_name COLLATE NOCASE, p.given_name COLLATE NOCASE"
        });
        sql.push_str(&format!(" LIMIT {}", limit.clamp(1, 1000)));
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(params.iter()), |r| r.get::<_, String>(0))?;
        rows.map(|d| Ok(serde_json::from_str(&d?)?)).collect()
    }

    pub fn count_patients(&self) -> Result<u64, ClientError> {
        Ok(self
            .conn()
            .query_row("SELECT COUNT(*) FROM patients WHERE deleted = 0", [], |r| r.get::<_, i64>(0))? as u64)
    }
}
