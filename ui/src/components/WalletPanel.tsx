// The patient's money: balances per source (a bar to see them at a glance), what they owe,
// allowances this device holds for offline charging, charges made here (provisional until
// settled), history, and the actions: charge a bill, take a deposit, set the wallet PIN, refund.

import { useCallback, useEffect, useId, useMemo, useRef, useState } from 'react';
import { describeError, toApiError } from '../api';
import { useAsync } from '../hooks';
import {
  allowanceRoom,
  bySource,
  formatMoney,
  money,
  newId,
  parseMoney,
  REASON_LABELS,
  SOURCE_LABELS,
  type Charged,
  type Currency,
  type LocalPreApproval,
  type Line,
  type LocalCharge,
  type OfflineMoney,
  type PatientWallets,
  type PriceItem,
  type PrintableReceipt,
  type Quote,
  type ReasonCode,
} from '../money';
import type { ApiError } from '../types';
import { REASON_TEXT, type Covered, type SponsoredCover } from '../generated/protocol';
import { ErrorBanner } from './ErrorBanner';
import { Modal } from './Modal';

interface Props {
  patientId: string;
  patientName: string;
  /** Clinic administrators refund any charge. */
  canRefund: boolean;
  onNotice: (message: string) => void;
}

type Dialog =
  | { kind: 'charge' }
  | { kind: 'deposit' }
  | { kind: 'pin' }
  | { kind: 'receipt'; id: string }
  | { kind: 'refund'; id: string }
  | null;

const when = (ms: number) => (ms ? new Date(ms).toLocaleString() : '—');

