// The field terminal end to end (issue 13), with real binaries: a region CA and bundle
// (`provisioning`), the node serving HTTPS and its field listener on loopback, three units'
// terminals (`field-terminal`, their own bundles), the unit p01 reaching the node through the
// UDP impairment proxy (`simulations proxy`) whose black-hole cuts its link, and Chromium (which
// trusts the region CA through its own NSS database, never --ignore-certificate-errors) for the
// dispatcher's console and p01's terminal.
//
// Walk: the three terminals report positions; the dispatcher opens a card with a point and sees
// the closest units ordered by distance (R20), dispatches p01; the officer logs into p01's
// terminal (first login online against the node's HTTPS), sees the assignment with its address,
// the address warnings (R08) and the map; the link is cut; the officer taps en route, on scene and
// files the report in the standard format (R34), all answered by the terminal; the link comes
// back and the console shows the unit's steps and the report with the times the officer tapped,
// before the link came back. Then the console's map shows the unit at its position and the
// printable incident reference (R20) carries the times and the report, in Russian and Kazakh.
//
// Screenshots: target/screenshots/map-terminal.png, map-console-units.png, incident-reference.png.
//
// Run: cd e2e && NODE_BIN=../target/debug/node PROVISIONING_BIN=../target/debug/provisioning \
//   FIELD_TERMINAL_BIN=../target/debug/field-terminal SIMULATIONS_BIN=../target/debug/simulations \
//   MAKE_TILES_BIN=../target/debug/examples/make_tiles node --test field.test.mjs
// (cargo build -p node -p provisioning -p field-terminal -p simulations &&
//  cargo build -p server-kit --example make_tiles)

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import https from 'node:https';
import net from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ADMIN_TEMP_PASSWORD, ADMIN_PASSWORD, STAFF_TEMP_PASSWORD, STAFF_PASSWORD, SHOTS, NODE_BIN, launchChromium,
  openPage, tid, waitFor, trustingHome, setLang,
} from './harness.mjs';
import { freePort, tail } from './lib.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const bin = (env, rel) => (process.env[env] ? path.resolve(process.cwd(), process.env[env]) : path.resolve(HERE, rel));
const PROVISIONING_BIN = bin('PROVISIONING_BIN', '../target/debug/provisioning');
const FIELD_TERMINAL_BIN = bin('FIELD_TERMINAL_BIN', '../target/debug/field-terminal');
const SIMULATIONS_BIN = bin('SIMULATIONS_BIN', '../target/debug/simulations');
const MAKE_TILES_BIN = bin('MAKE_TILES_BIN', '../target/debug/examples/make_tiles');
const MAP_SHOTS = path.resolve(SHOTS, '../screenshots');
const STARTUP_DEADLINE_MS = 60_000;
/** From the link's return to the console showing what the terminal recorded offline. */
const RESYNC_DEADLINE_MS = 45_000;

const DISP = { login: 'disp_field', full_name: 'Сергеев Пётр (ГУСС)', roles: ['dispatcher'] };
const CT = { login: 'ct_field', full_name: 'Ахметова Айгерим (оператор 102)', roles: ['call_taker'] };
const PATROLS = [
  { login: 'patrol1', full_name: 'Серікбаев Данияр', unit: 'p01' },
  { login: 'patrol2', full_name: 'Омаров Ерлан', unit: 'p02' },
  { login: 'patrol3', full_name: 'Ким Виктор', unit: 'p03' },
];
const ADDRESS = 'г. Астана, пр. Республики, 24, кв. 5';
const WARNINGS_CSV = 'address,person,birth_year,flags,note\n'
  + 'пр. Республики 24 кв. 5,Петров Пётр Петрович,1979,registered_weapon;criminal_record,охотничье ружьё ИЖ-27\n';
