// The sponsor's pages in a real browser (Debian's Chromium through playwright-core) against the
// real sync server, FerretDB and the M-Pesa simulator, started by tests/tests/sponsor_browser.rs,
// which passes:
//   PORTAL_BASE                      http://127.0.0.1:<port>
//   SPONSOR_USER, SPONSOR_PASSWORD   the sponsor's account
//   PATIENT_ID                       a patient of the clinic
//   DOCTOR_KEY, DOCTOR_TOKEN         a clinician's enrolled device (device key, access token)
//   DESK_KEY, DESK_TOKEN             a front desk's enrolled device
//   ARTIFACTS_DIR                    where screenshots go
// Every screen is checked with axe-core (no serious or critical violation).

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set (run through cargo test -p anola-e2e --test sponsor_browser)`);
  return v;
};
const BASE = env('PORTAL_BASE');
const SHOTS = env('ARTIFACTS_DIR');
const PATIENT = env('PATIENT_ID');
mkdirSync(SHOTS, { recursive: true });

let stepNo = 0;
async function step(name, fn) {
  stepNo += 1;
  const t0 = Date.now();
  process.stdout.write(`[sponsor] ${stepNo}. ${name} … `);
  await fn();
  process.stdout.write(`ok (${Date.now() - t0} ms)\n`);
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
  await page.screenshot({ path: path.join(SHOTS, `sponsor-${name}.png`), fullPage: true });
}

/** A request from one of the clinic's enrolled devices (what the app sends). */
async function device(who, method, p, body) {
  const r = await fetch(`${BASE}${p}`, {
    method,
    headers: {
      'x-anola-device-key': env(`${who}_KEY`),
      authorization: `Bearer ${env(`${who}_TOKEN`)}`,
      'content-type': 'application/json',
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, json: await r.json().catch(() => null) };
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
try {
  const ctx = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  const page = await ctx.newPage();
  let sponsorshipId = '';
  let preApproval = '';

  await step('the sponsor signs in and is asked to set up a profile', async () => {
    await page.goto(`${BASE}/portal/`);
    await page.getByTestId('username').fill(env('SPONSOR_USER'));
    await page.getByTestId('password').fill(env('SPONSOR_PASSWORD'));
    await page.getByTestId('sign-in').click();
    await page.getByTestId('sponsor-setup').waitFor();
    // A bad country is refused on its field.
    await page.getByTestId('sponsor-name').fill('Hope Foundation');
    await page.getByTestId('sponsor-country').fill('Kenya');
    await page.getByTestId('sponsor-save').click();
    await page.getByTestId('field-error-sponsor-country').waitFor();
    await axeCheck(page, 'profile set-up with an error');
    await page.getByTestId('sponsor-country').fill('KE');
    await page.getByTestId('sponsor-save').click();
    await page.getByTestId('section-overview').waitFor();
    await page.getByTestId('deposits-empty').waitFor();
    await axeCheck(page, 'empty wallet');
    await shot(page, 'wallet-empty');
  });

  await step('they fund the wallet by mobile money (the payer confirms on the simulator)', async () => {
    await page.getByTestId('fund-amount').fill('5000');
    await page.getByTestId('fund-phone').fill('254712345678');
    await page.getByTestId('fund-submit').click();
    await page.getByTestId('fund-asked').waitFor();
    for (let i = 0; i < 50; i += 1) {
      await page.getByRole('button', { name: 'Refresh' }).click();
      const shown = await page.getByTestId('sponsor-available').textContent();
      if (shown.includes('5,000.00')) break;
      await page.waitForTimeout(200);
    }
    assert.match(await page.getByTestId('sponsor-available').textContent(), /5,000\.00/);
    await page.getByTestId('deposits-table').waitFor();
    await axeCheck(page, 'funded wallet');
    await shot(page, 'wallet-funded');
  });

  await step('they make a programme with narrow coverage (a missing allocation is refused in place)', async () => {
    await page.getByTestId('nav-programmes').click();
    await page.getByTestId('prog-empty').waitFor();
    await page.getByTestId('prog-new').click();
    await page.getByTestId('prog-name').fill('Surgery 2027');
    await page.getByTestId('prog-countries').fill('KE');
    await page.getByTestId('prog-service-procedure').check();
    await page.getByTestId('prog-service-lab_test').check();
    await page.getByTestId('prog-pre-above').fill('500');
    await page.getByTestId('prog-days').fill('90');
    await page.getByTestId('prog-submit').click();
    await page.getByTestId('field-error-prog-allocation').waitFor();
    await axeCheck(page, 'programme form with an error');
    await page.getByTestId('prog-allocation').fill('2000');
    await page.getByTestId('prog-submit').click();
    await page.getByText('Surgery 2027').first().waitFor();
    await axeCheck(page, 'programmes');
    await shot(page, 'programmes');
  });

  await step('they sponsor a patient from the programme', async () => {
    await page.getByTestId('nav-sponsorships').click();
    await page.getByTestId('sp-empty').waitFor();
    await page.getByTestId('sp-new').click();
    await page.getByTestId('sp-patient').fill(PATIENT);
    const programme = await page.getByTestId('sp-programme-id').locator('option', { hasText: 'Surgery 2027' }).getAttribute('value');
    await page.getByTestId('sp-programme-id').selectOption(programme);
    // The programme's terms are filled in.
    assert.equal(await page.getByTestId('sp-allocation').inputValue(), '2000.00');
    assert.equal(await page.getByTestId('sp-country').inputValue(), 'KE');
    assert.equal(await page.getByTestId('sp-service-procedure').isChecked(), true);
    assert.equal(await page.getByTestId('sp-pre-above').inputValue(), '500.00');
    await axeCheck(page, 'sponsorship form from a programme');
    await page.getByTestId('sp-submit').click();
    await page.getByTestId('sp-table').waitFor();
    const row = page.locator('[data-testid^="sp-row-"]').first();
    assert.equal(await row.getAttribute('data-status'), 'active');
    sponsorshipId = (await row.getAttribute('data-testid')).replace('sp-row-', '');
    await axeCheck(page, 'sponsorships');
    await shot(page, 'sponsorships');
  });

  await step('a clinician asks for a pre-approval from a clinic device', async () => {
    preApproval = crypto.randomUUID();
    const asked = await device('DOCTOR', 'POST', '/money/pre-approvals', {
      id: preApproval,
      sponsorship: sponsorshipId,
      patient: PATIENT,
      lines: [{ item: 'SURG', quantity: 1, unit_price: 150_000 }],
      diagnoses: ['K40.9'],
      note: 'inguinal hernia repair',
      valid_days: 14,
    });
    assert.equal(asked.status, 201, JSON.stringify(asked.json));
    // Before approval, the front desk's quote shows the surgery is not covered yet, and why.
    const q = await device('DESK', 'POST', '/money/quote', {
      id: crypto.randomUUID(),
      patient: PATIENT,
      lines: [{ item: 'SURG', quantity: 1, unit_price: 150_000 }],
      desk: { method: 'owed' },
      desk_amount: 0,
    });
    assert.equal(q.status, 200, JSON.stringify(q.json));
    assert.equal(q.json.desk_amount, 150_000);
    assert.deepEqual(q.json.coverage[0].answer.lines[0].reasons, ['pre_approval_required']);
  });

  await step('the sponsor approves it in the portal', async () => {
    await page.reload();
    await page.getByTestId('pending-count').waitFor();
    await page.getByTestId('nav-approvals').click();
    const card = page.getByTestId(`pa-${preApproval}`);
    await card.waitFor();
    assert.equal(await card.getAttribute('data-state'), 'pending');
    await axeCheck(page, 'pre-approval waiting');
    await page.getByTestId(`pa-comment-${preApproval}`).fill('Approved: please send the outcome');
    await card.getByTestId('pa-approve').click();
    await page.locator(`[data-testid="pa-${preApproval}"][data-state="approved"]`).waitFor();
    assert.match(await card.getByTestId('pa-held').textContent(), /1,500\.00/);
    await axeCheck(page, 'pre-approval approved');
    await shot(page, 'pre-approval');
    const seen = await device('DOCTOR', 'GET', `/money/pre-approvals/${preApproval}`);
    assert.equal(seen.json.state.state, 'approved');
  });

  await step('the front desk charges against the approval; it posts once', async () => {
    const bill = {
      id: crypto.randomUUID(),
      patient: PATIENT,
      lines: [{ item: 'SURG', quantity: 1, unit_price: 150_000 }],
      desk: { method: 'owed' },
      desk_amount: 0,
      pre_approval: preApproval,
    };
    const charged = await device('DESK', 'POST', '/money/charges', bill);
    assert.equal(charged.status, 201, JSON.stringify(charged.json));
    assert.deepEqual(
      charged.json.parts.map((p) => [p.source, p.amount]),
      [['pre_approved', 150_000]],
    );
    const again = await device('DESK', 'POST', '/money/charges', { ...bill, id: crypto.randomUUID() });
    assert.equal(again.status, 422);
    assert.equal(again.json.field, 'pre_approval');
    // A lab test is paid by the sponsorship directly (under the threshold).
    const lab = await device('DESK', 'POST', '/money/charges', {
      id: crypto.randomUUID(),
      patient: PATIENT,
      lines: [{ item: 'LAB-MAL', quantity: 1, unit_price: 25_000 }],
      desk: { method: 'owed' },
      desk_amount: 0,
    });
    assert.equal(lab.status, 201, JSON.stringify(lab.json));
    assert.deepEqual(
      lab.json.parts.map((p) => p.source),
      ['sponsored'],
    );
  });

  await step('the report shows the spending with its chart, and exports CSV and PDF', async () => {
    await page.getByTestId('nav-report').click();
    await page.getByTestId('report-chart').waitFor();
    assert.match(await page.getByTestId('report-spent').textContent(), /1,750\.00/);
    assert.match(await page.getByTestId('report-allocated').textContent(), /2,000\.00/);
    assert.match(await page.getByTestId('report-held').textContent(), /250\.00/);
    assert.equal(await page.getByTestId('report-reached').textContent(), '1');
    assert.match(await page.getByTestId('report-check').textContent(), /agree with the ledger/);
    assert.equal(await page.getByTestId('report-bar').count(), 1);
    assert.match(await page.getByTestId('report-category-list').textContent(), /procedure/);
    assert.match(await page.getByTestId('report-programme-list').textContent(), /Surgery 2027/);
    await axeCheck(page, 'report');
    await shot(page, 'report');
    const csv = await page.evaluate(async (href) => (await fetch(href)).text(), await page.getByTestId('report-csv').getAttribute('href'));
    assert.match(csv, /summary,spent,1750\.00,KES/);
    const pdf = await page.evaluate(
      async (href) => {
        const r = await fetch(href);
        return [r.headers.get('content-type'), new TextDecoder().decode((await r.arrayBuffer()).slice(0, 5))];
      },
      await page.getByTestId('report-pdf').getAttribute('href'),
    );
    assert.deepEqual(pdf, ['application/pdf', '%PDF-']);
  });

  await step("another sponsor's pages stay closed to this sponsor", async () => {
    const r = await page.evaluate(async () => (await fetch('/portal/api/sponsors/someone-else/report')).status);
    assert.equal(r, 403);
  });
} finally {
  await browser.close();
}
