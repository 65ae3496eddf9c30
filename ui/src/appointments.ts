// Appointments: labels, the day/time arithmetic the day view needs, the actions a status allows,
// and the booking form ↔ `AppointmentFields` translation. The field rules mirror
// `crates/anola-protocol/src/appointment.rs` (same field names and codes). Pure: unit-tested in
// appointments.test.ts.

import { parseIsoDate } from './validation';
import {
  APPOINTMENT_STATUSES,
  APPOINTMENT_TYPES,
  CONSULTATION_MODES,
  URGENCIES,
  type Appointment,
  type AppointmentFields,
  type AppointmentStatus,
  type AppointmentType,
  type ConsultationMode,
  type FieldError,
  type Provider,
  type Urgency,
  type Weekday,
} from './types';

export const MAX_DURATION_MINUTES = 480;
export const DEFAULT_DURATION_MINUTES = 30;
const MAX_TEXT = 200;
const MAX_LIST = 50;

export const APPOINTMENT_STATUS_LABELS: Record<AppointmentStatus, string> = {
  scheduled: 'Scheduled',
  confirmed: 'Confirmed',
  checked_in: 'Checked in',
  in_progress: 'In progress',
  completed: 'Completed',
  cancelled: 'Cancelled',
  no_show: 'No-show',
  rescheduled: 'Rescheduled',
  conflict_needs_rescheduling: 'Needs a new time',
};

export const APPOINTMENT_TYPE_LABELS: Record<AppointmentType, string> = {
  consultation: 'Consultation',
  follow_up: 'Follow-up',
  emergency: 'Emergency',
  routine_checkup: 'Routine check-up',
  vaccination: 'Vaccination',
  lab_test: 'Lab test',
  procedure: 'Procedure',
};

export const MODE_LABELS: Record<ConsultationMode, string> = {
  in_person: 'In person',
  video: 'Video',
  phone: 'Phone',
  home_visit: 'Home visit',
};

export const URGENCY_LABELS: Record<Urgency, string> = {
  low: 'Low',
  medium: 'Medium',
  high: 'High',
  emergency: 'Emergency',
};

/** Whether an appointment in this status occupies its provider's time (the server's slot rule). */
export function holdsSlot(status: AppointmentStatus | null): boolean {
  return status === 'scheduled' || status === 'confirmed' || status === 'checked_in' || status === 'in_progress';
}

// ---------- Dates and times ----------

