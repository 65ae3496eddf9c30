import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { api, toApiError } from '../api';
import { wrongPinMessage } from '../auth';
import { checkFallbackCode, formatInitials, groupCodeInput, looksLikeCard } from '../cards';
import { KIOSK_START, kioskReducer, kioskTimeout, type KioskEvent, type KioskState } from '../kiosk';
import type { DeviceState } from '../types';
import { useWedgeScanner } from './Scanner';
import { useCamera } from '../useCamera';
import { PinDialog } from './PinDialog';

/**
 * Self check-in: a patient scans their card (keyboard-wedge scanner) or types its fallback code and
 * sees only their initials and queue number, then the prompt returns. No names, no navigation.
 * Staff leave kiosk mode with their PIN (the discreet "Staff" button).
 */
export function Kiosk({
  state: device,
  onLeft,
  onSessionEnded,
}: {
  state: DeviceState;
  /** `leave_kiosk` answered: show that state. */
  onLeft: (s: DeviceState) => void;
  /** Too many wrong PINs: the session ended (re-read the device state). */
  onSessionEnded: () => void;
}) {
  const [state, setState] = useState<KioskState>(KIOSK_START);
  const current = useRef<KioskState>(KIOSK_START);
  const [code, setCode] = useState('');
  const [pinOpen, setPinOpen] = useState(false);
  const codeRef = useRef<HTMLInputElement>(null);
  const codeId = useId();

  const send = (event: KioskEvent): KioskState => {
    const next = kioskReducer(current.current, event);
    current.current = next;
    setState(next);
    return next;
  };

  const checkIn = (text: string) => {
    if (current.current.kind === 'checking') return;
    const { seq } = send({ type: 'submit' });
    setCode('');
    api.checkIn(text).then(
      (result) => send({ type: 'checked_in', seq, result }),
      (e: unknown) => send({ type: 'failed', seq, error: toApiError(e) }),
    );
  };

  useWedgeScanner(checkIn, !pinOpen);

  // A camera, when there is one: the patient may hold the card up to it instead. It stays on
  // (a kiosk is a dedicated screen); after its idle time-out it is started again.
  const pinOpenRef = useRef(pinOpen);
  useEffect(() => {
    pinOpenRef.current = pinOpen;
  });
  const camera = useCamera((text) => {
    // Only cards: another code in view (a poster) must not flash an error at the patient.
    if (!pinOpenRef.current && looksLikeCard(text)) checkIn(text);
  });
  const { cameras, start: startCamera, state: cameraState } = camera;
  const firstCamera = cameras?.[0]?.id ?? null;
  useEffect(() => {
    if (firstCamera) startCamera(firstCamera);
  }, [firstCamera, startCamera]);
  useEffect(() => {
    if (firstCamera && cameraState.kind === 'failed' && cameraState.code === 'camera_idle') startCamera(firstCamera);
  }, [firstCamera, cameraState, startCamera]);

  // Result and error screens go back to the prompt by themselves.
  useEffect(() => {
    const ms = kioskTimeout(state);
    if (ms === null) return;
    const t = setTimeout(() => send({ type: 'timeout', seq: state.seq }), ms);
    return () => clearTimeout(t);
  }, [state]);

  useEffect(() => {
    if (state.kind === 'prompt' && !pinOpen) codeRef.current?.focus();
  }, [state.kind, pinOpen]);

  const submitCode = (e: FormEvent) => {
    e.preventDefault();
    const c = checkFallbackCode(code);
    if (!c.ok) {
      send({ type: 'invalid', message: c.problem });
      return;
    }
    checkIn(c.code);
  };

  return (
    <div className="kiosk" data-testid="kiosk-screen" data-kiosk-state={state.kind}>
      <header className="kiosk-head">
        <span className="brand-mark" aria-hidden="true">
          +
        </span>
        <span className="kiosk-brand">Anola Health</span>
        <span className="kiosk-welcome">Welcome — self check-in</span>
      </header>

      <main className="kiosk-main">
        {state.kind === 'prompt' && (
          <section className="kiosk-panel" data-testid="kiosk-prompt">
            <h1 className="kiosk-title">Scan your Anola card</h1>
            <p className="kiosk-sub">
              {cameraState.kind === 'live'
                ? 'Hold the square code on your card under the scanner, or up to the camera.'
                : 'Hold the square code on your card under the scanner.'}
            </p>
            {cameraState.kind === 'live' && (
              <div className="kiosk-camera" data-testid="kiosk-camera">
                <div className="camera-box">
                  {cameraState.preview ? (
                    <img className="camera-preview" data-testid="camera-preview" src={cameraState.preview} alt="What the camera sees" />
                  ) : (
                    <div className="camera-placeholder">Starting the camera…</div>
                  )}
                </div>
              </div>
            )}
            <form className="kiosk-code" noValidate onSubmit={submitCode}>
              <label htmlFor={codeId}>No scan? Type the 12-digit number printed under the code:</label>
              <div className="kiosk-code-row">
                <input
                  id={codeId}
                  ref={codeRef}
                  data-testid="kiosk-code-input"
                  data-wedge="hold"
                  className="kiosk-code-input mono"
                  inputMode="numeric"
                  autoComplete="off"
                  placeholder="1234-5678-9012"
                  maxLength={14}
                  value={code}
                  onChange={(e) => setCode(groupCodeInput(e.target.value))}
                />
                <button type="submit" className="btn btn-primary kiosk-button" data-testid="kiosk-code-submit">
                  Check in
                </button>
              </div>
            </form>
          </section>
        )}

        {state.kind === 'checking' && (
          <section className="kiosk-panel" aria-busy="true" data-testid="kiosk-checking">
            <p className="kiosk-title">Checking your card…</p>
          </section>
        )}

        {state.kind === 'result' && (
          <section className="kiosk-panel kiosk-result" role="status" data-testid="kiosk-result">
            <p className="kiosk-big">
              <span data-testid="kiosk-initials">{formatInitials(state.initials)}</span> — you are number{' '}
              <span className="kiosk-number" data-testid="kiosk-queue-number">
                {state.queueNumber}
              </span>
            </p>
            <p className="kiosk-sub">You are checked in. Please take a seat — we will call your number.</p>
            <button type="button" className="btn kiosk-button" onClick={() => send({ type: 'dismiss' })}>
              Done
            </button>
          </section>
        )}

        {state.kind === 'error' && (
          <section className="kiosk-panel kiosk-error" role="alert" data-testid="kiosk-error">
            <p className="kiosk-title">{state.message}</p>
            <button type="button" className="btn btn-primary kiosk-button" onClick={() => send({ type: 'dismiss' })} autoFocus>
              Try again
            </button>
          </section>
        )}
      </main>

      <footer className="kiosk-foot">
        <span className="muted">{device.device?.name}</span>
        <button
          type="button"
          className="kiosk-exit"
          data-testid="kiosk-exit"
          aria-label="Staff: leave kiosk mode"
          onClick={() => setPinOpen(true)}
        >
          Staff
        </button>
      </footer>

      {pinOpen && (
        <LeaveKioskDialog
          onClose={() => setPinOpen(false)}
          onLeft={onLeft}
          onSessionEnded={onSessionEnded}
        />
      )}
    </div>
  );
}

