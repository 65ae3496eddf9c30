// Sponsors, from the console: a platform administrator records a sponsor's bank transfer and can
// act for them; an administrator a sponsor named as a delegate decides their pre-approvals.

import { useState, type FormEvent } from 'react';
import type { BankDeposit, SessionUser, SponsorHome } from '../../generated/protocol';
import type { Currency } from '../../generated/currencies';
import { TextField } from '../../components/Field';
import { ErrorBanner } from '../../components/ErrorBanner';
import { formatMoney, parseMoney } from '../../money';
import { fieldError, get, post, type ApiError } from '../http';
import { useLoad } from '../useLoad';
import { PreApprovals } from '../sponsor/PreApprovals';

export function Sponsors({ me }: { me: SessionUser }) {
  const [sponsor, setSponsor] = useState(localStorage.getItem('portal-sponsor') ?? '');
  const [typed, setTyped] = useState(sponsor);
  const base = `/portal/api/sponsors/${encodeURIComponent(sponsor)}`;
  const home = useLoad(() => (sponsor ? get<SponsorHome>(base) : Promise.resolve(null)), sponsor);
  const open = (e: FormEvent) => {
    e.preventDefault();
    setSponsor(typed.trim());
    localStorage.setItem('portal-sponsor', typed.trim());
  };
  return (
    <section aria-labelledby="sponsors-title">
      <h1 id="sponsors-title">Sponsors</h1>
      <p className="page-sub">
        {me.platform_admin
          ? 'Record a sponsor’s bank transfer, or decide their pre-approvals for them.'
          : 'Decide pre-approvals for a sponsor who named you as a delegate.'}
      </p>
      <form className="inline-form" onSubmit={open} noValidate>
        <TextField testId="sponsor-id" label="Sponsor id" value={typed} onValueChange={setTyped} />
        <button type="submit" className="btn btn-small" data-testid="sponsor-open">
          Open
        </button>
      </form>
      {home.error && <ErrorBanner title={home.error.message} />}
      {home.data && (
        <>
          <p data-testid="sponsor-summary">
            <strong>{home.data.profile?.name ?? home.data.sponsor_id}</strong> ·{' '}
            {formatMoney(home.data.available, (home.data.currency ?? 'KES') as Currency)} available · {home.data.pending_pre_approvals} waiting
          </p>
          {me.platform_admin && home.data.profile && <BankTransfer sponsor={sponsor} currency={home.data.profile.currency as Currency} onDone={home.reload} />}
          <PreApprovals base={base} onDecided={home.reload} />
        </>
      )}
    </section>
  );
}

function BankTransfer({ sponsor, currency, onDone }: { sponsor: string; currency: Currency; onDone: () => void }) {
  const [amount, setAmount] = useState('');
  const [reference, setReference] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const [local, setLocal] = useState<string | undefined>();
  const [done, setDone] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    const minor = parseMoney(amount, currency);
    if (minor === null || minor <= 0) {
      setLocal(`Enter an amount in ${currency}`);
      return;
    }
    setLocal(undefined);
    const body: BankDeposit = { id: crypto.randomUUID(), amount: minor, reference: reference.trim() };
    try {
      await post(`/admin/sponsors/${encodeURIComponent(sponsor)}/deposits`, body);
      setDone(`Recorded ${formatMoney(minor, currency)} (${reference.trim()}).`);
      setAmount('');
      setReference('');
      onDone();
    } catch (err) {
      setError(err as ApiError);
    }
  };
  return (
    <form className="inline-form" onSubmit={(e) => void submit(e)} noValidate aria-labelledby="bank-title">
      <h2 id="bank-title" className="inline-form-title">
        Record a bank transfer
      </h2>
      <TextField testId="bank-amount" label={`Amount (${currency})`} value={amount} onValueChange={setAmount} error={local ?? fieldError(error, 'amount')} />
      <TextField testId="bank-reference" label="Bank reference" value={reference} onValueChange={setReference} error={fieldError(error, 'reference')} />
      <button type="submit" className="btn btn-small" data-testid="bank-submit">
        Record
      </button>
      {done && (
        <p className="banner banner-success" role="status">
          {done}
        </p>
      )}
      {error && !fieldError(error, 'amount') && !fieldError(error, 'reference') && <ErrorBanner title={error.message} />}
    </form>
  );
}
