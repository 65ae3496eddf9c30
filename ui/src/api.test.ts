import { describe, expect, it, vi } from 'vitest';
import { describeError, toApiError } from './api';
import { createMockBackend } from './mockBackend';
import type {
  ApiError,
  Appointment,
  ConflictNote,
  MedicalRecordVersion,
  Patient,
  Provider,
  RecordVersionView,
  SyncStatus,
} from './types';

describe('toApiError', () => {
  it('keeps the contract shape', () => {
    const e = toApiError({
      code: 'validation_failed',
      message: 'bad',
      errors: [{ field: 'phone', code: 'invalid_phone', message: 'x' }],
    });
    expect(e).toEqual({
      code: 'validation_failed',
      message: 'bad',
      errors: [{ field: 'phone', code: 'invalid_phone', message: 'x' }],
    });
  });

  it('turns strings and Errors into internal errors', () => {
    expect(toApiError('command list_patients not found')).toEqual({
      code: 'internal',
      message: 'command list_patients not found',
    });
    expect(toApiError(new Error('boom'))).toEqual({ code: 'internal', message: 'boom' });
    expect(toApiError(undefined).code).toBe('internal');
  });

  it('describes errors for the banner', () => {
    expect(describeError({ code: 'storage', message: 'disk full' })).toMatch(/storage.*disk full/);
  });
});

describe('mock backend', () => {
  it('registers, finds and refuses like the contract says', async () => {
    const b = createMockBackend('?mock=empty');
    expect(await b.invoke<Patient[]>('list_patients', { query: '', limit: 10 })).toEqual([]);
    const p = await b.invoke<Patient>('register_patient', {
      fields: { given_name: 'Amina', family_name: 'Okafor', date_of_birth: '1988-04-12', phone: '0712 345 678' },
    });
    expect(p.pending).toBe(true);
    expect((await b.invoke<Patient[]>('list_patients', { query: 'okaf', limit: 10 })).map((x) => x.id)).toEqual([p.id]);
    expect((await b.invoke<Patient[]>('list_patients', { query: '0712345', limit: 10 })).length).toBe(1);
    expect((await b.invoke<SyncStatus>('sync_status')).pending).toBe(1);

    const err = await b.invoke('register_patient', { fields: { given_name: 'X' } }).catch((e: ApiError) => e);
    expect(err).toMatchObject({ code: 'validation_failed' });
    expect((err as ApiError).errors?.map((e) => e.field)).toEqual(['family_name', 'date_of_birth']);

    await expect(b.invoke('get_patient', { id: 'missing' })).rejects.toMatchObject({ code: 'not_found' });
  });
});

