import { useEffect, useId, useRef, useState, type FormEvent, type ReactNode, type Ref, type RefObject } from 'react';
import { api, toApiError } from '../api';
import { authErrorMessage, lockedUntilLabel, mfaSetupNeeded, normalizeTotp, pinExhausted, TOO_MANY_PINS, wrongPinMessage } from '../auth';
import { accessOf, roleLabel } from '../roles';
import type { ApiError, DeviceState } from '../types';
import { AuthInput, PinInput } from './AuthInput';

/** A message carried to the sign-in screen (e.g. after too many wrong PINs), with whose name to fill in. */
export interface Flash {
  message: string;
  username?: string;
  /** Show the 6-digit code field at once (the account has two-factor sign-in). */
  askTotp?: boolean;
}

// ---------- Shared pieces ----------

function AuthPage({ children, testId, wide }: { children: ReactNode; testId?: string; wide?: boolean }) {
  return (
    <div className="auth-page">
      <main className={`auth-card ${wide ? 'auth-card-wide' : ''}`} data-testid={testId}>
        <div className="auth-brand">
          <span className="brand-mark" aria-hidden="true">
            +
          </span>
          <span className="brand-name">Anola Health</span>
        </div>
        {children}
      </main>
    </div>
  );
}

function DeviceNotice({ notice }: { notice: string | null }) {
  if (!notice) return null;
  return (
    <div className="banner banner-warn auth-notice" role="alert">
      <span className="banner-icon" aria-hidden="true">
        ⚠
      </span>
      <div className="banner-body" data-testid="device-notice">
        {notice}
      </div>
    </div>
  );
}

/**
 * The form's error line. The slot keeps its height when empty, so the form does not jump; the
 * element with `testId` exists only while there is an error, and always holds its text.
 */
function ErrorSlot({ message, testId, id }: { message: string | null; testId: string; id: string }) {
  return (
    <div className="auth-error-slot" aria-live="assertive">
      {message && (
        <div className="auth-error" role="alert" id={id} data-testid={testId}>
          {message}
        </div>
      )}
    </div>
  );
}

const focusSoon = (ref: RefObject<HTMLInputElement | null>, select = false) =>
  requestAnimationFrame(() => {
    ref.current?.focus();
    if (select) ref.current?.select();
  });

/** Which field an auth error belongs to, so focus goes there. */
type ErrorTarget = 'code' | 'username' | 'password' | 'totp' | null;

function targetOf(e: ApiError): ErrorTarget {
  switch (e.code) {
    case 'invalid_enrolment_code':
      return 'code';
    case 'invalid_credentials':
      return 'password';
    case 'mfa_required':
      return 'totp';
    case 'account_locked':
    case 'account_disabled':
    case 'offline':
      return 'username';
    default:
      return null;
  }
}

/** The two-factor field, shown once the backend asks for a code. */
function TotpField({
  id,
  testId,
  value,
  onChange,
  ref,
  invalid,
  errorId,
}: {
  id: string;
  testId: string;
  value: string;
  onChange: (v: string) => void;
  ref: Ref<HTMLInputElement>;
  invalid: boolean;
  errorId: string;
}) {
  return (
    <AuthInput
      id={id}
      label="6-digit code"
      testId={testId}
      value={value}
      onChange={onChange}
      inputMode="numeric"
      autoComplete="one-time-code"
      maxLength={9}
      ref={ref}
      className="mono auth-code"
      hint="From the authenticator app on your phone."
      invalid={invalid}
      errorId={errorId}
    />
  );
}

// ---------- Enrolment ----------

