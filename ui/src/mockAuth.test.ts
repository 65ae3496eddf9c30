import { describe, expect, it } from 'vitest';
import { createMockBackend } from './mockBackend';
import {
  createMockAuth,
  DEMO_ENROLMENT_CODE,
  DEMO_PASSWORD,
  DEMO_PIN,
  DEMO_TOTP,
  LOCKOUT_MS,
  REVOKED_NOTICE,
} from './mockAuth';
import type { ApiError, AuditEntry, DeviceState, Patient } from './types';

function setup(flagList: string[] = [], online = true) {
  let t = Date.parse('2026-03-02T10:00:00Z');
  let n = 0;
  const events: DeviceState[] = [];
  const auth = createMockAuth({
    flags: new Set(flagList),
    clinicId: 'c1',
    deviceId: 'dev-1',
    online: () => online,
    emit: (s) => events.push(s),
    now: () => t,
    uuid: () => `id-${n++}`,
  });
  const call = (cmd: string, args: Record<string, unknown> = {}) => auth.handlers[cmd](args) as DeviceState;
  const refusal = (cmd: string, args: Record<string, unknown> = {}): ApiError => {
    try {
      auth.handlers[cmd](args);
    } catch (e) {
      return e as ApiError;
    }
    throw new Error(`${cmd} did not fail`);
  };
  return {
    auth,
    call,
    refusal,
    events,
    advance: (ms: number) => (t += ms),
    now: () => t,
  };
}

describe('mock accounts: sign-in', () => {
  it('signs in, and locks an account for 20 minutes after 5 wrong passwords', () => {
    const m = setup(['signedout']);
    expect(m.call('device_state').user).toBeNull();
    for (let i = 0; i < 4; i++) {
      expect(m.refusal('sign_in', { username: 'frontdesk', password: 'wrong' }).code).toBe('invalid_credentials');
    }
    const locked = m.refusal('sign_in', { username: 'frontdesk', password: 'wrong' });
    expect(locked.code).toBe('account_locked');
    expect(Date.parse(locked.until ?? '') - m.now()).toBe(LOCKOUT_MS);
    // Even the right password waits for the lockout.
    expect(m.refusal('sign_in', { username: 'frontdesk', password: DEMO_PASSWORD }).code).toBe('account_locked');
    const known = m.call('device_state').known_users.find((u) => u.username === 'frontdesk');
    expect(known?.locked_until).toBe(locked.until);
    // Another account is not affected.
    expect(m.call('sign_in', { username: 'clinician', password: DEMO_PASSWORD }).user?.username).toBe('clinician');
    m.advance(LOCKOUT_MS + 1);
    const s = m.call('sign_in', { username: 'frontdesk', password: DEMO_PASSWORD });
    expect(s.user?.role).toBe('front_desk');
    expect(s.locked).toBe(false);
  });

  it('asks for the TOTP code, refuses disabled accounts, and needs the server for a first sign-in', () => {
    const m = setup(['signedout']);
    const mfa = m.refusal('sign_in', { username: 'admin', password: DEMO_PASSWORD });
    expect(mfa).toMatchObject({ code: 'mfa_required', field: 'totp' });
    expect(m.refusal('sign_in', { username: 'admin', password: DEMO_PASSWORD, totp: '000000' }).code).toBe('mfa_required');
    expect(m.call('sign_in', { username: 'admin', password: DEMO_PASSWORD, totp: DEMO_TOTP }).user?.role).toBe('clinic_admin');
    expect(m.refusal('sign_in', { username: 'former', password: DEMO_PASSWORD }).code).toBe('account_disabled');

    const offline = setup(['signedout'], false);
    expect(offline.refusal('sign_in', { username: 'nurse', password: DEMO_PASSWORD }).code).toBe('offline');
    // Staff who signed in here before work offline.
    expect(offline.call('sign_in', { username: 'clinician', password: DEMO_PASSWORD }).user?.username).toBe('clinician');
  });
});

