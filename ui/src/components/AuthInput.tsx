import type { ReactNode, Ref } from 'react';

// Labelled text inputs of the sign-in, lock and PIN screens: the label, the hint and the error
// wiring (aria-invalid, aria-describedby) in one place.

export interface InputProps {
  id: string;
  label: string;
  testId: string;
  value: string;
  onChange: (v: string) => void;
  type?: 'text' | 'password';
  autoComplete?: string;
  inputMode?: 'text' | 'numeric';
  autoFocus?: boolean;
  ref?: Ref<HTMLInputElement>;
  hint?: ReactNode;
  invalid?: boolean;
  errorId?: string;
  maxLength?: number;
  className?: string;
  placeholder?: string;
}

export function AuthInput({
  id,
  label,
  testId,
  value,
  onChange,
  type = 'text',
  autoComplete = 'off',
  inputMode,
  autoFocus,
  ref,
  hint,
  invalid,
  errorId,
  maxLength,
  className,
  placeholder,
}: InputProps) {
  const hintId = hint ? `${id}-hint` : undefined;
  const describedBy = [hintId, invalid ? errorId : undefined].filter(Boolean).join(' ') || undefined;
  return (
    <div className={`field ${invalid ? 'has-error' : ''}`}>
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        ref={ref}
        data-testid={testId}
        className={className}
        type={type}
        value={value}
        autoComplete={autoComplete}
        autoCapitalize="off"
        autoCorrect="off"
        spellCheck={false}
        inputMode={inputMode}
        autoFocus={autoFocus}
        maxLength={maxLength}
        placeholder={placeholder}
        aria-invalid={invalid || undefined}
        aria-describedby={describedBy}
        onChange={(e) => onChange(e.target.value)}
      />
      {hint && (
        <div className="hint" id={hintId}>
          {hint}
        </div>
      )}
    </div>
  );
}

/** A PIN box (4 to 8 digits, shown as dots): what the lock screen, the set-PIN dialog and the
 * kiosk's exit use. `onChange` gets digits only. */
export function PinInput(props: Omit<InputProps, 'type' | 'inputMode' | 'maxLength' | 'className' | 'autoComplete'>) {
  const { onChange, ...rest } = props;
  return (
    <AuthInput
      {...rest}
      type="password"
      inputMode="numeric"
      maxLength={8}
      className="mono auth-code"
      onChange={(v) => onChange(v.replace(/\D/g, ''))}
    />
  );
}
