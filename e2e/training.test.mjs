// Training mode (`node serve --training`, seed 001 p.28.4): every screen of a training node says
// that its data are not real — the console's login and its views in Kazakh and in Russian, the
// citizen's pages — and the node says so to monitoring (/healthz, the header on every answer).
// The banner is the kit's (training.js), which the node adds to every page only in training mode.
//
// Run: cd e2e && NODE_BIN=../target/debug/node CHROMIUM=$(command -v chromium) node --test training.test.mjs

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import {
  startNode, stopNode, staff, launchChromium, openPage, login, tid, setLang, latinWords, shot,
} from './harness.mjs';

const BANNER = tid('training-banner');
const TEXT = {
  kk: 'ОҚУ РЕЖИМІ — деректер нақты емес',
  ru: 'УЧЕБНЫЙ РЕЖИМ — данные не настоящие',
};
const USERS = [{ login: 'ct_training', full_name: 'Ахметова Айгерим', roles: ['call_taker'] }];

let node;
let browser;
let page;
const errors = [];

/** The banner is shown at the top of the page, in both languages, and covers nothing. */
async function bannerShown(where) {
  const banner = page.locator(BANNER);
  await banner.waitFor();
  assert.equal(await banner.count(), 1, `${where}: one banner`);
  const text = await banner.textContent();
  for (const [lang, t] of Object.entries(TEXT)) assert.ok(text.includes(t), `${where}: the banner says «${t}» (${lang}): ${text}`);
  const box = await banner.boundingBox();
  assert.ok(box && box.y <= 1 && box.height > 10, `${where}: the banner is at the top: ${JSON.stringify(box)}`);
  assert.match(await page.title(), /^ОҚУ \/ УЧЕБНЫЙ — /, `${where}: the tab's title says so`);
}

/** In both languages: the banner stays, and no Latin-script word shows. */
async function bothLanguages(where) {
  for (const lang of ['kk', 'ru']) {
    await setLang(page, lang);
    await bannerShown(`${where} (${lang})`);
    assert.deepEqual(await latinWords(page), [], `Latin-script words on ${where} (${lang})`);
    await shot(page, `training-${where}-${lang}`);
  }
}

describe('training mode', { timeout: 180_000 }, () => {
  before(async () => {
    node = await startNode({ name: 'training', config: '[node]\ntraining = true' });
    await staff(node, USERS);
    browser = await launchChromium();
    page = await openPage(browser, 'training', errors);
  });

  after(async () => {
    if (browser) await browser.close();
    await stopNode(node);
  });

  it('runs on its own data directory and tells monitoring', async () => {
    assert.ok(existsSync(`${node.dataDir}-training/TRAINING`), 'the training directory beside the given one, marked');
    assert.ok(!existsSync(node.dataDir), 'the given (live) directory is left alone');
    const r = await fetch(`${node.base}/healthz`);
    assert.equal(r.headers.get('x-training-mode'), '1');
    assert.equal((await r.json()).training, true);
    const metrics = await (await fetch(`${node.base}/metrics`)).text();
    assert.match(metrics, /^node_training_mode 1$/m);
  });

  it('marks the console login in both languages', async () => {
    await page.goto(node.base + '/');
    await page.locator(tid('login-form')).waitFor();
    await bothLanguages('login');
    // The banner is in the flow: the login form is below it, not under it.
    const banner = await page.locator(BANNER).boundingBox();
    const form = await page.locator(tid('login-form')).boundingBox();
    assert.ok(form.y >= banner.y + banner.height, `the form is below the banner: ${JSON.stringify({ banner, form })}`);
  });

  it("marks the call taker's view in both languages", async () => {
    await setLang(page, 'ru');
    await login(page, node, 'ct_training');
    await bothLanguages('call-taker');
  });

  it("marks the citizen's pages", async () => {
    for (const p of ['/citizen', '/citizen/appeal', '/widget/demo']) {
      await page.goto(node.base + p);
      await bannerShown(p);
    }
    assert.deepEqual(errors, []);
  });
});
