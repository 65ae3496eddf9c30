// The portal's shell: who is signed in decides what is shown (the same role rules as the server's).
// Clinic and platform administrators get the console, patients their own pages; other accounts
// are told the portal has nothing for them yet.

import { useEffect, useState } from 'react';
import type { PortalSession, SessionUser } from '../generated/protocol';
import { ErrorBanner } from '../components/ErrorBanner';
import { get, onSessionEnded, post } from './http';
import { SignIn } from './SignIn';
import { TotpEnrolment } from './TotpEnrolment';
import { Console } from './console/Console';
import { PatientHome } from './patient/PatientHome';
import { SponsorPortal } from './sponsor/SponsorPortal';

type State = { kind: 'loading' } | { kind: 'signed_out'; notice?: string } | { kind: 'signed_in'; user: SessionUser };

export function Portal() {
  const [state, setState] = useState<State>({ kind: 'loading' });

  useEffect(() => {
    get<SessionUser>('/auth/me')
      .then((user) => setState({ kind: 'signed_in', user }))
      .catch(() => setState({ kind: 'signed_out' }));
    return onSessionEnded(() => setState({ kind: 'signed_out', notice: 'Your session ended. Sign in again.' }));
  }, []);

  const signOut = async () => {
    await post('/portal/api/session/end').catch(() => undefined);
    setState({ kind: 'signed_out', notice: 'You are signed out.' });
  };

  if (state.kind === 'loading') {
    return (
      <main className="portal-center" aria-busy="true">
        <p className="loading">Loading…</p>
      </main>
    );
  }
  if (state.kind === 'signed_out') {
    return <SignIn notice={state.notice} onSignedIn={(s: PortalSession) => setState({ kind: 'signed_in', user: s.user })} />;
  }
  const user = state.user;
  const admin = user.platform_admin || user.role === 'clinic_admin';
  return (
    <div className="portal">
      <header className="portal-header">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true">
            A
          </span>
          <span>Anola Health</span>
          <span className="portal-where">
            {admin ? 'Clinic console' : user.user_type === 'patient' ? 'My health' : user.user_type === 'sponsor' ? 'Sponsor' : 'Portal'}
          </span>
        </div>
        <div className="portal-user">
          <span data-testid="portal-user">{user.display_name}</span>
          <button type="button" className="btn btn-small" onClick={() => void signOut()} data-testid="sign-out">
            Sign out
          </button>
        </div>
      </header>
      {admin && !user.totp_enabled ? (
        <TotpEnrolment onDone={() => void signOut()} />
      ) : admin ? (
        <Console user={user} />
      ) : user.user_type === 'patient' && user.patient_id ? (
        <PatientHome />
      ) : user.user_type === 'sponsor' ? (
        <SponsorPortal />
      ) : (
        <main className="portal-main">
          <ErrorBanner title="Nothing here for your account yet">
            The portal serves clinic administrators, sponsors and patients. Staff work in the clinic app.
          </ErrorBanner>
        </main>
      )}
    </div>
  );
}