describe('mock backend: clinic data', () => {
  it('books, refuses bad bookings, and applies the slot rule at sync', async () => {
    vi.useFakeTimers();
    try {
      const b = createMockBackend('?mock=empty');
      // Lets the mock's latency timer fire; the promise is observed before time moves on.
      const run = async <T,>(p: Promise<T>): Promise<T> => {
        const settled = p.then(
          (value) => ({ ok: true as const, value }),
          (error: unknown) => ({ ok: false as const, error }),
        );
        await vi.advanceTimersByTimeAsync(100);
        const r = await settled;
        if (r.ok) return r.value;
        throw r.error;
      };
      const [provider] = await run(b.invoke<Provider[]>('list_providers'));
      const p = await run(
        b.invoke<Patient>('register_patient', { fields: { given_name: 'A', family_name: 'B', date_of_birth: '1990-01-01' } }),
      );
      const fields = { patient_id: p.id, provider_id: provider.id, date: '2030-01-02', start_time: '10:00', duration_minutes: 30, status: 'scheduled' };
      const first = await run(b.invoke<Appointment>('book_appointment', { fields }));
      expect(first).toMatchObject({ pending: true, status: 'scheduled', clinic_id: expect.any(String) as string });

      const bad = run(b.invoke('book_appointment', { fields: { ...fields, status: 'conflict_needs_rescheduling' } })).catch(
        (e: ApiError) => e,
      );
      expect(await bad).toMatchObject({ code: 'validation_failed', errors: [{ field: 'status', code: 'server_only' }] });
      const unknown = run(b.invoke('book_appointment', { fields: { ...fields, colour: 'red' } })).catch((e: unknown) => e);
      expect(await unknown).toMatch(/unknown field `colour`/);

      // Sync: the first booking keeps its slot; a later overlapping one loses it.
      b.invoke('sync_now').catch(() => undefined);
      await vi.advanceTimersByTimeAsync(5000);
      const second = await run(b.invoke<Appointment>('book_appointment', { fields: { ...fields, start_time: '10:15' } }));
      b.invoke('sync_now').catch(() => undefined);
      await vi.advanceTimersByTimeAsync(5000);
      const day = await run(b.invoke<Appointment[]>('list_appointments', { date: '2030-01-02' }));
      expect(day.map((a) => [a.id, a.status])).toEqual([
        [first.id, 'scheduled'],
        [second.id, 'conflict_needs_rescheduling'],
      ]);
      const notes = await run(b.invoke<ConflictNote[]>('list_conflicts', { entityId: second.id }));
      expect(notes).toMatchObject([{ kind: 'slot_taken', kept: first.id, lost: second.id }]);
      expect((await run(b.invoke<SyncStatus>('sync_status'))).conflicts).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('keeps record versions append-only and flags concurrent amendments', async () => {
    const b = createMockBackend('?mock=empty');
    const p = await b.invoke<Patient>('register_patient', {
      fields: { given_name: 'A', family_name: 'B', date_of_birth: '1990-01-01' },
    });
    const v1 = await b.invoke<MedicalRecordVersion>('add_record', {
      fields: { patient_id: p.id, author: 'Dr A', consultation_notes: 'first' },
    });
    expect(v1.record_id).toBe(v1.id);
    const x = await b.invoke<MedicalRecordVersion>('amend_record', {
      amends: v1.id,
      fields: { patient_id: p.id, author: 'Dr A', consultation_notes: 'second' },
    });
    await b.invoke('amend_record', { amends: v1.id, fields: { patient_id: p.id, author: 'Dr B', plan: 'other' } });
    const views = await b.invoke<RecordVersionView[]>('list_records', { patientId: p.id });
    expect(views.map((v) => [v.id === v1.id, v.superseded, v.concurrent_amendment, v.sync])).toEqual([
      [true, true, false, 'pending'],
      [false, false, true, 'pending'],
      [false, false, true, 'pending'],
    ]);
    expect(views[1].id).toBe(x.id);
    const empty = await b
      .invoke('add_record', { fields: { patient_id: p.id, author: 'Dr A' } })
      .catch((e: ApiError) => e);
    expect(empty).toMatchObject({ code: 'validation_failed', errors: [{ field: 'fields', code: 'empty' }] });
    const nullList = await b
      .invoke('add_record', { fields: { patient_id: p.id, author: 'Dr A', plan: 'x', diagnoses: null } })
      .catch((e: unknown) => e);
    expect(nullList).toMatch(/expected a sequence/);
  });

  it('deletes a patient: gone from the list, still readable, no longer editable', async () => {
    const b = createMockBackend('?mock=empty');
    const p = await b.invoke<Patient>('register_patient', {
      fields: { given_name: 'A', family_name: 'B', date_of_birth: '1990-01-01' },
    });
    expect(await b.invoke<Patient>('delete_patient', { id: p.id })).toMatchObject({ deleted: true });
    expect(await b.invoke<Patient[]>('list_patients', { query: '', limit: 10 })).toEqual([]);
    expect(await b.invoke<Patient>('get_patient', { id: p.id })).toMatchObject({ deleted: true });
    await expect(b.invoke('update_patient', { id: p.id, fields: { phone: null } })).rejects.toMatchObject({
      code: 'not_found',
    });
  });
});
