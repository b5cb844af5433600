/* The national picture's data: regions, summary and the national queue, refetched on every
   (re)connect of the live events and every 10 s; events update it in between. */
import { reloadDetail } from './detail.js';
import { renderAll, renderQueueList, renderRegions } from './overview.js';
import { QUEUE_LIMIT, S, isOpen, local } from './state.js';
import { api, auth, showError } from '../kit/api.js';
import { qs } from '../kit/dom.js';
import { Live, showLiveState } from '../kit/live.js';
import { endSession, renderLogin, session } from '../kit/session.js';


/* Regions, summary and the national queue together. One load at a time; a request for another
   while one runs makes exactly one more afterwards, so nothing an event announced is missed. */
export function loadAll() {
  if (!auth.token) return Promise.resolve();
  if (S.loading) { S.reloadAgain = true; return S.loading; }
  var seq = ++S.loadSeq;
  var p = Promise.all([
    api('GET', '/regions'),
    api('GET', '/summary'),
    api('GET', '/cards?limit=' + QUEUE_LIMIT)
  ]).then(function (res) {
    if (seq !== S.loadSeq || !session.user) return;
    var now = Date.now();
    S.regions = (res[0] || []).map(function (r) { r._at = now; return r; });
    S.summary = res[1] || {};
    S.skew = S.summary.generated_at ? now - S.summary.generated_at : 0;
    if (Math.abs(S.skew) < 2000) S.skew = 0; // same clock: keep timers on the server's times
    S.queue = (res[2] || []).filter(function (c) { return c && isOpen(c.status); });
    S.loaded = true;
    S.lastRefresh = now;
    showError(qs('#load-error'), null);
    renderAll();
  }).catch(function (e) {
    if (seq !== S.loadSeq || !session.user || e.status === 401) return;
    showError(qs('#load-error'), e);
  }).then(function () {
    if (seq !== S.loadSeq) return;
    S.loading = null;
    if (S.reloadAgain && session.user) { S.reloadAgain = false; loadAll(); }
  });
  S.loading = p;
  return p;
}
/* Several events in a row make one refetch. */
export function scheduleRefresh(ms) {
  if (S.refreshTimer) return;
  S.refreshTimer = setTimeout(function () { S.refreshTimer = null; loadAll(); }, ms == null ? 250 : ms);
}

/* A `region` event carries the link's state (connected, last_contact_ms, disconnected_since_ms,
   connections…) but not the derived fields of GET /regions: those are recomputed here until the
   refetch that every event schedules brings the server's own. */
export function upsertRegion(r) {
  if (!r || !r.region) return;
  var now = Date.now();
  var merged = null;
  for (var i = 0; i < S.regions.length; i++) {
    if (S.regions[i].region === r.region) { merged = Object.assign({}, S.regions[i], r); S.regions[i] = merged; break; }
  }
  if (!merged) { merged = Object.assign({}, r); S.regions.push(merged); }
  merged._at = now;
  if (!Object.prototype.hasOwnProperty.call(r, 'disconnected_for_ms')) {
    merged.disconnected_for_ms = !merged.connected && typeof merged.disconnected_since_ms === 'number'
      ? Math.max(0, now - local(merged.disconnected_since_ms)) : null;
  }
  if (merged.connected) { merged.alert = false; merged.disconnected_for_ms = null; }
}
/* The server's link state code: `connected`, `stalled` (connected, changes pending, nothing
   moving) or `disconnected`; derived from the flags for a hub that sends no code. */
export function linkState(r) {
  if (r.state === 'connected' || r.state === 'stalled' || r.state === 'disconnected') return r.state;
  return r.connected ? (r.stalled ? 'stalled' : 'connected') : 'disconnected';
}
export function upsertCard(c) {
  if (!c || !c.id) return;
  var i, found = -1;
  for (i = 0; i < S.queue.length; i++) {
    if (S.queue[i].id === c.id && (!c.region || S.queue[i].region === c.region)) { found = i; break; }
  }
  if (found >= 0) {
    var old = S.queue[found];
    if (old.updated_at && c.updated_at && old.updated_at > c.updated_at) return;
    if (isOpen(c.status)) S.queue[found] = Object.assign({}, old, c);
    else S.queue.splice(found, 1);
  } else if (isOpen(c.status)) {
    S.queue.push(c);
  }
}


/* Live events (`region`, `card`, `resync`) read with fetch, so that the Bearer token goes in the
   Authorization header; a lost stream is retried after 1, 2, 4 … 15 s. */
export const live = Live({
  fetch: true,
  onEvent: onEvent,
  onState: showLiveState,
  onOpen: loadAll, // first connect and every reconnect: refetch, events may have been missed
  onUnauthorized: endWithLogin,
  alive: function () { return !!session.user; },
  retryMs: 1000,
  retryMaxMs: 15000
});
function endWithLogin() {
  if (!session.user) return;
  endSession();
  renderLogin('login.session_expired');
}
export function connectEvents() {
  if (!auth.token) return;
  live.connect();
}

function onEvent(type, text) {
  var obj = null;
  try { obj = JSON.parse(text); } catch (e) { obj = null; }
  if (type === 'region') {
    if (obj && obj.region) { upsertRegion(obj); renderRegions(); }
    scheduleRefresh(250);
  } else if (type === 'reference') {
    // A region published new reference data: names are fetched again with its next card.
    if (obj && obj.region) delete S.references[obj.region];
  } else if (type === 'resync') {
    scheduleRefresh(0); // the server dropped events for this stream: refetch everything
  } else if (type === 'card') {
    if (obj && obj.id) {
      upsertCard(obj);
      renderQueueList();
      var d = S.detail;
      if (d && d.id === obj.id && (!obj.region || obj.region === d.region)) reloadDetail();
    }
    scheduleRefresh(250);
  }
}
