// The sponsor's profile (the seed's Sponsor): organisation, type, country and currency (fixed once
// the wallet exists), anonymity, report preferences, and delegates who may decide pre-approvals.

import { useState, type FormEvent } from 'react';
import type { ReportFrequency, Sponsor, SponsorHome, SponsorKind } from '../../generated/protocol';
import { MINOR_UNITS } from '../../generated/currencies';
import { SelectField, TextField } from '../../components/Field';
import { ErrorBanner } from '../../components/ErrorBanner';
import { fieldError, put, type ApiError } from '../http';

const KINDS: SponsorKind[] = ['individual', 'corporate', 'ngo', 'government', 'foundation', 'religious'];
const FREQUENCIES: ReportFrequency[] = ['weekly', 'monthly', 'quarterly', 'annual'];

export function Profile({ base, home, onSaved, first = false }: { base: string; home: SponsorHome; onSaved: () => void; first?: boolean }) {
  const p = home.profile;
  const [name, setName] = useState(p?.name ?? '');
  const [kind, setKind] = useState<SponsorKind>(p?.kind ?? 'foundation');
  const [country, setCountry] = useState(p?.country ?? '');
  const [currency, setCurrency] = useState<string>(p?.currency ?? 'KES');
  const [anonymous, setAnonymous] = useState(p?.anonymous ?? false);
  const [frequency, setFrequency] = useState<ReportFrequency>(p?.reports.frequency ?? 'monthly');
  const [stories, setStories] = useState(p?.reports.success_stories ?? false);
  const [delegates, setDelegates] = useState((p?.delegates ?? []).join(', '));
  const [error, setError] = useState<ApiError | null>(null);
  const [saved, setSaved] = useState(false);

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setSaved(false);
    const body: Sponsor = {
      id: home.sponsor_id,
      name: name.trim(),
      kind,
      country: country.trim().toUpperCase(),
      currency,
      anonymous,
      preferences: p?.preferences ?? { countries: [], healthcare_types: [], max_per_patient: null },
      reports: { frequency, detailed: true, success_stories: stories },
      delegates: delegates
        .split(',')
        .map((d) => d.trim())
        .filter(Boolean),
    };
    try {
      await put(base, body);
      setSaved(true);
      onSaved();
    } catch (err) {
      setError(err as ApiError);
    }
  };
  const fields = ['name', 'country', 'currency', 'delegates'];
  return (
    <section aria-labelledby="profile-title">
      <h1 id="profile-title">{first ? 'Set up your sponsor profile' : 'Profile'}</h1>
      <p className="page-sub">
        {first
          ? 'Before you fund care, tell patients and clinics who you are. Your wallet opens in the currency you choose.'
          : 'How you appear to beneficiaries and what your reports show.'}
      </p>
      {saved && (
        <p className="banner banner-success" role="status">
          Saved.
        </p>
      )}
      {error && !fields.some((f) => fieldError(error, f)) && <ErrorBanner title={error.message} onDismiss={() => setError(null)} />}
      <form className="stack-form" onSubmit={(e) => void save(e)} noValidate>
        <TextField testId="sponsor-name" label="Organisation or name" required value={name} onValueChange={setName} error={fieldError(error, 'name')} />
        <SelectField
          testId="sponsor-kind"
          label="Type"
          value={kind}
          onValueChange={(v) => setKind(v as SponsorKind)}
          options={KINDS.map((k) => ({ value: k, label: k[0].toUpperCase() + k.slice(1) }))}
        />
        <TextField
          testId="sponsor-country"
          label="Country (ISO code)"
          hint="Two letters, e.g. KE"
          required
          value={country}
          onValueChange={setCountry}
          error={fieldError(error, 'country')}
        />
        <SelectField
          testId="sponsor-currency"
          label="Currency"
          value={currency}
          onValueChange={setCurrency}
          disabled={!!p}
          options={Object.keys(MINOR_UNITS).map((c) => ({ value: c, label: c }))}
          error={fieldError(error, 'currency')}
        />
        <label className="check">
          <input type="checkbox" checked={anonymous} onChange={(e) => setAnonymous(e.target.checked)} data-testid="sponsor-anonymous" /> Stay
          anonymous: beneficiaries see &ldquo;an anonymous sponsor&rdquo;, and your pages show no beneficiary ids
        </label>
        <SelectField
          testId="sponsor-frequency"
          label="Report frequency"
          value={frequency}
          onValueChange={(v) => setFrequency(v as ReportFrequency)}
          options={FREQUENCIES.map((f) => ({ value: f, label: f[0].toUpperCase() + f.slice(1) }))}
        />
        <label className="check">
          <input type="checkbox" checked={stories} onChange={(e) => setStories(e.target.checked)} /> Show success stories (only those patients
          chose to share)
        </label>
        <TextField
          testId="sponsor-delegates"
          label="Administrators who may decide pre-approvals for you"
          hint="User names, separated by commas"
          value={delegates}
          onValueChange={setDelegates}
          error={fieldError(error, 'delegates')}
        />
        <button type="submit" className="btn btn-primary" data-testid="sponsor-save">
          {first ? 'Create my sponsor profile' : 'Save'}
        </button>
      </form>
    </section>
  );
}
