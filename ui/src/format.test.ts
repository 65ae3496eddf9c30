import { describe, expect, it } from 'vitest';
import { ageOn, displayName, formatAge, formatDate, formatDobWithAge, formatLastSynced, plural } from './format';

describe('displayName', () => {
  it('is "Family, Given Middle"', () => {
    expect(displayName({ family_name: 'Okafor', given_name: 'Amina', middle_name: null })).toBe('Okafor, Amina');
    expect(displayName({ family_name: 'Okafor', given_name: 'Amina', middle_name: 'Grace' })).toBe(
      'Okafor, Amina Grace',
    );
    expect(displayName({ family_name: null, given_name: 'Amina', middle_name: null })).toBe('(no family name), Amina');
  });
});

describe('dates and ages', () => {
  it('formats dates unambiguously', () => {
    expect(formatDate('1988-04-12')).toBe('12 Apr 1988');
    expect(formatDate('not a date')).toBe('not a date');
    expect(formatDate(null)).toBe('');
  });

  it('counts completed years, months and days', () => {
    expect(ageOn('1988-04-12', '2025-04-11')).toEqual({ years: 36, months: 11, days: 30 });
    expect(ageOn('1988-04-12', '2025-04-12')).toEqual({ years: 37, months: 0, days: 0 });
    expect(ageOn('2024-01-31', '2024-03-01')).toEqual({ years: 0, months: 1, days: 1 });
    expect(ageOn('2030-01-01', '2025-01-01')).toBeNull();
  });

  it('shows years from two, months below, days below one month', () => {
    expect(formatAge('1988-04-12', '2025-06-15')).toBe('37 y');
    expect(formatAge('2023-06-15', '2025-06-15')).toBe('2 y');
    expect(formatAge('2023-06-16', '2025-06-15')).toBe('23 mo');
    expect(formatAge('2025-05-15', '2025-06-15')).toBe('1 mo');
    expect(formatAge('2025-06-03', '2025-06-15')).toBe('12 d');
    expect(formatAge('2025-06-15', '2025-06-15')).toBe('0 d');
    expect(formatAge(null, '2025-06-15')).toBe('');
    expect(formatDobWithAge('1988-04-12', '2025-06-15')).toBe('12 Apr 1988 (37 y)');
  });
});

describe('formatLastSynced', () => {
  const now = new Date(2025, 5, 15, 16, 30);
  const at = (y: number, m: number, d: number, h: number, min: number) => new Date(y, m, d, h, min).toISOString();

  it('says when it never synced', () => {
    expect(formatLastSynced(null, now)).toBe('Never synced');
  });
  it('shows HH:MM today, and the day when older', () => {
    expect(formatLastSynced(at(2025, 5, 15, 9, 5), now)).toBe('Last synced 09:05');
    expect(formatLastSynced(at(2025, 5, 14, 23, 59), now)).toBe('Last synced 23:59 (yesterday)');
    expect(formatLastSynced(at(2025, 2, 3, 17, 40), now)).toBe('Last synced 17:40 (3 Mar)');
    expect(formatLastSynced(at(2024, 11, 31, 8, 0), now)).toBe('Last synced 08:00 (31 Dec 2024)');
  });
});

describe('plural', () => {
  it('agrees with the count', () => {
    expect(plural(1, 'change')).toBe('1 change');
    expect(plural(3, 'change')).toBe('3 changes');
    expect(plural(0, 'change')).toBe('0 changes');
  });
});
