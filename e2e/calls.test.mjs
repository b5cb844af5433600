// End-to-end test of citizen calls (R03, R09, R10) in a real headless Chromium with fake media
// devices: the citizen test page (/citizen, behaving like the "102" app) calls, a "102" operator
// logged into the console accepts, media flows both ways through the node (checked with
// getStats() on both pages), the card opens pre-filled, the operator hangs up, and a supervisor
// plays the recording, which the audit log records. Also: SOS rings first with its card already
// open (R10), and a call hung up before an answer stays as abandoned with its callback number.
//
// Run: cd e2e && NODE_BIN=../target/debug/node node --test calls.test.mjs
// Env: NODE_BIN (default ../target/debug/node), CHROMIUM (default /usr/bin/chromium).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { chromium } from 'playwright-core';
import { tail, newPage as newPageIn, consoleLogin as consoleLoginAt } from './lib.mjs';
import { CHROMIUM, SHOTS, startNode, stopNode } from './harness.mjs';
// The bootstrap and administrator-set passwords are temporary: activate() sets the owner's own.
const ADMIN_TEMP_PASSWORD = 'e2e-Admin-Temp0rary-2026';
const ADMIN_PASSWORD = 'e2e-Admin-Passw0rd-2026';
const STAFF_TEMP_PASSWORD = 'e2e-Staff-Temp0rary-2026';
const STAFF_PASSWORD = 'e2e-Staff-Passw0rd-2026';
const STEP_TIMEOUT_MS = 20_000;
/** Media must flow within this long after the answer. */
const MEDIA_DEADLINE_MS = 20_000;

const OPERATOR = { login: 'op102_calls', full_name: 'Жанна Серікова (оператор 102)', roles: ['call_taker'] };
const SUPERVISOR = { login: 'sup_calls', full_name: 'Ержан Қасымов (начальник смены)', roles: ['supervisor'] };

let node; // { proc, base, root, logs, exited }
let browser;
const pageErrors = [];
const tokens = {};
const state = {};
const tid = (id) => `[data-testid="${id}"]`;

const api = (method, p, body, token) => node.api(method, p, body, token);

async function loginApi(login, password) {
  return (await api('POST', '/auth/login', { login, password })).token;
}

/* First login with a temporary password: sets the account's own and returns the session token. */
async function activate(login, temporary, own) {
  const token = await loginApi(login, temporary);
  await api('POST', '/auth/password', { current_password: temporary, new_password: own }, token);
  return token;
}

const newPage = (name) => newPageIn(browser, name, pageErrors, STEP_TIMEOUT_MS);
const consoleLogin = (page, login, password) => consoleLoginAt(page, node.base, login, password);

/** Bytes received per media kind on an RTCPeerConnection found by `getPc` in the page. */
async function inboundBytes(page, getPc) {
  return page.evaluate(async (src) => {
    // eslint-disable-next-line no-new-func
    const pc = new Function(`return (${src})()`)();
    if (!pc) return null;
    const out = { audio: 0, video: 0 };
    (await pc.getStats()).forEach((r) => {
      if (r.type === 'inbound-rtp') out[r.kind || r.mediaType] += r.bytesReceived || 0;
    });
    return out;
  }, getPc.toString());
}

