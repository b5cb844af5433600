// End-to-end test of the knowledge base's editor page at the hub (R19) in a real headless Chromium.
//
// Provisions a CA, the central hub and region AST, starts both. The hub's administrator creates a
// knowledge-base editor for the local police service in the accounts page; the editor logs in and
// lands on the knowledge base: the demo articles of their service, another service's article
// read-only, a draft refused with the field named, a new article saved and published. It
// replicates to the region: the region's operator finds it with the knowledge-base search (what
// the bots answer with). Withdrawn, the region stops finding it. Russian, then Kazakh, with no
// English word outside data values.
//
// Builds nothing itself. Run: cd e2e && node --test central_kb.test.mjs
// Env: CENTRAL_BIN (default ../target/debug/central), NODE_BIN (../target/debug/node),
// PROVISIONING_BIN (../target/debug/provisioning), CHROMIUM; E2E_SHOW_LOGS=1 prints the logs.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  ADMIN_PASSWORD, STAFF_PASSWORD, englishIn, launchChromium, openPage, shot, staff, startHubAndRegion, textIn, tid,
} from './harness.mjs';

const EDITOR = { login: 'kb.local.police', full_name: 'Жумабекова Асель (редактор, местная полиция)', service: 'local-police' };
const EDITOR_TEMP_PASSWORD = 'e2e-Editor-Temp0rary-2026';
const OPERATOR = { login: 'op102_kb_e2e', full_name: 'Ахметова Айгерим (оператор 102)', roles: ['call_taker'] };
const ARTICLE = {
  id: 'lost-bicycle-e2e',
  title_ru: 'Украли велосипед у подъезда: как подать заявление',
  title_kk: 'Кіреберістен велосипед ұрланды: арызды қалай беру керек',
  body_ru: 'Сообщите в полицию по номеру 102 или через приложение, укажите марку, цвет и серийный номер рамы велосипеда. Сохраните чек и фотографии.',
  body_kk: 'Полицияға 102 нөмірі немесе қосымша арқылы хабарлаңыз, велосипедтің маркасын, түсін және рамасының сериялық нөмірін көрсетіңіз. Чек пен фотосуреттерді сақтаңыз.',
  tags: 'велик, велосипед, рама',
};
const QUESTION = 'у меня украли велосипед возле подъезда, что делать';

let hub; // { central, node, until, stop }
let central;
let node;
let browser;
let page;
const errors = [];
const state = {};

/* The region operator's knowledge-base search: the article ids found for the question. */
async function regionFinds() {
  const found = await node.api('GET', `/kb/search?lang=ru&q=${encodeURIComponent(QUESTION)}`, undefined, state.node[OPERATOR.login]);
  return found.articles.map((a) => a.article_id);
}