export function WalletPanel({ patientId, patientName, canRefund, onNotice }: Props) {
  const [refresh, setRefresh] = useState(0);
  const [dialog, setDialog] = useState<Dialog>(null);
  const online = useAsync<PatientWallets>(() => money.wallets(patientId), patientId, String(refresh));
  const local = useAsync<OfflineMoney>(() => money.offline(patientId), patientId, String(refresh));
  const covers = useAsync<SponsoredCover[]>(() => money.sponsorships(patientId), patientId, String(refresh));
  const reload = useCallback(() => setRefresh((n) => n + 1), []);
  const offline = online.error?.code === 'offline';
  const w = online.data;
  const currency: Currency = w?.wallets[0]?.currency ?? local.data?.charges[0]?.receipt.currency ?? 'KES';
  const personal = w?.wallets.find((x) => x.kind === 'personal');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);

  const act = async (what: () => Promise<unknown>, done: string) => {
    setBusy(true);
    setError(null);
    try {
      await what();
      onNotice(done);
      reload();
    } catch (e) {
      setError(toApiError(e));
    } finally {
      setBusy(false);
    }
  };

  // "p" (pay) charges, "d" takes a deposit, when no field has focus ("c" scans a card).
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (dialog || e.ctrlKey || e.metaKey || e.altKey) return;
      const t = e.target as HTMLElement | null;
      if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT')) return;
      if (e.key === 'p' || e.key === 'P') {
        e.preventDefault();
        setDialog({ kind: 'charge' });
      } else if ((e.key === 'd' || e.key === 'D') && !offline) {
        e.preventDefault();
        setDialog({ kind: 'deposit' });
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [dialog, offline]);

  return (
    <div className="wallet" data-testid="wallet-panel">
      <div className={`wallet-state ${offline ? 'is-offline' : 'is-online'}`} data-testid="wallet-state" role="status">
        {offline
          ? 'Offline: showing the allowances and charges on this device. Charges made now are provisional and settle at the next sync.'
          : online.data
            ? 'Online: balances from the server.'
            : online.error
              ? ''
              : 'Loading balances…'}
      </div>
      {online.error && !offline && (
        <ErrorBanner title="Balances could not be loaded" onRetry={online.reload}>
          {describeError(online.error)}
        </ErrorBanner>
      )}
      {error && (
        <ErrorBanner title="That did not go through" onDismiss={() => setError(null)}>
          {describeError(error)}
        </ErrorBanner>
      )}

      <div className="wallet-actions">
        <button type="button" className="btn btn-primary" data-testid="wallet-charge" onClick={() => setDialog({ kind: 'charge' })}>
          Charge… <kbd>P</kbd>
        </button>
        {!offline && personal && (
          <button type="button" className="btn" data-testid="wallet-deposit" onClick={() => setDialog({ kind: 'deposit' })}>
            Deposit cash… <kbd>D</kbd>
          </button>
        )}
        {!offline && personal && (
          <button type="button" className="btn" data-testid="wallet-set-pin" onClick={() => setDialog({ kind: 'pin' })}>
            {w?.pin.set ? 'Change wallet PIN…' : 'Set wallet PIN…'}
          </button>
        )}
        {!offline && w && !personal && (
          <button
            type="button"
            className="btn"
            data-testid="wallet-open"
            disabled={busy}
            onClick={() => void act(() => money.openWallet(patientId, currency), 'Personal wallet opened.')}
          >
            Open personal wallet
          </button>
        )}
        {!offline && w && w.wallets.some((x) => x.available > 0) && (
          <button
            type="button"
            className="btn"
            data-testid="wallet-reserve"
            disabled={busy}
            onClick={() =>
              void act(() => money.reserve([patientId]), 'Reserved for offline charging on this device.')
            }
          >
            Reserve for offline use
          </button>
        )}
      </div>

      {w && <Balances wallets={w} currency={currency} />}
      <Sponsorships online={covers.data} offline={local.data} currency={currency} />
      {local.data && local.data.allowances.length > 0 && <Allowances data={local.data} currency={currency} />}
      {local.data && (
        <DeviceCharges
          charges={local.data.charges}
          canRefund={canRefund && !offline}
          onReceipt={(id) => setDialog({ kind: 'receipt', id })}
          onRefund={(id) => setDialog({ kind: 'refund', id })}
        />
      )}
      {w && <History wallets={w} currency={currency} />}

      {dialog?.kind === 'charge' && (
        <ChargeDialog
          patientId={patientId}
          patientName={patientName}
          onClose={() => setDialog(null)}
          onCharged={(c) => {
            onNotice(c.provisional ? 'Charged offline: provisional until the next sync.' : 'Charged.');
            reload();
            setDialog({ kind: 'receipt', id: c.receipt.id });
          }}
        />
      )}
      {dialog?.kind === 'deposit' && (
        <AmountDialog
          title={`Cash deposit for ${patientName}`}
          action="Deposit"
          currency={currency}
          testId="deposit"
          onClose={() => setDialog(null)}
          onSubmit={(amount) => money.deposit(patientId, amount).then(() => {
            onNotice(`Deposited ${formatMoney(amount, currency)}.`);
            reload();
          })}
        />
      )}
      {dialog?.kind === 'pin' && (
        <WalletPinDialog
          onClose={() => setDialog(null)}
          onSubmit={(pin) => money.setPin(patientId, pin).then(() => {
            onNotice('Wallet PIN set.');
            reload();
          })}
        />
      )}
      {dialog?.kind === 'receipt' && <ReceiptDialog id={dialog.id} onClose={() => setDialog(null)} />}
      {dialog?.kind === 'refund' && (
        <RefundDialog
          onClose={() => setDialog(null)}
          onSubmit={(reason) => money.refund(dialog.id, reason).then(() => {
            onNotice('Refunded.');
            reload();
          })}
        />
      )}
    </div>
  );
}

