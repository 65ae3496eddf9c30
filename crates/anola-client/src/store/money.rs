//! Money on the device: the price list as last fetched, the offline allowances it holds and the
//! charges it made offline until the server settles them (docs/ledger.md). Each charge and the
//! allowance spending it does commit in one transaction, so a crash never leaves one without the
//! other.

use super::{get_meta, set_meta, LocalStore};
use crate::error::ClientError;
use anola_protocol::money::{AllowanceGrant, ChargeRequest, PriceItem, Receipt};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use uuid::Uuid;

/// An allowance as the device tracks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LocalAllowance {
    pub id: Uuid,
    pub patient: String,
    pub wallet: String,
    pub personal: bool,
    pub reserved: u64,
    pub per_charge: u64,
    pub max_count: u32,
    pub expires_at: i64,
    pub spent: u64,
    pub used: u32,
    #[serde(skip)]
    pub pin_verifier: Option<String>,
    pub pin_failures: u32,
    pub returned: bool,
    /// The sponsorship's terms (sponsored wallets of a sponsorship).
    pub terms: Option<anola_protocol::money::Eligibility>,
}

impl LocalAllowance {
    /// What it can still pay for one charge at `now` (device clock).
    pub fn room(&self, now: i64) -> u64 {
        if self.returned || now >= self.expires_at || self.used >= self.max_count {
            return 0;
        }
        self.reserved.saturating_sub(self.spent).min(self.per_charge)
    }
}

/// A charge as the device keeps it: made offline (`pending` until settled), `settled` with the
/// server's receipt, or `refused` with the server's code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LocalCharge {
    pub id: Uuid,
    pub patient: String,
    pub receipt: Receipt,
    pub state: String,
    pub code: Option<String>,
    pub message: Option<String>,
    pub made_at: i64,
}

fn allowance_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<LocalAllowance> {
    let id: String = r.get(0)?;
    Ok(LocalAllowance {
        id: Uuid::parse_str(&id).unwrap_or_default(),
        patient: r.get(1)?,
        wallet: r.get(2)?,
        personal: r.get(3)?,
        reserved: r.get::<_, i64>(4)? as u64,
        per_charge: r.get::<_, i64>(5)? as u64,
        max_count: r.get::<_, i64>(6)? as u32,
        expires_at: r.get(7)?,
        spent: r.get::<_, i64>(8)? as u64,
        used: r.get::<_, i64>(9)? as u32,
        pin_verifier: r.get(10)?,
        pin_failures: r.get::<_, i64>(11)? as u32,
        returned: r.get(12)?,
        terms: r.get::<_, Option<String>>(13)?.and_then(|t| serde_json::from_str(&t).ok()),
    })
}

const ALLOWANCE_COLUMNS: &str =
    "id, patient, wallet, personal, reserved, per_charge, max_count, expires_at, spent, used, pin_verifier, pin_failures, returned, terms";

impl LocalStore {
    /// Replaces the cached price list (and the platform fee) with what the server sent.
    pub fn save_prices(&mut self, items: &[PriceItem], fee_bps: u32) -> Result<(), ClientError> {
        let tx = self.conn_mut().transaction()?;
        tx.execute("DELETE FROM money_prices", [])?;
        for i in items {
            tx.execute(
                "INSERT INTO money_prices(code, item) VALUES (?1, ?2)",
                params![i.code, serde_json::to_string(i)?],
            )?;
        }
        set_meta(&tx, "money_fee_bps", &fee_bps.to_string())?;
        tx.commit()?;
        Ok(())
    }

    pub fn prices(&self) -> Result<(Vec<PriceItem>, u32), ClientError> {
        let mut stmt = self.conn().prepare("SELECT item FROM money_prices ORDER BY code")?;
        let items = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .map(|s| Ok(serde_json::from_str(&s?)?))
            .collect::<Result<Vec<PriceItem>, ClientError>>()?;
        let fee = get_meta(self.conn(), "money_fee_bps")?.and_then(|s| s.parse().ok()).unwrap_or(0);
        Ok((items, fee))
    }

