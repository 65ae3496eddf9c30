import { describe, expect, it } from 'vitest';
import { createMockBackend } from './mockBackend';
import { createMockCards, decodeNumeric, encodeNumeric, mockCardText } from './mockCards';
import type { ApiError, CardCheck, CheckIn, DeviceState, Patient, PrintableCard } from './types';
import { scanText } from './wedge';

async function refusal(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (e) {
    return e as ApiError;
  }
  throw new Error('expected a refusal');
}

describe('mock cards', () => {
  it('numeric encoding round trips', () => {
    expect(decodeNumeric(encodeNumeric('AH-2041-7731.abc'))).toBe('AH-2041-7731.abc');
    expect(decodeNumeric('9')).toBeNull();
    expect(scanText(mockCardText('AH-2041-7731'))).not.toBeNull();
  });

  it('demo cards check out as labelled', () => {
    const patients: Patient[] = [
      { id: 'p1', given_name: 'Amina', family_name: 'Okafor', health_card_id: 'AH-2041-7731' },
      { id: 'p2', given_name: 'Grace', family_name: 'Achieng', health_card_id: 'AH-5521-9004' },
    ] as Patient[];
    const cards = createMockCards({ patient: (id) => patients.find((p) => p.id === id) });
    cards.seed(patients);
    for (const d of cards.demo) {
      let got = 'valid';
      try {
        cards.verify(d.text);
      } catch (e) {
        got = (e as ApiError).reason ?? (e as ApiError).code;
      }
      expect(got, d.label).toBe(d.expect);
    }
    expect(new Set(cards.demo.map((d) => d.expect))).toEqual(new Set(['valid', 'expired', 'revoked', 'forged', 'unknown_patient']));
  });
});

describe('mock check-in and kiosk commands', () => {
  it('gives queue numbers in order, the same one again for the same patient, works offline', async () => {
    const b = createMockBackend('?mock=frontdesk,offline');
    const demo = (globalThis as unknown as { anolaMock?: unknown }).anolaMock; // node: no window
    expect(demo).toBeUndefined();
    // Valid demo cards: read them through verify_card by fallback code of a freshly seeded mock.
    const patients = await b.invoke<Patient[]>('list_patients', { query: '', limit: 50 });
    const withCard = patients.filter((p) => p.health_card_id && p.given_name !== 'Grace');
    expect(withCard.length).toBeGreaterThanOrEqual(2);
    const [a, c] = withCard;
    const first = await b.invoke<CheckIn>('check_in', { text: mockCardText(a.health_card_id!) });
    const second = await b.invoke<CheckIn>('check_in', { text: mockCardText(c.health_card_id!) });
    const again = await b.invoke<CheckIn>('check_in', { text: mockCardText(a.health_card_id!) });
    expect(first.queue_number).toBe(1);
    expect(second.queue_number).toBe(2);
    expect(again.queue_number).toBe(1);
    expect(first.initials).toHaveLength(2);
    expect(first.patient_id).toBe(a.id);
  });

  it('issues cards online only, revoking the earlier card', async () => {
    const b = createMockBackend('?mock=frontdesk');
    const patients = await b.invoke<Patient[]>('list_patients', { query: 'Okafor', limit: 5 });
    const p = patients[0];
    const oldText = mockCardText(p.health_card_id!);
    const card = await b.invoke<PrintableCard>('issue_card', { patientId: p.id });
    expect(card.svg).toContain('<svg');
    expect(card.fallback_code).toMatch(/^\d{4}-\d{4}-\d{4}$/);
    const check = await b.invoke<CardCheck>('verify_card', { text: card.qr_text });
    expect(check.patient.id).toBe(p.id);
    expect((await b.invoke<CardCheck>('verify_card', { text: card.fallback_code })).card_id).toBe(card.card_id);
    expect(await refusal(b.invoke('verify_card', { text: oldText }))).toMatchObject({ code: 'card_rejected', reason: 'revoked' });

    const off = createMockBackend('?mock=frontdesk,offline');
    const q = await off.invoke<Patient[]>('list_patients', { query: 'Okafor', limit: 5 });
    expect(await refusal(off.invoke('issue_card', { patientId: q[0].id }))).toMatchObject({ code: 'offline' });
  });

  it('kiosk mode needs a PIN to enter and to leave; only check-in runs inside', async () => {
    const noPin = createMockBackend('?mock=nopin');
    expect(await refusal(noPin.invoke('enter_kiosk'))).toMatchObject({ code: 'pin_required' });

    const b = createMockBackend('');
    const s = await b.invoke<DeviceState>('enter_kiosk');
    expect(s.kiosk).toBe(true);
    expect(await refusal(b.invoke('list_patients', { query: '', limit: 5 }))).toMatchObject({ code: 'forbidden' });
    expect(await refusal(b.invoke('leave_kiosk', { pin: '0000' }))).toMatchObject({ code: 'invalid_credentials' });
    const out = await b.invoke<DeviceState>('leave_kiosk', { pin: '1234' });
    expect(out.kiosk).toBe(false);

    const kioskDevice = createMockBackend('?mock=kiosk');
    expect((await kioskDevice.invoke<DeviceState>('device_state')).kiosk).toBe(true);
  });
});
