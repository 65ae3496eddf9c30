//! Versioned schema migrations, tracked in SQLite's `user_version`. Append only: a released
//! migration is never edited, because devices in the field have already run it.

use crate::error::ClientError;
use rusqlite::Connection;

const MIGRATIONS: &[&str] = &[
    // 1: patients, outbox, meta
    r#"
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    -- The server-confirmed state of each patient (per-field LWW, JSON).
    CREATE TABLE patient_base (
        id    TEXT PRIMARY KEY,
        state TEXT NOT NULL
    );
    -- What the device shows: base with this device's unsent writes laid over it.
    CREATE TABLE patients (
        id             TEXT PRIMARY KEY,
        doc            TEXT NOT NULL,
        family_name    TEXT,
        given_name     TEXT,
        date_of_birth  TEXT,
        search         TEXT NOT NULL,
        pending        INTEGER NOT NULL DEFAULT 0,
        updated_at     INTEGER NOT NULL
    );
    CREATE INDEX patients_recent ON patients(updated_at DESC);
    CREATE INDEX patients_name ON patients(family_name, given_name);
    -- Local writes waiting for the server, in the order they were made.
    CREATE TABLE outbox (
        seq          INTEGER PRIMARY KEY AUTOINCREMENT,
        mutation_id  TEXT NOT NULL UNIQUE,
        entity_id    TEXT NOT NULL,
        body         TEXT NOT NULL,
        status       TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'rejected')),
        attempts     INTEGER NOT NULL DEFAULT 0,
        error_code   TEXT,
        last_error   TEXT,
        created_at   INTEGER NOT NULL
    );
    CREATE INDEX outbox_entity ON outbox(entity_id, status);
    "#,
];

pub fn latest() -> i64 {
    MIGRATIONS.len() as i64
}

/// Brings the schema up to date; each migration and its version bump commit together.
pub fn run(conn: &mut Connection) -> Result<(), ClientError> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > latest() {
        return Err(ClientError::Storage {
            message: format!(
                "the local database was written by a newer version of the app (schema {current}, this app knows {}); update the app",
                latest()
            ),
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}
