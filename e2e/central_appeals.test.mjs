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
import {
  REPLICATION_DEADLINE_MS, STAFF_PASSWORD, englishIn, launchChromium, openPage, shot, staff, startHubAndRegion, textIn, tid,
} from './harness.mjs';

const HQ = { login: 'hq.duty.ap', full_name: 'Сейткали Нурлан (дежурный ЦОУ МВД)', roles: ['hq_duty'] };
const REGISTRAR = { login: 'reg_central_ap', full_name: 'Регистратор Айжан Қасымова', roles: ['registrar'] };
const NOTE = 'Штаб МВД: взять на контроль, доложить о регистрации в КУИ.';
const KUI_NUMBER = '261100031000555';

let hub; // { central, node, until, stop }
let central;
let node;
let browser;
let page;
const errors = [];
const state = {};

describe('r16_r33_appeals_tab_in_headless_chromium: HQ sees every region\'s appeals, deadlines and КУИ', { timeout: 420_000 }, () => {
  before(async () => {
    hub = await startHubAndRegion('central-appeals-e2e');
    ({ central, node } = hub);
    state.hq = await staff(central, [HQ]);
    state.node = await staff(node, [REGISTRAR]);
    browser = await launchChromium(['--disable-quic']);
    page = await openPage(browser, 'hq', errors, { viewport: { width: 1600, height: 1000 } });
  });

  after(async () => {
    if (browser) await browser.close().catch(() => {});
    if (hub) await hub.stop();
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
    const first = await hub.until('the received appeal at the hub', async () => {
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
    await hub.until('the appeal in the hub\'s R33 list', async () => {
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
    assert.equal(await textIn(page, tid('tab-appeals')), 'Обращения');
    await page.locator(tid('tab-appeals')).click();
    const row = `${tid('ap-regions-table')} ${tid('ap-region-row-AST')}`;
    await page.locator(`${row} ${tid('ap-received')}[data-count="1"]`).waitFor();
    assert.equal(await page.locator(`${row} ${tid('ap-open')}`).getAttribute('data-count'), '1');
    assert.equal(await page.locator(`${row} ${tid('ap-crime_signs')}`).getAttribute('data-count'), '1');
    assert.equal(await page.locator(`${row} ${tid('ap-kui_missing')}`).getAttribute('data-count'), '1');
    assert.equal(await textIn(page, tid('ap-regions-title')), 'Обращения граждан по регионам');
    const crimeRow = `${tid('ap-crime-list')} ${tid('ap-crime-row')}[data-number="${state.number}"]`;
    await page.locator(`${crimeRow}[data-kui-state="pending"]`).waitFor();
    assert.equal(await textIn(page, `${crimeRow} ${tid('ap-kui-state')}`), 'ожидает регистрации в КУИ');
    // The list holds it with its deadline on the working-day calendar.
    const listRow = `${tid('ap-table')} ${tid('ap-row')}[data-number="${state.number}"]`;
    await page.locator(listRow).waitFor();
    assert.match(await page.locator(listRow).getAttribute('data-state'), /^(ok|near|overdue)$/);
    assert.deepEqual(await englishIn(page, '#appeals-page'), [], 'no English word reaches the user');
    await shot(page, 'central-appeals-01-ru');

    await page.locator(crimeRow).click();
    const D = tid('appeal-detail');
    assert.equal(await textIn(page, `${D} ${tid('ap-detail-number')}`), state.number);
    await page.locator(`${D} ${tid('ap-detail-status')}[data-status="routed"]`).waitFor();
    assert.equal(await textIn(page, `${D} ${tid('ap-detail-status')}`), 'В службе, без исполнителя');
    assert.match(await textIn(page, `${D} ${tid('ap-detail-applicant')}`), /Петрова Анна/);
    assert.equal(await textIn(page, `${D} ${tid('ap-hist-row')}[data-action="appeal.registered"] td:nth-child(3)`), 'Зарегистрировано');
    await page.locator(`${D} ${tid('ap-note-text')}`).fill(NOTE);
    await page.locator(`${D} ${tid('ap-note-submit')}`).click();
    const noteRow = `${D} ${tid('ap-hist-row')}[data-action="appeal.note"]`;
    await page.locator(noteRow).waitFor();
    assert.match(await textIn(page, noteRow), /Заметка/);
    assert.equal(await page.locator(`${D} ${tid('ap-note-text')}`).inputValue(), '');
    assert.deepEqual(await englishIn(page, '#drawer'), [], 'no English word in the detail');
    await shot(page, 'central-appeals-02-detail-ru');
    await page.locator(`${D} ${tid('detail-close')}`).click();
  });

  it('r33: the region registers the appeal in КУИ; HQ sees the number; HQ\'s note reached the region', async () => {
    await node.api('POST', `/appeals/${state.id}/kui`, { number: KUI_NUMBER }, state.node[REGISTRAR.login]);
    const crimeRow = `${tid('ap-crime-list')} ${tid('ap-crime-row')}[data-number="${state.number}"]`;
    await page.locator(`${crimeRow}[data-kui-state="registered"]`).waitFor({ timeout: REPLICATION_DEADLINE_MS })
      .catch((e) => { throw new Error(`${e.message}${hub.logs()}`); });
    assert.match(await textIn(page, crimeRow), new RegExp(KUI_NUMBER));
    assert.equal(await page.locator(`${tid('ap-region-row-AST')} ${tid('ap-kui_missing')}`).getAttribute('data-count'), '0');
    const appeal = await hub.until('the HQ note on the region\'s node', async () => {
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
    assert.equal(await textIn(page, tid('tab-appeals')), 'Өтініштер');
    assert.equal(await textIn(page, tid('ap-regions-title')), 'Өңірлер бойынша азаматтардың өтініштері');
    const crimeRow = `${tid('ap-crime-list')} ${tid('ap-crime-row')}[data-number="${state.number}"]`;
    assert.equal(await textIn(page, `${crimeRow} ${tid('ap-kui-state')}`), 'АЕК-те тіркелді');
    await page.locator(crimeRow).click();
    const D = tid('appeal-detail');
    await page.locator(`${D} ${tid('ap-detail-status')}`).waitFor();
    assert.equal(await textIn(page, `${D} ${tid('ap-detail-status')}`), 'Қызметте, орындаушысыз');
    assert.equal(await textIn(page, `${D} ${tid('ap-hist-row')}[data-action="appeal.kui"] td:nth-child(3)`), 'АЕК-те тіркелді');
    assert.equal(await textIn(page, `${D} ${tid('ap-hist-row')}[data-action="appeal.note"] td:nth-child(3)`), 'Жазба');
    assert.deepEqual(await englishIn(page, '#appeals-page'), [], 'no English word reaches the user');
    assert.deepEqual(await englishIn(page, '#drawer'), [], 'no English word in the detail');
    await shot(page, 'central-appeals-04-kk');
    await page.locator(`${D} ${tid('detail-close')}`).click();
    await page.locator(tid('lang-toggle')).click();
    await page.locator('html[lang="ru"]').waitFor();
  });

  it('no script errors in the page', () => {
    assert.deepEqual(errors, []);
  });
});
