import { describe, expect, it } from 'vitest';
import { allowanceRoom, bySource, formatMoney, parseMoney } from './money';

describe('money in the window', () => {
  it('formats minor units with the currency’s digits', () => {
    expect(formatMoney(1234567, 'KES')).toBe('12,345.67 KES');
    expect(formatMoney(5, 'KES')).toBe('0.05 KES');
    expect(formatMoney(1500, 'UGX')).toBe('1,500 UGX');
    expect(formatMoney(-2000, 'KES')).toBe('-20.00 KES');
  });

  it('parses what staff type, as strictly as the ledger', () => {
    expect(parseMoney('1,500.50', 'KES')).toBe(150050);
    expect(parseMoney('12', 'KES')).toBe(1200);
    expect(parseMoney('12.5', 'KES')).toBe(1250);
    expect(parseMoney('12.505', 'KES')).toBeNull();
    expect(parseMoney('-1', 'KES')).toBeNull();
    expect(parseMoney('1e3', 'KES')).toBeNull();
    expect(parseMoney('1.5', 'UGX')).toBeNull();
    expect(parseMoney('99999999999999999', 'KES')).toBeNull();
  });

  it('sums parts per source and knows what an allowance can still pay', () => {
    expect(
      bySource([
        { source: 'allowance', account: 'ALW-1', amount: 100 },
        { source: 'allowance', account: 'ALW-2', amount: 50 },
        { source: 'cash', account: 'CASH-a', amount: 7 },
      ]),
    ).toEqual([
      { source: 'allowance', amount: 150 },
      { source: 'cash', amount: 7 },
    ]);
    const a = { id: 'a', wallet: 'SW-1', personal: false, reserved: 1000, per_charge: 400, max_count: 2, expires_at: 100, spent: 700, used: 1, pin_failures: 0 };
    expect(allowanceRoom(a, 50)).toBe(300);
    expect(allowanceRoom({ ...a, used: 2 }, 50)).toBe(0);
    expect(allowanceRoom(a, 100)).toBe(0);
  });
});
