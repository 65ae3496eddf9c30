// What needs an administrator's eye: possible duplicate registrations (merge them), conflicts and
// refused changes the server recorded, and who looked at a patient's record.

import { useState, type FormEvent } from 'react';
import { PROTOCOL_VERSION } from '../../generated/protocol';
import type { AuditEntry, ConflictNote } from '../../types';
import { TextField } from '../../components/Field';
import { ErrorBanner } from '../../components/ErrorBanner';
import { conflictSentence, conflictTitle, sortNotesNewestFirst } from '../../conflicts';
import { accessActionLabel } from '../../accessHistory';
import { formatDateTime } from '../../format';
import { get, post, type ApiError } from '../http';
import { useLoad } from '../useLoad';

export function Review({ clinic }: { clinic: string }) {
  const q = `clinic_id=${encodeURIComponent(clinic)}`;
  const candidates = useLoad(() => get<ConflictNote[]>(`/admin/merge-candidates?${q}`), clinic);
  const conflicts = useLoad(() => get<ConflictNote[]>(`/admin/conflicts?${q}`), clinic);
  const [error, setError] = useState<ApiError | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const merge = async (survivor: string, duplicate: string) => {
    setError(null);
    try {
      await post('/admin/patients/merge', { protocol_version: PROTOCOL_VERSION, clinic_id: clinic, survivor, duplicate, merged_by: 'portal' });
      setNotice('Merged: devices move the duplicate’s appointments and records at their next sync');
      candidates.reload();
    } catch (e) {
      setError(e as ApiError);
    }
  };

  return (
    <section aria-labelledby="review-title">
      <h1 id="review-title">Duplicates and conflicts</h1>
      {notice && (
        <p className="banner banner-success" role="status">
          {notice}
        </p>
      )}
      {error && <ErrorBanner title={error.message} onDismiss={() => setError(null)} />}
      <h2>Possible duplicates</h2>
      {candidates.error && <ErrorBanner title="Could not load duplicates" onRetry={candidates.reload}>{candidates.error.message}</ErrorBanner>}
      {candidates.data && candidates.data.length === 0 && <p className="empty">No possible duplicates.</p>}
      <ul className="plain-list">
        {(candidates.data ?? []).map((n) =>
          n.kind === 'possible_duplicate' ? (
            <li key={n.id} className="conflict-item">
              <p>{conflictSentence(n)}</p>
              <p className="muted mono small-note">{n.patients.join(' · ')}</p>
              <button type="button" className="btn btn-small" onClick={() => void merge(n.patients[0], n.patients[1])}>
                Keep the first, merge the second into it
              </button>
            </li>
          ) : null,
        )}
      </ul>
      <h2>Conflicts and refused changes</h2>
      {conflicts.error && <ErrorBanner title="Could not load conflicts" onRetry={conflicts.reload}>{conflicts.error.message}</ErrorBanner>}
      {conflicts.data && conflicts.data.length === 0 && <p className="empty">No conflicts recorded.</p>}
      <ul className="plain-list">
        {sortNotesNewestFirst(conflicts.data ?? []).map((n) => (
          <li key={n.id} className="conflict-item">
            <strong>{conflictTitle(n)}</strong> <span className="muted">{formatDateTime(n.detected_at)}</span>
            <p>{conflictSentence(n)}</p>
          </li>
        ))}
      </ul>
      <AccessHistory clinic={clinic} />
    </section>
  );
}

function AccessHistory({ clinic }: { clinic: string }) {
  const [patient, setPatient] = useState('');
  const [entries, setEntries] = useState<AuditEntry[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const look = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      const r = await get<{ entries: AuditEntry[] }>(`/admin/patients/${encodeURIComponent(patient.trim())}/access?clinic_id=${encodeURIComponent(clinic)}`);
      setEntries(r.entries);
    } catch (err) {
      setError(err as ApiError);
    }
  };
  return (
    <>
      <h2 id="access-title">A patient&apos;s access history</h2>
      <form className="inline-form" onSubmit={(e) => void look(e)} aria-labelledby="access-title" noValidate>
        <TextField testId="access-patient" label="Patient id" value={patient} onValueChange={setPatient} error={error?.message} />
        <button type="submit" className="btn btn-small">
          Show
        </button>
      </form>
      {entries && entries.length === 0 && <p className="empty">Nobody opened this record yet.</p>}
      {entries && entries.length > 0 && (
        <table className="portal-table" data-testid="access-table">
          <caption className="sr-only">Access history</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">What</th>
              <th scope="col">Who</th>
              <th scope="col">Where</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((e) => (
              <tr key={e.id}>
                <td>{formatDateTime(e.at)}</td>
                <td>{accessActionLabel(e)}</td>
                <td className="mono">{e.user_id ?? '—'}</td>
                <td className="mono">{e.device_id}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
