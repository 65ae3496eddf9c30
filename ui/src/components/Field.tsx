// Labelled inputs with the patient form's look and error placement: the message sits under the field
// (`field-error-<testId>`), the input is `aria-invalid` and described by it.

import type {
  InputHTMLAttributes,
  KeyboardEvent as ReactKeyboardEvent,
  ReactNode,
  SelectHTMLAttributes,
  TextareaHTMLAttributes,
} from 'react';

/** The DOM id of a field, derived from its test id (so "focus the first error" can find it). */
export const fieldDomId = (testId: string) => `f-${testId.replace(/[^A-Za-z0-9_-]/g, '-')}`;

interface ShellProps {
  testId: string;
  label: ReactNode;
  error?: string;
  hint?: ReactNode;
  required?: boolean;
  className?: string;
  /** Hide the label visually (still read by screen readers). */
  hideLabel?: boolean;
}

function describedBy(testId: string, hint: ReactNode, error?: string): string | undefined {
  const id = fieldDomId(testId);
  return [hint ? `${id}-hint` : null, error ? `${id}-error` : null].filter(Boolean).join(' ') || undefined;
}

function Shell({
  testId,
  label,
  error,
  hint,
  required,
  className,
  hideLabel,
  children,
}: ShellProps & { children: ReactNode }) {
  const id = fieldDomId(testId);
  return (
    <div className={`field ${className ?? ''} ${error ? 'has-error' : ''}`}>
      <label htmlFor={id} className={hideLabel ? 'visually-hidden' : undefined}>
        {label}
        {required ? (
          <span className="req" aria-hidden="true">
            {' '}
            *
          </span>
        ) : null}
      </label>
      {children}
      {hint ? (
        <div className="hint" id={`${id}-hint`}>
          {hint}
        </div>
      ) : null}
      {error ? (
        <div className="field-error" id={`${id}-error`} data-testid={`field-error-${testId}`}>
          {error}
        </div>
      ) : null}
    </div>
  );
}

type InputProps = ShellProps &
  Omit<InputHTMLAttributes<HTMLInputElement>, 'value' | 'onChange' | 'id'> & {
    value: string;
    onValueChange: (v: string) => void;
  };

export function TextField({
  testId,
  label,
  error,
  hint,
  required,
  className,
  hideLabel,
  value,
  onValueChange,
  ...rest
}: InputProps) {
  return (
    <Shell {...{ testId, label, error, hint, required, className, hideLabel }}>
      <input
        type="text"
        autoComplete="off"
        spellCheck={false}
        {...rest}
        id={fieldDomId(testId)}
        data-testid={testId}
        value={value}
        required={required}
        aria-required={required || undefined}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy(testId, hint, error)}
        onChange={(e) => onValueChange(e.target.value)}
      />
    </Shell>
  );
}

type SelectProps = ShellProps &
  Omit<SelectHTMLAttributes<HTMLSelectElement>, 'value' | 'onChange' | 'id'> & {
    value: string;
    onValueChange: (v: string) => void;
    options: readonly { value: string; label: string; disabled?: boolean }[];
    /** The first, empty option ("Not recorded"); leave out to offer only the options. */
    emptyLabel?: string;
  };

export function SelectField({
  testId,
  label,
  error,
  hint,
  required,
  className,
  hideLabel,
  value,
  onValueChange,
  options,
  emptyLabel,
  ...rest
}: SelectProps) {
  return (
    <Shell {...{ testId, label, error, hint, required, className, hideLabel }}>
      <select
        {...rest}
        id={fieldDomId(testId)}
        data-testid={testId}
        value={value}
        required={required}
        aria-required={required || undefined}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy(testId, hint, error)}
        onChange={(e) => onValueChange(e.target.value)}
      >
        {emptyLabel !== undefined && <option value="">{emptyLabel}</option>}
        {options.map((o) => (
          <option key={o.value} value={o.value} disabled={o.disabled}>
            {o.label}
          </option>
        ))}
      </select>
    </Shell>
  );
}

type TextAreaProps = ShellProps &
  Omit<TextareaHTMLAttributes<HTMLTextAreaElement>, 'value' | 'onChange' | 'id'> & {
    value: string;
    onValueChange: (v: string) => void;
  };

export function TextAreaField({
  testId,
  label,
  error,
  hint,
  required,
  className,
  hideLabel,
  value,
  onValueChange,
  ...rest
}: TextAreaProps) {
  return (
    <Shell {...{ testId, label, error, hint, required, className, hideLabel }}>
      <textarea
        rows={4}
        {...rest}
        id={fieldDomId(testId)}
        data-testid={testId}
        value={value}
        required={required}
        aria-required={required || undefined}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy(testId, hint, error)}
        onChange={(e) => onValueChange(e.target.value)}
      />
    </Shell>
  );
}

/**
 * Form key handling shared by the new forms: Enter submits (not from buttons, links or selects'
 * open lists), Ctrl+Enter submits from a textarea too, plain Enter in a textarea is a newline.
 */
export function submitOnEnter(e: ReactKeyboardEvent<HTMLElement>, submit: () => void): void {
  if (e.key !== 'Enter' || e.shiftKey || e.altKey || e.nativeEvent.isComposing) return;
  const t = e.target as HTMLElement;
  const ctrl = e.ctrlKey || e.metaKey;
  if (t instanceof HTMLTextAreaElement) {
    if (ctrl) {
      e.preventDefault();
      submit();
    }
    return;
  }
  if (!ctrl && (t instanceof HTMLButtonElement || t instanceof HTMLAnchorElement)) return;
  if (t.getAttribute('role') === 'combobox' && t.getAttribute('aria-expanded') === 'true') return;
  e.preventDefault();
  submit();
}
