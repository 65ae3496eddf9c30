//! The wallet in the real window (Xvfb, tauri-driver, WebKitWebDriver): a front-desk device opens
//! a patient's wallet, takes a cash deposit, the patient sets a PIN, a consultation is charged
//! from personal funds with the rest in cash, and the printed receipt (PNG) carries the ledger
//! reference as a QR; the drawer closes with a chart; then, with the server gone, a charge is
//! made offline and shows as provisional. Screenshots go to `test-artifacts/`.

use anola_e2e::accounts::{admin_token, prepare_device};
use anola_e2e::app::{launch, screenshot};
use anola_e2e::ferret::Ferret;
use anola_e2e::procs::ServerProc;
use anola_e2e::webdriver::{WdError, WebDriver};
use anola_e2e::{free_port, unique_db};
use anola_protocol::Role;
use base64::Engine;
use serde_json::json;
use std::sync::Mutex;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn wallet_charge_receipt_and_offline_charge_in_the_real_window() {
    let data = tempfile::tempdir().unwrap();
    let ferret = Ferret::start();
    let server = ServerProc::start(free_port(), ferret.uri(), &unique_db("walletwin"), &[]);
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
    let enrolment = prepare_device(&url, "main", Role::FrontDesk, None).await;
    let server = Mutex::new(Some(server));
    let Some((_driver, wd)) = launch(data.path(), &url, "tauri-driver-wallet.log").await else {
        return;
    };
    let result = drive(&wd, &enrolment, &server).await;
    if result.is_err() {
        screenshot(&wd, "wallet-failure.png").await;
    }
    wd.quit().await;
    result.expect("wallet UI flow");
}

async fn choose_item(wd: &WebDriver, code: &str) -> Result<(), WdError> {
    wd.click_on(
        &format!("[data-testid=charge-item-0] option[value='{code}']"),
        Duration::from_secs(10),
    )
    .await?;
    let chosen = wd
        .execute("return document.querySelector('[data-testid=charge-item-0]').value")
        .await?;
    assert_eq!(chosen.as_str(), Some(code));
    Ok(())
}

