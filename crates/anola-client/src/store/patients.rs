//! Patients in the replica: local writes, the shown view, and merging pulled changes.

use super::{clock, now_ms, set_meta, tick, LocalStore};
use crate::error::ClientError;
use anola_protocol::patient::PatientOp;
use anola_protocol::plan::visible_state;
use anola_protocol::{
    ChangeRecord, Cursor, EntityKind, LwwState, Mutation, Patient, PatientFields,
};
use rusqlite::{params, Connection, OptionalExtension};
use uuid::Uuid;

fn today() -> time::Date {
    // A day of slack, as on the server: a clinic east of UTC is already on tomorrow's date.
    let d = time::OffsetDateTime::now_utc().date();
    d.next_day().unwrap_or(d)
}

/// Lower-cased names, digits of the phone, and ids: what search-as-you-type matches against.
fn search_text(p: &Patient) -> String {
    let mut parts: Vec<String> = Vec::new();
    for s in [
        &p.family_name,
        &p.given_name,
        &p.middle_name,
        &p.national_id,
        &p.health_card_id,
        &p.email,
    ]
    .into_iter()
    .flatten()
    {
        parts.push(s.to_lowercase());
    }
    if let Some(phone) = &p.phone {
        parts.push(phone.chars().filter(char::is_ascii_digit).collect());
    }
    parts.join(" ")
}

