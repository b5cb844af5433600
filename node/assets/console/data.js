/* The console's live data: cards, units and calls loaded from the API and kept current by the
   event stream (SSE); views get onCard/onUnit/onCall/onReload and a batched render. Also the
   clock that keeps timers, deadlines and overdue units current. */
import { qs, qsa, fmtTime } from '../kit/dom.js';
import { api, auth, errText } from '../kit/api.js';
import { session, hasRole } from '../kit/session.js';
import { Live, showLiveState } from '../kit/live.js';
import { S, isTerminal, isStaff, cardAddress, fmtDur, fmtLeft, toastText } from './state.js';
import { alertCalls, alertCard, alertsLoaded, alertUnits } from './alerts.js';
import { upsertConversation, loadInbox } from './inbox_data.js';

export function tick() {
  const now = Date.now();
  qsa('[data-since]').forEach(function (el) {
    el.textContent = fmtDur(now - Number(el.getAttribute('data-since')));
  });
  qsa('[data-deadline]').forEach(function (el) {
    const left = Number(el.getAttribute('data-deadline')) - now;
    el.textContent = fmtLeft(left);
    el.classList.toggle('late', left <= 0);
    el.classList.toggle('soon', left > 0 && left < 3 * 3600 * 1000);
  });
  // A unit's time to arrival on a card (R20): red past the region's limit.
  qsa('[data-arrive-by]').forEach(function (el) {
    el.classList.toggle('overdue', now > Number(el.getAttribute('data-arrive-by')));
  });
  const lim = ((S.ref && S.ref.unit_overdue_after_s) || 0) * 1000;
  qsa('[data-unit-status]').forEach(function (el) {
    const st = el.getAttribute('data-unit-status');
    const since = Number(el.getAttribute('data-unit-dispatched') || el.getAttribute('data-unit-since'));
    const od = el.getAttribute('data-srv-overdue') === '1' ||
      ((st === 'assigned' || st === 'en_route') && lim > 0 && now - since > lim);
    el.classList.toggle('overdue', od);
    el.setAttribute('data-overdue', od ? '1' : '0');
  });
  const clock = qs('#clock');
  if (clock) clock.textContent = fmtTime(now);
  alertUnits(now);
}

export function summaryOf(card) {
  return {
    id: card.id, number: card.number, status: card.status, channel: card.channel,
    category: card.category, priority: card.priority, district: card.district,
    created_at: card.created_at, updated_at: card.updated_at, created_by: card.created_by,
    address: cardAddress(card), forwarded_to: card.forwarded_to, description: card.description
  };
}
export function upsertCard(s) {
  if (!s || !s.id) return;
  const old = S.cards[s.id];
  if (old && old.updated_at && s.updated_at && old.updated_at > s.updated_at) return;
  S.cards[s.id] = old ? Object.assign({}, old, s) : s;
  alertCard(S.cards[s.id]);
  S.views.forEach(function (v) { if (v.onCard) v.onCard(S.cards[s.id]); });
  scheduleRender();
}
export function upsertUnit(u) {
  if (!u || !u.id) return;
  S.units[u.id] = u;
  S.views.forEach(function (v) { if (v.onUnit) v.onUnit(u); });
  scheduleRender();
}
export function upsertCall(c) {
  if (!c || !c.id) return;
  S.calls[c.id] = c;
  alertCalls();
  S.views.forEach(function (v) { if (v.onCall) v.onCall(c); });
  scheduleRender();
}
export function seesCalls() { return hasRole('call_taker') || hasRole('supervisor'); }
export function loadCalls() {
  if (!seesCalls()) return Promise.resolve();
  return api('GET', '/calls').then(function (list) {
    const calls = {};
    (list || []).forEach(function (c) { calls[c.id] = c; });
    S.calls = calls;
    alertCalls();
    scheduleRender();
  }, function () { /* shown by the cards' reload */ });
}
export function scheduleRender() {
  if (S.renderTimer) return;
  S.renderTimer = setTimeout(function () {
    S.renderTimer = null;
    S.views.forEach(function (v) { if (v.render) v.render(); });
    tick();
  }, 30);
}

export function loadAll() {
  if (!isStaff()) return Promise.resolve();
  const started = Date.now();
  return Promise.all([api('GET', '/cards?limit=500'), api('GET', '/units')]).then(function (res) {
    const cards = {};
    (res[0] || []).forEach(function (c) { cards[c.id] = c; });
    Object.keys(S.cards).forEach(function (id) {
      const old = S.cards[id];
      const fresh = cards[id];
      if (!fresh) {
        // Not open any more (or created after the request left): keep what the events told us.
        if (isTerminal(old.status) || (old.updated_at && old.updated_at >= started - 1000)) cards[id] = old;
      } else if (old.updated_at && fresh.updated_at && old.updated_at > fresh.updated_at) {
        cards[id] = old;
      }
    });
    S.cards = cards;
    alertsLoaded();
    const units = {};
    (res[1] || []).forEach(function (u) { units[u.id] = u; });
    S.units = units;
    S.views.forEach(function (v) { if (v.onReload) v.onReload(); });
    scheduleRender();
    loadInbox().catch(function () { /* the Inbox tab shows its own error */ });
    return loadCalls();
  }).catch(function (e) {
    if (e.status !== 401) toastText(errText(e));
  });
}


/* ------------------------------------------------------------------ connection to the node */

/* Whether the node answered the last request. A request that could not reach it turns the
   console to "no connection" (the top bar and a banner say so); a probe every
   PROBE_INTERVAL_MS asks the node again, and when it answers, every onReconnect hook runs (a
   form resends what it could not send). */
const PROBE_INTERVAL_MS = 3000;
const reconnectHooks = [];
let probeTimer = null;
export function onReconnect(fn) { reconnectHooks.push(fn); }
function reachable(ok) {
  const was = S.reachable !== false;
  S.reachable = ok;
  document.body.classList.toggle('no-connection', !ok);
  if (!ok) {
    showLiveState('offline');
    if (!probeTimer && session.user) {
      probeTimer = setInterval(function () { api('GET', '/me').catch(function () { return null; }); }, PROBE_INTERVAL_MS);
    }
  } else {
    if (probeTimer) { clearInterval(probeTimer); probeTimer = null; }
    if (!was) {
      if (!live.current) connectEvents();
      reconnectHooks.forEach(function (fn) { fn(); });
    }
  }
}
auth.onReachable = reachable;
export function stopProbe() {
  if (probeTimer) { clearInterval(probeTimer); probeTimer = null; }
  reconnectHooks.length = 0;
  S.reachable = true;
  document.body.classList.remove('no-connection');
}

const UPSERT = { card: upsertCard, unit: upsertUnit, call: upsertCall, conversation: upsertConversation };
/* The browser's EventSource with the session cookie. A stream closed for good (for example a 401
   or a server restart) reconnects once GET /me says the session still lives. */
export const live = Live({
  events: ['card', 'unit', 'call', 'conversation'],
  onEvent: function (type, text) {
    try { UPSERT[type](JSON.parse(text)); } catch (e) { /* malformed event */ }
  },
  onState: function (st) { showLiveState(S.reachable === false && st !== 'online' ? 'offline' : st); },
  onOpen: loadAll, // first connect and every reconnect: refetch, events may have been missed
  onUnauthorized: function () { /* EventSource cannot see the status; check() does */ },
  alive: function () { return !!session.user; },
  check: function () { return api('GET', '/me'); },
  retryMs: 2000,
  retryMaxMs: 3000
});
export function connectEvents() {
  if (!isStaff() || typeof window.EventSource !== 'function') return;
  live.connect();
}
