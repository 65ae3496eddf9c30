// The web portal in a real browser (Debian's Chromium through playwright-core) against the real
// sync server and FerretDB, started by tests/tests/portal_browser.rs, which passes:
//   PORTAL_BASE      http://127.0.0.1:<port>
//   ANOLA_BIN        the `anola` CLI (the clinic devices of this test)
//   ADMIN_USER, ADMIN_PASSWORD, ADMIN_TOTP_SECRET   the server's bootstrap administrator
//   WORK_DIR         scratch space for the devices; ARTIFACTS_DIR for screenshots
// Every screen is checked with axe-core (no serious or critical violation).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { chromium } from 'playwright-core';
import * as OTPAuth from 'otpauth';

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set (run through cargo test -p anola-e2e --test portal_browser)`);
  return v;
};
const BASE = env('PORTAL_BASE');
const ANOLA = env('ANOLA_BIN');
const WORK = env('WORK_DIR');
const SHOTS = env('ARTIFACTS_DIR');
const ADMIN = { user: env('ADMIN_USER'), password: env('ADMIN_PASSWORD'), secret: env('ADMIN_TOTP_SECRET') };
const CLINIC = `p${Date.now().toString(36)}`;
const STAFF_PASSWORD = 'portal staff passphrase 42';
mkdirSync(SHOTS, { recursive: true });

const totp = (secret) => new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), digits: 6, period: 30 }).generate();

let stepNo = 0;
async function step(name, fn) {
  stepNo += 1;
  const t0 = Date.now();
  process.stdout.write(`[portal] ${stepNo}. ${name} … `);
  await fn();
  process.stdout.write(`ok (${Date.now() - t0} ms)\n`);
}

/** Runs the CLI as a device of this test; returns its JSON answer. */
function anola(device, args, { user, ok = true } = {}) {
  const r = spawnSync(ANOLA, ['--json', '--data-dir', path.join(WORK, device), '--server', BASE, ...args], {
    env: { ...process.env, ANOLA_USERNAME: user ?? '', ANOLA_PASSWORD: STAFF_PASSWORD },
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (ok && r.status !== 0) throw new Error(`anola ${args.join(' ')} failed (${r.status}): ${r.stdout} ${r.stderr}`);
  try {
    return { code: r.status, json: JSON.parse(r.stdout || 'null'), stderr: r.stderr };
  } catch {
    return { code: r.status, json: null, stderr: r.stderr };
  }
}

async function axeCheck(page, screen) {
  await page.evaluate(AXE);
  const result = await page.evaluate(async () => {
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
  const serious = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(serious, [], `axe: serious violations on ${screen}: ${JSON.stringify(serious, null, 1)}`);
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, `portal-${name}.png`), fullPage: true });
}

async function signIn(page, user, password, secret) {
  await page.goto(`${BASE}/portal/`);
  await page.getByTestId('username').fill(user);
  await page.getByTestId('password').fill(password);
  await page.getByTestId('sign-in').click();
  if (secret) {
    await page.getByTestId('totp').fill(totp(secret));
    await page.getByTestId('sign-in').click();
  }
  await page.getByTestId('portal-user').waitFor();
}

function nextMonday() {
  const d = new Date();
  d.setUTCDate(d.getUTCDate() + 1);
  while (d.getUTCDay() !== 1) d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
try {
  const admin = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  const page = await admin.newPage();
  const deskUser = `desk.${CLINIC}`;
  let code = '';
  let providerId = '';
  let patientId = '';

  await step('the sign-in page passes axe and sends the security headers', async () => {
    const resp = await page.goto(`${BASE}/portal/`);
    const h = resp.headers();
    assert.match(h['content-security-policy'], /default-src 'self'/);
    assert.match(h['content-security-policy'], /frame-ancestors 'none'/);
    assert.doesNotMatch(h['content-security-policy'], /unsafe-inline|unsafe-eval/);
    assert.equal(h['x-content-type-options'], 'nosniff');
    assert.equal(h['x-frame-options'], 'DENY');
    assert.equal(h['referrer-policy'], 'no-referrer');
    await page.getByTestId('username').waitFor();
    await axeCheck(page, 'sign-in');
    await shot(page, 'sign-in');
  });

  await step('a wrong TOTP code is refused in place', async () => {
    await page.getByTestId('username').fill(ADMIN.user);
    await page.getByTestId('password').fill(ADMIN.password);
    await page.getByTestId('sign-in').click();
    await page.getByTestId('totp').fill('000000');
    await page.getByTestId('sign-in').click();
    await page.getByTestId('field-error-totp').waitFor();
  });

  await step('the administrator signs in with TOTP; the session cookies are HttpOnly and SameSite=Strict', async () => {
    const [resp] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/portal/api/session') && r.request().method() === 'POST'),
      (async () => {
        await page.getByTestId('totp').fill(totp(ADMIN.secret));
        await page.getByTestId('sign-in').click();
      })(),
    ]);
    assert.equal(resp.status(), 200);
    const setCookies = (await resp.headersArray()).filter((x) => x.name.toLowerCase() === 'set-cookie').map((x) => x.value);
    const session = setCookies.find((c) => c.startsWith('anola_session='));
    const refresh = setCookies.find((c) => c.startsWith('anola_refresh='));
    const csrf = setCookies.find((c) => c.startsWith('anola_csrf='));
    assert.ok(session && refresh && csrf, JSON.stringify(setCookies));
    for (const c of [session, refresh]) {
      assert.match(c, /HttpOnly/);
      assert.match(c, /SameSite=Strict/);
    }
    assert.match(refresh, /Path=\/portal\/api\/session/);
    assert.doesNotMatch(csrf, /HttpOnly/);
    const body = await resp.json();
    assert.equal(JSON.stringify(body).includes('eyJ'), false, 'no token in the body scripts can read');
    const cookies = await admin.cookies();
    assert.equal(cookies.find((c) => c.name === 'anola_session').httpOnly, true);
    await page.getByTestId('clinic-id').fill(CLINIC);
  });

  await step('the fleet view starts empty (with its empty state)', async () => {
    await page.getByTestId('fleet-empty').waitFor();
    await axeCheck(page, 'fleet (empty)');
  });

  await step('a staff member is created; a bad password is refused naming the field', async () => {
    await page.getByTestId('nav-staff').click();
    await page.getByTestId('staff-new').click();
    await page.getByTestId('new-display-name').fill('Wanjiru Desk');
    await page.getByTestId('new-username').fill(deskUser);
    await page.getByTestId('new-password').fill('short');
    await page.getByTestId('new-staff-save').click();
    await page.getByTestId('field-error-new-password').waitFor();
    await axeCheck(page, 'new staff (with an error)');
    await page.getByTestId('new-password').fill(STAFF_PASSWORD);
    await page.getByTestId('new-staff-save').click();
    await page.getByTestId(`staff-row-${deskUser}`).waitFor();
    await axeCheck(page, 'staff');
    await shot(page, 'staff');
  });

  await step('an enrolment code is made in the portal, shown as text and QR', async () => {
    await page.getByTestId('nav-devices').click();
    await page.getByTestId('code-role').selectOption('front_desk');
    await page.getByTestId('code-create').click();
    code = (await page.getByTestId('enrol-code-text').textContent()).trim();
    assert.match(code, /^[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}$/);
    assert.equal(await page.locator('[data-testid=enrol-code] img').count(), 1);
    await axeCheck(page, 'devices');
    await shot(page, 'enrolment-code');
  });

  await step('a CLI device enrols with that code and syncs; the fleet view shows it', async () => {
    const e = anola('desk', ['enrol', '--code', code, '--name', 'Front desk 1'], { user: deskUser });
    assert.equal(e.json?.device?.clinic_id ?? CLINIC, CLINIC);
    anola('desk', ['sync'], { user: deskUser });
    await page.getByTestId('nav-fleet').click();
    await page.getByTestId('fleet-refresh').click();
    const row = page.locator('[data-testid^=fleet-row-]');
    await row.first().waitFor();
    assert.equal(await row.count(), 1);
    const text = await row.first().textContent();
    assert.match(text, /Front desk 1/);
    assert.doesNotMatch(text, /never/, 'the last sync is shown');
    assert.equal(await row.first().getAttribute('data-state'), 'ok');
    await page.getByTestId('fleet-chart').waitFor();
    await axeCheck(page, 'fleet');
    await shot(page, 'fleet');
  });

  await step('a provider is created with hours, then the hours are edited; the device receives them', async () => {
    await page.getByTestId('nav-providers').click();
    await page.getByTestId('provider-new').click();
    await page.getByTestId('p-title').fill('Dr');
    await page.getByTestId('p-given').fill('Achieng');
    await page.getByTestId('p-family').fill('Otieno');
    await page.getByTestId('hours-add').click();
    await page.getByTestId('hours-start-0').fill('08:00');
    await page.getByTestId('hours-end-0').fill('07:00');
    await page.getByTestId('provider-save').click();
    await page.getByTestId('field-error-hours-end-0').waitFor();
    await axeCheck(page, 'provider form (with an error)');
    await page.getByTestId('hours-end-0').fill('12:00');
    await page.getByTestId('provider-save').click();
    await page.getByTestId('provider-row-Otieno').waitFor();
    await page.getByTestId('provider-edit-Otieno').click();
    await page.getByTestId('hours-start-0').fill('09:00');
    await page.getByTestId('hours-end-0').fill('13:00');
    await shot(page, 'provider-form');
    await page.getByTestId('provider-save').click();
    await page.getByTestId('provider-row-Otieno').filter({ hasText: 'mon 09:00–13:00' }).waitFor();
    await axeCheck(page, 'providers');
    anola('desk', ['sync'], { user: deskUser });
    const providers = anola('desk', ['providers'], { user: deskUser }).json;
    const list = Array.isArray(providers) ? providers : (providers?.providers ?? []);
    const p = list.find((x) => x.family_name === 'Otieno');
    assert.ok(p, `the device has the provider: ${JSON.stringify(providers)}`);
    assert.deepEqual(p.weekly_availability, [{ day: 'mon', start: '09:00', end: '13:00' }]);
    providerId = p.id;
  });

  await step('the device registers a patient, books them, opens a wallet with money, issues a card', async () => {
    const added = anola('desk', ['patient', 'add', '--given', 'Amani', '--family', 'Mwangi', '--dob', '1990-02-03'], { user: deskUser }).json;
    patientId = added.id ?? added.patient?.id;
    assert.ok(patientId, JSON.stringify(added));
    anola('desk', ['appointment', 'book', '--patient', patientId, '--provider', providerId, '--date', nextMonday(), '--time', '09:30', '--reason', 'Follow-up'], { user: deskUser });
    anola('desk', ['sync'], { user: deskUser });
    anola('desk', ['wallet', 'open', '--patient', patientId], { user: deskUser });
    anola('desk', ['wallet', 'deposit', '--patient', patientId, '--amount', '750.00'], { user: deskUser });
    anola('desk', ['card', 'issue', '--patient', patientId], { user: deskUser });
  });

  await step('a clinician (account and device made through the portal API) shares one record of two', async () => {
    const csrf = (await admin.cookies()).find((c) => c.name === 'anola_csrf').value;
    const headers = { 'x-csrf-token': csrf };
    const clin = `clin.${CLINIC}`;
    let r = await admin.request.post(`${BASE}/admin/users`, {
      data: { username: clin, password: STAFF_PASSWORD, display_name: 'Dr Clinician', user_type: 'provider', role: 'clinician', clinic_id: CLINIC },
      headers,
    });
    assert.equal(r.status(), 200);
    r = await admin.request.post(`${BASE}/portal/api/clinics/${CLINIC}/enrolment-codes`, { data: { role: 'clinician' }, headers });
    const clinCode = (await r.json()).code.code;
    anola('clin', ['enrol', '--code', clinCode, '--name', 'Consulting room'], { user: clin });
    anola('clin', ['sync'], { user: clin });
    anola('clin', ['record', 'add', '--patient', patientId, '--diagnosis', 'B54:Malaria', '--plan', 'Rest and fluids', '--fields-json', '{"shared_with_patient": true}'], { user: clin });
    anola('clin', ['record', 'add', '--patient', patientId, '--notes', 'Private clinical note', '--plan', 'Not for the patient'], { user: clin });
    anola('clin', ['sync'], { user: clin });
  });

  await step('the administrator links a patient account (and looks at the other screens)', async () => {
    await page.getByTestId('nav-patients').click();
    await page.getByTestId('pa-query').fill(patientId);
    await page.getByTestId('pa-find-button').click();
    await page.getByTestId(`pa-choose-${patientId}`).click();
    await page.getByTestId('pa-username').fill(`amani.${CLINIC}`);
    await page.getByTestId('pa-password').fill('amani patient passphrase');
    await page.getByTestId('pa-create').click();
    await page.getByTestId('patient-account-created').waitFor();
    await axeCheck(page, 'patient accounts');
    for (const s of ['prices', 'review']) {
      await page.getByTestId(`nav-${s}`).click();
      await page.getByTestId(`section-${s}`).waitFor();
      await page.waitForLoadState('networkidle');
      await axeCheck(page, s);
      await shot(page, s);
    }
  });

  await step('a second device enrols, is revoked in the portal, fails its sync: the fleet shows the failure', async () => {
    await page.getByTestId('nav-devices').click();
    await page.getByTestId('code-create').click();
    const code2 = (await page.getByTestId('enrol-code-text').textContent()).trim();
    const e = anola('desk2', ['enrol', '--code', code2, '--name', 'Front desk 2'], { user: deskUser }).json;
    const id2 = e?.device?.device_id ?? e?.device_id;
    anola('desk2', ['sync'], { user: deskUser });
    await page.reload();
    await page.getByTestId('clinic-id').fill(CLINIC);
    await page.getByTestId('nav-devices').click();
    const revoke = page.locator(`[data-testid^=revoke-]`).filter({ hasText: 'Revoke' });
    const target = id2 ? page.getByTestId(`revoke-${id2}`) : revoke.last();
    await target.click();
    await page.getByTestId('revoke-confirm').click();
    await page.locator('text=Revoked').first().waitFor();
    const r = anola('desk2', ['sync'], { user: deskUser, ok: false });
    assert.notEqual(r.code, 0, 'a revoked device cannot sync');
    await page.getByTestId('nav-fleet').click();
    await page.getByTestId('fleet-refresh').click();
    await page.locator('[data-testid=fleet-error]', { hasText: /device_revoked|unauthenticated|device_not_enrolled/ }).first().waitFor();
    await shot(page, 'fleet-failure');
  });

  await step('the patient signs in and sees their appointment, balance and card; cancels the appointment', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    const p = await ctx.newPage();
    await signIn(p, `amani.${CLINIC}`, 'amani patient passphrase');
    await p.getByTestId('patient-name').waitFor();
    assert.match(await p.getByTestId('patient-name').textContent(), /Amani Mwangi/);
    await p.getByTestId('patient-appointment').first().waitFor();
    assert.match(await p.getByTestId('patient-appointment').first().textContent(), /09:30/);
    await p.getByTestId('patient-wallet-personal').waitFor();
    assert.match(await p.getByTestId('patient-wallet-personal').textContent(), /750\.00/);
    await p.locator('[data-testid=patient-card] img').waitFor();
    await p.getByTestId('patient-records').filter({ hasText: 'Malaria' }).waitFor();
    assert.doesNotMatch(await p.getByTestId('patient-records').textContent(), /Not for the patient/);
    await axeCheck(p, 'patient home');
    await shot(p, 'patient-home');
    p.once('dialog', (d) => void d.accept());
    await p.getByTestId('patient-cancel').click();
    await p.locator('text=No upcoming appointments.').waitFor();
    // The patient's page is not the console: the server refuses its APIs to a patient.
    const status = await p.evaluate(async (c) => (await fetch(`/portal/api/clinics/${c}/fleet`)).status, CLINIC);
    assert.equal(status, 403);
    await ctx.close();
    // Every view the patient made is in the clinic's access history, from the portal.
    const access = await (await admin.request.get(`${BASE}/admin/patients/${patientId}/access?clinic_id=${CLINIC}`)).json();
    const fromPortal = access.entries.filter((e) => e.device_id === 'portal');
    assert.ok(fromPortal.length >= 4, `portal views audited: ${JSON.stringify(access.entries.map((e) => [e.device_id, e.action]))}`);
    await page.getByTestId('nav-review').click();
    await page.getByTestId('access-patient').fill(patientId);
    await page.getByRole('button', { name: 'Show' }).click();
    await page.getByTestId('access-table').waitFor();
    anola('desk', ['sync'], { user: deskUser });
    const appts = JSON.stringify(anola('desk', ['appointment', 'list', '--patient', patientId], { user: deskUser, ok: false }).json);
    assert.match(appts, /cancelled/, `the device sees the cancellation: ${appts}`);
  });

  await step('security: CSRF, origin, role escalation, another clinic, brute force', async () => {
    const api = await admin.request;
    // The browser context holds the administrator's cookies; a request without the CSRF header is refused.
    let r = await api.post(`${BASE}/portal/api/clinics/${CLINIC}/enrolment-codes`, { data: { role: 'front_desk' } });
    assert.equal(r.status(), 403);
    assert.equal((await r.json()).code, 'csrf_failed');
    const csrf = (await admin.cookies()).find((c) => c.name === 'anola_csrf').value;
    r = await api.post(`${BASE}/portal/api/clinics/${CLINIC}/enrolment-codes`, {
      data: { role: 'front_desk' },
      headers: { 'x-csrf-token': csrf, origin: 'https://evil.example' },
    });
    assert.equal(r.status(), 403, 'another origin is refused even with the token');
    r = await api.post(`${BASE}/portal/api/clinics/${CLINIC}/enrolment-codes`, { data: { role: 'front_desk' }, headers: { 'x-csrf-token': csrf } });
    assert.equal(r.status(), 200, 'with the token, from the portal, it works');

    // A front-desk account signs in to the portal but gets no console, and the API refuses it.
    const desk = await browser.newContext();
    const dp = await desk.newPage();
    await signIn(dp, deskUser, STAFF_PASSWORD);
    await dp.locator('text=Nothing here for your account yet').waitFor();
    const deskCsrf = (await desk.cookies()).find((c) => c.name === 'anola_csrf').value;
    for (const [method, url, data] of [
      ['get', `/portal/api/clinics/${CLINIC}/fleet`],
      ['get', `/admin/clinics/${CLINIC}/users`],
      ['post', '/admin/users', { username: 'sneaky.admin', password: STAFF_PASSWORD, display_name: 'X', user_type: 'admin', role: 'clinic_admin', clinic_id: CLINIC }],
    ]) {
      const res = await desk.request[method](`${BASE}${url}`, { data, headers: { 'x-csrf-token': deskCsrf } });
      assert.equal(res.status(), 403, `${method} ${url} as front desk`);
    }
    await desk.close();

    // A clinic administrator of this clinic cannot see another clinic.
    const clinicAdmin = `admin.${CLINIC}`;
    r = await api.post(`${BASE}/admin/users`, {
      data: { username: clinicAdmin, password: STAFF_PASSWORD, display_name: 'Clinic Admin', user_type: 'admin', role: 'clinic_admin', clinic_id: CLINIC },
      headers: { 'x-csrf-token': csrf },
    });
    assert.equal(r.status(), 200);
    const ca = await browser.newContext();
    const cp = await ca.newPage();
    await signIn(cp, clinicAdmin, STAFF_PASSWORD);
    await cp.getByTestId('totp-start').waitFor();
    await axeCheck(cp, 'TOTP enrolment');
    await cp.getByTestId('totp-start').click();
    const secret = (await cp.getByTestId('totp-secret').textContent()).trim();
    await cp.getByTestId('totp-code').fill(totp(secret));
    await cp.getByTestId('totp-confirm').click();
    await cp.getByTestId('sign-in').waitFor();
    await signIn(cp, clinicAdmin, STAFF_PASSWORD, secret);
    await cp.getByTestId('fleet-table').waitFor();
    const caCsrf = (await ca.cookies()).find((c) => c.name === 'anola_csrf').value;
    for (const url of ['/portal/api/clinics/someother/fleet', '/admin/clinics/someother/users', '/admin/clinics/someother/devices']) {
      const res = await ca.request.get(`${BASE}${url}`);
      assert.equal(res.status(), 403, `${url} as the administrator of another clinic`);
    }
    const res = await ca.request.post(`${BASE}/portal/api/clinics/someother/enrolment-codes`, { data: { role: 'front_desk' }, headers: { 'x-csrf-token': caCsrf } });
    assert.equal(res.status(), 403);
    await ca.close();

    // A password reset ends the account's sessions at once; nobody resets their own account here.
    const desk2 = await browser.newContext();
    const d2 = await desk2.newPage();
    await signIn(d2, deskUser, STAFF_PASSWORD);
    const me = await (await admin.request.get(`${BASE}/auth/me`)).json();
    r = await api.post(`${BASE}/portal/api/users/${me.id}/password`, { data: { password: 'my own new passphrase' }, headers: { 'x-csrf-token': csrf } });
    assert.equal(r.status(), 403, 'self-reset is refused');
    const deskId = (await (await desk2.request.get(`${BASE}/auth/me`)).json()).id;
    r = await api.post(`${BASE}/portal/api/users/${deskId}/password`, { data: { password: STAFF_PASSWORD + ' v2' }, headers: { 'x-csrf-token': csrf } });
    assert.equal(r.status(), 200);
    assert.equal((await desk2.request.get(`${BASE}/auth/me`)).status(), 401, 'the old session ended with the reset');
    r = await api.post(`${BASE}/portal/api/users/not-a-uuid/password`, { data: { password: 'whatever long enough' }, headers: { 'x-csrf-token': csrf } });
    assert.equal(r.status(), 400);
    assert.equal((await r.json()).field, 'id');
    assert.equal((await api.get(`${BASE}/portal/api/no-such-thing`)).status(), 404);
    await desk2.close();

    // Brute force: after five wrong passwords the account is locked, even for the right one.
    const bf = await browser.newContext();
    for (let i = 0; i < 5; i += 1) {
      const x = await bf.request.post(`${BASE}/portal/api/session`, { data: { username: deskUser, password: `wrong ${i}` } });
      // 401 while attempts remain; the fifth failure may already answer 423 (locked).
      assert.ok(x.status() === 401 || (i === 4 && x.status() === 423), `attempt ${i}: ${x.status()}`);
    }
    const locked = await bf.request.post(`${BASE}/portal/api/session`, { data: { username: deskUser, password: STAFF_PASSWORD + ' v2' } });
    assert.equal(locked.status(), 423);
    assert.equal((await locked.json()).code, 'account_locked');
    await bf.close();
  });

  await step('signing out ends the session', async () => {
    await page.getByTestId('sign-out').click();
    await page.getByTestId('sign-in').waitFor();
    const r = await admin.request.get(`${BASE}/portal/api/clinics/${CLINIC}/fleet`);
    assert.equal(r.status(), 401);
  });
} finally {
  await browser.close();
}
console.log(`[portal] all ${stepNo} steps passed; screenshots in ${SHOTS}`);
