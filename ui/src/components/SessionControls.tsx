import { useEffect, useRef, useState, type FormEvent } from 'react';
import { api, toApiError } from '../api';
import { authErrorMessage, pinProblem } from '../auth';
import type { Access } from '../roles';
import type { DeviceState, SessionUser } from '../types';
import { PinDialog } from './PinDialog';

/** What the app knows about the session (from the gate). */
export interface Session {
  state: DeviceState;
  user: SessionUser;
  access: Access;
  /** Shows a state a command answered with. */
  apply: (s: DeviceState) => void;
  lock: () => void;
  signOut: () => void;
}

/** The header's right end: who is signed in, Set PIN, Lock (Ctrl+L), Sign out. */
export function SessionControls({ session, onNotice }: { session: Session; onNotice: (m: string) => void }) {
  const [pinOpen, setPinOpen] = useState(false);
  const [kioskError, setKioskError] = useState<string | null>(null);
  const [kioskBusy, setKioskBusy] = useState(false);
  const enterKiosk = () => {
    if (kioskBusy) return;
    setKioskError(null);
    setKioskBusy(true);
    api.enterKiosk().then(
      (s) => {
        setKioskBusy(false);
        session.apply(s);
      },
      (e: unknown) => {
        setKioskBusy(false);
        const err = toApiError(e);
        setKioskError(
          err.code === 'pin_required'
            ? 'Set a PIN first (Set PIN): leaving kiosk mode needs your PIN.'
            : authErrorMessage(err),
        );
      },
    );
  };
  const pinButton = useRef<HTMLButtonElement>(null);
  const { user, access, state } = session;
  return (
    <div className="session" aria-label="Session">
      <div className="session-user" title={`Signed in as ${user.username}`}>
        <span className="session-name" data-testid="current-user">
          {user.display_name}
        </span>
        <span className="session-role" data-testid="current-role" data-role={access.role ?? ''}>
          {access.label}
        </span>
      </div>
      {state.online_session === false && (
        <span
          className="badge badge-pending"
          data-testid="offline-session"
          title="Signed in without the sync server: work is saved on this device, and syncing resumes after a sign-in while online."
        >
          Offline sign-in
        </span>
      )}
      <button
        type="button"
        className="btn btn-small btn-quiet"
        data-testid="enter-kiosk"
        disabled={kioskBusy}
        title="Turn this screen into a self check-in kiosk for patients; leaving it takes your PIN"
        onClick={enterKiosk}
      >
        Kiosk mode
      </button>
      {kioskError && (
        <span className="session-error" role="alert" data-testid="enter-kiosk-error">
          {kioskError}
        </span>
      )}
      <button
        type="button"
        ref={pinButton}
        className="btn btn-small btn-quiet"
        data-testid="set-pin-button"
        onClick={() => setPinOpen(true)}
      >
        {state.pin_set ? 'Change PIN' : 'Set PIN'}
      </button>
      <button
        type="button"
        className="btn btn-small"
        data-testid="lock-button"
        title="Lock the app (Ctrl+L); unlock with your PIN or password"
        onClick={session.lock}
      >
        Lock <kbd>Ctrl+L</kbd>
      </button>
      <button type="button" className="btn btn-small btn-quiet" data-testid="sign-out" onClick={session.signOut}>
        Sign out
      </button>
      {pinOpen && (
        <SetPinDialog
          replacing={state.pin_set}
          onClose={() => {
            setPinOpen(false);
            requestAnimationFrame(() => pinButton.current?.focus());
          }}
          onSaved={(s) => {
            session.apply(s);
            setPinOpen(false);
            setKioskError(null);
            onNotice('PIN saved on this device. Use it to unlock after the app locks.');
          }}
        />
      )}
    </div>
  );
}

/** A small modal: one PIN field (4–8 digits), Enter saves, Esc closes. */
export function SetPinDialog({
  replacing,
  onClose,
  onSaved,
}: {
  replacing: boolean;
  onClose: () => void;
  onSaved: (s: DeviceState) => void;
}) {
  const [pin, setPin] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const inputRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    inputRef.current?.focus();
  }, []);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (busy) return;
    const problem = pinProblem(pin);
    if (problem) {
      setError(problem);
      inputRef.current?.focus();
      return;
    }
    setError(null);
    setBusy(true);
    try {
      onSaved(await api.setPin(pin));
    } catch (raw) {
      const err = toApiError(raw);
      setError(authErrorMessage(err));
      setBusy(false);
      inputRef.current?.focus();
    }
  };

  return (
    <PinDialog
      title={replacing ? 'Change your PIN' : 'Set a PIN'}
      text="When the app locks, unlock it with this PIN instead of your password. It works on this device only. After 5 wrong PINs you must sign in with your password."
      label="PIN (4 to 8 digits)"
      pin={pin}
      error={error}
      busy={busy}
      submitLabel={
        <>
          {busy ? 'Saving…' : 'Save PIN'} <kbd>Enter</kbd>
        </>
      }
      inputRef={inputRef}
      trapFocus
      testIds={{ dialog: 'set-pin-dialog', input: 'pin-input', error: 'pin-error', submit: 'pin-submit' }}
      onPin={(v) => {
        setPin(v);
        if (error) setError(null);
      }}
      onSubmit={(e) => void submit(e)}
      onClose={onClose}
    />
  );
}
