// A patient's own pages: their card (printable), appointments (cancel upcoming ones), wallet
// balances and receipts, records their clinicians shared, and consents. Online only; the server
// records every view in the clinic's access history.

import { useState } from 'react';
import type { Consents, PatientAppointment, PatientMoney, PatientSelf, SharedRecord, SponsoredCover } from '../../generated/protocol';
import type { Currency } from '../../generated/currencies';
import { formatMoney } from '../../money';
import { ErrorBanner } from '../../components/ErrorBanner';
import { formatDate, formatDateTime } from '../../format';
import { get, post, put, type ApiError } from '../http';
import { useLoad } from '../useLoad';

interface PrintableCard {
  card_id: string;
  fallback_code: string;
  expires_at: string;
  qr_svg: string;
  patient: PatientSelf;
}

export function PatientHome() {
  const me = useLoad(() => get<PatientSelf>('/portal/api/me/patient'), 'me');
  return (
    <main className="portal-main patient-home">
      {me.error && <ErrorBanner title={me.error.message} onRetry={me.reload} />}
      {me.data && (
        <h1 data-testid="patient-name">
          {me.data.given_name} {me.data.family_name}
        </h1>
      )}
      <div className="patient-grid">
        <Appointments />
        <Money />
        <Card />
        <Records />
        <ConsentsPanel />
      </div>
    </main>
  );
}

function Appointments() {
  const list = useLoad(() => get<PatientAppointment[]>('/portal/api/me/appointments'), 'appts');
  const [error, setError] = useState<ApiError | null>(null);
  const cancel = async (a: PatientAppointment) => {
    if (!window.confirm(`Cancel your appointment on ${formatDate(a.date)} at ${a.start_time}?`)) return;
    try {
      await post(`/portal/api/me/appointments/${a.id}/cancel`, { reason: 'Cancelled by the patient online' });
      list.reload();
    } catch (e) {
      setError(e as ApiError);
    }
  };
  const upcoming = (list.data ?? []).filter((a) => a.cancellable);
  const past = (list.data ?? []).filter((a) => !a.cancellable);
  return (
    <section className="patient-panel" aria-labelledby="appts-title" data-testid="patient-appointments">
      <h2 id="appts-title">Appointments</h2>
      {list.error && <ErrorBanner title={list.error.message} onRetry={list.reload} />}
      {error && <ErrorBanner title={error.message} onDismiss={() => setError(null)} />}
      {list.data && upcoming.length === 0 && <p className="empty">No upcoming appointments.</p>}
      <ul className="plain-list">
        {upcoming.map((a) => (
          <li key={a.id} className="appt-row" data-testid="patient-appointment">
            <div>
              <strong>
                {formatDate(a.date)} · {a.start_time}
              </strong>{' '}
              <span className="muted">{a.duration_minutes} min</span>
              <div>{[a.provider_name, a.reason].filter(Boolean).join(' · ')}</div>
              <span className="badge badge-muted">{a.status.replace(/_/g, ' ')}</span>
            </div>
            <button type="button" className="btn btn-small btn-danger" onClick={() => void cancel(a)} data-testid="patient-cancel">
              Cancel
            </button>
          </li>
        ))}
      </ul>
      {past.length > 0 && (
        <details>
          <summary>Past and cancelled ({past.length})</summary>
          <ul className="plain-list">
            {past.map((a) => (
              <li key={a.id}>
                {formatDate(a.date)} {a.start_time} · {a.status.replace(/_/g, ' ')}
              </li>
            ))}
          </ul>
        </details>
      )}
    </section>
  );
}

function Money() {
  const m = useLoad(() => get<PatientMoney>('/portal/api/me/money'), 'money');
  const sp = useLoad(() => get<SponsoredCover[]>('/portal/api/me/sponsorships'), 'sponsorships');
  return (
    <section className="patient-panel" aria-labelledby="money-title" data-testid="patient-money">
      <h2 id="money-title">Wallet</h2>
      {m.error && <ErrorBanner title={m.error.message} onRetry={m.reload} />}
      {m.data && m.data.wallets.length === 0 && <p className="empty">You have no wallet yet. The front desk can open one.</p>}
      <ul className="plain-list">
        {(m.data?.wallets ?? []).map((w) => (
          <li key={w.wallet_id} className="wallet-line" data-testid={`patient-wallet-${w.kind}`}>
            <span>{w.kind === 'sponsored' ? 'Sponsored care' : 'My money'}</span>
            <strong className="num">{w.balance}</strong>
          </li>
        ))}
      </ul>
      {(sp.data ?? []).length > 0 && (
        <>
          <h3>Who sponsors my care</h3>
          <ul className="plain-list" data-testid="patient-sponsors">
            {(sp.data ?? []).map((c) => (
              <li key={c.sponsorship} className="wallet-line">
                <span>
                  {c.sponsor ?? 'An anonymous sponsor'}
                  {c.programme && <span className="muted"> · {c.programme}</span>}
                  <div className="muted small-note">
                    Covers {c.coverage.services.length === 0 ? 'all services' : c.coverage.services.join(', ').replace(/_/g, ' ')} until{' '}
                    {new Date(c.term_end).toLocaleDateString()}
                  </div>
                </span>
                <strong className="num">{formatMoney(c.available, c.currency as Currency)}</strong>
              </li>
            ))}
          </ul>
        </>
      )}
      {m.data?.owed && (
        <p className="banner banner-warning" data-testid="patient-owed">
          You owe the clinic {m.data.owed}.
        </p>
      )}
      <h3>Receipts</h3>
      {m.data && m.data.receipts.length === 0 && <p className="empty">No receipts yet.</p>}
      <ul className="plain-list">
        {(m.data?.receipts ?? []).map((r) => (
          <li key={r.id}>
            {formatDateTime(r.at)} · <strong>{r.total}</strong> · {r.items.join(', ')}
          </li>
        ))}
      </ul>
    </section>
  );
}

