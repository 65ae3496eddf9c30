import { createContext, useContext, useEffect, useRef, useState, type ReactNode } from 'react';
import { createWedge, WEDGE_MAX_GAP_MS } from '../wedge';

type TextField = HTMLInputElement | HTMLTextAreaElement;

const TEXT_INPUT_TYPES = new Set(['text', 'search', 'tel', 'url', 'email', 'password', '']);

function focusedTextField(): TextField | null {
  const el = document.activeElement;
  if (el instanceof HTMLTextAreaElement && !el.readOnly && !el.disabled) return el;
  if (el instanceof HTMLInputElement && TEXT_INPUT_TYPES.has(el.type) && !el.readOnly && !el.disabled) return el;
  return null;
}

/** Tells React (and anyone listening) that a field's value changed under it. */
const notify = (el: TextField) => el.dispatchEvent(new Event('input', { bubbles: true }));

/** Types `text` at the caret of the focused text field (keys swallowed while they looked like a scan). */
function typeIntoFocused(text: string) {
  const el = focusedTextField();
  if (!el || !text) return;
  try {
    const start = el.selectionStart ?? el.value.length;
    const end = el.selectionEnd ?? start;
    const room = el.maxLength > 0 ? Math.max(0, el.maxLength - (el.value.length - (end - start))) : text.length;
    el.setRangeText(text.slice(0, room), start, end, 'end');
    notify(el);
  } catch {
    // A field without a caret: nothing to give back.
  }
}

/** Removes the first characters of a scan that reached the focused field before the scan was recognised. */
function removeLeaked(leaked: string) {
  const el = focusedTextField();
  if (!el || !leaked) return;
  try {
    const at = el.selectionStart ?? el.value.length;
    const from = at - leaked.length;
    if (from >= 0 && el.value.slice(from, at).toLowerCase() === leaked.toLowerCase()) {
      el.setRangeText('', from, at, 'end');
      notify(el);
    }
  } catch {
    // As above.
  }
}

/**
 * Listens for keyboard-wedge scans anywhere in the window (capture phase, before any shortcut or
 * field sees the keys) and calls `onScan` with the card text. Normal typing is left alone.
 */
export function useWedgeScanner(onScan: (text: string) => void, enabled = true) {
  const onScanRef = useRef(onScan);
  useEffect(() => {
    onScanRef.current = onScan;
  });

  useEffect(() => {
    if (!enabled) return;
    const wedge = createWedge();
    let timer: ReturnType<typeof setTimeout> | null = null;
    const clear = () => {
      if (timer) clearTimeout(timer);
      timer = null;
    };
    const onKey = (e: KeyboardEvent) => {
      if (e.isComposing || e.repeat) return;
      if (e.ctrlKey || e.metaKey || (e.altKey && e.key.length !== 1)) {
        typeIntoFocused(wedge.flush(Infinity));
        wedge.reset();
        return;
      }
      clear();
      const t = e.timeStamp > 0 ? e.timeStamp : performance.now();
      const step = wedge.feed(e.key, t);
      const field = focusedTextField();
      // A field marked data-wedge="hold" (the kiosk's code box) keeps the hold-back behaviour: a
      // scan must never fill it.
      if (field && field.dataset.wedge !== 'hold') {
        // In a text field every key lands where it was typed (holding keys back and giving them
        // later mangles fast typing: a late release lands in the next field). A recognised scan
        // is taken back out of the field instead, and its Enter does not submit the form.
        if (step.scan) {
          e.preventDefault();
          e.stopImmediatePropagation();
          removeLeaked(step.scan);
          onScanRef.current(step.scan);
        } else if (step.swallow) {
          timer = setTimeout(() => {
            timer = null;
            wedge.flush(performance.now());
          }, WEDGE_MAX_GAP_MS + 15);
        }
        return;
      }
      if (step.release) typeIntoFocused(step.release);
      if (step.swallow) {
        e.preventDefault();
        e.stopImmediatePropagation();
      }
      if (step.scan) {
        removeLeaked(step.scan.slice(0, step.leaked));
        onScanRef.current(step.scan);
      } else if (step.swallow) {
        // A burst that goes quiet without Enter was a person after all: give the keys back.
        timer = setTimeout(() => {
          timer = null;
          typeIntoFocused(wedge.flush(performance.now()));
        }, WEDGE_MAX_GAP_MS + 15);
      }
    };
    window.addEventListener('keydown', onKey, true);
    return () => {
      clear();
      window.removeEventListener('keydown', onKey, true);
    };
  }, [enabled]);
}

type ScanHandler = (text: string) => void;

interface ScanRouter {
  /** While claimed, scans go to `handler` (the newest claim wins) instead of the default. */
  claim: (handler: ScanHandler) => () => void;
  /** A card read another way (camera, picture) goes where a wedge scan would. */
  deliver: ScanHandler;
}

const ScanContext = createContext<ScanRouter | null>(null);

/** Scans anywhere in the app: to the newest claim (a check-in panel waiting for a card), else `onScan`. */
export function ScanProvider({ onScan, children }: { onScan: ScanHandler; children: ReactNode }) {
  const claims = useRef<{ current: ScanHandler }[]>([]);
  const fallback = useRef(onScan);
  useEffect(() => {
    fallback.current = onScan;
  });
  const [router] = useState<ScanRouter>(() => ({
    claim: (handler) => {
      const entry = { current: handler };
      claims.current.push(entry);
      return () => {
        claims.current = claims.current.filter((c) => c !== entry);
      };
    },
    deliver: (text) => {
      const top = claims.current[claims.current.length - 1];
      if (top) top.current(text);
      else fallback.current(text);
    },
  }));
  useWedgeScanner(router.deliver);
  return <ScanContext.Provider value={router}>{children}</ScanContext.Provider>;
}

/** Takes the app's scans while `active` (e.g. a check-in panel waiting for a card). */
export function useScanClaim(handler: ScanHandler, active: boolean) {
  const router = useContext(ScanContext);
  const ref = useRef(handler);
  useEffect(() => {
    ref.current = handler;
  });
  useEffect(() => {
    if (!active || !router) return;
    return router.claim((text) => ref.current(text));
  }, [active, router]);
}

/** Hands a card read by camera or from a picture to whoever takes scans now. */
export function useScanDelivery(): ScanHandler {
  const router = useContext(ScanContext);
  return router ? router.deliver : () => undefined;
}
