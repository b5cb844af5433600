// Every text a user sees is Kazakh or Russian (issue 11: "no English reaches a user; the server
// sends codes and parameters, the browser renders them"). A node with cards in every state
// (created, edited, sent, dispatched to an address with a warning, noted, forwarded and
// registered in КУИ, closed, cancelled) replicates to a central hub; every role logs into the
// console, every tab in the tab bar ([data-testid^="tab-"], so tabs added later are walked too)
// and every card's detail with its timeline is scanned in both languages — also the appeals
// roles (registrar, head, appeal_manager, appeal_officer) with citizens' appeals in every state
// (received, routed with crime signs and КУИ, in work, on approval, answered, transferred,
// extended) and every appeal's detail with its history — then HQ's dashboard,
// a card's detail and HQ's accounts. A scan fails on any Latin-script word in the visible text
// (text nodes, placeholder and title attributes, the page title) outside elements marked
// translate="no" (data: card numbers, logins, call signs, phones, addresses, typed text), except
// the proper names of ALLOWED. It also shows a server error in the console, switches the
// language and checks the error's text followed. Screenshots: target/e2e-screenshots/lang-*.png.
//
// Run: cd e2e && NODE_BIN=../target/debug/node CENTRAL_BIN=../target/debug/central \
//      PROVISIONING_BIN=../target/debug/provisioning CHROMIUM=$(command -v chromium) node --test language.test.mjs

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';
import {
  NODE_BIN, ADMIN_TEMP_PASSWORD, ADMIN_PASSWORD, STAFF_PASSWORD, STAFF_TEMP_PASSWORD, SHOTS,
  startProcess, stopProcess, staff, launchChromium, openPage, login, tid, waitFor,
} from './harness.mjs';
import { freePort, tail } from './lib.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const bin = (env, def) => (process.env[env] ? path.resolve(process.cwd(), process.env[env]) : path.resolve(HERE, def));
const CENTRAL_BIN = bin('CENTRAL_BIN', '../target/debug/central');
const PROVISIONING_BIN = bin('PROVISIONING_BIN', '../target/debug/provisioning');
const CENTRAL_ADMIN_TEMP = 'e2e-Central-Temp0rary-2026';
const CENTRAL_ADMIN = 'e2e-Central-Adm1n-2026';
const REPLICATION_DEADLINE_MS = 90_000;

/* Latin-script words a user may see: proper names written in Latin in both languages.
   - Telegram: the messenger's name (a channel of appeals, R01), not translated in kk or ru;
   - SOS: the alarm button's name on the citizens' app ("Тревожная кнопка SOS", R10);
   - Opus, VP8: the codecs a browser must support (the error err.unsupported_codecs names them). */
const ALLOWED = ['Telegram', 'SOS', 'Opus', 'VP8'];

const WARNINGS_CSV = [
  'address,person,birth_year,flags,note',
  'пр. Республики 24 кв. 5,Петров Пётр Петрович,1979,registered_weapon;criminal_record,охотничье ружьё ИЖ-27',
].join('\n') + '\n';

const USERS = [
  { login: 'ct_lang', full_name: 'Ахметова Айгерим', roles: ['call_taker'] },
  { login: 'disp_lang', full_name: 'Сергеев Пётр', roles: ['dispatcher'] },
  { login: 'duty_lang', full_name: 'Нұрланов Ерлан', roles: ['duty_officer'] },
  { login: 'sup_lang', full_name: 'Иванова Мария', roles: ['supervisor'] },
  { login: 'pat_lang', full_name: 'Серіков Арман', roles: ['patrol'] },
  // Citizens' appeals (issue 12): the local police service of the node's reference.
  { login: 'reg_lang', full_name: 'Қасымова Айжан', roles: ['registrar'] },
  { login: 'head_lang', full_name: 'Жақсылықов Ерлан', roles: ['head'], service: 'local-police' },
  { login: 'mgr_lang', full_name: 'Сейітов Марат', roles: ['appeal_manager'], service: 'local-police' },
  { login: 'off_lang', full_name: 'Ахметова Дина', roles: ['appeal_officer'], service: 'local-police' },
];

let root;
let central;
let node;
let browser;
let tokens;
const errors = [];
const state = { cards: {} };

