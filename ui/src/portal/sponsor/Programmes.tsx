// The sponsor's programmes: named terms (who they serve, allocation per beneficiary, term,
// coverage, caps) their sponsorships start from, and that reports group by. Closing a programme
// stops new sponsorships; those made keep their terms.

import { useState, type FormEvent } from 'react';
import type { Programme, Recurrence, SponsorHome, SponsorshipKind } from '../../generated/protocol';
import type { Currency } from '../../generated/currencies';
import { SelectField, TextField } from '../../components/Field';
import { ErrorBanner } from '../../components/ErrorBanner';
import { formatMoney, parseMoney } from '../../money';
import { fieldError, get, post, type ApiError } from '../http';
import { useLoad } from '../useLoad';
import { buildTerms, EMPTY_TERMS, TermsFields, type TermsDraft } from './terms';

const KINDS: SponsorshipKind[] = ['full', 'partial', 'emergency', 'chronic_care', 'preventive', 'medication'];
const RECURRENCES: Recurrence[] = ['one_time', 'monthly', 'quarterly', 'annual'];

export function Programmes({ base, home }: { base: string; home: SponsorHome }) {
  const list = useLoad(() => get<Programme[]>(`${base}/programmes`), `${base}-programmes`);
  const currency = (home.currency ?? 'KES') as Currency;
  const [adding, setAdding] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const toggle = async (p: Programme) => {
    try {
      await post(`${base}/programmes`, { ...p, open: !p.open });
      list.reload();
    } catch (e) {
      setError(e as ApiError);
    }
  };
  return (
    <section aria-labelledby="prog-title">
      <div className="page-head">
        <h1 id="prog-title">Programmes</h1>
        {home.may_manage && !adding && (
          <button type="button" className="btn btn-primary btn-small" onClick={() => setAdding(true)} data-testid="prog-new">
            New programme
          </button>
        )}
      </div>
      <p className="page-sub">A programme holds the terms you sponsor patients with; each sponsorship starts from one, and reports group by it.</p>
      {adding && (
        <ProgrammeForm
          base={base}
          currency={currency}
          onDone={(made) => {
            setAdding(false);
            if (made) list.reload();
          }}
        />
      )}
      {error && <ErrorBanner title={error.message} onDismiss={() => setError(null)} />}
      {list.error && <ErrorBanner title="Programmes could not be loaded" onRetry={list.reload}>{list.error.message}</ErrorBanner>}
      {list.data && list.data.length === 0 && !adding && (
        <div className="empty" data-testid="prog-empty">
          <p className="empty-title">No programmes yet</p>
          <p className="empty-hint">Make one to sponsor many patients on the same terms.</p>
        </div>
      )}
      <ul className="plain-list cards">
        {(list.data ?? []).map((p) => (
          <li key={p.id} className="card" data-testid={`prog-${p.id}`}>
            <div className="card-head">
              <strong>{p.name}</strong>
              <span className={`badge ${p.open ? 'badge-ok' : 'badge-muted'}`}>{p.open ? 'open' : 'closed'}</span>
              {home.may_manage && (
                <button type="button" className="btn btn-small" onClick={() => void toggle(p)}>
                  {p.open ? 'Close' : 'Reopen'}
                </button>
              )}
            </div>
            {p.description && <p className="small-note">{p.description}</p>}
            <p className="small-note">
              {p.kind.replace('_', ' ')} · {formatMoney(p.allocation, currency)} per patient · {p.term_days} days
              {p.recurrence !== 'one_time' && `, renews ${p.recurrence}`} · covers{' '}
              {p.coverage.services.length === 0 ? 'all services' : p.coverage.services.join(', ').replace(/_/g, ' ')}
              {p.countries.length > 0 && ` · ${p.countries.join(', ')}`}
            </p>
          </li>
        ))}
      </ul>
    </section>
  );
}

function ProgrammeForm({ base, currency, onDone }: { base: string; currency: Currency; onDone: (made: boolean) => void }) {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [countries, setCountries] = useState('');
  const [kind, setKind] = useState<SponsorshipKind>('partial');
  const [allocation, setAllocation] = useState('');
  const [termDays, setTermDays] = useState('365');
  const [recurrence, setRecurrence] = useState<Recurrence>('one_time');
  const [terms, setTerms] = useState<TermsDraft>(EMPTY_TERMS);
  const [error, setError] = useState<ApiError | null>(null);
  const [local, setLocal] = useState<Record<string, string>>({});
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    const errs: Record<string, string> = {};
    const alloc = parseMoney(allocation, currency);
    if (alloc === null || alloc <= 0) errs.allocation = `Enter the amount per patient in ${currency}`;
    const days = Number(termDays);
    if (!Number.isInteger(days) || days <= 0) errs.term_days = 'Whole days, at least 1';
    const { coverage, caps } = buildTerms(terms, currency, errs);
    setLocal(errs);
    if (Object.keys(errs).length > 0) return;
    const body: Programme = {
      id: crypto.randomUUID(),
      sponsor: '',
      name: name.trim(),
      description: description.trim(),
      countries: countries
        .split(',')
        .map((c) => c.trim().toUpperCase())
        .filter(Boolean),
      kind,
      allocation: alloc ?? 0,
      term_days: days,
      recurrence,
      coverage,
      caps,
      open: true,
    };
    try {
      await post(`${base}/programmes`, body);
      onDone(true);
    } catch (err) {
      setError(err as ApiError);
    }
  };
  const err = (f: string) => local[f] ?? fieldError(error, f);
  return (
    <form className="stack-form card-form" onSubmit={(e) => void submit(e)} noValidate aria-labelledby="prog-new-title" data-testid="prog-form">
      <h2 id="prog-new-title">New programme</h2>
      {error && !['name', 'allocation', 'term_days', 'countries', 'description'].some((f) => fieldError(error, f)) && (
        <ErrorBanner title="The programme was not saved">{error.message}</ErrorBanner>
      )}
      <div className="form-grid">
        <TextField testId="prog-name" label="Name" required value={name} onValueChange={setName} error={err('name')} />
        <TextField testId="prog-countries" label="Countries (ISO codes)" hint="e.g. KE, UG; empty: any" value={countries} onValueChange={setCountries} error={err('countries')} />
        <SelectField
          testId="prog-kind"
          label="Type"
          value={kind}
          onValueChange={(v) => setKind(v as SponsorshipKind)}
          options={KINDS.map((k) => ({ value: k, label: k.replace('_', ' ') }))}
        />
        <TextField testId="prog-allocation" label={`Allocation per patient (${currency})`} required value={allocation} onValueChange={setAllocation} error={err('allocation')} />
        <TextField testId="prog-days" label="Term (days)" value={termDays} onValueChange={setTermDays} error={err('term_days')} />
        <SelectField
          testId="prog-recurrence"
          label="Renewal"
          value={recurrence}
          onValueChange={(v) => setRecurrence(v as Recurrence)}
          options={RECURRENCES.map((r) => ({ value: r, label: r === 'one_time' ? 'None: unused funds return' : `Renews ${r}` }))}
        />
      </div>
      <TextField testId="prog-description" label="What it is for" value={description} onValueChange={setDescription} error={err('description')} />
      <TermsFields d={terms} set={setTerms} err={err} currency={currency} prefix="prog" />
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" data-testid="prog-submit">
          Save programme
        </button>
        <button type="button" className="btn" onClick={() => onDone(false)}>
          Cancel
        </button>
      </div>
    </form>
  );
}
