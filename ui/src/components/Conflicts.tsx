// Conflict notes: the full list (from the sync indicator) and a patient's "Conflict history".

import { useCallback, useMemo } from 'react';
import { api } from '../api';
import { providerName } from '../appointments';
import { conflictSentence, conflictTargets, conflictTitle, patientIdsIn, sortNotesNewestFirst } from '../conflicts';
import { displayName, formatDateTime, plural } from '../format';
import { useAsync, usePatientsById, useProviders } from '../hooks';
import type { ApiError, ConflictNote, Patient, Provider } from '../types';
import { ErrorBanner } from './ErrorBanner';
import { ErrorText } from './ErrorText';

export interface ConflictLinks {
  onOpenPatient: (id: string) => void;
  onOpenAppointment: (date: string, id: string) => void;
  /** Only where the record's patient is known (its own page). */
  onOpenRecord?: (recordId: string) => void;
}

interface ItemProps extends ConflictLinks {
  note: ConflictNote;
  patients: Map<string, Patient | null>;
  providers: Map<string, Provider>;
  viewpointPatientId?: string;
  /** Patient id of each appointment a slot note names, where known. */
  appointmentPatients?: Map<string, string>;
}

const nameOf = (patients: Map<string, Patient | null>) => (id: string) => {
  const p = patients.get(id);
  if (!p) return null;
  const suffix = p.merged_into ? ' (merged)' : p.deleted ? ' (deleted)' : '';
  return `${displayName(p)}${suffix}`;
};

export function ConflictItem({
  note,
  patients,
  providers,
  viewpointPatientId,
  appointmentPatients,
  onOpenPatient,
  onOpenAppointment,
  onOpenRecord,
}: ItemProps) {
  const patientName = nameOf(patients);
  const sentence = conflictSentence(note, {
    patientName,
    providerName: (id) => {
      const p = providers.get(id);
      return p ? providerName(p) : null;
    },
    viewpointPatientId,
    appointmentPatientName: (apptId) => {
      const pid = appointmentPatients?.get(apptId);
      return pid ? patientName(pid) : null;
    },
  });
  const links = conflictTargets(note).filter((t) => !(t.kind === 'patient' && t.id === viewpointPatientId));
  return (
    <li className={`conflict-item kind-${note.kind}`} data-testid="conflict-note" data-kind={note.kind} data-entity-id={note.entity_id}>
      <div className="conflict-main">
        <div className="conflict-title">
          <span className={`badge conflict-kind kind-${note.kind}`}>{conflictTitle(note)}</span>
          <time className="muted" dateTime={note.detected_at}>
            {formatDateTime(note.detected_at)}
          </time>
        </div>
        <p className="conflict-sentence">{sentence}</p>
        {note.kind === 'possible_duplicate' &&
          (note.patients.some((id) => {
            const p = patients.get(id);
            return !!p?.merged_into && note.patients.includes(p.merged_into);
          }) ? (
            <p className="muted conflict-help" data-testid="conflict-resolved">
              Resolved: the registrations were merged.
            </p>
          ) : (
            <p className="muted conflict-help">
              If they are the same person, ask the clinic administrator to merge the registrations on the server.
            </p>
          ))}
      </div>
      <div className="conflict-links">
        {links.map((t) => {
          if (t.kind === 'patient') {
            const known = patients.get(t.id);
            return (
              <button
                key={`p-${t.id}`}
                type="button"
                className="btn btn-small"
                data-testid="conflict-link"
                data-target="patient"
                disabled={known === null}
                title={known === null ? 'This patient is not on this device' : undefined}
                onClick={() => onOpenPatient(t.id)}
              >
                {note.kind === 'possible_duplicate' ? `Open ${patientName(t.id) ?? 'patient'}` : 'Open patient'}
              </button>
            );
          }
          if (t.kind === 'appointment') {
            return (
              <button
                key={`a-${t.id}`}
                type="button"
                className="btn btn-small"
                data-testid="conflict-link"
                data-target="appointment"
                onClick={() => onOpenAppointment(t.date, t.id)}
              >
                Open appointment
              </button>
            );
          }
          return onOpenRecord ? (
            <button
              key={`r-${t.recordId}`}
              type="button"
              className="btn btn-small"
              data-testid="conflict-link"
              data-target="record"
              onClick={() => onOpenRecord(t.recordId)}
            >
              Open record
            </button>
          ) : (
            <span key={`r-${t.recordId}`} className="muted conflict-help">
              Open the patient&apos;s Records tab to reconcile.
            </span>
          );
        })}
      </div>
    </li>
  );
}