function Card() {
  const c = useLoad(() => get<PrintableCard | null>('/portal/api/me/card'), 'card');
  return (
    <section className="patient-panel print-area" aria-labelledby="card-title" data-testid="patient-card">
      <h2 id="card-title">Health card</h2>
      {c.error && <ErrorBanner title={c.error.message} onRetry={c.reload} />}
      {c.data === null && !c.loading && !c.error && <p className="empty">No card yet. The clinic issues one at your next visit.</p>}
      {c.data && (
        <div className="print-card portal-card">
          <img src={`data:image/svg+xml;utf8,${encodeURIComponent(c.data.qr_svg)}`} alt="Your health card's QR code" width={160} height={160} />
          <div>
            <strong>
              {c.data.patient.given_name} {c.data.patient.family_name}
            </strong>
            <div className="mono">{c.data.card_id}</div>
            <div>
              Code: <span className="mono">{c.data.fallback_code}</span>
            </div>
            <div className="muted">Valid until {formatDate(c.data.expires_at.slice(0, 10))}</div>
          </div>
        </div>
      )}
      {c.data && (
        <button type="button" className="btn btn-small no-print" onClick={() => window.print()}>
          Print card
        </button>
      )}
    </section>
  );
}

function Records() {
  const r = useLoad(() => get<SharedRecord[]>('/portal/api/me/records'), 'records');
  return (
    <section className="patient-panel" aria-labelledby="records-title" data-testid="patient-records">
      <h2 id="records-title">Shared by your clinicians</h2>
      {r.error && <ErrorBanner title={r.error.message} onRetry={r.reload} />}
      {r.data && r.data.length === 0 && <p className="empty">Your clinicians have not shared any notes with you yet.</p>}
      <ul className="plain-list">
        {(r.data ?? []).map((x) => (
          <li key={x.id}>
            <strong>{x.date ? formatDate(x.date.slice(0, 10)) : ''}</strong> {x.record_type} · {x.provider_name}
            {x.summary && <div>{x.summary}</div>}
          </li>
        ))}
      </ul>
    </section>
  );
}

function ConsentsPanel() {
  const c = useLoad(() => get<Consents>('/portal/api/me/consents'), 'consents');
  const [saved, setSaved] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const change = async (k: 'data_processing' | 'sharing' | 'research_contact' | 'sponsor_stories', v: boolean) => {
    if (!c.data) return;
    try {
      const next = await put<Consents>('/portal/api/me/consents', { ...c.data, [k]: v });
      setSaved(`Saved ${formatDateTime(next.updated_at ?? new Date().toISOString())}`);
      c.reload();
    } catch (e) {
      setError(e as ApiError);
    }
  };
  const rows: [keyof Consents & ('data_processing' | 'sharing' | 'research_contact' | 'sponsor_stories'), string][] = [
    ['data_processing', 'The clinic may process my data for my care'],
    ['sharing', 'My records may be shared with other providers who treat me'],
    ['research_contact', 'I may be contacted about research and programmes'],
    ['sponsor_stories', 'My sponsors may read the stories my clinicians write about my care'],
  ];
  return (
    <section className="patient-panel" aria-labelledby="consents-title" data-testid="patient-consents">
      <h2 id="consents-title">Consents</h2>
      {error && <ErrorBanner title={error.message} onDismiss={() => setError(null)} />}
      {c.data &&
        rows.map(([k, label]) => (
          <label key={k} className="inline-label consent-row">
            <input type="checkbox" checked={Boolean(c.data?.[k])} onChange={(e) => void change(k, e.target.checked)} /> {label}
          </label>
        ))}
      {saved && (
        <p className="muted" role="status">
          {saved}
        </p>
      )}
    </section>
  );
}