async function waitFor(what, fn, deadlineMs = MEDIA_DEADLINE_MS) {
  const deadline = Date.now() + deadlineMs;
  let last;
  for (;;) {
    last = await fn();
    if (last && last.ok) return last;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${deadlineMs} ms (last: ${JSON.stringify(last)})\n${tail(node.logs)}`);
    await delay(200); // poll interval
  }
}

async function citizenCall(page, { channel = 'app102_call', phone = '+77011234567', video = true, sos = false } = {}) {
  await page.goto(node.base + '/citizen');
  await page.locator(tid('channel')).selectOption(channel);
  await page.locator(tid('phone')).fill(phone);
  await page.locator(tid('video')).setChecked(video);
  await page.locator(tid(sos ? 'sos' : 'call')).click();
  await page.waitForFunction(() => document.querySelector('[data-testid="status"]').getAttribute('data-state') === 'ringing');
  return page.evaluate(() => window.citizen.callId);
}

describe('r03_r09_r10_calls_in_headless_chromium: citizen call → operator → recording', { timeout: 300_000 }, () => {
  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    node = await startNode({ name: 'calls' });
    tokens.admin = await activate('admin', ADMIN_TEMP_PASSWORD, ADMIN_PASSWORD);
    for (const u of [OPERATOR, SUPERVISOR]) {
      await api('POST', '/accounts', { ...u, password: STAFF_TEMP_PASSWORD }, tokens.admin);
      await activate(u.login, STAFF_TEMP_PASSWORD, STAFF_PASSWORD);
    }
    tokens.supervisor = await loginApi(SUPERVISOR.login, STAFF_PASSWORD);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync',
        // Fake camera and microphone, permission granted, ICE on loopback (the node's media
        // server listens on 127.0.0.1 in tests).
        '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', '--allow-loopback-in-peer-connection',
        '--autoplay-policy=no-user-gesture-required'],
    });
  });

  after(async () => {
    if (browser) await browser.close().catch(() => {});
    if (node && process.env.E2E_SHOW_LOGS) console.log(tail(node.logs, 20_000));
    await stopNode(node);
  });

  it('serves the citizen page', async () => {
    const r = await fetch(node.base + '/citizen');
    assert.equal(r.status, 200);
    assert.match(await r.text(), /\/citizen\/app\.js/);
    const js = await fetch(node.base + '/citizen/app.js');
    assert.equal(js.status, 200);
    assert.match(await js.text(), /citizen\/v1\/ws/);
  });

  it('r03_call_rings_with_location_operator_accepts_media_flows_both_ways_and_the_card_opens_prefilled', async () => {
    const op = await newPage('operator');
    await consoleLogin(op, OPERATOR.login, STAFF_PASSWORD);
    await op.locator(tid('calls')).waitFor();
    const citizen = await newPage('citizen');
    const callId = await citizenCall(citizen, { phone: '+77015550001' });
    state.callId = callId;
    const row = op.locator(`${tid('call-row')}[data-call="${callId}"]`);
    await row.waitFor();
    assert.equal(await row.getAttribute('data-phase'), 'ringing');
    assert.match(await row.locator(tid('call-loc')).textContent(), /51\.128/);
    assert.match(await row.locator(tid('call-phone')).textContent(), /\+77015550001/);
    // The map shows the caller's point.
    await op.waitForFunction(() => document.querySelector('[data-testid="calls-map"]').getAttribute('data-has-point') === '1');
    await op.screenshot({ path: path.join(SHOTS, 'calls-01-ringing.png') });
    await row.locator(tid('call-accept')).click();
    await op.locator(tid('call-active')).waitFor({ state: 'visible' });
    // R03: the card opens pre-filled with the caller and the location.
    await op.waitForFunction(() => (document.querySelector('[data-testid="ct-number"]').textContent || '').length > 0);
    assert.equal(await op.locator(tid('ct-caller-phone')).inputValue(), '+77015550001');
    assert.equal(Number(await op.locator(tid('ct-lat')).inputValue()), 51.1282);
    assert.equal(Number(await op.locator(tid('ct-lon')).inputValue()), 71.4304);
    await citizen.waitForFunction(() => document.querySelector('[data-testid="status"]').getAttribute('data-state') === 'answered');
    // Media both ways through the node.
    const opIn = await waitFor('operator receives the caller\'s audio and video', async () => {
      const b = await inboundBytes(op, () => window.__console.callPc());
      return { ok: !!b && b.audio > 0 && b.video > 0, ...b };
    });
    const citIn = await waitFor('citizen receives the operator\'s audio', async () => {
      const b = await inboundBytes(citizen, () => window.citizen.pc);
      return { ok: !!b && b.audio > 0, ...b };
    });
    state.media = { operator: opIn, citizen: citIn };
    await op.screenshot({ path: path.join(SHOTS, 'calls-02-answered.png') });
    // The operator fills the card and sends it for processing (R03).
    await op.locator(tid('ct-description')).fill('Звонок через приложение 102: драка у подъезда');
    await op.locator(tid('ct-category')).selectOption({ index: 1 });
    await op.locator(tid('ct-send')).click();
    await op.waitForFunction(() => document.querySelector('[data-testid="ct-status"]').getAttribute('data-status') === 'sent_for_processing');
    state.cardId = (await api('GET', `/calls/${callId}`, undefined, tokens.supervisor)).call.card_id;
    assert.ok(state.cardId, 'the call is linked to its card');
    // Let a couple of seconds of media be recorded (the operator has received ~8 KB of the
    // caller's audio), then hang up from the console.
    await waitFor('a couple of seconds of the caller\'s audio', async () => {
      const b = await inboundBytes(op, () => window.__console.callPc());
      return { ok: !!b && b.audio > 8000, ...b };
    });
    await op.locator(tid('call-hangup')).click();
    await citizen.waitForFunction(() => document.querySelector('[data-testid="status"]').getAttribute('data-state') === 'ended');
    await op.locator(tid('call-active')).waitFor({ state: 'hidden' });
    state.op = op;
  });

  it('r09_the_recording_exists_with_duration_plays_for_the_supervisor_and_the_playback_is_audited', async () => {
    const rec = await waitFor('the call record has its recording', async () => {
      const r = await api('GET', `/calls/${state.callId}`, undefined, tokens.supervisor);
      return { ok: !!r.recording, ...r };
    });
    const audio = rec.recording.files.find((f) => f.name === 'citizen-audio.ogg');
    assert.ok(audio && audio.duration_ms > 500 && audio.bytes > 0, JSON.stringify(rec.recording));
    assert.ok(rec.recording.files.some((f) => f.kind === 'video' && f.duration_ms > 0), 'the caller\'s video is recorded');
    // The operator cannot play recordings (R09: by role).
    const opToken = await loginApi(OPERATOR.login, STAFF_PASSWORD);
    const denied = await fetch(`${node.base}/api/v1/recordings/${state.callId}/files/citizen-audio.ogg`, { headers: { Authorization: `Bearer ${opToken}` } });
    assert.equal(denied.status, 403);
    const sup = await newPage('supervisor');
    await consoleLogin(sup, SUPERVISOR.login, STAFF_PASSWORD);
    await sup.locator(tid('tab-duty')).click();
    const row = sup.locator(`${tid('rec-row')}[data-call="${state.callId}"]`);
    await row.waitFor();
    await row.locator(`${tid('rec-play')}[data-file="citizen-audio.ogg"]`).click();
    const duration = await sup.waitForFunction(() => {
      const a = document.querySelector('[data-testid="rec-audio"]');
      return a && a.readyState >= 1 && isFinite(a.duration) && a.duration > 0 ? a.duration : false;
    });
    assert.ok((await duration.jsonValue()) > 0.5, 'the browser decodes the recording');
    await sup.screenshot({ path: path.join(SHOTS, 'calls-03-recording.png') });
    const audit = await api('GET', '/audit?limit=200', undefined, tokens.supervisor);
    assert.ok(audit.some((e) => e.action === 'recording.play' && e.actor === SUPERVISOR.login && e.target === state.callId),
      'the playback is in the audit log');
  });

  it('r10_sos_rings_first_with_its_card_already_open_and_an_unanswered_call_is_kept_as_abandoned', async () => {
    const op = state.op;
    const first = await newPage('citizen-2');
    const ordinary = await citizenCall(first, { phone: '+77015550002', video: false });
    const sosPage = await newPage('citizen-sos');
    const sos = await citizenCall(sosPage, { phone: '+77015550003', sos: true });
    const sosRow = op.locator(`${tid('call-row')}[data-call="${sos}"]`);
    await sosRow.waitFor();
    await op.waitForFunction((id) => {
      const rows = document.querySelectorAll('[data-testid="call-row"][data-phase="ringing"]');
      return rows.length >= 2 && rows[0].getAttribute('data-call') === id;
    }, sos);
    // R10: the SOS card exists before anyone answers.
    const sosCall = (await api('GET', `/calls/${sos}`, undefined, tokens.supervisor)).call;
    assert.equal(sosCall.channel, 'sos_video');
    assert.ok(sosCall.card_id && sosCall.card_number, 'SOS opens a card at once');
    await sosRow.locator(tid('call-card')).waitFor();
    await op.screenshot({ path: path.join(SHOTS, 'calls-04-sos-first.png') });
    // The ordinary caller gives up before an answer.
    await first.locator(tid('hangup')).click();
    const abandoned = op.locator(`${tid('call-row')}[data-call="${ordinary}"][data-phase="abandoned"]`);
    await abandoned.waitFor();
    assert.match(await abandoned.locator(tid('call-phone')).textContent(), /\+77015550002/);
    await sosPage.locator(tid('hangup')).click();
    await op.locator(`${tid('call-row')}[data-call="${sos}"][data-phase="abandoned"]`).waitFor();
  });

  it('has no page errors', () => {
    assert.deepEqual(pageErrors, []);
  });
});
