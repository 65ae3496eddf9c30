//! Money at the device (docs/ledger.md): the price list, a patient's wallets, charging a bill
//! online (the server's waterfall) or offline (from this device's allowances, then cash, then
//! owed), settling offline charges at sync, reserving and returning allowances, deposits,
//! refunds, the cashier's drawer and day-close, and printable receipts.
//!
//! Offline, the patient's consent to spend personal funds is their wallet PIN, checked against
//! the verifier that came with a personal allowance, with an attempt lock on this device; the
//! most anyone can spend offline from a wallet is what its allowances hold.

use super::Clinic;
use crate::error::ClientError;
use crate::store::money::{LocalAllowance, LocalCharge};
use crate::sync::round::{client_error, lock};
use anola_ledger::book::PIN_ATTEMPTS;
use anola_protocol::access::Role;
use anola_protocol::money::*;
use serde::Serialize;
use uuid::Uuid;

/// How much a device reserves per wallet for offline use, per charge, how many charges, and for
/// how long (a clinic day and a night).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct AllowancePolicy {
    pub total: u64,
    pub per_charge: u64,
    pub max_count: u32,
    pub ttl_ms: i64,
}

impl Default for AllowancePolicy {
    fn default() -> Self {
        AllowancePolicy {
            total: 500_000,
            per_charge: 250_000,
            max_count: 5,
            ttl_ms: 36 * 3_600_000,
        }
    }
}

/// A bill charged on this device: the receipt, and whether it is provisional (made offline,
/// settling at the next sync).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Charged {
    pub receipt: Receipt,
    pub provisional: bool,
}

/// What an offline charge takes: lines, the cash the desk took, and the patient's PIN when they
/// agree to pay from personal funds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct OfflineBill {
    pub id: Uuid,
    pub patient: String,
    pub lines: Vec<Line>,
    pub cash: u64,
    pub pin: Option<String>,
    /// The provider and the visit's diagnoses, for sponsorships that cover some only.
    #[serde(default)]
    pub provider: Option<String>,
    #[serde(default)]
    pub diagnoses: Vec<String>,
}

/// What sponsorships judge a bill by besides its lines: the provider, the visit's diagnoses, and
/// an approved pre-approval the charge posts against.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, Serialize)]
pub struct ChargeContext {
    #[serde(default)]
    pub provider: Option<String>,
    #[serde(default)]
    pub diagnoses: Vec<String>,
    #[serde(default)]
    pub pre_approval: Option<Uuid>,
}

/// What the sponsorship rule engine needs of an offline bill besides its amounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflineClaim {
    pub lines: Vec<anola_ledger::book::sponsor::ClaimLine>,
    pub provider: Option<String>,
    pub clinic: String,
    pub diagnoses: Vec<String>,
}

/// What a sync's settling did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Settled {
    pub settled: u32,
    pub refused: u32,
    pub waiting: u32,
}

/// The patient's money as this device holds it offline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OfflineMoney {
    pub allowances: Vec<LocalAllowance>,
    pub charges: Vec<LocalCharge>,
}

fn now_ms() -> i64 {
    crate::store::now_ms() as i64
}