const CARD_POINT = { lat: 51.1283, lon: 71.4305, accuracy_m: 60 };
/** Units' positions: p01 nearest, then p03, then p02 (so the order is not the ids'). */
const POSITIONS = {
  p01: { lat: 51.1335, lon: 71.4395 },
  p03: { lat: 51.1400, lon: 71.4420 },
  p02: { lat: 51.1620, lon: 71.4750 },
};
const REPORT = {
  established: 'Конфликт между соседями из-за шума, телесных повреждений нет',
  measures: 'Проведена профилактическая беседа, стороны предупреждены',
  surname: 'Жанибеков',
  outcome: 'resolved_on_scene',
};

let tmp;
const procs = {};
let ca;
let httpsPort;
let nodeBase;
const tokens = {};
let browser;
let consolePage;
let terminalPage;
const errors = [];
const walk = {};

/* ------------------------------------------------------------------ processes */

function spawnLogged(name, file, args, env = {}) {
  assert.ok(existsSync(file), `${name}: binary not found at ${file}`);
  const proc = spawn(file, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const p = { name, proc, logs: '', exited: null };
  const keep = (c) => { p.logs += c.toString(); if (p.logs.length > 200_000) p.logs = p.logs.slice(-100_000); };
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  proc.on('exit', (code, signal) => { p.exited = { code, signal }; });
  procs[name] = p;
  return p;
}

function allLogs() {
  return Object.values(procs).map((p) => `\n--- ${p.name} ---\n${tail(p.logs, 3000)}`).join('');
}

async function until(what, fn, ms) {
  try {
    return await waitFor(what, async () => {
      for (const p of Object.values(procs)) if (p.exited) throw new Error(`${p.name} exited: ${JSON.stringify(p.exited)}`);
      try { return await fn(); } catch (e) { if (/exited/.test(e.message)) throw e; return { ok: false, error: e.message.slice(0, 300) }; }
    }, ms);
  } catch (e) {
    e.message += allLogs();
    throw e;
  }
}

async function stop(p) {
  if (!p || p.exited) return;
  const exited = new Promise((r) => p.proc.once('exit', r));
  p.proc.kill('SIGTERM');
  const t = setTimeout(() => { if (!p.exited) p.proc.kill('SIGKILL'); }, 5_000);
  await exited;
  clearTimeout(t);
}

/* ------------------------------------------------------------------ the node's HTTPS API */

/** A JSON call to the node over HTTPS, trusting the region CA only. */
function api(method, p, body, token) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const headers = { Accept: 'application/json' };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (data) { headers['Content-Type'] = 'application/json'; headers['Content-Length'] = Buffer.byteLength(data); }
    const req = https.request({ host: '127.0.0.1', port: httpsPort, method, path: `/api/v1${p}`, headers, ca, servername: 'localhost' }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => {
        let out = null;
        try { out = text ? JSON.parse(text) : null; } catch { out = text; }
        if (res.statusCode < 200 || res.statusCode > 299) reject(new Error(`${method} ${p} → ${res.statusCode}: ${text}`));
        else resolve(out);
      });
    });
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

/** Sets an account's own password; the session that set it stays open and is returned. */
async function activate(login, temporary, own) {
  const { token } = await api('POST', '/auth/login', { login, password: temporary });
  await api('POST', '/auth/password', { current_password: temporary, new_password: own }, token);
  return token;
}

