// End-to-end test of the HQ dashboard's "Appeals" tab (R16, R33) in a real headless Chromium.
//
// Provisions a CA, the central hub and region AST, starts both; on the region's node a citizen's
// appeal arrives through the app intake and the registrar registers it with signs of a crime.
// It replicates to the hub over QUIC; the HQ duty officer opens the Appeals tab: the region's
// counts, the R33 list with the appeal "not in КУИ", the appeal's detail with its history, and a
// control note. The region registers the appeal in КУИ: the dashboard shows the number; the HQ
// note reaches the region. Russian, then Kazakh, with no English word outside data values.
//
// Builds nothing itself. Run: cd e2e && node --test central_appeals.test.mjs
// Env: CENTRAL_BIN (default ../target/debug/central), NODE_BIN (../target/debug/node),
// PROVISIONING_BIN (../target/debug/provisioning), CHROMIUM; E2E_SHOW_LOGS=1 prints the logs.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import dgram from 'node:dgram';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import {
  ADMIN_TEMP_PASSWORD, STAFF_PASSWORD, NODE_BIN, launchChromium, openPage, shot, staff, startProcess, stopProcess, tid,
} from './harness.mjs';
import { freePort, tail } from './lib.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const bin = (env, def) => (process.env[env] ? path.resolve(process.cwd(), process.env[env]) : path.resolve(HERE, def));
const CENTRAL_BIN = bin('CENTRAL_BIN', '../target/debug/central');
const PROVISIONING_BIN = bin('PROVISIONING_BIN', '../target/debug/provisioning');
// Replication crosses a QUIC connection (reconnect backoff); the tab refreshes every 10 s.
const REPLICATION_DEADLINE_MS = 90_000;
const HQ = { login: 'hq.duty.ap', full_name: 'Сейткали Нурлан (дежурный ЦОУ МВД)', roles: ['hq_duty'] };
const REGISTRAR = { login: 'reg_central_ap', full_name: 'Регистратор Айжан Қасымова', roles: ['registrar'] };
const NOTE = 'Штаб МВД: взять на контроль, доложить о регистрации в КУИ.';
const KUI_NUMBER = '261100031000555';

let root;
let central;
let node;
let browser;
let page;
const errors = [];
const state = {};

