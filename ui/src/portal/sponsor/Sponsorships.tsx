// The sponsor's sponsorships: each beneficiary (anonymised if the sponsor chose it) with what was
// allocated, spent, returned and is still held; pause, resume and terminate; and a new
// sponsorship with its coverage (services, providers, conditions, exclusions) and caps.

import { useState, type FormEvent } from 'react';
import type {
  NewSponsorship,
  Programme,
  Recurrence,
  SponsorHome,
  SponsorshipKind,
  SponsorshipStatus,
  SponsorshipView,
} from '../../generated/protocol';
import type { Currency } from '../../generated/currencies';
import { SelectField, TextField } from '../../components/Field';
import { ErrorBanner } from '../../components/ErrorBanner';
import { formatMoney, parseMoney } from '../../money';
import { fieldError, get, post, type ApiError } from '../http';
import { useLoad } from '../useLoad';
import { buildTerms, draftOf, EMPTY_TERMS, TermsFields, type TermsDraft } from './terms';

const KINDS: SponsorshipKind[] = ['full', 'partial', 'emergency', 'chronic_care', 'preventive', 'medication'];
const RECURRENCES: [Recurrence, string][] = [
  ['one_time', 'One term, then unused funds return to you'],
  ['monthly', 'Renews monthly (unused funds roll over)'],
  ['quarterly', 'Renews quarterly'],
  ['annual', 'Renews yearly'],
];

const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

