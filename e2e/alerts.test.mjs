// Sound and browser notifications in the operator console (issue 11), in headless Chromium.
//
// The console tab is put in the background (another tab of the same window in front, checked
// with document.visibilityState), then: a citizen's call rings there (the ring sound loops from
// the page's <audio>, a notification names the channel) and answering stops it; an SOS plays the
// distinct siren (R10) with its card number in the notification; a card sent for processing
// chimes for the dispatcher (not the cards already in the queue at login); the sound toggle
// mutes (nothing played on the next event) and stays off after a reload; a unit dispatched and
// not on scene within unit_overdue_after_s (a few seconds here) beeps and notifies once.
// What played and which notifications were made is recorded by wrapping
// HTMLMediaElement.prototype.play and window.Notification before the page loads.
//
// Run: cd e2e && NODE_BIN=../target/debug/node CHROMIUM=$(command -v chromium) node --test alerts.test.mjs

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startNode, stopNode, staff, launchChromium, openPage, login, tid, waitFor, shot, STEP_TIMEOUT_MS,
} from './harness.mjs';

/** Seconds after which a dispatched unit not on scene is overdue, on this test's node. */
const OVERDUE_AFTER_S = 3;
const CT = { login: 'op_alerts', full_name: 'Сейітова Айгүл (оператор 102)', roles: ['call_taker'] };
const DISP = { login: 'disp_alerts', full_name: 'Исаев Марат (ГУСС)', roles: ['dispatcher'] };
const CHANNEL_RU = 'Прил. «102» — звонок';
const SOS_CHANNEL_RU = 'Тревожная кнопка SOS (видео)';

let srv;
let browser;
let tokens;
let ref;
const errors = [];
const pages = {};

/* Runs in the page before its scripts: records every play() of the alert audio and every
   Notification constructed, with the page's visibility at that moment. */
function recorder() {
  const rec = { played: [], notes: [] };
  window.__alerts = rec;
  const play = HTMLMediaElement.prototype.play;
  HTMLMediaElement.prototype.play = function () {
    if (this.getAttribute('data-testid') === 'alert-audio') {
      rec.played.push({ sound: this.getAttribute('data-sound'), src: this.src, loop: this.loop, visibility: document.visibilityState });
    }
    return play.apply(this, arguments);
  };
  // Headless Chromium driven by Playwright reports every page visible (a tab brought to the
  // front over it, a minimised window: still 'visible'), so the test can also mark the page
  // hidden the way a background tab is: visibilityState, hidden, and the visibilitychange event.
  let hidden = null;
  for (const [prop, get] of [['visibilityState', () => (hidden ? 'hidden' : 'visible')], ['hidden', () => hidden]]) {
    const real = Object.getOwnPropertyDescriptor(Document.prototype, prop);
    Object.defineProperty(document, prop, { configurable: true, get() { return hidden === null ? real.get.call(document) : get(); } });
  }
  // A looping sound starts again from 0: count the restarts of the alert audio.
  let last = 0;
  rec.restarts = 0;
  document.addEventListener('timeupdate', (ev) => {
    const a = ev.target;
    if (a.getAttribute('data-testid') !== 'alert-audio') return;
    if (a.currentTime < last) rec.restarts += 1;
    last = a.currentTime;
  }, true);
  window.__background = (on) => { hidden = on; document.dispatchEvent(new Event('visibilitychange')); };
  const N = window.Notification;
  if (typeof N === 'function') {
    const Wrapped = function (title, opts) {
      rec.notes.push({ title, body: (opts && opts.body) || '', tag: (opts && opts.tag) || '', visibility: document.visibilityState });
      return new N(title, opts);
    };
    Object.defineProperty(Wrapped, 'permission', { get: () => N.permission });
    Wrapped.requestPermission = function () { return N.requestPermission.apply(N, arguments); };
    Wrapped.prototype = N.prototype;
    window.Notification = Wrapped;
  }
}

async function consolePage(name, user, options = {}) {
  const page = await openPage(browser, name, errors, { permissions: ['notifications'], ...options });
  await page.addInitScript(recorder);
  await login(page, srv, user.login);
  return page;
}
/** Puts another tab of the same window in front of `page` (and, where headless Chromium still
 * reports the console visible, marks it hidden as a background tab is); returns a function that
 * brings the console back. */
