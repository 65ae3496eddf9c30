//! Point reads by `_id` must not grow with the collection on the embedded database
//! (docs/adr/0008-ferretdb-id-lookups-use-the-index.md).
//!
//! Two collections of the same documents, 1,000 and 50,000 of them, both created while FerretDB
//! runs (as change-log buckets are): the median time of a `find_one({_id})`, a
//! `replace_one({_id})` and a `delete_one({_id})` in the large one, divided by the same in the small
//! one, must stay near 1. Unpatched FerretDB v1.24.2 scans the table for each of them, which makes
//! the ratio about 50 (measured: 154 ms vs 3 ms for the read). A ratio, not a timed assertion: it
//! holds on a slow or busy machine too.

use anola_e2e::ferret::Ferret;
use anola_e2e::unique_db;
use mongodb::bson::{doc, Document};
use mongodb::Collection;
use std::time::Instant;

const SMALL: usize = 1_000;
const LARGE: usize = 50_000;
const SAMPLES: usize = 40;
/// Far below a scan's ~50 and far above an index search's ~1 (a B-tree one level deeper, noise).
const MAX_RATIO: f64 = 4.0;

fn ids(n: usize, tag: &str) -> Vec<String> {
    (0..n).map(|i| format!("{tag}-{:08}-{}", i, uuid::Uuid::new_v4())).collect()
}

fn body(id: &str) -> Document {
    // About 450 bytes, like a patient's readable document.
    doc! {"_id": id, "clinic_id": "main", "family_name": "Okafor", "given_name": "Amina", "pad": "x".repeat(380)}
}

async fn fill(c: &Collection<Document>, ids: &[String]) {
    for chunk in ids.chunks(1_000) {
        c.insert_many(chunk.iter().map(|id| body(id))).await.expect("insert");
    }
}

/// Median milliseconds of `op` over ids spread through the collection.
async fn median_ms<F, Fut>(ids: &[String], mut op: F) -> f64
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut t = Vec::with_capacity(SAMPLES);
    for i in 0..SAMPLES {
        let id = ids[(i * 7_919 + 13) % ids.len()].clone();
        let start = Instant::now();
        op(id).await;
        t.push(start.elapsed().as_secs_f64() * 1e3);
    }
    t.sort_by(f64::total_cmp);
    t[SAMPLES / 2]
}

struct Costs {
    find: f64,
    replace: f64,
    delete: f64,
}

async fn costs(c: &Collection<Document>, ids: &[String]) -> Costs {
    // Warm the connection pool and the page cache first.
    for id in ids.iter().take(5) {
        c.find_one(doc! {"_id": id}).await.unwrap();
    }
    let find = median_ms(ids, |id| async move {
        assert!(c.find_one(doc! {"_id": &id}).await.unwrap().is_some());
    })
    .await;
    let replace = median_ms(ids, |id| async move {
        let r = c.replace_one(doc! {"_id": &id}, body(&id)).await.unwrap();
        assert_eq!(r.matched_count, 1);
    })
    .await;
    // Each delete takes a different document (spread by a second stride), then puts it back.
    let delete = median_ms(&ids[ids.len() / 2..], |id| async move {
        assert_eq!(c.delete_one(doc! {"_id": &id}).await.unwrap().deleted_count, 1);
        c.insert_one(body(&id)).await.unwrap();
    })
    .await;
    Costs { find, replace, delete }
}

#[tokio::test(flavor = "multi_thread")]
async fn id_lookups_cost_the_same_in_a_small_and_a_large_collection() {
    let ferret = Ferret::start();
    let client = ferret.client().await;
    let db = client.database(&unique_db("point_reads"));
    let small_ids = ids(SMALL, "s");
    let large_ids = ids(LARGE, "l");
    // Collections made while the server runs, with names like the change log's buckets.
    let small = db.collection::<Document>("changes_main_000001");
    let large = db.collection::<Document>("changes_main_000002");
    fill(&small, &small_ids).await;
    fill(&large, &large_ids).await;

    let s = costs(&small, &small_ids).await;
    let l = costs(&large, &large_ids).await;
    let report = format!(
        "find_one {:.2} vs {:.2} ms, replace_one {:.2} vs {:.2} ms, delete_one+insert {:.2} vs {:.2} ms ({LARGE} vs {SMALL} documents)",
        l.find, s.find, l.replace, s.replace, l.delete, s.delete
    );
    println!("{report}");
    // A floor of 0.2 ms keeps sub-millisecond noise from inflating a ratio of two tiny numbers.
    let ratio = |a: f64, b: f64| a / b.max(0.2);
    for (what, r) in [
        ("find_one", ratio(l.find, s.find)),
        ("replace_one", ratio(l.replace, s.replace)),
        ("delete_one", ratio(l.delete, s.delete)),
    ] {
        assert!(
            r < MAX_RATIO,
            "{what} by _id costs {r:.1}x more in a collection 50x larger: point reads grow with the data ({report})"
        );
    }
}
