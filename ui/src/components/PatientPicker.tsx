// A search-as-you-type patient field (combobox): type a name, phone or id; ↑/↓ choose; Enter picks.

import { useEffect, useId, useRef, useState, type KeyboardEvent } from 'react';
import { api } from '../api';
import { displayName, formatDobWithAge } from '../format';
import { useDebounced } from '../hooks';
import type { Patient } from '../types';
import { todayIso } from '../validation';
import { fieldDomId } from './Field';

const LIMIT = 8;

interface Props {
  testId: string;
  label: string;
  value: Patient | null;
  onChange: (p: Patient | null) => void;
  error?: string;
  required?: boolean;
  autoFocus?: boolean;
}

export function PatientPicker({ testId, label, value, onChange, error, required, autoFocus }: Props) {
  const [query, setQuery] = useState('');
  const [editing, setEditing] = useState(value === null);
  const [open, setOpen] = useState(false);
  const [results, setResults] = useState<{ query: string; list: Patient[] } | null>(null);
  const [active, setActive] = useState(0);
  const [failed, setFailed] = useState<string | null>(null);
  const debounced = useDebounced(query, 120);
  const listId = useId();
  const id = fieldDomId(testId);
  const today = todayIso();
  const seq = useRef(0);

  useEffect(() => {
    if (!open) return;
    const n = ++seq.current;
    const q = debounced.trim();
    api.listPatients(q, LIMIT).then(
      (list) => {
        if (n !== seq.current) return;
        setResults({ query: q, list });
        setFailed(null);
      },
      (e: { message?: string }) => {
        if (n === seq.current) setFailed(e.message ?? 'search failed');
      },
    );
  }, [debounced, open]);

  const list = results?.list ?? [];
  const activeIndex = Math.min(active, Math.max(0, list.length - 1));

  const pick = (p: Patient) => {
    onChange(p);
    setQuery('');
    setEditing(false);
    setOpen(false);
  };

  const onKey = (e: KeyboardEvent<HTMLInputElement>) => {
    switch (e.key) {
      case 'ArrowDown':
        e.preventDefault();
        if (!open) setOpen(true);
        else setActive(Math.min(list.length - 1, activeIndex + 1));
        break;
      case 'ArrowUp':
        e.preventDefault();
        setActive(Math.max(0, activeIndex - 1));
        break;
      case 'Enter':
        if (open && list.length) {
          e.preventDefault();
          e.stopPropagation();
          pick(list[activeIndex]);
        }
        break;
      case 'Escape':
        if (open) {
          e.preventDefault();
          e.stopPropagation();
          setOpen(false);
          if (value) {
            setEditing(false);
            setQuery('');
          }
        }
        break;
    }
  };

  const shown = editing ? query : value ? displayName(value) : '';
  const hintId = `${id}-hint`;
  const searching = open && (results === null || results.query !== query.trim());

  return (
    <div className={`field picker ${error ? 'has-error' : ''}`}>
      <label htmlFor={id}>
        {label}
        {required ? (
          <span className="req" aria-hidden="true">
            {' '}
            *
          </span>
        ) : null}
      </label>
      <input
        id={id}
        data-testid={testId}
        type="text"
        autoComplete="off"
        spellCheck={false}
        autoFocus={autoFocus}
        role="combobox"
        aria-expanded={open && list.length > 0}
        aria-controls={listId}
        aria-autocomplete="list"
        aria-activedescendant={open && list[activeIndex] ? `${listId}-${list[activeIndex].id}` : undefined}
        aria-invalid={error ? true : undefined}
        aria-required={required || undefined}
        aria-describedby={[hintId, error ? `${id}-error` : null].filter(Boolean).join(' ')}
        placeholder="Type a name, phone or ID"
        value={shown}
        onChange={(e) => {
          setQuery(e.target.value);
          setEditing(true);
          setOpen(true);
          setActive(0);
          if (value) onChange(null);
        }}
        onFocus={(e) => {
          if (!editing) e.target.select();
        }}
        onBlur={() => {
          // Let a click on an option land first.
          setTimeout(() => setOpen(false), 150);
        }}
        onKeyDown={onKey}
      />
      {open && (
        <ul className="picker-list" id={listId} role="listbox" aria-label="Matching patients" data-testid={`${testId}-options`}>
          {searching && list.length === 0 && <li className="picker-empty">Searching…</li>}
          {!searching && list.length === 0 && (
            <li className="picker-empty">
              {failed ? `Search failed: ${failed}` : query.trim() ? `No patients match “${query.trim()}”` : 'No patients on this device'}
            </li>
          )}
          {list.map((p, i) => (
            <li
              key={p.id}
              id={`${listId}-${p.id}`}
              role="option"
              aria-selected={i === activeIndex}
              className={`picker-option ${i === activeIndex ? 'is-active' : ''}`}
              data-testid={`${testId}-option`}
              onMouseDown={(e) => e.preventDefault()}
              onMouseMove={() => setActive(i)}
              onClick={() => pick(p)}
            >
              <span className="picker-name">{displayName(p)}</span>
              <span className="muted">
                {[formatDobWithAge(p.date_of_birth, today), p.phone].filter(Boolean).join(' · ')}
              </span>
            </li>
          ))}
        </ul>
      )}
      <div className="hint" id={hintId}>
        {value && !editing
          ? [formatDobWithAge(value.date_of_birth, today), value.phone, value.health_card_id].filter(Boolean).join(' · ') ||
            'Selected'
          : '↓ to list patients, Enter to choose'}
      </div>
      {error && (
        <div className="field-error" id={`${id}-error`} data-testid={`field-error-${testId}`}>
          {error}
        </div>
      )}
    </div>
  );
}
