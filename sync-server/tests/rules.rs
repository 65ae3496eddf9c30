//! The server's sync rules against the in-memory store: no database, and races driven
//! deterministically (a current-thread runtime interleaves `join!`ed requests at their awaits, the
//! same way every run).

use anola_protocol::wire::{EntityKind, Op};
use anola_protocol::{Hlc, MergeRequest, Mutation, MutationStatus, PushRequest, PROTOCOL_VERSION};
use anola_sync_server::store::memory::MemoryStore;
use anola_sync_server::store::Store;
use anola_sync_server::sync::clock::ServerClock;
use anola_sync_server::sync::{admin, push, slots};
use serde_json::{json, Value};
use uuid::Uuid;

const CLINIC: &str = "c1";
const PROVIDER: &str = "22222222-2222-4222-8222-222222222222";

fn mutation(entity: EntityKind, id: Uuid, op: Op, ms: u64, fields: Value) -> Mutation {
    Mutation {
        id: Uuid::now_v7(),
        entity,
        entity_id: id,
        op,
        hlc: Hlc::new(1_800_000_000_000 + ms, 0, "dev"),
        fields,
        base: Default::default(),
        author: None,
        signature: None,
    }
}

fn req(mutations: Vec<Mutation>) -> PushRequest {
    PushRequest {
        protocol_version: PROTOCOL_VERSION,
        device_id: "dev".into(),
        clinic_id: CLINIC.into(),
        mutations,
        audit: Vec::new(),
    }
}

fn patient(given: &str) -> Value {
    json!({"given_name": given, "family_name": "Rule", "date_of_birth": "1980-01-01", "clinic_id": CLINIC})
}

fn booking(patient: Uuid, time: &str) -> Value {
    json!({"patient_id": patient, "provider_id": PROVIDER, "clinic_id": CLINIC, "date": "2026-12-07",
           "start_time": time, "duration_minutes": 15, "status": "scheduled"})
}

fn slot(time: &str) -> String {
    format!("slot:{CLINIC}:{PROVIDER}:2026-12-07:{time}")
}

/// Books an appointment for `patient` at `time` (a fresh create).
async fn book(store: &MemoryStore, clock: &ServerClock, patient: Uuid, time: &str) -> Uuid {
    let appt = Uuid::now_v7();
    push::apply(
        store,
        clock,
        &req(vec![mutation(EntityKind::Appointment, appt, Op::Create, 1, booking(patient, time))]),
    )
    .await
    .unwrap();
    appt
}

/// A patient assigned to field worker fw-7, with one appointment; returns both ids.
async fn assigned_with_appointment(store: &MemoryStore, clock: &ServerClock, given: &str) -> (Uuid, Uuid) {
    let p = Uuid::now_v7();
    let mut fields = patient(given);
    fields["field_worker_id"] = json!("fw-7");
    push::apply(store, clock, &req(vec![mutation(EntityKind::Patient, p, Op::Create, 0, fields)]))
        .await
        .unwrap();
    (p, book(store, clock, p, "08:00").await)
}

/// Reassigns the patient to fw-8.
async fn reassign_to_fw8(store: &MemoryStore, clock: &ServerClock, p: Uuid) {
    let m = mutation(EntityKind::Patient, p, Op::Update, 5, json!({"field_worker_id": "fw-8"}));
    push::apply(store, clock, &req(vec![m])).await.unwrap();
}

async fn new_patient(store: &MemoryStore, clock: &ServerClock, given: &str) -> Uuid {
    let id = Uuid::now_v7();
    push::apply(
        store,
        clock,
        &req(vec![mutation(EntityKind::Patient, id, Op::Create, 0, patient(given))]),
    )
    .await
    .unwrap();
    id
}

