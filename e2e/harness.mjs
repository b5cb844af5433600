// A node for a browser test: started on a fresh data directory and a free loopback port, with
// the admin and staff accounts activated through the API, and a headless Chromium. The console
// tests written after the console was split into views use this; each test file starts its own
// node, so files run in parallel.

import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import dgram from 'node:dgram';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { chromium } from 'playwright-core';
import { freePort, tail } from './lib.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const NODE_BIN = process.env.NODE_BIN
  ? path.resolve(process.cwd(), process.env.NODE_BIN)
  : path.resolve(HERE, '../target/debug/node');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
/** Screenshots of the browser tests. */
export const SHOTS = path.resolve(HERE, '../target/e2e-screenshots');
export const ADMIN_TEMP_PASSWORD = 'e2e-Admin-Temp0rary-2026';
export const ADMIN_PASSWORD = 'e2e-Admin-Passw0rd-2026';
export const STAFF_TEMP_PASSWORD = 'e2e-Staff-Temp0rary-2026';
export const STAFF_PASSWORD = 'e2e-Staff-Passw0rd-2026';
const STARTUP_DEADLINE_MS = 60_000;
/** Every wait of a browser step, ms. */
export const STEP_TIMEOUT_MS = 20_000;
/** How long a change may take to cross the QUIC link between a region and the hub (reconnect
 * back-off included), ms. */
export const REPLICATION_DEADLINE_MS = 90_000;

/* Where Debian (and others) put libfaketime (the `faketime` package; `.ci/run` installs it). Tests
   that need a region's node to have written its records on past days (report 1-ОЛ counts a
   record in the month the node queued it) run that node under it: the wall clock only, monotonic
   timers untouched. Nothing in the product is switched. `FAKETIME_LIB` overrides the location. */
const FAKETIME_LIBS = [
  '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1',
  '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1',
  '/usr/lib/faketime/libfaketime.so.1',
  '/usr/local/lib/faketime/libfaketime.so.1',
];
export const FAKETIME_LIB = process.env.FAKETIME_LIB || FAKETIME_LIBS.find((p) => existsSync(p));

/* The environment that runs a process under libfaketime: `faketime` is libfaketime's FAKETIME
   (`@2026-11-02 04:00:00` for a clock that starts there, `-86400` for one running a day behind).
   Fails with how to install it when the library is missing. */
export function fakeClockEnv(faketime) {
  assert.ok(FAKETIME_LIB, `libfaketime not found (${FAKETIME_LIBS.join(', ')}): apt-get install faketime, or set FAKETIME_LIB`);
  return { LD_PRELOAD: FAKETIME_LIB, FAKETIME: faketime, FAKETIME_DONT_FAKE_MONOTONIC: '1' };
}

export const tid = (id) => `[data-testid="${id}"]`;

/**
 * Starts `node serve`. `config` is extra TOML for the node's config file; `warningsCsv` is
 * imported into the address-warnings registry before the start. Returns
 * `{proc, base, root, dataDir, port, logs, exited, api(method, path, body, token)}`.
 */
export async function startNode({ config = '', warningsCsv = null, name = 'e2e' } = {}) {
  assert.ok(existsSync(NODE_BIN), `node binary not found at ${NODE_BIN} (cargo build -p node, or set NODE_BIN)`);
  const root = mkdtempSync(path.join(tmpdir(), `node-${name}-`));
  const dataDir = path.join(root, 'data');
  const port = await freePort();
  // Media ports of its own, so this node can run next to the other tests' nodes.
  const udpMin = 30000 + (port % 40) * 250;
  const configFile = path.join(root, 'node.toml');
  writeFileSync(configFile, `${config}\n[calls]\nudp_port_min = ${udpMin}\nudp_port_max = ${udpMin + 199}\n`);
  if (warningsCsv) {
    const csv = path.join(root, 'warnings.csv');
    writeFileSync(csv, warningsCsv);
    execFileSync(NODE_BIN, ['import-warnings', '--data', dataDir, csv], { stdio: 'pipe', timeout: 60_000 });
    execFileSync(NODE_BIN, ['admin', '--data', dataDir, 'set-password', '--login', 'admin', '--temporary'],
      { stdio: 'pipe', timeout: 60_000, env: { ...process.env, NODE_NEW_PASSWORD: ADMIN_TEMP_PASSWORD } });
  }
  const srv = await startProcess(name, NODE_BIN, ['serve', '--data', dataDir, '--listen', `127.0.0.1:${port}`, '--config', configFile],
    { NODE_ADMIN_PASSWORD: ADMIN_TEMP_PASSWORD }, `http://127.0.0.1:${port}`);
  return Object.assign(srv, { root, dataDir, port });
}