async function toBackground(page) {
  const cover = await page.context().newPage();
  await cover.goto('about:blank');
  await cover.bringToFront();
  if ((await page.evaluate(() => document.visibilityState)) !== 'hidden') {
    await page.evaluate(() => window.__background(true));
  }
  assert.equal(await page.evaluate(() => document.visibilityState), 'hidden');
  return async () => {
    await page.evaluate(() => window.__background(null));
    await page.bringToFront();
    await cover.close();
  };
}
const rec = (page) => page.evaluate(() => window.__alerts);
const clearRec = (page) => page.evaluate(() => { window.__alerts.played.length = 0; window.__alerts.notes.length = 0; });
const audio = (page) => page.evaluate(() => {
  const a = document.querySelector('[data-testid="alert-audio"]');
  return a && { sound: a.getAttribute('data-sound'), paused: a.paused, loop: a.loop, src: a.src, duration: a.duration, time: a.currentTime };
});

async function citizenCall({ phone, sos = false }) {
  const page = await openPage(browser, 'citizen', errors);
  await page.goto(srv.base + '/citizen');
  await page.locator(tid('channel')).selectOption('app102_call');
  await page.locator(tid('phone')).fill(phone);
  await page.locator(tid('video')).setChecked(false);
  await page.locator(tid(sos ? 'sos' : 'call')).click();
  await page.waitForFunction(() => document.querySelector('[data-testid="status"]').getAttribute('data-state') === 'ringing');
  return { page, id: await page.evaluate(() => window.citizen.callId) };
}

async function queueCard(description) {
  const card = await srv.api('POST', '/cards', {
    channel: 'app102_text',
    caller: { name: 'Ахметов Нұржан', phone: '+77017770000', language: 'kk' },
    location: { lat: 51.1605, lon: 71.4704, accuracy_m: 30, address: 'г. Астана, ул. Бейбітшілік, 10' },
    description,
    category: ref.categories[0].code,
  }, tokens[CT.login]);
  await srv.api('POST', `/cards/${card.id}/send-for-processing`, undefined, tokens[CT.login]);
  return card;
}

