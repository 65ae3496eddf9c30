//! A round with nothing new costs a few hundred bytes: staff and cards travel through the change
//! log (protocol v2), so an idle round is one small pull and its empty answer, never whole lists.
//! And what does change arrives in that same round: a staff member disabled by an administrator
//! and a revoked health card reach another device as single change-log records.

use anola_e2e::accounts;
use anola_e2e::ferret::Ferret;
use anola_e2e::procs::{Device, ServerProc};
use anola_e2e::{free_port, unique_db};
use serde_json::Value;

/// Body bytes both ways, as JSON and on the wire.
fn bytes(report: &Value) -> (u64, u64) {
    let n = |k: &str| report[k].as_u64().unwrap_or_else(|| panic!("report has {k}: {report}"));
    (
        n("bytes_sent") + n("bytes_received"),
        n("wire_bytes_sent") + n("wire_bytes_received"),
    )
}

#[test]
fn an_idle_round_is_a_few_hundred_bytes_and_changes_arrive_as_records() {
    let ferret = Ferret::start();
    let server = ServerProc::start(free_port(), ferret.uri(), &unique_db("idle"), &accounts::server_env());
    let url = server.url();
    let dirs = tempfile::tempdir().unwrap();
    let a = Device::new(&dirs.path().join("a"), &url);
    let b = Device::new(&dirs.path().join("b"), &url);
    let added = a.ok(&["patient", "add", "--given", "Amina", "--family", "Okafor", "--dob", "1988-04-12"]);
    let patient = added["id"].as_str().unwrap().to_owned();
    a.ok(&["sync"]);
    b.ok(&["sync"]);

    // Nothing new anywhere: one pull and its empty answer. (The first of two rounds carries this
    // command's own sign-in to the audit trail; the second is the idle one.)
    let idle = b.ok(&["sync", "--rounds", "2"])["report"].clone();
    assert_eq!(idle["pushed"], 0);
    assert_eq!(idle["pulled"], 0);
    let (json, wire) = bytes(&idle);
    println!("idle round: {json} bytes of JSON, {wire} bytes on the wire");
    assert!(json <= 600, "an idle round sent and received {json} bytes: {idle}");
    assert!(wire <= 600, "an idle round put {wire} bytes on the wire: {idle}");

    // A card of the patient is issued, then revoked, and an administrator disables the front-desk
    // account that issued it: B's next round brings exactly those records, not the clinic's lists.
    let frontdesk = Device::with_scope(&dirs.path().join("c"), &url, "main", anola_protocol::Role::FrontDesk, None);
    frontdesk.ok(&["sync"]);
    let card = frontdesk.ok(&["card", "issue", "--patient", &patient]);
    let card_id = card["card_id"].as_str().expect("issued card id").to_owned();
    // The front-desk account (A and B share the clinician account the harness makes).
    let a_name = frontdesk.username.clone();
    accounts::block_on({
        let url = url.clone();
        async move {
            let token = accounts::admin_token(&url).await;
            let http = reqwest::Client::new();
            let r = http
                .post(format!("{url}/admin/cards/{card_id}/revoke"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "revoke: {}", r.status());
            let users = anola_e2e::accounts::get_json(&format!("{url}/admin/clinics/main/users"), &token).await;
            let a_user = users
                .as_array()
                .unwrap()
                .iter()
                .find(|u| u["username"] == a_name.as_str())
                .expect("the front-desk account is listed")["id"]
                .as_str()
                .unwrap()
                .to_owned();
            let r = http
                .post(format!("{url}/admin/users/{a_user}/disable"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "disable: {}", r.status());
        }
    });

    let round = b.ok(&["sync"])["report"].clone();
    let pulled = round["pulled"].as_u64().unwrap();
    // The card as issued and as revoked, the disabled account, and the new front-desk account.
    assert!((3..=5).contains(&pulled), "{pulled} records: {round}");
    let (json, wire) = bytes(&round);
    println!("round with a disabled account and a revoked card: {json} bytes of JSON, {wire} on the wire");
    assert!(json <= 4_000, "{json} bytes: {round}");
    let verified = b.run(&["card", "verify", card["qr_text"].as_str().expect("card text")]);
    assert!(
        verified.json.to_string().contains("revoked"),
        "B learnt the revocation from the log: {} {}",
        verified.json,
        verified.stderr
    );
}
