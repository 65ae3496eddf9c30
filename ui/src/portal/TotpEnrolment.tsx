import { useState, type FormEvent } from 'react';
import type { TotpSetup } from '../generated/protocol';
import { TextField } from '../components/Field';
import { ErrorBanner } from '../components/ErrorBanner';
import { fieldError, post, type ApiError } from './http';

/** Administrators work only with a second factor: enrol an authenticator, then sign in again. */
export function TotpEnrolment({ onDone }: { onDone: () => void }) {
  const [setup, setSetup] = useState<TotpSetup | null>(null);
  const [code, setCode] = useState('');
  const [error, setError] = useState<ApiError | null>(null);

  const start = async () => {
    setError(null);
    try {
      setSetup(await post<TotpSetup>('/auth/totp/setup'));
    } catch (e) {
      setError(e as ApiError);
    }
  };
  const confirm = async (e: FormEvent) => {
    e.preventDefault();
    try {
      await post('/auth/totp/confirm', { code });
      onDone();
    } catch (err) {
      setError(err as ApiError);
    }
  };
  return (
    <main className="portal-main portal-narrow">
      <h1>Set up two-step sign-in</h1>
      <p>Administrators sign in with a code from an authenticator app as well as their password.</p>
      {!setup ? (
        <button type="button" className="btn btn-primary" onClick={() => void start()} data-testid="totp-start">
          Start
        </button>
      ) : (
        <form onSubmit={(e) => void confirm(e)} noValidate>
          <p>
            Add this key to your authenticator app (or open the link on your phone):{' '}
            <code className="mono" data-testid="totp-secret">
              {setup.secret_base32}
            </code>{' '}
            <a href={setup.otpauth_uri}>otpauth link</a>
          </p>
          <TextField testId="totp-code" label="Code from the app" value={code} onValueChange={setCode} inputMode="numeric" error={fieldError(error, 'code')} />
          <button type="submit" className="btn btn-primary" data-testid="totp-confirm">
            Confirm and sign in again
          </button>
        </form>
      )}
      {error && !fieldError(error, 'code') && <ErrorBanner title={error.message} />}
    </main>
  );
}
