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
    // 2: all clinic data. LWW entities share one base table; each kind has its own shown table.
    r#"
    CREATE TABLE entity_base (
        entity TEXT NOT NULL,
        id     TEXT NOT NULL,
        state  TEXT NOT NULL,
        PRIMARY KEY (entity, id)
    );
    INSERT INTO entity_base(entity, id, state) SELECT 'patient', id, state FROM patient_base;
    DROP TABLE patient_base;
    ALTER TABLE outbox ADD COLUMN entity TEXT NOT NULL DEFAULT 'patient';
    DROP INDEX outbox_entity;
    CREATE INDEX outbox_entity ON outbox(entity, entity_id, status);
    ALTER TABLE patients ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE appointments (
        id           TEXT PRIMARY KEY,
        doc          TEXT NOT NULL,
        patient_id   TEXT,
        provider_id  TEXT,
        date         TEXT,
        start_time   TEXT,
        status       TEXT,
        deleted      INTEGER NOT NULL DEFAULT 0,
        pending      INTEGER NOT NULL DEFAULT 0,
        updated_at   INTEGER NOT NULL
    );
    CREATE INDEX appointments_patient ON appointments(patient_id);
    CREATE INDEX appointments_day ON appointments(date, start_time);
    CREATE TABLE providers (
        id           TEXT PRIMARY KEY,
        doc          TEXT NOT NULL,
        family_name  TEXT
    );
    -- Immutable record versions: written once (locally, or when pulled); never edited by sync
    -- except to re-point a merged patient.
    CREATE TABLE medical_records (
        id          TEXT PRIMARY KEY,
        record_id   TEXT NOT NULL,
        amends      TEXT,
        patient_id  TEXT NOT NULL,
        doc         TEXT NOT NULL,
        hlc         TEXT NOT NULL,
        pending     INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX medical_records_patient ON medical_records(patient_id);
    CREATE INDEX medical_records_chain ON medical_records(record_id);
    CREATE TABLE conflicts (
        id          TEXT PRIMARY KEY,
        entity      TEXT NOT NULL,
        entity_id   TEXT NOT NULL,
        kind        TEXT NOT NULL,
        doc         TEXT NOT NULL,
        detected_at TEXT NOT NULL
    );
    CREATE INDEX conflicts_entity ON conflicts(entity_id);
    CREATE TABLE merges (
        id         TEXT PRIMARY KEY,
        survivor   TEXT NOT NULL,
        duplicate  TEXT NOT NULL,
        doc        TEXT NOT NULL
    );
    "#,
    // 3: the audit trail (who viewed and changed what, and sign-ins), uploaded with pushes.
    r#"
    CREATE TABLE audit_log (
        seq        INTEGER PRIMARY KEY AUTOINCREMENT,
        id         TEXT NOT NULL UNIQUE,
        at         TEXT NOT NULL,
        user_id    TEXT,
        device_id  TEXT NOT NULL,
        action     TEXT NOT NULL,
        entity     TEXT,
        entity_id  TEXT,
        patient_id TEXT,
        sent       INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX audit_log_unsent ON audit_log(sent, seq);
    CREATE INDEX audit_log_patient ON audit_log(patient_id);
    "#,
    // 4: health cards: what offline verification needs (`GET /sync/cards`), and local check-ins.
    r#"
    CREATE TABLE card_keys (
        id          INTEGER PRIMARY KEY CHECK (id = 1),
        issuer      TEXT NOT NULL,
        jwks        TEXT NOT NULL,
        revoked     TEXT NOT NULL,
        fetched_at  TEXT NOT NULL
    );
    -- Cards of this clinic (ids only); `qr_text` and `issued_at` only for cards issued here.
    CREATE TABLE cards (
        card_id        TEXT PRIMARY KEY,
        patient_id     TEXT NOT NULL,
        fallback_code  TEXT NOT NULL,
        expires_at     INTEGER NOT NULL,
        revoked        INTEGER NOT NULL DEFAULT 0,
        qr_text        TEXT,
        issued_at      TEXT
    );
    CREATE INDEX cards_fallback ON cards(fallback_code);
    CREATE INDEX cards_patient ON cards(patient_id);
    -- Queue numbers handed out on this device (a re-scan shows the same number).
    CREATE TABLE check_ins (
        appointment_id  TEXT PRIMARY KEY,
        date            TEXT NOT NULL,
        queue_number    INTEGER NOT NULL,
        at              TEXT NOT NULL
    );
    CREATE INDEX check_ins_date ON check_ins(date);
    "#,
    // 5: staff as the change log announces them (protocol v2); `notify` until the workstation
    // has applied the change to its offline sign-in (a crash in between leaves it to do again).
    r#"
    CREATE TABLE staff (
        user_id  TEXT PRIMARY KEY,
        user     TEXT NOT NULL,
        notify   INTEGER NOT NULL DEFAULT 1
    );
    CREATE INDEX staff_notify ON staff(notify) WHERE notify = 1;
    "#,
    // 6: search-as-you-type over a clinic's patients without scanning them: a trigram index of
    // each patient's search text (substring matches, as LIKE '%…%' gave, for words of 3+
    // characters), kept in step with `patients` by triggers. External content: the text lives once,
    // in `patients.search`; the index keys on `patients.rowid`, which upserts keep (the replica is
    // never VACUUMed, which could renumber it).
    r#"
    CREATE VIRTUAL TABLE patients_fts USING fts5(
        search, content = 'patients', content_rowid = 'rowid', tokenize = 'trigram'
    );
    CREATE TRIGGER patients_fts_insert AFTER INSERT ON patients BEGIN
        INSERT INTO patients_fts(rowid, search) VALUES (new.rowid, new.search);
    END;
    CREATE TRIGGER patients_fts_delete AFTER DELETE ON patients BEGIN
        INSERT INTO patients_fts(patients_fts, rowid, search) VALUES ('delete', old.rowid, old.search);
    END;
    CREATE TRIGGER patients_fts_update AFTER UPDATE OF search ON patients BEGIN
        INSERT INTO patients_fts(patients_fts, rowid, search) VALUES ('delete', old.rowid, old.search);
        INSERT INTO patients_fts(rowid, search) VALUES (new.rowid, new.search);
    END;
    INSERT INTO patients_fts(patients_fts) VALUES ('rebuild');
    -- Results come in name order: sorting thousands of matches (a common fragment) by reading
    -- each patient's row costs tens of milliseconds; this narrow table (rowid = patients.rowid)
    -- holds just the sort key and the deleted flag, so the matches sort from a few dense pages and
    -- only the rows shown are read.
    CREATE TABLE patient_sort (
        rowid    INTEGER PRIMARY KEY,
        sortkey  TEXT NOT NULL,
        deleted  INTEGER NOT NULL
    );
    CREATE TRIGGER patient_sort_insert AFTER INSERT ON patients BEGIN
        INSERT INTO patient_sort(rowid, sortkey, deleted)
        VALUES (new.rowid, lower(coalesce(new.family_name, '')) || char(31) || lower(coalesce(new.given_name, '')), new.deleted);
    END;
    CREATE TRIGGER patient_sort_delete AFTER DELETE ON patients BEGIN
        DELETE FROM patient_sort WHERE rowid = old.rowid;
    END;
    CREATE TRIGGER patient_sort_update AFTER UPDATE OF family_name, given_name, deleted ON patients BEGIN
        UPDATE patient_sort
        SET sortkey = lower(coalesce(new.family_name, '')) || char(31) || lower(coalesce(new.given_name, '')), deleted = new.deleted
        WHERE rowid = new.rowid;
    END;
    INSERT INTO patient_sort(rowid, sortkey, deleted)
    SELECT rowid, lower(coalesce(family_name, '')) || char(31) || lower(coalesce(given_name, '')), deleted FROM patients;
    "#,
    // 10: audit entries carry their author's signature (JSON `Signature`, ADR 0014).
    r#"
    ALTER TABLE audit_log ADD COLUMN signature TEXT;
    "#,
    // 11: money on the device (docs/ledger.md): the price list as last fetched, the offline
    // allowances this device holds, and charges made offline until the server settles them.
    r#"
    CREATE TABLE money_prices (
        code TEXT PRIMARY KEY,
        item TEXT NOT NULL
    );
    CREATE TABLE money_allowances (
        id          TEXT PRIMARY KEY,
        patient     TEXT NOT NULL,
        wallet      TEXT NOT NULL,
        personal    INTEGER NOT NULL,
        reserved    INTEGER NOT NULL,
        per_charge  INTEGER NOT NULL,
        max_count   INTEGER NOT NULL,
        expires_at  INTEGER NOT NULL,
        spent       INTEGER NOT NULL DEFAULT 0,
        used        INTEGER NOT NULL DEFAULT 0,
        pin_verifier TEXT,
        pin_failures INTEGER NOT NULL DEFAULT 0,
        returned    INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX money_allowances_patient ON money_allowances(patient);
    CREATE TABLE money_charges (
        id       TEXT PRIMARY KEY,
        patient  TEXT NOT NULL,
        request  TEXT NOT NULL,
        receipt  TEXT NOT NULL,
        state    TEXT NOT NULL,
        code     TEXT,
        message  TEXT,
        made_at  INTEGER NOT NULL
    );
    CREATE INDEX money_charges_state ON money_charges(state, made_at);
    CREATE INDEX money_charges_patient ON money_charges(patient, made_at);
    "#,
    // 12: a sponsorship's terms with each allowance of its wallet (eligibility offline)
    r#"
    ALTER TABLE money_allowances ADD COLUMN terms TEXT;
    -- Pre-approval requests: sent at once when online, queued here when not (sent at sync),
    -- with the server's answer as last seen.
    CREATE TABLE pre_approvals (
        id         TEXT PRIMARY KEY,
        patient    TEXT NOT NULL,
        request    TEXT NOT NULL,
        view       TEXT,
        sent       INTEGER NOT NULL DEFAULT 0,
        made_at    INTEGER NOT NULL
    );
    CREATE INDEX pre_approvals_unsent ON pre_approvals(sent, made_at);
    CREATE INDEX pre_approvals_patient ON pre_approvals(patient, made_at);
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
