//! The health-card cache: what `GET /sync/cards` returned (issuer, public keys, revocations, card
//! summaries), so any card can be verified with no network; plus the queue numbers handed out by
//! check-ins on this device.

use super::audit::rfc3339_now;
use super::LocalStore;
use crate::error::ClientError;
use anola_cards::{JwkSet, RevocationList};
use anola_protocol::cards::{CardSummary, CardsSync, IssuedCard};
use rusqlite::{params, OptionalExtension};
use uuid::Uuid;

/// The cached verification material.
#[derive(Debug, Clone)]
pub struct CardKeys {
    pub issuer: String,
    pub jwks: JwkSet,
    pub revoked: RevocationList,
    /// RFC 3339: when this device last fetched it.
    pub fetched_at: String,
}

/// One cached card (with its QR text when it was issued on this device).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedCard {
    pub summary: CardSummary,
    pub qr_text: Option<String>,
    pub issued_at: Option<String>,
}

type Row = (String, String, String, i64, bool, Option<String>, Option<String>);

fn card_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?))
}

fn to_card(row: Row) -> Result<CachedCard, ClientError> {
    let (card_id, patient, fallback_code, expires_at, revoked, qr_text, issued_at) = row;
    let patient_id = Uuid::parse_str(&patient).map_err(|e| ClientError::Storage {
        message: format!("cached card {card_id} has a bad patient id: {e}"),
    })?;
    Ok(CachedCard {
        summary: CardSummary {
            card_id,
            patient_id,
            fallback_code,
            expires_at,
            revoked,
        },
        qr_text,
        issued_at,
    })
}

/// Merges one announced card (change log) into the cache. Never un-revokes: a revocation is final.
pub(crate) fn upsert_card(tx: &rusqlite::Connection, c: &CardSummary) -> Result<(), ClientError> {
    tx.execute(
        "INSERT INTO cards(card_id, patient_id, fallback_code, expires_at, revoked) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(card_id) DO UPDATE SET patient_id = excluded.patient_id, fallback_code = excluded.fallback_code,
            expires_at = excluded.expires_at, revoked = MAX(cards.revoked, excluded.revoked)",
        params![
            c.card_id,
            c.patient_id.to_string(),
            anola_cards::check_fallback_format(&c.fallback_code).unwrap_or_else(|_| c.fallback_code.clone()),
            c.expires_at,
            c.revoked
        ],
    )?;
    Ok(())
}

const CARD_COLUMNS: &str = "card_id, patient_id, fallback_code, expires_at, revoked, qr_text, issued_at";

