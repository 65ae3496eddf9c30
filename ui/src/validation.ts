// Client-side mirror of the patient field rules in crates/anola-protocol/src/patient.rs.
// Same field names and error codes as the backend, so an error from either side lands on the same
// field with the same wording (see `messageFor`).

import {
  ALLERGY_SEVERITIES,
  BLOOD_TYPES,
  CONDITION_STATUSES,
  GENDERS,
  type FieldError,
  type PatientFields,
} from './types';

export const MAX_TEXT = 200;
export const MAX_LIST = 50;
export const MIN_BIRTH_YEAR = 1880;
export const MAX_HEALTH_CARD_ID = 40;

export type PatientOp = 'create' | 'update';

export const REQUIRED_ON_CREATE = ['given_name', 'family_name', 'date_of_birth'] as const;

const LABELS: Record<string, string> = {
  given_name: 'Given name',
  family_name: 'Family name',
  middle_name: 'Middle name',
  date_of_birth: 'Date of birth',
  gender: 'Gender',
  phone: 'Phone',
  email: 'Email',
  national_id: 'National ID',
  health_card_id: 'Health card ID',
  blood_type: 'Blood type',
  address: 'Address',
  'address.street': 'Street',
  'address.city': 'City',
  'address.state': 'State / region',
  'address.country': 'Country',
  'address.zip_code': 'Postal code',
  emergency_contact: 'Emergency contact',
  'emergency_contact.name': 'Contact name',
  'emergency_contact.relationship': 'Relationship',
  'emergency_contact.phone': 'Contact phone',
  allergies: 'Allergies',
  'allergies[].allergen': 'Allergen',
  'allergies[].severity': 'Severity',
  'allergies[].notes': 'Notes',
  chronic_conditions: 'Chronic conditions',
  'chronic_conditions[].condition': 'Condition',
  'chronic_conditions[].status': 'Status',
  'chronic_conditions[].diagnosed_date': 'Date diagnosed',
};

/** A human label for a field path: `allergies[2].allergen` → "Allergen". */
export function fieldLabel(field: string): string {
  const generic = field.replace(/\[\d+\]/g, '[]');
  return LABELS[generic] ?? field.replace(/[_.[\]]+/g, ' ').trim();
}

/**
 * The message shown for an error code on a field. Used for client-side checks and for
 * `validation_failed` errors from the backend alike; unknown codes keep the backend's message.
 */
export function messageFor(field: string, code: string, fallback?: string): string {
  const label = fieldLabel(field);
  switch (code) {
    case 'required':
      return `${label} is required`;
    case 'empty':
      return `${label} must not be blank`;
    case 'too_long':
      return `${label} must be at most ${MAX_TEXT} characters`;
    case 'invalid_characters':
      return `${label} must not contain control characters`;
    case 'invalid_date':
      return `${label} must be a real date written YYYY-MM-DD`;
    case 'in_future':
      return `${label} must not be in the future`;
    case 'out_of_range':
      return `${label} must be after ${MIN_BIRTH_YEAR}`;
    case 'invalid_phone':
      return `${label} must be 7 to 15 digits, optionally starting with + (spaces, dashes, dots and brackets allowed)`;
    case 'invalid_email':
      return `${label} must be an address like name@example.org`;
    case 'invalid_health_card_id':
      return `${label} must look like AH-XXXX-XXXX (letters, digits and dashes after AH-)`;
    case 'too_many':
      return `${label}: at most ${MAX_LIST} entries`;
    case 'invalid_choice':
      return `${label} is not one of the allowed values`;
    default:
      return fallback ?? `${label} is not valid`;
  }
}

function fieldError(field: string, code: string): FieldError {
  return { field, code, message: messageFor(field, code) };
}

/** Parses `YYYY-MM-DD` into a real calendar date; `null` for anything else (e.g. 2023-02-29). */
export function parseIsoDate(s: string): { year: number; month: number; day: number } | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return null;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month < 1 || month > 12 || day < 1) return null;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const monthDays = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  if (day > monthDays[month - 1]) return null;
  return { year, month, day };
}

