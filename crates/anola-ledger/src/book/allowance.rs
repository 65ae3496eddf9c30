//! Offline allowances: while online, a device moves up to a cap out of a patient's wallet into an
//! account of its own (`ALW-<id>`); offline charges spend it (each charge within a per-charge cap
//! and a count); what is left goes back when the device returns it or the allowance expires.
//! The allowance account is guarded, so no allowance is ever spent beyond what it holds and the
//! wallet never goes negative, however many devices charge offline (docs/ledger.md).

use super::Book;
use crate::account::{AccountId, AccountKind};
use crate::command::{Command, Leg, Request, TxKind};
use crate::error::LedgerError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Longest an allowance may last, and most charges one may pay.
pub const MAX_TTL_MS: i64 = 7 * 86_400_000;
pub const MAX_COUNT: u32 = 100;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowanceSpec {
    /// Client-chosen.
    pub id: Uuid,
    pub patient: String,
    /// The wallet it comes from (the patient's personal or sponsored wallet).
    pub wallet: AccountId,
    pub device: String,
    /// At most this much (less if the wallet holds less).
    pub total: u64,
    pub per_charge: u64,
    pub max_count: u32,
    pub expires_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allowance {
    pub spec: AllowanceSpec,
    /// What was moved in (≤ `spec.total`).
    pub reserved: u64,
    /// The charges it paid, with what each took.
    pub charges: Vec<(Uuid, u64)>,
    /// What went back to the wallet (a refund can put money back in; a later return sends it on).
    pub returned: Option<u64>,
    /// Refunds of charges it paid, credited back into it.
    #[serde(default)]
    pub refunded: u64,
    /// When it was reserved (a sponsorship counts its charges in that month).
    #[serde(default)]
    pub reserved_at: i64,
}

impl Allowance {
    pub fn account(&self) -> AccountId {
        account(self.spec.id)
    }
    pub fn spent(&self) -> u64 {
        self.charges.iter().map(|(_, n)| n).sum()
    }
}

pub fn account(id: Uuid) -> AccountId {
    AccountId::new(AccountKind::Allowance, &id.to_string())
}

impl Book {
    /// How much of `claimed` allowance `id` can pay for this offline charge: nothing if it is not
    /// this patient's and this device's, is returned, or has paid its count; otherwise within the
    /// per-charge cap and what it still holds.
    pub fn allowance_room(&self, id: Uuid, input: &super::ChargeInput, claimed: u64) -> u64 {
        let (Some(a), Some(off)) = (self.allowances.get(&id), &input.offline) else {
            return 0;
        };
        if a.returned.is_some()
            || a.spec.patient != input.patient
            || a.spec.device != off.device
            || a.charges.len() as u32 >= a.spec.max_count
        {
            return 0;
        }
        let held = self
            .ledger
            .account(&a.account())
            .map(|s| s.balance.available().max(0) as u64)
            .unwrap_or(0);
        claimed.min(a.spec.per_charge).min(held)
    }

    /// The transfer that funds allowance `spec` now, and the amount it reserves.
    pub fn prepare_reserve(&self, mut spec: AllowanceSpec, now: i64) -> Result<(AllowanceSpec, Request), LedgerError> {
        let bad = |field: &str, reason: &str| LedgerError::InvalidInput {
            field: field.into(),
            reason: reason.into(),
        };
        if self.allowances.contains_key(&spec.id) {
            return Err(LedgerError::IdReused { id: spec.id.to_string() });
        }
        let owner = self.owner_of(&spec.wallet);
        let kind = self.ledger.account(&spec.wallet).map(|a| a.spec.kind);
        if owner != Some(spec.patient.as_str()) || !matches!(kind, Some(AccountKind::Personal | AccountKind::Sponsored)) {
            return Err(bad("wallet", "not a personal or sponsored wallet of this patient"));
        }
        if spec.device.is_empty() || spec.device.len() > 100 {
            return Err(bad("device", "1–100 characters"));
        }
        if spec.total == 0 || spec.total > crate::command::MAX_AMOUNT {
            return Err(bad("total", "more than zero"));
        }
        if spec.per_charge == 0 || spec.per_charge > spec.total {
            return Err(bad("per_charge", "more than zero and at most the total"));
        }
        if spec.max_count == 0 || spec.max_count > MAX_COUNT {
            return Err(bad("max_count", "1–100"));
        }
        if spec.expires_at <= now || spec.expires_at > now + MAX_TTL_MS {
            return Err(bad("expires_at", "in the future, at most 7 days ahead"));
        }
        self.bound_allowance(&mut spec, now)?;
        let n = spec.total.min(self.spendable_now(&spec.wallet, now));
        if n == 0 {
            return Err(LedgerError::InsufficientFunds {
                account: spec.wallet.0.clone(),
                available: 0,
                needed: spec.total,
            });
        }
        spec.total = n;
        spec.per_charge = spec.per_charge.min(n);
        let request = Request {
            id: spec.id,
            command: Command::Transfer {
                kind: TxKind::Transfer,
                legs: vec![Leg {
                    debit: spec.wallet.clone(),
                    credit: account(spec.id),
                    amount: n,
                }],
                hold_until: None,
            },
        };
        Ok((spec, request))
    }

    /// The transfer that returns what allowance `id` still holds to its wallet (`None` when it
    /// holds nothing). Returned already and holding nothing (a refund can put money back in
    /// later, which a later return sends on): `allowance_returned`. The return's id is derived
    /// from the allowance's and its account's entry count, so each return happens once.
    pub fn prepare_return(&self, id: Uuid) -> Result<Option<Request>, LedgerError> {
        let a = self
            .allowances
            .get(&id)
            .ok_or_else(|| LedgerError::UnknownAllowance { allowance: id.to_string() })?;
        let state = self.ledger.account(&a.account());
        let held = state.map(|s| s.balance.available().max(0) as u64).unwrap_or(0);
        if a.returned.is_some() && held == 0 {
            return Err(LedgerError::AllowanceReturned { allowance: id.to_string() });
        }
        let seq = state.map_or(0, |s| s.seq);
        Ok((held > 0).then(|| Request {
            id: super::derived_id(id, &format!("return-{seq}")),
            command: Command::Transfer {
                kind: TxKind::Transfer,
                legs: vec![Leg {
                    debit: a.account(),
                    credit: a.spec.wallet.clone(),
                    amount: held,
                }],
                hold_until: None,
            },
        }))
    }
}
