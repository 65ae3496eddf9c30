// The patient form's state, and its translation to and from the backend's `PatientFields`.

import type {
  Address,
  Allergy,
  AllergySeverity,
  BloodType,
  ChronicCondition,
  ConditionStatus,
  EmergencyContact,
  FieldError,
  Gender,
  Patient,
  PatientFieldName,
  PatientFields,
} from './types';
import { PATIENT_FIELD_NAMES } from './types';
import { validatePatientFields, type PatientOp } from './validation';

export interface AllergyRow {
  key: string;
  allergen: string;
  severity: AllergySeverity | '';
  notes: string;
}

export interface ConditionRow {
  key: string;
  condition: string;
  status: ConditionStatus | '';
  diagnosed_date: string;
}

export interface FormValues {
  given_name: string;
  middle_name: string;
  family_name: string;
  date_of_birth: string;
  gender: Gender | '';
  phone: string;
  email: string;
  national_id: string;
  health_card_id: string;
  address: Required<{ [K in keyof Address]: string }>;
  emergency_contact: Required<{ [K in keyof EmergencyContact]: string }>;
  blood_type: BloodType | '';
  allergies: AllergyRow[];
  chronic_conditions: ConditionRow[];
}

export type SimpleFieldName = Exclude<
  keyof FormValues,
  'address' | 'emergency_contact' | 'allergies' | 'chronic_conditions'
>;

let rowCounter = 0;
/** A stable React key for a list row. */
export function newRowKey(): string {
  rowCounter += 1;
  return `row-${rowCounter}`;
}

export function emptyAllergy(): AllergyRow {
  return { key: newRowKey(), allergen: '', severity: '', notes: '' };
}

export function emptyCondition(): ConditionRow {
  return { key: newRowKey(), condition: '', status: '', diagnosed_date: '' };
}

export function emptyForm(): FormValues {
  return {
    given_name: '',
    middle_name: '',
    family_name: '',
    date_of_birth: '',
    gender: '',
    phone: '',
    email: '',
    national_id: '',
    health_card_id: '',
    address: { street: '', city: '', state: '', country: '', zip_code: '' },
    emergency_contact: { name: '', relationship: '', phone: '' },
    blood_type: '',
    allergies: [],
    chronic_conditions: [],
  };
}

export function patientToForm(p: Patient): FormValues {
  const s = (v: string | null | undefined) => v ?? '';
  return {
    given_name: s(p.given_name),
    middle_name: s(p.middle_name),
    family_name: s(p.family_name),
    date_of_birth: s(p.date_of_birth),
    gender: p.gender ?? '',
    phone: s(p.phone),
    email: s(p.email),
    national_id: s(p.national_id),
    health_card_id: s(p.health_card_id),
    address: {
      street: s(p.address?.street),
      city: s(p.address?.city),
      state: s(p.address?.state),
      country: s(p.address?.country),
      zip_code: s(p.address?.zip_code),
    },
    emergency_contact: {
      name: s(p.emergency_contact?.name),
      relationship: s(p.emergency_contact?.relationship),
      phone: s(p.emergency_contact?.phone),
    },
    blood_type: p.blood_type ?? '',
    allergies: (p.allergies ?? []).map((a) => ({
      key: newRowKey(),
      allergen: s(a.allergen),
      severity: a.severity ?? '',
      notes: s(a.notes),
    })),
    chronic_conditions: (p.chronic_conditions ?? []).map((c) => ({
      key: newRowKey(),
      condition: s(c.condition),
      status: c.status ?? '',
      diagnosed_date: s(c.diagnosed_date),
    })),
  };
}

/** Normalizes `19880412` to `1988-04-12`; anything else is returned trimmed. */
export function normalizeDateInput(v: string): string {
  const t = v.trim();
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(t);
  return m ? `${m[1]}-${m[2]}-${m[3]}` : t;
}

/** Every field with a value for it: trimmed text, `null` for empty. */
export interface BuiltFields {
  fields: Required<PatientFields>;
  /** `allergies[i]` in `fields` is form row `allergyRows[i]` (blank rows are dropped). */
  allergyRows: number[];
  conditionRows: number[];
}

function compact<T extends object>(o: T): T | null {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v !== undefined && v !== '') out[k] = v;
  }
  return Object.keys(out).length ? (out as T) : null;
}

