// The portal's one way to the server: same-origin fetch with the session cookie, the CSRF header
// on every state-changing request, one silent refresh when the access token expired, and every
// refusal turned into the same `ApiError` the app uses (code, message, field).

import { CSRF_COOKIE, CSRF_HEADER } from '../generated/protocol';
import { toApiError } from '../errors';
import type { ApiError } from '../types';

export type { ApiError };

function cookie(name: string): string | null {
  for (const part of document.cookie.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return null;
}

const sessionEnded = new Set<() => void>();
/** Calls `cb` when the server says the session is over (the portal shows the sign-in). */
export function onSessionEnded(cb: () => void): () => void {
  sessionEnded.add(cb);
  return () => sessionEnded.delete(cb);
}

async function send(method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET') {
    const csrf = cookie(CSRF_COOKIE);
    if (csrf) headers[CSRF_HEADER] = csrf;
  }
  return fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function errorOf(r: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    body = await r.json();
  } catch {
    body = null;
  }
  const e = toApiError(body);
  return e.code === 'internal' && !body ? { code: 'http_' + r.status, message: `The server answered ${r.status}` } : e;
}

let refreshing: Promise<boolean> | null = null;

/** Spends the refresh cookie for a new session; false when the session is over. */
export function refreshSession(): Promise<boolean> {
  refreshing ??= send('POST', '/portal/api/session/refresh')
    .then((r) => r.ok)
    .catch(() => false)
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

/** Calls the server; resolves to the JSON answer (or null for 204), rejects with an `ApiError`. */
export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  let r: Response;
  try {
    r = await send(method, path, body);
    if (r.status === 401 && !path.startsWith('/portal/api/session')) {
      // An expired access token (or a session cookie the browser dropped while the refresh cookie
      // lives on): spend the refresh cookie once, then try again.
      const e = await errorOf(r.clone());
      const maybeSession = e.code === 'token_expired' || (e.code === 'unauthenticated' && cookie(CSRF_COOKIE) !== null);
      if (maybeSession && (await refreshSession())) r = await send(method, path, body);
    }
  } catch {
    throw { code: 'offline', message: 'The server cannot be reached. Check the connection and try again.' } satisfies ApiError;
  }
  if (r.status === 204) return null as T;
  if (!r.ok) {
    const e = await errorOf(r);
    if (r.status === 401 && !path.startsWith('/portal/api/session')) sessionEnded.forEach((cb) => cb());
    throw e;
  }
  return (await r.json()) as T;
}

export const get = <T>(path: string) => request<T>('GET', path);
export const post = <T>(path: string, body?: unknown) => request<T>('POST', path, body ?? {});
export const put = <T>(path: string, body: unknown) => request<T>('PUT', path, body);

/** The message of a refusal for `field`, if it is about that field. */
export function fieldError(e: ApiError | null, field: string): string | undefined {
  if (!e) return undefined;
  if (e.field === field) return e.message.replace(new RegExp(`^${field}: `), '');
  const one = e.errors?.find((x) => x.field === field);
  return one?.message;
}
