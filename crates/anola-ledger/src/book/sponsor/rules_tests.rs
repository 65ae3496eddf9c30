//! Every reason code from a table, and properties of the engine over random inputs.

use super::rules::*;
use crate::book::ItemKind;
use crate::Currency;
use proptest::prelude::*;

const DAY: i64 = DAY_MS;

fn line(item: &str, kind: ItemKind, amount: u64) -> ClaimLine {
    ClaimLine {
        item: item.into(),
        kind,
        service: None,
        amount,
    }
}

fn standing() -> Standing {
    Standing {
        active: true,
        starts_at: 0,
        ends_at: 100 * DAY,
        currency: Currency::KES,
    }
}

fn room() -> Room {
    Room {
        funds: 1_000_000,
        period: None,
        charges: None,
        pre_approved: None,
    }
}

struct Case {
    name: &'static str,
    coverage: Coverage,
    caps: Caps,
    standing: Standing,
    at: i64,
    provider: Option<&'static str>,
    diagnoses: Vec<String>,
    room: Room,
    currency: Currency,
    /// Per line: (covered, reasons).
    want: Vec<(u64, Vec<Reason>)>,
}

fn base(name: &'static str) -> Case {
    Case {
        name,
        coverage: Coverage::default(),
        caps: Caps::default(),
        standing: standing(),
        at: 10 * DAY,
        provider: Some("prov-1"),
        diagnoses: vec!["B50.9".into()],
        room: room(),
        currency: Currency::KES,
        want: vec![(1_000, vec![]), (500, vec![])],
    }
}

fn lines() -> Vec<ClaimLine> {
    vec![
        line("CONS-GP", ItemKind::Consultation, 1_000),
        line("AMOX", ItemKind::Medicine, 500),
    ]
}

fn all(reason: Reason) -> Vec<(u64, Vec<Reason>)> {
    vec![(0, vec![reason]), (0, vec![reason])]
}

fn cases() -> Vec<Case> {
    let mut v = vec![base("everything covered")];
    let mut c = base("not active");
    c.standing.active = false;
    c.want = all(Reason::NotActive);
    v.push(c);
    let mut c = base("not started");
    c.standing.starts_at = 20 * DAY;
    c.want = all(Reason::NotStarted);
    v.push(c);
    let mut c = base("expired");
    c.at = 100 * DAY;
    c.want = all(Reason::Expired);
    v.push(c);
    let mut c = base("waiting period");
    c.caps.waiting_days = 30;
    c.want = all(Reason::WaitingPeriod);
    v.push(c);
    let mut c = base("service not covered");
    c.coverage.services = vec!["consultation".into()];
    c.want = vec![(1_000, vec![]), (0, vec![Reason::ServiceNotCovered])];
    v.push(c);
    let mut c = base("service excluded");
    c.coverage.excluded = vec!["AMOX".into()];
    c.want = vec![(1_000, vec![]), (0, vec![Reason::ServiceExcluded])];
    v.push(c);
    let mut c = base("provider out of network");
    c.coverage.providers = vec!["prov-2".into()];
    c.want = all(Reason::ProviderOutOfNetwork);
    v.push(c);
    let mut c = base("provider in network by clinic");
    c.coverage.providers = vec!["clinic-1".into()];
    v.push(c);
    let mut c = base("condition not covered");
    c.coverage.conditions = vec!["A15".into()];
    c.want = all(Reason::ConditionNotCovered);
    v.push(c);
    let mut c = base("condition covered by prefix");
    c.coverage.conditions = vec!["b50".into()];
    v.push(c);
    let mut c = base("co-payment");
    c.caps.co_payment_bps = 1_000;
    c.want = vec![(900, vec![Reason::CoPayment]), (450, vec![Reason::CoPayment])];
    v.push(c);
    let mut c = base("per-transaction cap");
    c.caps.per_transaction = Some(1_200);
    c.want = vec![(1_000, vec![]), (200, vec![Reason::PerTransactionCap])];
    v.push(c);
    let mut c = base("period cap");
    c.room.period = Some(800);
    c.want = vec![(800, vec![Reason::PeriodCap]), (0, vec![Reason::PeriodCap])];
    v.push(c);
    let mut c = base("frequency limit");
    c.room.charges = Some(0);
    c.want = all(Reason::FrequencyLimit);
    v.push(c);
    let mut c = base("pre-approval required");
    c.caps.pre_approval_above = Some(1_000);
    c.want = all(Reason::PreApprovalRequired);
    v.push(c);
    let mut c = base("below the pre-approval threshold");
    c.caps.pre_approval_above = Some(1_500);
    v.push(c);
    let mut c = base("pre-approval limit");
    c.caps.pre_approval_above = Some(1_000);
    c.room.pre_approved = Some(1_100);
    c.want = vec![(1_000, vec![]), (100, vec![Reason::PreApprovalLimit])];
    v.push(c);
    let mut c = base("funds exhausted");
    c.room.funds = 300;
    c.want = vec![(300, vec![Reason::FundsExhausted]), (0, vec![Reason::FundsExhausted])];
    v.push(c);
    let mut c = base("currency mismatch");
    c.currency = Currency::USD;
    c.want = all(Reason::CurrencyMismatch);
    v.push(c);
    let mut c = base("tightest cap names the reason");
    c.caps.per_transaction = Some(900);
    c.room.period = Some(700);
    c.room.funds = 800;
    c.want = vec![(700, vec![Reason::PeriodCap]), (0, vec![Reason::PeriodCap])];
    v.push(c);
    v
}

