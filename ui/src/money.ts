// Money in the window (docs/ledger.md): the shapes the backend's money commands answer with,
// amounts as integer minor units formatted and parsed with the currency table generated from the
// Rust ledger, and the calls themselves.

import { api as base } from './api';
import type { Covered, Eligibility, NewPreApproval, PreApprovalView, SponsoredCover } from './generated/protocol';
import { MAX_AMOUNT, MINOR_UNITS, type Currency } from './generated/currencies';

export type { Currency };

export type Source = 'sponsored' | 'pre_approved' | 'personal' | 'allowance' | 'cash' | 'mobile_money' | 'owed';
export type ReasonCode =
  | 'duplicate_charge'
  | 'wrong_amount'
  | 'service_not_given'
  | 'patient_request'
  | 'entered_in_error'
  | 'funds_returned';
export type ItemKind = 'consultation' | 'procedure' | 'lab_test' | 'medicine';

export interface PriceItem {
  code: string;
  name: string;
  kind: ItemKind;
  service?: string;
  price: number;
  currency: Currency;
  active: boolean;
}

export interface PriceList {
  items: PriceItem[];
  fee_bps: number;
}

export interface Line {
  item: string;
  quantity: number;
  unit_price: number;
}

export interface Part {
  source: Source;
  account: string;
  amount: number;
}

export interface Receipt {
  id: string;
  patient: string;
  clinic: string;
  staff: string;
  at: number;
  currency: Currency;
  lines: Line[];
  total: number;
  parts: Part[];
  fee: number;
  refunds: [string, number][];
}

export interface Charged {
  receipt: Receipt;
  provisional: boolean;
}

export interface PrintableReceipt {
  charged: Charged;
  png_base64: string;
}

/** A pre-approval as the device knows it (anola-client `store::sponsorship::LocalPreApproval`):
 *  the request, and the server's view once it has one (`null` while queued offline). */
export interface LocalPreApproval {
  request: NewPreApproval;
  view: PreApprovalView | null;
  sent: boolean;
  made_at: number;
}

export interface Quote {
  currency: Currency;
  total: number;
  fee: number;
  parts: Part[];
  desk_amount: number;
  /** Each sponsorship's answer (generated type): what it covers of each line and why not the rest. */
  coverage?: Covered[];
}

export interface WalletView {
  id: string;
  /** `personal`, `sponsored` (and, for other owners, `provider`, `vendor`, …). */
  kind: string;
  currency: Currency;
  status: 'active' | 'suspended' | 'closed';
  available: number;
  posted: number;
  pending: number;
}

export interface HistoryEntry {
  at: number;
  request: string;
  account: string;
  effect: string;
  amount: number;
  kind?: string;
  reason?: ReasonCode;
}

export interface Allowance {
  spec: { id: string; wallet: string; total: number; per_charge: number; max_count: number; expires_at: number };
  reserved: number;
  charges: [string, number][];
}

export interface PatientWallets {
  patient: string;
  wallets: WalletView[];
  owed: number;
  pin: { set: boolean; locked: boolean; attempts_left: number };
  allowances: Allowance[];
  history: HistoryEntry[];
}

export interface LocalAllowance {
  id: string;
  wallet: string;
  personal: boolean;
  reserved: number;
  per_charge: number;
  max_count: number;
  expires_at: number;
  spent: number;
  used: number;
  pin_failures: number;
  /** The sponsorship's terms, for an allowance of a sponsored wallet (eligibility offline). */
  terms?: Eligibility | null;
}

export interface LocalCharge {
  id: string;
  receipt: Receipt;
  state: 'pending' | 'settled' | 'refused';
  code?: string | null;
  message?: string | null;
  made_at: number;
}

export interface OfflineMoney {
  allowances: LocalAllowance[];
  charges: LocalCharge[];
}

export interface DayClose {
  input: { id: string; drawer: string; counted: number; note: string };
  currency: Currency;
  expected: number;
  difference: number;
  at: number;
}

export interface DrawerView {
  drawer: string;
  currency: Currency | null;
  expected: number;
  closes: DayClose[];
}

export type Desk = { method: 'cash'; drawer: string } | { method: 'owed' } | { method: 'mobile_money'; reference: string };

export interface ChargeRequest {
  id: string;
  patient: string;
  lines: Line[];
  desk: Desk;
  desk_amount: number;
  pin?: string;
  /** An approved pre-approval the charge posts against. */
  pre_approval?: string;
}

export const SOURCE_LABELS: Record<Source, string> = {
  sponsored: 'Sponsored funds',
  pre_approved: 'Sponsored funds (pre-approved)',
  personal: 'Personal wallet',
  allowance: 'Wallet (offline allowance)',
  cash: 'Cash',
  mobile_money: 'Mobile money',
  owed: 'Owed by patient',
};

