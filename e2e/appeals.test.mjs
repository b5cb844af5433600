// Citizens' appeals in the browser (issue 12): the citizen's test page (/citizen/appeal, standing
// in for the "102" and "Закон и Порядок" apps) sends an appeal with a photo → the registrar sees
// the duplicate check, registers it and gets the талон → the citizen's page shows the талон → the
// manager assigns an officer → the officer drafts the answer in the appeal's language (with a table
// and the appeal's photo) → the manager previews and approves it → the citizen's page offers the
// answer, which downloads as a DOCX (a ZIP: it starts with "PK"). Walked once for an appeal in
// Kazakh (the screens in Kazakh) and once in Russian (the screens in Russian); every screen is
// checked for Latin-script words outside data. Screenshots: target/e2e-screenshots/appeals-*.png.
//
// Run: cd e2e && NODE_BIN=../target/debug/node node --test appeals.test.mjs

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  startNode, stopNode, staff, launchChromium, openPage, login, tid, waitFor, SHOTS, STAFF_PASSWORD, STAFF_TEMP_PASSWORD,
} from './harness.mjs';

// As the language scan (language.test.mjs): proper names written in Latin in both languages.
const ALLOWED = ['Telegram', 'SOS'];
const TEXT = {
  kk: 'Сәлеметсіз бе! Біздің аулада түнде көліктер жоғары дауыспен музыка қояды, тыныштық бұзылады. Шара қолдануыңызды сұраймын.',
  ru: 'Здравствуйте! Во дворе дома по ночам из машин громко играет музыка, нарушается тишина. Прошу принять меры.',
};
const ANSWER = {
  kk: 'Сіздің өтінішіңіз бойынша учаскелік полиция инспекторы тексеру жүргізді.\nАулада түнгі уақытта патрульдеу күшейтілді.',
  ru: 'По Вашему обращению участковым инспектором полиции проведена проверка.\nВо дворе усилено патрулирование в ночное время.',
};