export function EnrolScreen({
  state,
  onDone,
  onFailed,
}: {
  state: DeviceState;
  onDone: (s: DeviceState) => void;
  /**
   * Enrolment was refused. The backend may have enrolled the device before the sign-in failed
   * (the code is then used up): the gate re-reads the state and continues on the sign-in screen.
   */
  onFailed: (e: ApiError, username: string) => void;
}) {
  const base = useId();
  const [code, setCode] = useState('');
  const [deviceName, setDeviceName] = useState('');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [totp, setTotp] = useState('');
  const [askTotp, setAskTotp] = useState(false);
  const [error, setError] = useState<{ message: string; target: ErrorTarget | 'device_name' } | null>(null);
  const [busy, setBusy] = useState(false);
  const busyRef = useRef(false);
  const codeRef = useRef<HTMLInputElement>(null);
  const deviceNameRef = useRef<HTMLInputElement>(null);
  const usernameRef = useRef<HTMLInputElement>(null);
  const passwordRef = useRef<HTMLInputElement>(null);
  const totpRef = useRef<HTMLInputElement>(null);
  const errorId = `${base}-error`;

  type Target = 'code' | 'device_name' | 'username' | 'password' | 'totp';
  const show = (message: string, target: Target | null) => {
    setError({ message, target });
    const ref = {
      code: codeRef,
      device_name: deviceNameRef,
      username: usernameRef,
      password: passwordRef,
      totp: totpRef,
    };
    if (target) focusSoon(ref[target], target !== 'password');
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (busyRef.current) return;
    const missing: [string, Target, string][] = [
      [code, 'code', 'Enter the enrolment code from the administrator.'],
      [deviceName, 'device_name', 'Give this device a name staff will recognise.'],
      [username, 'username', 'Enter your user name.'],
      [password, 'password', 'Enter your password.'],
    ];
    const first = missing.find(([v]) => !v.trim());
    if (first) {
      show(first[2], first[1]);
      return;
    }
    if (askTotp && !normalizeTotp(totp)) {
      show('Enter the 6-digit code from your authenticator app.', 'totp');
      return;
    }
    // The old error goes while the answer is awaited, so "wait for the error" waits for this one.
    setError(null);
    busyRef.current = true;
    setBusy(true);
    try {
      const s = await api.enrolDevice({
        code: code.trim(),
        deviceName: deviceName.trim(),
        username: username.trim(),
        password,
        totp: askTotp ? normalizeTotp(totp) : undefined,
      });
      onDone(s);
    } catch (raw) {
      const err = toApiError(raw);
      const needCode = err.code === 'mfa_required' && !mfaSetupNeeded(err);
      if (needCode) setAskTotp(true);
      if (err.code === 'invalid_credentials') setPassword('');
      const field = err.errors?.[0]?.field;
      const target =
        field === 'code' ? 'code' : field === 'device_name' || field === 'name' ? 'device_name' : targetOf(err);
      show(authErrorMessage(err, { totpSent: askTotp && !!totp }), target);
      if (needCode) setTotp('');
      onFailed(err, username.trim());
    } finally {
      busyRef.current = false;
      setBusy(false);
    }
  };

  const invalid = (t: string) => error?.target === t;
  return (
    <AuthPage testId="enrol-screen" wide>
      <h1>Set up this device</h1>
      <p className="auth-sub">
        An administrator gives you a one-time enrolment code for this clinic. Then sign in with your own account to
        finish. Enrolment needs a connection to the sync server.
      </p>
      <DeviceNotice notice={state.notice} />
      <form className="auth-form" data-testid="enrol-form" noValidate onSubmit={(e) => void submit(e)}>
        <div className="auth-grid">
          <AuthInput
            id={`${base}-code`}
            label="Enrolment code"
            testId="enrol-code"
            value={code}
            onChange={setCode}
            autoFocus
            ref={codeRef}
            className="mono"
            placeholder="XXXX-XXXX"
            invalid={invalid('code')}
            errorId={errorId}
          />
          <AuthInput
            id={`${base}-device`}
            label="Device name"
            testId="enrol-device-name"
            value={deviceName}
            onChange={setDeviceName}
            ref={deviceNameRef}
            placeholder="e.g. Front desk laptop 2"
            invalid={invalid('device_name')}
            errorId={errorId}
          />
        </div>
        <fieldset className="auth-fieldset">
          <legend>Your account</legend>
          <div className="auth-grid">
            <AuthInput
              id={`${base}-username`}
              label="User name"
              testId="enrol-username"
              value={username}
              onChange={(v) => {
                setUsername(v);
                setAskTotp(false);
              }}
              autoComplete="username"
              ref={usernameRef}
              invalid={invalid('username')}
              errorId={errorId}
            />
            <AuthInput
              id={`${base}-password`}
              label="Password"
              testId="enrol-password"
              type="password"
              value={password}
              onChange={setPassword}
              autoComplete="current-password"
              ref={passwordRef}
              invalid={invalid('password')}
              errorId={errorId}
            />
          </div>
          {askTotp && (
            <TotpField
              id={`${base}-totp`}
              testId="enrol-totp"
              value={totp}
              onChange={setTotp}
              ref={totpRef}
              invalid={invalid('totp')}
              errorId={errorId}
            />
          )}
        </fieldset>
        <ErrorSlot message={error?.message ?? null} testId="enrol-error" id={errorId} />
        <button type="submit" className="btn btn-primary auth-submit" data-testid="enrol-submit" disabled={busy}>
          {busy ? 'Enrolling…' : 'Enrol this device'} <kbd>Enter</kbd>
        </button>
      </form>
    </AuthPage>
  );
}