    pub fn save_allowance(&mut self, g: &AllowanceGrant, personal: bool) -> Result<(), ClientError> {
        let a = &g.allowance;
        self.conn().execute(
            "INSERT INTO money_allowances(id, patient, wallet, personal, reserved, per_charge, max_count, expires_at, pin_verifier, terms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT(id) DO NOTHING",
            params![
                a.spec.id.to_string(),
                a.spec.patient,
                a.spec.wallet.0,
                personal,
                a.reserved as i64,
                a.spec.per_charge as i64,
                a.spec.max_count as i64,
                a.spec.expires_at,
                g.pin_verifier,
                g.terms.as_ref().map(|t| serde_json::to_string(t).unwrap_or_default())
            ],
        )?;
        Ok(())
    }

    /// The patient's allowances on this device, sponsored before personal, oldest expiry first.
    pub fn allowances_for(&self, patient: &str) -> Result<Vec<LocalAllowance>, ClientError> {
        let mut stmt = self.conn().prepare(&format!(
            "SELECT {ALLOWANCE_COLUMNS} FROM money_allowances WHERE patient = ?1 AND returned = 0 ORDER BY personal, expires_at"
        ))?;
        let rows = stmt.query_map([patient], allowance_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Every allowance not yet returned (for the return at sync).
    pub fn open_allowances(&self) -> Result<Vec<LocalAllowance>, ClientError> {
        let mut stmt = self
            .conn()
            .prepare(&format!("SELECT {ALLOWANCE_COLUMNS} FROM money_allowances WHERE returned = 0"))?;
        let rows = stmt.query_map([], allowance_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    pub fn mark_returned(&mut self, id: Uuid) -> Result<(), ClientError> {
        self.conn()
            .execute("UPDATE money_allowances SET returned = 1 WHERE id = ?1", [id.to_string()])?;
        Ok(())
    }

    /// Counts a wrong (or clears the count on a right) wallet PIN for the patient on this device.
    pub fn wallet_pin_entered(&mut self, patient: &str, ok: bool) -> Result<(), ClientError> {
        let sql = if ok {
            "UPDATE money_allowances SET pin_failures = 0 WHERE patient = ?1"
        } else {
            "UPDATE money_allowances SET pin_failures = pin_failures + 1 WHERE patient = ?1"
        };
        self.conn().execute(sql, [patient])?;
        Ok(())
    }

    /// Stores an offline charge and what it took from each allowance, together; refused (and
    /// nothing stored) if an allowance no longer has the room (a second window racing this one).
    pub fn record_offline_charge(&mut self, request: &ChargeRequest, receipt: &Receipt, now: i64) -> Result<(), ClientError> {
        let tx = self.conn_mut().transaction()?;
        if let Some(off) = &request.offline {
            for u in &off.allowances {
                let n = tx.execute(
                    "UPDATE money_allowances SET spent = spent + ?2, used = used + 1
                     WHERE id = ?1 AND returned = 0 AND spent + ?2 <= reserved AND used < max_count AND ?2 <= per_charge AND expires_at > ?3",
                    params![u.allowance.to_string(), u.amount as i64, now],
                )?;
                if n != 1 {
                    return Err(ClientError::MoneyRefused {
                        reason: "allowance_exhausted".into(),
                        field: Some("offline.allowances".into()),
                        message: "an offline allowance no longer has room for this charge; charge again".into(),
                    });
                }
            }
        }
        tx.execute(
            "INSERT INTO money_charges(id, patient, request, receipt, state, made_at) VALUES (?1, ?2, ?3, ?4, 'pending', ?5)",
            params![
                request.id.to_string(),
                request.patient,
                serde_json::to_string(request)?,
                serde_json::to_string(receipt)?,
                now
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Offline charges not settled yet, oldest first.
    pub fn pending_charges(&self, limit: u32) -> Result<Vec<ChargeRequest>, ClientError> {
        let mut stmt = self
            .conn()
            .prepare("SELECT request FROM money_charges WHERE state = 'pending' ORDER BY made_at LIMIT ?1")?;
        let rows = stmt
            .query_map([limit], |r| r.get::<_, String>(0))?
            .map(|s| Ok(serde_json::from_str(&s?)?))
            .collect::<Result<Vec<_>, ClientError>>()?;
        Ok(rows)
    }

    pub fn pending_charge_count(&self) -> Result<u64, ClientError> {
        Ok(self
            .conn()
            .query_row("SELECT count(*) FROM money_charges WHERE state = 'pending'", [], |r| {
                r.get::<_, i64>(0)
            })? as u64)
    }

    /// The server's receipt replaces the provisional one.
    pub fn settle_charge(&mut self, id: Uuid, receipt: &Receipt) -> Result<(), ClientError> {
        self.conn().execute(
            "UPDATE money_charges SET state = 'settled', receipt = ?2, code = NULL, message = NULL WHERE id = ?1",
            params![id.to_string(), serde_json::to_string(receipt)?],
        )?;
        Ok(())
    }

    /// The server refused it for good: kept, visible with the code, for staff to resolve.
    pub fn refuse_charge(&mut self, id: Uuid, code: &str, message: &str) -> Result<(), ClientError> {
        self.conn().execute(
            "UPDATE money_charges SET state = 'refused', code = ?2, message = ?3 WHERE id = ?1",
            params![id.to_string(), code, message],
        )?;
        Ok(())
    }

    /// A charge this device made or settled, by id.
    pub fn local_charge(&self, id: Uuid) -> Result<Option<LocalCharge>, ClientError> {
        let row = self
            .conn()
            .query_row(
                "SELECT id, patient, receipt, state, code, message, made_at FROM money_charges WHERE id = ?1",
                [id.to_string()],
                charge_row,
            )
            .optional()?;
        row.map(|r| r.finish()).transpose()
    }

    /// The patient's charges kept on this device, newest first.
    pub fn local_charges(&self, patient: &str, limit: u32) -> Result<Vec<LocalCharge>, ClientError> {
        let mut stmt = self.conn().prepare(
            "SELECT id, patient, receipt, state, code, message, made_at FROM money_charges WHERE patient = ?1 ORDER BY made_at DESC LIMIT ?2",
        )?;
        let rows = stmt
            .query_map(params![patient, limit], charge_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(|r| r.finish()).collect()
    }

    /// Keeps a receipt the server gave for an online charge, so it can be printed again offline.
    pub fn keep_receipt(&mut self, request: &ChargeRequest, receipt: &Receipt, now: i64) -> Result<(), ClientError> {
        self.conn().execute(
            "INSERT INTO money_charges(id, patient, request, receipt, state, made_at) VALUES (?1, ?2, ?3, ?4, 'settled', ?5)
             ON CONFLICT(id) DO UPDATE SET receipt = excluded.receipt, state = 'settled'",
            params![
                request.id.to_string(),
                request.patient,
                serde_json::to_string(request)?,
                serde_json::to_string(receipt)?,
                now
            ],
        )?;
        Ok(())
    }
}

struct ChargeRow(String, String, String, String, Option<String>, Option<String>, i64);

fn charge_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ChargeRow> {
    Ok(ChargeRow(
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

impl ChargeRow {
    fn finish(self) -> Result<LocalCharge, ClientError> {
        Ok(LocalCharge {
            id: Uuid::parse_str(&self.0).map_err(|e| ClientError::Storage { message: e.to_string() })?,
            patient: self.1,
            receipt: serde_json::from_str(&self.2)?,
            state: self.3,
            code: self.4,
            message: self.5,
            made_at: self.6,
        })
    }
}