/**
 * Spawns a server binary and waits until `${base}/healthz` answers. Returns
 * `{name, proc, base, logs, exited, api(method, path, body, token)}`.
 */
export async function startProcess(name, binPath, args, env, base, { cwd } = {}) {
  assert.ok(existsSync(binPath), `${name} binary not found at ${binPath}`);
  const proc = spawn(binPath, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const srv = { name, proc, base, logs: '', exited: null };
  const keep = (chunk) => {
    srv.logs += chunk.toString();
    if (srv.logs.length > 200_000) srv.logs = srv.logs.slice(-100_000);
  };
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  proc.on('exit', (code, signal) => { srv.exited = { code, signal }; });
  srv.api = (method, p, body, token) => apiAt(base, method, p, body, token);
  const deadline = Date.now() + STARTUP_DEADLINE_MS;
  for (;;) {
    if (srv.exited) throw new Error(`${name} exited during startup (${JSON.stringify(srv.exited)}):\n${tail(srv.logs)}`);
    try {
      const r = await fetch(`${base}/healthz`);
      if (r.ok) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error(`${name} did not become healthy within ${STARTUP_DEADLINE_MS} ms:\n${tail(srv.logs)}`);
    await delay(100); // poll interval
  }
  return srv;
}

/** Stops a process started by startProcess (SIGTERM, SIGKILL after a grace period). */
export async function stopProcess(srv) {
  if (!srv || srv.exited) return;
  const exited = new Promise((resolve) => srv.proc.once('exit', resolve));
  srv.proc.kill('SIGTERM');
  // Acknowledged writes are on disk; open event streams may hold a graceful shutdown.
  const t = setTimeout(() => { if (!srv.exited) srv.proc.kill('SIGKILL'); }, 5_000);
  await exited;
  clearTimeout(t);
}

export async function stopNode(srv) {
  if (!srv) return;
  await stopProcess(srv);
  rmSync(srv.root, { recursive: true, force: true });
}

/** A JSON API call; a non-2xx answer throws with the status and body. */
export async function apiAt(base, method, p, body, token) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(`${base}/api/v1${p}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!r.ok) throw new Error(`${method} ${p} → ${r.status}: ${text}`);
  return data;
}

/**
 * Activates the admin and creates `users` ([{login, full_name, roles, district?}]), each with
 * its own password set (STAFF_PASSWORD). Returns the session tokens by login (and `admin`).
 */
export async function staff(srv, users) {
  const activate = async (login, temporary, own) => {
    const token = (await srv.api('POST', '/auth/login', { login, password: temporary })).token;
    await srv.api('POST', '/auth/password', { current_password: temporary, new_password: own }, token);
    return (await srv.api('POST', '/auth/login', { login, password: own })).token;
  };
  const tokens = { admin: await activate('admin', ADMIN_TEMP_PASSWORD, ADMIN_PASSWORD) };
  for (const u of users) {
    await srv.api('POST', '/accounts', { ...u, password: STAFF_TEMP_PASSWORD }, tokens.admin);
    tokens[u.login] = await activate(u.login, STAFF_TEMP_PASSWORD, STAFF_PASSWORD);
  }
  return tokens;
}

/**
 * A $HOME whose NSS database trusts the CA certificates `cas` (PEM files): Chromium on Linux
 * reads it, so a test's own CA is trusted the way a workstation trusts it (never
 * --ignore-certificate-errors). Pass it as `launchChromium([], { HOME })`.
 */
export function trustingHome(home, cas) {
  const db = path.join(home, '.pki', 'nssdb');
  mkdirSync(db, { recursive: true });
  execFileSync('certutil', ['-N', '-d', `sql:${db}`, '--empty-password'], { stdio: 'pipe' });
  cas.forEach((ca, i) => execFileSync('certutil', ['-A', '-d', `sql:${db}`, '-t', 'C,,', '-n', `ca-${i}`, '-i', ca], { stdio: 'pipe' }));
  return home;
}

/**
 * Headless Chromium with fake media devices and sound allowed without a gesture; `env` is added
 * to the browser's environment (a HOME from trustingHome).
 */
export function launchChromium(extraArgs = [], env = null) {
  mkdirSync(SHOTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    env: env ? { ...process.env, ...env } : undefined,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream', '--allow-loopback-in-peer-connection',
      '--autoplay-policy=no-user-gesture-required', ...extraArgs],
  });
}

/**
 * A page at 1440×900 (the ЦОУ's screens) in a fresh context; page errors and console errors
 * are pushed to `errors`. `options` go to browser.newContext (locale, permissions, ...).
 */
export async function openPage(browser, name, errors, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'ru-RU', ...options });
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(`[${name}] ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) errors.push(`[${name}] console: ${m.text()}`);
  });
  return page;
}

