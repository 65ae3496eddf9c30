import { afterEach, describe, expect, it, vi } from 'vitest';
import { accessActionLabel, accessDeviceLabel, accessUserLabel, groupAccessEntries } from './accessHistory';
import { api, describeError, onSessionError, setBackendForTesting, setCurrentRole, toApiError } from './api';
import {
  attemptsLeft,
  authErrorMessage,
  pinExhausted,
  wrongPinMessage,
  lockedUntilLabel,
  lockoutMessage,
  pinProblem,
  screenFor,
  signedOutBecause,
  throttle,
  TOO_MANY_PINS,
  validPin,
} from './auth';
import { accessOf } from './roles';
import type { AuditEntry, DeviceState, SessionUser } from './types';

const user = (over: Partial<SessionUser> = {}): SessionUser => ({
  id: 'u1',
  username: 'clinician',
  display_name: 'Dr Wanjiru Kamau',
  user_type: 'provider',
  role: 'clinician',
  clinic_id: 'c1',
  field_worker_id: null,
  platform_admin: false,
  totp_enabled: false,
  disabled_at: null,
  ...over,
});

const state = (over: Partial<DeviceState> = {}): DeviceState => ({
  enrolled: true,
  device: { device_id: 'd1', name: 'Reception laptop', clinic_id: 'c1', role: 'clinic_admin', field_worker_id: null },
  user: user(),
  locked: false,
  pin_set: true,
  known_users: [],
  notice: null,
  ...over,
});

/** A local time today (the messages show local HH:MM). */
const todayAt = (h: number, m: number) => {
  const d = new Date();
  d.setHours(h, m, 0, 0);
  return d;
};

describe('gate: device state → screen', () => {
  it('maps every state to one screen', () => {
    expect(screenFor(null)).toBe('loading');
    expect(screenFor(state({ enrolled: false, device: null, user: null }))).toBe('enrol');
    expect(screenFor(state({ enrolled: false, device: null, user: null, notice: 'revoked' }))).toBe('enrol');
    expect(screenFor(state({ user: null }))).toBe('sign_in');
    expect(screenFor(state({ user: null, locked: true }))).toBe('sign_in');
    expect(screenFor(state({ locked: true }))).toBe('locked');
    expect(screenFor(state())).toBe('app');
    expect(screenFor(state({ user: user({ role: 'front_desk' }) }))).toBe('app');
  });

  it('shows the kiosk placeholder on a kiosk device, and the lock screen before it', () => {
    const kiosk = state({ device: { device_id: 'd', name: 'Kiosk', clinic_id: 'c1', role: 'kiosk', field_worker_id: null } });
    expect(screenFor(kiosk)).toBe('kiosk');
    expect(screenFor({ ...kiosk, locked: true })).toBe('locked');
  });

  it('refuses accounts without a clinic role, except platform admins', () => {
    expect(screenFor(state({ user: user({ role: null }) }))).toBe('no_role');
    expect(screenFor(state({ user: user({ role: null, platform_admin: true }) }))).toBe('app');
  });

  it("uses the backend's effective role when it sends one", () => {
    // A clinician on a front-desk device acts as front desk.
    const s = state({
      device: { device_id: 'd', name: 'Desk', clinic_id: 'c1', role: 'front_desk', field_worker_id: null },
      role: 'front_desk',
    });
    expect(screenFor(s)).toBe('app');
    expect(accessOf(s).label).toBe('Front desk');
    expect(accessOf(s).records).toBe(false);
    expect(accessOf(state({ role: null }))).toMatchObject({ role: null });
    expect(screenFor(state({ role: null }))).toBe('no_role');
  });
});

describe('gate: why a session ended', () => {
  it('explains a session ended by an administrator, not one the user ended', () => {
    const known = { user_id: 'u1', username: 'clinician', display_name: 'Dr Wanjiru Kamau', role: 'clinician' as const, locked_until: null };
    const before = state({ known_users: [known] });
    expect(signedOutBecause(before, state({ user: null, known_users: [] }))?.message).toBe(
      'Dr Wanjiru Kamau was signed out: the account was disabled or removed by an administrator.',
    );
    expect(signedOutBecause(before, state({ user: null, known_users: [known] }))).toBeNull();
    expect(signedOutBecause(null, state({ user: null }))).toBeNull();
    expect(signedOutBecause(before, state({ enrolled: false, user: null, device: null }))).toBeNull();
    expect(signedOutBecause(before, state({ locked: true, known_users: [known] }))).toBeNull();
  });
});

