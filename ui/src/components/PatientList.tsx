import { useEffect, useId, useRef, useState, type KeyboardEvent, type RefObject } from 'react';
import { api } from '../api';
import { displayName, formatDobWithAge } from '../format';
import { useDebounced } from '../hooks';
import type { ApiError, Patient } from '../types';
import { todayIso } from '../validation';
import { ErrorBanner } from './ErrorBanner';
import { ErrorText } from './ErrorText';

export const SEARCH_DEBOUNCE_MS = 120;
export const LIST_LIMIT = 50;

interface Props {
  query: string;
  onQueryChange: (q: string) => void;
  onOpen: (id: string) => void;
  onRegister: () => void;
  /** Changes whenever local or synced data may have changed, to reload the list quietly. */
  refreshKey: string;
  searchRef: RefObject<HTMLInputElement | null>;
}

interface Loaded {
  query: string;
  patients: Patient[];
}

export function PatientList({ query, onQueryChange, onOpen, onRegister, refreshKey, searchRef }: Props) {
  const debouncedQuery = useDebounced(query, SEARCH_DEBOUNCE_MS);
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const [retryCount, setRetryCount] = useState(0);
  const requestSeq = useRef(0);
  // Enter pressed before the results for the typed text arrived: open the first one when they do.
  const openWhenLoaded = useRef<string | null>(null);
  const onOpenRef = useRef(onOpen);
  useEffect(() => {
    onOpenRef.current = onOpen;
  }, [onOpen]);
  const listId = useId();
  const listRef = useRef<HTMLUListElement>(null);
  const today = todayIso();

  useEffect(() => {
    const seq = ++requestSeq.current;
    const q = debouncedQuery.trim();
    api.listPatients(q, LIST_LIMIT).then(
      (patients) => {
        if (seq !== requestSeq.current) return; // a newer search is under way
        setLoaded({ query: q, patients });
        setError(null);
        if (openWhenLoaded.current !== null && openWhenLoaded.current === q) {
          openWhenLoaded.current = null;
          if (patients.length) onOpenRef.current(patients[0].id);
        }
      },
      (e: ApiError) => {
        if (seq === requestSeq.current) setError(e);
      },
    );
  }, [debouncedQuery, refreshKey, retryCount]);

  const patients = loaded?.patients ?? [];
  const selectedIndex = Math.max(
    0,
    patients.findIndex((p) => p.id === selectedId),
  );
  const selected = patients.length ? patients[selectedIndex] : null;
  const searching = loaded === null || loaded.query !== query.trim();

  // Keep the selected row in view while moving with the arrow keys.
  useEffect(() => {
    if (!selected) return;
    const el = listRef.current?.querySelector<HTMLElement>(`[data-patient-id="${CSS.escape(selected.id)}"]`);
    el?.scrollIntoView?.({ block: 'nearest' });
  }, [selected]);

  const noPatientsAtAll = loaded !== null && loaded.query === '' && patients.length === 0;
  const noMatches = loaded !== null && loaded.query !== '' && patients.length === 0;

  const move = (delta: number) => {
    if (!patients.length) return;
    const next = Math.min(patients.length - 1, Math.max(0, selectedIndex + delta));
    setSelectedId(patients[next].id);
  };

  const onSearchKey = (e: KeyboardEvent<HTMLInputElement>) => {
    // With no patients on the device there is nothing to search: N registers, as the empty state says.
    if ((e.key === 'n' || e.key === 'N') && !e.ctrlKey && !e.metaKey && !e.altKey && query === '' && noPatientsAtAll) {
      e.preventDefault();
      onRegister();
      return;
    }
    switch (e.key) {
      case 'ArrowDown':
        e.preventDefault();
        move(1);
        break;
      case 'ArrowUp':
        e.preventDefault();
        move(-1);
        break;
      case 'PageDown':
        e.preventDefault();
        move(10);
        break;
      case 'PageUp':
        e.preventDefault();
        move(-10);
        break;
      case 'Enter':
        e.preventDefault();
        // Open what the user sees; if results for the typed text are still on their way, wait for them.
        if (searching) openWhenLoaded.current = query.trim();
        else if (selected) onOpen(selected.id);
        break;
      case 'Escape':
        if (query) {
          e.preventDefault();
          e.stopPropagation();
          onQueryChange('');
        }
        break;
    }
  };

  const optionId = (p: Patient) => `${listId}-opt-${p.id}`;

  return (
    <section className="page page-list" aria-labelledby={`${listId}-title`}>
      <div className="page-head">
        <h1 id={`${listId}-title`}>Patients</h1>
        <button type="button" className="btn btn-primary" data-testid="register-button" onClick={onRegister}>
          Register patient <kbd>N</kbd>
        </button>
      </div>

      <div className="search">
        <label htmlFor={`${listId}-search`} className="visually-hidden">
          Search patients
        </label>
        <span className="search-icon" aria-hidden="true">
          ⌕
        </span>
        <input
          id={`${listId}-search`}
          ref={searchRef}
          data-testid="patient-search"
          type="search"
          className="search-input"
          placeholder="Search by name, phone, national ID or health card ID"
          autoComplete="off"
          spellCheck={false}
          autoFocus
          role="combobox"
          aria-expanded={patients.length > 0}
          aria-controls={`${listId}-results`}
          aria-autocomplete="list"
          aria-activedescendant={selected ? optionId(selected) : undefined}
          aria-describedby={`${listId}-count`}
          value={query}
          onChange={(e) => {
            openWhenLoaded.current = null;
            onQueryChange(e.target.value);
          }}
          onKeyDown={onSearchKey}
        />
        <kbd className="search-kbd" aria-hidden="true">
          /
        </kbd>
      </div>

      <div className="list-meta" id={`${listId}-count`} aria-live="polite">
        {loaded === null && !error
          ? 'Loading patients…'
          : searching
            ? 'Searching…'
            : patients.length === 0
              ? ''
              : patients.length >= LIST_LIMIT
                ? `Showing the first ${LIST_LIMIT} — type more to narrow the search`
                : loaded?.query
                  ? `${patients.length} ${patients.length === 1 ? 'match' : 'matches'}`
                  : `${patients.length} ${patients.length === 1 ? 'patient' : 'patients'}, most recently changed first`}
      </div>

      {error && (
        <ErrorBanner title="Patients could not be loaded" onRetry={() => setRetryCount((n) => n + 1)}>
          <ErrorText error={error} />
        </ErrorBanner>
      )}

      {noPatientsAtAll && (
        <div className="empty" data-testid="patients-empty" data-empty-kind="no-patients">
          <p className="empty-title">No patients on this device yet — press N to register one</p>
          <p className="empty-hint">
            Patients registered here are saved on this device at once and sent to the server when it can be reached.
          </p>
          <button type="button" className="btn btn-primary" onClick={onRegister}>
            Register patient
          </button>
        </div>
      )}

      {noMatches && (
        <div className="empty" data-testid="patients-empty" data-empty-kind="no-matches">
          <p className="empty-title">No patients match “{loaded.query}”</p>
          <p className="empty-hint">
            Check the spelling, or search by phone number, national ID or health card ID. Press Esc to clear the
            search, or Ctrl+N to register a new patient.
          </p>
        </div>
      )}

      {patients.length > 0 && (
        <div className={`results ${searching ? 'is-stale' : ''}`}>
          <div className="results-head" aria-hidden="true">
            <span>Name</span>
            <span>Date of birth</span>
            <span>Phone</span>
            <span>Health card</span>
            <span />
          </div>
          <ul
            id={`${listId}-results`}
            ref={listRef}
            className="results-list"
            role="listbox"
            aria-label="Patients"
            data-testid="patient-results"
          >
            {patients.map((p) => {
              const isSelected = selected?.id === p.id;
              return (
                <li
                  key={p.id}
                  id={optionId(p)}
                  role="option"
                  aria-selected={isSelected}
                  className={`row ${isSelected ? 'is-selected' : ''}`}
                  data-testid="patient-row"
                  data-patient-id={p.id}
                  onMouseDown={(e) => e.preventDefault() /* keep focus in the search box */}
                  onMouseMove={() => {
                    if (!isSelected) setSelectedId(p.id);
                  }}
                  onClick={() => onOpen(p.id)}
                >
                  <span className="row-name">{displayName(p)}</span>
                  <span className="row-dob">{formatDobWithAge(p.date_of_birth, today) || <Missing />}</span>
                  <span className="row-phone">{p.phone || <Missing />}</span>
                  <span className="row-card mono">{p.health_card_id || <Missing />}</span>
                  <span className="row-badges">
                    {p.pending && (
                      <span
                        className="badge badge-pending"
                        data-testid="pending-badge"
                        title="Saved on this device — waiting to sync"
                      >
                        Not synced
                      </span>
                    )}
                  </span>
                </li>
              );
            })}
          </ul>
        </div>
      )}
    </section>
  );
}

function Missing() {
  return (
    <span className="missing" aria-label="not recorded">
      —
    </span>
  );
}
