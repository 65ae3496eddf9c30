import { useCallback, useEffect, useId, useMemo, useRef, useState, type KeyboardEvent as ReactKeyboardEvent, type ReactNode } from 'react';
import { api, toApiError } from '../api';
import { compareAppointments } from '../appointments';
import { notesForPatient, patientIdsIn } from '../conflicts';
import { displayName, formatDate, formatDobWithAge, GENDER_LABELS, plural, SEVERITY_LABELS, STATUS_LABELS } from '../format';
import { isTypingTarget, useAsync, usePatientsById, useProviders } from '../hooks';
import { groupRecordVersions } from '../records';
import type { ApiError, Appointment, ConflictNote, Patient, RecordVersionView } from '../types';
import { todayIso } from '../validation';
import { AccessHistory } from './AccessHistory';
import { AppointmentList } from './AppointmentList';
import { PatientConflicts, type ConflictLinks } from './Conflicts';
import { ErrorBanner } from './ErrorBanner';
import { ErrorText } from './ErrorText';
import { PatientForm } from './PatientForm';
import { RecordsPanel } from './RecordsPanel';
import { WalletPanel } from './WalletPanel';
import { SponsorshipPanel } from './SponsorshipPanel';
import type { Session } from './SessionControls';
import { detailTabsFor, type Access } from '../roles';

export type DetailTab = 'details' | 'appointments' | 'records' | 'wallet' | 'access' | 'sponsorship';
const ALL_TABS: { id: DetailTab; label: string; key: string }[] = [
  { id: 'details', label: 'Details', key: '1' },
  { id: 'appointments', label: 'Appointments', key: '2' },
  { id: 'records', label: 'Records', key: '3' },
  { id: 'access', label: 'Access history', key: '4' },
  { id: 'wallet', label: 'Wallet', key: '5' },
  { id: 'sponsorship', label: 'Sponsorship', key: '6' },
];

/** The tabs a role may use (roles.ts `detailTabsFor`). */
function tabsFor(access: Access): typeof ALL_TABS {
  const allowed = detailTabsFor(access);
  return ALL_TABS.filter((t) => allowed.includes(t.id));
}

interface Props {
  id: string;
  /** The patient as just saved, to show at once without a loading flash. */
  initial?: Patient | null;
  editing: boolean;
  onEdit: () => void;
  /** Leaves edit mode; `message` is a confirmation to show, if any. */
  onEditDone: (message: string | null) => void;
  onBack: () => void;
  /** Where the back button goes ("Patients", "Appointments", ...). */
  backLabel?: string;
  refreshKey: string;
  onDirtyChange: (dirty: boolean) => void;
  tab: DetailTab;
  onTabChange: (tab: DetailTab) => void;
  onBook: (patient: Patient) => void;
  onNewRecord: (patient: Patient) => void;
  onAmendRecord: (patient: Patient, version: RecordVersionView) => void;
  onOpenPatient: (id: string) => void;
  onOpenAppointment: ConflictLinks['onOpenAppointment'];
  onNotice: (message: string) => void;
  onDeleted: (patient: Patient) => void;
  session: Session;
  /** Extra actions in the page head (health card, check-in), for a patient that is not deleted or merged. */
  renderActions?: (patient: Patient) => ReactNode;
}

