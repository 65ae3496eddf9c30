import type { ReactNode } from 'react';

interface Props {
  title: string;
  children?: ReactNode;
  onRetry?: () => void;
  onDismiss?: () => void;
}

/** The one banner for errors that do not belong to a single field. */
export function ErrorBanner({ title, children, onRetry, onDismiss }: Props) {
  return (
    <div className="banner banner-error" role="alert" data-testid="error-banner">
      <div className="banner-body">
        <strong>{title}</strong>
        {children && <div className="banner-detail">{children}</div>}
      </div>
      <div className="banner-actions">
        {onRetry && (
          <button type="button" className="btn btn-small" onClick={onRetry}>
            Try again
          </button>
        )}
        {onDismiss && (
          <button type="button" className="btn btn-small btn-quiet" onClick={onDismiss} aria-label="Dismiss error">
            Dismiss
          </button>
        )}
      </div>
    </div>
  );
}
