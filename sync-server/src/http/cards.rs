//! Health-card endpoints: the public key set, issuing (by an enrolled staff device), what devices
//! cache for offline verification, revocation and key rotation (administrators).

use super::error::ApiError;
use super::extract::JsonBody;
use super::guard::{Admin, DeviceSession};
use super::routes::AppState;
use crate::cards;
use crate::store::Store;
use anola_protocol::cards::{CardsSync, IssueCardRequest, IssuedCard};
use anola_protocol::wire::EntityKind;
use anola_protocol::ErrorCode;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};

pub fn routes<S: Store>() -> Router<AppState<S>> {
    Router::new()
        .route("/.well-known/jwks.json", get(jwks::<S>))
        .route("/cards/issue", post(issue::<S>))
        .route("/sync/cards", get(for_device::<S>))
        .route("/sync/card-keys", get(keys_for_device::<S>))
        .route("/admin/cards/{card_id}/revoke", post(revoke::<S>))
        .route("/admin/card-keys/rotate", post(rotate::<S>))
}

async fn jwks<S: Store>(State(state): State<AppState<S>>) -> Result<Json<anola_cards::JwkSet>, ApiError> {
    Ok(Json(cards::jwks(state.store.as_ref(), &state.card_keys).await?))
}

async fn issue<S: Store>(
    State(state): State<AppState<S>>,
    session: DeviceSession,
    JsonBody(req): JsonBody<IssueCardRequest>,
) -> Result<Json<IssuedCard>, ApiError> {
    if let Some(role) = session.user.role {
        if !anola_protocol::access::may_write(role, EntityKind::Patient, Some("health_card_id")) {
            return Err(ApiError::new(ErrorCode::Forbidden, "your role may not issue health cards"));
        }
    }
    Ok(Json(
        cards::issue(
            state.store.as_ref(),
            &state.card_keys,
            &session.device,
            req.patient_id,
            &state.card_issuer,
        )
        .await?,
    ))
}

async fn for_device<S: Store>(State(state): State<AppState<S>>, session: DeviceSession) -> Result<Json<CardsSync>, ApiError> {
    Ok(Json(
        cards::for_device(state.store.as_ref(), &state.card_keys, &session.device, &state.card_issuer).await?,
    ))
}

async fn keys_for_device<S: Store>(State(state): State<AppState<S>>, _session: DeviceSession) -> Result<Json<CardsSync>, ApiError> {
    Ok(Json(
        cards::keys_for_device(state.store.as_ref(), &state.card_keys, &state.card_issuer).await?,
    ))
}

async fn revoke<S: Store>(
    State(state): State<AppState<S>>,
    admin: Admin,
    Path(card_id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let card = state
        .store
        .card(&card_id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such card"))?;
    admin.require(&card.clinic_id)?;
    cards::revoke(state.store.as_ref(), &card_id, "revoked by an administrator").await?;
    Ok(Json(serde_json::json!({"card_id": card_id, "revoked": true})))
}

async fn rotate<S: Store>(State(state): State<AppState<S>>, admin: Admin) -> Result<Json<anola_cards::Jwk>, ApiError> {
    if !admin.0.pa {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "only a platform administrator rotates card keys",
        ));
    }
    Ok(Json(cards::rotate(state.store.as_ref(), &state.card_keys).await?))
}