function LeaveKioskDialog({
  onClose,
  onLeft,
  onSessionEnded,
}: {
  onClose: () => void;
  onLeft: (s: DeviceState) => void;
  onSessionEnded: () => void;
}) {
  const [pin, setPin] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const inputRef = useRef<HTMLInputElement>(null);
  useEffect(() => {
    inputRef.current?.focus();
  }, []);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (busy) return;
    if (!pin) {
      setError('Enter your PIN.');
      return;
    }
    setError(null);
    setBusy(true);
    api.leaveKiosk(pin).then(onLeft, (raw: unknown) => {
      const err = toApiError(raw);
      setBusy(false);
      setPin('');
      setError(wrongPinMessage(err));
      if (err.code === 'signed_out') onSessionEnded();
      inputRef.current?.focus();
    });
  };

  return (
    <PinDialog
      title="Leave kiosk mode"
      text="Staff only: enter the PIN of the person who started kiosk mode."
      label="PIN"
      pin={pin}
      error={error}
      busy={busy}
      submitLabel={busy ? 'Checking…' : 'Leave kiosk mode'}
      inputRef={inputRef}
      testIds={{ dialog: 'kiosk-pin-dialog', input: 'kiosk-pin', error: 'kiosk-pin-error', submit: 'kiosk-pin-submit' }}
      onPin={(v) => {
        setPin(v);
        if (error) setError(null);
      }}
      onSubmit={submit}
      onClose={onClose}
    />
  );
}
