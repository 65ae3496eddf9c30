// Health cards in the browser mock (mockBackend.ts): demo cards, `verify_card`, `issue_card` and
// the queue numbers of `check_in`. Nothing here is real cryptography: a mock card's QR text is
// `shc:/` + the SMART-Health-Card-style numeric encoding (two digits per character) of
// `<card id>.<tag>`, where the tag is a keyed hash, so editing a digit makes it "forged".

import { fallbackCodeFor, initialsOf } from './cards';
import type { ApiError, CardRejectReason, CheckIn, Patient, PrintableCard } from './types';

export interface MockCard {
  card_id: string;
  patient_id: string;
  fallback_code: string;
  issued_at: string;
  expires_at: string;
  revoked: boolean;
}

export interface DemoCard {
  /** Whose card and which kind, e.g. "Amina Okafor (valid)". */
  label: string;
  text: string;
  fallback_code: string;
  expect: 'valid' | CardRejectReason;
}

const SECRET = 'anola-mock-card-secret';
const YEAR_MS = 365 * 24 * 3_600_000;

/** FNV-1a, 32 bits. */
function fnv(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

const tagOf = (cardId: string) => fnv(`${SECRET}|${cardId}`).toString(16).padStart(8, '0');

/** Each character as two digits (its code minus 45), as SMART Health Cards encode a JWS. */
export function encodeNumeric(s: string): string {
  return [...s].map((c) => String(c.charCodeAt(0) - 45).padStart(2, '0')).join('');
}

export function decodeNumeric(digits: string): string | null {
  if (digits.length % 2 !== 0 || !/^\d*$/.test(digits)) return null;
  let out = '';
  for (let i = 0; i < digits.length; i += 2) {
    const n = Number(digits.slice(i, i + 2));
    if (n > 77) return null;
    out += String.fromCharCode(n + 45);
  }
  return out;
}

export const mockCardText = (cardId: string) => `shc:/${encodeNumeric(`${cardId}.${tagOf(cardId)}`)}`;

export function mockFallbackCode(cardId: string): string {
  const a = String(fnv(`${SECRET}|fb1|${cardId}`) % 100_000).padStart(5, '0');
  const b = String(fnv(`${SECRET}|fb2|${cardId}`) % 1_000_000).padStart(6, '0');
  return fallbackCodeFor(a + b);
}

function reject(reason: CardRejectReason, message: string): never {
  const e: ApiError & { reason: string } = { code: 'card_rejected', reason, message };
  throw e;
}

const escapeXml = (s: string) =>
  s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] ?? c);

/** An ID-1 card (85.6 × 53.98 mm) with a stand-in QR pattern (the real one comes from the qrcode crate). */
export function mockCardSvg(card: MockCard, name: string): string {
  const cells: string[] = [];
  const n = 25;
  const size = 1.3;
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const finder = (x < 7 && y < 7) || (x >= n - 7 && y < 7) || (x < 7 && y >= n - 7);
      const on = finder
        ? (() => {
            const fx = x < 7 ? x : x - (n - 7);
            const fy = y < 7 ? y : y - (n - 7);
            const ring = Math.max(Math.abs(fx - 3), Math.abs(fy - 3));
            return ring !== 2;
          })()
        : fnv(`${card.card_id}|${x}|${y}`) % 2 === 0;
      if (on) cells.push(`<rect x="${(50 + x * size).toFixed(2)}" y="${(8 + y * size).toFixed(2)}" width="${size}" height="${size}"/>`);
    }
  }
  const expires = card.expires_at.slice(0, 10);
  return [
    '<svg xmlns="http://www.w3.org/2000/svg" width="85.6mm" height="53.98mm" viewBox="0 0 85.6 53.98">',
    '<rect width="85.6" height="53.98" rx="3.18" fill="#fff" stroke="#0b6e4f" stroke-width="0.3"/>',
    '<rect width="85.6" height="7" fill="#0b6e4f"/>',
    '<text x="4" y="5" font-family="sans-serif" font-size="3.6" font-weight="700" fill="#fff">+ Anola Health</text>',
    `<text x="4" y="16" font-family="sans-serif" font-size="3.4" font-weight="700">${escapeXml(name)}</text>`,
    `<text x="4" y="22" font-family="monospace" font-size="2.6">${escapeXml(card.card_id)}</text>`,
    `<text x="4" y="27" font-family="sans-serif" font-size="2.2">Valid until ${escapeXml(expires)}</text>`,
    '<text x="4" y="44" font-family="sans-serif" font-size="2">If the code will not scan, type:</text>',
    `<text x="4" y="49" font-family="monospace" font-size="3.2" font-weight="700">${escapeXml(card.fallback_code)}</text>`,
    `<g fill="#000">${cells.join('')}</g>`,
    '</svg>',
  ].join('');
}

export interface MockCardsOptions {
  /** A live patient on this device, or undefined. */
  patient: (id: string) => Patient | undefined;
  now?: () => number;
  random?: () => number;
}

