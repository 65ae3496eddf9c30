// The sponsor's utilisation and impact report: allocated, spent, returned and held (which add up,
// checked against the ledger), patients reached, spending by month as a chart, and by service
// category, provider, country and programme; CSV and PDF exports of the same figures.

import type { ReportBucket, SponsorReport, SponsorStories } from '../../generated/protocol';
import type { Currency } from '../../generated/currencies';
import { ErrorBanner } from '../../components/ErrorBanner';
import { formatMoney } from '../../money';
import { get } from '../http';
import { useLoad } from '../useLoad';

export function Report({ base }: { base: string }) {
  const report = useLoad(() => get<SponsorReport>(`${base}/report`), base);
  const stories = useLoad(() => get<SponsorStories>(`${base}/stories`), base);
  const r = report.data;
  if (report.error && !r) return <ErrorBanner title="The report could not be loaded" onRetry={report.reload}>{report.error.message}</ErrorBanner>;
  if (!r) return <p className="loading">Loading…</p>;
  const c = r.currency as Currency;
  const m = (n: number) => formatMoney(n, c);
  return (
    <section aria-labelledby="report-title">
      <div className="page-head">
        <h1 id="report-title">Utilisation and impact</h1>
        <div className="actions">
          <a className="btn btn-small" href={`${base}/report.csv`} download data-testid="report-csv">
            CSV
          </a>
          <a className="btn btn-small" href={`${base}/report.pdf`} download data-testid="report-pdf">
            PDF
          </a>
          <button type="button" className="btn btn-small" onClick={() => window.print()}>
            Print
          </button>
        </div>
      </div>
      <div className="figures" data-testid="report-figures">
        <Figure label="Allocated to beneficiaries" value={m(r.allocated)} id="allocated" />
        <Figure label="Spent on care" value={m(r.spent)} id="spent" />
        <Figure label="Returned to you (unused)" value={m(r.returned)} id="returned" />
        <Figure label="Still held for beneficiaries" value={m(r.held)} id="held" />
        <Figure label="Patients reached" value={String(r.patients_reached)} id="reached" />
      </div>
      <p className={`small-note ${r.difference === 0 ? 'muted' : 'danger-text'}`} data-testid="report-check">
        {r.difference === 0
          ? 'These figures agree with the ledger: allocated = spent + returned + held.'
          : `These figures differ from the ledger by ${r.difference}: tell the platform.`}
      </p>
      <h2>Spending by month</h2>
      <MonthChart buckets={r.by_month} currency={c} />
      <div className="report-grid">
        <Breakdown title="By service category" buckets={r.by_category} currency={c} id="category" />
        <Breakdown title="By provider" buckets={r.by_provider} currency={c} id="provider" />
        <Breakdown title="By country" buckets={r.by_country} currency={c} id="country" />
        <Breakdown title="By programme" buckets={r.by_programme} currency={c} id="programme" />
      </div>
      <h2>Success stories</h2>
      <Stories data={stories.data} />
      <h2>Spend against allocation</h2>
      {r.sponsorships.length === 0 ? (
        <p className="empty">No sponsorships yet.</p>
      ) : (
        <table className="portal-table" data-testid="report-rows">
          <caption className="sr-only">Each sponsorship&apos;s allocation and use</caption>
          <thead>
            <tr>
              <th scope="col">Beneficiary</th>
              <th scope="col">Programme</th>
              <th scope="col">Status</th>
              <th scope="col">Use of allocation</th>
              <th scope="col" className="num">
                Charges
              </th>
            </tr>
          </thead>
          <tbody>
            {r.sponsorships.map((s) => {
              const pct = s.funded > 0 ? Math.round((100 * s.spent) / s.funded) : 0;
              return (
                <tr key={s.id}>
                  <th scope="row" className="mono small-note">
                    {s.beneficiary}
                  </th>
                  <td>{s.programme || '—'}</td>
                  <td>{s.status}</td>
                  <td>
                    <div className="meter" role="img" aria-label={`${pct}% of ${m(s.funded)} spent`}>
                      <span style={{ width: `${Math.min(100, pct)}%` }} />
                    </div>
                    <span className="small-note">
                      {m(s.spent)} of {m(s.funded)} ({pct}%), {m(s.returned)} returned
                    </span>
                  </td>
                  <td className="num">{s.charges}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Figure({ label, value, id }: { label: string; value: string; id: string }) {
  return (
    <div className="figure">
      <span className="figure-label">{label}</span>
      <strong className="figure-value" data-testid={`report-${id}`}>
        {value}
      </strong>
    </div>
  );
}

/** Bars per month (the last twelve with spending). */
function MonthChart({ buckets, currency }: { buckets: ReportBucket[]; currency: Currency }) {
  const shown = buckets.slice(-12);
  if (shown.length === 0) return <p className="empty" data-testid="report-chart-empty">No spending yet: the chart fills as sponsored care is charged.</p>;
  const w = 640;
  const h = 180;
  const pad = 28;
  const max = Math.max(1, ...shown.map((b) => b.amount));
  const bw = (w - pad) / shown.length;
  const total = shown.reduce((s, b) => s + b.amount, 0);
  return (
    <figure className="fleet-chart" data-testid="report-chart">
      <svg viewBox={`0 0 ${w} ${h}`} role="img" aria-label={`Spending by month: ${formatMoney(total, currency)} over ${shown.length} month(s)`}>
        <line x1={pad} y1={h - pad} x2={w} y2={h - pad} stroke="#94a3b8" />
        {shown.map((b, i) => {
          const bh = ((h - 2 * pad) * b.amount) / max;
          // Bars stay narrow when there are few months (a single month is not a wall).
          const barW = Math.min(56, Math.max(4, bw - 8));
          const x = pad + i * bw + (bw - barW) / 2;
          return (
            <g key={b.key}>
              <title>{`${b.key}: ${formatMoney(b.amount, currency)}`}</title>
              <rect x={x} y={h - pad - bh} width={barW} height={bh} fill="#1d4ed8" data-testid="report-bar" />
              <text x={x + barW / 2} y={h - 10} fontSize="11" fill="#334155" textAnchor="middle">
                {b.key}
              </text>
              <text x={x + barW / 2} y={h - pad - bh - 4} fontSize="10" fill="#334155" textAnchor="middle">
                {formatMoney(b.amount, currency)}
              </text>
            </g>
          );
        })}
      </svg>
    </figure>
  );
}

function Breakdown({ title, buckets, currency, id }: { title: string; buckets: ReportBucket[]; currency: Currency; id: string }) {
  const max = Math.max(1, ...buckets.map((b) => b.amount));
  return (
    <div className="breakdown" data-testid={`report-${id}-list`}>
      <h3>{title}</h3>
      {buckets.length === 0 ? (
        <p className="muted small-note">Nothing yet.</p>
      ) : (
        <ul className="plain-list">
          {buckets.map((b) => (
            <li key={b.key} className="bar-row">
              <span className="bar-label">{b.key.replace('_', ' ')}</span>
              <span className="meter" aria-hidden="true">
                <span style={{ width: `${(100 * b.amount) / max}%` }} />
              </span>
              <span className="num small-note">{formatMoney(b.amount, currency)}</span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** Clinicians' stories about the care, shown only with each patient's consent. */
function Stories({ data }: { data: SponsorStories | null }) {
  if (!data) return null;
  if (!data.enabled) return <p className="empty">Turn on success stories in your profile to read how the care you fund went.</p>;
  return (
    <div data-testid="report-stories">
      {data.stories.length === 0 && <p className="empty">No stories shared yet.</p>}
      <ul className="plain-list cards">
        {data.stories.map((s) => (
          <li key={s.id} className="card">
            <p>&ldquo;{s.text}&rdquo;</p>
            <p className="muted small-note">
              {s.beneficiary} · {s.programme || 'no programme'} · {new Date(s.at).toLocaleDateString()}
            </p>
          </li>
        ))}
      </ul>
      {data.withheld > 0 && (
        <p className="muted small-note">
          {data.withheld} more {data.withheld === 1 ? 'story is' : 'stories are'} kept private: the patient has not agreed to share.
        </p>
      )}
    </div>
  );
}