/// The parts of an offline charge of `total`: allowances (sponsored first, then personal when the
/// patient consented), then the cash the desk took, then what is owed. An allowance of a
/// sponsorship pays only what the rule engine approves of the bill's lines under the terms the
/// device holds (the server runs the same engine when the charge settles, and its answer wins).
/// Pure.
pub fn offline_parts(
    allowances: &[LocalAllowance],
    claim: Option<&OfflineClaim>,
    total: u64,
    personal: bool,
    cash: u64,
    now: i64,
) -> (Vec<AllowanceUse>, Vec<Part>, Vec<anola_ledger::book::sponsor::Covered>) {
    use anola_ledger::book::sponsor::{evaluate, Claim, Covered, Room, Standing, Status};
    let mut left = total;
    let mut uses = Vec::new();
    let mut parts = Vec::new();
    let mut answers = Vec::new();
    let mut line_left: Vec<u64> = claim.map(|c| c.lines.iter().map(|l| l.amount).collect()).unwrap_or_default();
    // One allowance per sponsorship per charge, as the server settles it (each applies the cap per
    // charge on its own).
    let mut seen = std::collections::BTreeSet::new();
    for a in allowances.iter().filter(|a| !a.personal || personal) {
        if a.terms.is_some() && !seen.insert(a.wallet.clone()) {
            continue;
        }
        let mut n = a.room(now).min(left);
        if let (Some(t), Some(c)) = (&a.terms, claim) {
            let lines: Vec<_> = c
                .lines
                .iter()
                .zip(&line_left)
                .map(|(l, n)| anola_ledger::book::sponsor::ClaimLine { amount: *n, ..l.clone() })
                .collect();
            let standing = Standing {
                active: !matches!(t.status, Status::Expired | Status::Terminated | Status::Completed),
                starts_at: t.starts_at,
                ends_at: t.term_end,
                currency: t.currency,
            };
            let claim = Claim {
                lines: &lines,
                currency: t.currency,
                provider: c.provider.as_deref(),
                clinic: &c.clinic,
                diagnoses: &c.diagnoses,
                at: now,
            };
            let room = Room {
                funds: n,
                period: None,
                charges: None,
                pre_approved: None,
            };
            let answer = evaluate(&t.coverage, &t.caps, &standing, &claim, room);
            n = n.min(answer.approved);
            let mut take = n;
            for (l, la) in line_left.iter_mut().zip(&answer.lines) {
                let x = la.covered.min(*l).min(take);
                *l -= x;
                take -= x;
            }
            answers.push(Covered {
                sponsorship: t.sponsorship,
                account: anola_ledger::book::allowance::account(a.id),
                answer,
            });
        }
        if n > 0 {
            uses.push(AllowanceUse {
                allowance: a.id,
                amount: n,
            });
            parts.push(Part {
                source: Source::Allowance,
                account: anola_ledger::book::allowance::account(a.id),
                amount: n,
            });
            left -= n;
        }
    }
    let c = cash.min(left);
    if c > 0 {
        parts.push(Part {
            source: Source::Cash,
            account: anola_ledger::AccountId("CASH-this-desk".into()),
            amount: c,
        });
        left -= c;
    }
    if left > 0 {
        parts.push(Part {
            source: Source::Owed,
            account: anola_ledger::AccountId("RCV-patient".into()),
            amount: left,
        });
    }
    (uses, parts, answers)
}

fn verify_pin(pin: &str, verifier: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(verifier).is_ok_and(|h| argon2::Argon2::default().verify_password(pin.as_bytes(), &h).is_ok())
}

impl Clinic {
    /// Front desk, field workers and administrators take money.
    fn cashier(&self) -> Result<(), ClientError> {
        self.guard()?;
        match self.actor.role {
            Role::FrontDesk | Role::FieldWorker | Role::ClinicAdmin => Ok(()),
            r => Err(ClientError::Forbidden {
                field: None,
                message: format!("the {} role does not take payments", r.as_str()),
            }),
        }
    }

    fn device_name(&self) -> String {
        lock(&self.store).device_id().to_owned()
    }

    /// Fetches the price list into the replica.
    pub async fn refresh_prices(&self) -> Result<PriceList, ClientError> {
        self.guard_open()?;
        let list: PriceList = self
            .transport
            .money::<(), _>(reqwest::Method::GET, "/money/prices", None)
            .await
            .map_err(client_error)?;
        lock(&self.store).save_prices(&list.items, list.fee_bps)?;
        self.notify_changed();
        Ok(list)
    }

    /// The price list as last fetched (works offline).
    pub fn prices(&self) -> Result<PriceList, ClientError> {
        self.guard()?;
        let (items, fee_bps) = lock(&self.store).prices()?;
        Ok(PriceList { items, fee_bps })
    }

