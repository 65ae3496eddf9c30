// The accounts half of the browser mock (see mockBackend.ts): device enrolment, sign-in with
// lockout, PIN lock and unlock, auto-lock after inactivity, remote wipe, the role checks the real
// commands make, and the device's audit trail. Pure in-memory state; nothing is stored.
//
// Demo accounts (password `demo-password-123`): `frontdesk` (Front desk), `clinician`,
// `fieldworker`, `admin` (Clinic admin, two-factor: code 123456), `nurse` (never signed in on this
// device, so the first sign-in needs the server), `former` (disabled). Demo PIN: 1234.
// Enrolment codes: `4F7K-9QX2` (a clinic device), `KIOS-K001` (a self check-in kiosk).

import { accessFor, firstForbidden, type Access } from './roles';
import type { ApiError, AuditAction, AuditEntry, DeviceInfo, DeviceState, EntityKind, Role, SessionUser } from './types';

export const DEMO_PASSWORD = 'demo-password-123';
export const DEMO_PIN = '1234';
export const DEMO_TOTP = '123456';
export const DEMO_ENROLMENT_CODE = '4F7K-9QX2';
export const DEMO_KIOSK_CODE = 'KIOS-K001';
export const MAX_FAILURES = 5;
export const LOCKOUT_MS = 20 * 60_000;
export const AUTO_LOCK_MS = 5 * 60_000;

const uid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

const staff = (
  n: number,
  username: string,
  display_name: string,
  role: Role,
  extra: Partial<SessionUser> = {},
): SessionUser => ({
  id: uid(n),
  username,
  display_name,
  user_type: role === 'clinic_admin' ? 'admin' : 'provider',
  role,
  clinic_id: 'nyeri-town-clinic',
  field_worker_id: null,
  platform_admin: false,
  totp_enabled: false,
  disabled_at: null,
  ...extra,
});

export const DEMO_USERS: readonly SessionUser[] = [
  staff(1, 'frontdesk', 'Joy Wambui', 'front_desk'),
  staff(2, 'clinician', 'Dr Wanjiru Kamau', 'clinician'),
  staff(3, 'fieldworker', 'Peter Otieno', 'field_worker', { field_worker_id: 'fw-otieno' }),
  staff(4, 'admin', 'Mary Njeri', 'clinic_admin', { totp_enabled: true }),
  staff(5, 'nurse', 'Nurse Fatuma Hassan', 'clinician'),
  staff(6, 'former', 'Samuel Kiprono', 'front_desk', { disabled_at: '2026-01-05T09:00:00Z' }),
];

export const REVOKED_NOTICE =
  'This device was revoked by the clinic administrator and its data was erased. Enrol it again with a new code from the administrator to use it.';

function fail(code: string, message: string, extra: Partial<ApiError> = {}): never {
  const e: ApiError = { code, message, ...extra };
  throw e;
}

export interface MockAuthOptions {
  flags: Set<string>;
  clinicId: string;
  deviceId: string;
  /** Whether the sync server is reachable (first sign-ins and enrolment need it). */
  online: () => boolean;
  /** Called with every new device state (the `device-state` event). */
  emit: (s: DeviceState) => void;
  now?: () => number;
  uuid: () => string;
}

export type MockAuth = ReturnType<typeof createMockAuth>;

