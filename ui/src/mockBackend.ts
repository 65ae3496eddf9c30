// In-memory stand-in for the Tauri backend, used only when the UI runs in a plain browser
// (`npm run dev`). It follows the command contract closely enough for design work: validation
// errors, not_found, an outbox that a simulated sync drains, and `sync-status` events.
//
// URL switches (combine with commas): ?mock=empty (no patients, appointments, records or notes),
// ?mock=offline, ?mock=rejected, ?mock=error (sync error), ?mock=storage (writes fail),
// ?mock=slow (800 ms per call), ?mock=noproviders (none synced yet), ?mock=syncing (a pull stuck at
// 120 / 480, for design work), ?mock=noconflicts.
// In the console: anolaMock.setOnline(false), anolaMock.setOnline(true), anolaMock.stopSync().
//
// Accounts (mockAuth.ts): the device starts enrolled with Dr Wanjiru Kamau (`clinician`) signed in.
// ?mock=unenrolled (first run), ?mock=revoked (wiped by the administrator), ?mock=signedout,
// ?mock=locked (PIN 1234; with `nopin`: password), ?mock=frontdesk / admin / fieldworker (who is
// signed in), ?mock=kiosk (a kiosk device), ?mock=autolock (locks after 30 s idle instead of 5 min),
// ?mock=noaudit (no access history). Console: anolaMock.lock(), .revoke(), .disable(),
// .signInAs('frontdesk'), .setRole('front_desk'). Data commands refuse with `locked`,
// `signed_out`, `device_revoked` and `forbidden` as the real ones do.
//
// A simulated sync also applies the server's slot rule: a pending booking that overlaps another
// appointment of the same provider becomes `conflict_needs_rescheduling` with a `slot_taken` note.

import type { Backend } from './api';
import { addDays, holdsSlot, parseTime, validateAppointmentFields } from './appointments';
import { createMockAuth } from './mockAuth';
import { createMockCards } from './mockCards';
import { validateRecordFields } from './records';
import type {
  ApiError,
  Appointment,
  AppointmentFields,
  ConflictNote,
  DeviceState,
  MedicalRecordVersion,
  Patient,
  PatientFieldName,
  PatientFields,
  Provider,
  RecordFields,
  RecordSync,
  RecordVersionView,
  SyncStatus,
} from './types';
import { todayIso, validatePatientFields } from './validation';

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
  clinic_id: CLINIC_ID,
  field_worker_id: null,
  deleted: null,
  merged_into: null,
  pending: false,
});

const CLINIC_ID = 'nyeri-town-clinic';
const HLC_NODE = 'browsermock';

/** An HLC string for `ms` (15-digit wall clock, 5-digit counter, node). */
function hlcAt(ms: number, counter = 0, node = HLC_NODE): string {
  return `${String(Math.max(0, Math.floor(ms))).padStart(15, '0')}-${String(counter).padStart(5, '0')}-${node}`;
}

