//! The local SQLite replica.

mod migrations;
mod outbox;
mod patients;

pub use outbox::{OutboxCounts, OutboxEntry};

use crate::error::ClientError;
use anola_protocol::{Hlc, HlcClock};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use std::path::Path;

pub const DB_FILE: &str = "clinic.sqlite3";

pub struct LocalStore {
    conn: Connection,
    device_id: String,
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
    Ok(HlcClock::new(device_id.to_owned(), last))
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
    /// Opens (creating if needed) the replica in `dir`, migrating it to the current schema.
    pub fn open(dir: &Path) -> Result<Self, ClientError> {
        std::fs::create_dir_all(dir).map_err(|e| ClientError::Storage {
            message: format!("cannot create data directory {}: {e}", dir.display()),
        })?;
        let mut conn = Connection::open(dir.join(DB_FILE))?;
        // WAL + FULL sync: a write reported saved survives a crash or a power cut.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrations::run(&mut conn)?;
        let device_id = match get_meta(&conn, "device_id")? {
            Some(id) => id,
            None => {
                let id = uuid::Uuid::new_v4().simple().to_string();
                set_meta(&conn, "device_id", &id)?;
                id
            }
        };
        Ok(Self { conn, device_id })
    }

    pub fn device_id(&self) -> &str {
        &self.device_id
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
