//! The sponsor's pages: profile and wallet, funding, sponsorships, pre-approval decisions, the
//! report and the notices kept for them.

use super::{acting_for, Acting};
use crate::http::error::ApiError;
use crate::http::extract::JsonBody;
use crate::http::guard::{Admin, Bearer};
use crate::http::money::{failed, now_ms};
use crate::http::routes::AppState;
use crate::store::Store;
use anola_ledger::book::sponsor::{self, PreApproval, Sponsor, SponsorshipSpec, Status};
use anola_ledger::book::{Book, CollectIntent};
use anola_protocol::sponsor::*;
use anola_protocol::wire::EntityKind;
use anola_protocol::{ErrorBody, ErrorCode};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use uuid::Uuid;

type Answer = Result<Response, Response>;

fn err(e: ApiError) -> Response {
    e.into_response()
}

fn bad(field: &str, message: &str) -> Response {
    ApiError(ErrorBody::new(ErrorCode::InvalidRequest, format!("{field}: {message}")).with_field(field)).into_response()
}

async fn who<S: Store>(state: &AppState<S>, bearer: Bearer, sponsor: &str) -> Result<Acting, Response> {
    acting_for(state, bearer, sponsor).await.map_err(err)
}

fn not_set_up(sponsor: &str) -> Response {
    ApiError(
        ErrorBody::new(
            ErrorCode::NotFound,
            format!("sponsor {sponsor} has no profile yet: set it up first (name, country, currency)"),
        )
        .with_field("sponsor"),
    )
    .into_response()
}

pub fn home_view(b: &Book, a: &Acting) -> SponsorHome {
    let profile = b.sponsors.get(&a.sponsor).cloned();
    let wallet = sponsor::global_wallet(&a.sponsor);
    let pending = b
        .sponsorships_of
        .get(&a.sponsor)
        .into_iter()
        .flatten()
        .filter_map(|id| b.sponsorships.get(id))
        .flat_map(|s| s.open_pre_approvals.iter())
        .filter(|p| {
            b.pre_approvals
                .get(p)
                .is_some_and(|p| p.state == sponsor::PreApprovalState::Pending)
        })
        .count() as u32;
    SponsorHome {
        sponsor_id: a.sponsor.clone(),
        currency: profile.as_ref().map(|p| p.currency.code().to_owned()),
        profile,
        available: b.spendable_now_raw(&wallet),
        wallet: wallet.0,
        deposits: b
            .sponsor_deposits
            .get(&a.sponsor)
            .into_iter()
            .flatten()
            .map(|(id, amount, reference, at)| SponsorDeposit {
                id: *id,
                amount: *amount,
                reference: reference.clone(),
                at: *at,
            })
            .collect(),
        pending_pre_approvals: pending,
        may_manage: a.may_manage,
    }
}

pub async fn home<S: Store>(State(state): State<AppState<S>>, bearer: Bearer, Path(sponsor): Path<String>) -> Answer {
    let a = who(&state, bearer, &sponsor).await?;
    let view = state.ledger.read(|b| home_view(b, &a)).await.map_err(|e| failed(e, None))?;
    Ok(Json(view).into_response())
}

pub async fn set_profile<S: Store>(
    State(state): State<AppState<S>>,
    bearer: Bearer,
    Path(sponsor): Path<String>,
    JsonBody(mut profile): JsonBody<Sponsor>,
) -> Answer {
    let a = who(&state, bearer, &sponsor).await?;
    a.manage().map_err(err)?;
    if sponsor != "me" && profile.id != a.sponsor {
        return Err(bad("id", "the profile's id must be the sponsor's in the path"));
    }
    profile.id = a.sponsor.clone();
    state.ledger.sponsor_profile(profile, now_ms()).await.map_err(|e| failed(e, None))?;
    let view = state.ledger.read(|b| home_view(b, &a)).await.map_err(|e| failed(e, None))?;
    Ok(Json(view).into_response())
}

