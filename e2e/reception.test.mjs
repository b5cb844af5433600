// Personal reception and the region's report 1-ОЛ in the browser (issue 15, R31, R32, R39),
// against the real node: a registrar at the reception desk sees the schedule, is refused a
// booking with an invalid ИИН (the server's code shown in Russian), books a reception in a
// session's slot → records it as held (decision, secretary, attendees) → the ЛП-1 card shows its
// 36 fields with no mandatory one missing → books another and records it "not held" with its
// reason (field 36) → the day's queue lists both → the reports page shows them counted in
// section 5 of 1-ОЛ for that month (the seed's headings, the due day, the "sections 1–4 not in
// the seeds" mark), in Russian and then Kazakh with no Latin-script word on screen; a month not
// over is refused with its code; the table downloads as XLSX.
//
// The report is only for a closed month and ЛП-1 field 4 (the day put in the queue) is always
// the node's today, so the receptions must be booked while the node's clock is in a month that
// is over now. The product has no clock setting and gets none: the node runs its first part
// under libfaketime (LD_PRELOAD, Debian's `faketime` package; the wall clock only, FAKETIME_
// DONT_FAKE_MONOTONIC keeps timers real) at Monday 2 November 2026, 09:00 in Astana, and is then
// restarted on the same data with the real clock for the report of November 2026.
//
// Run: cd e2e && NODE_BIN=../target/debug/node CHROMIUM=$(command -v chromium) node --test reception.test.mjs

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  NODE_BIN, ADMIN_TEMP_PASSWORD, SHOTS, startProcess, stopProcess, staff, launchChromium, openPage, login, tid, waitFor,
  fakeClockEnv,
  noLatinOn, setLang,
} from './harness.mjs';
import { freePort } from './lib.mjs';

/* The node's clock while the receptions are booked: Monday 2 November 2026, 09:00 in Astana (UTC+5). */
const BOOKED_AT_UTC = '2026-11-02 04:00:00';
const MONDAY = '2026-11-02';
const WEDNESDAY = '2026-11-04';
const YEAR = 2026;
const MONTH = 11;

