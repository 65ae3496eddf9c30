//! Dead account documents are pruned, live ones kept: expired refresh tokens and enrolment codes,
//! spent marks and revoked families older than any token they could refuse, sign-in failures past
//! the lockout window. On a real FerretDB, through the server's own store.

use anola_e2e::ferret::Ferret;
use anola_e2e::unique_db;
use anola_protocol::Role;
use anola_sync_server::auth::{now_ms, prune, LOCK_MS};
use anola_sync_server::faults::Faults;
use anola_sync_server::store::accounts::{AccountStore, EnrolmentRecord, RefreshRecord};
use anola_sync_server::{MongoStore, Store};
use mongodb::bson::{doc, Document};
use std::sync::Arc;
use uuid::Uuid;

fn refresh(hash: &str, expires_at: i64) -> RefreshRecord {
    RefreshRecord {
        hash: hash.into(),
        family: Uuid::new_v4(),
        user_id: Uuid::new_v4(),
        device_id: None,
        mfa: false,
        expires_at,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_and_spent_account_documents_are_pruned_live_ones_kept() {
    let ferret = Ferret::start();
    let db = unique_db("prune");
    let store = MongoStore::connect(ferret.uri(), &db, Arc::new(Faults::none())).await.unwrap();
    store.ensure_indexes().await.unwrap();
    let now = now_ms();
    let day = 24 * 3600 * 1000;
    store.insert_refresh(&refresh("old", now - 3 * day)).await.unwrap();
    store.insert_refresh(&refresh("live", now + day)).await.unwrap();
    let user = Uuid::new_v4();
    // An old failure, stored as the server stored them before they were keyed by window.
    let client0 = ferret.client().await;
    client0
        .database(&db)
        .collection::<Document>("login_failures")
        .insert_one(doc! {"_id": "old-failure", "user_id": user.to_string(), "at": now - LOCK_MS - 2 * day})
        .await
        .unwrap();
    store.record_login_failure(user, now - 1000).await.unwrap();
    for (hash, expires_at) in [("old-code", now - 2 * day), ("live-code", now + day)] {
        store
            .insert_enrolment(&EnrolmentRecord {
                hash: hash.into(),
                clinic_id: "main".into(),
                role: Role::FrontDesk,
                field_worker_id: None,
                created_by: user,
                expires_at,
            })
            .await
            .unwrap();
    }
    // A spent mark from long ago (written directly: the store stamps marks with the current time).
    let client = ferret.client().await;
    let raw = client.database(&db);
    raw.collection::<Document>("refresh_spent")
        .insert_one(doc! {"_id": "ancient", "at": mongodb::bson::DateTime::from_millis(now - 400 * day)})
        .await
        .unwrap();
    store.spend_refresh("recent").await.unwrap();

    let deleted = prune::once(&store).await.unwrap();
    assert_eq!(deleted, 4, "old refresh token, old failure, expired code, ancient mark");
    assert!(store.refresh_by_hash("old").await.unwrap().is_none());
    assert!(store.refresh_by_hash("live").await.unwrap().is_some());
    assert_eq!(store.login_failures_since(user, now - LOCK_MS).await.unwrap().len(), 1);
    assert!(store.enrolment_by_hash("old-code").await.unwrap().is_none());
    assert!(store.enrolment_by_hash("live-code").await.unwrap().is_some());
    // The recent mark still refuses a second spend.
    assert_eq!(
        store.spend_refresh("recent").await.unwrap(),
        anola_sync_server::store::Inserted::Taken
    );
    assert_eq!(prune::once(&store).await.unwrap(), 0, "nothing left to prune");
}