/// Mobile money into the sponsor's wallet (an STK push to the payer's phone).
pub async fn fund<S: Store>(
    State(state): State<AppState<S>>,
    bearer: Bearer,
    Path(sponsor): Path<String>,
    JsonBody(f): JsonBody<SponsorFunding>,
) -> Answer {
    let a = who(&state, bearer, &sponsor).await?;
    a.manage().map_err(err)?;
    if let Some(bad) = crate::http::clinic_money::own_id(f.id) {
        return Err(bad);
    }
    let Some(payments) = state.payments.clone() else {
        return Err(ApiError::new(
            ErrorCode::ProviderUnavailable,
            "mobile money is not configured on this server; ask the platform to record your bank transfer",
        )
        .into_response());
    };
    let known = state
        .ledger
        .read(|b| b.sponsors.contains_key(&a.sponsor))
        .await
        .map_err(|e| failed(e, None))?;
    if !known {
        return Err(not_set_up(&a.sponsor));
    }
    let intent = CollectIntent {
        id: f.id,
        patient: a.sponsor.clone(),
        wallet: sponsor::global_wallet(&a.sponsor),
        amount: f.amount,
        phone: f.phone,
        requested_by: a.user.username.clone(),
    };
    Ok(crate::http::mobile_money::push(&state, &payments, intent).await)
}

/// A bank transfer a platform administrator saw arrive (once per id).
pub async fn bank_deposit<S: Store>(
    State(state): State<AppState<S>>,
    admin: Admin,
    Path(sponsor): Path<String>,
    JsonBody(d): JsonBody<BankDeposit>,
) -> Answer {
    if !admin.0.pa {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "sponsors' bank deposits are recorded by platform administrators",
        )
        .into_response());
    }
    if let Some(bad) = crate::http::clinic_money::own_id(d.id) {
        return Err(bad);
    }
    let available = state
        .ledger
        .sponsor_deposit(d.id, sponsor, d.amount, d.reference, now_ms())
        .await
        .map_err(|e| failed(e, Some(d.id)))?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "available": available }))).into_response())
}

fn view_of(b: &Book, row: anola_ledger::book::sponsor::report::Row) -> Option<SponsorshipView> {
    let s = b.sponsorships.get(&row.id)?;
    Some(SponsorshipView {
        row,
        coverage: s.spec.coverage.clone(),
        caps: s.spec.caps.clone(),
        recurrence: s.spec.recurrence,
        starts_at: s.spec.starts_at,
        history: s.history.clone(),
    })
}

fn view(b: &Book, id: Uuid) -> Option<SponsorshipView> {
    let s = b.sponsorships.get(&id)?;
    let report = b.sponsor_report(&s.spec.sponsor)?;
    view_of(b, report.sponsorships.into_iter().find(|r| r.id == id)?)
}

pub async fn sponsorships<S: Store>(State(state): State<AppState<S>>, bearer: Bearer, Path(sponsor): Path<String>) -> Answer {
    let a = who(&state, bearer, &sponsor).await?;
    a.manage().map_err(err)?;
    let list = state
        .ledger
        .read(|b| {
            let Some(r) = b.sponsor_report(&a.sponsor) else {
                return Vec::new();
            };
            r.sponsorships.into_iter().filter_map(|row| view_of(b, row)).collect::<Vec<_>>()
        })
        .await
        .map_err(|e| failed(e, None))?;
    Ok(Json(list).into_response())
}

/// The patient a sponsor names: by id, or by health card number.
async fn find_patient<S: Store>(state: &AppState<S>, q: &str) -> Result<Uuid, Response> {
    let q = q.trim();
    let ids = match Uuid::parse_str(q) {
        Ok(id) => vec![id],
        Err(_) => state
            .store
            .find_views(EntityKind::Patient, "health_card_id", q)
            .await
            .map_err(|e| ApiError::from(e).into_response())?,
    };
    let keys: Vec<(EntityKind, Uuid)> = ids.iter().map(|id| (EntityKind::Patient, *id)).collect();
    let heads = state.store.heads(&keys).await.map_err(|e| ApiError::from(e).into_response())?;
    match heads.into_iter().flatten().next() {
        Some(h) => Ok(h.id),
        None => Err(ApiError(
            ErrorBody::new(ErrorCode::NotFound, "patient: no patient has this id or health card number").with_field("patient"),
        )
        .into_response()),
    }
}