describe('lockout and error wording', () => {
  it('formats the lockout time', () => {
    const now = todayAt(14, 5);
    expect(lockoutMessage(todayAt(14, 25).toISOString(), now)).toBe(
      'Locked after 5 failed attempts — try again at 14:25',
    );
    expect(lockoutMessage(todayAt(9, 3).toISOString(), now)).toBe('Locked after 5 failed attempts — try again at 09:03');
    expect(lockoutMessage(null, now)).toBe('Locked after 5 failed attempts — try again later');
    expect(lockoutMessage('not a time', now)).toBe('Locked after 5 failed attempts — try again later');
    const tomorrow = new Date(now.getTime() + 24 * 3_600_000);
    expect(lockoutMessage(tomorrow.toISOString(), now)).toMatch(/try again at \d{1,2} \w+ 14:05$/);
  });

  it('labels running lockouts only', () => {
    const now = todayAt(14, 5);
    expect(lockedUntilLabel(todayAt(14, 25).toISOString(), now)).toBe('Locked until 14:25');
    expect(lockedUntilLabel(todayAt(14, 0).toISOString(), now)).toBeNull();
    expect(lockedUntilLabel(null, now)).toBeNull();
  });

  it('words sign-in errors', () => {
    const now = todayAt(10, 0);
    expect(authErrorMessage({ code: 'invalid_credentials', message: 'x' })).toBe('Wrong user name or password.');
    expect(authErrorMessage({ code: 'account_locked', message: 'x', until: todayAt(10, 20).toISOString() }, { now })).toBe(
      'Locked after 5 failed attempts — try again at 10:20',
    );
    // An older backend that only puts the time in the message.
    expect(
      authErrorMessage({ code: 'account_locked', message: `locked until ${todayAt(10, 20).toISOString()}` }, { now }),
    ).toBe('Locked after 5 failed attempts — try again at 10:20');
    expect(authErrorMessage({ code: 'mfa_required', message: 'x' })).toMatch(/6-digit code/);
    expect(authErrorMessage({ code: 'mfa_required', message: 'x' }, { totpSent: true })).toMatch(/did not work/);
    expect(authErrorMessage({ code: 'account_disabled', message: 'x' })).toMatch(/disabled/);
    expect(authErrorMessage({ code: 'offline', message: 'x' })).toMatch(/needs the sync server/);
    expect(authErrorMessage({ code: 'signed_out', message: 'x' })).toBe(TOO_MANY_PINS);
    expect(TOO_MANY_PINS).toBe('Too many wrong PINs — sign in with your password');
    expect(authErrorMessage({ code: 'something_new', message: 'the server said so' })).toBe('the server said so');
  });

  it('words wrong PINs, and notices a used-up PIN either way the backend says it', () => {
    expect(wrongPinMessage({ code: 'invalid_credentials', message: 'wrong PIN; 3 attempt(s) left' })).toBe(
      'Wrong PIN — 3 attempts left before you must sign in with your password.',
    );
    expect(wrongPinMessage({ code: 'invalid_credentials', message: 'wrong PIN; 1 attempt(s) left' })).toMatch(/1 attempt left/);
    expect(wrongPinMessage({ code: 'invalid_credentials', message: 'wrong PIN' })).toMatch(/After 5 wrong PINs/);
    const dropped = { code: 'invalid_credentials', message: 'too many wrong PINs: sign in with your password' };
    expect(pinExhausted(dropped)).toBe(true);
    expect(wrongPinMessage(dropped)).toBe(TOO_MANY_PINS);
    expect(pinExhausted({ code: 'signed_out', message: 'x' })).toBe(true);
    expect(pinExhausted({ code: 'invalid_credentials', message: 'wrong PIN' })).toBe(false);
    expect(attemptsLeft('wrong user name or password (offline sign-in; 2 attempt(s) left before …)')).toBe(2);
    expect(authErrorMessage({ code: 'invalid_credentials', message: 'offline sign-in; 2 attempt(s) left' })).toBe(
      'Wrong user name or password. 2 attempts left before this account is locked on this device.',
    );
    expect(authErrorMessage({ code: 'forbidden', message: 'x', field: 'role' })).toMatch(/no clinic role/);
  });

  it('checks PINs', () => {
    expect(validPin('1234')).toBe(true);
    expect(validPin('12345678')).toBe(true);
    expect(validPin('123')).toBe(false);
    expect(validPin('123456789')).toBe(false);
    expect(validPin('12a4')).toBe(false);
    expect(pinProblem('')).toMatch(/4 to 8/);
    expect(pinProblem('12')).toMatch(/4 to 8/);
    expect(pinProblem('12ab')).toMatch(/digits only/);
    expect(pinProblem('0000')).toBeNull();
  });

  it('throttles activity pings', () => {
    let t = 0;
    const fn = vi.fn();
    const ping = throttle(fn, 30_000, () => t);
    ping();
    ping();
    expect(fn).toHaveBeenCalledTimes(1);
    t = 29_999;
    ping();
    expect(fn).toHaveBeenCalledTimes(1);
    t = 30_000;
    ping();
    expect(fn).toHaveBeenCalledTimes(2);
  });
});

