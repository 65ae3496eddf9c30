// Health cards in the UI: the wording of card refusals (for staff and, plainer, for patients at
// the kiosk), fallback codes (Damm check digit, as crates/anola-cards/src/fallback.rs), initials.

import { DAMM, FALLBACK_DIGITS } from './generated/checkDigit';
import type { ApiError, CardRejectReason } from './types';

export { FALLBACK_DIGITS };

export const CARD_REJECT_REASONS: readonly CardRejectReason[] = [
  'forged',
  'malformed',
  'too_large',
  'unknown_key',
  'foreign_issuer',
  'expired',
  'not_yet_valid',
  'revoked',
  'unknown_card',
  'unknown_patient',
  'other_clinic',
  'not_assigned',
  'no_keys',
  'image_unreadable',
  'no_code_found',
  'unreadable',
];

const STAFF: Record<CardRejectReason, string> = {
  forged: 'The card’s signature is not valid: it was not issued by Anola Health or it was altered. Do not accept it.',
  malformed: 'The scan could not be read as an Anola card. Scan it again, or type the fallback code printed under the QR.',
  too_large: 'The scanned code is far too long to be an Anola card.',
  unknown_key: 'The card was signed with a key this device does not know yet. Sync, then scan again.',
  foreign_issuer: 'The card was issued by another organisation, not this clinic network.',
  expired: 'The card has expired. Issue the patient a new card.',
  not_yet_valid: 'The card is not valid yet — check this device’s date and time.',
  revoked: 'The card was replaced or cancelled. Ask for the patient’s newest card, or issue a new one.',
  unknown_card: 'No card with this fallback code is known on this device. Sync, or check the code.',
  unknown_patient: 'The card is genuine, but its patient is not on this device yet. Sync, then scan again.',
  other_clinic: 'The card is genuine, but its patient is not registered at this clinic. Ask where they registered, or register them here.',
  not_assigned: 'The card is genuine, but this patient is not assigned to you.',
  no_keys: 'This device has no card keys yet: it must sync with the server once before it can check cards.',
  image_unreadable: 'That file is not a picture this app can read. Choose a PNG or JPEG photo of the card.',
  no_code_found: 'No QR code was found in the picture. Take it again with the whole code in view, or type the fallback code.',
  unreadable: 'A QR code is in the picture but too blurred or damaged to read. Take it again closer and in focus, or type the fallback code.',
};

const PATIENT: Record<CardRejectReason, string> = {
  forged: 'This card could not be accepted — please see the front desk.',
  malformed: 'We could not read your card. Please try again, or type the number under the code.',
  too_large: 'We could not read your card. Please try again, or type the number under the code.',
  unknown_key: 'This card could not be checked here — please see the front desk.',
  foreign_issuer: 'This card is not an Anola Health card — please see the front desk.',
  expired: 'This card has expired — please see the front desk for a new one.',
  not_yet_valid: 'This card could not be checked here — please see the front desk.',
  revoked: 'This card has been replaced — please see the front desk.',
  unknown_card: 'We could not find this card number. Please check it, or see the front desk.',
  unknown_patient: 'We could not find your details here — please see the front desk.',
  other_clinic: 'We could not find your details at this clinic — please see the front desk.',
  not_assigned: 'We could not find your details here — please see the front desk.',
  no_keys: 'Self check-in is not ready yet — please see the front desk.',
  image_unreadable: 'We could not read your card. Please try again, or type the number under the code.',
  no_code_found: 'We could not see a code. Please hold your card closer to the camera, or type the number under the code.',
  unreadable: 'We could not read your card. Please hold it still and closer, or type the number under the code.',
};

export function isCardRejectReason(r: unknown): r is CardRejectReason {
  return typeof r === 'string' && (CARD_REJECT_REASONS as readonly string[]).includes(r);
}

/** Whether a code read by the camera could be an Anola card (others — a poster's URL — are ignored). */
export function looksLikeCard(text: string): boolean {
  const t = text.trim();
  return t.toLowerCase().startsWith('shc:/') || checkFallbackCode(t).ok;
}

/** A card refusal (or any error of `verify_card` / `check_in`) for staff. */
export function scanErrorMessage(e: ApiError): string {
  if (e.code === 'card_rejected') {
    return isCardRejectReason(e.reason) ? STAFF[e.reason] : `The card was not accepted: ${e.message}`;
  }
  if (e.code === 'not_found') return STAFF.unknown_patient;
  if (e.code === 'forbidden') return 'Your role may not look up patients by card.';
  return e.message;
}

/** The same, in plain words for a patient at the kiosk (never names, never technical detail). */
export function kioskErrorMessage(e: ApiError): string {
  if (e.code === 'card_rejected') {
    return isCardRejectReason(e.reason)
      ? PATIENT[e.reason]
      : 'This card could not be accepted — please see the front desk.';
  }
  if (e.code === 'not_found') return PATIENT.unknown_patient;
  return 'Something went wrong — please see the front desk.';
}


/** The Damm interim digit of a digit string (appending it makes the whole string check to 0). */
export function dammDigit(digits: string): number {
  let interim = 0;
  for (const c of digits) interim = DAMM[interim][c.charCodeAt(0) - 48];
  return interim;
}


/** `123456789012` → `1234-5678-9012`. */
export function formatFallbackCode(digits: string): string {
  return `${digits.slice(0, 4)}-${digits.slice(4, 8)}-${digits.slice(8, 12)}`;
}

/** 11 digits + their check digit, formatted. */
export function fallbackCodeFor(elevenDigits: string): string {
  return formatFallbackCode(elevenDigits + String(dammDigit(elevenDigits)));
}

export type FallbackCheck = { ok: true; code: string } | { ok: false; problem: string };

/** A typed fallback code (dashes and spaces ignored) → canonical form, or what is wrong, for patients. */
export function checkFallbackCode(typed: string): FallbackCheck {
  const stripped = typed.replace(/[\s-]/g, '');
  if (!stripped) return { ok: false, problem: 'Type the 12-digit number printed under the code on your card.' };
  if (!/^\d+$/.test(stripped)) return { ok: false, problem: 'The card number has digits only.' };
  if (stripped.length !== FALLBACK_DIGITS) {
    return { ok: false, problem: `The card number has 12 digits — you typed ${stripped.length}.` };
  }
  if (dammDigit(stripped) !== 0) {
    return { ok: false, problem: 'That number is not quite right — please check each digit.' };
  }
  return { ok: true, code: formatFallbackCode(stripped) };
}

/** Digits typed into the kiosk's code box, shown as `1234-5678-9012` while typing. */
export function groupCodeInput(typed: string): string {
  const d = typed.replace(/\D/g, '').slice(0, FALLBACK_DIGITS);
  return [d.slice(0, 4), d.slice(4, 8), d.slice(8, 12)].filter(Boolean).join('-');
}

/** `AO`, `a o`, `A.O.` → `A. O.` (what the kiosk shows). */
export function formatInitials(initials: string): string {
  const letters = [...initials.replace(/[^\p{L}]/gu, '')].slice(0, 3);
  return letters.map((l) => `${l.toUpperCase()}.`).join(' ');
}

/** Initials of a patient's given and family name (the mock's `check_in`). */
export function initialsOf(given: string | null, family: string | null): string {
  return [given, family]
    .map((n) => [...(n ?? '').trim()][0] ?? '')
    .join('')
    .toUpperCase();
}

/** "A. O. — you are number 7" */
export function kioskGreeting(initials: string, queueNumber: number): string {
  const i = formatInitials(initials);
  return i ? `${i} — you are number ${queueNumber}` : `You are number ${queueNumber}`;
}