/** Balances per source as cards and one stacked bar (what the patient can spend, and owes). */
function Balances({ wallets, currency }: { wallets: PatientWallets; currency: Currency }) {
  const rows = wallets.wallets.map((x) => ({
    id: x.id,
    label: x.kind === 'sponsored' ? 'Sponsored funds' : x.kind === 'personal' ? 'Personal wallet' : x.kind,
    kind: x.kind,
    available: Math.max(0, x.available),
    pending: x.pending,
    status: x.status,
  }));
  const total = rows.reduce((s, r) => s + r.available, 0) + wallets.owed;
  return (
    <section className="detail-section" aria-label="Balances" data-testid="wallet-balances">
      <h3 className="detail-section-title">Balances</h3>
      {rows.length === 0 && <p className="empty">No wallet yet. Open a personal wallet to take deposits.</p>}
      <div className="wallet-cards">
        {rows.map((r) => (
          <div key={r.id} className={`wallet-card kind-${r.kind}`} data-testid={`wallet-${r.kind}`}>
            <div className="wallet-card-label">{r.label}</div>
            <div className="wallet-card-amount" data-testid={`wallet-${r.kind}-available`}>
              {formatMoney(r.available, currency)}
            </div>
            {r.pending > 0 && <div className="wallet-card-note">{formatMoney(r.pending, currency)} held for a withdrawal</div>}
            {r.status !== 'active' && <div className="wallet-card-note">{r.status}</div>}
          </div>
        ))}
        {wallets.owed > 0 && (
          <div className="wallet-card kind-owed" data-testid="wallet-owed">
            <div className="wallet-card-label">Owed to the clinic</div>
            <div className="wallet-card-amount">{formatMoney(wallets.owed, currency)}</div>
          </div>
        )}
      </div>
      {total > 0 && (
        <svg className="wallet-bar" viewBox="0 0 100 6" preserveAspectRatio="none" role="img" aria-label="Share of each source">
          {(() => {
            let x = 0;
            const segs = [...rows.map((r) => ({ k: r.kind, v: r.available })), { k: 'owed', v: wallets.owed }];
            return segs
              .filter((s) => s.v > 0)
              .map((s, i) => {
                const wdt = (s.v / total) * 100;
                const el = <rect key={i} className={`seg-${s.k}`} x={x} y={0} width={wdt} height={6} />;
                x += wdt;
                return el;
              });
          })()}
        </svg>
      )}
      <p className="wallet-pin-state" data-testid="wallet-pin-state">
        Wallet PIN: {wallets.pin.set ? (wallets.pin.locked ? 'locked — set a new one' : `set (${wallets.pin.attempts_left} attempts left)`) : 'not set'}
      </p>
    </section>
  );
}

