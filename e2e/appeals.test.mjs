// Citizens' appeals in the browser (issue 12), against the real node: the citizen's test page
// (/citizen/appeal, standing in for the "102" and "Закон и Порядок" apps) sends an appeal with a
// JPEG photo → the registrar sees the duplicate check with the line saying how far it reached
// (this region only, or every region) and the system's suggestions (the service preselected),
// registers it, sees the талон and prints it → the citizen's page shows the талон → the manager
// picks the officer from the service's officers by name → the officer drafts the answer in the
// appeal's language (with a table and the citizen's photo) → the manager downloads the draft as
// a Word document and approves it → the citizen's page offers the answer, which downloads.
// The downloaded answer is opened: word/document.xml has Times New Roman 14 pt (w:sz 28) and the
// answer's language (kk-KZ or ru-RU), the citizen's JPEG is in word/media byte for byte, and
// LibreOffice converts it to text with the officer's paragraphs (soffice is required when CI is
// set; without it and without CI the check is skipped with a note). Walked once for an appeal in
// Kazakh (the screens in Kazakh) and once in Russian; every screen is shot and checked for
// Latin-script words outside data in both languages. Screenshots: target/e2e-screenshots/appeals-*.png.
//
// Run: cd e2e && NODE_BIN=../target/debug/node CHROMIUM=$(command -v chromium) node --test appeals.test.mjs

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  startNode, stopNode, staff, launchChromium, openPage, login, tid, waitFor, SHOTS, STAFF_PASSWORD, STAFF_TEMP_PASSWORD,
  latinWords, setLang,
} from './harness.mjs';

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

