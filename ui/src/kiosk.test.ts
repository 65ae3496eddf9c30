import { describe, expect, it } from 'vitest';
import { KIOSK_RESULT_MS, KIOSK_START, kioskReducer, kioskTimeout, type KioskState } from './kiosk';
import type { CheckIn } from './types';

const result: CheckIn = { patient_id: 'p1', initials: 'AO', queue_number: 7, appointment_id: 'a1', walk_in: false };

describe('kiosk state machine', () => {
  it('prompt → checking → result → timeout back to the prompt', () => {
    let s: KioskState = KIOSK_START;
    s = kioskReducer(s, { type: 'submit' });
    expect(s.kind).toBe('checking');
    expect(kioskTimeout(s)).toBeNull();
    s = kioskReducer(s, { type: 'checked_in', seq: s.seq, result });
    expect(s).toMatchObject({ kind: 'result', initials: 'AO', queueNumber: 7 });
    expect(kioskTimeout(s)).toBe(KIOSK_RESULT_MS);
    s = kioskReducer(s, { type: 'timeout', seq: s.seq });
    expect(s.kind).toBe('prompt');
  });

  it('errors in patient words, then back', () => {
    let s = kioskReducer(KIOSK_START, { type: 'submit' });
    s = kioskReducer(s, { type: 'failed', seq: s.seq, error: { code: 'card_rejected', reason: 'expired', message: 'x' } });
    expect(s).toMatchObject({ kind: 'error' });
    expect(s.kind === 'error' && s.message).toMatch(/expired/);
    expect(kioskReducer(s, { type: 'timeout', seq: s.seq }).kind).toBe('prompt');
    expect(kioskReducer(s, { type: 'dismiss' }).kind).toBe('prompt');
  });

  it('a stale timer does not cut the next patient short', () => {
    let s = kioskReducer(KIOSK_START, { type: 'submit' });
    s = kioskReducer(s, { type: 'checked_in', seq: s.seq, result });
    const oldSeq = s.seq;
    // The next patient scans while the first result is still showing.
    s = kioskReducer(s, { type: 'submit' });
    s = kioskReducer(s, { type: 'checked_in', seq: s.seq, result: { ...result, queue_number: 8 } });
    expect(kioskReducer(s, { type: 'timeout', seq: oldSeq })).toBe(s);
    expect(s).toMatchObject({ kind: 'result', queueNumber: 8 });
  });

  it('ignores a second scan while one is in flight, and late answers', () => {
    const checking = kioskReducer(KIOSK_START, { type: 'submit' });
    expect(kioskReducer(checking, { type: 'submit' })).toBe(checking);
    expect(kioskReducer(checking, { type: 'checked_in', seq: checking.seq + 5, result })).toBe(checking);
    expect(kioskReducer(KIOSK_START, { type: 'checked_in', seq: 0, result })).toBe(KIOSK_START);
  });

  it('a mistyped code shows its problem without a call', () => {
    const s = kioskReducer(KIOSK_START, { type: 'invalid', message: 'The card number has 12 digits — you typed 5.' });
    expect(s).toMatchObject({ kind: 'error', message: 'The card number has 12 digits — you typed 5.' });
  });
});
