//! Sponsorship on the device (docs/sponsorship.md): a beneficiary's sponsorships as the front
//! desk sees them, what they cover offline (the terms kept with each allowance, run through the
//! same rule engine as the server), and pre-approval requests — sent at once when online,
//! queued when not and sent at the next sync under the same id (so never twice).

use super::money::OfflineClaim;
use super::Clinic;
use crate::error::ClientError;
use crate::store::sponsorship::LocalPreApproval;
use crate::sync::round::{client_error, lock};
use anola_ledger::book::sponsor::Covered;
use anola_protocol::money::Line;
use anola_protocol::sponsor::{NewPreApproval, PreApprovalView, SponsoredCover};
use anola_protocol::Role;
use uuid::Uuid;

fn now_ms() -> i64 {
    crate::store::now_ms() as i64
}

impl Clinic {
    /// The patient's sponsorships (online): the sponsor unless anonymous, what is covered, what
    /// is left.
    pub async fn sponsorships(&self, patient: &str) -> Result<Vec<SponsoredCover>, ClientError> {
        self.guard()?;
        self.transport
            .money::<(), _>(reqwest::Method::GET, &format!("/money/patients/{patient}/sponsorships"), None)
            .await
            .map_err(client_error)
    }

    /// What the patient's sponsorships would pay of these lines with no network: the terms this
    /// device holds with its allowances, through the same engine the server runs (the server's
    /// answer when the charge settles is the one that counts).
    pub fn coverage_offline(
        &self,
        patient: &str,
        lines: &[Line],
        provider: Option<String>,
        diagnoses: Vec<String>,
    ) -> Result<Vec<Covered>, ClientError> {
        self.guard()?;
        let (prices, _) = lock(&self.store).prices()?;
        let claim = OfflineClaim {
            lines: lines
                .iter()
                .map(|l| {
                    let item = prices.iter().find(|p| p.code == l.item);
                    anola_ledger::book::sponsor::ClaimLine {
                        item: l.item.clone(),
                        kind: item.map_or(anola_ledger::book::ItemKind::Procedure, |p| p.kind),
                        service: item.and_then(|p| p.service.clone()),
                        amount: item.map_or(l.unit_price, |p| p.price) * u64::from(l.quantity),
                    }
                })
                .collect(),
            provider,
            clinic: lock(&self.store).clinic_id().to_owned(),
            diagnoses,
        };
        let total = claim.lines.iter().map(|l| l.amount).sum();
        let allowances = lock(&self.store).allowances_for(patient)?;
        let sponsored: Vec<_> = allowances.into_iter().filter(|a| !a.personal).collect();
        Ok(super::money::offline_parts(&sponsored, Some(&claim), total, false, 0, now_ms()).2)
    }

    fn may_ask(&self) -> Result<(), ClientError> {
        self.guard()?;
        match self.actor.role {
            Role::Clinician | Role::ClinicAdmin => Ok(()),
            r => Err(ClientError::Forbidden {
                field: None,
                message: format!("the {} role does not ask for pre-approvals (clinicians do)", r.as_str()),
            }),
        }
    }

    /// Asks a sponsor to approve planned care. Offline, the request is queued and sent at the
    /// next sync; either way it is kept on the device with the server's answer as last seen.
    pub async fn ask_pre_approval(&self, req: NewPreApproval) -> Result<LocalPreApproval, ClientError> {
        self.may_ask()?;
        let now = now_ms();
        let sent: Result<PreApprovalView, _> = self
            .transport
            .money(reqwest::Method::POST, "/money/pre-approvals", Some(&req))
            .await;
        match sent.map_err(client_error) {
            Ok(view) => lock(&self.store).keep_pre_approval(&req, Some(&view), now)?,
            Err(ClientError::Offline { .. }) => lock(&self.store).keep_pre_approval(&req, None, now)?,
            Err(e) => return Err(e),
        }
        self.notify_changed();
        lock(&self.store).local_pre_approval(req.id)?.ok_or_else(|| ClientError::Internal {
            message: "the pre-approval was not kept".into(),
        })
    }

