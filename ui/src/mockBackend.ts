// In-memory stand-in for the Tauri backend, used only when the UI runs in a plain browser
// (`npm run dev`). It follows the command contract closely enough for design work: validation
// errors, not_found, an outbox that a simulated sync drains, and `sync-status` events.
//
// URL switches (combine with commas): ?mock=empty (no patients), ?mock=offline, ?mock=rejected,
// ?mock=error (sync error), ?mock=storage (writes fail), ?mock=slow (800 ms per call).
// In the console: anolaMock.setOnline(false), anolaMock.setOnline(true).

import type { Backend } from './api';
import type { ApiError, Patient, PatientFieldName, PatientFields, SyncStatus } from './types';
import { validatePatientFields } from './validation';

interface Stored {
  patient: Patient;
  changedAt: number;
}

const DEMO: Omit<Patient, 'id' | 'pending'>[] = [
  {
    given_name: 'Amina',
    family_name: 'Okafor',
    middle_name: 'Grace',
    date_of_birth: '1988-04-12',
    gender: 'female',
    phone: '+234 803 555 0142',
    email: 'amina.okafor@example.org',
    national_id: 'NG-88041200',
    address: { street: '14 Market Road', city: 'Enugu', state: 'Enugu', country: 'Nigeria' },
    health_card_id: 'AH-2041-7731',
    emergency_contact: { name: 'Chidi Okafor', relationship: 'Husband', phone: '+234 803 555 0199' },
    blood_type: 'O+',
    allergies: [{ allergen: 'Penicillin', severity: 'severe', notes: 'Hives and swelling (2015)' }],
    chronic_conditions: [{ condition: 'Asthma', status: 'managed', diagnosed_date: '2001-06-01' }],
  },
  {
    given_name: 'Joseph',
    family_name: 'Mwangi',
    middle_name: null,
    date_of_birth: '1956-11-02',
    gender: 'male',
    phone: '0722 555 013',
    email: null,
    national_id: '23897411',
    address: { city: 'Nyeri', country: 'Kenya' },
    health_card_id: 'AH-1187-0042',
    emergency_contact: null,
    blood_type: 'A-',
    allergies: null,
    chronic_conditions: [
      { condition: 'Type 2 diabetes', status: 'active', diagnosed_date: '2012-03-15' },
      { condition: 'Hypertension', status: 'managed' },
    ],
  },
  {
    given_name: 'Fatima',
    family_name: 'Diallo',
    middle_name: null,
    date_of_birth: '2024-08-30',
    gender: 'female',
    phone: null,
    email: null,
    national_id: null,
    address: { street: 'Quartier Madina', city: 'Conakry', country: 'Guinea' },
    health_card_id: null,
    emergency_contact: { name: 'Mariama Diallo', relationship: 'Mother', phone: '+224 620 55 01 23' },
    blood_type: null,
    allergies: null,
    chronic_conditions: null,
  },
  {
    given_name: 'Thabo',
    family_name: 'Nkosi',
    middle_name: 'Sipho',
    date_of_birth: '1979-01-23',
    gender: 'male',
    phone: '+27 82 555 0187',
    email: 'thabo.nkosi@example.org',
    national_id: '7901235800081',
    address: null,
    health_card_id: 'AH-3310-5528',
    emergency_contact: null,
    blood_type: 'B+',
    allergies: [
      { allergen: 'Peanuts', severity: 'life-threatening' },
      { allergen: 'Latex', severity: 'mild' },
    ],
    chronic_conditions: null,
  },
  {
    given_name: 'Grace',
    family_name: 'Achieng',
    middle_name: null,
    date_of_birth: '1995-07-09',
    gender: 'female',
    phone: '0733 555 208',
    email: null,
    national_id: '30912277',
    address: { city: 'Kisumu', country: 'Kenya' },
    health_card_id: 'AH-5521-9004',
    emergency_contact: null,
    blood_type: 'AB+',
    allergies: null,
    chronic_conditions: [{ condition: 'HIV', status: 'managed', diagnosed_date: '2016-02-11' }],
  },
  {
    given_name: 'Samuel',
    family_name: 'Boateng',
    middle_name: 'Kwame',
    date_of_birth: '1942-12-17',
    gender: 'male',
    phone: '+233 24 555 0101',
    email: null,
    national_id: null,
    address: { street: 'Adum', city: 'Kumasi', country: 'Ghana' },
    health_card_id: null,
    emergency_contact: { name: 'Ama Boateng', relationship: 'Daughter', phone: '+233 24 555 0177' },
    blood_type: 'O-',
    allergies: [{ allergen: 'Sulfonamides', severity: 'moderate' }],
    chronic_conditions: [{ condition: 'Chronic kidney disease', status: 'active' }],
  },
];