    /// The patient's wallets, what they owe, their PIN's state and history (online).
    pub async fn patient_wallets(&self, patient: &str) -> Result<PatientWallets, ClientError> {
        self.guard()?;
        self.transport
            .money::<(), _>(reqwest::Method::GET, &format!("/money/patients/{patient}/wallets"), None)
            .await
            .map_err(client_error)
    }

    /// The patient's allowances on this device and the charges it keeps for them (offline).
    pub fn offline_money(&self, patient: &str) -> Result<OfflineMoney, ClientError> {
        self.guard()?;
        let s = lock(&self.store);
        Ok(OfflineMoney {
            allowances: s.allowances_for(patient)?,
            charges: s.local_charges(patient, 50)?,
        })
    }

    pub async fn open_wallet(&self, patient: &str, currency: Currency) -> Result<(), ClientError> {
        self.cashier()?;
        let _: serde_json::Value = self
            .transport
            .money(
                reqwest::Method::POST,
                &format!("/money/patients/{patient}/wallet"),
                Some(&OpenWalletRequest { currency }),
            )
            .await
            .map_err(client_error)?;
        Ok(())
    }

    /// The patient types their new wallet PIN on this device.
    pub async fn set_wallet_pin(&self, patient: &str, pin: &str) -> Result<(), ClientError> {
        self.cashier()?;
        self.transport
            .money::<_, ()>(
                reqwest::Method::PUT,
                &format!("/money/patients/{patient}/pin"),
                Some(&SetPinRequest { pin: pin.into() }),
            )
            .await
            .map_err(client_error)
    }

    /// What each source would pay now (online).
    pub async fn quote(&self, patient: &str, lines: Vec<Line>, personal: bool, ctx: ChargeContext) -> Result<Quote, ClientError> {
        self.cashier()?;
        let req = ChargeRequest {
            id: Uuid::now_v7(),
            patient: patient.into(),
            lines,
            desk: Desk::Cash { drawer: String::new() },
            desk_amount: 0,
            pin: personal.then(String::new),
            visit: None,
            offline: None,
            provider: ctx.provider,
            diagnoses: ctx.diagnoses,
            pre_approval: ctx.pre_approval,
        };
        self.transport
            .money(reqwest::Method::POST, "/money/quote", Some(&req))
            .await
            .map_err(client_error)
    }

    /// Charges a bill online; the receipt is kept on the device for reprinting.
    pub async fn charge(&self, req: ChargeRequest) -> Result<Charged, ClientError> {
        self.cashier()?;
        let receipt: Receipt = self
            .transport
            .money(reqwest::Method::POST, "/money/charges", Some(&req))
            .instrument_money("charge")
            .await
            .map_err(client_error)?;
        let mut kept = req.clone();
        kept.pin = None;
        lock(&self.store).keep_receipt(&kept, &receipt, now_ms())?;
        self.notify_changed();
        Ok(Charged {
            receipt,
            provisional: false,
        })
    }

