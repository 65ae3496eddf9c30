//! Each clinic's change log, stored in bucket collections of `BUCKET` entries.
//!
//! Why buckets: FerretDB's SQLite backend evaluates every filter, `_id` equality included, by
//! scanning the collection (its `_id` pushdown does not match the expression of its own `_id`
//! index; see docs/adr/0004-change-log-buckets.md). A pull therefore reads whole bucket
//! collections — one `find({})` returns the next up to `BUCKET` entries — so its cost depends on
//! the bucket size, never on how long the log has grown. Inserts stay cheap everywhere: SQLite
//! maintains the unique index on insert.
//!
//! The log's end is found from the newest bucket collection that holds an entry (listing the
//! collections, then reading that one bucket), so a restarted server learns it in constant time.
//!
//! Density (invariant L1): a sequence number is only written by someone who saw its predecessor
//! exist (its own earlier insert, a duplicate-key answer, or a probe). Entries of one push are
//! written with an ordered multi-insert, which stops at the first number another process took.

use super::mongo::{from_bson, is_duplicate_key, now, unavailable, MongoStore};
use super::{ChangeEntry, StoreError};
use anola_protocol::ChangeRecord;
use futures::TryStreamExt;
use mongodb::bson::{doc, Bson, Document};
use mongodb::error::ErrorKind;

/// How often a waiting pull checks for an entry appended by another server process (one point
/// read of the next number).
pub const LIVE_POLL: std::time::Duration = std::time::Duration::from_millis(300);

/// Entries per bucket collection.
pub const BUCKET: u64 = 64;
/// Records per entry: bounds an entry's size (a 500-mutation push becomes several entries) so a
/// bucket, and thus a pull page, stays a few megabytes at most.
pub const RECORDS_PER_ENTRY: usize = 64;

fn bucket_of(seq: u64) -> u64 {
    (seq - 1) / BUCKET
}

pub(crate) fn bucket_collection(clinic: &str, bucket: u64) -> String {
    format!("changes_{clinic}_{bucket:06}")
}

impl MongoStore {
    pub(crate) async fn entry_exists(&self, clinic: &str, seq: u64) -> Result<bool, StoreError> {
        Ok(self
            .coll(&bucket_collection(clinic, bucket_of(seq)))
            .find_one(doc! {"_id": seq as i64})
            .projection(doc! {"_id": 1})
            .await
            .map_err(unavailable)?
            .is_some())
    }

