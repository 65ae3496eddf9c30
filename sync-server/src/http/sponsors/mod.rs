//! Sponsors over HTTP (docs/sponsorship.md): the sponsor's pages in the portal
//! (`/portal/api/sponsors/{sponsor}/…`, `portal.rs`), the exports of their report (`export.rs`),
//! and a clinic's side — pre-approval requests from devices and a beneficiary's coverage
//! (`clinic.rs`). Every money change goes through the ledger's log (`money/sponsorship.rs`).

mod clinic;
mod export;
mod portal;

use super::error::ApiError;
use super::guard::Bearer;
use super::routes::AppState;
use crate::auth::sessions;
use crate::store::accounts::UserRecord;
use crate::store::Store;
use anola_ledger::book::sponsor::{self, Sponsorship};
use anola_ledger::book::Book;
use anola_ledger::AccountId;
use anola_protocol::money::Eligibility;
use anola_protocol::sponsor::SponsoredCover;
use anola_protocol::{ErrorCode, UserType};
use axum::routing::{get, post};
use axum::Router;

pub fn routes<S: Store>() -> Router<AppState<S>> {
    Router::new()
        .route(
            "/portal/api/sponsors/{sponsor}",
            get(portal::home::<S>).put(portal::set_profile::<S>),
        )
        .route("/portal/api/sponsors/{sponsor}/funding", post(portal::fund::<S>))
        .route(
            "/portal/api/sponsors/{sponsor}/sponsorships",
            get(portal::sponsorships::<S>).post(portal::create::<S>),
        )
        .route("/portal/api/sponsors/{sponsor}/sponsorships/{id}/status", post(portal::status::<S>))
        .route("/portal/api/sponsors/{sponsor}/pre-approvals", get(portal::pre_approvals::<S>))
        .route(
            "/portal/api/sponsors/{sponsor}/pre-approvals/{id}/decision",
            post(portal::decide::<S>),
        )
        .route("/portal/api/sponsors/{sponsor}/report", get(portal::report::<S>))
        .route("/portal/api/sponsors/{sponsor}/report.csv", get(export::csv::<S>))
        .route("/portal/api/sponsors/{sponsor}/report.pdf", get(export::pdf::<S>))
        .route("/portal/api/sponsors/{sponsor}/notices", get(portal::notices::<S>))
        .route(
            "/portal/api/sponsors/{sponsor}/programmes",
            get(portal::programmes::<S>).post(portal::save_programme::<S>),
        )
        .route("/portal/api/me/sponsorships", get(clinic::my_sponsorships::<S>))
        .route("/admin/sponsors/{sponsor}/deposits", post(portal::bank_deposit::<S>))
        .route("/money/pre-approvals", post(clinic::ask::<S>))
        .route("/money/pre-approvals/{id}", get(clinic::show::<S>))
        .route("/money/patients/{id}/sponsorships", get(clinic::covers::<S>))
        .route("/money/patients/{id}/pre-approvals", get(clinic::patient_pre_approvals::<S>))
        .route("/money/sponsorships/{id}/stories", post(clinic::add_story::<S>))
        .route("/portal/api/sponsors/{sponsor}/stories", get(portal::stories::<S>))
}

/// Who is acting for a sponsor: the sponsor's own account or a platform administrator (who
/// manage), or an administrator the sponsor named as a delegate (who decides pre-approvals).
pub struct Acting {
    pub user: UserRecord,
    pub sponsor: String,
    pub may_manage: bool,
}

impl Acting {
    pub fn manage(&self) -> Result<(), ApiError> {
        match self.may_manage {
            true => Ok(()),
            false => Err(ApiError::new(
                ErrorCode::Forbidden,
                "a delegate sees and decides pre-approvals only; the sponsor manages and reads the rest",
            )),
        }
    }
}

/// Resolves `{sponsor}` (`me` is the caller's own sponsor account) and checks the caller may act
/// for it.
pub async fn acting<S: Store>(state: &AppState<S>, claims: &crate::auth::token::Claims, sponsor: &str) -> Result<Acting, ApiError> {
    let user = sessions::current_user(state.store.as_ref(), claims).await?;
    let own = (user.user_type == UserType::Sponsor).then(|| user.id.to_string());
    let sponsor = match (sponsor, &own) {
        ("me", Some(id)) => id.clone(),
        ("me", None) => {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "this is a sponsor's page: sign in with a sponsor account",
            ))
        }
        (s, _) => s.to_owned(),
    };
    if own.as_deref() == Some(sponsor.as_str()) || (user.platform_admin && claims.mfa) {
        return Ok(Acting {
            user,
            sponsor,
            may_manage: true,
        });
    }
    let delegates = state
        .ledger
        .read(|b| b.sponsors.get(&sponsor).map(|s| s.delegates.clone()).unwrap_or_default())
        .await
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    let admin = user.platform_admin || user.role == Some(anola_protocol::access::Role::ClinicAdmin);
    if admin && claims.mfa && delegates.contains(&user.username) {
        return Ok(Acting {
            user,
            sponsor,
            may_manage: false,
        });
    }
    Err(ApiError::new(ErrorCode::Forbidden, "you do not act for this sponsor"))
}

/// The caller's claims with the sponsor they act for.
pub async fn acting_for<S: Store>(state: &AppState<S>, bearer: Bearer, sponsor: &str) -> Result<Acting, ApiError> {
    acting(state, &bearer.0, sponsor).await
}

/// A sponsorship's terms as a device keeps them with an allowance (eligibility offline).
pub fn terms(b: &Book, s: &Sponsorship) -> Eligibility {
    let sponsor = b.sponsors.get(&s.spec.sponsor);
    Eligibility {
        sponsorship: s.spec.id,
        sponsor: sponsor.filter(|x| !x.anonymous).map(|x| x.name.clone()),
        programme: s.spec.programme.clone(),
        kind: s.spec.kind,
        status: s.status,
        currency: s.currency,
        starts_at: s.spec.starts_at,
        term_end: s.term_end,
        coverage: s.spec.coverage.clone(),
        caps: s.spec.caps.clone(),
        rules_version: sponsor::RULES_VERSION,
    }
}

/// The terms behind a sponsored wallet, if it belongs to a sponsorship.
pub fn eligibility(b: &Book, wallet: &AccountId) -> Option<Eligibility> {
    b.sponsorship_of_wallet(wallet).map(|s| terms(b, s))
}

pub fn cover(b: &Book, s: &Sponsorship) -> SponsoredCover {
    let t = terms(b, s);
    SponsoredCover {
        sponsorship: s.spec.id,
        sponsor: t.sponsor,
        programme: t.programme,
        kind: t.kind,
        status: t.status,
        currency: s.currency.code().into(),
        available: b.spendable_now_raw(&s.wallet()),
        term_end: s.term_end,
        coverage: t.coverage,
        caps: t.caps,
    }
}