    /// Charges a bill with no network: from this device's allowances for the patient (sponsored
    /// first; personal only with the patient's PIN, checked here against the verifier with an
    /// attempt lock), then the cash the desk took, the rest owed. Provisional until settled.
    pub fn charge_offline(&self, bill: OfflineBill) -> Result<Charged, ClientError> {
        self.cashier()?;
        let now = now_ms();
        let (prices, _) = lock(&self.store).prices()?;
        let mut currency = None;
        for (i, l) in bill.lines.iter().enumerate() {
            let item = prices
                .iter()
                .find(|p| p.code == l.item && p.active)
                .ok_or_else(|| ClientError::MoneyRefused {
                    reason: "unknown_item".into(),
                    field: Some(format!("lines[{i}].item")),
                    message: format!("lines[{i}].item: {} is not on this device's price list", l.item),
                })?;
            if l.quantity == 0 || l.quantity > anola_ledger::book::charge::MAX_QUANTITY {
                return Err(ClientError::MoneyRefused {
                    reason: "invalid_input".into(),
                    field: Some(format!("lines[{i}].quantity")),
                    message: format!("lines[{i}].quantity: 1–{}", anola_ledger::book::charge::MAX_QUANTITY),
                });
            }
            if currency.is_some_and(|c| c != item.currency) {
                return Err(ClientError::MoneyRefused {
                    reason: "currency_mismatch".into(),
                    field: Some(format!("lines[{i}].item")),
                    message: "a bill is in one currency".into(),
                });
            }
            currency = Some(item.currency);
        }
        let Some(currency) = currency else {
            return Err(ClientError::MoneyRefused {
                reason: "invalid_input".into(),
                field: Some("lines".into()),
                message: "lines: a bill has at least one line".into(),
            });
        };
        let lines: Vec<Line> = bill
            .lines
            .iter()
            .map(|l| Line {
                unit_price: prices.iter().find(|p| p.code == l.item).map_or(0, |p| p.price),
                ..l.clone()
            })
            .collect();
        let total = lines
            .iter()
            .try_fold(0u64, |s, l| {
                l.unit_price.checked_mul(u64::from(l.quantity)).and_then(|x| s.checked_add(x))
            })
            .ok_or_else(|| ClientError::MoneyRefused {
                reason: "overflow".into(),
                field: Some("lines".into()),
                message: "the bill's total does not fit".into(),
            })?;
        let allowances = lock(&self.store).allowances_for(&bill.patient)?;
        let personal = match &bill.pin {
            None => false,
            Some(pin) => self.check_pin_offline(&bill.patient, pin, &allowances)?,
        };
        let claim = OfflineClaim {
            lines: lines
                .iter()
                .map(|l| {
                    let item = prices.iter().find(|p| p.code == l.item);
                    anola_ledger::book::sponsor::ClaimLine {
                        item: l.item.clone(),
                        kind: item.map_or(anola_ledger::book::ItemKind::Procedure, |p| p.kind),
                        service: item.and_then(|p| p.service.clone()),
                        amount: l.unit_price * u64::from(l.quantity),
                    }
                })
                .collect(),
            provider: bill.provider.clone(),
            clinic: lock(&self.store).clinic_id().to_owned(),
            diagnoses: bill.diagnoses.clone(),
        };
        let (uses, parts, coverage) = offline_parts(&allowances, Some(&claim), total, personal, bill.cash, now);
        let device = self.device_name();
        let cash = parts.iter().filter(|p| p.source == Source::Cash).map(|p| p.amount).sum();
        let req = ChargeRequest {
            id: bill.id,
            patient: bill.patient.clone(),
            lines: lines.clone(),
            desk: if cash > 0 {
                Desk::Cash { drawer: String::new() }
            } else {
                Desk::Owed
            },
            desk_amount: cash,
            pin: None,
            visit: None,
            offline: Some(Offline {
                device,
                made_at: now,
                allowances: uses,
            }),
            provider: bill.provider.clone(),
            diagnoses: bill.diagnoses.clone(),
            pre_approval: None,
        };
        let receipt = Receipt {
            id: bill.id,
            digest: String::new(),
            patient: bill.patient,
            clinic: String::new(),
            staff: lock(&self.store).signer_name().unwrap_or_default().to_owned(),
            at: now,
            currency,
            lines,
            total,
            parts,
            fee: 0,
            visit: None,
            offline: req.offline.clone(),
            refunds: Vec::new(),
            coverage,
            provider: bill.provider.clone(),
            pre_approval: None,
        };
        lock(&self.store).record_offline_charge(&req, &receipt, now)?;
        self.notify_changed();
        self.request_sync();
        Ok(Charged {
            receipt,
            provisional: true,
        })
    }

