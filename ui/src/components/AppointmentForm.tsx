// "Book appointment": patient, provider, date and time, and the optional details.

import { useEffect, useId, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { api, toApiError } from '../api';
import {
  APPOINTMENT_FORM_ORDER,
  APPOINTMENT_TYPE_LABELS,
  appointmentFormToFields,
  appointmentMessage,
  availabilityWarning,
  deviceTimeZone,
  emptyAppointmentForm,
  endTime,
  findSlotClash,
  formatWeeklyHours,
  MAX_DURATION_MINUTES,
  MODE_LABELS,
  normalizeTimeInput,
  providerName,
  URGENCY_LABELS,
  type AppointmentFormValues,
  type FormErrors,
} from '../appointments';
import { displayName, formatDayHeading } from '../format';
import { normalizeDateInput } from '../form';
import { useProviders } from '../hooks';
import { APPOINTMENT_TYPES, CONSULTATION_MODES, URGENCIES, type Appointment, type Patient } from '../types';
import { parseIsoDate, todayIso } from '../validation';
import { ErrorBanner } from './ErrorBanner';
import { fieldDomId, SelectField, submitOnEnter, TextField } from './Field';
import { PatientPicker } from './PatientPicker';
import { ErrorText } from './ErrorText';

interface Props {
  /** Preselected patient (booking from the patient's page). */
  patient: Patient | null;
  date: string;
  onSaved: (a: Appointment) => void;
  onCancel: () => void;
  onDirtyChange?: (dirty: boolean) => void;
  refreshKey: string;
  onSyncNow?: () => void;
}

/** Test ids of the form fields, by form key (errors are `field-error-<test id>`). */
const TEST_IDS: Record<keyof AppointmentFormValues, string> = {
  patient_id: 'appt-patient',
  provider_id: 'appt-provider',
  date: 'appt-date',
  start_time: 'appt-time',
  duration_minutes: 'appt-duration',
  appointment_type: 'appt-type',
  mode: 'appt-mode',
  reason: 'appt-reason',
  urgency: 'appt-urgency',
};

export function AppointmentForm({ patient: initialPatient, date, onSaved, onCancel, onDirtyChange, refreshKey, onSyncNow }: Props) {
  const [initial] = useState(() => emptyAppointmentForm(date, initialPatient?.id ?? ''));
  const [values, setValues] = useState<AppointmentFormValues>(initial);
  const [patient, setPatient] = useState<Patient | null>(initialPatient);
  const [errors, setErrors] = useState<FormErrors>({});
  const [banner, setBanner] = useState<{ title: string; detail?: ReactNode; items?: string[] } | null>(null);
  const [submitting, setSubmitting] = useState(false);
  const [dayList, setDayList] = useState<{ date: string; list: Appointment[] } | null>(null);
  const submittingRef = useRef(false);
  const focusNext = useRef<string | null>(null);
  const titleId = useId();
  const providers = useProviders(refreshKey);
  const today = todayIso();

  const dirty = JSON.stringify(values) !== JSON.stringify(initial);
  useEffect(() => {
    onDirtyChange?.(dirty);
  }, [dirty, onDirtyChange]);
  useEffect(() => () => onDirtyChange?.(false), [onDirtyChange]);
  useEffect(() => {
    if (focusNext.current) {
      document.getElementById(fieldDomId(focusNext.current))?.focus();
      focusNext.current = null;
    }
  });

  // The chosen day's bookings, to warn about a slot this device already knows is taken.
  const normDate = normalizeDateInput(values.date);
  const validDate = parseIsoDate(normDate) ? normDate : null;
  useEffect(() => {
    if (!validDate) return;
    let alive = true;
    api.listAppointments({ date: validDate }).then(
      (list) => {
        if (alive) setDayList({ date: validDate, list });
      },
      () => {
        // A hint only.
      },
    );
    return () => {
      alive = false;
    };
  }, [validDate, refreshKey]);

  const set = <K extends keyof AppointmentFormValues>(key: K, v: AppointmentFormValues[K]) => {
    const next = { ...values, [key]: v };
    setValues(next);
    if (key in errors) {
      const e = appointmentFormToFields(next).errors[key];
      setErrors((prev) => {
        const copy = { ...prev };
        if (e) copy[key] = e;
        else delete copy[key];
        return copy;
      });
    }
  };

  const activeProviders = (providers.data ?? []).filter((p) => p.active || p.id === values.provider_id);
  const provider = values.provider_id ? providers.byId.get(values.provider_id) : undefined;
  const time = normalizeTimeInput(values.start_time);
  const duration = /^\d+$/.test(values.duration_minutes.trim()) ? Number(values.duration_minutes) : null;
  const validTime = /^\d{2}:\d{2}$/.test(time) ? time : null;
  const warning = provider && validDate && validTime ? availabilityWarning(provider, validDate, validTime, duration) : null;
  const clash =
    provider && validDate && validTime && dayList?.date === validDate
      ? findSlotClash(dayList.list, { provider_id: provider.id, date: validDate, start_time: validTime, duration_minutes: duration })
      : null;
  const samePatientThatDay =
    patient && validDate && dayList?.date === validDate
      ? dayList.list.filter((a) => a.patient_id === patient.id && a.status !== 'cancelled')
      : [];
  const modeOffered =
    provider && values.mode && provider.consultation_modes.length
      ? provider.consultation_modes.includes(values.mode)
      : true;

  const submit = async () => {
    if (submittingRef.current) return;
    const normalized = { ...values, date: normDate, start_time: time };
    setValues(normalized);
    const { fields, errors: errs } = appointmentFormToFields(normalized, { timeZone: deviceTimeZone() });
    if (Object.keys(errs).length) {
      setErrors(errs);
      setBanner(null);
      focusNext.current = TEST_IDS[APPOINTMENT_FORM_ORDER.find((k) => k in errs) ?? 'patient_id'];
      return;
    }
    setErrors({});
    setBanner(null);
    submittingRef.current = true;
    setSubmitting(true);
    try {
      const saved = await api.bookAppointment(fields);
      submittingRef.current = false;
      onSaved(saved);
    } catch (raw) {
      submittingRef.current = false;
      setSubmitting(false);
      const err = toApiError(raw);
      const title = 'The appointment was not booked';
      if (err.code === 'validation_failed' && err.errors?.length) {
        const placed: FormErrors = {};
        const unplaced: string[] = [];
        for (const fe of err.errors) {
          const msg = appointmentMessage(fe.field, fe.code, fe.message);
          if (fe.field in TEST_IDS) placed[fe.field] ??= msg;
          else unplaced.push(msg);
        }
        setErrors(placed);
        if (unplaced.length) setBanner({ title, items: unplaced });
        const first = APPOINTMENT_FORM_ORDER.find((k) => k in placed);
        if (first) focusNext.current = TEST_IDS[first];
      } else if (err.code === 'not_found') {
        setErrors({ patient_id: 'This patient is no longer on this device (deleted or merged) — choose the patient again' });
        focusNext.current = TEST_IDS.patient_id;
      } else {
        setBanner({ title, detail: <ErrorText error={err} /> });
      }
    }
  };

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    void submit();
  };

  const noProviders = providers.data !== null && activeProviders.length === 0;
  const errorCount = Object.keys(errors).length;

  return (
    <form
      className="page page-form appointment-form"
      data-testid="appointment-form"
      aria-labelledby={titleId}
      noValidate
      onSubmit={onSubmit}
      onKeyDown={(e) => submitOnEnter(e, () => void submit())}
    >
      <div className="page-head">
        <div>
          <h1 id={titleId}>Book appointment{initialPatient ? ` for ${displayName(initialPatient)}` : ''}</h1>
          <p className="page-sub">
            Fields marked <span className="req">*</span> are required. <kbd>Enter</kbd> books, <kbd>Esc</kbd> cancels.
          </p>
        </div>
      </div>

      {banner && (
        <ErrorBanner title={banner.title} onDismiss={() => setBanner(null)}>
          {banner.detail}
          {banner.items && (
            <ul>
              {banner.items.map((m, i) => (
                <li key={i}>{m}</li>
              ))}
            </ul>
          )}
        </ErrorBanner>
      )}
      {errorCount > 0 && (
        <div className="form-summary" role="alert" data-testid="form-error-summary">
          {errorCount === 1 ? '1 field needs attention.' : `${errorCount} fields need attention.`} Nothing has been
          booked yet.
        </div>
      )}

      <fieldset className="section">
        <legend>Who</legend>
        <div className="grid grid-2">
          <PatientPicker
            testId={TEST_IDS.patient_id}
            label="Patient"
            required
            autoFocus={!initialPatient}
            value={patient}
            onChange={(p) => {
              setPatient(p);
              set('patient_id', p?.id ?? '');
            }}
            error={errors.patient_id}
          />
          <div>
            <SelectField
              testId={TEST_IDS.provider_id}
              label="Provider"
              required
              autoFocus={!!initialPatient}
              value={values.provider_id}
              onValueChange={(v) => set('provider_id', v)}
              disabled={noProviders}
              emptyLabel={
                providers.data === null ? (providers.error ? 'Providers could not be loaded' : 'Loading providers…') : noProviders ? 'No providers on this device yet' : 'Choose a provider'
              }
              options={activeProviders.map((p) => ({
                value: p.id,
                label: `${providerName(p)}${p.specializations.length ? ` — ${p.specializations.join(', ')}` : ''}${p.active ? '' : ' (inactive)'}`,
              }))}
              hint={provider && provider.weekly_availability.length ? `Usually works ${formatWeeklyHours(provider)}` : undefined}
              error={errors.provider_id}
            />
            {noProviders && (
              <div className="empty-inline" data-testid="appt-provider-empty" role="note">
                <strong>No providers yet.</strong> Providers are maintained on the server by the clinic administrator
                and arrive on this device with the next sync.
                {onSyncNow && (
                  <>
                    {' '}
                    <button type="button" className="link" onClick={onSyncNow}>
                      Sync now
                    </button>
                  </>
                )}
              </div>
            )}
            {providers.error && providers.data === null && (
              <div className="field-error" role="alert">
                <ErrorText error={providers.error} />{' '}
                <button type="button" className="link" onClick={providers.reload}>
                  Try again
                </button>
              </div>
            )}
          </div>
        </div>
      </fieldset>

      <fieldset className="section">
        <legend>When</legend>
        <div className="grid grid-3">
          <TextField
            testId={TEST_IDS.date}
            label="Date"
            required
            placeholder="YYYY-MM-DD"
            inputMode="numeric"
            maxLength={10}
            value={values.date}
            onValueChange={(v) => set('date', v)}
            onBlur={() => set('date', normalizeDateInput(values.date))}
            hint={
              validDate
                ? `${formatDayHeading(validDate, today)}${validDate < today ? ' — in the past' : ''}`
                : 'Year-month-day, e.g. 2026-03-12'
            }
            error={errors.date}
          />
          <TextField
            testId={TEST_IDS.start_time}
            label="Start time"
            required
            placeholder="HH:MM"
            inputMode="numeric"
            maxLength={5}
            value={values.start_time}
            onValueChange={(v) => set('start_time', v)}
            onBlur={() => set('start_time', normalizeTimeInput(values.start_time))}
            hint={validTime && duration ? `Ends ${endTime(validTime, duration) ?? ''}` : '24-hour, e.g. 09:30'}
            error={errors.start_time}
          />
          <TextField
            testId={TEST_IDS.duration_minutes}
            label="Duration (minutes)"
            required
            inputMode="numeric"
            maxLength={3}
            value={values.duration_minutes}
            onValueChange={(v) => set('duration_minutes', v)}
            hint={`1 to ${MAX_DURATION_MINUTES}; slots are held in 15-minute blocks`}
            error={errors.duration_minutes}
          />
        </div>
        {clash && (
          <div className="field-warning" role="status" data-testid="appt-clash">
            {provider ? providerName(provider) : 'This provider'} already has an appointment at {clash.start_time} that
            day. If both stay booked, the server keeps the first and asks for a new time for the other.
          </div>
        )}
        {warning && (
          <div className="field-warning" role="status" data-testid="appt-availability">
            {warning}
          </div>
        )}
        {samePatientThatDay.length > 0 && (
          <div className="field-warning" role="status">
            {patient ? displayName(patient) : 'This patient'} already has{' '}
            {samePatientThatDay.map((a) => a.start_time ?? '?').join(', ')} that day.
          </div>
        )}
      </fieldset>

      <fieldset className="section">
        <legend>Details</legend>
        <div className="grid grid-3">
          <SelectField
            testId={TEST_IDS.appointment_type}
            label="Type"
            value={values.appointment_type}
            onValueChange={(v) => set('appointment_type', v as AppointmentFormValues['appointment_type'])}
            emptyLabel="Not recorded"
            options={APPOINTMENT_TYPES.map((t) => ({ value: t, label: APPOINTMENT_TYPE_LABELS[t] }))}
            error={errors.appointment_type}
          />
          <SelectField
            testId={TEST_IDS.mode}
            label="Mode"
            value={values.mode}
            onValueChange={(v) => set('mode', v as AppointmentFormValues['mode'])}
            emptyLabel="Not recorded"
            options={CONSULTATION_MODES.map((m) => ({ value: m, label: MODE_LABELS[m] }))}
            hint={modeOffered ? undefined : `${provider ? providerName(provider) : 'The provider'} does not list this mode`}
            error={errors.mode}
          />
          <SelectField
            testId={TEST_IDS.urgency}
            label="Urgency"
            value={values.urgency}
            onValueChange={(v) => set('urgency', v as AppointmentFormValues['urgency'])}
            emptyLabel="Not recorded"
            options={URGENCIES.map((u) => ({ value: u, label: URGENCY_LABELS[u] }))}
            error={errors.urgency}
          />
          <TextField
            testId={TEST_IDS.reason}
            label="Reason"
            className="span-3"
            maxLength={200}
            placeholder="e.g. blood pressure review"
            value={values.reason}
            onValueChange={(v) => set('reason', v)}
            error={errors.reason}
          />
        </div>
      </fieldset>

      <div className="form-actions">
        <span className="form-actions-note" aria-live="polite">
          {submitting
            ? 'Saving on this device…'
            : 'Booked on this device at once — the server confirms the slot at the next sync'}
        </span>
        <button type="button" className="btn" data-testid="cancel-appointment" onClick={onCancel}>
          Cancel <kbd>Esc</kbd>
        </button>
        <button
          type="submit"
          className="btn btn-primary"
          data-testid="submit-appointment"
          disabled={submitting}
        >
          {submitting ? 'Booking…' : 'Book appointment'} <kbd>Enter</kbd>
        </button>
      </div>
    </form>
  );
}