/** Today's local date as `YYYY-MM-DD`. */
export function todayIso(now: Date = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${now.getFullYear()}-${p(now.getMonth() + 1)}-${p(now.getDate())}`;
}

const CONTROL = /\p{Cc}/u;

/** Returns an error code for a text value, or null when it is fine. */
export function checkText(v: string, required: boolean): string | null {
  if (v.trim() === '') return required ? 'required' : 'empty';
  if ([...v].length > MAX_TEXT) return 'too_long';
  if (CONTROL.test(v)) return 'invalid_characters';
  return null;
}

/** `today` is `YYYY-MM-DD`; ISO dates compare correctly as strings. */
export function checkDate(v: string, today: string): string | null {
  const d = parseIsoDate(v);
  if (!d) return 'invalid_date';
  if (v > today) return 'in_future';
  if (d.year < MIN_BIRTH_YEAR) return 'out_of_range';
  return null;
}

export function isValidPhone(v: string): boolean {
  const chars = [...v];
  const digits = chars.filter((c) => c >= '0' && c <= '9').length;
  const allowed = chars.every((c, i) => (c >= '0' && c <= '9') || ' -().'.includes(c) || (c === '+' && i === 0));
  return allowed && digits >= 7 && digits <= 15;
}

export function isValidEmail(v: string): boolean {
  if (new TextEncoder().encode(v).length > 254 || /\s/u.test(v)) return false;
  const at = v.indexOf('@');
  if (at < 0) return false;
  const local = v.slice(0, at);
  const domain = v.slice(at + 1);
  return (
    local.length > 0 && !domain.includes('@') && domain.includes('.') && !domain.startsWith('.') && !domain.endsWith('.')
  );
}

export function isValidHealthCardId(v: string): boolean {
  return v.length <= MAX_HEALTH_CARD_ID && /^AH-[A-Za-z0-9-]+$/.test(v);
}

/**
 * Checks a set of fields the way the backend does: every problem, not just the first.
 * On `update` only the fields present are checked, and required fields may not be cleared.
 */
export function validatePatientFields(fields: PatientFields, op: PatientOp, today: string = todayIso()): FieldError[] {
  const errors: FieldError[] = [];
  const push = (field: string, code: string | null) => {
    if (code) errors.push(fieldError(field, code));
  };
  const text = (field: string, v: string, required = false) => push(field, checkText(v, required));
  const optText = (field: string, v: string | undefined) => {
    if (v !== undefined && v !== null) text(field, v);
  };
  const choice = (field: string, v: unknown, allowed: readonly unknown[]) => {
    if (v !== undefined && v !== null && !allowed.includes(v)) push(field, 'invalid_choice');
  };

  for (const name of REQUIRED_ON_CREATE) {
    const present = name in fields && fields[name] !== undefined;
    const cleared = present && fields[name] === null;
    if (cleared || (op === 'create' && !present)) push(name, 'required');
  }

  const f = fields;
  if (typeof f.given_name === 'string') text('given_name', f.given_name, true);
  if (typeof f.family_name === 'string') text('family_name', f.family_name, true);
  if (typeof f.middle_name === 'string') text('middle_name', f.middle_name);
  if (typeof f.date_of_birth === 'string') push('date_of_birth', checkDate(f.date_of_birth, today));
  choice('gender', f.gender, GENDERS);
  if (typeof f.phone === 'string' && !isValidPhone(f.phone)) push('phone', 'invalid_phone');
  if (typeof f.email === 'string' && !isValidEmail(f.email)) push('email', 'invalid_email');
  if (typeof f.national_id === 'string') text('national_id', f.national_id);
  if (typeof f.health_card_id === 'string' && !isValidHealthCardId(f.health_card_id)) {
    push('health_card_id', 'invalid_health_card_id');
  }
  if (f.address) {
    optText('address.street', f.address.street);
    optText('address.city', f.address.city);
    optText('address.state', f.address.state);
    optText('address.country', f.address.country);
    optText('address.zip_code', f.address.zip_code);
  }
  if (f.emergency_contact) {
    optText('emergency_contact.name', f.emergency_contact.name);
    optText('emergency_contact.relationship', f.emergency_contact.relationship);
    const p = f.emergency_contact.phone;
    if (p !== undefined && p !== null && !isValidPhone(p)) push('emergency_contact.phone', 'invalid_phone');
  }
  choice('blood_type', f.blood_type, BLOOD_TYPES);
  if (f.allergies) {
    if (f.allergies.length > MAX_LIST) push('allergies', 'too_many');
    f.allergies.forEach((a, i) => {
      text(`allergies[${i}].allergen`, a.allergen ?? '', true);
      choice(`allergies[${i}].severity`, a.severity, ALLERGY_SEVERITIES);
      optText(`allergies[${i}].notes`, a.notes);
    });
  }
  if (f.chronic_conditions) {
    if (f.chronic_conditions.length > MAX_LIST) push('chronic_conditions', 'too_many');
    f.chronic_conditions.forEach((c, i) => {
      text(`chronic_conditions[${i}].condition`, c.condition ?? '', true);
      choice(`chronic_conditions[${i}].status`, c.status, CONDITION_STATUSES);
      if (c.diagnosed_date !== undefined && c.diagnosed_date !== null) {
        push(`chronic_conditions[${i}].diagnosed_date`, checkDate(c.diagnosed_date, today));
      }
    });
  }
  if (Object.values(fields).every((v) => v === undefined)) {
    errors.push({ field: 'fields', code: 'empty', message: 'Nothing to save: no field was changed' });
  }
  return errors;
}
