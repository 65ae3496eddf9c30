// Conflict notes in plain language, and which patient/appointment each one is about.
// Pure: unit-tested in conflicts.test.ts.

import { formatDate } from './format';
import type { ConflictNote } from './types';
import { fieldLabel } from './validation';

export interface ConflictContext {
  /** A display name for a patient id, or null when it is not on this device. */
  patientName?: (id: string) => string | null;
  providerName?: (id: string) => string | null;
  /** The patient name of an appointment (for slot notes seen outside the patient's page). */
  appointmentPatientName?: (appointmentId: string) => string | null;
  /** The patient whose history is shown: duplicates then name the *other* patient. */
  viewpointPatientId?: string;
}

const MAX_VALUE = 48;

function truncate(s: string, max = MAX_VALUE): string {
  const chars = [...s];
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : s;
}

function plainValue(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return v.map(plainValue).filter(Boolean).join('; ');
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    // Allergies and conditions read best as "Penicillin (severe)".
    const head = o.allergen ?? o.condition ?? o.medication ?? o.code;
    if (typeof head === 'string') {
      const rest = [o.severity, o.status].filter((x): x is string => typeof x === 'string');
      return rest.length ? `${head} (${rest.join(', ')})` : head;
    }
    return Object.values(o).map(plainValue).filter(Boolean).join(', ');
  }
  return '';
}

/** A field value as shown in a sentence: `'0722 555 013'`, `(empty)`, `yes`. */
export function formatConflictValue(v: unknown): string {
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  const s = plainValue(v).trim();
  return s ? `'${truncate(s)}'` : '(empty)';
}

const KIND_TITLES: Record<ConflictNote['kind'], string> = {
  field_overwritten: 'Edited on two devices',
  concurrent_amendments: 'Record amended twice',
  slot_taken: 'Slot already taken',
  possible_duplicate: 'Possible duplicate',
};

export function conflictTitle(note: ConflictNote): string {
  return KIND_TITLES[note.kind] ?? 'Conflict';
}

function patientLabel(id: string, ctx: ConflictContext): string {
  return ctx.patientName?.(id) ?? 'a patient not on this device';
}

/** One sentence a receptionist can act on. */
export function conflictSentence(note: ConflictNote, ctx: ConflictContext = {}): string {
  switch (note.kind) {
    case 'field_overwritten': {
      const raw = fieldLabel(note.field);
      const label = raw.charAt(0).toUpperCase() + raw.slice(1);
      const who =
        note.entity === 'patient' && ctx.viewpointPatientId !== note.entity_id && ctx.patientName
          ? ` for ${patientLabel(note.entity_id, ctx)}`
          : '';
      return `${label}${who}: ${formatConflictValue(note.lost_value)} was replaced by ${formatConflictValue(
        note.kept_value,
      )} (edited on two devices at once)`;
    }
    case 'possible_duplicate': {
      const others = note.patients.filter((p) => p !== ctx.viewpointPatientId);
      if (ctx.viewpointPatientId && others.length < note.patients.length) {
        return `Possible duplicate of ${others.map((p) => patientLabel(p, ctx)).join(' and ') || 'another patient'} — ${note.reason}`;
      }
      return `Possible duplicate: ${note.patients.map((p) => patientLabel(p, ctx)).join(' and ')} — ${note.reason}`;
    }
    case 'slot_taken': {
      const provider = ctx.providerName?.(note.provider_id) ?? 'The provider';
      const who = ctx.appointmentPatientName?.(note.lost);
      return `${provider} was already booked at ${note.start_time} on ${formatDate(note.date)} — ${
        who ? `the booking for ${who}` : 'this booking'
      } needs a new time`;
    }
    case 'concurrent_amendments':
      return 'A medical record was amended on two devices at once — both versions kept; reconcile by writing a new amendment';
    default:
      return 'The server recorded a conflict this version of the app cannot describe';
  }
}

export type ConflictTarget =
  | { kind: 'patient'; id: string }
  | { kind: 'appointment'; id: string; date: string }
  | { kind: 'records'; recordId: string };

/** What a note links to (patients, the appointment to reschedule, the record to reconcile). */
export function conflictTargets(note: ConflictNote): ConflictTarget[] {
  switch (note.kind) {
    case 'field_overwritten':
      return note.entity === 'patient' ? [{ kind: 'patient', id: note.entity_id }] : [];
    case 'possible_duplicate':
      return note.patients.map((id) => ({ kind: 'patient', id }));
    case 'slot_taken':
      return [{ kind: 'appointment', id: note.lost, date: note.date }];
    case 'concurrent_amendments':
      // The note carries no patient id; the record is reachable from its patient's Records tab.
      return [{ kind: 'records', recordId: note.record_id }];
    default:
      return [];
  }
}

/** Newest first (RFC 3339 sorts as text when written by one server; ties keep a stable id order). */
export function sortNotesNewestFirst(notes: readonly ConflictNote[]): ConflictNote[] {
  return [...notes].sort((a, b) => {
    const ta = Date.parse(a.detected_at);
    const tb = Date.parse(b.detected_at);
    if (!Number.isNaN(ta) && !Number.isNaN(tb) && ta !== tb) return tb - ta;
    return b.detected_at.localeCompare(a.detected_at) || a.id.localeCompare(b.id);
  });
}

/**
 * The notes about one patient. `list_conflicts({ entityId })` finds notes filed under the patient;
 * a duplicate is filed under the later registration only, and slot and amendment notes under the
 * appointment or record, so those are matched here from the full list.
 */
export function notesForPatient(
  notes: readonly ConflictNote[],
  patientId: string,
  related: { appointmentIds?: Iterable<string>; recordIds?: Iterable<string> } = {},
): ConflictNote[] {
  const appts = new Set(related.appointmentIds ?? []);
  const records = new Set(related.recordIds ?? []);
  const seen = new Set<string>();
  const out: ConflictNote[] = [];
  for (const n of notes) {
    if (seen.has(n.id)) continue;
    const about =
      n.entity_id === patientId ||
      (n.kind === 'possible_duplicate' && n.patients.includes(patientId)) ||
      (n.kind === 'slot_taken' && appts.has(n.lost)) ||
      (n.kind === 'concurrent_amendments' && records.has(n.record_id)) ||
      (n.entity === 'appointment' && appts.has(n.entity_id)) ||
      (n.entity === 'medical_record' && records.has(n.entity_id));
    if (about) {
      seen.add(n.id);
      out.push(n);
    }
  }
  return sortNotesNewestFirst(out);
}

/** Patient ids a list of notes mentions (to look their names up). */
export function patientIdsIn(notes: readonly ConflictNote[]): string[] {
  const ids = new Set<string>();
  for (const n of notes) {
    if (n.entity === 'patient') ids.add(n.entity_id);
    if (n.kind === 'possible_duplicate') n.patients.forEach((p) => ids.add(p));
  }
  return [...ids];
}
