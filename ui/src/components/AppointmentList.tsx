// Appointment rows with their actions (confirm, check in, start, complete, no-show, cancel,
// reschedule). Used by the day view and by a patient's Appointments tab.

import { useEffect, useRef, useState, type FormEvent, type KeyboardEvent, type ReactNode } from 'react';
import { api, toApiError } from '../api';
import {
  ACTION_LABELS,
  APPOINTMENT_STATUS_LABELS,
  APPOINTMENT_TYPE_LABELS,
  actionsFor,
  appointmentMessage,
  availabilityWarning,
  cancelFields,
  endTime,
  findSlotClash,
  holdsSlot,
  MODE_LABELS,
  normalizeTimeInput,
  providerName,
  rescheduleFields,
  statusChangeFields,
  URGENCY_LABELS,
  type AppointmentAction,
  type FormErrors,
} from '../appointments';
import { displayName, formatDate, formatDateTime, formatDayHeading } from '../format';
import { normalizeDateInput } from '../form';
import type { ApiError, Appointment, AppointmentFields, Patient, Provider } from '../types';
import { parseIsoDate, todayIso } from '../validation';
import { fieldDomId, SelectField, submitOnEnter, TextField } from './Field';
import { ErrorText } from './ErrorText';

interface Props {
  appointments: readonly Appointment[];
  patients: Map<string, Patient | null>;
  providers: Map<string, Provider>;
  /** Day view: no date column; patient tab: no patient column. */
  showDate: boolean;
  showPatient: boolean;
  onOpenPatient?: (id: string) => void;
  /** After a change was saved; `message` confirms it. */
  onChanged: (a: Appointment, message: string) => void;
  /** Select and scroll to this appointment (e.g. opened from a conflict note). */
  highlightId?: string | null;
  label: string;
}

type Open = { id: string; kind: 'cancel' | 'reschedule' } | null;

const patientText = (patients: Map<string, Patient | null>, id: string | null) => {
  if (!id) return 'No patient';
  const p = patients.get(id);
  if (p === undefined) return 'Loading…';
  if (p === null) return 'Patient not on this device';
  return displayName(p);
};

const capitalize = (s: string) => (s ? s.charAt(0).toUpperCase() + s.slice(1) : s);

