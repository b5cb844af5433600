// Search, premise history and duplicate suggestions in the console (issue 11), in headless
// Chromium:
// (a) a card created, dispatched and closed is found by its phone written another way
//     ("8 701 …" for "+7701…") and by its address written another way (R08's matching);
// (b) a second card at the same address, being filled by the "102" operator, shows the first
//     (open) card as a duplicate suggestion; one click creates and links it; the main card then
//     lists the linked card;
// (c) an open card shows the earlier closed card at its address and from its phone, with its
//     outcome (premise history).
// Screenshots of the search tab in Russian and Kazakh: target/e2e-screenshots/search-{ru,kk}.png.
//
// Run: cd e2e && NODE_BIN=../target/debug/node CHROMIUM=$(command -v chromium) node --test search.test.mjs

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startNode, stopNode, staff, launchChromium, openPage, login, shot, tid, waitFor } from './harness.mjs';

const PHONE_STORED = '+77012345678';
const PHONE_TYPED = '8 701 234 56 78';
const ADDRESS_STORED = 'г. Астана, проспект Республики, д. 24, кв. 5';
const ADDRESS_TYPED = 'пр. Республики 24 кв 5';
const CLOSE_REPORT = 'Шум прекращён, беседа проведена';
const USERS = [
  { login: 'ct_search', full_name: 'Оператор поиска', roles: ['call_taker'] },
  { login: 'disp_search', full_name: 'ГУСС поиска', roles: ['dispatcher'] },
];

let srv;
let browser;
let tokens;
const errors = [];
const cards = {};

/** Rows of a result table: their card numbers and visible text. */
async function rows(page, table) {
  return page.$$eval(`${tid(table)} tr[data-number]`, (trs) => trs.map((tr) => ({
    number: tr.getAttribute('data-number'), status: tr.getAttribute('data-status'), text: tr.innerText,
  })));
}