// ---------- Sign-in ----------

export function SignInScreen({
  state,
  flash,
  onDone,
}: {
  state: DeviceState;
  flash: Flash | null;
  onDone: (s: DeviceState) => void;
}) {
  const base = useId();
  const [username, setUsername] = useState(flash?.username ?? '');
  const [password, setPassword] = useState('');
  const [totp, setTotp] = useState('');
  const [askTotp, setAskTotp] = useState(flash?.askTotp ?? false);
  const [error, setError] = useState<{ message: string; target: ErrorTarget } | null>(
    flash ? { message: flash.message, target: null } : null,
  );
  const [busy, setBusy] = useState(false);
  const busyRef = useRef(false);
  const codeRef = useRef<HTMLInputElement>(null);
  const usernameRef = useRef<HTMLInputElement>(null);
  const passwordRef = useRef<HTMLInputElement>(null);
  const totpRef = useRef<HTMLInputElement>(null);
  const errorId = `${base}-error`;
  const [now, setNow] = useState(() => new Date());
  // Lockout badges on the known users expire by themselves.
  useEffect(() => {
    const t = setInterval(() => setNow(new Date()), 30_000);
    return () => clearInterval(t);
  }, []);

  useEffect(() => {
    // With a name already filled in (after too many wrong PINs), start at the password.
    focusSoon(flash?.username ? passwordRef : usernameRef);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- on mount only
  }, []);

  const show = (message: string, target: ErrorTarget) => {
    setError({ message, target });
    const ref = { code: codeRef, username: usernameRef, password: passwordRef, totp: totpRef };
    if (target) focusSoon(ref[target], target !== 'password');
  };

  const pick = (name: string) => {
    if (name !== username) {
      setAskTotp(false);
      setTotp('');
    }
    setUsername(name);
    focusSoon(passwordRef, true);
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (busyRef.current) return;
    if (!username.trim()) {
      show('Enter your user name.', 'username');
      return;
    }
    if (!password) {
      show('Enter your password.', 'password');
      return;
    }
    if (askTotp && !normalizeTotp(totp)) {
      show('Enter the 6-digit code from your authenticator app.', 'totp');
      return;
    }
    // The old error goes while the answer is awaited, so "wait for the error" waits for this one.
    setError(null);
    busyRef.current = true;
    setBusy(true);
    try {
      const s = await api.signIn({
        username: username.trim(),
        password,
        totp: askTotp ? normalizeTotp(totp) : undefined,
      });
      onDone(s);
    } catch (raw) {
      const err = toApiError(raw);
      const needCode = err.code === 'mfa_required' && !mfaSetupNeeded(err);
      if (needCode) setAskTotp(true);
      if (err.code === 'invalid_credentials' || err.code === 'account_locked') setPassword('');
      show(authErrorMessage(err, { totpSent: askTotp && !!totp }), targetOf(err));
      if (needCode) setTotp('');
    } finally {
      busyRef.current = false;
      setBusy(false);
    }
  };

  const known = state.known_users;
  const device = state.device;
  return (
    <AuthPage testId="signin-screen" wide={known.length > 0}>
      <h1>Sign in</h1>
      <p className="auth-sub">
        {device ? (
          <>
            <span data-testid="device-name">{device.name}</span> ·{' '}
            <span className="mono">{device.clinic_id}</span>
          </>
        ) : null}
      </p>
      <DeviceNotice notice={state.notice} />
      <div className={known.length ? 'auth-columns' : undefined}>
        {known.length > 0 && (
          <section className="known-users" aria-labelledby={`${base}-known`}>
            <h2 id={`${base}-known`}>Signed in here before</h2>
            <ul className="known-user-list" data-testid="known-users">
              {known.map((u) => {
                const lockedLabel = lockedUntilLabel(u.locked_until, now);
                const selected = u.username.toLowerCase() === username.trim().toLowerCase();
                return (
                  <li key={u.user_id}>
                    <button
                      type="button"
                      className={`known-user ${selected ? 'is-selected' : ''}`}
                      data-testid="known-user"
                      data-username={u.username}
                      aria-pressed={selected}
                      onClick={() => pick(u.username)}
                    >
                      <span className="known-user-name">{u.display_name}</span>
                      <span className="known-user-meta">
                        {roleLabel(u.role)} · <span className="mono">{u.username}</span>
                      </span>
                      {lockedLabel && <span className="badge badge-refused">{lockedLabel}</span>}
                    </button>
                  </li>
                );
              })}
            </ul>
          </section>
        )}
        <form className="auth-form" data-testid="signin-form" noValidate onSubmit={(e) => void submit(e)}>
          <AuthInput
            id={`${base}-username`}
            label="User name"
            testId="signin-username"
            value={username}
            onChange={(v) => {
              setUsername(v);
              setAskTotp(false);
            }}
            autoComplete="username"
            ref={usernameRef}
            invalid={error?.target === 'username'}
            errorId={errorId}
          />
          <AuthInput
            id={`${base}-password`}
            label="Password"
            testId="signin-password"
            type="password"
            value={password}
            onChange={setPassword}
            autoComplete="current-password"
            ref={passwordRef}
            invalid={error?.target === 'password'}
            errorId={errorId}
          />
          {askTotp && (
            <TotpField
              id={`${base}-totp`}
              testId="signin-totp"
              value={totp}
              onChange={setTotp}
              ref={totpRef}
              invalid={error?.target === 'totp'}
              errorId={errorId}
            />
          )}
          <ErrorSlot message={error?.message ?? null} testId="signin-error" id={errorId} />
          <button type="submit" className="btn btn-primary auth-submit" data-testid="signin-submit" disabled={busy}>
            {busy ? 'Signing in…' : 'Sign in'} <kbd>Enter</kbd>
          </button>
          <p className="auth-hint" data-testid="signin-offline-hint">
            Works offline for staff who have signed in on this device before.
          </p>
        </form>
      </div>
    </AuthPage>
  );
}

