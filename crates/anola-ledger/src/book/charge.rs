//! Paying for care: a bill's lines, priced from the price list, paid by a waterfall — sponsored
//! funds first, then the patient's personal funds (with their consent), then at the desk — or,
//! for a charge made offline, from the device's allowances, then at the desk, and what is left
//! becomes a receivable. Pure: `prepare` builds the one multi-leg transfer a charge makes.

use super::Book;
use crate::account::{AccountId, AccountKind};
use crate::amount::Currency;
use crate::command::{Command, Leg, Request, TxKind};
use crate::error::LedgerError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Most lines on one bill, and most sponsored wallets one charge draws on (a charge is one
/// transfer of at most `MAX_LEGS` legs).
pub const MAX_LINES: usize = 50;
pub const MAX_SPONSORED: usize = 8;
pub const MAX_QUANTITY: u32 = 1_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(deny_unknown_fields)]
#[ts(rename = "BillLine")]
pub struct Line {
    pub item: String,
    pub quantity: u32,
    /// The price the patient was told (minor units): online it must still be the list's price
    /// (`price_changed` otherwise); offline it is what the device's copy of the list said.
    #[ts(type = "number")]
    pub unit_price: u64,
}

/// How the part no wallet covers is paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
pub enum Desk {
    /// Cash into the named cashier's drawer (`CASH-<drawer>`).
    Cash { drawer: String },
    /// Mobile money the desk saw arrive, with the provider's reference.
    MobileMoney { reference: String },
    /// Nothing taken: the patient owes it (`RCV-<patient>`).
    Owed,
}