export function createMockAuth(o: MockAuthOptions) {
  const { flags } = o;
  const now = o.now ?? (() => Date.now());
  const users = DEMO_USERS.map((u) => ({ ...u }));
  const byName = (name: string) => users.find((u) => u.username.toLowerCase() === name.trim().toLowerCase());
  const byId = (id: string) => users.find((u) => u.id === id);

  let enrolled = !flags.has('unenrolled') && !flags.has('revoked');
  let notice: string | null = flags.has('revoked') ? REVOKED_NOTICE : null;
  let device: DeviceInfo | null = enrolled
    ? {
        device_id: o.deviceId,
        name: 'Reception laptop',
        clinic_id: o.clinicId,
        role: flags.has('kiosk') ? 'kiosk' : 'clinic_admin',
        field_worker_id: null,
      }
    : null;
  const initialUser = flags.has('frontdesk')
    ? 'frontdesk'
    : flags.has('admin')
      ? 'admin'
      : flags.has('fieldworker')
        ? 'fieldworker'
        : 'clinician';
  let sessionId: string | null =
    enrolled && !flags.has('signedout') ? (byName(initialUser)?.id ?? null) : null;
  let locked = sessionId !== null && flags.has('locked');
  /** Users with a cached verifier on this device (may sign in offline). */
  const known = new Set<string>(enrolled ? ['frontdesk', 'clinician', 'fieldworker', 'admin'].map((n) => byName(n)!.id) : []);
  const pins = new Map<string, string>();
  if (enrolled && !flags.has('nopin')) ['frontdesk', 'clinician', 'admin'].forEach((n) => pins.set(byName(n)!.id, DEMO_PIN));
  const failures = new Map<string, { count: number; until: number | null }>();
  let pinFailures = 0;
  /** Self check-in kiosk mode on a staff device (`?mock=kioskmode`); a kiosk device is always in it. */
  let kioskMode = sessionId !== null && flags.has('kioskmode');
  let lastActivity = now();
  const audit: AuditEntry[] = [];
  const autoLockMs = flags.has('autolock') ? 30_000 : AUTO_LOCK_MS;

  const session = (): SessionUser | null => (sessionId ? (byId(sessionId) ?? null) : null);

  const state = (): DeviceState => {
    const t = now();
    const u = session();
    return {
      enrolled,
      device: device ? { ...device } : null,
      user: u ? { ...u } : null,
      locked: !!u && locked,
      pin_set: !!u && pins.has(u.id),
      known_users: users
        .filter((x) => known.has(x.id))
        .map((x) => {
          const f = failures.get(x.id);
          return {
            user_id: x.id,
            username: x.username,
            display_name: x.display_name,
            role: x.role,
            locked_until: f?.until && f.until > t ? new Date(f.until).toISOString() : null,
          };
        }),
      notice,
      kiosk: !!u && (device?.role === 'kiosk' || kioskMode),
    };
  };
  const changed = () => {
    const s = state();
    o.emit(s);
    return s;
  };

  const log = (action: AuditAction, extra: Partial<AuditEntry> = {}, userId: string | null = sessionId) => {
    if (flags.has('noaudit')) return;
    audit.push({
      id: o.uuid(),
      at: new Date(now()).toISOString(),
      user_id: userId,
      device_id: device?.device_id ?? o.deviceId,
      action,
      entity: null,
      entity_id: null,
      patient_id: null,
      ...extra,
    });
  };

  /** Password (and TOTP) check with the 5-failure lockout. Returns the user on success. */
  const verify = (username: string, password: string, totp: string | undefined, needServer: boolean): SessionUser => {
    const u = byName(username);
    const online = o.online();
    if ((needServer || !u || !known.has(u.id)) && !online) {
      fail('offline', 'The sync server cannot be reached, and this account has not signed in on this device before.');
    }
    if (!u) fail('invalid_credentials', 'wrong user name or password');
    const f = failures.get(u.id) ?? { count: 0, until: null };
    failures.set(u.id, f);
    if (f.until && f.until > now()) {
      const until = new Date(f.until).toISOString();
      fail('account_locked', `account locked until ${until}`, { until });
    }
    if (f.until) {
      f.until = null;
      f.count = 0;
    }
    const refuse = (code: string, message: string, extra: Partial<ApiError> = {}): never => {
      f.count += 1;
      log('sign_in_failed', {}, u.id);
      if (f.count >= MAX_FAILURES) {
        f.until = now() + LOCKOUT_MS;
        f.count = 0;
        const until = new Date(f.until).toISOString();
        o.emit(state());
        fail('account_locked', `account locked until ${until}`, { until });
      }
      fail(code, message, extra);
    };
    if (password !== DEMO_PASSWORD) refuse('invalid_credentials', 'wrong user name or password');
    if (u.disabled_at) fail('account_disabled', 'this account was disabled by an administrator');
    if (u.totp_enabled) {
      if (!totp) fail('mfa_required', 'enter the 6-digit code from your authenticator app', { field: 'totp' });
      if (totp !== DEMO_TOTP) refuse('mfa_required', 'the code did not match', { field: 'totp' });
    }
    f.count = 0;
    return u;
  };

  const startSession = (u: SessionUser) => {
    sessionId = u.id;
    locked = false;
    pinFailures = 0;
    known.add(u.id);
    lastActivity = now();
    log('sign_in');
  };

  const requireSession = (): SessionUser => {
    if (!enrolled) {
      if (notice) fail('device_revoked', REVOKED_NOTICE);
      fail('signed_out', 'this device is not enrolled');
    }
    const u = session();
    if (!u) fail('signed_out', 'nobody is signed in on this device');
    return u;
  };

  const str = (v: unknown) => (typeof v === 'string' ? v : '');

  const handlers: Record<string, (args: Record<string, unknown>) => unknown> = {
    device_state: () => state(),
    enrol_device: (a) => {
      if (enrolled) fail('validation_failed', 'this device is already enrolled');
      const code = str(a.code).trim().toUpperCase().replace(/\s+/g, '');
      const deviceName = str(a.deviceName).trim();
      const errors = [
        ...(code ? [] : [{ field: 'code', code: 'required', message: 'Enter the enrolment code.' }]),
        ...(deviceName ? [] : [{ field: 'device_name', code: 'required', message: 'Give this device a name.' }]),
      ];
      if (errors.length) fail('validation_failed', 'some fields need attention', { errors });
      if (!o.online()) fail('offline', 'Enrolment needs the sync server, which cannot be reached.');
      const role: Role | null = code === DEMO_ENROLMENT_CODE ? 'clinic_admin' : code === DEMO_KIOSK_CODE ? 'kiosk' : null;
      if (!role) fail('invalid_enrolment_code', 'the enrolment code is unknown, used or expired');
      // As the device does it: the code is spent and the device enrolled first, then the staff
      // member signs in; a failed sign-in leaves an enrolled device (finish on the sign-in screen).
      enrolled = true;
      notice = null;
      device = { device_id: o.deviceId, name: deviceName, clinic_id: o.clinicId, role, field_worker_id: null };
      try {
        startSession(verify(str(a.username), str(a.password), str(a.totp) || undefined, true));
      } finally {
        o.emit(state());
      }
      return state();
    },
    sign_in: (a) => {
      if (!enrolled) {
        if (notice) fail('device_revoked', REVOKED_NOTICE);
        fail('device_not_enrolled', 'enrol this device first');
      }
      const u = verify(str(a.username), str(a.password), str(a.totp) || undefined, false);
      startSession(u);
      notice = null;
      return changed();
    },
    set_pin: (a) => {
      const u = requireSession();
      if (locked) fail('locked', 'unlock first');
      const pin = str(a.pin);
      if (!/^\d{4,8}$/.test(pin)) {
        fail('validation_failed', 'a PIN has 4 to 8 digits', {
          errors: [{ field: 'pin', code: 'invalid_pin', message: 'A PIN has 4 to 8 digits.' }],
        });
      }
      pins.set(u.id, pin);
      pinFailures = 0;
      return changed();
    },
    unlock_with_pin: (a) => {
      const u = requireSession();
      if (!locked) return state();
      const pin = pins.get(u.id);
      if (!pin) fail('invalid_credentials', 'no PIN is set on this device; sign in with your password');
      if (str(a.pin) !== pin) {
        pinFailures += 1;
        log('unlock_failed');
        if (pinFailures >= MAX_FAILURES) {
          pinFailures = 0;
          sessionId = null;
          locked = false;
          o.emit(state());
          fail('signed_out', 'too many wrong PINs: sign in with your password');
        }
        fail('invalid_credentials', 'wrong PIN');
      }
      locked = false;
      pinFailures = 0;
      lastActivity = now();
      log('unlock');
      return changed();
    },
    lock: () => {
      requireSession();
      if (!locked) {
        locked = true;
        log('lock');
      }
      return changed();
    },
    sign_out: () => {
      sessionId = null;
      kioskMode = false;
      locked = false;
      pinFailures = 0;
      return changed();
    },
    enter_kiosk: () => {
      const u = requireSession();
      if (locked) fail('locked', 'unlock first');
      if (!pins.has(u.id)) fail('pin_required', 'set a PIN on this device first: leaving kiosk mode needs it');
      kioskMode = true;
      return changed();
    },
    leave_kiosk: (a) => {
      const u = requireSession();
      if (device?.role === 'kiosk') {
        fail('forbidden', 'this device is enrolled as a self check-in kiosk and always stays in kiosk mode', {
          field: 'kiosk',
        });
      }
      if (!kioskMode) return state();
      const pin = pins.get(u.id);
      if (!pin) fail('invalid_credentials', 'no PIN is set on this device');
      if (str(a.pin) !== pin) {
        pinFailures += 1;
        log('unlock_failed');
        if (pinFailures >= MAX_FAILURES) {
          pinFailures = 0;
          sessionId = null;
          locked = false;
          kioskMode = false;
          o.emit(state());
          fail('signed_out', 'too many wrong PINs: sign in with your password');
        }
        fail('invalid_credentials', 'wrong PIN');
      }
      pinFailures = 0;
      kioskMode = false;
      lastActivity = now();
      log('unlock');
      return changed();
    },
    touch: () => {
      if (session() && !locked) lastActivity = now();
      return null;
    },
  };

  /** Checks a data command may run now: enrolled, signed in, unlocked. */
  const guard = (): SessionUser => {
    const u = requireSession();
    if (locked) fail('locked', 'the app is locked');
    return u;
  };

  const access = (): Access => {
    const u = session();
    return accessFor(device?.role ?? null, u?.role ?? null, u?.platform_admin ?? false);
  };

  /** Throws `forbidden` unless the signed-in role may make this write. */
  const checkWrite = (kind: EntityKind, wholeRecord: boolean, fields: Iterable<string>) => {
    const a = access();
    for (const r of a.roles) {
      const bad = firstForbidden(r, kind, wholeRecord, fields);
      if (bad) {
        fail('forbidden', `${a.label} may not write ${bad.field ?? kind}`, { field: bad.field ?? kind });
      }
    }
  };

  const checkRead = (kind: EntityKind, field?: string) => {
    const a = access();
    if (!a.read(kind)) fail('forbidden', `${a.label} may not read ${field ?? kind}`, { field: field ?? kind });
  };

  /** A copy of `doc` with the fields the role may not read set to null. */
  const project = <T extends object>(kind: EntityKind, doc: T): T => {
    const a = access();
    const out: Record<string, unknown> = { ...(doc as Record<string, unknown>) };
    for (const k of Object.keys(out)) {
      if (k === 'id' || k === 'pending') continue;
      if (!a.read(kind, k)) out[k] = null;
    }
    return out as unknown as T;
  };

  const recent = new Map<string, number>();
  /** Logs a view at most once a minute per user, action and target (the real app logs each screen). */
  const logView = (action: 'view_patient' | 'view_record', patientId: string) => {
    const key = `${sessionId}|${action}|${patientId}`;
    const last = recent.get(key) ?? -Infinity;
    if (now() - last < 60_000) return;
    recent.set(key, now());
    log(action, {
      entity: action === 'view_patient' ? 'patient' : 'medical_record',
      entity_id: action === 'view_patient' ? patientId : null,
      patient_id: patientId,
    });
  };
  const logWrite = (entity: EntityKind, entityId: string, patientId: string | null) =>
    log('write', { entity, entity_id: entityId, patient_id: patientId });

  handlers.local_access_history = (a) => {
    guard();
    if (!access().accessHistory) {
      fail('forbidden', `${access().label} may not read the access history`, { field: 'access_history' });
    }
    const id = str(a.patientId);
    return audit.filter((e) => e.patient_id === id).sort((x, y) => y.at.localeCompare(x.at));
  };

  /** Demo history: who looked at the first patients, on this and other devices. */
  const seedAudit = (patientIds: string[]) => {
    if (flags.has('noaudit')) return;
    const t = now();
    const entry = (
      minutesAgo: number,
      user: string,
      action: AuditAction,
      patientId: string,
      deviceId: string,
      entity: EntityKind | null = null,
    ) =>
      audit.push({
        id: o.uuid(),
        at: new Date(t - minutesAgo * 60_000).toISOString(),
        user_id: byName(user)?.id ?? null,
        device_id: deviceId,
        action,
        entity,
        entity_id: entity === 'patient' ? patientId : null,
        patient_id: patientId,
      });
    const [a, b] = patientIds;
    if (a) {
      entry(3 * 24 * 60, 'frontdesk', 'view_patient', a, 'reception-pc-1', 'patient');
      entry(3 * 24 * 60 - 2, 'frontdesk', 'write', a, 'reception-pc-1', 'patient');
      entry(2 * 24 * 60, 'clinician', 'view_patient', a, 'triage-tablet', 'patient');
      entry(2 * 24 * 60 - 1, 'clinician', 'view_record', a, 'triage-tablet', 'medical_record');
      entry(95, 'fieldworker', 'view_patient', a, o.deviceId, 'patient');
    }
    if (b) {
      entry(26 * 60, 'clinician', 'view_record', b, 'triage-tablet', 'medical_record');
      entry(25 * 60, 'clinician', 'write', b, 'triage-tablet', 'medical_record');
    }
  };

  // Auto-lock after inactivity, as the device does; the change arrives as a `device-state` event.
  const tick = () => {
    // A kiosk never locks by itself: patients use it without touching anything for hours.
    if (session() && !locked && !kioskMode && device?.role !== 'kiosk' && now() - lastActivity > autoLockMs) {
      locked = true;
      log('lock');
      changed();
    }
  };
  if (typeof window !== 'undefined') setInterval(tick, 5_000);

  const controls = {
    /** Locks as the inactivity timer would. */
    lock() {
      if (session() && !locked) {
        locked = true;
        log('lock');
        changed();
      }
    },
    /** The administrator revoked this device: the replica is erased. */
    revoke() {
      enrolled = false;
      device = null;
      sessionId = null;
      locked = false;
      known.clear();
      pins.clear();
      notice = REVOKED_NOTICE;
      changed();
    },
    /** The administrator disabled the signed-in account: it is removed from this device. */
    disable() {
      const u = session();
      if (!u) return;
      u.disabled_at = new Date(now()).toISOString();
      known.delete(u.id);
      pins.delete(u.id);
      sessionId = null;
      locked = false;
      changed();
    },
    /** Signs in as a demo user without a password (role switches while designing). */
    signInAs(username: string) {
      const u = byName(username);
      if (!u || !enrolled) return;
      startSession(u);
      changed();
    },
    /** Gives the signed-in user another role. */
    setRole(role: Role) {
      const u = session();
      if (!u) return;
      u.role = role;
      changed();
    },
  };

  return {
    handlers,
    /** In kiosk mode (or a kiosk device): only check-in may run. */
    inKiosk: () => kioskMode || device?.role === 'kiosk',
    guard,
    access,
    checkRead,
    checkWrite,
    project,
    logView,
    logWrite,
    seedAudit,
    controls,
    tick,
    state,
  };
}
