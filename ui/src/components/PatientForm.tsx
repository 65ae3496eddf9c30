import { useEffect, useId, useRef, useState, type FormEvent, type KeyboardEvent, type ReactNode } from 'react';
import { api, toApiError } from '../api';
import {
  emptyAllergy,
  emptyCondition,
  emptyForm,
  formFieldOrder,
  getPath,
  normalizeDateInput,
  patientToForm,
  payloadFieldToFormField,
  prepareSubmit,
  setPath,
  shiftRowErrors,
  type FormErrors,
  type FormValues,
} from '../form';
import { displayName, formatAge, GENDER_LABELS, SEVERITY_LABELS, STATUS_LABELS } from '../format';
import { ALLERGY_SEVERITIES, BLOOD_TYPES, CONDITION_STATUSES, GENDERS, type Patient } from '../types';
import { messageFor, parseIsoDate, todayIso } from '../validation';
import { writablePatientFields, type Access } from '../roles';
import { ErrorBanner } from './ErrorBanner';
import { ErrorText } from './ErrorText';

interface Props {
  /** The stored patient when editing; null to register a new one. */
  original: Patient | null;
  /** `changed` is false when an edit was submitted without any change. */
  onSaved: (patient: Patient, changed: boolean) => void;
  onCancel: () => void;
  onDirtyChange?: (dirty: boolean) => void;
  /** What the signed-in role may see and change; without it every field is shown. */
  access?: Access;
}

interface Banner {
  title: string;
  detail?: ReactNode;
  items?: string[];
}

type ListName = 'allergies' | 'chronic_conditions';

/** An element id for a field path (`allergies[0].allergen` → `pf-allergies-0--allergen`). */
const fid = (path: string) => `pf-${path.replace(/[^A-Za-z0-9_-]/g, '-')}`;

