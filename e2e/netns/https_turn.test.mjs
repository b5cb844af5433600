// A real network for the node: HTTPS and WSS with the region's own certificates, call media
// through a 1:1 NAT and a real TURN server (coturn), proved across network namespaces.
//
// Topology (topology.sh): the node's host (10.102.1.2), an operator's workstation (10.102.2.2)
// and a citizen's phone (10.102.3.2) behind a router namespace that runs coturn and forwards
// the node's announced media address 10.102.9.2 to 10.102.1.2 (1:1 NAT). The region bundle
// from `provisioning add-region --web-ip 10.102.1.2` gives the node its HTTPS certificate; each
// Chromium trusts the region CA through its own NSS database (certutil), never through
// --ignore-certificate-errors. The node hands out TURN REST credentials and tells browsers to
// use the relay only, so the media path provably goes through coturn.
//
// Checked: the console is a secure context at the node's LAN address; HSTS; plain HTTP (on the
// HTTPS port and on the redirect port) is redirected; an address the certificate does not name
// is refused by the browser; a call from the citizen's host connects through TURN over UDP
// with media both ways and a recording; coturn refuses an expired credential; with UDP blocked
// for the citizen, the call goes through TURN over TCP or TLS.
//
// Needs root, iproute2, nftables, coturn, libnss3-tools, curl, Chromium. Opt-in, because it
// creates namespaces and firewall rules: R102_NETNS=1 (the CI sets it).
//   cd e2e && R102_NETNS=1 NODE_BIN=../target/debug/node PROVISIONING_BIN=../target/debug/provisioning \
//     node --test netns/https_turn.test.mjs

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { tail, newPage as newPageIn, consoleLogin as consoleLoginAt } from '../lib.mjs';

const run = promisify(execFile);
const HERE = path.dirname(fileURLToPath(import.meta.url));
const BIN = (env, rel) => path.resolve(process.cwd(), process.env[env] || path.join(HERE, rel));
const NODE_BIN = BIN('NODE_BIN', '../../target/debug/node');
const PROVISIONING_BIN = BIN('PROVISIONING_BIN', '../../target/debug/provisioning');
const P = process.env.R102_PREFIX || 'r102t';
const NS = { node: `${P}-node`, ws: `${P}-ws`, cit: `${P}-cit`, rt: `${P}-rt` };
const NODE_IP = '10.102.1.2';
/** A second address of the node's host that its certificate does not name. */
const UNNAMED_IP = '10.102.1.3';
/** The node's media address as browsers see it (the router forwards it to NODE_IP). */
const ANNOUNCED_IP = '10.102.9.2';
const TURN_IP = '10.102.1.1';
const HTTPS_PORT = 8443;
const REDIRECT_PORT = 8080;
const ORIGIN = `https://${NODE_IP}:${HTTPS_PORT}`;
const TURN_SECRET = crypto.randomBytes(24).toString('hex');
const ADMIN_TEMP = 'e2e-Admin-Temp0rary-2026';
const ADMIN_OWN = 'e2e-Admin-Passw0rd-2026';
const STAFF_TEMP = 'e2e-Staff-Temp0rary-2026';
const STAFF_OWN = 'e2e-Staff-Passw0rd-2026';
const OPERATOR = { login: 'op102_net', full_name: 'Айгүл Бекова (оператор 102)', roles: ['call_taker'] };
const SUPERVISOR = { login: 'sup_net', full_name: 'Марат Сейітов (начальник смены)', roles: ['supervisor'] };
const STARTUP_DEADLINE_MS = 60_000;
const STEP_TIMEOUT_MS = 30_000;
const MEDIA_DEADLINE_MS = 30_000;
const FLAGS = [
  '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
  '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
  '--autoplay-policy=no-user-gesture-required',
  // Real addresses in candidates, not <uuid>.local: there is no mDNS between namespaces.
  '--disable-features=WebRtcHideLocalIpsWithMdns',
];

