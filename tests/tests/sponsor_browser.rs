//! The sponsor's pages in a real browser: Debian's Chromium driven by playwright-core
//! (`ui/e2e/sponsor.e2e.mjs`) against this sync server on FerretDB with the M-Pesa simulator.
//! A sponsor sets up their profile, funds their wallet by mobile money, sponsors a patient,
//! approves a clinician's pre-approval (asked from a clinic device), and reads the report with its
//! chart after the front desk charged against the approval. Screenshots go to
//! test-artifacts/sponsor-*.png; every screen passes axe.

use anola_e2e::accounts::{admin_token, colleague_on, raw_device};
use anola_e2e::ferret::Ferret;
use anola_e2e::mpesa_sim::{self, MpesaSim};
use anola_e2e::procs::ServerProc;
use anola_e2e::{free_port, unique_db, workspace_root};
use anola_protocol::access::Role;
use serde_json::json;
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread")]
async fn a_sponsor_funds_sponsors_approves_and_reads_the_report_in_a_real_browser() {
    let root = workspace_root();
    let portal = root.join("ui/dist-portal");
    assert!(
        portal.join("index.html").exists(),
        "ui/dist-portal is missing: run `npm run build` in ui/ (scripts/test.sh does)"
    );
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !std::path::Path::new(&chromium).exists() {
        assert!(
            std::env::var_os("ANOLA_REQUIRE_GUI_TESTS").is_none(),
            "{chromium} is missing: scripts/bootstrap.sh installs Debian's chromium"
        );
        eprintln!("skipped: no {chromium}");
        return;
    }
    let sim = MpesaSim::start().await;
    let ferret = Ferret::start();
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    let portal_dir = portal.to_string_lossy().into_owned();
    let server = ServerProc::start(
        port,
        ferret.uri(),
        &unique_db("sponsorportal"),
        &[
            ("ANOLA_PORTAL_DIR", portal_dir.as_str()),
            ("ANOLA_MPESA_URL", sim.url.as_str()),
            ("ANOLA_MPESA_CONSUMER_KEY", mpesa_sim::KEY),
            ("ANOLA_MPESA_CONSUMER_SECRET", mpesa_sim::SECRET),
            ("ANOLA_MPESA_SHORTCODE", mpesa_sim::SHORTCODE),
            ("ANOLA_MPESA_PASSKEY", mpesa_sim::PASSKEY),
            ("ANOLA_PUBLIC_URL", public.as_str()),
        ],
    );
    let url = server.url();
    let http = reqwest::Client::new();
    let token = admin_token(&url).await;
    // The clinic: prices, a front desk and a clinician, one patient.
    for (code, kind, price) in [("SURG", "procedure", 150_000), ("LAB-MAL", "lab_test", 25_000)] {
        let item = json!({"code": code, "name": code, "kind": kind, "price": price, "currency": "KES", "active": true});
        let r = http
            .put(format!("{url}/money/prices/{code}"))
            .bearer_auth(&token)
            .json(&item)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
    }
    let clinic = format!("c{}", &Uuid::new_v4().simple().to_string()[..8]);
    let desk = raw_device(&url, &clinic, Role::FrontDesk, Role::FrontDesk, None).await;
    let doctor = colleague_on(&url, &desk, Role::Clinician).await;
    let people = anola_e2e::seed::patients(
        &desk,
        1,
        |_| json!({"clinic_id": clinic, "given_name": "Neema", "family_name": "Achieng", "date_of_birth": "1994-05-05"}),
    );
    let patient = people[0].entity_id.to_string();
    anola_e2e::seed::push(&url, &desk, people, 1, 1).await;
    // The sponsor's account.
    let r = http
        .post(format!("{url}/admin/users"))
        .bearer_auth(&token)
        .json(&json!({"username": "hope.sponsor", "password": "sponsor passphrase 2027", "display_name": "Hope Foundation", "user_type": "sponsor"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());

    let status = tokio::process::Command::new("node")
        .arg(root.join("ui/e2e/sponsor.e2e.mjs"))
        .current_dir(root.join("ui"))
        .env("PORTAL_BASE", &url)
        .env("SPONSOR_USER", "hope.sponsor")
        .env("SPONSOR_PASSWORD", "sponsor passphrase 2027")
        .env("PATIENT_ID", &patient)
        .env("DOCTOR_KEY", doctor.device_key())
        .env("DOCTOR_TOKEN", &doctor.access_token)
        .env("DESK_KEY", desk.device_key())
        .env("DESK_TOKEN", &desk.access_token)
        .env("ARTIFACTS_DIR", root.join("test-artifacts"))
        .env("CHROMIUM", &chromium)
        .status()
        .await
        .expect("run node (Node 20+)");
    assert!(status.success(), "the sponsor's browser test failed (its steps are printed above)");
    // The simulator was asked once for the sponsor's funding.
    assert_eq!(sim.requests().len(), 1);
    // The front desk sees the sponsor by name with the patient.
    let covers: serde_json::Value = desk
        .sign(http.get(format!("{url}/money/patients/{patient}/sponsorships")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(covers[0]["sponsor"], "Hope Foundation", "{covers}");
    let audit: serde_json::Value = http
        .get(format!("{url}/admin/ledger/audit"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(audit["ok"], true, "{audit}");
}
