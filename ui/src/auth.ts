// Pure helpers of the app gate: which screen a device state calls for, and the wording of sign-in,
// unlock and enrolment errors. The screens live in components/Gate.tsx and its siblings.

import { formatClock } from './format';
import { accessOf } from './roles';
import type { ApiError, DeviceState } from './types';

export type Screen =
  /** `device_state` has not answered yet. */
  | 'loading'
  /** Not enrolled (first run, or after a remote wipe): enrolment code and a staff sign-in. */
  | 'enrol'
  /** Enrolled, nobody signed in. */
  | 'sign_in'
  /** Signed in but locked (inactivity or the Lock button): PIN or password. */
  | 'locked'
  /** A self check-in kiosk. */
  | 'kiosk'
  /** Signed in with an account that has no clinic role (nothing to show). */
  | 'no_role'
  | 'app';

/** The screen for a device state. */
export function screenFor(state: DeviceState | null): Screen {
  if (!state) return 'loading';
  if (!state.enrolled) return 'enrol';
  if (!state.user) return 'sign_in';
  if (state.locked) return 'locked';
  const access = accessOf(state);
  if (access.kiosk || state.kiosk) return 'kiosk';
  if (access.role === null) return 'no_role';
  return 'app';
}

/** Error codes of data commands that mean "the session is gone or paused": re-read `device_state`. */
export const SESSION_ERROR_CODES: readonly string[] = [
  'locked',
  'signed_out',
  'device_revoked',
  'not_enrolled',
  'device_not_enrolled',
  'account_disabled',
];

export const MAX_FAILED_ATTEMPTS = 5;

/** "14:05", or "25 Nov 14:05" when the time is not today (local time). */
function clockOrDay(rfc3339: string, now: Date): string | null {
  const clock = formatClock(rfc3339);
  if (!clock) return null;
  const d = new Date(rfc3339);
  const sameDay =
    d.getFullYear() === now.getFullYear() && d.getMonth() === now.getMonth() && d.getDate() === now.getDate();
  if (sameDay) return clock;
  const month = d.toLocaleString('en-GB', { month: 'short' });
  return `${d.getDate()} ${month} ${clock}`;
}

/** "Locked after 5 failed attempts — try again at 14:25". */
export function lockoutMessage(until: string | null | undefined, now: Date = new Date()): string {
  const when = until ? clockOrDay(until, now) : null;
  return when
    ? `Locked after ${MAX_FAILED_ATTEMPTS} failed attempts — try again at ${when}`
    : `Locked after ${MAX_FAILED_ATTEMPTS} failed attempts — try again later`;
}

/** "Locked until 14:25" for a known user whose lockout is still running, else null. */
export function lockedUntilLabel(until: string | null | undefined, now: Date = new Date()): string | null {
  if (!until) return null;
  const t = new Date(until).getTime();
  if (Number.isNaN(t) || t <= now.getTime()) return null;
  const when = clockOrDay(until, now);
  return when ? `Locked until ${when}` : null;
}

/**
 * Why the session ended between two states, when the user did not end it: the signed-in account
 * vanished from this device's staff (disabled or removed by an administrator).
 */
export function signedOutBecause(prev: DeviceState | null, next: DeviceState): { message: string } | null {
  const was = prev?.user;
  if (!was || next.user || !next.enrolled) return null;
  if (next.known_users.some((u) => u.user_id === was.id)) return null;
  return {
    message: `${was.display_name} was signed out: the account was disabled or removed by an administrator.`,
  };
}

export const TOO_MANY_PINS = 'Too many wrong PINs — sign in with your password';

