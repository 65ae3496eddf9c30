//! The changes sponsorship makes to the book: `prepare_*` build them from the book as it stands
//! (pure), `decide_sponsor` says whether one would apply, `apply_sponsor` applies it.

use super::model::*;
use super::rules::Claim;
use super::{month_end, month_of, reminder_id};
use crate::account::{AccountId, AccountKind};
use crate::amount::Currency;
use crate::book::{charge, derived_id, Book};
use crate::command::{Command, Leg, Request, TxKind};
use crate::error::LedgerError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Longest a pre-approval stays valid.
pub const MAX_VALID_DAYS: u32 = 90;
/// Longest first term (a recurring sponsorship renews for its period after it).
pub const MAX_TERM_MS: i64 = 3 * 366 * super::rules::DAY_MS;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum SponsorOp {
    /// Creates or updates a sponsor's profile.
    Profile {
        sponsor: Sponsor,
    },
    /// Money into a sponsor's global wallet (a bank transfer an administrator confirmed; mobile
    /// money goes through the provider's `Collect` flow instead).
    Deposit {
        sponsor: String,
        reference: String,
        request: Request,
    },
    Create {
        spec: SponsorshipSpec,
        currency: Currency,
        by: String,
    },
    /// A status change a person asked for (activation funds the first term; termination returns
    /// what is left), or one that time made (expiry, completion).
    Status {
        id: Uuid,
        status: Status,
        by: String,
        reason: String,
        request: Option<Request>,
    },
    /// A new term: the unused funds roll over, and `request` tops them up from the sponsor.
    Renew {
        id: Uuid,
        term_end: i64,
        request: Option<Request>,
    },
    /// What came back into an ended sponsorship's wallet (an allowance returned, a refund), sent
    /// on to the sponsor.
    Return {
        id: Uuid,
        request: Request,
    },
    Ask {
        input: PreApprovalInput,
        currency: Currency,
        asked: u64,
    },
    Decide {
        id: Uuid,
        approve: bool,
        by: String,
        comment: String,
        /// The hold, and the engine's answer that sized it.
        hold: Option<(Request, super::Answer)>,
    },
    /// Releases an approved pre-approval's hold (expired, or its sponsorship ended).
    Release {
        id: Uuid,
        reason: String,
        request: Request,
    },
    Notice {
        notice: Notice,
    },
    /// A clinician's story about the sponsored care (`at` is filled when applied).
    Story {
        story: Story,
    },
    /// Creates or updates one of a sponsor's programmes (the terms its sponsorships start from).
    Programme {
        programme: Programme,
    },
}

fn invalid(field: &str, reason: impl Into<String>) -> LedgerError {
    LedgerError::InvalidInput {
        field: field.into(),
        reason: reason.into(),
    }
}

fn text_ok(s: &str, max: usize) -> bool {
    s.chars().count() <= max
}

fn transfer(id: Uuid, debit: AccountId, credit: AccountId, amount: u64, hold_until: Option<i64>) -> Request {
    Request {
        id,
        command: Command::Transfer {
            kind: TxKind::Transfer,
            legs: vec![Leg { debit, credit, amount }],
            hold_until,
        },
    }
}

