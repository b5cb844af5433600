// The text inbox and the web widget in the browser (issue 14, R01, R05), against the real node:
// a citizen writes in the chat widget on its test page (/widget/demo, standing in for the police
// web site) → the call taker's console shows it in the Inbox (live, with the channel, a chime
// and a notification), takes it and answers with a template → the citizen sees the answer in the
// widget, which confirms it, and the console shows it delivered. The citizen closes the page; an
// answer written meanwhile waits in the outbox and shows when the page is opened again (the
// widget fetches what it missed). The citizen's text is shown as text, never as HTML; a shared
// location shows on the conversation's map, a photo inline. An urgent message ("нож") rings in the
// console like a call until it is taken, and a "102" card is opened from it (automatically, R05)
// and linked. The widget's screens are checked in both languages.
//
// Run: cd e2e && NODE_BIN=../target/debug/node CHROMIUM=$(command -v chromium) node --test inbox.test.mjs

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startNode, stopNode, staff, launchChromium, openPage, login, tid, waitFor, shot,
} from './harness.mjs';

const CT = { login: 'op_inbox', full_name: 'Сейітова Айгүл (оператор 102)', roles: ['call_taker'] };
const ASTANA = { latitude: 51.1282, longitude: 71.4307 };
const MARKUP = 'Соседи шумят <b>всю ночь</b><img src=x onerror="window.__xss=1">';
const ANSWER_TYPED = 'Участковый инспектор проверит сегодня вечером.';
const ANSWER_OFFLINE = 'Проверка проведена, нарушители предупреждены.';
const URGENT = 'Помогите! У подъезда мужчина с ножом угрожает людям, ул. Бейбітшілік 10';

let srv;
let browser;
const errors = [];
let citizen;      // the citizen's context (its localStorage keeps the widget's session)
let widget;       // the demo page
let ct;           // the console

/* Records the console's notifications and the alert sounds played (before its scripts run). */
function recorder() {
  const rec = { notes: [], played: [] };
  window.__rec = rec;
  const play = HTMLMediaElement.prototype.play;
  HTMLMediaElement.prototype.play = function () {
    if (this.getAttribute('data-testid') === 'alert-audio') rec.played.push(this.getAttribute('data-sound'));
    return play.apply(this, arguments);
  };
  const N = window.Notification;
  if (typeof N === 'function') {
    const Wrapped = function (title, opts) {
      rec.notes.push({ title, body: (opts && opts.body) || '', tag: (opts && opts.tag) || '' });
      return new N(title, opts);
    };
    Object.defineProperty(Wrapped, 'permission', { get: () => N.permission });
    Wrapped.requestPermission = function () { return N.requestPermission.apply(N, arguments); };
    Wrapped.prototype = N.prototype;
    window.Notification = Wrapped;
  }
}

const w = (id) => widget.locator(tid(id));
async function widgetPage(context) {
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(`[widget] ${e.message}`));
  await page.goto(srv.base + '/widget/demo');
  await page.locator(`${tid('widget-status')}[data-state="online"]`).waitFor();
  return page;
}
async function say(page, text) {
  await page.locator(tid('widget-text')).fill(text);
  await page.locator(tid('widget-send')).click();
  // The node acknowledged it (stored) before the widget marks it sent.
  const mine = page.locator(`${tid('widget-msg')}[data-dir="in"]`).last();
  await waitFor(`"${text.slice(0, 30)}" acknowledged`, async () => ({ ok: (await mine.getAttribute('data-state')) === 'sent' }));
}
const row = (text) => ct.locator(tid('conv-row'), { hasText: text });
async function openRow(text) {
  await ct.locator(tid('tab-inbox')).click();
  await row(text).first().waitFor();
  await row(text).first().click();
  await ct.locator(`${tid('conv-detail')} ${tid('conv-messages')}`).waitFor();
}
const sound = () => ct.evaluate(() => {
  const a = document.querySelector('[data-testid="alert-audio"]');
  return a ? a.getAttribute('data-sound') : null;
});