export function PatientForm({ original, onSaved, onCancel, onDirtyChange, access }: Props) {
  // Front desk never sees blood type, allergies or chronic conditions, nor sends them.
  const showClinical = access ? access.clinicalPatientFields : true;
  const [initial] = useState<FormValues>(() => (original ? patientToForm(original) : emptyForm()));
  const [values, setValues] = useState<FormValues>(initial);
  const [errors, setErrors] = useState<FormErrors>({});
  const [showSummary, setShowSummary] = useState(false);
  const [submitting, setSubmitting] = useState(false);
  const [banner, setBanner] = useState<Banner | null>(null);
  const focusNext = useRef<string | null>(null);
  const submittingRef = useRef(false);
  const titleId = useId();
  const today = todayIso();
  const editing = original !== null;

  const dirty = JSON.stringify(values) !== JSON.stringify(initial);
  useEffect(() => {
    onDirtyChange?.(dirty);
  }, [dirty, onDirtyChange]);
  useEffect(() => () => onDirtyChange?.(false), [onDirtyChange]);

  // Focus requested by the last action (first invalid field, a newly added row, ...).
  useEffect(() => {
    if (focusNext.current) {
      const el = document.getElementById(fid(focusNext.current));
      focusNext.current = null;
      el?.focus();
    }
  });

  const errorFor = (path: string, next: FormValues) => prepareSubmit(next, original, today).errors[path];

  const update = (path: string, value: string) => {
    const next = setPath(values, path, value);
    setValues(next);
    // Once a field shows an error, keep it current as the user fixes it.
    if (path in errors) {
      const e = errorFor(path, next);
      setErrors((prev) => {
        const copy = { ...prev };
        if (e) copy[path] = e;
        else delete copy[path];
        return copy;
      });
    }
  };

  const blur = (path: string, normalize?: (v: string) => string) => {
    let next = values;
    if (normalize) {
      const v = normalize(getPath(values, path));
      if (v !== getPath(values, path)) {
        next = setPath(values, path, v);
        setValues(next);
      }
    }
    const e = errorFor(path, next);
    // Leaving a field blank is not an error until the form is submitted.
    if (!e && !(path in errors)) return;
    if (e && !(path in errors) && getPath(next, path).trim() === '') return;
    setErrors((prev) => {
      const copy = { ...prev };
      if (e) copy[path] = e;
      else delete copy[path];
      return copy;
    });
  };

  const focusFirstError = (errs: FormErrors, v: FormValues) => {
    const first = formFieldOrder(v).find((p) => p in errs);
    focusNext.current = first ?? null;
  };

  const submit = async () => {
    if (submittingRef.current) return;
    const prep = prepareSubmit(values, original, today);
    if (prep.unchanged && original) {
      onSaved(original, false);
      return;
    }
    if (Object.keys(prep.errors).length) {
      setErrors(prep.errors);
      setShowSummary(true);
      setBanner(null);
      focusFirstError(prep.errors, values);
      return;
    }
    setErrors({});
    setShowSummary(false);
    setBanner(null);
    submittingRef.current = true;
    setSubmitting(true);
    try {
      const payload = access ? writablePatientFields(access, prep.payload) : prep.payload;
      const saved = original ? await api.updatePatient(original.id, payload) : await api.registerPatient(payload);
      submittingRef.current = false;
      onSaved(saved, true);
    } catch (raw) {
      submittingRef.current = false;
      setSubmitting(false);
      const err = toApiError(raw);
      const title = editing ? 'The changes were not saved' : 'The patient was not registered';
      if (err.code === 'validation_failed' && err.errors?.length) {
        const known = new Set(formFieldOrder(values));
        const placed: FormErrors = {};
        const unplaced: string[] = [];
        for (const fe of err.errors) {
          const path = payloadFieldToFormField(fe.field, prep.built);
          const msg = messageFor(fe.field, fe.code, fe.message);
          if (known.has(path)) placed[path] ??= msg;
          else unplaced.push(msg);
        }
        setErrors(placed);
        setShowSummary(Object.keys(placed).length > 0);
        if (unplaced.length) setBanner({ title, items: unplaced });
        focusFirstError(placed, values);
      } else {
        setBanner({ title, detail: <ErrorText error={err} /> });
      }
    }
  };

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    void submit();
  };

  const onKeyDown = (e: KeyboardEvent<HTMLFormElement>) => {
    if (e.key !== 'Enter' || e.shiftKey || e.altKey) return;
    const t = e.target as HTMLElement;
    const ctrl = e.ctrlKey || e.metaKey;
    if (t instanceof HTMLTextAreaElement) {
      if (ctrl) {
        e.preventDefault();
        void submit();
      }
      return;
    }
    if (!ctrl && (t instanceof HTMLButtonElement || t instanceof HTMLAnchorElement)) return;
    e.preventDefault();
    void submit();
  };

  const addRow = (list: ListName) => {
    const n = values[list].length;
    setValues((v) =>
      list === 'allergies'
        ? { ...v, allergies: [...v.allergies, emptyAllergy()] }
        : { ...v, chronic_conditions: [...v.chronic_conditions, emptyCondition()] },
    );
    focusNext.current = `${list}[${n}].${list === 'allergies' ? 'allergen' : 'condition'}`;
  };

  const removeRow = (list: ListName, index: number) => {
    const remaining = values[list].length - 1;
    setValues((v) =>
      list === 'allergies'
        ? { ...v, allergies: v.allergies.filter((_, i) => i !== index) }
        : { ...v, chronic_conditions: v.chronic_conditions.filter((_, i) => i !== index) },
    );
    setErrors((prev) => {
      const next = shiftRowErrors(prev, list, index);
      delete next[list];
      return next;
    });
    const first = list === 'allergies' ? 'allergen' : 'condition';
    focusNext.current =
      remaining === 0 ? `${list}.add` : `${list}[${Math.min(index, remaining - 1)}].${first}`;
  };

  /** Props shared by every input and select. */
  const bind = (path: string, describedBy?: string) => {
    const error = errors[path];
    const ids = [describedBy, error ? `${fid(path)}-error` : undefined].filter(Boolean).join(' ');
    return {
      id: fid(path),
      name: path,
      'data-testid': `field-${path}`,
      value: getPath(values, path),
      'aria-invalid': error ? true : undefined,
      'aria-describedby': ids || undefined,
    } as const;
  };

  const fieldError = (path: string) =>
    errors[path] ? (
      <div className="field-error" id={`${fid(path)}-error`} data-testid={`field-error-${path}`}>
        {errors[path]}
      </div>
    ) : null;

  const text = (
    path: string,
    label: string,
    opts: {
      required?: boolean;
      hint?: ReactNode;
      type?: string;
      inputMode?: 'text' | 'tel' | 'email' | 'numeric';
      autoComplete?: string;
      placeholder?: string;
      className?: string;
      normalize?: (v: string) => string;
      maxLength?: number;
      autoFocus?: boolean;
    } = {},
  ) => {
    const hintId = opts.hint ? `${fid(path)}-hint` : undefined;
    return (
      <div className={`field ${opts.className ?? ''} ${errors[path] ? 'has-error' : ''}`}>
        <label htmlFor={fid(path)}>
          {label}
          {opts.required ? (
            <span className="req" aria-hidden="true">
              {' '}
              *
            </span>
          ) : null}
        </label>
        <input
          {...bind(path, hintId)}
          type={opts.type ?? 'text'}
          inputMode={opts.inputMode}
          autoComplete={opts.autoComplete ?? 'off'}
          placeholder={opts.placeholder}
          maxLength={opts.maxLength}
          autoFocus={opts.autoFocus}
          spellCheck={false}
          required={opts.required}
          aria-required={opts.required || undefined}
          onChange={(e) => update(path, e.target.value)}
          onBlur={() => blur(path, opts.normalize)}
        />
        {opts.hint && (
          <div className="hint" id={hintId}>
            {opts.hint}
          </div>
        )}
        {fieldError(path)}
      </div>
    );
  };

  const choice = (
    path: string,
    label: string,
    options: readonly { value: string; label: string }[],
    emptyLabel: string,
    className = '',
  ) => (
    <div className={`field ${className} ${errors[path] ? 'has-error' : ''}`}>
      <label htmlFor={fid(path)}>{label}</label>
      <select {...bind(path)} onChange={(e) => update(path, e.target.value)} onBlur={() => blur(path)}>
        <option value="">{emptyLabel}</option>
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
      {fieldError(path)}
    </div>
  );

  const dob = normalizeDateInput(values.date_of_birth);
  const dobAge = parseIsoDate(dob) && dob <= today ? formatAge(dob, today) : '';
  const errorCount = Object.keys(errors).length;

  return (
    <form
      className="page page-form patient-form"
      data-testid="patient-form"
      aria-labelledby={titleId}
      noValidate
      onSubmit={onSubmit}
      onKeyDown={onKeyDown}
    >
      <div className="page-head">
        <div>
          <h1 id={titleId}>{original ? `Edit ${displayName(original)}` : 'Register patient'}</h1>
          <p className="page-sub">
            Fields marked <span className="req">*</span> are required. <kbd>Enter</kbd> saves, <kbd>Esc</kbd> cancels.
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
      {showSummary && errorCount > 0 && (
        <div className="form-summary" role="alert" data-testid="form-error-summary">
          {errorCount === 1 ? '1 field needs attention.' : `${errorCount} fields need attention.`} Nothing has been
          saved yet.
        </div>
      )}

      <fieldset className="section">
        <legend>Name</legend>
        <div className="grid grid-3">
          {text('given_name', 'Given name', { required: true, autoFocus: true })}
          {text('middle_name', 'Middle name')}
          {text('family_name', 'Family name', { required: true })}
        </div>
      </fieldset>

      <fieldset className="section">
        <legend>Birth and gender</legend>
        <div className="grid grid-3">
          {text('date_of_birth', 'Date of birth', {
            required: true,
            placeholder: 'YYYY-MM-DD',
            inputMode: 'numeric',
            normalize: normalizeDateInput,
            maxLength: 10,
            hint: dobAge ? `Age ${dobAge}` : 'Year-month-day, e.g. 1988-04-12',
          })}
          {choice(
            'gender',
            'Gender',
            GENDERS.map((g) => ({ value: g, label: GENDER_LABELS[g] })),
            'Not recorded',
          )}
        </div>
      </fieldset>

      <fieldset className="section">
        <legend>Contact</legend>
        <div className="grid grid-3">
          {text('phone', 'Phone', { type: 'tel', inputMode: 'tel', placeholder: '+254 712 345 678' })}
          {text('email', 'Email', { type: 'email', inputMode: 'email', className: 'span-2' })}
        </div>
      </fieldset>

      <fieldset className="section">
        <legend>Identifiers</legend>
        <div className="grid grid-3">
          {text('national_id', 'National ID')}
          {text('health_card_id', 'Health card ID', { placeholder: 'AH-XXXX-XXXX' })}
        </div>
      </fieldset>

      <fieldset className="section">
        <legend>Address</legend>
        <div className="grid grid-3">
          {text('address.street', 'Street', { className: 'span-3' })}
          {text('address.city', 'City / town')}
          {text('address.state', 'State / region')}
          {text('address.zip_code', 'Postal code')}
          {text('address.country', 'Country')}
        </div>
      </fieldset>

      <fieldset className="section">
        <legend>Emergency contact</legend>
        <div className="grid grid-3">
          {text('emergency_contact.name', 'Name')}
          {text('emergency_contact.relationship', 'Relationship', { placeholder: 'e.g. Mother' })}
          {text('emergency_contact.phone', 'Phone', { type: 'tel', inputMode: 'tel' })}
        </div>
      </fieldset>

      {showClinical && (
      <fieldset className="section">
        <legend>Medical</legend>
        <div className="grid grid-3">
          {choice(
            'blood_type',
            'Blood type',
            BLOOD_TYPES.map((b) => ({ value: b, label: b })),
            'Unknown',
          )}
        </div>

        <RowList
          title="Allergies"
          list="allergies"
          count={values.allergies.length}
          emptyText="No allergies recorded."
          addLabel="Add allergy"
          addId={fid('allergies.add')}
          onAdd={() => addRow('allergies')}
          error={fieldError('allergies')}
        >
          {values.allergies.map((row, i) => (
            <div className="row-item" key={row.key}>
              {text(`allergies[${i}].allergen`, 'Allergen', { required: true, className: 'grow' })}
              {choice(
                `allergies[${i}].severity`,
                'Severity',
                ALLERGY_SEVERITIES.map((s) => ({ value: s, label: SEVERITY_LABELS[s] })),
                'Not recorded',
              )}
              {text(`allergies[${i}].notes`, 'Notes', { className: 'grow' })}
              <button
                type="button"
                className="btn btn-small btn-quiet row-remove"
                data-testid={`remove-allergies-${i}`}
                aria-label={`Remove allergy ${i + 1}${row.allergen.trim() ? ` (${row.allergen.trim()})` : ''}`}
                onClick={() => removeRow('allergies', i)}
              >
                Remove
              </button>
            </div>
          ))}
        </RowList>

        <RowList
          title="Chronic conditions"
          list="chronic_conditions"
          count={values.chronic_conditions.length}
          emptyText="No chronic conditions recorded."
          addLabel="Add condition"
          addId={fid('chronic_conditions.add')}
          onAdd={() => addRow('chronic_conditions')}
          error={fieldError('chronic_conditions')}
        >
          {values.chronic_conditions.map((row, i) => (
            <div className="row-item" key={row.key}>
              {text(`chronic_conditions[${i}].condition`, 'Condition', { required: true, className: 'grow' })}
              {choice(
                `chronic_conditions[${i}].status`,
                'Status',
                CONDITION_STATUSES.map((s) => ({ value: s, label: STATUS_LABELS[s] })),
                'Not recorded',
              )}
              {text(`chronic_conditions[${i}].diagnosed_date`, 'Date diagnosed', {
                placeholder: 'YYYY-MM-DD',
                inputMode: 'numeric',
                normalize: normalizeDateInput,
              })}
              <button
                type="button"
                className="btn btn-small btn-quiet row-remove"
                data-testid={`remove-chronic_conditions-${i}`}
                aria-label={`Remove condition ${i + 1}${row.condition.trim() ? ` (${row.condition.trim()})` : ''}`}
                onClick={() => removeRow('chronic_conditions', i)}
              >
                Remove
              </button>
            </div>
          ))}
        </RowList>
      </fieldset>
      )}

      <div className="form-actions">
        <span className="form-actions-note" aria-live="polite">
          {submitting ? 'Saving on this device…' : dirty ? 'Unsaved changes' : ''}
        </span>
        <button type="button" className="btn" data-testid="cancel-patient" onClick={onCancel}>
          Cancel <kbd>Esc</kbd>
        </button>
        <button type="submit" className="btn btn-primary" data-testid="submit-patient" disabled={submitting}>
          {submitting ? 'Saving…' : editing ? 'Save changes' : 'Register patient'} <kbd>Enter</kbd>
        </button>
      </div>
    </form>
  );
}

interface RowListProps {
  title: string;
  list: ListName;
  count: number;
  emptyText: string;
  addLabel: string;
  addId: string;
  onAdd: () => void;
  error: ReactNode;
  children: ReactNode;
}

function RowList({ title, list, count, emptyText, addLabel, addId, onAdd, error, children }: RowListProps) {
  const headId = useId();
  return (
    <div className="row-list" role="group" aria-labelledby={headId} data-testid={`${list}-list`}>
      <div className="row-list-head">
        <h2 id={headId}>{title}</h2>
        <button type="button" className="btn btn-small" id={addId} data-testid={`add-${list}`} onClick={onAdd}>
          + {addLabel}
        </button>
      </div>
      {count === 0 && <p className="row-list-empty">{emptyText}</p>}
      {children}
      {error}
    </div>
  );
}
