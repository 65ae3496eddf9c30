//! The machinery shared by per-field LWW entities (patients, appointments, providers): the
//! server-confirmed base, the shown state (base with unsent writes laid over it), and enqueueing
//! a local write together with its outbox entry.

use super::{now_ms, tick};
use crate::error::ClientError;
use anola_protocol::auth::AuditAction;
use anola_protocol::plan::visible_state;
use anola_protocol::signing::StaffKey;
use anola_protocol::wire::{EntityKind, Op};
use anola_protocol::{Hlc, LwwState, Mutation};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use std::collections::BTreeMap;
use uuid::Uuid;

pub(crate) fn load_base(tx: &Connection, entity: EntityKind, id: Uuid) -> Result<LwwState, ClientError> {
    let s: Option<String> = tx
        .query_row(
            "SELECT state FROM entity_base WHERE entity = ?1 AND id = ?2",
            params![entity.as_str(), id.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    Ok(match s {
        Some(s) => serde_json::from_str(&s)?,
        None => LwwState::new(),
    })
}

pub(crate) fn merge_base(tx: &Connection, entity: EntityKind, id: Uuid, incoming: &LwwState) -> Result<(), ClientError> {
    let mut base = load_base(tx, entity, id)?;
    if base.merge(incoming) {
        tx.execute(
            "INSERT INTO entity_base(entity, id, state) VALUES (?1, ?2, ?3) ON CONFLICT(entity, id) DO UPDATE SET state = excluded.state",
            params![entity.as_str(), id.to_string(), serde_json::to_string(&base)?],
        )?;
    }
    Ok(())
}

/// Unsent writes to one entity, oldest first.
pub(crate) fn pending_states(tx: &Connection, entity: EntityKind, id: Uuid) -> Result<Vec<LwwState>, ClientError> {
    let mut stmt = tx.prepare_cached("SELECT body FROM outbox WHERE entity = ?1 AND entity_id = ?2 AND status = 'pending' ORDER BY seq")?;
    let bodies = stmt.query_map(params![entity.as_str(), id.to_string()], |r| r.get::<_, String>(0))?;
    bodies
        .map(|b| -> Result<LwwState, ClientError> {
            let m: Mutation = serde_json::from_str(&b?)?;
            Ok(m.state())
        })
        .collect()
}

/// What the device shows for an entity, and whether it has unsent writes.
pub(crate) fn shown(tx: &Connection, entity: EntityKind, id: Uuid) -> Result<(LwwState, bool), ClientError> {
    let base = load_base(tx, entity, id)?;
    let pending = pending_states(tx, entity, id)?;
    Ok((visible_state(&base, pending.iter()), !pending.is_empty()))
}

/// Who makes a write: the device, the signed-in staff member and their signing key there.
pub(crate) struct Writer<'a> {
    pub device: &'a str,
    pub author: Option<Uuid>,
    pub key: Option<&'a StaffKey>,
}

/// Queues a local write: stamps it, records per changed field the stamp the user saw (so the server
/// can tell a concurrent edit), signs it and its audit entry with the author's key, and inserts the
/// outbox entry, all inside the caller's transaction.
pub(crate) fn enqueue(
    tx: &Transaction,
    writer: Writer<'_>,
    entity: EntityKind,
    id: Uuid,
    op: Op,
    fields: serde_json::Value,
) -> Result<Mutation, ClientError> {
    let Writer {
        device,
        author,
        key: signer,
    } = writer;
    let hlc = tick(tx, device)?;
    let base = if op == Op::Update && entity.is_lww() {
        let (seen, _) = shown(tx, entity, id)?;
        fields
            .as_object()
            .map(|m| {
                m.keys()
                    .map(|k| (k.clone(), seen.0.get(k).map(|s| s.hlc.clone())))
                    .collect::<BTreeMap<String, Option<Hlc>>>()
            })
            .unwrap_or_default()
    } else {
        BTreeMap::new()
    };
    let mut m = Mutation {
        id: Uuid::now_v7(),
        entity,
        entity_id: id,
        op,
        hlc,
        fields,
        base,
        author,
        signature: None,
    };
    if let (Some(_), Some(key)) = (author, signer) {
        key.sign_mutation(&mut m);
    }
    // The same size limit the server applies: a write too large to travel is refused here.
    if let Some(e) = m.size_error() {
        return Err(ClientError::validation(vec![e]));
    }
    tx.execute(
        "INSERT INTO outbox(mutation_id, entity, entity_id, body, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            m.id.to_string(),
            entity.as_str(),
            id.to_string(),
            serde_json::to_string(&m)?,
            now_ms() as i64
        ],
    )?;
    // The audit entry commits with the write it describes.
    let patient_id = match entity {
        EntityKind::Patient => Some(id),
        _ => m
            .fields
            .get("patient_id")
            .and_then(|v| v.as_str())
            .and_then(|s| s.parse::<Uuid>().ok())
            .or_else(|| {
                tx.query_row("SELECT patient_id FROM appointments WHERE id = ?1", [id.to_string()], |r| {
                    r.get::<_, Option<String>>(0)
                })
                .optional()
                .ok()
                .flatten()
                .flatten()
                .and_then(|s| s.parse().ok())
            }),
    };
    let mut e = super::audit::entry(device, author, AuditAction::Write, Some(entity), Some(id), patient_id);
    if let (Some(_), Some(key)) = (author, signer) {
        key.sign_audit(&mut e);
    }
    super::audit::insert(tx, &e)?;
    Ok(m)
}