describe('inbox: the web widget and the operators\' text inbox', { timeout: 300_000 }, () => {
  before(async () => {
    srv = await startNode({ name: 'inbox' });
    await staff(srv, [CT]);
    browser = await launchChromium();
    citizen = await browser.newContext({ viewport: { width: 1200, height: 800 }, locale: 'ru-RU', permissions: ['geolocation'], geolocation: ASTANA });
    citizen.setDefaultTimeout(20_000);
    ct = await openPage(browser, 'ct', errors, { permissions: ['notifications'] });
    await ct.addInitScript(recorder);
    await login(ct, srv, CT.login);
    await ct.locator(tid('tab-inbox')).click();
    await ct.locator(tid('inbox-list')).waitFor();
  });
  after(async () => {
    if (browser) await browser.close().catch(() => {});
    await stopNode(srv);
  });

  it('r01_widget_message_reaches_the_inbox_and_the_answer_reaches_the_widget', async () => {
    widget = await widgetPage(citizen);
    await w('widget-name').fill('Айгерим');
    await w('widget-name').dispatchEvent('change');
    await say(widget, MARKUP);
    await shot(widget, 'inbox-widget-sent');

    // Live: the row appears without a reload, with the widget's channel; it chimed and notified.
    await row('Соседи шумят').waitFor();
    const r = row('Соседи шумят');
    assert.equal(await r.getAttribute('data-state'), 'unassigned');
    assert.match(await r.innerText(), /Виджет сайта МВД/);
    await waitFor('a notification of the new message', async () => {
      const rec = await ct.evaluate(() => window.__rec);
      return { ok: rec.notes.some((n) => n.title === 'Новое сообщение гражданина' && /Айгерим/.test(n.body)), rec };
    });
    await openRow('Соседи шумят');
    const text = ct.locator(`${tid('conv-msg')}[data-dir="in"] ${tid('conv-msg-text')}`).first();
    assert.equal(await text.textContent(), MARKUP, 'the citizen\'s text is shown as text');
    assert.equal(await ct.locator(`${tid('conv-messages')} b, ${tid('conv-messages')} img:not([data-testid="conv-photo"])`).count(), 0);
    assert.equal(await ct.evaluate(() => window.__xss), undefined);
    assert.match(await ct.locator(tid('conv-citizen')).innerText(), /Айгерим/);

    // Take it (first operator wins), answer with a template and a typed line.
    await ct.locator(tid('conv-take')).click();
    await ct.locator(`${tid('conv-state')}[data-state="assigned"]`).waitFor();
    await ct.locator(tid('conv-template')).selectOption('greeting');
    const reply = ct.locator(tid('conv-reply'));
    assert.match(await reply.inputValue(), /Оператор линии «102» слушает вас/);
    await reply.fill((await reply.inputValue()) + '\n' + ANSWER_TYPED);
    await ct.locator(tid('conv-send')).click();
    await ct.locator(`${tid('conv-state')}[data-state="waiting_citizen"]`).waitFor();

    // The citizen sees it in the widget; the widget confirms it and the console shows it delivered.
    const answer = widget.locator(`${tid('widget-msg')}[data-dir="out"]`, { hasText: ANSWER_TYPED });
    await answer.waitFor();
    await shot(widget, 'inbox-widget-answer');
    await waitFor('the answer marked delivered in the console', async () => {
      const d = ct.locator(`${tid('conv-msg')}[data-dir="out"] ${tid('conv-delivery')}`).last();
      const st = (await d.count()) ? await d.getAttribute('data-delivery') : null;
      if (st !== 'delivered' && st !== 'sent') await ct.locator(tid('inbox-refresh')).click();
      return { ok: st === 'delivered' || st === 'sent', st };
    });
    await ct.locator(tid('inbox-filter-waiting')).click();
    await row('Айгерим').waitFor();
    await shot(ct, 'inbox-console-answered');
  });

  it('r01_widget_answer_written_while_the_citizen_is_away_shows_when_they_return', async () => {
    const url = widget.url();
    await widget.close();
    await ct.locator(tid('conv-reply')).fill(ANSWER_OFFLINE);
    await ct.locator(tid('conv-send')).click();
    await ct.locator(`${tid('conv-msg')}[data-dir="out"]`, { hasText: ANSWER_OFFLINE }).waitFor();
    widget = await citizen.newPage();
    widget.on('pageerror', (e) => errors.push(`[widget] ${e.message}`));
    await widget.goto(url);
    await widget.locator(`${tid('widget-msg')}[data-dir="out"]`, { hasText: ANSWER_OFFLINE }).waitFor();
    // Each answer once, in order, after the citizen's message.
    const lines = await widget.locator(tid('widget-msg')).evaluateAll((els) => els.map((e) => e.getAttribute('data-dir') + ':' + e.textContent));
    assert.equal(lines.filter((l) => l.includes(ANSWER_TYPED)).length, 1, lines.join('\n'));
    assert.equal(lines.filter((l) => l.includes(ANSWER_OFFLINE)).length, 1, lines.join('\n'));
    assert.ok(lines[0].startsWith('in:'), lines.join('\n'));
  });

  it('r01_widget_location_and_photo_reach_the_conversation', async () => {
    await w('widget-location').click();
    await widget.locator(`${tid('widget-msg')}[data-dir="in"][data-state="sent"]`, { hasText: '51.12820' }).waitFor();
    const jpeg = await widget.evaluate(() => {
      const c = document.createElement('canvas');
      c.width = 64; c.height = 48;
      const g = c.getContext('2d');
      g.fillStyle = '#c62828'; g.fillRect(0, 0, 64, 48);
      return c.toDataURL('image/jpeg', 0.9).split(',')[1];
    });
    await w('widget-file').setInputFiles({ name: 'подъезд.jpg', mimeType: 'image/jpeg', buffer: Buffer.from(jpeg, 'base64') });
    await widget.locator(`${tid('widget-msg')}[data-dir="in"][data-state="sent"]`, { hasText: 'Фото: 1' }).waitFor();
    // The citizen wrote last: the conversation is back in "mine".
    await ct.locator(tid('inbox-filter-mine')).click();
    await openRow('Айгерим');
    await ct.locator(`${tid('conv-map')}[data-has-point="1"]`).waitFor();
    const img = ct.locator(tid('conv-photo')).first();
    await waitFor('the photo shown inline', async () => ({ ok: await img.evaluate((i) => i.complete && i.naturalWidth === 64) }));
    await shot(ct, 'inbox-console-photo-location');
  });

  it('r05_urgent_widget_message_rings_like_a_call_and_opens_a_card', async () => {
    const other = await browser.newContext({ viewport: { width: 1200, height: 800 }, locale: 'kk-KZ' });
    const page = await widgetPage(other);
    await say(page, URGENT);
    const r = ct.locator(`${tid('conv-row')}[data-urgent="1"]`, { hasText: 'ножом' });
    await ct.locator(tid('inbox-filter-unassigned')).click();
    await r.waitFor();
    await waitFor('the ring loop plays for the urgent message', async () => ({ ok: (await sound()) === 'ring', sound: await sound() }));
    const rec = await ct.evaluate(() => window.__rec);
    assert.ok(rec.notes.some((n) => n.title === 'СРОЧНОЕ сообщение гражданина'), JSON.stringify(rec.notes));
    await r.click();
    // The classifier said urgent: the node opened a card itself and linked it (R05).
    await waitFor('the card opened from the urgent message', async () => {
      const n = await ct.locator(`${tid('conv-link')}[data-kind="card"]`).count();
      if (!n) await ct.locator(tid('inbox-refresh')).click().then(() => r.click());
      return { ok: n > 0 };
    });
    await shot(ct, 'inbox-console-urgent');
    await ct.locator(tid('conv-take')).click();
    await waitFor('the ring stops once taken', async () => ({ ok: (await sound()) !== 'ring', sound: await sound() }));
    await other.close();
  });

  it('the widget speaks Kazakh and Russian and nothing else', async () => {
    for (const lang of ['kk', 'ru']) {
      if ((await w('widget-panel').getAttribute('lang')) !== lang) await w('widget-lang').click();
      const seen = await widget.evaluate(() => {
        const root = document.querySelector('#mvd102-widget').shadowRoot;
        const texts = [];
        root.querySelectorAll('button, .intro, .status, .title').forEach((e) => texts.push(e.textContent));
        root.querySelectorAll('[placeholder]').forEach((e) => texts.push(e.getAttribute('placeholder')));
        return texts.join(' ');
      });
      assert.doesNotMatch(seen, /[A-Za-z]{2,}/, `${lang}: ${seen}`);
      await shot(widget, `inbox-widget-${lang}`);
    }
    assert.equal(await w('widget-text').getAttribute('placeholder'), 'Ваше сообщение…');
  });

  it('no page errors', () => {
    assert.deepEqual(errors, []);
  });
});
