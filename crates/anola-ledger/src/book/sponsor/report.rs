//! A sponsor's utilisation and impact report, derived from the book alone: what was allocated,
//! spent (by month, service category, provider, country and programme), returned and still held,
//! and the patients reached. Its money figures reconcile with the ledger: allocated − spent −
//! returned = held, where held is read from the sponsored wallets and allowances' balances.

use super::model::*;
use crate::amount::Currency;
use crate::book::{Book, Source};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[ts(rename = "ReportBucket")]
pub struct Bucket {
    pub key: String,
    #[ts(type = "number")]
    pub amount: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[ts(rename = "SponsorshipRow")]
pub struct Row {
    pub id: Uuid,
    /// The patient's id, or "Beneficiary N" when the sponsor chose anonymity.
    pub beneficiary: String,
    pub programme: String,
    pub country: String,
    pub kind: SponsorshipKind,
    pub status: Status,
    #[ts(type = "number")]
    pub allocation: u64,
    #[ts(type = "number")]
    pub funded: u64,
    #[ts(type = "number")]
    pub spent: u64,
    #[ts(type = "number")]
    pub returned: u64,
    #[ts(type = "number")]
    pub held: u64,
    #[ts(type = "number")]
    pub term_end: i64,
    pub charges: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[ts(rename = "SponsorReport")]
pub struct Report {
    pub sponsor: String,
    pub name: String,
    #[ts(type = "string")]
    pub currency: Currency,
    /// What the global wallet holds now, and what came into it from outside.
    #[ts(type = "number")]
    pub wallet_available: u64,
    #[ts(type = "number")]
    pub deposited: u64,
    #[ts(type = "number")]
    pub allocated: u64,
    #[ts(type = "number")]
    pub spent: u64,
    #[ts(type = "number")]
    pub returned: u64,
    #[ts(type = "number")]
    pub held: u64,
    /// allocated − spent − returned − held: zero when the report agrees with the ledger.
    #[ts(type = "number")]
    pub difference: i128,
    pub patients_reached: u32,
    pub by_month: Vec<Bucket>,
    pub by_category: Vec<Bucket>,
    pub by_provider: Vec<Bucket>,
    pub by_country: Vec<Bucket>,
    pub by_programme: Vec<Bucket>,
    pub sponsorships: Vec<Row>,
}

fn buckets(m: BTreeMap<String, u64>) -> Vec<Bucket> {
    m.into_iter().map(|(key, amount)| Bucket { key, amount }).collect()
}

/// "2027-01" for a month number.
pub fn month_label(month: i64) -> String {
    format!("{:04}-{:02}", month.div_euclid(12), month.rem_euclid(12) + 1)
}

impl Book {
    /// What sponsorship `s` paid of receipt `r` (net: a refunded receipt paid nothing).
    fn paid_by(&self, s: &Sponsorship, r: &crate::book::Receipt) -> u64 {
        if !r.refunds.is_empty() {
            return 0;
        }
        r.parts
            .iter()
            .filter(|p| match p.source {
                Source::Sponsored | Source::PreApproved => p.account == s.wallet(),
                Source::Allowance => self.allowance_by_account(&p.account).is_some_and(|a| a.spec.wallet == s.wallet()),
                _ => false,
            })
            .map(|p| p.amount)
            .sum()
    }

    /// What a sponsorship's money still is, on the ledger: its wallet's posted balance (holds
    /// included) and what its devices' allowances hold.
    pub fn sponsorship_held(&self, s: &Sponsorship) -> u64 {
        let wallet = self.ledger.account(&s.wallet()).map_or(0, |a| a.balance.posted().max(0) as u64);
        let allowances: u64 = s
            .allowances
            .iter()
            .filter_map(|a| self.allowances.get(a))
            .map(|a| self.allowance_held(a))
            .sum();
        wallet + allowances
    }

