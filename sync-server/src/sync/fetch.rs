//! One patient on demand: a device that scanned a genuine card of a patient it does not hold yet
//! asks for that patient instead of waiting for (or forcing) a whole sync round.
//!
//! Invariant: the answer is the patient's current merged state, exactly as a pull would carry
//! it (same projection for the device's role). The device merges it like a pulled record and
//! does not move its pull cursor, so the later pull that brings the same change again is a
//! no-op (merging a state twice changes nothing) and nothing in between is skipped.

use anola_protocol::wire::{ChangeRecord, EntityKind};
use anola_protocol::{ErrorBody, ErrorCode};
use uuid::Uuid;

use super::authorize;
use crate::store::accounts::DeviceRecord;
use crate::store::{Store, StoreError};

/// Why a patient is not handed out.
pub enum Refused {
    Store(StoreError),
    Body(ErrorBody),
}

impl From<StoreError> for Refused {
    fn from(e: StoreError) -> Self {
        Refused::Store(e)
    }
}

/// The patient `id` for `device`, projected for its role: `not_found` when the server has no
/// such patient in the device's clinic (another clinic's patient is not revealed), `forbidden`
/// for a field worker's device and a patient not assigned to that field worker.
pub async fn patient<S: Store>(store: &S, device: &DeviceRecord, id: Uuid) -> Result<Vec<ChangeRecord>, Refused> {
    let not_here = || {
        Refused::Body(
            ErrorBody::new(
                ErrorCode::NotFound,
                format!("no patient {id} is registered in clinic {}", device.clinic_id),
            )
            .with_field("id"),
        )
    };
    let Some(head) = store.head(EntityKind::Patient, id).await? else {
        return Err(not_here());
    };
    if head.text("clinic_id") != Some(device.clinic_id.as_str()) {
        return Err(not_here());
    }
    if device.role.assigned_only() && head.text("field_worker_id") != device.field_worker_id.as_deref() {
        return Err(Refused::Body(
            ErrorBody::new(ErrorCode::Forbidden, "this patient is not assigned to this device's field worker").with_field("id"),
        ));
    }
    let record = ChangeRecord {
        entity: EntityKind::Patient,
        id,
        state: Some(head.state),
        doc: None,
    };
    Ok(authorize::pull_page(device, vec![record]))
}
