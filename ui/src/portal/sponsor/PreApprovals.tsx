// Pre-approvals clinicians asked of this sponsor: the planned items, the amount, the diagnoses and
// the clinician's note; approving puts a hold on the sponsored funds for that clinic (sized by the
// coverage rules), refusing says why. Waiting ones come first.

import { useState } from 'react';
import type { CoverageReason, PreApprovalView } from '../../generated/protocol';
import { REASON_TEXT } from '../../generated/protocol';
import type { Currency } from '../../generated/currencies';
import { TextField } from '../../components/Field';
import { ErrorBanner } from '../../components/ErrorBanner';
import { formatMoney } from '../../money';
import { get, post, type ApiError } from '../http';
import { useLoad } from '../useLoad';

export function PreApprovals({ base, onDecided }: { base: string; onDecided: () => void }) {
  const list = useLoad(() => get<PreApprovalView[]>(`${base}/pre-approvals`), base);
  const [comments, setComments] = useState<Record<string, string>>({});
  const [errors, setErrors] = useState<Record<string, ApiError>>({});

  const decide = async (p: PreApprovalView, approve: boolean) => {
    try {
      await post(`${base}/pre-approvals/${p.id}/decision`, { approve, comment: comments[p.id] ?? '' });
      setErrors((e) => ({ ...e, [p.id]: undefined as unknown as ApiError }));
      list.reload();
      onDecided();
    } catch (err) {
      setErrors((e) => ({ ...e, [p.id]: err as ApiError }));
    }
  };

  return (
    <section aria-labelledby="pa-title">
      <div className="page-head">
        <h1 id="pa-title">Pre-approvals</h1>
        <button type="button" className="btn btn-small" onClick={list.reload}>
          Refresh
        </button>
      </div>
      <p className="page-sub">Approving holds the amount on the beneficiary&apos;s sponsored funds for the clinic until the charge posts or the approval expires.</p>
      {list.error && <ErrorBanner title="Pre-approvals could not be loaded" onRetry={list.reload}>{list.error.message}</ErrorBanner>}
      {list.data && list.data.length === 0 && (
        <div className="empty" data-testid="pa-empty">
          <p className="empty-title">Nothing to decide</p>
          <p className="empty-hint">Clinicians ask from the clinic app when planned care is above your threshold.</p>
        </div>
      )}
      <ul className="plain-list cards">
        {(list.data ?? []).map((p) => {
          const c = p.currency as Currency;
          const st = p.state;
          const error = errors[p.id];
          return (
            <li key={p.id} className="card" data-testid={`pa-${p.id}`} data-state={st.state}>
              <div className="card-head">
                <strong>{formatMoney(p.asked, c)}</strong> for {p.beneficiary === 'Anonymous beneficiary' ? 'an anonymous beneficiary' : <span className="mono">{p.beneficiary}</span>} at clinic{' '}
                <span className="mono">{p.clinic}</span>
                <span className={`badge ${st.state === 'pending' ? 'badge-error' : 'badge-muted'}`} data-testid="pa-state">
                  {st.state}
                </span>
              </div>
              <ul className="small-note">
                {p.lines.map((l, i) => (
                  <li key={i}>
                    {l.quantity} × {l.item} at {formatMoney(l.unit_price, c)}
                  </li>
                ))}
              </ul>
              {p.diagnoses.length > 0 && <p className="small-note">Diagnoses: {p.diagnoses.join(', ')}</p>}
              {p.note && <p className="small-note">&ldquo;{p.note}&rdquo; — {p.requested_by}</p>}
              {st.state === 'approved' && (
                <p className="small-note" data-testid="pa-held">
                  Holding {formatMoney(st.amount, c)} until {new Date(st.until).toLocaleDateString()}
                  {st.answer.lines.some((l) => l.reasons.length > 0) && (
                    <>
                      {' '}
                      (less than asked:{' '}
                      {[...new Set(st.answer.lines.flatMap((l) => l.reasons))].map((r: CoverageReason) => REASON_TEXT[r]).join('; ')})
                    </>
                  )}
                </p>
              )}
              {st.state === 'used' && <p className="small-note">Charged {formatMoney(st.amount, c)}.</p>}
              {st.state === 'refused' && <p className="small-note">Refused: {st.comment || 'no comment'}</p>}
              {st.state === 'released' && <p className="small-note">Released unused ({st.reason}).</p>}
              {st.state === 'pending' && (
                <div className="inline-form">
                  <TextField
                    testId={`pa-comment-${p.id}`}
                    label="Comment for the clinic"
                    value={comments[p.id] ?? ''}
                    onValueChange={(v) => setComments({ ...comments, [p.id]: v })}
                  />
                  <button type="button" className="btn btn-primary btn-small" onClick={() => void decide(p, true)} data-testid="pa-approve">
                    Approve
                  </button>
                  <button type="button" className="btn btn-small" onClick={() => void decide(p, false)} data-testid="pa-refuse">
                    Refuse
                  </button>
                </div>
              )}
              {error && <ErrorBanner title={error.message} />}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
