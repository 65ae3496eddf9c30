//! The sync fleet view: every device of a clinic with its last sync, pending writes, last error
//! and app version, hourly sync activity, and devices silent for too long. Fed by `record`, which
//! the sync endpoints call for every request (`http/routes.rs`).

use crate::auth::{devices, now_ms, rfc3339};
use crate::http::error::ApiError;
use crate::http::guard::Admin;
use crate::http::routes::AppState;
use crate::store::portal::{DeviceStatusRecord, SyncOutcome, HOUR_MS};
use crate::store::Store;
use crate::sync::validate;
use anola_protocol::auth::DEVICE_KEY_HEADER;
use anola_protocol::portal::{is_silent, ActivityBucket, FleetDevice, FleetView, ACTIVITY_HOURS, SILENT_AFTER_HOURS};
use anola_protocol::ErrorCode;
use axum::extract::{Path, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use axum::Json;
use std::collections::HashMap;

/// Records one sync request's outcome. A failure here never fails the sync: it is logged.
pub async fn record<S: Store>(store: &S, device_id: &str, clinic_id: &str, outcome: SyncOutcome) {
    if let Err(e) = store.record_sync(device_id, clinic_id, now_ms(), &outcome).await {
        tracing::warn!(device = %device_id, error = %e, "could not record the sync for the fleet view");
    }
}

/// Middleware on every endpoint: a refused or failed sync, sign-in or token refresh made with the
/// key of an enrolled device (its secret checked, revoked or not) is recorded as that device's
/// last error. Successes are recorded by the sync handlers, with the device's report. An expired
/// access token is the normal start of a refresh, not a failure; a key with a wrong secret
/// records nothing (anyone can send a device id).
pub async fn failures<S: Store>(State(state): State<AppState<S>>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let watched = path.starts_with("/sync/") || path.starts_with("/auth/");
    let key = if watched {
        req.headers()
            .get(DEVICE_KEY_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| devices::DeviceKey::parse(v).ok())
    } else {
        None
    };
    let resp = next.run(req).await;
    let code = resp.extensions().get::<ErrorCode>().copied();
    if let (Some(key), Some(code)) = (key, code) {
        if code != ErrorCode::TokenExpired {
            if let Ok(Some(d)) = state.store.device(&key.device_id).await {
                if crate::auth::same(&d.secret_hash, &crate::auth::sha256_hex(key.secret.as_bytes())) {
                    record(
                        state.store.as_ref(),
                        &d.device_id,
                        &d.clinic_id,
                        SyncOutcome::Failed(code.as_str().into()),
                    )
                    .await;
                }
            }
        }
    }
    resp
}

pub async fn fleet<S: Store>(
    State(state): State<AppState<S>>,
    admin: Admin,
    Path(clinic): Path<String>,
) -> Result<Json<FleetView>, ApiError> {
    validate::clinic_id(&clinic)?;
    admin.require(&clinic)?;
    let list = state.store.devices_of_clinic(&clinic).await?;
    let ids: Vec<String> = list.iter().map(|d| d.device_id.clone()).collect();
    let statuses: HashMap<String, DeviceStatusRecord> = state
        .store
        .device_statuses(&ids)
        .await?
        .into_iter()
        .map(|s| (s.device_id.clone(), s))
        .collect();
    let now = now_ms();
    Ok(Json(view(&clinic, &list, &statuses, now)))
}

/// The view from the stored facts (pure).
pub fn view(
    clinic: &str,
    list: &[crate::store::accounts::DeviceRecord],
    statuses: &HashMap<String, DeviceStatusRecord>,
    now: i64,
) -> FleetView {
    let this_hour = now - now.rem_euclid(HOUR_MS);
    let hours: Vec<i64> = (0..i64::from(ACTIVITY_HOURS)).rev().map(|k| this_hour - k * HOUR_MS).collect();
    let activity = hours
        .iter()
        .map(|h| {
            let (ok, failed) = statuses
                .values()
                .filter_map(|s| s.hours.get(h))
                .fold((0, 0), |(o, f), c| (o + c.ok, f + c.failed));
            ActivityBucket {
                hour: rfc3339(*h),
                ok,
                failed,
            }
        })
        .collect();
    let devices = list
        .iter()
        .map(|d| {
            let s = statuses.get(&d.device_id);
            let mut info = devices::info(d);
            if let Some(name) = s.and_then(|s| s.name.clone()) {
                info.name = name;
            }
            let report = s.and_then(|s| s.report.as_ref());
            let last_ok = s.and_then(|s| s.last_ok_ms);
            let server_error = s.and_then(|s| Some((s.last_error.clone()?, s.last_error_ms?)));
            // The newer of: the last refusal the server gave, the error the device last reported.
            let (last_error, last_error_at) = match (server_error, report.and_then(|r| r.last_error.clone())) {
                (Some((e, at)), _) if last_ok.is_none_or(|ok| at >= ok) => (Some(e), Some(rfc3339(at))),
                (_, Some(reported)) => (Some(reported), last_ok.map(rfc3339)),
                _ => (None, None),
            };
            FleetDevice {
                silent: is_silent(d.enrolled_at, d.revoked_at.is_some(), last_ok, now),
                last_seen_at: s.and_then(|s| s.last_seen_ms).map(rfc3339),
                last_sync_at: last_ok.map(rfc3339),
                pending: report.map(|r| r.pending),
                rejected: report.map(|r| r.rejected),
                app_version: report.map(|r| r.app_version.clone()),
                last_error,
                last_error_at,
                device: info,
            }
        })
        .collect();
    FleetView {
        clinic_id: clinic.to_owned(),
        generated_at: rfc3339(now),
        silent_after_hours: SILENT_AFTER_HOURS,
        devices,
        activity,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::accounts::DeviceRecord;
    use crate::store::portal::HourCounts;
    use anola_protocol::portal::DeviceReport;
    use anola_protocol::Role;

    fn device(id: &str, enrolled_at: i64) -> DeviceRecord {
        DeviceRecord {
            device_id: id.into(),
            name: format!("Desk {id}"),
            clinic_id: "main".into(),
            role: Role::FrontDesk,
            field_worker_id: None,
            secret_hash: String::new(),
            kek: String::new(),
            enrolled_at,
            revoked_at: None,
        }
    }

    #[test]
    fn flags_silent_devices_sums_hours_and_shows_the_newer_error() {
        let now = 100 * HOUR_MS + 5;
        let this_hour = 100 * HOUR_MS;
        let mut statuses = HashMap::new();
        // Synced an hour ago, reporting pending writes and the error of its round before.
        statuses.insert(
            "a".to_string(),
            DeviceStatusRecord {
                device_id: "a".into(),
                clinic_id: "main".into(),
                name: Some("Front desk".into()),
                last_seen_ms: Some(now - HOUR_MS),
                last_ok_ms: Some(now - HOUR_MS),
                last_error: Some("forbidden".into()),
                last_error_ms: Some(now - 2 * HOUR_MS),
                report: Some(DeviceReport {
                    app_version: "1.2.3".into(),
                    pending: 4,
                    rejected: 1,
                    last_error: Some("server unreachable".into()),
                }),
                hours: [
                    (this_hour - HOUR_MS, HourCounts { ok: 3, failed: 1 }),
                    (this_hour - 99 * HOUR_MS, HourCounts { ok: 50, failed: 0 }),
                ]
                .into_iter()
                .collect(),
            },
        );
        // Refused after its last success; and a device that never synced since enrolment 30 h ago.
        statuses.insert(
            "b".to_string(),
            DeviceStatusRecord {
                device_id: "b".into(),
                clinic_id: "main".into(),
                last_seen_ms: Some(now - 60_000),
                last_ok_ms: Some(now - 30 * HOUR_MS),
                last_error: Some("device_revoked".into()),
                last_error_ms: Some(now - 60_000),
                hours: [(this_hour, HourCounts { ok: 0, failed: 2 })].into_iter().collect(),
                ..Default::default()
            },
        );
        let list = [device("a", 0), device("b", 0), device("c", now - 30 * HOUR_MS)];
        let v = view("main", &list, &statuses, now);
        assert_eq!(v.activity.len(), ACTIVITY_HOURS as usize);
        let last_two: Vec<(u64, u64)> = v.activity[v.activity.len() - 2..].iter().map(|b| (b.ok, b.failed)).collect();
        assert_eq!(last_two, vec![(3, 1), (0, 2)], "hours outside the chart are ignored");
        let (a, b, c) = (&v.devices[0], &v.devices[1], &v.devices[2]);
        assert_eq!(a.device.name, "Front desk", "the portal's name wins");
        assert_eq!((a.pending, a.rejected, a.app_version.as_deref()), (Some(4), Some(1), Some("1.2.3")));
        assert_eq!(
            a.last_error.as_deref(),
            Some("server unreachable"),
            "the device's report is newer than the old refusal"
        );
        assert!(!a.silent);
        assert_eq!(b.last_error.as_deref(), Some("device_revoked"));
        assert!(b.silent, "no success for 30 hours");
        assert!(c.silent && c.last_sync_at.is_none(), "enrolled 30 hours ago and never synced");
    }
}