impl Book {
    pub fn validate_sponsor(&self, s: &Sponsor) -> Result<(), LedgerError> {
        let id_ok = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        if s.id.is_empty() || s.id.len() > 64 || !s.id.chars().all(id_ok) {
            return Err(invalid("id", "1–64 letters, digits, '-' or '_'"));
        }
        if s.name.trim().is_empty() || !text_ok(&s.name, 120) {
            return Err(invalid("name", "1–120 characters"));
        }
        if s.country.len() != 2 || !s.country.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(invalid("country", "an ISO 3166 alpha-2 code, e.g. KE"));
        }
        if s.delegates.len() > 20 || s.delegates.iter().any(|d| d.is_empty() || d.len() > 64) {
            return Err(invalid("delegates", "at most 20 usernames"));
        }
        if s.preferences.countries.len() > 50 || s.preferences.healthcare_types.len() > 10 {
            return Err(invalid("preferences", "at most 50 countries and 10 healthcare types"));
        }
        if let Some(old) = self.sponsors.get(&s.id) {
            if old.currency != s.currency {
                return Err(invalid("currency", "a sponsor's currency cannot change (its wallet holds it)"));
            }
        }
        Ok(())
    }

    /// A programme: a name, who it is for, and the terms its sponsorships start from.
    pub fn validate_programme(&self, p: &Programme) -> Result<(), LedgerError> {
        if !self.sponsors.contains_key(&p.sponsor) {
            return Err(LedgerError::UnknownSponsor {
                sponsor: p.sponsor.clone(),
            });
        }
        if let Some(old) = self.programmes.get(&p.id) {
            if old.sponsor != p.sponsor {
                return Err(LedgerError::IdReused { id: p.id.to_string() });
            }
        }
        if p.name.trim().is_empty() || !text_ok(&p.name, 120) {
            return Err(invalid("name", "1–120 characters"));
        }
        if !text_ok(&p.description, 2000) {
            return Err(invalid("description", "at most 2,000 characters"));
        }
        if p.allocation == 0 || p.allocation > crate::command::MAX_AMOUNT {
            return Err(invalid("allocation", "more than zero, in minor units"));
        }
        if p.term_days == 0 || i64::from(p.term_days) * super::rules::DAY_MS > MAX_TERM_MS {
            return Err(invalid("term_days", "1–1098 days"));
        }
        if p.countries.len() > 50
            || p.countries
                .iter()
                .any(|c| c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()))
        {
            return Err(invalid("countries", "ISO 3166 alpha-2 codes, e.g. KE"));
        }
        validate_terms(&p.coverage, &p.caps)
    }

    /// A bank deposit into a sponsor's wallet: from `EXT-bank-<currency>`.
    pub fn prepare_sponsor_deposit(&self, id: Uuid, sponsor: &str, amount: u64, reference: &str) -> Result<SponsorOp, LedgerError> {
        let s = self.sponsors.get(sponsor).ok_or_else(|| LedgerError::UnknownSponsor {
            sponsor: sponsor.to_string(),
        })?;
        if amount == 0 || amount > crate::command::MAX_AMOUNT {
            return Err(invalid("amount", "more than zero, in minor units"));
        }
        if reference.trim().is_empty() || reference.len() > 64 {
            return Err(invalid("reference", "the bank's reference, 1–64 characters"));
        }
        Ok(SponsorOp::Deposit {
            sponsor: sponsor.to_string(),
            reference: reference.to_string(),
            request: Request {
                id,
                command: Command::Transfer {
                    kind: TxKind::Deposit,
                    legs: vec![Leg {
                        debit: bank(s.currency),
                        credit: global_wallet(sponsor),
                        amount,
                    }],
                    hold_until: None,
                },
            },
        })
    }

    pub fn validate_sponsorship(&self, spec: &SponsorshipSpec, now: i64) -> Result<Currency, LedgerError> {
        let sponsor = self.sponsors.get(&spec.sponsor).ok_or_else(|| LedgerError::UnknownSponsor {
            sponsor: spec.sponsor.clone(),
        })?;
        if self.sponsorships.contains_key(&spec.id) {
            return Err(LedgerError::IdReused { id: spec.id.to_string() });
        }
        if spec.patient.is_empty() || spec.patient.len() > 100 {
            return Err(invalid("patient", "1–100 characters"));
        }
        if spec.country.len() != 2 || !spec.country.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(invalid("country", "an ISO 3166 alpha-2 code, e.g. KE"));
        }
        if !text_ok(&spec.programme, 120) || !text_ok(&spec.note, 2000) {
            return Err(invalid("programme", "at most 120 characters (note: 2,000)"));
        }
        if spec.allocation == 0 || spec.allocation > crate::command::MAX_AMOUNT {
            return Err(invalid("allocation", "more than zero, in minor units"));
        }
        if let Some(max) = sponsor.preferences.max_per_patient {
            if spec.allocation > max {
                return Err(invalid("allocation", format!("above the sponsor's most per patient ({max})")));
            }
        }
        if spec.starts_at < 0 {
            return Err(invalid("starts_at", "a time after 1970 (ms since the epoch)"));
        }
        if spec.ends_at <= spec.starts_at || spec.ends_at.checked_sub(spec.starts_at).is_none_or(|d| d > MAX_TERM_MS) {
            return Err(invalid("ends_at", "after the start, at most three years later"));
        }
        if spec.ends_at <= now {
            return Err(invalid("ends_at", "in the future"));
        }
        if let Some(p) = spec.programme_id {
            match self.programmes.get(&p) {
                Some(x) if x.sponsor == spec.sponsor && x.open => {}
                Some(x) if x.sponsor == spec.sponsor => return Err(invalid("programme_id", "the programme is closed")),
                _ => return Err(invalid("programme_id", "not a programme of this sponsor")),
            }
        }
        validate_terms(&spec.coverage, &spec.caps)?;
        Ok(sponsor.currency)
    }

    /// The transfer that funds a term: up to the allocation, less what the wallet still holds
    /// (the rest rolled over). `None` when nothing is needed.
    fn top_up(&self, s: &Sponsorship, term: u32) -> Result<Option<Request>, LedgerError> {
        let held = self.spendable_now_raw(&s.wallet());
        let want = s.spec.allocation.saturating_sub(held);
        if want == 0 {
            return Ok(None);
        }
        Ok(Some(transfer(
            derived_id(s.spec.id, &format!("fund-{term}")),
            global_wallet(&s.spec.sponsor),
            s.wallet(),
            want,
            None,
        )))
    }

    /// What a sponsored wallet holds (available; limits and status aside).
    pub fn spendable_now_raw(&self, id: &AccountId) -> u64 {
        self.ledger.account(id).map(|a| a.balance.available().max(0) as u64).unwrap_or(0)
    }

    /// The transfer returning what an ended sponsorship's wallet holds to its sponsor, once per
    /// amount (its id is derived from the wallet's entry count).
    pub fn prepare_sponsorship_return(&self, s: &Sponsorship) -> Option<Request> {
        let held = self.spendable_now_raw(&s.wallet());
        let seq = self.ledger.account(&s.wallet()).map_or(0, |a| a.seq);
        (held > 0).then(|| {
            transfer(
                derived_id(s.spec.id, &format!("return-{seq}")),
                s.wallet(),
                global_wallet(&s.spec.sponsor),
                held,
                None,
            )
        })
    }

    /// A status change asked by a person (the sponsor or an administrator).
    pub fn prepare_status(&self, id: Uuid, to: Status, by: &str, reason: &str, now: i64) -> Result<SponsorOp, LedgerError> {
        let s = self.sponsorship(id)?;
        if !s.status.may_become(to) {
            return Err(LedgerError::SponsorshipState {
                sponsorship: id.to_string(),
                status: s.status.as_str().into(),
                wanted: to.as_str().into(),
            });
        }
        if !text_ok(reason, 500) {
            return Err(invalid("reason", "at most 500 characters"));
        }
        if to == Status::Terminated && self.open_reservations(s) {
            // Allowances and holds go back first (the server's sweep does that), so the return
            // takes everything at once.
            return Err(LedgerError::SponsorshipState {
                sponsorship: id.to_string(),
                status: "holding reservations".into(),
                wanted: to.as_str().into(),
            });
        }
        let request = match (s.status, to) {
            (Status::Pending, Status::Active) => {
                if s.term_end <= now {
                    return Err(invalid("status", "its term has ended"));
                }
                self.top_up(s, 0)?
            }
            (_, Status::Terminated) => self.prepare_sponsorship_return(s),
            _ => None,
        };
        Ok(SponsorOp::Status {
            id,
            status: to,
            by: by.into(),
            reason: reason.into(),
            request,
        })
    }

    /// Whether any allowance of the sponsorship is unreturned or any pre-approval holds money.
    pub fn open_reservations(&self, s: &Sponsorship) -> bool {
        s.open_allowances
            .iter()
            .filter_map(|a| self.allowances.get(a))
            .any(|a| a.returned.is_none() || self.allowance_held(a) > 0)
            || s.open_pre_approvals
                .iter()
                .filter_map(|p| self.pre_approvals.get(p))
                .any(|p| p.open_amount().is_some())
    }

    /// What time does to a sponsorship whose term has ended: renew it (recurring, renewals
    /// left) or end it (expired with its funds returned; completed if nothing was left).
    /// `None` while it still has reservations to return first, or nothing is due.
    pub fn prepare_term_end(&self, id: Uuid, now: i64) -> Result<Option<SponsorOp>, LedgerError> {
        let s = self.sponsorship(id)?;
        if s.status.ended() || s.term_end > now || self.open_reservations(s) {
            return Ok(None);
        }
        let renewals_left = s.spec.max_renewals == 0 || s.term < s.spec.max_renewals;
        if let (Some(days), Status::Active | Status::Paused, true) = (s.spec.recurrence.term_days(), s.status, renewals_left) {
            let mut term_end = s.term_end;
            while term_end <= now {
                term_end += days * super::rules::DAY_MS;
            }
            // Top up from what the sponsor's wallet holds (less than the allocation if it is short).
            let request = self.top_up(s, s.term + 1)?.and_then(|r| {
                let available = self.spendable_now_raw(&global_wallet(&s.spec.sponsor));
                cap_transfer(r, available)
            });
            return Ok(Some(SponsorOp::Renew { id, term_end, request }));
        }
        let request = self.prepare_sponsorship_return(s);
        let status = match (s.status, &request) {
            (Status::Pending, _) | (_, Some(_)) => Status::Expired,
            (_, None) => Status::Completed,
        };
        Ok(Some(SponsorOp::Status {
            id,
            status,
            by: "system".into(),
            reason: "its term ended".into(),
            request,
        }))
    }

    pub fn prepare_pre_approval(&self, input: PreApprovalInput, now: i64) -> Result<SponsorOp, LedgerError> {
        if self.pre_approvals.contains_key(&input.id) {
            return Err(LedgerError::IdReused { id: input.id.to_string() });
        }
        let s = self.sponsorship(input.sponsorship)?;
        if s.spec.patient != input.patient {
            return Err(invalid("patient", "not this sponsorship's beneficiary"));
        }
        if s.status.ended() {
            return Err(LedgerError::SponsorshipState {
                sponsorship: s.spec.id.to_string(),
                status: s.status.as_str().into(),
                wanted: "pre-approval".into(),
            });
        }
        if input.valid_days == 0 || input.valid_days > MAX_VALID_DAYS {
            return Err(invalid("valid_days", format!("1–{MAX_VALID_DAYS}")));
        }
        if !text_ok(&input.note, 1000) || input.diagnoses.len() > 20 {
            return Err(invalid("note", "at most 1,000 characters and 20 diagnoses"));
        }
        // Priced like an online bill: the list's items at the list's prices.
        let probe = ChargeProbe::of(&input);
        let currency = self.price_bill(&probe)?;
        if currency != s.currency {
            return Err(LedgerError::CurrencyMismatch {
                account: s.wallet().0,
                account_currency: s.currency.code().into(),
                currency: currency.code().into(),
            });
        }
        let asked = probe.total()?;
        let _ = now;
        Ok(SponsorOp::Ask { input, currency, asked })
    }

    /// The sponsor's decision: approval sizes the hold with the engine (the threshold waived,
    /// every other rule and cap applied as for a charge now) and holds it on the sponsored
    /// wallet for the clinic named, until the validity ends.
    pub fn prepare_pa_decision(&self, id: Uuid, approve: bool, by: &str, comment: &str, now: i64) -> Result<SponsorOp, LedgerError> {
        let p = self.pre_approvals.get(&id).ok_or_else(|| LedgerError::UnknownPreApproval {
            pre_approval: id.to_string(),
        })?;
        if p.state != PreApprovalState::Pending {
            return Err(LedgerError::PreApprovalDecided {
                pre_approval: id.to_string(),
            });
        }
        if !text_ok(comment, 1000) {
            return Err(invalid("comment", "at most 1,000 characters"));
        }
        let hold = if approve {
            let s = self.sponsorship(p.input.sponsorship)?;
            let probe = ChargeProbe::of(&p.input);
            let left: Vec<u64> = probe.lines.iter().map(|l| l.unit_price * u64::from(l.quantity)).collect();
            let mut room = self.room_now(s, now, None);
            room.pre_approved = Some(u64::MAX);
            let lines = self.claim_lines(&probe, &left);
            let claim = Claim {
                lines: &lines,
                currency: p.currency,
                provider: p.input.provider.as_deref(),
                clinic: &p.input.clinic,
                diagnoses: &p.input.diagnoses,
                at: now,
            };
            let answer = super::evaluate(&s.spec.coverage, &s.spec.caps, &self.standing(s), &claim, room);
            if answer.approved == 0 {
                return Err(LedgerError::NotCovered {
                    reasons: answer.reasons().iter().map(|r| r.code()).collect::<Vec<_>>().join(", "),
                });
            }
            let until = now + i64::from(p.input.valid_days) * super::rules::DAY_MS;
            let request = transfer(
                p.hold_id(),
                s.wallet(),
                charge::revenue(&p.input.clinic),
                answer.approved,
                Some(until.min(s.term_end)),
            );
            Some((request, answer))
        } else {
            None
        };
        Ok(SponsorOp::Decide {
            id,
            approve,
            by: by.into(),
            comment: comment.into(),
            hold,
        })
    }

    /// Releases an approved pre-approval's hold: `Expire` once its time is up, `Void` before.
    pub fn prepare_release(&self, id: Uuid, reason: &str, now: i64) -> Result<Option<SponsorOp>, LedgerError> {
        let p = self.pre_approvals.get(&id).ok_or_else(|| LedgerError::UnknownPreApproval {
            pre_approval: id.to_string(),
        })?;
        let PreApprovalState::Approved { until, .. } = p.state else {
            return Ok(None);
        };
        let hold = p.hold_id();
        let until = self.ledger.holds.get(&hold).map_or(until, |h| h.until);
        let command = if now >= until {
            Command::Expire { hold }
        } else {
            Command::Void { hold }
        };
        Ok(Some(SponsorOp::Release {
            id,
            reason: reason.into(),
            request: Request {
                id: p.release_id(),
                command,
            },
        }))
    }

    fn plan_opt_req(&self, r: &Option<Request>, now: i64) -> Result<usize, LedgerError> {
        match r {
            Some(r) => self.plan_request(r, now),
            None => Ok(0),
        }
    }

    /// Whether a sponsorship op would apply at `now`: the number of entries it makes, or why not.
    pub fn decide_sponsor(&self, op: &SponsorOp, now: i64) -> Result<usize, LedgerError> {
        match op {
            SponsorOp::Profile { sponsor } => self.validate_sponsor(sponsor).map(|_| 0),
            SponsorOp::Deposit { sponsor, request, .. } => match self.sponsors.contains_key(sponsor) {
                true => self.plan_request(request, now),
                false => Err(LedgerError::UnknownSponsor { sponsor: sponsor.clone() }),
            },
            SponsorOp::Create { spec, .. } => {
                let sw = sponsored_wallet(spec.id);
                let Some(acc) = self.ledger.account(&sw) else {
                    return Err(LedgerError::UnknownAccount { account: sw.0 });
                };
                // Its wallet: the beneficiary's own, a sponsored one, and empty (never adopting a
                // wallet opened for someone else under a reused id).
                if self.owner_of(&sw) != Some(spec.patient.as_str()) || acc.spec.kind != AccountKind::Sponsored || acc.seq != 0 {
                    return Err(LedgerError::IdReused { id: spec.id.to_string() });
                }
                self.validate_sponsorship(spec, i64::MIN).map(|_| 0)
            }
            SponsorOp::Status { id, request, .. } | SponsorOp::Renew { id, request, .. } => {
                self.sponsorship(*id)?;
                self.plan_opt_req(request, now)
            }
            SponsorOp::Return { id, request } => {
                self.sponsorship(*id)?;
                self.plan_request(request, now)
            }
            SponsorOp::Ask { input, .. } => match self.pre_approvals.contains_key(&input.id) {
                true => Err(LedgerError::IdReused { id: input.id.to_string() }),
                false => self.sponsorship(input.sponsorship).map(|_| 0),
            },
            SponsorOp::Decide { id, hold, .. } => {
                let p = self.pre_approvals.get(id).ok_or_else(|| LedgerError::UnknownPreApproval {
                    pre_approval: id.to_string(),
                })?;
                if p.state != PreApprovalState::Pending {
                    return Err(LedgerError::PreApprovalDecided {
                        pre_approval: id.to_string(),
                    });
                }
                match hold {
                    Some((r, _)) => self.plan_request(r, now),
                    None => Ok(0),
                }
            }
            SponsorOp::Release { id, request, .. } => match self.pre_approvals.get(id).map(|p| p.open_amount()) {
                Some(Some(_)) => self.plan_request(request, now),
                _ => Err(LedgerError::UnknownPreApproval {
                    pre_approval: id.to_string(),
                }),
            },
            SponsorOp::Notice { notice } => match self.notice_ids.contains(&notice.id) {
                true => Err(LedgerError::IdReused { id: notice.id.to_string() }),
                false => Ok(0),
            },
            SponsorOp::Programme { programme } => self.validate_programme(programme).map(|_| 0),
            SponsorOp::Story { story } => {
                self.sponsorship(story.sponsorship)?;
                if self.story_ids.contains(&story.id) {
                    return Err(LedgerError::IdReused { id: story.id.to_string() });
                }
                if story.text.trim().is_empty() || !text_ok(&story.text, 2000) {
                    return Err(invalid("text", "1–2,000 characters"));
                }
                Ok(0)
            }
        }
    }

    fn run_opt(&mut self, r: &Option<Request>, at: i64) -> Result<(u64, usize), LedgerError> {
        match r {
            Some(r) => {
                let n = self.ledger.execute(r.clone(), at)?.outcome.result?;
                Ok((leg_total(&Some(r.clone())), n))
            }
            None => Ok((0, 0)),
        }
    }

    fn notify(&mut self, s: Uuid, kind: &str, to: &str, at: i64, text: String) {
        let id = derived_id(s, &format!("notice-{kind}-{at}"));
        if self.notice_ids.insert(id) {
            self.notices_of.entry(s).or_default().push(self.notices.len());
            self.notices.push(Notice {
                id,
                sponsorship: s,
                kind: kind.into(),
                to: to.into(),
                at,
                text,
            });
        }
    }

    pub fn apply_sponsor(&mut self, op: &SponsorOp, at: i64) -> Result<usize, LedgerError> {
        let n = self.decide_sponsor(op, at)?;
        match op {
            SponsorOp::Profile { sponsor } => {
                self.sponsors.insert(sponsor.id.clone(), sponsor.clone());
            }
            SponsorOp::Deposit {
                sponsor,
                reference,
                request,
            } => {
                let n = self.ledger.execute(request.clone(), at)?.outcome.result?;
                self.sponsor_deposits.entry(sponsor.clone()).or_default().push((
                    request.id,
                    leg_total(&Some(request.clone())),
                    reference.clone(),
                    at,
                ));
                return Ok(n);
            }
            SponsorOp::Create { spec, currency, by } => {
                self.sponsorships_of.entry(spec.sponsor.clone()).or_default().push(spec.id);
                self.term_ends.insert((spec.ends_at, spec.id));
                self.sponsorships.insert(
                    spec.id,
                    Sponsorship {
                        spec: spec.clone(),
                        currency: *currency,
                        status: Status::Pending,
                        history: vec![StatusChange {
                            status: Status::Pending,
                            at,
                            by: by.clone(),
                            reason: "created".into(),
                        }],
                        term: 0,
                        term_end: spec.ends_at,
                        funded: 0,
                        returned: 0,
                        usage: Default::default(),
                        allowances: Default::default(),
                        pre_approvals: Default::default(),
                        receipts: Vec::new(),
                        open_allowances: Default::default(),
                        open_pre_approvals: Default::default(),
                    },
                );
            }
            SponsorOp::Status {
                id,
                status,
                by,
                reason,
                request,
            } => {
                let (moved, n) = self.run_opt(request, at)?;
                let s = self.sponsorships.get_mut(id).expect("decided");
                let before = s.status;
                s.status = *status;
                s.history.push(StatusChange {
                    status: *status,
                    at,
                    by: by.clone(),
                    reason: reason.clone(),
                });
                if before == Status::Pending && *status == Status::Active {
                    s.funded += moved;
                } else if status.ended() {
                    s.returned += moved;
                    let key = (s.term_end, s.spec.id);
                    self.term_ends.remove(&key);
                    let text = format!(
                        "Sponsorship {} {}; {} returned to the sponsor",
                        id,
                        status.as_str(),
                        crate::format_amount(moved, s.currency)
                    );
                    self.notify(*id, status.as_str(), "both", at, text);
                }
                return Ok(n);
            }
            SponsorOp::Renew { id, term_end, request } => {
                let (moved, n) = self.run_opt(request, at)?;
                let s = self.sponsorships.get_mut(id).expect("decided");
                self.term_ends.remove(&(s.term_end, s.spec.id));
                s.term += 1;
                s.term_end = *term_end;
                s.funded += moved;
                s.history.push(StatusChange {
                    status: s.status,
                    at,
                    by: "system".into(),
                    reason: format!("renewed (term {}), {} topped up", s.term + 1, moved),
                });
                self.term_ends.insert((*term_end, *id));
                self.notify(*id, "renewed", "both", at, format!("Sponsorship {id} renewed until {term_end}"));
                return Ok(n);
            }
            SponsorOp::Return { id, request } => {
                let n = self.ledger.execute(request.clone(), at)?.outcome.result?;
                let moved = leg_total(&Some(request.clone()));
                self.sponsorships.get_mut(id).expect("decided").returned += moved;
                self.to_return.remove(id);
                return Ok(n);
            }
            SponsorOp::Ask { input, currency, asked } => {
                let s = self.sponsorships.get_mut(&input.sponsorship).expect("decided");
                s.pre_approvals.insert(input.id);
                s.open_pre_approvals.insert(input.id);
                self.pre_approvals.insert(
                    input.id,
                    PreApproval {
                        input: input.clone(),
                        currency: *currency,
                        asked: *asked,
                        requested_at: at,
                        state: PreApprovalState::Pending,
                        month: month_of(at),
                    },
                );
            }
            SponsorOp::Decide {
                id,
                approve,
                by,
                comment,
                hold,
            } => {
                let n = match hold {
                    Some((r, _)) => self.ledger.execute(r.clone(), at)?.outcome.result?,
                    None => 0,
                };
                let p = self.pre_approvals.get_mut(id).expect("decided");
                p.month = month_of(at);
                if !approve {
                    if let Some(s) = self.sponsorships.get_mut(&p.input.sponsorship) {
                        s.open_pre_approvals.remove(id);
                    }
                }
                p.state = match (approve, hold) {
                    (true, Some((r, answer))) => {
                        let until = match &r.command {
                            Command::Transfer { hold_until, .. } => hold_until.unwrap_or(at),
                            _ => at,
                        };
                        self.pa_expiring.insert((until, *id));
                        PreApprovalState::Approved {
                            by: by.clone(),
                            at,
                            comment: comment.clone(),
                            amount: answer.approved,
                            until,
                            answer: answer.clone(),
                        }
                    }
                    _ => PreApprovalState::Refused {
                        by: by.clone(),
                        at,
                        comment: comment.clone(),
                    },
                };
                return Ok(n);
            }
            SponsorOp::Release { id, reason, request } => {
                let n = self.ledger.execute(request.clone(), at)?.outcome.result?;
                let p = self.pre_approvals.get_mut(id).expect("decided");
                if let PreApprovalState::Approved { until, .. } = p.state {
                    self.pa_expiring.remove(&(until, *id));
                }
                p.state = PreApprovalState::Released {
                    at,
                    reason: reason.clone(),
                };
                let s = p.input.sponsorship;
                if let Some(x) = self.sponsorships.get_mut(&s) {
                    x.open_pre_approvals.remove(id);
                }
                self.mark_if_ended(s);
                return Ok(n);
            }
            SponsorOp::Programme { programme } => {
                if !self.programmes.contains_key(&programme.id) {
                    self.programmes_of.entry(programme.sponsor.clone()).or_default().push(programme.id);
                }
                self.programmes.insert(programme.id, programme.clone());
            }
            SponsorOp::Story { story } => {
                self.story_ids.insert(story.id);
                let mut s = story.clone();
                s.at = at;
                self.stories.entry(story.sponsorship).or_default().push(s);
            }
            SponsorOp::Notice { notice } => {
                self.notice_ids.insert(notice.id);
                self.notices_of.entry(notice.sponsorship).or_default().push(self.notices.len());
                self.notices.push(notice.clone());
            }
        }
        Ok(n)
    }

    /// Money came back into a sponsorship's wallet: if it has ended, the sweep sends it on.
    pub fn mark_if_ended(&mut self, id: Uuid) {
        let held = self.spendable_now_raw(&sponsored_wallet(id));
        if held > 0 && self.sponsorships.get(&id).is_some_and(|s| s.status.ended()) {
            self.to_return.insert(id);
        }
    }

    /// The expiry reminder for a sponsorship within a week of its term's end.
    pub fn prepare_reminder(&self, id: Uuid, now: i64) -> Result<SponsorOp, LedgerError> {
        let s = self.sponsorship(id)?;
        let held = self.spendable_now_raw(&s.wallet());
        Ok(SponsorOp::Notice {
            notice: Notice {
                id: reminder_id(s),
                sponsorship: id,
                kind: "expiry_reminder".into(),
                to: "both".into(),
                at: now,
                text: format!(
                    "The sponsorship's term ends at {} with {} unused; {}",
                    s.term_end,
                    crate::format_amount(held, s.currency),
                    if s.spec.recurrence.term_days().is_some() {
                        "it renews then"
                    } else {
                        "unused funds return to the sponsor then"
                    }
                ),
            },
        })
    }

    /// Allowances of sponsored wallets, when reserved, are bounded by the sponsorship: it must be
    /// active; the total by what the month's cap leaves, the count by what the frequency limit
    /// leaves, each charge by the cap per transaction; and it expires with the month or the
    /// term. So however many devices charge offline, the month's caps hold.
    pub fn bound_allowance(&self, spec: &mut crate::book::AllowanceSpec, now: i64) -> Result<(), LedgerError> {
        let Some(s) = self.sponsorship_of_wallet(&spec.wallet) else {
            return Ok(());
        };
        if s.status != Status::Active || now < s.spec.starts_at || now >= s.term_end {
            return Err(LedgerError::SponsorshipState {
                sponsorship: s.spec.id.to_string(),
                status: s.status.as_str().into(),
                wanted: "an offline allowance".into(),
            });
        }
        let room = self.room_now(s, now, None);
        let wallet = spec.wallet.0.clone();
        if let Some(n) = room.period {
            if n == 0 {
                return Err(LedgerError::LimitExceeded {
                    account: wallet,
                    limit: "per_period".into(),
                    left: 0,
                    needed: spec.total,
                });
            }
            spec.total = spec.total.min(n);
        }
        if let Some(n) = room.charges {
            if n == 0 {
                return Err(LedgerError::LimitExceeded {
                    account: wallet,
                    limit: "charges_per_period".into(),
                    left: 0,
                    needed: 1,
                });
            }
            spec.max_count = spec.max_count.min(n);
        }
        if let Some(n) = s.spec.caps.per_transaction {
            spec.per_charge = spec.per_charge.min(n);
        }
        spec.per_charge = spec.per_charge.min(spec.total);
        spec.expires_at = spec.expires_at.min(month_end(now)).min(s.term_end);
        Ok(())
    }
}

