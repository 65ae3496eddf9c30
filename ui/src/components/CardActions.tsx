import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { api, describeError, toApiError } from '../api';
import { checkFallbackCode, formatInitials, groupCodeInput, scanErrorMessage } from '../cards';
import { formatDate } from '../format';
import type { ApiError, CheckIn, Patient, PrintableCard } from '../types';
import { useScanClaim } from './Scanner';
import { Modal } from './Modal';

/** `issue_card` errors for staff. */
export function issueErrorMessage(e: ApiError): string {
  if (e.code === 'offline') {
    return 'Issuing a card needs the server, which cannot be reached right now. Try again when this device is back online.';
  }
  return describeError(e);
}

/** "Issue card" / "Reprint / replace card" on the patient page, and the print preview. */
export function IssueCardButton({ patient }: { patient: Patient }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [card, setCard] = useState<PrintableCard | null>(null);
  const button = useRef<HTMLButtonElement>(null);
  const replacing = !!patient.health_card_id;

  const issue = async () => {
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      setCard(await api.issueCard(patient.id));
    } catch (e) {
      setError(issueErrorMessage(toApiError(e)));
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <button
        type="button"
        ref={button}
        className="btn"
        data-testid="issue-card"
        disabled={busy}
        title={replacing ? 'Print a new card; the current card stops working' : 'Print a health card for this patient'}
        onClick={() => void issue()}
      >
        {busy ? 'Issuing…' : replacing ? 'Reprint / replace card' : 'Issue card'}
      </button>
      {error && (
        <div className="card-error" role="alert" data-testid="card-error">
          {error}
          <button type="button" className="btn btn-small btn-quiet" onClick={() => setError(null)}>
            Dismiss
          </button>
        </div>
      )}
      {card && (
        <CardPreview
          card={card}
          replaced={replacing}
          onClose={() => {
            setCard(null);
            requestAnimationFrame(() => button.current?.focus());
          }}
        />
      )}
    </>
  );
}

