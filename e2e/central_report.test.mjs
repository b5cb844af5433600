// End-to-end test of the HQ dashboard's national report 1-ОЛ page (R31, R32) in a real headless
// Chromium.
//
// Report 1-ОЛ is only for a closed month, and a reception record counts in the month of its ЛП-1
// field 4 (the day the node put the request in the queue: always the node's today). So the
// region's node runs "in the past": its wall clock (and the provisioning run that issues the
// certificates, so that both sides accept them) is shifted back into the previous month under
// libfaketime (harness.mjs `fakeClockEnv`, Debian's `faketime` package) — the node wrote
// its records on those days, as a node that was cut off would deliver them. The hub runs on the
// real clock, for which that month is closed. Nothing in the product is switched.
//
// The registrar books two receptions at the region's node (its API): one held and recorded, one
// not held with its reason. They replicate to the hub; the HQ analyst opens the report page for
// that month, sees the region's row count them, drills down to the region's report and records,
// goes back; Russian, then Kazakh, with no English word outside data values; the XLSX answers.
//
// Builds nothing. Run: cd e2e && node --test central_report.test.mjs
// Env: CENTRAL_BIN (default ../target/debug/central), NODE_BIN (../target/debug/node),
// PROVISIONING_BIN (../target/debug/provisioning), CHROMIUM; E2E_SHOW_LOGS=1 prints the logs.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import {
  ADMIN_TEMP_PASSWORD, NODE_BIN, REPLICATION_DEADLINE_MS, STAFF_PASSWORD, englishIn, freeUdpPort, launchChromium,
  openPage, shot, staff, startProcess, stopProcess, textIn, tid, fakeClockEnv,
} from './harness.mjs';
import { freePort, tail } from './lib.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CENTRAL_BIN = process.env.CENTRAL_BIN || path.resolve(HERE, '../target/debug/central');
const PROVISIONING_BIN = process.env.PROVISIONING_BIN || path.resolve(HERE, '../target/debug/provisioning');
const DAY_MS = 86_400_000;
/* Kazakhstan's time (UTC+5): the node and the hub count days in it. */
const KZ_OFFSET_MS = 5 * 3_600_000;
/* The node's "today": this day of the previous month (early, so its sessions fall in it). */
const NODE_DAY_OF_MONTH = 2;
/* The demo schedule's sessions: Monday with the head, Wednesday with a deputy. */
const SESSIONS = { 1: ['mon-head', '10:00', '10:20'], 3: ['wed-deputy', '15:00', '15:20'] };
const IIN = '600705451316';

const HQ = { login: 'hq.analyst.1ol', full_name: 'Бекова Динара (аналитик ЦОУ МВД)', roles: ['hq_analyst'] };
const REGISTRAR = { login: 'reg_1ol_e2e', full_name: 'Регистратор Айжан Қасымова', roles: ['registrar'] };

let hub; // { central, node, root }
let browser;
let page;
const errors = [];
const state = {};

/* Today in Kazakhstan as {y, m (1-12), d} of `ms`. */
function kzDay(ms) {
  const d = new Date(ms + KZ_OFFSET_MS);
  return { y: d.getUTCFullYear(), m: d.getUTCMonth() + 1, d: d.getUTCDate() };
}
function iso(ms) { return new Date(ms).toISOString().slice(0, 10); }

