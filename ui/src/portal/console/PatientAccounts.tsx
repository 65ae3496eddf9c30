// A patient's own account for the portal: find the patient (card id or patient id), then give them
// a user name and a first password. The account sees only that patient's record.

import { useState, type FormEvent } from 'react';
import type { PatientSelf, SessionUser } from '../../generated/protocol';
import { TextField } from '../../components/Field';
import { ErrorBanner } from '../../components/ErrorBanner';
import { fieldError, get, post, type ApiError } from '../http';

export function PatientAccounts({ clinic }: { clinic: string }) {
  const [q, setQ] = useState('');
  const [found, setFound] = useState<PatientSelf[] | null>(null);
  const [chosen, setChosen] = useState<PatientSelf | null>(null);
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const [created, setCreated] = useState<SessionUser | null>(null);

  const find = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      setFound(await get<PatientSelf[]>(`/portal/api/patients/find?clinic_id=${encodeURIComponent(clinic)}&q=${encodeURIComponent(q.trim())}`));
    } catch (err) {
      setError(err as ApiError);
    }
  };
  const create = async (e: FormEvent) => {
    e.preventDefault();
    if (!chosen) return;
    setError(null);
    try {
      setCreated(await post<SessionUser>(`/portal/api/patients/${chosen.patient_id}/account`, { username: username.trim(), password }));
      setChosen(null);
    } catch (err) {
      setError(err as ApiError);
    }
  };

  return (
    <section aria-labelledby="pa-title">
      <h1 id="pa-title">Patient accounts</h1>
      <p className="page-sub">Patients see their card, appointments, balances, shared records and consents online. Their record stays the clinic&apos;s.</p>
      {created && (
        <p className="banner banner-success" role="status" data-testid="patient-account-created">
          {created.display_name} can now sign in as <strong>{created.username}</strong>.
        </p>
      )}
      <form className="inline-form" onSubmit={(e) => void find(e)} noValidate aria-labelledby="pa-find">
        <h2 id="pa-find" className="inline-form-title">
          Find the patient
        </h2>
        <TextField testId="pa-query" label="Health card id (AH-XXXX-XXXX) or patient id" value={q} onValueChange={setQ} />
        <button type="submit" className="btn btn-small" data-testid="pa-find-button">
          Find
        </button>
      </form>
      {error && !fieldError(error, 'username') && !fieldError(error, 'password') && <ErrorBanner title={error.message} onDismiss={() => setError(null)} />}
      {found && found.length === 0 && <p className="empty">No patient of this clinic has that card or id.</p>}
      <ul className="plain-list">
        {(found ?? []).map((p) => (
          <li key={p.patient_id}>
            <button type="button" className="btn btn-small" onClick={() => setChosen(p)} data-testid={`pa-choose-${p.patient_id}`}>
              {p.given_name} {p.family_name} {p.date_of_birth ? `(born ${p.date_of_birth})` : ''}
            </button>
          </li>
        ))}
      </ul>
      {chosen && (
        <form className="inline-form" onSubmit={(e) => void create(e)} noValidate aria-labelledby="pa-new">
          <h2 id="pa-new" className="inline-form-title">
            Account for {chosen.given_name} {chosen.family_name}
          </h2>
          <TextField testId="pa-username" label="User name" value={username} onValueChange={setUsername} error={fieldError(error, 'username')} />
          <TextField testId="pa-password" label="First password" type="password" autoComplete="new-password" value={password} onValueChange={setPassword} error={fieldError(error, 'password')} />
          <button type="submit" className="btn btn-primary" data-testid="pa-create">
            Create account
          </button>
        </form>
      )}
    </section>
  );
}
