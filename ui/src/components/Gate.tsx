import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { api, onSessionError, setCurrentRole, toApiError } from '../api';
import { App } from '../App';
import { authErrorMessage, mfaSetupNeeded, screenFor, signedOutBecause, throttle, TOO_MANY_PINS, TOUCH_INTERVAL_MS } from '../auth';
import { accessOf } from '../roles';
import type { ApiError, DeviceState } from '../types';
import { Kiosk } from './Kiosk';
import { EnrolScreen, LockScreen, NoRoleScreen, SignInScreen, type Flash } from './AuthScreens';
import { ErrorBanner } from './ErrorBanner';

/** Re-read `device_state` this often as well as on events (a missed event never strands a screen). */
export const DEVICE_STATE_POLL_MS = 15_000;

export interface DeviceStateHook {
  state: DeviceState | null;
  error: ApiError | null;
  /** Shows a state a command answered with. */
  apply: (s: DeviceState) => void;
  refresh: () => void;
}

/**
 * The device state: `device_state` at start, `device-state` events, session refusals, a slow poll.
 * `onChange(prev, next)` sees every new state with the one before it.
 */
export function useDeviceState(onChange?: (prev: DeviceState | null, next: DeviceState) => void): DeviceStateHook {
  const [state, setState] = useState<DeviceState | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const alive = useRef(true);
  const prev = useRef<DeviceState | null>(null);
  const onChangeRef = useRef(onChange);
  useEffect(() => {
    onChangeRef.current = onChange;
  });

  const apply = useCallback((s: DeviceState) => {
    if (!alive.current) return;
    setError(null);
    // The poll mostly brings the same state again: keep the old object so nothing re-renders.
    if (prev.current && JSON.stringify(prev.current) === JSON.stringify(s)) return;
    onChangeRef.current?.(prev.current, s);
    prev.current = s;
    setState(s);
  }, []);
  const refresh = useCallback(() => {
    api.deviceState().then(apply, (e: unknown) => {
      if (alive.current) setError(toApiError(e));
    });
  }, [apply]);

  useEffect(() => {
    alive.current = true;
    let unlisten: (() => void) | null = null;
    refresh();
    const timer = setInterval(refresh, DEVICE_STATE_POLL_MS);
    const offSession = onSessionError(refresh);
    api.onDeviceState(apply).then(
      (u) => {
        if (alive.current) unlisten = u;
        else u();
      },
      () => {
        // No event channel: the poll and the session refusals still bring changes in.
      },
    );
    return () => {
      alive.current = false;
      clearInterval(timer);
      offSession();
      unlisten?.();
    };
  }, [apply, refresh]);

  return { state, error, apply, refresh };
}

/**
 * The app gate: enrolment, sign-in, the lock screen, the self check-in kiosk, or the app itself,
 * whichever the device state calls for. The app is unmounted while locked, so no patient data
 * stays on screen (or in the page) behind the lock.
 */
export function Gate() {
  const [flash, setFlash] = useState<Flash | null>(null);
  const { state, error, apply, refresh } = useDeviceState((prev, next) => {
    const why = signedOutBecause(prev, next);
    if (why) setFlash(why);
  });
  const screen = screenFor(state);
  const access = useMemo(() => (state ? accessOf(state) : null), [state]);
  const signedIn = screen === 'app' || screen === 'kiosk' || screen === 'no_role';
  const kiosk = screen === 'kiosk';

  useEffect(() => {
    setCurrentRole(access?.role ?? null);
  }, [access]);

  const lock = useCallback(() => {
    api.lock().then(apply, refresh);
  }, [apply, refresh]);
  const signOut = useCallback(() => {
    setFlash(null);
    api.signOut().then(apply, refresh);
  }, [apply, refresh]);

  // Ctrl+L locks; any key or pointer activity tells the backend's inactivity timer (at most every 30 s).
  useEffect(() => {
    if (!signedIn) return;
    const ping = throttle(() => {
      api.touch().catch(() => {
        // Fire and forget: a locked or signed-out session is reported by the next command.
      });
    }, TOUCH_INTERVAL_MS);
    const onKey = (e: KeyboardEvent) => {
      // A kiosk is for patients: no lock shortcut (leaving takes a staff PIN).
      if (!kiosk && (e.key === 'l' || e.key === 'L') && (e.ctrlKey || e.metaKey) && !e.altKey && !e.shiftKey) {
        e.preventDefault();
        e.stopPropagation();
        lock();
        return;
      }
      ping();
    };
    const onPointer = () => ping();
    window.addEventListener('keydown', onKey, true);
    window.addEventListener('pointerdown', onPointer, true);
    return () => {
      window.removeEventListener('keydown', onKey, true);
      window.removeEventListener('pointerdown', onPointer, true);
    };
  }, [signedIn, lock, kiosk]);

  const onUnlockSignedOut = useCallback(
    (username: string) => {
      setFlash({ message: TOO_MANY_PINS, username });
      refresh();
    },
    [refresh],
  );
  const onEnrolFailed = useCallback(
    (e: ApiError, username: string) => {
      api.deviceState().then((s) => {
        if (s.enrolled) {
          // Enrolled, but the sign-in that completes it failed: finish on the sign-in screen.
          const askTotp = e.code === 'mfa_required' && !mfaSetupNeeded(e);
          setFlash({
            message: `This device is now enrolled${s.device ? ` as “${s.device.name}”` : ''}; sign in to finish. ${authErrorMessage(e)}`,
            username,
            askTotp,
          });
        }
        apply(s);
      }, refresh);
    },
    [apply, refresh],
  );
  const onSignedIn = useCallback(
    (s: DeviceState) => {
      setFlash(null);
      apply(s);
    },
    [apply],
  );

  if (!state) {
    return (
      <div className="auth-page" data-testid="gate-loading" aria-busy={!error}>
        <div className="auth-card">
          {error ? (
            <ErrorBanner title="This device's sign-in state could not be read" onRetry={refresh}>
              {error.message}
            </ErrorBanner>
          ) : (
            <p className="loading">Starting…</p>
          )}
        </div>
      </div>
    );
  }

  switch (screen) {
    case 'enrol':
      return <EnrolScreen state={state} onDone={onSignedIn} onFailed={onEnrolFailed} />;
    case 'sign_in':
      return <SignInScreen key={flash?.username ?? ''} state={state} flash={flash} onDone={onSignedIn} />;
    case 'locked':
      return (
        <LockScreen
          state={state}
          onDone={onSignedIn}
          onSignOut={signOut}
          onSignedOut={onUnlockSignedOut}
          onRefresh={refresh}
        />
      );
    case 'kiosk':
      return <Kiosk state={state} onLeft={onSignedIn} onSessionEnded={refresh} />;
    case 'no_role':
      return <NoRoleScreen state={state} onSignOut={signOut} />;
    default:
      return access && state.user ? (
        <App session={{ state, user: state.user, access, apply, lock, signOut }} />
      ) : null;
  }
}