#[test]
fn every_reason_code_from_a_table() {
    let mut seen = std::collections::BTreeSet::new();
    for c in cases() {
        let lines = lines();
        let claim = Claim {
            lines: &lines,
            currency: c.currency,
            provider: c.provider,
            clinic: "clinic-1",
            diagnoses: &c.diagnoses,
            at: c.at,
        };
        let a = evaluate(&c.coverage, &c.caps, &c.standing, &claim, c.room);
        let got: Vec<(u64, Vec<Reason>)> = a.lines.iter().map(|l| (l.covered, l.reasons.clone())).collect();
        assert_eq!(got, c.want, "case {}", c.name);
        assert_eq!(a.approved, c.want.iter().map(|w| w.0).sum::<u64>(), "case {}", c.name);
        assert_eq!(a.version, RULES_VERSION);
        seen.extend(a.reasons());
    }
    for r in Reason::ALL {
        assert!(seen.contains(&r), "no case shows {}", r.code());
    }
}

#[test]
fn codes_are_stable_and_match_serde() {
    for r in Reason::ALL {
        assert_eq!(serde_json::to_value(r).unwrap(), serde_json::json!(r.code()));
    }
}

fn arb_kind() -> impl Strategy<Value = ItemKind> {
    prop_oneof![
        Just(ItemKind::Consultation),
        Just(ItemKind::Procedure),
        Just(ItemKind::LabTest),
        Just(ItemKind::Medicine)
    ]
}

fn arb_list() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(
        prop_oneof![Just("consultation"), Just("medicine"), Just("LAB-1"), Just("all")],
        0..3,
    )
    .prop_map(|v| v.into_iter().map(String::from).collect())
}

proptest! {
    /// The engine never approves more than asked, than any cap or room allows, or than the funds;
    /// anything it does not approve of an eligible line carries a reason; it is deterministic.
    #[test]
    fn answers_stay_within_every_bound(
        amounts in prop::collection::vec((1u64..100_000, arb_kind()), 1..6),
        services in arb_list(),
        excluded in arb_list(),
        per_tx in prop::option::of(1u64..200_000),
        period in prop::option::of(0u64..200_000),
        charges in prop::option::of(0u32..3),
        threshold in prop::option::of(1u64..200_000),
        pre in prop::option::of(0u64..200_000),
        funds in 0u64..300_000,
        bps in 0u32..=10_000,
        at in 0i64..120,
        active in any::<bool>(),
    ) {
        let lines: Vec<ClaimLine> = amounts
            .iter()
            .enumerate()
            .map(|(i, (n, k))| line(&format!("LAB-{i}"), *k, *n))
            .collect();
        let coverage = Coverage { services, excluded, ..Default::default() };
        let caps = Caps {
            per_transaction: per_tx,
            co_payment_bps: bps,
            pre_approval_above: threshold,
            ..Default::default()
        };
        let mut st = standing();
        st.active = active;
        let diagnoses = vec![];
        let claim = Claim { lines: &lines, currency: Currency::KES, provider: None, clinic: "c", diagnoses: &diagnoses, at: at * DAY };
        let room = Room { funds, period, charges, pre_approved: pre };
        let a = evaluate(&coverage, &caps, &st, &claim, room);
        prop_assert_eq!(a.clone(), evaluate(&coverage, &caps, &st, &claim, room));
        prop_assert_eq!(a.lines.len(), lines.len());
        let asked: u64 = lines.iter().map(|l| l.amount).sum();
        prop_assert!(a.approved <= asked);
        prop_assert!(a.approved <= funds);
        prop_assert_eq!(a.approved, a.lines.iter().map(|l| l.covered).sum::<u64>());
        if let Some(c) = per_tx { prop_assert!(a.approved <= c); }
        if let Some(c) = period { prop_assert!(a.approved <= c); }
        if charges == Some(0) { prop_assert_eq!(a.approved, 0); }
        if let (Some(t), None) = (threshold, pre) { prop_assert!(a.approved <= t || a.approved == 0); }
        if let (Some(_), Some(p)) = (threshold, pre) { prop_assert!(a.approved <= p.max(threshold.unwrap())); }
        for l in &a.lines {
            prop_assert!(l.covered <= l.asked);
            // The sponsor never pays more than its share of a line.
            let share = (u128::from(l.asked) * u128::from(bps)).div_ceil(10_000) as u64;
            prop_assert!(l.covered <= l.asked - share);
            if l.covered < l.asked {
                prop_assert!(!l.reasons.is_empty(), "a line paid {} of {} with no reason", l.covered, l.asked);
            }
        }
        if !active { prop_assert_eq!(a.approved, 0); }
    }
}