describe('mock accounts: lock and PIN', () => {
  it('locks, unlocks with the PIN, and signs out after 5 wrong PINs', () => {
    const m = setup();
    expect(m.call('device_state')).toMatchObject({ locked: false, pin_set: true });
    expect(m.call('lock').locked).toBe(true);
    expect(m.refusal('unlock_with_pin', { pin: '9999' }).code).toBe('invalid_credentials');
    expect(m.call('unlock_with_pin', { pin: DEMO_PIN }).locked).toBe(false);

    m.call('lock');
    for (let i = 0; i < 4; i++) expect(m.refusal('unlock_with_pin', { pin: '0000' }).code).toBe('invalid_credentials');
    expect(m.refusal('unlock_with_pin', { pin: '0000' }).code).toBe('signed_out');
    const s = m.call('device_state');
    expect(s.user).toBeNull();
    expect(m.events.at(-1)?.user).toBeNull();
    // The password brings the user back.
    expect(m.call('sign_in', { username: 'clinician', password: DEMO_PASSWORD }).locked).toBe(false);
  });

  it('sets a PIN of 4 to 8 digits', () => {
    const m = setup(['nopin']);
    expect(m.call('device_state').pin_set).toBe(false);
    expect(m.refusal('set_pin', { pin: '12' }).code).toBe('validation_failed');
    expect(m.refusal('set_pin', { pin: 'abcd' }).code).toBe('validation_failed');
    expect(m.call('set_pin', { pin: '24680' }).pin_set).toBe(true);
    m.call('lock');
    expect(m.call('unlock_with_pin', { pin: '24680' }).locked).toBe(false);
  });

  it('locks by itself after 5 minutes without activity, and a touch keeps it open', () => {
    const m = setup();
    m.advance(4 * 60_000);
    m.call('touch');
    m.advance(4 * 60_000);
    m.auth.tick();
    expect(m.call('device_state').locked).toBe(false);
    m.advance(2 * 60_000);
    m.auth.tick();
    expect(m.call('device_state').locked).toBe(true);
    expect(m.events.at(-1)?.locked).toBe(true);
  });

  it('logs views once a minute and shows them to clinic admins only', () => {
    const m = setup(['signedout']);
    m.call('sign_in', { username: 'clinician', password: DEMO_PASSWORD });
    m.auth.logView('view_patient', 'p1');
    expect(m.refusal('local_access_history', { patientId: 'p1' })).toMatchObject({
      code: 'forbidden',
      field: 'access_history',
    });
    m.call('sign_in', { username: 'admin', password: DEMO_PASSWORD, totp: DEMO_TOTP });
    m.auth.logView('view_patient', 'p1');
    m.auth.logView('view_patient', 'p1');
    m.auth.logView('view_record', 'p2');
    const history = m.auth.handlers.local_access_history({ patientId: 'p1' }) as AuditEntry[];
    expect(history.map((e) => [e.action, e.user_id, e.device_id])).toEqual([
      ['view_patient', expect.any(String), 'dev-1'],
      ['view_patient', expect.any(String), 'dev-1'],
    ]);
    expect(new Set(history.map((e) => e.user_id)).size).toBe(2);
  });
});

