//! The local SQLite replica.

mod appointments;
pub mod audit;
pub mod cards;
mod lww;
mod migrations;
pub mod money;
mod notes;
mod outbox;
mod patients;
pub mod pull;
pub mod records;
pub mod sponsorship;
mod staff;

pub use outbox::{OutboxCounts, OutboxEntry};
pub use records::RecordVersionView;

use anola_protocol::wire::EntityKind;
use uuid::Uuid;

/// Recomputes what the device shows for one entity after its base or outbox changed.
pub(crate) fn refresh(tx: &Connection, entity: EntityKind, id: Uuid) -> Result<(), ClientError> {
    match entity {
        EntityKind::Patient => patients::refresh_view(tx, id).map(|_| ()),
        EntityKind::Appointment => appointments::refresh_view(tx, id).map(|_| ()),
        EntityKind::Provider => notes::refresh_provider(tx, id),
        // Record versions are rows of their own; conflicts and merges are not written locally.
        EntityKind::MedicalRecord | EntityKind::Conflict | EntityKind::Merge | EntityKind::Staff | EntityKind::Card => Ok(()),
    }
}

/// This device's place in the organisation: its clinic, and for a field worker's device the worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub clinic_id: String,
    pub field_worker_id: Option<String>,
    /// The device id the server enrolled this device with; `None` keeps (or creates) a local one.
    pub device_id: Option<String>,
}

use crate::error::ClientError;
use crate::security::DataKey;
use anola_protocol::{Hlc, HlcClock};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use std::path::Path;

pub const DB_FILE: &str = "clinic.sqlite3";
/// The clinic of a device configured with none (single-clinic installations and the demo).
pub const DEFAULT_CLINIC: &str = "main";

pub struct LocalStore {
    conn: Connection,
    device_id: String,
    scope: Scope,
    /// The staff member whose writes these are (stamped on mutations and audit entries).
    author: Option<uuid::Uuid>,
    /// Their signing key on this device, when they have one (ADR 0014).
    signer: Option<Signer>,
    /// Key ids whose writes are held back (`set_unregistered_keys`).
    unregistered_keys: Vec<String>,
}

/// The signed-in staff member's signing key and account name: every write and audit entry they
/// make is signed with the key, and a record they write names them.
#[derive(Clone, Debug)]
pub struct Signer {
    pub key: anola_protocol::signing::StaffKey,
    pub display_name: String,
}

pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

pub(crate) fn get_meta(tx: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    tx.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()
}

/// This device's clock, resumed from the last stamp it issued or observed.
pub(crate) fn clock(conn: &Connection, device_id: &str) -> Result<HlcClock, ClientError> {
    let last = get_meta(conn, "hlc")?.and_then(|s| s.parse::<Hlc>().ok());
    Ok(HlcClock::new(hlc_node(device_id), last))
}

/// The device id as an HLC node id (letters, digits, `_`, `.`; at most 64 bytes), whatever form the
/// server's enrolment ids take.
pub(crate) fn hlc_node(device_id: &str) -> String {
    let mut n: String = device_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    n.truncate(anola_protocol::hlc::NODE_MAX_LEN);
    if n.is_empty() {
        n.push('d');
    }
    n
}

/// Opens the SQLCipher database at `path` with `key` and proves the key right by reading the
/// schema: SQLCipher only reports a wrong key at the first read, as "file is not a database".
pub(crate) fn open_encrypted(path: &Path, key: &DataKey) -> Result<Connection, ClientError> {
    let conn = Connection::open(path)?;
    // Raw-key form: no passphrase derivation, the key is already 256 random bits.
    conn.execute_batch(&format!("PRAGMA key = \"x'{}'\";", key.hex().as_str()))?;
    let check: rusqlite::Result<i64> = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0));
    match check {
        Ok(_) => Ok(conn),
        Err(e) => Err(ClientError::ReplicaUnreadable {
            message: format!(
                "the local database {} cannot be opened with this device's key (wrong key, or not an Anola replica): {e}",
                path.display()
            ),
        }),
    }
}

/// A fresh HLC stamp for a local write, persisted in the same transaction as the write.
pub(crate) fn tick(tx: &Transaction, device_id: &str) -> Result<Hlc, ClientError> {
    let h = clock(tx, device_id)?.tick(now_ms());
    set_meta(tx, "hlc", &h.to_string())?;
    Ok(h)
}