/** Every conflict note on this device, newest first. */
export function ConflictsView({ refreshKey, ...links }: ConflictLinks & { refreshKey: string }) {
  const load = useCallback(() => api.listConflicts(), []);
  const notes = useAsync<ConflictNote[]>(load, 'all', refreshKey);
  const sorted = useMemo(() => sortNotesNewestFirst(notes.data ?? []), [notes.data]);
  // Slot notes name appointments; their days' lists say whose booking lost the slot.
  const slotDays = useMemo(
    () => [...new Set(sorted.flatMap((n) => (n.kind === 'slot_taken' && n.date ? [n.date] : [])))].sort(),
    [sorted],
  );
  const loadSlotDays = useCallback(
    () => Promise.all(slotDays.map((date) => api.listAppointments({ date }))).then((lists) => lists.flat()),
    [slotDays],
  );
  const slotAppointments = useAsync(loadSlotDays, slotDays.join(','), refreshKey);
  const appointmentPatients = useMemo(
    () =>
      new Map(
        (slotAppointments.data ?? []).flatMap((a): [string, string][] => (a.patient_id ? [[a.id, a.patient_id]] : [])),
      ),
    [slotAppointments.data],
  );
  const ids = useMemo(
    () => [...new Set([...patientIdsIn(sorted), ...appointmentPatients.values()])],
    [sorted, appointmentPatients],
  );
  const patients = usePatientsById(ids, refreshKey);
  const providers = useProviders(refreshKey);

  return (
    <section className="page page-conflicts" data-testid="conflicts-view" aria-labelledby="conflicts-title">
      <div className="page-head">
        <div>
          <h1 id="conflicts-title" tabIndex={-1}>
            Conflicts
          </h1>
          <p className="page-sub">
            What the server noted when changes from several devices met: values that were replaced, slots that were
            already taken, possible duplicate patients and records amended twice. Newest first.
          </p>
        </div>
      </div>

      {notes.error && (
        <ErrorBanner title="Conflict notes could not be loaded" onRetry={notes.reload}>
          <ErrorText error={notes.error} />
        </ErrorBanner>
      )}

      {notes.data === null && !notes.error && <p className="loading">Loading conflict notes…</p>}

      {notes.data !== null && sorted.length === 0 && (
        <div className="empty" data-testid="conflicts-empty">
          <p className="empty-title">No conflicts</p>
          <p className="empty-hint">
            When two devices change the same thing before syncing, the server keeps one change and notes the other here.
          </p>
        </div>
      )}

      {sorted.length > 0 && (
        <>
          <div className="list-meta">{plural(sorted.length, 'note')}</div>
          <ul className="conflict-list" aria-label="Conflict notes">
            {sorted.map((n) => (
              <ConflictItem
                key={n.id}
                note={n}
                patients={patients}
                providers={providers.byId}
                appointmentPatients={appointmentPatients}
                {...links}
              />
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

/** "Conflict history" on a patient's page. */
export function PatientConflicts({
  patientId,
  notes,
  error,
  onRetry,
  patients,
  providers,
  ...links
}: ConflictLinks & {
  patientId: string;
  notes: ConflictNote[] | null;
  error: ApiError | null;
  onRetry: () => void;
  /** Names of the patients the notes mention (see `patientIdsIn`). */
  patients: Map<string, Patient | null>;
  providers: Map<string, Provider>;
}) {
  return (
    <section className="detail-section conflict-history" data-testid="patient-conflicts" aria-labelledby="patient-conflicts-title">
      <h2 id="patient-conflicts-title">Conflict history</h2>
      {error && (
        <ErrorBanner title="Conflict history could not be loaded" onRetry={onRetry}>
          <ErrorText error={error} />
        </ErrorBanner>
      )}
      {notes === null && !error && <p className="loading">Loading…</p>}
      {notes !== null && notes.length === 0 && (
        <p className="muted" data-testid="patient-conflicts-empty">
          No conflicts recorded for this patient.
        </p>
      )}
      {notes !== null && notes.length > 0 && (
        <ul className="conflict-list">
          {notes.map((n) => (
            <ConflictItem
              key={n.id}
              note={n}
              patients={patients}
              providers={providers}
              viewpointPatientId={patientId}
              {...links}
            />
          ))}
        </ul>
      )}
    </section>
  );
}
