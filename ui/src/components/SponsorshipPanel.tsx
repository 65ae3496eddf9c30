// A patient's sponsorships as the clinic sees them — the sponsor (unless anonymous), what is
// covered, what is left (offline: the terms this device keeps with its allowances) — and their
// pre-approvals: asked by clinicians (queued when offline, sent at the next sync), decided by the
// sponsor, then charged against at the desk.

import { useId, useState } from 'react';
import { useAsync } from '../hooks';
import { describeError } from '../api';
import { formatMoney, money, newId, type Currency, type LocalPreApproval, type OfflineMoney, type PriceList } from '../money';
import { REASON_TEXT, type SponsoredCover } from '../generated/protocol';
import type { ApiError } from '../types';
import { ErrorBanner } from './ErrorBanner';
import { Modal } from './Modal';

interface Props {
  patientId: string;
  canAsk: boolean;
  onNotice: (message: string) => void;
}

const STATE_LABEL: Record<string, string> = {
  pending: 'Waiting for the sponsor',
  approved: 'Approved',
  refused: 'Refused',
  used: 'Charged',
  released: 'Released unused',
};

export function SponsorshipPanel({ patientId, canAsk, onNotice }: Props) {
  const [refresh, setRefresh] = useState(0);
  const covers = useAsync<SponsoredCover[]>(() => money.sponsorships(patientId), patientId, String(refresh));
  const local = useAsync<OfflineMoney>(() => money.offline(patientId), patientId, String(refresh));
  const pas = useAsync<LocalPreApproval[]>(() => money.preApprovals(patientId), patientId, String(refresh));
  const [asking, setAsking] = useState(false);
  const [storyFor, setStoryFor] = useState<string | null>(null);
  const offline = covers.error?.code === 'offline';
  const held = (local.data?.allowances ?? []).filter((a) => a.terms);
  const rows: SponsoredCover[] = covers.data ?? [];

  return (
    <div className="wallet-panel">
      <div className="wallet-actions">
        {canAsk && rows.length + held.length > 0 && (
          <button type="button" className="btn btn-primary" data-testid="pa-ask" onClick={() => setAsking(true)}>
            Ask for pre-approval…
          </button>
        )}
        <button type="button" className="btn" onClick={() => setRefresh((n) => n + 1)}>
          Refresh
        </button>
      </div>
      {offline && (
        <p className="banner banner-warning" role="status">
          Offline: showing the terms this device holds. Pre-approval requests are queued and sent at the next sync.
        </p>
      )}
      {covers.error && !offline && <ErrorBanner title="Sponsorships could not be loaded">{describeError(covers.error)}</ErrorBanner>}
      <section className="detail-section" aria-label="Sponsorships">
        <h3 className="detail-section-title">Sponsorships</h3>
        {!offline && covers.data && rows.length === 0 && <p className="empty">No sponsor funds this patient&apos;s care.</p>}
        {offline && held.length === 0 && <p className="empty">This device holds no sponsorship terms for this patient.</p>}
        <ul className="plain-list">
          {rows.map((c) => (
            <li key={c.sponsorship} className="sponsor-row" data-testid="sponsorship-row">
              <strong>{c.sponsor ?? 'An anonymous sponsor'}</strong>
              {c.programme && <span className="muted"> · {c.programme}</span>} <span className="badge">{c.status}</span>
              <div className="small-note">
                Covers {c.coverage.services.length === 0 ? 'all services' : c.coverage.services.join(', ').replace(/_/g, ' ')}
                {c.coverage.conditions.length > 0 && ` for ${c.coverage.conditions.join(', ')}`}
                {c.caps.pre_approval_above !== null && `; pre-approval above ${formatMoney(c.caps.pre_approval_above, c.currency as Currency)}`}
              </div>
              <div className="small-note">
                Left: <strong>{formatMoney(c.available, c.currency as Currency)}</strong> · until {new Date(c.term_end).toLocaleDateString()}
              </div>
              {canAsk && (
                <button type="button" className="btn btn-small btn-quiet" data-testid="story-write" onClick={() => setStoryFor(c.sponsorship)}>
                  Write how the care went…
                </button>
              )}
            </li>
          ))}
          {offline &&
            held.map((a) => (
              <li key={a.id} className="sponsor-row">
                <strong>{a.terms!.sponsor ?? 'An anonymous sponsor'}</strong>
                {a.terms!.programme && <span className="muted"> · {a.terms!.programme}</span>}
                <div className="small-note">
                  Covers {a.terms!.coverage.services.length === 0 ? 'all services' : a.terms!.coverage.services.join(', ').replace(/_/g, ' ')} ·
                  this device may charge up to {formatMoney(a.reserved - a.spent, a.terms!.currency as Currency)}
                </div>
              </li>
            ))}
        </ul>
      </section>
      <section className="detail-section" aria-label="Pre-approvals">
        <h3 className="detail-section-title">Pre-approvals</h3>
        {pas.data && pas.data.length === 0 && <p className="empty">None asked at this clinic.</p>}
        <table className="table" data-testid="pa-list">
          <tbody>
            {(pas.data ?? []).map((p) => {
              const v = p.view;
              const state = v?.state.state ?? 'queued';
              return (
                <tr key={p.request.id} data-testid={`pa-row-${p.request.id}`} data-state={state}>
                  <td>{p.request.lines.map((l) => `${l.quantity} × ${l.item}`).join(', ')}</td>
                  <td>{v ? formatMoney(v.asked, v.currency as Currency) : '—'}</td>
                  <td>
                    <span className="badge">{state === 'queued' ? 'Queued (offline)' : STATE_LABEL[state]}</span>
                    {v?.state.state === 'approved' && (
                      <div className="small-note">
                        {formatMoney(v.state.amount, v.currency as Currency)} held until {new Date(v.state.until).toLocaleDateString()}
                        {v.state.comment && ` — “${v.state.comment}”`}
                      </div>
                    )}
                    {v?.state.state === 'refused' && <div className="small-note">{v.state.comment || 'No comment'}</div>}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </section>
      {storyFor && (
        <StoryDialog
          sponsorship={storyFor}
          onClose={() => setStoryFor(null)}
          onSaved={() => {
            setStoryFor(null);
            onNotice('Story saved: the sponsor sees it only if the patient agrees to share.');
          }}
        />
      )}
      {asking && (
        <AskDialog
          patientId={patientId}
          sponsorships={rows.length ? rows.map((r) => ({ id: r.sponsorship, label: r.sponsor ?? 'An anonymous sponsor' })) : held.map((a) => ({ id: a.terms!.sponsorship, label: a.terms!.sponsor ?? 'An anonymous sponsor' }))}
          onClose={() => setAsking(false)}
          onAsked={(p) => {
            setAsking(false);
            onNotice(p.sent ? 'Pre-approval asked: the sponsor decides in their portal.' : 'Offline: the request is queued and goes at the next sync.');
            setRefresh((n) => n + 1);
          }}
        />
      )}
    </div>
  );
}

function AskDialog({
  patientId,
  sponsorships,
  onClose,
  onAsked,
}: {
  patientId: string;
  sponsorships: { id: string; label: string }[];
  onClose: () => void;
  onAsked: (p: LocalPreApproval) => void;
}) {
  const titleId = useId();
  const prices = useAsync<PriceList>(() => money.prices(), 'prices', '0');
  const [sponsorship, setSponsorship] = useState(sponsorships[0]?.id ?? '');
  const [item, setItem] = useState('');
  const [quantity, setQuantity] = useState('1');
  const [diagnoses, setDiagnoses] = useState('');
  const [note, setNote] = useState('');
  const [days, setDays] = useState('14');
  const [error, setError] = useState<ApiError | null>(null);
  const chosen = prices.data?.items.find((p) => p.code === item);
  const submit = async () => {
    setError(null);
    if (!chosen) {
      setError({ code: 'invalid_input', message: 'Choose the planned item', field: 'lines' });
      return;
    }
    try {
      onAsked(
        await money.askPreApproval({
          id: newId(),
          sponsorship,
          patient: patientId,
          provider: null,
          lines: [{ item, quantity: Math.max(1, Number(quantity) || 1), unit_price: chosen.price }],
          diagnoses: diagnoses
            .split(',')
            .map((d) => d.trim())
            .filter(Boolean),
          note: note.trim(),
          valid_days: Math.max(1, Number(days) || 14),
        }),
      );
    } catch (e) {
      setError(e as ApiError);
    }
  };
  return (
    <Modal labelledBy={titleId} onClose={onClose} className="modal modal-wide" data-testid="pa-dialog" trapFocus>
      <h2 id={titleId} className="modal-title">
        Ask the sponsor to pre-approve planned care
      </h2>
      <div className="form-grid">
        <label className="field">
          Sponsorship
          <select data-testid="pa-sponsorship" value={sponsorship} onChange={(e) => setSponsorship(e.target.value)}>
            {sponsorships.map((s) => (
              <option key={s.id} value={s.id}>
                {s.label}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          Planned item
          <select data-testid="pa-item" value={item} onChange={(e) => setItem(e.target.value)}>
            <option value="">Choose…</option>
            {(prices.data?.items ?? [])
              .filter((p) => p.active)
              .map((p) => (
                <option key={p.code} value={p.code}>
                  {p.name} ({formatMoney(p.price, p.currency)})
                </option>
              ))}
          </select>
        </label>
        <label className="field">
          Quantity
          <input inputMode="numeric" data-testid="pa-quantity" value={quantity} onChange={(e) => setQuantity(e.target.value.replace(/\D/g, ''))} />
        </label>
        <label className="field">
          Diagnoses (ICD-10, comma separated)
          <input data-testid="pa-diagnoses" value={diagnoses} onChange={(e) => setDiagnoses(e.target.value)} />
        </label>
        <label className="field">
          Note for the sponsor
          <textarea data-testid="pa-note" value={note} onChange={(e) => setNote(e.target.value)} />
        </label>
        <label className="field">
          Valid for (days)
          <input inputMode="numeric" data-testid="pa-days" value={days} onChange={(e) => setDays(e.target.value.replace(/\D/g, ''))} />
        </label>
      </div>
      {error && (
        <p className="field-error" role="alert" data-testid="pa-error">
          {describeError(error)}
        </p>
      )}
      <div className="inline-form-actions">
        <button type="button" className="btn" onClick={onClose}>
          Cancel <kbd>Esc</kbd>
        </button>
        <button type="button" className="btn btn-primary" data-testid="pa-submit" onClick={() => void submit()}>
          Ask
        </button>
      </div>
    </Modal>
  );
}

function StoryDialog({ sponsorship, onClose, onSaved }: { sponsorship: string; onClose: () => void; onSaved: () => void }) {
  const titleId = useId();
  const [text, setText] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const save = async () => {
    setError(null);
    try {
      await money.addStory(sponsorship, text.trim());
      onSaved();
    } catch (e) {
      setError(e as ApiError);
    }
  };
  return (
    <Modal labelledBy={titleId} onClose={onClose} className="modal" data-testid="story-dialog" trapFocus>
      <h2 id={titleId} className="modal-title">
        How the sponsored care went
      </h2>
      <p className="small-note">The sponsor reads it only if the patient agrees to share stories (in their portal&apos;s consents).</p>
      <label className="field">
        Story
        <textarea data-testid="story-text" value={text} onChange={(e) => setText(e.target.value)} maxLength={2000} />
      </label>
      {error && (
        <p className="field-error" role="alert">
          {describeError(error)}
        </p>
      )}
      <div className="inline-form-actions">
        <button type="button" className="btn" onClick={onClose}>
          Cancel <kbd>Esc</kbd>
        </button>
        <button type="button" className="btn btn-primary" data-testid="story-save" disabled={!text.trim()} onClick={() => void save()}>
          Save
        </button>
      </div>
    </Modal>
  );
}

/** Why a sponsorship would pay less, in words (for notices). */
export function reasonsText(codes: (keyof typeof REASON_TEXT)[]): string {
  return codes.map((c) => REASON_TEXT[c]).join('; ');
}