export const REASON_LABELS: Record<ReasonCode, string> = {
  duplicate_charge: 'Duplicate charge',
  wrong_amount: 'Wrong amount',
  service_not_given: 'Service not given',
  patient_request: 'Patient request',
  entered_in_error: 'Entered in error',
  funds_returned: 'Funds returned',
};

/** `1234567` KES → "12,345.67 KES". */
export function formatMoney(minor: number, currency: Currency): string {
  const digits = MINOR_UNITS[currency];
  const sign = minor < 0 ? '-' : '';
  const abs = Math.abs(minor);
  const scale = 10 ** digits;
  const whole = Math.floor(abs / scale).toLocaleString('en-US');
  const frac = digits ? '.' + String(abs % scale).padStart(digits, '0') : '';
  return `${sign}${whole}${frac} ${currency}`;
}

/**
 * "1,500.50" → 150050 for a 2-digit currency; null for anything else (letters, more decimals than
 * the currency has, negative, beyond what the ledger keeps exactly). The same rules as the
 * ledger's `parse_amount`, which the server applies again.
 */
export function parseMoney(text: string, currency: Currency): number | null {
  const t = text.trim().replace(/,/g, '');
  const digits = MINOR_UNITS[currency];
  const re = digits ? new RegExp(`^(\\d+)(?:\\.(\\d{1,${digits}}))?$`) : /^(\d+)$/;
  const m = re.exec(t);
  if (!m) return null;
  const whole = Number(m[1]);
  const frac = m[2] ? Number(m[2].padEnd(digits, '0')) : 0;
  const minor = whole * 10 ** digits + frac;
  return Number.isSafeInteger(minor) && minor <= MAX_AMOUNT ? minor : null;
}

/** A fresh client-chosen id (the charge's receipt number and ledger reference). */
export function newId(): string {
  return crypto.randomUUID();
}

/** The pieces of a quote or receipt paid by each source, summed per source. */
export function bySource(parts: Part[]): { source: Source; amount: number }[] {
  const out: { source: Source; amount: number }[] = [];
  for (const p of parts) {
    const hit = out.find((x) => x.source === p.source);
    if (hit) hit.amount += p.amount;
    else out.push({ source: p.source, amount: p.amount });
  }
  return out;
}

/** What an allowance can still pay for one charge at `now`. */
export function allowanceRoom(a: LocalAllowance, now: number): number {
  if (now >= a.expires_at || a.used >= a.max_count) return 0;
  return Math.min(a.reserved - a.spent, a.per_charge);
}

const call = base.money;

export const money = {
  prices: () => call<PriceList>('money_prices'),
  refreshPrices: () => call<PriceList>('refresh_prices'),
  wallets: (patient: string) => call<PatientWallets>('patient_wallets', { patient }),
  offline: (patient: string) => call<OfflineMoney>('offline_money', { patient }),
  openWallet: (patient: string, currency: Currency) => call<null>('open_wallet', { patient, currency }),
  setPin: (patient: string, pin: string) => call<null>('set_wallet_pin', { patient, pin }),
  quote: (patient: string, lines: Line[], personal: boolean, preApproval?: string | null) =>
    call<Quote>('quote_bill', { patient, lines, personal, context: preApproval ? { pre_approval: preApproval } : null }),
  sponsorships: (patient: string) => call<SponsoredCover[]>('patient_sponsorships', { patient }),
  preApprovals: (patient: string) => call<LocalPreApproval[]>('patient_pre_approvals', { patient }),
  askPreApproval: (request: NewPreApproval) => call<LocalPreApproval>('ask_pre_approval', { request }),
  addStory: (sponsorship: string, text: string) => call<string>('add_sponsor_story', { sponsorship, text }),
  charge: (request: ChargeRequest) => call<Charged>('charge_bill', { request }),
  chargeOffline: (bill: { id: string; patient: string; lines: Line[]; cash: number; pin: string | null }) =>
    call<Charged>('charge_offline', { bill }),
  deposit: (patient: string, amount: number) => call<unknown>('deposit', { patient, amount, method: { method: 'cash' } }),
  refund: (charge: string, reason: ReasonCode) => call<Receipt>('refund_charge', { charge, reason }),
  receipt: (charge: string) => call<PrintableReceipt>('printable_receipt', { charge }),
  reserve: (patients: string[]) => call<number>('reserve_allowances', { patients }),
  settle: () => call<{ settled: number; refused: number; waiting: number }>('settle_offline_charges'),
  drawer: () => call<DrawerView>('cash_drawer'),
  closeDay: (counted: number, note: string) => call<DayClose>('close_day', { counted, note }),
};