async fn drive(wd: &WebDriver, e: &anola_e2e::accounts::Enrolment, server: &Mutex<Option<ServerProc>>) -> Result<(), WdError> {
    let (long, short) = (Duration::from_secs(45), Duration::from_secs(10));
    anola_e2e::app::enrol(wd, e).await?;

    // A patient, registered here.
    wd.click_on("[data-testid=register-button]", short).await?;
    wd.wait_for("[data-testid=patient-form]", short).await?;
    for (field, value) in [("given_name", "Wanjiru"), ("family_name", "Kamau"), ("date_of_birth", "1990-02-03")] {
        wd.fill(&format!("[data-testid='field-{field}']"), value).await?;
    }
    wd.click_on("[data-testid=submit-patient]", short).await?;
    wd.wait_for("[data-testid=patient-detail]", short).await?;

    // The wallet tab: online, no wallet yet.
    wd.click_on("[data-testid=tab-wallet]", short).await?;
    wd.wait_text("[data-testid=wallet-state]", long, |t| t.starts_with("Online"))
        .await?;
    wd.click_on("[data-testid=wallet-open]", short).await?;
    wd.wait_for("[data-testid=wallet-personal]", long).await?;

    // A cash deposit: a bad amount is refused in place, then 600.00.
    wd.click_on("[data-testid=wallet-deposit]", short).await?;
    wd.fill("[data-testid=deposit-amount]", "12.505").await?;
    wd.click_on("[data-testid=deposit-submit]", short).await?;
    wd.wait_text("[data-testid=deposit-error]", short, |t| t.contains("KES")).await?;
    wd.fill("[data-testid=deposit-amount]", "600.00").await?;
    wd.click_on("[data-testid=deposit-submit]", short).await?;
    wd.wait_text("[data-testid=wallet-personal-available]", long, |t| t == "600.00 KES")
        .await?;

    // The patient sets a wallet PIN.
    wd.click_on("[data-testid=wallet-set-pin]", short).await?;
    wd.fill("[data-testid=wallet-pin-new]", "2468").await?;
    wd.fill("[data-testid=wallet-pin-again]", "2468").await?;
    wd.click_on("[data-testid=wallet-pin-submit]", short).await?;
    wd.wait_text("[data-testid=wallet-pin-state]", long, |t| t.contains("set ("))
        .await?;
    screenshot(wd, "wallet-panel.png").await;

    // Charge a consultation: personal funds with the PIN, the desk takes the rest in cash.
    wd.click_on("[data-testid=wallet-charge]", short).await?;
    wd.wait_for("[data-testid=charge-dialog]", short).await?;
    choose_item(wd, "CONS-GP").await?;
    wd.wait_text("[data-testid=charge-total]", short, |t| t.contains("1,000.00 KES"))
        .await?;
    wd.click_on("[data-testid=charge-personal]", short).await?;
    wd.fill("[data-testid=charge-pin]", "2468").await?;
    wd.click_on("[data-testid=charge-quote-btn]", short).await?;
    wd.wait_text("[data-testid=charge-desk]", long, |t| t == "400.00 KES").await?;
    wd.click_on("[data-testid=charge-confirm]", short).await?;

    // The receipt: its PNG's QR is the ledger reference.
    wd.wait_for("[data-testid=receipt-image]", long).await?;
    let id = wd
        .execute("return document.querySelector('[data-testid=receipt-dialog]').dataset.receiptId")
        .await?;
    let src = wd
        .execute("return document.querySelector('[data-testid=receipt-image]').src")
        .await?;
    let b64 = src.as_str().unwrap_or_default().trim_start_matches("data:image/png;base64,");
    let png = base64::engine::general_purpose::STANDARD.decode(b64).expect("a PNG");
    let qr = anola_client::card_image::card_text_from_image(&png).expect("the receipt's QR reads");
    assert_eq!(Some(qr.as_str()), id.as_str(), "the receipt's QR is its ledger reference");
    std::fs::write(anola_e2e::app::artifacts().join("wallet-receipt.png"), &png).unwrap();
    screenshot(wd, "wallet-receipt-dialog.png").await;
    wd.click_on("[data-testid=receipt-dialog] button.btn:not(.btn-primary)", short)
        .await?;
    wd.wait_for("[data-testid=wallet-charge-row][data-state=settled]", long).await?;
    wd.wait_text("[data-testid=wallet-personal-available]", long, |t| t == "0.00 KES")
        .await?;

    // The cash drawer: 600.00 deposited + 400.00 taken; the count closes the day with a chart.
    wd.click_on("[data-testid=nav-drawer]", short).await?;
    wd.wait_text("[data-testid=drawer-expected]", long, |t| t == "1,000.00 KES").await?;
    wd.fill("[data-testid=drawer-counted]", "990.00").await?;
    wd.click_on("[data-testid=drawer-close]", short).await?;
    wd.wait_for("[data-testid=drawer-chart]", long).await?;
    wd.wait_text("[data-testid=drawer-expected]", long, |t| t == "0.00 KES").await?;
    screenshot(wd, "wallet-drawer.png").await;

    // The server goes away: a charge is made offline and shows as provisional.
    if let Some(s) = server.lock().unwrap().take() {
        s.kill();
    }
    wd.click_on("[data-testid=nav-patients]", short).await?;
    wd.click_on("[data-testid=patient-row]", short).await?;
    wd.click_on("[data-testid=tab-wallet]", short).await?;
    wd.wait_text("[data-testid=wallet-state]", long, |t| t.starts_with("Offline"))
        .await?;
    wd.click_on("[data-testid=wallet-charge]", short).await?;
    choose_item(wd, "CONS-GP").await?;
    wd.click_on("[data-testid=charge-quote-btn]", short).await?;
    wd.wait_for("[data-testid=charge-offline]", long).await?;
    wd.fill("[data-testid=charge-cash]", "1000.00").await?;
    wd.click_on("[data-testid=charge-confirm]", short).await?;
    wd.wait_for("[data-testid=receipt-provisional]", long).await?;
    wd.wait_for("[data-testid=receipt-image]", long).await?;
    screenshot(wd, "wallet-offline-receipt.png").await;
    wd.click_on("[data-testid=receipt-dialog] button.btn:not(.btn-primary)", short)
        .await?;
    wd.wait_for("[data-testid=wallet-charge-row][data-state=pending]", long).await?;
    Ok(())
}
