//! `anola wallet …` end to end: the price list, a wallet, a PIN, a cash deposit typed as a
//! decimal, a charge online with a printed receipt, a charge offline that settles, the drawer
//! and its day-close — each answer as JSON, bad input refused naming the field.

use anola_e2e::accounts::admin_token;
use anola_e2e::ferret::Ferret;
use anola_e2e::procs::{Device, ServerProc};
use anola_e2e::{free_port, unique_db};
use anola_protocol::Role;
use serde_json::json;
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread")]
async fn a_cashier_runs_a_day_from_the_command_line() {
    let ferret = Ferret::start();
    let server = ServerProc::start(free_port(), ferret.uri(), &unique_db("walletcli"), &[]);
    let url = server.url();
    let token = admin_token(&url).await;
    let item =
        json!({"code": "CONS-GP", "name": "GP consultation", "kind": "consultation", "price": 100_000, "currency": "KES", "active": true});
    let r = reqwest::Client::new()
        .put(format!("{url}/money/prices/CONS-GP"))
        .bearer_auth(&token)
        .json(&item)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    let dir = tempfile::tempdir().unwrap();
    let clinic = format!("c{}", &Uuid::new_v4().simple().to_string()[..8]);
    let (d, url2) = (dir.path().to_path_buf(), url.clone());
    let dev = tokio::task::spawn_blocking(move || Device::with_scope(&d, &url2, &clinic, Role::FrontDesk, None))
        .await
        .unwrap();
    let p = format!("p-{}", Uuid::new_v4().simple());
    let run = move |args: Vec<String>| {
        let dev = Device {
            dir: dev.dir.clone(),
            server: dev.server.clone(),
            username: dev.username.clone(),
        };
        async move {
            tokio::task::spawn_blocking(move || {
                let a: Vec<&str> = args.iter().map(String::as_str).collect();
                dev.run(&a)
            })
            .await
            .unwrap()
        }
    };
    let args = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();

    let prices = run(args("wallet prices --refresh")).await;
    assert_eq!(
        (prices.code, prices.json["items"][0]["code"].as_str()),
        (0, Some("CONS-GP")),
        "{}",
        prices.stderr
    );
    assert_eq!(run(args(&format!("wallet open --patient {p}"))).await.code, 0);
    assert_eq!(run(args(&format!("wallet pin --patient {p} --pin 9753"))).await.code, 0);
    let bad = run(args(&format!("wallet deposit --patient {p} --amount 12.505"))).await;
    assert_ne!(bad.code, 0);
    assert_eq!(bad.json["errors"][0]["field"].as_str(), Some("amount"), "{}", bad.json);
    let dep = run(args(&format!("wallet deposit --patient {p} --amount 600.00"))).await;
    assert_eq!(
        (dep.code, dep.json["status"].as_str()),
        (0, Some("applied")),
        "{} {}",
        dep.json,
        dep.stderr
    );

    // Online: personal funds pay 600.00 with the PIN, the desk takes 400.00 cash; a PNG receipt.
    let png = dir.path().join("receipt.png");
    let charged = run(args(&format!(
        "wallet charge --patient {p} --item CONS-GP --pin 9753 --png {}",
        png.display()
    )))
    .await;
    assert_eq!(charged.code, 0, "{} {}", charged.json, charged.stderr);
    assert_eq!(charged.json["provisional"], false);
    let parts = charged.json["receipt"]["parts"].as_array().unwrap();
    assert_eq!(
        (parts[0]["amount"].as_u64(), parts[1]["source"].as_str()),
        (Some(60_000), Some("cash"))
    );
    let id = charged.json["receipt"]["id"].as_str().unwrap().to_owned();
    let text = anola_client::card_image::card_text_from_image(&std::fs::read(&png).unwrap()).unwrap();
    assert_eq!(text, id, "the receipt's QR is its ledger reference");

    // Offline: nothing reserved, so cash 100.00 and the rest owed; provisional until settled.
    let off = run(args(&format!("wallet charge --patient {p} --item CONS-GP --offline --cash 100.00"))).await;
    assert_eq!(
        (off.code, off.json["provisional"].as_bool()),
        (0, Some(true)),
        "{} {}",
        off.json,
        off.stderr
    );
    let settled = run(args("wallet settle")).await;
    assert_eq!(settled.json["settled"].as_u64(), Some(1), "{}", settled.json);
    let shown = run(args(&format!("wallet show --patient {p}"))).await;
    assert_eq!(shown.json["wallets"]["owed"].as_u64(), Some(90_000), "{}", shown.json);

    // The drawer: 600 deposit + 400 + 100 cash; counted 1,100.00 closes it even.
    let drawer = run(args("wallet drawer")).await;
    assert_eq!(drawer.json["expected"].as_u64(), Some(110_000), "{}", drawer.json);
    let close = run(args("wallet close --counted 1100.00")).await;
    assert_eq!((close.code, close.json["difference"].as_i64()), (0, Some(0)), "{}", close.json);
}
