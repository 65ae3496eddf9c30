import { describe, expect, it } from 'vitest';
import {
  actionsFor,
  addDays,
  appointmentFormToFields,
  availabilityWarning,
  cancelFields,
  emptyAppointmentForm,
  endTime,
  findSlotClash,
  normalizeTimeInput,
  parseTime,
  rescheduleFields,
  validateAppointmentFields,
  weekdayOf,
} from './appointments';
import type { Appointment, Provider } from './types';

const PATIENT = '0191a5c0-0000-7000-8000-000000000001';
const PROVIDER = '0191a5c0-0000-7000-8000-0000000000aa';

describe('times and days', () => {
  it('parses and normalizes times', () => {
    expect(parseTime('09:30')).toBe(570);
    expect(parseTime('24:00')).toBeNull();
    expect(parseTime('9:30')).toBeNull();
    expect(['930', '0930', '9:30', '9.30', '9h30'].map(normalizeTimeInput)).toEqual(Array(5).fill('09:30'));
    expect(normalizeTimeInput('14')).toBe('14:00');
    expect(normalizeTimeInput(' soon ')).toBe('soon');
    expect(endTime('23:30', 30)).toBe('24:00');
    expect(endTime(null, 30)).toBeNull();
  });

  it('moves across months, years and leap days', () => {
    expect(addDays('2026-02-28', 1)).toBe('2026-03-01');
    expect(addDays('2028-02-28', 1)).toBe('2028-02-29');
    expect(addDays('2026-01-01', -1)).toBe('2025-12-31');
    expect(weekdayOf('2026-03-12')).toBe('thu');
  });
});

describe('booking form → fields', () => {
  it('builds a booking with status scheduled and leaves empty optional fields out', () => {
    const v = {
      ...emptyAppointmentForm('2026-03-12', PATIENT),
      provider_id: PROVIDER,
      start_time: '930',
      appointment_type: 'follow_up' as const,
      reason: '  Blood pressure review ',
    };
    const { fields, errors } = appointmentFormToFields(v, { timeZone: 'Africa/Nairobi' });
    expect(errors).toEqual({});
    expect(fields).toEqual({
      status: 'scheduled',
      patient_id: PATIENT,
      provider_id: PROVIDER,
      date: '2026-03-12',
      start_time: '09:30',
      duration_minutes: 30,
      appointment_type: 'follow_up',
      reason: 'Blood pressure review',
      time_zone: 'Africa/Nairobi',
    });
  });

  it('reports every missing or bad field by form field', () => {
    const v = { ...emptyAppointmentForm('2026-02-30'), start_time: '25:00', duration_minutes: '1h' };
    const { errors } = appointmentFormToFields(v);
    expect(errors).toEqual({
      patient_id: 'Choose a patient',
      provider_id: 'Choose a provider',
      date: 'Date must be a real date written YYYY-MM-DD',
      start_time: 'Start time must be a time written HH:MM (24-hour), e.g. 09:30',
      duration_minutes: 'Duration must be a whole number of minutes',
    });
  });

  it('refuses appointments that run past midnight or last too long', () => {
    const base = { ...emptyAppointmentForm('2026-03-12', PATIENT), provider_id: PROVIDER };
    expect(appointmentFormToFields({ ...base, start_time: '23:45', duration_minutes: '30' }).errors).toEqual({
      duration_minutes: 'The appointment must end by midnight of its day',
    });
    expect(appointmentFormToFields({ ...base, start_time: '08:00', duration_minutes: '481' }).errors).toEqual({
      duration_minutes: 'Duration must be 1 to 480 minutes',
    });
    expect(appointmentFormToFields({ ...base, start_time: '08:00', duration_minutes: '0' }).errors.duration_minutes).toBeTruthy();
  });

  it('drops a time zone the backend would refuse', () => {
    const v = { ...emptyAppointmentForm('2026-03-12', PATIENT), provider_id: PROVIDER, start_time: '10:00' };
    expect(appointmentFormToFields(v, { timeZone: 'Not a zone!' }).fields.time_zone).toBeUndefined();
  });
});

describe('mirror of the backend rules', () => {
  it('keeps server-only and immutable fields out of updates', () => {
    const codes = validateAppointmentFields(
      { status: 'conflict_needs_rescheduling', patient_id: PATIENT, date: null },
      'update',
    ).map((e) => `${e.field}:${e.code}`);
    expect(codes).toEqual(['patient_id:immutable', 'date:required', 'status:server_only']);
    expect(validateAppointmentFields({}, 'update').map((e) => e.field)).toEqual(['fields']);
  });
});

