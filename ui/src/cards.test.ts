import { describe, expect, it } from 'vitest';
import {
  CARD_REJECT_REASONS,
  checkFallbackCode,
  dammDigit,
  looksLikeCard,
  fallbackCodeFor,
  formatInitials,
  groupCodeInput,
  kioskErrorMessage,
  kioskGreeting,
  scanErrorMessage,
} from './cards';

describe('card refusal wording', () => {
  it('every reason has its own staff and patient sentence', () => {
    const staff = CARD_REJECT_REASONS.map((reason) => scanErrorMessage({ code: 'card_rejected', reason, message: reason }));
    const patient = CARD_REJECT_REASONS.map((reason) => kioskErrorMessage({ code: 'card_rejected', reason, message: reason }));
    expect(new Set(staff).size).toBe(CARD_REJECT_REASONS.length);
    for (const m of [...staff, ...patient]) expect(m.length).toBeGreaterThan(10);
  });

  it('says plainly what happened', () => {
    expect(kioskErrorMessage({ code: 'card_rejected', reason: 'revoked', message: 'x' })).toBe(
      'This card has been replaced — please see the front desk.',
    );
    expect(scanErrorMessage({ code: 'card_rejected', reason: 'forged', message: 'x' })).toMatch(/signature/);
    expect(scanErrorMessage({ code: 'card_rejected', reason: 'expired', message: 'x' })).toMatch(/expired/);
  });

  it('patients never see technical detail', () => {
    expect(kioskErrorMessage({ code: 'card_rejected', reason: 'weird', message: 'JWS kid abc' })).not.toMatch(/JWS/);
    expect(kioskErrorMessage({ code: 'storage', message: 'database is locked' })).not.toMatch(/database/);
    expect(scanErrorMessage({ code: 'card_rejected', reason: 'weird', message: 'odd thing' })).toMatch(/odd thing/);
  });
});

describe('fallback codes', () => {
  it('Damm check digit as the Rust crate computes it', () => {
    expect(dammDigit('572')).toBe(4);
    expect(dammDigit('5724')).toBe(0);
    const code = fallbackCodeFor('12345678901');
    expect(code).toMatch(/^\d{4}-\d{4}-\d{4}$/);
    expect(checkFallbackCode(code)).toEqual({ ok: true, code });
    expect(checkFallbackCode(code.replace(/-/g, ' '))).toEqual({ ok: true, code });
  });

  it('catches a mistyped digit and wrong lengths', () => {
    const code = fallbackCodeFor('12345678901');
    const last = Number(code[code.length - 1]);
    const bad = code.slice(0, -1) + String((last + 1) % 10);
    expect(checkFallbackCode(bad).ok).toBe(false);
    expect(checkFallbackCode('1234').ok).toBe(false);
    expect(checkFallbackCode('').ok).toBe(false);
    expect(checkFallbackCode('abcd-efgh-ijkl').ok).toBe(false);
  });

  it('groups digits while typing', () => {
    expect(groupCodeInput('12345')).toBe('1234-5');
    expect(groupCodeInput('1234-5678-90123')).toBe('1234-5678-9012');
  });
});

describe('initials', () => {
  it('formats', () => {
    expect(formatInitials('AO')).toBe('A. O.');
    expect(formatInitials('a. o.')).toBe('A. O.');
    expect(kioskGreeting('AO', 7)).toBe('A. O. — you are number 7');
    expect(kioskGreeting('', 3)).toBe('You are number 3');
  });
});

describe('looksLikeCard', () => {
  it('accepts card QR texts and fallback codes, nothing else', () => {
    expect(looksLikeCard('shc:/56762909')).toBe(true);
    expect(looksLikeCard('SHC:/56762909')).toBe(true);
    expect(looksLikeCard('https://example.org/menu')).toBe(false);
    expect(looksLikeCard('hello')).toBe(false);
  });
});
