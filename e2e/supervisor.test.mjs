// The shift supervisor's tab (Руководитель смены / Ауысым басшысы) in a headless Chromium, walked
// with real actions: citizens ring (one SOS) and the supervisor sees them queued with ticking wait
// times; a "102" operator opens a card and sends it for processing, a ГУСС dispatcher reads it
// and sends a unit; the supervisor's R36 figures, slowest cases, audit viewer and shift summary
// then show exactly those actions, in Russian and in Kazakh, and the summary prints alone.
//
// Run: cd e2e && NODE_BIN=../target/debug/node CHROMIUM=$(command -v chromium) node --test supervisor.test.mjs

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { fileURLToPath } from 'node:url';
import { startNode, stopNode, staff, launchChromium, openPage, login, shot, tid, waitFor } from './harness.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OP = { login: 'op_sup_e2e', full_name: 'Айгерім Нұрланова (оператор 102)', roles: ['call_taker'] };
const DISP = { login: 'guss_sup_e2e', full_name: 'Сергеев Пётр (ГУСС)', roles: ['dispatcher'] };
const SUP = { login: 'sup_e2e', full_name: 'Ержан Қасымов (руководитель смены)', roles: ['supervisor'] };
const P = tid('panel-supervisor');

/** The console's duration text for the supervisor (views/supervisor.js fmtSpan), Russian and Kazakh alike. */
function span(ms) {
  if (ms < 60000) return (Math.max(ms, 0) / 1000).toFixed(1).replace('.', ',') + ' с';
  const s = Math.floor(ms / 1000);
  const p = (n) => (n < 10 ? '0' + n : String(n));
  const hh = Math.floor(s / 3600);
  return (hh ? hh + ':' + p(Math.floor((s % 3600) / 60)) : p(Math.floor((s % 3600) / 60))) + ':' + p(s % 60);
}

async function citizenRing(page, base, { phone, sos = false }) {
  await page.goto(base + '/citizen');
  await page.locator(tid('channel')).selectOption('app102_call');
  await page.locator(tid('phone')).fill(phone);
  await page.locator(tid('video')).setChecked(false);
  await page.locator(tid(sos ? 'sos' : 'call')).click();
  await page.waitForFunction(() => document.querySelector('[data-testid="status"]').getAttribute('data-state') === 'ringing');
  return page.evaluate(() => window.citizen.callId);
}

const text = (page, sel) => page.locator(sel).first().textContent();

