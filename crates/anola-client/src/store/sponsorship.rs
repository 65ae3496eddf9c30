//! Pre-approval requests on the device: queued when made offline, sent at the next sync, and the
//! server's answer as last seen (so a clinic with no network still shows it).

use super::LocalStore;
use crate::error::ClientError;
use anola_protocol::sponsor::{NewPreApproval, PreApprovalView};
use rusqlite::params;
use serde::Serialize;
use uuid::Uuid;

/// A pre-approval as the device knows it: the request, and the server's view once it has one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LocalPreApproval {
    pub request: NewPreApproval,
    pub view: Option<PreApprovalView>,
    pub sent: bool,
    pub made_at: i64,
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, Option<String>, bool, i64)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
}

fn parse(rows: Vec<(String, Option<String>, bool, i64)>) -> Vec<LocalPreApproval> {
    rows.into_iter()
        .filter_map(|(req, view, sent, made_at)| {
            Some(LocalPreApproval {
                request: serde_json::from_str(&req).ok()?,
                view: view.and_then(|v| serde_json::from_str(&v).ok()),
                sent,
                made_at,
            })
        })
        .collect()
}

impl LocalStore {
    /// Keeps a request (queued unless `view` says the server has it).
    pub fn keep_pre_approval(&mut self, req: &NewPreApproval, view: Option<&PreApprovalView>, now: i64) -> Result<(), ClientError> {
        let body = serde_json::to_string(req).map_err(|e| ClientError::Internal { message: e.to_string() })?;
        let view = view.map(|v| serde_json::to_string(v).unwrap_or_default());
        self.conn().execute(
            "INSERT INTO pre_approvals(id, patient, request, view, sent, made_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT(id) DO UPDATE SET view = COALESCE(excluded.view, view), sent = MAX(sent, excluded.sent)",
            params![req.id.to_string(), req.patient, body, view, view.is_some(), now],
        )?;
        Ok(())
    }

    /// Requests not yet sent, oldest first.
    pub fn unsent_pre_approvals(&self, limit: u32) -> Result<Vec<LocalPreApproval>, ClientError> {
        let mut stmt = self
            .conn()
            .prepare("SELECT request, view, sent, made_at FROM pre_approvals WHERE sent = 0 ORDER BY made_at LIMIT ?1")?;
        let rows = stmt.query_map([limit], row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(parse(rows))
    }

    pub fn pre_approvals_for(&self, patient: &str, limit: u32) -> Result<Vec<LocalPreApproval>, ClientError> {
        let mut stmt = self
            .conn()
            .prepare("SELECT request, view, sent, made_at FROM pre_approvals WHERE patient = ?1 ORDER BY made_at DESC LIMIT ?2")?;
        let rows = stmt
            .query_map(params![patient, limit], row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(parse(rows))
    }

    pub fn local_pre_approval(&self, id: Uuid) -> Result<Option<LocalPreApproval>, ClientError> {
        let mut stmt = self
            .conn()
            .prepare("SELECT request, view, sent, made_at FROM pre_approvals WHERE id = ?1")?;
        let rows = stmt.query_map([id.to_string()], row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(parse(rows).pop())
    }
}