export function AppointmentList({
  appointments,
  patients,
  providers,
  showDate,
  showPatient,
  onOpenPatient,
  onChanged,
  highlightId,
  label,
}: Props) {
  const [selectedId, setSelectedId] = useState<string | null>(highlightId ?? null);
  const [open, setOpen] = useState<Open>(null);
  const [busyId, setBusyId] = useState<string | null>(null);
  const [rowError, setRowError] = useState<{ id: string; message: ReactNode } | null>(null);
  const listRef = useRef<HTMLUListElement>(null);

  // A highlighted appointment (from a conflict note) is selected, scrolled to and focused once.
  const focusedHighlight = useRef<string | null>(null);
  useEffect(() => {
    if (!highlightId || focusedHighlight.current === highlightId) return;
    const el = listRef.current?.querySelector<HTMLElement>(`[data-appointment-id="${CSS.escape(highlightId)}"]`);
    if (!el) return;
    focusedHighlight.current = highlightId;
    el.scrollIntoView?.({ block: 'center' });
    el.focus();
  }, [highlightId, appointments]);

  const focusRow = (id: string) => {
    setSelectedId(id);
    listRef.current?.querySelector<HTMLElement>(`[data-appointment-id="${CSS.escape(id)}"]`)?.focus();
  };

  const onRowKey = (e: KeyboardEvent<HTMLLIElement>, a: Appointment) => {
    if (e.target !== e.currentTarget) return; // keys inside buttons and inline forms are theirs
    const i = appointments.findIndex((x) => x.id === a.id);
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      const next = appointments[Math.min(appointments.length - 1, Math.max(0, i + (e.key === 'ArrowDown' ? 1 : -1)))];
      if (next) focusRow(next.id);
    } else if (e.key === 'Home' || e.key === 'End') {
      e.preventDefault();
      const next = appointments[e.key === 'Home' ? 0 : appointments.length - 1];
      if (next) focusRow(next.id);
    } else if (e.key === 'Enter' && a.patient_id && onOpenPatient) {
      e.preventDefault();
      onOpenPatient(a.patient_id);
    }
  };

  const save = async (a: Appointment, fields: AppointmentFields, message: string): Promise<ApiError | null> => {
    setBusyId(a.id);
    setRowError(null);
    try {
      const saved = await api.updateAppointment(a.id, fields);
      setBusyId(null);
      onChanged(saved, message);
      return null;
    } catch (raw) {
      setBusyId(null);
      return toApiError(raw);
    }
  };

  const act = async (a: Appointment, action: AppointmentAction) => {
    if (action === 'cancel' || action === 'reschedule') {
      setOpen({ id: a.id, kind: action });
      setSelectedId(a.id);
      return;
    }
    const who = patientText(patients, a.patient_id);
    const done: Record<typeof action, string> = {
      confirm: `${who}: appointment confirmed.`,
      check_in: `${who} checked in.`,
      start: `${who}: consultation started.`,
      complete: `${who}: appointment completed.`,
      no_show: `${who} marked as a no-show.`,
    };
    const err = await save(a, statusChangeFields(action), done[action]);
    if (err) setRowError({ id: a.id, message: <ErrorText error={err} /> });
  };

  // The row that takes Tab focus: the last one chosen if still listed, else the highlighted, else the first.
  const effectiveSelected =
    (selectedId && appointments.some((a) => a.id === selectedId) ? selectedId : null) ??
    (highlightId && appointments.some((a) => a.id === highlightId) ? highlightId : null) ??
    appointments[0]?.id ??
    null;

  return (
    <ul className="appt-list" ref={listRef} aria-label={label} data-testid="appointment-list">
      {appointments.map((a) => {
        const selected = effectiveSelected === a.id;
        const conflict = a.status === 'conflict_needs_rescheduling';
        const provider = a.provider_id ? providers.get(a.provider_id) : undefined;
        const end = endTime(a.start_time, a.duration_minutes);
        const actions = actionsFor(a.status);
        const isOpen = open?.id === a.id ? open.kind : null;
        const busy = busyId === a.id;
        return (
          <li
            key={a.id}
            className={`appt-row st-${a.status ?? 'unknown'} ${selected ? 'is-selected' : ''} ${
              highlightId === a.id ? 'is-highlighted' : ''
            }`}
            data-testid="appointment-row"
            data-appointment-id={a.id}
            data-status={a.status ?? ''}
            tabIndex={selected ? 0 : -1}
            aria-busy={busy || undefined}
            onFocus={(e) => {
              if (e.target === e.currentTarget) setSelectedId(a.id);
            }}
            onKeyDown={(e) => onRowKey(e, a)}
          >
            <div className="appt-time">
              {showDate && <div className="appt-date">{a.date ? formatDate(a.date) : 'No date'}</div>}
              <div className="appt-clock">
                {a.start_time ?? '--:--'}
                {end && <span className="muted">–{end}</span>}
              </div>
              {a.duration_minutes ? <div className="muted appt-duration">{a.duration_minutes} min</div> : null}
            </div>

            <div className="appt-main">
              <div className="appt-title">
                {showPatient &&
                  (a.patient_id && onOpenPatient ? (
                    <button
                      type="button"
                      className="link appt-patient"
                      data-testid="appointment-patient"
                      tabIndex={-1}
                      onClick={() => a.patient_id && onOpenPatient(a.patient_id)}
                    >
                      {patientText(patients, a.patient_id)}
                    </button>
                  ) : (
                    <span className="appt-patient">{patientText(patients, a.patient_id)}</span>
                  ))}
                <span className="appt-meta">
                  {[
                    a.appointment_type ? APPOINTMENT_TYPE_LABELS[a.appointment_type] : null,
                    a.mode ? MODE_LABELS[a.mode] : null,
                  ]
                    .filter(Boolean)
                    .join(' · ') || 'Type not recorded'}
                </span>
                {a.urgency && a.urgency !== 'low' && (
                  <span className={`badge urgency-${a.urgency}`}>{URGENCY_LABELS[a.urgency]} urgency</span>
                )}
              </div>
              <div className="appt-provider" data-testid="appointment-provider">
                {provider ? (
                  providerName(provider)
                ) : (
                  <span className="muted">{a.provider_id ? 'Provider not on this device yet' : 'No provider'}</span>
                )}
                {a.reason && <span className="appt-reason"> · {a.reason}</span>}
              </div>

              {conflict && (
                <div className="appt-conflict-reason" role="note">
                  <strong>Slot taken:</strong>{' '}
                  {a.conflict?.reason
                    ? capitalize(a.conflict.reason)
                    : 'another appointment already holds this time; choose a new time'}
                </div>
              )}
              {a.status === 'cancelled' && a.cancellation && (
                <div className="muted appt-note">
                  Cancelled{a.cancellation.reason ? `: ${a.cancellation.reason}` : ''}
                  {a.cancellation.cancelled_by ? ` (by ${a.cancellation.cancelled_by})` : ''}
                  {a.cancellation.cancelled_at ? ` · ${formatDateTime(a.cancellation.cancelled_at)}` : ''}
                </div>
              )}
              {a.rescheduling?.previous_date && a.status !== 'cancelled' && (
                <div className="muted appt-note">
                  Moved from {formatDate(a.rescheduling.previous_date)}
                  {a.rescheduling.previous_start_time ? ` ${a.rescheduling.previous_start_time}` : ''}
                  {a.rescheduling.reason ? ` — ${a.rescheduling.reason}` : ''}
                </div>
              )}
              {a.pending && (
                <div className="appt-pending" data-testid="appointment-pending" role="status">
                  <span aria-hidden="true">⟳ </span>
                  {holdsSlot(a.status)
                    ? 'Booked on this device — the server confirms the slot at the next sync'
                    : 'Saved on this device — waiting to sync'}
                </div>
              )}
              {rowError?.id === a.id && (
                <div className="field-error" role="alert" data-testid="appointment-error">
                  {rowError.message}
                </div>
              )}

              {actions.length > 0 && !isOpen && (
                <div className="appt-actions" role="group" aria-label="Actions">
                  {(conflict ? (['reschedule', 'cancel'] as AppointmentAction[]) : actions).map((action) => (
                    <button
                      key={action}
                      type="button"
                      className={`btn btn-small ${conflict && action === 'reschedule' ? 'btn-danger' : ''}`}
                      data-testid={`appointment-action-${action}`}
                      disabled={busy}
                      onClick={() => void act(a, action)}
                    >
                      {conflict && action === 'reschedule' ? 'Reschedule' : ACTION_LABELS[action]}
                    </button>
                  ))}
                </div>
              )}

              {isOpen === 'cancel' && (
                <CancelForm
                  appointment={a}
                  onClose={() => {
                    setOpen(null);
                    focusRow(a.id);
                  }}
                  onSubmit={async (fields) => {
                    const err = await save(a, fields, `${patientText(patients, a.patient_id)}: appointment cancelled.`);
                    if (!err) setOpen(null);
                    return err;
                  }}
                />
              )}
              {isOpen === 'reschedule' && (
                <RescheduleForm
                  appointment={a}
                  provider={provider}
                  onClose={() => {
                    setOpen(null);
                    focusRow(a.id);
                  }}
                  onSubmit={async (fields) => {
                    const err = await save(
                      a,
                      fields,
                      `${patientText(patients, a.patient_id)}: moved to ${formatDate(fields.date ?? '')} ${fields.start_time ?? ''}. The server confirms the slot at the next sync.`,
                    );
                    if (!err) setOpen(null);
                    return err;
                  }}
                />
              )}
            </div>

            <div className="appt-status">
              {conflict ? (
                <span className="badge badge-conflict" data-testid="appointment-conflict">
                  <span aria-hidden="true">⚠ </span>
                  Needs a new time
                </span>
              ) : (
                <span className={`badge appt-badge st-${a.status ?? 'unknown'}`} data-testid="appointment-status">
                  {a.status ? APPOINTMENT_STATUS_LABELS[a.status] : 'No status'}
                </span>
              )}
            </div>
          </li>
        );
      })}
    </ul>
  );
}

