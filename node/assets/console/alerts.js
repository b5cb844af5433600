/* What in the console alerts by sound and browser notification (the mechanism and the toggles
   are the kit's alerts.js): for a call taker, a call ringing for them (a ring loop while it rings;
   SOS a siren loop, more urgent; the ring is silent while the operator talks on a call, SOS is
   not); for a dispatcher, a card arriving in the ГУСС queue (not those already there at load);
   for a dispatcher or supervisor, a unit overdue (dispatched and not on scene within the
   reference's unit_overdue_after_s), once per unit and dispatch. data.js calls these as the
   data changes; clicking a notification focuses the tab and opens the call or card. The text
   inbox (inbox_data.js): a citizen's new message in a conversation nobody took, or in one the
   operator took, chimes and notifies; an urgent conversation nobody took rings like a call until
   someone takes it (R05: emergencies first). */
import { S, refItem, fmtDur } from './state.js';
import { session, hasRole } from '../kit/session.js';
import { t, lang } from '../kit/i18n.js';
import { qs } from '../kit/dom.js';
import { ssGet, ssSet } from '../kit/storage.js';
import { SOUND, loop, chime, notify, unnotify, setupAlerts, teardownAlerts, alertToggles } from '../kit/alerts.js';

const SS_OVERDUE = 'node_console_alerted_overdue';
const SOS_CHANNEL = 'sos_video';

const W = {
  ringing: {},    // call id -> what was told while it rings for this operator
  queue: {},      // card id -> true while it is in the ГУСС queue
  loaded: false,  // the first full load is done: later arrivals are news
  overdue: {},    // unit id -> the dispatch (episode) already alerted
  callRing: false, // a call rings for this operator (and they are not talking)
  urgent: {}      // conversation id -> true while it is urgent and nobody took it
};

function me() { return session.user ? session.user.login : ''; }
function fill(key, vars) {
  return t(key).replace(/\{(\w+)\}/g, function (m, k) { return vars[k] == null ? '' : String(vars[k]); });
}
function refText(list, code, prefix) {
  const it = refItem(list, code);
  if (it && (it.name_ru || it.name_kk)) return (lang() === 'kk' ? it.name_kk || it.name_ru : it.name_ru || it.name_kk);
  return t(prefix + '.' + code);
}
function join(parts) { return parts.filter(function (p) { return !!p; }).join(' · '); }
function overdueKey() { return SS_OVERDUE + ':' + me(); }

/* Opens a tab and clicks an element in it, as the user would. */
function open(tab, selector) {
  return function () {
    const b = qs('[data-testid="tab-' + tab + '"]');
    if (b) b.click();
    const el = selector ? qs(selector) : null;
    if (el) el.click();
  };
}

/** The header toggles; (re)starts the alerts for the logged-in user. */
export function alertsHeader() {
  W.ringing = {};
  W.queue = {};
  W.loaded = false;
  W.urgent = {};
  W.callRing = false;
  try { W.overdue = JSON.parse(ssGet(overdueKey()) || '{}') || {}; } catch (e) { W.overdue = {}; }
  setupAlerts(me());
  return alertToggles({
    sound: 'alert.sound', notify: 'alert.notify', soundTip: 'alert.sound.tip', notifyTip: 'alert.notify.tip',
    on: 'alert.on', off: 'alert.off', ask: 'alert.ask', denied: 'alert.denied', unsupported: 'alert.unsupported'
  });
}
/** Logout: silence. */
export function alertsOff() {
  W.ringing = {};
  W.queue = {};
  W.loaded = false;
  W.urgent = {};
  W.callRing = false;
  teardownAlerts();
}

function ringsForMe(c) {
  return c.phase === 'ringing' && (!c.offered_to || c.offered_to === me());
}
/** The calls changed (an event or a reload): ring, notify, or stop. */
export function alertCalls() {
  if (!hasRole('call_taker')) return;
  const calls = Object.keys(S.calls).map(function (id) { return S.calls[id]; });
  const ringing = calls.filter(ringsForMe);
  const talking = calls.some(function (c) { return c.phase === 'answered' && c.operator === me(); });
  Object.keys(W.ringing).forEach(function (id) {
    if (ringing.some(function (c) { return c.id === id; })) return;
    delete W.ringing[id];
    unnotify('call-' + id);
  });
  ringing.forEach(function (c) {
    // Told once per call; again (replacing it, same tag) when the SOS card's number arrives.
    const seen = 'n' + (c.card_number || '');
    if (W.ringing[c.id] === seen) return;
    W.ringing[c.id] = seen;
    const sos = c.channel === SOS_CHANNEL;
    const phone = c.caller && c.caller.phone;
    notify('call-' + c.id, t(sos ? 'alert.sos.title' : 'alert.call.title'),
      join([refText('channels', c.channel, 'channel'), c.card_number ? t('alert.card') + ' ' + c.card_number : '', phone]),
      open('call_taker', '[data-testid="call-row"][data-call="' + c.id + '"]'));
  });
  loop(SOUND.sos, ringing.some(function (c) { return c.channel === SOS_CHANNEL; }));
  W.callRing = !talking && ringing.some(function (c) { return c.channel !== SOS_CHANNEL; });
  syncRing();
}
/* The ring loop: a call ringing, or an urgent text nobody took. */
function syncRing() {
  loop(SOUND.ring, W.callRing || Object.keys(W.urgent).length > 0);
}

