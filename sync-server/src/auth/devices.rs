//! Device enrolment, authentication and revocation.
//!
//! A device proves itself with `x-anola-device-key: <device_id>:<secret>` on every sync request;
//! the secret is 32 random bytes, stored as a SHA-256. Revocation is an insert-once document read
//! on every request, so it takes effect at the device's next contact.

use super::token::Claims;
use super::{now_ms, random_bytes, rfc3339, same, sha256_hex, AuthError, ENROLMENT_TTL_MS};
use crate::store::accounts::{AccountStore, DeviceRecord, EnrolmentRecord};
use crate::store::Inserted;
use anola_protocol::auth::{DeviceInfo, EnrolRequest, EnrolResponse, EnrolmentCode, NewEnrolmentCode};
use anola_protocol::{ErrorCode, Role};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceKey {
    pub device_id: String,
    pub secret: String,
}

impl DeviceKey {
    pub fn parse(header: &str) -> Result<DeviceKey, AuthError> {
        match header.trim().split_once(':') {
            Some((id, secret)) if !id.is_empty() && !secret.is_empty() && id.len() <= 64 && secret.len() <= 128 => Ok(DeviceKey {
                device_id: id.to_owned(),
                secret: secret.to_owned(),
            }),
            _ => Err(AuthError::field(
                ErrorCode::DeviceNotEnrolled,
                anola_protocol::auth::DEVICE_KEY_HEADER,
                "the device key must be <device_id>:<secret>",
            )),
        }
    }
}

pub async fn authenticate<S: AccountStore>(store: &S, key: &DeviceKey) -> Result<DeviceRecord, AuthError> {
    let unknown = || {
        AuthError::new(
            ErrorCode::DeviceNotEnrolled,
            "this device is not enrolled; ask a clinic administrator for an enrolment code",
        )
    };
    let Some(d) = store.device(&key.device_id).await? else {
        return Err(unknown());
    };
    if !same(&d.secret_hash, &sha256_hex(key.secret.as_bytes())) {
        return Err(unknown());
    }
    if d.revoked_at.is_some() {
        return Err(AuthError::new(
            ErrorCode::DeviceRevoked,
            "this device was revoked by an administrator; its local data must be erased",
        ));
    }
    Ok(d)
}

fn normalise_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

pub fn info(d: &DeviceRecord) -> DeviceInfo {
    DeviceInfo {
        device_id: d.device_id.clone(),
        name: d.name.clone(),
        clinic_id: d.clinic_id.clone(),
        role: d.role,
        field_worker_id: d.field_worker_id.clone(),
        enrolled_at: rfc3339(d.enrolled_at),
        revoked_at: d.revoked_at.map(rfc3339),
    }
}

pub async fn create_code<S: AccountStore>(
    store: &S,
    admin: &Claims,
    clinic: &str,
    req: &NewEnrolmentCode,
) -> Result<EnrolmentCode, AuthError> {
    if req.role == Role::FieldWorker && req.field_worker_id.as_deref().is_none_or(str::is_empty) {
        return Err(AuthError::field(
            ErrorCode::ValidationFailed,
            "field_worker_id",
            "a field-worker device needs field_worker_id",
        ));
    }
    // 60 random bits in base32, grouped for reading aloud: XXXX-XXXX-XXXX.
    let raw = anola_protocol::totp::base32_encode(&random_bytes::<8>());
    let code: String = raw[..12]
        .chars()
        .collect::<Vec<_>>()
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-");
    let expires_at = now_ms() + ENROLMENT_TTL_MS;
    store
        .insert_enrolment(&EnrolmentRecord {
            hash: sha256_hex(normalise_code(&code).as_bytes()),
            clinic_id: clinic.to_owned(),
            role: req.role,
            field_worker_id: req.field_worker_id.clone(),
            created_by: admin.sub,
            expires_at,
        })
        .await?;
    Ok(EnrolmentCode {
        code,
        clinic_id: clinic.to_owned(),
        role: req.role,
        expires_at: rfc3339(expires_at),
    })
}

pub async fn enrol<S: AccountStore>(store: &S, req: &EnrolRequest) -> Result<EnrolResponse, AuthError> {
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AuthError::field(
            ErrorCode::ValidationFailed,
            "name",
            "the device name must be 1–100 characters",
        ));
    }
    let invalid = || {
        AuthError::field(
            ErrorCode::InvalidEnrolmentCode,
            "code",
            "this enrolment code is unknown, used or expired",
        )
    };
    let hash = sha256_hex(normalise_code(&req.code).as_bytes());
    let Some(e) = store.enrolment_by_hash(&hash).await? else {
        return Err(invalid());
    };
    if e.expires_at <= now_ms() || store.spend_enrolment(&hash).await? == Inserted::Taken {
        return Err(invalid());
    }
    let secret = URL_SAFE_NO_PAD.encode(random_bytes::<32>());
    let device = DeviceRecord {
        device_id: format!("dev_{}", uuid::Uuid::new_v4().simple()),
        name: name.to_owned(),
        clinic_id: e.clinic_id.clone(),
        role: e.role,
        field_worker_id: e.field_worker_id.clone(),
        secret_hash: sha256_hex(secret.as_bytes()),
        kek: STANDARD.encode(random_bytes::<32>()),
        enrolled_at: now_ms(),
        revoked_at: None,
    };
    store.insert_device(&device).await?;
    tracing::info!(device = %device.device_id, clinic = %device.clinic_id, role = device.role.as_str(), "device enrolled");
    Ok(EnrolResponse {
        device_id: device.device_id,
        device_secret: secret,
        clinic_id: device.clinic_id,
        role: device.role,
        field_worker_id: device.field_worker_id,
        device_kek: device.kek,
    })
}

pub async fn revoke<S: AccountStore>(store: &S, admin: &Claims, device_id: &str) -> Result<DeviceInfo, AuthError> {
    let Some(d) = store.device(device_id).await? else {
        return Err(AuthError::new(ErrorCode::NotFound, "no such device"));
    };
    if !admin.administers(&d.clinic_id) {
        return Err(AuthError::new(ErrorCode::Forbidden, "you do not administer this device's clinic"));
    }
    store.revoke_device(device_id, now_ms()).await?;
    tracing::info!(device = %device_id, "device revoked");
    let d = store.device(device_id).await?.unwrap_or(d);
    Ok(info(&d))
}