export function buildFields(v: FormValues): BuiltFields {
  const t = (s: string): string | null => {
    const x = s.trim();
    return x === '' ? null : x;
  };
  const opt = (s: string): string | undefined => t(s) ?? undefined;

  const allergyRows: number[] = [];
  const allergies: Allergy[] = [];
  v.allergies.forEach((row, i) => {
    if (!row.allergen.trim() && !row.severity && !row.notes.trim()) return;
    allergyRows.push(i);
    const a: Allergy = { allergen: row.allergen.trim() };
    if (row.severity) a.severity = row.severity;
    if (opt(row.notes)) a.notes = opt(row.notes);
    allergies.push(a);
  });

  const conditionRows: number[] = [];
  const conditions: ChronicCondition[] = [];
  v.chronic_conditions.forEach((row, i) => {
    if (!row.condition.trim() && !row.status && !row.diagnosed_date.trim()) return;
    conditionRows.push(i);
    const c: ChronicCondition = { condition: row.condition.trim() };
    if (row.status) c.status = row.status;
    const d = opt(normalizeDateInput(row.diagnosed_date));
    if (d) c.diagnosed_date = d;
    conditions.push(c);
  });

  const dob = t(normalizeDateInput(v.date_of_birth));
  return {
    fields: {
      given_name: t(v.given_name),
      family_name: t(v.family_name),
      middle_name: t(v.middle_name),
      date_of_birth: dob,
      gender: v.gender || null,
      phone: t(v.phone),
      email: t(v.email),
      national_id: t(v.national_id),
      address: compact<Address>({
        street: opt(v.address.street),
        city: opt(v.address.city),
        state: opt(v.address.state),
        country: opt(v.address.country),
        zip_code: opt(v.address.zip_code),
      }),
      health_card_id: t(v.health_card_id),
      emergency_contact: compact<EmergencyContact>({
        name: opt(v.emergency_contact.name),
        relationship: opt(v.emergency_contact.relationship),
        phone: opt(v.emergency_contact.phone),
      }),
      blood_type: v.blood_type || null,
      allergies: allergies.length ? allergies : null,
      chronic_conditions: conditions.length ? conditions : null,
    },
    allergyRows,
    conditionRows,
  };
}

/** Fields for `register_patient`: empty fields are left out. */
export function registrationFields(built: BuiltFields): PatientFields {
  const out: Record<string, unknown> = {};
  for (const name of PATIENT_FIELD_NAMES) {
    const value = built.fields[name];
    if (value !== null) out[name] = value;
  }
  return out;
}

/** Deep equality for JSON-like values, ignoring key order. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ao), ...Object.keys(bo)]);
  for (const k of keys) {
    if (!jsonEqual(ao[k] ?? null, bo[k] ?? null)) return false;
  }
  return true;
}

/**
 * Fields for `update_patient`: only those that differ from the stored patient. A field emptied in
 * the form is sent as `null` (clear). Both sides go through the same normalization, so untouched
 * fields never show up as changes.
 */
export function changedFields(original: Patient, built: BuiltFields): PatientFields {
  const before = buildFields(patientToForm(original)).fields;
  const out: Record<string, unknown> = {};
  for (const name of PATIENT_FIELD_NAMES) {
    if (!jsonEqual(before[name], built.fields[name])) out[name] = built.fields[name];
  }
  return out;
}

/** Maps a field path of the sent payload back to the form's field path (rows may have been dropped). */
export function payloadFieldToFormField(field: string, built: Pick<BuiltFields, 'allergyRows' | 'conditionRows'>): string {
  return field.replace(/^(allergies|chronic_conditions)\[(\d+)\]/, (whole, list: string, idx: string) => {
    const rows = list === 'allergies' ? built.allergyRows : built.conditionRows;
    const row = rows[Number(idx)];
    return row === undefined ? whole : `${list}[${row}]`;
  });
}

export type FormErrors = Record<string, string>;

/** Turns a list of field errors into form errors keyed by form field path (first error per field wins). */
export function toFormErrors(errors: FieldError[], built: Pick<BuiltFields, 'allergyRows' | 'conditionRows'>): FormErrors {
  const out: FormErrors = {};
  for (const e of errors) {
    const key = payloadFieldToFormField(e.field, built);
    if (!(key in out)) out[key] = e.message;
  }
  return out;
}