// ---------- Lock screen ----------

export function LockScreen({
  state,
  onDone,
  onSignOut,
  onSignedOut,
  onRefresh,
}: {
  state: DeviceState;
  onDone: (s: DeviceState) => void;
  onSignOut: () => void;
  /** Re-reads the device state (after the backend dropped a used-up PIN). */
  onRefresh: () => void;
  /** Too many wrong PINs: the backend signed the user out. */
  onSignedOut: (username: string) => void;
}) {
  const base = useId();
  const user = state.user;
  const [mode, setMode] = useState<'pin' | 'password'>(state.pin_set ? 'pin' : 'password');
  const [secret, setSecret] = useState('');
  const [totp, setTotp] = useState('');
  const [askTotp, setAskTotp] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const busyRef = useRef(false);
  const secretRef = useRef<HTMLInputElement>(null);
  const totpRef = useRef<HTMLInputElement>(null);
  const errorId = `${base}-error`;
  const usePin = mode === 'pin' && state.pin_set;

  useEffect(() => {
    focusSoon(secretRef);
  }, [usePin]);

  if (!user) return null;

  const switchMode = () => {
    setMode(usePin ? 'password' : 'pin');
    setSecret('');
    setError(null);
    setAskTotp(false);
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (busyRef.current) return;
    if (!secret) {
      setError(usePin ? 'Enter your PIN.' : 'Enter your password.');
      focusSoon(secretRef);
      return;
    }
    // The old error goes while the answer is awaited, so "wait for the error" waits for this one.
    setError(null);
    busyRef.current = true;
    setBusy(true);
    try {
      const s = usePin
        ? await api.unlockWithPin(secret)
        : await api.signIn({ username: user.username, password: secret, totp: askTotp ? normalizeTotp(totp) : undefined });
      onDone(s);
    } catch (raw) {
      const err = toApiError(raw);
      if (usePin && err.code === 'signed_out') {
        // Five wrong PINs signed the user out: the sign-in screen says why.
        onSignedOut(user.username);
        return;
      }
      setSecret('');
      if (usePin && pinExhausted(err)) {
        // The PIN is gone; still locked: the password from now on.
        setMode('password');
        setError(TOO_MANY_PINS);
        onRefresh();
        focusSoon(secretRef);
        return;
      }
      if (err.code === 'mfa_required' && !mfaSetupNeeded(err)) {
        setAskTotp(true);
        setError(authErrorMessage(err, { totpSent: askTotp && !!totp }));
        setTotp('');
        focusSoon(totpRef);
        return;
      }
      setError(usePin ? wrongPinMessage(err) : authErrorMessage(err));
      focusSoon(secretRef);
    } finally {
      busyRef.current = false;
      setBusy(false);
    }
  };

  const access = accessOf(state);
  return (
    <AuthPage testId="lock-screen">
      <div className="lock-head">
        <svg className="lock-icon" viewBox="0 0 24 24" width="30" height="30" aria-hidden="true">
          <rect x="4" y="10.5" width="16" height="11" rx="2" fill="currentColor" />
          <path d="M8 10.5V7.5a4 4 0 0 1 8 0v3" fill="none" stroke="currentColor" strokeWidth="2.2" />
        </svg>
        <div>
          <h1>Locked</h1>
          <p className="auth-sub">
            <strong data-testid="lock-user">{user.display_name}</strong> · {access.label}
          </p>
        </div>
      </div>
      <form className="auth-form" data-testid="unlock-form" noValidate onSubmit={(e) => void submit(e)}>
        {usePin ? (
          <PinInput
            key="pin"
            id={`${base}-pin`}
            label="PIN"
            testId="unlock-pin"
            value={secret}
            onChange={setSecret}
            ref={secretRef}
            autoFocus
            invalid={!!error}
            errorId={errorId}
          />
        ) : (
          <AuthInput
            key="password"
            id={`${base}-password`}
            label="Password"
            testId="unlock-password"
            type="password"
            autoComplete="current-password"
            value={secret}
            onChange={setSecret}
            ref={secretRef}
            autoFocus
            invalid={!!error}
            errorId={errorId}
          />
        )}
        {askTotp && !usePin && (
          <TotpField
            id={`${base}-totp`}
            testId="unlock-totp"
            value={totp}
            onChange={setTotp}
            ref={totpRef}
            invalid={false}
            errorId={errorId}
          />
        )}
        <ErrorSlot message={error} testId="unlock-error" id={errorId} />
        <button type="submit" className="btn btn-primary auth-submit" data-testid="unlock-submit" disabled={busy}>
          {busy ? 'Unlocking…' : 'Unlock'} <kbd>Enter</kbd>
        </button>
        <div className="auth-links">
          {state.pin_set && (
            <button type="button" className="link" data-testid="unlock-switch" onClick={switchMode}>
              {usePin ? 'Use password instead' : 'Use PIN instead'}
            </button>
          )}
          <button type="button" className="link" data-testid="sign-out" onClick={onSignOut}>
            Not you? Sign out
          </button>
        </div>
      </form>
    </AuthPage>
  );
}

// ---------- No-role screen (the kiosk is components/Kiosk.tsx) ----------

export function NoRoleScreen({ state, onSignOut }: { state: DeviceState; onSignOut: () => void }) {
  return (
    <AuthPage testId="no-role-screen">
      <h1>No clinic role</h1>
      <p className="auth-sub" data-testid="forbidden-message">
        {state.user?.display_name ?? 'This account'} has no role in this clinic, so there is nothing to show on this
        device. Ask the clinic administrator to give the account a role.
      </p>
      <button type="button" className="btn btn-primary" data-testid="sign-out" onClick={onSignOut} autoFocus>
        Sign out
      </button>
    </AuthPage>
  );
}