/** Escape inside an inline form closes it (and must not also leave the page). */
function escapeCloses(e: KeyboardEvent<HTMLElement>, close: () => void) {
  if (e.key === 'Escape') {
    e.preventDefault();
    e.stopPropagation();
    close();
  }
}

/** Places backend field errors on the inline form's fields; the rest become one message. */
function placeErrors(err: ApiError, known: Record<string, string>): { errors: FormErrors; other: ReactNode } {
  if (err.code !== 'validation_failed' || !err.errors?.length) return { errors: {}, other: <ErrorText error={err} /> };
  const errors: FormErrors = {};
  const other: string[] = [];
  for (const fe of err.errors) {
    const msg = appointmentMessage(fe.field, fe.code, fe.message);
    if (fe.field in known) errors[known[fe.field]] ??= msg;
    else other.push(msg);
  }
  return { errors, other: other.length ? other.join('; ') : null };
}

function CancelForm({
  appointment,
  onSubmit,
  onClose,
}: {
  appointment: Appointment;
  onSubmit: (f: AppointmentFields) => Promise<ApiError | null>;
  onClose: () => void;
}) {
  const [reason, setReason] = useState('');
  const [by, setBy] = useState('');
  const [errors, setErrors] = useState<FormErrors>({});
  const [other, setOther] = useState<ReactNode>(null);
  const [busy, setBusy] = useState(false);
  const testPrefix = 'cancel';

  const submit = async () => {
    if (busy) return;
    const { fields, errors: errs } = cancelFields({ reason, cancelled_by: by });
    if (Object.keys(errs).length) {
      setErrors(errs);
      document.getElementById(fieldDomId(`${testPrefix}-reason`))?.focus();
      return;
    }
    setBusy(true);
    const err = await onSubmit(fields);
    setBusy(false);
    if (err) {
      const placed = placeErrors(err, { 'cancellation.reason': 'cancellation.reason', 'cancellation.cancelled_by': 'by' });
      setErrors(placed.errors);
      setOther(placed.other);
    }
  };

  return (
    <form
      className="inline-form"
      data-testid="cancel-form"
      aria-label={`Cancel the ${appointment.start_time ?? ''} appointment`}
      noValidate
      onSubmit={(e: FormEvent) => {
        e.preventDefault();
        void submit();
      }}
      onKeyDown={(e) => {
        escapeCloses(e, onClose);
        submitOnEnter(e, () => void submit());
      }}
    >
      <div className="inline-form-title">Cancel this appointment?</div>
      <div className="grid inline-grid inline-grid-2">
        <TextField
          testId="cancel-reason"
          label="Reason"
          required
          autoFocus
          placeholder="e.g. patient is travelling"
          maxLength={200}
          value={reason}
          onValueChange={(v) => {
            setReason(v);
            if (errors['cancellation.reason'] && v.trim()) setErrors(({ ['cancellation.reason']: _, ...rest }) => rest);
          }}
          error={errors['cancellation.reason']}
          className="grow"
        />
        <SelectField
          testId="cancel-by"
          label="Asked for by"
          value={by}
          onValueChange={setBy}
          emptyLabel="Not recorded"
          options={[
            { value: 'patient', label: 'The patient' },
            { value: 'clinic', label: 'The clinic' },
          ]}
          error={errors.by}
        />
      </div>
      {other && (
        <div className="field-error" role="alert">
          {other}
        </div>
      )}
      <div className="inline-form-actions">
        <button type="button" className="btn btn-small" data-testid="cancel-cancel" onClick={onClose}>
          Keep appointment <kbd>Esc</kbd>
        </button>
        <button type="submit" className="btn btn-small btn-danger" data-testid="submit-cancel" disabled={busy}>
          {busy ? 'Cancelling…' : 'Cancel appointment'} <kbd>Enter</kbd>
        </button>
      </div>
    </form>
  );
}