describe('status actions', () => {
  it('offers what each status allows', () => {
    expect(actionsFor('scheduled')).toEqual(['confirm', 'check_in', 'no_show', 'reschedule', 'cancel']);
    expect(actionsFor('in_progress')).toEqual(['complete']);
    expect(actionsFor('completed')).toEqual([]);
    expect(actionsFor('conflict_needs_rescheduling')).toContain('reschedule');
  });

  it('cancels with a reason and a time', () => {
    const now = new Date('2026-03-12T08:00:00Z');
    expect(cancelFields({ reason: ' Patient travelling ', cancelled_by: 'patient' }, now)).toEqual({
      fields: {
        status: 'cancelled',
        cancellation: { reason: 'Patient travelling', cancelled_by: 'patient', cancelled_at: '2026-03-12T08:00:00.000Z' },
      },
      errors: {},
    });
    expect(cancelFields({ reason: ' ', cancelled_by: '' }, now).errors).toEqual({
      'cancellation.reason': 'Say why the appointment is cancelled',
    });
  });

  it('reschedules to a new slot and remembers the old one', () => {
    const a = { date: '2026-03-12', start_time: '10:00', duration_minutes: 30 };
    expect(rescheduleFields(a, { date: '2026-03-13', start_time: '1100', reason: 'Slot taken' })).toEqual({
      fields: {
        date: '2026-03-13',
        start_time: '11:00',
        status: 'scheduled',
        rescheduling: { previous_date: '2026-03-12', previous_start_time: '10:00', reason: 'Slot taken' },
      },
      errors: {},
    });
    expect(rescheduleFields(a, { date: '2026-03-12', start_time: '10:00', reason: '' }).errors.start_time).toBe(
      'Choose a different date or time',
    );
    expect(rescheduleFields(a, { date: '2026-03-12', start_time: '23:45', reason: '' }).errors.start_time).toMatch(
      /past midnight/,
    );
  });
});

describe('provider availability hints', () => {
  const p: Provider = {
    id: PROVIDER,
    clinic_id: 'c',
    title: 'Dr',
    given_name: 'Wanjiru',
    family_name: 'Kamau',
    specializations: [],
    services: [],
    weekly_availability: [{ day: 'thu', start: '08:00', end: '13:00' }],
    vacations: [{ from: '2026-04-01', to: '2026-04-10', reason: 'Leave' }],
    consultation_modes: [],
    active: true,
  };
  it('warns outside hours, on other days and on vacation', () => {
    expect(availabilityWarning(p, '2026-03-12', '09:00', 30)).toBeNull();
    expect(availabilityWarning(p, '2026-03-12', '12:45', 30)).toMatch(/Outside Dr Wanjiru Kamau's hours on Thursdays/);
    expect(availabilityWarning(p, '2026-03-13', '09:00', 30)).toMatch(/does not usually work on Fridays/);
    expect(availabilityWarning(p, '2026-04-02', '09:00', 30)).toMatch(/away 2026-04-01 to 2026-04-10 \(Leave\)/);
  });
});

describe('slot clashes (the server rule, as far as this device knows)', () => {
  const a = (id: string, start: string, duration: number, status: Appointment['status'] = 'scheduled'): Appointment => ({
    id,
    patient_id: PATIENT,
    provider_id: PROVIDER,
    clinic_id: 'c',
    appointment_type: null,
    mode: null,
    reason: null,
    symptoms: null,
    urgency: null,
    date: '2026-03-12',
    start_time: start,
    duration_minutes: duration,
    time_zone: null,
    status,
    cancellation: null,
    rescheduling: null,
    conflict: null,
    deleted: null,
    pending: false,
  });
  const want = { provider_id: PROVIDER, date: '2026-03-12', start_time: '10:20', duration_minutes: 15 };

  it('finds appointments sharing a 15-minute block', () => {
    expect(findSlotClash([a('x', '10:00', 30)], want)?.id).toBe('x');
    expect(findSlotClash([a('x', '10:00', 15)], want)).toBeNull();
    expect(findSlotClash([a('x', '10:00', 30, 'cancelled')], want)).toBeNull();
    expect(findSlotClash([a('x', '10:00', 30)], { ...want, id: 'x' })).toBeNull();
    expect(findSlotClash([a('x', '10:00', 30)], { ...want, provider_id: 'other' })).toBeNull();
  });
});
