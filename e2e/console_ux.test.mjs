// The call taker's and the dispatcher's console as a shift uses it (issue 11): a refused "send"
// leaves no card, a card no unit worked is closed with a reason, a note does not restart the
// status timer, what was saved leaves its box, the keyboard alone creates, sends and dispatches
// a card, a lost connection keeps the form and resends it once, and the unit board fits a
// 1440 px screen in Kazakh.
//
// Run: cd e2e && NODE_BIN=../target/debug/node node --test console_ux.test.mjs

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startNode, stopNode, staff, launchChromium, openPage, login, tid, shot, waitFor } from './harness.mjs';

const OP = { login: 'op_ux', full_name: 'Сәуле Әлиева (оператор 102)', roles: ['call_taker'] };
const DISP = { login: 'guss_ux', full_name: 'Марат Оспанов (ГУСС)', roles: ['dispatcher'] };
// A shift supervisor who also covers every desk: the most tabs a top bar carries.
const REG = { login: 'reg_ux', full_name: 'Гүлнар Сейтқали (канцелярия)', roles: ['registrar'] };
const ALL = { login: 'all_ux', full_name: 'Қасымжомарт Тоқтарбекұлы Әбдірахманов', roles: ['call_taker', 'dispatcher', 'duty_officer', 'supervisor'] };

const CARD = {
  channel: 'app102_call',
  caller: { name: 'Айгерим Серікқызы', phone: '+77011234567' },
  location: { lat: 51.128, lon: 71.42, address: 'г. Астана, ул. Кенесары, д. 40' },
  description: 'Драка у подъезда',
  category: 'assault',
};

let node;
let browser;
let tokens;
const errors = [];

async function cards(token) {
  return node.api('GET', '/cards?limit=500', undefined, token);
}

async function sentCard(extra = {}) {
  return node.api('POST', '/cards?send_for_processing=true', { ...CARD, ...extra }, tokens[OP.login]);
}

