// "New record" / "Amend record": notes, vitals, diagnoses, plan and prescriptions. An amendment is a
// new version pointing at the one it replaces; the old one stays in the history.

import { useEffect, useId, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { api, toApiError } from '../api';
import { displayName } from '../format';
import {
  buildRecordFields,
  emptyDiagnosis,
  emptyPrescription,
  emptyRecordForm,
  formatHlc,
  recordMessage,
  recordPayloadFieldToFormField,
  sameClinicalContent,
  versionToRecordForm,
  VITALS,
  type CarriedOver,
  type FormErrors,
  type RecordFormValues,
} from '../records';
import type { MedicalRecordVersion, Patient, RecordVersionView, Vitals } from '../types';
import { ErrorBanner } from './ErrorBanner';
import { fieldDomId, submitOnEnter, TextAreaField, TextField } from './Field';
import { ErrorText } from './ErrorText';

/** Short test ids for the vitals inputs: `record-systolic`, `record-temperature`, ... */
export const VITAL_TEST_IDS: Record<keyof Vitals, string> = {
  systolic_mmhg: 'record-systolic',
  diastolic_mmhg: 'record-diastolic',
  pulse_bpm: 'record-pulse',
  temperature_dc: 'record-temperature',
  respiratory_rate: 'record-respiratory-rate',
  spo2_percent: 'record-spo2',
  weight_g: 'record-weight',
  height_mm: 'record-height',
};

/** The test id of the input a form path belongs to. */
function testIdFor(path: string): string | null {
  if (path === 'author') return 'record-author';
  if (path === 'consultation_notes') return 'record-notes';
  if (path === 'plan') return 'record-plan';
  let m = /^vitals\.(\w+)$/.exec(path);
  if (m && m[1] in VITAL_TEST_IDS) return VITAL_TEST_IDS[m[1] as keyof Vitals];
  m = /^diagnoses\[(\d+)\]\.(code|description)$/.exec(path);
  if (m) return `record-diagnosis-${m[2]}-${m[1]}`;
  m = /^prescriptions\[(\d+)\]\.(medication|dose|route|frequency|duration_days)$/.exec(path);
  if (m) return `record-rx-${m[2] === 'duration_days' ? 'days' : m[2]}-${m[1]}`;
  return null;
}

interface Props {
  patient: Patient;
  /** The version being amended, or null for a new record. */
  amends: RecordVersionView | null;
  onSaved: (v: MedicalRecordVersion, amended: boolean) => void;
  onCancel: () => void;
  onDirtyChange?: (dirty: boolean) => void;
  /** The signed-in staff member's name: a record's author is whoever signs it, never typed. */
  signedInAs?: string;
}

export function RecordForm({ patient, amends, onSaved, onCancel, onDirtyChange, signedInAs }: Props) {
  const [start] = useState<{ values: RecordFormValues; carried: CarriedOver }>(() => {
    // The device replaces this with the signed-in account's name when it signs the record.
    const author = signedInAs || 'Signed-in staff member';
    return amends ? versionToRecordForm(amends, author) : { values: emptyRecordForm(author), carried: {} };
  });
  const [values, setValues] = useState<RecordFormValues>(start.values);
  const [errors, setErrors] = useState<FormErrors>({});
  const [banner, setBanner] = useState<{ title: string; detail?: ReactNode; items?: string[] } | null>(null);
  const [submitting, setSubmitting] = useState(false);
  const submittingRef = useRef(false);
  const focusNext = useRef<string | null>(null);
  const titleId = useId();

  const dirty = JSON.stringify(values) !== JSON.stringify(start.values);
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

  const recheck = (next: RecordFormValues, path: string) => {
    if (!(path in errors)) return;
    const e = buildRecordFields(next, patient.id, start.carried).errors;
    setErrors((prev) => {
      const copy = { ...prev };
      if (e[path]) copy[path] = e[path];
      else delete copy[path];
      // Filling anything in settles "the record is empty".
      if (!e.fields) delete copy.fields;
      return copy;
    });
  };

  const setTop = (key: 'author' | 'consultation_notes' | 'plan', v: string) => {
    const next = { ...values, [key]: v };
    setValues(next);
    recheck(next, key);
    if ('fields' in errors) recheck(next, 'fields');
  };
  const setVital = (key: keyof Vitals, v: string) => {
    const next = { ...values, vitals: { ...values.vitals, [key]: v } };
    setValues(next);
    recheck(next, `vitals.${key}`);
    if ('fields' in errors) recheck(next, 'fields');
  };
  const setDiagnosis = (i: number, key: 'code' | 'description', v: string) => {
    const next = { ...values, diagnoses: values.diagnoses.map((d, j) => (j === i ? { ...d, [key]: v } : d)) };
    setValues(next);
    recheck(next, `diagnoses[${i}].${key}`);
  };
  const setPrescription = (i: number, key: 'medication' | 'dose' | 'route' | 'frequency' | 'duration_days', v: string) => {
    const next = { ...values, prescriptions: values.prescriptions.map((p, j) => (j === i ? { ...p, [key]: v } : p)) };
    setValues(next);
    recheck(next, `prescriptions[${i}].${key}`);
  };

  /** Drops row `index` of `list` from the errors and moves later rows' errors up. */
  const shiftErrors = (list: 'diagnoses' | 'prescriptions', index: number) =>
    setErrors((prev) => {
      const out: FormErrors = {};
      for (const [k, msg] of Object.entries(prev)) {
        const m = new RegExp(`^${list}\\[(\\d+)\\]\\.(.+)$`).exec(k);
        if (!m) out[k] = msg;
        else if (Number(m[1]) < index) out[k] = msg;
        else if (Number(m[1]) > index) out[`${list}[${Number(m[1]) - 1}].${m[2]}`] = msg;
      }
      return out;
    });

  const submit = async () => {
    if (submittingRef.current) return;
    const built = buildRecordFields(values, patient.id, start.carried);
    if (Object.keys(built.errors).length) {
      setErrors(built.errors);
      setBanner(null);
      const first = firstErrorTestId(built.errors, values);
      focusNext.current = first;
      return;
    }
    if (amends && sameClinicalContent(built.fields, amends)) {
      setErrors({});
      setBanner({
        title: 'Nothing changed',
        detail: 'Edit the record before saving an amendment — an amendment that changes nothing would only add noise to the history.',
      });
      return;
    }
    setErrors({});
    setBanner(null);
    submittingRef.current = true;
    setSubmitting(true);
    try {
      const saved = amends ? await api.amendRecord(amends.id, built.fields) : await api.addRecord(built.fields);
      submittingRef.current = false;
      onSaved(saved, !!amends);
    } catch (raw) {
      submittingRef.current = false;
      setSubmitting(false);
      const err = toApiError(raw);
      const title = amends ? 'The amendment was not saved' : 'The record was not saved';
      if (err.code === 'validation_failed' && err.errors?.length) {
        const placed: FormErrors = {};
        const unplaced: string[] = [];
        for (const fe of err.errors) {
          const path = recordPayloadFieldToFormField(fe.field, built);
          const msg = recordMessage(fe.field, fe.code, fe.message);
          if (testIdFor(path) || path === 'fields') placed[path] ??= msg;
          else unplaced.push(msg);
        }
        setErrors(placed);
        if (unplaced.length) setBanner({ title, items: unplaced });
        focusNext.current = firstErrorTestId(placed, values);
      } else {
        setBanner({ title, detail: <ErrorText error={err} /> });
      }
    }
  };

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    void submit();
  };

  const errorCount = Object.keys(errors).filter((k) => k !== 'fields').length;
  const carriedBits = [
    start.carried.orders?.length ? `${start.carried.orders.length} order${start.carried.orders.length === 1 ? '' : 's'}` : null,
    start.carried.lab_results?.length
      ? `${start.carried.lab_results.length} lab result${start.carried.lab_results.length === 1 ? '' : 's'}`
      : null,
  ].filter(Boolean);

  return (
    <form
      className="page page-form record-form"
      data-testid="record-form"
      aria-labelledby={titleId}
      noValidate
      onSubmit={onSubmit}
      onKeyDown={(e) => submitOnEnter(e, () => void submit())}
    >
      <div className="page-head">
        <div>
          <h1 id={titleId}>
            {amends ? 'Amend record' : 'New record'} — {displayName(patient)}
          </h1>
          <p className="page-sub">
            <kbd>Ctrl</kbd>+<kbd>Enter</kbd> saves from anywhere (<kbd>Enter</kbd> outside the text boxes), <kbd>Esc</kbd>{' '}
            cancels.
          </p>
        </div>
      </div>

      {amends && (
        <div className="banner banner-info" data-testid="record-amending">
          <span className="banner-icon" aria-hidden="true">
            ✎
          </span>
          <div className="banner-body">
            Amending the version written by <strong>{amends.author || 'an unknown author'}</strong>
            {formatHlc(amends.hlc) ? ` on ${formatHlc(amends.hlc)}` : ''}. That version stays in the history; this one
            replaces it.
            {amends.concurrent_amendment && (
              <div className="banner-detail">
                This record was amended on two devices at once. Make this amendment say what is right, taking both versions
                into account.
              </div>
            )}
          </div>
        </div>
      )}

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
      {errors.fields && (
        <div className="form-summary" role="alert" data-testid="record-form-error">
          {errors.fields}
        </div>
      )}
      {errorCount > 0 && (
        <div className="form-summary" role="alert" data-testid="form-error-summary">
          {errorCount === 1 ? '1 field needs attention.' : `${errorCount} fields need attention.`} Nothing has been saved
          yet.
        </div>
      )}

      <fieldset className="section">
        <legend>Consultation</legend>
        <p className="record-signed-by" data-testid="record-author">
          Written by <strong>{values.author}</strong>, signed with your staff key on this device.
        </p>
        <TextAreaField
          testId="record-notes"
          label="Notes"
          rows={5}
          autoFocus
          placeholder="History, examination, findings"
          value={values.consultation_notes}
          onValueChange={(v) => setTop('consultation_notes', v)}
          error={errors.consultation_notes}
        />
      </fieldset>

      <fieldset className="section">
        <legend>Vitals</legend>
        <div className="grid grid-4">
          {VITALS.map((spec) => (
            <TextField
              key={spec.key}
              testId={VITAL_TEST_IDS[spec.key]}
              label={`${spec.label} (${spec.unit})`}
              inputMode="decimal"
              maxLength={7}
              value={values.vitals[spec.key]}
              onValueChange={(v) => setVital(spec.key, v)}
              error={errors[`vitals.${spec.key}`]}
            />
          ))}
        </div>
      </fieldset>

      <fieldset className="section">
        <legend>Assessment and plan</legend>
        <Rows
          title="Diagnoses"
          count={values.diagnoses.length}
          emptyText="No diagnosis recorded."
          addLabel="Add diagnosis"
          addTestId="add-diagnosis"
          onAdd={() => {
            focusNext.current = `record-diagnosis-code-${values.diagnoses.length}`;
            setValues({ ...values, diagnoses: [...values.diagnoses, emptyDiagnosis()] });
          }}
        >
          {values.diagnoses.map((d, i) => (
            <div className="row-item row-item-2" key={d.key}>
              <TextField
                testId={`record-diagnosis-code-${i}`}
                label="Code"
                required
                placeholder="e.g. I10"
                maxLength={200}
                value={d.code}
                onValueChange={(v) => setDiagnosis(i, 'code', v)}
                hint={d.system ? d.system : undefined}
                error={errors[`diagnoses[${i}].code`]}
              />
              <TextField
                testId={`record-diagnosis-description-${i}`}
                label="Description"
                placeholder="e.g. Essential hypertension"
                maxLength={200}
                value={d.description}
                onValueChange={(v) => setDiagnosis(i, 'description', v)}
                error={errors[`diagnoses[${i}].description`]}
              />
              <button
                type="button"
                className="btn btn-small btn-quiet row-remove"
                data-testid={`remove-diagnosis-${i}`}
                aria-label={`Remove diagnosis ${i + 1}${d.code.trim() ? ` (${d.code.trim()})` : ''}`}
                onClick={() => {
                  const remaining = values.diagnoses.length - 1;
                  setValues({ ...values, diagnoses: values.diagnoses.filter((_, j) => j !== i) });
                  shiftErrors('diagnoses', i);
                  focusNext.current = remaining ? `record-diagnosis-code-${Math.min(i, remaining - 1)}` : 'add-diagnosis';
                }}
              >
                Remove
              </button>
            </div>
          ))}
        </Rows>
        <TextAreaField
          testId="record-plan"
          label="Plan"
          rows={3}
          placeholder="Treatment, advice, follow-up"
          value={values.plan}
          onValueChange={(v) => setTop('plan', v)}
          error={errors.plan}
        />
        <label className="inline-label">
          <input
            type="checkbox"
            data-testid="record-share"
            checked={values.shared_with_patient}
            onChange={(e) => setValues({ ...values, shared_with_patient: e.target.checked })}
          />{' '}
          Share this entry with the patient (shown in their online portal)
        </label>
        <Rows
          title="Prescriptions"
          count={values.prescriptions.length}
          emptyText="No prescription."
          addLabel="Add prescription"
          addTestId="add-prescription"
          onAdd={() => {
            focusNext.current = `record-rx-medication-${values.prescriptions.length}`;
            setValues({ ...values, prescriptions: [...values.prescriptions, emptyPrescription()] });
          }}
        >
          {values.prescriptions.map((p, i) => (
            <div className="row-item row-item-rx" key={p.key}>
              <TextField
                testId={`record-rx-medication-${i}`}
                label="Medication"
                required
                maxLength={200}
                value={p.medication}
                onValueChange={(v) => setPrescription(i, 'medication', v)}
                error={errors[`prescriptions[${i}].medication`]}
              />
              <TextField
                testId={`record-rx-dose-${i}`}
                label="Dose"
                placeholder="e.g. 500 mg"
                maxLength={200}
                value={p.dose}
                onValueChange={(v) => setPrescription(i, 'dose', v)}
                error={errors[`prescriptions[${i}].dose`]}
              />
              <TextField
                testId={`record-rx-route-${i}`}
                label="Route"
                placeholder="e.g. oral"
                maxLength={200}
                value={p.route}
                onValueChange={(v) => setPrescription(i, 'route', v)}
                error={errors[`prescriptions[${i}].route`]}
              />
              <TextField
                testId={`record-rx-frequency-${i}`}
                label="Frequency"
                placeholder="e.g. twice daily"
                maxLength={200}
                value={p.frequency}
                onValueChange={(v) => setPrescription(i, 'frequency', v)}
                error={errors[`prescriptions[${i}].frequency`]}
              />
              <TextField
                testId={`record-rx-days-${i}`}
                label="Days"
                inputMode="numeric"
                maxLength={4}
                value={p.duration_days}
                onValueChange={(v) => setPrescription(i, 'duration_days', v)}
                error={errors[`prescriptions[${i}].duration_days`]}
              />
              <button
                type="button"
                className="btn btn-small btn-quiet row-remove"
                data-testid={`remove-prescription-${i}`}
                aria-label={`Remove prescription ${i + 1}${p.medication.trim() ? ` (${p.medication.trim()})` : ''}`}
                onClick={() => {
                  const remaining = values.prescriptions.length - 1;
                  setValues({ ...values, prescriptions: values.prescriptions.filter((_, j) => j !== i) });
                  shiftErrors('prescriptions', i);
                  focusNext.current = remaining
                    ? `record-rx-medication-${Math.min(i, remaining - 1)}`
                    : 'add-prescription';
                }}
              >
                Remove
              </button>
            </div>
          ))}
        </Rows>
        {carriedBits.length > 0 && (
          <p className="hint" data-testid="record-carried">
            Kept unchanged from the amended version: {carriedBits.join(' and ')}.
          </p>
        )}
      </fieldset>

      <div className="form-actions">
        <span className="form-actions-note" aria-live="polite">
          {submitting ? 'Saving on this device…' : dirty ? 'Unsaved changes' : ''}
        </span>
        <button type="button" className="btn" data-testid="cancel-record" onClick={onCancel}>
          Cancel <kbd>Esc</kbd>
        </button>
        <button type="submit" className="btn btn-primary" data-testid="submit-record" disabled={submitting}>
          {submitting ? 'Saving…' : amends ? 'Save amendment' : 'Save record'} <kbd>Ctrl</kbd>+<kbd>Enter</kbd>
        </button>
      </div>
    </form>
  );
}