function freeUdpPort() {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket('udp4');
    sock.on('error', reject);
    sock.bind(0, '127.0.0.1', () => { const { port } = sock.address(); sock.close(() => resolve(port)); });
  });
}
function run(binPath, args, env = {}) {
  try {
    return execFileSync(binPath, args, { cwd: root, stdio: 'pipe', timeout: 60_000, env: { ...process.env, ...env } }).toString();
  } catch (e) {
    throw new Error(`${path.basename(binPath)} ${args.join(' ')} failed: ${e.stderr || e.message}`);
  }
}
/* ------------------------------------------------------------------ the scan */

/** Latin-script words in what the page shows, outside translate="no", with where they are. */
async function latinWords(page) {
  return page.evaluate((allowed) => {
    const WORD = /[A-Za-z0-9_.-]*[A-Za-z]{2,}[A-Za-z0-9_.-]*/g;
    const out = [];
    const data = (el) => el.closest('[translate="no"], script, style, noscript, template');
    const visible = (el) => {
      if (el.tagName === 'OPTION' || el.tagName === 'OPTGROUP') el = el.closest('select') || el;
      if (!el.getClientRects().length) return false;
      return getComputedStyle(el).visibility !== 'hidden';
    };
    const where = (el) => {
      const t = el.closest('[data-testid]');
      return el.tagName.toLowerCase() + (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ')[0] : '') + (t ? ' in ' + t.getAttribute('data-testid') : '');
    };
    const check = (text, el, what) => {
      for (const w of String(text).match(WORD) || []) {
        if (!allowed.includes(w)) out.push(`${w} — ${what} of ${where(el)}: "${String(text).trim().slice(0, 100)}"`);
      }
    };
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.parentElement;
      if (!el || data(el) || !visible(el)) continue;
      check(n.nodeValue, el, 'text');
    }
    for (const el of document.querySelectorAll('[placeholder], [title], [aria-label]')) {
      if (data(el) || !visible(el)) continue;
      for (const a of ['placeholder', 'title', 'aria-label']) if (el.hasAttribute(a)) check(el.getAttribute(a), el, a);
    }
    check(document.title, document.body, 'page title');
    return [...new Set(out)];
  }, ALLOWED);
}

/** Switches the page to `lang` with the header's button (a no-op when it is already there). */
async function setLang(page, lang) {
  const now = await page.evaluate(() => document.documentElement.getAttribute('lang'));
  // A drawer may cover the header: the button is pressed, not clicked at a point.
  if (now !== lang) await page.locator(tid('lang-toggle')).first().dispatchEvent('click');
  await page.waitForFunction((l) => document.documentElement.getAttribute('lang') === l, lang);
}

/** Scans the page in ru and kk, saving lang-<view>-<lang>.png; collects findings by view. */
async function scanBoth(page, view, findings) {
  for (const lang of ['ru', 'kk']) {
    await setLang(page, lang);
    await page.screenshot({ path: path.join(SHOTS, `lang-${view}-${lang}.png`), fullPage: false });
    for (const w of await latinWords(page)) findings.push(`[${view} ${lang}] ${w}`);
  }
  await setLang(page, 'ru');
}

/* ------------------------------------------------------------------ the data */