    /// The patient's PIN against a personal allowance's verifier, with this device's lock.
    fn check_pin_offline(&self, patient: &str, pin: &str, allowances: &[LocalAllowance]) -> Result<bool, ClientError> {
        let Some(a) = allowances.iter().find(|a| a.personal && a.pin_verifier.is_some()) else {
            return Err(ClientError::MoneyRefused {
                reason: "no_personal_allowance".into(),
                field: Some("pin".into()),
                message: "this device holds no offline allowance of the patient's personal funds (or no PIN is set)".into(),
            });
        };
        if a.pin_failures >= PIN_ATTEMPTS {
            return Err(ClientError::MoneyRefused {
                reason: "pin_locked".into(),
                field: Some("pin".into()),
                message: "the wallet PIN is locked on this device after too many wrong entries".into(),
            });
        }
        let ok = verify_pin(pin, a.pin_verifier.as_deref().unwrap_or_default());
        lock(&self.store).wallet_pin_entered(patient, ok)?;
        if ok {
            Ok(true)
        } else {
            let left = PIN_ATTEMPTS.saturating_sub(a.pin_failures + 1);
            Err(ClientError::MoneyRefused {
                reason: if left == 0 { "pin_locked" } else { "pin_incorrect" }.into(),
                field: Some("pin".into()),
                message: format!("pin: wrong PIN; {left} attempt(s) left on this device"),
            })
        }
    }

    /// Sends the charges made offline, oldest first: each settles once (a retry gets its
    /// receipt); one refused for good is kept with the server's code and the rest go on. A
    /// charge the server already has under the same id (an online attempt that did arrive) takes
    /// the server's receipt.
    pub async fn settle_offline_charges(&self) -> Result<Settled, ClientError> {
        self.guard_open()?;
        let mut out = Settled::default();
        let pending = lock(&self.store).pending_charges(200)?;
        for req in pending {
            let sent: Result<Receipt, _> = self.transport.money(reqwest::Method::POST, "/money/charges", Some(&req)).await;
            match sent.map_err(client_error) {
                Ok(r) => {
                    lock(&self.store).settle_charge(req.id, &r)?;
                    out.settled += 1;
                }
                Err(ClientError::MoneyRefused { reason, .. }) if reason == "id_reused" => {
                    let found: Result<Receipt, _> = self
                        .transport
                        .money::<(), _>(reqwest::Method::GET, &format!("/money/charges/{}", req.id), None)
                        .await;
                    match found {
                        // The server's charge under this id is this bill (an online attempt that did
                        // arrive): adopt its receipt. Another bill under the id: keep it refused.
                        Ok(r) if r.patient == req.patient && r.lines == req.lines => {
                            lock(&self.store).settle_charge(req.id, &r)?;
                            out.settled += 1;
                        }
                        Ok(_) => {
                            lock(&self.store).refuse_charge(req.id, "id_reused", "the server holds another bill under this id")?;
                            out.refused += 1;
                        }
                        Err(e) => {
                            let e = client_error(e);
                            lock(&self.store).refuse_charge(req.id, e.code(), &e.to_string())?;
                            out.refused += 1;
                        }
                    }
                }
                Err(e @ (ClientError::MoneyRefused { .. } | ClientError::ServerRejected { .. } | ClientError::Forbidden { .. })) => {
                    let code = match &e {
                        ClientError::MoneyRefused { reason, .. } => reason.clone(),
                        other => other.code().to_owned(),
                    };
                    lock(&self.store).refuse_charge(req.id, &code, &e.to_string())?;
                    out.refused += 1;
                }
                Err(e) => {
                    out.waiting = lock(&self.store).pending_charge_count()? as u32;
                    self.notify_changed();
                    return if out.settled > 0 { Ok(out) } else { Err(e) };
                }
            }
        }
        self.notify_changed();
        Ok(out)
    }