    /// Sends requests queued offline (each under its own id: a retry is the same request).
    pub async fn send_queued_pre_approvals(&self) -> Result<usize, ClientError> {
        self.guard_open()?;
        let queued = lock(&self.store).unsent_pre_approvals(100)?;
        let mut n = 0;
        for q in queued {
            let sent: Result<PreApprovalView, _> = self
                .transport
                .money(reqwest::Method::POST, "/money/pre-approvals", Some(&q.request))
                .await;
            match sent.map_err(client_error) {
                Ok(view) => {
                    lock(&self.store).keep_pre_approval(&q.request, Some(&view), q.made_at)?;
                    n += 1;
                }
                Err(e @ ClientError::Offline { .. }) => return if n > 0 { Ok(n) } else { Err(e) },
                Err(e) => tracing::warn!(code = e.code(), "a queued pre-approval was refused; kept on the device"),
            }
        }
        if n > 0 {
            self.notify_changed();
        }
        Ok(n)
    }

    /// A pre-approval's state: the server's, fetched when online, else as last seen.
    pub async fn pre_approval(&self, id: Uuid) -> Result<LocalPreApproval, ClientError> {
        self.guard()?;
        let fetched: Result<PreApprovalView, _> = self
            .transport
            .money::<(), _>(reqwest::Method::GET, &format!("/money/pre-approvals/{id}"), None)
            .await;
        let local = lock(&self.store).local_pre_approval(id)?;
        match (fetched.map_err(client_error), local) {
            (Ok(view), Some(l)) => {
                lock(&self.store).keep_pre_approval(&l.request, Some(&view), l.made_at)?;
                Ok(LocalPreApproval {
                    view: Some(view),
                    sent: true,
                    ..l
                })
            }
            (Ok(view), None) => Ok(LocalPreApproval {
                request: NewPreApproval {
                    id,
                    sponsorship: view.sponsorship,
                    patient: String::new(),
                    provider: view.provider.clone(),
                    lines: view.lines.clone(),
                    diagnoses: view.diagnoses.clone(),
                    note: view.note.clone(),
                    valid_days: 0,
                },
                view: Some(view),
                sent: true,
                made_at: 0,
            }),
            (Err(ClientError::Offline { .. }), Some(l)) => Ok(l),
            (Err(e), _) => Err(e),
        }
    }

    /// The patient's pre-approvals at this clinic (online: the server's; offline: this device's,
    /// as last seen), newest first; requests still queued on this device come first.
    pub async fn patient_pre_approvals(&self, patient: &str) -> Result<Vec<LocalPreApproval>, ClientError> {
        self.guard()?;
        let local = lock(&self.store).pre_approvals_for(patient, 50)?;
        let fetched: Result<Vec<PreApprovalView>, _> = self
            .transport
            .money::<(), _>(reqwest::Method::GET, &format!("/money/patients/{patient}/pre-approvals"), None)
            .await;
        let views = match fetched.map_err(client_error) {
            Ok(v) => v,
            Err(ClientError::Offline { .. }) => return Ok(local),
            Err(e) => return Err(e),
        };
        let mut out: Vec<LocalPreApproval> = local.iter().filter(|l| !l.sent).cloned().collect();
        for v in views {
            let mine = local.iter().find(|l| l.request.id == v.id);
            if let Some(l) = mine {
                lock(&self.store).keep_pre_approval(&l.request, Some(&v), l.made_at)?;
            }
            out.push(LocalPreApproval {
                request: mine.map(|l| l.request.clone()).unwrap_or_else(|| NewPreApproval {
                    id: v.id,
                    sponsorship: v.sponsorship,
                    patient: patient.to_owned(),
                    provider: v.provider.clone(),
                    lines: v.lines.clone(),
                    diagnoses: v.diagnoses.clone(),
                    note: v.note.clone(),
                    valid_days: 0,
                }),
                made_at: v.requested_at,
                sent: true,
                view: Some(v),
            });
        }
        Ok(out)
    }

    /// Writes how the sponsored care went (clinicians): the sponsor reads it only while the
    /// patient consents. Online only.
    pub async fn add_story(&self, sponsorship: Uuid, text: &str) -> Result<Uuid, ClientError> {
        self.may_ask()?;
        let body = anola_protocol::sponsor::NewStory {
            id: Uuid::now_v7(),
            text: text.to_owned(),
        };
        self.transport
            .money::<_, ()>(
                reqwest::Method::POST,
                &format!("/money/sponsorships/{sponsorship}/stories"),
                Some(&body),
            )
            .await
            .map_err(client_error)?;
        Ok(body.id)
    }

    /// The patient's pre-approvals on this device, newest first.
    pub fn pre_approvals_for(&self, patient: &str) -> Result<Vec<LocalPreApproval>, ClientError> {
        self.guard()?;
        lock(&self.store).pre_approvals_for(patient, 50)
    }
}
