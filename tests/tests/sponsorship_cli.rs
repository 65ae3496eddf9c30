//! Sponsorship from the command line, as a clinic would run it (`anola wallet …`): two front-desk
//! devices reserve a narrow sponsorship's allowances, see what it covers and charge it beyond its
//! caps while the server is down, then settle; a clinician asks for a pre-approval (queued while
//! offline, sent at the next sync), the sponsor approves it, and the front desk's charge posts it.

use anola_e2e::accounts::admin_token;
use anola_e2e::ferret::Ferret;
use anola_e2e::procs::{Device, ServerProc};
use anola_e2e::{free_port, now_ms, unique_db};
use anola_protocol::Role;
use serde_json::{json, Value};
use uuid::Uuid;

async fn run(dev: &Device, args: String) -> anola_e2e::procs::CliResult {
    let dev = Device {
        dir: dev.dir.clone(),
        server: dev.server.clone(),
        username: dev.username.clone(),
    };
    tokio::task::spawn_blocking(move || {
        let a: Vec<&str> = args.split(' ').collect();
        dev.run(&a)
    })
    .await
    .unwrap()
}

async fn device(dir: &std::path::Path, url: &str, clinic: &str, role: Role) -> Device {
    let (d, u, c) = (dir.to_path_buf(), url.to_owned(), clinic.to_owned());
    tokio::task::spawn_blocking(move || Device::with_scope(&d, &u, &c, role, None))
        .await
        .unwrap()
}