async function makeCards() {
  const ct = tokens.ct_lang, disp = tokens.disp_lang, duty = tokens.duty_lang;
  const ref = await node.api('GET', '/reference', undefined, ct);
  const units = await node.api('GET', '/units', undefined, disp);
  const cat = ref.categories[0].code;
  const create = (extra) => node.api('POST', '/cards', {
    channel: 'app102_call',
    caller: { name: 'Жанибеков Нурлан', phone: '+77011234567', language: 'ru' },
    description: 'Шум во дворе, просят проверить.', category: cat, ...extra,
  }, ct);
  const astana = { lat: 51.128207, lon: 71.43042 };
  const send = (c) => node.api('POST', `/cards/${c.id}/send-for-processing`, undefined, ct);
  const patrols = units.filter((u) => u.kind === 'patrol');

  state.cards.created = await create({ channel: 'telegram', location: { ...astana, address: 'ул. Кенесары 10' } });
  await node.api('PATCH', `/cards/${state.cards.created.id}`, { description: 'Шум во дворе; уточнено: двое мужчин.' }, ct);

  state.cards.sent = await create({ channel: 'sos_video', location: { ...astana, address: 'пр. Абая 5' } });
  await send(state.cards.sent);
  await node.api('POST', `/cards/${state.cards.sent.id}/notes`, { text: 'Заявитель перезвонил, ждёт у подъезда.' }, disp);

  // The address has a record in the warnings registry: the dispatch writes warning_issued.
  state.cards.warned = await create({ location: { ...astana, address: 'г. Астана, пр. Республики, 24, кв. 5' } });
  await send(state.cards.warned);
  await node.api('POST', `/cards/${state.cards.warned.id}/dispatch`, { unit_id: patrols[0].id }, disp);

  state.cards.closed = await create({ location: { ...astana, address: 'ул. Сарыарка 3' } });
  await send(state.cards.closed);
  await node.api('POST', `/cards/${state.cards.closed.id}/dispatch`, { unit_id: patrols[1].id }, disp);
  for (const step of ['en-route', 'on-scene']) {
    await node.api('POST', `/cards/${state.cards.closed.id}/units/${patrols[1].id}/${step}`, undefined, disp);
  }
  await node.api('POST', `/cards/${state.cards.closed.id}/report`, { text: 'Конфликт урегулирован на месте.' }, disp);
  await node.api('POST', `/cards/${state.cards.closed.id}/close`, { report: 'Отработано, нарушений нет.' }, disp);

  state.cards.kui = await create({ location: { ...astana, address: 'ул. Бейбітшілік 14' } });
  await send(state.cards.kui);
  await node.api('POST', `/cards/${state.cards.kui.id}/forward`, { duty_unit: ref.duty_units[0].code }, disp);
  await node.api('POST', `/cards/${state.cards.kui.id}/kui`, { number: '261100031000123' }, duty);

  state.cards.cancelled = await create({ location: { ...astana, address: 'ул. Иманова 7' } });
  await node.api('POST', `/cards/${state.cards.cancelled.id}/cancel`, { reason: 'Ошибочный вызов, заявитель отказался.' }, ct);

  // The patrol account acts for a unit.
  await node.api('PUT', '/patrols/pat_lang/unit', { unit_id: patrols[2].id }, disp).catch(() => null);
}

/** Citizens' appeals in every state a tab lists, through the citizens' intake and the staff API. */
async function makeAppeals() {
  const reg = tokens.reg_lang, mgr = tokens.mgr_lang, off = tokens.off_lang, head = tokens.head_lang;
  const submit = async (text, lang, extra = {}) => {
    const r = await fetch(node.base + '/citizen/v1/appeals', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({
      channel: 'app102_text', language: lang, text,
      applicant: { kind: 'person', surname: 'Жанибеков', name: 'Нурлан', address: 'г. Астана, ул. Кенесары, 40', phone: '+77011234567' }, ...extra,
    }) });
    assert.equal(r.status, 201, await r.clone().text());
    return (await r.json()).appeal_id;
  };
  const step = (id, what, body, token) => node.api('POST', `/appeals/${id}/${what}`, body, token);
  const register = (id, extra = {}) => step(id, 'register', { kind: 'appeal', tags: ['шум'], service: 'local-police', ...extra }, reg);
  const draft = { decision: 'explained', language: 'ru', paragraphs: ['По Вашему обращению проведена проверка.'],
    table: { header: ['Дата', 'Мера'], rows: [['01.06.2026', 'Рейд']] } };

  await submit('Во дворе по ночам громко играет музыка, прошу принять меры.', 'ru');
  await submit('Біздің аулада түнде көліктер шу шығарады, шара қолдануыңызды сұраймын.', 'kk', { anonymous: true, applicant: undefined });
  const transferred = await submit('Прошу выдать справку об отсутствии судимости.', 'ru');
  await step(transferred, 'transfer', { system: 'Система электронного документооборота', reason: 'Служебный документ' }, reg);

  const crime = await submit('Сосед угрожал мне ножом, а также во дворе не вывозят мусор.', 'ru');
  await register(crime, { crime_signs: true });
  await step(crime, 'kui', { number: '261100031000555' }, mgr);
  await step(crime, 'split', { parts: [{ question: 'Вывоз мусора во дворе', body: 'akimat' }] }, mgr);
  const until = new Date(Date.now() + 40 * 864e5).toISOString().slice(0, 10);
  await step(crime, 'extend', { until, reason: 'Требуется запрос в другие органы' }, head);

  const inWork = await submit('На перекрёстке не работает светофор уже неделю.', 'ru');
  await register(inWork);
  await step(inWork, 'assign', { officer: 'off_lang' }, mgr);
  await step(inWork, 'notes', { text: 'Запрошены сведения у дорожной полиции.' }, off);

  const onApproval = await submit('Во дворе разбит фонарь, темно, прошу разобраться.', 'ru');
  await register(onApproval);
  await step(onApproval, 'assign', { officer: 'off_lang' }, mgr);
  await step(onApproval, 'draft', draft, off);

  const answered = await submit('Ночью у магазина собирается шумная компания.', 'ru');
  await register(answered);
  await step(answered, 'assign', { officer: 'off_lang' }, mgr);
  await step(answered, 'draft', draft, off);
  await step(answered, 'return', { reason: 'Уточните сроки проверки' }, mgr);
  await step(answered, 'draft', draft, off);
  await step(answered, 'approve', undefined, mgr);
}