#[tokio::test(flavor = "current_thread")]
async fn a_retried_refusal_is_answered_exactly_as_the_first_time() {
    let (store, clock) = (MemoryStore::new(), ServerClock::default());
    let p = new_patient(&store, &clock, "Ada").await;
    let version = Uuid::now_v7();
    let record = |notes: &str, ms| {
        mutation(
            EntityKind::MedicalRecord,
            version,
            Op::Create,
            ms,
            json!({"record_id": version, "patient_id": p, "clinic_id": CLINIC, "author": "Dr", "consultation_notes": notes}),
        )
    };
    let first = push::apply(&store, &clock, &req(vec![record("one", 1)])).await.unwrap();
    assert_eq!(first[0].status, MutationStatus::Applied);
    let clash = req(vec![record("two", 2)]);
    let refused = push::apply(&store, &clock, &clash).await.unwrap();
    assert_eq!(
        (refused[0].status, refused[0].code.as_deref()),
        (MutationStatus::Rejected, Some("record_immutable"))
    );
    for _ in 0..3 {
        assert_eq!(
            push::apply(&store, &clock, &clash).await.unwrap(),
            refused,
            "the retry was told something else"
        );
    }
    // The same id with another body is its own error.
    let mut reused = clash.clone();
    reused.mutations[0].fields["consultation_notes"] = json!("three");
    let r = push::apply(&store, &clock, &reused).await.unwrap();
    assert_eq!(r[0].code.as_deref(), Some("mutation_id_reused"));
}