fn load_base(tx: &Connection, id: Uuid) -> Result<LwwState, ClientError> {
    let s: Option<String> = tx
        .query_row(
            "SELECT state FROM patient_base WHERE id = ?1",
            [id.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    Ok(match s {
        Some(s) => serde_json::from_str(&s)?,
        None => LwwState::new(),
    })
}

pub(crate) fn merge_base(
    tx: &Connection,
    id: Uuid,
    incoming: &LwwState,
) -> Result<(), ClientError> {
    let mut base = load_base(tx, id)?;
    if base.merge(incoming) {
        tx.execute(
            "INSERT INTO patient_base(id, state) VALUES (?1, ?2) ON CONFLICT(id) DO UPDATE SET state = excluded.state",
            params![id.to_string(), serde_json::to_string(&base)?],
        )?;
    }
    Ok(())
}

/// Recomputes what the device shows for one patient from its base and its unsent writes.
pub(crate) fn refresh_view(tx: &Connection, id: Uuid) -> Result<Option<Patient>, ClientError> {
    let base = load_base(tx, id)?;
    let mut stmt = tx.prepare_cached(
        "SELECT body FROM outbox WHERE entity_id = ?1 AND status = 'pending' ORDER BY seq",
    )?;
    let pending: Vec<LwwState> = stmt
        .query_map([id.to_string()], |r| r.get::<_, String>(0))?
        .map(|b| -> Result<LwwState, ClientError> {
            let m: Mutation = serde_json::from_str(&b?)?;
            Ok(m.state())
        })
        .collect::<Result<_, _>>()?;
    let shown = visible_state(&base, pending.iter());
    if shown.0.is_empty() {
        // Nothing confirmed and nothing pending (e.g. a registration the server refused).
        tx.execute("DELETE FROM patients WHERE id = ?1", [id.to_string()])?;
        return Ok(None);
    }
    let p = Patient::from_state(id, &shown, !pending.is_empty());
    tx.execute(
        "INSERT INTO patients(id, doc, family_name, given_name, date_of_birth, search, pending, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT(id) DO UPDATE SET doc = excluded.doc, family_name = excluded.family_name,
            given_name = excluded.given_name, date_of_birth = excluded.date_of_birth,
            search = excluded.search, pending = excluded.pending, updated_at = excluded.updated_at",
        params![
            id.to_string(),
            serde_json::to_string(&p)?,
            p.family_name,
            p.given_name,
            p.date_of_birth,
            search_text(&p),
            p.pending,
            now_ms() as i64
        ],
    )?;
    Ok(Some(p))
}

impl LocalStore {
    fn write(
        &mut self,
        id: Uuid,
        op: PatientOp,
        fields: PatientFields,
    ) -> Result<Patient, ClientError> {
        let errors = fields.validate(op, today());
        if !errors.is_empty() {
            return Err(ClientError::validation(errors));
        }
        let device = self.device_id().to_owned();
        let tx = self.conn_mut().transaction()?;
        if op == PatientOp::Update {
            let exists: bool = tx.query_row(
                "SELECT EXISTS(SELECT 1 FROM patients WHERE id = ?1)",
                [id.to_string()],
                |r| r.get(0),
            )?;
            if !exists {
                return Err(ClientError::NotFound {
                    message: format!("no patient {id} on this device"),
                });
            }
        }
        let hlc = tick(&tx, &device)?;
        let m = Mutation {
            id: Uuid::now_v7(),
            entity: EntityKind::Patient,
            entity_id: id,
            op,
            hlc,
            fields,
        };
        tx.execute(
            "INSERT INTO outbox(mutation_id, entity_id, body, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![
                m.id.to_string(),
                id.to_string(),
                serde_json::to_string(&m)?,
                now_ms() as i64
            ],
        )?;
        let p = refresh_view(&tx, id)?.ok_or_else(|| ClientError::Internal {
            message: "a saved patient has no fields".into(),
        })?;
        tx.commit()?;
        Ok(p)
    }

    /// Registers a patient: the record and its outbox entry commit together.
    pub fn register_patient(&mut self, fields: PatientFields) -> Result<Patient, ClientError> {
        self.write(Uuid::now_v7(), PatientOp::Create, fields)
    }

    /// Changes some fields of a patient (`Some(None)` clears a field).
    pub fn update_patient(
        &mut self,
        id: Uuid,
        fields: PatientFields,
    ) -> Result<Patient, ClientError> {
        self.write(id, PatientOp::Update, fields)
    }

    pub fn get_patient(&self, id: Uuid) -> Result<Patient, ClientError> {
        let doc: Option<String> = self
            .conn()
            .query_row(
                "SELECT doc FROM patients WHERE id = ?1",
                [id.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        match doc {
            Some(d) => Ok(serde_json::from_str(&d)?),
            None => Err(ClientError::NotFound {
                message: format!("no patient {id} on this device"),
            }),
        }
    }

    /// Patients matching every word of `query` (names, phone digits, ids); all patients, most
    /// recently changed first, when the query is empty.
    pub fn list_patients(&self, query: &str, limit: u32) -> Result<Vec<Patient>, ClientError> {
        let words: Vec<String> = query
            .split_whitespace()
            .map(|w| {
                let lower = w.to_lowercase();
                // "+254 712" should find a phone stored as digits.
                let digits: String = lower.chars().filter(char::is_ascii_digit).collect();
                if !digits.is_empty()
                    && lower
                        .chars()
                        .all(|c| c.is_ascii_digit() || "+-().".contains(c))
                {
                    digits
                } else {
                    lower
                }
            })
            .map(|w| {
                format!(
                    "%{}%",
                    w.replace('\\', "\\\\")
                        .replace('%', "\\%")
                        .replace('_', "\\_")
                )
            })
            .collect();
        let mut sql = String::from("SELECT doc FROM patients");
        for i in 0..words.len() {
            sql.push_str(if i == 0 { " WHERE " } else { " AND " });
            sql.push_str(&format!("search LIKE ?{} ESCAPE '\\'", i + 1));
        }
        sql.push_str(if words.is_empty() {
            " ORDER BY updated_at DESC"
        } else {
            " ORDER BY family_name COLLATE NOCASE, given_name COLLATE NOCASE"
        });
        sql.push_str(&format!(" LIMIT {}", limit.clamp(1, 1000)));
        let mut stmt = self.conn().prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(words.iter()), |r| {
            r.get::<_, String>(0)
        })?;
        rows.map(|d| Ok(serde_json::from_str(&d?)?)).collect()
    }

    pub fn count_patients(&self) -> Result<u64, ClientError> {
        Ok(self
            .conn()
            .query_row("SELECT COUNT(*) FROM patients", [], |r| r.get::<_, i64>(0))?
            as u64)
    }

    /// Applies one pulled page and its cursor in one transaction: a crash leaves either the whole
    /// page applied with its cursor, or neither, and the page is simply pulled again.
    pub fn apply_pull_page(
        &mut self,
        changes: &[ChangeRecord],
        cursor: &str,
    ) -> Result<(), ClientError> {
        let device = self.device_id().to_owned();
        let tx = self.conn_mut().transaction()?;
        let mut clock = clock(&tx, &device)?;
        for c in changes {
            match c.entity {
                EntityKind::Patient => {
                    merge_base(&tx, c.id, &c.state)?;
                    refresh_view(&tx, c.id)?;
                }
            }
            if let Some(h) = c.state.max_hlc() {
                clock.observe(h, now_ms());
            }
        }
        set_meta(&tx, "hlc", &clock.last().to_string())?;
        set_meta(&tx, "pull_cursor", cursor)?;
        tx.commit()?;
        Ok(())
    }

    pub fn pull_cursor(&self) -> Result<Option<String>, ClientError> {
        let c = self.meta("pull_cursor")?;
        // Only keep cursors we can still read; an unreadable one means "start over".
        Ok(c.filter(|c| Cursor::decode(c).is_ok()))
    }
}