/* The hub on the real clock; the region's node and the certificates `shiftS` (negative) seconds away. */
async function startShiftedRegion(shiftS) {
  const root = mkdtempSync(path.join(tmpdir(), 'central-report-e2e-'));
  const shifted = fakeClockEnv(String(shiftS));
  const provision = (args) => execFileSync(PROVISIONING_BIN, args, { cwd: root, stdio: 'pipe', timeout: 60_000, env: { ...process.env, ...shifted } });
  const httpPort = await freePort();
  const quicPort = await freeUdpPort();
  const nodePort = await freePort();
  provision(['init-ca', '--dir', 'ca']);
  provision(['add-central', '--ca', 'ca', '--name', 'central', '--dns', 'localhost', '--out', 'central-bundle']);
  provision(['add-region', '--ca', 'ca', '--id', 'AST', '--name-kk', 'Астана қаласы ПД', '--name-ru', 'ДП города Астаны',
    '--central', `localhost:${quicPort}`, '--out', 'ast-bundle']);
  const plain = path.join(root, 'plain-http.toml');
  writeFileSync(plain, '[https]\nenabled = false\n');
  const central = await startProcess('central', CENTRAL_BIN, [
    'serve', '--bundle', path.join(root, 'central-bundle'), '--config', plain, '--data', path.join(root, 'central-data'),
    '--listen', `127.0.0.1:${httpPort}`, '--quic-listen', `127.0.0.1:${quicPort}`,
  ], { CENTRAL_ADMIN_PASSWORD: ADMIN_TEMP_PASSWORD }, `http://127.0.0.1:${httpPort}`, { cwd: root });
  const node = await startProcess('node', NODE_BIN, [
    'serve', '--bundle', path.join(root, 'ast-bundle'), '--config', plain, '--data', path.join(root, 'node-data'),
    '--listen', `127.0.0.1:${nodePort}`,
  ], { NODE_ADMIN_PASSWORD: ADMIN_TEMP_PASSWORD, ...shifted }, `http://127.0.0.1:${nodePort}`, { cwd: root });
  const logs = () => `\n--- central ---\n${tail(central.logs)}\n--- node ---\n${tail(node.logs)}`;
  return {
    root, central, node, logs,
    async until(what, fn, ms = REPLICATION_DEADLINE_MS) {
      const deadline = Date.now() + ms;
      for (;;) {
        const got = await fn();
        if (got) return got;
        if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms${logs()}`);
        await delay(250); // poll interval
      }
    },
    async stop() {
      if (process.env.E2E_SHOW_LOGS) console.log(logs());
      await stopProcess(node).catch(() => {});
      await stopProcess(central).catch(() => {});
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/* Books a reception at the node on the first working session day after its today. */
async function book(nodeToday, surname) {
  const token = state.node[REGISTRAR.login];
  for (let k = 1; k <= 14; k++) {
    const day = new Date(nodeToday + k * DAY_MS);
    const s = SESSIONS[day.getUTCDay()];
    if (!s) continue;
    const fields = { 7: '1', 9: '2', 10: IIN, 11: surname, 12: 'Айгуль', 16: '1960-07-05', 18: 'pensioner', 23: 'documents' };
    const time = surname === 'Ахметова' ? s[1] : s[2];
    try {
      return await hub.node.api('POST', '/reception/bookings', { origin: 'desk', date: iso(day.getTime()), time, session: s[0], fields }, token);
    } catch (e) {
      if (!/reception_non_working_day|reception_slot_taken/.test(String(e.message))) throw e;
    }
  }
  throw new Error('no working session day within two weeks of the node\'s today');
}

function cell(region, col) { return `${tid('r1ol-table')} tr[data-region="${region}"] td[data-col="${col}"]`; }

describe('r31_r32 national report 1-ОЛ page in headless Chromium: a region\'s receptions counted, drilled down, in ru and kk', { timeout: 420_000 }, () => {
  before(async () => {
    // The node's today: NODE_DAY_OF_MONTH of the month before the real one (Kazakhstan's days).
    const now = Date.now();
    const t = kzDay(now);
    const prevY = t.m === 1 ? t.y - 1 : t.y;
    const prevM = t.m === 1 ? 12 : t.m - 1;
    const nodeToday = Date.UTC(prevY, prevM - 1, NODE_DAY_OF_MONTH);
    const shiftS = Math.round((nodeToday - Date.UTC(t.y, t.m - 1, t.d)) / 1000);
    Object.assign(state, { year: prevY, month: prevM, nodeToday });
    hub = await startShiftedRegion(shiftS);
    state.hub = await staff(hub.central, [HQ]);
    state.node = await staff(hub.node, [REGISTRAR]);
    browser = await launchChromium(['--disable-quic']);
    page = await openPage(browser, 'central-report', errors, { viewport: { width: 1700, height: 1100 } });
  });

  after(async () => {
    if (browser) await browser.close().catch(() => {});
    if (hub) await hub.stop();
  });

  it('r31: the region books two receptions in that month; one is held, one not held with its reason', async () => {
    const token = state.node[REGISTRAR.login];
    const held = await book(state.nodeToday, 'Ахметова');
    assert.equal(held.fields['4'], iso(state.nodeToday), 'field 4 is the node\'s today, in the closed month');
    await hub.node.api('POST', `/reception/bookings/${held.id}/held`,
      { fields: { 25: 'satisfied', 32: 'Секретарь С.', 33: 'Ахметова А.' } }, token);
    const notHeld = await book(state.nodeToday, 'Омарова');
    await hub.node.api('POST', `/reception/bookings/${notHeld.id}/not-held`, { fields: { 36: 'заявитель не явился' } }, token);
    Object.assign(state, { held, notHeld });
  });

  it('r32: the hub counts them once replicated', async () => {
    const q = `/reports/1-ol?year=${state.year}&month=${state.month}`;
    state.report = await hub.until('the region\'s receptions in the hub\'s report', async () => {
      const r = await hub.central.api('GET', q, undefined, state.hub[HQ.login]);
      const row = r.current.section5.rows.find((x) => x.body.id === 'AST');
      return row && row.cells.received === 2 ? r : null;
    });
  });

  it('r32: the analyst sees the national table, the region counted, its drill-down — in Russian', async () => {
    await page.goto(hub.central.base + '/');
    await page.locator(tid('login-login')).fill(HQ.login);
    await page.locator(tid('login-password')).fill(STAFF_PASSWORD);
    await page.locator(tid('login-submit')).click();
    await page.locator(tid('logout')).waitFor();
    await page.locator(tid('tab-report')).click();
    await page.locator(tid('r1ol-year')).selectOption(String(state.year));
    await page.locator(tid('r1ol-month')).selectOption(String(state.month));
    await page.locator(cell('AST', 'received')).waitFor();
    assert.equal(await textIn(page, cell('AST', 'received')), '2');
    assert.equal(await textIn(page, cell('AST', 'booked')), '2');
    const byWhom = state.held.slot.rank === 'head' ? 'received_by_head' : 'received_by_deputy';
    assert.equal(await textIn(page, cell('AST', byWhom)), '1');
    assert.equal(await textIn(page, cell('AST', 'decision_satisfied')), '1');
    assert.equal(await textIn(page, `${tid('r1ol-table')} tr[data-region="AST"] td.r1ol-name`), 'ДП города Астаны');
    assert.equal(await textIn(page, `${tid('r1ol-total')} td[data-col="received"]`), '2');
    assert.equal(await textIn(page, tid('r1ol-due-on')), state.report.due_on);
    const issued = await page.locator(tid('r1ol-status')).getAttribute('data-issued');
    assert.equal(issued, state.report.issued ? 'true' : 'false');
    assert.match(await textIn(page, `${tid('r1ol-table')} th[data-col="received"]`), /Всего поступило заявлений на личный прием/);
    assert.deepEqual(await englishIn(page, '#report-page'), [], 'no English word on the report page');
    await shot(page, 'central-report-01-ru');

    await page.locator(tid('r1ol-region-AST')).click();
    await page.locator(`${tid('r1ol-records')} ${tid('r1ol-record')}`).first().waitFor();
    assert.equal(await page.locator(`${tid('r1ol-records')} ${tid('r1ol-record')}`).count(), 2);
    const heldRow = `${tid('r1ol-record')}[data-record="${state.held.id}"]`;
    assert.match(await textIn(page, heldRow), /Прием состоялся/);
    assert.match(await textIn(page, `${tid('r1ol-record')}[data-record="${state.notHeld.id}"]`), /Прием не состоялся/);
    assert.equal(await textIn(page, `${tid('r1ol-region-table')} tr[data-region="AST"] td[data-col="received"]`), '2');
    assert.deepEqual(await englishIn(page, '#report-page'), [], 'no English word in the drill-down');
    await shot(page, 'central-report-02-region-ru');
    await page.locator(tid('r1ol-back')).click();
    await page.locator(tid('r1ol-table')).waitFor();
  });

  it('r32: the same in Kazakh; the XLSX answers', async () => {
    await page.locator(tid('lang-toggle')).click();
    await page.locator(`${tid('tab-report')}:has-text("1-ОЛ есебі")`).waitFor();
    assert.match(await textIn(page, `${tid('r1ol-table')} th[data-col="received"]`), /Жеке қабылдауға барлығы түскен өтініштер/);
    assert.equal(await textIn(page, `${tid('r1ol-table')} tr[data-region="AST"] td.r1ol-name`), 'Астана қаласы ПД');
    assert.equal(await textIn(page, cell('AST', 'received')), '2');
    assert.deepEqual(await englishIn(page, '#report-page'), [], 'no English word in Kazakh');
    await page.locator(tid('r1ol-region-AST')).click();
    await page.locator(`${tid('r1ol-records')} ${tid('r1ol-record')}`).first().waitFor();
    assert.match(await textIn(page, `${tid('r1ol-record')}[data-record="${state.held.id}"]`), /Қабылдау өтті/);
    assert.deepEqual(await englishIn(page, '#report-page'), [], 'no English word in the Kazakh drill-down');
    await shot(page, 'central-report-03-region-kk');

    const r = await fetch(`${hub.central.base}/api/v1/reports/1-ol.xlsx?year=${state.year}&month=${state.month}`,
      { headers: { Authorization: `Bearer ${state.hub[HQ.login]}` } });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') || '', /spreadsheetml/);
    assert.deepEqual(errors, [], 'no page errors');
  });
});