describe('console_ux: the call taker and the dispatcher at work', { timeout: 300_000 }, () => {
  before(async () => {
    node = await startNode({ name: 'ux' });
    tokens = await staff(node, [OP, DISP, ALL, REG]);
    browser = await launchChromium();
  });
  after(async () => {
    if (browser) await browser.close().catch(() => {});
    await stopNode(node);
    assert.deepEqual(errors, [], 'errors in the pages');
  });

  it('r03_a_refused_send_leaves_no_empty_card: "send" on an incomplete form stores nothing', async () => {
    const page = await openPage(browser, 'op', errors);
    await login(page, node, OP.login);
    // The keyboard starts in the form's first field.
    await waitFor('focus in the first field', async () => ({ ok: await page.evaluate(() => document.activeElement && document.activeElement.getAttribute('data-testid') === 'ct-channel') }));
    await page.locator(tid('ct-caller-phone')).fill('+77017778899');
    await page.locator(tid('ct-description')).fill('Шум за стеной');
    for (let i = 0; i < 3; i++) {
      await page.locator(tid('ct-send')).click();
      await page.locator(`${tid('ct-error')}:visible`).waitFor();
    }
    assert.equal((await cards(tokens[OP.login])).length, 0, 'a refused send stored a card');
    assert.equal(await page.locator(`${tid('ct-list')} [data-card-id]`).count(), 0, 'the operator\'s list shows an empty card');
    assert.equal(await page.locator(tid('ct-number')).textContent(), '');
    await page.context().close();
  });

  it('closing a card no unit worked asks for the reason and closes it with it', async () => {
    const card = await sentCard();
    const page = await openPage(browser, 'disp', errors);
    await login(page, node, DISP.login);
    const P = tid('panel-dispatcher');
    await page.locator(`${P} ${tid('queue')} [data-number="${card.number}"]`).click();
    await page.locator(`${P} ${tid('card-number')}`).filter({ hasText: card.number }).waitFor();
    const reason = page.locator(`${P} ${tid('close-reason')}`);
    await reason.waitFor();
    // Without a reason nothing is sent: the field asks for it.
    await page.locator(`${P} ${tid('close-btn')}`).click();
    await page.locator(`${P} ${tid('close-reason')}.need`).waitFor();
    assert.equal((await node.api('GET', `/cards/${card.id}`, undefined, tokens[DISP.login])).status, 'sent_for_processing');
    await reason.fill('Ложный вызов: заявитель подтвердил по телефону, помощь не нужна');
    await page.locator(`${P} ${tid('close-btn')}`).click();
    await page.locator(`${P} ${tid('card-status')}[data-status="closed"]`).waitFor();
    const closed = await node.api('GET', `/cards/${card.id}`, undefined, tokens[DISP.login]);
    assert.equal(closed.status, 'closed');
    assert.match(closed.close_reason, /Ложный вызов/);
    await shot(page, 'ux-closed-without-unit-ru');
    await page.context().close();
  });

  it('r05 a card that is not an emergency becomes an appeal with one button, once', async () => {
    const card = await sentCard({ description: 'Просит разъяснить, как получить справку об отсутствии судимости', category: 'consultation' });
    const page = await openPage(browser, 'disp-appeal', errors);
    await login(page, node, DISP.login);
    const P = tid('panel-dispatcher');
    await page.locator(`${P} ${tid('queue')} [data-number="${card.number}"]`).click();
    await page.locator(`${P} ${tid('to-appeal-btn')}`).click();
    await page.locator(`${P} ${tid('timeline')} tr[data-kind="appeal_linked"]`).waitFor();
    assert.equal(await page.locator(`${P} ${tid('to-appeal-btn')}`).count(), 0, 'the card can be turned into an appeal only once');
    const kind = await page.locator(`${P} ${tid('timeline')} tr[data-kind="appeal_linked"] td`).nth(2).innerText();
    assert.match(kind, /обращени/i, 'the timeline names the link in the reader\'s language');
    const incoming = await node.api('GET', '/appeals?status=received', undefined, tokens[REG.login]);
    const appeal = incoming.find((a) => a.id && a.channel === 'call_102');
    assert.ok(appeal, 'the registrar has the appeal');
    const full = await node.api('GET', `/appeals/${appeal.id}`, undefined, tokens[REG.login]);
    assert.equal(full.card_number, card.number);
    assert.match(full.text, /справку об отсутствии судимости/);
    await page.context().close();
  });

  it('a note does not restart the status timer; a saved report leaves its box', async () => {
    const card = await sentCard();
    const page = await openPage(browser, 'disp2', errors);
    await login(page, node, DISP.login);
    const P = tid('panel-dispatcher');
    const row = `${P} ${tid('queue')} [data-number="${card.number}"]`;
    await page.locator(row).click();
    await page.locator(`${P} ${tid('timer-in-status')}`).waitFor();
    const since = () => page.$eval(`${P} ${tid('timer-in-status')}`, (el) => Number(el.getAttribute('data-since')));
    const rowSince = () => page.$eval(`${row} .timer`, (el) => Number(el.getAttribute('data-since')));
    assert.equal(await since(), card.status_since);
    assert.equal(await rowSince(), card.status_since);
    await page.locator(`${P} ${tid('note-text')}`).fill('Заявитель перезвонил, уточнил подъезд');
    await page.locator(`${P} ${tid('note-btn')}`).click();
    await page.locator(`${P} ${tid('timeline')} tr[data-kind="note"]`).waitFor();
    assert.equal(await page.locator(`${P} ${tid('note-text')}`).inputValue(), '', 'the note stayed in its box');
    assert.equal(await since(), card.status_since, 'the note restarted the card\'s status timer');
    assert.equal(await rowSince(), card.status_since, 'the note restarted the queue timer');
    // Dispatch, then a report: the text leaves the box once saved.
    const unit = await page.$eval(`${P} ${tid('dispatch-unit')}`, (s) => Array.from(s.options).map((o) => o.value).filter(Boolean)[0]);
    await page.locator(`${P} ${tid('dispatch-unit')}`).selectOption(unit);
    await page.locator(`${P} ${tid('dispatch-btn')}`).click();
    await page.locator(`${P} ${tid('card-status')}[data-status="dispatched"]`).waitFor();
    await page.locator(`${P} ${tid('unit-since-dispatch')}`).waitFor();
    await page.locator(`${P} ${tid('report-text')}`).fill('На месте: конфликт улажен, стороны предупреждены');
    await page.locator(`${P} ${tid('report-btn')}`).click();
    await page.locator(`${P} ${tid('card-report')}`).waitFor();
    assert.equal(await page.locator(`${P} ${tid('report-text')}`).inputValue(), '', 'the saved report stayed in its box');
    await page.context().close();
  });

  it('the keyboard alone creates, sends and dispatches a card; the buttons show their keys', async () => {
    const op = await openPage(browser, 'op-keys', errors);
    await login(op, node, OP.login);
    assert.match(await op.locator(`${tid('ct-send')} kbd`).textContent(), /Ctrl\+Enter/);
    await waitFor('focus in the first field', async () => ({ ok: await op.evaluate(() => document.activeElement.getAttribute('data-testid') === 'ct-channel') }));
    const focused = () => op.evaluate(() => document.activeElement.getAttribute('data-testid'));
    const tabTo = async (want) => {
      for (let i = 0; i < 25 && (await focused()) !== want; i++) await op.keyboard.press('Tab');
      assert.equal(await focused(), want, `Tab reaches ${want}`);
    };
    await tabTo('ct-caller-name');
    await op.keyboard.type('Ерлан Жұмабаев');
    await tabTo('ct-caller-phone');
    await op.keyboard.type('87015551234');
    await tabTo('ct-lat');
    await op.keyboard.type('51.128');
    await tabTo('ct-lon');
    await op.keyboard.type('71.42');
    await tabTo('ct-address');
    await op.keyboard.type('г. Астана, ул. Кенесары, д. 42');
    await tabTo('ct-description');
    await op.keyboard.type('Кража велосипеда из подъезда');
    await tabTo('ct-category');
    await op.keyboard.press('ArrowDown'); // the first category
    await op.keyboard.press('Control+Enter');
    await op.locator(`${tid('ct-status')}[data-status="sent_for_processing"]`).waitFor();
    const number = (await op.locator(tid('ct-number')).textContent()).trim();
    assert.ok(number, 'the sent card has a number');
    // Alt+N: a new, empty form, the keyboard back in its first field.
    await op.keyboard.press('Alt+KeyN');
    await op.locator(`${tid('ct-status')}[data-status=""]`).waitFor({ state: 'attached' });
    assert.equal(await focused(), 'ct-channel');

    const disp = await openPage(browser, 'disp-keys', errors);
    await login(disp, node, DISP.login);
    const P = tid('panel-dispatcher');
    await disp.locator(`${P} ${tid('queue')} [data-number="${number}"]`).waitFor();
    await disp.keyboard.press('Alt+KeyQ');
    for (let i = 0; i < 10; i++) {
      const at = await disp.evaluate(() => document.activeElement.getAttribute('data-number'));
      if (at === number) break;
      await disp.keyboard.press('ArrowDown');
    }
    await disp.keyboard.press('Enter');
    await disp.locator(`${P} ${tid('card-number')}`).filter({ hasText: number }).waitFor();
    await disp.locator(`${P} ${tid('dispatch-btn')} kbd`).waitFor();
    await disp.keyboard.press('Alt+KeyD'); // no unit chosen yet: the unit list takes the keyboard
    await waitFor('unit list focused', async () => ({ ok: await disp.evaluate(() => document.activeElement.getAttribute('data-testid') === 'dispatch-unit') }));
    await disp.keyboard.press('ArrowDown');
    await disp.keyboard.press('Alt+KeyD');
    await disp.locator(`${P} ${tid('card-status')}[data-status="dispatched"]`).waitFor();
    await disp.keyboard.press('Alt+KeyR');
    await waitFor('unit en route', async () => {
      const c = (await cards(tokens[DISP.login])).find((x) => x.number === number);
      const full = await node.api('GET', `/cards/${c.id}`, undefined, tokens[DISP.login]);
      return { ok: !!(full.units[0] && full.units[0].en_route_at), units: full.units };
    });
    await disp.locator(`${P} ${tid('unit-on-scene')}`).waitFor();
    await disp.keyboard.press('Alt+KeyM');
    await disp.locator(`${P} ${tid('card-status')}[data-status="on_scene"]`).waitFor();
    await disp.locator(`${P} ${tid('unit-arrived-in')}`).waitFor();
    await shot(disp, 'ux-keyboard-dispatched-ru');
    await op.context().close();
    await disp.context().close();
  });

  it('a lost connection keeps the form, says so, and sends it once when the node answers', async () => {
    const page = await openPage(browser, 'op-offline', errors);
    await login(page, node, OP.login);
    const before = (await cards(tokens[OP.login])).length;
    await page.locator(tid('ct-caller-phone')).fill('+77019990011');
    await page.locator(tid('ct-lat')).fill('51.128');
    await page.locator(tid('ct-lon')).fill('71.42');
    await page.locator(tid('ct-address')).fill('г. Астана, ул. Кенесары, д. 44');
    await page.locator(tid('ct-description')).fill('Крики о помощи');
    await page.locator(tid('ct-category')).selectOption('assault');
    await page.context().setOffline(true);
    await page.locator(tid('ct-send')).click();
    await page.locator(`${tid('ct-pending')}:visible`).waitFor();
    await page.locator(`${tid('offline-banner')}:visible`).waitFor();
    await page.locator(`${tid('sse-status')}[data-state="offline"]`).waitFor();
    assert.match(await page.locator(tid('offline-banner')).innerText(), /Нет связи/);
    await shot(page, 'ux-offline-ru');
    assert.equal(await page.locator(tid('ct-address')).inputValue(), 'г. Астана, ул. Кенесары, д. 44', 'the form was kept');
    await page.context().setOffline(false);
    await page.locator(`${tid('ct-status')}[data-status="sent_for_processing"]`).waitFor({ timeout: 30_000 });
    await page.locator(tid('ct-pending')).waitFor({ state: 'hidden' });
    await page.locator(tid('offline-banner')).waitFor({ state: 'hidden' });
    const after = await cards(tokens[OP.login]);
    assert.equal(after.length, before + 1, 'the resent card was created exactly once');
    await page.context().close();
  });

  it('the unit board\'s buttons fit their column at 1440 px, in Kazakh too', async () => {
    const page = await openPage(browser, 'disp-board', errors);
    await login(page, node, DISP.login);
    const P = tid('panel-dispatcher');
    await page.locator(`${P} ${tid('unit-board')} tr[data-unit-id]`).first().waitFor();
    for (const lang of ['ru', 'kk']) {
      if (lang === 'kk') {
        await page.locator(tid('lang-toggle')).click();
        await page.locator('html[lang="kk"]').waitFor();
      }
      const bad = await page.$$eval(`${P} ${tid('unit-board')} button`, (btns) => {
        const col = btns.length ? btns[0].closest('.col').getBoundingClientRect() : null;
        return btns.filter((b) => {
          const r = b.getBoundingClientRect();
          return r.right > col.right + 0.5 || r.right > window.innerWidth || b.scrollWidth > b.clientWidth + 1;
        }).map((b) => `${b.textContent}: right ${b.getBoundingClientRect().right} of ${col.right}, text ${b.scrollWidth} in ${b.clientWidth}`);
      });
      await shot(page, `ux-unit-board-${lang}`);
      assert.deepEqual(bad, [], `buttons cut off or overflowing (${lang})`);
    }
    await page.context().close();
  });

  it('the top bar fits 1440 px with every tab, in Kazakh too: nothing is cut off', async () => {
    const page = await openPage(browser, 'all-tabs', errors);
    await login(page, node, ALL.login);
    for (const lang of ['ru', 'kk']) {
      if (lang === 'kk') {
        await page.locator(tid('lang-toggle')).click();
        await page.locator('html[lang="kk"]').waitFor();
      }
      const out = await page.evaluate(() => {
        const bar = document.querySelector('.topbar');
        const cut = Array.from(bar.querySelectorAll('button, .clock, [data-testid="sse-status"]'))
          .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 0.5)
          .map((el) => el.getAttribute('data-testid') || el.className);
        return { cut, tabs: bar.querySelectorAll('.tab').length, wide: bar.scrollWidth > bar.clientWidth + 1 };
      });
      assert.equal(out.tabs, 7, 'the operator, ГУСС, duty, supervisor, search, map and inbox tabs');
      assert.deepEqual(out.cut, [], `top bar items past the screen's edge (${lang})`);
      assert.equal(out.wide, false, `the top bar overflows (${lang})`);
      await shot(page, `ux-topbar-all-tabs-${lang}`);
    }
    await page.context().close();
  });
});