/// Coverage lists and caps are well formed (a sponsorship's, or a programme's).
pub fn validate_terms(c: &super::rules::Coverage, caps: &super::rules::Caps) -> Result<(), LedgerError> {
    for (field, list) in [
        ("coverage.services", &c.services),
        ("coverage.providers", &c.providers),
        ("coverage.conditions", &c.conditions),
        ("coverage.excluded", &c.excluded),
    ] {
        if list.len() > 50 || list.iter().any(|s| s.trim().is_empty() || s.len() > 64) {
            return Err(invalid(field, "at most 50 entries of 1–64 characters"));
        }
    }
    if caps.co_payment_bps > 10_000 {
        return Err(invalid("caps.co_payment_bps", "0–10000 (basis points)"));
    }
    for (field, v) in [
        ("caps.per_transaction", caps.per_transaction),
        ("caps.per_period", caps.per_period),
        ("caps.pre_approval_above", caps.pre_approval_above),
    ] {
        if v.is_some_and(|n| n == 0 || n > crate::command::MAX_AMOUNT) {
            return Err(invalid(field, "more than zero, in minor units (or none)"));
        }
    }
    if caps.charges_per_period == Some(0) {
        return Err(invalid("caps.charges_per_period", "at least one (or none)"));
    }
    if caps.waiting_days > 365 {
        return Err(invalid("caps.waiting_days", "0–365"));
    }
    Ok(())
}