/** Logs into the console at srv with an activated account and waits for the shell. */
export async function login(page, srv, user, password = STAFF_PASSWORD) {
  await page.goto(srv.base + '/');
  await page.locator(tid('login-form')).waitFor();
  await page.locator(tid('login-login')).fill(user);
  await page.locator(tid('login-password')).fill(password);
  await page.locator(tid('login-submit')).click();
  await page.locator(tid('logout')).waitFor();
}

export async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: false });
}

/** Polls `fn` until it returns a truthy `{ok}`; throws with the last value after the deadline. */
export async function waitFor(what, fn, deadlineMs = STEP_TIMEOUT_MS) {
  const deadline = Date.now() + deadlineMs;
  let last;
  for (;;) {
    last = await fn();
    if (last && last.ok) return last;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${deadlineMs} ms (last: ${JSON.stringify(last)})`);
    await delay(100); // poll interval
  }
}

/** A free UDP port on loopback (the hub's QUIC listener). */
export function freeUdpPort() {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket('udp4');
    sock.unref();
    sock.on('error', reject);
    sock.bind(0, '127.0.0.1', () => {
      const { port } = sock.address();
      sock.close(() => resolve(port));
    });
  });
}

const CENTRAL_BIN = process.env.CENTRAL_BIN
  ? path.resolve(process.cwd(), process.env.CENTRAL_BIN)
  : path.resolve(HERE, '../target/debug/central');
const PROVISIONING_BIN = process.env.PROVISIONING_BIN
  ? path.resolve(process.cwd(), process.env.PROVISIONING_BIN)
  : path.resolve(HERE, '../target/debug/provisioning');

/**
 * The central hub and region AST's node, provisioned by a fresh CA in a temp dir named after
 * `name` and started on free loopback ports, plain HTTP (a test of content; HTTPS is proved in
 * netns/https_turn). Returns { root, central, node, logs(), until(what, fn, ms), stop() }:
 * `until` polls `fn` until it returns something truthy and throws with both logs after `ms`.
 */
export async function startHubAndRegion(name) {
  const root = mkdtempSync(path.join(tmpdir(), `${name}-`));
  const provision = (args) => {
    try {
      return execFileSync(PROVISIONING_BIN, args, { cwd: root, stdio: 'pipe', timeout: 60_000 }).toString();
    } catch (e) {
      throw new Error(`provisioning ${args.join(' ')} failed: ${e.stderr || e.message}`);
    }
  };
  const httpPort = await freePort();
  const quicPort = await freeUdpPort();
  const nodePort = await freePort();
  provision(['init-ca', '--dir', 'ca']);
  provision(['add-central', '--ca', 'ca', '--name', 'central', '--dns', 'localhost', '--out', 'central-bundle']);
  provision(['add-region', '--ca', 'ca', '--id', 'AST', '--name-kk', 'Астана қаласы ПД', '--name-ru', 'ДП города Астаны',
    '--central', `localhost:${quicPort}`, '--out', 'ast-bundle']);
  const plain = path.join(root, 'plain-http.toml');
  writeFileSync(plain, '[https]\nenabled = false\n');
  const central = await startProcess('central', CENTRAL_BIN, [
    'serve', '--bundle', path.join(root, 'central-bundle'), '--config', plain, '--data', path.join(root, 'central-data'),
    '--listen', `127.0.0.1:${httpPort}`, '--quic-listen', `127.0.0.1:${quicPort}`,
  ], { CENTRAL_ADMIN_PASSWORD: ADMIN_TEMP_PASSWORD }, `http://127.0.0.1:${httpPort}`, { cwd: root });
  const node = await startProcess('node', NODE_BIN, [
    'serve', '--bundle', path.join(root, 'ast-bundle'), '--config', plain, '--data', path.join(root, 'node-data'),
    '--listen', `127.0.0.1:${nodePort}`,
  ], { NODE_ADMIN_PASSWORD: ADMIN_TEMP_PASSWORD }, `http://127.0.0.1:${nodePort}`, { cwd: root });
  const logs = () => `\n--- central ---\n${tail(central.logs)}\n--- node ---\n${tail(node.logs)}`;
  return {
    root, central, node, logs,
    async until(what, fn, ms = REPLICATION_DEADLINE_MS) {
      const deadline = Date.now() + ms;
      for (;;) {
        const got = await fn();
        if (got) return got;
        if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms${logs()}`);
        await delay(250); // poll interval
      }
    },
    async stop() {
      if (process.env.E2E_SHOW_LOGS) console.log(logs());
      await stopProcess(node).catch(() => {});
      await stopProcess(central).catch(() => {});
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** The trimmed text of the first element `selector` finds. */
export async function textIn(page, selector) {
  return (await page.locator(selector).first().textContent()).trim();
}

/** Words of the interface under `selector` (outside data values marked translate="no" and
 * hidden parts) written in Latin letters: none may reach a user. */
export async function englishIn(page, selector) {
  return page.evaluate((sel) => {
    const out = [];
    const walk = document.createTreeWalker(document.querySelector(sel), NodeFilter.SHOW_TEXT);
    for (let n = walk.nextNode(); n; n = walk.nextNode()) {
      if (n.parentElement.closest('[translate="no"]') || n.parentElement.closest('[hidden]')) continue;
      const m = n.textContent.match(/[A-Za-z]{3,}/g);
      if (m) out.push(...m);
    }
    return out;
  }, selector);
}

export async function setLang(page, lang, button = 'lang-toggle') {
  const now = await page.evaluate(() => document.documentElement.getAttribute('lang'));
  if (now !== lang) await page.locator(tid(button)).first().click();
  await page.waitForFunction((l) => document.documentElement.getAttribute('lang') === l, lang);
}
// As the language scan (language.test.mjs): proper names written in Latin in both languages.
const ALLOWED = ['Telegram', 'SOS'];

/** Latin-script words a user sees outside translate="no" (the language scan's rule). */
export async function latinWords(page) {
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
    if (/[A-Za-z]{2,}/.test(document.title)) out.push(`title: ${document.title}`);
    return out;
  }, ALLOWED);
}
/** Switches `page` to `lang`, keeps its screenshot as SHOTS/`name`-`lang`.png and fails on any Latin-script word. */
export async function noLatinOn(page, name, lang) {
  await setLang(page, lang);
  await page.screenshot({ path: path.join(SHOTS, `${name}-${lang}.png`), fullPage: true });
  assert.deepEqual(await latinWords(page), [], `Latin-script words on ${name} (${lang})`);
}
