//! FerretDB 1.24 makes a collection's table, registers it, then adds its unique `_id` index in
//! three statements; a database killed between them leaves a collection that accepts duplicate
//! `_id`s. Every exactly-once rule rests on that index, so the server checks it before serving:
//! an empty damaged collection is rebuilt, a damaged one holding data stops the server with a
//! message naming it. The damage is made for real, in FerretDB's own SQLite file.

use anola_e2e::ferret::Ferret;
use anola_e2e::procs::ServerProc;
use anola_e2e::{free_port, unique_db};
use mongodb::bson::{doc, Document};

/// Leaves `collection` as a crash between registration and index creation would.
fn strip_id_index(ferret: &Ferret, db: &str, collection: &str) {
    let file = ferret.data_dir().join(format!("{db}.sqlite"));
    let conn = rusqlite::Connection::open(&file).expect("open FerretDB's SQLite file");
    let table: String = conn
        .query_row("SELECT table_name FROM _ferretdb_collections WHERE name = ?1", [collection], |r| {
            r.get(0)
        })
        .expect("collection registered");
    conn.execute_batch(&format!("DROP INDEX IF EXISTS \"{table}__id_\";")).unwrap();
    conn.execute(
        "UPDATE _ferretdb_collections SET settings = json_set(settings, '$.indexes', json('[]')) WHERE name = ?1",
        [collection],
    )
    .unwrap();
}

async fn id_index_holds(ferret: &Ferret, db: &str, collection: &str) -> bool {
    let client = ferret.client().await;
    let c = client.database(db).collection::<Document>(collection);
    let names = c.list_index_names().await.unwrap();
    c.insert_one(doc! {"_id": "probe"}).await.unwrap();
    let dup = c.insert_one(doc! {"_id": "probe"}).await.is_err();
    c.delete_many(doc! {"_id": "probe"}).await.unwrap();
    names.iter().any(|n| n == "_id_") && dup
}

#[tokio::test(flavor = "multi_thread")]
async fn a_collection_left_without_its_id_index_is_rebuilt_or_named() {
    let mut ferret = Ferret::start();
    if !ferret.is_private() {
        eprintln!("skipped: needs a private FerretDB (MONGODB_URI is set)");
        return;
    }
    let db = unique_db("repair");
    let port = free_port();
    ServerProc::start(port, ferret.uri(), &db, &[]).kill();

    // Empty and damaged: the next start rebuilds it.
    ferret.kill();
    strip_id_index(&ferret, &db, "mutation_results");
    ferret.restart();
    {
        let client = ferret.client().await;
        let names = client
            .database(&db)
            .collection::<Document>("mutation_results")
            .list_index_names()
            .await
            .unwrap();
        assert!(!names.iter().any(|n| n == "_id_"), "the damage was not made: {names:?}");
    }
    ServerProc::start(port, ferret.uri(), &db, &[]).kill();
    assert!(
        id_index_holds(&ferret, &db, "mutation_results").await,
        "the server did not rebuild the index"
    );

    // Damaged while holding data: the server refuses to start and names the collection.
    let client = ferret.client().await;
    client
        .database(&db)
        .collection::<Document>("claims")
        .insert_one(doc! {"_id": "k", "holder": "h"})
        .await
        .unwrap();
    drop(client);
    ferret.kill();
    strip_id_index(&ferret, &db, "claims");
    ferret.restart();
    let stderr = ServerProc::start_refused(port, ferret.uri(), &db, &[]);
    assert!(stderr.contains("claims") && stderr.contains("_id"), "{stderr}");
}
