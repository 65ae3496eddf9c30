//! Secrets at rest: a dump of every document in the database holds no device key-encryption key,
//! no TOTP secret, no card signing key and no unsealed server secret. Values stored plain by an older server are sealed
//! at the next start, and a rotation of the sealing secret keeps every secret usable.

use anola_e2e::accounts::{self, raw_device, ADMIN_TOTP_SECRET, SEALING_SECRET};
use anola_e2e::ferret::Ferret;
use anola_e2e::procs::ServerProc;
use anola_e2e::{free_port, unique_db};
use anola_protocol::Role;
use futures::StreamExt;
use mongodb::bson::{doc, Document};

/// Every document of every collection, as JSON text.
async fn dump(db: &mongodb::Database) -> String {
    let mut out = String::new();
    for name in db.list_collection_names().await.unwrap() {
        let mut cur = db.collection::<Document>(&name).find(doc! {}).await.unwrap();
        while let Some(d) = cur.next().await {
            out.push_str(&serde_json::to_string(&d.unwrap()).unwrap());
            out.push('\n');
        }
    }
    out
}

async fn server_secret_values(db: &mongodb::Database) -> Vec<String> {
    let mut cur = db.collection::<Document>("server_secrets").find(doc! {}).await.unwrap();
    let mut out = Vec::new();
    while let Some(d) = cur.next().await {
        out.push(d.unwrap().get_str("value").unwrap().to_owned());
    }
    out
}

async fn answer(req: reqwest::RequestBuilder) -> serde_json::Value {
    req.send().await.unwrap().json().await.unwrap()
}

/// The device's key-encryption key as a sign-in on it hands it out now.
async fn kek_at_sign_in(url: &str, dev: &accounts::RawDevice) -> String {
    let username = accounts::staff_name(&dev.clinic_id, Role::Clinician, None);
    let req = reqwest::Client::new()
        .post(format!("{url}/auth/login"))
        .header(anola_protocol::auth::DEVICE_KEY_HEADER, dev.device_key())
        .json(&serde_json::json!({"username": username, "password": accounts::STAFF_PASSWORD}));
    let v = answer(req).await;
    v["device_kek"].as_str().unwrap_or_else(|| panic!("no device_kek: {v}")).to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_is_stored_in_the_clear() {
    let ferret = Ferret::start();
    let dbname = unique_db("sealed");
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let server = ServerProc::start(port, ferret.uri(), &dbname, &[]);
    let dev = raw_device(&url, "main", Role::Clinician, Role::Clinician, None).await;
    let setup = answer(
        reqwest::Client::new()
            .post(format!("{url}/auth/totp/setup"))
            .bearer_auth(&dev.access_token)
            .json(&serde_json::json!({})),
    )
    .await;
    let staff_totp = setup["secret_base32"].as_str().unwrap().to_owned();
    // A health-card signing key exists once its public half is asked for.
    let jwks = reqwest::get(format!("{url}/.well-known/jwks.json")).await.unwrap();
    assert!(jwks.status().is_success());
    let db = ferret.client().await.database(&dbname);

    let text = dump(&db).await;
    for (what, secret) in [
        ("device KEK", dev.kek.as_str()),
        ("admin TOTP", ADMIN_TOTP_SECRET),
        ("staff TOTP", &staff_totp),
    ] {
        assert!(!text.contains(secret), "the {what} secret is in the database in the clear");
    }
    assert!(!text.contains("PRIVATE KEY"), "a card signing key is in the database in the clear");
    assert!(text.contains("sealed:v1:"), "a card signing key exists, sealed");
    let values = server_secret_values(&db).await;
    assert!(values.len() >= 2, "token and fallback-code secrets exist: {values:?}");
    assert!(values.iter().all(|v| v.starts_with("sealed:")), "{values:?}");
    server.kill();

    // A device stored plain by an older server is sealed at the next start, and keeps its key.
    db.collection::<Document>("devices")
        .update_one(doc! {"_id": &dev.device_id}, doc! {"$set": {"kek": &dev.kek}})
        .await
        .unwrap();
    let server = ServerProc::start(port, ferret.uri(), &dbname, &[]);
    assert!(!dump(&db).await.contains(&dev.kek), "the plain KEK was sealed at start-up");
    assert_eq!(kek_at_sign_in(&url, &dev).await, dev.kek);
    server.kill();

    // Rotation: the new secret with the old one as previous, then the new one alone.
    let new_secret = "the rotated sealing secret: Hq4wP8zN2xK7cV1bM5";
    let rotating = [
        ("ANOLA_SEALING_SECRET", new_secret),
        ("ANOLA_SEALING_SECRET_PREVIOUS", SEALING_SECRET),
    ];
    let server = ServerProc::start(port, ferret.uri(), &dbname, &rotating);
    assert_eq!(kek_at_sign_in(&url, &dev).await, dev.kek);
    server.kill();
    let server = ServerProc::start(port, ferret.uri(), &dbname, &[("ANOLA_SEALING_SECRET", new_secret)]);
    assert_eq!(
        kek_at_sign_in(&url, &dev).await,
        dev.kek,
        "every value was sealed again under the new secret"
    );
    accounts::admin_token(&url).await;
    server.kill();

    // The old secret alone no longer opens anything: the server says so and does not start.
    let refused = ServerProc::start_refused(port, ferret.uri(), &dbname, &[]);
    assert!(refused.contains("ANOLA_SEALING_SECRET"), "{refused}");
}
