//! Facts about an account change independently: a disable racing the account's own TOTP set-up
//! and confirmation is never undone by them (each used to rewrite the whole user document).

use anola_e2e::accounts::{admin_token, ensure_staff, login, totp_now, STAFF_PASSWORD};
use anola_e2e::ferret::Ferret;
use anola_e2e::procs::ServerProc;
use anola_e2e::{free_port, unique_db};
use anola_protocol::auth::TotpSetup;
use anola_protocol::Role;
use serde_json::{json, Value};

async fn post(url: String, token: &str, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_disable_racing_totp_changes_is_never_undone() {
    let ferret = Ferret::start();
    let server = ServerProc::start(free_port(), ferret.uri(), &unique_db("facts"), &[]);
    let url = server.url();
    let admin = admin_token(&url).await;
    let rounds = 12;
    let mut tasks = Vec::new();
    for i in 0..rounds {
        let clinic = format!("facts{i}");
        let username = ensure_staff(&url, &admin, &clinic, Role::Clinician, None).await;
        let signed_in = login(&url, &username, STAFF_PASSWORD, None).await.expect("sign in");
        let (url, admin) = (url.clone(), admin.clone());
        tasks.push(tokio::spawn(async move {
            let token = signed_in.tokens.access_token;
            // Half the accounts race a set-up, the other half a confirmation.
            let confirm_code = if i % 2 == 1 {
                let (status, setup) = post(format!("{url}/auth/totp/setup"), &token, json!({})).await;
                assert_eq!(status, 200, "{setup}");
                let setup: TotpSetup = serde_json::from_value(setup).unwrap();
                Some(totp_now(&setup.secret_base32))
            } else {
                None
            };
            let disable = post(format!("{url}/admin/users/{}/disable", signed_in.user.id), &admin, json!({}));
            let own = async {
                match &confirm_code {
                    Some(code) => post(format!("{url}/auth/totp/confirm"), &token, json!({"code": code})).await,
                    None => post(format!("{url}/auth/totp/setup"), &token, json!({})).await,
                }
            };
            let ((status, body), _) = tokio::join!(disable, own);
            assert_eq!(status, 200, "disable: {body}");
            username
        }));
    }
    for t in tasks {
        let username = t.await.unwrap();
        let r = login(&url, &username, STAFF_PASSWORD, None).await;
        let code = r.as_ref().err().map(|(_, v)| v["code"].clone());
        assert_eq!(code, Some(json!("account_disabled")), "{username} is enabled again: {:?}", r.err());
    }
}
