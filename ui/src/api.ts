// The one place the clinic app talks to its backend. Inside Tauri it calls the Rust commands; in a
// plain browser during development (`npm run dev`) it falls back to the in-memory mock in
// mockBackend.ts, which production builds leave out entirely.

import { SESSION_ERROR_CODES } from './auth';
import type { CameraEvent, CameraInfo } from './camera';
import { forbiddenMessage } from './roles';
import type {
  ApiError,
  Appointment,
  CardCheck,
  CheckIn,
  PrintableCard,
  AppointmentFields,
  AuditEntry,
  ConflictNote,
  DeviceState,
  MedicalRecordVersion,
  Patient,
  PatientFields,
  Provider,
  RecordFields,
  RecordVersionView,
  RejectedWrite,
  Role,
  SyncStatus,
} from './types';

export interface Backend {
  /** `args` is a JSON object, or raw bytes for commands that read a request body (pictures). */
  invoke<T>(cmd: string, args?: Record<string, unknown> | Uint8Array): Promise<T>;
  /** Subscribes to `sync-status` events; resolves to an unsubscribe function. */
  onSyncStatus(cb: (s: SyncStatus) => void): Promise<() => void>;
  /** Subscribes to `device-state` events (auto-lock, remote wipe, account disabled…). */
  onDeviceState(cb: (s: DeviceState) => void): Promise<() => void>;
  /** Subscribes to `camera` events (previews, reads, the end of a session). */
  onCamera?(cb: (e: CameraEvent) => void): Promise<() => void>;
}

/** True inside the Tauri webview. */
export function isTauri(): boolean {
  return typeof window !== 'undefined' && '__TAURI_INTERNALS__' in window;
}

async function tauriBackend(): Promise<Backend> {
  const [{ invoke }, { listen }] = await Promise.all([import('@tauri-apps/api/core'), import('@tauri-apps/api/event')]);
  return {
    invoke: <T>(cmd: string, args?: Record<string, unknown> | Uint8Array) => invoke<T>(cmd, args),
    onSyncStatus: (cb) => listen<SyncStatus>('sync-status', (e) => cb(e.payload)),
    onDeviceState: (cb) => listen<DeviceState>('device-state', (e) => cb(e.payload)),
    onCamera: (cb) => listen<CameraEvent>('camera', (e) => cb(e.payload)),
  };
}

let backendPromise: Promise<Backend> | null = null;

function backend(): Promise<Backend> {
  // The mock is for design work with `npm run dev` only: a production build replaces
  // `import.meta.env.DEV` with `false`, so the mock is in no shipped bundle (app or portal).
  backendPromise ??= isTauri()
    ? tauriBackend()
    : import.meta.env.DEV
      ? import('./mockBackend').then((m) => m.createMockBackend(typeof window !== 'undefined' ? window.location.search : ''))
      : Promise.reject(new Error('the clinic app runs inside its desktop window; in a browser, use the web portal at /portal/'));
  return backendPromise;
}

/** Replaces the backend (tests). */
export function setBackendForTesting(b: Backend | null): void {
  backendPromise = b ? Promise.resolve(b) : null;
}

export { isApiError, toApiError } from './errors';
import { toApiError } from './errors';

const sessionListeners = new Set<(e: ApiError) => void>();

/**
 * Calls `cb` whenever any command is refused because the session is gone or paused (`locked`,
 * `signed_out`, `device_revoked`): the gate then re-reads `device_state` and shows the right screen.
 */
export function onSessionError(cb: (e: ApiError) => void): () => void {
  sessionListeners.add(cb);
  return () => sessionListeners.delete(cb);
}

async function call<T>(cmd: string, args?: Record<string, unknown> | Uint8Array): Promise<T> {
  const b = await backend();
  try {
    return await b.invoke<T>(cmd, args);
  } catch (e) {
    const err = toApiError(e);
    if (SESSION_ERROR_CODES.includes(err.code)) sessionListeners.forEach((cb) => cb(err));
    throw err;
  }
}

/** `totp` only when given (the backend's `Option`). */
const withTotp = (totp: string | undefined) => (totp ? { totp } : {});