#[tokio::test(flavor = "current_thread")]
async fn concurrent_reschedules_leave_claims_equal_to_the_latest_state() {
    // Every store step yields: the two requests below interleave step by step.
    let (store, clock) = (MemoryStore::interleaved(), ServerClock::default());
    let p = new_patient(&store, &clock, "Bea").await;
    let appt = book(&store, &clock, p, "08:00").await;
    let times = ["09:00", "09:15", "10:00", "10:30", "11:00"];
    for round in 0..20u64 {
        // Two requests race on one appointment; which HLC wins alternates.
        let (ta, tb) = (times[(round % 5) as usize], times[((round + 2) % 5) as usize]);
        let (ha, hb) = if round % 2 == 0 {
            (10 + round * 10, 11 + round * 10)
        } else {
            (11 + round * 10, 10 + round * 10)
        };
        let a = req(vec![mutation(
            EntityKind::Appointment,
            appt,
            Op::Update,
            ha,
            json!({"start_time": ta}),
        )]);
        let b = req(vec![mutation(
            EntityKind::Appointment,
            appt,
            Op::Update,
            hb,
            json!({"start_time": tb}),
        )]);
        let (ra, rb) = tokio::join!(push::apply(&store, &clock, &a), push::apply(&store, &clock, &b));
        ra.unwrap();
        rb.unwrap();
        let head = store.head(EntityKind::Appointment, appt).await.unwrap().unwrap();
        let time = head.text("start_time").unwrap().to_owned();
        let held: Vec<String> = store
            .claim_holders()
            .into_iter()
            .filter(|(k, h)| *h == appt && k.starts_with("slot:"))
            .map(|(k, _)| k)
            .collect();
        assert_eq!(held, vec![slot(&time)], "round {round}: claims follow the state at {time}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn the_sweeper_finishes_a_rule_left_pending() {
    let (store, clock) = (MemoryStore::new(), ServerClock::default());
    let p = new_patient(&store, &clock, "Cy").await;
    let appt = book(&store, &clock, p, "08:00").await;
    // As a crash would leave it: a newer version written and marked pending, its rule never run.
    let mut head = store.head(EntityKind::Appointment, appt).await.unwrap().unwrap();
    let mut moved = head.clone();
    moved.version += 1;
    let m = mutation(EntityKind::Appointment, appt, Op::Update, 5, json!({"start_time": "09:00"}));
    moved.state.merge(&m.state());
    store.mark_rules_pending(CLINIC, &[appt]).await.unwrap().expect("a marker");
    store.insert_versions(std::slice::from_ref(&moved)).await.unwrap();
    head = moved;
    assert_eq!(slots::repair_pending(&store, &clock, 0).await.unwrap(), 1);
    let held: Vec<String> = store
        .claim_holders()
        .into_iter()
        .filter(|(_, h)| *h == appt)
        .map(|(k, _)| k)
        .collect();
    assert_eq!(held, vec![slot(head.text("start_time").unwrap())]);
    assert!(store.pending_rules(0).await.unwrap().is_empty());
}

#[tokio::test(flavor = "current_thread")]
async fn a_repeated_merge_changes_nothing_and_keeps_its_first_note() {
    let (store, clock) = (MemoryStore::new(), ServerClock::default());
    let keep = new_patient(&store, &clock, "Keep").await;
    let dup = new_patient(&store, &clock, "Dup").await;
    let appt = book(&store, &clock, dup, "08:00").await;
    let merge = MergeRequest {
        protocol_version: PROTOCOL_VERSION,
        clinic_id: CLINIC.into(),
        survivor: keep,
        duplicate: dup,
        merged_by: "admin".into(),
    };
    let first = admin::merge(&store, &clock, &merge).await.unwrap();
    let dv = store.head(EntityKind::Patient, dup).await.unwrap().unwrap().version;
    let av = store.head(EntityKind::Appointment, appt).await.unwrap().unwrap().version;
    let again = admin::merge(&store, &clock, &merge).await.unwrap();
    assert_eq!(first, again, "the first note is kept");
    assert_eq!(
        store.head(EntityKind::Patient, dup).await.unwrap().unwrap().version,
        dv,
        "the tombstone was not written again"
    );
    assert_eq!(store.head(EntityKind::Appointment, appt).await.unwrap().unwrap().version, av);
    let head = store.head(EntityKind::Appointment, appt).await.unwrap().unwrap();
    assert_eq!(head.text("patient_id"), Some(keep.to_string().as_str()));
}

#[tokio::test(flavor = "current_thread")]
async fn a_reassignment_carries_the_history_and_tells_the_old_worker() {
    let (store, clock) = (MemoryStore::new(), ServerClock::default());
    let (p, appt) = assigned_with_appointment(&store, &clock, "Dee").await;
    let before = store.log(CLINIC).len();
    reassign_to_fw8(&store, &clock, p).await;
    let after: Vec<_> = store.log(CLINIC).into_iter().skip(before).collect();
    let marked = after
        .iter()
        .any(|r| r.entity == EntityKind::Patient && r.doc.as_ref().and_then(|d| d.get("unassigned_from")) == Some(&json!("fw-7")));
    assert!(marked, "the old worker is told: {after:?}");
    assert!(
        after.iter().any(|r| r.entity == EntityKind::Appointment && r.id == appt),
        "the appointment is announced again for the new worker"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_retry_after_a_crash_releases_the_identity_keys_of_the_old_values() {
    let (store, clock) = (MemoryStore::new(), ServerClock::default());
    let p = Uuid::now_v7();
    let mut fields = patient("Eve");
    fields["national_id"] = json!("11111111");
    push::apply(&store, &clock, &req(vec![mutation(EntityKind::Patient, p, Op::Create, 0, fields)]))
        .await
        .unwrap();
    let old_key = |holders: &std::collections::BTreeMap<String, Uuid>| holders.iter().any(|(k, h)| k.contains("nid:11111111") && *h == p);
    assert!(old_key(&store.claim_holders()), "the first national id is claimed");

    // The edit's version is written, then the server dies before its rules run.
    let edit = mutation(EntityKind::Patient, p, Op::Update, 5, json!({"national_id": "22222222"}));
    store.accept_mutations("dev", CLINIC, std::slice::from_ref(&edit)).await.unwrap();
    let mut v = store.head(EntityKind::Patient, p).await.unwrap().unwrap();
    v.version += 1;
    v.state.merge(&edit.state());
    v.mutation_ids = vec![edit.id];
    store.insert_versions(std::slice::from_ref(&v)).await.unwrap();

    // The device retries: the new value is claimed and the old one let go.
    push::apply(&store, &clock, &req(vec![edit])).await.unwrap();
    let holders = store.claim_holders();
    assert!(holders.iter().any(|(k, h)| k.contains("nid:22222222") && *h == p), "{holders:?}");
    assert!(!old_key(&holders), "the old national id is still held: {holders:?}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_page_holding_a_patient_before_and_after_its_reassignment_gives_the_new_worker_both() {
    let (store, clock) = (MemoryStore::new(), ServerClock::default());
    let (p, appt) = assigned_with_appointment(&store, &clock, "Fay").await;
    reassign_to_fw8(&store, &clock, p).await;
    // One page from the start of the log, as a new or long-offline fw-8 device pulls it.
    let page = anola_sync_server::sync::pull::page(&store, CLINIC, Some("fw-8"), anola_protocol::Cursor::at(0), None, PROTOCOL_VERSION)
        .await
        .unwrap();
    let got: Vec<(EntityKind, Uuid)> = page.changes.iter().map(|r| (r.entity, r.id)).collect();
    assert!(got.contains(&(EntityKind::Patient, p)), "{got:?}");
    assert!(got.contains(&(EntityKind::Appointment, appt)), "{got:?}");
}