/** A valid ИИН: 11 digits and the check digit (weights 1..11, then 3..11,1,2 when the sum mod 11 is 10). */
function iin(first11) {
  const d = first11.split('').map(Number);
  const sum = (w) => d.reduce((s, x, i) => s + x * w[i], 0) % 11;
  let c = sum([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  if (c === 10) c = sum([3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2]);
  return c < 10 ? first11 + c : null;
}
function validIin(seed) {
  for (let n = seed; ; n++) {
    const v = iin(String(85031430000 + n));
    if (v) return v;
  }
}

/** A ИИН whose check digit is wrong (the valid one's plus one). */
function badIin() {
  const v = validIin(1);
  return v.slice(0, 11) + ((Number(v[11]) + 1) % 10);
}

let root;
let dataDir;
let port;
let configFile;
let node;
let browser;
const errors = [];

function serve(env) {
  return startProcess('reception', NODE_BIN, ['serve', '--data', dataDir, '--listen', `127.0.0.1:${port}`, '--config', configFile],
    { NODE_ADMIN_PASSWORD: ADMIN_TEMP_PASSWORD, ...env }, `http://127.0.0.1:${port}`);
}

/** The language scan's rule on this page's screen, its screenshot kept as `reception-<name>-<lang>.png`. */
function noLatin(page, name, lang) { return noLatinOn(page, `reception-${name}`, lang); }
async function statusIs(page, status) {
  await page.locator(`${tid('rc-detail')}[data-status="${status}"]`).waitFor();
}

/** Books through the desk's form: a session's slot and ЛП-1 fields by number. */
async function book(page, { session, date, time, fields, selects }) {
  const form = page.locator(tid('rc-book'));
  await form.locator(tid('rc-book-kind')).selectOption('session');
  await form.locator(tid('rc-book-session')).selectOption(session);
  await form.locator(tid('rc-book-date')).fill(date);
  await form.locator(tid('rc-book-time')).selectOption(time);
  for (const [n, v] of Object.entries(fields)) await form.locator(tid('rc-book-f' + n)).fill(v);
  for (const [n, v] of Object.entries(selects)) {
    if (typeof v === 'number') await form.locator(tid('rc-book-f' + n)).selectOption({ index: v });
    else await form.locator(tid('rc-book-f' + n)).selectOption(v);
  }
  await form.locator(tid('rc-book-submit')).click();
}

describe('reception desk and the region\'s report 1-ОЛ', { timeout: 240_000 }, () => {
  before(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'node-reception-'));
    dataDir = path.join(root, 'data');
    port = await freePort();
    const udpMin = 30000 + (port % 40) * 250;
    configFile = path.join(root, 'node.toml');
    writeFileSync(configFile, `[calls]\nudp_port_min = ${udpMin}\nudp_port_max = ${udpMin + 199}\n`);
    node = await serve({ ...fakeClockEnv('@' + BOOKED_AT_UTC), TZ: 'UTC' });
    await staff(node, [{ login: 'reg_rc', full_name: 'Қасымова Айжан', roles: ['registrar'] }]);
    browser = await launchChromium();
  });

  after(async () => {
    if (browser) await browser.close();
    await stopProcess(node);
    if (root) rmSync(root, { recursive: true, force: true });
    assert.deepEqual(errors, [], 'no errors in the pages');
  });

  it('r31_r32_r39 a registrar books, records a held and a not-held reception, and the month\'s 1-ОЛ counts them', async () => {
    let page = await openPage(browser, 'reg_rc', errors);
    await login(page, node, 'reg_rc');
    await setLang(page, 'ru');
    await page.locator(tid('tab-reception')).click();
    await page.locator(tid('rc-book')).waitFor();
    // The schedule: the demo's heads and deputies, the place with its КАТО, the sessions.
    await page.locator(`${tid('rc-session')}[data-id="mon-head"]`).waitFor();
    assert.match(await page.locator(tid('rc-places')).textContent(), /710000000/);
    await page.locator(tid('rc-schedule-sample')).waitFor();

    // A refusal from the server, shown from its code in Russian; nothing is booked.
    await book(page, {
      session: 'mon-head', date: MONDAY, time: '10:00',
      fields: { 10: badIin(), 11: 'Сейтқали', 12: 'Нұржан' }, selects: { 18: 'worker' },
    });
    const err = page.locator(tid('rc-book-error'));
    await page.locator(`${tid('rc-book-error')}[data-err="iin_invalid"]`).waitFor();
    assert.match(await err.textContent(), /ИИН/i);

    // The first reception: every field a booking gives.
    const first = {
      session: 'mon-head', date: MONDAY, time: '10:00',
      fields: {
        10: validIin(1), 11: 'Сейтқали', 12: 'Нұржан', 13: 'ТОО «Береке», водитель', 16: '1985-03-14',
        19: 'г. Астана, ул. Кенесары 40, кв. 12', 20: 'г. Астана, ул. Кенесары 40, кв. 12', 21: '+7 7172 55-12-34',
        22: '+7 701 555 12 34', 30: 'Прийти с удостоверением личности', 35: 'Запись в приемной',
      },
      selects: { 7: '1', 8: '1', 9: '1', 14: 1, 15: 1, 18: 'worker', 23: 'police_action' },
    };
    await page.locator(tid('rc-book-f10')).fill('');
    await book(page, first);
    await statusIs(page, 'booked');
    const firstId = await page.locator(tid('rc-detail')).getAttribute('data-id');
    await page.locator(tid('rc-lp1-complete')).waitFor();
    assert.equal(await page.locator(`${tid('rc-lp1')} [data-testid^="rc-lp1-f"]`).count(), 36, 'the card has the 36 fields');

    // Held: the decision, who received (the presiding head by default), the secretary, who attended.
    const held = page.locator(tid('rc-held'));
    await held.locator(tid('rc-held-f25')).selectOption('satisfied');
    await held.locator(tid('rc-held-f32')).fill('Омарова Дана, секретарь');
    await held.locator(tid('rc-held-f33')).fill('Сейтқали Нұржан; Омарова Дана');
    await held.locator(tid('rc-held-f34')).selectOption('ru');
    await held.locator(tid('rc-held-submit')).click();
    await statusIs(page, 'held');
    await page.locator(tid('rc-lp1-complete')).waitFor();
    assert.equal(await page.locator(`${tid('rc-lp1')} [data-testid^="rc-lp1-f"]`).count(), 36);
    const unfilled = await page.locator(`${tid('rc-lp1')} [data-testid^="rc-lp1-f"][data-filled="false"]`).evaluateAll(
      (rows) => rows.map((r) => r.getAttribute('data-testid')));
    assert.deepEqual(unfilled, ['rc-lp1-f36'], 'every field filled but 36 (only for a reception not held)');
    assert.match(await page.locator(tid('rc-lp1-f17')).textContent(), /41/, 'field 17: the age at the reception, from field 16');
    assert.match(await page.locator(tid('rc-lp1-f4')).textContent(), new RegExp(MONDAY), 'field 4: the day put in the queue');
    await noLatin(page, 'held', 'ru');
    await noLatin(page, 'held', 'kk');
    await setLang(page, 'ru');

    // The second reception, not held, with its reason (field 36).
    await book(page, {
      session: 'wed-deputy', date: WEDNESDAY, time: '15:00',
      fields: { 10: validIin(40), 11: 'Ахметова', 12: 'Гүлнар' }, selects: { 18: 'pensioner' },
    });
    await statusIs(page, 'booked');
    const secondId = await page.locator(tid('rc-detail')).getAttribute('data-id');
    assert.notEqual(secondId, firstId);
    await page.locator(tid('rc-notheld-submit')).click();
    await page.locator(`${tid('rc-notheld-error')}[data-err="lp1_field_missing"]`).waitFor();
    await page.locator(tid('rc-notheld-f36')).fill('Заявитель не явился, о переносе не просил');
    await page.locator(tid('rc-notheld-submit')).click();
    await statusIs(page, 'not_held');
    await page.locator(tid('rc-lp1-complete')).waitFor();
    assert.match(await page.locator(tid('rc-lp1-f36')).textContent(), /не явился/);

    // The day's queue.
    await page.locator(tid('rc-day')).fill(MONDAY);
    await page.locator(`${tid('rc-row')}[data-id="${firstId}"][data-status="held"]`).waitFor();
    await page.locator(tid('rc-day')).fill(WEDNESDAY);
    await page.locator(`${tid('rc-row')}[data-id="${secondId}"][data-status="not_held"]`).waitFor();
    await noLatin(page, 'queue', 'kk');
    await noLatin(page, 'queue', 'ru');
    await page.context().close();

    // The node again on the same data, with the real clock: November 2026 is over.
    await stopProcess(node);
    node = await serve({});
    page = await openPage(browser, 'reg_rc_report', errors);
    await login(page, node, 'reg_rc');
    await setLang(page, 'ru');
    await page.locator(tid('tab-reports')).click();
    await page.locator(tid('rp-form')).waitFor();

    // A month not over is refused with its code, in the user's language.
    const kz = new Date(Date.now() + 5 * 3600_000);
    await page.locator(tid('rp-year')).fill(String(kz.getUTCFullYear()));
    await page.locator(tid('rp-month')).selectOption(String(kz.getUTCMonth() + 1));
    await page.locator(tid('rp-show')).click();
    await page.locator(`${tid('rp-error')}[data-err="report_period_not_closed"]`).waitFor();

    await page.locator(tid('rp-year')).fill(String(YEAR));
    await page.locator(tid('rp-month')).selectOption(String(MONTH));
    await page.locator(tid('rp-show')).click();
    await page.locator(tid('rp-table')).waitFor();
    await waitFor('the report shown', async () => ({ ok: await page.locator(tid('rp-error')).isHidden() }));
    assert.equal(await page.locator(tid('rp-due')).getAttribute('data-day'), '2026-12-10', 'due on the 10th of December');
    await page.locator(tid('rp-incomplete')).waitFor();
    const cell = async (col) => Number((await page.locator(`${tid('rp-total')} [data-col="${col}"]`).textContent()).trim());
    assert.equal(await cell('received'), 2, 'both requests received in November');
    assert.equal(await cell('booked'), 2);
    assert.equal(await cell('refused'), 0);
    assert.equal(await cell('received_by_head'), 1, 'the held reception, by the head');
    assert.equal(await cell('received_by_deputy'), 0, 'the deputy\'s was not held');
    assert.equal(await cell('decision_satisfied'), 1);
    assert.equal(await cell('pending_at_end'), 0);
    assert.match(await page.locator(tid('rp-table')).textContent(), /Наименование показателей/);
    await noLatin(page, 'report', 'ru');
    await noLatin(page, 'report', 'kk');
    assert.match(await page.locator(tid('rp-table')).textContent(), /Көрсеткіштердің атауы/);
    assert.match(await page.locator(tid('rp-report')).textContent(), /қараша|2026/);

    // The table as XLSX: a download, a zip (an .xlsx is one).
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator(tid('rp-xlsx')).click()]);
    const file = await download.path();
    const bytes = readFileSync(file);
    assert.equal(bytes.subarray(0, 2).toString(), 'PK', 'the XLSX is a zip');
    assert.match(download.suggestedFilename(), /^1-ol-2026-11\.xlsx$/);
    await page.context().close();
  });
});
