import { useRef, type HTMLAttributes, type ReactNode } from 'react';

/**
 * The app's modal shell: a backdrop and a `role="dialog"` box labelled by its title. Escape
 * closes it (and goes no further, so no screen behind it reacts); `closeOnBackdrop` closes it on
 * a press outside the box; `trapFocus` keeps Tab inside it.
 */
export function Modal({
  labelledBy,
  onClose,
  closeOnBackdrop = false,
  trapFocus = false,
  className = 'modal',
  backdropClassName = 'modal-backdrop',
  children,
  ...rest
}: {
  labelledBy: string;
  onClose: () => void;
  closeOnBackdrop?: boolean;
  trapFocus?: boolean;
  className?: string;
  backdropClassName?: string;
  children: ReactNode;
} & Omit<HTMLAttributes<HTMLDivElement>, 'className' | 'children' | 'role' | 'onKeyDown'>) {
  const box = useRef<HTMLDivElement>(null);
  return (
    <div
      className={backdropClassName}
      onMouseDown={
        closeOnBackdrop
          ? (e) => {
              if (e.target === e.currentTarget) onClose();
            }
          : undefined
      }
    >
      <div
        {...rest}
        ref={box}
        className={className}
        role="dialog"
        aria-modal="true"
        aria-labelledby={labelledBy}
        onKeyDown={(e) => {
          if (e.key === 'Escape') {
            e.preventDefault();
            e.stopPropagation();
            onClose();
          } else if (e.key === 'Tab' && trapFocus) {
            const items = box.current?.querySelectorAll<HTMLElement>('input, button:not([disabled])');
            if (!items?.length) return;
            const first = items[0];
            const last = items[items.length - 1];
            if (e.shiftKey && document.activeElement === first) {
              e.preventDefault();
              last.focus();
            } else if (!e.shiftKey && document.activeElement === last) {
              e.preventDefault();
              first.focus();
            }
          }
        }}
      >
        {children}
      </div>
    </div>
  );
}
