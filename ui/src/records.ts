// Medical records: HLC times, grouping of append-only versions, vitals in clinical units, and the
// record form ↔ `RecordFields` translation. The field rules mirror `crates/anola-protocol/src/record.rs`.
// Pure: unit-tested in records.test.ts.

import type {
  Diagnosis,
  FieldError,
  LabResult,
  MedicalRecordVersion,
  Order,
  Prescription,
  RecordFields,
  RecordVersionView,
  Vitals,
} from './types';

export const MAX_TEXT = 200;
export const MAX_LONG_TEXT = 20_000;
export const MAX_LIST = 50;

// ---------- HLC ----------

/** The wall-clock part of a hybrid logical clock (`001741786200000-00000-node`: first 15 digits are ms since epoch). */
export function hlcToDate(hlc: string | null | undefined): Date | null {
  if (!hlc) return null;
  const m = /^(\d{15})-/.exec(hlc);
  if (!m) return null;
  const d = new Date(Number(m[1]));
  return Number.isNaN(d.getTime()) ? null : d;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => String(n).padStart(2, '0');

/** `12 Mar 2026 14:05` (local time) of an HLC, or an empty string when it does not parse. */
export function formatHlc(hlc: string | null | undefined): string {
  const d = hlcToDate(hlc);
  if (!d) return '';
  return `${d.getDate()} ${MONTHS[d.getMonth()]} ${d.getFullYear()} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

// ---------- Grouping ----------

export interface RecordGroup {
  record_id: string;
  /** Every version, newest first. */
  versions: RecordVersionView[];
  /** Versions no later version amends (normally one; two or more after concurrent amendments), newest first. */
  current: RecordVersionView[];
  /** Amended (superseded) versions, newest first. */
  older: RecordVersionView[];
  /** Amended on two devices at once and not yet settled: a clinician must reconcile. */
  concurrent: boolean;
}

const byHlcDesc = (a: { hlc: string; id: string }, b: { hlc: string; id: string }) =>
  // The string form of an HLC sorts like its value (fixed-width fields).
  a.hlc < b.hlc ? 1 : a.hlc > b.hlc ? -1 : a.id < b.id ? 1 : a.id > b.id ? -1 : 0;

/** Versions grouped by `record_id`, most recently written record first, newest version first within each. */
export function groupRecordVersions(views: readonly RecordVersionView[]): RecordGroup[] {
  const groups = new Map<string, RecordVersionView[]>();
  for (const v of views) {
    const key = v.record_id || v.id;
    const list = groups.get(key);
    if (list) list.push(v);
    else groups.set(key, [v]);
  }
  const out: RecordGroup[] = [];
  for (const [record_id, list] of groups) {
    const versions = [...list].sort(byHlcDesc);
    const current = versions.filter((v) => !v.superseded);
    const older = versions.filter((v) => v.superseded);
    out.push({
      record_id,
      versions,
      // If every version is superseded (a version we amend is missing here), show the newest anyway.
      current: current.length ? current : versions.slice(0, 1),
      older: current.length ? older : versions.slice(1),
      concurrent: current.some((v) => v.concurrent_amendment),
    });
  }
  return out.sort((a, b) => byHlcDesc(a.versions[0], b.versions[0]));
}

// ---------- Vitals ----------

export interface VitalSpec {
  key: keyof Vitals;
  label: string;
  unit: string;
  /** Form input range, in the form's unit. */
  min: number;
  max: number;
  /** Decimals allowed in the form's unit. */
  decimals: number;
  /** Stored value = form value × scale (integers only are stored). */
  scale: number;
}

export const VITALS: readonly VitalSpec[] = [
  { key: 'systolic_mmhg', label: 'Systolic', unit: 'mmHg', min: 40, max: 300, decimals: 0, scale: 1 },
  { key: 'diastolic_mmhg', label: 'Diastolic', unit: 'mmHg', min: 20, max: 200, decimals: 0, scale: 1 },
  { key: 'pulse_bpm', label: 'Pulse', unit: 'bpm', min: 20, max: 300, decimals: 0, scale: 1 },
  { key: 'temperature_dc', label: 'Temperature', unit: '°C', min: 25, max: 45, decimals: 1, scale: 10 },
  { key: 'respiratory_rate', label: 'Respiratory rate', unit: '/min', min: 2, max: 100, decimals: 0, scale: 1 },
  { key: 'spo2_percent', label: 'SpO₂', unit: '%', min: 1, max: 100, decimals: 0, scale: 1 },
  { key: 'weight_g', label: 'Weight', unit: 'kg', min: 0.2, max: 500, decimals: 3, scale: 1000 },
  { key: 'height_mm', label: 'Height', unit: 'cm', min: 20, max: 272, decimals: 1, scale: 10 },
];

/** A stored vital in the form's unit: `375` tenths → `37.5`; `70500` g → `70.5`. */
export function vitalToInput(spec: VitalSpec, stored: number | undefined): string {
  if (stored === undefined || stored === null) return '';
  return String(Math.round((stored / spec.scale) * 10 ** spec.decimals) / 10 ** spec.decimals);
}

/** Parses a vital typed in the form's unit; `{ error }` is an error code. */
export function parseVital(spec: VitalSpec, input: string): { value?: number; error?: string; suggest?: string } {
  const t = input.trim().replace(',', '.');
  if (t === '') return {};
  if (!/^\d+(\.\d+)?$/.test(t)) return { error: 'invalid_number' };
  const n = Number(t);
  const decimals = t.includes('.') ? t.length - t.indexOf('.') - 1 : 0;
  if (decimals > spec.decimals) return { error: spec.decimals === 0 ? 'whole_number' : 'too_precise' };
  if (n < spec.min || n > spec.max) {
    // "375" typed for 37.5 °C: offer the likely reading.
    const tenth = n / 10;
    const suggest =
      spec.decimals > 0 && decimals === 0 && tenth >= spec.min && tenth <= spec.max ? String(tenth) : undefined;
    return { error: 'out_of_range', ...(suggest ? { suggest } : {}) };
  }
  return { value: Math.round(n * spec.scale) };
}

function vitalMessage(spec: VitalSpec, code: string, suggest?: string): string {
  switch (code) {
    case 'whole_number':
      return `${spec.label} must be a whole number`;
    case 'too_precise':
      return `${spec.label}: at most ${spec.decimals} decimal${spec.decimals === 1 ? '' : 's'}`;
    case 'out_of_range':
      return `${spec.label} must be between ${spec.min} and ${spec.max} ${spec.unit}${suggest ? ` — did you mean ${suggest}?` : ''}`;
    default:
      return `${spec.label} must be a number in ${spec.unit}`;
  }
}

/** Vitals as short clinical strings: `BP 120/80 mmHg`, `Temp 37.5 °C`, ... */
export function formatVitals(v: Vitals | null | undefined): string[] {
  if (!v) return [];
  const out: string[] = [];
  const spec = (k: keyof Vitals) => VITALS.find((s) => s.key === k) as VitalSpec;
  if (v.systolic_mmhg !== undefined || v.diastolic_mmhg !== undefined) {
    out.push(`BP ${v.systolic_mmhg ?? '?'}/${v.diastolic_mmhg ?? '?'} mmHg`);
  }
  if (v.pulse_bpm !== undefined) out.push(`Pulse ${v.pulse_bpm} bpm`);
  if (v.temperature_dc !== undefined) out.push(`Temp ${vitalToInput(spec('temperature_dc'), v.temperature_dc)} °C`);
  if (v.respiratory_rate !== undefined) out.push(`RR ${v.respiratory_rate}/min`);
  if (v.spo2_percent !== undefined) out.push(`SpO₂ ${v.spo2_percent}%`);
  if (v.weight_g !== undefined) out.push(`Weight ${vitalToInput(spec('weight_g'), v.weight_g)} kg`);
  if (v.height_mm !== undefined) out.push(`Height ${vitalToInput(spec('height_mm'), v.height_mm)} cm`);
  return out;
}

export function formatPrescription(p: Prescription): string {
  const parts = [p.dose, p.route, p.frequency].map((s) => s?.trim()).filter(Boolean);
  const days = p.duration_days ? `for ${p.duration_days} day${p.duration_days === 1 ? '' : 's'}` : '';
  return [p.medication, ...parts, days].filter(Boolean).join(' · ');
}

export function formatDiagnosis(d: Diagnosis): string {
  return [d.code, d.description].filter((s) => s?.trim()).join(' — ') + (d.system ? ` (${d.system})` : '');
}

// ---------- Form ----------

export interface DiagnosisRow {
  key: string;
  code: string;
  description: string;
  /** Kept from an amended version; not edited here. */
  system: string;
}

export interface PrescriptionRow {
  key: string;
  medication: string;
  dose: string;
  route: string;
  frequency: string;
  duration_days: string;
}

export interface RecordFormValues {
  author: string;
  consultation_notes: string;
  plan: string;
  vitals: Record<keyof Vitals, string>;
  diagnoses: DiagnosisRow[];
  prescriptions: PrescriptionRow[];
  /** Show this entry to the patient in their portal. */
  shared_with_patient: boolean;
}

/** Parts of an amended version the form does not edit; they are carried into the amendment unchanged. */
export interface CarriedOver {
  orders?: Order[];
  lab_results?: LabResult[];
  appointment_id?: string;
  provider_id?: string;
}

let rowCounter = 0;
const rowKey = () => `rec-row-${++rowCounter}`;

export const emptyDiagnosis = (): DiagnosisRow => ({ key: rowKey(), code: '', description: '', system: '' });
export const emptyPrescription = (): PrescriptionRow => ({
  key: rowKey(),
  medication: '',
  dose: '',
  route: '',
  frequency: '',
  duration_days: '',
});

const emptyVitals = (): Record<keyof Vitals, string> =>
  Object.fromEntries(VITALS.map((s) => [s.key, ''])) as Record<keyof Vitals, string>;

export function emptyRecordForm(author = ''): RecordFormValues {
  return { author, consultation_notes: '', plan: '', vitals: emptyVitals(), diagnoses: [], prescriptions: [], shared_with_patient: false };
}

/** The form prefilled from a version (to amend it). The author is whoever writes the amendment. */
export function versionToRecordForm(v: MedicalRecordVersion, author = ''): { values: RecordFormValues; carried: CarriedOver } {
  const vitals = emptyVitals();
  for (const spec of VITALS) vitals[spec.key] = vitalToInput(spec, v.vitals?.[spec.key]);
  const carried: CarriedOver = {};
  if (v.orders?.length) carried.orders = v.orders;
  if (v.lab_results?.length) carried.lab_results = v.lab_results;
  if (v.appointment_id) carried.appointment_id = v.appointment_id;
  if (v.provider_id) carried.provider_id = v.provider_id;
  return {
    values: {
      author,
      consultation_notes: v.consultation_notes ?? '',
      plan: v.plan ?? '',
      shared_with_patient: v.shared_with_patient ?? false,
      vitals,
      diagnoses: (v.diagnoses ?? []).map((d) => ({
        key: rowKey(),
        code: d.code,
        description: d.description ?? '',
        system: d.system ?? '',
      })),
      prescriptions: (v.prescriptions ?? []).map((p) => ({
        key: rowKey(),
        medication: p.medication,
        dose: p.dose ?? '',
        route: p.route ?? '',
        frequency: p.frequency ?? '',
        duration_days: p.duration_days !== undefined ? String(p.duration_days) : '',
      })),
    },
    carried,
  };
}

export type FormErrors = Record<string, string>;

export interface BuiltRecord {
  fields: RecordFields;
  /** Errors keyed by form path: `author`, `vitals.pulse_bpm`, `diagnoses[1].code`, `fields` (the whole form). */
  errors: FormErrors;
  /** `diagnoses[i]` in `fields` is form row `diagnosisRows[i]` (blank rows are dropped). */
  diagnosisRows: number[];
  prescriptionRows: number[];
}

const LABELS: Record<string, string> = {
  author: 'Author',
  consultation_notes: 'Notes',
  plan: 'Plan',
  diagnoses: 'Diagnoses',
  'diagnoses[].code': 'Diagnosis code',
  'diagnoses[].description': 'Description',
  prescriptions: 'Prescriptions',
  'prescriptions[].medication': 'Medication',
  'prescriptions[].dose': 'Dose',
  'prescriptions[].route': 'Route',
  'prescriptions[].frequency': 'Frequency',
  'prescriptions[].duration_days': 'Days',
  orders: 'Orders',
  'orders[].description': 'Order',
  lab_results: 'Lab results',
  'lab_results[].test': 'Lab test',
};

export function recordFieldLabel(field: string): string {
  return LABELS[field.replace(/\[\d+\]/g, '[]')] ?? field.replace(/[_.[\]]+/g, ' ').trim();
}

export const NOTHING_RECORDED = 'Write notes, vitals, a diagnosis, a plan or a prescription — the record is empty';

export function recordMessage(field: string, code: string, fallback?: string): string {
  const label = recordFieldLabel(field);
  switch (code) {
    case 'required':
      return field === 'author' ? 'Say who is writing this record' : `${label} is required`;
    case 'empty':
      return field === 'fields' ? NOTHING_RECORDED : `${label} must not be blank`;
    case 'too_long':
      return `${label} must be at most ${field === 'consultation_notes' || field === 'plan' ? MAX_LONG_TEXT : MAX_TEXT} characters`;
    case 'invalid_characters':
      return `${label} must not contain control characters`;
    case 'too_many':
      return `${label}: at most ${MAX_LIST} entries`;
    case 'out_of_range':
      return `${label} must be 1 to 3650 days`;
    case 'whole_number':
      return `${label} must be a whole number`;
    default:
      return fallback ?? `${label} is not valid`;
  }
}

function checkText(v: string, required: boolean): string | null {
  if (v.trim() === '') return required ? 'required' : 'empty';
  if ([...v].length > MAX_TEXT) return 'too_long';
  if (/\p{Cc}/u.test(v)) return 'invalid_characters';
  return null;
}

/** Mirror of `RecordFields::validate` (fields the device fills in — ids, clinic — are not checked here). */
export function validateRecordFields(f: RecordFields): FieldError[] {
  const errors: FieldError[] = [];
  const push = (field: string, code: string | null) => {
    if (code) errors.push({ field, code, message: recordMessage(field, code) });
  };
  push('author', checkText(f.author ?? '', true));
  for (const name of ['consultation_notes', 'plan'] as const) {
    const v = f[name];
    if (v === undefined || v === null) continue;
    if (v.trim() === '') push(name, 'empty');
    else if ([...v].length > MAX_LONG_TEXT) push(name, 'too_long');
  }
  for (const name of ['diagnoses', 'orders', 'prescriptions', 'lab_results'] as const) {
    if ((f[name]?.length ?? 0) > MAX_LIST) push(name, 'too_many');
  }
  f.diagnoses?.forEach((d, i) => push(`diagnoses[${i}].code`, checkText(d.code ?? '', true)));
  f.orders?.forEach((o, i) => push(`orders[${i}].description`, checkText(o.description ?? '', true)));
  f.prescriptions?.forEach((p, i) => push(`prescriptions[${i}].medication`, checkText(p.medication ?? '', true)));
  f.lab_results?.forEach((l, i) => push(`lab_results[${i}].test`, checkText(l.test ?? '', true)));
  const hasContent =
    f.consultation_notes != null ||
    f.vitals != null ||
    !!f.diagnoses?.length ||
    f.plan != null ||
    !!f.orders?.length ||
    !!f.prescriptions?.length ||
    !!f.lab_results?.length;
  if (!hasContent) errors.push({ field: 'fields', code: 'empty', message: NOTHING_RECORDED });
  return errors;
}

/** Maps a field path of the sent payload back to the form's (blank list rows were dropped). */
export function recordPayloadFieldToFormField(
  field: string,
  built: Pick<BuiltRecord, 'diagnosisRows' | 'prescriptionRows'>,
): string {
  return field.replace(/^(diagnoses|prescriptions)\[(\d+)\]/, (whole, list: string, idx: string) => {
    const rows = list === 'diagnoses' ? built.diagnosisRows : built.prescriptionRows;
    const row = rows[Number(idx)];
    return row === undefined ? whole : `${list}[${row}]`;
  });
}

/**
 * The `add_record` / `amend_record` payload for the form: text trimmed, blank optional fields and
 * blank list rows left out (the backend takes no `null` for lists), vitals in stored units.
 */
export function buildRecordFields(v: RecordFormValues, patientId: string, carried: CarriedOver = {}): BuiltRecord {
  const errors: FormErrors = {};
  const fields: RecordFields = { patient_id: patientId, author: v.author.trim() };
  if (v.shared_with_patient) fields.shared_with_patient = true;
  const notes = v.consultation_notes.trim();
  if (notes) fields.consultation_notes = v.consultation_notes.replace(/^\s*\n|\s+$/g, '');
  const plan = v.plan.trim();
  if (plan) fields.plan = v.plan.replace(/^\s*\n|\s+$/g, '');

  const vitals: Vitals = {};
  for (const spec of VITALS) {
    const r = parseVital(spec, v.vitals[spec.key]);
    if (r.error) errors[`vitals.${spec.key}`] = vitalMessage(spec, r.error, r.suggest);
    else if (r.value !== undefined) vitals[spec.key] = r.value;
  }
  const sys = vitals.systolic_mmhg;
  const dia = vitals.diastolic_mmhg;
  if ((sys === undefined) !== (dia === undefined) && !errors['vitals.systolic_mmhg'] && !errors['vitals.diastolic_mmhg']) {
    errors[sys === undefined ? 'vitals.systolic_mmhg' : 'vitals.diastolic_mmhg'] = 'Enter both blood pressure values';
  } else if (sys !== undefined && dia !== undefined && dia >= sys) {
    errors['vitals.diastolic_mmhg'] = 'Diastolic must be lower than systolic';
  }
  if (Object.keys(vitals).length) fields.vitals = vitals;

  const diagnosisRows: number[] = [];
  const diagnoses: Diagnosis[] = [];
  v.diagnoses.forEach((row, i) => {
    if (!row.code.trim() && !row.description.trim()) return;
    diagnosisRows.push(i);
    const d: Diagnosis = { code: row.code.trim() };
    if (row.system.trim()) d.system = row.system.trim();
    if (row.description.trim()) {
      d.description = row.description.trim();
      const code = checkText(d.description, false);
      if (code) errors[`diagnoses[${i}].description`] = recordMessage(`diagnoses[${i}].description`, code);
    }
    diagnoses.push(d);
  });
  if (diagnoses.length) fields.diagnoses = diagnoses;

  const prescriptionRows: number[] = [];
  const prescriptions: Prescription[] = [];
  v.prescriptions.forEach((row, i) => {
    const optional = ['dose', 'route', 'frequency'] as const;
    if (!row.medication.trim() && !row.duration_days.trim() && optional.every((k) => !row[k].trim())) return;
    prescriptionRows.push(i);
    const p: Prescription = { medication: row.medication.trim() };
    for (const k of optional) {
      const t = row[k].trim();
      if (!t) continue;
      p[k] = t;
      const code = checkText(t, false);
      if (code) errors[`prescriptions[${i}].${k}`] = recordMessage(`prescriptions[${i}].${k}`, code);
    }
    const days = row.duration_days.trim();
    if (days) {
      if (!/^\d+$/.test(days)) errors[`prescriptions[${i}].duration_days`] = recordMessage('prescriptions[].duration_days', 'whole_number');
      else if (Number(days) < 1 || Number(days) > 3650) {
        errors[`prescriptions[${i}].duration_days`] = recordMessage('prescriptions[].duration_days', 'out_of_range');
      } else p.duration_days = Number(days);
    }
    prescriptions.push(p);
  });
  if (prescriptions.length) fields.prescriptions = prescriptions;

  if (carried.orders?.length) fields.orders = carried.orders;
  if (carried.lab_results?.length) fields.lab_results = carried.lab_results;
  if (carried.appointment_id) fields.appointment_id = carried.appointment_id;
  if (carried.provider_id) fields.provider_id = carried.provider_id;

  const built = { diagnosisRows, prescriptionRows };
  for (const e of validateRecordFields(fields)) {
    const key = recordPayloadFieldToFormField(e.field, built);
    errors[key] ??= e.message;
  }
  return { fields, errors, ...built };
}

/** Whether two versions say the same clinically (author and ids aside): an amendment must change something. */
export function sameClinicalContent(a: RecordFields, b: RecordFields): boolean {
  const pick = (f: RecordFields) =>
    JSON.stringify([
      f.consultation_notes ?? null,
      f.plan ?? null,
      f.vitals && Object.keys(f.vitals).length ? sortKeys(f.vitals) : null,
      (f.diagnoses ?? []).map(sortKeys),
      (f.prescriptions ?? []).map(sortKeys),
      (f.orders ?? []).map(sortKeys),
      (f.lab_results ?? []).map(sortKeys),
      f.shared_with_patient ?? false,
    ]);
  return pick(a) === pick(b);
}

function sortKeys<T extends object>(o: T): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(o)
      .filter(([, v]) => v !== undefined && v !== null)
      .sort(([x], [y]) => x.localeCompare(y)),
  );
}