export function CardPreview({ card, replaced, onClose }: { card: PrintableCard; replaced: boolean; onClose: () => void }) {
  const titleId = useId();
  const printRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    printRef.current?.focus();
  }, []);
  const src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(card.svg)}`;
  return (
    <Modal
      labelledBy={titleId}
      onClose={onClose}
      className="modal modal-wide"
      backdropClassName="modal-backdrop card-preview-backdrop"
      data-testid="card-preview"
      data-card-id={card.card_id}
    >
      <h2 id={titleId} className="modal-title">
        Health card for {card.display_name}
      </h2>
      <p className="modal-text">
        Shown at real size (85.6 × 53.98 mm). Print on card stock or plain paper and cut along the edge.
        {replaced && ' The patient’s earlier cards no longer work.'}
      </p>
      <div className="print-card">
        <img data-testid="card-svg" className="card-svg" src={src} alt={`Health card ${card.card_id}`} />
      </div>
      <dl className="card-facts">
        <dt>Card</dt>
        <dd className="mono">{card.card_id}</dd>
        <dt>Fallback code</dt>
        <dd className="mono card-code" data-testid="card-fallback-code">
          {card.fallback_code}
        </dd>
        <dt>Valid until</dt>
        <dd>{card.expires_at ? formatDate(card.expires_at.slice(0, 10)) : 'No expiry'}</dd>
      </dl>
      <div className="inline-form-actions">
        <button type="button" className="btn" onClick={onClose}>
          Close <kbd>Esc</kbd>
        </button>
        <button type="button" ref={printRef} className="btn btn-primary" data-testid="card-print" onClick={() => window.print()}>
          Print
        </button>
      </div>
    </Modal>
  );
}

type CheckInState =
  | { kind: 'idle' }
  | { kind: 'armed' }
  | { kind: 'busy' }
  | { kind: 'done'; result: CheckIn }
  | { kind: 'error'; message: string };

/**
 * Front-desk check-in: "Check in" uses the card that opened this patient, or waits for a scan (or
 * a typed fallback code); shows the queue number.
 */
export function CheckInPanel({
  scanText,
  patientId,
  onOpenPatient,
}: {
  /** The scan that opened this page, if any. */
  scanText?: string | null;
  /** The patient on screen (a card of someone else is pointed out). */
  patientId?: string;
  onOpenPatient?: (id: string) => void;
}) {
  const [state, setState] = useState<CheckInState>({ kind: 'idle' });
  const [code, setCode] = useState('');
  const inputId = useId();
  const inputRef = useRef<HTMLInputElement>(null);

  const run = async (text: string) => {
    setState({ kind: 'busy' });
    try {
      setState({ kind: 'done', result: await api.checkIn(text) });
    } catch (e) {
      setState({ kind: 'error', message: scanErrorMessage(toApiError(e)) });
    }
  };
  useScanClaim((text) => void run(text), state.kind === 'armed');
  useEffect(() => {
    if (state.kind === 'armed') inputRef.current?.focus();
  }, [state.kind]);

  const start = () => {
    if (scanText) void run(scanText);
    else {
      setCode('');
      setState({ kind: 'armed' });
    }
  };
  const submitCode = (e: FormEvent) => {
    e.preventDefault();
    const c = checkFallbackCode(code);
    if (!c.ok) setState({ kind: 'error', message: c.problem });
    else void run(c.code);
  };

  return (
    <div className="check-in" data-testid="check-in">
      {state.kind !== 'armed' && (
        <button
          type="button"
          className="btn btn-primary"
          data-testid="check-in-button"
          disabled={state.kind === 'busy'}
          onClick={start}
          title={scanText ? 'Check in with the card just scanned' : 'Scan the patient’s card or type its fallback code'}
        >
          {state.kind === 'busy' ? 'Checking in…' : scanText ? 'Check in (card scanned)' : 'Check in'}
        </button>
      )}
      {state.kind === 'armed' && (
        <form className="check-in-form" noValidate onSubmit={submitCode} data-testid="check-in-form">
          <label htmlFor={inputId}>Scan the card now, or type the fallback code</label>
          <input
            id={inputId}
            ref={inputRef}
            className="mono"
            data-testid="check-in-code"
            inputMode="numeric"
            autoComplete="off"
            placeholder="1234-5678-9012"
            value={code}
            onChange={(e) => setCode(groupCodeInput(e.target.value))}
            onKeyDown={(e) => {
              if (e.key === 'Escape') {
                e.preventDefault();
                e.stopPropagation();
                setState({ kind: 'idle' });
              }
            }}
          />
          <button type="submit" className="btn btn-primary" data-testid="check-in-submit">
            Check in
          </button>
          <button type="button" className="btn btn-quiet" onClick={() => setState({ kind: 'idle' })}>
            Cancel
          </button>
        </form>
      )}
      {state.kind === 'done' && (
        <div className="check-in-result" role="status" data-testid="check-in-result">
          {formatInitials(state.result.initials)} checked in — queue number{' '}
          <strong className="queue-number" data-testid="queue-number">
            {state.result.queue_number}
          </strong>
          <span className="muted">
            {' '}
            ({state.result.walk_in ? 'walk-in added to today' : 'today’s appointment marked arrived'})
          </span>
          {patientId && state.result.patient_id !== patientId && (
            <span className="check-in-other">
              {' '}
              This card belongs to another patient.{' '}
              {onOpenPatient && (
                <button type="button" className="link" onClick={() => onOpenPatient(state.result.patient_id)}>
                  Open that patient
                </button>
              )}
            </span>
          )}
          {!patientId && onOpenPatient && (
            <>
              {' '}
              <button type="button" className="link" onClick={() => onOpenPatient(state.result.patient_id)}>
                Open patient
              </button>
            </>
          )}
        </div>
      )}
      {state.kind === 'error' && (
        <div className="check-in-error" role="alert" data-testid="check-in-error">
          {state.message}{' '}
          <button type="button" className="link" onClick={() => setState({ kind: 'armed' })}>
            Try again
          </button>
        </div>
      )}
    </div>
  );
}
