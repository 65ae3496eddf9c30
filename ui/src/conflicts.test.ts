import { describe, expect, it } from 'vitest';
import { conflictSentence, conflictTargets, formatConflictValue, notesForPatient, sortNotesNewestFirst } from './conflicts';
import type { ConflictNote } from './types';

const base = { clinic_id: 'c', detected_at: '2026-03-12T10:00:00Z' };
const overwrite: ConflictNote = {
  ...base,
  id: 'n1',
  entity: 'patient',
  entity_id: 'p1',
  kind: 'field_overwritten',
  field: 'phone',
  kept_value: '0722 555 013',
  kept_hlc: '001741786200000-00000-b',
  lost_value: '0711 555 013',
  lost_hlc: '001741786100000-00000-a',
};
const duplicate: ConflictNote = {
  ...base,
  id: 'n2',
  entity: 'patient',
  entity_id: 'p2',
  detected_at: '2026-03-12T11:00:00Z',
  kind: 'possible_duplicate',
  patients: ['p1', 'p2'],
  reason: 'same national id',
};
const slot: ConflictNote = {
  ...base,
  id: 'n3',
  entity: 'appointment',
  entity_id: 'a2',
  detected_at: '2026-03-11T09:00:00Z',
  kind: 'slot_taken',
  kept: 'a1',
  lost: 'a2',
  provider_id: 'dr1',
  date: '2026-03-12',
  start_time: '10:00',
};
const amendments: ConflictNote = {
  ...base,
  id: 'n4',
  entity: 'medical_record',
  entity_id: 'r1',
  kind: 'concurrent_amendments',
  record_id: 'r1',
  amends: 'v1',
  versions: ['v2', 'v3'],
};
const names: Record<string, string> = { p1: 'Okafor, Amina', p2: 'Okafor, Amina Grace', dr1: 'Dr Wanjiru Kamau' };
const ctx = { patientName: (id: string) => names[id] ?? null, providerName: (id: string) => names[id] ?? null };

describe('conflictSentence', () => {
  it('says which value replaced which', () => {
    expect(conflictSentence(overwrite, { ...ctx, viewpointPatientId: 'p1' })).toBe(
      "Phone: '0711 555 013' was replaced by '0722 555 013' (edited on two devices at once)",
    );
    expect(conflictSentence(overwrite, ctx)).toBe(
      "Phone for Okafor, Amina: '0711 555 013' was replaced by '0722 555 013' (edited on two devices at once)",
    );
    expect(conflictSentence({ ...overwrite, field: 'address', lost_value: { city: 'Enugu' }, kept_value: null })).toBe(
      "Address: 'Enugu' was replaced by (empty) (edited on two devices at once)",
    );
  });

  it('names the other patient of a possible duplicate', () => {
    expect(conflictSentence(duplicate, { ...ctx, viewpointPatientId: 'p1' })).toBe(
      'Possible duplicate of Okafor, Amina Grace — same national id',
    );
    expect(conflictSentence(duplicate, { viewpointPatientId: 'p2' })).toBe(
      'Possible duplicate of a patient not on this device — same national id',
    );
    expect(conflictSentence(duplicate, ctx)).toBe(
      'Possible duplicate: Okafor, Amina and Okafor, Amina Grace — same national id',
    );
  });

  it('describes slot and amendment conflicts', () => {
    expect(conflictSentence(slot, ctx)).toBe(
      'Dr Wanjiru Kamau was already booked at 10:00 on 12 Mar 2026 — this booking needs a new time',
    );
    expect(conflictSentence(slot, { ...ctx, appointmentPatientName: (id) => (id === 'a2' ? 'Nkosi, Thabo' : null) })).toBe(
      'Dr Wanjiru Kamau was already booked at 10:00 on 12 Mar 2026 — the booking for Nkosi, Thabo needs a new time',
    );
    expect(conflictSentence(amendments)).toMatch(/both versions kept; reconcile by writing a new amendment/);
  });

  it('formats values shortly', () => {
    expect(formatConflictValue(null)).toBe('(empty)');
    expect(formatConflictValue([{ allergen: 'Penicillin', severity: 'severe' }, { allergen: 'Latex' }])).toBe(
      "'Penicillin (severe); Latex'",
    );
    expect(formatConflictValue('x'.repeat(100))).toHaveLength(50);
  });
});

describe('which notes belong where', () => {
  it('links notes to patients and appointments', () => {
    expect(conflictTargets(duplicate)).toEqual([
      { kind: 'patient', id: 'p1' },
      { kind: 'patient', id: 'p2' },
    ]);
    expect(conflictTargets(slot)).toEqual([{ kind: 'appointment', id: 'a2', date: '2026-03-12' }]);
  });

  it("collects a patient's notes, including duplicates filed under the other patient", () => {
    const all = [overwrite, duplicate, slot, amendments];
    expect(notesForPatient(all, 'p1').map((n) => n.id)).toEqual(['n2', 'n1']);
    expect(notesForPatient(all, 'p1', { appointmentIds: ['a2'], recordIds: ['r1'] }).map((n) => n.id)).toEqual([
      'n2',
      'n1',
      'n4',
      'n3',
    ]);
    expect(sortNotesNewestFirst(all).map((n) => n.id)).toEqual(['n2', 'n1', 'n4', 'n3']);
  });
});