pub(crate) fn set_meta(tx: &Connection, key: &str, value: &str) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

impl LocalStore {
    /// Opens (creating if needed) the replica in `dir` for the default clinic, encrypted with `key`.
    pub fn open(dir: &Path, key: &DataKey) -> Result<Self, ClientError> {
        Self::open_scoped(
            dir,
            &Scope {
                clinic_id: DEFAULT_CLINIC.into(),
                field_worker_id: None,
                device_id: None,
            },
            key,
        )
    }

    /// Opens (creating if needed) the replica in `dir`, migrating it to the current schema. A
    /// replica belongs to one scope; opening it for another one is refused while it holds unsent
    /// writes, and otherwise starts it over (its data belongs to the old scope).
    pub fn open_scoped(dir: &Path, scope: &Scope, key: &DataKey) -> Result<Self, ClientError> {
        if let Some(e) = anola_protocol::wire::validate_clinic_id(&scope.clinic_id) {
            return Err(ClientError::validation(vec![e]));
        }
        std::fs::create_dir_all(dir).map_err(|e| ClientError::Storage {
            message: format!("cannot create data directory {}: {e}", dir.display()),
        })?;
        let mut conn = open_encrypted(&dir.join(DB_FILE), key)?;
        // WAL + FULL sync: a write reported saved survives a crash or a power cut.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrations::run(&mut conn)?;
        let device_id = match (get_meta(&conn, "device_id")?, &scope.device_id) {
            (Some(id), None) => id,
            (Some(id), Some(wanted)) if id == *wanted => id,
            (_, Some(wanted)) => {
                set_meta(&conn, "device_id", wanted)?;
                wanted.clone()
            }
            (None, None) => {
                let id = uuid::Uuid::new_v4().simple().to_string();
                set_meta(&conn, "device_id", &id)?;
                id
            }
        };
        let stored = (
            get_meta(&conn, "clinic_id")?,
            get_meta(&conn, "field_worker_id")?.filter(|w| !w.is_empty()),
        );
        let wanted = (Some(scope.clinic_id.clone()), scope.field_worker_id.clone());
        if stored != wanted {
            if stored.0.is_some() {
                let unsent: i64 = conn.query_row("SELECT COUNT(*) FROM outbox WHERE status = 'pending'", [], |r| r.get(0))?;
                if unsent > 0 {
                    return Err(ClientError::Storage {
                        message: format!(
                            "this device holds {unsent} unsent change(s) for clinic {}; sync them before moving it to clinic {}",
                            stored.0.unwrap_or_default(),
                            scope.clinic_id
                        ),
                    });
                }
                let tx = conn.transaction()?;
                pull::forget_everything(&tx)?;
                tx.commit()?;
            }
            set_meta(&conn, "clinic_id", &scope.clinic_id)?;
            set_meta(&conn, "field_worker_id", scope.field_worker_id.as_deref().unwrap_or(""))?;
        }
        Ok(Self {
            conn,
            device_id,
            scope: scope.clone(),
            author: None,
            signer: None,
            unregistered_keys: Vec::new(),
        })
    }

    pub fn clinic_id(&self) -> &str {
        &self.scope.clinic_id
    }

    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    pub fn device_id(&self) -> &str {
        &self.device_id
    }

    /// Whose writes follow: stamped as `Mutation::author` and on audit entries.
    pub fn set_author(&mut self, author: Option<uuid::Uuid>) {
        self.author = author;
    }

    pub fn author(&self) -> Option<uuid::Uuid> {
        self.author
    }

    /// Signs the author's writes and the audit entries this session makes from now on. Nothing
    /// queued earlier is signed after the fact: a row in the outbox proves nothing about who made
    /// it, and signing it would vouch for whoever put it there.
    pub fn set_signer(&mut self, signer: Option<Signer>) {
        self.signer = signer;
    }

    /// Signing keys made on this device that the server has not confirmed yet (made at an offline
    /// sign-in): writes they signed wait in the outbox until their author's next online sign-in
    /// registers them, instead of being refused `signing_key_unknown`.
    pub fn set_unregistered_keys(&mut self, keys: Vec<String>) {
        self.unregistered_keys = keys;
    }