describe('search, premise history, duplicate suggestions', () => {
  before(async () => {
    srv = await startNode({ name: 'search' });
    tokens = await staff(srv, USERS);
    const ct = tokens.ct_search, disp = tokens.disp_search;
    // The first card: created, sent, dispatched, reported and closed.
    const a = await srv.api('POST', '/cards', {
      channel: 'app102_call', caller: { name: 'Заявитель', phone: PHONE_STORED },
      location: { address: ADDRESS_STORED, lat: 51.1283, lon: 71.4305 }, description: 'Шум у соседей', category: 'noise',
    }, ct);
    await srv.api('POST', `/cards/${a.id}/send-for-processing`, undefined, ct);
    await srv.api('POST', `/cards/${a.id}/dispatch`, { unit_id: 'p01' }, disp);
    await srv.api('POST', `/cards/${a.id}/report`, { text: CLOSE_REPORT }, disp);
    cards.a = await srv.api('POST', `/cards/${a.id}/close`, { report: CLOSE_REPORT }, disp);
    assert.equal(cards.a.status, 'closed');
    // The second card: open, the same caller at the same flat, written another way.
    const b = await srv.api('POST', '/cards', {
      channel: 'app102_call', caller: { phone: '87012345678' }, location: { address: 'пр. Республики, 24, кв. 5' },
      description: 'Снова шум', category: 'noise', district: 'esil',
    }, ct);
    cards.b = await srv.api('POST', `/cards/${b.id}/send-for-processing`, undefined, ct);
    browser = await launchChromium();
  });

  after(async () => {
    if (browser) await browser.close().catch(() => {});
    await stopNode(srv);
  });

  it('r08 (a) finds a closed card by a phone and an address written differently; screenshots in ru and kk', async () => {
    const page = await openPage(browser, 'disp', errors);
    await login(page, srv, 'disp_search');
    await page.locator(tid('tab-search')).click();
    await page.locator(tid('search-phone')).fill(PHONE_TYPED);
    await page.locator(tid('search-submit')).click();
    const byPhone = await waitFor('the closed card found by phone', async () => {
      const r = await rows(page, 'search-results');
      return { ok: r.some((x) => x.number === cards.a.number), r };
    });
    const hitA = byPhone.r.find((x) => x.number === cards.a.number);
    assert.equal(hitA.status, 'closed');
    assert.match(hitA.text, /Закрыта|Закрыт/i, 'the outcome is shown in Russian');
    assert.ok(hitA.text.includes(CLOSE_REPORT), 'the outcome text (the patrol report) is shown');
    assert.ok(hitA.text.includes('Беркут-11'), 'the unit sent is shown');
    assert.ok(byPhone.r.some((x) => x.number === cards.b.number), 'the open card from the same phone too');
    // Newest first.
    assert.equal(byPhone.r[0].number, cards.b.number);

    await page.locator(tid('search-clear')).click();
    await page.locator(tid('search-address')).fill(ADDRESS_TYPED);
    await page.locator(tid('search-state')).selectOption('closed');
    await page.locator(tid('search-submit')).click();
    const byAddress = await waitFor('the closed card found by address', async () => {
      const r = await rows(page, 'search-results');
      return { ok: r.length === 1 && r[0].number === cards.a.number, r };
    });
    assert.match(byAddress.r[0].text, /Тот же адрес/, 'the address match is named');
    // A click shows the card.
    await page.locator(`${tid('search-results')} tr[data-number="${cards.a.number}"]`).click();
    await page.locator(`${tid('card-detail')} ${tid('card-number')}`).filter({ hasText: cards.a.number }).waitFor();
    await shot(page, 'search-ru');
    await page.locator(tid('lang-toggle')).click();
    await page.locator(tid('tab-search')).filter({ hasText: 'Іздеу' }).waitFor();
    const kkText = await page.locator(tid('search-results')).innerText();
    assert.match(kkText, /Сол мекенжай/, 'the reason in Kazakh');
    assert.match(await page.locator(tid('search-submit')).innerText(), /Табу/);
    await shot(page, 'search-kk');
    await page.locator(tid('lang-toggle')).click();
    // Bad input is a field error, not a failure.
    await page.locator(tid('search-clear')).click();
    await page.locator(tid('search-number')).fill('AST-x');
    await page.locator(tid('search-submit')).click();
    await page.locator(tid('search-error')).filter({ hasText: 'Номер' }).waitFor();
    assert.doesNotMatch(await page.locator(tid('search-error')).innerText(), /[A-Za-z]{3,}/, 'no English reaches the user');
    await page.close();
  });

  it('(c) an open card shows the earlier closed card at its address and from its phone with its outcome', async () => {
    const page = await openPage(browser, 'disp-c', errors);
    await login(page, srv, 'disp_search');
    await page.locator(tid('tab-search')).click();
    await page.locator(tid('search-number')).fill(cards.b.number.split('-').pop());
    await page.locator(tid('search-submit')).click();
    await page.locator(`${tid('search-results')} tr[data-number="${cards.b.number}"]`).click();
    const box = page.locator(`${tid('card-detail')} ${tid('premise-history')}`);
    await box.waitFor();
    const r = await waitFor('the premise history lists the closed card', async () => {
      const list = await rows(page, 'premise');
      return { ok: list.some((x) => x.number === cards.a.number), list };
    });
    assert.equal(r.list.length, 1, 'only the earlier card, not the card itself');
    const row = box.locator(`tr[data-number="${cards.a.number}"]`);
    assert.equal(await row.locator(tid('reason-same_phone')).count(), 1);
    assert.equal(await row.locator('[data-reason$="_address"]').count(), 1);
    assert.ok((await row.innerText()).includes(CLOSE_REPORT), 'its outcome');
    assert.equal(await row.locator(`${tid('outcome')}[data-status="closed"]`).count(), 1);
    // A click opens the earlier card.
    await row.click();
    await page.locator(`${tid('card-detail')} ${tid('card-number')}`).filter({ hasText: cards.a.number }).waitFor();
    await page.close();
  });

  it('(b) a card being filled at the same address suggests the open card; one click links it; the main card lists it', async () => {
    const page = await openPage(browser, 'ct', errors);
    await login(page, srv, 'ct_search');
    await page.locator(tid('tab-call_taker')).click();
    const sugg = page.locator(tid('dup-suggestions'));
    assert.equal(await sugg.isVisible(), false, 'nothing suggested for an empty form');
    await page.locator(tid('ct-address')).fill('Астана, пр-т Республики 24, кв.5');
    await sugg.waitFor({ state: 'visible' });
    const list = await waitFor('the open card is suggested', async () => {
      const r = await rows(page, 'dup');
      return { ok: r.some((x) => x.number === cards.b.number), r };
    });
    assert.ok(!list.r.some((x) => x.number === cards.a.number), 'a closed card is not a duplicate suggestion');
    const row = sugg.locator(`tr[data-number="${cards.b.number}"]`);
    assert.match(await row.innerText(), /Тот же адрес/);
    await sugg.scrollIntoViewIfNeeded();
    await shot(page, 'search-duplicates-ru');
    await row.locator(tid('dup-link')).click();
    // The form's card was created and linked.
    await page.locator(`${tid('ct-status')}[data-status="linked_duplicate"]`).waitFor();
    const number = (await page.locator(tid('ct-number')).innerText()).trim();
    assert.match(number, /^AST-\d{4}-\d{6}$/);
    const linked = page.locator(`${tid('card-detail')} ${tid('linked-duplicates')}`);
    await linked.locator(`tr[data-number="${number}"]`).waitFor();
    assert.equal(await page.locator(`${tid('card-detail')} ${tid('card-number')}`).innerText(), cards.b.number);
    const main = await srv.api('GET', `/cards/${cards.b.id}`, undefined, tokens.disp_search);
    assert.deepEqual(main.linked_duplicates.map((d) => d.number), [number]);
    await page.close();
  });

  it('no page errors', () => {
    assert.deepEqual(errors, []);
  });
});