export function createMockCards(o: MockCardsOptions) {
  const now = o.now ?? (() => Date.now());
  const random = o.random ?? Math.random;
  const cards = new Map<string, MockCard>();
  const demo: DemoCard[] = [];
  /** Queue numbers: day → patient id → number. */
  const queues = new Map<string, Map<string, number>>();

  const add = (cardId: string, patientId: string, extra: Partial<MockCard> = {}): MockCard => {
    const issued = now() - 30 * 24 * 3_600_000;
    const card: MockCard = {
      card_id: cardId,
      patient_id: patientId,
      fallback_code: mockFallbackCode(cardId),
      issued_at: new Date(issued).toISOString(),
      expires_at: new Date(issued + 5 * YEAR_MS).toISOString(),
      revoked: false,
      ...extra,
    };
    cards.set(cardId, card);
    return card;
  };

  const nameOf = (p: Patient) => [p.given_name, p.family_name].filter(Boolean).join(' ');

  /**
   * Demo cards: a valid one for every demo patient with a card id, a replaced (revoked) one, an
   * expired one, a forged one and one of a patient this device does not hold.
   */
  const seed = (patients: Patient[]) => {
    const withCards = patients.filter((p) => p.health_card_id);
    for (const p of withCards) {
      const expired = p.given_name === 'Grace';
      const c = add(p.health_card_id!, p.id, expired ? { expires_at: new Date(now() - 24 * 3_600_000).toISOString() } : {});
      demo.push({
        label: `${nameOf(p)} (${expired ? 'expired' : 'valid'})`,
        text: mockCardText(c.card_id),
        fallback_code: c.fallback_code,
        expect: expired ? 'expired' : 'valid',
      });
    }
    const first = withCards[0];
    if (first) {
      const old = add(`${first.health_card_id!.slice(0, 8)}0001`, first.id, { revoked: true });
      demo.push({ label: `${nameOf(first)} (replaced card)`, text: mockCardText(old.card_id), fallback_code: old.fallback_code, expect: 'revoked' });
      const good = mockCardText(first.health_card_id!);
      const i = good.length - 3;
      const forged = good.slice(0, i) + String((Number(good[i]) + 1) % 10) + good.slice(i + 1);
      demo.push({ label: `${nameOf(first)} (forged: one digit changed)`, text: forged, fallback_code: '', expect: 'forged' });
    }
    const stranger = add('AH-9999-0001', 'patient-not-on-this-device');
    demo.push({ label: 'A patient not on this device', text: mockCardText(stranger.card_id), fallback_code: stranger.fallback_code, expect: 'unknown_patient' });
  };

  const checkCard = (card: MockCard): { card: MockCard; patient: Patient } => {
    if (card.revoked) reject('revoked', `card ${card.card_id} was revoked`);
    if (Date.parse(card.expires_at) < now()) reject('expired', `card ${card.card_id} expired on ${card.expires_at}`);
    if (Date.parse(card.issued_at) > now() + 5 * 60_000) reject('not_yet_valid', 'card issued in the future');
    const patient = o.patient(card.patient_id);
    if (!patient) reject('unknown_patient', `patient ${card.patient_id} is not on this device`);
    return { card, patient };
  };

  /** A scanned QR text or a typed fallback code → the card and its patient, or `card_rejected`. */
  const verify = (raw: string): { card: MockCard; patient: Patient } => {
    const text = raw.trim();
    if (text.length > 4096) reject('too_large', `${text.length} characters is too long for a card`);
    if (/^[\d\s-]+$/.test(text)) {
      const digits = text.replace(/\D/g, '');
      if (digits.length !== 12) reject('malformed', `a fallback code has 12 digits, not ${digits.length}`);
      const card = [...cards.values()].find((c) => c.fallback_code.replace(/\D/g, '') === digits);
      if (!card) reject('unknown_card', 'no card with this fallback code');
      return checkCard(card);
    }
    if (!/^shc:\//i.test(text)) reject('malformed', 'not an Anola card (no shc:/ prefix)');
    const decoded = decodeNumeric(text.slice(5));
    const dot = decoded?.lastIndexOf('.') ?? -1;
    if (!decoded || dot < 1) reject('malformed', 'the card text could not be decoded');
    const cardId = decoded.slice(0, dot);
    if (decoded.slice(dot + 1) !== tagOf(cardId)) reject('forged', 'the signature does not match');
    const card = cards.get(cardId);
    if (!card) reject('unknown_card', `card ${cardId} is unknown`);
    return checkCard(card);
  };

  /** A new card for `patient`; the earlier ones are revoked. */
  const issue = (patient: Patient): PrintableCard => {
    for (const c of cards.values()) if (c.patient_id === patient.id) c.revoked = true;
    let cardId = '';
    do {
      const d = () => String(Math.floor(random() * 10_000)).padStart(4, '0');
      cardId = `AH-${d()}-${d()}`;
    } while (cards.has(cardId));
    const issued = now();
    const card = add(cardId, patient.id, {
      issued_at: new Date(issued).toISOString(),
      expires_at: new Date(issued + 5 * YEAR_MS).toISOString(),
    });
    const name = nameOf(patient) || 'Patient';
    return {
      card_id: card.card_id,
      patient_id: patient.id,
      display_name: name,
      qr_text: mockCardText(card.card_id),
      fallback_code: card.fallback_code,
      issued_at: card.issued_at,
      expires_at: card.expires_at,
      svg: mockCardSvg(card, name),
    };
  };

  /** The queue number of `patientId` on `day`: the next one, or the one given earlier today. */
  const queueNumber = (day: string, patientId: string): { number: number; again: boolean } => {
    const q = queues.get(day) ?? new Map<string, number>();
    queues.set(day, q);
    const had = q.get(patientId);
    if (had !== undefined) return { number: had, again: true };
    const number = q.size + 1;
    q.set(patientId, number);
    return { number, again: false };
  };

  const checkInResult = (patient: Patient, queue: number, appointmentId: string | null, walkIn: boolean): CheckIn => ({
    patient_id: patient.id,
    initials: initialsOf(patient.given_name, patient.family_name),
    queue_number: queue,
    appointment_id: appointmentId,
    walk_in: walkIn,
  });

  return { seed, verify, issue, queueNumber, checkInResult, demo, cards };
}
