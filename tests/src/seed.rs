//! Seeding a clinic over the real push API, as an enrolled device would: patient creates made
//! from a field function, pushed in batches by a few concurrent pushers.

use crate::accounts::RawDevice;
use anola_protocol::wire::{EntityKind, Op};
use anola_protocol::{Hlc, Mutation, MutationStatus, PushRequest, PushResponse, PROTOCOL_VERSION};
use uuid::Uuid;

/// Patient creates `0..n`, authored by `dev`'s staff member, with `fields(i)` (which must name the
/// clinic). Stamps increase with `i`.
pub fn patients(dev: &RawDevice, n: usize, fields: impl Fn(usize) -> serde_json::Value) -> Vec<Mutation> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as u64;
    (0..n)
        .map(|i| Mutation {
            id: Uuid::now_v7(),
            entity: EntityKind::Patient,
            entity_id: Uuid::now_v7(),
            op: Op::Create,
            hlc: Hlc::new(now, i as u32, &dev.device_id),
            fields: fields(i),
            base: Default::default(),
            author: Some(dev.user_id),
            signature: None,
        })
        .map(|m| dev.signed(m))
        .collect()
}

/// Pushes `mutations` to `url` as `dev`, `per_push` to a request, from `pushers` concurrent
/// pushers; insists that every mutation is applied.
pub async fn push(url: &str, dev: &RawDevice, mutations: Vec<Mutation>, per_push: usize, pushers: usize) {
    let batches: Vec<Vec<Mutation>> = mutations.chunks(per_push.max(1)).map(<[Mutation]>::to_vec).collect();
    let per_pusher = batches.len().div_ceil(pushers.max(1)).max(1);
    let http = reqwest::Client::new();
    let mut tasks = Vec::new();
    for share in batches.chunks(per_pusher) {
        let (http, url, dev, share) = (http.clone(), url.to_owned(), dev.clone(), share.to_vec());
        tasks.push(tokio::spawn(async move {
            for mutations in share {
                let req = PushRequest {
                    protocol_version: PROTOCOL_VERSION,
                    device_id: dev.device_id.clone(),
                    clinic_id: dev.clinic_id.clone(),
                    mutations,
                    audit: Vec::new(),
                };
                let r = dev
                    .sign(http.post(format!("{url}/sync/push")))
                    .json(&req)
                    .send()
                    .await
                    .expect("push sent");
                assert!(r.status().is_success(), "seed push: {}", r.status());
                let answer: PushResponse = r.json().await.expect("push answer");
                assert!(answer.results.iter().all(|r| r.status == MutationStatus::Applied), "{answer:?}");
            }
        }));
    }
    for t in tasks {
        t.await.expect("pusher");
    }
}