const PROVIDERS: Omit<Provider, 'id'>[] = [
  {
    clinic_id: CLINIC_ID,
    title: 'Dr',
    given_name: 'Wanjiru',
    family_name: 'Kamau',
    specializations: ['General practice'],
    services: [{ name: 'Consultation', price_minor: 150000, currency: 'KES' }],
    weekly_availability: (['mon', 'tue', 'wed', 'thu', 'fri'] as const).map((day) => ({ day, start: '08:00', end: '16:00' })),
    vacations: [],
    consultation_modes: ['in_person', 'phone', 'video'],
    active: true,
  },
  {
    clinic_id: CLINIC_ID,
    title: 'Nurse',
    given_name: 'Fatuma',
    family_name: 'Hassan',
    specializations: ['Immunization', 'Maternal health'],
    services: [{ name: 'Vaccination', price_minor: 0, currency: 'KES' }],
    weekly_availability: (['mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const).map((day) => ({ day, start: '08:00', end: '13:00' })),
    vacations: [],
    consultation_modes: ['in_person', 'home_visit'],
    active: true,
  },
  {
    clinic_id: CLINIC_ID,
    title: 'Dr',
    given_name: 'Kwame',
    family_name: 'Mensah',
    specializations: ['Paediatrics'],
    services: [],
    weekly_availability: [
      { day: 'tue', start: '09:00', end: '17:00' },
      { day: 'thu', start: '09:00', end: '17:00' },
    ],
    vacations: [],
    consultation_modes: ['in_person'],
    active: true,
  },
  {
    clinic_id: CLINIC_ID,
    title: 'Dr',
    given_name: 'Peter',
    family_name: 'Omondi',
    specializations: ['General practice'],
    services: [],
    weekly_availability: [],
    vacations: [],
    consultation_modes: ['in_person'],
    active: false,
  },
];

const APPOINTMENT_KEYS = new Set([
  'patient_id',
  'provider_id',
  'clinic_id',
  'appointment_type',
  'mode',
  'reason',
  'symptoms',
  'urgency',
  'date',
  'start_time',
  'duration_minutes',
  'time_zone',
  'status',
  'cancellation',
  'rescheduling',
  'conflict',
  'deleted',
]);
const RECORD_KEYS = new Set([
  'record_id',
  'amends',
  'patient_id',
  'clinic_id',
  'appointment_id',
  'provider_id',
  'author',
  'consultation_notes',
  'vitals',
  'diagnoses',
  'plan',
  'orders',
  'prescriptions',
  'lab_results',
]);
const VITAL_KEYS = new Set([
  'systolic_mmhg',
  'diastolic_mmhg',
  'pulse_bpm',
  'temperature_dc',
  'respiratory_rate',
  'spo2_percent',
  'weight_g',
  'height_mm',
]);

/** What Tauri answers when serde refuses the arguments (a plain string, not an ApiError). */
function invalidArgs(cmd: string, why: string): never {
  throw `invalid args \`fields\` for command \`${cmd}\`: ${why}`;
}

/** The serde shape checks the Rust side does before validation (`deny_unknown_fields`, no null lists, integers). */
function checkRecordShape(cmd: string, f: unknown): RecordFields {
  if (typeof f !== 'object' || f === null) invalidArgs(cmd, 'expected a map');
  const o = f as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!RECORD_KEYS.has(k)) invalidArgs(cmd, `unknown field \`${k}\``);
  if (typeof o.patient_id !== 'string') invalidArgs(cmd, 'missing field `patient_id`');
  if (typeof o.author !== 'string') invalidArgs(cmd, 'missing field `author`');
  for (const k of ['diagnoses', 'orders', 'prescriptions', 'lab_results']) {
    if (k in o && !Array.isArray(o[k])) invalidArgs(cmd, `invalid type: expected a sequence for \`${k}\``);
  }
  if (o.vitals !== undefined && o.vitals !== null) {
    for (const [k, v] of Object.entries(o.vitals as Record<string, unknown>)) {
      if (!VITAL_KEYS.has(k)) invalidArgs(cmd, `unknown field \`${k}\``);
      if (v !== null && (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 4_294_967_295)) {
        invalidArgs(cmd, `invalid value for \`${k}\`: expected an unsigned integer`);
      }
    }
  }
  return o as unknown as RecordFields;
}

function checkAppointmentShape(cmd: string, f: unknown): AppointmentFields {
  if (typeof f !== 'object' || f === null) invalidArgs(cmd, 'expected a map');
  for (const k of Object.keys(f)) if (!APPOINTMENT_KEYS.has(k)) invalidArgs(cmd, `unknown field \`${k}\``);
  const fields: AppointmentFields = f;
  return fields;
}

interface StoredVersion {
  version: MedicalRecordVersion;
  sync: RecordSync;
}

const KIOSK_COMMANDS = new Set(['check_in', 'sync_status', 'sync_now', 'list_cameras', 'start_camera', 'stop_camera', 'read_card_image']);

/** Printed when the mock starts; the test command checks no shipped bundle contains it. */
export const MOCK_BANNER = 'Anola in-memory mock backend: development only';

export function createMockBackend(search = ''): Backend {
  console.info(MOCK_BANNER);
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
    clinic_id: CLINIC_ID,
    patients: 0,
    conflicts: 0,
    progress: flags.has('syncing') ? { done: 120, total: 480 } : null,
  };
  if (flags.has('syncing')) status.syncing = true;
  const providers: Provider[] = flags.has('noproviders') ? [] : PROVIDERS.map((p) => ({ ...clone(p), id: uuid() }));
  const appointments = new Map<string, Appointment>();
  const versions = new Map<string, StoredVersion>();
  const notes: ConflictNote[] = [];
  let hlcCounter = 0;
  const nextHlc = () => hlcAt(Date.now(), hlcCounter++ % 100000);
  const deviceListeners = new Set<(s: DeviceState) => void>();
  const auth = createMockAuth({
    flags,
    clinicId: CLINIC_ID,
    deviceId: status.device_id,
    online: () => status.online,
    emit: (s) => deviceListeners.forEach((cb) => cb(s)),
    uuid,
  });

  const cards = createMockCards({
    patient: (id) => {
      const s = patients.get(id);
      return s && !s.patient.deleted && !s.patient.merged_into ? s.patient : undefined;
    },
  });

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
    seedClinicalDemo();
    cards.seed([...patients.values()].map((s) => s.patient));
    auth.seedAudit([...patients.values()].map((s) => s.patient.id));
  }
  const countPatients = () => [...patients.values()].filter((s) => !s.patient.deleted && !s.patient.merged_into).length;
  status.patients = countPatients();
  status.conflicts = notes.length;

  function seedClinicalDemo() {
    const [amina, joseph, fatima, thabo, grace, samuel] = [...patients.values()].map((s) => s.patient);
    const [kamau, hassan, mensah] = providers;
    const today = todayIso();
    const day = (n: number) => addDays(today, n);
    const appt = (a: Partial<Appointment>): Appointment => {
      const full: Appointment = {
        id: uuid(),
        patient_id: null,
        provider_id: null,
        clinic_id: CLINIC_ID,
        appointment_type: null,
        mode: null,
        reason: null,
        symptoms: null,
        urgency: null,
        date: today,
        start_time: null,
        duration_minutes: 30,
        time_zone: 'Africa/Nairobi',
        status: 'scheduled',
        cancellation: null,
        rescheduling: null,
        conflict: null,
        deleted: null,
        pending: false,
        ...a,
      };
      appointments.set(full.id, full);
      return full;
    };
    if (kamau && hassan && mensah) {
      appt({ patient_id: samuel.id, provider_id: kamau.id, start_time: '08:00', status: 'completed', appointment_type: 'follow_up', mode: 'in_person', reason: 'Kidney function review' });
      appt({ patient_id: amina.id, provider_id: kamau.id, start_time: '08:30', status: 'confirmed', appointment_type: 'follow_up', mode: 'in_person', reason: 'Asthma review', urgency: 'low' });
      const kept = appt({ patient_id: joseph.id, provider_id: kamau.id, start_time: '09:00', status: 'checked_in', appointment_type: 'consultation', mode: 'in_person', reason: 'Blood sugar check', urgency: 'medium' });
      const lost = appt({
        patient_id: thabo.id,
        provider_id: kamau.id,
        start_time: '09:00',
        status: 'conflict_needs_rescheduling',
        appointment_type: 'consultation',
        mode: 'in_person',
        reason: 'Allergy follow-up',
        conflict: {
          reason: `the provider's time at ${today} 09:00 was already booked by another appointment; choose a new time`,
          held_by: kept.id,
        },
      });
      appt({ patient_id: fatima.id, provider_id: hassan.id, start_time: '10:00', duration_minutes: 15, status: 'scheduled', appointment_type: 'vaccination', mode: 'in_person', reason: 'Measles (MR1)', pending: true });
      appt({
        patient_id: grace.id,
        provider_id: mensah.id,
        start_time: '11:30',
        status: 'cancelled',
        appointment_type: 'routine_checkup',
        cancellation: { reason: 'Patient travelling', cancelled_by: 'patient', cancelled_at: new Date(Date.now() - 86_400_000).toISOString() },
      });
      appt({ patient_id: samuel.id, provider_id: hassan.id, start_time: '12:00', duration_minutes: 45, status: 'scheduled', appointment_type: 'procedure', mode: 'home_visit', reason: 'Dressing change', urgency: 'high' });
      appt({ patient_id: grace.id, provider_id: kamau.id, date: day(1), start_time: '09:30', appointment_type: 'follow_up', reason: 'Viral load results' });
      appt({ patient_id: amina.id, provider_id: mensah.id, date: day(7), start_time: '10:00', appointment_type: 'routine_checkup', rescheduling: { previous_date: day(2), previous_start_time: '14:00', reason: 'Provider away' } });
      appt({ patient_id: joseph.id, provider_id: kamau.id, date: day(-1), start_time: '15:00', status: 'no_show', appointment_type: 'follow_up' });
      appt({ patient_id: amina.id, provider_id: kamau.id, date: day(-30), start_time: '11:00', status: 'completed', appointment_type: 'consultation', reason: 'Wheezing' });
      notes.push({
        id: uuid(),
        entity: 'appointment',
        entity_id: lost.id,
        clinic_id: CLINIC_ID,
        detected_at: new Date(Date.now() - 40 * 60_000).toISOString(),
        kind: 'slot_taken',
        kept: kept.id,
        lost: lost.id,
        provider_id: kamau.id,
        date: today,
        start_time: '09:00',
      });
    }

    // Records: an amended asthma record for Amina, a concurrently amended one for Joseph.
    const now = Date.now();
    const put = (v: Omit<MedicalRecordVersion, 'clinic_id' | 'device_id'> & { device_id?: string }, sync: RecordSync = 'synced') => {
      versions.set(v.id, { version: { clinic_id: CLINIC_ID, device_id: 'reception-pc-1', ...v }, sync });
      return v.id;
    };
    const a1 = uuid();
    put({
      id: a1,
      record_id: a1,
      patient_id: amina.id,
      author: 'Dr Wanjiru Kamau',
      hlc: hlcAt(now - 30 * 86_400_000, 0, 'receptionpc1'),
      consultation_notes: 'Wheezing for 4 days, worse at night. No fever.',
      vitals: { systolic_mmhg: 118, diastolic_mmhg: 76, pulse_bpm: 92, temperature_dc: 368, respiratory_rate: 22, spo2_percent: 95, weight_g: 64200 },
      diagnoses: [{ code: 'J45.9', system: 'ICD-10', description: 'Asthma, unspecified' }],
      plan: 'Salbutamol inhaler as needed. Review in 4 weeks.',
      prescriptions: [{ medication: 'Salbutamol inhaler 100 mcg', dose: '2 puffs', route: 'inhaled', frequency: 'as needed', duration_days: 30 }],
    });
    put({
      id: uuid(),
      record_id: a1,
      amends: a1,
      patient_id: amina.id,
      author: 'Dr Wanjiru Kamau',
      hlc: hlcAt(now - 29 * 86_400_000, 0, 'receptionpc1'),
      consultation_notes: 'Wheezing for 4 days, worse at night. No fever. Uses a kerosene stove at home.',
      vitals: { systolic_mmhg: 118, diastolic_mmhg: 76, pulse_bpm: 92, temperature_dc: 368, respiratory_rate: 22, spo2_percent: 95, weight_g: 64200 },
      diagnoses: [{ code: 'J45.9', system: 'ICD-10', description: 'Asthma, unspecified' }],
      plan: 'Salbutamol inhaler as needed. Advise ventilation when cooking. Review in 4 weeks.',
      prescriptions: [{ medication: 'Salbutamol inhaler 100 mcg', dose: '2 puffs', route: 'inhaled', frequency: 'as needed', duration_days: 30 }],
      orders: [{ kind: 'lab', description: 'Full blood count' }],
    });
    const j1 = uuid();
    put({
      id: j1,
      record_id: j1,
      patient_id: joseph.id,
      author: 'Nurse Fatuma Hassan',
      hlc: hlcAt(now - 3 * 86_400_000, 0, 'triagetablet'),
      consultation_notes: 'Fasting glucose 9.8 mmol/L. Feet examined: no ulcers.',
      vitals: { systolic_mmhg: 148, diastolic_mmhg: 92, pulse_bpm: 78, weight_g: 88400, height_mm: 1720 },
      diagnoses: [
        { code: 'E11.9', system: 'ICD-10', description: 'Type 2 diabetes without complications' },
        { code: 'I10', system: 'ICD-10', description: 'Essential hypertension' },
      ],
      lab_results: [{ test: 'Fasting glucose', value: '9.8', unit: 'mmol/L', reference_range: '3.9–5.5' }],
    });
    const jx = put({
      id: uuid(),
      record_id: j1,
      amends: j1,
      patient_id: joseph.id,
      author: 'Dr Wanjiru Kamau',
      hlc: hlcAt(now - 2 * 86_400_000, 0, 'consultroom2'),
      device_id: 'consult-room-2',
      consultation_notes: 'Fasting glucose 9.8 mmol/L. Feet examined: no ulcers.',
      vitals: { systolic_mmhg: 148, diastolic_mmhg: 92, pulse_bpm: 78, weight_g: 88400, height_mm: 1720 },
      diagnoses: [
        { code: 'E11.9', system: 'ICD-10', description: 'Type 2 diabetes without complications' },
        { code: 'I10', system: 'ICD-10', description: 'Essential hypertension' },
      ],
      plan: 'Increase metformin to 1 g twice daily.',
      prescriptions: [{ medication: 'Metformin', dose: '1 g', route: 'oral', frequency: 'twice daily', duration_days: 90 }],
      lab_results: [{ test: 'Fasting glucose', value: '9.8', unit: 'mmol/L', reference_range: '3.9–5.5' }],
    });
    const jy = put({
      id: uuid(),
      record_id: j1,
      amends: j1,
      patient_id: joseph.id,
      author: 'Nurse Fatuma Hassan',
      hlc: hlcAt(now - 2 * 86_400_000 + 3_600_000, 0, 'triagetablet'),
      device_id: 'triage-tablet',
      consultation_notes: 'Fasting glucose 9.8 mmol/L. Feet examined: no ulcers. Reports missing doses.',
      vitals: { systolic_mmhg: 148, diastolic_mmhg: 92, pulse_bpm: 78, weight_g: 88400, height_mm: 1720 },
      diagnoses: [
        { code: 'E11.9', system: 'ICD-10', description: 'Type 2 diabetes without complications' },
        { code: 'I10', system: 'ICD-10', description: 'Essential hypertension' },
      ],
      plan: 'Adherence counselling; keep metformin 500 mg twice daily.',
      lab_results: [{ test: 'Fasting glucose', value: '9.8', unit: 'mmol/L', reference_range: '3.9–5.5' }],
    });
    const t1 = uuid();
    put(
      {
        id: t1,
        record_id: t1,
        patient_id: thabo.id,
        author: 'Dr Kwame Mensah',
        hlc: hlcAt(now - 20 * 60_000),
        device_id: 'browser-mock-device',
        consultation_notes: 'Itchy rash after eating at a wedding. No breathing difficulty.',
        vitals: { pulse_bpm: 88, temperature_dc: 369, spo2_percent: 98 },
        plan: 'Cetirizine 10 mg at night for 5 days. Carry adrenaline auto-injector.',
      },
      'pending',
    );
    status.pending += 1;

    // Conflict notes: a phone edited on two devices, a duplicate registration (since merged), the amendments.
    const dup: Patient = {
      ...emptyPatient(uuid()),
      given_name: 'Amina',
      family_name: 'Okafor',
      middle_name: null,
      date_of_birth: '1988-04-12',
      gender: 'female',
      national_id: 'NG-88041200',
      phone: '+234 803 555 0142',
      merged_into: amina.id,
    };
    patients.set(dup.id, { patient: dup, changedAt: now - 5 * 86_400_000 });
    notes.push(
      {
        id: uuid(),
        entity: 'patient',
        entity_id: joseph.id,
        clinic_id: CLINIC_ID,
        detected_at: new Date(now - 26 * 3_600_000).toISOString(),
        kind: 'field_overwritten',
        field: 'phone',
        kept_value: '0722 555 013',
        kept_hlc: hlcAt(now - 27 * 3_600_000, 0, 'triagetablet'),
        lost_value: '0711 555 013',
        lost_hlc: hlcAt(now - 27 * 3_600_000 - 60_000, 0, 'receptionpc1'),
      },
      {
        id: uuid(),
        entity: 'patient',
        entity_id: dup.id,
        clinic_id: CLINIC_ID,
        detected_at: new Date(now - 5 * 86_400_000).toISOString(),
        kind: 'possible_duplicate',
        patients: [amina.id, dup.id].sort(),
        reason: 'same national id',
      },
      {
        id: uuid(),
        entity: 'medical_record',
        entity_id: j1,
        clinic_id: CLINIC_ID,
        detected_at: new Date(now - 2 * 86_400_000 + 4_000_000).toISOString(),
        kind: 'concurrent_amendments',
        record_id: j1,
        amends: j1,
        versions: [jx, jy].sort(),
      },
    );
    if (flags.has('noconflicts')) notes.length = 0;
  }

  const emit = () => {
    const snapshot = { ...status };
    listeners.forEach((cb) => cb(snapshot));
  };

  /** The server's slot rule: two slot-holding appointments of one provider may not share a 15-minute block. */
  const blocks = (a: Appointment): string[] => {
    const start = a.start_time ? parseTime(a.start_time) : null;
    if (!a.provider_id || !a.date || start === null || !holdsSlot(a.status) || a.deleted) return [];
    const end = Math.min(start + Math.max(1, a.duration_minutes ?? 1), 24 * 60);
    const out: string[] = [];
    for (let m = start - (start % 15); m < end; m += 15) out.push(`${a.provider_id}:${a.date}:${m}`);
    return out;
  };

  const applySlotRule = () => {
    const held = new Map<string, string>();
    for (const a of appointments.values()) if (!a.pending) blocks(a).forEach((b) => held.set(b, a.id));
    for (const a of appointments.values()) {
      if (!a.pending) continue;
      const holder = blocks(a)
        .map((b) => held.get(b))
        .find((h) => h && h !== a.id);
      if (holder) {
        const reason = `the provider's time at ${a.date} ${a.start_time} was already booked by another appointment; choose a new time`;
        a.status = 'conflict_needs_rescheduling';
        a.conflict = { reason, held_by: holder };
        notes.push({
          id: uuid(),
          entity: 'appointment',
          entity_id: a.id,
          clinic_id: CLINIC_ID,
          detected_at: new Date().toISOString(),
          kind: 'slot_taken',
          kept: holder,
          lost: a.id,
          provider_id: a.provider_id ?? '',
          date: a.date ?? '',
          start_time: a.start_time ?? '',
        });
      } else {
        blocks(a).forEach((b) => held.set(b, a.id));
      }
    }
  };

  const runSync = () => {
    if (status.syncing) return;
    status.syncing = true;
    status.progress = { done: 0, total: 480 };
    emit();
    const step = () => {
      if (status.progress && status.progress.done < status.progress.total && status.online && !flags.has('error')) {
        status.progress = { ...status.progress, done: Math.min(status.progress.total, status.progress.done + 60) };
        emit();
        syncTimer = setTimeout(step, 150);
        return;
      }
      status.syncing = false;
      if (status.online && !flags.has('error')) {
        applySlotRule();
        status.pending = 0;
        status.progress = null;
        patients.forEach((s) => (s.patient.pending = false));
        appointments.forEach((a) => (a.pending = false));
        versions.forEach((v) => {
          if (v.sync === 'pending') v.sync = 'synced';
        });
        status.last_synced_at = new Date().toISOString();
        status.last_error = null;
        status.conflicts = notes.length;
      } else if (!status.online) {
        status.progress = null;
        status.last_error = 'No connection to the sync server (network unreachable)';
      }
      emit();
    };
    syncTimer = setTimeout(step, 300);
  };

  // Background sync, as the real client does it.
  setInterval(() => {
    if (status.online && status.pending > 0) runSync();
  }, 20_000);

  const mock = {
    ...auth.controls,
    setOnline(online: boolean) {
      status.online = online;
      emit();
      if (online) runSync();
    },
    /** Types `text` as a keyboard-wedge scanner would (fast keys, then Enter) where the focus is. */
    scan(text: string) {
      const target = document.activeElement ?? document.body;
      for (const key of [...text, 'Enter']) {
        target.dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true, cancelable: true }));
      }
    },
    /** The demo cards (valid, replaced, expired, forged, unknown patient): QR texts and fallback codes. */
    demoCards() {
      return cards.demo.map((c) => ({ ...c }));
    },
    stopSync() {
      if (syncTimer) clearTimeout(syncTimer);
      status.syncing = false;
      status.progress = null;
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

  const livePatient = (id: string): Stored | undefined => {
    const s = patients.get(id);
    return s && !s.patient.deleted && !s.patient.merged_into ? s : undefined;
  };

  const recordViews = (patientId: string): RecordVersionView[] => {
    const rows = [...versions.values()].filter((v) => v.version.patient_id === patientId);
    rows.sort((a, b) => (a.version.hlc < b.version.hlc ? -1 : a.version.hlc > b.version.hlc ? 1 : 0));
    return rows.map(({ version: v, sync }) => ({
      ...clone(v),
      sync,
      superseded: rows.some((o) => o.version.amends === v.id),
      concurrent_amendment: !!v.amends && rows.some((o) => o.version.id !== v.id && o.version.amends === v.amends),
    }));
  };

  const writeRecord = (fields: RecordFields, amends: string | null): MedicalRecordVersion => {
    const errors = validateRecordFields(fields);
    if (errors.length) fail('validation_failed', `${errors.length} field(s) failed validation`, errors);
    if (flags.has('storage')) fail('storage', 'database is locked (mock)');
    const id = uuid();
    let record_id = id;
    let patient_id = fields.patient_id;
    if (amends) {
      const target = versions.get(amends);
      if (!target) fail('not_found', `no record version ${amends} on this device`);
      record_id = target.version.record_id;
      patient_id = target.version.patient_id;
    }
    if (!patients.has(patient_id)) fail('not_found', 'no such patient on this device');
    const { record_id: _r, amends: _a, clinic_id: _c, ...rest } = fields as RecordFields & {
      record_id?: string;
      amends?: string;
      clinic_id?: string;
    };
    const version: MedicalRecordVersion = {
      ...clone(rest),
      id,
      record_id,
      ...(amends ? { amends } : {}),
      patient_id,
      clinic_id: CLINIC_ID,
      hlc: nextHlc(),
      device_id: status.device_id,
    };
    versions.set(id, { version, sync: 'pending' });
    status.pending += 1;
    auth.logWrite('medical_record', id, patient_id);
    emit();
    return clone(version);
  };

  const writeAppointment = (id: string, fields: AppointmentFields, op: 'create' | 'update'): Appointment => {
    const errors = validateAppointmentFields(fields, op);
    if (errors.length) fail('validation_failed', `${errors.length} field(s) failed validation`, errors);
    if (flags.has('storage')) fail('storage', 'database is locked (mock)');
    if (op === 'create' && !livePatient(String(fields.patient_id))) fail('not_found', 'no such patient on this device');
    const existing = appointments.get(id);
    if (op === 'update' && !existing) fail('not_found', `no appointment ${id} on this device`);
    const a: Appointment = existing ?? {
      id,
      patient_id: null,
      provider_id: null,
      clinic_id: CLINIC_ID,
      appointment_type: null,
      mode: null,
      reason: null,
      symptoms: null,
      urgency: null,
      date: null,
      start_time: null,
      duration_minutes: null,
      time_zone: null,
      status: null,
      cancellation: null,
      rescheduling: null,
      conflict: null,
      deleted: null,
      pending: false,
    };
    for (const [k, v] of Object.entries(fields)) {
      if (v !== undefined) (a as unknown as Record<string, unknown>)[k] = clone(v);
    }
    a.pending = true;
    appointments.set(id, a);
    status.pending += 1;
    auth.logWrite('appointment', id, a.patient_id);
    emit();
    return clone(a);
  };

  const write = (id: string, fields: PatientFields, op: 'create' | 'update'): Patient => {
    const errors = validatePatientFields(fields, op);
    if (errors.length) fail('validation_failed', `${errors.length} field(s) failed validation`, errors);
    if (flags.has('storage')) fail('storage', 'database is locked (mock)');
    const stored = (op === 'update' ? livePatient(id) : undefined) ?? { patient: emptyPatient(id), changedAt: 0 };
    for (const [k, v] of Object.entries(fields) as [PatientFieldName, unknown][]) {
      if (v !== undefined) (stored.patient as unknown as Record<string, unknown>)[k] = clone(v);
    }
    stored.patient.pending = true;
    stored.changedAt = Date.now();
    patients.set(id, stored);
    status.pending += 1;
    status.patients = countPatients();
    auth.logWrite('patient', id, id);
    emit();
    return auth.project('patient', clone(stored.patient));
  };

  const handlers: Record<string, (args: Record<string, unknown>) => unknown> = {
    list_patients: ({ query, limit }) => {
      const q = typeof query === 'string' ? query.trim() : '';
      const all = [...patients.values()].filter((s) => !s.patient.deleted && !s.patient.merged_into);
      const found = q ? all.filter((s) => matches(s.patient, q)) : all;
      found.sort((a, b) =>
        q
          ? `${a.patient.family_name} ${a.patient.given_name}`.localeCompare(`${b.patient.family_name} ${b.patient.given_name}`)
          : b.changedAt - a.changedAt,
      );
      return found.slice(0, Number(limit) || 50).map((s) => auth.project('patient', clone(s.patient)));
    },
    get_patient: ({ id }) => {
      const s = patients.get(String(id));
      if (!s) fail('not_found', `no patient with id ${String(id)}`);
      auth.logView('view_patient', s.patient.id);
      return auth.project('patient', clone(s.patient));
    },
    register_patient: ({ fields }) => {
      auth.checkWrite('patient', true, Object.keys(fields ?? {}));
      return write(uuid(), fields ?? {}, 'create');
    },
    update_patient: ({ id, fields }) => {
      if (!livePatient(String(id))) fail('not_found', `no patient ${String(id)} on this device`);
      auth.checkWrite('patient', false, Object.keys(fields ?? {}));
      return write(String(id), fields ?? {}, 'update');
    },
    delete_patient: ({ id }) => {
      const s = livePatient(String(id));
      if (!s) fail('not_found', `no patient ${String(id)} on this device`);
      auth.checkWrite('patient', true, []);
      if (flags.has('storage')) fail('storage', 'database is locked (mock)');
      s.patient.deleted = true;
      s.patient.pending = true;
      s.changedAt = Date.now();
      status.pending += 1;
      status.patients = countPatients();
      auth.logWrite('patient', s.patient.id, s.patient.id);
      emit();
      return auth.project('patient', clone(s.patient));
    },
    list_appointments: ({ date, patientId }) => {
      const d = typeof date === 'string' ? date : null;
      const p = typeof patientId === 'string' ? patientId : null;
      return [...appointments.values()]
        .filter((a) => !a.deleted && (d === null || a.date === d) && (p === null || a.patient_id === p))
        .sort((a, b) => `${a.date} ${a.start_time}`.localeCompare(`${b.date} ${b.start_time}`))
        .map((a) => auth.project('appointment', clone(a)));
    },
    book_appointment: ({ fields }) => {
      const f = checkAppointmentShape('book_appointment', fields ?? {});
      auth.checkWrite('appointment', true, Object.keys(f));
      return auth.project('appointment', writeAppointment(uuid(), f, 'create'));
    },
    update_appointment: ({ id, fields }) => {
      const f = checkAppointmentShape('update_appointment', fields ?? {});
      auth.checkWrite('appointment', false, Object.keys(f));
      return auth.project('appointment', writeAppointment(String(id), f, 'update'));
    },
    list_providers: () => {
      auth.checkRead('provider');
      return [...providers].sort((a, b) => a.family_name.localeCompare(b.family_name)).map(clone);
    },
    list_records: ({ patientId }) => {
      auth.checkRead('medical_record');
      auth.logView('view_record', String(patientId));
      return recordViews(String(patientId));
    },
    add_record: ({ fields }) => {
      const f = checkRecordShape('add_record', fields);
      auth.checkWrite('medical_record', true, []);
      return writeRecord(f, null);
    },
    amend_record: ({ amends, fields }) => {
      const f = checkRecordShape('amend_record', fields);
      auth.checkWrite('medical_record', true, []);
      return writeRecord(f, String(amends));
    },
    list_conflicts: ({ entityId }) => {
      auth.checkRead('conflict');
      const access = auth.access();
      const e = typeof entityId === 'string' ? entityId : null;
      return notes
        .filter((n) =>
          n.kind === 'field_overwritten'
            ? access.read(n.entity, n.field)
            : n.kind === 'concurrent_amendments'
              ? access.read('medical_record')
              : access.read(n.entity),
        )
        .filter((n) => e === null || n.entity_id === e)
        .sort((a, b) => b.detected_at.localeCompare(a.detected_at))
        .map(clone);
    },
    issue_card: ({ patientId }) => {
      auth.checkWrite('patient', false, ['health_card_id']);
      const s = livePatient(String(patientId));
      if (!s) fail('not_found', `no patient ${String(patientId)} on this device`);
      if (!status.online) fail('offline', 'issuing a card needs the sync server, which cannot be reached');
      const card = cards.issue(s.patient);
      s.patient.health_card_id = card.card_id;
      emit();
      return card;
    },
    verify_card: ({ text }) => {
      const { card, patient } = cards.verify(typeof text === 'string' ? text : '');
      auth.logView('view_patient', patient.id);
      return { card_id: card.card_id, patient: auth.project('patient', clone(patient)), expires_at: card.expires_at };
    },
    check_in: ({ text }) => {
      const { patient } = cards.verify(typeof text === 'string' ? text : '');
      if (flags.has('storage')) fail('storage', 'database is locked (mock)');
      const today = todayIso();
      const todays = [...appointments.values()]
        .filter((a) => !a.deleted && a.patient_id === patient.id && a.date === today)
        .sort((a, b) => (a.start_time ?? '').localeCompare(b.start_time ?? ''));
      const q = cards.queueNumber(today, patient.id);
      const already = todays.find((a) => a.status === 'checked_in');
      if (q.again && already) return cards.checkInResult(patient, q.number, already.id, already.reason === 'Walk-in');
      const booked = todays.find((a) => a.status === 'scheduled' || a.status === 'confirmed');
      let appt = booked;
      if (appt) {
        appt.status = 'checked_in';
        appt.pending = true;
      } else {
        const d = new Date();
        appt = {
          id: uuid(),
          patient_id: patient.id,
          provider_id: providers[0]?.id ?? null,
          clinic_id: CLINIC_ID,
          appointment_type: 'consultation',
          mode: 'in_person',
          reason: 'Walk-in',
          symptoms: null,
          urgency: null,
          date: today,
          start_time: `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`,
          duration_minutes: 15,
          time_zone: null,
          status: 'checked_in',
          cancellation: null,
          rescheduling: null,
          conflict: null,
          deleted: null,
          pending: true,
        };
        appointments.set(appt.id, appt);
      }
      status.pending += 1;
      auth.logWrite('appointment', appt.id, patient.id);
      emit();
      return cards.checkInResult(patient, q.number, appt.id, !booked);
    },
    // No camera in a browser demo; a "picture" is read as text (drop a text file holding a
    // card's QR text or fallback code to try the flow).
    list_cameras: () => [],
    start_camera: () => fail('camera_not_found', 'the browser demo has no camera'),
    stop_camera: () => null,
    read_card_image: (args) => {
      const bytes = args instanceof Uint8Array ? args : new Uint8Array();
      const text = new TextDecoder().decode(bytes).trim();
      if (!text.startsWith('shc:/') && !/^[0-9 -]{12,20}$/.test(text)) {
        const refusal: ApiError = { code: 'card_rejected', reason: 'no_code_found', message: 'no QR code was found in the picture' };
        throw refusal;
      }
      return text;
    },
    ...auth.handlers,
    sync_status: () => ({ ...status }),
    // The browser demo's server never refuses a write.
    rejected_writes: () => [],
    sync_now: () => {
      runSync();
      return { ...status };
    },
  };

  return {
    invoke<T>(cmd: string, args: Record<string, unknown> | Uint8Array = {}): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        setTimeout(() => {
          const h = handlers[cmd];
          if (!h) {
            reject(`command ${cmd} not found`);
            return;
          }
          try {
            // Data commands need an enrolled device, a signed-in user and an unlocked session.
            if (!(cmd in auth.handlers) && cmd !== 'sync_status') auth.guard();
            // A kiosk only checks patients in.
            if (auth.inKiosk() && !(cmd in auth.handlers) && !KIOSK_COMMANDS.has(cmd)) {
              const refusal: ApiError = { code: 'forbidden', message: 'in kiosk mode this device only checks patients in', field: cmd };
              throw refusal;
            }
            resolve(h(args as Record<string, unknown>) as T);
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
    onDeviceState(cb) {
      deviceListeners.add(cb);
      return Promise.resolve(() => deviceListeners.delete(cb));
    },
  };
}
