// Generated from crates/anola-ledger/src/amount.rs by its tests (ANOLA_WRITE_GENERATED=1 cargo test -p anola-ledger generated). Do not edit.

export type Currency = 'KES' | 'UGX' | 'TZS' | 'RWF' | 'NGN' | 'GHS' | 'XOF' | 'USD' | 'EUR';

/** Digits after the decimal point (ISO 4217). */
export const MINOR_UNITS: Record<Currency, number> = {
  KES: 2,
  UGX: 0,
  TZS: 2,
  RWF: 0,
  NGN: 2,
  GHS: 2,
  XOF: 0,
  USD: 2,
  EUR: 2,
};

/** The largest amount the ledger keeps exactly (2^53 - 1 minor units). */
export const MAX_AMOUNT = 9007199254740991;