export const api = {
  listPatients: (query: string, limit: number) => call<Patient[]>('list_patients', { query, limit }),
  getPatient: (id: string) => call<Patient>('get_patient', { id }),
  registerPatient: (fields: PatientFields) => call<Patient>('register_patient', { fields }),
  updatePatient: (id: string, fields: PatientFields) => call<Patient>('update_patient', { id, fields }),
  deletePatient: (id: string) => call<Patient>('delete_patient', { id }),
  /** A day's appointments (`date`), a patient's (`patientId`), or both filters; time order, cancelled ones included. */
  listAppointments: (filter: { date?: string; patientId?: string }) =>
    call<Appointment[]>('list_appointments', {
      ...(filter.date !== undefined ? { date: filter.date } : {}),
      ...(filter.patientId !== undefined ? { patientId: filter.patientId } : {}),
    }),
  bookAppointment: (fields: AppointmentFields) => call<Appointment>('book_appointment', { fields }),
  updateAppointment: (id: string, fields: AppointmentFields) => call<Appointment>('update_appointment', { id, fields }),
  listProviders: () => call<Provider[]>('list_providers'),
  listRecords: (patientId: string) => call<RecordVersionView[]>('list_records', { patientId }),
  addRecord: (fields: RecordFields) => call<MedicalRecordVersion>('add_record', { fields }),
  /** `amends` is the version id being amended; the old version stays. */
  amendRecord: (amends: string, fields: RecordFields) => call<MedicalRecordVersion>('amend_record', { amends, fields }),
  listConflicts: (entityId?: string) =>
    call<ConflictNote[]>('list_conflicts', entityId !== undefined ? { entityId } : {}),
  syncStatus: () => call<SyncStatus>('sync_status'),
  rejectedWrites: () => call<RejectedWrite[]>('rejected_writes'),
  syncNow: () => call<SyncStatus>('sync_now'),
  onSyncStatus: async (cb: (s: SyncStatus) => void) => (await backend()).onSyncStatus(cb),

  // Accounts, device and session.
  deviceState: () => call<DeviceState>('device_state'),
  enrolDevice: (a: { code: string; deviceName: string; username: string; password: string; totp?: string }) =>
    call<DeviceState>('enrol_device', {
      code: a.code,
      deviceName: a.deviceName,
      username: a.username,
      password: a.password,
      ...withTotp(a.totp),
    }),
  signIn: (a: { username: string; password: string; totp?: string }) =>
    call<DeviceState>('sign_in', { username: a.username, password: a.password, ...withTotp(a.totp) }),
  setPin: (pin: string) => call<DeviceState>('set_pin', { pin }),
  unlockWithPin: (pin: string) => call<DeviceState>('unlock_with_pin', { pin }),
  lock: () => call<DeviceState>('lock'),
  signOut: () => call<DeviceState>('sign_out'),
  /** Activity ping (the backend's inactivity timer); callers throttle it. */
  touch: () => call<null>('touch'),
  /** Who opened or changed a patient's data on this device (clinic admin only). */
  localAccessHistory: (patientId: string) => call<AuditEntry[]>('local_access_history', { patientId }),
  onDeviceState: async (cb: (s: DeviceState) => void) => (await backend()).onDeviceState(cb),

  // Health cards, check-in and kiosk mode.
  /** A new card for the patient (online only); earlier cards are replaced and revoked. */
  issueCard: (patientId: string) => call<PrintableCard>('issue_card', { patientId }),
  /** A scanned QR text (`shc:/…`) or fallback code → the card and its patient, or `card_rejected`. */
  verifyCard: (text: string) => call<CardCheck>('verify_card', { text }),
  /** Marks today's appointment arrived or creates a walk-in; works offline. */
  checkIn: (text: string) => call<CheckIn>('check_in', { text }),
  /** The card text in a picture (PNG/JPEG bytes); `card_rejected` with `no_code_found` etc. */
  readCardImage: (bytes: Uint8Array) => call<string>('read_card_image', bytes),
  listCameras: () => call<CameraInfo[]>('list_cameras'),
  /** Starts a camera scan; what it sees arrives through `onCamera`. */
  startCamera: (id: string) => call<CameraInfo>('start_camera', { id }),
  stopCamera: () => call<null>('stop_camera'),
  onCamera: async (cb: (e: CameraEvent) => void) => {
    const b = await backend();
    return b.onCamera ? b.onCamera(cb) : () => undefined;
  },
  /** Refused with `pin_required` when the signed-in user has no PIN on this device. */
  enterKiosk: () => call<DeviceState>('enter_kiosk'),
  leaveKiosk: (pin: string) => call<DeviceState>('leave_kiosk', { pin }),
  /** The money commands (money.ts types them). */
  money: <T>(cmd: string, args?: Record<string, unknown>) => call<T>(cmd, args),
};

let currentRole: Role | null = null;

/** The signed-in role, for naming it in `forbidden` refusals (set by the gate). */
export function setCurrentRole(role: Role | null): void {
  currentRole = role;
}

/** A short sentence for an error banner. */
export function describeError(e: ApiError): string {
  switch (e.code) {
    case 'not_found':
      return `Not found: ${e.message}`;
    case 'storage':
      return `This device's storage could not be read or written: ${e.message}`;
    case 'validation_failed':
      return `Some fields need attention: ${e.message}`;
    case 'offline':
      return `The sync server could not be reached: ${e.message}`;
    case 'internal':
      return `Something went wrong: ${e.message}`;
    case 'forbidden':
      return forbiddenMessage(currentRole, e.field, e.message);
    case 'locked':
      return 'The app is locked. Unlock it to continue.';
    case 'signed_out':
      return 'You were signed out. Sign in to continue.';
    case 'device_revoked':
      return 'This device was revoked by the clinic administrator.';
    case 'money_refused':
      return e.message;
    default:
      return e.message;
  }
}
