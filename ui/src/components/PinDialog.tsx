import { useId, type FormEvent, type ReactNode, type Ref } from 'react';
import { PinInput } from './AuthInput';
import { Modal } from './Modal';

/**
 * A modal with one PIN field, its error and Cancel / submit buttons: setting a PIN and leaving
 * kiosk mode. Presentational: the owner keeps the PIN, the error and what submitting does.
 */
export function PinDialog({
  title,
  text,
  label,
  pin,
  error,
  busy,
  submitLabel,
  inputRef,
  trapFocus = false,
  testIds,
  onPin,
  onSubmit,
  onClose,
}: {
  title: ReactNode;
  text: ReactNode;
  label: string;
  pin: string;
  error: string | null;
  busy: boolean;
  submitLabel: ReactNode;
  inputRef: Ref<HTMLInputElement>;
  trapFocus?: boolean;
  testIds: { dialog: string; input: string; error: string; submit: string };
  onPin: (digits: string) => void;
  onSubmit: (e: FormEvent) => void;
  onClose: () => void;
}) {
  const titleId = useId();
  const inputId = useId();
  return (
    <Modal labelledBy={titleId} onClose={onClose} closeOnBackdrop trapFocus={trapFocus} data-testid={testIds.dialog}>
      <form noValidate onSubmit={onSubmit}>
        <h2 id={titleId} className="modal-title">
          {title}
        </h2>
        <p className="modal-text">{text}</p>
        <PinInput
          id={inputId}
          label={label}
          testId={testIds.input}
          ref={inputRef}
          value={pin}
          invalid={!!error}
          errorId={`${inputId}-error`}
          onChange={onPin}
        />
        <div className="auth-error-slot">
          {error && (
            <div className="auth-error" role="alert" id={`${inputId}-error`} data-testid={testIds.error}>
              {error}
            </div>
          )}
        </div>
        <div className="inline-form-actions">
          <button type="button" className="btn" onClick={onClose}>
            Cancel <kbd>Esc</kbd>
          </button>
          <button type="submit" className="btn btn-primary" data-testid={testIds.submit} disabled={busy}>
            {submitLabel}
          </button>
        </div>
      </form>
    </Modal>
  );
}