/** What a rejected `sign_in` / `enrol_device` / unlock means, in one sentence for the form. */
export function authErrorMessage(e: ApiError, ctx: { totpSent?: boolean; now?: Date } = {}): string {
  switch (e.code) {
    case 'invalid_credentials': {
      if (/unreachable|not reachable/i.test(e.message)) {
        return 'Wrong user name or password — or this account has not signed in on this device before. The server cannot be reached, and offline sign-in works only for staff who signed in here while online.';
      }
      const left = attemptsLeft(e.message);
      return left === null
        ? 'Wrong user name or password.'
        : `Wrong user name or password. ${left === 1 ? '1 attempt' : `${left} attempts`} left before this account is locked on this device.`;
    }
    case 'account_locked':
      return lockoutMessage(e.until ?? untilFromMessage(e.message), ctx.now);
    case 'account_disabled':
      return 'This account was disabled by an administrator. Ask the clinic administrator.';
    case 'mfa_required':
      if (mfaSetupNeeded(e)) {
        return 'This account must set up two-factor sign-in before it can open a clinic device. Set it up on the clinic server, then sign in here.';
      }
      return ctx.totpSent
        ? 'That code did not work — enter the current 6-digit code from your authenticator app.'
        : 'Enter the 6-digit code from your authenticator app.';
    case 'device_revoked':
      return 'This device was revoked by the clinic administrator.';
    case 'offline':
      return 'The first sign-in on this device needs the sync server, which cannot be reached. Connect to the network, or sign in as someone who has signed in here before.';
    case 'invalid_enrolment_code':
      return 'That enrolment code is unknown, already used or expired. Ask the administrator for a new one.';
    case 'signed_out':
      return TOO_MANY_PINS;
    case 'forbidden':
      return e.field === 'role'
        ? 'This account has no clinic role, so it cannot use a clinic device. Ask the clinic administrator.'
        : e.message;
    case 'insecure_server':
      return `The sync server address is not secure: ${e.message}`;
    case 'already_enrolled':
      return 'This device is already enrolled.';
    case 'validation_failed':
      return e.errors?.length ? e.errors.map((x) => x.message).join(' ') : e.message;
    case 'internal':
      return `Something went wrong: ${e.message}`;
    default:
      return e.message;
  }
}

/** `mfa_required` because the account has no TOTP yet (a code field would not help). */
export function mfaSetupNeeded(e: ApiError): boolean {
  return e.code === 'mfa_required' && /set up|enrol/i.test(e.message);
}

/** "… 3 attempt(s) left …" in a backend message, or null. */
export function attemptsLeft(message: string): number | null {
  const m = /(\d+) attempt/i.exec(message);
  return m ? Number(m[1]) : null;
}

/** Whether an unlock refusal says the PIN is used up (the backend drops it after 5 wrong PINs). */
export function pinExhausted(e: ApiError): boolean {
  return e.code === 'signed_out' || (e.code === 'invalid_credentials' && /too many/i.test(e.message));
}

/** The lock screen's sentence for a wrong PIN. */
export function wrongPinMessage(e: ApiError): string {
  if (pinExhausted(e)) return TOO_MANY_PINS;
  if (e.code !== 'invalid_credentials') return authErrorMessage(e);
  const left = attemptsLeft(e.message);
  return left === null
    ? `Wrong PIN. After ${MAX_FAILED_ATTEMPTS} wrong PINs you must sign in with your password.`
    : `Wrong PIN — ${left === 1 ? '1 attempt' : `${left} attempts`} left before you must sign in with your password.`;
}

/** An RFC 3339 time inside a message ("account locked until 2026-11-24T03:20:00Z"), for older backends. */
function untilFromMessage(message: string): string | null {
  const m = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})/.exec(message);
  return m ? m[0] : null;
}

/** Whether `pin` is 4–8 digits. */
export function validPin(pin: string): boolean {
  return /^\d{4,8}$/.test(pin);
}

/** `null` when `pin` is acceptable, else why not. */
export function pinProblem(pin: string): string | null {
  if (pin === '') return 'Enter a PIN of 4 to 8 digits.';
  if (!/^\d+$/.test(pin)) return 'Use digits only.';
  if (pin.length < 4 || pin.length > 8) return 'A PIN has 4 to 8 digits.';
  return null;
}

/** Whether a TOTP entry looks like a 6-digit code (spaces allowed, as authenticator apps show it). */
export function normalizeTotp(code: string): string {
  return code.replace(/\s+/g, '');
}

/**
 * A function that calls `fn` at most once per `ms` (the first call goes through at once; later
 * ones within the window are dropped, not delayed). `now` is injectable for tests.
 */
export function throttle(fn: () => void, ms: number, now: () => number = () => Date.now()): () => void {
  let last = -Infinity;
  return () => {
    const t = now();
    if (t - last < ms) return;
    last = t;
    fn();
  };
}

export const TOUCH_INTERVAL_MS = 30_000;
