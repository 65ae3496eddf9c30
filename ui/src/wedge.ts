// Recognises a handheld "keyboard wedge" scanner: it types the QR's text as key presses, much
// faster than a person, and ends with Enter. Pure: fed with (key, timestamp) pairs; the DOM side
// (components/Scanner.tsx) acts on the answers.
//
// A scan is `shc:/` followed by digits (the card's QR text) or a fallback code `1234-5678-9012`,
// every key less than `maxGapMs` after the one before, then Enter. The first key of a burst is let
// through (nobody can know yet); from the second key on, keys that still fit a scan and come fast
// are swallowed, so a scan neither triggers single-key shortcuts nor fills a text field. When a
// burst turns out not to be a scan (a slow key, a key that does not fit), the swallowed keys are
// handed back (`release`) to be typed where the focus is.

export const WEDGE_MAX_GAP_MS = 35;
/** Digits after `shc:/` at the least (a real card has hundreds). */
export const SHC_MIN_DIGITS = 10;
/** Far more than any card's QR text; a longer burst is not a card. */
export const SHC_MAX_LENGTH = 4096;

const SHC = 'shc:/';
const CODE_TEMPLATE = 'dddd-dddd-dddd';

/** Keys a scanner (or a person) presses along with characters: never break a burst. */
const MODIFIERS = new Set(['Shift', 'Control', 'Alt', 'AltGraph', 'Meta', 'CapsLock', 'NumLock', 'OS']);

export interface WedgeStep {
  /** Keep this key from doing anything else (typing, shortcuts). */
  swallow: boolean;
  /** A complete scan (on Enter): the card text, `shc:/` in lower case. */
  scan: string | null;
  /** With `scan`: how many of its first characters were let through (to remove from a text field). */
  leaked: number;
  /** Swallowed characters that turned out not to be a scan: type them where the focus is, before this key. */
  release: string;
}

const NOTHING: WedgeStep = { swallow: false, scan: null, leaked: 0, release: '' };

/** Whether `s` can still grow into a scan. */
export function isScanPrefix(s: string): boolean {
  if (!s) return true;
  const lower = s.toLowerCase();
  if (lower.length <= SHC.length) {
    if (SHC.startsWith(lower)) return true;
  } else if (lower.startsWith(SHC)) {
    return lower.length <= SHC_MAX_LENGTH && /^\d*$/.test(lower.slice(SHC.length));
  }
  if (s.length > CODE_TEMPLATE.length) return false;
  for (let i = 0; i < s.length; i++) {
    const want = CODE_TEMPLATE[i];
    const c = s[i];
    if (want === '-' ? c !== '-' : c < '0' || c > '9') return false;
  }
  return true;
}

/** The card text of a complete scan, or null. */
export function scanText(s: string): string | null {
  const lower = s.toLowerCase();
  if (lower.startsWith(SHC)) {
    const digits = lower.slice(SHC.length);
    return digits.length >= SHC_MIN_DIGITS && lower.length <= SHC_MAX_LENGTH && /^\d+$/.test(digits) ? lower : null;
  }
  return /^\d{4}-\d{4}-\d{4}$/.test(s) ? s : null;
}

export interface Wedge {
  /** One keydown: `key` as in `KeyboardEvent.key`, `t` in ms (e.g. `event.timeStamp`). */
  feed(key: string, t: number): WedgeStep;
  /** Time passed with no key (a timer): a burst that went quiet is not a scan. Returns what to release. */
  flush(t: number): string;
  reset(): void;
}

export function createWedge(maxGapMs = WEDGE_MAX_GAP_MS): Wedge {
  let buf = '';
  let last = -Infinity;

  /** Ends the burst; returns its swallowed part (all but the first character). */
  const drop = (): string => {
    const out = buf.slice(1);
    buf = '';
    return out;
  };

  return {
    feed(key, t) {
      let release = '';
      if (buf && t - last > maxGapMs) release = drop();
      if (MODIFIERS.has(key)) return { ...NOTHING, release };
      if (key === 'Enter') {
        const text = buf ? scanText(buf) : null;
        if (text) {
          buf = '';
          return { swallow: true, scan: text, leaked: 1, release: '' };
        }
        release += drop();
        return { ...NOTHING, release };
      }
      if (key.length !== 1) {
        // Tab, Backspace, arrows…: a person is typing.
        release += drop();
        return { ...NOTHING, release };
      }
      if (buf && isScanPrefix(buf + key)) {
        buf += key;
        last = t;
        return { swallow: true, scan: null, leaked: 0, release };
      }
      release += drop();
      if (isScanPrefix(key)) {
        buf = key;
        last = t;
      }
      return { ...NOTHING, release };
    },
    flush(t) {
      return buf && t - last > maxGapMs ? drop() : '';
    },
    reset() {
      buf = '';
      last = -Infinity;
    },
  };
}
