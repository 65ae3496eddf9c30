import { useEffect } from 'react';

interface Props {
  message: string;
  onDone: () => void;
  /** How long the notice stays, in ms. */
  timeout?: number;
}

/** A short confirmation ("Patient registered") that goes away by itself. */
export function Notice({ message, onDone, timeout = 6000 }: Props) {
  useEffect(() => {
    const t = setTimeout(onDone, timeout);
    return () => clearTimeout(t);
  }, [message, onDone, timeout]);
  return (
    <div className="banner banner-success" role="status" data-testid="notice">
      <span className="banner-icon" aria-hidden="true">
        ✓
      </span>
      <div className="banner-body">{message}</div>
      <button type="button" className="btn btn-small btn-quiet" onClick={onDone} aria-label="Dismiss message">
        Dismiss
      </button>
    </div>
  );
}