/** A terminal's own local API (plain HTTP on loopback, as its browser uses it). */
async function fieldApi(term, method, p, body) {
  const r = await fetch(`${term.base}/field/v1${p}`, {
    method, headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${term.name} ${method} ${p} → ${r.status}: ${text}`);
  return text ? JSON.parse(text) : null;
}

/** One command on the proxy's control port; resolves with its one-line answer. */
function proxyControl(port, command) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    s.setEncoding('utf8');
    s.on('connect', () => s.write(`${command}\n`));
    s.on('data', (c) => {
      got += c;
      if (got.includes('\n')) { s.end(); resolve(got.trim()); }
    });
    s.on('error', reject);
  });
}

async function mapUnits() {
  const list = await api('GET', '/map/units', undefined, tokens.disp);
  return Object.fromEntries(list.map((u) => [u.unit_id, u]));
}

/** The unit's row on the open card in the console, as the page shows it. */
function consoleCard() {
  return api('GET', `/cards/${walk.card.id}`, undefined, tokens.disp);
}

async function shotTo(page, name, { tiles = false } = {}) {
  mkdirSync(MAP_SHOTS, { recursive: true });
  if (tiles) {
    await waitFor(`${name}: tiles faded in`, async () => ({
      ok: await page.$$eval('img.leaflet-tile-loaded', (imgs) => imgs.length > 0 && imgs.every((i) => getComputedStyle(i).opacity === '1')),
    }));
  }
  await page.screenshot({ path: path.join(MAP_SHOTS, `${name}.png`), fullPage: false });
}

/** What the page's own clock formats for a time (the console's fmtTime: HH:MM:SS). */
function pageTime(page, ms) {
  return page.evaluate((t) => {
    const d = new Date(t);
    const p = (n) => String(n).padStart(2, '0');
    return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  }, ms);
}

/* ------------------------------------------------------------------ the test */

describe('field terminal: offline taps and report reach the console with their own times', { timeout: 240_000 }, () => {
  before(async () => {
    tmp = mkdtempSync(path.join(tmpdir(), 'field-e2e-'));
    const prov = (args) => execFileSync(PROVISIONING_BIN, args, { stdio: 'pipe', timeout: 60_000 });
    assert.ok(existsSync(PROVISIONING_BIN), `provisioning not found at ${PROVISIONING_BIN}`);
    assert.ok(existsSync(MAKE_TILES_BIN), `make_tiles not found at ${MAKE_TILES_BIN} (cargo build -p server-kit --example make_tiles)`);
    httpsPort = await freePort();
    const fieldPort = await freePort();
    const proxyPort = await freePort();
    const controlPort = await freePort();
    const centralPort = await freePort();
    nodeBase = `https://127.0.0.1:${httpsPort}`;
    const caDir = path.join(tmp, 'ca');
    const bundle = path.join(tmp, 'ast');
    prov(['init-ca', '--dir', caDir]);
    prov(['add-region', '--ca', caDir, '--id', 'AST', '--name-kk', 'Астана қаласы ПД', '--name-ru', 'ДП города Астаны',
      '--central', `127.0.0.1:${centralPort}`, '--web-dns', 'localhost', '--web-ip', '127.0.0.1', '--out', bundle]);
    ca = readFileSync(path.join(bundle, 'ca.crt'));
    // p01 reaches the node through the proxy; p02 and p03 directly.
    for (const p of PATROLS) {
      const via = p.unit === 'p01' ? proxyPort : fieldPort;
      prov(['add-unit', '--ca', caDir, '--region', 'AST', '--unit', p.unit, '--node', `127.0.0.1:${via}`,
        '--node-web', `${nodeBase}/`, '--out', path.join(tmp, `unit-${p.unit}`)]);
    }
    const tiles = path.join(tmp, 'region.pmtiles');
    execFileSync(MAKE_TILES_BIN, [tiles], { stdio: 'pipe', timeout: 60_000 });
    // The address-warnings registry (R08), loaded before the start.
    const dataDir = path.join(tmp, 'data');
    writeFileSync(path.join(tmp, 'warnings.csv'), WARNINGS_CSV);
    const cli = (args, env = {}) => execFileSync(NODE_BIN, args, { stdio: 'pipe', timeout: 60_000, env: { ...process.env, ...env } });
    cli(['import-warnings', '--data', dataDir, path.join(tmp, 'warnings.csv')]);
    cli(['admin', '--data', dataDir, 'set-password', '--login', 'admin', '--temporary'], { NODE_NEW_PASSWORD: ADMIN_TEMP_PASSWORD });
    const udpMin = 30000 + (httpsPort % 40) * 250;
    const config = path.join(tmp, 'node.toml');
    writeFileSync(config, [
      '[field]', `listen = "127.0.0.1:${fieldPort}"`,
      '[map]', `tiles = ${JSON.stringify(tiles)}`,
      '[calls]', `udp_port_min = ${udpMin}`, `udp_port_max = ${udpMin + 199}`, '',
    ].join('\n'));
    spawnLogged('node', NODE_BIN, ['serve', '--bundle', bundle, '--config', config, '--data', dataDir,
      '--listen', `127.0.0.1:${httpsPort}`], { NODE_ADMIN_PASSWORD: ADMIN_TEMP_PASSWORD });
    spawnLogged('proxy', SIMULATIONS_BIN, ['proxy', '--listen', `127.0.0.1:${proxyPort}`, '--upstream', `127.0.0.1:${fieldPort}`,
      '--control', `127.0.0.1:${controlPort}`]);
    walk.controlPort = controlPort;
    await until('the node answers over HTTPS', async () => ({ ok: (await new Promise((resolve, reject) => {
      https.get({ host: '127.0.0.1', port: httpsPort, path: '/healthz', ca }, (r) => { r.resume(); resolve(r.statusCode); }).on('error', reject);
    })) === 200 }), STARTUP_DEADLINE_MS);
    await until('the proxy answers on its control port', async () => ({ ok: /^\{/.test(await proxyControl(controlPort, 'stats')) }), STARTUP_DEADLINE_MS);

    tokens.admin = await activate('admin', ADMIN_TEMP_PASSWORD, ADMIN_PASSWORD);
    for (const u of [DISP, CT, ...PATROLS.map((p) => ({ login: p.login, full_name: p.full_name, roles: ['patrol'] }))]) {
      await api('POST', '/accounts', { ...u, password: STAFF_TEMP_PASSWORD }, tokens.admin);
      tokens[u.login] = await activate(u.login, STAFF_TEMP_PASSWORD, STAFF_PASSWORD);
    }
    tokens.disp = tokens[DISP.login];
    for (const p of PATROLS) await api('PUT', `/patrols/${p.login}/unit`, { unit_id: p.unit }, tokens.disp);

    // The terminals: a fast key derivation (the default is sized for a real device).
    const termConfig = path.join(tmp, 'terminal.toml');
    writeFileSync(termConfig, '[terminal]\nkdf_memory_kib = 8192\nkdf_passes = 1\n');
    walk.terms = {};
    for (const p of PATROLS) {
      const port = await freePort();
      const t = spawnLogged(`terminal-${p.unit}`, FIELD_TERMINAL_BIN, ['--bundle', path.join(tmp, `unit-${p.unit}`),
        '--data', path.join(tmp, `term-${p.unit}`), '--listen', `127.0.0.1:${port}`, '--config', termConfig]);
      t.base = `http://127.0.0.1:${port}`;
      walk.terms[p.unit] = t;
    }
    for (const t of Object.values(walk.terms)) {
      await until(`${t.name} answers`, async () => ({ ok: (await fetch(`${t.base}/field/v1/state`)).ok }), STARTUP_DEADLINE_MS);
    }
    browser = await launchChromium([], { HOME: trustingHome(path.join(tmp, 'home'), [path.join(bundle, 'ca.crt')]) });
  });

  after(async () => {
    if (browser) await browser.close().catch(() => {});
    for (const p of Object.values(procs).reverse()) await stop(p).catch(() => {});
    if (process.env.E2E_SHOW_LOGS) console.log(allLogs());
    if (tmp && !process.env.KEEP) rmSync(tmp, { recursive: true, force: true });
  });

  it('r20_units_report_positions_and_the_closest_units_are_ordered_by_distance', async () => {
    // p02 and p03: officers log in on their terminals (online, against the node's HTTPS) and
    // their terminals record a fix each.
    for (const unit of ['p02', 'p03']) {
      const t = walk.terms[unit];
      const p = PATROLS.find((x) => x.unit === unit);
      const r = await fieldApi(t, 'POST', '/login', { login: p.login, password: STAFF_PASSWORD });
      assert.equal(r.mode, 'online');
      const fix = await fieldApi(t, 'POST', '/position', { at_ms: Date.now(), ...POSITIONS[unit], accuracy_m: 15 });
      assert.equal(fix.recorded, true);
    }
    // p01: the officer logs in in the terminal's UI; its browser's geolocation (emulated) gives
    // the fix.
    terminalPage = await openPage(browser, 'terminal', errors, {
      viewport: { width: 1024, height: 1100 }, geolocation: { latitude: POSITIONS.p01.lat, longitude: POSITIONS.p01.lon, accuracy: 12 },
      permissions: ['geolocation'],
    });
    await terminalPage.goto(walk.terms.p01.base + '/');
    await terminalPage.locator(tid('login-form')).waitFor();
    await terminalPage.locator(tid('login-login')).fill('patrol1');
    await terminalPage.locator(tid('login-password')).fill(STAFF_PASSWORD);
    await terminalPage.locator(tid('login-submit')).click();
    await terminalPage.locator(tid('officer')).waitFor();
    assert.equal(await terminalPage.locator(tid('officer')).innerText(), 'patrol1');
    await terminalPage.locator(tid('no-assignment')).waitFor();

    await until('the node has the three units\' positions', async () => {
      const u = await mapUnits();
      return { ok: ['p01', 'p02', 'p03'].every((id) => u[id] && u[id].position), got: Object.keys(u).filter((id) => u[id].position) };
    }, 30_000);
    const units = await mapUnits();
    assert.ok(Math.abs(units.p01.position.lat - POSITIONS.p01.lat) < 1e-6, JSON.stringify(units.p01));

    walk.card = await api('POST', '/cards?send_for_processing=true', {
      channel: 'app102_call', caller: { name: 'Айгүл Сапарова', phone: '+77015550177' },
      location: { ...CARD_POINT, address: ADDRESS }, description: 'Шум и крики у соседей, просят наряд', category: 'domestic',
    }, tokens[CT.login]);

    consolePage = await openPage(browser, 'console', errors);
    await consolePage.goto(nodeBase + '/');
    await consolePage.locator(tid('login-form')).waitFor();
    assert.equal(await consolePage.evaluate(() => location.protocol), 'https:');
    await consolePage.locator(tid('login-login')).fill(DISP.login);
    await consolePage.locator(tid('login-password')).fill(STAFF_PASSWORD);
    await consolePage.locator(tid('login-submit')).click();
    await consolePage.locator(tid('logout')).waitFor();
    const P = tid('panel-dispatcher');
    await consolePage.locator(`${P} tr[data-card-id="${walk.card.id}"]`).first().click();
    await consolePage.locator(`${P} ${tid('card-number')}`).waitFor();
    const rows = consolePage.locator(`${P} ${tid('closest-unit-row')}`);
    await rows.first().waitFor();
    const shown = await rows.evaluateAll((trs) => trs.map((tr) => ({
      unit: tr.getAttribute('data-unit-id'),
      km: tr.querySelector('[data-testid="closest-unit-distance"]').textContent,
    })));
    assert.deepEqual(shown.slice(0, 3).map((r) => r.unit), ['p01', 'p03', 'p02'], JSON.stringify(shown));
    const kms = shown.slice(0, 3).map((r) => parseFloat(r.km));
    assert.ok(kms[0] <= kms[1] && kms[1] <= kms[2], JSON.stringify(shown));
    // The distances are the straight lines to the card's point (within the rounding to 0.1 km).
    const ranked = await api('GET', `/cards/${walk.card.id}/closest-units`, undefined, tokens.disp);
    for (const u of ranked.units.slice(0, 3)) {
      const p = POSITIONS[u.unit_id];
      const dLat = (p.lat - CARD_POINT.lat) * 111_320;
      const dLon = (p.lon - CARD_POINT.lon) * 111_320 * Math.cos(CARD_POINT.lat * Math.PI / 180);
      assert.ok(Math.abs(u.distance_m - Math.hypot(dLat, dLon)) < 50, JSON.stringify(u));
    }

    // The dispatcher picks the nearest and dispatches it.
    await rows.first().locator(tid('closest-unit-pick')).click();
    assert.equal(await consolePage.locator(`${P} ${tid('dispatch-unit')}`).inputValue(), 'p01');
    await consolePage.locator(`${P} ${tid('dispatch-btn')}`).click();
    await consolePage.locator(`${P} ${tid('card-unit-p01')}`).waitFor();
  });

  it('r34_the_officer_works_offline_and_the_console_gets_the_steps_and_report_with_their_own_times', async () => {
    const T = terminalPage;
    // The pack reaches the terminal: the assignment with its address, warnings and map.
    await until('the assignment on the terminal', async () => ({ ok: await T.locator(`${tid('assignment')}[data-card="${walk.card.id}"]`).count() === 1 }), 30_000);
    assert.equal(await T.locator(tid('asg-number')).innerText(), walk.card.number);
    assert.equal(await T.locator(tid('asg-address')).innerText(), ADDRESS);
    await T.locator(tid('asg-warning')).first().waitFor();
    assert.match(await T.locator(tid('asg-warnings')).innerText(), /Петров/);
    await T.locator(`${tid('assignment-map-canvas')}[data-ready="1"] ${tid('map-caller')}`).waitFor();
    await T.locator(tid('assignment-map')).scrollIntoViewIfNeeded();
    await shotTo(T, 'map-terminal');
    // The user manual's screenshots of the terminal (e2e/manual), Kazakh then back to Russian.
    for (const lang of ['kk', 'ru']) { await setLang(T, lang); await T.screenshot({ path: path.join(SHOTS, `field-terminal-${lang}.png`) }); }
    await until('the terminal synced', async () => ({ ok: (await T.locator(tid('link-banner')).getAttribute('data-state')) === 'synced' }), 30_000);

    // The link is cut.
    assert.match(await proxyControl(walk.controlPort, 'blackhole on'), /^ok/);
    walk.cutAt = Date.now();
    await T.locator(tid('status-en_route')).click();
    await until('en route in the log', async () => ({ ok: await T.locator(`${tid('log-entry')}[data-type="status"]`).count() === 1 }));
    await T.locator(tid('status-on_scene')).click();
    await until('on scene in the log', async () => ({ ok: await T.locator(`${tid('log-entry')}[data-type="status"]`).count() === 2 }));
    await T.locator(tid('report-open')).click();
    await T.locator(tid('report-established')).fill(REPORT.established);
    await T.locator(tid('report-measures')).fill(REPORT.measures);
    await T.locator(tid('report-add-person')).click();
    await T.locator(`${tid('person')} ${tid('person-role')}`).selectOption('applicant');
    await T.locator(`${tid('person')} ${tid('person-surname')}`).fill(REPORT.surname);
    await T.locator(tid('report-outcome')).selectOption(REPORT.outcome);
    await T.locator(tid('report-submit')).click();
    await until('the report in the log', async () => ({ ok: await T.locator(`${tid('log-entry')}[data-type="report"]`).count() === 1 }));
    // Answered by the terminal alone: nothing reached the node, the banner says so.
    await until('the banner shows what is pending', async () => {
      const state = await T.locator(tid('link-banner')).getAttribute('data-state');
      const pending = Number(await T.locator(tid('pending-count')).innerText().catch(() => '0'));
      return { ok: state !== 'synced' && pending > 0, state, pending };
    });
    const offline = await consoleCard();
    assert.equal(offline.units[0].en_route_at ?? null, null, 'nothing reached the node while the link was cut');
    assert.equal((offline.patrol_reports || []).length, 0);
    // The times the terminal shows for the officer's taps.
    const entries = await T.evaluate(() => fetch('/field/v1/log').then((r) => r.json()));
    const at = (pred) => entries.find(pred).at_ms;
    walk.times = {
      en_route: at((e) => e.body.type === 'status' && e.body.status === 'en_route'),
      on_scene: at((e) => e.body.type === 'status' && e.body.status === 'on_scene'),
      report: at((e) => e.body.type === 'report'),
    };
    const shownTimes = await T.locator(tid('log-entry')).evaluateAll((lis) => lis.map((li) => li.querySelector('.muted').textContent));
    for (const ms of Object.values(walk.times)) {
      assert.ok(ms >= walk.cutAt, 'tapped after the cut');
      const hms = await pageTime(T, ms);
      assert.ok(shownTimes.some((s) => s.endsWith(hms)), `${hms} shown in ${JSON.stringify(shownTimes)}`);
    }

    // The link comes back: the console (live events) shows the steps and the report.
    assert.match(await proxyControl(walk.controlPort, 'blackhole off'), /^ok/);
    walk.backAt = Date.now();
    const P = tid('panel-dispatcher');
    const C = consolePage;
    const row = C.locator(`${P} ${tid('card-unit-p01')}`);
    const t0 = Date.now();
    await until('the console shows on scene and the report', async () => ({
      ok: (await row.innerText()).includes(await pageTime(C, walk.times.on_scene))
        && await C.locator(`${P} ${tid('card-patrol-report')}`).count() === 1,
    }), RESYNC_DEADLINE_MS);
    walk.resyncMs = Date.now() - t0;
    const rowText = await row.innerText();
    assert.ok(rowText.includes(await pageTime(C, walk.times.en_route)), rowText);
    const card = await consoleCard();
    const cu = card.units.find((u) => u.unit_id === 'p01');
    assert.equal(cu.en_route_at, walk.times.en_route);
    assert.equal(cu.on_scene_at, walk.times.on_scene);
    assert.ok(cu.en_route_at < walk.backAt && cu.on_scene_at < walk.backAt, 'the original times, not the reconnect');
    assert.equal(card.patrol_reports.length, 1);
    assert.equal(card.patrol_reports[0].at_ms, walk.times.report);
    assert.ok(card.patrol_reports[0].at_ms < walk.backAt);
    const rep = C.locator(`${P} ${tid('card-patrol-report')}`);
    const repText = await rep.innerText();
    for (const s of [REPORT.established, REPORT.measures, REPORT.surname, 'Разрешено на месте', 'Заявитель']) {
      assert.ok(repText.includes(s), `${s} in ${repText}`);
    }
    assert.ok(repText.includes(await pageTime(C, walk.times.report)), repText);
    await until('the terminal synced again', async () => ({ ok: (await T.locator(tid('link-banner')).getAttribute('data-state')) === 'synced' }), RESYNC_DEADLINE_MS);
    console.log(`# link back → console shows the offline steps and report: ${walk.resyncMs} ms`);
  });

  it('the console\'s map shows the unit at its position', async () => {
    const C = consolePage;
    await C.locator(tid('tab-map')).click();
    await C.locator(`${tid('map-main')}[data-ready="1"][data-tiles="1"]`).waitFor();
    const unit = C.locator(tid('map-unit-p01'));
    await unit.waitFor();
    assert.equal(await unit.innerText(), 'Беркут-11');
    // The marker stands where the terminal's geolocation put it: north-east of the card's point,
    // as far on screen as the map's scale makes the distance.
    const incident = C.locator(tid(`map-incident-${walk.card.id}`));
    await incident.waitFor();
    const geo = await waitFor('the unit and the card on screen', async () => {
      const r = await C.evaluate(({ unitPos, card }) => {
        // A marker's element is placed with its top-left corner on its point (the label is
        // shifted by CSS).
        const centre = (id) => {
          const b = document.querySelector(`[data-testid="${id}"]`).getBoundingClientRect();
          return { x: b.left, y: b.top };
        };
        const zoom = Number(document.querySelector('[data-testid="map-main"]').getAttribute('data-zoom'));
        const u = centre('map-unit-p01');
        const c = centre(`map-incident-${card.id}`);
        // Web Mercator pixels at this zoom (256 px tiles).
        const px = (lat, lon) => {
          const s = 256 * Math.pow(2, zoom);
          const y = Math.log(Math.tan(Math.PI / 4 + lat * Math.PI / 360));
          return { x: (lon + 180) / 360 * s, y: (1 - y / Math.PI) / 2 * s };
        };
        const a = px(unitPos.lat, unitPos.lon);
        const b = px(card.lat, card.lon);
        return { zoom, dx: u.x - c.x, dy: u.y - c.y, ex: a.x - b.x, ey: a.y - b.y };
      }, { unitPos: POSITIONS.p01, card: { id: walk.card.id, ...CARD_POINT } });
      return { ok: r.zoom > 0 && Math.abs(r.dx - r.ex) < 6 && Math.abs(r.dy - r.ey) < 6, ...r };
    });
    assert.ok(geo.ex > 0 && geo.ey < 0, JSON.stringify(geo));
    await C.mouse.move(5, 5);
    await shotTo(C, 'map-console-units', { tiles: true });
  });

  it('r20_the_printable_incident_reference_has_the_times_and_the_report_in_ru_and_kk', async () => {
    const C = consolePage;
    const P = tid('panel-dispatcher');
    await C.locator(tid('tab-dispatcher')).click();
    await C.locator(`${P} ${tid('card-reference')}`).click();
    const R = C.locator(tid('incident-reference'));
    await R.locator(tid('ir-units')).waitFor();
    const text = await R.innerText();
    assert.match(text, /Справка/);
    assert.ok(text.includes(walk.card.number), text);
    assert.ok(text.includes(ADDRESS), text);
    for (const k of ['en_route', 'on_scene']) {
      assert.ok(text.includes(await pageTime(C, walk.times[k])), `${k} time in the reference`);
    }
    for (const s of [REPORT.established, REPORT.measures, REPORT.surname, 'Разрешено на месте', 'Беркут-11', DISP.login]) {
      assert.ok(text.includes(s), `${s} in the reference`);
    }
    // Arrival: from the dispatch to on scene.
    const arrival = await R.locator(`${tid('ir-unit')}[data-unit-id="p01"] ${tid('ir-arrival')}`).getAttribute('data-s');
    const card = await consoleCard();
    assert.equal(Number(arrival), Math.floor((walk.times.on_scene - card.units[0].assigned_at) / 1000));
    // Printable: only the reference is visible in print.
    await C.emulateMedia({ media: 'print' });
    assert.equal(await R.evaluate((el) => getComputedStyle(el).visibility), 'visible');
    assert.equal(await C.locator(tid('logout')).evaluate((el) => getComputedStyle(el).visibility), 'hidden');
    await C.emulateMedia({ media: 'screen' });
    await shotTo(C, 'incident-reference');
    // Kazakh.
    await C.locator(tid('lang-toggle')).click();
    await until('the reference in Kazakh', async () => ({ ok: /Оқиға бойынша анықтама/.test(await R.innerText()) }));
    const kk = await R.innerText();
    assert.match(kk, /Оқиға орнында шешілді/);
    assert.match(kk, /Өтініш беруші/);
    await C.locator(tid('lang-toggle')).click();
    await R.locator(tid('ir-close')).click();
    await until('the reference closed', async () => ({ ok: await C.locator(tid('incident-reference')).count() === 0 }));
    assert.deepEqual(errors, []);
  });
});
