// Every device of the clinic: last sync, pending writes, last error, app version; silent devices
// flagged; and a chart of sync requests per hour (answered vs refused) over two days.

import { useEffect } from 'react';
import type { ActivityBucket, FleetDevice, FleetView } from '../../generated/protocol';
import { ErrorBanner } from '../../components/ErrorBanner';
import { formatDateTime } from '../../format';
import { get } from '../http';
import { useLoad } from '../useLoad';

export function Fleet({ clinic }: { clinic: string }) {
  const fleet = useLoad(() => get<FleetView>(`/portal/api/clinics/${encodeURIComponent(clinic)}/fleet`), clinic);
  const { reload } = fleet;
  useEffect(() => {
    const t = window.setInterval(reload, 15_000);
    return () => window.clearInterval(t);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [clinic]);

  const v = fleet.data;
  const silent = v?.devices.filter((d) => d.silent).length ?? 0;
  return (
    <section aria-labelledby="fleet-title">
      <div className="page-head">
        <h1 id="fleet-title">Sync fleet</h1>
        <button type="button" className="btn btn-small" onClick={() => void reload()} data-testid="fleet-refresh">
          Refresh
        </button>
      </div>
      {fleet.error && <ErrorBanner title="The fleet could not be loaded" onRetry={reload}>{fleet.error.message}</ErrorBanner>}
      {!v && fleet.loading && <p className="loading">Loading…</p>}
      {v && (
        <>
          <p className="page-sub" data-testid="fleet-summary">
            {v.devices.length} device{v.devices.length === 1 ? '' : 's'} ·{' '}
            {silent > 0 ? (
              <strong className="danger-text">
                {silent} silent for over {v.silent_after_hours} h
              </strong>
            ) : (
              'none silent'
            )}{' '}
            · updated {formatDateTime(v.generated_at)}
          </p>
          <ActivityChart buckets={v.activity} />
          {v.devices.length === 0 ? (
            <div className="empty" data-testid="fleet-empty">
              <p className="empty-title">No devices enrolled yet</p>
              <p className="empty-hint">Create an enrolment code under Devices and enter it in the clinic app.</p>
            </div>
          ) : (
            <table className="portal-table" data-testid="fleet-table">
              <caption className="sr-only">Devices and their sync state</caption>
              <thead>
                <tr>
                  <th scope="col">Device</th>
                  <th scope="col">Role</th>
                  <th scope="col">Last sync</th>
                  <th scope="col">Pending</th>
                  <th scope="col">Refused</th>
                  <th scope="col">Last error</th>
                  <th scope="col">App version</th>
                  <th scope="col">State</th>
                </tr>
              </thead>
              <tbody>
                {v.devices.map((d) => (
                  <DeviceRow key={d.device.device_id} d={d} />
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </section>
  );
}

function DeviceRow({ d }: { d: FleetDevice }) {
  const state = d.device.revoked_at ? 'Revoked' : d.silent ? 'Silent' : d.last_error && d.last_error_at === d.last_seen_at ? 'Failing' : 'OK';
  return (
    <tr data-testid={`fleet-row-${d.device.device_id}`} data-state={state.toLowerCase()}>
      <th scope="row">
        {d.device.name}
        <div className="muted mono small-note">{d.device.device_id}</div>
      </th>
      <td>{d.device.role.replace('_', ' ')}</td>
      <td>{d.last_sync_at ? formatDateTime(d.last_sync_at) : <span className="muted">never</span>}</td>
      <td className="num">{d.pending ?? '—'}</td>
      <td className="num">{d.rejected ? <strong className="danger-text">{d.rejected}</strong> : (d.rejected ?? '—')}</td>
      <td data-testid="fleet-error">
        {d.last_error ? (
          <>
            <span className="mono">{d.last_error}</span>
            {d.last_error_at && <div className="muted small-note">{formatDateTime(d.last_error_at)}</div>}
          </>
        ) : (
          <span className="muted">none</span>
        )}
      </td>
      <td>{d.app_version ?? '—'}</td>
      <td>
        <span className={`badge ${state === 'OK' ? 'badge-muted' : 'badge-error'}`} data-testid="fleet-state">
          {state}
        </span>
      </td>
    </tr>
  );
}

/** Stacked bars per hour: answered (bottom) and refused (top). */
export function ActivityChart({ buckets }: { buckets: ActivityBucket[] }) {
  const w = 720;
  const h = 140;
  const pad = 24;
  const max = Math.max(1, ...buckets.map((b) => b.ok + b.failed));
  const bw = (w - pad) / Math.max(1, buckets.length);
  const y = (n: number) => ((h - pad) * n) / max;
  const total = buckets.reduce((s, b) => s + b.ok + b.failed, 0);
  const failed = buckets.reduce((s, b) => s + b.failed, 0);
  return (
    <figure className="fleet-chart" data-testid="fleet-chart">
      <svg viewBox={`0 0 ${w} ${h}`} role="img" aria-label={`Sync requests per hour over the last ${buckets.length} hours: ${total} in all, ${failed} refused`}>
        <line x1={pad} y1={h - pad} x2={w} y2={h - pad} stroke="#94a3b8" />
        <text x={0} y={12} fontSize="10" fill="#475569">
          {max}
        </text>
        {buckets.map((b, i) => {
          const x = pad + i * bw + 1;
          const okH = y(b.ok);
          const fH = y(b.failed);
          return (
            <g key={b.hour}>
              <title>{`${formatDateTime(b.hour)}: ${b.ok} answered, ${b.failed} refused`}</title>
              <rect x={x} y={h - pad - okH} width={Math.max(1, bw - 2)} height={okH} fill="#0f766e" />
              <rect x={x} y={h - pad - okH - fH} width={Math.max(1, bw - 2)} height={fH} fill="#b91c1c" />
            </g>
          );
        })}
        <text x={pad} y={h - 6} fontSize="10" fill="#475569">
          {buckets.length > 0 ? formatDateTime(buckets[0].hour) : ''}
        </text>
        <text x={w} y={h - 6} fontSize="10" fill="#475569" textAnchor="end">
          now
        </text>
      </svg>
      <figcaption className="chart-caption">
        <span className="legend legend-ok" aria-hidden="true" /> answered <span className="legend legend-failed" aria-hidden="true" /> refused
      </figcaption>
    </figure>
  );
}
