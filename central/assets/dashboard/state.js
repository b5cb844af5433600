/* The dashboard's state (the national picture as last loaded), its constants, and the helpers
   every view uses: coded labels, durations, regions, badges. */
import { h, qs, qsa, fmtTime, fmtDateTime as dateTime, pad, toast as kitToast } from '../kit/dom.js';
import { t, known } from '../kit/i18n.js';
import { lsGet } from '../kit/storage.js';

export const LS_LANG = 'central_dashboard_lang';
export const LS_MODE = 'central_dashboard_chart_mode';
export const SS_TOKEN = 'central_dashboard_token';
export const SS_USER = 'central_dashboard_user';
export const REFRESH_MS = 10000;
export const QUEUE_LIMIT = 500;
export const HOUR = 3600 * 1000;
export const DAY = 24 * HOUR;
export const KZ_OFFSET = 5 * HOUR; // the hub's per-day statistics count Kazakhstan days (UTC+5)
export const OPEN = ['new', 'sent_for_processing', 'dispatched', 'on_scene', 'reported'];
export const TERMINAL = ['closed', 'cancelled', 'linked_duplicate'];
// Who reads the national picture; the account administrator manages HQ accounts only.
export const HQ_ROLES = ['hq_duty', 'hq_analyst'];
export const ACCOUNT_ROLES = ['hq_duty', 'hq_analyst', 'kb_editor', 'admin'];
export const CHANNELS = ['app102_call', 'app102_text', 'zakon_poryadok_call', 'zakon_poryadok_text', 'sos_video',
  'telegram', 'vkontakte', 'web_widget', 'email'];
export const STATUS_COLOR = {
  'new': '#9aa6b2', sent_for_processing: '#f0a030', dispatched: '#4a86d0', on_scene: '#8a63cf',
  reported: '#2fa39a', closed: '#4f9d63', cancelled: '#b0b0b0', linked_duplicate: '#c4c4c4'
};
export const PALETTE = ['#1f5fa8', '#e8710a', '#2d7d46', '#b3261e', '#8a63cf', '#0f8b8d', '#c9a227', '#6b4d9e',
  '#d45087', '#5c7a29', '#7a3d00', '#3e6e9e', '#a05195', '#00876c', '#ef5675', '#665191'];

export const S = {
  regions: [],
  summary: null,
  skew: 0,
  queue: [],
  loaded: false,
  loadSeq: 0,
  loading: null,
  reloadAgain: false,
  refreshTimer: null,
  pollTimer: null,
  mode: lsGet(LS_MODE) === 'channel' ? 'channel' : 'region',
  filterRegion: '',
  filterStatus: '',
  detail: null,
  /* Each region's reference data as the hub received it from the region's node, by code:
     { received, reference } (GET /regions/{code}/reference); dropped on a `reference` event. */
  references: {},
  lastRefresh: 0
};

export function toast(text, kind) { kitToast(text, kind, 4000); }
/* Dates with seconds: HQ compares events across regions. */
export function fmtDateTime(ms) { return dateTime(ms, true); }
export function isOpen(st) { return TERMINAL.indexOf(st) < 0; }
export function num(v) { return typeof v === 'number' && isFinite(v) ? v : 0; }
export function hasHqRole(u) {
  return !!(u && u.roles && u.roles.some(function (r) { return HQ_ROLES.indexOf(r) >= 0; }));
}
/* A coded value: the dictionary's text for prefix.code when there is one, else the code itself. */
export function codeLabel(prefix, code, cls) {
  if (code == null || code === '') return h('span', { class: 'muted' + (cls ? ' ' + cls : ''), i18n: 'none' });
  var key = prefix + '.' + code;
  if (known(key)) return h('span', { i18n: key, class: cls, 'data-code': code });
  // A code with no name here (a region's own district or duty unit before its data arrived).
  return h('span', { data: String(code), class: cls, 'data-code': code });
}
/* A category, district or duty unit of a region under its own name, from the region's reference
   data (`list`: 'categories', 'districts', 'duty_units'), in the user's language; the code (or
   its dictionary name) when the region's data has not arrived or does not list it. */
/* A region's reference item ({code, name_kk, name_ru}) of `list`, or null. */
export function refItem(region, list, code) {
  var got = S.references[region];
  var items = got && got.reference && got.reference[list];
  for (var i = 0; items && i < items.length; i++) if (items[i].code === code) return items[i];
  return null;
}
export function refLabel(region, list, prefix, code) {
  var item = refItem(region, list, code);
  if (!item) return codeLabel(prefix, code);
  return h('span', { ref: item, 'data-code': code });
}
export function codeText(prefix, code) {
  var key = prefix + '.' + code;
  return known(key) ? t(key) : String(code);
}
/* A duration in words: "2 сут 3 ч", "1 ч 05 мин", "4 мин 09 с", "12 с". */
export function fmtDur(ms) {
  if (!(ms > 0)) ms = 0;
  var s = Math.floor(ms / 1000);
  var d = Math.floor(s / 86400), hh = Math.floor((s % 86400) / 3600), mm = Math.floor((s % 3600) / 60), ss = s % 60;
  if (d) return d + ' ' + t('u.d') + ' ' + hh + ' ' + t('u.h');
  if (hh) return hh + ' ' + t('u.h') + ' ' + pad(mm) + ' ' + t('u.min');
  if (mm) return mm + ' ' + t('u.min') + ' ' + pad(ss) + ' ' + t('u.s');
  return ss + ' ' + t('u.s');
}
/* A live duration counted from `since` (local clock); tick() keeps it current. */
export function timer(since, cls, tid) {
  return h('span', { class: 'timer' + (cls ? ' ' + cls : ''), 'data-since': since, tid: tid, text: fmtDur(Date.now() - since) });
}
/* A server time on the local clock (the summary's generated_at gives the offset). */
export function local(ms) { return ms + S.skew; }
export function regionInfo(code) {
  for (var i = 0; i < S.regions.length; i++) if (S.regions[i].region === code) return S.regions[i];
  return null;
}
export function regionNames(code) {
  var r = regionInfo(code);
  if (!r) return null;
  var ru = r.name_ru || r.name || r.name_kk || '';
  var kk = r.name_kk || ru;
  return ru || kk ? { ru: ru, kk: kk } : null;
}
export function regionLabel(code, withName) {
  var names = withName ? regionNames(code) : null;
  return h('span', { class: 'reg' }, [
    h('span', { class: 'reg-code mono', data: code }),
    names ? h('span', { class: 'reg-name', names: names }) : null
  ]);
}
export function statusBadge(st, tid) {
  return h('span', { class: 'badge st st-' + st, 'data-status': st, tid: tid }, codeLabel('status', st));
}
export function priBadge(p) {
  return h('span', { class: 'badge pri pri-' + (p || 0), text: p ? 'P' + p : '—' });
}
export function waitingSince(c) { return local(c.sent_for_processing_at || c.created_at || Date.now()); }

/* Keeps live durations and the clock current (every second and after a language switch). */
export function tick() {
  var now = Date.now();
  qsa('[data-since]').forEach(function (el) {
    el.textContent = fmtDur(now - Number(el.getAttribute('data-since')));
  });
  var clock = qs('#clock');
  if (clock) clock.textContent = fmtTime(now);
}
