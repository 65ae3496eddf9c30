import { useCallback, useEffect, useRef, useState } from 'react';
import { isTauri } from './api';
import { Notice } from './components/Notice';
import { PatientDetail } from './components/PatientDetail';
import { PatientForm } from './components/PatientForm';
import { PatientList } from './components/PatientList';
import { SyncIndicator } from './components/SyncIndicator';
import { isTypingTarget, useSyncStatus } from './hooks';
import type { Patient } from './types';

type View =
  | { name: 'list' }
  | { name: 'register' }
  | { name: 'detail'; id: string; editing: boolean; initial?: Patient | null };

export function App() {
  const sync = useSyncStatus();
  const [view, setView] = useState<View>({ name: 'list' });
  const [query, setQuery] = useState('');
  const [notice, setNotice] = useState<string | null>(null);
  const searchRef = useRef<HTMLInputElement | null>(null);
  const formDirty = useRef(false);
  const viewRef = useRef(view);
  useEffect(() => {
    viewRef.current = view;
  }, [view]);

  // Reload lists and records quietly whenever local or synced data may have changed.
  const s = sync.status;
  const refreshKey = s ? `${s.last_synced_at ?? ''}|${s.pending}|${s.rejected}` : '';

  const goList = useCallback(() => {
    setView({ name: 'list' });
    // The search box autofocuses when the list mounts; when already on the list, focus it here.
    requestAnimationFrame(() => {
      searchRef.current?.focus();
      searchRef.current?.select();
    });
  }, []);
  const goRegister = useCallback(() => {
    setNotice(null);
    setView({ name: 'register' });
  }, []);
  const openPatient = useCallback((id: string) => setView({ name: 'detail', id, editing: false }), []);
  const onDirtyChange = useCallback((d: boolean) => {
    formDirty.current = d;
  }, []);
  const dismissNotice = useCallback(() => setNotice(null), []);

  const onRegistered = useCallback((p: Patient) => {
    setNotice('Patient registered and saved on this device.');
    setView({ name: 'detail', id: p.id, editing: false, initial: p });
  }, []);
  const onEditDone = useCallback((message: string | null) => {
    setNotice(message);
    setView((v) => (v.name === 'detail' ? { ...v, editing: false, initial: null } : v));
  }, []);

  // Keyboard shortcuts that work anywhere: `/` search, `n` or Ctrl+N register, Esc back, `e` edit.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented || e.isComposing) return;
      const v = viewRef.current;
      const typing = isTypingTarget(e.target);
      const inForm = v.name === 'register' || (v.name === 'detail' && v.editing);
      const plain = !e.ctrlKey && !e.metaKey && !e.altKey;

      if (e.key === 'Escape') {
        if (v.name === 'register') {
          e.preventDefault();
          goList();
        } else if (v.name === 'detail' && v.editing) {
          e.preventDefault();
          onEditDone(null);
        } else if (v.name === 'detail') {
          e.preventDefault();
          goList();
        }
        return;
      }
      if ((e.key === 'n' || e.key === 'N') && (e.ctrlKey || e.metaKey) && !e.altKey) {
        e.preventDefault(); // also keeps the webview from opening a window
        if (!inForm) goRegister();
        return;
      }
      if (typing || !plain) return;
      if (e.key === '/') {
        if (inForm && formDirty.current) return; // never drop unsaved input on a stray key
        e.preventDefault();
        goList();
      } else if ((e.key === 'n' || e.key === 'N') && !inForm) {
        e.preventDefault();
        goRegister();
      } else if ((e.key === 'e' || e.key === 'E') && v.name === 'detail' && !v.editing) {
        e.preventDefault();
        setNotice(null);
        setView({ ...v, editing: true });
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [goList, goRegister, onEditDone]);

  return (
    <div className="app">
      <header className="app-header">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true">
            +
          </span>
          <span className="brand-name">Anola Health</span>
          {!isTauri() && (
            <span className="badge badge-demo" title="Running in a browser with demo data; nothing is saved">
              Demo data
            </span>
          )}
        </div>
        <SyncIndicator {...sync} />
      </header>

      <main className="app-main" id="main">
        {notice && <Notice message={notice} onDone={dismissNotice} />}
        {view.name === 'list' && (
          <PatientList
            query={query}
            onQueryChange={setQuery}
            onOpen={openPatient}
            onRegister={goRegister}
            refreshKey={refreshKey}
            searchRef={searchRef}
          />
        )}
        {view.name === 'register' && (
          <PatientForm original={null} onSaved={onRegistered} onCancel={goList} onDirtyChange={onDirtyChange} />
        )}
        {view.name === 'detail' && (
          <PatientDetail
            key={view.id}
            id={view.id}
            initial={view.initial}
            editing={view.editing}
            onEdit={() => {
              setNotice(null);
              setView({ ...view, editing: true });
            }}
            onEditDone={onEditDone}
            onBack={goList}
            refreshKey={refreshKey}
            onDirtyChange={onDirtyChange}
          />
        )}
      </main>

      <footer className="app-footer" aria-label="Keyboard shortcuts">
        <span>
          <kbd>/</kbd> Search
        </span>
        <span>
          <kbd>N</kbd> or <kbd>Ctrl</kbd>+<kbd>N</kbd> Register
        </span>
        <span>
          <kbd>↑</kbd>
          <kbd>↓</kbd> Select
        </span>
        <span>
          <kbd>Enter</kbd> Open / Save
        </span>
        <span>
          <kbd>E</kbd> Edit
        </span>
        <span>
          <kbd>Esc</kbd> Back / Cancel
        </span>
      </footer>
    </div>
  );
}
