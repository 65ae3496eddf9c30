//! Raw rates of the two storage engines, measured in the same run on the same machine: FerretDB
//! through the official driver, and SQLite through rusqlite with the device's settings.

use futures::TryStreamExt;
use mongodb::bson::{doc, Bson, Document};
use mongodb::Database;
use std::time::{Duration, Instant};

fn small_doc(i: usize) -> Document {
    doc! {
        "_id": format!("{:08x}-0000-4000-8000-{:012x}", i, i),
        "given_name": "Amina",
        "family_name": "Okafor",
        "n": i as i64,
        "city": "Nairobi",
        "date_of_birth": "1988-04-12",
    }
}

#[derive(Debug, Clone, Default)]
pub struct FerretRaw {
    pub insert_many_docs: usize,
    pub insert_many_batch: usize,
    pub insert_many_secs: f64,
    pub insert_one_ops: usize,
    pub insert_one_secs: f64,
    /// (collection label, documents in it, lookups done, mean ms per lookup)
    pub find_by_id: Vec<(String, u64, usize, f64)>,
    /// find({}) of a real change-log bucket plus decoding its records into JSON values: the
    /// format the server wrote, entries, records, bytes (BSON), median seconds.
    pub bucket_format: String,
    pub bucket_entries: usize,
    pub bucket_records: usize,
    pub bucket_bytes: usize,
    pub bucket_secs: f64,
    /// The same records written both ways into a scratch collection and read the same way:
    /// nested BSON documents, and one JSON string per entry (median seconds, BSON bytes).
    pub nested_secs: f64,
    pub nested_bytes: usize,
    pub json_secs: f64,
    pub json_bytes: usize,
    /// find({}) of a collection of small documents the size of a bucket's records.
    pub small_scan_docs: usize,
    pub small_scan_secs: f64,
}

impl FerretRaw {
    pub fn insert_many_rate(&self) -> f64 {
        self.insert_many_docs as f64 / self.insert_many_secs.max(1e-9)
    }
    pub fn insert_one_rate(&self) -> f64 {
        self.insert_one_ops as f64 / self.insert_one_secs.max(1e-9)
    }
    pub fn bucket_records_rate(&self) -> f64 {
        self.bucket_records as f64 / self.bucket_secs.max(1e-9)
    }
    pub fn nested_rate(&self) -> f64 {
        self.bucket_records as f64 / self.nested_secs.max(1e-9)
    }
    pub fn json_rate(&self) -> f64 {
        self.bucket_records as f64 / self.json_secs.max(1e-9)
    }
    pub fn small_scan_rate(&self) -> f64 {
        self.small_scan_docs as f64 / self.small_scan_secs.max(1e-9)
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    v[v.len() / 2]
}

/// An entry's records as JSON values, whichever way the entry stores them.
fn entry_records(d: &Document) -> Result<Vec<serde_json::Value>, String> {
    if let Ok(s) = d.get_str("records_json") {
        return serde_json::from_str(s).map_err(|e| format!("records_json: {e}"));
    }
    match d.get("records") {
        Some(Bson::Array(a)) => Ok(a.iter().map(|b| b.clone().into_relaxed_extjson()).collect()),
        _ => Ok(Vec::new()),
    }
}

/// find({}) of a whole collection plus decoding every entry's records; 5 times, the median.
async fn read_bucket(c: &mongodb::Collection<Document>) -> Result<(f64, Vec<Document>), String> {
    let mut times = Vec::new();
    let mut last = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let docs: Vec<Document> = c
            .find(doc! {})
            .await
            .map_err(|e| e.to_string())?
            .try_collect()
            .await
            .map_err(|e| e.to_string())?;
        let mut n = 0usize;
        for d in &docs {
            n += entry_records(d)?.len();
        }
        std::hint::black_box(n);
        times.push(started.elapsed().as_secs_f64());
        last = docs;
    }
    Ok((median(times), last))
}