const enabled = process.env.R102_NETNS === '1' && process.getuid?.() === 0;
const skip = enabled ? false : 'set R102_NETNS=1 and run as root (creates network namespaces)';

let tmp;
let node; // { proc, logs }
let coturnState;
const browsers = {};
const tokens = {};
const pageErrors = [];
const tid = (id) => `[data-testid="${id}"]`;

function sh(cmd, args, env = {}) {
  return execFileSync(cmd, args, { encoding: 'utf8', env: { ...process.env, R102_PREFIX: P, ...env } });
}

function logs() {
  let turn = '';
  try { turn = fs.readFileSync(path.join(coturnState, 'turnserver.log'), 'utf8'); } catch { /* none yet */ }
  return `\n--- node ---\n${tail(node ? node.logs : '')}\n--- coturn ---\n${tail(turn, 3000)}`;
}

async function until(what, fn, ms = STEP_TIMEOUT_MS) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    last = await fn();
    if (last && (last.ok === undefined || last.ok)) return last;
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms (last: ${JSON.stringify(last)})${logs()}`);
    await new Promise((r) => setTimeout(r, 200)); // poll interval
  }
}

/** curl from the workstation's namespace, trusting only the region CA. */
async function curl(args) {
  const { stdout } = await run('ip', ['netns', 'exec', NS.ws, 'curl', '-sS', '--max-time', '10',
    '--cacert', path.join(tmp, 'ast-bundle', 'ca.crt'), ...args], { encoding: 'utf8' });
  return stdout;
}

/** The node's REST API over HTTPS from the workstation. */
async function api(method, p, body, token) {
  const args = ['-X', method, '-H', 'Accept: application/json', '-w', '\n%{http_code}'];
  if (token) args.push('-H', `Authorization: Bearer ${token}`);
  if (body !== undefined) args.push('-H', 'Content-Type: application/json', '--data-binary', JSON.stringify(body));
  const out = await curl([...args, `${ORIGIN}/api/v1${p}`]);
  const cut = out.lastIndexOf('\n');
  const status = Number(out.slice(cut + 1));
  const text = out.slice(0, cut);
  let data = text;
  try { data = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  if (status < 200 || status > 299) throw new Error(`${method} ${p} → ${status}: ${text}`);
  return data;
}

async function activate(login, temporary, own) {
  const { token } = await api('POST', '/auth/login', { login, password: temporary });
  await api('POST', '/auth/password', { current_password: temporary, new_password: own }, token);
  return token;
}

/** A $HOME whose NSS database trusts `cas` (PEM files): Chromium on Linux reads it. */
function makeHome(name, cas) {
  const home = path.join(tmp, `home-${name}`);
  const db = path.join(home, '.pki', 'nssdb');
  fs.mkdirSync(db, { recursive: true });
  sh('certutil', ['-N', '-d', `sql:${db}`, '--empty-password']);
  cas.forEach((ca, i) => sh('certutil', ['-A', '-d', `sql:${db}`, '-t', 'C,,', '-n', `ca-${i}`, '-i', ca]));
  return home;
}

function launchIn(ns, home) {
  return chromium.launch({
    executablePath: path.join(HERE, 'chromium-in-ns.sh'),
    headless: true,
    env: { ...process.env, R102_NS: ns, HOME: home },
    args: FLAGS,
  });
}

const newPage = (browser, name) => newPageIn(browser, name, pageErrors, STEP_TIMEOUT_MS);
const consoleLogin = (page, login, password) => consoleLoginAt(page, ORIGIN, login, password);

/** The selected candidate pair of a page's peer connection, and bytes per direction. */
async function mediaPath(page, getPc) {
  return page.evaluate(async (src) => {
    // eslint-disable-next-line no-new-func
    const pc = new Function(`return (${src})()`)();
    if (!pc) return null;
    const stats = await pc.getStats();
    const out = { inbound: { audio: 0, video: 0 }, sent: 0 };
    let pair = null;
    stats.forEach((r) => {
      if (r.type === 'inbound-rtp') out.inbound[r.kind] += r.bytesReceived || 0;
      if (r.type === 'outbound-rtp') out.sent += r.bytesSent || 0;
      if (r.type === 'transport' && r.selectedCandidatePairId) pair = stats.get(r.selectedCandidatePairId);
    });
    if (pair) {
      const local = stats.get(pair.localCandidateId);
      const remote = stats.get(pair.remoteCandidateId);
      out.local = { type: local.candidateType, address: local.address, port: local.port, relayProtocol: local.relayProtocol, url: local.url };
      out.all = [];
      stats.forEach((r) => { if (r.type === 'local-candidate' || r.type === 'remote-candidate') out.all.push([r.type, r.candidateType, r.address, r.port]); });
      out.remote = { type: remote.candidateType, address: remote.address, port: remote.port };
    }
    return out;
  }, getPc.toString());
}

/** A citizen's call from the citizen's host; resolves with the call id once it rings. */
async function citizenCall(page, phone) {
  await page.goto(`${ORIGIN}/citizen`);
  await page.locator(tid('channel')).selectOption('app102_call');
  await page.locator(tid('phone')).fill(phone);
  await page.locator(tid('video')).setChecked(true);
  await page.locator(tid('call')).click();
  await page.waitForFunction(() => {
    const s = document.querySelector('[data-testid="status"]').getAttribute('data-state');
    return s === 'ringing' || s === 'error';
  });
  const state = await page.locator(tid('status')).getAttribute('data-state');
  assert.equal(state, 'ringing', `the call did not ring: ${await page.locator(tid('status')).textContent()}${logs()}`);
  return page.evaluate(() => window.citizen.callId);
}

/**
 * One whole call: the citizen calls, the operator accepts in the console, media flows both
 * ways through the relay, the operator hangs up. Returns what both sides' stats showed.
 */
async function relayedCall(phone) {
  const op = await newPage(browsers.ws, 'operator');
  await consoleLogin(op, OPERATOR.login, STAFF_OWN);
  const citizen = await newPage(browsers.cit, 'citizen');
  const callId = await citizenCall(citizen, phone);
  const row = op.locator(`${tid('call-row')}[data-call="${callId}"]`);
  await row.waitFor();
  await row.locator(tid('call-accept')).click();
  await op.locator(tid('call-active')).waitFor({ state: 'visible' });
  await citizen.waitForFunction(() => document.querySelector('[data-testid="status"]').getAttribute('data-state') === 'answered');
  const opSide = await until('the operator receives the caller\'s audio and video through the relay', async () => {
    const m = await mediaPath(op, () => window.__console.callPc());
    return { ok: !!m && m.inbound.audio > 4000 && m.inbound.video > 0 && m.sent > 0, ...m };
  }, MEDIA_DEADLINE_MS);
  const citSide = await until('the citizen receives the operator\'s audio through the relay', async () => {
    const m = await mediaPath(citizen, () => window.citizen.pc);
    return { ok: !!m && m.inbound.audio > 4000 && m.sent > 0, ...m };
  }, MEDIA_DEADLINE_MS);
  await op.locator(tid('call-hangup')).click();
  await citizen.waitForFunction(() => document.querySelector('[data-testid="status"]').getAttribute('data-state') === 'ended');
  await op.context().close();
  await citizen.context().close();
  return { callId, opSide, citSide };
}

describe('https_turn_across_network_namespaces: HTTPS console, WSS signalling, relayed call media', { timeout: 600_000 }, () => {
  before(async () => {
    if (!enabled) return;
    for (const [name, p] of [['node', NODE_BIN], ['provisioning', PROVISIONING_BIN]]) {
      assert.ok(fs.existsSync(p), `${name} binary not found at ${p}`);
    }
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'r102-https-turn-'));
    fs.chmodSync(tmp, 0o755);
    coturnState = path.join(tmp, 'coturn');
    // The region's bundle: its web certificate names the node's LAN address only.
    const prov = (args) => sh(PROVISIONING_BIN, args);
    prov(['init-ca', '--dir', path.join(tmp, 'ca')]);
    prov(['add-region', '--ca', path.join(tmp, 'ca'), '--id', 'AST', '--name-kk', 'Астана қаласы ПД',
      '--name-ru', 'ДП города Астаны', '--central', '10.102.9.9:7102', '--web-ip', NODE_IP,
      '--out', path.join(tmp, 'ast-bundle')]);
    // coturn's own TLS certificate (turns:) comes from a separate test CA.
    sh(path.join(HERE, 'mkcerts.sh'), [path.join(tmp, 'pki')]);
    sh(path.join(HERE, 'topology.sh'), ['up', P]);
    sh(path.join(HERE, 'topology.sh'), ['nat-node', P]);
    sh('ip', ['-n', NS.node, 'addr', 'add', `${UNNAMED_IP}/24`, 'dev', 'eth0']);
    sh(path.join(HERE, 'coturn.sh'), ['start', coturnState, path.join(tmp, 'pki', 'turn.pem'), path.join(tmp, 'pki', 'turn.key')],
      { TURN_SECRET });
    const secretFile = path.join(tmp, 'turn.secret');
    fs.writeFileSync(secretFile, `${TURN_SECRET}\n`, { mode: 0o600 });
    const config = path.join(tmp, 'node.toml');
    fs.writeFileSync(config, [
      '[https]',
      `redirect_listen = "0.0.0.0:${REDIRECT_PORT}"`,
      '[calls]',
      `media_bind_ip = "${NODE_IP}"`,
      `media_announced_ip = "${ANNOUNCED_IP}"`,
      'udp_port_min = 41000',
      'udp_port_max = 41099',
      'ice_transport_policy = "relay"',
      '[calls.turn]',
      `urls = ["turn:${TURN_IP}:3478?transport=udp", "turn:${TURN_IP}:3478?transport=tcp", "turns:${TURN_IP}:5349?transport=tcp"]`,
      'secret_file = "turn.secret"',
      'credential_ttl_s = 3600',
      '',
    ].join('\n'));
    const proc = spawn('ip', ['netns', 'exec', NS.node, NODE_BIN, 'serve', '--bundle', path.join(tmp, 'ast-bundle'),
      '--config', config, '--data', path.join(tmp, 'data'), '--listen', `0.0.0.0:${HTTPS_PORT}`], {
      env: { ...process.env, NODE_ADMIN_PASSWORD: ADMIN_TEMP, RUST_LOG: process.env.RUST_LOG || 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    node = { proc, logs: '', exited: null };
    const keep = (c) => { node.logs += c.toString(); if (node.logs.length > 300_000) node.logs = node.logs.slice(-150_000); };
    proc.stdout.on('data', keep);
    proc.stderr.on('data', keep);
    proc.on('exit', (code, signal) => { node.exited = { code, signal }; });
    await until('the node answers /healthz over HTTPS at its LAN address', async () => {
      if (node.exited) throw new Error(`node exited: ${JSON.stringify(node.exited)}${logs()}`);
      try { return { ok: (await curl(['-o', '/dev/null', '-w', '%{http_code}', `${ORIGIN}/healthz`])) === '200' }; } catch (e) { return { ok: false, error: String(e.message).slice(0, 200) }; }
    }, STARTUP_DEADLINE_MS);
    tokens.admin = await activate('admin', ADMIN_TEMP, ADMIN_OWN);
    for (const u of [OPERATOR, SUPERVISOR]) {
      await api('POST', '/accounts', { ...u, password: STAFF_TEMP }, tokens.admin);
      await activate(u.login, STAFF_TEMP, STAFF_OWN);
    }
    tokens.supervisor = (await api('POST', '/auth/login', { login: SUPERVISOR.login, password: STAFF_OWN })).token;
    const cas = [path.join(tmp, 'ast-bundle', 'ca.crt'), path.join(tmp, 'pki', 'ca.pem')];
    browsers.ws = await launchIn(NS.ws, makeHome('ws', cas));
    browsers.cit = await launchIn(NS.cit, makeHome('cit', cas));
  });

  after(async () => {
    if (!enabled) return;
    for (const b of Object.values(browsers)) await b.close().catch(() => {});
    if (node && !node.exited) {
      const exited = new Promise((r) => node.proc.once('exit', r));
      node.proc.kill('SIGTERM');
      await exited;
    }
    if (process.env.E2E_SHOW_LOGS) console.log(logs());
    try { sh(path.join(HERE, 'coturn.sh'), ['stop', coturnState]); } catch { /* already gone */ }
    try { sh(path.join(HERE, 'topology.sh'), ['down', P]); } catch { /* already gone */ }
    if (tmp && !process.env.KEEP) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('serves the console over HTTPS at the node\'s LAN address as a secure context, with HSTS', { skip }, async () => {
    const page = await newPage(browsers.ws, 'workstation');
    const resp = await page.goto(`${ORIGIN}/`);
    assert.equal(resp.status(), 200);
    assert.match(resp.headers()['strict-transport-security'] || '', /max-age=\d+/);
    assert.equal(await page.evaluate(() => window.isSecureContext), true);
    assert.equal(await page.evaluate(() => location.protocol), 'https:');
    // The session cookie is Secure.
    await consoleLogin(page, OPERATOR.login, STAFF_OWN);
    const cookies = await page.context().cookies();
    assert.ok(cookies.length > 0 && cookies.every((c) => c.secure), JSON.stringify(cookies));
    await page.context().close();
  });

  it('redirects plain HTTP to HTTPS, on the HTTPS port and on the redirect port', { skip }, async () => {
    const samePort = await curl(['-o', '/dev/null', '-w', '%{http_code} %{redirect_url}', `http://${NODE_IP}:${HTTPS_PORT}/citizen`]);
    assert.equal(samePort, `308 ${ORIGIN}/citizen`);
    const redirectPort = await curl(['-o', '/dev/null', '-w', '%{http_code} %{redirect_url}', `http://${NODE_IP}:${REDIRECT_PORT}/`]);
    assert.equal(redirectPort, `308 ${ORIGIN}/`);
    // A browser that is sent to http:// lands on the HTTPS console.
    const page = await newPage(browsers.ws, 'plain-http');
    await page.goto(`http://${NODE_IP}:${REDIRECT_PORT}/`);
    assert.equal(new URL(page.url()).origin, ORIGIN);
    assert.equal(await page.evaluate(() => window.isSecureContext), true);
    await page.context().close();
  });

  it('is refused by the browser at an address its certificate does not name', { skip }, async () => {
    const page = await newPage(browsers.ws, 'unnamed');
    await assert.rejects(page.goto(`https://${UNNAMED_IP}:${HTTPS_PORT}/`), /ERR_CERT_COMMON_NAME_INVALID/);
    await page.context().close();
  });

  it('hands out TURN credentials that coturn accepts until they expire', { skip }, async () => {
    const ice = await api('GET', '/calls/ice-config', undefined, (await api('POST', '/auth/login', { login: OPERATOR.login, password: STAFF_OWN })).token);
    assert.equal(ice.ice_transport_policy, 'relay');
    const turn = ice.ice_servers.find((s) => s.urls.some((u) => u.startsWith('turn:')));
    assert.ok(turn && turn.username && turn.credential, JSON.stringify(ice));
    const expiry = Number(turn.username.split(':')[0]);
    assert.ok(Math.abs(expiry - (Date.now() / 1000 + 3600)) < 120, `expires in about an hour: ${turn.username}`);
    // In the citizen's browser: the node's credential yields a relayed candidate; the same
    // scheme with an expiry in the past does not.
    const page = await newPage(browsers.cit, 'turn-check');
    await page.goto(`${ORIGIN}/citizen`);
    const expired = (() => {
      const username = `${Math.floor(Date.now() / 1000) - 60}:citizen`;
      return { username, credential: crypto.createHmac('sha1', TURN_SECRET).update(username).digest('base64') };
    })();
    const gather = (server) => page.evaluate(async (s) => {
      const pc = new RTCPeerConnection({ iceServers: [s], iceTransportPolicy: 'relay' });
      pc.createDataChannel('probe');
      const found = [];
      pc.onicecandidate = (e) => { if (e.candidate && e.candidate.type) found.push(e.candidate.type); };
      await pc.setLocalDescription(await pc.createOffer());
      const end = Date.now() + 5000;
      while (!found.includes('relay') && pc.iceGatheringState !== 'complete' && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 100));
      }
      pc.close();
      return found;
    }, server);
    const udp = { urls: [`turn:${TURN_IP}:3478?transport=udp`], username: turn.username, credential: turn.credential };
    assert.ok((await gather(udp)).includes('relay'), `the node's credential is accepted${logs()}`);
    assert.ok(!(await gather({ ...udp, ...expired })).includes('relay'), 'an expired credential is refused');
    assert.ok(!(await gather({ ...udp, credential: 'd3JvbmcgcGFzc3dvcmQgZm9yIHR1cm4=' })).includes('relay'), 'a wrong credential is refused');
    await page.context().close();
  });

  it('connects a citizen\'s call through TURN over UDP, media both ways, with a recording', { skip }, async () => {
    const { callId, opSide, citSide } = await relayedCall('+77015550101');
    // Both browsers send through coturn's relay (relay-only policy), and reach the node at the
    // address announced for it, which the router forwards to the node (1:1 NAT).
    assert.equal(citSide.local.type, 'relay', JSON.stringify(citSide));
    assert.equal(citSide.local.relayProtocol, 'udp', JSON.stringify(citSide));
    assert.equal(opSide.local.type, 'relay', JSON.stringify(opSide));
    assert.equal(citSide.remote.address, ANNOUNCED_IP, JSON.stringify(citSide));
    assert.equal(opSide.remote.address, ANNOUNCED_IP, JSON.stringify(opSide));
    const rec = await until('the call record has its recording', async () => {
      const r = await api('GET', `/calls/${callId}`, undefined, tokens.supervisor);
      return { ok: !!r.recording, ...r };
    });
    const audio = rec.recording.files.find((f) => f.name === 'citizen-audio.ogg');
    assert.ok(audio && audio.bytes > 0 && audio.duration_ms > 0, JSON.stringify(rec.recording));
    // The node counted both legs as relayed.
    const metrics = await curl([`${ORIGIN}/metrics`]);
    const relayed = Number((metrics.match(/^node_media_legs_connected_total\{path="relayed"\} (\d+)/m) || [])[1] || 0);
    assert.ok(relayed >= 2, `node_media_legs_connected_total{path="relayed"} = ${relayed}:\n${metrics.split('\n').filter((l) => /media_|turn_/.test(l)).join('\n')}`);
  });

  it('connects through TURN over TCP or TLS when the citizen\'s network blocks UDP', { skip }, async () => {
    sh(path.join(HERE, 'topology.sh'), ['block-udp', P]);
    try {
      const { citSide, opSide } = await relayedCall('+77015550102');
      assert.equal(citSide.local.type, 'relay', JSON.stringify(citSide));
      assert.ok(['tcp', 'tls'].includes(citSide.local.relayProtocol), JSON.stringify(citSide));
      assert.equal(opSide.local.type, 'relay', JSON.stringify(opSide));
      const ruleset = sh('ip', ['netns', 'exec', NS.rt, 'nft', 'list', 'table', 'inet', 'r102']);
      const dropped = [...ruleset.matchAll(/counter packets (\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
      assert.ok(dropped > 0, `the citizen's UDP was really dropped:\n${ruleset}`);
    } finally {
      sh(path.join(HERE, 'topology.sh'), ['unblock-udp', P]);
    }
  });

  it('has no page errors', { skip }, () => {
    assert.deepEqual(pageErrors, []);
  });
});