/// `EXT-bank-<currency>`: where bank transfers come from.
pub fn bank(c: Currency) -> AccountId {
    AccountId::new(AccountKind::Outside, &format!("bank-{}", c.code()))
}

fn leg_total(r: &Option<Request>) -> u64 {
    match r.as_ref().map(|r| &r.command) {
        Some(Command::Transfer { legs, .. }) => legs.iter().map(|l| l.amount).sum(),
        _ => 0,
    }
}

/// A one-leg transfer made no larger than `available` (`None` if that leaves nothing).
fn cap_transfer(mut r: Request, available: u64) -> Option<Request> {
    if let Command::Transfer { legs, .. } = &mut r.command {
        let n = legs[0].amount.min(available);
        if n == 0 {
            return None;
        }
        legs[0].amount = n;
    }
    Some(r)
}

/// A pre-approval's planned items as a bill, so they are priced and checked like one.
struct ChargeProbe;

impl ChargeProbe {
    fn of(p: &PreApprovalInput) -> crate::book::ChargeInput {
        crate::book::ChargeInput {
            id: p.id,
            patient: p.patient.clone(),
            clinic: p.clinic.clone(),
            lines: p.lines.clone(),
            desk: crate::book::Desk::Owed,
            desk_amount: 0,
            personal_consent: false,
            visit: None,
            offline: None,
            staff: String::new(),
            provider: p.provider.clone(),
            diagnoses: p.diagnoses.clone(),
            pre_approval: None,
        }
    }
}