    pub(crate) fn signing_key(&self) -> Option<&anola_protocol::signing::StaffKey> {
        self.signer.as_ref().map(|s| &s.key)
    }

    pub(crate) fn signer_name(&self) -> Option<&str> {
        self.signer.as_ref().map(|s| s.display_name.as_str())
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>, ClientError> {
        Ok(get_meta(&self.conn, key)?)
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), ClientError> {
        Ok(set_meta(&self.conn, key, value)?)
    }

    pub(crate) fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anola_protocol::PatientFields;

    #[test]
    fn replica_is_unreadable_without_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let key = DataKey::random();
        {
            let mut s = LocalStore::open(dir.path(), &key).unwrap();
            let fields: PatientFields = serde_json::from_value(serde_json::json!({
                "given_name": "Zawadi", "family_name": "Kamau-Uniquename", "date_of_birth": "1990-01-02"
            }))
            .unwrap();
            s.register_patient(fields).unwrap();
            // Move everything from the WAL into the main file, as a long-running device would.
            s.conn().execute_batch("PRAGMA wal_checkpoint(TRUNCATE);").unwrap();
        }
        // Plain SQLite (no key) cannot read it.
        let plain = Connection::open(dir.path().join(DB_FILE)).unwrap();
        let err = plain
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0))
            .unwrap_err();
        assert!(err.to_string().contains("file is not a database"), "{err}");
        drop(plain);
        // No file of the replica contains the patient's name.
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            assert!(!bytes.windows(16).any(|w| w == b"Kamau-Uniquename"));
        }
        // Another key gives a clear error, not a panic.
        let other = LocalStore::open(dir.path(), &DataKey::random()).err().unwrap();
        assert_eq!(other.code(), "replica_unreadable");
        // The right key reads it back.
        let s = LocalStore::open(dir.path(), &key).unwrap();
        assert_eq!(s.count_patients().unwrap(), 1);
    }

    #[test]
    fn search_matches_substrings_through_the_index_and_follows_every_change() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = LocalStore::open(dir.path(), &DataKey::random()).unwrap();
        let add = |s: &mut LocalStore, given: &str, family: &str, phone: &str| {
            let fields: PatientFields = serde_json::from_value(serde_json::json!({
                "given_name": given, "family_name": family, "date_of_birth": "1990-01-02", "phone": phone
            }))
            .unwrap();
            s.register_patient(fields).unwrap()
        };
        let amina = add(&mut s, "Amina", "Okafor", "+254 712 345 678");
        add(&mut s, "Baraka", "Mwangi", "+254 799 000 111");
        add(&mut s, "Chausiku", "Okello", "+254 733 222 444");
        let names = |s: &LocalStore, q: &str| -> Vec<String> {
            s.list_patients(q, 50)
                .unwrap()
                .into_iter()
                .map(|p| p.family_name.unwrap_or_default())
                .collect()
        };
        // Inside words, any case, several words, phone digits however typed, short words.
        assert_eq!(names(&s, "kafor"), vec!["Okafor"]);
        assert_eq!(names(&s, "OKA"), vec!["Okafor"]);
        assert_eq!(names(&s, "ok"), vec!["Okello", "Okafor"], "short words: most recent first");
        assert_eq!(names(&s, "amina okafor"), vec!["Okafor"]);
        assert_eq!(names(&s, "okafor baraka"), Vec::<String>::new());
        assert_eq!(names(&s, "+254 712"), vec!["Okafor"]);
        assert_eq!(names(&s, "345678"), vec!["Okafor"]);
        assert_eq!(names(&s, "o\"k%_"), Vec::<String>::new(), "quotes and wildcards are text");
        // Name order for longer words.
        assert_eq!(names(&s, "254"), vec!["Mwangi", "Okafor", "Okello"]);
        // An edit re-indexes; a deletion leaves the index.
        let renamed: PatientFields = serde_json::from_value(serde_json::json!({"family_name": "Adeyemi"})).unwrap();
        s.update_patient(amina.id, renamed).unwrap();
        assert_eq!(names(&s, "kafor"), Vec::<String>::new());
        assert_eq!(names(&s, "deyem"), vec!["Adeyemi"]);
        s.delete_patient(amina.id).unwrap();
        assert_eq!(names(&s, "deyem"), Vec::<String>::new());
    }
}
