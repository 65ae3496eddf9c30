import { useCallback, useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { api, describeError } from '../api';
import { displayName, formatDate, formatDobWithAge, GENDER_LABELS, SEVERITY_LABELS, STATUS_LABELS } from '../format';
import type { ApiError, Patient } from '../types';
import { todayIso } from '../validation';
import { ErrorBanner } from './ErrorBanner';
import { PatientForm } from './PatientForm';

interface Props {
  id: string;
  /** The patient as just saved, to show at once without a loading flash. */
  initial?: Patient | null;
  editing: boolean;
  onEdit: () => void;
  /** Leaves edit mode; `message` is a confirmation to show, if any. */
  onEditDone: (message: string | null) => void;
  onBack: () => void;
  refreshKey: string;
  onDirtyChange: (dirty: boolean) => void;
}

export function PatientDetail({ id, initial, editing, onEdit, onEditDone, onBack, refreshKey, onDirtyChange }: Props) {
  const [patient, setPatient] = useState<Patient | null>(initial ?? null);
  const [error, setError] = useState<ApiError | null>(null);
  const [retry, setRetry] = useState(0);
  const headingRef = useRef<HTMLHeadingElement>(null);
  const titleId = useId();

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

  if (error && (!patient || error.code === 'not_found')) {
    const notFound = error.code === 'not_found';
    return (
      <section className="page page-detail" aria-label="Patient">
        <ErrorBanner
          title={notFound ? 'This patient is not on this device' : 'The patient could not be loaded'}
          onRetry={notFound ? undefined : () => setRetry((n) => n + 1)}
        >
          {describeError(error)}
        </ErrorBanner>
        <button type="button" className="btn" onClick={onBack}>
          ← Back to patients
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

  return (
    <article className="page page-detail" data-testid="patient-detail" aria-labelledby={titleId}>
      <div className="detail-nav">
        <button type="button" className="btn btn-quiet btn-small" onClick={onBack} data-testid="back-to-list">
          ← Patients <kbd>Esc</kbd>
        </button>
      </div>

      {error && (
        <ErrorBanner title="Could not refresh this patient" onRetry={() => setRetry((n) => n + 1)}>
          {describeError(error)}
        </ErrorBanner>
      )}

      <div className="page-head">
        <div>
          <h1 id={titleId} ref={headingRef} tabIndex={-1} data-testid="patient-name">
            {displayName(p)}
          </h1>
          <p className="page-sub">
            {[formatDobWithAge(p.date_of_birth, today), p.gender ? GENDER_LABELS[p.gender] : null]
              .filter(Boolean)
              .join(' · ')}
          </p>
          {p.allergies?.length ? (
            <p className="allergy-alert" data-testid="allergy-alert">
              <span aria-hidden="true">⚠</span> Allergies:{' '}
              {p.allergies
                .map((a) => (a.severity ? `${a.allergen} (${SEVERITY_LABELS[a.severity].toLowerCase()})` : a.allergen))
                .join(', ')}
            </p>
          ) : null}
        </div>
        <button type="button" className="btn btn-primary" data-testid="edit-patient" onClick={onEdit}>
          Edit <kbd>E</kbd>
        </button>
      </div>

      {p.pending ? (
        <div className="banner banner-pending" data-testid="patient-pending" role="status">
          <span className="banner-icon" aria-hidden="true">
            ⟳
          </span>
          Saved on this device — waiting to sync
        </div>
      ) : null}

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
      </div>
    </article>
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