/// Where an offline charge was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Offline {
    pub device: String,
    /// The device's clock when it charged (ms).
    pub made_at: i64,
    /// What the device took from each of its allowances, in order.
    pub allowances: Vec<AllowanceUse>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowanceUse {
    pub allowance: Uuid,
    pub amount: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChargeInput {
    /// Client-chosen; the receipt's number and the ledger transaction's id.
    pub id: Uuid,
    pub patient: String,
    pub clinic: String,
    pub lines: Vec<Line>,
    pub desk: Desk,
    /// What staff take at the desk, as the quote said (online: refused `quote_changed` if the
    /// waterfall now leaves another amount; offline: what was taken).
    pub desk_amount: u64,
    /// The patient consented to paying from personal funds (the server checked their PIN).
    pub personal_consent: bool,
    /// The visit or appointment billed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline: Option<Offline>,
    /// Filled by the server from the caller's account.
    #[serde(default)]
    pub staff: String,
    /// The provider who gave the care (sponsorships may cover some providers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The visit's diagnosis codes (sponsorships may cover some conditions only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diagnoses: Vec<String>,
    /// An approved pre-approval this charge posts against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_approval: Option<Uuid>,
}

impl ChargeInput {
    pub fn digest(&self) -> String {
        let bytes = serde_json::to_vec(self).expect("charges serialize");
        Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn total(&self) -> Result<u64, LedgerError> {
        self.lines.iter().try_fold(0u64, |s, l| {
            l.unit_price
                .checked_mul(u64::from(l.quantity))
                .and_then(|x| s.checked_add(x))
                .filter(|t| *t <= crate::command::MAX_AMOUNT)
                .ok_or(LedgerError::Overflow)
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Sponsored,
    /// A sponsorship's funds held by an approved pre-approval, posted by this charge.
    PreApproved,
    Personal,
    Allowance,
    Cash,
    MobileMoney,
    Owed,
}

/// What one source paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    pub source: Source,
    pub account: AccountId,
    pub amount: u64,
}

/// A paid bill, as printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub id: Uuid,
    pub digest: String,
    pub patient: String,
    pub clinic: String,
    pub staff: String,
    pub at: i64,
    pub currency: Currency,
    pub lines: Vec<Line>,
    pub total: u64,
    pub parts: Vec<Part>,
    /// The platform's fee, taken from the clinic's share (explicit legs to `FEE-<currency>`).
    pub fee: u64,
    pub visit: Option<String>,
    pub offline: Option<Offline>,
    /// Refunds so far (their request ids and amounts).
    #[serde(default)]
    pub refunds: Vec<(Uuid, u64)>,
    /// What each sponsorship paid and the engine's answer (with its reasons) that allowed it.
    #[serde(default)]
    pub coverage: Vec<super::sponsor::Covered>,
    #[serde(default)]
    pub provider: Option<String>,
    #[serde(default)]
    pub pre_approval: Option<Uuid>,
}

/// A charge ready to commit: what each source pays and the transfer that moves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prepared {
    pub input: ChargeInput,
    pub currency: Currency,
    pub parts: Vec<Part>,
    pub fee: u64,
    pub request: Request,
    /// The engine's answer for each sponsorship asked.
    #[serde(default)]
    pub coverage: Vec<super::sponsor::Covered>,
    /// The post of a pre-approval's hold (the pre-approval, the request).
    #[serde(default)]
    pub hold_post: Option<(Uuid, Request)>,
}

pub fn revenue(clinic: &str) -> AccountId {
    AccountId::new(AccountKind::Revenue, clinic)
}
pub fn fees(c: Currency) -> AccountId {
    AccountId::new(AccountKind::PlatformFees, c.code())
}
pub fn receivable(patient: &str) -> AccountId {
    AccountId::new(AccountKind::Receivable, patient)
}
pub fn drawer(user: &str) -> AccountId {
    AccountId::new(AccountKind::CashDrawer, user)
}
pub fn mobile_money(c: Currency) -> AccountId {
    AccountId::new(AccountKind::Outside, &format!("mobile-{}", c.code()))
}
pub fn personal(patient: &str) -> AccountId {
    AccountId::new(AccountKind::Personal, patient)
}

fn invalid(field: &str, reason: impl Into<String>) -> LedgerError {
    LedgerError::InvalidInput {
        field: field.into(),
        reason: reason.into(),
    }
}

impl Book {
    /// The accounts a charge pays into or from that the clinic and platform open on first use.
    pub fn charge_accounts(input: &ChargeInput, c: Currency) -> Vec<(AccountId, AccountKind)> {
        let mut v = vec![
            (revenue(&input.clinic), AccountKind::Revenue),
            (fees(c), AccountKind::PlatformFees),
            (receivable(&input.patient), AccountKind::Receivable),
        ];
        match &input.desk {
            Desk::Cash { drawer: d } => v.push((drawer(d), AccountKind::CashDrawer)),
            Desk::MobileMoney { .. } => v.push((mobile_money(c), AccountKind::Outside)),
            Desk::Owed => {}
        }
        v
    }

    /// The bill's currency: every line's item must be on the list, billable, in one currency, and
    /// (online) still at the price the patient was told.
    pub fn price_bill(&self, input: &ChargeInput) -> Result<Currency, LedgerError> {
        if input.lines.is_empty() || input.lines.len() > MAX_LINES {
            return Err(invalid("lines", format!("a bill has 1–{MAX_LINES} lines")));
        }
        if input.patient.is_empty() || input.patient.len() > 100 {
            return Err(invalid("patient", "1–100 characters"));
        }
        if input.clinic.is_empty() || input.clinic.len() > 100 {
            return Err(invalid("clinic", "1–100 characters"));
        }
        let mut currency = None;
        for (i, l) in input.lines.iter().enumerate() {
            let item = self.prices.get(&l.item).ok_or_else(|| LedgerError::UnknownItem {
                field: format!("lines[{i}].item"),
                item: l.item.clone(),
            })?;
            if l.quantity == 0 || l.quantity > MAX_QUANTITY {
                return Err(invalid(&format!("lines[{i}].quantity"), format!("1–{MAX_QUANTITY}")));
            }
            if l.unit_price == 0 {
                return Err(invalid(&format!("lines[{i}].unit_price"), "more than zero"));
            }
            // Offline, the device priced it from its copy of the list: never above any price the
            // item has had (a tampered device cannot bill more).
            let ceiling = self.price_ceiling.get(&l.item).copied().unwrap_or(item.price);
            if input.offline.is_some() && l.unit_price > ceiling {
                return Err(LedgerError::PriceChanged {
                    field: format!("lines[{i}].unit_price"),
                    item: l.item.clone(),
                    price: item.price,
                });
            }
            if input.offline.is_none() {
                if !item.active {
                    return Err(LedgerError::UnknownItem {
                        field: format!("lines[{i}].item"),
                        item: l.item.clone(),
                    });
                }
                if item.price != l.unit_price {
                    return Err(LedgerError::PriceChanged {
                        field: format!("lines[{i}].unit_price"),
                        item: l.item.clone(),
                        price: item.price,
                    });
                }
            }
            match currency {
                None => currency = Some(item.currency),
                Some(c) if c != item.currency => {
                    return Err(LedgerError::CurrencyMismatch {
                        account: format!("lines[{i}]"),
                        account_currency: item.currency.code().into(),
                        currency: c.code().into(),
                    })
                }
                Some(_) => {}
            }
        }
        Ok(currency.expect("a bill has lines"))
    }

    /// The waterfall for `input` as of now. Pure: nothing changes until the result is committed.
    pub fn prepare_charge(&self, input: ChargeInput, now: i64) -> Result<Prepared, LedgerError> {
        let currency = self.price_bill(&input)?;
        let total = input.total()?;
        if input.diagnoses.len() > 20 || input.diagnoses.iter().any(|d| d.is_empty() || d.len() > 16) {
            return Err(invalid("diagnoses", "at most 20 codes of 1–16 characters"));
        }
        if input.provider.as_ref().is_some_and(|p| p.is_empty() || p.len() > 100) {
            return Err(invalid("provider", "1–100 characters"));
        }
        let mut left = total;
        let mut parts: Vec<Part> = Vec::new();
        // What is unpaid of each line: each sponsorship's engine sees what the ones before it left.
        let mut line_left: Vec<u64> = input.lines.iter().map(|l| l.unit_price * u64::from(l.quantity)).collect();
        let mut coverage: Vec<super::sponsor::Covered> = Vec::new();
        let mut hold_post = None;
        let pay_lines = |answer: &super::sponsor::Answer, line_left: &mut Vec<u64>, n: u64| {
            // Take `n` (≤ the answer's total) from the lines the answer covered, in order.
            let mut n = n;
            for (l, a) in line_left.iter_mut().zip(&answer.lines) {
                let t = a.covered.min(*l).min(n);
                *l -= t;
                n -= t;
            }
        };
        let mut held_wallet = None;
        if let Some(pa_id) = input.pre_approval {
            let pa = self.pre_approvals.get(&pa_id).ok_or_else(|| LedgerError::UnknownPreApproval {
                pre_approval: pa_id.to_string(),
            })?;
            let open = self
                .ledger
                .holds
                .get(&pa.hold_id())
                .is_some_and(|h| h.resolution.is_none() && now < h.until);
            let amount = match (&pa.state, open) {
                (super::sponsor::PreApprovalState::Approved { amount, .. }, true) => *amount,
                _ => {
                    return Err(invalid("pre_approval", "not approved, used already, or expired"));
                }
            };
            if pa.input.patient != input.patient || pa.input.clinic != input.clinic {
                return Err(invalid("pre_approval", "approved for another patient or clinic"));
            }
            // An approval names the provider it is for: the charge must be that provider's.
            if pa.input.provider.is_some() && pa.input.provider != input.provider {
                return Err(invalid("pre_approval", "approved for another provider"));
            }
            let s = self.sponsorship(pa.input.sponsorship)?;
            let room = super::sponsor::Room {
                funds: amount,
                period: None,
                charges: None,
                pre_approved: Some(amount),
            };
            let at = input.offline.as_ref().map_or(now, |o| o.made_at.min(now));
            let answer = self.answer_for(s, &input, &line_left, currency, at, room);
            let n = answer.approved.min(amount).min(left);
            if n == 0 {
                // Named but paying nothing (paused, not covered…): refuse rather than record a
                // pre-approval the charge never used (a refund would then look for its post).
                return Err(LedgerError::NotCovered {
                    reasons: answer.reasons().iter().map(|r| r.code()).collect::<Vec<_>>().join(", "),
                });
            }
            {
                pay_lines(&answer, &mut line_left, n);
                parts.push(Part {
                    source: Source::PreApproved,
                    account: s.wallet(),
                    amount: n,
                });
                left -= n;
                hold_post = Some((
                    pa_id,
                    Request {
                        id: pa.post_id(),
                        command: Command::Post {
                            hold: pa.hold_id(),
                            amount: Some(n),
                        },
                    },
                ));
            }
            held_wallet = Some(s.wallet());
            coverage.push(super::sponsor::Covered {
                sponsorship: s.spec.id,
                account: s.wallet(),
                answer,
            });
        }
        let mut take = |source: Source, account: AccountId, n: u64, left: &mut u64| {
            let n = n.min(*left);
            if n > 0 {
                parts.push(Part {
                    source,
                    account,
                    amount: n,
                });
                *left -= n;
            }
        };
        match &input.offline {
            None => {
                for sw in self.sponsored_wallets(&input.patient).into_iter().take(MAX_SPONSORED) {
                    if Some(&sw) == held_wallet.as_ref() {
                        continue;
                    }
                    let mut n = self.spendable_now(&sw, now);
                    if let Some(s) = self.sponsorship_of_wallet(&sw) {
                        // Ring-fenced: only what the engine approves, within the caps.
                        let answer = self.answer_for(s, &input, &line_left, currency, now, self.room_now(s, now, None));
                        n = n.min(answer.approved).min(left);
                        pay_lines(&answer, &mut line_left, n);
                        coverage.push(super::sponsor::Covered {
                            sponsorship: s.spec.id,
                            account: sw.clone(),
                            answer,
                        });
                    }
                    take(Source::Sponsored, sw, n, &mut left);
                }
                if input.personal_consent {
                    let pw = personal(&input.patient);
                    let n = self.spendable_now(&pw, now);
                    take(Source::Personal, pw, n, &mut left);
                }
                if input.desk_amount != left {
                    return Err(LedgerError::QuoteChanged {
                        desk_amount: left,
                        quoted: input.desk_amount,
                    });
                }
            }
            Some(off) => {
                if off.allowances.len() > MAX_SPONSORED {
                    return Err(invalid("offline.allowances", format!("at most {MAX_SPONSORED}")));
                }
                let mut named = std::collections::BTreeSet::new();
                if !off.allowances.iter().all(|u| named.insert(u.allowance)) {
                    return Err(invalid("offline.allowances", "each allowance at most once per charge"));
                }
                // One allowance per sponsored wallet per charge: each answer applies the cap per
                // charge on its own, so two would pay twice the cap.
                let mut sponsored_seen = std::collections::BTreeSet::new();
                for u in &off.allowances {
                    let mut n = self.allowance_room(u.allowance, &input, u.amount);
                    if let Some(a) = self.allowances.get(&u.allowance) {
                        if let Some(s) = self.sponsorship_of_wallet(&a.spec.wallet) {
                            if Some(&a.spec.wallet) == held_wallet.as_ref() || !sponsored_seen.insert(a.spec.wallet.clone()) {
                                n = 0;
                            } else {
                                // The server's answer wins over the device's: the allowance was
                                // bounded by the caps when reserved; coverage is judged now, at
                                // the time the device says it charged (never later than now).
                                let room = super::sponsor::Room {
                                    funds: n,
                                    period: None,
                                    charges: None,
                                    pre_approved: None,
                                };
                                let at = off.made_at.min(now).max(a.reserved_at);
                                let mut st = self.standing(s);
                                // An allowance pays while it is not returned, even if the
                                // sponsor paused after the device went offline.
                                st.active = !s.status.ended() || a.returned.is_none();
                                let answer = self.answer_standing(s, &st, &input, &line_left, currency, at, room);
                                n = n.min(answer.approved).min(left);
                                pay_lines(&answer, &mut line_left, n);
                                coverage.push(super::sponsor::Covered {
                                    sponsorship: s.spec.id,
                                    account: a.account(),
                                    answer,
                                });
                            }
                        }
                        take(Source::Allowance, a.account(), n, &mut left);
                    }
                }
            }
        }
        let desk = input.desk_amount.min(left);
        match &input.desk {
            Desk::Cash { drawer: d } => take(Source::Cash, drawer(d), desk, &mut left),
            Desk::MobileMoney { reference } => {
                if reference.is_empty() || reference.len() > 64 {
                    return Err(invalid("desk.reference", "1–64 characters"));
                }
                take(Source::MobileMoney, mobile_money(currency), desk, &mut left)
            }
            Desk::Owed => {}
        }
        // What nothing covered: owed by the patient (offline, or when the desk says so).
        if left > 0 {
            if input.offline.is_none() && input.desk != Desk::Owed {
                return Err(LedgerError::QuoteChanged {
                    desk_amount: left + desk,
                    quoted: input.desk_amount,
                });
            }
            take(Source::Owed, receivable(&input.patient), left, &mut left);
        }
        // The platform's fee is taken from the parts moved by this transfer; pre-approved
        // sponsored funds go to the clinic whole (their hold was approved for the care).
        let pre_approved: u64 = parts.iter().filter(|p| p.source == Source::PreApproved).map(|p| p.amount).sum();
        let fee = self.fee_bps as u128 * (total - pre_approved) as u128 / 10_000;
        let fee = fee as u64;
        let moved: Vec<Part> = parts.iter().filter(|p| p.source != Source::PreApproved).cloned().collect();
        let legs = fee_legs(&moved, fee, &revenue(&input.clinic), &fees(currency));
        let mut request = Request {
            id: input.id,
            command: Command::Transfer {
                kind: TxKind::Payment,
                legs,
                hold_until: None,
            },
        };
        // Paid whole by a pre-approval: the post is the charge's own transaction (its id is the
        // receipt's, so a refund reverses it like any charge).
        if let (Command::Transfer { legs, .. }, Some((_, post))) = (&request.command, &hold_post) {
            if legs.is_empty() {
                request = Request {
                    id: input.id,
                    command: post.command.clone(),
                };
                hold_post = None;
            }
        }
        Ok(Prepared {
            input,
            currency,
            parts,
            fee,
            request,
            coverage,
            hold_post,
        })
    }
}

/// Each part paid to the clinic's revenue, with the platform's fee taken from the first parts as
/// legs of their own.
fn fee_legs(parts: &[Part], fee: u64, rev: &AccountId, fee_account: &AccountId) -> Vec<Leg> {
    let mut fee_left = fee;
    let mut legs = Vec::new();
    for p in parts {
        let to_fee = fee_left.min(p.amount);
        fee_left -= to_fee;
        if to_fee > 0 {
            legs.push(Leg {
                debit: p.account.clone(),
                credit: fee_account.clone(),
                amount: to_fee,
            });
        }
        if p.amount > to_fee {
            legs.push(Leg {
                debit: p.account.clone(),
                credit: rev.clone(),
                amount: p.amount - to_fee,
            });
        }
    }
    legs
}
