// The terms a sponsorship (or a programme) is made with: covered services, providers, conditions,
// exclusions, and the caps. One draft, one set of fields, one builder for both forms.

import type { Caps, Coverage, ItemKind, Programme } from '../../generated/protocol';
import type { Currency } from '../../generated/currencies';
import { TextField } from '../../components/Field';
import { formatMoney, parseMoney } from '../../money';

export const SERVICES: [ItemKind, string][] = [
  ['consultation', 'Consultations'],
  ['lab_test', 'Lab tests'],
  ['procedure', 'Procedures'],
  ['medicine', 'Medicines'],
];

export interface TermsDraft {
  services: ItemKind[];
  providers: string;
  conditions: string;
  excluded: string;
  perCharge: string;
  perMonth: string;
  charges: string;
  copay: string;
  preAbove: string;
}

export const EMPTY_TERMS: TermsDraft = {
  services: [],
  providers: '',
  conditions: '',
  excluded: '',
  perCharge: '',
  perMonth: '',
  charges: '',
  copay: '',
  preAbove: '',
};

const list = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
const plain = (n: number | null, c: Currency) => (n === null ? '' : formatMoney(n, c).replace(/,/g, '').replace(/[^\d.]/g, ''));

/** A programme's terms as a draft (so a sponsorship starts from them). */
export function draftOf(p: Pick<Programme, 'coverage' | 'caps'>, c: Currency): TermsDraft {
  return {
    services: p.coverage.services.filter((s): s is ItemKind => SERVICES.some(([k]) => k === s)),
    providers: p.coverage.providers.join(', '),
    conditions: p.coverage.conditions.join(', '),
    excluded: p.coverage.excluded.join(', '),
    perCharge: plain(p.caps.per_transaction, c),
    perMonth: plain(p.caps.per_period, c),
    charges: p.caps.charges_per_period === null ? '' : String(p.caps.charges_per_period),
    copay: p.caps.co_payment_bps ? String(p.caps.co_payment_bps / 100) : '',
    preAbove: plain(p.caps.pre_approval_above, c),
  };
}

/** The coverage and caps of a draft; problems go into `errs` by the server's field names. */
export function buildTerms(d: TermsDraft, c: Currency, errs: Record<string, string>): { coverage: Coverage; caps: Caps } {
  const money = (field: string, text: string): number | null => {
    if (text.trim() === '') return null;
    const n = parseMoney(text, c);
    if (n === null || n <= 0) errs[field] = `Enter an amount in ${c}, e.g. 1500.00`;
    return n;
  };
  const caps: Caps = {
    per_transaction: money('caps.per_transaction', d.perCharge),
    per_period: money('caps.per_period', d.perMonth),
    charges_per_period: d.charges.trim() === '' ? null : Number(d.charges),
    co_payment_bps: d.copay.trim() === '' ? 0 : Math.round(Number(d.copay) * 100),
    pre_approval_above: money('caps.pre_approval_above', d.preAbove),
    waiting_days: 0,
  };
  if (caps.charges_per_period !== null && !(Number.isInteger(caps.charges_per_period) && caps.charges_per_period > 0))
    errs['caps.charges_per_period'] = 'A whole number, at least 1';
  if (!(caps.co_payment_bps >= 0 && caps.co_payment_bps <= 10_000)) errs['caps.co_payment_bps'] = 'A percentage, 0–100';
  return {
    coverage: { services: d.services, providers: list(d.providers), conditions: list(d.conditions), excluded: list(d.excluded) },
    caps,
  };
}

export function TermsFields({
  d,
  set,
  err,
  currency,
  prefix,
}: {
  d: TermsDraft;
  set: (d: TermsDraft) => void;
  err: (field: string) => string | undefined;
  currency: Currency;
  prefix: string;
}) {
  const f = (k: keyof TermsDraft) => (v: string) => set({ ...d, [k]: v });
  return (
    <>
      <fieldset className="checks">
        <legend>Covered services (none ticked: all)</legend>
        {SERVICES.map(([k, label]) => (
          <label key={k} className="check">
            <input
              type="checkbox"
              checked={d.services.includes(k)}
              onChange={(e) => set({ ...d, services: e.target.checked ? [...d.services, k] : d.services.filter((s) => s !== k) })}
              data-testid={`${prefix}-service-${k}`}
            />{' '}
            {label}
          </label>
        ))}
      </fieldset>
      <div className="form-grid">
        <TextField testId={`${prefix}-providers`} label="Only these providers or clinics" hint="Ids, separated by commas; empty: all" value={d.providers} onValueChange={f('providers')} error={err('coverage.providers')} />
        <TextField testId={`${prefix}-conditions`} label="Only these conditions" hint="ICD-10 codes or prefixes, e.g. B50, A15" value={d.conditions} onValueChange={f('conditions')} error={err('coverage.conditions')} />
        <TextField testId={`${prefix}-excluded`} label="Never these" hint="Item codes, kinds or services" value={d.excluded} onValueChange={f('excluded')} error={err('coverage.excluded')} />
        <TextField testId={`${prefix}-per-charge`} label={`Most per charge (${currency})`} value={d.perCharge} onValueChange={f('perCharge')} error={err('caps.per_transaction')} />
        <TextField testId={`${prefix}-per-month`} label={`Most per month (${currency})`} value={d.perMonth} onValueChange={f('perMonth')} error={err('caps.per_period')} />
        <TextField testId={`${prefix}-charges`} label="Most charges per month" value={d.charges} onValueChange={f('charges')} error={err('caps.charges_per_period')} />
        <TextField testId={`${prefix}-copay`} label="Patient's co-payment (%)" value={d.copay} onValueChange={f('copay')} error={err('caps.co_payment_bps')} />
        <TextField testId={`${prefix}-pre-above`} label={`Pre-approval above (${currency})`} value={d.preAbove} onValueChange={f('preAbove')} error={err('caps.pre_approval_above')} />
      </div>
    </>
  );
}
