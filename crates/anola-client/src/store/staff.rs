//! Staff of the clinic as the change log announces them (protocol v2). The workstation applies
//! each change to its offline sign-in (a disabled account is removed from the device); rows stay
//! marked until it has, so a crash between the pull and that step only repeats the step.

use super::LocalStore;
use crate::error::ClientError;
use anola_protocol::auth::SessionUser;
use rusqlite::params;

pub(crate) fn upsert(tx: &rusqlite::Connection, u: &SessionUser) -> Result<(), ClientError> {
    tx.execute(
        "INSERT INTO staff(user_id, user, notify) VALUES (?1, ?2, 1)
         ON CONFLICT(user_id) DO UPDATE SET user = excluded.user, notify = 1",
        params![u.id.to_string(), serde_json::to_string(u)?],
    )?;
    Ok(())
}

impl LocalStore {
    /// Staff changes not yet applied to offline sign-in, oldest first.
    pub fn unapplied_staff_changes(&self) -> Result<Vec<SessionUser>, ClientError> {
        let mut stmt = self.conn().prepare_cached("SELECT user FROM staff WHERE notify = 1")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for json in rows {
            out.push(serde_json::from_str(&json?)?);
        }
        Ok(out)
    }

    /// Marks these staff changes as applied (unless a newer one arrived meanwhile).
    pub fn staff_changes_applied(&self, users: &[SessionUser]) -> Result<(), ClientError> {
        for u in users {
            self.conn().execute(
                "UPDATE staff SET notify = 0 WHERE user_id = ?1 AND user = ?2",
                params![u.id.to_string(), serde_json::to_string(u)?],
            )?;
        }
        Ok(())
    }
}
