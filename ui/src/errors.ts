// Turning whatever a backend refused with into the UI's `ApiError` (the app's IPC and the portal's HTTP alike).

import type { ApiError, FieldError } from './types';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

/** Turns whatever a rejected `invoke` carried into an `ApiError`. */
export function toApiError(e: unknown): ApiError {
  if (isRecord(e) && typeof e.code === 'string') {
    const errors = Array.isArray(e.errors)
      ? e.errors.filter(
          (x): x is FieldError => isRecord(x) && typeof x.field === 'string' && typeof x.message === 'string',
        )
      : undefined;
    return {
      code: e.code,
      message: typeof e.message === 'string' && e.message ? e.message : e.code,
      ...(errors ? { errors } : {}),
      ...(typeof e.field === 'string' ? { field: e.field } : {}),
      ...(typeof e.until === 'string' ? { until: e.until } : {}),
      ...(typeof e.reason === 'string' ? { reason: e.reason } : {}),
    };
  }
  if (typeof e === 'string') {
    // A string error: a command missing from the backend, or an error not serialized as an object.
    return { code: 'internal', message: e };
  }
  if (e instanceof Error) return { code: 'internal', message: e.message };
  return { code: 'internal', message: 'Unknown error' };
}

export function isApiError(e: unknown): e is ApiError {
  return isRecord(e) && typeof e.code === 'string' && typeof e.message === 'string';
}

