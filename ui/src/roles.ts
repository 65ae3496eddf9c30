// Who may read and write what, field by field: the matrix generated from
// crates/anola-protocol/src/access.rs (ui/src/generated/protocol.ts), never a hand-made copy. The
// backend enforces these rules; the UI uses them to hide what a role cannot use.

import {
  ACCESS,
  CLINICAL_APPOINTMENT_FIELDS,
  CLINICAL_PATIENT_FIELDS,
  KIOSK_APPOINTMENT_FIELDS,
  KIOSK_PATIENT_FIELDS,
} from './generated/protocol';
import type { DeviceState, EntityKind, PatientFields, Role } from './types';

export { CLINICAL_PATIENT_FIELDS, CLINICAL_APPOINTMENT_FIELDS, KIOSK_PATIENT_FIELDS, KIOSK_APPOINTMENT_FIELDS };

export const ROLE_LABELS: Record<Role, string> = {
  front_desk: 'Front desk',
  clinician: 'Clinician',
  field_worker: 'Field worker',
  clinic_admin: 'Clinic admin',
  kiosk: 'Kiosk',
};

/** "Front desk"; "No clinic role" for accounts without one. */
export function roleLabel(role: Role | null | undefined): string {
  return role ? ROLE_LABELS[role] : 'No clinic role';
}

/** Whether `role` may see `field` of `kind` (no field: the whole record, e.g. a medical record). */
export function mayRead(role: Role, kind: EntityKind, field?: string | null): boolean {
  const a = ACCESS[role][kind];
  if (field === null || field === undefined) return a.read;
  return a.exceptRead.includes(field) ? !a.otherRead : a.otherRead;
}

/**
 * Whether `role` may write `field` of `kind` (no field: creating or deleting the whole record).
 * Providers, conflicts and merges are written by the server only.
 */
export function mayWrite(role: Role, kind: EntityKind, field?: string | null): boolean {
  const a = ACCESS[role][kind];
  if (field === null || field === undefined) return a.write;
  return a.exceptWrite.includes(field) ? !a.otherWrite : a.otherWrite;
}

/**
 * The first part of a write that `role` may not make: `{ field: null }` for the record itself (a
 * create, a delete, a new medical record version), `{ field }` for a field; null when all is allowed.
 */
export function firstForbidden(
  role: Role,
  kind: EntityKind,
  wholeRecord: boolean,
  fields: Iterable<string>,
): { field: string | null } | null {
  if (wholeRecord && !mayWrite(role, kind, null)) return { field: null };
  for (const f of fields) if (!mayWrite(role, kind, f)) return { field: f };
  return null;
}

/**
 * What the signed-in person may do on this device: the device's enrolment role is a ceiling, the
 * user's own role limits further, so a right holds only when every role in `roles` grants it.
 */
export interface Access {
  /** The device ceiling and the user's role (either may be missing). */
  roles: Role[];
  /** The role shown to the user and named in refusals (null: the account has no clinic role). */
  role: Role | null;
  label: string;
  read: (kind: EntityKind, field?: string | null) => boolean;
  write: (kind: EntityKind, field?: string | null) => boolean;
  /** Medical records: the Records tab, writing and amending. */
  records: boolean;
  /** Blood type, allergies, chronic conditions (view and form). */
  clinicalPatientFields: boolean;
  /** The patient page's "Access history" tab (`local_access_history`). */
  accessHistory: boolean;
  /** The device is a self check-in kiosk. */
  kiosk: boolean;
  /** Takes payments: the patient page's Wallet tab and the cash drawer (front desk, field
   *  workers, administrators — the server's `cashier` rule). */
  money: boolean;
  /** The patient page's Sponsorship tab: the sponsorships and pre-approvals (every staff role). */
  sponsorship: boolean;
  /** Asks sponsors for pre-approvals (clinicians and administrators: they plan the care). */
  preApprove: boolean;
}

export function accessFor(deviceRole: Role | null, userRole: Role | null, platformAdmin = false): Access {
  // A platform administrator without a clinic role acts as a clinic administrator (the server
  // lets them act in every clinic).
  const own: Role | null = userRole ?? (platformAdmin ? 'clinic_admin' : null);
  const roles = [deviceRole, own].filter((r): r is Role => r !== null);
  const none = roles.length === 0 || own === null;
  const read = (kind: EntityKind, field?: string | null) => !none && roles.every((r) => mayRead(r, kind, field));
  const write = (kind: EntityKind, field?: string | null) => !none && roles.every((r) => mayWrite(r, kind, field));
  const kiosk = deviceRole === 'kiosk' || own === 'kiosk';
  const role: Role | null = kiosk ? 'kiosk' : own;
  return {
    roles,
    role,
    label: roleLabel(role),
    read,
    write,
    records: read('medical_record'),
    clinicalPatientFields: CLINICAL_PATIENT_FIELDS.every((f) => read('patient', f)),
    accessHistory: !kiosk && own === 'clinic_admin',
    kiosk,
    money: !kiosk && (own === 'front_desk' || own === 'field_worker' || own === 'clinic_admin'),
    sponsorship: !kiosk && !none,
    preApprove: !kiosk && (own === 'clinician' || own === 'clinic_admin'),
  };
}

/** The access of whoever is signed in on the device `state` describes. */
export function accessOf(state: Pick<DeviceState, 'device' | 'user' | 'role'>): Access {
  // The backend's effective role, when it sends one, already respects the device ceiling.
  const own = state.role !== undefined && state.user ? state.role : (state.user?.role ?? null);
  return accessFor(state.device?.role ?? null, own, state.user?.platform_admin ?? false);
}

/** `fields` without the ones `access` may not write (so a hidden field is never sent by accident). */
export function writablePatientFields(access: Access, fields: PatientFields): PatientFields {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) if (access.write('patient', k)) out[k] = v;
  return out;
}

/** The patient page's tabs a role may use: Records needs medical-record access, Access history is for clinic admins. */
export function detailTabsFor(
  access: Pick<Access, 'records' | 'accessHistory'> & { money?: boolean; sponsorship?: boolean },
): ('details' | 'appointments' | 'records' | 'wallet' | 'access' | 'sponsorship')[] {
  return [
    'details',
    'appointments',
    ...(access.records ? (['records'] as const) : []),
    ...(access.accessHistory ? (['access'] as const) : []),
    ...(access.money ? (['wallet'] as const) : []),
    ...(access.sponsorship ? (['sponsorship'] as const) : []),
  ];
}

const FIELD_WHAT: Record<string, string> = {
  blood_type: 'see or change blood types',
  allergies: 'see or change allergies',
  chronic_conditions: 'see or change chronic conditions',
  symptoms: 'see or change appointment symptoms',
  medical_record: 'see or write medical records',
  access_history: "see a patient's access history",
  role: 'use a clinic device without a clinic role',
  patient: 'register or delete patients',
  appointment: 'book or change appointments',
  status: 'change appointment status',
};

/** "Your role (Front desk) cannot see or change allergies." for a `forbidden` refusal. */
export function forbiddenMessage(role: Role | null, field: string | null | undefined, detail?: string): string {
  const label = roleLabel(role);
  const what = field ? (FIELD_WHAT[field] ?? `change “${field.replace(/_/g, ' ')}”`) : null;
  if (what) return `Your role (${label}) cannot ${what}.`;
  const d = (detail ?? '').trim().replace(/\.$/, '');
  return d ? `Your role (${label}) cannot do this: ${d}.` : `Your role (${label}) cannot do this.`;
}
