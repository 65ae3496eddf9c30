// Providers: profile, services and prices, weekly hours and vacations. Saved whole; the server
// checks every field (errors name the row and field) and devices receive it at their next pull.

import { useState, type FormEvent } from 'react';
import type { Availability, Provider, Service, Vacation, Weekday } from '../../generated/protocol';
import { SelectField, TextField } from '../../components/Field';
import { ErrorBanner } from '../../components/ErrorBanner';
import { fieldError, get, put, type ApiError } from '../http';
import { useLoad } from '../useLoad';

const DAYS: Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const DAY_LABELS: Record<Weekday, string> = { mon: 'Monday', tue: 'Tuesday', wed: 'Wednesday', thu: 'Thursday', fri: 'Friday', sat: 'Saturday', sun: 'Sunday' };

function blank(clinic: string): Provider {
  return {
    id: crypto.randomUUID(),
    clinic_id: clinic,
    title: null,
    given_name: '',
    family_name: '',
    specializations: [],
    services: [],
    weekly_availability: [],
    vacations: [],
    consultation_modes: ['in_person'],
    active: true,
  };
}

export function Providers({ clinic }: { clinic: string }) {
  const list = useLoad(() => get<Provider[]>(`/portal/api/clinics/${encodeURIComponent(clinic)}/providers`), clinic);
  const [editing, setEditing] = useState<Provider | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  if (editing) {
    return (
      <ProviderForm
        initial={editing}
        onCancel={() => setEditing(null)}
        onSaved={(p) => {
          setEditing(null);
          setNotice(`${p.given_name} ${p.family_name} saved; devices receive it at their next sync`);
          list.reload();
        }}
      />
    );
  }
  return (
    <section aria-labelledby="providers-title">
      <div className="page-head">
        <h1 id="providers-title">Providers</h1>
        <button type="button" className="btn btn-primary" onClick={() => setEditing(blank(clinic))} data-testid="provider-new">
          New provider
        </button>
      </div>
      {notice && (
        <p className="banner banner-success" role="status" data-testid="provider-notice">
          {notice}
        </p>
      )}
      {list.error && <ErrorBanner title="Providers could not be loaded" onRetry={list.reload}>{list.error.message}</ErrorBanner>}
      {list.data && list.data.length === 0 && <p className="empty">No providers yet.</p>}
      {list.data && list.data.length > 0 && (
        <table className="portal-table" data-testid="providers-table">
          <caption className="sr-only">Providers</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Services</th>
              <th scope="col">Hours</th>
              <th scope="col">State</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {list.data.map((p) => (
              <tr key={p.id} data-testid={`provider-row-${p.family_name}`}>
                <th scope="row">{[p.title, p.given_name, p.family_name].filter(Boolean).join(' ')}</th>
                <td>{p.services.map((s) => s.name).join(', ') || '—'}</td>
                <td data-testid="provider-hours">{p.weekly_availability.map((a) => `${a.day} ${a.start}–${a.end}`).join(', ') || '—'}</td>
                <td>{p.active ? 'Active' : 'Inactive'}</td>
                <td>
                  <button type="button" className="btn btn-small" onClick={() => setEditing(p)} data-testid={`provider-edit-${p.family_name}`}>
                    Edit
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function ProviderForm({ initial, onCancel, onSaved }: { initial: Provider; onCancel: () => void; onSaved: (p: Provider) => void }) {
  const [p, setP] = useState<Provider>(initial);
  const [prices, setPrices] = useState<string[]>(initial.services.map((s) => (s.price_minor / 100).toFixed(2)));
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const fe = (f: string) => fieldError(error, f);

  const setService = (i: number, s: Partial<Service>) => setP({ ...p, services: p.services.map((x, j) => (j === i ? { ...x, ...s } : x)) });
  const setHours = (i: number, a: Partial<Availability>) => setP({ ...p, weekly_availability: p.weekly_availability.map((x, j) => (j === i ? { ...x, ...a } : x)) });
  const setVacation = (i: number, v: Partial<Vacation>) => setP({ ...p, vacations: p.vacations.map((x, j) => (j === i ? { ...x, ...v } : x)) });

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const services = p.services.map((s, i) => ({ ...s, price_minor: Math.round(Number(prices[i] || '0') * 100) }));
    const bad = prices.findIndex((x) => !/^\d+(\.\d{1,2})?$/.test(x.trim()));
    if (bad >= 0) {
      setError({ code: 'validation_failed', message: 'price must be an amount such as 1500.00', field: `services[${bad}].price_minor` });
      setBusy(false);
      return;
    }
    const body: Provider = { ...p, title: p.title?.trim() ? p.title.trim() : null, services };
    try {
      onSaved(await put<Provider>(`/admin/providers/${p.id}`, body));
    } catch (err) {
      setError(err as ApiError);
    } finally {
      setBusy(false);
    }
  };

  const fieldIssues = error?.errors?.length ?? (error?.field ? 1 : 0);
  return (
    <form onSubmit={(e) => void submit(e)} noValidate aria-labelledby="provider-form-title" data-testid="provider-form">
      <h1 id="provider-form-title">{initial.given_name ? `${initial.given_name} ${initial.family_name}` : 'New provider'}</h1>
      {error && (
        <ErrorBanner title={fieldIssues ? `Fix ${fieldIssues} field${fieldIssues === 1 ? '' : 's'} below` : error.message}>
          {fieldIssues ? error.message : null}
        </ErrorBanner>
      )}
      <fieldset className="portal-fieldset">
        <legend>Profile</legend>
        <div className="grid grid-3">
          <TextField testId="p-title" label="Title" value={p.title ?? ''} onValueChange={(v) => setP({ ...p, title: v })} />
          <TextField testId="p-given" label="Given name" value={p.given_name} onValueChange={(v) => setP({ ...p, given_name: v })} error={fe('given_name')} required />
          <TextField testId="p-family" label="Family name" value={p.family_name} onValueChange={(v) => setP({ ...p, family_name: v })} error={fe('family_name')} required />
        </div>
        <TextField
          testId="p-specializations"
          label="Specialisations (comma-separated)"
          value={p.specializations.join(', ')}
          onValueChange={(v) => setP({ ...p, specializations: v.split(',').map((x) => x.trim()).filter(Boolean) })}
        />
        <label className="inline-label">
          <input type="checkbox" checked={p.active} onChange={(e) => setP({ ...p, active: e.target.checked })} /> Takes appointments
        </label>
      </fieldset>

      <fieldset className="portal-fieldset">
        <legend>Services and prices</legend>
        {p.services.map((s, i) => (
          <div className="grid grid-4 row-item" key={i}>
            <TextField testId={`svc-name-${i}`} label="Service" value={s.name} onValueChange={(v) => setService(i, { name: v })} error={fe(`services[${i}].name`)} />
            <TextField testId={`svc-price-${i}`} label="Price" inputMode="decimal" value={prices[i] ?? ''} onValueChange={(v) => setPrices(prices.map((x, j) => (j === i ? v : x)))} error={fe(`services[${i}].price_minor`)} />
            <TextField testId={`svc-currency-${i}`} label="Currency" value={s.currency} onValueChange={(v) => setService(i, { currency: v.toUpperCase() })} error={fe(`services[${i}].currency`)} />
            <button type="button" className="btn btn-small btn-quiet row-remove" onClick={() => { setP({ ...p, services: p.services.filter((_, j) => j !== i) }); setPrices(prices.filter((_, j) => j !== i)); }}>
              Remove service {i + 1}
            </button>
          </div>
        ))}
        <button type="button" className="btn btn-small" onClick={() => { setP({ ...p, services: [...p.services, { name: '', price_minor: 0, currency: 'KES' }] }); setPrices([...prices, '0.00']); }}>
          Add service
        </button>
      </fieldset>

      <fieldset className="portal-fieldset">
        <legend>Weekly hours</legend>
        {p.weekly_availability.map((a, i) => (
          <div className="grid grid-4 row-item" key={i} data-testid={`hours-row-${i}`}>
            <SelectField testId={`hours-day-${i}`} label="Day" value={a.day} onValueChange={(v) => setHours(i, { day: v as Weekday })} options={DAYS.map((d) => ({ value: d, label: DAY_LABELS[d] }))} />
            <TextField testId={`hours-start-${i}`} label="From (HH:MM)" value={a.start} onValueChange={(v) => setHours(i, { start: v })} error={fe(`weekly_availability[${i}].start`)} />
            <TextField testId={`hours-end-${i}`} label="To (HH:MM)" value={a.end} onValueChange={(v) => setHours(i, { end: v })} error={fe(`weekly_availability[${i}].end`)} />
            <button type="button" className="btn btn-small btn-quiet row-remove" onClick={() => setP({ ...p, weekly_availability: p.weekly_availability.filter((_, j) => j !== i) })}>
              Remove hours {i + 1}
            </button>
          </div>
        ))}
        <button type="button" className="btn btn-small" data-testid="hours-add" onClick={() => setP({ ...p, weekly_availability: [...p.weekly_availability, { day: 'mon', start: '08:00', end: '17:00' }] })}>
          Add hours
        </button>
      </fieldset>

      <fieldset className="portal-fieldset">
        <legend>Vacations</legend>
        {p.vacations.map((v, i) => (
          <div className="grid grid-4 row-item" key={i}>
            <TextField testId={`vac-from-${i}`} label="From (YYYY-MM-DD)" value={v.from} onValueChange={(x) => setVacation(i, { from: x })} error={fe(`vacations[${i}].from`)} />
            <TextField testId={`vac-to-${i}`} label="To (YYYY-MM-DD)" value={v.to} onValueChange={(x) => setVacation(i, { to: x })} error={fe(`vacations[${i}].to`)} />
            <TextField testId={`vac-reason-${i}`} label="Reason" value={v.reason ?? ''} onValueChange={(x) => setVacation(i, { reason: x || null })} />
            <button type="button" className="btn btn-small btn-quiet row-remove" onClick={() => setP({ ...p, vacations: p.vacations.filter((_, j) => j !== i) })}>
              Remove vacation {i + 1}
            </button>
          </div>
        ))}
        <button type="button" className="btn btn-small" onClick={() => setP({ ...p, vacations: [...p.vacations, { from: '', to: '', reason: null }] })}>
          Add vacation
        </button>
      </fieldset>

      <div className="form-actions">
        <button type="button" className="btn" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" className="btn btn-primary" disabled={busy} data-testid="provider-save">
          {busy ? 'Saving…' : 'Save provider'}
        </button>
      </div>
    </form>
  );
}