export interface Prepared {
  op: PatientOp;
  built: BuiltFields;
  /** What will be sent. */
  payload: PatientFields;
  errors: FormErrors;
  /** For updates: nothing differs from the stored patient. */
  unchanged: boolean;
}

/** Builds the payload for a submit and checks it with the same rules as the backend. */
export function prepareSubmit(values: FormValues, original: Patient | null, today?: string): Prepared {
  const built = buildFields(values);
  const op: PatientOp = original ? 'update' : 'create';
  const payload = original ? changedFields(original, built) : registrationFields(built);
  const unchanged = op === 'update' && Object.keys(payload).length === 0;
  const errors = unchanged
    ? {}
    : toFormErrors(
        validatePatientFields(payload, op, today).filter((e) => e.field !== 'fields'),
        built,
      );
  return { op, built, payload, errors, unchanged };
}

/** Form field paths in the order they appear on screen, for focusing the first error. */
export function formFieldOrder(values: FormValues): string[] {
  const simple: string[] = [
    'given_name',
    'middle_name',
    'family_name',
    'date_of_birth',
    'gender',
    'phone',
    'email',
    'national_id',
    'health_card_id',
    'address.street',
    'address.city',
    'address.state',
    'address.zip_code',
    'address.country',
    'emergency_contact.name',
    'emergency_contact.relationship',
    'emergency_contact.phone',
    'blood_type',
    'allergies',
  ];
  values.allergies.forEach((_, i) =>
    simple.push(`allergies[${i}].allergen`, `allergies[${i}].severity`, `allergies[${i}].notes`),
  );
  simple.push('chronic_conditions');
  values.chronic_conditions.forEach((_, i) =>
    simple.push(
      `chronic_conditions[${i}].condition`,
      `chronic_conditions[${i}].status`,
      `chronic_conditions[${i}].diagnosed_date`,
    ),
  );
  return simple;
}

/** Top-level field names of `PatientFields`, for routing backend errors with unknown paths. */
export function topLevelField(path: string): PatientFieldName | null {
  const head = path.split(/[.[]/)[0];
  return (PATIENT_FIELD_NAMES as readonly string[]).includes(head) ? (head as PatientFieldName) : null;
}

const ROW_PATH = /^(allergies|chronic_conditions)\[(\d+)\]\.(\w+)$/;

/** The string value at a form field path (`given_name`, `address.city`, `allergies[0].allergen`). */
export function getPath(v: FormValues, path: string): string {
  const m = ROW_PATH.exec(path);
  if (m) {
    const rows = v[m[1] as 'allergies' | 'chronic_conditions'] as unknown as Record<string, string>[];
    return rows[Number(m[2])]?.[m[3]] ?? '';
  }
  const [a, b] = path.split('.');
  const top = (v as unknown as Record<string, unknown>)[a];
  if (b !== undefined) return (top as Record<string, string> | undefined)?.[b] ?? '';
  return typeof top === 'string' ? top : '';
}

/** A copy of the form values with one field path set. */
export function setPath(v: FormValues, path: string, value: string): FormValues {
  const m = ROW_PATH.exec(path);
  if (m) {
    const list = m[1] as 'allergies' | 'chronic_conditions';
    const idx = Number(m[2]);
    const rows = (v[list] as unknown as Record<string, string>[]).map((r, i) => (i === idx ? { ...r, [m[3]]: value } : r));
    return { ...v, [list]: rows };
  }
  const [a, b] = path.split('.');
  const rec = v as unknown as Record<string, unknown>;
  if (b !== undefined) return { ...v, [a]: { ...(rec[a] as Record<string, string>), [b]: value } };
  return { ...v, [a]: value };
}

/** Errors after row `removed` of `list` is deleted: that row's errors go, later rows move up. */
export function shiftRowErrors(errors: FormErrors, list: 'allergies' | 'chronic_conditions', removed: number): FormErrors {
  const out: FormErrors = {};
  for (const [path, msg] of Object.entries(errors)) {
    const m = ROW_PATH.exec(path);
    if (!m || m[1] !== list) {
      out[path] = msg;
      continue;
    }
    const idx = Number(m[2]);
    if (idx === removed) continue;
    out[idx > removed ? `${list}[${idx - 1}].${m[3]}` : path] = msg;
  }
  return out;
}
