// The one place the UI talks to the backend. Inside Tauri it calls the Rust commands; in a plain
// browser (`npm run dev` for design work) it falls back to the in-memory mock in mockBackend.ts,
// which is loaded lazily so it never runs inside the app.

import type {
  ApiError,
  Appointment,
  AppointmentFields,
  ConflictNote,
  FieldError,
  MedicalRecordVersion,
  Patient,
  PatientFields,
  Provider,
  RecordFields,
  RecordVersionView,
  SyncStatus,
} from './types';

export interface Backend {
  invoke<T>(cmd: string, args?: Record<string, unknown>): Promise<T>;
  /** Subscribes to `sync-status` events; resolves to an unsubscribe function. */
  onSyncStatus(cb: (s: SyncStatus) => void): Promise<() => void>;
}

/** True inside the Tauri webview. */
export function isTauri(): boolean {
  return typeof window !== 'undefined' && '__TAURI_INTERNALS__' in window;
}

async function tauriBackend(): Promise<Backend> {
  const [{ invoke }, { listen }] = await Promise.all([import('@tauri-apps/api/core'), import('@tauri-apps/api/event')]);
  return {
    invoke: <T>(cmd: string, args?: Record<string, unknown>) => invoke<T>(cmd, args),
    onSyncStatus: (cb) => listen<SyncStatus>('sync-status', (e) => cb(e.payload)),
  };
}

let backendPromise: Promise<Backend> | null = null;

function backend(): Promise<Backend> {
  backendPromise ??= isTauri()
    ? tauriBackend()
    : import('./mockBackend').then((m) => m.createMockBackend(typeof window !== 'undefined' ? window.location.search : ''));
  return backendPromise;
}

/** Replaces the backend (tests). */
export function setBackendForTesting(b: Backend | null): void {
  backendPromise = b ? Promise.resolve(b) : null;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

/** Turns whatever a rejected `invoke` carried into an `ApiError`. */
export function toApiError(e: unknown): ApiError {
  if (isRecord(e) && typeof e.code === 'string') {
    const errors = Array.isArray(e.errors)
      ? e.errors.filter(
          (x): x is FieldError => isRecord(x) && typeof x.field === 'string' && typeof x.message === 'string',
        )
      : undefined;
    return {
      code: e.code,
      message: typeof e.message === 'string' && e.message ? e.message : e.code,
      ...(errors ? { errors } : {}),
    };
  }
  if (typeof e === 'string') {
    // A string error: a command missing from the backend, or an error not serialized as an object.
    return { code: 'internal', message: e };
  }
  if (e instanceof Error) return { code: 'internal', message: e.message };
  return { code: 'internal', message: 'Unknown error' };
}

export function isApiError(e: unknown): e is ApiError {
  return isRecord(e) && typeof e.code === 'string' && typeof e.message === 'string';
}

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  const b = await backend();
  try {
    return await b.invoke<T>(cmd, args);
  } catch (e) {
    throw toApiError(e);
  }
}

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
  syncNow: () => call<SyncStatus>('sync_now'),
  onSyncStatus: async (cb: (s: SyncStatus) => void) => (await backend()).onSyncStatus(cb),
};

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
    default:
      return e.message;
  }
}