function RescheduleForm({
  appointment,
  provider,
  onSubmit,
  onClose,
}: {
  appointment: Appointment;
  provider: Provider | undefined;
  onSubmit: (f: AppointmentFields) => Promise<ApiError | null>;
  onClose: () => void;
}) {
  const today = todayIso();
  const [date, setDate] = useState(
    appointment.date && appointment.date >= today ? appointment.date : today,
  );
  const [time, setTime] = useState(appointment.status === 'conflict_needs_rescheduling' ? '' : (appointment.start_time ?? ''));
  const [reason, setReason] = useState(
    appointment.status === 'conflict_needs_rescheduling' ? 'The slot was already taken' : '',
  );
  const [errors, setErrors] = useState<FormErrors>({});
  const [other, setOther] = useState<ReactNode>(null);
  const [busy, setBusy] = useState(false);
  const [sameDay, setSameDay] = useState<{ date: string; list: Appointment[] } | null>(null);

  // What this device knows of the provider's day, to avoid picking a taken slot.
  const normDate = normalizeDateInput(date);
  const validDate = parseIsoDate(normDate) ? normDate : null;
  useEffect(() => {
    if (!validDate) return;
    let alive = true;
    api.listAppointments({ date: validDate }).then(
      (list) => {
        if (alive) setSameDay({ date: validDate, list });
      },
      () => {
        // Only a hint: without it the form still works.
      },
    );
    return () => {
      alive = false;
    };
  }, [validDate]);

  const taken =
    sameDay && sameDay.date === validDate && appointment.provider_id
      ? sameDay.list.filter(
          (x) =>
            x.id !== appointment.id &&
            x.provider_id === appointment.provider_id &&
            (x.status === 'scheduled' || x.status === 'confirmed' || x.status === 'checked_in' || x.status === 'in_progress'),
        )
      : [];
  const normTime = normalizeTimeInput(time);
  const clash =
    validDate && appointment.provider_id && /^\d{2}:\d{2}$/.test(normTime)
      ? findSlotClash(taken, {
          id: appointment.id,
          provider_id: appointment.provider_id,
          date: validDate,
          start_time: normTime,
          duration_minutes: appointment.duration_minutes,
        })
      : null;
  const warning =
    provider && validDate && /^\d{2}:\d{2}$/.test(normTime)
      ? availabilityWarning(provider, validDate, normTime, appointment.duration_minutes)
      : null;

  const submit = async () => {
    if (busy) return;
    const { fields, errors: errs } = rescheduleFields(appointment, { date: normDate, start_time: time, reason });
    setDate(normDate);
    setTime(normalizeTimeInput(time));
    if (Object.keys(errs).length) {
      setErrors(errs);
      const first = ['date', 'start_time', 'rescheduling.reason'].find((k) => k in errs);
      const ids: Record<string, string> = {
        date: 'reschedule-date',
        start_time: 'reschedule-time',
        'rescheduling.reason': 'reschedule-reason',
      };
      if (first) document.getElementById(fieldDomId(ids[first]))?.focus();
      return;
    }
    setErrors({});
    setBusy(true);
    const err = await onSubmit(fields);
    setBusy(false);
    if (err) {
      const placed = placeErrors(err, {
        date: 'date',
        start_time: 'start_time',
        duration_minutes: 'start_time',
        'rescheduling.reason': 'rescheduling.reason',
      });
      setErrors(placed.errors);
      setOther(placed.other);
    }
  };

  return (
    <form
      className="inline-form"
      data-testid="reschedule-form"
      aria-label="Reschedule the appointment"
      noValidate
      onSubmit={(e: FormEvent) => {
        e.preventDefault();
        void submit();
      }}
      onKeyDown={(e) => {
        escapeCloses(e, onClose);
        submitOnEnter(e, () => void submit());
      }}
    >
      <div className="inline-form-title">
        New date and time
        {appointment.date && (
          <span className="muted">
            {' '}
            (now {formatDate(appointment.date)} {appointment.start_time ?? ''}
            {appointment.duration_minutes ? `, ${appointment.duration_minutes} min` : ''})
          </span>
        )}
      </div>
      <div className="grid inline-grid">
        <TextField
          testId="reschedule-date"
          label="Date"
          required
          autoFocus={appointment.status !== 'conflict_needs_rescheduling'}
          placeholder="YYYY-MM-DD"
          inputMode="numeric"
          maxLength={10}
          value={date}
          onValueChange={setDate}
          onBlur={() => setDate(normalizeDateInput(date))}
          hint={validDate ? formatDayHeading(validDate, today) : 'Year-month-day'}
          error={errors.date}
        />
        <TextField
          testId="reschedule-time"
          label="Start time"
          required
          autoFocus={appointment.status === 'conflict_needs_rescheduling'}
          placeholder="HH:MM"
          inputMode="numeric"
          maxLength={5}
          value={time}
          onValueChange={setTime}
          onBlur={() => setTime(normalizeTimeInput(time))}
          hint="24-hour, e.g. 14:30"
          error={errors.start_time}
        />
        <TextField
          testId="reschedule-reason"
          label="Reason"
          placeholder="Optional"
          maxLength={200}
          value={reason}
          onValueChange={setReason}
          error={errors['rescheduling.reason']}
          className="grow"
        />
      </div>
      {taken.length > 0 && (
        <div className="hint" data-testid="reschedule-taken">
          Already booked with {provider ? providerName(provider) : 'this provider'} that day:{' '}
          {taken.map((x) => `${x.start_time ?? '?'}–${endTime(x.start_time, x.duration_minutes) ?? '?'}`).join(', ')}
        </div>
      )}
      {clash && (
        <div className="field-warning" role="status" data-testid="reschedule-clash">
          Overlaps the {clash.start_time} appointment with this provider — the server would keep only one of them.
        </div>
      )}
      {warning && (
        <div className="field-warning" role="status">
          {warning}
        </div>
      )}
      {other && (
        <div className="field-error" role="alert">
          {other}
        </div>
      )}
      <div className="inline-form-actions">
        <button type="button" className="btn btn-small" data-testid="cancel-reschedule" onClick={onClose}>
          Back <kbd>Esc</kbd>
        </button>
        <button type="submit" className="btn btn-small btn-primary" data-testid="submit-reschedule" disabled={busy}>
          {busy ? 'Saving…' : 'Reschedule'} <kbd>Enter</kbd>
        </button>
      </div>
    </form>
  );
}
