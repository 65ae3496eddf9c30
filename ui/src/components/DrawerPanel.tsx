// The cashier's drawer: what the ledger expects in it now, the day-close (count, difference kept
// on record) and a chart of recent closes, expected against counted.

import { useId, useState } from 'react';
import { describeError, toApiError } from '../api';
import { useAsync } from '../hooks';
import { formatMoney, money, parseMoney, type DayClose, type DrawerView } from '../money';
import type { ApiError } from '../types';
import { ErrorBanner } from './ErrorBanner';

export function DrawerPanel({ onNotice }: { onNotice: (message: string) => void }) {
  const titleId = useId();
  const [refresh, setRefresh] = useState(0);
  const d = useAsync<DrawerView>(() => money.drawer(), 'drawer', String(refresh));
  const [counted, setCounted] = useState('');
  const [note, setNote] = useState('');
  const [error, setError] = useState<ApiError | string | null>(null);
  const [busy, setBusy] = useState(false);
  const currency = d.data?.currency ?? 'KES';

  const close = async () => {
    const n = parseMoney(counted, currency);
    if (n === null) return setError(`Counted: type the cash in the drawer, e.g. 12500.00`);
    setBusy(true);
    setError(null);
    try {
      const c = await money.closeDay(n, note);
      onNotice(
        c.difference === 0
          ? 'Day closed: the drawer balances.'
          : `Day closed: ${formatMoney(Math.abs(c.difference), c.currency)} ${c.difference < 0 ? 'short' : 'over'}, recorded.`,
      );
      setCounted('');
      setNote('');
      setRefresh((x) => x + 1);
    } catch (e) {
      setError(toApiError(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="page" aria-labelledby={titleId} data-testid="drawer-panel">
      <h1 id={titleId} className="page-title">
        Cash drawer
      </h1>
      {d.error && (
        <ErrorBanner title="The drawer could not be loaded" onRetry={d.reload}>
          {describeError(d.error)}
        </ErrorBanner>
      )}
      {d.data && (
        <>
          <p className="drawer-expected">
            Expected in the drawer: <strong data-testid="drawer-expected">{formatMoney(d.data.expected, currency)}</strong>
          </p>
          <form
            className="drawer-close"
            onSubmit={(e) => {
              e.preventDefault();
              void close();
            }}
          >
            <label className="field">
              Cash counted
              <input data-testid="drawer-counted" inputMode="decimal" value={counted} onChange={(e) => setCounted(e.target.value)} />
            </label>
            <label className="field">
              Note
              <input data-testid="drawer-note" value={note} maxLength={500} onChange={(e) => setNote(e.target.value)} />
            </label>
            <button type="submit" className="btn btn-primary" data-testid="drawer-close" disabled={busy}>
              Close the day
            </button>
          </form>
          {error && (
            <p className="field-error" role="alert" data-testid="drawer-error">
              {typeof error === 'string' ? error : describeError(error)}
            </p>
          )}
          <ClosesChart closes={d.data.closes} />
        </>
      )}
    </section>
  );
}

/** Recent closes, oldest left: expected (outline) against counted (filled), the difference above. */
function ClosesChart({ closes }: { closes: DayClose[] }) {
  if (closes.length === 0) return <p className="empty">No day-closes yet.</p>;
  const shown = [...closes].reverse().slice(-14);
  const max = Math.max(1, ...shown.flatMap((c) => [c.expected, c.input.counted]));
  // A slot per close, at least a week's worth, so one close is not one wide block.
  const w = 100 / Math.max(shown.length, 7);
  return (
    <figure className="closes-chart" data-testid="drawer-chart">
      <svg viewBox="0 0 100 60" role="img" aria-label="Expected and counted cash per day-close">
        {shown.map((c, i) => {
          const he = (c.expected / max) * 48;
          const hc = (c.input.counted / max) * 48;
          const x = i * w + w * 0.15;
          return (
            <g key={c.input.id}>
              <rect className="bar-expected" x={x} y={56 - he} width={w * 0.7} height={he} />
              <rect className={`bar-counted ${c.difference < 0 ? 'is-short' : c.difference > 0 ? 'is-over' : ''}`} x={x + w * 0.15} y={56 - hc} width={w * 0.4} height={hc} />
              <text x={x + w * 0.35} y={59.5} textAnchor="middle" className="bar-label">
                {new Date(c.at).toLocaleDateString(undefined, { day: 'numeric', month: 'short' })}
              </text>
              {c.difference !== 0 && (
                <text x={x + w * 0.35} y={Math.max(6, 54 - Math.max(he, hc))} textAnchor="middle" className="bar-label">
                  {c.difference > 0 ? '+' : '−'}
                  {formatMoney(Math.abs(c.difference), c.currency).split(' ')[0]}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      <figcaption>Expected (outline) and counted (filled) cash at each close; red is short, amber over.</figcaption>
    </figure>
  );
}
