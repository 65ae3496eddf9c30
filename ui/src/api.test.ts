import { describe, expect, it } from 'vitest';
import { describeError, toApiError } from './api';
import { createMockBackend } from './mockBackend';
import type { ApiError, Patient, SyncStatus } from './types';

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
