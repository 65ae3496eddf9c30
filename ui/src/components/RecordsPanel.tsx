// A patient's medical records: one card per record, newest version on top, amended versions folded away.

import { formatDiagnosis, formatHlc, formatPrescription, formatVitals, groupRecordVersions, type RecordGroup } from '../records';
import { plural } from '../format';
import type { ApiError, RecordVersionView } from '../types';
import { ErrorBanner } from './ErrorBanner';
import { ErrorText } from './ErrorText';

interface Props {
  versions: RecordVersionView[] | null;
  error: ApiError | null;
  onRetry: () => void;
  /** Null when the patient cannot get new records (deleted or merged). */
  onNew: (() => void) | null;
  onAmend: ((v: RecordVersionView) => void) | null;
  /** Scroll to and outline this record (opened from a conflict note). */
  highlightRecordId?: string | null;
}

export function RecordsPanel({ versions, error, onRetry, onNew, onAmend, highlightRecordId }: Props) {
  const groups = versions ? groupRecordVersions(versions) : [];

  return (
    <div className="records">
      <div className="tab-head">
        <p className="muted">
          {versions === null
            ? error
              ? ''
              : 'Loading records…'
            : groups.length
              ? `${plural(groups.length, 'record')}, most recent first. Records are never changed: an amendment adds a new version and keeps the old one.`
              : ''}
        </p>
        {onNew && (
          <button type="button" className="btn btn-primary" data-testid="new-record" onClick={onNew}>
            New record <kbd>R</kbd>
          </button>
        )}
      </div>

      {error && (
        <ErrorBanner title="Records could not be loaded" onRetry={onRetry}>
          <ErrorText error={error} />
        </ErrorBanner>
      )}

      {versions !== null && groups.length === 0 && (
        <div className="empty" data-testid="records-empty">
          <p className="empty-title">No medical records for this patient on this device</p>
          <p className="empty-hint">
            {onNew
              ? 'Press R to write the first one: notes, vitals, diagnoses, a plan or prescriptions. Records written on other devices arrive with the next sync.'
              : 'Records written on other devices arrive with the next sync.'}
          </p>
        </div>
      )}

      {groups.map((g) => (
        <RecordCard key={g.record_id} group={g} onAmend={onAmend} highlighted={highlightRecordId === g.record_id} />
      ))}
    </div>
  );
}

function RecordCard({
  group,
  onAmend,
  highlighted,
}: {
  group: RecordGroup;
  onAmend: Props['onAmend'];
  highlighted: boolean;
}) {
  const first = group.versions[group.versions.length - 1];
  return (
    <article
      className={`record-card ${group.concurrent ? 'is-concurrent' : ''} ${highlighted ? 'is-highlighted' : ''}`}
      data-testid="record-group"
      data-record-id={group.record_id}
      aria-label={`Record started ${formatHlc(first.hlc) || 'at an unknown time'}`}
    >
      {group.concurrent && (
        <div className="record-concurrent" role="alert" data-testid="record-concurrent">
          <span aria-hidden="true">⚠ </span>
          <div>
            <strong>Amended on two devices at once — both versions kept; reconcile by writing a new amendment.</strong>
            <div className="banner-detail">
              Read the {group.current.length} current versions below, then amend the one closest to the truth so that it
              says what is right.
            </div>
          </div>
        </div>
      )}
      {group.current.map((v) => (
        <VersionView key={v.id} v={v} onAmend={onAmend} current />
      ))}
      {group.older.length > 0 && (
        <details className="record-history" data-testid="record-history">
          <summary>
            {group.older.length === 1 ? '1 earlier version' : `${group.older.length} earlier versions`} (amended)
          </summary>
          {group.older.map((v) => (
            <VersionView key={v.id} v={v} onAmend={null} current={false} />
          ))}
        </details>
      )}
    </article>
  );
}

function VersionView({ v, onAmend, current }: { v: RecordVersionView; onAmend: Props['onAmend']; current: boolean }) {
  const vitals = formatVitals(v.vitals);
  return (
    <section
      className={`record-version ${current ? 'is-current' : 'is-old'}`}
      data-testid="record-version"
      data-version-id={v.id}
      data-sync={v.sync}
    >
      <header className="record-head">
        <div>
          <span className="record-time">{formatHlc(v.hlc) || 'Unknown time'}</span>
          <span className="record-author"> · {v.author || 'Author not recorded'}</span>
          {v.amends ? <span className="badge">Amendment</span> : null}
          {v.superseded && (
            <span className="badge badge-muted" data-testid="record-badge-amended">
              Amended
            </span>
          )}
          {v.sync === 'pending' && (
            <span className="badge badge-pending" data-testid="record-badge-pending" title="Saved on this device — waiting to sync">
              Not synced
            </span>
          )}
          {v.sync === 'refused' && (
            <span
              className="badge badge-refused"
              data-testid="record-badge-refused"
              title="The server refused this version; it is kept on this device only"
            >
              Refused by server
            </span>
          )}
          {v.concurrent_amendment && !v.superseded && <span className="badge badge-conflict">Concurrent</span>}
        </div>
        {current && onAmend && v.sync !== 'refused' && (
          <button type="button" className="btn btn-small" data-testid="record-amend" onClick={() => onAmend(v)}>
            Amend
          </button>
        )}
      </header>

      {v.consultation_notes && <p className="record-notes">{v.consultation_notes}</p>}
      {vitals.length > 0 && (
        <ul className="chips" aria-label="Vitals">
          {vitals.map((x) => (
            <li key={x} className="chip">
              {x}
            </li>
          ))}
        </ul>
      )}
      <dl className="record-facts">
        {v.diagnoses?.length ? (
          <>
            <dt>Diagnoses</dt>
            <dd>
              <ul className="plain-list">
                {v.diagnoses.map((d, i) => (
                  <li key={i}>{formatDiagnosis(d)}</li>
                ))}
              </ul>
            </dd>
          </>
        ) : null}
        {v.plan ? (
          <>
            <dt>Plan</dt>
            <dd className="record-notes">{v.plan}</dd>
          </>
        ) : null}
        {v.prescriptions?.length ? (
          <>
            <dt>Prescriptions</dt>
            <dd>
              <ul className="plain-list">
                {v.prescriptions.map((p, i) => (
                  <li key={i}>{formatPrescription(p)}</li>
                ))}
              </ul>
            </dd>
          </>
        ) : null}
        {v.orders?.length ? (
          <>
            <dt>Orders</dt>
            <dd>
              <ul className="plain-list">
                {v.orders.map((o, i) => (
                  <li key={i}>
                    {o.description}
                    {o.kind ? <span className="muted"> ({o.kind})</span> : null}
                  </li>
                ))}
              </ul>
            </dd>
          </>
        ) : null}
        {v.lab_results?.length ? (
          <>
            <dt>Lab results</dt>
            <dd>
              <ul className="plain-list">
                {v.lab_results.map((l, i) => (
                  <li key={i}>
                    {l.test}
                    {l.value ? `: ${l.value}${l.unit ? ` ${l.unit}` : ''}` : ''}
                    {l.reference_range ? <span className="muted"> (ref. {l.reference_range})</span> : null}
                    {l.attachment ? <span className="muted"> · {l.attachment.file_name}</span> : null}
                  </li>
                ))}
              </ul>
            </dd>
          </>
        ) : null}
      </dl>
      {v.sync === 'refused' && (
        <p className="field-error">The server refused this version. It stays on this device only and cannot be amended.</p>
      )}
      <p className="record-device muted">Written on {v.device_id || 'an unknown device'}</p>
    </section>
  );
}