/* ------------------------------------------------------------------ the test */

describe('r17_ui_in_kazakh_and_russian_only: no Latin-script word outside data in the console and HQ', { timeout: 900_000 }, () => {
  before(async () => {
    for (const [name, p] of [['central', CENTRAL_BIN], ['node', NODE_BIN], ['provisioning', PROVISIONING_BIN]]) {
      assert.ok(existsSync(p), `${name} binary not found at ${p}`);
    }
    root = mkdtempSync(path.join(tmpdir(), 'lang-e2e-'));
    const httpPort = await freePort();
    const quicPort = await freeUdpPort();
    const nodePort = await freePort();
    run(PROVISIONING_BIN, ['init-ca', '--dir', 'ca']);
    run(PROVISIONING_BIN, ['add-central', '--ca', 'ca', '--name', 'central', '--dns', 'localhost', '--out', 'central-bundle']);
    run(PROVISIONING_BIN, ['add-region', '--ca', 'ca', '--id', 'AST', '--name-kk', 'Астана қаласы ПД', '--name-ru', 'ДП города Астаны',
      '--central', `localhost:${quicPort}`, '--out', 'ast-bundle']);
    const plain = path.join(root, 'plain.toml');
    const nodeConfig = path.join(root, 'node.toml');
    const udpMin = 30000 + (nodePort % 40) * 250;
    writeFileSync(plain, '[https]\nenabled = false\n');
    writeFileSync(nodeConfig, `[https]\nenabled = false\n[calls]\nudp_port_min = ${udpMin}\nudp_port_max = ${udpMin + 199}\n`);
    const dataDir = path.join(root, 'node-data');
    writeFileSync(path.join(root, 'warnings.csv'), WARNINGS_CSV);
    run(NODE_BIN, ['import-warnings', '--data', dataDir, path.join(root, 'warnings.csv')]);
    run(NODE_BIN, ['admin', '--data', dataDir, 'set-password', '--login', 'admin', '--temporary'], { NODE_NEW_PASSWORD: ADMIN_TEMP_PASSWORD });
    central = await startProcess('central', CENTRAL_BIN, [
      'serve', '--bundle', path.join(root, 'central-bundle'), '--config', plain, '--data', path.join(root, 'central-data'),
      '--listen', `127.0.0.1:${httpPort}`, '--quic-listen', `127.0.0.1:${quicPort}`,
    ], { CENTRAL_ADMIN_PASSWORD: CENTRAL_ADMIN_TEMP }, `http://127.0.0.1:${httpPort}`, { cwd: root });
    node = await startProcess('node', NODE_BIN, [
      'serve', '--bundle', path.join(root, 'ast-bundle'), '--config', nodeConfig, '--data', dataDir, '--listen', `127.0.0.1:${nodePort}`,
    ], { NODE_ADMIN_PASSWORD: ADMIN_TEMP_PASSWORD }, `http://127.0.0.1:${nodePort}`, { cwd: root });
    tokens = await staff(node, USERS);
    await makeCards();
    await makeAppeals();
    browser = await launchChromium(['--disable-quic']);
  });

  after(async () => {
    if (browser) await browser.close().catch(() => {});
    if (process.env.E2E_SHOW_LOGS) console.log(`--- node ---\n${tail(node ? node.logs : '')}\n--- central ---\n${tail(central ? central.logs : '')}`);
    await stopProcess(node).catch(() => {});
    await stopProcess(central).catch(() => {});
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('serves an icon at /favicon.ico on the node and the hub, named by both pages', async () => {
    for (const srv of [node, central]) {
      const r = await fetch(srv.base + '/favicon.ico');
      assert.equal(r.status, 200, `${srv.name} /favicon.ico`);
      assert.match(r.headers.get('content-type'), /^image\//);
      assert.match(await r.text(), /<svg/);
      const index = await (await fetch(srv.base + '/')).text();
      assert.match(index, /<link rel="icon" href="\/kit\/favicon\.svg"/);
    }
  });

  it('console: a server error is told in the user\'s language and follows a language switch', async () => {
    const page = await openPage(browser, 'admin', errors);
    await login(page, node, 'admin', ADMIN_PASSWORD);
    await page.locator(tid('tab-admin')).click();
    await setLang(page, 'ru');
    // An account with a login that exists: the server answers login_taken on the field login.
    await page.locator(tid('acc-login')).fill('ct_lang');
    await page.locator(tid('acc-fullname')).fill('Повтор Логина');
    await page.locator(tid('acc-password')).fill(STAFF_TEMP_PASSWORD);
    await page.locator(tid('acc-role-call_taker')).check();
    await page.locator(tid('acc-create')).click();
    const box = page.locator(tid('acc-error'));
    await box.waitFor();
    const ru = (await box.innerText()).trim();
    assert.match(ru, /Логин уже занят/, ru);
    assert.doesNotMatch(ru, /[A-Za-z]{2,}/, `no English in "${ru}"`);
    assert.match(await box.getAttribute('data-detail'), /login_taken/, 'the server\'s code kept for support');
    await page.screenshot({ path: path.join(SHOTS, 'lang-error-ru.png') });
    await setLang(page, 'kk');
    await waitFor('the error in Kazakh', async () => {
      const kk = (await box.innerText()).trim();
      return { ok: kk !== ru && /Логин бос емес/.test(kk) && !/[A-Za-z]{2,}/.test(kk), kk };
    });
    await page.screenshot({ path: path.join(SHOTS, 'lang-error-kk.png') });
    await setLang(page, 'ru');
    await page.context().close();
  });

  it('console: every tab of every role and every card\'s detail, in ru and kk', async () => {
    const findings = [];
    const loginPage = await openPage(browser, 'login', errors);
    await loginPage.goto(node.base + '/');
    await loginPage.locator(tid('login-form')).waitFor();
    await scanBoth(loginPage, 'console-login', findings);
    await loginPage.context().close();

    const roles = [['admin', 'admin', ADMIN_PASSWORD], ...USERS.map((u) => [u.roles[0], u.login, STAFF_PASSWORD])];
    const opened = [];
    for (const [role, who, password] of roles) {
      const page = await openPage(browser, role, errors);
      await login(page, node, who, password);
      const tabs = await page.$$eval('[data-testid^="tab-"]', (els) => els.map((e) => e.getAttribute('data-testid')));
      assert.ok(tabs.length || role === 'patrol', `${role} has tabs`);
      for (const tab of tabs) {
        const key = tab.slice(4);
        await page.locator(tid(tab)).click();
        const panel = page.locator(tid('panel-' + key));
        if (await panel.count()) await panel.waitFor();
        await scanBoth(page, `${role}-${key}`, findings);
        // Every card this view lists: open its detail (timeline, units, warnings, КУИ).
        const rows = page.locator(`${tid('panel-' + key)} ${tid('card-row')}`);
        const n = Math.min(await rows.count(), 8);
        for (let i = 0; i < n; i++) {
          const row = rows.nth(i);
          if (!(await row.isVisible())) continue;
          await row.click();
          await page.waitForFunction((sel) => !!document.querySelector(sel), `${tid('panel-' + key)} ${tid('timeline')}`).catch(() => null);
          await scanBoth(page, `${role}-${key}-card-${i}`, findings);
        }
        // Every appeal this view lists: open its detail (facts, actions, history).
        const appeals = page.locator(`${tid('panel-' + key)} ${tid('appeal-row')}`);
        const m = Math.min(await appeals.count(), 8);
        for (let i = 0; i < m; i++) {
          const row = appeals.nth(i);
          if (!(await row.isVisible())) continue;
          const id = await row.getAttribute('data-id');
          await row.click();
          await page.locator(`${tid('panel-' + key)} ${tid('appeal-detail')} ${tid('ap-history')}`).waitFor();
          await page.waitForFunction((sel) => !!document.querySelector(sel), `${tid('panel-' + key)} [data-testid="ap-number"]`);
          await scanBoth(page, `${role}-${key}-appeal-${i}`, findings);
          opened.push(`${role}/${key}/${id}`);
        }
      }
      await page.context().close();
    }
    assert.equal(findings.length, 0, 'Latin-script words a user sees in the console:\n' + findings.join('\n'));
    // The appeals roles had appeals to open on their tabs.
    for (const key of ['registrar/appeals_registrar', 'head/appeals_manager', 'appeal_manager/appeals_manager', 'appeal_officer/appeals_officer']) {
      assert.ok(opened.some((o) => o.startsWith(key + '/')), `opened an appeal on ${key}: ${opened.join(', ')}`);
    }
  });

  it('HQ: the dashboard, a card\'s detail with its timeline, and HQ accounts, in ru and kk', async () => {
    const findings = [];
    const admin = await central.api('POST', '/auth/login', { login: 'admin', password: CENTRAL_ADMIN_TEMP });
    await central.api('POST', '/auth/password', { current_password: CENTRAL_ADMIN_TEMP, new_password: CENTRAL_ADMIN }, admin.token);
    const adminToken = (await central.api('POST', '/auth/login', { login: 'admin', password: CENTRAL_ADMIN })).token;
    await central.api('POST', '/accounts', { login: 'hq_lang', full_name: 'Сейткали Нурлан', password: STAFF_TEMP_PASSWORD, roles: ['hq_duty'] }, adminToken);
    const hq = await central.api('POST', '/auth/login', { login: 'hq_lang', password: STAFF_TEMP_PASSWORD });
    await central.api('POST', '/auth/password', { current_password: STAFF_TEMP_PASSWORD, new_password: STAFF_PASSWORD }, hq.token);
    const hqToken = (await central.api('POST', '/auth/login', { login: 'hq_lang', password: STAFF_PASSWORD })).token;
    // The warned card and the region's reference data reach the hub.
    const warned = state.cards.warned;
    await waitFor('the cards and the reference reach the hub', async () => {
      const c = await central.api('GET', `/cards/AST/${encodeURIComponent(warned.id)}`, undefined, hqToken).catch(() => null);
      const r = await central.api('GET', '/regions/AST/reference', undefined, hqToken).catch(() => null);
      const m = await central.api('GET', '/meetings/coverage', undefined, hqToken).catch(() => null);
      const beats = m && (m.regions || []).some((x) => x.region === 'AST' && x.registered && x.counts.beats > 0);
      return { ok: !!(c && (c.timeline || []).some((e) => e.kind === 'warning_issued') && r && r.received && beats) };
    }, REPLICATION_DEADLINE_MS);

    const page = await openPage(browser, 'hq', errors);
    await login(page, central, 'hq_lang', STAFF_PASSWORD);
    await page.locator(tid('regions-table')).waitFor();
    await scanBoth(page, 'hq-dashboard', findings);
    let opened = 0;
    for (const [name, c] of Object.entries(state.cards)) {
      const row = page.locator(`${tid('queue-row')}[data-id="${c.id}"]`).first();
      if (!(await row.count())) continue;
      await row.click();
      await page.locator(`#drawer ${tid('timeline')}`).waitFor();
      opened++;
      await scanBoth(page, `hq-card-${name}`, findings);
      if (name === 'warned') {
        const text = await page.locator(`#drawer ${tid('timeline')}`).innerText();
        assert.match(text, /Справочные учёты по адресу/, 'the warning line in Russian');
        assert.doesNotMatch(text, /address warnings|possible/, 'no stored English words');
      }
      await page.locator(tid('detail-close')).first().click();
      await page.locator('#drawer').waitFor({ state: 'hidden' });
    }
    assert.ok(opened >= 1, 'opened cards on HQ\'s queue');
    // R22: the national table of report meetings, and the region's beats.
    await page.locator(tid('tab-meetings')).click();
    await page.locator(`${tid('mtg-row')}[data-region="AST"] td[data-col="beats"]`).waitFor();
    await scanBoth(page, 'hq-meetings', findings);
    await page.locator(tid('mtg-region-AST')).click();
    await page.locator(tid('mtg-beat')).first().waitFor();
    assert.ok((await page.locator(tid('mtg-beat')).count()) >= 2, 'the region\'s beats are listed');
    await scanBoth(page, 'hq-meetings-region', findings);
    await page.context().close();

    const acc = await openPage(browser, 'hq-admin', errors);
    await login(acc, central, 'admin', CENTRAL_ADMIN);
    await acc.locator(tid('acc-table')).waitFor();
    await scanBoth(acc, 'hq-accounts', findings);
    await acc.context().close();
    assert.equal(findings.length, 0, 'Latin-script words a user sees on HQ\'s dashboard:\n' + findings.join('\n'));
  });

  it('no page error', () => {
    assert.deepEqual(errors, []);
  });
});