describe('mock accounts: enrolment and wipe', () => {
  it('enrols with a code and a staff sign-in', () => {
    const m = setup(['unenrolled']);
    expect(m.call('device_state')).toMatchObject({ enrolled: false, device: null, user: null });
    expect(m.refusal('sign_in', { username: 'clinician', password: DEMO_PASSWORD }).code).toBe('device_not_enrolled');
    expect(m.refusal('enrol_device', { code: 'NOPE-0000', deviceName: 'Laptop', username: 'clinician', password: DEMO_PASSWORD }).code).toBe(
      'invalid_enrolment_code',
    );
    const s = m.call('enrol_device', {
      code: DEMO_ENROLMENT_CODE.toLowerCase(),
      deviceName: 'Front desk laptop 2',
      username: 'nurse',
      password: DEMO_PASSWORD,
    });
    expect(s).toMatchObject({ enrolled: true, locked: false, notice: null });
    expect(s.device?.name).toBe('Front desk laptop 2');
    expect(s.user?.username).toBe('nurse');
  });

  it('stays enrolled when the sign-in that completes enrolment fails', () => {
    const m = setup(['unenrolled']);
    const args = { code: DEMO_ENROLMENT_CODE, deviceName: 'Admin PC', username: 'admin', password: DEMO_PASSWORD };
    expect(m.refusal('enrol_device', args).code).toBe('mfa_required');
    expect(m.call('device_state')).toMatchObject({ enrolled: true, user: null });
    expect(m.call('sign_in', { username: 'admin', password: DEMO_PASSWORD, totp: DEMO_TOTP }).user?.username).toBe('admin');
  });

  it('a revoked device shows the notice and refuses everything', () => {
    const m = setup();
    m.auth.controls.revoke();
    const s = m.call('device_state');
    expect(s).toMatchObject({ enrolled: false, user: null, notice: REVOKED_NOTICE });
    expect(m.refusal('sign_in', { username: 'clinician', password: DEMO_PASSWORD }).code).toBe('device_revoked');
    expect(() => m.auth.guard()).toThrow();
  });
});

describe('mock backend: data commands behind the session', () => {
  it('refuses data commands while locked or signed out', async () => {
    const b = createMockBackend('?mock=locked');
    expect((await b.invoke<DeviceState>('device_state')).locked).toBe(true);
    await expect(b.invoke('list_patients', { query: '', limit: 5 })).rejects.toMatchObject({ code: 'locked' });
    await b.invoke('unlock_with_pin', { pin: DEMO_PIN });
    expect((await b.invoke<Patient[]>('list_patients', { query: '', limit: 5 })).length).toBe(5);
    await b.invoke('sign_out');
    await expect(b.invoke('list_patients', { query: '', limit: 5 })).rejects.toMatchObject({ code: 'signed_out' });
  });

  it('hides clinical data from front desk and refuses its clinical writes', async () => {
    const b = createMockBackend('?mock=frontdesk');
    const [p] = await b.invoke<Patient[]>('list_patients', { query: 'okafor', limit: 5 });
    expect(p.allergies).toBeNull();
    expect(p.blood_type).toBeNull();
    expect(p.phone).not.toBeNull();
    await expect(b.invoke('list_records', { patientId: p.id })).rejects.toMatchObject({
      code: 'forbidden',
      field: 'medical_record',
    });
    await expect(b.invoke('update_patient', { id: p.id, fields: { blood_type: 'A+' } })).rejects.toMatchObject({
      code: 'forbidden',
      field: 'blood_type',
    });
    await expect(b.invoke('local_access_history', { patientId: p.id })).rejects.toMatchObject({ code: 'forbidden' });
    const saved = await b.invoke<Patient>('update_patient', { id: p.id, fields: { phone: '0711 000 111' } });
    expect(saved.phone).toBe('0711 000 111');
  });

  it('shows a clinic admin the access history, newest first', async () => {
    const b = createMockBackend('?mock=admin');
    const [p] = await b.invoke<Patient[]>('list_patients', { query: 'okafor', limit: 5 });
    await b.invoke('get_patient', { id: p.id });
    const entries = await b.invoke<AuditEntry[]>('local_access_history', { patientId: p.id });
    expect(entries.length).toBeGreaterThan(3);
    expect(entries[0].action).toBe('view_patient');
    expect(entries.every((e) => e.patient_id === p.id)).toBe(true);
    expect([...entries].sort((x, y) => y.at.localeCompare(x.at))).toEqual(entries);

    const quiet = createMockBackend('?mock=admin,noaudit');
    const [q] = await quiet.invoke<Patient[]>('list_patients', { query: 'okafor', limit: 5 });
    expect(await quiet.invoke<AuditEntry[]>('local_access_history', { patientId: q.id })).toEqual([]);
  });
});
