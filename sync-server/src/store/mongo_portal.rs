//! `PortalStore` on MongoDB / FerretDB. Collections: `device_status` (`_id` device id; one
//! upsert per sync request, point reads for the fleet view) and `consents` (`_id` patient id).

use super::mongo::{from_bson, is_duplicate_key, to_bson, unavailable, MongoStore, READ_FANOUT};
use super::portal::{stale_hours, DeviceStatusRecord, HourCounts, PortalStore, SyncOutcome, HOUR_MS};
use super::StoreError;
use anola_protocol::portal::Consents;
use async_trait::async_trait;
use futures::future::join_all;
use mongodb::bson::{doc, Bson, Document};
use uuid::Uuid;

const STATUS: &str = "device_status";
const CONSENTS: &str = "consents";

impl MongoStore {
    /// An upsert by `_id`. Two racing upserts of a new id both try to insert, and one gets a
    /// duplicate key: the document exists now, so the second try updates it.
    async fn upsert_by_id(&self, coll: &str, id: &str, update: Document) -> Result<(), StoreError> {
        for attempt in 0..2 {
            match self.coll(coll).update_one(doc! {"_id": id}, update.clone()).upsert(true).await {
                Ok(_) => return Ok(()),
                Err(e) if attempt == 0 && is_duplicate_key(&e) => continue,
                Err(e) => return Err(unavailable(e)),
            }
        }
        Ok(())
    }
}

fn status_from(d: Document) -> Result<DeviceStatusRecord, StoreError> {
    let int = |k: &str| d.get(k).and_then(Bson::as_i64);
    let text = |k: &str| d.get_str(k).ok().map(str::to_owned);
    let mut hours = std::collections::BTreeMap::new();
    if let Ok(h) = d.get_document("hours") {
        for (k, v) in h {
            let (Ok(hour), Some(c)) = (k.parse::<i64>(), v.as_document()) else {
                continue;
            };
            let n = |f: &str| {
                c.get(f)
                    .and_then(Bson::as_i64)
                    .or_else(|| c.get(f).and_then(Bson::as_i32).map(i64::from))
            };
            hours.insert(
                hour,
                HourCounts {
                    ok: n("ok").unwrap_or(0).max(0) as u64,
                    failed: n("failed").unwrap_or(0).max(0) as u64,
                },
            );
        }
    }
    Ok(DeviceStatusRecord {
        device_id: text("_id").unwrap_or_default(),
        clinic_id: text("clinic_id").unwrap_or_default(),
        name: text("name"),
        last_seen_ms: int("last_seen_ms"),
        last_ok_ms: int("last_ok_ms"),
        last_error: text("last_error"),
        last_error_ms: int("last_error_ms"),
        report: match d.get("report") {
            Some(b @ Bson::Document(_)) => Some(from_bson(b.clone())?),
            _ => None,
        },
        hours,
    })
}

#[async_trait]
impl PortalStore for MongoStore {
    async fn record_sync(&self, device_id: &str, clinic_id: &str, at_ms: i64, outcome: &SyncOutcome) -> Result<(), StoreError> {
        let hour = at_ms - at_ms.rem_euclid(HOUR_MS);
        let mut set = doc! {"clinic_id": clinic_id, "last_seen_ms": at_ms};
        let mut inc = doc! {};
        match outcome {
            SyncOutcome::Ok(report) => {
                inc.insert(format!("hours.{hour}.ok"), 1i64);
                set.insert("last_ok_ms", at_ms);
                if let Some(r) = report {
                    set.insert("report", to_bson(r)?);
                }
            }
            SyncOutcome::Failed(code) => {
                inc.insert(format!("hours.{hour}.failed"), 1i64);
                set.insert("last_error", code.as_str());
                set.insert("last_error_ms", at_ms);
            }
        }
        let mut unset = doc! {};
        for h in stale_hours(hour) {
            unset.insert(format!("hours.{h}"), "");
        }
        self.upsert_by_id(STATUS, device_id, doc! {"$set": set, "$inc": inc, "$unset": unset})
            .await
    }

    async fn device_statuses(&self, device_ids: &[String]) -> Result<Vec<DeviceStatusRecord>, StoreError> {
        let mut out = Vec::new();
        for chunk in device_ids.chunks(READ_FANOUT) {
            let found = join_all(chunk.iter().map(|id| self.find_by_id(STATUS, id))).await;
            for d in found {
                if let Some(d) = d? {
                    out.push(status_from(d)?);
                }
            }
        }
        Ok(out)
    }

    async fn rename_device(&self, device_id: &str, clinic_id: &str, name: &str) -> Result<(), StoreError> {
        self.upsert_by_id(STATUS, device_id, doc! {"$set": {"name": name, "clinic_id": clinic_id}})
            .await
    }

    async fn consents(&self, patient: Uuid) -> Result<Option<Consents>, StoreError> {
        match self.find_by_id(CONSENTS, &patient.to_string()).await? {
            Some(mut d) => {
                d.remove("_id");
                Ok(Some(from_bson(Bson::Document(d))?))
            }
            None => Ok(None),
        }
    }

    async fn set_consents(&self, patient: Uuid, c: &Consents) -> Result<(), StoreError> {
        let Bson::Document(d) = to_bson(c)? else {
            return Err(StoreError::Corrupt("consents are not a document".into()));
        };
        self.upsert_by_id(CONSENTS, &patient.to_string(), doc! {"$set": d}).await
    }
}
