import { useState, type FormEvent } from 'react';
import type { PortalSession } from '../generated/protocol';
import { TextField } from '../components/Field';
import { fieldError, post, type ApiError } from './http';

/** Sign-in with the same accounts and rules as the app: password, then the TOTP code when asked. */
export function SignIn({ notice, onSignedIn }: { notice?: string; onSignedIn: (s: PortalSession) => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [totp, setTotp] = useState('');
  const [askTotp, setAskTotp] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const s = await post<PortalSession>('/portal/api/session', {
        username,
        password,
        ...(askTotp ? { totp } : {}),
      });
      onSignedIn(s);
    } catch (err) {
      const e2 = err as ApiError;
      if (e2.code === 'mfa_required') {
        setAskTotp(true);
        setError(askTotp ? e2 : null);
      } else {
        setError(e2);
      }
    } finally {
      setBusy(false);
    }
  };

  const general = error && !fieldError(error, 'totp') ? error.message : null;
  return (
    <main className="auth-page">
      <form className="auth-card" onSubmit={(e) => void submit(e)} aria-labelledby="sign-in-title" noValidate>
        <div className="auth-brand">
          <span className="brand-mark" aria-hidden="true">
            A
          </span>
          Anola Health
        </div>
        <h1 id="sign-in-title">Sign in to the portal</h1>
        {notice && (
          <p className="auth-notice" role="status">
            {notice}
          </p>
        )}
        <TextField testId="username" label="User name" value={username} onValueChange={setUsername} autoComplete="username" required />
        <TextField
          testId="password"
          label="Password"
          type="password"
          value={password}
          onValueChange={setPassword}
          autoComplete="current-password"
          required
        />
        {askTotp && (
          <TextField
            testId="totp"
            label="6-digit code from your authenticator"
            value={totp}
            onValueChange={setTotp}
            inputMode="numeric"
            autoComplete="one-time-code"
            autoFocus
            error={fieldError(error, 'totp')}
          />
        )}
        <div className="auth-error-slot" aria-live="assertive">
          {general && (
            <p className="auth-error" data-testid="sign-in-error">
              {general}
            </p>
          )}
        </div>
        <button type="submit" className="btn btn-primary auth-submit" disabled={busy} data-testid="sign-in">
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