export function Sponsorships({ base, home, onChanged }: { base: string; home: SponsorHome; onChanged: () => void }) {
  const rows = useLoad(() => get<SponsorshipView[]>(`${base}/sponsorships`), base);
  const currency = (home.currency ?? 'KES') as Currency;
  const [adding, setAdding] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);

  const setStatus = async (id: string, status: SponsorshipStatus) => {
    setError(null);
    const reason = status === 'terminated' ? window.prompt('Why end this sponsorship? (kept in its history)') ?? '' : '';
    try {
      await post(`${base}/sponsorships/${id}/status`, { status, reason });
      rows.reload();
      onChanged();
    } catch (err) {
      setError(err as ApiError);
    }
  };

  return (
    <section aria-labelledby="sp-title">
      <div className="page-head">
        <h1 id="sp-title">Sponsorships</h1>
        {home.may_manage && !adding && (
          <button type="button" className="btn btn-primary btn-small" onClick={() => setAdding(true)} data-testid="sp-new">
            Sponsor a patient
          </button>
        )}
      </div>
      {adding && (
        <NewForm
          base={base}
          currency={currency}
          onDone={(created) => {
            setAdding(false);
            if (created) {
              rows.reload();
              onChanged();
            }
          }}
        />
      )}
      {error && <ErrorBanner title={error.message} onDismiss={() => setError(null)} />}
      {rows.error && <ErrorBanner title="Sponsorships could not be loaded" onRetry={rows.reload}>{rows.error.message}</ErrorBanner>}
      {rows.data && rows.data.length === 0 && !adding && (
        <div className="empty" data-testid="sp-empty">
          <p className="empty-title">You sponsor nobody yet</p>
          <p className="empty-hint">A clinic gives you a patient&apos;s health card number; sponsor them with what you want to cover.</p>
        </div>
      )}
      {rows.data && rows.data.length > 0 && (
        <table className="portal-table" data-testid="sp-table">
          <caption className="sr-only">Your sponsorships</caption>
          <thead>
            <tr>
              <th scope="col">Beneficiary</th>
              <th scope="col">Programme</th>
              <th scope="col">Covers</th>
              <th scope="col">Status</th>
              <th scope="col" className="num">
                Allocated
              </th>
              <th scope="col" className="num">
                Spent
              </th>
              <th scope="col" className="num">
                Held
              </th>
              <th scope="col" className="num">
                Returned
              </th>
              <th scope="col">Term ends</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.data.map((v) => (
              <tr key={v.row.id} data-testid={`sp-row-${v.row.id}`} data-status={v.row.status}>
                <th scope="row" className="mono small-note">
                  {v.row.beneficiary}
                </th>
                <td>
                  {v.row.programme || <span className="muted">—</span>}
                  <div className="muted small-note">
                    {v.row.kind.replace('_', ' ')} · {v.row.country}
                  </div>
                </td>
                <td className="small-note">
                  {v.coverage.services.length === 0 ? 'all services' : v.coverage.services.join(', ')}
                  {v.caps.per_period !== null && <div className="muted">≤ {formatMoney(v.caps.per_period, currency)} / month</div>}
                  {v.caps.pre_approval_above !== null && (
                    <div className="muted">pre-approval above {formatMoney(v.caps.pre_approval_above, currency)}</div>
                  )}
                </td>
                <td>
                  <span className={`badge ${v.row.status === 'active' ? 'badge-ok' : 'badge-muted'}`} data-testid="sp-status">
                    {v.row.status}
                  </span>
                </td>
                <td className="num">{formatMoney(v.row.funded, currency)}</td>
                <td className="num" data-testid="sp-spent">
                  {formatMoney(v.row.spent, currency)}
                </td>
                <td className="num">{formatMoney(v.row.held, currency)}</td>
                <td className="num">{formatMoney(v.row.returned, currency)}</td>
                <td>{new Date(v.row.term_end).toLocaleDateString()}</td>
                <td className="actions">
                  {home.may_manage && v.row.status === 'pending' && (
                    <button type="button" className="btn btn-small" onClick={() => void setStatus(v.row.id, 'active')}>
                      Fund and activate
                    </button>
                  )}
                  {home.may_manage && v.row.status === 'active' && (
                    <button type="button" className="btn btn-small" onClick={() => void setStatus(v.row.id, 'paused')}>
                      Pause
                    </button>
                  )}
                  {home.may_manage && v.row.status === 'paused' && (
                    <button type="button" className="btn btn-small" onClick={() => void setStatus(v.row.id, 'active')}>
                      Resume
                    </button>
                  )}
                  {home.may_manage && ['pending', 'active', 'paused'].includes(v.row.status) && (
                    <button type="button" className="btn btn-small btn-danger" onClick={() => void setStatus(v.row.id, 'terminated')}>
                      End
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

function NewForm({ base, currency, onDone }: { base: string; currency: Currency; onDone: (created: boolean) => void }) {
  const programmes = useLoad(() => get<Programme[]>(`${base}/programmes`), `${base}-programmes`);
  const [programmeId, setProgrammeId] = useState('');
  const [patient, setPatient] = useState('');
  const [programme, setProgramme] = useState('');
  const [country, setCountry] = useState('');
  const [kind, setKind] = useState<SponsorshipKind>('partial');
  const [allocation, setAllocation] = useState('');
  const [starts, setStarts] = useState(day(0));
  const [ends, setEnds] = useState(day(90));
  const [recurrence, setRecurrence] = useState<Recurrence>('one_time');
  const [terms, setTerms] = useState<TermsDraft>(EMPTY_TERMS);
  const [activate, setActivate] = useState(true);
  const [error, setError] = useState<ApiError | null>(null);
  const [local, setLocal] = useState<Record<string, string>>({});

  // Starting from a programme fills its terms in (they can still be changed for this patient).
  const choose = (id: string) => {
    setProgrammeId(id);
    const p = programmes.data?.find((x) => x.id === id);
    if (!p) return;
    setKind(p.kind);
    setRecurrence(p.recurrence);
    setAllocation(formatMoney(p.allocation, currency).replace(/,/g, '').replace(/[^\d.]/g, ''));
    setEnds(day(p.term_days));
    if (p.countries.length === 1) setCountry(p.countries[0]);
    setTerms(draftOf(p, currency));
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    const errs: Record<string, string> = {};
    const alloc = allocation.trim() === '' ? null : parseMoney(allocation, currency);
    if (alloc === null || alloc <= 0) errs.allocation = `Enter the amount to allocate in ${currency}, e.g. 2000.00`;
    const { coverage, caps } = buildTerms(terms, currency, errs);
    const startsAt = Date.parse(`${starts}T00:00:00Z`);
    const endsAt = Date.parse(`${ends}T00:00:00Z`);
    if (Number.isNaN(startsAt)) errs.starts_at = 'Pick a start date';
    if (Number.isNaN(endsAt) || endsAt <= startsAt) errs.ends_at = 'Pick an end after the start';
    setLocal(errs);
    if (Object.keys(errs).length > 0) return;
    const body: NewSponsorship = {
      id: crypto.randomUUID(),
      patient: patient.trim(),
      programme: programme.trim(),
      programme_id: programmeId || null,
      country: country.trim().toUpperCase(),
      kind,
      allocation: alloc ?? 0,
      starts_at: startsAt,
      ends_at: endsAt,
      recurrence,
      max_renewals: 0,
      coverage,
      caps,
      note: '',
      activate,
    };
    try {
      await post(`${base}/sponsorships`, body);
      onDone(true);
    } catch (err) {
      setError(err as ApiError);
    }
  };
  const err = (f: string) => local[f] ?? fieldError(error, f);
  const known = ['patient', 'country', 'allocation', 'programme', 'programme_id', 'ends_at', 'coverage.services', 'coverage.providers', 'coverage.conditions', 'coverage.excluded'];
  const open = (programmes.data ?? []).filter((p) => p.open);
  return (
    <form className="stack-form card-form" onSubmit={(e) => void submit(e)} noValidate aria-labelledby="sp-new-title" data-testid="sp-form">
      <h2 id="sp-new-title">Sponsor a patient</h2>
      {error && !known.some((f) => fieldError(error, f)) && !Object.keys(local).length && (
        <ErrorBanner title="The sponsorship was not made">{error.message}</ErrorBanner>
      )}
      <div className="form-grid">
        <TextField testId="sp-patient" label="Patient's health card number (or patient id)" required value={patient} onValueChange={setPatient} error={err('patient')} />
        {open.length > 0 ? (
          <SelectField
            testId="sp-programme-id"
            label="Programme"
            value={programmeId}
            onValueChange={choose}
            emptyLabel="None (set the terms below)"
            options={open.map((p) => ({ value: p.id, label: p.name }))}
            error={err('programme_id')}
          />
        ) : (
          <TextField testId="sp-programme" label="Programme" hint="e.g. Malaria 2027" value={programme} onValueChange={setProgramme} error={err('programme')} />
        )}
        <TextField testId="sp-country" label="Patient's country (ISO code)" required value={country} onValueChange={setCountry} error={err('country')} />
        <SelectField
          testId="sp-kind"
          label="Type"
          value={kind}
          onValueChange={(v) => setKind(v as SponsorshipKind)}
          options={KINDS.map((k) => ({ value: k, label: k.replace('_', ' ') }))}
        />
        <TextField testId="sp-allocation" label={`Allocation (${currency})`} required value={allocation} onValueChange={setAllocation} error={err('allocation')} />
        <SelectField
          testId="sp-recurrence"
          label="Term"
          value={recurrence}
          onValueChange={(v) => setRecurrence(v as Recurrence)}
          options={RECURRENCES.map(([value, label]) => ({ value, label }))}
        />
        <TextField testId="sp-starts" label="Starts" type="date" value={starts} onValueChange={setStarts} error={err('starts_at')} />
        <TextField testId="sp-ends" label="First term ends" type="date" value={ends} onValueChange={setEnds} error={err('ends_at')} />
      </div>
      <TermsFields d={terms} set={setTerms} err={err} currency={currency} prefix="sp" />
      <label className="check">
        <input type="checkbox" checked={activate} onChange={(e) => setActivate(e.target.checked)} data-testid="sp-activate" /> Fund it from my
        wallet and start now
      </label>
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" data-testid="sp-submit">
          Sponsor
        </button>
        <button type="button" className="btn" onClick={() => onDone(false)}>
          Cancel
        </button>
      </div>
    </form>
  );
}
