// The clinic administrator's console. Keyboard: Alt+1…Alt+8 switch sections.

import { useEffect, useState } from 'react';
import type { SessionUser } from '../../generated/protocol';
import { TextField } from '../../components/Field';
import { Fleet } from './Fleet';
import { Staff } from './Staff';
import { Devices } from './Devices';
import { Providers } from './Providers';
import { Prices } from './Prices';
import { Review } from './Review';
import { PatientAccounts } from './PatientAccounts';
import { Sponsors } from './Sponsors';

const SECTIONS = [
  ['fleet', 'Sync fleet'],
  ['staff', 'Staff'],
  ['devices', 'Devices'],
  ['providers', 'Providers'],
  ['prices', 'Prices'],
  ['review', 'Duplicates & conflicts'],
  ['patients', 'Patient accounts'],
  ['sponsors', 'Sponsors'],
] as const;
type Section = (typeof SECTIONS)[number][0];

export function Console({ user }: { user: SessionUser }) {
  const [section, setSection] = useState<Section>(() => {
    const h = window.location.hash.slice(1);
    return SECTIONS.find(([k]) => k === h)?.[0] ?? 'fleet';
  });
  const [clinic, setClinic] = useState(user.clinic_id ?? localStorage.getItem('portal-clinic') ?? 'main');

  useEffect(() => {
    window.location.hash = section;
  }, [section]);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const n = Number(e.key);
      if (e.altKey && n >= 1 && n <= SECTIONS.length) {
        e.preventDefault();
        setSection(SECTIONS[n - 1][0]);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  return (
    <div className="portal-body">
      <nav className="portal-nav" aria-label="Console sections">
        {user.platform_admin && (
          <TextField
            testId="clinic-id"
            label="Clinic"
            value={clinic}
            onValueChange={(v) => {
              setClinic(v);
              localStorage.setItem('portal-clinic', v);
            }}
          />
        )}
        <ul>
          {SECTIONS.map(([key, label], i) => (
            <li key={key}>
              <button
                type="button"
                className={`nav-item${section === key ? ' active' : ''}`}
                aria-current={section === key ? 'page' : undefined}
                onClick={() => setSection(key)}
                data-testid={`nav-${key}`}
                title={`Alt+${i + 1}`}
              >
                {label}
              </button>
            </li>
          ))}
        </ul>
      </nav>
      <main className="portal-main" data-testid={`section-${section}`}>
        {clinic.trim() === '' ? (
          <p className="empty">Enter a clinic id to manage.</p>
        ) : section === 'fleet' ? (
          <Fleet clinic={clinic} />
        ) : section === 'staff' ? (
          <Staff clinic={clinic} me={user} />
        ) : section === 'devices' ? (
          <Devices clinic={clinic} />
        ) : section === 'providers' ? (
          <Providers clinic={clinic} />
        ) : section === 'prices' ? (
          <Prices />
        ) : section === 'review' ? (
          <Review clinic={clinic} />
        ) : section === 'sponsors' ? (
          <Sponsors me={user} />
        ) : (
          <PatientAccounts clinic={clinic} />
        )}
      </main>
    </div>
  );
}
