// Display helpers. Pure functions (no DOM), unit-tested in format.test.ts.

import type { AllergySeverity, ConditionStatus, Gender, Patient } from './types';
import { parseIsoDate } from './validation';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "Family, Given Middle" — the same shape the backend uses for lists. */
export function displayName(p: Pick<Patient, 'given_name' | 'family_name' | 'middle_name'>): string {
  const family = p.family_name?.trim() || '(no family name)';
  const given = [p.given_name, p.middle_name]
    .map((s) => s?.trim())
    .filter(Boolean)
    .join(' ');
  return `${family}, ${given || '(no given name)'}`;
}

/** `1988-04-12` → `12 Apr 1988`; unparseable input is returned as is. */
export function formatDate(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = parseIsoDate(iso);
  if (!d) return iso;
  return `${d.day} ${MONTHS[d.month - 1]} ${d.year}`;
}

export interface Age {
  years: number;
  months: number;
  days: number;
}

/** Completed years, months and days between a date of birth and `today` (both `YYYY-MM-DD`). */
export function ageOn(dob: string, today: string): Age | null {
  const b = parseIsoDate(dob);
  const t = parseIsoDate(today);
  if (!b || !t || dob > today) return null;
  let years = t.year - b.year;
  let months = t.month - b.month;
  let days = t.day - b.day;
  if (days < 0) {
    months -= 1;
    // Days since the last monthly anniversary, which falls in the month before today's month
    // (on its last day when that month is too short, e.g. born on the 31st).
    const prevMonthDays = new Date(Date.UTC(t.year, t.month - 1, 0)).getUTCDate();
    days = prevMonthDays - Math.min(b.day, prevMonthDays) + t.day;
  }
  if (months < 0) {
    years -= 1;
    months += 12;
  }
  return { years, months, days };
}

/** Short clinical age: `37 y`, `14 mo` under two years, `12 d` under a month. */
export function formatAge(dob: string | null | undefined, today: string): string {
  if (!dob) return '';
  const a = ageOn(dob, today);
  if (!a) return '';
  if (a.years >= 2) return `${a.years} y`;
  const months = a.years * 12 + a.months;
  if (months >= 1) return `${months} mo`;
  return `${a.days} d`;
}

/** `12 Apr 1988 (37 y)`, or an empty string when there is no date of birth. */
export function formatDobWithAge(dob: string | null | undefined, today: string): string {
  if (!dob) return '';
  const age = formatAge(dob, today);
  return age ? `${formatDate(dob)} (${age})` : formatDate(dob);
}

const pad = (n: number) => String(n).padStart(2, '0');

/** Local `HH:MM` of an RFC 3339 timestamp, or null if it does not parse. */
export function formatClock(rfc3339: string): string | null {
  const d = new Date(rfc3339);
  if (Number.isNaN(d.getTime())) return null;
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/**
 * "Last synced 14:05" today; older syncs add the day ("Last synced 09:12 (yesterday)",
 * "Last synced 17:40 (3 Mar)") because a device may stay offline for days.
 */
export function formatLastSynced(rfc3339: string | null, now: Date = new Date()): string {
  if (!rfc3339) return 'Never synced';
  const d = new Date(rfc3339);
  const clock = formatClock(rfc3339);
  if (!clock) return 'Never synced';
  const sameDay = (a: Date, b: Date) =>
    a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
  if (sameDay(d, now)) return `Last synced ${clock}`;
  const yesterday = new Date(now.getFullYear(), now.getMonth(), now.getDate() - 1);
  if (sameDay(d, yesterday)) return `Last synced ${clock} (yesterday)`;
  const day = `${d.getDate()} ${MONTHS[d.getMonth()]}`;
  return `Last synced ${clock} (${d.getFullYear() === now.getFullYear() ? day : `${day} ${d.getFullYear()}`})`;
}

/** A full local timestamp for tooltips: `2025-03-04 17:40:12`. */
export function formatTimestamp(rfc3339: string): string {
  const d = new Date(rfc3339);
  if (Number.isNaN(d.getTime())) return rfc3339;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export const GENDER_LABELS: Record<Gender, string> = {
  male: 'Male',
  female: 'Female',
  other: 'Other',
  prefer_not_to_say: 'Prefer not to say',
};

export const SEVERITY_LABELS: Record<AllergySeverity, string> = {
  mild: 'Mild',
  moderate: 'Moderate',
  severe: 'Severe',
  'life-threatening': 'Life-threatening',
};

export const STATUS_LABELS: Record<ConditionStatus, string> = {
  active: 'Active',
  managed: 'Managed',
  resolved: 'Resolved',
};

/** `1 pending change` / `3 pending changes`. */
export function plural(n: number, one: string, many: string = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

const DAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** `Thursday 12 Mar 2026`, with `Today`/`Tomorrow`/`Yesterday` in front when it is one of those. */
export function formatDayHeading(iso: string, today: string): string {
  const d = parseIsoDate(iso);
  if (!d) return iso;
  const weekday = DAY_NAMES[new Date(Date.UTC(d.year, d.month - 1, d.day)).getUTCDay()];
  const t = parseIsoDate(today);
  let rel = '';
  if (t) {
    const diff = Math.round((Date.UTC(d.year, d.month - 1, d.day) - Date.UTC(t.year, t.month - 1, t.day)) / 86_400_000);
    rel = diff === 0 ? 'Today' : diff === 1 ? 'Tomorrow' : diff === -1 ? 'Yesterday' : '';
  }
  const text = `${weekday} ${formatDate(iso)}`;
  return rel ? `${rel} · ${text}` : text;
}

/** `12 Mar 2026 14:05` (local time) of an RFC 3339 timestamp; unparseable input is returned as is. */
export function formatDateTime(rfc3339: string): string {
  const d = new Date(rfc3339);
  if (Number.isNaN(d.getTime())) return rfc3339;
  return `${d.getDate()} ${MONTHS[d.getMonth()]} ${d.getFullYear()} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
