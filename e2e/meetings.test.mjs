// District inspectors' quarterly report meetings in the browser (issue 16, seed 003 ch.3,
// R22–R25), against the real node and its demo beats reference: the inspector of beat
// saryarka-01 plans a meeting 11 days ahead, is refused the notice of a meeting 5 days ahead
// (R23, the code's text in Russian and Kazakh with the last day the notice could have gone out),
// publishes the notice of the first and sends an invitation; on the meeting's day registers
// participants (refused without their consent), marks the meeting held, uploads its video,
// writes the protocol (decisions, a complaint to check, a proposal answered in full, a remark
// outside the police's competence), signs it (the protocol is then shown locked) and follows the
// complaint up to closed with its result, then corrects the protocol (a new signed version). Late in the quarter the beat office's head sees the
// beat without a meeting at risk (R22: the alert's mark on the tab, the warning in the list) and
// the remark still followed up. No Latin-script word on screen in either language.
//
// A meeting's day is the node's today, and the notice must be 10 calendar days earlier: the
// node runs under libfaketime (as reception.test.mjs; the wall clock only) at Monday 5 October
// 2026, 09:00 in Astana, then restarted on the same data at the meeting's day, then in December.
//
// Run: cd e2e && NODE_BIN=../target/debug/node CHROMIUM=$(command -v chromium) node --test meetings.test.mjs

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  NODE_BIN, ADMIN_TEMP_PASSWORD, SHOTS, startProcess, stopProcess, staff, launchChromium, openPage, login, tid,
  fakeClockEnv,
  noLatinOn, setLang,
} from './harness.mjs';
import { freePort } from './lib.mjs';

/* The node's clock: planning and the notice (09:00 in Astana, UTC+5), the meeting's day, and
   a day late in the quarter when a beat without a meeting is at risk (R22). */
const PLANNING_UTC = '2026-10-05 04:00:00';
const MEETING_DAY_UTC = '2026-10-16 04:00:00';
const LATE_UTC = '2026-12-10 04:00:00';
const MEETING_DAY = '2026-10-16';
const TOO_SOON = '2026-10-10';

const INSPECTOR = 'uip.saryarka01';
const OFFICE_HEAD = 'upp.saryarka1.head';

let root;
let dataDir;
let port;
let configFile;
let node;
let browser;
const errors = [];

function serve(faketime) {
  return startProcess('meetings', NODE_BIN, ['serve', '--data', dataDir, '--listen', `127.0.0.1:${port}`, '--config', configFile],
    { NODE_ADMIN_PASSWORD: ADMIN_TEMP_PASSWORD, ...fakeClockEnv('@' + faketime), TZ: 'UTC' }, `http://127.0.0.1:${port}`);
}
async function restart(faketime) {
  await stopProcess(node);
  node = await serve(faketime);
}

/** The language scan's rule on this page's screen, its screenshot kept as `meetings-<name>-<lang>.png`. */
function noLatin(page, name, lang) { return noLatinOn(page, `meetings-${name}`, lang); }

/** A fresh page logged in as `user` on the meetings tab. */
async function openMeetings(user) {
  const page = await openPage(browser, user, errors);
  await login(page, node, user);
  await setLang(page, 'ru');
  await page.locator(tid('tab-meetings')).click();
  await page.locator(tid('mt-beat-box')).waitFor();
  return page;
}
async function stageIs(page, stage) {
  await page.locator(`${tid('mt-detail')}[data-stage="${stage}"]`).waitFor();
}
/** Plans a meeting of the inspector's beat through the form; the detail opens. */
async function plan(page, { date, placeRu, placeKk }) {
  const form = page.locator(tid('mt-plan'));
  await form.locator(tid('mt-plan-date')).fill(date);
  await form.locator(tid('mt-plan-time')).fill('18:30');
  await form.locator(tid('mt-plan-format')).selectOption('gathering');
  await form.locator(tid('mt-plan-place-ru')).fill(placeRu);
  await form.locator(tid('mt-plan-place-kk')).fill(placeKk);
  await form.locator(tid('mt-plan-submit')).click();
  await stageIs(page, 'planned');
  await page.locator(`${tid('mt-when')}:has-text("${date.split('-').reverse().join('.')}")`).waitFor();
  return page.locator(tid('mt-detail')).getAttribute('data-id');
}
async function participant(page, { name, address, contact, consent }) {
  const form = page.locator(tid('mt-p-form'));
  await form.locator(tid('mt-p-name')).fill(name);
  await form.locator(tid('mt-p-address')).fill(address);
  await form.locator(tid('mt-p-contact')).fill(contact);
  await form.locator(tid('mt-p-consent')).setChecked(consent);
  await form.locator(tid('mt-p-submit')).click();
}
async function item(page, { kind, text, author, answered, outside }) {
  await page.locator(tid('mt-item-kind')).selectOption(kind);
  if (author) await page.locator(tid('mt-item-author')).selectOption({ label: author });
  await page.locator(tid('mt-item-text')).fill(text);
  await page.locator(tid('mt-item-answered')).setChecked(!!answered);
  await page.locator(tid('mt-item-outside')).selectOption(outside || '');
  const before = await page.locator(tid('mt-item')).count();
  await page.locator(tid('mt-item-add')).click();
  await page.locator(tid('mt-item')).nth(before).waitFor();
}

