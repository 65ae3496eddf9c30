import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { api, toApiError } from './api';
import type { ApiError, Patient, Provider, SyncStatus } from './types';

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

export interface AsyncState<T> {
  data: T | null;
  error: ApiError | null;
  /** The data shown belongs to another `identity` (e.g. the previous day) or nothing has loaded yet. */
  stale: boolean;
  reload: () => void;
}

/**
 * Loads `load()` whenever `identity` (what is shown) or `refresh` (data may have changed) changes.
 * A refresh keeps showing the old data until the new arrives; a failed refresh keeps it too.
 */
export function useAsync<T>(load: () => Promise<T>, identity: string, refresh = ''): AsyncState<T> {
  const [state, setState] = useState<{ identity: string | null; data: T | null; error: ApiError | null }>({
    identity: null,
    data: null,
    error: null,
  });
  const [retry, setRetry] = useState(0);
  const loadRef = useRef(load);
  useEffect(() => {
    loadRef.current = load;
  });
  useEffect(() => {
    let alive = true;
    loadRef.current().then(
      (data) => {
        if (alive) setState({ identity, data, error: null });
      },
      (e: unknown) => {
        if (alive) {
          setState((s) => ({ identity, data: s.identity === identity ? s.data : null, error: toApiError(e) }));
        }
      },
    );
    return () => {
      alive = false;
    };
  }, [identity, refresh, retry]);
  const reload = useCallback(() => setRetry((n) => n + 1), []);
  return { data: state.data, error: state.error, stale: state.identity !== identity, reload };
}

/** Providers from `list_providers`, reloaded when data may have changed. */
export function useProviders(refresh: string): AsyncState<Provider[]> & { byId: Map<string, Provider> } {
  const s = useAsync(api.listProviders, 'providers', refresh);
  const data = s.data;
  const byId = useMemo(() => new Map((data ?? []).map((p) => [p.id, p])), [data]);
  return { ...s, byId };
}

/**
 * Patients by id for showing names next to appointments and notes: `undefined` while loading,
 * `null` when the patient is not on this device.
 */
export function usePatientsById(ids: readonly string[], refresh: string): Map<string, Patient | null> {
  const [found, setFound] = useState<{ refresh: string; map: Map<string, Patient | null> }>({
    refresh,
    map: new Map(),
  });
  const key = [...new Set(ids)].sort().join(',');
  const known = found.refresh === refresh ? found.map : null;
  const knownRef = useRef(known);
  useEffect(() => {
    knownRef.current = known;
  });
  useEffect(() => {
    const have = knownRef.current;
    const missing = key ? key.split(',').filter((id) => !have?.has(id)) : [];
    if (!missing.length) return;
    let alive = true;
    void Promise.all(
      missing.map((id) =>
        api.getPatient(id).then(
          (p): [string, Patient | null] => [id, p],
          (): [string, Patient | null] => [id, null],
        ),
      ),
    ).then((pairs) => {
      if (!alive) return;
      setFound((prev) => {
        const base = prev.refresh === refresh ? prev.map : new Map<string, Patient | null>();
        const map = new Map(base);
        pairs.forEach(([id, p]) => map.set(id, p));
        return { refresh, map };
      });
    });
    return () => {
      alive = false;
    };
  }, [key, refresh]);
  // While a refresh reloads, keep showing the names already known.
  return known ?? found.map;
}
