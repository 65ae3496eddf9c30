// The sponsor's wallet: what it holds, how it was funded, and funding by mobile money (an STK push
// to the payer's phone through the payment provider; the money arrives when the payer confirms).

import { useState, type FormEvent } from 'react';
import type { SponsorFunding, SponsorHome } from '../../generated/protocol';
import type { Currency } from '../../generated/currencies';
import { TextField } from '../../components/Field';
import { ErrorBanner } from '../../components/ErrorBanner';
import { formatMoney, parseMoney } from '../../money';
import { fieldError, post, type ApiError } from '../http';

export function Overview({ base, home, reload }: { base: string; home: SponsorHome; reload: () => void }) {
  const currency = (home.currency ?? 'KES') as Currency;
  const [amount, setAmount] = useState('');
  const [phone, setPhone] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const [amountError, setAmountError] = useState<string | undefined>();
  const [asked, setAsked] = useState<string | null>(null);

  const fund = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    const minor = parseMoney(amount, currency);
    if (minor === null || minor <= 0) {
      setAmountError(`Enter an amount in ${currency}, e.g. 5000.00`);
      return;
    }
    setAmountError(undefined);
    const body: SponsorFunding = { id: crypto.randomUUID(), amount: minor, phone: phone.trim() };
    try {
      await post(`${base}/funding`, body);
      setAsked(`We asked ${phone.trim()} to confirm ${formatMoney(minor, currency)}. The money shows here once the payer confirms.`);
      setAmount('');
      window.setTimeout(reload, 3_000);
    } catch (err) {
      setError(err as ApiError);
    }
  };

  return (
    <section aria-labelledby="wallet-title">
      <div className="page-head">
        <h1 id="wallet-title">Wallet</h1>
        <button type="button" className="btn btn-small" onClick={reload}>
          Refresh
        </button>
      </div>
      <div className="figures">
        <div className="figure">
          <span className="figure-label">Available to allocate</span>
          <strong className="figure-value" data-testid="sponsor-available">
            {formatMoney(home.available, currency)}
          </strong>
          <span className="muted small-note">{home.wallet}</span>
        </div>
        <div className="figure">
          <span className="figure-label">Pre-approvals waiting</span>
          <strong className="figure-value">{home.pending_pre_approvals}</strong>
        </div>
      </div>
      {home.may_manage && (
        <form className="inline-form" onSubmit={(e) => void fund(e)} noValidate aria-labelledby="fund-title">
          <h2 id="fund-title" className="inline-form-title">
            Fund by mobile money
          </h2>
          <TextField testId="fund-amount" label={`Amount (${currency})`} value={amount} onValueChange={setAmount} error={amountError ?? fieldError(error, 'amount')} />
          <TextField
            testId="fund-phone"
            label="Payer's phone"
            hint="International form, digits only, e.g. 254712345678"
            value={phone}
            onValueChange={setPhone}
            error={fieldError(error, 'phone')}
          />
          <button type="submit" className="btn btn-primary btn-small" data-testid="fund-submit">
            Send the request
          </button>
        </form>
      )}
      {asked && (
        <p className="banner banner-success" role="status" data-testid="fund-asked">
          {asked}
        </p>
      )}
      {error && !fieldError(error, 'amount') && !fieldError(error, 'phone') && (
        <ErrorBanner title="The funding request was not sent" onDismiss={() => setError(null)}>
          {error.message}
        </ErrorBanner>
      )}
      <h2>Funding received</h2>
      {home.deposits.length === 0 ? (
        <div className="empty" data-testid="deposits-empty">
          <p className="empty-title">No funds yet</p>
          <p className="empty-hint">Send a mobile-money request above, or make a bank transfer: the platform records it here when it arrives.</p>
        </div>
      ) : (
        <table className="portal-table" data-testid="deposits-table">
          <caption className="sr-only">Money received into your wallet</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Reference</th>
              <th scope="col" className="num">
                Amount
              </th>
            </tr>
          </thead>
          <tbody>
            {home.deposits
              .slice()
              .reverse()
              .map((d) => (
                <tr key={d.id}>
                  <td>{new Date(d.at).toLocaleString()}</td>
                  <td className="mono">{d.reference}</td>
                  <td className="num">{formatMoney(d.amount, currency)}</td>
                </tr>
              ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