    /// The log's last sequence number, from the database: the newest bucket collection that holds
    /// an entry (one `listCollections`, then one bucket read), whatever the log's length. Entries
    /// are dense (L1), so the highest number in that bucket is the end of the log.
    pub(crate) async fn probe_log_head(&self, clinic: &str) -> Result<u64, StoreError> {
        let prefix = format!("changes_{clinic}_");
        let mut buckets: Vec<u64> = self
            .database()
            .list_collection_names()
            .await
            .map_err(unavailable)?
            .iter()
            .filter_map(|name| name.strip_prefix(&prefix))
            .filter(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()))
            .filter_map(|rest| rest.parse().ok())
            .collect();
        buckets.sort_unstable_by(|a, b| b.cmp(a));
        for bucket in buckets {
            // A bucket collection can exist empty (made just before a crash, or by a process that
            // has not inserted yet): then the log ends in an earlier one.
            let ids: Vec<Document> = self
                .coll(&bucket_collection(clinic, bucket))
                .find(doc! {})
                .projection(doc! {"_id": 1})
                .await
                .map_err(unavailable)?
                .try_collect()
                .await
                .map_err(unavailable)?;
            if let Some(max) = ids.iter().filter_map(|d| d.get_i64("_id").ok()).max() {
                return Ok(max as u64);
            }
        }
        Ok(0)
    }

    /// Writes `chunks` as consecutive entries starting at `seq`; returns how many landed before a
    /// number taken by another process (ordered insert: nothing after that number is written).
    async fn insert_run(&self, clinic: &str, seq: u64, chunks: &[Vec<ChangeRecord>]) -> Result<(usize, bool), StoreError> {
        // Stay inside one bucket collection per call.
        let room = (BUCKET - (seq - 1) % BUCKET) as usize;
        let n = chunks.len().min(room);
        let bucket = bucket_collection(clinic, bucket_of(seq));
        self.ensure_collection(&bucket).await?;
        let at = now();
        let docs = chunks[..n]
            .iter()
            .enumerate()
            .map(|(i, records)| {
                // The records travel as one JSON string: FerretDB stores and returns a string
                // without decoding a nested document per field (which made bucket reads several
                // times slower), and the server hands the records on as JSON anyway.
                let json = serde_json::to_string(records).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                Ok(doc! {"_id": (seq + i as u64) as i64, "clinic_id": clinic, "count": records.len() as i64, "records_json": json, "created_at": at})
            })
            .collect::<Result<Vec<Document>, StoreError>>()?;
        match self.coll(&bucket).insert_many(docs).ordered(true).await {
            Ok(_) => Ok((n, false)),
            Err(e) => match e.kind.as_ref() {
                ErrorKind::InsertMany(ime) if ime.write_concern_error.is_none() => {
                    let first = ime.write_errors.iter().flatten().map(|w| (w.index, w.code)).min();
                    match first {
                        Some((index, 11000)) => Ok((index, true)),
                        _ => Err(unavailable(e)),
                    }
                }
                _ if is_duplicate_key(&e) => Ok((0, true)),
                _ => Err(unavailable(e)),
            },
        }
    }

    pub(crate) async fn append_entries(&self, clinic: &str, records: Vec<ChangeRecord>) -> Result<u64, StoreError> {
        let chunks: Vec<Vec<ChangeRecord>> = records.chunks(RECORDS_PER_ENTRY).map(<[ChangeRecord]>::to_vec).collect();
        let mut next = self.next_seq.lock().await;
        let mut seq = match next.get(clinic) {
            Some(n) => *n,
            None => self.probe_log_head(clinic).await? + 1,
        };
        let mut done = 0usize;
        let mut collisions = 0u32;
        let mut last = 0;
        while done < chunks.len() {
            match self.insert_run(clinic, seq, &chunks[done..]).await {
                Ok((landed, taken)) => {
                    done += landed;
                    seq += landed as u64;
                    if landed > 0 {
                        last = seq - 1;
                    }
                    if taken {
                        // Another server process took `seq`: it exists, so `seq + 1` may be tried.
                        collisions += 1;
                        seq = if collisions.is_multiple_of(8) {
                            self.probe_log_head(clinic).await? + 1
                        } else {
                            seq + 1
                        };
                    }
                }
                Err(e) => {
                    // The insert may or may not have landed; find out from the log itself next time.
                    next.remove(clinic);
                    return Err(e);
                }
            }
        }
        next.insert(clinic.to_owned(), seq);
        self.heads_cache
            .lock()
            .await
            .insert(clinic.to_owned(), (last, std::time::Instant::now()));
        self.publish_head(clinic, last);
        Ok(last)
    }

    /// Reads whole bucket collections from the one holding `after + 1`, in order, up to the first
    /// missing number, until `min_records` records or `max_entries` entries are collected. A page
    /// ends at a bucket boundary or at the end of the log.
    pub(crate) async fn read_entries(
        &self,
        clinic: &str,
        after: u64,
        min_records: usize,
        max_entries: usize,
    ) -> Result<Vec<ChangeEntry>, StoreError> {
        let mut out: Vec<ChangeEntry> = Vec::new();
        let mut records = 0usize;
        let mut expect = after + 1;
        loop {
            let bucket = bucket_of(expect);
            let mut docs: Vec<Document> = self
                .coll(&bucket_collection(clinic, bucket))
                .find(doc! {})
                .await
                .map_err(unavailable)?
                .try_collect()
                .await
                .map_err(unavailable)?;
            docs.sort_by_key(|d| d.get_i64("_id").unwrap_or(i64::MAX));
            for d in docs {
                let seq = d.get_i64("_id").unwrap_or(0) as u64;
                if seq < expect {
                    continue;
                }
                if seq > expect {
                    // A gap: the log's current end (anything after it was appended later).
                    return Ok(out);
                }
                let rs: Vec<ChangeRecord> = match d.get_str("records_json") {
                    Ok(json) => serde_json::from_str(json).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    Err(_) => from_bson(d.get("records").cloned().unwrap_or(Bson::Null))?,
                };
                records += rs.len();
                out.push(ChangeEntry { seq, records: rs });
                expect += 1;
            }
            let bucket_complete = bucket_of(expect) != bucket;
            if !bucket_complete || records >= min_records || out.len() >= max_entries {
                return Ok(out);
            }
        }
    }

    /// Tells this process's waiting pulls that the log reaches `head`.
    fn publish_head(&self, clinic: &str, head: u64) {
        let watches = self.live_heads.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = watches.get(clinic) {
            tx.send_if_modified(|v| {
                let newer = head > *v;
                if newer {
                    *v = head;
                }
                newer
            });
        }
    }

    fn watch_head(&self, clinic: &str) -> tokio::sync::watch::Receiver<u64> {
        let mut watches = self.live_heads.lock().unwrap_or_else(|p| p.into_inner());
        // Forget channels nobody waits on any more (bounded by the clinics with waiters).
        watches.retain(|_, tx| tx.receiver_count() > 0);
        watches
            .entry(clinic.to_owned())
            .or_insert_with(|| tokio::sync::watch::channel(0).0)
            .subscribe()
    }

    pub(crate) async fn wait_for_entry(&self, clinic: &str, after: u64, max_wait: std::time::Duration) -> Result<bool, StoreError> {
        let mut local = self.watch_head(clinic);
        let deadline = tokio::time::Instant::now() + max_wait;
        loop {
            if *local.borrow_and_update() > after || self.entry_exists(clinic, after + 1).await? {
                return Ok(true);
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Ok(false);
            }
            // Woken by an append of this process, or after LIVE_POLL to look for another's.
            let nap = LIVE_POLL.min(deadline - now);
            let _ = tokio::time::timeout(nap, local.changed()).await;
        }
    }

    /// The log's last sequence number: this process's own appends keep it current; otherwise a
    /// probe at most every few seconds (it scans bucket collections).
    pub(crate) async fn cached_log_head(&self, clinic: &str) -> Result<u64, StoreError> {
        if let Some((head, at)) = self.heads_cache.lock().await.get(clinic) {
            if at.elapsed() < std::time::Duration::from_secs(5) {
                return Ok(*head);
            }
        }
        let head = self.probe_log_head(clinic).await?;
        self.heads_cache
            .lock()
            .await
            .insert(clinic.to_owned(), (head, std::time::Instant::now()));
        Ok(head)
    }
}