/** The first field with an error, in screen order. */
function firstErrorTestId(errors: FormErrors, v: RecordFormValues): string | null {
  const order = [
    'author',
    'consultation_notes',
    ...VITALS.map((s) => `vitals.${s.key}`),
    ...v.diagnoses.flatMap((_, i) => [`diagnoses[${i}].code`, `diagnoses[${i}].description`]),
    'plan',
    ...v.prescriptions.flatMap((_, i) =>
      ['medication', 'dose', 'route', 'frequency', 'duration_days'].map((k) => `prescriptions[${i}].${k}`),
    ),
  ];
  const first = order.find((p) => p in errors);
  if (first) return testIdFor(first);
  return 'fields' in errors ? 'record-notes' : null;
}

function Rows({
  title,
  count,
  emptyText,
  addLabel,
  addTestId,
  onAdd,
  children,
}: {
  title: string;
  count: number;
  emptyText: string;
  addLabel: string;
  addTestId: string;
  onAdd: () => void;
  children: ReactNode;
}) {
  const headId = useId();
  return (
    <div className="row-list" role="group" aria-labelledby={headId}>
      <div className="row-list-head">
        <h2 id={headId}>{title}</h2>
        <button type="button" className="btn btn-small" id={fieldDomId(addTestId)} data-testid={addTestId} onClick={onAdd}>
          + {addLabel}
        </button>
      </div>
      {count === 0 && <p className="row-list-empty">{emptyText}</p>}
      {children}
    </div>
  );
}
