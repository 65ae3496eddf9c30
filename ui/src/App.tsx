import { DrawerPanel } from './components/DrawerPanel';
import { useCallback, useEffect, useRef, useState } from 'react';
import { api, isTauri, toApiError } from './api';
import { scanErrorMessage } from './cards';
import { CheckInPanel, IssueCardButton } from './components/CardActions';
import { ErrorBanner } from './components/ErrorBanner';
import { ScanProvider } from './components/Scanner';
import { CardReaderButton } from './components/CardReader';
import { AppointmentForm } from './components/AppointmentForm';
import { AppointmentsView } from './components/AppointmentsView';
import { ConflictsView } from './components/Conflicts';
import { Notice } from './components/Notice';
import { PatientDetail, type DetailTab } from './components/PatientDetail';
import { PatientForm } from './components/PatientForm';
import { PatientList } from './components/PatientList';
import { RecordForm } from './components/RecordForm';
import { SessionControls, type Session } from './components/SessionControls';
import { SyncIndicator } from './components/SyncIndicator';
import { displayName, formatDate } from './format';
import { isTypingTarget, useSyncStatus } from './hooks';
import type { Appointment, MedicalRecordVersion, Patient, RecordVersionView } from './types';
import { todayIso } from './validation';

type View =
  | { name: 'list' }
  | { name: 'register' }
  | {
      name: 'detail';
      id: string;
      editing: boolean;
      initial?: Patient | null;
      tab: DetailTab;
      /** Where Back/Esc returns (the patient list when absent). */
      back?: View;
      /** The card scan that opened this patient (front-desk check-in uses it). */
      scan?: string;
    }
  | { name: 'appointments'; date: string; highlight?: string | null }
  | { name: 'book'; patient: Patient | null; date: string; back: View }
  | { name: 'record'; patient: Patient; amends: RecordVersionView | null; back: View }
  | { name: 'conflicts'; back?: View }
  | { name: 'drawer' };

type Section = 'patients' | 'appointments' | 'conflicts' | 'drawer';

const sectionOf = (v: View): Section =>
  v.name === 'appointments' || (v.name === 'book' && v.back.name === 'appointments')
    ? 'appointments'
    : v.name === 'conflicts'
      ? 'conflicts'
      : v.name === 'drawer'
        ? 'drawer'
        : 'patients';

const backLabel = (v: View | undefined): string =>
  !v || v.name === 'list'
    ? 'Patients'
    : v.name === 'appointments'
      ? 'Appointments'
      : v.name === 'conflicts'
        ? 'Conflicts'
        : v.name === 'detail'
          ? 'Patient'
          : 'Back';

/** A view to return to, without stale per-visit state (a just-saved patient, an open edit). */
const asBack = (v: View): View => (v.name === 'detail' ? { ...v, editing: false, initial: null, scan: undefined } : v);

