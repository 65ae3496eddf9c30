import { useEffect, useId, useRef, useState } from 'react';
import { formatLastSynced, formatTimestamp, plural } from '../format';
import type { SyncState } from '../hooks';
import { api } from '../api';
import type { RejectedWrite } from '../types';

/** Re-renders every 30 s so "Last synced 14:05 (yesterday)" stays right across midnight. */
function useNow(intervalMs = 30_000): Date {
  const [now, setNow] = useState(() => new Date());
  useEffect(() => {
    const t = setInterval(() => setNow(new Date()), intervalMs);
    return () => clearInterval(t);
  }, [intervalMs]);
  return now;
}

const count = (n: number) => n.toLocaleString('en-US');

const KIND: Record<string, string> = {
  patient: 'Patient',
  appointment: 'Appointment',
  medical_record: 'Medical record',
  provider: 'Provider',
};

/** Each refused write with the server's reason (refetched when the count changes). */
function RefusedList({ count: n }: { count: number }) {
  const [items, setItems] = useState<RejectedWrite[] | null>(null);
  const [failed, setFailed] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    api
      .rejectedWrites()
      .then((r) => live && setItems(r))
      .catch((e: { message?: string }) => live && setFailed(e.message ?? 'could not list them'));
    return () => {
      live = false;
    };
  }, [n]);
  if (failed) return <p className="sync-panel-error">{failed}</p>;
  if (!items) return null;
  return (
    <ul className="sync-refused" data-testid="sync-refused-list">
      {items.map((w) => (
        <li key={w.mutation_id} data-testid="sync-refused-item">
          <strong>
            {KIND[w.entity] ?? w.entity} {w.op}
          </strong>{' '}
          <span className="mono">{w.code}</span>: {w.message}
        </li>
      ))}
    </ul>
  );
}

interface Props extends SyncState {
  /** Opens the conflicts view (from the "N conflicts" badge). */
  onOpenConflicts: () => void;
}

export function SyncIndicator({ status, error, syncNow, onOpenConflicts }: Props) {
  const [open, setOpen] = useState(false);
  const panelId = useId();
  const rootRef = useRef<HTMLDivElement>(null);
  const now = useNow();

  // Close the details panel on Escape or a click elsewhere.
  useEffect(() => {
    if (!open) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        e.stopPropagation();
        setOpen(false);
      }
    };
    const onClick = (e: MouseEvent) => {
      if (rootRef.current && !rootRef.current.contains(e.target as Node)) setOpen(false);
    };
    window.addEventListener('keydown', onKey, true);
    window.addEventListener('mousedown', onClick);
    return () => {
      window.removeEventListener('keydown', onKey, true);
      window.removeEventListener('mousedown', onClick);
    };
  }, [open]);

  const lastError = status?.last_error ?? null;
  const problem = error?.message ?? lastError;
  // Being offline is the normal state of a field clinic, already shown by the dot; only call it an
  // error when the server was reached and still something failed.
  const alarming = Boolean(error) || (Boolean(lastError) && status?.online === true);

  return (
    <div className="sync" data-testid="sync-indicator" role="region" aria-label="Sync status" ref={rootRef}>
      {status ? (
        <>
          <span className={`sync-state ${status.online ? 'is-online' : 'is-offline'}`}>
            <span className="dot" aria-hidden="true" />
            <span data-testid="sync-state">{status.online ? 'Online' : 'Offline'}</span>
          </span>
          {status.syncing && (
            <span className="sync-syncing" role="status" data-testid="sync-syncing">
              <span className="spinner" aria-hidden="true" />
              {status.progress && status.progress.total > 0 ? (
                <>
                  <span className="sync-progress-text">
                    Syncing {count(Math.min(status.progress.done, status.progress.total))} / {count(status.progress.total)}
                  </span>
                  <span
                    className="sync-progress"
                    data-testid="sync-progress"
                    role="progressbar"
                    aria-label="Changes received from the server"
                    aria-valuemin={0}
                    aria-valuemax={status.progress.total}
                    aria-valuenow={Math.min(status.progress.done, status.progress.total)}
                  >
                    <span
                      className="sync-progress-fill"
                      style={{
                        width: `${Math.min(100, Math.round((status.progress.done / status.progress.total) * 100))}%`,
                      }}
                    />
                  </span>
                </>
              ) : (
                'Syncing…'
              )}
            </span>
          )}
          <span
            className={`sync-pending ${status.pending > 0 ? 'has-pending' : ''}`}
            title={status.pending > 0 ? 'Changes saved on this device, waiting to be sent' : 'Nothing waiting to be sent'}
          >
            <span data-testid="sync-pending-count">{status.pending}</span> pending
          </span>
          <span
            className="sync-last"
            data-testid="sync-last-synced"
            title={status.last_synced_at ? `Last synced ${formatTimestamp(status.last_synced_at)}` : undefined}
          >
            {formatLastSynced(status.last_synced_at, now)}
          </span>
          {status.rejected > 0 && (
            <span className="sync-rejected" data-testid="sync-rejected" role="alert">
              <span aria-hidden="true">⚠ </span>
              {plural(status.rejected, 'change')} refused by server
            </span>
          )}
          {status.conflicts > 0 && (
            <button
              type="button"
              className="sync-conflicts"
              data-testid="sync-conflicts"
              title="Values overwritten, slots taken, duplicates and amendments the server noted — open the list"
              onClick={onOpenConflicts}
            >
              <span aria-hidden="true">⚠ </span>
              {plural(status.conflicts, 'conflict')}
            </button>
          )}
        </>
      ) : error ? (
        <span className="sync-state is-unknown">
          <span className="dot" aria-hidden="true" />
          Sync status unavailable
        </span>
      ) : (
        <span className="sync-state is-unknown">
          <span className="dot" aria-hidden="true" />
          Checking sync…
        </span>
      )}

      <button
        type="button"
        className={`sync-details-toggle ${alarming ? 'has-error' : ''}`}
        aria-expanded={open}
        aria-controls={panelId}
        title={problem ?? 'Sync details'}
        data-testid="sync-details-toggle"
        onClick={() => setOpen((o) => !o)}
      >
        {alarming ? 'Sync error' : 'Details'}
      </button>
      <button type="button" className="btn btn-small" data-testid="sync-now" onClick={syncNow}>
        Sync now
      </button>

      {open && (
        <div className="sync-panel" id={panelId} data-testid="sync-details">
          <dl>
            {problem && (
              <>
                <dt>Last error</dt>
                <dd className="sync-panel-error" data-testid="sync-last-error">
                  {problem}
                </dd>
              </>
            )}
            <dt>Last synced</dt>
            <dd>{status?.last_synced_at ? formatTimestamp(status.last_synced_at) : 'Never'}</dd>
            <dt>Waiting to send</dt>
            <dd>{status ? plural(status.pending, 'change') : '—'}</dd>
            {status && status.rejected > 0 && (
              <>
                <dt>Refused by server</dt>
                <dd>
                  {plural(status.rejected, 'change')}. These were not applied on the server; ask your administrator
                  to review them.
                  <RefusedList count={status.rejected} />
                </dd>
              </>
            )}
            <dt>Conflict notes</dt>
            <dd>{status ? plural(status.conflicts, 'note') : '—'}</dd>
            <dt>Server</dt>
            <dd className="mono">{status?.server_url || '—'}</dd>
            <dt>Clinic</dt>
            <dd className="mono">{status?.clinic_id || '—'}</dd>
            <dt>Device ID</dt>
            <dd className="mono">{status?.device_id || '—'}</dd>
          </dl>
        </div>
      )}
    </div>
  );
}
