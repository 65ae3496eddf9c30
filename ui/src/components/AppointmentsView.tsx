// The day view: one day's appointments, in time order, with their actions.

import { useCallback, useEffect, useId, useMemo, useState, type KeyboardEvent as ReactKeyboardEvent, type ReactNode } from 'react';
import { api } from '../api';
import { addDays, providerName } from '../appointments';
import { formatDayHeading, plural } from '../format';
import { normalizeDateInput } from '../form';
import { isTypingTarget, useAsync, usePatientsById, useProviders } from '../hooks';
import type { Appointment } from '../types';
import { parseIsoDate, todayIso } from '../validation';
import { AppointmentList } from './AppointmentList';
import { ErrorBanner } from './ErrorBanner';
import { ErrorText } from './ErrorText';

interface Props {
  date: string;
  onDateChange: (date: string) => void;
  highlightId?: string | null;
  onOpenPatient: (id: string) => void;
  onBook: (date: string) => void;
  onNotice: (message: string) => void;
  /** Extra actions next to "Book appointment" (front-desk check-in). */
  actions?: ReactNode;
  refreshKey: string;
  onSyncNow: () => void;
}

export function AppointmentsView({ date, onDateChange, highlightId, onOpenPatient, onBook, onNotice, refreshKey, onSyncNow, actions }: Props) {
  const [bump, setBump] = useState(0);
  const load = useCallback(() => api.listAppointments({ date }), [date]);
  const appts = useAsync<Appointment[]>(load, date, `${refreshKey}|${bump}`);
  const providers = useProviders(refreshKey);
  const [providerFilter, setProviderFilter] = useState('');
  const [dateText, setDateText] = useState(date);
  const [dateError, setDateError] = useState<string | null>(null);
  const titleId = useId();
  const today = todayIso();

  // Keep the date box in step when the day changes by keys or buttons.
  const [shownDate, setShownDate] = useState(date);
  if (shownDate !== date) {
    setShownDate(date);
    setDateText(date);
    setDateError(null);
  }

  const list = useMemo(() => (appts.stale ? [] : (appts.data ?? [])), [appts.stale, appts.data]);
  const filtered = providerFilter ? list.filter((a) => a.provider_id === providerFilter) : list;
  const patientIds = useMemo(() => list.map((a) => a.patient_id).filter((x): x is string => !!x), [list]);
  const patients = usePatientsById(patientIds, refreshKey);

  // ←/→ change the day, T today, B book, ↓ into the list — whenever focus is not in a text field.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented || e.isComposing || e.ctrlKey || e.metaKey || e.altKey) return;
      if (isTypingTarget(e.target)) return;
      const inList = e.target instanceof HTMLElement && e.target.closest('[data-testid=appointment-list]');
      if (e.key === 'ArrowLeft' || e.key === 'ArrowRight') {
        e.preventDefault();
        onDateChange(addDays(date, e.key === 'ArrowLeft' ? -1 : 1));
      } else if (e.key === 't' || e.key === 'T') {
        e.preventDefault();
        onDateChange(todayIso());
      } else if (e.key === 'b' || e.key === 'B') {
        e.preventDefault();
        onBook(date);
      } else if (e.key === 'ArrowDown' && !inList) {
        const first = document.querySelector<HTMLElement>('[data-testid=appointment-row][tabindex="0"]');
        if (first) {
          e.preventDefault();
          first.focus();
        }
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [date, onDateChange, onBook]);

  const commitDate = () => {
    const v = normalizeDateInput(dateText);
    setDateText(v);
    if (!v) {
      setDateText(date);
      setDateError(null);
    } else if (!parseIsoDate(v)) {
      setDateError('Write the date as YYYY-MM-DD, e.g. 2026-03-12');
    } else {
      setDateError(null);
      if (v !== date) onDateChange(v);
    }
  };

  const onDateKey = (e: ReactKeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      commitDate();
    } else if (e.key === 'Escape' && dateText !== date) {
      e.preventDefault();
      e.stopPropagation();
      setDateText(date);
      setDateError(null);
    } else if ((e.key === 'ArrowUp' || e.key === 'ArrowDown') && parseIsoDate(date)) {
      // In the date box, ↑/↓ step the day (←/→ move the caret).
      e.preventDefault();
      onDateChange(addDays(date, e.key === 'ArrowUp' ? 1 : -1));
    }
  };

  const conflicts = list.filter((a) => a.status === 'conflict_needs_rescheduling').length;
  const pending = list.filter((a) => a.pending).length;
  const active = list.filter((a) => a.status !== 'cancelled').length;
  const providerOptions = providers.data ?? [];

  return (
    <section className="page page-appointments" data-testid="appointments-view" aria-labelledby={titleId}>
      <div className="page-head">
        <div>
          <h1 id={titleId}>Appointments</h1>
          <p className="page-sub" data-testid="appointments-day">
            {formatDayHeading(date, today)}
          </p>
        </div>
        <div className="page-head-actions">
          {actions}
          <button type="button" className="btn btn-primary" data-testid="book-appointment" onClick={() => onBook(date)}>
            Book appointment <kbd>B</kbd>
          </button>
        </div>
      </div>

      <div className="day-bar" role="group" aria-label="Day">
        <button
          type="button"
          className="btn"
          data-testid="day-prev"
          aria-label="Previous day"
          title="Previous day (←)"
          onClick={() => onDateChange(addDays(date, -1))}
        >
          ‹ <kbd>←</kbd>
        </button>
        <div className={`field day-field ${dateError ? 'has-error' : ''}`}>
          <label htmlFor={`${titleId}-date`} className="visually-hidden">
            Day (YYYY-MM-DD)
          </label>
          <input
            id={`${titleId}-date`}
            data-testid="appointments-date"
            type="text"
            inputMode="numeric"
            maxLength={10}
            autoComplete="off"
            spellCheck={false}
            placeholder="YYYY-MM-DD"
            value={dateText}
            aria-invalid={dateError ? true : undefined}
            aria-describedby={dateError ? `${titleId}-date-error` : undefined}
            onChange={(e) => setDateText(e.target.value)}
            onBlur={commitDate}
            onKeyDown={onDateKey}
          />
        </div>
        <button
          type="button"
          className="btn"
          data-testid="day-next"
          aria-label="Next day"
          title="Next day (→)"
          onClick={() => onDateChange(addDays(date, 1))}
        >
          <kbd>→</kbd> ›
        </button>
        <button
          type="button"
          className="btn btn-quiet"
          data-testid="day-today"
          disabled={date === today}
          onClick={() => onDateChange(today)}
        >
          Today <kbd>T</kbd>
        </button>
        <div className="day-bar-spacer" />
        {providerOptions.length > 1 && (
          <>
            <label className="inline-label" htmlFor={`${titleId}-provider`}>
              Provider
            </label>
            <select
              id={`${titleId}-provider`}
              className="compact-select"
              data-testid="appointments-provider-filter"
              value={providerFilter}
              onChange={(e) => setProviderFilter(e.target.value)}
            >
              <option value="">All providers</option>
              {providerOptions.map((p) => (
                <option key={p.id} value={p.id}>
                  {providerName(p)}
                  {p.active ? '' : ' (inactive)'}
                </option>
              ))}
            </select>
          </>
        )}
      </div>
      {dateError && (
        <div className="field-error" id={`${titleId}-date-error`} data-testid="field-error-appointments-date">
          {dateError}
        </div>
      )}

      <div className="list-meta" aria-live="polite">
        {appts.stale && !appts.error
          ? 'Loading appointments…'
          : list.length
            ? [
                plural(active, 'appointment'),
                conflicts ? `${conflicts} need${conflicts === 1 ? 's' : ''} a new time` : null,
                pending ? `${pending} not synced yet` : null,
                providerFilter ? `${filtered.length} shown` : null,
              ]
                .filter(Boolean)
                .join(' · ')
            : ''}
      </div>

      {appts.error && (
        <ErrorBanner title="Appointments could not be loaded" onRetry={appts.reload}>
          <ErrorText error={appts.error} />
        </ErrorBanner>
      )}

      {!appts.stale && !appts.error && list.length === 0 && (
        <div className="empty" data-testid="appointments-empty">
          <p className="empty-title">No appointments on {formatDayHeading(date, today).replace(/^(Today|Tomorrow|Yesterday) · /, '')}</p>
          <p className="empty-hint">
            Press <kbd>B</kbd> to book one, or <kbd>←</kbd> <kbd>→</kbd> to look at other days. Appointments booked on
            other devices arrive here with the next sync.
          </p>
          <button type="button" className="btn btn-primary" onClick={() => onBook(date)}>
            Book appointment
          </button>
        </div>
      )}

      {list.length > 0 && filtered.length === 0 && (
        <div className="empty" data-testid="appointments-empty" data-empty-kind="filtered">
          <p className="empty-title">No appointments with this provider on this day</p>
          <button type="button" className="btn" onClick={() => setProviderFilter('')}>
            Show all providers
          </button>
        </div>
      )}

      {filtered.length > 0 && (
        <div className={`results ${appts.stale ? 'is-stale' : ''}`}>
          <AppointmentList
            appointments={filtered}
            patients={patients}
            providers={providers.byId}
            showDate={false}
            showPatient
            onOpenPatient={onOpenPatient}
            highlightId={highlightId}
            label={`Appointments on ${date}`}
            onChanged={(_a, message) => {
              setBump((n) => n + 1);
              onNotice(message);
            }}
          />
        </div>
      )}

      {providers.data !== null && providers.data.length === 0 && (
        <p className="muted small-note" data-testid="appointments-no-providers">
          No providers on this device yet — they are maintained on the server and arrive with the next sync.{' '}
          <button type="button" className="link" onClick={onSyncNow}>
            Sync now
          </button>
        </p>
      )}
    </section>
  );
}