function Allowances({ data, currency }: { data: OfflineMoney; currency: Currency }) {
  // The time the panel was loaded (room depends on expiry); a refresh recomputes it.
  const [now] = useState(() => Date.now());
  return (
    <section className="detail-section" aria-label="Offline allowances on this device">
      <h3 className="detail-section-title">Offline allowances on this device</h3>
      <table className="table" data-testid="wallet-allowances">
        <thead>
          <tr>
            <th>Wallet</th>
            <th>Reserved</th>
            <th>Spent</th>
            <th>Next charge up to</th>
            <th>Expires</th>
          </tr>
        </thead>
        <tbody>
          {data.allowances.map((a) => (
            <tr key={a.id}>
              <td>{a.personal ? 'Personal' : 'Sponsored'}</td>
              <td>{formatMoney(a.reserved, currency)}</td>
              <td>
                {formatMoney(a.spent, currency)} ({a.used} of {a.max_count})
              </td>
              <td>{formatMoney(allowanceRoom(a, now), currency)}</td>
              <td>{when(a.expires_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function DeviceCharges({
  charges,
  canRefund,
  onReceipt,
  onRefund,
}: {
  charges: LocalCharge[];
  canRefund: boolean;
  onReceipt: (id: string) => void;
  onRefund: (id: string) => void;
}) {
  return (
    <section className="detail-section" aria-label="Charges on this device">
      <h3 className="detail-section-title">Charges on this device</h3>
      {charges.length === 0 ? (
        <p className="empty">No charges made on this device for this patient.</p>
      ) : (
        <table className="table" data-testid="wallet-charges">
          <thead>
            <tr>
              <th>When</th>
              <th>Total</th>
              <th>Paid by</th>
              <th>State</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {charges.map((c) => (
              <tr key={c.id} data-testid="wallet-charge-row" data-state={c.state}>
                <td>{when(c.made_at)}</td>
                <td>{formatMoney(c.receipt.total, c.receipt.currency)}</td>
                <td>
                  {bySource(c.receipt.parts)
                    .map((p) => `${SOURCE_LABELS[p.source]} ${formatMoney(p.amount, c.receipt.currency)}`)
                    .join(', ')}
                </td>
                <td>
                  {c.state === 'pending' && <span className="badge badge-pending">Provisional</span>}
                  {c.state === 'settled' && (c.receipt.refunds.length ? <span className="badge">Refunded</span> : <span className="badge">Settled</span>)}
                  {c.state === 'refused' && (
                    <span className="badge badge-error" title={c.message ?? ''}>
                      Refused: {c.code}
                    </span>
                  )}
                </td>
                <td className="row-actions">
                  <button type="button" className="btn btn-small" data-testid="wallet-receipt" onClick={() => onReceipt(c.id)}>
                    Receipt
                  </button>
                  {canRefund && c.state === 'settled' && c.receipt.refunds.length === 0 && (
                    <button type="button" className="btn btn-small btn-quiet" data-testid="wallet-refund" onClick={() => onRefund(c.id)}>
                      Refund…
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function History({ wallets, currency }: { wallets: PatientWallets; currency: Currency }) {
  return (
    <section className="detail-section" aria-label="History">
      <h3 className="detail-section-title">History</h3>
      {wallets.history.length === 0 ? (
        <p className="empty">No money has moved yet.</p>
      ) : (
        <table className="table" data-testid="wallet-history">
          <thead>
            <tr>
              <th>When</th>
              <th>What</th>
              <th>Account</th>
              <th className="num">Amount</th>
            </tr>
          </thead>
          <tbody>
            {wallets.history.map((h, i) => {
              const inward = h.effect === 'credit' || h.effect === 'release_debit';
              return (
                <tr key={`${h.request}-${h.account}-${i}`}>
                  <td>{when(h.at)}</td>
                  <td>
                    {h.kind ?? h.effect}
                    {h.reason ? ` (${REASON_LABELS[h.reason]})` : ''}
                    {h.effect.startsWith('reserve') ? ' — held' : ''}
                  </td>
                  <td className="mono">{h.account}</td>
                  <td className={`num ${inward ? 'amount-in' : 'amount-out'}`}>
                    {inward ? '+' : '−'}
                    {formatMoney(h.amount, currency)}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

interface DraftLine {
  item: string;
  quantity: string;
}

/** Pick items from the price list, see who pays what, take the rest at the desk. */
function ChargeDialog({
  patientId,
  patientName,
  onClose,
  onCharged,
}: {
  patientId: string;
  patientName: string;
  onClose: () => void;
  onCharged: (c: Charged) => void;
}) {
  const titleId = useId();
  // The list as the server has it now, or this device's copy when offline.
  const prices = useAsync(() => money.refreshPrices().catch(() => money.prices()), 'prices');
  const [lines, setLines] = useState<DraftLine[]>([{ item: '', quantity: '1' }]);
  const [personal, setPersonal] = useState(false);
  // Approved pre-approvals for this patient at this clinic (online): the desk may charge against one.
  const pas = useAsync<LocalPreApproval[]>(() => money.preApprovals(patientId), patientId, 'charge');
  const approved = (pas.data ?? []).filter((p) => p.view?.state.state === 'approved');
  const [preApproval, setPreApproval] = useState('');
  const [pin, setPin] = useState('');
  const [quote, setQuote] = useState<Quote | null>(null);
  const [offline, setOffline] = useState(false);
  const [cash, setCash] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [chargeId] = useState(newId);
  const first = useRef<HTMLSelectElement>(null);
  useEffect(() => first.current?.focus(), [prices.data]);

  const items = useMemo(() => (prices.data?.items ?? []).filter((i) => i.active), [prices.data]);
  const priced: Line[] = lines
    .map((l) => ({ l, item: items.find((i) => i.code === l.item) }))
    .filter((x): x is { l: DraftLine; item: PriceItem } => !!x.item && Number(x.l.quantity) > 0)
    .map(({ l, item }) => ({ item: item.code, quantity: Math.floor(Number(l.quantity)), unit_price: item.price }));
  const currency: Currency = items.find((i) => i.code === priced[0]?.item)?.currency ?? 'KES';
  const total = priced.reduce((s, l) => s + l.unit_price * l.quantity, 0);

  const run = async (f: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await f();
    } catch (e) {
      const err = toApiError(e);
      if (err.code === 'offline') setOffline(true);
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const getQuote = () =>
    run(async () => {
      setQuote(await money.quote(patientId, priced, personal, preApproval || null));
    });

  const confirm = () =>
    run(async () => {
      if (offline) {
        const taken = cash.trim() ? parseMoney(cash, currency) : 0;
        if (taken === null) throw { code: 'validation_failed', message: 'Cash taken: digits, e.g. 500.00', field: 'cash' };
        onCharged(
          await money.chargeOffline({ id: chargeId, patient: patientId, lines: priced, cash: taken, pin: personal ? pin : null }),
        );
      } else {
        if (!quote) return;
        onCharged(
          await money.charge({
            id: chargeId,
            patient: patientId,
            lines: priced,
            desk: { method: 'cash', drawer: '' },
            desk_amount: quote.desk_amount,
            ...(personal ? { pin } : {}),
            ...(preApproval ? { pre_approval: preApproval } : {}),
          }),
        );
      }
    });

  return (
    <Modal labelledBy={titleId} onClose={onClose} className="modal modal-wide" data-testid="charge-dialog" trapFocus>
      <h2 id={titleId} className="modal-title">
        Charge {patientName}
      </h2>
      {offline && (
        <p className="banner banner-warning" data-testid="charge-offline" role="status">
          Offline: paid from this device’s allowances, then the cash you take; the rest is owed. Provisional until the next sync.
        </p>
      )}
      {prices.data && items.length === 0 && <p className="empty">The price list is empty on this device. Sync, or ask an administrator to add items.</p>}
      {lines.map((l, i) => (
        <div className="charge-line" key={i}>
          <select
            ref={i === 0 ? first : undefined}
            aria-label={`Item ${i + 1}`}
            data-testid={`charge-item-${i}`}
            value={l.item}
            onChange={(e) => {
              setQuote(null);
              setLines(lines.map((x, j) => (j === i ? { ...x, item: e.target.value } : x)));
            }}
          >
            <option value="">Choose an item…</option>
            {items.map((it) => (
              <option key={it.code} value={it.code}>
                {it.name} — {formatMoney(it.price, it.currency)}
              </option>
            ))}
          </select>
          <input
            aria-label={`Quantity ${i + 1}`}
            data-testid={`charge-qty-${i}`}
            inputMode="numeric"
            value={l.quantity}
            onChange={(e) => {
              setQuote(null);
              setLines(lines.map((x, j) => (j === i ? { ...x, quantity: e.target.value.replace(/\D/g, '') } : x)));
            }}
          />
        </div>
      ))}
      <button type="button" className="btn btn-small btn-quiet" onClick={() => setLines([...lines, { item: '', quantity: '1' }])}>
        Add a line
      </button>
      <p className="charge-total" data-testid="charge-total">
        Total: <strong>{formatMoney(total, currency)}</strong>
      </p>
      <label className="check">
        <input
          type="checkbox"
          data-testid="charge-personal"
          checked={personal}
          onChange={(e) => {
            setQuote(null);
            setPersonal(e.target.checked);
          }}
        />
        The patient pays from their personal wallet (they type their wallet PIN)
      </label>
      {!offline && approved.length > 0 && (
        <label className="field">
          Charge against a pre-approval
          <select
            data-testid="charge-pre-approval"
            value={preApproval}
            onChange={(e) => {
              setQuote(null);
              setPreApproval(e.target.value);
            }}
          >
            <option value="">None</option>
            {approved.map((p) => (
              <option key={p.request.id} value={p.request.id}>
                {p.request.lines.map((l) => l.item).join(', ')} —{' '}
                {p.view?.state.state === 'approved' ? formatMoney(p.view.state.amount, p.view.currency as Currency) : ''} approved
              </option>
            ))}
          </select>
        </label>
      )}
      {personal && (
        <input
          className="pin-input"
          type="password"
          inputMode="numeric"
          autoComplete="off"
          aria-label="Patient's wallet PIN"
          data-testid="charge-pin"
          value={pin}
          maxLength={6}
          onChange={(e) => setPin(e.target.value.replace(/\D/g, ''))}
        />
      )}
      {quote && !offline && <CoverageNotes coverage={quote.coverage ?? []} lines={priced.map((l) => l.item)} />}
      {quote && !offline && (
        <table className="table" data-testid="charge-quote">
          <tbody>
            {bySource(quote.parts).map((p) => (
              <tr key={p.source}>
                <td>{SOURCE_LABELS[p.source]}</td>
                <td className="num">{formatMoney(p.amount, quote.currency)}</td>
              </tr>
            ))}
            <tr>
              <th>Take at the desk</th>
              <th className="num" data-testid="charge-desk">
                {formatMoney(quote.desk_amount, quote.currency)}
              </th>
            </tr>
          </tbody>
        </table>
      )}
      {offline && (
        <label className="field">
          Cash taken now
          <input data-testid="charge-cash" inputMode="decimal" value={cash} onChange={(e) => setCash(e.target.value)} />
        </label>
      )}
      {error && (
        <p className="field-error" role="alert" data-testid="charge-error">
          {describeError(error)}
        </p>
      )}
      <div className="inline-form-actions">
        <button type="button" className="btn" onClick={onClose}>
          Cancel <kbd>Esc</kbd>
        </button>
        {!offline && !quote && (
          <button type="button" className="btn btn-primary" data-testid="charge-quote-btn" disabled={busy || priced.length === 0} onClick={() => void getQuote()}>
            See who pays
          </button>
        )}
        {(quote || offline) && (
          <button
            type="button"
            className="btn btn-primary"
            data-testid="charge-confirm"
            disabled={busy || priced.length === 0 || (personal && pin.length < 4)}
            onClick={() => void confirm()}
          >
            {offline ? 'Charge offline' : `Charge ${formatMoney(total, currency)}`}
          </button>
        )}
      </div>
    </Modal>
  );
}

/** The receipt as the printer gets it (PNG at 203 dpi), with Print. */
export function ReceiptDialog({ id, onClose }: { id: string; onClose: () => void }) {
  const titleId = useId();
  const r = useAsync<PrintableReceipt>(() => money.receipt(id), id);
  const print = useRef<HTMLButtonElement>(null);
  useEffect(() => print.current?.focus(), [r.data]);
  return (
    <Modal labelledBy={titleId} onClose={onClose} className="modal" data-testid="receipt-dialog" data-receipt-id={id}>
      <h2 id={titleId} className="modal-title">
        Receipt
      </h2>
      {r.error && <p className="field-error">{describeError(r.error)}</p>}
      {!r.data && !r.error && <p>Preparing the receipt…</p>}
      {r.data && (
        <>
          {r.data.charged.provisional && (
            <p className="banner banner-warning" data-testid="receipt-provisional">
              Provisional: made offline, it settles at the next sync.
            </p>
          )}
          <div className="print-receipt">
            <img data-testid="receipt-image" className="receipt-image" src={`data:image/png;base64,${r.data.png_base64}`} alt={`Receipt ${id}`} />
          </div>
          <p className="mono receipt-ref">Ledger reference {id}</p>
        </>
      )}
      <div className="inline-form-actions">
        <button type="button" className="btn" onClick={onClose}>
          Close <kbd>Esc</kbd>
        </button>
        <button type="button" ref={print} className="btn btn-primary" data-testid="receipt-print" disabled={!r.data} onClick={() => window.print()}>
          Print
        </button>
      </div>
    </Modal>
  );
}

function AmountDialog({
  title,
  action,
  currency,
  testId,
  onClose,
  onSubmit,
}: {
  title: string;
  action: string;
  currency: Currency;
  testId: string;
  onClose: () => void;
  onSubmit: (amount: number) => Promise<void>;
}) {
  const titleId = useId();
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async () => {
    const amount = parseMoney(text, currency);
    if (amount === null || amount === 0) {
      setError(`Type an amount in ${currency}, e.g. 500.00`);
      return;
    }
    setBusy(true);
    try {
      await onSubmit(amount);
      onClose();
    } catch (e) {
      setError(describeError(toApiError(e)));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal labelledBy={titleId} onClose={onClose} data-testid={`${testId}-dialog`} trapFocus>
      <h2 id={titleId} className="modal-title">
        {title}
      </h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <label className="field">
          Amount ({currency})
          <input autoFocus data-testid={`${testId}-amount`} inputMode="decimal" value={text} onChange={(e) => setText(e.target.value)} />
        </label>
        {error && (
          <p className="field-error" role="alert" data-testid={`${testId}-error`}>
            {error}
          </p>
        )}
        <div className="inline-form-actions">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" data-testid={`${testId}-submit`} disabled={busy}>
            {action}
          </button>
        </div>
      </form>
    </Modal>
  );
}

function WalletPinDialog({ onClose, onSubmit }: { onClose: () => void; onSubmit: (pin: string) => Promise<void> }) {
  const titleId = useId();
  const [pin, setPin] = useState('');
  const [again, setAgain] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = async () => {
    if (!/^\d{4,6}$/.test(pin)) return setError('4 to 6 digits.');
    if (pin !== again) return setError('The two PINs differ.');
    try {
      await onSubmit(pin);
      onClose();
    } catch (e) {
      setError(describeError(toApiError(e)));
    }
  };
  return (
    <Modal labelledBy={titleId} onClose={onClose} data-testid="wallet-pin-dialog" trapFocus>
      <h2 id={titleId} className="modal-title">
        Wallet PIN
      </h2>
      <p className="modal-text">Hand the device to the patient: they type a PIN only they know. Staff never see it.</p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <input
          autoFocus
          type="password"
          inputMode="numeric"
          aria-label="New wallet PIN"
          data-testid="wallet-pin-new"
          value={pin}
          maxLength={6}
          onChange={(e) => setPin(e.target.value.replace(/\D/g, ''))}
        />
        <input
          type="password"
          inputMode="numeric"
          aria-label="The PIN again"
          data-testid="wallet-pin-again"
          value={again}
          maxLength={6}
          onChange={(e) => setAgain(e.target.value.replace(/\D/g, ''))}
        />
        {error && (
          <p className="field-error" role="alert">
            {error}
          </p>
        )}
        <div className="inline-form-actions">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" data-testid="wallet-pin-submit">
            Set PIN
          </button>
        </div>
      </form>
    </Modal>
  );
}

function RefundDialog({ onClose, onSubmit }: { onClose: () => void; onSubmit: (reason: ReasonCode) => Promise<void> }) {
  const titleId = useId();
  const [reason, setReason] = useState<ReasonCode>('patient_request');
  const [error, setError] = useState<string | null>(null);
  return (
    <Modal labelledBy={titleId} onClose={onClose} data-testid="refund-dialog" trapFocus>
      <h2 id={titleId} className="modal-title">
        Refund this charge
      </h2>
      <p className="modal-text">Every source gets back what it paid. The charge stays on record with the refund beside it.</p>
      <select autoFocus aria-label="Reason" data-testid="refund-reason" value={reason} onChange={(e) => setReason(e.target.value as ReasonCode)}>
        {(Object.keys(REASON_LABELS) as ReasonCode[]).map((r) => (
          <option key={r} value={r}>
            {REASON_LABELS[r]}
          </option>
        ))}
      </select>
      {error && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
      <div className="inline-form-actions">
        <button type="button" className="btn" onClick={onClose}>
          Cancel
        </button>
        <button
          type="button"
          className="btn btn-primary"
          data-testid="refund-submit"
          onClick={() =>
            void onSubmit(reason).then(onClose, (e: unknown) => setError(describeError(toApiError(e))))
          }
        >
          Refund
        </button>
      </div>
    </Modal>
  );
}

/**
 * The patient's sponsorships as the front desk tells them: the sponsor (unless anonymous), what
 * is covered and what is left. Online from the server; offline from the terms this device keeps
 * with its allowances (the same rules the server runs).
 */
function Sponsorships({ online, offline, currency }: { online: SponsoredCover[] | null; offline: OfflineMoney | null; currency: Currency }) {
  // The time the panel was loaded (an allowance's room depends on its expiry).
  const [now] = useState(() => Date.now());
  const held = (offline?.allowances ?? []).filter((a) => a.terms);
  const rows = online
    ? online.map((c) => ({ id: c.sponsorship, sponsor: c.sponsor, programme: c.programme, coverage: c.coverage, caps: c.caps, left: c.available, end: c.term_end, offline: false }))
    : held.map((a) => ({
        id: a.terms!.sponsorship,
        sponsor: a.terms!.sponsor,
        programme: a.terms!.programme,
        coverage: a.terms!.coverage,
        caps: a.terms!.caps,
        left: allowanceRoom(a, now),
        end: a.terms!.term_end,
        offline: true,
      }));
  if (rows.length === 0) return null;
  return (
    <section className="detail-section" aria-label="Sponsorships" data-testid="wallet-sponsorships">
      <h3 className="detail-section-title">Sponsorships</h3>
      <ul className="plain-list">
        {rows.map((r) => (
          <li key={r.id} className="sponsor-row" data-testid="wallet-sponsorship">
            <strong>{r.sponsor ?? 'An anonymous sponsor'}</strong>
            {r.programme && <span className="muted"> · {r.programme}</span>}
            <div className="small-note">
              Covers {r.coverage.services.length === 0 ? 'all services' : r.coverage.services.join(', ').replace(/_/g, ' ')}
              {r.coverage.conditions.length > 0 && ` for ${r.coverage.conditions.join(', ')}`}
              {r.caps.per_transaction !== null && `; up to ${formatMoney(r.caps.per_transaction, currency)} a charge`}
              {r.caps.co_payment_bps > 0 && `; patient pays ${r.caps.co_payment_bps / 100}%`}
              {r.caps.pre_approval_above !== null && `; pre-approval above ${formatMoney(r.caps.pre_approval_above, currency)}`}
            </div>
            <div className="small-note">
              {r.offline ? 'This device may still charge ' : 'Left: '}
              <strong>{formatMoney(r.left, currency)}</strong> · until {new Date(r.end).toLocaleDateString()}
              {r.offline && ' (offline: from its allowance)'}
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}

/** Why a sponsorship pays less than the bill, line by line (the engine's reasons). */
function CoverageNotes({ coverage, lines }: { coverage: Covered[]; lines: string[] }) {
  const notes = coverage.flatMap((c) =>
    c.answer.lines.flatMap((l, i) => (l.reasons.length > 0 ? [`${lines[i] ?? `line ${i + 1}`}: ${l.reasons.map((r) => REASON_TEXT[r]).join('; ')}`] : [])),
  );
  if (notes.length === 0) return null;
  return (
    <ul className="coverage-notes small-note" data-testid="charge-coverage">
      {notes.map((n, i) => (
        <li key={i}>{n}</li>
      ))}
    </ul>
  );
}
