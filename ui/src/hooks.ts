import { useCallback, useEffect, useRef, useState } from 'react';
import { api } from './api';
import type { ApiError, SyncStatus } from './types';

export const SYNC_POLL_MS = 3000;

export interface SyncState {
  status: SyncStatus | null;
  /** The last failure to read the status or to start a sync; cleared by the next success. */
  error: ApiError | null;
  syncNow: () => void;
}

/** Sync status from `sync-status` events, with a `sync_status` poll every 3 s as a fallback. */
export function useSyncStatus(): SyncState {
  const [status, setStatus] = useState<SyncStatus | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const alive = useRef(true);

  useEffect(() => {
    alive.current = true;
    let unlisten: (() => void) | null = null;
    const refresh = () => {
      api.syncStatus().then(
        (s) => {
          if (!alive.current) return;
          setStatus(s);
          setError(null);
        },
        (e: ApiError) => {
          if (alive.current) setError(e);
        },
      );
    };
    refresh();
    const timer = setInterval(refresh, SYNC_POLL_MS);
    api
      .onSyncStatus((s) => {
        if (!alive.current) return;
        setStatus(s);
        setError(null);
      })
      .then(
        (u) => {
          if (alive.current) unlisten = u;
          else u();
        },
        () => {
          // No event channel: the poll still keeps the indicator current.
        },
      );
    return () => {
      alive.current = false;
      clearInterval(timer);
      unlisten?.();
    };
  }, []);

  const syncNow = useCallback(() => {
    api.syncNow().then(
      (s) => {
        if (!alive.current) return;
        setStatus(s);
        setError(null);
      },
      (e: ApiError) => {
        if (alive.current) setError(e);
      },
    );
  }, []);

  return { status, error, syncNow };
}

/** `value`, once it has stopped changing for `ms`. */
export function useDebounced<T>(value: T, ms: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setDebounced(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return debounced;
}

/** Whether a key event comes from somewhere the user types (so single-key shortcuts must not fire). */
export function isTypingTarget(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  if (target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  if (target instanceof HTMLInputElement) {
    return !['button', 'submit', 'reset', 'checkbox', 'radio', 'range', 'color', 'file'].includes(target.type);
  }
  return false;
}
