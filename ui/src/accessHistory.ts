// Wording of the access history (the device's audit trail, `local_access_history`).

import type { AuditEntry, DeviceState, EntityKind } from './types';

const ENTITY_LABELS: Record<EntityKind, string> = {
  patient: 'patient details',
  appointment: 'an appointment',
  medical_record: 'a medical record',
  provider: 'a provider',
  conflict: 'a conflict note',
  merge: 'a merge',
};

/** "Opened the patient's chart", "Changed an appointment", ... */
export function accessActionLabel(e: Pick<AuditEntry, 'action' | 'entity'>): string {
  switch (e.action) {
    case 'view_patient':
      return "Opened the patient's chart";
    case 'view_record':
      return 'Viewed medical records';
    case 'write':
      return e.entity ? `Changed ${ENTITY_LABELS[e.entity]}` : 'Saved a change';
    case 'sign_in':
      return 'Signed in';
    case 'sign_in_failed':
      return 'Failed sign-in';
    case 'unlock':
      return 'Unlocked';
    case 'unlock_failed':
      return 'Failed unlock';
    case 'lock':
      return 'Locked';
    default:
      return String(e.action);
  }
}

/** The staff member's name when this device knows them, else a short id. */
export function accessUserLabel(userId: string | null, state: Pick<DeviceState, 'user' | 'known_users'>): string {
  if (!userId) return 'Unknown user';
  if (state.user?.id === userId) return `${state.user.display_name} (you)`;
  const k = state.known_users.find((u) => u.user_id === userId);
  return k ? k.display_name : `User ${userId.slice(0, 8)}`;
}

/** "This device" for the device itself, else its id. */
export function accessDeviceLabel(deviceId: string, state: Pick<DeviceState, 'device'>): string {
  return state.device?.device_id === deviceId ? `This device (${state.device.name})` : deviceId;
}