export function PatientDetail({
  id,
  initial,
  editing,
  onEdit,
  onEditDone,
  onBack,
  backLabel = 'Patients',
  refreshKey,
  onDirtyChange,
  tab: requestedTab,
  onTabChange,
  onBook,
  onNewRecord,
  onAmendRecord,
  onOpenPatient,
  onOpenAppointment,
  onNotice,
  onDeleted,
  session,
  renderActions,
}: Props) {
  const { access } = session;
  const TABS = useMemo(() => tabsFor(access), [access]);
  // A tab the role cannot use (e.g. Records for front desk, kept in the view state) shows Details.
  const tab: DetailTab = TABS.some((t) => t.id === requestedTab) ? requestedTab : 'details';
  const [patient, setPatient] = useState<Patient | null>(initial ?? null);
  const [error, setError] = useState<ApiError | null>(null);
  const [retry, setRetry] = useState(0);
  const [bump, setBump] = useState(0);
  const [highlightRecordId, setHighlightRecordId] = useState<string | null>(null);
  const headingRef = useRef<HTMLHeadingElement>(null);
  const titleId = useId();

  // The patient's appointments, records and conflict notes (reloaded when data may have changed).
  const refresh = `${refreshKey}|${bump}`;
  const loadAppointments = useCallback(() => api.listAppointments({ patientId: id }), [id]);
  const canRecords = access.records;
  const loadRecords = useCallback(
    () => (canRecords ? api.listRecords(id) : Promise.resolve<RecordVersionView[]>([])),
    [id, canRecords],
  );
  // Notes filed under the patient, plus the ones that name it otherwise (see notesForPatient).
  const loadNotes = useCallback(
    () => Promise.all([api.listConflicts(id), api.listConflicts()]).then(([own, all]) => [...own, ...all]),
    [id],
  );
  const appointments = useAsync<Appointment[]>(loadAppointments, id, refresh);
  const records = useAsync<RecordVersionView[]>(loadRecords, id, refresh);
  const rawNotes = useAsync<ConflictNote[]>(loadNotes, id, refresh);
  const providers = useProviders(refreshKey);
  const apptList = useMemo(() => (appointments.stale ? null : appointments.data), [appointments.stale, appointments.data]);
  const recordList = useMemo(() => (records.stale ? null : records.data), [records.stale, records.data]);
  const notes = useMemo(() => {
    if (rawNotes.stale || !rawNotes.data) return null;
    return notesForPatient(rawNotes.data, id, {
      appointmentIds: (apptList ?? []).map((a) => a.id),
      recordIds: (recordList ?? []).map((r) => r.record_id),
    });
  }, [rawNotes.stale, rawNotes.data, id, apptList, recordList]);
  const mergedInto = patient?.merged_into ?? null;
  const mentioned = useMemo(() => {
    const ids = patientIdsIn(notes ?? []);
    if (mergedInto) ids.push(mergedInto);
    return ids;
  }, [notes, mergedInto]);
  const others = usePatientsById(mentioned, refreshKey);

  useEffect(() => {
    if (editing) return; // keep the form's base steady while editing
    let alive = true;
    api.getPatient(id).then(
      (p) => {
        if (!alive) return;
        setPatient(p);
        setError(null);
      },
      (e: ApiError) => {
        if (alive) setError(e);
      },
    );
    return () => {
      alive = false;
    };
  }, [id, editing, refreshKey, retry]);

  // Put focus on the heading when the record is shown, so screen readers announce it.
  const shownId = patient && !editing ? patient.id : null;
  useEffect(() => {
    if (shownId) headingRef.current?.focus();
  }, [shownId]);

  const onSaved = useCallback(
    (p: Patient, changed: boolean) => {
      setPatient(p);
      onEditDone(changed ? 'Changes saved on this device.' : 'No changes to save.');
    },
    [onEditDone],
  );

  const inactive = !!patient && (!!patient.deleted || !!patient.merged_into);
  const canEdit = access.write('patient', 'given_name');
  const canBook = access.write('appointment');
  const canWriteRecords = access.write('medical_record');
  const showClinical = access.clinicalPatientFields;

  // 1/2/3 switch tabs, B books, R writes a record — outside text fields. Capture phase, so that on a
  // deleted or merged patient E is stopped before the app-wide shortcut opens the edit form.
  useEffect(() => {
    if (editing || !patient) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented || e.isComposing || e.ctrlKey || e.metaKey || e.altKey || isTypingTarget(e.target)) return;
      const t = TABS.find((x) => x.key === e.key);
      if ((e.key === 'e' || e.key === 'E') && inactive) {
        e.preventDefault();
      } else if (t) {
        e.preventDefault();
        onTabChange(t.id);
      } else if ((e.key === 'e' || e.key === 'E') && !canEdit) {
        e.preventDefault();
      } else if ((e.key === 'b' || e.key === 'B') && !inactive && canBook) {
        e.preventDefault();
        onBook(patient);
      } else if ((e.key === 'r' || e.key === 'R') && !inactive && canWriteRecords) {
        e.preventDefault();
        onNewRecord(patient);
      }
    };
    window.addEventListener('keydown', onKey, true);
    return () => window.removeEventListener('keydown', onKey, true);
  }, [editing, patient, inactive, onTabChange, onBook, onNewRecord, TABS, canEdit, canBook, canWriteRecords]);

  const onTabKey = (e: ReactKeyboardEvent<HTMLDivElement>) => {
    const i = TABS.findIndex((t) => t.id === tab);
    let next: number | null = null;
    if (e.key === 'ArrowRight') next = (i + 1) % TABS.length;
    else if (e.key === 'ArrowLeft') next = (i + TABS.length - 1) % TABS.length;
    else if (e.key === 'Home') next = 0;
    else if (e.key === 'End') next = TABS.length - 1;
    if (next === null) return;
    e.preventDefault();
    e.stopPropagation();
    onTabChange(TABS[next].id);
    document.getElementById(`${titleId}-tab-${TABS[next].id}`)?.focus();
  };

  if (error && (!patient || error.code === 'not_found')) {
    const notFound = error.code === 'not_found';
    return (
      <section className="page page-detail" aria-label="Patient">
        <ErrorBanner
          title={notFound ? 'This patient is not on this device' : 'The patient could not be loaded'}
          onRetry={notFound ? undefined : () => setRetry((n) => n + 1)}
        >
          <ErrorText error={error} />
        </ErrorBanner>
        <button type="button" className="btn" onClick={onBack}>
          ← Back to {backLabel.toLowerCase()}
        </button>
      </section>
    );
  }

  if (!patient) {
    return (
      <section className="page page-detail" aria-busy="true" aria-label="Patient">
        <p className="loading">Loading patient…</p>
      </section>
    );
  }

  if (editing) {
    return (
      <PatientForm
        key={patient.id}
        original={patient}
        onSaved={onSaved}
        onCancel={() => onEditDone(null)}
        onDirtyChange={onDirtyChange}
        access={access}
      />
    );
  }

  const today = todayIso();
  const p = patient;
  const address = p.address
    ? [
        p.address.street,
        [p.address.city, p.address.state, p.address.zip_code].filter(Boolean).join(', '),
        p.address.country,
      ].filter(Boolean)
    : [];
  const ec = p.emergency_contact;
  const survivor = p.merged_into ? others.get(p.merged_into) : undefined;
  const upcoming = (apptList ?? [])
    .filter((a) => (a.date ?? '') >= today && a.status !== 'cancelled' && a.status !== 'completed' && a.status !== 'no_show')
    .sort(compareAppointments);
  const history = (apptList ?? []).filter((a) => !upcoming.includes(a)).sort((a, b) => compareAppointments(b, a));
  const needsTime = (apptList ?? []).filter((a) => a.status === 'conflict_needs_rescheduling').length;
  const recordGroups = recordList ? groupRecordVersions(recordList) : [];
  const concurrentRecords = recordGroups.filter((g) => g.concurrent).length;
  const liveDuplicates = (notes ?? []).flatMap((n) =>
    n.kind === 'possible_duplicate'
      ? n.patients
          .filter((x) => x !== p.id)
          .map((x) => ({ id: x, patient: others.get(x), reason: n.reason }))
          .filter((d) => d.patient && !d.patient.merged_into && !d.patient.deleted)
      : [],
  );
  const selfMap = new Map<string, Patient | null>([[p.id, p]]);
  const onApptChanged = (_a: Appointment, message: string) => {
    setBump((n) => n + 1);
    onNotice(message);
  };
  const links: ConflictLinks = {
    onOpenPatient,
    onOpenAppointment,
    onOpenRecord: (recordId) => {
      setHighlightRecordId(recordId);
      onTabChange('records');
    },
  };
  const tabBadge: Record<DetailTab, ReactNode> = {
    wallet: null,
    sponsorship: null,
    details: notes?.length ? (
      <span className="tab-count tab-count-warn" title={plural(notes.length, 'conflict note')}>
        {notes.length}
      </span>
    ) : null,
    appointments: needsTime ? (
      <span className="tab-count tab-count-danger" title={`${needsTime} need a new time`}>
        ⚠ {needsTime}
      </span>
    ) : upcoming.length ? (
      <span className="tab-count" title={`${upcoming.length} upcoming`}>
        {upcoming.length}
      </span>
    ) : null,
    access: null,
    records: concurrentRecords ? (
      <span className="tab-count tab-count-danger" title="Amended on two devices at once">
        ⚠ {recordGroups.length}
      </span>
    ) : recordGroups.length ? (
      <span className="tab-count">{recordGroups.length}</span>
    ) : null,
  };

  return (
    <article
      className={`page page-detail ${inactive ? 'is-inactive' : ''}`}
      data-testid="patient-detail"
      data-patient-id={p.id}
      aria-labelledby={titleId}
    >
      <div className="detail-nav">
        <button type="button" className="btn btn-quiet btn-small" onClick={onBack} data-testid="back-to-list">
          ← {backLabel} <kbd>Esc</kbd>
        </button>
      </div>

      {error && (
        <ErrorBanner title="Could not refresh this patient" onRetry={() => setRetry((n) => n + 1)}>
          <ErrorText error={error} />
        </ErrorBanner>
      )}

      <div className="page-head">
        <div>
          <h1 id={titleId} ref={headingRef} tabIndex={-1} data-testid="patient-name">
            {displayName(p)}
            {p.merged_into ? <span className="badge badge-muted">Merged</span> : p.deleted ? <span className="badge badge-refused">Deleted</span> : null}
          </h1>
          <p className="page-sub">
            {[formatDobWithAge(p.date_of_birth, today), p.gender ? GENDER_LABELS[p.gender] : null]
              .filter(Boolean)
              .join(' · ')}
          </p>
          {showClinical && p.allergies?.length ? (
            <p className="allergy-alert" data-testid="allergy-alert">
              <span aria-hidden="true">⚠</span> Allergies:{' '}
              {p.allergies
                .map((a) => (a.severity ? `${a.allergen} (${SEVERITY_LABELS[a.severity].toLowerCase()})` : a.allergen))
                .join(', ')}
            </p>
          ) : null}
        </div>
        <div className="page-head-actions">
          {!inactive && renderActions?.(p)}
          {!inactive && canEdit && (
            <button type="button" className="btn btn-primary" data-testid="edit-patient" onClick={onEdit}>
              Edit <kbd>E</kbd>
            </button>
          )}
        </div>
      </div>

      {p.merged_into ? (
        <div className="banner banner-inactive" data-testid="patient-merged" role="note">
          <span className="banner-icon" aria-hidden="true">
            ⇢
          </span>
          <div className="banner-body">
            <strong>This registration was merged into another patient.</strong>
            <div className="banner-detail">
              {survivor
                ? `${displayName(survivor)} is the record to use: their records now include this one's.`
                : survivor === null
                  ? 'The patient it was merged into is not on this device yet; it arrives with the next sync.'
                  : 'Looking up the patient it was merged into…'}{' '}
              This page is kept for history and cannot be edited.
            </div>
          </div>
          {survivor && (
            <div className="banner-actions">
              <button
                type="button"
                className="btn btn-small btn-primary"
                data-testid="open-merged-into"
                onClick={() => onOpenPatient(survivor.id)}
              >
                Open {displayName(survivor)}
              </button>
            </div>
          )}
        </div>
      ) : p.deleted ? (
        <div className="banner banner-inactive" data-testid="patient-deleted" role="note">
          <span className="banner-icon" aria-hidden="true">
            ⌫
          </span>
          <div className="banner-body">
            <strong>This patient was deleted.</strong>
            <div className="banner-detail">
              The record is kept for history and cannot be edited; no new appointments or records can be added.
            </div>
          </div>
        </div>
      ) : null}

      {p.pending ? (
        <div className="banner banner-pending" data-testid="patient-pending" role="status">
          <span className="banner-icon" aria-hidden="true">
            ⟳
          </span>
          Saved on this device — waiting to sync
        </div>
      ) : null}

      {!inactive && liveDuplicates.length > 0 && (
        <div className="banner banner-warn" data-testid="patient-duplicate" role="note">
          <span className="banner-icon" aria-hidden="true">
            ⚠
          </span>
          <div className="banner-body">
            Possible duplicate of{' '}
            {liveDuplicates.map((d, i) => (
              <span key={d.id}>
                {i > 0 ? ', ' : ''}
                <button type="button" className="link" onClick={() => onOpenPatient(d.id)}>
                  {d.patient ? displayName(d.patient) : 'another patient'}
                </button>{' '}
                ({d.reason})
              </span>
            ))}
            . If they are the same person, ask the clinic administrator to merge them on the server.
          </div>
        </div>
      )}

      <div className="tabs" role="tablist" aria-label="Patient sections" onKeyDown={onTabKey}>
        {TABS.map((t) => (
          <button
            key={t.id}
            type="button"
            role="tab"
            id={`${titleId}-tab-${t.id}`}
            aria-selected={tab === t.id}
            aria-controls={`${titleId}-panel-${t.id}`}
            tabIndex={tab === t.id ? 0 : -1}
            className={`tab ${tab === t.id ? 'is-active' : ''}`}
            data-testid={`tab-${t.id}`}
            title={`${t.label} (press ${t.key})`}
            onClick={() => onTabChange(t.id)}
          >
            {t.label}
            {tabBadge[t.id]}
          </button>
        ))}
      </div>

      {tab === 'details' && (
        <div
          role="tabpanel"
          id={`${titleId}-panel-details`}
          aria-labelledby={`${titleId}-tab-details`}
          data-testid="patient-details"
        >
          <div className="detail-grid">
            <Section title="Identity">
              <Item label="Given name" value={p.given_name} field="given_name" />
              <Item label="Middle name" value={p.middle_name} field="middle_name" />
              <Item label="Family name" value={p.family_name} field="family_name" />
              <Item label="Date of birth" value={formatDobWithAge(p.date_of_birth, today)} field="date_of_birth" />
              <Item label="Gender" value={p.gender ? GENDER_LABELS[p.gender] : null} field="gender" />
              <Item label="National ID" value={p.national_id} field="national_id" mono />
              <Item label="Health card ID" value={p.health_card_id} field="health_card_id" mono />
            </Section>

            <Section title="Contact">
              <Item label="Phone" value={p.phone} field="phone" />
              <Item label="Email" value={p.email} field="email" />
              <Item
                label="Address"
                field="address"
                value={address.length ? address.map((line, i) => <div key={i}>{line}</div>) : null}
              />
              <Item
                label="Emergency contact"
                field="emergency_contact"
                value={
                  ec && (ec.name || ec.phone || ec.relationship) ? (
                    <>
                      <div>
                        {ec.name || 'Name not recorded'}
                        {ec.relationship ? ` (${ec.relationship})` : ''}
                      </div>
                      {ec.phone && <div>{ec.phone}</div>}
                    </>
                  ) : null
                }
              />
            </Section>

            {showClinical && (
            <Section title="Medical">
              <Item label="Blood type" value={p.blood_type} field="blood_type" />
              <Item
                label="Allergies"
                field="allergies"
                value={
                  p.allergies?.length ? (
                    <ul className="plain-list">
                      {p.allergies.map((a, i) => (
                        <li key={i}>
                          <strong>{a.allergen}</strong>
                          {a.severity && (
                            <span className={`badge badge-severity sev-${a.severity}`}>{SEVERITY_LABELS[a.severity]}</span>
                          )}
                          {a.notes && <div className="muted">{a.notes}</div>}
                        </li>
                      ))}
                    </ul>
                  ) : (
                    <span className="muted">None recorded</span>
                  )
                }
              />
              <Item
                label="Chronic conditions"
                field="chronic_conditions"
                value={
                  p.chronic_conditions?.length ? (
                    <ul className="plain-list">
                      {p.chronic_conditions.map((c, i) => (
                        <li key={i}>
                          <strong>{c.condition}</strong>
                          {c.status && <span className="badge">{STATUS_LABELS[c.status]}</span>}
                          {c.diagnosed_date && <div className="muted">Diagnosed {formatDate(c.diagnosed_date)}</div>}
                        </li>
                      ))}
                    </ul>
                  ) : (
                    <span className="muted">None recorded</span>
                  )
                }
              />
            </Section>
            )}

            <PatientConflicts
              patientId={p.id}
              notes={notes}
              error={rawNotes.error}
              onRetry={rawNotes.reload}
              patients={others}
              providers={providers.byId}
              {...links}
            />
          </div>

          {!inactive && access.write('patient') && <DeletePatient patient={p} onDeleted={onDeleted} />}
          {p.clinic_id && (
            <p className="muted small-note">
              Clinic <span className="mono">{p.clinic_id}</span>
              {p.field_worker_id ? (
                <>
                  {' '}
                  · field worker <span className="mono">{p.field_worker_id}</span>
                </>
              ) : null}
            </p>
          )}
        </div>
      )}

      {tab === 'appointments' && (
        <div
          role="tabpanel"
          id={`${titleId}-panel-appointments`}
          aria-labelledby={`${titleId}-tab-appointments`}
          data-testid="patient-appointments"
        >
          <div className="tab-head">
            <p className="muted">
              {apptList === null
                ? appointments.error
                  ? ''
                  : 'Loading appointments…'
                : apptList.length
                  ? `${plural(upcoming.length, 'upcoming appointment')}, ${history.length} in the past or cancelled`
                  : ''}
            </p>
            {!inactive && canBook && (
              <button type="button" className="btn btn-primary" data-testid="patient-book-appointment" onClick={() => onBook(p)}>
                Book appointment <kbd>B</kbd>
              </button>
            )}
          </div>
          {appointments.error && (
            <ErrorBanner title="Appointments could not be loaded" onRetry={appointments.reload}>
              <ErrorText error={appointments.error} />
            </ErrorBanner>
          )}
          {apptList !== null && apptList.length === 0 && (
            <div className="empty" data-testid="patient-appointments-empty">
              <p className="empty-title">No appointments for this patient</p>
              <p className="empty-hint">
                {inactive
                  ? 'Appointments booked on other devices arrive with the next sync.'
                  : 'Press B to book one. Appointments booked on other devices arrive with the next sync.'}
              </p>
            </div>
          )}
          {upcoming.length > 0 && (
            <>
              <h2 className="list-heading">Upcoming</h2>
              <div className="results">
                <AppointmentList
                  appointments={upcoming}
                  patients={selfMap}
                  providers={providers.byId}
                  showDate
                  showPatient={false}
                  label="Upcoming appointments"
                  onChanged={onApptChanged}
                />
              </div>
            </>
          )}
          {history.length > 0 && (
            <>
              <h2 className="list-heading">Past and cancelled</h2>
              <div className="results">
                <AppointmentList
                  appointments={history}
                  patients={selfMap}
                  providers={providers.byId}
                  showDate
                  showPatient={false}
                  label="Past and cancelled appointments"
                  onChanged={onApptChanged}
                />
              </div>
            </>
          )}
        </div>
      )}

      {tab === 'records' && canRecords && (
        <div
          role="tabpanel"
          id={`${titleId}-panel-records`}
          aria-labelledby={`${titleId}-tab-records`}
          data-testid="patient-records"
        >
          <RecordsPanel
            versions={recordList}
            error={records.error}
            onRetry={records.reload}
            onNew={inactive || !canWriteRecords ? null : () => onNewRecord(p)}
            onAmend={inactive || !canWriteRecords ? null : (v) => onAmendRecord(p, v)}
            highlightRecordId={highlightRecordId}
          />
        </div>
      )}

      {tab === 'wallet' && access.money && (
        <div
          role="tabpanel"
          id={`${titleId}-panel-wallet`}
          aria-labelledby={`${titleId}-tab-wallet`}
          data-testid="patient-wallet"
        >
          <WalletPanel patientId={p.id} patientName={displayName(p)} canRefund={access.role === 'clinic_admin'} onNotice={onNotice} />
        </div>
      )}

      {tab === 'sponsorship' && access.sponsorship && (
        <div
          role="tabpanel"
          id={`${titleId}-panel-sponsorship`}
          aria-labelledby={`${titleId}-tab-sponsorship`}
          data-testid="patient-sponsorship"
        >
          <SponsorshipPanel patientId={p.id} canAsk={access.preApprove} onNotice={onNotice} />
        </div>
      )}

      {tab === 'access' && access.accessHistory && (
        <div
          role="tabpanel"
          id={`${titleId}-panel-access`}
          aria-labelledby={`${titleId}-tab-access`}
          data-testid="patient-access"
        >
          <AccessHistory patientId={p.id} state={session.state} refreshKey={refreshKey} />
        </div>
      )}
    </article>
  );
}