function freeUdpPort() {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket('udp4');
    sock.unref();
    sock.on('error', reject);
    sock.bind(0, '127.0.0.1', () => {
      const { port } = sock.address();
      sock.close(() => resolve(port));
    });
  });
}
function provision(args) {
  try {
    return execFileSync(PROVISIONING_BIN, args, { cwd: root, stdio: 'pipe', timeout: 60_000 }).toString();
  } catch (e) {
    throw new Error(`provisioning ${args.join(' ')} failed: ${e.stderr || e.message}`);
  }
}
function logs() {
  return `\n--- central ---\n${tail(central ? central.logs : '')}\n--- node ---\n${tail(node ? node.logs : '')}`;
}
/* Polls `fn` until it returns something truthy. */
async function until(what, fn, ms = REPLICATION_DEADLINE_MS) {
  const deadline = Date.now() + ms;
  for (;;) {
    const got = await fn();
    if (got) return got;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms${logs()}`);
    await delay(250); // poll interval
  }
}
async function textOf(selector) {
  return (await page.locator(selector).first().textContent()).trim();
}
/* Words of the interface (outside data values marked translate="no") written in Latin letters. */
async function englishIn(selector) {
  return page.evaluate((sel) => {
    const out = [];
    const walk = document.createTreeWalker(document.querySelector(sel), NodeFilter.SHOW_TEXT);
    for (let n = walk.nextNode(); n; n = walk.nextNode()) {
      if (n.parentElement.closest('[translate="no"]') || n.parentElement.closest('[hidden]')) continue;
      const m = n.textContent.match(/[A-Za-z]{3,}/g);
      if (m) out.push(...m);
    }
    return out;
  }, selector);
}

describe('r16_r33_appeals_tab_in_headless_chromium: HQ sees every region\'s appeals, deadlines and КУИ', { timeout: 420_000 }, () => {
  before(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'central-appeals-e2e-'));
    const httpPort = await freePort();
    const quicPort = await freeUdpPort();
    const nodePort = await freePort();
    provision(['init-ca', '--dir', 'ca']);
    provision(['add-central', '--ca', 'ca', '--name', 'central', '--dns', 'localhost', '--out', 'central-bundle']);
    provision(['add-region', '--ca', 'ca', '--id', 'AST', '--name-kk', 'Астана қаласы ПД', '--name-ru', 'ДП города Астаны',
      '--central', `localhost:${quicPort}`, '--out', 'ast-bundle']);
    // Plain HTTP on loopback for this test of content (HTTPS is proved in netns/https_turn).
    const plain = path.join(root, 'plain-http.toml');
    writeFileSync(plain, '[https]\nenabled = false\n');
    central = await startProcess('central', CENTRAL_BIN, [
      'serve', '--bundle', path.join(root, 'central-bundle'), '--config', plain, '--data', path.join(root, 'central-data'),
      '--listen', `127.0.0.1:${httpPort}`, '--quic-listen', `127.0.0.1:${quicPort}`,
    ], { CENTRAL_ADMIN_PASSWORD: ADMIN_TEMP_PASSWORD }, `http://127.0.0.1:${httpPort}`, { cwd: root });
    node = await startProcess('node', NODE_BIN, [
      'serve', '--bundle', path.join(root, 'ast-bundle'), '--config', plain, '--data', path.join(root, 'node-data'),
      '--listen', `127.0.0.1:${nodePort}`,
    ], { NODE_ADMIN_PASSWORD: ADMIN_TEMP_PASSWORD }, `http://127.0.0.1:${nodePort}`, { cwd: root });
    state.hq = await staff(central, [HQ]);
    state.node = await staff(node, [REGISTRAR]);
    browser = await launchChromium(['--disable-quic']);
    page = await openPage(browser, 'hq', errors, { viewport: { width: 1600, height: 1000 } });
  });

  after(async () => {
    if (browser) await browser.close().catch(() => {});
    if (process.env.E2E_SHOW_LOGS) console.log(logs());
    await stopProcess(node).catch(() => {});
    await stopProcess(central).catch(() => {});
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('the region: a citizen\'s appeal is registered with signs of a crime and reaches the hub', async () => {
    const r = await fetch(node.base + '/citizen/v1/appeals', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({
      channel: 'app102_text', language: 'ru', text: 'Сосед угрожает поджечь дом, прошу принять меры.',
      applicant: { kind: 'person', surname: 'Петрова', name: 'Анна', address: 'г. Астана, ул. Сыганак, 5', phone: '+77015550011' },
    }) });
    const created = await r.text();
    assert.equal(r.status, 201, created);
    const { appeal_id: id } = JSON.parse(created);
    const token = state.hq[HQ.login];
    // Received, not yet registered: counted open at the hub.
    const first = await until('the received appeal at the hub', async () => {
      const s = await central.api('GET', '/appeals/summary', undefined, token);
      return s.totals.received === 1 ? s : null;
    });
    assert.equal(first.totals.open, 1, JSON.stringify(first));
    assert.equal(first.totals.by_status.received, 1, JSON.stringify(first));
    const ref = await node.api('GET', '/reference', undefined, state.node[REGISTRAR.login]);
    const service = (ref.services.find((s) => s.crime_reports) || ref.services[0]).code;
    const reg = await node.api('POST', `/appeals/${id}/register`, {
      kind: 'appeal', tags: [], collective: false, personal_reception: false, anonymous: false, crime_signs: true, service, duplicate_of: [],
    }, state.node[REGISTRAR.login]);
    Object.assign(state, { id, number: reg.number, service });
    await until('the appeal in the hub\'s R33 list', async () => {
      const list = await central.api('GET', '/appeals/crime-signs', undefined, token);
      return list.find((a) => a.id === id && a.number === reg.number);
    });
  });

  it('r16_r33: the Appeals tab in Russian: region counts, the R33 list with no КУИ yet, the detail and an HQ note', async () => {
    await page.goto(central.base + '/');
    await page.locator(tid('login-login')).fill(HQ.login);
    await page.locator(tid('login-password')).fill(STAFF_PASSWORD);
    await page.locator(tid('login-submit')).click();
    await page.locator(tid('logout')).waitFor();
    assert.equal(await textOf(tid('tab-appeals')), 'Обращения');
    await page.locator(tid('tab-appeals')).click();
    const row = `${tid('ap-regions-table')} ${tid('ap-region-row-AST')}`;
    await page.locator(`${row} ${tid('ap-received')}[data-count="1"]`).waitFor();
    assert.equal(await page.locator(`${row} ${tid('ap-open')}`).getAttribute('data-count'), '1');
    assert.equal(await page.locator(`${row} ${tid('ap-crime_signs')}`).getAttribute('data-count'), '1');
    assert.equal(await page.locator(`${row} ${tid('ap-kui_missing')}`).getAttribute('data-count'), '1');
    assert.equal(await textOf(tid('ap-regions-title')), 'Обращения граждан по регионам');
    const crimeRow = `${tid('ap-crime-list')} ${tid('ap-crime-row')}[data-number="${state.number}"]`;
    await page.locator(`${crimeRow}[data-kui-state="pending"]`).waitFor();
    assert.equal(await textOf(`${crimeRow} ${tid('ap-kui-state')}`), 'ожидает регистрации в КУИ');
    // The list holds it with its deadline on the working-day calendar.
    const listRow = `${tid('ap-table')} ${tid('ap-row')}[data-number="${state.number}"]`;
    await page.locator(listRow).waitFor();
    assert.match(await page.locator(listRow).getAttribute('data-state'), /^(ok|near|overdue)$/);
    assert.deepEqual(await englishIn('#appeals-page'), [], 'no English word reaches the user');
    await shot(page, 'central-appeals-01-ru');

    await page.locator(crimeRow).click();
    const D = tid('appeal-detail');
    assert.equal(await textOf(`${D} ${tid('ap-detail-number')}`), state.number);
    await page.locator(`${D} ${tid('ap-detail-status')}[data-status="routed"]`).waitFor();
    assert.equal(await textOf(`${D} ${tid('ap-detail-status')}`), 'В службе, без исполнителя');
    assert.match(await textOf(`${D} ${tid('ap-detail-applicant')}`), /Петрова Анна/);
    assert.equal(await textOf(`${D} ${tid('ap-hist-row')}[data-action="appeal.registered"] td:nth-child(3)`), 'Зарегистрировано');
    await page.locator(`${D} ${tid('ap-note-text')}`).fill(NOTE);
    await page.locator(`${D} ${tid('ap-note-submit')}`).click();
    const noteRow = `${D} ${tid('ap-hist-row')}[data-action="appeal.note"]`;
    await page.locator(noteRow).waitFor();
    assert.match(await textOf(noteRow), /Заметка/);
    assert.equal(await page.locator(`${D} ${tid('ap-note-text')}`).inputValue(), '');
    assert.deepEqual(await englishIn('#drawer'), [], 'no English word in the detail');
    await shot(page, 'central-appeals-02-detail-ru');
    await page.locator(`${D} ${tid('detail-close')}`).click();
  });

  it('r33: the region registers the appeal in КУИ; HQ sees the number; HQ\'s note reached the region', async () => {
    await node.api('POST', `/appeals/${state.id}/kui`, { number: KUI_NUMBER }, state.node[REGISTRAR.login]);
    const crimeRow = `${tid('ap-crime-list')} ${tid('ap-crime-row')}[data-number="${state.number}"]`;
    await page.locator(`${crimeRow}[data-kui-state="registered"]`).waitFor({ timeout: REPLICATION_DEADLINE_MS })
      .catch((e) => { throw new Error(`${e.message}${logs()}`); });
    assert.match(await textOf(crimeRow), new RegExp(KUI_NUMBER));
    assert.equal(await page.locator(`${tid('ap-region-row-AST')} ${tid('ap-kui_missing')}`).getAttribute('data-count'), '0');
    const appeal = await until('the HQ note on the region\'s node', async () => {
      const a = await node.api('GET', `/appeals/${state.id}`, undefined, state.node[REGISTRAR.login]);
      return (a.history || []).some((e) => e.action === 'appeal.note' && e.params && e.params.text === NOTE) ? a : null;
    });
    const note = appeal.history.find((e) => e.action === 'appeal.note');
    assert.equal(note.by, HQ.full_name, 'signed with the HQ officer\'s name');
    await shot(page, 'central-appeals-03-kui-ru');
  });

  it('r16_r33: the Appeals tab in Kazakh', async () => {
    await page.locator(tid('lang-toggle')).click();
    await page.locator('html[lang="kk"]').waitFor();
    assert.equal(await textOf(tid('tab-appeals')), 'Өтініштер');
    assert.equal(await textOf(tid('ap-regions-title')), 'Өңірлер бойынша азаматтардың өтініштері');
    const crimeRow = `${tid('ap-crime-list')} ${tid('ap-crime-row')}[data-number="${state.number}"]`;
    assert.equal(await textOf(`${crimeRow} ${tid('ap-kui-state')}`), 'АЕК-те тіркелді');
    await page.locator(crimeRow).click();
    const D = tid('appeal-detail');
    await page.locator(`${D} ${tid('ap-detail-status')}`).waitFor();
    assert.equal(await textOf(`${D} ${tid('ap-detail-status')}`), 'Қызметте, орындаушысыз');
    assert.equal(await textOf(`${D} ${tid('ap-hist-row')}[data-action="appeal.kui"] td:nth-child(3)`), 'АЕК-те тіркелді');
    assert.equal(await textOf(`${D} ${tid('ap-hist-row')}[data-action="appeal.note"] td:nth-child(3)`), 'Жазба');
    assert.deepEqual(await englishIn('#appeals-page'), [], 'no English word reaches the user');
    assert.deepEqual(await englishIn('#drawer'), [], 'no English word in the detail');
    await shot(page, 'central-appeals-04-kk');
    await page.locator(`${D} ${tid('detail-close')}`).click();
    await page.locator(tid('lang-toggle')).click();
    await page.locator('html[lang="ru"]').waitFor();
  });

  it('no script errors in the page', () => {
    assert.deepEqual(errors, []);
  });
});