/** A conversation's summary changed (`old`: the one known before; `news`: after the first load). */
export function alertInbox(c, old, news) {
  if (!hasRole('call_taker') || !c || !c.id) return;
  const free = c.state === 'unassigned';
  const urgentNow = !!c.urgent && free;
  if (urgentNow !== !!W.urgent[c.id]) {
    if (urgentNow) W.urgent[c.id] = true; else delete W.urgent[c.id];
    syncRing();
  }
  if (!free && c.assignee !== me()) { unnotify('conv-' + c.id); return; }
  const last = c.last_message;
  const fresh = last && last.direction === 'in' && (!old || !old.last_message || old.last_message.at_ms < last.at_ms);
  if (!news || !fresh) return;
  if (!urgentNow) chime(SOUND.queue);
  const who = c.citizen && (c.citizen.name || c.citizen.phone || c.citizen.email);
  notify('conv-' + c.id, t(c.urgent ? 'alert.inbox.urgent.title' : 'alert.inbox.title'),
    join([refText('channels', c.channel, 'channel'), who || c.address_display, (last.text || '').slice(0, 120)]),
    open('inbox', '[data-testid="conv-row"][data-id="' + c.id + '"]'));
}

/** A card changed: a new one in the ГУСС queue chimes for a dispatcher. */
export function alertCard(card) {
  if (!card || !card.id) return;
  if (card.status !== 'sent_for_processing') {
    if (W.queue[card.id]) { delete W.queue[card.id]; unnotify('card-' + card.id); }
    return;
  }
  if (W.queue[card.id]) return;
  W.queue[card.id] = true;
  if (!W.loaded || !hasRole('dispatcher') || card.created_by === me()) return;
  chime(SOUND.queue);
  notify('card-' + card.id, t('alert.queue.title'),
    join([t('alert.card') + ' ' + (card.number || ''), card.category ? refText('categories', card.category, 'category') : '', card.address || '']),
    open('dispatcher', '[data-testid="panel-dispatcher"] [data-number="' + card.number + '"]'));
}
/** The cards were (re)loaded: those in the queue now are known; only later arrivals alert. */
export function alertsLoaded() {
  Object.keys(S.cards).forEach(function (id) { alertCard(S.cards[id]); });
  W.loaded = true;
}

/** Every second: a unit that became overdue beeps and notifies, once per dispatch. */
export function alertUnits(now) {
  if (!hasRole('dispatcher') && !hasRole('supervisor')) return;
  const lim = ((S.ref && S.ref.unit_overdue_after_s) || 0) * 1000;
  let changed = false;
  Object.keys(S.units).forEach(function (id) {
    const u = S.units[id];
    const since = Number(u.dispatched_at || u.status_since) || 0;
    const moving = u.status === 'assigned' || u.status === 'en_route';
    const od = moving && (u.overdue || (lim > 0 && now - since > lim));
    const episode = String(u.dispatched_at || u.card_id || since);
    if (!od) {
      if (W.overdue[id] && !moving) { delete W.overdue[id]; unnotify('unit-' + id); changed = true; }
      return;
    }
    if (W.overdue[id] === episode) return;
    W.overdue[id] = episode;
    changed = true;
    const card = u.card_id ? S.cards[u.card_id] : null;
    chime(SOUND.overdue);
    notify('unit-' + id, t('alert.overdue.title'),
      join([fill('alert.overdue.body', { unit: u.call_sign || id, time: fmtDur(now - since) }),
        card && card.number ? t('alert.card') + ' ' + card.number : '']),
      open('dispatcher', '[data-testid="unit-row-' + id + '"] a'));
  });
  if (changed) ssSet(overdueKey(), JSON.stringify(W.overdue));
}

/* R22: a beat whose quarter warns (at risk: the last day to notice a meeting is near and none is
   noticed; missed) is told to its inspector and the office's head: a beep and a notification
   once per beat, quarter and state in this browser session, and a mark on the meetings tabs
   while any beat warns. `cov` is GET /meetings/coverage. */
const SS_MEETINGS = 'node_console_alerted_meetings';
export function alertMeetings(cov) {
  if (!cov || !Array.isArray(cov.beats)) return;
  const k = SS_MEETINGS + ':' + me();
  let told = {};
  try { told = JSON.parse(ssGet(k) || '{}') || {}; } catch (e) { told = {}; }
  const warning = cov.beats.filter(function (b) { return b.warning; });
  let changed = false;
  warning.forEach(function (b) {
    const state = b.coverage && b.coverage.state;
    const key = cov.quarter + '/' + b.beat;
    if (told[key] === state) return;
    told[key] = state;
    changed = true;
    chime(SOUND.overdue);
    const name = lang() === 'kk' ? b.name_kk || b.name_ru : b.name_ru || b.name_kk;
    const tab = qs('[data-testid="tab-meetings"]') ? 'meetings' : 'meetings_control';
    notify('beat-' + b.beat, t('alert.meeting.title'), join([name, t('mt.warning.' + state)]), open(tab, null));
  });
  if (changed) ssSet(k, JSON.stringify(told));
  ['meetings', 'meetings_control'].forEach(function (tab) {
    const btn = qs('[data-testid="tab-' + tab + '"]');
    if (!btn) return;
    let mark = btn.querySelector('.tab-warn');
    if (warning.length && !mark) {
      mark = document.createElement('span');
      mark.className = 'tab-warn';
      mark.setAttribute('data-testid', 'tab-' + tab + '-warn');
      btn.insertBefore(mark, btn.firstChild);
    }
    if (mark) {
      mark.textContent = warning.length ? '! ' + warning.length : '';
      mark.setAttribute('data-i18n-title', 'alert.meeting.title');
      mark.setAttribute('title', t('alert.meeting.title'));
      if (!warning.length) mark.remove();
    }
  });
}