describe('alerts: sound and browser notifications in a background tab', { timeout: 300_000 }, () => {
  before(async () => {
    srv = await startNode({ name: 'alerts', config: `[reference]\nunit_overdue_after_s = ${OVERDUE_AFTER_S}\n` });
    tokens = await staff(srv, [CT, DISP]);
    ref = await srv.api('GET', '/reference', undefined, tokens[CT.login]);
    assert.equal(ref.unit_overdue_after_s, OVERDUE_AFTER_S);
    browser = await launchChromium();
  });
  after(async () => {
    if (browser) await browser.close().catch(() => {});
    await stopNode(srv);
  });

  it('serves the sounds as WAV files, each different and small', async () => {
    const seen = new Set();
    for (const name of ['ring', 'sos', 'queue', 'overdue']) {
      const r = await fetch(`${srv.base}/kit/${name}.wav`);
      assert.equal(r.status, 200, name);
      assert.equal(r.headers.get('content-type'), 'audio/wav');
      const b = Buffer.from(await r.arrayBuffer());
      assert.equal(b.toString('latin1', 0, 4), 'RIFF');
      assert.equal(b.toString('latin1', 8, 12), 'WAVE');
      assert.ok(b.length > 1000 && b.length < 100 * 1024, `${name}: ${b.length} bytes`);
      seen.add(b.toString('base64'));
    }
    assert.equal(seen.size, 4);
    const csp = (await fetch(srv.base + '/')).headers.get('content-security-policy');
    assert.match(csp, /media-src 'self'/);
  });

  it('a ringing call rings and notifies in a background tab; answering stops the ring', async () => {
    const ct = pages.ct = await consolePage('ct', CT);
    await ct.locator(tid('calls')).waitFor();
    assert.equal(await ct.locator(tid('alert-sound-toggle')).getAttribute('data-on'), '1', 'sound is on by default');
    assert.equal(await ct.locator(tid('alert-notify-toggle')).getAttribute('data-state'), 'on');
    const back = await toBackground(ct);
    const call = await citizenCall({ phone: '+77015551111' });
    const got = await waitFor('the ring plays and a notification names the channel', async () => {
      const r = await rec(ct);
      const note = r.notes.find((n) => n.tag === `call-${call.id}`);
      return { ok: r.played.some((p) => p.sound === 'ring') && !!note, note, played: r.played };
    });
    assert.equal(got.note.title, 'Входящий вызов');
    assert.match(got.note.body, new RegExp(CHANNEL_RU.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    assert.match(got.note.body, /\+77015551111/);
    assert.equal(got.note.visibility, 'hidden');
    assert.ok(got.played.every((p) => p.visibility === 'hidden'), 'played while hidden');
    const a = await audio(ct);
    assert.deepEqual([a.sound, a.paused, a.loop], ['ring', false, true], 'the ring loops while the call rings');
    assert.match(a.src, /\/kit\/ring\.wav$/);
    // The browser decodes the file (a 2 s ring cycle) and keeps ringing: the cycle starts again.
    const ringing = await waitFor('the ring cycle repeats while the call rings', async () => {
      const s = await audio(ct);
      const restarts = (await rec(ct)).restarts;
      return { ok: Math.abs(s.duration - 2) < 0.05 && restarts >= 1 && !s.paused, restarts, ...s };
    });
    assert.equal(ringing.sound, 'ring');
    // The operator comes back and answers: the ring stops.
    await back();
    await ct.locator(`${tid('call-row')}[data-call="${call.id}"] ${tid('call-accept')}`).click();
    await ct.locator(tid('call-active')).waitFor({ state: 'visible' });
    await waitFor('the ring stops once answered', async () => {
      const s = await audio(ct);
      return { ok: s.sound === '' && s.paused, ...s };
    });
    await ct.locator(tid('call-hangup')).click();
    await ct.locator(tid('call-active')).waitFor({ state: 'hidden' });
    await call.page.context().close();
  });

  it('r10_sos_plays_the_distinct_siren_and_notifies_with_its_card_number', async () => {
    const ct = pages.ct;
    await clearRec(ct);
    const back = await toBackground(ct);
    const sos = await citizenCall({ phone: '+77015552222', sos: true });
    const call = (await srv.api('GET', `/calls/${sos.id}`, undefined, tokens[CT.login])).call;
    assert.ok(call.card_number, 'SOS opens its card at once (R10)');
    const got = await waitFor('the SOS siren plays and notifies', async () => {
      const r = await rec(ct);
      // The card number may come with a later event: the notification is then replaced (same tag).
      const note = r.notes.filter((n) => n.tag === `call-${sos.id}`).pop();
      return { ok: r.played.some((p) => p.sound === 'sos') && !!note && note.body.includes(call.card_number), note, played: r.played };
    });
    assert.equal(got.note.title, 'SOS — тревожная кнопка!');
    assert.ok(got.note.body.includes(SOS_CHANNEL_RU), got.note.body);
    assert.ok(got.note.body.includes(call.card_number), got.note.body);
    assert.ok(!got.played.some((p) => p.sound === 'ring'), 'SOS is not the ordinary ring');
    const a = await audio(ct);
    assert.deepEqual([a.sound, a.paused, a.loop], ['sos', false, true]);
    assert.match(a.src, /\/kit\/sos\.wav$/);
    // The caller gives up: the siren stops.
    await sos.page.locator(tid('hangup')).click();
    await waitFor('the siren stops when the call ends', async () => {
      const s = await audio(ct);
      return { ok: s.sound === '' && s.paused, ...s };
    });
    await back();
    await sos.page.context().close();
  });

  it('a card sent for processing chimes and notifies the dispatcher with its number, not those queued before', async () => {
    const before = await queueCard('Уже в очереди до входа диспетчера');
    const disp = pages.disp = await consolePage('disp', DISP);
    await disp.locator(`${tid('panel-dispatcher')} [data-number="${before.number}"]`).first().waitFor();
    const back = await toBackground(disp);
    const card = await queueCard('Кража велосипеда из подъезда');
    const got = await waitFor('the chime and the notification of the new card', async () => {
      const r = await rec(disp);
      const note = r.notes.find((n) => n.tag === `card-${card.id}`);
      return { ok: r.played.some((p) => p.sound === 'queue') && !!note, note, r };
    });
    assert.equal(got.note.title, 'Новая карточка в очереди ГУСС');
    assert.ok(got.note.body.includes(card.number), got.note.body);
    assert.equal(got.note.visibility, 'hidden');
    assert.ok(!got.r.notes.some((n) => n.tag === `card-${before.id}`), 'a card already queued at login does not alert');
    assert.equal(got.r.played.filter((p) => p.sound === 'queue').length, 1);
    await back();
  });

  it('the sound toggle mutes (the next event plays nothing) and stays off after a reload; ru and kk', async () => {
    const disp = pages.disp;
    const toggle = disp.locator(tid('alert-sound-toggle'));
    assert.equal((await toggle.textContent()).trim(), 'Звук: вкл');
    await shot(disp, 'alerts-01-toggle-ru');
    await toggle.click();
    await disp.locator(`${tid('alert-sound-toggle')}[data-on="0"]`).waitFor();
    assert.equal((await toggle.textContent()).trim(), 'Звук: выкл');
    await disp.reload();
    await disp.locator(`${tid('alert-sound-toggle')}[data-on="0"]`).waitFor();
    await disp.locator(tid('sse-status') + '[data-state="online"]').waitFor();
    const card = await queueCard('Шум в квартире ночью');
    // The notification still comes (it has its own toggle): the event arrived, without sound.
    await waitFor('the notification of the card arrives', async () => {
      const r = await rec(disp);
      return { ok: r.notes.some((n) => n.tag === `card-${card.id}`), r };
    });
    const r = await rec(disp);
    assert.deepEqual(r.played, [], 'muted: nothing played');
    const a = await audio(disp);
    assert.equal(a.sound, '');
    // Kazakh.
    await disp.locator(tid('lang-toggle')).click();
    await waitFor('the toggle in Kazakh', async () => {
      const s = (await toggle.textContent()).trim();
      return { ok: s === 'Дыбыс: өшірулі', s };
    });
    await shot(disp, 'alerts-02-toggle-kk-muted');
    await toggle.click();
    await disp.locator(`${tid('alert-sound-toggle')}[data-on="1"]`).waitFor();
    assert.equal((await toggle.textContent()).trim(), 'Дыбыс: қосулы');
    assert.equal((await disp.locator(tid('alert-notify-toggle')).textContent()).trim(), 'Хабарландыру: қосулы');
    await shot(disp, 'alerts-03-toggle-kk');
    await disp.locator(tid('lang-toggle')).click();
    await waitFor('back in Russian', async () => {
      const s = (await toggle.textContent()).trim();
      return { ok: s === 'Звук: вкл', s };
    });
  });

  it('a unit dispatched and not on scene in time beeps and notifies once', async () => {
    const disp = pages.disp;
    await clearRec(disp);
    const card = await queueCard('Драка у магазина');
    const units = await srv.api('GET', '/units', undefined, tokens[DISP.login]);
    const unit = units.find((u) => u.status === 'available' && u.kind === 'patrol');
    assert.ok(unit, 'a free patrol unit');
    const back = await toBackground(disp);
    await srv.api('POST', `/cards/${card.id}/dispatch`, { unit_id: unit.id }, tokens[DISP.login]);
    const got = await waitFor('the overdue beep and notification', async () => {
      const r = await rec(disp);
      const note = r.notes.find((n) => n.tag === `unit-${unit.id}`);
      return { ok: r.played.some((p) => p.sound === 'overdue') && !!note, note, r };
    }, STEP_TIMEOUT_MS + OVERDUE_AFTER_S * 1000);
    assert.equal(got.note.title, 'Превышено время прибытия наряда');
    assert.ok(got.note.body.includes(unit.call_sign), got.note.body);
    assert.ok(got.note.body.includes(card.number), got.note.body);
    // Three more ticks of the console's clock: still one beep, one notification.
    const clock = async () => disp.evaluate(() => document.querySelector('#clock').textContent);
    for (let i = 0; i < 3; i++) {
      const was = await clock();
      await waitFor('the next tick', async () => ({ ok: (await clock()) !== was }));
    }
    const r = await rec(disp);
    assert.equal(r.played.filter((p) => p.sound === 'overdue').length, 1, JSON.stringify(r.played));
    assert.equal(r.notes.filter((n) => n.tag === `unit-${unit.id}`).length, 1);
    await back();
    await disp.locator(`${tid('unit-row-' + unit.id)}[data-overdue="1"]`).waitFor();
    await shot(disp, 'alerts-04-overdue-ru');
  });

  it('without notification permission the toggle says so plainly', async () => {
    const page = await openPage(browser, 'no-permission', errors);
    await login(page, srv, CT.login);
    const perm = await page.evaluate(() => Notification.permission);
    const note = page.locator(tid('alert-notify-toggle'));
    const want = perm === 'denied' ? ['denied', 'Уведомления: запрещены в браузере'] : ['ask', 'Уведомления: разрешить'];
    assert.equal(await note.getAttribute('data-state'), want[0]);
    assert.equal((await note.textContent()).trim(), want[1]);
    await page.context().close();
  });

  it('has no page errors', () => {
    assert.deepEqual(errors, []);
  });
});