pub async fn create<S: Store>(
    State(state): State<AppState<S>>,
    bearer: Bearer,
    Path(sponsor): Path<String>,
    JsonBody(n): JsonBody<NewSponsorship>,
) -> Answer {
    let a = who(&state, bearer, &sponsor).await?;
    a.manage().map_err(err)?;
    if let Some(bad) = crate::http::clinic_money::own_id(n.id) {
        return Err(bad);
    }
    if n.patient.trim().is_empty() || n.patient.len() > 100 {
        return Err(bad("patient", "the patient's id or health card number"));
    }
    let patient = find_patient(&state, &n.patient).await?;
    // Made from a programme: the programme's name is the sponsorship's.
    let programme = match n.programme_id {
        Some(p) => state
            .ledger
            .read(|b| b.programmes.get(&p).filter(|x| x.sponsor == a.sponsor).map(|x| x.name.clone()))
            .await
            .map_err(|e| failed(e, None))?
            .ok_or_else(|| bad("programme_id", "not a programme of this sponsor"))?,
        None => n.programme,
    };
    let spec = SponsorshipSpec {
        id: n.id,
        sponsor: a.sponsor.clone(),
        patient: patient.to_string(),
        programme,
        programme_id: n.programme_id,
        country: n.country,
        kind: n.kind,
        allocation: n.allocation,
        starts_at: n.starts_at,
        ends_at: n.ends_at,
        recurrence: n.recurrence,
        max_renewals: n.max_renewals,
        coverage: n.coverage,
        caps: n.caps,
        note: n.note,
    };
    let now = now_ms();
    state
        .ledger
        .create_sponsorship(spec, a.user.username.clone(), now)
        .await
        .map_err(|e| failed(e, Some(n.id)))?;
    if n.activate {
        state
            .ledger
            .sponsorship_status(n.id, Status::Active, a.user.username.clone(), "activated at creation".into(), now)
            .await
            .map_err(|e| failed(e, Some(n.id)))?;
    }
    let v = state.ledger.read(|b| view(b, n.id)).await.map_err(|e| failed(e, None))?;
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// The sponsorship, if it is this sponsor's (404 otherwise: another sponsor's is not shown).
async fn own<S: Store>(state: &AppState<S>, a: &Acting, id: Uuid) -> Result<(), Response> {
    let mine = state
        .ledger
        .read(|b| b.sponsorships.get(&id).map(|s| s.spec.sponsor == a.sponsor))
        .await
        .map_err(|e| failed(e, None))?;
    match mine {
        Some(true) => Ok(()),
        _ => Err(ApiError(ErrorBody::new(ErrorCode::NotFound, "no such sponsorship of this sponsor").with_field("id")).into_response()),
    }
}

pub async fn status<S: Store>(
    State(state): State<AppState<S>>,
    bearer: Bearer,
    Path((sponsor, id)): Path<(String, String)>,
    JsonBody(r): JsonBody<StatusRequest>,
) -> Answer {
    let a = who(&state, bearer, &sponsor).await?;
    a.manage().map_err(err)?;
    let id = crate::http::portal::uuid_param(&id, "id").map_err(err)?;
    own(&state, &a, id).await?;
    state
        .ledger
        .sponsorship_status(id, r.status, a.user.username.clone(), r.reason, now_ms())
        .await
        .map_err(|e| failed(e, Some(id)))?;
    let v = state.ledger.read(|b| view(b, id)).await.map_err(|e| failed(e, None))?;
    Ok(Json(v).into_response())
}

pub fn pa_view(b: &Book, p: &PreApproval) -> PreApprovalView {
    let s = b.sponsorships.get(&p.input.sponsorship);
    let anonymous = s.and_then(|s| b.sponsors.get(&s.spec.sponsor)).is_some_and(|x| x.anonymous);
    PreApprovalView {
        id: p.input.id,
        sponsorship: p.input.sponsorship,
        beneficiary: if anonymous {
            "Anonymous beneficiary".into()
        } else {
            p.input.patient.clone()
        },
        clinic: p.input.clinic.clone(),
        provider: p.input.provider.clone(),
        lines: p.input.lines.clone(),
        diagnoses: p.input.diagnoses.clone(),
        note: p.input.note.clone(),
        asked: p.asked,
        currency: p.currency.code().into(),
        requested_at: p.requested_at,
        requested_by: p.input.requested_by.clone(),
        state: p.state.clone(),
    }
}

pub async fn pre_approvals<S: Store>(State(state): State<AppState<S>>, bearer: Bearer, Path(sponsor): Path<String>) -> Answer {
    let a = who(&state, bearer, &sponsor).await?;
    let list = state
        .ledger
        .read(|b| {
            let mut v: Vec<PreApprovalView> = b
                .sponsorships_of
                .get(&a.sponsor)
                .into_iter()
                .flatten()
                .filter_map(|id| b.sponsorships.get(id))
                .flat_map(|s| s.pre_approvals.iter())
                .filter_map(|p| b.pre_approvals.get(p))
                .map(|p| pa_view(b, p))
                .collect();
            // Waiting ones first, newest first.
            v.sort_by_key(|p| (p.state != sponsor::PreApprovalState::Pending, -p.requested_at));
            v
        })
        .await
        .map_err(|e| failed(e, None))?;
    Ok(Json(list).into_response())
}

pub async fn decide<S: Store>(
    State(state): State<AppState<S>>,
    bearer: Bearer,
    Path((sponsor, id)): Path<(String, String)>,
    JsonBody(d): JsonBody<PreApprovalDecision>,
) -> Answer {
    let a = who(&state, bearer, &sponsor).await?;
    let id = crate::http::portal::uuid_param(&id, "id").map_err(err)?;
    let of = state
        .ledger
        .read(|b| {
            b.pre_approvals
                .get(&id)
                .and_then(|p| b.sponsorships.get(&p.input.sponsorship))
                .map(|s| s.spec.sponsor.clone())
        })
        .await
        .map_err(|e| failed(e, None))?;
    if of.as_deref() != Some(a.sponsor.as_str()) {
        return Err(
            ApiError(ErrorBody::new(ErrorCode::NotFound, "no such pre-approval for this sponsor").with_field("id")).into_response(),
        );
    }
    let p = state
        .ledger
        .decide_pre_approval(id, d.approve, a.user.username.clone(), d.comment, now_ms())
        .await
        .map_err(|e| failed(e, Some(id)))?;
    let v = state.ledger.read(|b| pa_view(b, &p)).await.map_err(|e| failed(e, None))?;
    Ok(Json(v).into_response())
}

pub async fn programmes<S: Store>(State(state): State<AppState<S>>, bearer: Bearer, Path(sponsor): Path<String>) -> Answer {
    let a = who(&state, bearer, &sponsor).await?;
    a.manage().map_err(err)?;
    let list = state
        .ledger
        .read(|b| {
            b.programmes_of
                .get(&a.sponsor)
                .into_iter()
                .flatten()
                .filter_map(|id| b.programmes.get(id).cloned())
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|e| failed(e, None))?;
    Ok(Json(list).into_response())
}

/// Creates or changes a programme (its sponsorships keep the terms they were made with).
pub async fn save_programme<S: Store>(
    State(state): State<AppState<S>>,
    bearer: Bearer,
    Path(sponsor): Path<String>,
    JsonBody(mut p): JsonBody<anola_ledger::book::sponsor::Programme>,
) -> Answer {
    let a = who(&state, bearer, &sponsor).await?;
    a.manage().map_err(err)?;
    if let Some(bad) = crate::http::clinic_money::own_id(p.id) {
        return Err(bad);
    }
    p.sponsor = a.sponsor.clone();
    let saved = state.ledger.save_programme(p, now_ms()).await.map_err(|e| failed(e, None))?;
    Ok((StatusCode::CREATED, Json(saved)).into_response())
}

pub async fn report<S: Store>(State(state): State<AppState<S>>, bearer: Bearer, Path(sponsor): Path<String>) -> Answer {
    let a = who(&state, bearer, &sponsor).await?;
    a.manage().map_err(err)?;
    match state
        .ledger
        .read(|b| b.sponsor_report(&a.sponsor))
        .await
        .map_err(|e| failed(e, None))?
    {
        Some(r) => Ok(Json(r).into_response()),
        None => Err(not_set_up(&a.sponsor)),
    }
}

pub async fn notices<S: Store>(State(state): State<AppState<S>>, bearer: Bearer, Path(sponsor): Path<String>) -> Answer {
    let a = who(&state, bearer, &sponsor).await?;
    a.manage().map_err(err)?;
    let list = state
        .ledger
        .read(|b| {
            let mut v: Vec<sponsor::Notice> = b
                .sponsorships_of
                .get(&a.sponsor)
                .into_iter()
                .flatten()
                .flat_map(|s| b.notices_of.get(s).into_iter().flatten())
                .filter_map(|i| b.notices.get(*i))
                .filter(|n| n.to != "beneficiary")
                .cloned()
                .collect();
            v.sort_by_key(|n| -n.at);
            v.truncate(100);
            v
        })
        .await
        .map_err(|e| failed(e, None))?;
    Ok(Json(list).into_response())
}

/// Stories clinicians wrote about the care this sponsor paid for: only when the sponsor asked for
/// them, and only those whose patient consents now (one consent read per beneficiary).
pub async fn stories<S: Store>(State(state): State<AppState<S>>, bearer: Bearer, Path(sponsor): Path<String>) -> Answer {
    let a = who(&state, bearer, &sponsor).await?;
    a.manage().map_err(err)?;
    let (enabled, found) = state
        .ledger
        .read(|b| {
            let enabled = b.sponsors.get(&a.sponsor).is_some_and(|s| s.reports.success_stories);
            let anonymous = b.sponsors.get(&a.sponsor).is_some_and(|s| s.anonymous);
            let mut v = Vec::new();
            for (i, id) in b.sponsorships_of.get(&a.sponsor).into_iter().flatten().enumerate() {
                let Some(s) = b.sponsorships.get(id) else { continue };
                for st in b.stories.get(id).into_iter().flatten() {
                    let beneficiary = if anonymous {
                        format!("Beneficiary {}", i + 1)
                    } else {
                        s.spec.patient.clone()
                    };
                    v.push((
                        s.spec.patient.clone(),
                        StoryView {
                            id: st.id,
                            sponsorship: *id,
                            beneficiary,
                            programme: s.spec.programme.clone(),
                            text: st.text.clone(),
                            at: st.at,
                        },
                    ));
                }
            }
            (enabled, v)
        })
        .await
        .map_err(|e| failed(e, None))?;
    let mut out = SponsorStories {
        enabled,
        stories: Vec::new(),
        withheld: 0,
    };
    if !enabled {
        return Ok(Json(out).into_response());
    }
    let mut consent: std::collections::HashMap<String, bool> = std::collections::HashMap::new();
    for (patient, story) in found {
        let ok = match consent.get(&patient) {
            Some(ok) => *ok,
            None => {
                let ok = match Uuid::parse_str(&patient) {
                    Ok(p) => state
                        .store
                        .consents(p)
                        .await
                        .map_err(|e| ApiError::from(e).into_response())?
                        .is_some_and(|c| c.sponsor_stories),
                    Err(_) => false,
                };
                consent.insert(patient.clone(), ok);
                ok
            }
        };
        if ok {
            out.stories.push(story);
        } else {
            out.withheld += 1;
        }
    }
    out.stories.sort_by_key(|s| -s.at);
    Ok(Json(out).into_response())
}