function uuid(): string {
  if (typeof crypto !== 'undefined' && typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  return 'xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx'.replace(/[xy]/g, (c) => {
    const r = Math.floor(Math.random() * 16);
    return (c === 'x' ? r : (r & 0x3) | 0x8).toString(16);
  });
}

function fail(code: string, message: string, errors?: ApiError['errors']): never {
  const e: ApiError = { code, message, ...(errors ? { errors } : {}) };
  throw e;
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

const emptyPatient = (id: string): Patient => ({
  id,
  given_name: null,
  family_name: null,
  middle_name: null,
  date_of_birth: null,
  gender: null,
  phone: null,
  email: null,
  national_id: null,
  address: null,
  health_card_id: null,
  emergency_contact: null,
  blood_type: null,
  allergies: null,
  chronic_conditions: null,
  pending: false,
});

export function createMockBackend(search = ''): Backend {
  const flags = new Set((new URLSearchParams(search).get('mock') ?? '').split(',').filter(Boolean));
  const latency = flags.has('slow') ? 800 : 60;
  const patients = new Map<string, Stored>();
  const listeners = new Set<(s: SyncStatus) => void>();
  let syncTimer: ReturnType<typeof setTimeout> | null = null;

  const status: SyncStatus = {
    online: !flags.has('offline'),
    syncing: false,
    pending: 0,
    rejected: flags.has('rejected') ? 2 : 0,
    last_synced_at: new Date(Date.now() - 7 * 60_000).toISOString(),
    last_error: flags.has('error') ? 'sync server answered 503 Service Unavailable' : null,
    server_url: 'https://sync.example.org',
    device_id: 'browser-mock-device',
  };

  if (!flags.has('empty')) {
    const now = Date.now();
    DEMO.forEach((d, i) => {
      const id = uuid();
      patients.set(id, { patient: { ...emptyPatient(id), ...clone(d) }, changedAt: now - i * 3_600_000 });
    });
    // One patient with a change still waiting in the outbox.
    const first = [...patients.values()][1];
    first.patient.pending = true;
    status.pending = 1;
  }

  const emit = () => {
    const snapshot = { ...status };
    listeners.forEach((cb) => cb(snapshot));
  };

  const runSync = () => {
    if (status.syncing) return;
    status.syncing = true;
    emit();
    syncTimer = setTimeout(() => {
      status.syncing = false;
      if (status.online && !flags.has('error')) {
        status.pending = 0;
        patients.forEach((s) => (s.patient.pending = false));
        status.last_synced_at = new Date().toISOString();
        status.last_error = null;
      } else if (!status.online) {
        status.last_error = 'No connection to the sync server (network unreachable)';
      }
      emit();
    }, 1500);
  };

  // Background sync, as the real client does it.
  setInterval(() => {
    if (status.online && status.pending > 0) runSync();
  }, 20_000);

  const mock = {
    setOnline(online: boolean) {
      status.online = online;
      emit();
      if (online) runSync();
    },
    stopSync() {
      if (syncTimer) clearTimeout(syncTimer);
      status.syncing = false;
      emit();
    },
  };
  if (typeof window !== 'undefined') (window as unknown as { anolaMock: typeof mock }).anolaMock = mock;

  const matches = (p: Patient, q: string): boolean => {
    const terms = q.toLowerCase().split(/\s+/).filter(Boolean);
    const hay = [p.given_name, p.middle_name, p.family_name, p.national_id, p.health_card_id, p.phone, p.email]
      .filter(Boolean)
      .join(' ')
      .toLowerCase();
    const digits = (p.phone ?? '').replace(/\D/g, '');
    return terms.every((t) => hay.includes(t.replace(/,$/, '')) || (/^\+?\d[\d\s-]*$/.test(t) && digits.includes(t.replace(/\D/g, ''))));
  };

  const write = (id: string, fields: PatientFields, op: 'create' | 'update'): Patient => {
    const errors = validatePatientFields(fields, op);
    if (errors.length) fail('validation_failed', `${errors.length} field(s) failed validation`, errors);
    if (flags.has('storage')) fail('storage', 'database is locked (mock)');
    const stored = patients.get(id) ?? { patient: emptyPatient(id), changedAt: 0 };
    for (const [k, v] of Object.entries(fields) as [PatientFieldName, unknown][]) {
      if (v !== undefined) (stored.patient as unknown as Record<string, unknown>)[k] = clone(v);
    }
    stored.patient.pending = true;
    stored.changedAt = Date.now();
    patients.set(id, stored);
    status.pending += 1;
    emit();
    return clone(stored.patient);
  };

  const handlers: Record<string, (args: Record<string, unknown>) => unknown> = {
    list_patients: ({ query, limit }) => {
      const q = typeof query === 'string' ? query.trim() : '';
      const all = [...patients.values()];
      const found = q ? all.filter((s) => matches(s.patient, q)) : all;
      found.sort((a, b) =>
        q
          ? `${a.patient.family_name} ${a.patient.given_name}`.localeCompare(`${b.patient.family_name} ${b.patient.given_name}`)
          : b.changedAt - a.changedAt,
      );
      return found.slice(0, Number(limit) || 50).map((s) => clone(s.patient));
    },
    get_patient: ({ id }) => {
      const s = patients.get(String(id));
      if (!s) fail('not_found', `no patient with id ${String(id)}`);
      return clone(s.patient);
    },
    register_patient: ({ fields }) => write(uuid(), fields ?? {}, 'create'),
    update_patient: ({ id, fields }) => {
      if (!patients.has(String(id))) fail('not_found', `no patient with id ${String(id)}`);
      return write(String(id), fields ?? {}, 'update');
    },
    sync_status: () => ({ ...status }),
    sync_now: () => {
      runSync();
      return { ...status };
    },
  };

  return {
    invoke<T>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        setTimeout(() => {
          const h = handlers[cmd];
          if (!h) {
            reject(`command ${cmd} not found`);
            return;
          }
          try {
            resolve(h(args) as T);
          } catch (e) {
            reject(e);
          }
        }, latency);
      });
    },
    onSyncStatus(cb) {
      listeners.add(cb);
      return Promise.resolve(() => listeners.delete(cb));
    },
  };
}
