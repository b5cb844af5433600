/* The console's shared state (the user's cards, units and calls as the server last told them),
   its constants, and the small helpers every view uses: coded labels, times, badges. */
import { h, toast as kitToast, fmtTime, fmtDateTime, pad } from '../kit/dom.js';
import { t, known } from '../kit/i18n.js';
import { session, hasRole } from '../kit/session.js';
import { lsGet, lsSet } from '../kit/storage.js';

export { fmtTime, fmtDateTime, pad, hasRole };
export const LS_LANG = 'node_console_lang';
export const SS_TOKEN = 'node_console_token';
export const SS_TAB = 'node_console_tab';
const SS_MINE = 'node_console_mine';
export const TERMINAL = ['closed', 'cancelled', 'linked_duplicate'];
export const INWORK = ['dispatched', 'on_scene', 'reported'];
export const ALL_ROLES = ['call_taker', 'dispatcher', 'duty_officer', 'supervisor', 'patrol', 'admin',
  'registrar', 'head', 'appeal_manager', 'appeal_officer'];
const STAFF_ROLES = ['call_taker', 'dispatcher', 'duty_officer', 'supervisor', 'patrol'];

export const S = {
  ref: null,
  cards: {},
  units: {},
  calls: {},
  views: [],
  renderTimer: null,
  mine: []
};

/* Ids of the cards this operator created here (CardSummary has no author), kept per login. */
function mineKey() { return SS_MINE + ':' + (session.user ? session.user.login : ''); }
export function readMine() {
  try { return JSON.parse(lsGet(mineKey()) || '[]') || []; } catch (e) { return []; }
}
export function saveMine() { lsSet(mineKey(), JSON.stringify(S.mine)); }

export function isTerminal(st) { return TERMINAL.indexOf(st) >= 0; }
export function isStaff() { return STAFF_ROLES.some(hasRole); }

export function toast(key, kind) { kitToast({ key: key }, kind, 3500); }
export function toastText(msg) { kitToast(msg, 'err', 5000); }

/* Label attributes for a coded value: reference names first, then the dictionary, then the raw code. */
const REF_PREFIX = { categories: 'category', districts: 'district', duty_units: 'duty', channels: 'channel' };
export function refItem(list, code) {
  const arr = S.ref && S.ref[list];
  if (!arr || code == null) return null;
  for (let i = 0; i < arr.length; i++) {
    const it = arr[i];
    if (it && typeof it === 'object' && it.code === code) return it;
  }
  return null;
}
export function labelAttrs(list, code) {
  const it = refItem(list, code);
  if (it && (it.name_ru || it.name_kk)) return { ref: it };
  const key = (REF_PREFIX[list] || list) + '.' + code;
  if (known(key)) return { i18n: key };
  return { text: code == null ? '' : String(code) };
}
export function label(list, code, cls) {
  const a = labelAttrs(list, code);
  if (cls) a.class = cls;
  return h('span', a);
}
export function keyLabel(prefix, code, cls) {
  const key = prefix + '.' + code;
  if (known(key)) return h('span', { i18n: key, class: cls });
  return h('span', { text: code == null ? '' : String(code), class: cls });
}
export function refOptions(list) {
  const arr = (S.ref && S.ref[list]) || [];
  return arr.map(function (it) {
    const code = typeof it === 'object' ? it.code : it;
    const a = labelAttrs(list, code);
    a.value = code;
    return h('option', a);
  });
}
export function codes(list) {
  return ((S.ref && S.ref[list]) || []).map(function (it) { return typeof it === 'object' ? it.code : it; });
}

export function fmtDur(ms) {
  if (!(ms > 0)) ms = 0;
  const s = Math.floor(ms / 1000);
  const hh = Math.floor(s / 3600), mm = Math.floor((s % 3600) / 60), ss = s % 60;
  return (hh ? hh + ':' + pad(mm) : pad(mm)) + ':' + pad(ss);
}
export function fmtLeft(ms) {
  if (ms <= 0) return t('duty.overdue');
  const m = Math.floor(ms / 60000);
  return t('duty.left') + ' ' + Math.floor(m / 60) + ' ' + t('u.h') + ' ' + pad(m % 60) + ' ' + t('u.min');
}
export function timer(since, cls, tid) {
  return h('span', { class: 'timer ' + (cls || ''), tid: tid, translate: 'no', 'data-since': since || Date.now(), text: fmtDur(Date.now() - (since || Date.now())) });
}
/* A fixed duration (from, to), for a step already done: "en route 04:12". */
export function span(from, to, cls) {
  return h('span', { class: 'timer done ' + (cls || ''), translate: 'no', text: fmtDur(to - from) });
}

export function cardAddress(c) {
  if (!c) return '';
  if (c.address) return c.address;
  if (c.location && c.location.address) return c.location.address;
  return '';
}
export function cardPriority(c) {
  if (c.priority) return c.priority;
  const cat = refItem('categories', c.category);
  return cat && cat.priority ? cat.priority : null;
}
export function statusBadge(st, tid) {
  return h('span', { class: 'badge st st-' + st, i18n: 'status.' + st, 'data-status': st, tid: tid });
}
export function unitStatusBadge(st, tid) {
  return h('span', { class: 'badge ust ust-' + st, i18n: 'ustatus.' + st, 'data-status': st, tid: tid });
}
export function priBadge(p) {
  return h('span', { class: 'badge pri pri-' + (p || 0), text: p ? 'P' + p : '—' });
}
export function unitById(id) { return S.units[id] || null; }
export function unitName(id) { const u = unitById(id); return u ? u.call_sign : id; }
