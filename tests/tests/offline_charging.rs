//! Two front-desk devices, through the client library, charging one patient's wallets while the
//! server is down: each spends only the allowance it reserved while online, the patient's PIN is
//! checked on the device with an attempt lock, what no allowance covers is owed, and at the next
//! sync each charge settles exactly once with the server's receipt. The wallet never goes below
//! zero and the auditor is clean.

use anola_client::clinic_money::{AllowancePolicy, OfflineBill};
use anola_client::ClientError;
use anola_e2e::accounts::admin_token;
use anola_e2e::ferret::Ferret;
use anola_e2e::procs::ServerProc;
use anola_e2e::workstations::enrolled;
use anola_e2e::{free_port, unique_db};
use anola_protocol::money::{AccountKind, Currency, DepositMethod, Line, Source};
use anola_protocol::Role;
use serde_json::json;
use uuid::Uuid;

fn lab(quantity: u32) -> Vec<Line> {
    vec![Line {
        item: "LAB-MAL".into(),
        quantity,
        unit_price: 0,
    }]
}

fn bill(patient: &str, quantity: u32, cash: u64, pin: Option<&str>) -> OfflineBill {
    OfflineBill {
        id: Uuid::now_v7(),
        patient: patient.into(),
        lines: lab(quantity),
        cash,
        pin: pin.map(String::from),
        diagnoses: Vec::new(),
        provider: None,
    }
}