    /// While online: reserves an allowance of each sponsored wallet of each patient that has
    /// money, for this device's offline charges (returns how many it reserved). Personal funds
    /// need the patient's PIN: `reserve_personal_allowance`.
    pub async fn reserve_allowances(&self, patients: &[String], policy: AllowancePolicy) -> Result<usize, ClientError> {
        self.reserve(patients, policy, None).await
    }

    /// Reserves an allowance of the patient's personal wallet (and sponsored ones), with their PIN.
    pub async fn reserve_personal_allowance(&self, patient: &str, pin: &str, policy: AllowancePolicy) -> Result<usize, ClientError> {
        self.reserve(&[patient.to_owned()], policy, Some(pin)).await
    }

    async fn reserve(&self, patients: &[String], policy: AllowancePolicy, pin: Option<&str>) -> Result<usize, ClientError> {
        self.cashier()?;
        let mut n = 0;
        for p in patients {
            let held: Vec<String> = lock(&self.store)
                .allowances_for(p)?
                .into_iter()
                .filter(|a| a.room(now_ms()) > 0)
                .map(|a| a.wallet)
                .collect();
            let wallets = self.patient_wallets(p).await?;
            for w in wallets.wallets.iter().filter(|w| {
                (w.kind == AccountKind::Sponsored || (w.kind == AccountKind::Personal && pin.is_some()))
                    && w.available > 0
                    && w.status == AccountStatus::Active
                    && !held.contains(&w.id)
            }) {
                let req = AllowanceRequest {
                    id: Uuid::now_v7(),
                    patient: p.clone(),
                    wallet: w.id.clone(),
                    total: policy.total,
                    per_charge: policy.per_charge.min(policy.total),
                    max_count: policy.max_count,
                    expires_at: now_ms() + policy.ttl_ms,
                    pin: (w.kind == AccountKind::Personal).then(|| pin.unwrap_or_default().to_owned()),
                };
                let grant: AllowanceGrant = self
                    .transport
                    .money(reqwest::Method::POST, "/money/allowances", Some(&req))
                    .await
                    .map_err(client_error)?;
                lock(&self.store).save_allowance(&grant, w.kind == AccountKind::Personal)?;
                n += 1;
            }
        }
        self.notify_changed();
        Ok(n)
    }

    /// Returns allowances to their wallets: the expired ones, or all (`all`), once every charge
    /// made offline has settled (a return before that would make them owed).
    pub async fn return_allowances(&self, all: bool) -> Result<usize, ClientError> {
        self.guard_open()?;
        if lock(&self.store).pending_charge_count()? > 0 {
            return Ok(0);
        }
        let now = now_ms();
        let due: Vec<LocalAllowance> = lock(&self.store)
            .open_allowances()?
            .into_iter()
            .filter(|a| all || a.expires_at <= now)
            .collect();
        let mut n = 0;
        for a in due {
            let r: Result<serde_json::Value, _> = self
                .transport
                .money::<(), _>(reqwest::Method::POST, &format!("/money/allowances/{}/return", a.id), None)
                .await;
            match r.map_err(client_error) {
                Ok(_) | Err(ClientError::MoneyRefused { .. }) => {
                    lock(&self.store).mark_returned(a.id)?;
                    n += 1;
                }
                Err(e) => return Err(e),
            }
        }
        self.notify_changed();
        Ok(n)
    }

    pub async fn deposit(&self, patient: &str, amount: u64, method: DepositMethod) -> Result<LedgerApplied, ClientError> {
        self.cashier()?;
        let req = DepositRequest {
            id: Uuid::now_v7(),
            patient: patient.into(),
            amount,
            method,
        };
        self.transport
            .money(reqwest::Method::POST, "/money/deposits", Some(&req))
            .await
            .map_err(client_error)
    }