impl LocalStore {
    /// Replaces the cache with a fresh `CardsSync` (QR texts of cards issued here are kept).
    pub fn save_card_cache(&mut self, sync: &CardsSync) -> Result<(), ClientError> {
        // Refuse a key set that does not parse rather than caching something unusable.
        let _: JwkSet = serde_json::from_value(sync.jwks.clone()).map_err(|e| ClientError::Internal {
            message: format!("the server sent an unreadable card key set: {e}"),
        })?;
        let tx = self.conn_mut().transaction()?;
        tx.execute(
            "INSERT INTO card_keys(id, issuer, jwks, revoked, fetched_at) VALUES (1, ?1, ?2, ?3, ?4)
             ON CONFLICT(id) DO UPDATE SET issuer = excluded.issuer, jwks = excluded.jwks, revoked = excluded.revoked,
                fetched_at = excluded.fetched_at",
            params![
                sync.issuer,
                serde_json::to_string(&sync.jwks)?,
                serde_json::to_string(&sync.revoked)?,
                rfc3339_now()
            ],
        )?;
        let mut keep = Vec::with_capacity(sync.cards.len());
        for c in &sync.cards {
            tx.execute(
                "INSERT INTO cards(card_id, patient_id, fallback_code, expires_at, revoked) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(card_id) DO UPDATE SET patient_id = excluded.patient_id, fallback_code = excluded.fallback_code,
                    expires_at = excluded.expires_at, revoked = excluded.revoked",
                params![
                    c.card_id,
                    c.patient_id.to_string(),
                    anola_cards::check_fallback_format(&c.fallback_code).unwrap_or_else(|_| c.fallback_code.clone()),
                    c.expires_at,
                    c.revoked || sync.revoked.contains(&c.card_id)
                ],
            )?;
            keep.push(c.card_id.clone());
        }
        // Cards the server no longer lists are forgotten, unless issued here (kept for reprints).
        let listed = serde_json::to_string(&keep)?;
        tx.execute(
            "DELETE FROM cards WHERE qr_text IS NULL AND card_id NOT IN (SELECT value FROM json_each(?1))",
            [listed],
        )?;
        for id in &sync.revoked {
            tx.execute("UPDATE cards SET revoked = 1 WHERE card_id = ?1", [id])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Replaces the cached issuer and key set (`GET /sync/card-keys`); cards and revocations stay.
    pub fn save_card_keys(&mut self, issuer: &str, jwks: &serde_json::Value) -> Result<(), ClientError> {
        let _: JwkSet = serde_json::from_value(jwks.clone()).map_err(|e| ClientError::Internal {
            message: format!("the server sent an unreadable card key set: {e}"),
        })?;
        self.conn().execute(
            "INSERT INTO card_keys(id, issuer, jwks, revoked, fetched_at) VALUES (1, ?1, ?2, '[]', ?3)
             ON CONFLICT(id) DO UPDATE SET issuer = excluded.issuer, jwks = excluded.jwks, fetched_at = excluded.fetched_at",
            params![issuer, serde_json::to_string(jwks)?, rfc3339_now()],
        )?;
        Ok(())
    }

    /// Remembers a card just issued here (before the next refresh lists it), and the cards it
    /// replaced as revoked.
    pub fn remember_issued_card(&mut self, card: &IssuedCard, expires_at: i64) -> Result<(), ClientError> {
        let tx = self.conn_mut().transaction()?;
        tx.execute(
            "INSERT INTO cards(card_id, patient_id, fallback_code, expires_at, revoked, qr_text, issued_at)
             VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6)
             ON CONFLICT(card_id) DO UPDATE SET qr_text = excluded.qr_text, issued_at = excluded.issued_at",
            params![
                card.card_id,
                card.patient_id.to_string(),
                anola_cards::check_fallback_format(&card.fallback_code).unwrap_or_else(|_| card.fallback_code.clone()),
                expires_at,
                card.qr_text,
                card.issued_at
            ],
        )?;
        for id in &card.replaced {
            tx.execute("UPDATE cards SET revoked = 1 WHERE card_id = ?1", [id])?;
            let revoked: Option<String> = tx
                .query_row("SELECT revoked FROM card_keys WHERE id = 1", [], |r| r.get(0))
                .optional()?;
            if let Some(json) = revoked {
                let mut list: Vec<String> = serde_json::from_str(&json)?;
                if !list.contains(id) {
                    list.push(id.clone());
                    tx.execute("UPDATE card_keys SET revoked = ?1 WHERE id = 1", [serde_json::to_string(&list)?])?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The cached keys, issuer and revocations; `None` before the first refresh.
    pub fn card_keys(&self) -> Result<Option<CardKeys>, ClientError> {
        let row: Option<(String, String, String, String)> = self
            .conn()
            .query_row("SELECT issuer, jwks, revoked, fetched_at FROM card_keys WHERE id = 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .optional()?;
        let Some((issuer, jwks, revoked, fetched_at)) = row else {
            return Ok(None);
        };
        let mut list = RevocationList::new();
        for id in serde_json::from_str::<Vec<String>>(&revoked)? {
            list.revoke(id);
        }
        // Revocations announced through the change log land on the cards themselves.
        let mut stmt = self.conn().prepare_cached("SELECT card_id FROM cards WHERE revoked = 1")?;
        for id in stmt.query_map([], |r| r.get::<_, String>(0))? {
            list.revoke(id?);
        }
        Ok(Some(CardKeys {
            issuer,
            jwks: serde_json::from_str(&jwks)?,
            revoked: list,
            fetched_at,
        }))
    }

    /// The card with this fallback code (any accepted spelling of it).
    pub fn card_by_fallback(&self, code: &str) -> Result<Option<CachedCard>, ClientError> {
        let canonical = anola_cards::check_fallback_format(code).unwrap_or_else(|_| code.to_owned());
        let row = self
            .conn()
            .query_row(
                &format!("SELECT {CARD_COLUMNS} FROM cards WHERE fallback_code = ?1 ORDER BY revoked, expires_at DESC LIMIT 1"),
                [canonical],
                card_row,
            )
            .optional()?;
        row.map(to_card).transpose()
    }

    pub fn card_by_id(&self, card_id: &str) -> Result<Option<CachedCard>, ClientError> {
        let row = self
            .conn()
            .query_row(&format!("SELECT {CARD_COLUMNS} FROM cards WHERE card_id = ?1"), [card_id], card_row)
            .optional()?;
        row.map(to_card).transpose()
    }

    /// A patient's cards, current (not revoked, latest expiry) first.
    pub fn cards_of_patient(&self, patient: Uuid) -> Result<Vec<CachedCard>, ClientError> {
        let mut stmt = self.conn().prepare(&format!(
            "SELECT {CARD_COLUMNS} FROM cards WHERE patient_id = ?1 ORDER BY revoked, expires_at DESC"
        ))?;
        let rows = stmt.query_map([patient.to_string()], card_row)?;
        rows.map(|r| to_card(r?)).collect()
    }

    /// The queue number already given to this appointment's check-in on this device.
    pub fn check_in_number(&self, appointment: Uuid) -> Result<Option<u32>, ClientError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT queue_number FROM check_ins WHERE appointment_id = ?1",
                [appointment.to_string()],
                |r| r.get(0),
            )
            .optional()?)
    }

    pub fn record_check_in(&self, appointment: Uuid, date: &str, queue_number: u32) -> Result<(), ClientError> {
        self.conn().execute(
            "INSERT OR IGNORE INTO check_ins(appointment_id, date, queue_number, at) VALUES (?1, ?2, ?3, ?4)",
            params![appointment.to_string(), date, queue_number, rfc3339_now()],
        )?;
        Ok(())
    }
}
