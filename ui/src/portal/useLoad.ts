import { useCallback, useEffect, useState } from 'react';
import type { ApiError } from './http';

export interface Loaded<T> {
  data: T | null;
  error: ApiError | null;
  loading: boolean;
  reload: () => void;
}

/**
 * Loads `fetcher()` now, whenever `key` changes, and on `reload`. The last data stays shown while
 * a reload runs (a refresh does not blank the page).
 */
export function useLoad<T>(fetcher: () => Promise<T>, key: string): Loaded<T> {
  const [tick, setTick] = useState(0);
  const [result, setResult] = useState<{ for: string; data: T | null; error: ApiError | null } | null>(null);
  const want = `${key}#${tick}`;
  useEffect(() => {
    let live = true;
    fetcher().then(
      (data) => {
        if (live) setResult({ for: want, data, error: null });
      },
      (error: ApiError) => {
        if (live) setResult((r) => ({ for: want, data: r?.data ?? null, error }));
      },
    );
    return () => {
      live = false;
    };
    // `fetcher` is a new closure on every render; `key` (with the reload count) names what it loads.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [want]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data: result?.data ?? null, error: result?.error ?? null, loading: result?.for !== want, reload };
}
