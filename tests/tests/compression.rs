//! Sync bodies are compressed both ways when both ends can (zstd, negotiated), and a client that
//! speaks plain JSON only still works against the same server: each side reads what the other
//! wrote. Real FerretDB, a real server process, the device engine's own transport.

use anola_client::sync::transport::{Credentials, Transport};
use anola_e2e::accounts::{self, RawDevice};
use anola_e2e::ferret::Ferret;
use anola_e2e::procs::ServerProc;
use anola_e2e::seed;
use anola_e2e::{free_port, unique_db};
use anola_protocol::auth::TokenPair;
use anola_protocol::wire::EntityKind;
use anola_protocol::{Mutation, MutationStatus, PullRequest, PushRequest, Role, PROTOCOL_VERSION};
use serde_json::json;
use std::sync::Arc;

const CLINIC: &str = "zipclinic";
const GIVEN: &[&str] = &["Amina", "Baraka", "Chausiku", "Daudi", "Eshe", "Faraji", "Gathoni", "Hamisi"];
const FAMILY: &[&str] = &["Okafor", "Mwangi", "Otieno", "Wanjiru", "Kamau", "Achieng", "Njoroge"];

fn transport(url: &str, dev: &RawDevice, compress: bool) -> Transport {
    let creds = Credentials::new(
        Some(dev.device_key()),
        Some(TokenPair {
            access_token: dev.access_token.clone(),
            expires_in: 900,
            refresh_token: dev.refresh_token.clone(),
        }),
    );
    let t = Transport::new(url).with_credentials(Arc::new(creds));
    if compress {
        t
    } else {
        t.without_compression()
    }
}

fn patients(dev: &RawDevice, n: usize, offset: usize) -> Vec<Mutation> {
    seed::patients(dev, n, |k| {
        let i = offset + k;
        json!({
            "given_name": GIVEN[i % GIVEN.len()],
            "family_name": FAMILY[i % FAMILY.len()],
            "date_of_birth": format!("{:04}-{:02}-{:02}", 1940 + i % 80, 1 + i % 12, 1 + i % 28),
            "gender": if i.is_multiple_of(2) { "female" } else { "male" },
            "phone": format!("+2547{:08}", 10_000_000 + i * 7_919),
            "national_id": format!("NID{:09}", 100_000 + i),
            "address": {"city": "Kisumu", "country": "Kenya"},
            "clinic_id": CLINIC,
        })
    })
}

async fn push(t: &Transport, dev: &RawDevice, ms: Vec<Mutation>) {
    let req = PushRequest {
        protocol_version: PROTOCOL_VERSION,
        device_id: dev.device_id.clone(),
        clinic_id: CLINIC.into(),
        mutations: ms,
        audit: Vec::new(),
    };
    let resp = t.push(&req).await.expect("push answered");
    assert!(resp.results.iter().all(|r| r.status == MutationStatus::Applied), "{resp:?}");
}

/// Pulls the whole log; returns how many patient records arrived (the log also announces staff).
async fn pull_all(t: &Transport, dev: &RawDevice) -> usize {
    let mut cursor = None;
    let mut n = 0;
    loop {
        let page = t
            .pull(&PullRequest {
                protocol_version: PROTOCOL_VERSION,
                device_id: dev.device_id.clone(),
                clinic_id: CLINIC.into(),
                field_worker_id: None,
                cursor: cursor.clone(),
                limit: None,
                status: None,
            })
            .await
            .expect("pull answered");
        n += page.changes.iter().filter(|c| c.entity == EntityKind::Patient).count();
        cursor = Some(page.cursor);
        if !page.has_more {
            return n;
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn compressed_and_plain_clients_read_each_others_writes() {
    let ferret = Ferret::start();
    let db = unique_db("compression");
    let server = ServerProc::start(free_port(), ferret.uri(), &db, &accounts::server_env());
    let url = server.url();
    let dev_plain = accounts::raw_device(&url, CLINIC, Role::Clinician, Role::Clinician, None).await;
    let dev_zip = accounts::raw_device(&url, CLINIC, Role::Clinician, Role::Clinician, None).await;
    let plain = transport(&url, &dev_plain, false);
    let zipped = transport(&url, &dev_zip, true);

    // A plain client writes; both read it.
    push(&plain, &dev_plain, patients(&dev_plain, 300, 0)).await;
    assert_eq!(pull_all(&zipped, &dev_zip).await, 300);
    assert_eq!(pull_all(&plain, &dev_plain).await, 300);
    let p = plain.byte_counts();
    assert_eq!(p.wire_sent, p.json_sent, "a plain client sends JSON as it is");
    assert_eq!(p.wire_received, p.json_received, "a plain client is answered in plain JSON");
    let z = zipped.byte_counts();
    println!(
        "pull of 300 patients: {} bytes on the wire for {} bytes of JSON ({:.1}%)",
        z.wire_received,
        z.json_received,
        100.0 * z.wire_received as f64 / z.json_received as f64
    );
    assert!(
        z.wire_received * 4 <= z.json_received,
        "compressed pull: {} wire bytes for {} JSON bytes, more than a quarter",
        z.wire_received,
        z.json_received
    );

    // The compressed client writes (it learnt from the answers that the server reads zstd); both
    // read it.
    let before = zipped.byte_counts();
    push(&zipped, &dev_zip, patients(&dev_zip, 300, 300)).await;
    let after = zipped.byte_counts();
    let (json_sent, wire_sent) = (after.json_sent - before.json_sent, after.wire_sent - before.wire_sent);
    println!("push of 300 patients: {wire_sent} bytes on the wire for {json_sent} bytes of JSON");
    assert!(
        wire_sent * 4 <= json_sent,
        "compressed push: {wire_sent} wire bytes for {json_sent} JSON bytes"
    );
    let plain_again = transport(&url, &dev_plain, false);
    assert_eq!(pull_all(&plain_again, &dev_plain).await, 600);

    // Raw requests: a gzip body is read; an encoding the server does not take gets a clear error.
    let body = serde_json::to_vec(&json!({
        "protocol_version": PROTOCOL_VERSION, "device_id": dev_plain.device_id, "clinic_id": CLINIC,
        "cursor": null, "limit": 10
    }))
    .unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &body).unwrap();
    let http = reqwest::Client::new();
    let resp = dev_plain
        .sign(http.post(format!("{url}/sync/pull")))
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(gz.finish().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "a gzip request body is read");
    assert!(
        resp.headers().get("accept-encoding").is_some(),
        "the server names the encodings it reads"
    );
    let resp = dev_plain
        .sign(http.post(format!("{url}/sync/pull")))
        .header("content-type", "application/json")
        .header("content-encoding", "br")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 415);
    let text = resp.text().await.unwrap();
    let err: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("an error body, not {text:?}: {e}"));
    assert_eq!(err["code"], "unsupported_media_type", "{err}");
    assert_eq!(err["field"], "Content-Encoding", "{err}");
}