/// Inserts and reads in `raw` (a database of its own); point lookups and bucket reads on the
/// seeded database `seeded` (read only).
pub async fn ferret(
    raw: &Database,
    seeded: &Database,
    lookups: &[(String, String, Vec<String>)],
    bucket: &str,
) -> Result<FerretRaw, String> {
    let e = |e: mongodb::error::Error| e.to_string();
    let mut out = FerretRaw {
        insert_many_batch: 1000,
        ..Default::default()
    };

    // insert_many of 1000 small documents, 20 times (or 20 s).
    let coll = raw.collection::<Document>("raw_many");
    let started = Instant::now();
    let mut n = 0usize;
    for round in 0..20 {
        let docs: Vec<Document> = (0..1000).map(|k| small_doc(round * 1000 + k)).collect();
        coll.insert_many(docs).await.map_err(e)?;
        n += 1000;
        if started.elapsed() > Duration::from_secs(20) {
            break;
        }
    }
    out.insert_many_docs = n;
    out.insert_many_secs = started.elapsed().as_secs_f64();

    // insert_one, 2000 times (or 15 s).
    let coll1 = raw.collection::<Document>("raw_one");
    let started = Instant::now();
    let mut n = 0usize;
    for i in 0..2000 {
        coll1.insert_one(small_doc(i)).await.map_err(e)?;
        n += 1;
        if started.elapsed() > Duration::from_secs(15) {
            break;
        }
    }
    out.insert_one_ops = n;
    out.insert_one_secs = started.elapsed().as_secs_f64();

    // find-by-_id: on the small raw collection, then on the seeded collections (their size is
    // what a point read costs on FerretDB's SQLite backend, which scans).
    let mut targets: Vec<(String, Database, String, Vec<String>)> = vec![(
        "`raw_many` (the small documents inserted above)".to_string(),
        raw.clone(),
        "raw_many".into(),
        (0..5)
            .map(|i| {
                small_doc(i * out.insert_many_docs.saturating_sub(1) / 4)
                    .get_str("_id")
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect(),
    )];
    for (label, coll, ids) in lookups {
        targets.push((label.clone(), seeded.clone(), coll.clone(), ids.clone()));
    }
    for (label, db, coll, ids) in targets {
        let c = db.collection::<Document>(&coll);
        let count = c.estimated_document_count().await.map_err(e)?;
        let started = Instant::now();
        let mut done = 0usize;
        for id in ids.iter().take(5) {
            let found = c.find_one(doc! {"_id": id}).await.map_err(e)?;
            if found.is_none() {
                return Err(format!("find-by-_id in {coll}: {id} not found"));
            }
            done += 1;
            if started.elapsed() > Duration::from_secs(20) {
                break;
            }
        }
        let ms = started.elapsed().as_secs_f64() * 1000.0 / done.max(1) as f64;
        out.find_by_id.push((label, count, done, ms));
    }

    // find({}) of a real change-log bucket and decoding its records, 5 times; the median.
    let b = seeded.collection::<Document>(bucket);
    let (secs, docs) = read_bucket(&b).await?;
    out.bucket_secs = secs;
    out.bucket_entries = docs.len();
    out.bucket_format = if docs.iter().any(|d| d.get_str("records_json").is_ok()) {
        "records as one JSON string per entry".into()
    } else {
        "records as nested documents".into()
    };
    out.bucket_bytes = docs.iter().map(|d| mongodb::bson::to_vec(d).map(|v| v.len()).unwrap_or(0)).sum();
    let mut entries: Vec<(Bson, Vec<serde_json::Value>)> = Vec::new();
    for d in &docs {
        entries.push((d.get("_id").cloned().unwrap_or(Bson::Null), entry_records(d)?));
    }
    out.bucket_records = entries.iter().map(|(_, r)| r.len()).sum();

    // The same records both ways, in scratch collections.
    let nested: Vec<Document> = entries
        .iter()
        .map(|(id, r)| {
            let arr = mongodb::bson::to_bson(r).unwrap_or(Bson::Null);
            doc! {"_id": id.clone(), "records": arr}
        })
        .collect();
    let json: Vec<Document> = entries
        .iter()
        .map(|(id, r)| doc! {"_id": id.clone(), "records_json": serde_json::Value::Array(r.clone()).to_string()})
        .collect();
    out.nested_bytes = nested.iter().map(|d| mongodb::bson::to_vec(d).map(|v| v.len()).unwrap_or(0)).sum();
    out.json_bytes = json.iter().map(|d| mongodb::bson::to_vec(d).map(|v| v.len()).unwrap_or(0)).sum();
    if !entries.is_empty() {
        let nc = raw.collection::<Document>("raw_bucket_nested");
        nc.insert_many(nested).await.map_err(e)?;
        out.nested_secs = read_bucket(&nc).await?.0;
        let jc = raw.collection::<Document>("raw_bucket_json");
        jc.insert_many(json).await.map_err(e)?;
        out.json_secs = read_bucket(&jc).await?.0;
    }

    // find({}) of as many small documents as the bucket holds records (at least 1000).
    let small = out.bucket_records.max(1000);
    let sc = raw.collection::<Document>("raw_scan");
    for chunk in (0..small).collect::<Vec<_>>().chunks(1000) {
        sc.insert_many(chunk.iter().map(|i| small_doc(*i)).collect::<Vec<_>>())
            .await
            .map_err(e)?;
    }
    let mut times = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let docs: Vec<Document> = sc.find(doc! {}).await.map_err(e)?.try_collect().await.map_err(e)?;
        times.push(started.elapsed().as_secs_f64());
        out.small_scan_docs = docs.len();
    }
    out.small_scan_secs = median(times);
    Ok(out)
}

#[derive(Debug, Clone, Default)]
pub struct SqliteRaw {
    pub rows: usize,
    pub rows_per_tx: usize,
    pub doc_bytes: usize,
    pub insert_secs: f64,
    pub reads: usize,
    pub read_secs: f64,
}

impl SqliteRaw {
    pub fn insert_rate(&self) -> f64 {
        self.rows as f64 / self.insert_secs.max(1e-9)
    }
    pub fn read_rate(&self) -> f64 {
        self.reads as f64 / self.read_secs.max(1e-9)
    }
}

/// Batched inserts (one transaction per `rows_per_tx` rows, like a pulled page) and point reads by
/// primary key, in a temp file with the device's settings (WAL, synchronous=FULL). `doc` is a
/// JSON text of the size devices store per row.
pub fn sqlite(dir: &std::path::Path, rows: usize, rows_per_tx: usize, doc: &str) -> Result<SqliteRaw, String> {
    let e = |e: rusqlite::Error| e.to_string();
    let mut conn = rusqlite::Connection::open(dir.join("raw.sqlite3")).map_err(e)?;
    conn.pragma_update(None, "journal_mode", "WAL").map_err(e)?;
    conn.pragma_update(None, "synchronous", "FULL").map_err(e)?;
    conn.execute_batch("CREATE TABLE t (id TEXT PRIMARY KEY, doc TEXT NOT NULL)")
        .map_err(e)?;
    let id = |i: usize| format!("{:08x}-0000-7000-8000-{:012x}", i.wrapping_mul(2_654_435_761) & 0xffff_ffff, i);
    let started = Instant::now();
    let mut i = 0usize;
    while i < rows {
        let tx = conn.transaction().map_err(e)?;
        {
            let mut st = tx.prepare_cached("INSERT INTO t (id, doc) VALUES (?1, ?2)").map_err(e)?;
            for _ in 0..rows_per_tx.min(rows - i) {
                st.execute(rusqlite::params![id(i), doc]).map_err(e)?;
                i += 1;
            }
        }
        tx.commit().map_err(e)?;
    }
    let insert_secs = started.elapsed().as_secs_f64();
    let reads = rows.min(100_000);
    let started = Instant::now();
    {
        let mut st = conn.prepare_cached("SELECT doc FROM t WHERE id = ?1").map_err(e)?;
        for k in 0..reads {
            let key = id((k * 7919) % rows);
            let d: String = st.query_row([key], |r| r.get(0)).map_err(e)?;
            std::hint::black_box(d);
        }
    }
    Ok(SqliteRaw {
        rows,
        rows_per_tx,
        doc_bytes: doc.len(),
        insert_secs,
        reads,
        read_secs: started.elapsed().as_secs_f64(),
    })
}
