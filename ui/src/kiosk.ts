// The kiosk screen's state machine (components/Kiosk.tsx): prompt → checking → result or error →
// back to the prompt after a while. Pure; the component runs the timers and the `check_in` call.

import { kioskErrorMessage } from './cards';
import type { ApiError, CheckIn } from './types';

/** How long the initials and queue number stay on screen. */
export const KIOSK_RESULT_MS = 8_000;
/** How long an error stays. */
export const KIOSK_ERROR_MS = 8_000;

export type KioskState =
  | { kind: 'prompt'; seq: number }
  | { kind: 'checking'; seq: number }
  | { kind: 'result'; seq: number; initials: string; queueNumber: number; walkIn: boolean }
  | { kind: 'error'; seq: number; message: string };

export type KioskEvent =
  /** A scan or a typed code went to `check_in`. */
  | { type: 'submit' }
  | { type: 'checked_in'; seq: number; result: CheckIn }
  | { type: 'failed'; seq: number; error: ApiError }
  /** A typed code that is wrong before asking anyone (length, check digit). */
  | { type: 'invalid'; message: string }
  /** The result or error timer of step `seq` ran out. */
  | { type: 'timeout'; seq: number }
  /** "Done" / "Try again": back to the prompt now. */
  | { type: 'dismiss' };

export const KIOSK_START: KioskState = { kind: 'prompt', seq: 0 };

export function kioskReducer(state: KioskState, event: KioskEvent): KioskState {
  switch (event.type) {
    case 'submit':
      // A new scan replaces whatever is showing (the next patient need not wait), but not one in flight.
      return state.kind === 'checking' ? state : { kind: 'checking', seq: state.seq + 1 };
    case 'checked_in':
      if (state.kind !== 'checking' || event.seq !== state.seq) return state;
      return {
        kind: 'result',
        seq: state.seq,
        initials: event.result.initials,
        queueNumber: event.result.queue_number,
        walkIn: event.result.walk_in,
      };
    case 'failed':
      if (state.kind !== 'checking' || event.seq !== state.seq) return state;
      return { kind: 'error', seq: state.seq, message: kioskErrorMessage(event.error) };
    case 'invalid':
      return state.kind === 'checking' ? state : { kind: 'error', seq: state.seq + 1, message: event.message };
    case 'timeout':
      return (state.kind === 'result' || state.kind === 'error') && event.seq === state.seq
        ? { kind: 'prompt', seq: state.seq }
        : state;
    case 'dismiss':
      return state.kind === 'checking' ? state : { kind: 'prompt', seq: state.seq };
  }
}

/** How long the state stays before `timeout`, or null (waits for input or an answer). */
export function kioskTimeout(state: KioskState): number | null {
  return state.kind === 'result' ? KIOSK_RESULT_MS : state.kind === 'error' ? KIOSK_ERROR_MS : null;
}