/** A valid ИИН: 11 digits and the check digit (weights 1..11, then 3..11,1,2 when the sum mod 11 is 10). */
function iin(first11) {
  const d = first11.split('').map(Number);
  const sum = (w) => d.reduce((s, x, i) => s + x * w[i], 0) % 11;
  let c = sum([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  if (c === 10) c = sum([3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2]);
  assert.ok(c < 10, 'a prefix with a check digit');
  return first11 + c;
}
function validIin(seed) {
  for (let n = seed; ; n++) {
    try { return iin(String(90010130000 + n)); } catch { /* next */ }
  }
}

let node;
let browser;
let service;
const errors = [];
const USERS = [];

/* ------------------------------------------------------------------ helpers */

async function setLang(page, lang, button = 'lang-toggle') {
  const now = await page.evaluate(() => document.documentElement.getAttribute('lang'));
  if (now !== lang) await page.locator(tid(button)).first().click();
  await page.waitForFunction((l) => document.documentElement.getAttribute('lang') === l, lang);
}
/** Latin-script words a user sees outside translate="no" (the language scan's rule). */
async function latinWords(page) {
  return page.evaluate((allowed) => {
    const WORD = /[A-Za-z0-9_.-]*[A-Za-z]{2,}[A-Za-z0-9_.-]*/g;
    const out = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.parentElement;
      if (!el || el.closest('[translate="no"], script, style, datalist') || !el.getClientRects().length) continue;
      for (const w of n.nodeValue.match(WORD) || []) if (!allowed.includes(w)) out.push(`${w}: "${n.nodeValue.trim().slice(0, 80)}"`);
    }
    for (const el of document.querySelectorAll('[placeholder], [title]')) {
      if (el.closest('[translate="no"]') || !el.getClientRects().length) continue;
      for (const a of ['placeholder', 'title']) for (const w of (el.getAttribute(a) || '').match(WORD) || []) if (!allowed.includes(w)) out.push(`${w} (${a})`);
    }
    return out;
  }, ALLOWED);
}
/** A screenshot in the page's current language, and no Latin word on it. */
async function view(page, name, lang) {
  await page.screenshot({ path: path.join(SHOTS, `appeals-${name}-${lang}.png`), fullPage: true });
  assert.deepEqual(await latinWords(page), [], `Latin-script words on ${name} (${lang})`);
}
async function consolePage(who, lang) {
  const page = await openPage(browser, who, errors);
  await login(page, node, who);
  await setLang(page, lang);
  return page;
}
async function openAppeal(page, tab, listTid, id) {
  await page.locator(tid('tab-' + tab)).click();
  const row = page.locator(`${tid(listTid)} ${tid('appeal-row')}[data-id="${id}"]`);
  await waitFor(`appeal ${id} in ${listTid}`, async () => {
    if (await row.count()) return { ok: true };
    await page.locator(tid(listTid + '-refresh')).click();
    return { ok: false };
  });
  await row.click();
  await page.locator(`${tid('appeal-detail')} ${tid('ap-history')}`).waitFor();
}
async function statusIs(page, status) {
  await page.locator(`${tid('ap-status')}[data-status="${status}"]`).waitFor();
}
/** A small JPEG drawn by the browser (the photo the citizen attaches). */
async function jpeg(page) {
  const b64 = await page.evaluate(() => {
    const c = document.createElement('canvas');
    c.width = 64; c.height = 48;
    const g = c.getContext('2d');
    g.fillStyle = '#2a6'; g.fillRect(0, 0, 64, 48);
    g.fillStyle = '#fff'; g.fillRect(8, 8, 24, 16);
    return c.toDataURL('image/jpeg', 0.9).split(',')[1];
  });
  return Buffer.from(b64, 'base64');
}

/* ------------------------------------------------------------------ the walk */

async function walk(lang, seed) {
  // The citizen: the appeal with a photo, in the appeal's language.
  const citizen = await openPage(browser, 'citizen-' + lang, errors);
  await citizen.goto(node.base + '/citizen/appeal');
  await setLang(citizen, lang, 'lang');
  await citizen.locator(tid('language')).selectOption(lang);
  await citizen.locator(tid('iin')).fill(validIin(seed));
  await citizen.locator(tid('surname')).fill(lang === 'kk' ? 'Серікбаев' : 'Иванов');
  await citizen.locator(tid('name')).fill(lang === 'kk' ? 'Ерлан' : 'Пётр');
  await citizen.locator(tid('address')).fill('г. Астана, ул. Кенесары, д. 40, кв. ' + seed);
  await citizen.locator(tid('email')).fill(`citizen${seed}@example.kz`);
  await citizen.locator(tid('text')).fill(TEXT[lang]);
  const photo = await jpeg(citizen);
  await citizen.locator(tid('photo')).setInputFiles({ name: 'photo.jpg', mimeType: 'image/jpeg', buffer: photo });
  await view(citizen, 'citizen-form', lang);
  await citizen.locator(tid('submit')).click();
  await citizen.locator(`${tid('status')}[data-status="received"]`).waitFor();
  const id = (await citizen.locator(tid('appeal-id')).textContent()).trim();
  assert.ok(id, 'the page shows the appeal id');
  await view(citizen, 'citizen-received', lang);

  // The registrar: the duplicate check, the classification, the талон.
  const reg = await consolePage('reg_ap', lang);
  await openAppeal(reg, 'appeals_registrar', 'ap-reg-list', id);
  await reg.locator(`${tid('ap-duplicates')} .section-title`).waitFor();
  await waitFor('the duplicate check answered', async () => ({
    ok: (await reg.locator(`${tid('ap-dups-none')}, ${tid('ap-dup-row')}, ${tid('ap-dups-scope-region')}, ${tid('ap-dups-scope-national')}`).count()) > 0,
  }));
  assert.equal(await reg.locator(tid('ap-attachment')).count(), 1, 'the photo is listed');
  await view(reg, 'registrar', lang);
  await reg.locator(tid('ap-reg-service')).selectOption(service);
  await reg.locator(tid('ap-reg-tags')).fill(lang === 'kk' ? 'тыныштық, шу' : 'тишина, шум');
  await reg.locator(tid('ap-register')).click();
  await reg.locator(tid('ap-talon')).waitFor();
  const number = (await reg.locator(tid('ap-talon-number')).textContent()).trim();
  assert.match(number, /^[A-Z]+-\d{4}-\d{6}$/, 'the registration number');
  assert.match(await reg.locator(tid('ap-talon-by')).textContent(), /Регистратор/);
  await view(reg, 'registrar-talon', lang);
  await reg.emulateMedia({ media: 'print' });
  await reg.screenshot({ path: path.join(SHOTS, `appeals-talon-print-${lang}.png`) });
  await reg.emulateMedia({ media: 'screen' });
  await reg.context().close();

  // The citizen's page shows the талон.
  await waitFor('the талон on the citizen page', async () => ({ ok: (await citizen.locator(tid('talon-number')).textContent()).trim() === number }));
  assert.match(await citizen.locator(tid('talon-by')).textContent(), /Регистратор/);
  await view(citizen, 'citizen-talon', lang);

  // The manager: the appeal waits for an officer; assign.
  const mgr = await consolePage('mgr_ap', lang);
  await openAppeal(mgr, 'appeals_manager', 'ap-mgr-incoming', id);
  await view(mgr, 'manager', lang);
  const officer = mgr.locator(tid('ap-assign-officer'));
  if ((await officer.evaluate((el) => el.tagName)) === 'SELECT') await officer.selectOption('off_ap');
  else await officer.fill('off_ap');
  await mgr.locator(tid('ap-assign')).click();
  await statusIs(mgr, 'in_work');
  await mgr.locator(`${tid('ap-board')} ${tid('appeal-row')}[data-id="${id}"]`).waitFor();
  await view(mgr, 'manager-board', lang);

  // The officer: the draft in the appeal's language, with a table and the appeal's photo.
  const off = await consolePage('off_ap', lang);
  await openAppeal(off, 'appeals_officer', 'ap-mine', id);
  assert.equal(await off.locator(tid('ap-draft-language')).inputValue(), lang, 'the answer\'s language defaults to the appeal\'s');
  await off.locator(tid('ap-draft-decision')).selectOption('explained');
  await off.locator(tid('ap-draft-template')).click();
  await off.locator(tid('ap-draft-text')).press('End');
  await off.locator(tid('ap-draft-text')).pressSequentially('\n' + ANSWER[lang]);
  await off.locator(tid('ap-table-on')).check();
  const heads = off.locator(tid('ap-table-head'));
  await heads.nth(0).fill(lang === 'kk' ? 'Күні' : 'Дата');
  await heads.nth(1).fill(lang === 'kk' ? 'Шара' : 'Мера');
  await off.locator(tid('ap-table-cell')).nth(0).fill('01.06.2026');
  await off.locator(tid('ap-table-cell')).nth(1).fill(lang === 'kk' ? 'Рейд' : 'Рейд');
  await off.locator(tid('ap-image-pick')).first().check();
  await view(off, 'officer-draft', lang);
  await off.locator(tid('ap-draft-submit')).click();
  await statusIs(off, 'on_approval');
  await off.context().close();

  // The manager previews the draft and approves it.
  await openAppeal(mgr, 'appeals_manager', 'ap-mgr-approval', id);
  const preview = await mgr.locator(tid('ap-draft-preview')).getAttribute('href');
  const head = await mgr.evaluate((href) => fetch(href).then((r) => r.arrayBuffer()).then((b) => String.fromCharCode.apply(null, new Uint8Array(b.slice(0, 2)))), preview);
  assert.equal(head, 'PK', 'the draft preview is a DOCX');
  await view(mgr, 'manager-approval', lang);
  await mgr.locator(tid('ap-approve')).click();
  await statusIs(mgr, 'answered');
  await mgr.locator(tid('ap-answer-link')).waitFor();
  await view(mgr, 'manager-answered', lang);
  await mgr.context().close();

  // The citizen's page: the answer, downloaded.
  await citizen.locator(`${tid('answer-link')}:visible`).waitFor();
  await view(citizen, 'citizen-answered', lang);
  const [download] = await Promise.all([citizen.waitForEvent('download'), citizen.locator(tid('answer-link')).click()]);
  const file = await download.path();
  const bytes = readFileSync(file);
  assert.equal(bytes.subarray(0, 2).toString('latin1'), 'PK', 'the answer is a DOCX');
  assert.ok(bytes.length > 1000, `the answer has content (${bytes.length} bytes)`);
  await citizen.context().close();
  return { id, number, bytes: bytes.length };
}

describe('appeals_console: citizen page → registrar → manager → officer → approved answer back on the citizen page', { timeout: 600_000 }, () => {
  before(async () => {
    node = await startNode({ name: 'appeals' });
    const boot = await staff(node, []);
    const ref = await node.api('GET', '/reference', undefined, boot.admin);
    assert.ok((ref.services || []).length, 'the reference has services');
    service = ref.services[0].code;
    USERS.push(
      { login: 'reg_ap', full_name: 'Регистратор Айжан Қасымова', roles: ['registrar'] },
      { login: 'mgr_ap', full_name: 'Руководитель Марат Сейітов', roles: ['appeal_manager'], service },
      { login: 'off_ap', full_name: 'Сотрудник Дина Ахметова', roles: ['appeal_officer'], service },
      { login: 'head_ap', full_name: 'Начальник Ерлан Жақсылықов', roles: ['head'], service },
    );
    // The service is known only now: the accounts are created and activated as staff() does.
    for (const u of USERS) {
      await node.api('POST', '/accounts', { ...u, password: STAFF_TEMP_PASSWORD }, boot.admin);
      const tmp = (await node.api('POST', '/auth/login', { login: u.login, password: STAFF_TEMP_PASSWORD })).token;
      await node.api('POST', '/auth/password', { current_password: STAFF_TEMP_PASSWORD, new_password: STAFF_PASSWORD }, tmp);
    }
    browser = await launchChromium();
  });
  after(async () => {
    if (browser) await browser.close().catch(() => {});
    if (process.env.E2E_SHOW_LOGS && node) console.log(node.logs.slice(-4000));
    await stopNode(node);
  });

  it('r11_r12_an_appeal_in_kazakh_is_answered_in_kazakh_and_the_citizen_downloads_the_answer', async () => {
    const r = await walk('kk', 1);
    assert.ok(r.number.length > 0);
  });

  it('r11_r12_an_appeal_in_russian_is_answered_in_russian_and_the_citizen_downloads_the_answer', async () => {
    const r = await walk('ru', 2);
    assert.ok(r.number.length > 0);
  });

  it('r30_r14_r29_r11_transfer_and_its_cancellation_kui_split_and_the_heads_extension', async () => {
    const lang = 'ru';
    const r = await fetch(node.base + '/citizen/v1/appeals', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({
      channel: 'zakon_poryadok_text', language: lang, text: 'Сосед угрожал мне ножом, а также во дворе не вывозят мусор.',
      applicant: { kind: 'person', iin: validIin(3), surname: 'Петрова', name: 'Анна', address: 'г. Астана, ул. Сыганак, 5', phone: '+77015550011' },
    }) });
    assert.equal(r.status, 201);
    const { appeal_id: id } = await r.json();

    // R30: a transfer (ОЛ-2), cancelled within its window; then the appeal is registered with crime signs.
    const reg = await consolePage('reg_ap', lang);
    await openAppeal(reg, 'appeals_registrar', 'ap-reg-list', id);
    await reg.locator(tid('ap-transfer-system')).fill('Система электронного документооборота');
    await reg.locator(tid('ap-transfer-reason')).fill('Служебный документ');
    await reg.locator(tid('ap-transfer')).click();
    await reg.locator(tid('ap-transfer-cancel')).waitFor();
    await view(reg, 'registrar-transfer', lang);
    await reg.locator(tid('ap-transfer-cancel-reason')).fill('Ошибочный перенос');
    await reg.locator(tid('ap-transfer-cancel')).click();
    await reg.locator(tid('ap-transfer-cancelled')).waitFor();
    await statusIs(reg, 'received');
    await reg.locator(tid('ap-reg-crime')).check();
    await reg.locator(tid('ap-reg-service')).selectOption(service);
    await reg.locator(tid('ap-register')).click();
    await reg.locator(tid('ap-talon')).waitFor();
    const number = (await reg.locator(tid('ap-talon-number')).textContent()).trim();
    await reg.context().close();

    // R14: КУИ within 24 h of registration; R29: a part outside competence gets `…/1`.
    const mgr = await consolePage('mgr_ap', lang);
    await openAppeal(mgr, 'appeals_manager', 'ap-mgr-incoming', id);
    await mgr.locator(tid('ap-kui-due-at')).waitFor();
    await mgr.locator(tid('ap-kui-number')).fill('261100031000777');
    await mgr.locator(tid('ap-kui')).click();
    await mgr.locator(`${tid('ap-kui')} [translate="no"]`).waitFor();
    await mgr.locator(tid('ap-split-question')).fill('Вывоз мусора во дворе');
    const body = mgr.locator(tid('ap-split-body'));
    if ((await body.evaluate((el) => el.tagName)) === 'SELECT') await body.selectOption({ index: 1 });
    else await body.fill('Акимат');
    await mgr.locator(tid('ap-split')).click();
    await mgr.locator(`${tid('ap-part')}[data-number="${number}/1"]`).waitFor();
    await view(mgr, 'manager-kui-split', lang);
    await mgr.context().close();

    // R11: the head extends the term with a reason, then marks the applicant told.
    const head = await consolePage('head_ap', lang);
    await openAppeal(head, 'appeals_manager', 'ap-mgr-incoming', id);
    const until = await head.evaluate(() => { const d = new Date(Date.now() + 40 * 864e5); return d.toISOString().slice(0, 10); });
    await head.locator(tid('ap-extend-until')).fill(until);
    await head.locator(tid('ap-extend-reason')).fill('Требуется запрос в другие органы');
    await head.locator(tid('ap-extend')).click();
    await head.locator(tid('ap-extension')).waitFor();
    await head.locator(tid('ap-notice')).click();
    await head.locator(tid('ap-notice-sent')).waitFor();
    await view(head, 'head-extension', lang);
    await setLang(head, 'kk');
    await view(head, 'head-extension', 'kk');
    await head.context().close();
  });

  it('no page error', () => {
    assert.deepEqual(errors, []);
  });
});