describe('r19_kb_editor_page_in_headless_chromium: an editor publishes an article and the region answers with it', { timeout: 420_000 }, () => {
  before(async () => {
    hub = await startHubAndRegion('central-kb-e2e');
    ({ central, node } = hub);
    state.hub = await staff(central, []);
    state.node = await staff(node, [OPERATOR]);
    browser = await launchChromium(['--disable-quic']);
    page = await openPage(browser, 'kb', errors, { viewport: { width: 1600, height: 1000 } });
  });

  after(async () => {
    if (browser) await browser.close().catch(() => {});
    if (hub) await hub.stop();
  });

  it('the administrator creates a knowledge-base editor with their service in the accounts page', async () => {
    await page.goto(central.base + '/');
    await page.locator(tid('login-login')).fill('admin');
    await page.locator(tid('login-password')).fill(ADMIN_PASSWORD);
    await page.locator(tid('login-submit')).click();
    await page.locator(tid('acc-form')).waitFor();
    await page.locator(tid('acc-login')).fill(EDITOR.login);
    await page.locator(tid('acc-fullname')).fill(EDITOR.full_name);
    await page.locator(tid('acc-password')).fill(EDITOR_TEMP_PASSWORD);
    await page.locator(`${tid('acc-form')} ${tid('acc-role-kb_editor')}`).check();
    await page.locator(tid('acc-service')).fill(EDITOR.service);
    await page.locator(tid('acc-create')).click();
    const row = tid(`acc-row-${EDITOR.login}`);
    await page.locator(`${row} ${tid('acc-row-service')}`).waitFor();
    assert.equal(await textIn(page, `${row} ${tid('acc-row-service')}`), EDITOR.service);
    assert.deepEqual(await englishIn(page, '#app'), [], 'no English word on the accounts page');
    await page.locator(tid('logout')).click();
    await page.locator(tid('login-submit')).waitFor();
    // The editor's first login sets their own password (the kit's forced change, proved elsewhere).
    const temp = (await central.api('POST', '/auth/login', { login: EDITOR.login, password: EDITOR_TEMP_PASSWORD })).token;
    await central.api('POST', '/auth/password', { current_password: EDITOR_TEMP_PASSWORD, new_password: STAFF_PASSWORD }, temp);
  });

  it('r19: the editor sees their service\'s articles, another service\'s read-only, a bad draft refused, a new article published', async () => {
    await page.locator(tid('login-login')).fill(EDITOR.login);
    await page.locator(tid('login-password')).fill(STAFF_PASSWORD);
    await page.locator(tid('login-submit')).click();
    await page.locator(tid('kb-page')).waitFor();
    assert.equal(await textIn(page, tid('kb-service')), EDITOR.service);
    // The hub's demo articles of the local police, published.
    await page.locator(`${tid('kb-row')}[data-state="published"]`).first().waitFor();
    const mine = await page.locator(tid('kb-row')).count();
    assert.ok(mine >= 1, 'the demo articles of the service are listed');
    assert.deepEqual(await englishIn(page, '#app'), [], 'no English word on the knowledge-base page');
    await shot(page, 'central-kb-01-list-ru');

    // Another service's article: shown, not editable.
    await page.locator(tid('kb-mine-only')).uncheck();
    await hub.until('other services listed', async () => (await page.locator(tid('kb-row')).count()) > mine, 10_000);
    const all = await page.locator(tid('kb-row')).evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')));
    const articles = await central.api('GET', '/kb/articles', undefined,
      (await central.api('POST', '/auth/login', { login: EDITOR.login, password: STAFF_PASSWORD })).token);
    const other = articles.find((a) => a.competence !== EDITOR.service && all.includes(a.id));
    assert.ok(other, 'an article of another service');
    await page.locator(`${tid('kb-row')}[data-id="${other.id}"]`).click();
    await page.locator(tid('kb-readonly')).waitFor();
    assert.equal(await page.locator(tid('kb-title-ru')).isDisabled(), true);
    assert.equal(await page.locator(tid('kb-save')).isDisabled(), true);
    await page.locator(tid('kb-mine-only')).check();

    // A new article: without its Kazakh title it is refused, the field named, nothing stored.
    await page.locator(tid('kb-new')).click();
    await page.locator(tid('kb-id')).fill(ARTICLE.id);
    await page.locator(tid('kb-title-ru')).fill(ARTICLE.title_ru);
    await page.locator(tid('kb-body-ru')).fill(ARTICLE.body_ru);
    await page.locator(tid('kb-body-kk')).fill(ARTICLE.body_kk);
    await page.locator(tid('kb-tags')).fill(ARTICLE.tags);
    await page.locator(tid('kb-save')).click();
    await page.locator(`${tid('kb-error')}[data-err]`).waitFor();
    const refusal = await textIn(page, tid('kb-error'));
    assert.match(refusal, /Заголовок на казахском/, refusal);
    assert.deepEqual(await englishIn(page, tid('kb-editor')), [], 'the refusal is in Russian');
    assert.equal(await page.locator(`${tid('kb-row')}[data-id="${ARTICLE.id}"]`).count(), 0, 'nothing stored');

    await page.locator(tid('kb-title-kk')).fill(ARTICLE.title_kk);
    await page.locator(tid('kb-save')).click();
    const row = `${tid('kb-row')}[data-id="${ARTICLE.id}"]`;
    await page.locator(`${row}[data-state="draft"]`).waitFor();
    assert.equal(await textIn(page, `${row} ${tid('kb-title')}`), ARTICLE.title_ru);
    assert.equal(await textIn(page, tid('kb-editor-title')), 'Статья');
    // A draft is not answered with anywhere.
    assert.ok(!(await regionFinds()).includes(ARTICLE.id));

    await page.locator(tid('kb-publish')).click();
    await page.locator(`${row}[data-state="published"]`).waitFor();
    assert.equal(await textIn(page, `${row} ${tid('kb-version')}`), '1');
    await page.locator(`${tid('kb-versions')} ${tid('kb-version-row')}[data-version="1"]`).waitFor();
    await shot(page, 'central-kb-02-published-ru');
  });

  it('r19: the published article reaches the region, whose operators and bots find it; withdrawn, it is no longer found', async () => {
    const found = await hub.until('the article in the region\'s search', async () => {
      const ids = await regionFinds();
      return ids.includes(ARTICLE.id) ? ids : null;
    });
    assert.equal(found[0], ARTICLE.id, `the best answer to "${QUESTION}": ${found}`);

    const row = `${tid('kb-row')}[data-id="${ARTICLE.id}"]`;
    await page.locator(tid('kb-withdraw')).click(); // arms
    assert.equal(await textIn(page, tid('kb-withdraw')), 'Точно снять?');
    await page.locator(tid('kb-withdraw')).click();
    await page.locator(`${row}[data-state="withdrawn"]`).waitFor();
    await hub.until('the region stops finding it', async () => !(await regionFinds()).includes(ARTICLE.id));
  });

  it('the page in Kazakh: every word of the interface in Kazakh, the article\'s title in Kazakh', async () => {
    await page.locator(tid('lang-toggle')).click();
    await page.locator('html[lang="kk"]').waitFor();
    assert.match(await textIn(page, 'h2'), /^Білім базасы/);
    const row = `${tid('kb-row')}[data-id="${ARTICLE.id}"]`;
    assert.equal(await textIn(page, `${row} ${tid('kb-title')}`), ARTICLE.title_kk);
    assert.equal(await textIn(page, `${row} ${tid('kb-state')}`), 'Алынып тасталған');
    assert.deepEqual(await englishIn(page, '#app'), [], 'no English word in Kazakh');
    await shot(page, 'central-kb-03-kk');
    assert.deepEqual(errors, [], 'no page errors');
  });
});