export function App({ session }: { session: Session }) {
  const { access } = session;
  const sync = useSyncStatus();
  const [view, setView] = useState<View>({ name: 'list' });
  const [query, setQuery] = useState('');
  const [notice, setNotice] = useState<string | null>(null);
  // The day the appointments view shows, kept while visiting other views.
  const [day, setDay] = useState(() => todayIso());
  const dayRef = useRef(day);
  useEffect(() => {
    dayRef.current = day;
  }, [day]);
  const searchRef = useRef<HTMLInputElement | null>(null);
  const formDirty = useRef(false);
  const viewRef = useRef(view);
  useEffect(() => {
    viewRef.current = view;
  }, [view]);

  // Reload lists and records quietly whenever local or synced data may have changed.
  const s = sync.status;
  const refreshKey = s ? `${s.last_synced_at ?? ''}|${s.pending}|${s.rejected}|${s.conflicts}` : '';

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
  const goAppointments = useCallback((date?: string, highlight?: string | null) => {
    if (date) setDay(date);
    setView((v) => ({ name: 'appointments', date: date ?? (v.name === 'appointments' ? v.date : dayRef.current), highlight }));
  }, []);
  const goConflicts = useCallback(() => {
    setView((v) => (v.name === 'conflicts' ? v : { name: 'conflicts', back: asBack(v) }));
    requestAnimationFrame(() => document.getElementById('conflicts-title')?.focus());
  }, []);
  const goBack = useCallback(
    (back: View | undefined) => {
      if (!back || back.name === 'list') goList();
      else setView(back);
    },
    [goList],
  );

  const openPatient = useCallback((id: string, tab: DetailTab = 'details') => {
    setView((v) => ({ name: 'detail', id, editing: false, tab, back: v.name === 'list' ? undefined : asBack(v) }));
  }, []);
  const openFromList = useCallback((id: string) => setView({ name: 'detail', id, editing: false, tab: 'details' }), []);
  const onDirtyChange = useCallback((d: boolean) => {
    formDirty.current = d;
  }, []);
  const dismissNotice = useCallback(() => setNotice(null), []);

  // A card scanned anywhere (keyboard-wedge scanner): verify it and open its patient.
  const [scanError, setScanError] = useState<string | null>(null);
  const scanSeq = useRef(0);
  const onScan = useCallback((text: string) => {
    const seq = ++scanSeq.current;
    setScanError(null);
    const v = viewRef.current;
    const inForm = v.name === 'register' || v.name === 'book' || v.name === 'record' || (v.name === 'detail' && v.editing);
    if (inForm && formDirty.current) {
      // Never drop unsaved input for a scan.
      setScanError('A card was scanned, but this form has unsaved changes. Save or cancel it, then scan again.');
      return;
    }
    api.verifyCard(text).then(
      (check) => {
        if (seq !== scanSeq.current) return;
        setView((v) => ({
          name: 'detail',
          id: check.patient.id,
          editing: false,
          tab: 'details',
          initial: check.patient,
          scan: text,
          back: v.name === 'list' ? undefined : asBack(v),
        }));
      },
      (e: unknown) => {
        if (seq === scanSeq.current) setScanError(scanErrorMessage(toApiError(e)));
      },
    );
  }, []);

  const onRegistered = useCallback((p: Patient) => {
    setNotice('Patient registered and saved on this device.');
    setView({ name: 'detail', id: p.id, editing: false, initial: p, tab: 'details' });
  }, []);
  const onEditDone = useCallback((message: string | null) => {
    setNotice(message);
    setView((v) => (v.name === 'detail' ? { ...v, editing: false, initial: null } : v));
  }, []);

  const bookFor = useCallback((patient: Patient | null, date?: string) => {
    setNotice(null);
    setView((v) => ({ name: 'book', patient, date: date ?? todayIso(), back: asBack(v) }));
  }, []);
  const onBooked = useCallback(
    (a: Appointment) => {
      setNotice(
        `Appointment booked on this device for ${a.date ? formatDate(a.date) : ''} ${a.start_time ?? ''} — the server confirms the slot at the next sync.`,
      );
      const v = viewRef.current;
      if (v.name === 'book' && v.back.name === 'detail') setView({ ...v.back, tab: 'appointments' });
      else goAppointments(a.date ?? undefined, a.id);
    },
    [goAppointments],
  );

  const writeRecord = useCallback((patient: Patient, amends: RecordVersionView | null) => {
    if (!access.write('medical_record')) return;
    setNotice(null);
    setView((v) => ({ name: 'record', patient, amends, back: asBack(v) }));
  }, [access]);
  const onRecordSaved = useCallback((_r: MedicalRecordVersion, amended: boolean) => {
    setNotice(
      amended
        ? 'Amendment saved on this device. The earlier version stays in the history.'
        : 'Record saved on this device.',
    );
    setView((v) =>
      v.name === 'record'
        ? v.back.name === 'detail'
          ? { ...v.back, tab: 'records' }
          : { name: 'detail', id: v.patient.id, editing: false, tab: 'records' }
        : v,
    );
  }, []);

  const onDeleted = useCallback(
    (p: Patient) => {
      setNotice(`${displayName(p)} was deleted on this device; other devices follow after the next sync.`);
      goList();
    },
    [goList],
  );

  const openAppointment = useCallback((date: string, id: string) => goAppointments(date, id), [goAppointments]);

  // Keyboard shortcuts that work anywhere: `/` search, `n` or Ctrl+N register, `a` appointments,
  // Esc back, `e` edit. Views add their own (day view: ←/→ T B; patient: 1 2 3 B R).
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented || e.isComposing) return;
      const v = viewRef.current;
      const typing = isTypingTarget(e.target);
      const inForm = v.name === 'register' || v.name === 'book' || v.name === 'record' || (v.name === 'detail' && v.editing);
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
          goBack(v.back);
        } else if (v.name === 'book' || v.name === 'record' || v.name === 'conflicts') {
          e.preventDefault();
          goBack(v.back);
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
      } else if ((e.key === 'a' || e.key === 'A') && !inForm) {
        e.preventDefault();
        goAppointments();
      } else if ((e.key === 'e' || e.key === 'E') && v.name === 'detail' && !v.editing) {
        e.preventDefault();
        setNotice(null);
        setView({ ...v, editing: true });
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [goList, goRegister, goAppointments, goBack, onEditDone]);

  const section = sectionOf(view);
  const conflicts = s?.conflicts ?? 0;

  return (
    <ScanProvider onScan={onScan}>
    <div className="app">
      <header className="app-header">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true">
            +
          </span>
          <span className="brand-name">Anola Health</span>
          {s?.clinic_id && (
            <span className="brand-clinic mono" data-testid="sync-clinic" title="The clinic this device serves">
              {s.clinic_id}
            </span>
          )}
          {!isTauri() && (
            <span className="badge badge-demo" title="Running in a browser with demo data; nothing is saved">
              Demo data
            </span>
          )}
        </div>
        <nav className="nav" aria-label="Sections">
          <button
            type="button"
            className={`nav-item ${section === 'patients' ? 'is-active' : ''}`}
            aria-current={section === 'patients' ? 'page' : undefined}
            data-testid="nav-patients"
            onClick={goList}
          >
            Patients <kbd>/</kbd>
          </button>
          <button
            type="button"
            className={`nav-item ${section === 'appointments' ? 'is-active' : ''}`}
            aria-current={section === 'appointments' ? 'page' : undefined}
            data-testid="nav-appointments"
            onClick={() => goAppointments()}
          >
            Appointments <kbd>A</kbd>
          </button>
          <button
            type="button"
            className={`nav-item ${section === 'conflicts' ? 'is-active' : ''}`}
            aria-current={section === 'conflicts' ? 'page' : undefined}
            data-testid="nav-conflicts"
            onClick={goConflicts}
          >
            Conflicts
            {conflicts > 0 && <span className="nav-count">{conflicts}</span>}
          </button>
          {access.money && (
            <button
              type="button"
              className={`nav-item ${section === 'drawer' ? 'is-active' : ''}`}
              aria-current={section === 'drawer' ? 'page' : undefined}
              data-testid="nav-drawer"
              onClick={() => setView({ name: 'drawer' })}
            >
              Cash drawer
            </button>
          )}
        </nav>
        <div className="header-end">
          {access.read('patient') && <CardReaderButton />}
          <SyncIndicator {...sync} onOpenConflicts={goConflicts} />
          <SessionControls session={session} onNotice={setNotice} />
        </div>
      </header>

      <main className="app-main" id="main">
        {notice && <Notice message={notice} onDone={dismissNotice} />}
        {scanError && (
          <div data-testid="scan-error">
            <ErrorBanner title="Card not accepted" onDismiss={() => setScanError(null)}>
              {scanError}
            </ErrorBanner>
          </div>
        )}
        {view.name === 'list' && (
          <PatientList
            query={query}
            onQueryChange={setQuery}
            onOpen={openFromList}
            onRegister={goRegister}
            refreshKey={refreshKey}
            searchRef={searchRef}
          />
        )}
        {view.name === 'register' && (
          <PatientForm
            original={null}
            onSaved={onRegistered}
            onCancel={goList}
            onDirtyChange={onDirtyChange}
            access={access}
          />
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
            onBack={() => goBack(view.back)}
            backLabel={backLabel(view.back)}
            refreshKey={refreshKey}
            onDirtyChange={onDirtyChange}
            tab={view.tab}
            onTabChange={(tab) => setView((v) => (v.name === 'detail' ? { ...v, tab } : v))}
            onBook={(p) => bookFor(p)}
            onNewRecord={(p) => writeRecord(p, null)}
            onAmendRecord={writeRecord}
            onOpenPatient={(id) => openPatient(id)}
            onOpenAppointment={openAppointment}
            onNotice={setNotice}
            onDeleted={onDeleted}
            session={session}
            renderActions={(p) => (
              <>
                <CheckInPanel key={view.scan ?? ''} scanText={view.scan} patientId={p.id} onOpenPatient={(id) => openPatient(id)} />
                {access.write('patient', 'health_card_id') && <IssueCardButton patient={p} />}
              </>
            )}
          />
        )}
        {view.name === 'appointments' && (
          <AppointmentsView
            date={view.date}
            onDateChange={(date) => {
              setDay(date);
              setView({ name: 'appointments', date });
            }}
            highlightId={view.highlight}
            onOpenPatient={(id) => openPatient(id, 'appointments')}
            onBook={(date) => bookFor(null, date)}
            onNotice={setNotice}
            refreshKey={refreshKey}
            onSyncNow={sync.syncNow}
            actions={<CheckInPanel onOpenPatient={(id) => openPatient(id, 'appointments')} />}
          />
        )}
        {view.name === 'book' && (
          <AppointmentForm
            patient={view.patient}
            date={view.date}
            onSaved={onBooked}
            onCancel={() => goBack(view.back)}
            onDirtyChange={onDirtyChange}
            refreshKey={refreshKey}
            onSyncNow={sync.syncNow}
          />
        )}
        {view.name === 'record' && access.write('medical_record') && (
          <RecordForm
            key={view.amends?.id ?? 'new'}
            patient={view.patient}
            amends={view.amends}
            onSaved={onRecordSaved}
            onCancel={() => goBack(view.back)}
            onDirtyChange={onDirtyChange}
            signedInAs={session.user.display_name}
          />
        )}
        {view.name === 'drawer' && <DrawerPanel onNotice={setNotice} />}
        {view.name === 'conflicts' && (
          <ConflictsView
            refreshKey={refreshKey}
            onOpenPatient={(id) => openPatient(id)}
            onOpenAppointment={openAppointment}
          />
        )}
      </main>

      <footer className="app-footer" aria-label="Keyboard shortcuts">
        <span>
          <kbd>/</kbd> Search
        </span>
        <span>
          <kbd>N</kbd> Register
        </span>
        <span>
          <kbd>A</kbd> Appointments
        </span>
        {view.name === 'appointments' ? (
          <>
            <span>
              <kbd>←</kbd>
              <kbd>→</kbd> Day
            </span>
            <span>
              <kbd>B</kbd> Book
            </span>
          </>
        ) : view.name === 'detail' && !view.editing ? (
          <>
            <span>
              <kbd>1</kbd>
              <kbd>2</kbd>
              {access.records && <kbd>3</kbd>}
              {access.accessHistory && <kbd>4</kbd>} Tabs
            </span>
            <span>
              <kbd>B</kbd> Book
            </span>
            {access.write('medical_record') && (
              <span>
                <kbd>R</kbd> Record
              </span>
            )}
            <span>
              <kbd>E</kbd> Edit
            </span>
          </>
        ) : (
          <span>
            <kbd>↑</kbd>
            <kbd>↓</kbd> Select
          </span>
        )}
        <span>
          <kbd>Enter</kbd> Open / Save
        </span>
        <span>
          <kbd>Esc</kbd> Back / Cancel
        </span>
        <span>
          <kbd>Ctrl</kbd>
          <kbd>L</kbd> Lock
        </span>
      </footer>
    </div>
    </ScanProvider>
  );
}
