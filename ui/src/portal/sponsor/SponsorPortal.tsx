// A sponsor's pages: their wallet and its funding, their sponsorships, pre-approvals waiting for a
// decision, and the utilisation and impact report. Keyboard: Alt+1…Alt+6 switch sections.

import { useEffect, useState } from 'react';
import type { SponsorHome } from '../../generated/protocol';
import { ErrorBanner } from '../../components/ErrorBanner';
import { get } from '../http';
import { useLoad } from '../useLoad';
import { Overview } from './Overview';
import { Profile } from './Profile';
import { Sponsorships } from './Sponsorships';
import { Programmes } from './Programmes';
import { PreApprovals } from './PreApprovals';
import { Report } from './Report';

const SECTIONS = [
  ['overview', 'Wallet'],
  ['programmes', 'Programmes'],
  ['sponsorships', 'Sponsorships'],
  ['approvals', 'Pre-approvals'],
  ['report', 'Report'],
  ['profile', 'Profile'],
] as const;
type Section = (typeof SECTIONS)[number][0];

/** `sponsor` is `me` for a sponsor's own account, or a sponsor id (a platform administrator). */
export function SponsorPortal({ sponsor = 'me' }: { sponsor?: string }) {
  const home = useLoad(() => get<SponsorHome>(`/portal/api/sponsors/${encodeURIComponent(sponsor)}`), sponsor);
  const [section, setSection] = useState<Section>(() => {
    const h = window.location.hash.slice(1);
    return SECTIONS.find(([k]) => k === h)?.[0] ?? 'overview';
  });
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

  const h = home.data;
  if (home.error && !h) {
    return (
      <main className="portal-main">
        <ErrorBanner title="Your sponsor pages could not be loaded" onRetry={home.reload}>
          {home.error.message}
        </ErrorBanner>
      </main>
    );
  }
  if (!h) {
    return (
      <main className="portal-main" aria-busy="true">
        <p className="loading">Loading…</p>
      </main>
    );
  }
  const base = `/portal/api/sponsors/${encodeURIComponent(h.sponsor_id)}`;
  if (!h.profile) {
    return (
      <main className="portal-main" data-testid="sponsor-setup">
        <Profile base={base} home={h} onSaved={home.reload} first />
      </main>
    );
  }
  return (
    <div className="portal-body">
      <nav className="portal-nav" aria-label="Sponsor sections">
        <p className="nav-title">{h.profile.name}</p>
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
                {key === 'approvals' && h.pending_pre_approvals > 0 && (
                  <span className="badge badge-error nav-count" data-testid="pending-count">
                    {h.pending_pre_approvals}
                  </span>
                )}
              </button>
            </li>
          ))}
        </ul>
      </nav>
      <main className="portal-main" data-testid={`section-${section}`}>
        {section === 'overview' ? (
          <Overview base={base} home={h} reload={home.reload} />
        ) : section === 'programmes' ? (
          <Programmes base={base} home={h} />
        ) : section === 'sponsorships' ? (
          <Sponsorships base={base} home={h} onChanged={home.reload} />
        ) : section === 'approvals' ? (
          <PreApprovals base={base} onDecided={home.reload} />
        ) : section === 'report' ? (
          <Report base={base} />
        ) : (
          <Profile base={base} home={h} onSaved={home.reload} />
        )}
      </main>
    </div>
  );
}