describe('district inspectors\' report meetings', { timeout: 300_000 }, () => {
  before(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'node-meetings-'));
    dataDir = path.join(root, 'data');
    port = await freePort();
    const udpMin = 30000 + (port % 40) * 250;
    configFile = path.join(root, 'node.toml');
    writeFileSync(configFile, `[calls]\nudp_port_min = ${udpMin}\nudp_port_max = ${udpMin + 199}\n`);
    node = await serve(PLANNING_UTC);
    // The demo beats reference names the inspector of saryarka-01 and the head of its office.
    await staff(node, [
      { login: INSPECTOR, full_name: 'Сапаров Ерлан', roles: ['district_inspector'] },
      { login: OFFICE_HEAD, full_name: 'Жұмабаев Асқар', roles: ['district_inspector'] },
    ]);
    browser = await launchChromium();
  });

  after(async () => {
    if (browser) await browser.close();
    await stopProcess(node);
    if (root) rmSync(root, { recursive: true, force: true });
    assert.deepEqual(errors, [], 'no errors in the pages');
  });

  it('r22_r23_r24_r25 plan → notice → meeting held with participants → protocol signed and locked → item closed; the office head sees the beat at risk', async () => {
    // ---- 5 October: planning and the notice.
    let page = await openMeetings(INSPECTOR);
    assert.equal(await page.locator(tid('tab-meetings_control')).count(), 0, 'an inspector heads no office');
    await page.locator(`${tid('mt-coverage')}[data-state="open"]`).waitFor();
    assert.equal(await page.locator(tid('mt-warning')).count(), 0, 'early in the quarter nothing warns');
    assert.equal(await page.locator(tid('mt-plan-date')).inputValue(), '2026-10-16', 'the date offered leaves time for the notice');

    // R23: a meeting 5 days ahead cannot be noticed in time: the refusal names the last day.
    await plan(page, { date: TOO_SOON, placeRu: 'Школа № 12, актовый зал', placeKk: '№ 12 мектеп, мәжіліс залы' });
    await page.locator(tid('mt-notice-submit')).click();
    const refusal = page.locator(`${tid('mt-notice-error')}[data-err="meeting_notice_too_late"]`);
    await refusal.waitFor();
    assert.match(await refusal.textContent(), /не позднее чем за 10 календарных дней/);
    assert.match(await page.locator(tid('mt-notice-days')).textContent(), /Последний день для извещения: 30\.09\.2026.*не ранее 15\.10\.2026/);
    await setLang(page, 'kk');
    assert.match(await refusal.textContent(), /10 күнтізбелік күн/);
    assert.match(await page.locator(tid('mt-notice-days')).textContent(), /Хабарландырудың соңғы күні: 30\.09\.2026/);
    await noLatin(page, 'refused', 'kk');
    await noLatin(page, 'refused', 'ru');
    await page.locator(`${tid('mt-detail')}[data-stage="planned"]`).waitFor(); // nothing published

    // The meeting 11 days ahead: planned, noticed, an invitation sent.
    const id = await plan(page, { date: MEETING_DAY, placeRu: 'Дом культуры «Шапағат», ул. Кенесары 40', placeKk: '«Шапағат» мәдениет үйі, Кенесары к-сі 40' });
    assert.match(await page.locator(tid('mt-notice-due')).textContent(), /06\.10\.2026/);
    await page.locator(tid('mt-channel-telegram')).check();
    await page.locator(tid('mt-notice-submit')).click();
    await stageIs(page, 'noticed');
    assert.match(await page.locator(tid('mt-notice-published')).textContent(), /05\.10\.2026.*Telegram/);
    // R37: this node has no Telegram channel configured: the post waits in the outbox, said so.
    await page.locator(`${tid('mt-delivery')}[data-target="telegram"][data-state="queued"]`).waitFor();
    assert.match(await page.locator(`${tid('mt-delivery')}[data-target="telegram"]`).textContent(), /в очереди на отправку/);
    await page.locator(tid('mt-notice-docx')).waitFor();
    await page.locator(tid('mt-invitation-akimat-saryarka')).selectOption('sent');
    await page.locator(`${tid('mt-invitation-row')}[data-invitee="akimat-saryarka"][data-state="sent"]`).waitFor();
    await page.locator(`${tid('mt-meetings')} ${tid('mt-row')}[data-id="${id}"][data-stage="noticed"]`).waitFor();
    await page.locator(`${tid('mt-coverage')}[data-state="noticed"]`).waitFor();
    await noLatin(page, 'noticed', 'kk');
    await noLatin(page, 'noticed', 'ru');
    await page.context().close();

    // ---- 16 October, the meeting's day.
    await restart(MEETING_DAY_UTC);
    page = await openMeetings(INSPECTOR);
    await page.locator(`${tid('mt-meetings')} ${tid('mt-row')}[data-id="${id}"]`).click();
    await stageIs(page, 'noticed');
    // Registration needs the participant's consent to process their personal data.
    await participant(page, { name: 'Ахметов Болат', address: 'ул. Кенесары 40, кв. 7', contact: '+7 701 111 22 33', consent: false });
    await page.locator(`${tid('mt-p-error')}[data-err="meeting_consent_required"]`).waitFor();
    await participant(page, { name: 'Ахметов Болат', address: 'ул. Кенесары 40, кв. 7', contact: '+7 701 111 22 33', consent: true });
    await page.locator(tid('mt-participant')).nth(0).waitFor();
    await participant(page, { name: 'Иванова Ольга', address: 'ул. Кенесары 42, кв. 15', contact: 'olga@example.kz', consent: true });
    await page.locator(tid('mt-participant')).nth(1).waitFor();
    await page.locator(tid('mt-held')).click();
    await stageIs(page, 'held');

    // The video of the meeting (the node takes a browser's recording as it comes).
    await page.locator(tid('mt-recording-file')).setInputFiles({ name: 'vstrecha.webm', mimeType: 'video/webm', buffer: Buffer.from('\x1aE\xdf\xa3 a recording'.repeat(64)) });
    await page.locator(tid('mt-recording-upload')).click();
    await page.locator(tid('mt-recording')).waitFor();

    // The protocol: the report, the decisions; a complaint, a proposal answered, a remark outside competence.
    await page.locator(tid('mt-field-report')).fill('За квартал зарегистрировано 14 обращений, раскрыто 3 кражи.');
    await page.locator(tid('mt-field-decisions')).fill('Усилить патрулирование двора по ул. Кенесары 40 в вечернее время.');
    const logged = Number(await page.locator(tid('mt-detail')).getAttribute('data-log'));
    await page.locator(tid('mt-protocol-save')).click();
    await page.waitForFunction((n) => Number(document.querySelector('[data-testid="mt-detail"]').getAttribute('data-log')) > n, logged);
    await item(page, { kind: 'complaint', text: 'Во дворе по вечерам собирается шумная компания', author: 'Ахметов Болат' });
    await item(page, { kind: 'proposal', text: 'Провести беседу в школе о безопасности', answered: true });
    await item(page, { kind: 'remark', text: 'Не горит уличное освещение на ул. Кенесары', author: 'Иванова Ольга', outside: 'akimat' });
    await noLatin(page, 'protocol', 'kk');
    await noLatin(page, 'protocol', 'ru');
    await page.locator(tid('mt-sign')).click();
    // Signed: locked, the signed text shown, no field to edit.
    await page.locator(`${tid('mt-protocol')}[data-locked="true"]`).waitFor();
    await page.locator(tid('mt-protocol-locked')).waitFor();
    assert.equal(await page.locator(tid('mt-field-decisions')).count(), 0, 'a signed protocol has nothing to edit');
    assert.equal(await page.locator(tid('mt-sign')).count(), 0);
    assert.match(await page.locator(tid('mt-signed-decisions')).textContent(), /Усилить патрулирование/);
    await page.locator(`${tid('mt-signature')}[data-version="1"][data-on-time="true"]`).waitFor();
    assert.equal(await page.locator(`${tid('mt-signed-items')} li`).count(), 3);
    await page.locator(tid('mt-correction')).waitFor(); // a correction is a new, linked version

    // R25: the complaint is checked and closed with its result; the proposal needs nothing.
    const follow = page.locator(tid('mt-follow-item'));
    assert.equal(await follow.count(), 2, 'the complaint and the remark are followed up');
    const complaint = page.locator(`${tid('mt-follow-item')}:has-text("шумная компания")`);
    await complaint.locator(tid('mt-follow-text')).fill('Проверку ведет УИП Сапаров Е.');
    await complaint.locator(tid('mt-follow-checking')).click();
    await page.locator(`${tid('mt-follow-item')}[data-state="checking"]:has-text("шумная компания")`).waitFor();
    const checking = page.locator(`${tid('mt-follow-item')}[data-state="checking"]`);
    await checking.locator(tid('mt-follow-text')).fill('Проведены рейды, нарушителям вынесены предупреждения');
    await checking.locator(tid('mt-follow-close')).click();
    const closed = page.locator(`${tid('mt-follow-item')}[data-state="closed"]`);
    await closed.waitFor();
    assert.match(await closed.textContent(), /шумная компания/);
    assert.match(await closed.textContent(), /Закрыто/);
    assert.match(await closed.textContent(), /вынесены предупреждения/);
    // R25: the remark outside the police's competence goes to the akimat as a real appeal, its
    // author told by the appeal's answer.
    const remark = page.locator(`${tid('mt-follow-item')}:has-text("уличное освещение")`);
    await remark.locator(tid('mt-follow-forward')).click();
    const forwarded = page.locator(`${tid('mt-follow-item')}[data-state="forwarded"]:has-text("уличное освещение")`);
    await forwarded.waitFor();
    const sent = forwarded.locator(tid('mt-forwarded'));
    assert.match(await sent.textContent(), /Акимат города Астаны · обращение .+ · автор уведомлен ответом/);
    assert.ok(await sent.getAttribute('data-appeal'), 'the forwarded appeal is named');
    await noLatin(page, 'signed', 'kk');
    await noLatin(page, 'signed', 'ru');

    // R24: a correction opens the draft again and is signed as version 2, linked with its reason.
    await page.locator(tid('mt-correction-reason')).fill('Уточнено время патрулирования');
    await page.locator(tid('mt-correction')).click();
    await page.locator(`${tid('mt-protocol')}[data-locked="false"]`).waitFor();
    await page.locator(tid('mt-field-decisions')).fill('Усилить патрулирование двора по ул. Кенесары 40 с 19:00 до 23:00.');
    await page.locator(tid('mt-sign')).click();
    await page.locator(`${tid('mt-protocol')}[data-locked="true"]`).waitFor();
    const v2 = page.locator(`${tid('mt-signature')}[data-version="2"]`);
    await v2.waitFor();
    assert.match(await v2.textContent(), /Уточнено время патрулирования/);
    assert.match(await page.locator(tid('mt-signed-decisions')).textContent(), /с 19:00 до 23:00/);
    assert.match(await page.locator(tid('mt-protocol-locked')).textContent(), /№2/);
    await page.locator(`${tid('mt-coverage')}[data-state="held"]`).waitFor();
    await page.context().close();

    // ---- 10 December: saryarka-02 has no meeting and the last notice day (21 December) is near.
    await restart(LATE_UTC);
    page = await openPage(browser, OFFICE_HEAD, errors);
    await login(page, node, OFFICE_HEAD);
    await setLang(page, 'ru');
    assert.equal(await page.locator(tid('tab-meetings')).count(), 0, 'the office head serves no beat');
    await page.locator(tid('tab-meetings_control-warn')).waitFor(); // R22: the alert's mark
    await page.locator(tid('tab-meetings_control')).click();
    const atRisk = page.locator(`${tid('mc-beat')}[data-beat="saryarka-02"][data-warning="true"]`);
    await atRisk.waitFor();
    assert.match(await atRisk.textContent(), /Под угрозой.*21\.12\.2026/);
    assert.equal(await page.locator(`${tid('mc-beat')}[data-beat="saryarka-01"]`).count(), 0, 'saryarka-01 held its meeting');
    const open = page.locator(`${tid('mc-item')}[data-meeting="${id}"]`);
    assert.equal(await open.count(), 1, 'the remark outside competence is still followed up');
    assert.match(await open.textContent(), /уличное освещение.*Акимат города Астаны/);
    await page.locator(tid('mc-overdue-none')).waitFor();
    await noLatin(page, 'control', 'kk');
    await noLatin(page, 'control', 'ru');
    await page.context().close();
  });
});