describe('api: session errors', () => {
  afterEach(() => {
    setBackendForTesting(null);
    setCurrentRole(null);
  });

  it('keeps field and until', () => {
    expect(toApiError({ code: 'forbidden', message: 'no', field: 'allergies' })).toEqual({
      code: 'forbidden',
      message: 'no',
      field: 'allergies',
    });
    expect(toApiError({ code: 'account_locked', message: 'no', until: '2026-01-01T10:00:00Z' }).until).toBe(
      '2026-01-01T10:00:00Z',
    );
  });

  it('names the signed-in role in refusals', () => {
    setCurrentRole('front_desk');
    expect(describeError({ code: 'forbidden', message: 'x', field: 'medical_record' })).toBe(
      'Your role (Front desk) cannot see or write medical records.',
    );
  });

  it('tells the gate when a command meets a locked or ended session', async () => {
    const refusal = { code: 'locked', message: 'the app is locked' };
    setBackendForTesting({
      invoke: (cmd) => (cmd === 'list_patients' ? Promise.reject(refusal) : Promise.reject({ code: 'not_found', message: 'x' })),
      onSyncStatus: () => Promise.resolve(() => undefined),
      onDeviceState: () => Promise.resolve(() => undefined),
    });
    const seen: string[] = [];
    const off = onSessionError((e) => seen.push(e.code));
    await expect(api.listPatients('', 10)).rejects.toMatchObject({ code: 'locked' });
    await expect(api.getPatient('x')).rejects.toMatchObject({ code: 'not_found' });
    off();
    await expect(api.listPatients('', 10)).rejects.toMatchObject({ code: 'locked' });
    expect(seen).toEqual(['locked']);
  });

  it('passes the auth commands their arguments as the backend names them', async () => {
    const calls: [string, Record<string, unknown> | undefined][] = [];
    setBackendForTesting({
      invoke: <T,>(cmd: string, args?: Record<string, unknown>) => {
        calls.push([cmd, args]);
        return Promise.resolve(null as T);
      },
      onSyncStatus: () => Promise.resolve(() => undefined),
      onDeviceState: () => Promise.resolve(() => undefined),
    });
    await api.enrolDevice({ code: 'C', deviceName: 'Laptop', username: 'u', password: 'p' });
    await api.signIn({ username: 'u', password: 'p', totp: '123456' });
    await api.unlockWithPin('1234');
    await api.localAccessHistory('p1');
    expect(calls).toEqual([
      ['enrol_device', { code: 'C', deviceName: 'Laptop', username: 'u', password: 'p' }],
      ['sign_in', { username: 'u', password: 'p', totp: '123456' }],
      ['unlock_with_pin', { pin: '1234' }],
      ['local_access_history', { patientId: 'p1' }],
    ]);
  });
});

describe('access history wording', () => {
  it('says who, what and where', () => {
    const s = state({
      known_users: [{ user_id: 'u2', username: 'frontdesk', display_name: 'Joy Wambui', role: 'front_desk', locked_until: null }],
    });
    expect(accessUserLabel('u1', s)).toBe('Dr Wanjiru Kamau (you)');
    expect(accessUserLabel('u2', s)).toBe('Joy Wambui');
    expect(accessUserLabel('0123456789abcdef', s)).toBe('User 01234567');
    expect(accessUserLabel(null, s)).toBe('Unknown user');
    expect(accessActionLabel({ action: 'view_record', entity: 'medical_record' })).toBe('Viewed medical records');
    expect(accessActionLabel({ action: 'write', entity: 'appointment' })).toBe('Changed an appointment');
    expect(accessDeviceLabel('d1', s)).toBe('This device (Reception laptop)');
    expect(accessDeviceLabel('triage-tablet', s)).toBe('triage-tablet');
  });

  it('folds repeated views close together into one row', () => {
    const e = (id: string, at: string, over: Partial<AuditEntry> = {}): AuditEntry => ({
      id,
      at,
      user_id: 'u1',
      device_id: 'd1',
      action: 'view_patient',
      entity: 'patient',
      entity_id: 'p1',
      patient_id: 'p1',
      ...over,
    });
    const groups = groupAccessEntries([
      e('a', '2026-03-02T10:00:00Z'),
      e('b', '2026-03-02T10:05:00Z'),
      e('c', '2026-03-02T10:14:00Z'),
      e('d', '2026-03-02T10:30:00Z'),
      e('x', '2026-03-02T10:06:00Z', { user_id: 'u2' }),
      e('r', '2026-03-02T10:07:00Z', { action: 'view_record', entity: 'medical_record', entity_id: null }),
    ]);
    expect(groups.map((g) => [g.entry.id, g.count, g.first])).toEqual([
      ['d', 1, '2026-03-02T10:30:00Z'],
      ['c', 1, '2026-03-02T10:14:00Z'],
      ['r', 1, '2026-03-02T10:07:00Z'],
      ['x', 1, '2026-03-02T10:06:00Z'],
      ['b', 2, '2026-03-02T10:00:00Z'],
    ]);
    expect(groupAccessEntries([])).toEqual([]);
  });
});