    pub async fn refund(&self, charge: Uuid, reason: ReasonCode) -> Result<Receipt, ClientError> {
        self.guard()?;
        let req = RefundRequest {
            id: Uuid::now_v7(),
            reason,
        };
        let r: Receipt = self
            .transport
            .money(reqwest::Method::POST, &format!("/money/charges/{charge}/refund"), Some(&req))
            .await
            .map_err(client_error)?;
        let kept = lock(&self.store).local_charge(charge)?;
        if kept.is_some() {
            lock(&self.store).settle_charge(charge, &r)?;
        }
        self.notify_changed();
        Ok(r)
    }

    pub async fn drawer(&self) -> Result<DrawerView, ClientError> {
        self.cashier()?;
        self.transport
            .money::<(), _>(reqwest::Method::GET, "/money/drawer", None)
            .await
            .map_err(client_error)
    }

    pub async fn close_day(&self, counted: u64, note: &str) -> Result<DayClose, ClientError> {
        self.cashier()?;
        let req = DayCloseRequest {
            id: Uuid::now_v7(),
            counted,
            note: note.into(),
        };
        self.transport
            .money(reqwest::Method::POST, "/money/day-close", Some(&req))
            .await
            .map_err(client_error)
    }

    /// A receipt kept on this device (made here, offline or online); otherwise the server's.
    pub async fn receipt(&self, id: Uuid) -> Result<Charged, ClientError> {
        self.guard()?;
        if let Some(c) = lock(&self.store).local_charge(id)? {
            return Ok(Charged {
                provisional: c.state != "settled",
                receipt: c.receipt,
            });
        }
        let r: Receipt = self
            .transport
            .money::<(), _>(reqwest::Method::GET, &format!("/money/charges/{id}"), None)
            .await
            .map_err(client_error)?;
        Ok(Charged {
            receipt: r,
            provisional: false,
        })
    }
}

/// A receipt ready to show and print: the PNG at 203 dpi (thermal printers) as base64, and
/// the charge as data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrintableReceipt {
    pub charged: Charged,
    pub png_base64: String,
}

impl Clinic {
    /// The receipt as a PNG for the window to show and print.
    pub async fn printable_receipt(&self, id: Uuid) -> Result<PrintableReceipt, ClientError> {
        use base64::Engine;
        let charged = self.receipt(id).await?;
        let svg = self.receipt_svg(id).await?;
        let png = tokio::task::spawn_blocking(move || crate::card_print::card_png(&svg, 203.0))
            .await
            .map_err(|e| ClientError::Internal { message: e.to_string() })??;
        Ok(PrintableReceipt {
            charged,
            png_base64: base64::engine::general_purpose::STANDARD.encode(png),
        })
    }

    /// The printable receipt of a charge (SVG in millimetres; `card_print::card_png` makes a
    /// PNG), with item names from the price list and the patient's name when this device has it.
    pub async fn receipt_svg(&self, id: Uuid) -> Result<String, ClientError> {
        let c = self.receipt(id).await?;
        let (items, _) = lock(&self.store).prices()?;
        let name = Uuid::parse_str(&c.receipt.patient)
            .ok()
            .and_then(|p| self.get_patient(p).ok())
            .map(|p| {
                format!("{} {}", p.given_name.unwrap_or_default(), p.family_name.unwrap_or_default())
                    .trim()
                    .to_owned()
            })
            .filter(|n| !n.is_empty());
        super::receipt::render_receipt_svg(&c.receipt, c.provisional, name.as_deref(), &|code| {
            items.iter().find(|i| i.code == code).map(|i| i.name.clone())
        })
    }
}

/// Names the span of a money request (request ids only: never amounts or patients).
trait InstrumentMoney: Sized {
    fn instrument_money(self, what: &'static str) -> tracing::instrument::Instrumented<Self>;
}

impl<F: std::future::Future> InstrumentMoney for F {
    fn instrument_money(self, what: &'static str) -> tracing::instrument::Instrumented<Self> {
        tracing::Instrument::instrument(self, tracing::info_span!("money", op = what))
    }
}