describe('r36_supervisor_views: calls queue, timeliness, audit viewer, shift summary', { timeout: 300_000 }, () => {
  let srv; let browser; let tokens; const errors = [];
  const st = {};

  before(async () => {
    srv = await startNode({ name: 'supervisor' });
    tokens = await staff(srv, [OP, DISP, SUP]);
    browser = await launchChromium();
  });
  after(async () => {
    if (browser) await browser.close();
    await stopNode(srv);
  });

  it('r36_every_audit_action_the_viewer_offers_has_a_text_in_kazakh_and_russian', () => {
    const src = readFileSync(path.join(ROOT, 'node/assets/console/views/audit.js'), 'utf8');
    const list = src.match(/AUDIT_ACTIONS = \[([\s\S]*?)\];/)[1];
    const codes = [...list.matchAll(/'([a-z_]+\.[a-z_]+)'/g)].map((m) => m[1]);
    assert.ok(codes.length > 30, `${codes.length} codes`);
    const dictSrc = readFileSync(path.join(ROOT, 'node/assets/console/i18n.js'), 'utf8');
    const ctx = {};
    vm.runInNewContext(dictSrc.replace(/^export default /m, 'result = '), ctx);
    for (const code of codes.concat(['unknown'])) {
      for (const lang of ['ru', 'kk']) assert.ok(ctx.result[lang][`audit.action.${code}`], `${lang}: audit.action.${code}`);
    }
  });

  it('r36_the_supervisor_sees_waiting_calls_with_ticking_wait_times_sos_marked', async () => {
    const page = await openPage(browser, 'sup', errors);
    st.page = page;
    await login(page, srv, SUP.login);
    await page.locator(tid('tab-supervisor')).click();
    await page.locator(`${P} ${tid('sup-calls-empty')}`).waitFor();

    const ordinary = await openPage(browser, 'citizen', errors);
    const sos = await openPage(browser, 'citizen-sos', errors);
    st.citizens = [ordinary, sos];
    const callId = await citizenRing(ordinary, srv.base, { phone: '+77015550101' });
    const sosId = await citizenRing(sos, srv.base, { phone: '+77015550102', sos: true });

    const row = page.locator(`${P} ${tid('sup-call')}[data-call-id="${callId}"]`);
    const sosRow = page.locator(`${P} ${tid('sup-call')}[data-call-id="${sosId}"]`);
    await row.waitFor();
    await sosRow.waitFor();
    assert.equal(await text(page, `${P} ${tid('sup-calls-count')}`), '2');
    assert.equal(await sosRow.locator(tid('sup-call-sos')).count(), 1, 'SOS is marked');
    assert.equal(await row.locator(tid('sup-call-sos')).count(), 0);
    assert.equal(await row.locator(tid('sup-call-state')).textContent(), 'В очереди');
    // SOS rings first.
    assert.equal(await page.locator(`${P} ${tid('sup-call')}`).first().getAttribute('data-call-id'), sosId);
    // The wait time ticks.
    const wait = row.locator(tid('sup-call-wait'));
    const first = await wait.textContent();
    assert.match(first, /^\d\d:\d\d$/);
    await waitFor('the wait time ticks', async () => {
      const now = await wait.textContent();
      return { ok: now !== first, now };
    }, 5_000);
    await shot(page, 'supervisor-calls-ru');

    // The callers give up: the calls leave the queue and count as missed.
    for (const c of st.citizens) await c.close();
    await waitFor('the queue empties', async () => {
      const n = await page.locator(`${P} ${tid('sup-call')}`).count();
      return { ok: n === 0, n };
    });
  });

  it('r36_timeliness_slowest_cases_audit_and_summary_match_the_walked_actions', async () => {
    const page = st.page;
    // The operator opens a card and sends it for processing.
    const ref = await srv.api('GET', '/reference', undefined, tokens[OP.login]);
    const category = ref.categories[0].code;
    const created = await srv.api('POST', '/cards', {
      channel: 'app102_text',
      caller: { name: 'Серікова Дана', phone: '+77020000101', language: 'kk' },
      location: { lat: 51.1605, lon: 71.4704, accuracy_m: 30, address: 'г. Астана, ул. Бейбітшілік, 12' },
      description: 'Шум и драка во дворе.',
      category,
    }, tokens[OP.login]);
    await srv.api('POST', `/cards/${created.id}/send-for-processing`, undefined, tokens[OP.login]);
    // The dispatcher opens it (an audited read) and sends the first available unit.
    await srv.api('GET', `/cards/${created.id}`, undefined, tokens[DISP.login]);
    const units = await srv.api('GET', '/units', undefined, tokens[DISP.login]);
    const unit = units.find((u) => u.status === 'available' && u.kind === 'patrol');
    assert.ok(unit, 'an available patrol unit');
    await srv.api('POST', `/cards/${created.id}/dispatch`, { unit_id: unit.id }, tokens[DISP.login]);
    const card = await srv.api('GET', `/cards/${created.id}`, undefined, tokens[DISP.login]);
    const sendMs = card.sent_for_processing_at - card.created_at;
    const dispatchMs = card.units[0].assigned_at - card.sent_for_processing_at;

    // The supervisor shows the current shift.
    await page.locator(`${P} ${tid('sup-show')}`).click();
    const opRow = page.locator(`${P} ${tid('tl-operators')} ${tid('tl-row')}[data-login="${OP.login}"][data-kind="send_for_processing"]`);
    await opRow.waitFor();
    assert.equal(await opRow.locator(tid('tl-count')).textContent(), '1');
    for (const k of ['avg', 'p50', 'p90', 'max']) {
      assert.equal(await opRow.locator(tid(`tl-${k}`)).getAttribute('data-ms'), String(sendMs), k);
      assert.equal(await opRow.locator(tid(`tl-${k}`)).textContent(), span(sendMs), k);
    }
    assert.equal(await opRow.locator('td').nth(1).textContent(), 'Открытие → отправка на отработку');
    const dRow = page.locator(`${P} ${tid('tl-dispatchers')} ${tid('tl-row')}[data-login="${DISP.login}"][data-kind="dispatch"]`);
    assert.equal(await dRow.locator(tid('tl-count')).textContent(), '1');
    assert.equal(await dRow.locator(tid('tl-max')).getAttribute('data-ms'), String(dispatchMs));
    assert.equal(await dRow.locator(tid('tl-max')).textContent(), span(dispatchMs));
    // Two calls rang, both given up.
    assert.equal(await text(page, `${P} ${tid('tl-calls-rung')}`), '2');
    assert.equal(await text(page, `${P} ${tid('tl-calls-missed')}`), '2');
    // The slowest cases name the card and who it was.
    const slowSend = page.locator(`${P} ${tid('tl-slow-send_for_processing')} ${tid('tl-slow')}`).first();
    assert.equal(await slowSend.getAttribute('data-login'), OP.login);
    assert.equal(await slowSend.locator(tid('tl-slow-what')).textContent(), card.number);
    assert.equal(await slowSend.locator(tid('tl-slow-dur')).textContent(), span(sendMs));
    const slowDisp = page.locator(`${P} ${tid('tl-slow-dispatch')} ${tid('tl-slow')}`).first();
    assert.equal(await slowDisp.getAttribute('data-login'), DISP.login);
    assert.equal(await slowDisp.locator(tid('tl-slow-what')).textContent(), card.number);

    // The shift summary: the card's category, the channels, the unit's dispatch.
    const cat = page.locator(`${P} ${tid('sum-cat')}[data-category="${category}"]`);
    await cat.waitFor();
    assert.equal(await cat.locator(tid('sum-total')).textContent(), '1');
    assert.equal(await cat.locator(`${tid('sum-open')} [data-status="dispatched"]`).count(), 1, 'open: dispatched');
    assert.equal(await text(page, `${P} ${tid('sum-channel')}[data-channel="app102_text"] ${tid('sum-channel-count')}`), '1');
    // The SOS call opened its own card at once.
    assert.equal(await text(page, `${P} ${tid('sum-channel')}[data-channel="sos_video"] ${tid('sum-channel-count')}`), '1');
    const u = page.locator(`${P} ${tid('sum-unit')}[data-unit-id="${unit.id}"]`);
    assert.equal(await u.locator(tid('sum-unit-dispatches')).textContent(), '1');
    assert.equal(await u.locator('td').first().textContent(), unit.call_sign);

    // The audit viewer: what the operator did…
    await page.locator(`${P} ${tid('audit-actor')}`).fill(OP.login);
    await page.locator(`${P} ${tid('audit-find')}`).click();
    const createRow = page.locator(`${P} ${tid('audit-row')}[data-action="card.create"][data-target="${card.number}"]`);
    await createRow.waitFor();
    assert.equal(await createRow.locator(tid('audit-row-action')).textContent(), 'Создание карточки');
    const actors = await page.locator(`${P} ${tid('audit-row')}`).evaluateAll((rows) => rows.map((r) => r.getAttribute('data-actor')));
    assert.ok(actors.length >= 2 && actors.every((a) => a === OP.login), JSON.stringify(actors));
    // …and who viewed the card.
    await page.locator(`${P} ${tid('audit-actor')}`).fill('');
    await page.locator(`${P} ${tid('audit-action')}`).selectOption('card.read');
    await page.locator(`${P} ${tid('audit-target')}`).fill(card.number);
    await page.locator(`${P} ${tid('audit-find')}`).click();
    const readRow = page.locator(`${P} ${tid('audit-row')}[data-action="card.read"][data-actor="${DISP.login}"]`);
    await readRow.waitFor();
    assert.equal(await readRow.locator(tid('audit-row-action')).textContent(), 'Просмотр карточки');
    assert.equal(await readRow.locator(tid('audit-row-target')).textContent(), card.number);
    const acts = await page.locator(`${P} ${tid('audit-row')}`).evaluateAll((rows) => rows.map((r) => r.getAttribute('data-action')));
    assert.ok(acts.every((a) => a === 'card.read'), JSON.stringify(acts));
    // A code the dictionary does not know: a generic text and the code, not translated.
    const unknown = await page.evaluate(() => import('/assets/views/audit.js').then((m) => {
      const el = m.actionLabel('future.thing');
      return { text: el.textContent, raw: el.querySelector('[translate="no"]').textContent };
    }));
    assert.deepEqual(unknown, { text: 'Другое действие future.thing', raw: 'future.thing' });
    st.card = card; st.unit = unit; st.category = category;
    await shot(page, 'supervisor-ru');
  });

  it('r36_the_tab_in_kazakh_and_the_printed_summary_in_both_languages', async () => {
    const page = st.page;
    await page.locator(tid('lang-toggle')).click();
    assert.equal(await text(page, `${tid('tab-supervisor')} > span`), 'Ауысым басшысы');
    assert.equal(await text(page, `${P} ${tid('audit-row')}[data-actor="${DISP.login}"] ${tid('audit-row-action')}`), 'Карточканы қарау');
    const opRow = page.locator(`${P} ${tid('tl-row')}[data-login="${OP.login}"][data-kind="send_for_processing"]`);
    assert.equal(await opRow.locator('td').nth(1).textContent(), 'Ашу → өңдеуге жіберу');
    assert.equal(await text(page, `${P} ${tid('sum-print')}`), 'Басып шығару');
    await shot(page, 'supervisor-kk');

    // "Печать / Басып шығару" prints.
    await page.evaluate(() => { window.__printed = 0; window.print = () => { window.__printed += 1; }; });
    await page.locator(`${P} ${tid('sum-print')}`).click();
    assert.equal(await page.evaluate(() => window.__printed), 1);

    // The print view: the summary alone, under its heading.
    await page.emulateMedia({ media: 'print' });
    const heading = page.locator(`${P} ${tid('print-heading')}`);
    await heading.waitFor({ state: 'visible' });
    assert.equal(await page.locator(tid('logout')).isVisible(), false, 'the top bar is not printed');
    assert.equal(await page.locator(`${P} ${tid('sup-audit')}`).isVisible(), false, 'the audit viewer is not printed');
    assert.equal(await page.locator(`${P} ${tid('sum-print')}`).isVisible(), false, 'the print button is not printed');
    assert.equal(await page.locator(`${P} ${tid('sup-summary')}`).isVisible(), true);
    const head = await heading.textContent();
    const ref = await srv.api('GET', '/reference', undefined, tokens[SUP.login]);
    assert.ok(head.includes('ЖБО ауысымының қорытындысы'), head);
    assert.ok(head.includes(ref.region.name_kk), head);
    assert.ok(head.includes('Басып шығарған') && head.includes(SUP.login), head);
    assert.ok(/Күндізгі|Түнгі/.test(head), head);
    await shot(page, 'supervisor-print-kk');
    // Back on screen, the language switched, printed again.
    await page.emulateMedia({ media: 'screen' });
    await page.locator(tid('lang-toggle')).click();
    await page.emulateMedia({ media: 'print' });
    await heading.waitFor({ state: 'visible' });
    const headRu = await heading.textContent();
    assert.ok(headRu.includes('Итоги смены ЦОУ') && headRu.includes(ref.region.name_ru) && headRu.includes('Напечатал'), headRu);
    assert.ok(/Дневная|Ночная/.test(headRu), headRu);
    await shot(page, 'supervisor-print-ru');
    await page.emulateMedia({ media: 'screen' });
    assert.equal(await heading.isVisible(), false, 'the heading is for print only');
    assert.deepEqual(errors, []);
  });
});