    pub fn sponsor_report(&self, sponsor: &str) -> Option<Report> {
        let sp = self.sponsors.get(sponsor)?;
        let mut by_month = BTreeMap::new();
        let mut by_category = BTreeMap::new();
        let mut by_provider = BTreeMap::new();
        let mut by_country = BTreeMap::new();
        let mut by_programme = BTreeMap::new();
        let mut reached = BTreeSet::new();
        let mut rows = Vec::new();
        let (mut allocated, mut spent, mut returned, mut held) = (0u64, 0u64, 0u64, 0u64);
        let ids = self.sponsorships_of.get(sponsor).cloned().unwrap_or_default();
        for (i, id) in ids.iter().enumerate() {
            let Some(s) = self.sponsorships.get(id) else { continue };
            let mut s_spent = 0u64;
            let mut charges = 0u32;
            let receipts: BTreeSet<Uuid> = s.receipts.iter().copied().collect();
            for r in receipts.iter().filter_map(|r| self.receipts.get(r)) {
                let n = self.paid_by(s, r);
                if n == 0 {
                    continue;
                }
                s_spent += n;
                charges += 1;
                *by_month.entry(month_label(super::month_of(r.at))).or_insert(0) += n;
                *by_provider
                    .entry(r.provider.clone().unwrap_or_else(|| format!("clinic {}", r.clinic)))
                    .or_insert(0) += n;
                *by_country.entry(s.spec.country.clone()).or_insert(0) += n;
                let programme = if s.spec.programme.is_empty() { "(none)" } else { &s.spec.programme };
                *by_programme.entry(programme.to_string()).or_insert(0) += n;
                // Split over the lines the engine covered, first lines first (as the charge paid).
                let answer = r.coverage.iter().find(|c| c.sponsorship == s.spec.id).map(|c| &c.answer);
                let mut left = n;
                if let Some(a) = answer {
                    for (line, la) in r.lines.iter().zip(&a.lines) {
                        let t = la.covered.min(left);
                        if t == 0 {
                            continue;
                        }
                        left -= t;
                        let kind = self.prices.get(&line.item).map_or("other".to_string(), |p| {
                            serde_json::to_value(p.kind)
                                .ok()
                                .and_then(|v| v.as_str().map(str::to_string))
                                .unwrap_or_default()
                        });
                        *by_category.entry(kind).or_insert(0) += t;
                    }
                }
                if left > 0 {
                    *by_category.entry("other".to_string()).or_insert(0) += left;
                }
            }
            if s_spent > 0 {
                reached.insert(s.spec.patient.clone());
            }
            let s_held = self.sponsorship_held(s);
            allocated += s.funded;
            spent += s_spent;
            returned += s.returned;
            held += s_held;
            rows.push(Row {
                id: *id,
                beneficiary: if sp.anonymous {
                    format!("Beneficiary {}", i + 1)
                } else {
                    s.spec.patient.clone()
                },
                programme: s.spec.programme.clone(),
                country: s.spec.country.clone(),
                kind: s.spec.kind,
                status: s.status,
                allocation: s.spec.allocation,
                funded: s.funded,
                spent: s_spent,
                returned: s.returned,
                held: s_held,
                term_end: s.term_end,
                charges,
            });
        }
        let gw = global_wallet(sponsor);
        let wallet_available = self.spendable_now_raw(&gw);
        let deposited = self
            .sponsor_deposits
            .get(sponsor)
            .map_or(0, |d| d.iter().map(|(_, n, _, _)| n).sum::<u64>());
        Some(Report {
            sponsor: sponsor.to_string(),
            name: sp.name.clone(),
            currency: sp.currency,
            wallet_available,
            deposited,
            allocated,
            spent,
            returned,
            held,
            difference: allocated as i128 - spent as i128 - returned as i128 - held as i128,
            patients_reached: reached.len() as u32,
            by_month: buckets(by_month),
            by_category: buckets(by_category),
            by_provider: buckets(by_provider),
            by_country: buckets(by_country),
            by_programme: buckets(by_programme),
            sponsorships: rows,
        })
    }
}