fn sponsored(r: &Value) -> u64 {
    r["receipt"]["parts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| matches!(p["source"].as_str(), Some("allowance" | "sponsored" | "pre_approved")))
        .map(|p| p["amount"].as_u64().unwrap())
        .sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clinic_charges_a_sponsorship_offline_and_through_a_pre_approval_from_the_command_line() {
    let ferret = Ferret::start();
    let db = unique_db("sponsorcli");
    let port = free_port();
    let server = ServerProc::start(port, ferret.uri(), &db, &[]);
    let url = server.url();
    let http = reqwest::Client::new();
    let token = admin_token(&url).await;
    for (code, kind, price) in [
        ("LAB-MAL", "lab_test", 25_000),
        ("CONS-GP", "consultation", 100_000),
        ("SURG", "procedure", 500_000),
    ] {
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
    let (d1, d2, d3) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let fd1 = device(d1.path(), &url, &clinic, Role::FrontDesk).await;
    let fd2 = device(d2.path(), &url, &clinic, Role::FrontDesk).await;
    let doc = device(d3.path(), &url, &clinic, Role::Clinician).await;
    let added = run(&fd1, "patient add --given Zawadi --family Kamau --dob 1988-08-08".into()).await;
    assert_eq!(added.code, 0, "{}", added.stderr);
    let patient = added.json["id"].as_str().unwrap().to_owned();
    assert_eq!(run(&fd1, "sync".into()).await.code, 0);

    // The sponsor (through the API a platform administrator uses for them): lab tests and
    // procedures, four charges a month, 6,500.00 a month; above 1,000.00 needs a pre-approval.
    let call = |m: reqwest::Method, path: &str, body: Value| http.request(m, format!("{url}{path}")).bearer_auth(&token).json(&body).send();
    let r = call(
        reqwest::Method::PUT,
        "/portal/api/sponsors/hope",
        json!({"id": "hope", "name": "Hope Foundation", "kind": "ngo", "country": "KE", "currency": "KES"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let r = call(
        reqwest::Method::POST,
        "/admin/sponsors/hope/deposits",
        json!({"id": Uuid::now_v7(), "amount": 2_000_000, "reference": "B-1"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 201);
    let now = now_ms();
    let sid = Uuid::now_v7();
    let spec = json!({"id": sid, "patient": patient, "programme": "CLI", "country": "KE", "kind": "partial", "allocation": 1_000_000,
        "starts_at": now - 1_000, "ends_at": now + 60 * 86_400_000_i64, "recurrence": "one_time",
        "coverage": {"services": ["lab_test", "procedure"]},
        "caps": {"per_transaction": 600_000, "per_period": 650_000, "charges_per_period": 4, "pre_approval_above": 100_000}, "activate": true});
    let r = call(reqwest::Method::POST, "/portal/api/sponsors/hope/sponsorships", spec)
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    // Online: the front desk sees the sponsor; both devices reserve (the month's four charges
    // shared: the first gets three, the second the one left).
    for d in [&fd1, &fd2, &doc] {
        let r = run(d, "wallet prices --refresh".into()).await;
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    let sp = run(&fd1, format!("wallet sponsorships --patient {patient}")).await;
    assert_eq!(sp.json[0]["sponsor"].as_str(), Some("Hope Foundation"), "{} {}", sp.json, sp.stderr);
    for d in [&fd1, &fd2] {
        let r = run(
            d,
            format!("wallet reserve --patient {patient} --total 400.00 --per-charge 400.00 --count 3"),
        )
        .await;
        assert_eq!((r.code, r.json["reserved"].as_u64()), (0, Some(1)), "{} {}", r.json, r.stderr);
    }
    // The clinician plans a surgery while the network is down: the request is queued.
    server.kill();
    let asked = run(
        &doc,
        format!("wallet pre-approve --sponsorship {sid} --patient {patient} --item SURG --diagnosis K40.9 --note hernia"),
    )
    .await;
    assert_eq!(
        (asked.code, asked.json["sent"].as_bool()),
        (0, Some(false)),
        "{} {}",
        asked.json,
        asked.stderr
    );
    let pa = asked.json["request"]["id"].as_str().unwrap().to_owned();
    // Offline: the device tells what is covered, then both charge beyond the caps.
    let told = run(&fd1, format!("wallet covered --patient {patient} --item CONS-GP --item LAB-MAL")).await;
    assert_eq!(
        told.json[0]["answer"]["lines"][0]["reasons"],
        json!(["service_not_covered"]),
        "{}",
        told.json
    );
    assert_eq!(told.json[0]["answer"]["approved"].as_u64(), Some(25_000));
    let offline_sp = run(&fd1, format!("wallet sponsorships --patient {patient}")).await;
    assert_eq!(offline_sp.json["offline"], json!(true), "{}", offline_sp.json);
    let mut paid = 0;
    for (d, items) in [
        (&fd1, "--item LAB-MAL:2"),
        (&fd1, "--item LAB-MAL:2"),
        (&fd2, "--item LAB-MAL:2"),
        (&fd2, "--item LAB-MAL:2"),
    ] {
        let r = run(d, format!("wallet charge --offline --patient {patient} {items}")).await;
        assert_eq!(r.code, 0, "{}", r.stderr);
        paid += sponsored(&r.json);
    }
    assert_eq!(paid, 80_000, "each device's 400.00, whatever more was claimed");

    // Back online: settle (the server's answer wins), and the queued request goes out.
    let server = ServerProc::start(port, ferret.uri(), &db, &[]);
    for d in [&fd1, &fd2, &doc] {
        let r = run(d, "sync".into()).await;
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    let (_, report) = {
        let r = http
            .get(format!("{url}/portal/api/sponsors/hope/report"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        (r.status(), r.json::<Value>().await.unwrap())
    };
    assert_eq!(report["spent"].as_u64(), Some(80_000), "{report}");
    assert!(
        report["sponsorships"][0]["charges"].as_u64().unwrap() <= 4,
        "the month's count: {report}"
    );
    assert_eq!(report["difference"].as_i64(), Some(0), "{report}");
    let seen = run(&doc, format!("wallet pre-approval {pa}")).await;
    assert_eq!(
        seen.json["view"]["state"]["state"].as_str(),
        Some("pending"),
        "{} {}",
        seen.json,
        seen.stderr
    );

    // The devices hand back what their allowances still reserve (the month's count included).
    for d in [&fd1, &fd2] {
        let r = run(d, "wallet return --all".into()).await;
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    // The sponsor approves; the front desk charges against it; the hold is posted once.
    let r = call(
        reqwest::Method::POST,
        &format!("/portal/api/sponsors/hope/pre-approvals/{pa}/decision"),
        json!({"approve": true, "comment": "ok"}),
    )
    .await
    .unwrap();
    let status = r.status();
    assert_eq!(status, 200, "{}", r.text().await.unwrap());
    let charged = run(
        &fd1,
        format!("wallet charge --patient {patient} --item SURG --owed --pre-approval {pa}"),
    )
    .await;
    assert_eq!(charged.code, 0, "{}", charged.stderr);
    assert_eq!(
        charged.json["receipt"]["parts"][0]["source"].as_str(),
        Some("pre_approved"),
        "{}",
        charged.json
    );
    let again = run(
        &fd1,
        format!("wallet charge --patient {patient} --item SURG --owed --pre-approval {pa}"),
    )
    .await;
    assert_ne!(again.code, 0);
    let seen = run(&doc, format!("wallet pre-approval {pa}")).await;
    assert_eq!(seen.json["view"]["state"]["state"].as_str(), Some("used"), "{}", seen.json);
    let audit: Value = http
        .get(format!("{}/admin/ledger/audit", server.url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(audit["ok"], json!(true), "{audit}");
}