/** "Delete patient…" with an explicit confirmation step. */
function DeletePatient({ patient, onDeleted }: { patient: Patient; onDeleted: (p: Patient) => void }) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const confirmRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (confirming) confirmRef.current?.focus();
  }, [confirming]);

  if (!confirming) {
    return (
      <div className="danger-zone">
        <button type="button" className="btn btn-quiet btn-small danger-text" data-testid="delete-patient" onClick={() => setConfirming(true)}>
          Delete patient…
        </button>
      </div>
    );
  }
  const del = async () => {
    setBusy(true);
    setError(null);
    try {
      const p = await api.deletePatient(patient.id);
      onDeleted(p);
    } catch (raw) {
      setBusy(false);
      setError(toApiError(raw));
    }
  };
  return (
    <div
      className="danger-zone is-open"
      role="alertdialog"
      aria-labelledby="delete-patient-title"
      data-testid="delete-patient-confirm"
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          e.preventDefault();
          e.stopPropagation();
          setConfirming(false);
        }
      }}
    >
      <p id="delete-patient-title">
        <strong>Delete {displayName(patient)}?</strong> The patient disappears from the list on every device after the
        next sync. Use this for registrations made by mistake — not when a patient leaves the clinic.
      </p>
      {error && (
        <div className="field-error">
          <ErrorText error={error} />
        </div>
      )}
      <div className="inline-form-actions">
        <button type="button" className="btn btn-small" onClick={() => setConfirming(false)}>
          Keep patient <kbd>Esc</kbd>
        </button>
        <button
          type="button"
          ref={confirmRef}
          className="btn btn-small btn-danger"
          data-testid="confirm-delete-patient"
          disabled={busy}
          onClick={() => void del()}
        >
          {busy ? 'Deleting…' : 'Delete patient'}
        </button>
      </div>
    </div>
  );
}

function Section({ title, children }: { title: string; children: ReactNode }) {
  const id = useId();
  return (
    <section className="detail-section" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      <dl>{children}</dl>
    </section>
  );
}

function Item({ label, value, field, mono }: { label: string; value: ReactNode; field: string; mono?: boolean }) {
  const empty = value === null || value === undefined || value === '';
  return (
    <div className="detail-item">
      <dt>{label}</dt>
      <dd className={mono && !empty ? 'mono' : undefined} data-testid={`detail-${field}`}>
        {empty ? <span className="missing">Not recorded</span> : value}
      </dd>
    </div>
  );
}