/** Minutes since midnight of `HH:MM` (24-hour), or null. */
export function parseTime(v: string): number | null {
  const m = /^(\d{2}):(\d{2})$/.exec(v);
  if (!m) return null;
  const h = Number(m[1]);
  const min = Number(m[2]);
  return h < 24 && min < 60 ? h * 60 + min : null;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** `570` → `09:30`; `1440` → `24:00` (an end at midnight). */
export function formatMinutes(m: number): string {
  return `${pad(Math.floor(m / 60))}:${pad(m % 60)}`;
}

/**
 * Lenient time entry: `930`, `0930`, `9:30`, `9.30`, `9h30` → `09:30`; `9` → `09:00`.
 * Anything else is returned trimmed (and then fails validation).
 */
export function normalizeTimeInput(v: string): string {
  const t = v.trim();
  let m = /^(\d{1,2})(?:[:.hH](\d{2}))?$/.exec(t);
  if (m) return `${pad(Number(m[1]))}:${m[2] ?? '00'}`;
  m = /^(\d{1,2})(\d{2})$/.exec(t);
  if (m) return `${pad(Number(m[1]))}:${m[2]}`;
  return t;
}

/** End of an appointment as `HH:MM`, or null when start or duration is missing/invalid. */
export function endTime(start: string | null, duration: number | null): string | null {
  const s = start ? parseTime(start) : null;
  if (s === null || !duration || duration < 1) return null;
  return formatMinutes(s + duration);
}

/** `2026-03-12` plus `n` days, as `YYYY-MM-DD` (calendar arithmetic, no time zones). */
export function addDays(iso: string, n: number): string {
  const d = parseIsoDate(iso);
  if (!d) return iso;
  const t = new Date(Date.UTC(d.year, d.month - 1, d.day + n));
  return `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}`;
}

const WEEKDAYS: Weekday[] = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const WEEKDAY_NAMES: Record<Weekday, string> = {
  mon: 'Monday',
  tue: 'Tuesday',
  wed: 'Wednesday',
  thu: 'Thursday',
  fri: 'Friday',
  sat: 'Saturday',
  sun: 'Sunday',
};

export function weekdayOf(iso: string): Weekday | null {
  const d = parseIsoDate(iso);
  if (!d) return null;
  return WEEKDAYS[new Date(Date.UTC(d.year, d.month - 1, d.day)).getUTCDay()];
}

export function weekdayName(day: Weekday): string {
  return WEEKDAY_NAMES[day];
}

/** This device's IANA time zone if the backend would accept its name, else undefined. */
export function deviceTimeZone(): string | undefined {
  try {
    const tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
    return isValidTimeZoneName(tz) ? tz : undefined;
  } catch {
    return undefined;
  }
}

export function isValidTimeZoneName(tz: string | undefined | null): tz is string {
  return typeof tz === 'string' && tz.length > 0 && tz.length <= 64 && /^[A-Za-z0-9/_+-]+$/.test(tz);
}

// ---------- Providers ----------

export function providerName(p: Pick<Provider, 'title' | 'given_name' | 'family_name'>): string {
  return [p.title, p.given_name, p.family_name]
    .map((s) => s?.trim())
    .filter(Boolean)
    .join(' ');
}

/**
 * A non-blocking warning when a booking falls outside the provider's weekly hours or in a vacation.
 * The server does not enforce these (only the slot rule), so they are hints, not errors.
 */
export function availabilityWarning(
  p: Provider,
  date: string,
  start: string,
  duration: number | null,
): string | null {
  const day = weekdayOf(date);
  if (!day) return null;
  const vacation = p.vacations.find((v) => v.from <= date && date <= v.to);
  if (vacation) {
    return `${providerName(p)} is away ${vacation.from === vacation.to ? 'that day' : `${vacation.from} to ${vacation.to}`}${
      vacation.reason ? ` (${vacation.reason})` : ''
    }.`;
  }
  if (!p.weekly_availability.length) return null;
  const hours = p.weekly_availability.filter((a) => a.day === day);
  if (!hours.length) return `${providerName(p)} does not usually work on ${weekdayName(day)}s.`;
  const s = parseTime(start);
  if (s === null) return null;
  const e = s + (duration && duration > 0 ? duration : 1);
  const fits = hours.some((h) => {
    const hs = parseTime(h.start);
    const he = parseTime(h.end);
    return hs !== null && he !== null && hs <= s && e <= he;
  });
  if (fits) return null;
  return `Outside ${providerName(p)}'s hours on ${weekdayName(day)}s (${hours.map((h) => `${h.start}–${h.end}`).join(', ')}).`;
}

/** `Mon 08:00–13:00 · Wed 08:00–17:00` */
export function formatWeeklyHours(p: Provider): string {
  const order: Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
  return [...p.weekly_availability]
    .sort((a, b) => order.indexOf(a.day) - order.indexOf(b.day) || a.start.localeCompare(b.start))
    .map((a) => `${WEEKDAY_NAMES[a.day].slice(0, 3)} ${a.start}–${a.end}`)
    .join(' · ');
}

// ---------- Actions ----------

export type AppointmentAction = 'confirm' | 'check_in' | 'start' | 'complete' | 'no_show' | 'cancel' | 'reschedule';

export const ACTION_LABELS: Record<AppointmentAction, string> = {
  confirm: 'Confirm',
  check_in: 'Check in',
  start: 'Start',
  complete: 'Complete',
  no_show: 'No-show',
  cancel: 'Cancel…',
  reschedule: 'Reschedule…',
};

/** The status an immediate action moves to (cancel and reschedule ask for more first). */
export const ACTION_STATUS: Record<Exclude<AppointmentAction, 'cancel' | 'reschedule'>, AppointmentStatus> = {
  confirm: 'confirmed',
  check_in: 'checked_in',
  start: 'in_progress',
  complete: 'completed',
  no_show: 'no_show',
};

/** What staff can do with an appointment in `status`, in the order the buttons show. */
export function actionsFor(status: AppointmentStatus | null): AppointmentAction[] {
  switch (status) {
    case null:
    case 'scheduled':
      return ['confirm', 'check_in', 'no_show', 'reschedule', 'cancel'];
    case 'confirmed':
      return ['check_in', 'no_show', 'reschedule', 'cancel'];
    case 'checked_in':
      return ['start', 'reschedule', 'cancel'];
    case 'in_progress':
      return ['complete'];
    case 'no_show':
    case 'rescheduled':
      return ['reschedule'];
    case 'conflict_needs_rescheduling':
      return ['reschedule', 'cancel'];
    case 'completed':
    case 'cancelled':
      return [];
  }
}

export function statusChangeFields(action: keyof typeof ACTION_STATUS): AppointmentFields {
  return { status: ACTION_STATUS[action] };
}

export type FormErrors = Record<string, string>;

export interface CancelValues {
  reason: string;
  /** `patient`, `clinic` or empty. */
  cancelled_by: string;
}

export function cancelFields(v: CancelValues, now: Date = new Date()): { fields: AppointmentFields; errors: FormErrors } {
  const reason = v.reason.trim();
  const errors: FormErrors = {};
  const code = checkText(reason, true);
  if (code) errors['cancellation.reason'] = appointmentMessage('cancellation.reason', code);
  const cancellation: NonNullable<AppointmentFields['cancellation']> = { reason, cancelled_at: now.toISOString() };
  if (v.cancelled_by.trim()) cancellation.cancelled_by = v.cancelled_by.trim();
  return { fields: { status: 'cancelled', cancellation }, errors };
}

export interface RescheduleValues {
  date: string;
  start_time: string;
  reason: string;
}

/**
 * A new date and time for `a`: date, start_time, status `scheduled` and where it was before.
 * The duration stays, so the new time must still end by midnight.
 */
export function rescheduleFields(
  a: Pick<Appointment, 'date' | 'start_time' | 'duration_minutes'>,
  v: RescheduleValues,
): { fields: AppointmentFields; errors: FormErrors } {
  const errors: FormErrors = {};
  const date = v.date.trim();
  const start = normalizeTimeInput(v.start_time);
  const reason = v.reason.trim();
  if (!date) errors.date = appointmentMessage('date', 'required');
  else if (!parseIsoDate(date)) errors.date = appointmentMessage('date', 'invalid_date');
  const s = start ? parseTime(start) : null;
  if (!start) errors.start_time = appointmentMessage('start_time', 'required');
  else if (s === null) errors.start_time = appointmentMessage('start_time', 'invalid_time');
  else if (a.duration_minutes && s + a.duration_minutes > 24 * 60) {
    errors.start_time = `A ${a.duration_minutes}-minute appointment starting then would run past midnight`;
  }
  if (!errors.date && !errors.start_time && date === a.date && start === a.start_time) {
    errors.start_time = 'Choose a different date or time';
  }
  if (reason) {
    const code = checkText(reason, false);
    if (code) errors['rescheduling.reason'] = appointmentMessage('rescheduling.reason', code);
  }
  const rescheduling: NonNullable<AppointmentFields['rescheduling']> = {};
  if (a.date) rescheduling.previous_date = a.date;
  if (a.start_time) rescheduling.previous_start_time = a.start_time;
  if (reason) rescheduling.reason = reason;
  return { fields: { date, start_time: start, status: 'scheduled', rescheduling }, errors };
}

// ---------- Booking form ----------

export interface AppointmentFormValues {
  patient_id: string;
  provider_id: string;
  date: string;
  start_time: string;
  duration_minutes: string;
  appointment_type: AppointmentType | '';
  mode: ConsultationMode | '';
  reason: string;
  urgency: Urgency | '';
}

/** Form fields in screen order (for focusing the first error). */
export const APPOINTMENT_FORM_ORDER: readonly (keyof AppointmentFormValues)[] = [
  'patient_id',
  'provider_id',
  'date',
  'start_time',
  'duration_minutes',
  'appointment_type',
  'mode',
  'urgency',
  'reason',
];

export function emptyAppointmentForm(date: string, patientId = ''): AppointmentFormValues {
  return {
    patient_id: patientId,
    provider_id: '',
    date,
    start_time: '',
    duration_minutes: String(DEFAULT_DURATION_MINUTES),
    appointment_type: '',
    mode: '',
    reason: '',
    urgency: '',
  };
}

/**
 * The `book_appointment` payload for the form, and its errors keyed by form field. Empty optional
 * fields are left out; status is always `scheduled` (devices never send the server-only status).
 */
export function appointmentFormToFields(
  v: AppointmentFormValues,
  opts: { timeZone?: string } = {},
): { fields: AppointmentFields; errors: FormErrors } {
  const fields: AppointmentFields = { status: 'scheduled' };
  const errors: FormErrors = {};
  if (v.patient_id) fields.patient_id = v.patient_id;
  if (v.provider_id) fields.provider_id = v.provider_id;
  const date = v.date.trim();
  if (date) fields.date = date;
  const start = normalizeTimeInput(v.start_time);
  if (start) fields.start_time = start;
  const d = v.duration_minutes.trim();
  if (d) {
    if (/^\d+$/.test(d)) fields.duration_minutes = Number(d);
    else errors.duration_minutes = appointmentMessage('duration_minutes', 'invalid_number');
  }
  if (v.appointment_type) fields.appointment_type = v.appointment_type;
  if (v.mode) fields.mode = v.mode;
  if (v.urgency) fields.urgency = v.urgency;
  const reason = v.reason.trim();
  if (reason) fields.reason = reason;
  if (isValidTimeZoneName(opts.timeZone)) fields.time_zone = opts.timeZone;

  for (const e of validateAppointmentFields(fields, 'create')) {
    if (e.field in v) errors[e.field] ??= e.message;
  }
  return { fields, errors };
}

// ---------- Field rules (mirror of appointment.rs) ----------

/**
 * Required when booking. The backend also requires `clinic_id`, which the device fills in from its
 * configuration before checking, so it is never missing from the UI's point of view.
 */
export const REQUIRED_ON_BOOKING = [
  'patient_id',
  'provider_id',
  'date',
  'start_time',
  'duration_minutes',
  'status',
] as const;

const LABELS: Record<string, string> = {
  patient_id: 'Patient',
  provider_id: 'Provider',
  clinic_id: 'Clinic',
  date: 'Date',
  start_time: 'Start time',
  duration_minutes: 'Duration',
  appointment_type: 'Type',
  mode: 'Mode',
  reason: 'Reason',
  symptoms: 'Symptoms',
  urgency: 'Urgency',
  time_zone: 'Time zone',
  status: 'Status',
  'cancellation.reason': 'Reason for cancelling',
  'cancellation.cancelled_by': 'Cancelled by',
  'rescheduling.reason': 'Reason for the new time',
  'rescheduling.previous_date': 'Previous date',
  'rescheduling.previous_start_time': 'Previous start time',
};

export function appointmentFieldLabel(field: string): string {
  return LABELS[field.replace(/\[\d+\]/g, '')] ?? field.replace(/[_.[\]]+/g, ' ').trim();
}

/** One wording for an error code on an appointment field, from the client's checks or the backend's. */
export function appointmentMessage(field: string, code: string, fallback?: string): string {
  const label = appointmentFieldLabel(field);
  switch (code) {
    case 'required':
      if (field === 'patient_id') return 'Choose a patient';
      if (field === 'provider_id') return 'Choose a provider';
      if (field === 'cancellation.reason') return 'Say why the appointment is cancelled';
      return `${label} is required`;
    case 'empty':
      return `${label} must not be blank`;
    case 'too_long':
      return `${label} must be at most ${MAX_TEXT} characters`;
    case 'too_many':
      return `${label}: at most ${MAX_LIST} entries`;
    case 'invalid_characters':
      return `${label} must not contain control characters`;
    case 'invalid_date':
      return `${label} must be a real date written YYYY-MM-DD`;
    case 'invalid_time':
      return `${label} must be a time written HH:MM (24-hour), e.g. 09:30`;
    case 'invalid_number':
      return `${label} must be a whole number of minutes`;
    case 'out_of_range':
      return `${label} must be 1 to ${MAX_DURATION_MINUTES} minutes`;
    case 'past_midnight':
      return 'The appointment must end by midnight of its day';
    case 'invalid_time_zone':
      return `${label} must be an IANA name such as Africa/Nairobi`;
    case 'immutable':
      return `${label} is set when booking and cannot change`;
    case 'server_only':
      return `${label} is set by the server, not by this device`;
    case 'invalid_choice':
      return `${label} is not one of the allowed values`;
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

const has = <K extends string>(o: object, k: K): boolean => k in o && (o as Record<K, unknown>)[k] !== undefined;

/** Checks appointment fields the way the backend does: every problem, not just the first. */
export function validateAppointmentFields(f: AppointmentFields, op: 'create' | 'update'): FieldError[] {
  const errors: FieldError[] = [];
  const push = (field: string, code: string | null) => {
    if (code) errors.push({ field, code, message: appointmentMessage(field, code) });
  };
  const raw = f as Record<string, unknown>;
  if (op === 'create') {
    for (const name of REQUIRED_ON_BOOKING) {
      if (raw[name] === undefined || raw[name] === null) push(name, 'required');
    }
  } else {
    if (has(f, 'patient_id')) push('patient_id', 'immutable');
    if (has(raw, 'clinic_id')) push('clinic_id', 'immutable');
    for (const name of ['provider_id', 'date', 'start_time', 'duration_minutes', 'status'] as const) {
      if (raw[name] === null) push(name, 'required');
    }
  }
  if (typeof f.reason === 'string') push('reason', checkText(f.reason, false));
  if (Array.isArray(f.symptoms)) {
    if (f.symptoms.length > MAX_LIST) push('symptoms', 'too_many');
    f.symptoms.forEach((s, i) => push(`symptoms[${i}]`, checkText(s, true)));
  }
  if (typeof f.date === 'string' && !parseIsoDate(f.date)) push('date', 'invalid_date');
  const start = typeof f.start_time === 'string' ? parseTime(f.start_time) : null;
  if (typeof f.start_time === 'string' && start === null) push('start_time', 'invalid_time');
  const d = f.duration_minutes;
  if (typeof d === 'number') {
    if (!Number.isInteger(d) || d < 1 || d > MAX_DURATION_MINUTES) push('duration_minutes', 'out_of_range');
    else if (start !== null && start + d > 24 * 60) push('duration_minutes', 'past_midnight');
  }
  if (f.time_zone !== undefined && f.time_zone !== null && !isValidTimeZoneName(f.time_zone)) {
    push('time_zone', 'invalid_time_zone');
  }
  const choice = (field: string, v: unknown, allowed: readonly unknown[]) => {
    if (v !== undefined && v !== null && !allowed.includes(v)) push(field, 'invalid_choice');
  };
  choice('status', f.status, APPOINTMENT_STATUSES);
  choice('appointment_type', f.appointment_type, APPOINTMENT_TYPES);
  choice('mode', f.mode, CONSULTATION_MODES);
  choice('urgency', f.urgency, URGENCIES);
  if (f.status === 'conflict_needs_rescheduling') push('status', 'server_only');
  for (const name of ['conflict', 'deleted']) {
    if (has(raw, name)) push(name, 'server_only');
  }
  if (f.cancellation) {
    if (f.cancellation.reason !== undefined) push('cancellation.reason', checkText(f.cancellation.reason, false));
    if (f.cancellation.cancelled_by !== undefined) {
      push('cancellation.cancelled_by', checkText(f.cancellation.cancelled_by, false));
    }
  }
  if (f.rescheduling) {
    const r = f.rescheduling;
    if (r.reason !== undefined) push('rescheduling.reason', checkText(r.reason, false));
    if (r.previous_date !== undefined && !parseIsoDate(r.previous_date)) push('rescheduling.previous_date', 'invalid_date');
    if (r.previous_start_time !== undefined && parseTime(r.previous_start_time) === null) {
      push('rescheduling.previous_start_time', 'invalid_time');
    }
  }
  if (Object.values(raw).every((v) => v === undefined)) {
    errors.push({ field: 'fields', code: 'empty', message: 'Nothing to save: no field was changed' });
  }
  return errors;
}

/** Time order: by date, then start time (as `list_appointments` returns them). */
export function compareAppointments(a: Appointment, b: Appointment): number {
  return (a.date ?? '').localeCompare(b.date ?? '') || (a.start_time ?? '').localeCompare(b.start_time ?? '');
}

/** The 15-minute blocks (minutes since midnight) an appointment occupies under the server's slot rule. */
export function slotBlocks(start: string | null, duration: number | null): number[] {
  const s = start ? parseTime(start) : null;
  if (s === null) return [];
  const end = Math.min(s + Math.max(1, duration ?? 1), 24 * 60);
  const out: number[] = [];
  for (let m = s - (s % 15); m < end; m += 15) out.push(m);
  return out;
}

/**
 * A slot-holding appointment of the same provider and day that `c` would collide with under the
 * server's slot rule (they share a 15-minute block), as far as this device knows.
 */
export function findSlotClash(
  existing: readonly Appointment[],
  c: { id?: string; provider_id: string; date: string; start_time: string; duration_minutes: number | null },
): Appointment | null {
  const mine = new Set(slotBlocks(c.start_time, c.duration_minutes));
  if (!mine.size) return null;
  return (
    existing.find(
      (a) =>
        a.id !== c.id &&
        !a.deleted &&
        a.provider_id === c.provider_id &&
        a.date === c.date &&
        holdsSlot(a.status) &&
        slotBlocks(a.start_time, a.duration_minutes).some((b) => mine.has(b)),
    ) ?? null
  );
}