/** Screenshots in both languages (the walk's language first, then back to it), no Latin word on either. */
async function view(page, name, lang, button = 'lang-toggle') {
  for (const l of [lang, lang === 'kk' ? 'ru' : 'kk', lang]) {
    await setLang(page, l, button);
    await page.screenshot({ path: path.join(SHOTS, `appeals-${name}-${l}.png`), fullPage: true });
    assert.deepEqual(await latinWords(page), [], `Latin-script words on ${name} (${l})`);
  }
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
/** Clicks what offers a file and returns {name, bytes} of the download. */
async function download(page, locator) {
  const [d] = await Promise.all([page.waitForEvent('download'), locator.click()]);
  const file = await d.path();
  return { name: d.suggestedFilename(), bytes: readFileSync(file) };
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

/** The parts of a DOCX (a ZIP) read with Python's zipfile: {name: Buffer}. */
function unzip(bytes) {
  const out = execFileSync('python3', ['-c', [
    'import base64, io, json, sys, zipfile',
    'z = zipfile.ZipFile(io.BytesIO(sys.stdin.buffer.read()))',
    'assert z.testzip() is None',
    'print(json.dumps({n: base64.b64encode(z.read(n)).decode() for n in z.namelist()}))',
  ].join('\n')], { input: bytes, maxBuffer: 64 * 1024 * 1024 });
  return Object.fromEntries(Object.entries(JSON.parse(out.toString())).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
}
function hasSoffice() {
  try { execFileSync('soffice', ['--version'], { stdio: 'pipe', timeout: 60_000 }); return true; } catch { return false; }
}
/** The DOCX as LibreOffice reads it, converted to plain text (null: soffice absent outside CI). */
function sofficeText(bytes, name) {
  if (!hasSoffice()) {
    assert.ok(!process.env.CI, 'soffice (LibreOffice) is required when CI is set');
    console.log(`# note: soffice not found; the answer ${name} was not opened with LibreOffice`);
    return null;
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'soffice-'));
  try {
    const file = path.join(dir, name);
    execFileSync('python3', ['-c', 'import sys; open(sys.argv[1], "wb").write(sys.stdin.buffer.read())', file], { input: bytes });
    execFileSync('soffice', [`-env:UserInstallation=file://${dir}/profile`, '--headless', '--convert-to', 'txt:Text', '--outdir', dir, file],
      { stdio: 'pipe', timeout: 120_000 });
    const txt = readdirSync(dir).find((f) => f.endsWith('.txt'));
    assert.ok(txt, `soffice converted ${name} to text`);
    return readFileSync(path.join(dir, txt), 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
/** The answer as a user's Word would open it: the font, the size, the language and the photo. */
function checkAnswerDocx(bytes, lang, photo, name) {
  assert.equal(bytes.subarray(0, 2).toString('latin1'), 'PK', 'the answer is a DOCX (a ZIP)');
  const parts = unzip(bytes);
  const doc = (parts['word/document.xml'] || Buffer.alloc(0)).toString('utf8');
  assert.ok(doc.length, 'word/document.xml is there');
  assert.match(doc, /<w:rFonts [^>]*w:ascii="Times New Roman"/, 'Times New Roman');
  assert.match(doc, /<w:sz w:val="28"\/>/, '14 pt (w:sz 28)');
  const tag = lang === 'kk' ? 'kk-KZ' : 'ru-RU';
  assert.match(doc, new RegExp(`<w:lang w:val="${tag}"/>`), `the answer's language ${tag}`);
  assert.doesNotMatch(doc, new RegExp(`<w:lang w:val="${lang === 'kk' ? 'ru-RU' : 'kk-KZ'}"/>`), 'no run in the other language');
  for (const line of ANSWER[lang].split('\n')) assert.ok(doc.includes(line), `the officer's paragraph is in the document: ${line}`);
  const media = Object.keys(parts).filter((n) => n.startsWith('word/media/'));
  assert.ok(media.some((n) => parts[n].equals(photo)), `the citizen's JPEG byte for byte among ${media.join(', ')}`);
  const text = sofficeText(bytes, name);
  if (text !== null) {
    for (const line of ANSWER[lang].split('\n')) assert.ok(text.includes(line), `LibreOffice reads the paragraph: ${line}`);
  }
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
  await citizen.screenshot({ path: path.join(SHOTS, `appeals-citizen-form-${lang}.png`), fullPage: true });
  assert.deepEqual(await latinWords(citizen), [], `Latin-script words on the citizen's form (${lang})`);
  await citizen.locator(tid('submit')).click();
  await citizen.locator(`${tid('status')}[data-status="received"]`).waitFor();
  const id = (await citizen.locator(tid('appeal-id')).textContent()).trim();
  assert.ok(id, 'the page shows the appeal id');
  await view(citizen, 'citizen-received', lang, 'lang');

  // The registrar: the duplicate check and how far it reached, the suggestions, the талон.
  const reg = await consolePage('reg_ap', lang);
  await openAppeal(reg, 'appeals_registrar', 'ap-reg-list', id);
  const scope = reg.locator(`${tid('ap-duplicates')} ${tid('ap-dups-scope-region')}, ${tid('ap-duplicates')} ${tid('ap-dups-scope-national')}`);
  await scope.first().waitFor();
  // No hub is configured: only this region's police appeals were checked, and the line says so.
  assert.equal(await scope.first().getAttribute('data-testid'), 'ap-dups-scope-region');
  assert.match(await scope.first().innerText(), lang === 'kk' ? /өңір/i : /регион/i, 'the scope line names the region');
  await reg.locator(`${tid('ap-duplicates')} ${tid('ap-dups-none')}, ${tid('ap-duplicates')} ${tid('ap-dup-row')}`).first().waitFor();
  // The suggestions: the service computed from the text is named and preselected; the registrar decides.
  const sugg = reg.locator(tid('ap-sugg-service'));
  await sugg.waitFor();
  const suggested = await sugg.getAttribute('data-code');
  assert.ok(suggested, 'a service is suggested');
  assert.equal(await reg.locator(tid('ap-reg-service')).inputValue(), suggested, 'the suggested service is preselected');
  assert.match(await sugg.innerText(), lang === 'kk' ? /ұсынды/ : /Предложено/);
  assert.equal(await reg.locator(tid('ap-attachment')).count(), 1, 'the photo is listed');
  const att = await download(reg, reg.locator(tid('ap-attachment')));
  assert.ok(att.bytes.equals(photo), 'the registrar downloads the citizen\'s photo as sent');
  assert.equal(att.name, 'photo.jpg');
  await view(reg, 'registrar', lang);
  await reg.locator(tid('ap-reg-service')).selectOption(service);
  await reg.locator(tid('ap-reg-tags')).fill(lang === 'kk' ? 'тыныштық, шу' : 'тишина, шум');
  await reg.locator(tid('ap-register')).click();
  await reg.locator(tid('ap-talon')).waitFor();
  await statusIs(reg, 'routed');
  const number = (await reg.locator(tid('ap-talon-number')).textContent()).trim();
  assert.match(number, /^[A-Z]+-\d{4}-\d{6}$/, 'the registration number');
  assert.match(await reg.locator(tid('ap-talon-by')).textContent(), /Регистратор Айжан Қасымова/);
  assert.match(await reg.locator(tid('ap-talon-at')).textContent(), /^\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}/);
  await view(reg, 'registrar-talon', lang);
  // Printing: the button asks the browser to print, and the print shows the талон alone.
  await reg.evaluate(() => { window.__printed = 0; window.print = () => { window.__printed++; }; });
  await reg.locator(tid('ap-talon-print')).click();
  assert.equal(await reg.evaluate(() => window.__printed), 1, 'the талон is sent to the printer');
  await reg.emulateMedia({ media: 'print' });
  const printed = await reg.evaluate(() => {
    const shown = (el) => !!el && el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
    return { talon: shown(document.querySelector('[data-testid="ap-talon-number"]')), tabs: shown(document.querySelector('[data-testid^="tab-"]')),
      history: shown(document.querySelector('[data-testid="ap-history"]')), button: shown(document.querySelector('[data-testid="ap-talon-print"]')) };
  });
  assert.deepEqual(printed, { talon: true, tabs: false, history: false, button: false }, 'the printout is the талон alone');
  await reg.screenshot({ path: path.join(SHOTS, `appeals-talon-print-${lang}.png`) });
  await reg.emulateMedia({ media: 'screen' });
  await reg.context().close();

  // The citizen's page shows the талон.
  await waitFor('the талон on the citizen page', async () => ({ ok: (await citizen.locator(tid('talon-number')).textContent()).trim() === number }));
  assert.match(await citizen.locator(tid('talon-by')).textContent(), /Регистратор Айжан Қасымова/);
  await view(citizen, 'citizen-talon', lang, 'lang');

  // The manager: the appeal waits for an officer; the officer is picked by name from the service's.
  const mgr = await consolePage('mgr_ap', lang);
  await openAppeal(mgr, 'appeals_manager', 'ap-mgr-incoming', id);
  const officer = mgr.locator(tid('ap-assign-officer'));
  assert.equal(await officer.evaluate((el) => el.tagName), 'SELECT', 'the officer is chosen from a list');
  const offered = await officer.locator('option').evaluateAll((os) => os.map((o) => [o.value, o.textContent]));
  assert.deepEqual(offered.filter(([v]) => v), [['off_ap', 'Сотрудник Дина Ахметова (off_ap)']], 'the service\'s officers by name');
  await view(mgr, 'manager', lang);
  await officer.selectOption('off_ap');
  await mgr.locator(tid('ap-assign')).click();
  await statusIs(mgr, 'in_work');
  assert.match(await mgr.locator(tid('ap-officer')).innerText(), /Сотрудник Дина Ахметова/, 'the officer by name');
  await mgr.locator(tid('ap-board-refresh')).click();
  await mgr.locator(`${tid('ap-board')} ${tid('appeal-row')}[data-id="${id}"]`).waitFor();
  await view(mgr, 'manager-board', lang);

  // The officer: the draft in the appeal's language, with a table and the citizen's photo.
  const off = await consolePage('off_ap', lang);
  await openAppeal(off, 'appeals_officer', 'ap-mine', id);
  assert.equal(await off.locator(tid('ap-draft-language')).inputValue(), lang, 'the answer\'s language defaults to the appeal\'s');
  await off.locator(tid('ap-draft-decision')).selectOption('explained');
  await off.locator(tid('ap-draft-template')).click();
  await off.locator(tid('ap-draft-text')).press('End');
  await off.locator(tid('ap-draft-text')).pressSequentially('\n' + ANSWER[lang]);
  await off.locator(tid('ap-table-on')).check();
  // Two of the three columns are used: the empty one is left out of the answer.
  const heads = off.locator(tid('ap-table-head'));
  await heads.nth(0).fill(lang === 'kk' ? 'Күні' : 'Дата');
  await heads.nth(1).fill(lang === 'kk' ? 'Шара' : 'Мера');
  await off.locator(tid('ap-table-cell')).nth(0).fill('01.06.2026');
  await off.locator(tid('ap-table-cell')).nth(1).fill(lang === 'kk' ? 'Түнгі рейд' : 'Ночной рейд');
  await off.locator(tid('ap-image-pick')).first().check();
  await view(off, 'officer-draft', lang);
  await off.locator(tid('ap-draft-submit')).click();
  await statusIs(off, 'on_approval');
  await view(off, 'officer-submitted', lang);
  await off.context().close();

  // The manager downloads the draft as the document it will be sent as, and approves it.
  await openAppeal(mgr, 'appeals_manager', 'ap-mgr-approval', id);
  const preview = await download(mgr, mgr.locator(tid('ap-draft-preview')));
  assert.equal(preview.name, `${number}-draft.docx`);
  assert.equal(preview.bytes.subarray(0, 2).toString('latin1'), 'PK', 'the draft preview is a DOCX');
  await view(mgr, 'manager-approval', lang);
  await mgr.locator(tid('ap-approve')).click();
  await statusIs(mgr, 'answered');
  const staffCopy = await download(mgr, mgr.locator(tid('ap-answer-link')));
  assert.equal(staffCopy.name, `${number}.docx`);
  await view(mgr, 'manager-answered', lang);
  await mgr.context().close();

  // The citizen's page: the answer, downloaded, as the manager's copy byte for byte.
  await citizen.locator(`${tid('answer-link')}:visible`).waitFor();
  await view(citizen, 'citizen-answered', lang, 'lang');
  const answer = await download(citizen, citizen.locator(tid('answer-link')));
  assert.equal(answer.name, `${number}.docx`);
  assert.ok(answer.bytes.equals(staffCopy.bytes), 'the citizen gets the answer as stored');
  checkAnswerDocx(answer.bytes, lang, photo, answer.name);
  await citizen.context().close();
  return { id, number, bytes: answer.bytes.length };
}

describe('appeals_console: citizen page → registrar → manager → officer → approved answer back on the citizen page', { timeout: 600_000 }, () => {
  before(async () => {
    node = await startNode({ name: 'appeals' });
    const boot = await staff(node, []);
    const ref = await node.api('GET', '/reference', undefined, boot.admin);
    assert.ok((ref.services || []).some((x) => x.code === 'local-police'), 'the reference has the local police service');
    service = 'local-police';
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
    await head.context().close();
  });

  it('r31_r39_the_accounting_cards_of_a_registered_appeal_with_field_8_edited_downloaded_and_printed', async () => {
    const lang = 'ru';
    const r = await fetch(node.base + '/citizen/v1/appeals', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({
      channel: 'app102_text', language: lang, text: 'Во дворе не работает освещение, прошу принять меры.',
      applicant: { kind: 'person', iin: validIin(4), surname: 'Ахметов', name: 'Серік', address: 'г. Астана, ул. Кенесары, 40' },
    }) });
    assert.equal(r.status, 201);
    const { appeal_id: id } = await r.json();
    const reg = await consolePage('reg_ap', lang);
    await openAppeal(reg, 'appeals_registrar', 'ap-reg-list', id);
    assert.equal(await reg.locator(tid('ap-forms')).count(), 0, 'no cards before registration');
    await reg.locator(tid('ap-reg-service')).selectOption(service);
    await reg.locator(tid('ap-register')).click();
    await reg.locator(tid('ap-talon')).waitFor();
    const number = (await reg.locator(tid('ap-talon-number')).textContent()).trim();
    // ОЛ-1 field 8 does not match the content: edited with a tag (004 p.4).
    await reg.locator(tid('fm-kind')).selectOption('proposal');
    await reg.locator(tid('fm-kind-tag')).fill('благоустройство');
    await reg.locator(tid('fm-kind-save')).click();
    await reg.locator(`${tid('ap-history')} [data-i18n="ap.hist.appeal.kind_corrected"]`).waitFor();
    await reg.locator(tid('ap-forms-show')).click();
    await reg.locator(tid('fm-ol1-1')).waitFor();
    assert.match(await reg.locator(tid('fm-ol1-1-f1')).textContent(), new RegExp(number));
    assert.match(await reg.locator(tid('fm-ol1-1-f8')).textContent(), /предложение.*благоустройство/);
    assert.match(await reg.locator(tid('fm-ol1-1-f9')).textContent(), /предложение/);
    assert.equal(await reg.locator(`${tid('fm-ol1-1')} ${tid('fm-incomplete')}`).count(), 1, 'the layout is not in the seeds: said');
    assert.equal(await reg.locator(tid('fm-register')).getAttribute('data-state'), 'not_configured', 'no register: shown');
    await reg.locator(tid('fm-z1-1')).waitFor();
    assert.ok(await reg.locator(`${tid('fm-z1-1-f3')}.fm-missing`).count(), 'З-1 field 3 is missing without the register');
    // З-1 typed by hand (no register connected).
    await reg.locator(tid('fm-z1-1-in3')).fill('Инженер');
    await reg.locator(tid('fm-z1-1-save')).click();
    await reg.locator(`${tid('ap-history')} [data-i18n="ap.hist.appeal.z1_filled"]`).waitFor();
    await reg.locator(tid('ap-forms-show')).click();
    await reg.locator(tid('fm-z1-1-f3')).waitFor();
    assert.equal(await reg.locator(`${tid('fm-z1-1-f3')}.fm-missing`).count(), 0, 'field 3 is filled');
    assert.match(await reg.locator(tid('fm-z1-1-f3')).textContent(), /Инженер.*вручную/);
    assert.equal(await reg.locator(`${tid('fm-entries')} tbody tr`).count(), 3, 'an entry per step (R39)');
    await view(reg, 'registrar-forms', lang);
    const xlsx = await download(reg, reg.locator(tid('ap-forms-xlsx')));
    assert.equal(xlsx.bytes.subarray(0, 2).toString(), 'PK');
    const csv = await download(reg, reg.locator(tid('ap-forms-csv')));
    assert.ok(csv.bytes.toString('utf8').startsWith('format,region,appeal_id'), 'the CSV with its header');
    // Printing: the cards alone.
    await reg.evaluate(() => { window.__printed = 0; window.print = () => { window.__printed++; }; });
    await reg.locator(tid('ap-forms-print')).click();
    assert.equal(await reg.evaluate(() => window.__printed), 1);
    await reg.emulateMedia({ media: 'print' });
    const printed = await reg.evaluate(() => {
      const shown = (el) => !!el && el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
      return { forms: shown(document.querySelector('[data-testid="fm-ol1-1"]')), history: shown(document.querySelector('[data-testid="ap-history"]')),
        button: shown(document.querySelector('[data-testid="ap-forms-print"]')) };
    });
    assert.deepEqual(printed, { forms: true, history: false, button: false }, 'the printout is the cards alone');
    await reg.emulateMedia({ media: 'screen' });
    await reg.context().close();
  });

  it('no page error', () => {
    assert.deepEqual(errors, []);
  });
});