fn paid(parts: &[anola_protocol::money::Part], source: Source) -> u64 {
    parts.iter().filter(|p| p.source == source).map(|p| p.amount).sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_devices_charge_one_wallet_offline_and_settle_once() {
    let ferret = Ferret::start();
    let db = unique_db("offlinepay");
    let port = free_port();
    let server = ServerProc::start(port, ferret.uri(), &db, &[]);
    let url = server.url();
    let http = reqwest::Client::new();
    let token = admin_token(&url).await;
    let item = json!({"code": "LAB-MAL", "name": "Malaria test", "kind": "lab_test", "price": 25_000, "currency": "KES", "active": true});
    let r = http
        .put(format!("{url}/money/prices/LAB-MAL"))
        .bearer_auth(&token)
        .json(&item)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);

    let clinic = format!("c{}", &Uuid::new_v4().simple().to_string()[..8]);
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (_w1, c1) = enrolled(d1.path(), &url, &clinic, Role::FrontDesk, None).await;
    let (_w2, c2) = enrolled(d2.path(), &url, &clinic, Role::FrontDesk, None).await;
    let patient = format!("p-{}", Uuid::new_v4().simple());

    // Online: the wallet, 600.00 in cash, the patient's PIN, the price list on both devices.
    c1.open_wallet(&patient, Currency::KES).await.unwrap();
    c1.deposit(&patient, 60_000, DepositMethod::Cash).await.unwrap();
    c1.set_wallet_pin(&patient, "2468").await.unwrap();
    for c in [&c1, &c2] {
        assert_eq!(c.refresh_prices().await.unwrap().items.len(), 1);
    }
    // Each device reserves up to 400.00 of it: the second gets the 200.00 left.
    let policy = AllowancePolicy {
        total: 40_000,
        per_charge: 40_000,
        max_count: 3,
        ttl_ms: 3_600_000,
    };
    // Personal funds need the patient's PIN to be reserved; without it nothing is.
    assert_eq!(c1.reserve_allowances(std::slice::from_ref(&patient), policy).await.unwrap(), 0);
    assert_eq!(c1.reserve_personal_allowance(&patient, "2468", policy).await.unwrap(), 1);
    assert_eq!(c2.reserve_personal_allowance(&patient, "2468", policy).await.unwrap(), 1);
    let held: Vec<u64> = [&c1, &c2]
        .iter()
        .map(|c| c.offline_money(&patient).unwrap().allowances.iter().map(|a| a.reserved).sum())
        .collect();
    assert_eq!(held, vec![40_000, 20_000]);
    let w = c1.patient_wallets(&patient).await.unwrap();
    let pw = w.wallets.iter().find(|x| x.kind == AccountKind::Personal).unwrap();
    assert_eq!(pw.available, 0, "the allowances hold it all");

    // The server goes down.
    server.kill();

    // Device 1: a wrong PIN is refused and nothing is recorded; the right one pays 400.00 from
    // the allowance and 100.00 is owed.
    let wrong = c1.charge_offline(bill(&patient, 2, 0, Some("1357"))).unwrap_err();
    assert!(
        matches!(&wrong, ClientError::MoneyRefused { reason, .. } if reason == "pin_incorrect"),
        "{wrong:?}"
    );
    let one = c1.charge_offline(bill(&patient, 2, 0, Some("2468"))).unwrap();
    assert!(one.provisional);
    assert_eq!(
        (paid(&one.receipt.parts, Source::Allowance), paid(&one.receipt.parts, Source::Owed)),
        (40_000, 10_000)
    );
    // Without the PIN, personal funds are not touched: cash, then owed.
    let no_pin = c1.charge_offline(bill(&patient, 1, 5_000, None)).unwrap();
    assert_eq!(
        (paid(&no_pin.receipt.parts, Source::Cash), paid(&no_pin.receipt.parts, Source::Owed)),
        (5_000, 20_000)
    );
    // Device 2 spends its 200.00, then has nothing left.
    let two = c2.charge_offline(bill(&patient, 1, 5_000, Some("2468"))).unwrap();
    assert_eq!(
        (paid(&two.receipt.parts, Source::Allowance), paid(&two.receipt.parts, Source::Cash)),
        (20_000, 5_000)
    );
    let three = c2.charge_offline(bill(&patient, 1, 0, Some("2468"))).unwrap();
    assert_eq!(paid(&three.receipt.parts, Source::Owed), 25_000);
    // Five wrong PINs lock personal spending on the device.
    for _ in 0..5 {
        let _ = c2.charge_offline(bill(&patient, 1, 0, Some("0000")));
    }
    let locked = c2.charge_offline(bill(&patient, 1, 0, Some("2468"))).unwrap_err();
    assert!(
        matches!(&locked, ClientError::MoneyRefused { reason, .. } if reason == "pin_locked"),
        "{locked:?}"
    );

    // The server is back (same database, same port): each device settles, twice over.
    let server = ServerProc::start(port, ferret.uri(), &db, &[]);
    let (s1, s2) = tokio::join!(c1.settle_offline_charges(), c2.settle_offline_charges());
    let (s1, s2) = (s1.unwrap(), s2.unwrap());
    assert_eq!((s1.settled, s1.refused, s2.settled, s2.refused), (2, 0, 2, 0));
    let again = c1.settle_offline_charges().await.unwrap();
    assert_eq!(again.settled + again.refused, 0, "nothing is sent twice");
    for (c, id) in [(&c1, one.receipt.id), (&c2, two.receipt.id)] {
        let r = c.receipt(id).await.unwrap();
        assert!(!r.provisional, "settled: the server's receipt");
        assert!(!r.receipt.clinic.is_empty());
    }
    let settled = c1.receipt(one.receipt.id).await.unwrap().receipt;
    assert_eq!(paid(&settled.parts, Source::Allowance), 40_000);

    // The wallet: nothing below zero; what was not covered is owed, once.
    let w = c1.patient_wallets(&patient).await.unwrap();
    assert!(w.wallets.iter().all(|x| x.available >= 0));
    assert_eq!(w.owed, 10_000 + 20_000 + 25_000);
    // Returning the allowances (all spent) changes nothing; the auditor is clean.
    c1.return_allowances(true).await.unwrap();
    c2.return_allowances(true).await.unwrap();
    let audit: serde_json::Value = http
        .get(format!("{}/admin/ledger/audit", server.url()))
        .bearer_auth(admin_token(&server.url()).await)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(audit["ok"], true, "{audit}");
}
