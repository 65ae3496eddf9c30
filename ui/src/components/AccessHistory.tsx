import { useCallback } from 'react';
import { api } from '../api';
import { accessActionLabel, accessDeviceLabel, accessUserLabel, groupAccessEntries } from '../accessHistory';
import { formatClock, formatDateTime, formatTimestamp } from '../format';
import { useAsync } from '../hooks';
import type { AuditEntry, DeviceState } from '../types';
import { ErrorBanner } from './ErrorBanner';
import { ErrorText } from './ErrorText';

/** The patient page's "Access history" tab (clinic admin): who opened or changed what, when, where. */
export function AccessHistory({
  patientId,
  state,
  refreshKey,
}: {
  patientId: string;
  state: DeviceState;
  refreshKey: string;
}) {
  const load = useCallback(() => api.localAccessHistory(patientId), [patientId]);
  const history = useAsync<AuditEntry[]>(load, patientId, refreshKey);
  const entries = history.stale ? null : history.data;
  const sorted = entries ? groupAccessEntries(entries) : null;

  return (
    <div data-testid="access-history">
      <p className="muted tab-intro">
        Who opened or changed this patient&apos;s data, as recorded on this device (entries from other devices arrive
        with sync). Records are never shown here — only who looked, when, and from which device.
      </p>
      {history.error && (
        <ErrorBanner title="The access history could not be loaded" onRetry={history.reload}>
          <ErrorText error={history.error} />
        </ErrorBanner>
      )}
      {sorted === null && !history.error && <p className="loading">Loading access history…</p>}
      {sorted !== null && sorted.length === 0 && (
        <div className="empty" data-testid="access-empty">
          <p className="empty-title">No access recorded for this patient</p>
          <p className="empty-hint">Views and changes by staff on this device appear here.</p>
        </div>
      )}
      {sorted !== null && sorted.length > 0 && (
        <table className="access-table">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Who</th>
              <th scope="col">What</th>
              <th scope="col">Device</th>
            </tr>
          </thead>
          <tbody>
            {sorted.map(({ entry: e, count, first }) => (
              <tr
                key={e.id}
                data-testid="access-entry"
                data-action={e.action}
                data-user-id={e.user_id ?? ''}
                data-count={count}
              >
                <td
                  className="nowrap"
                  title={count > 1 ? `${formatTimestamp(first)} – ${formatTimestamp(e.at)}` : formatTimestamp(e.at)}
                >
                  {formatDateTime(e.at)}
                  {count > 1 && <span className="muted"> (from {formatClock(first)})</span>}
                </td>
                <td>{accessUserLabel(e.user_id, state)}</td>
                <td>
                  {accessActionLabel(e)}
                  {count > 1 && <span className="badge">{count}×</span>}
                </td>
                <td className="mono">{accessDeviceLabel(e.device_id, state)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
