/* The text inbox's live data (R01, R05): the conversations the operator's lists show, loaded from
   GET /inbox?state=unassigned|mine|waiting and kept current by the live stream's `conversation`
   events (each a conversation summary). The Inbox view subscribes with onInbox; alerts.js is
   told of every change (a new citizen's message chimes, an urgent one rings like a call). */
import { api } from '../kit/api.js';
import { hasRole, session } from '../kit/session.js';
import { alertInbox } from './alerts.js';

/** The lists the Inbox tab shows, in order; `closed` is loaded only when asked for. */
export const INBOX_LISTS = ['unassigned', 'mine', 'waiting', 'closed'];
const LIVE_LISTS = ['unassigned', 'mine', 'waiting'];

export const INBOX = {
  convs: {},      // id -> the last summary seen (live lists only)
  closed: [],     // the closed list, when asked for
  loaded: false,
  listeners: []
};

export function seesInbox() { return hasRole('call_taker') || hasRole('supervisor'); }
function me() { return session.user ? session.user.login : ''; }

/** Which live list a summary belongs to (null: none; a closed one leaves them). */
export function listOf(c) {
  if (!c) return null;
  if (c.state === 'unassigned') return 'unassigned';
  if (c.state === 'closed') return 'closed';
  if (c.assignee !== me()) return null;
  return c.state === 'waiting_citizen' ? 'waiting' : 'mine';
}

/** The conversations of a list, most urgent and newest first. */
export function inboxList(name) {
  if (name === 'closed') return INBOX.closed.slice();
  return Object.keys(INBOX.convs).map(function (id) { return INBOX.convs[id]; })
    .filter(function (c) { return listOf(c) === name; })
    .sort(function (a, b) {
      if (!!a.urgent !== !!b.urgent) return a.urgent ? -1 : 1;
      return (b.updated_at_ms || 0) - (a.updated_at_ms || 0);
    });
}

function changed(c) {
  INBOX.listeners.forEach(function (fn) { fn(c); });
}
export function onInbox(fn) { INBOX.listeners.push(fn); }

/** A summary from an event or an answer: kept if newer than what is known. */
export function upsertConversation(c) {
  if (!c || !c.id) return;
  const old = INBOX.convs[c.id];
  if (old && old.updated_at_ms > c.updated_at_ms) return;
  INBOX.convs[c.id] = c;
  alertInbox(c, old || null, INBOX.loaded);
  changed(c);
}

/** (Re)loads the live lists (the first load and every reconnect of the live stream). */
export function loadInbox() {
  if (!seesInbox()) return Promise.resolve();
  return Promise.all(LIVE_LISTS.map(function (l) {
    return api('GET', '/inbox?state=' + l).then(function (r) { return (r && r.conversations) || []; });
  })).then(function (lists) {
    const fresh = {};
    lists.forEach(function (list) { list.forEach(function (c) { fresh[c.id] = c; }); });
    Object.keys(INBOX.convs).forEach(function (id) {
      const old = INBOX.convs[id];
      if (fresh[id] && fresh[id].updated_at_ms < old.updated_at_ms) fresh[id] = old;
    });
    const first = !INBOX.loaded;
    Object.keys(fresh).forEach(function (id) { alertInbox(fresh[id], INBOX.convs[id] || null, !first); });
    INBOX.convs = fresh;
    INBOX.loaded = true;
    changed(null);
  });
}

/** The closed list (asked for when the operator opens it). */
export function loadClosed() {
  return api('GET', '/inbox?state=closed').then(function (r) {
    INBOX.closed = (r && r.conversations) || [];
    changed(null);
  });
}

export function resetInbox() {
  INBOX.convs = {};
  INBOX.closed = [];
  INBOX.loaded = false;
  INBOX.listeners = [];
}
