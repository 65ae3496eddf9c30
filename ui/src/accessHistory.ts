// Wording of the access history (the device's audit trail, `local_access_history`).

import type { AuditEntry, DeviceState, EntityKind } from './types';

const ENTITY_LABELS: Record<EntityKind, string> = {
  patient: 'patient details',
  appointment: 'an appointment',
  medical_record: 'a medical record',
  provider: 'a provider',
  conflict: 'a conflict note',
  merge: 'a merge',
  staff: 'a staff account',
  card: 'a health card',
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

/** Entries shown as one row: the same person doing the same thing on the same device, close together. */
export interface AccessGroup {
  /** The newest entry of the group. */
  entry: AuditEntry;
  count: number;
  /** RFC 3339 of the oldest entry in the group. */
  first: string;
}

/**
 * Newest first, with repeats folded: a chart re-read on every refresh would otherwise fill the list.
 * Entries fold into the row above when user, action, entity and device match and the gap to the
 * previous entry of the row is at most `windowMs`.
 */
export function groupAccessEntries(entries: readonly AuditEntry[], windowMs = 10 * 60_000): AccessGroup[] {
  const sorted = [...entries].sort((a, b) => b.at.localeCompare(a.at));
  const out: AccessGroup[] = [];
  for (const e of sorted) {
    const last = out[out.length - 1];
    const same =
      last &&
      last.entry.user_id === e.user_id &&
      last.entry.action === e.action &&
      last.entry.entity === e.entity &&
      last.entry.device_id === e.device_id;
    const gap = last ? Date.parse(last.first) - Date.parse(e.at) : Infinity;
    if (same && gap >= 0 && gap <= windowMs) {
      last.count += 1;
      last.first = e.at;
    } else {
      out.push({ entry: e, count: 1, first: e.at });
    }
  }
  return out;
}
