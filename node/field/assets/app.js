/* The patrol's field terminal (FieldTerminal): native ES modules for Chrome >= 86, no build
   step. The shared kit (../kit/) gives the element helper, i18n and error texts; the terminal's
   own local API is /field/v1 (fapi.js). Everything works without a network: the terminal
   program on this device writes each action to its encrypted store and syncs with the node when
   it can. */
import { h, qs, clear, langButton, fmtDateTime, toast } from '../kit/dom.js';
import { setupI18n, applyLang, t, onLangToggled } from '../kit/i18n.js';
import { fapi } from './fapi.js';
import DICTS from './i18n.js';
import { renderLogin } from './views/login.js';
import { renderAssignments } from './views/assignment.js';

const LS_LANG = 'field.lang';
/* How often the UI reads the terminal's state and pack, ms (a local request). */
const POLL_MS = 3000;
/* At most one activity report per this many ms (taps reset the idle timeout). */
const ACTIVITY_REPORT_MS = 30000;

setupI18n(DICTS, LS_LANG);

export const S = { state: null, view: null, lastActivity: 0, geoWatch: null };

function renderBanner(st) {
  const el = qs('#banner');
  const link = st.link || {};
  const banner = link.banner || 'idle';
  el.className = 'banner banner-' + banner;
  el.setAttribute('data-state', banner);
  clear(el);
  el.appendChild(h('span', { i18n: 'banner.' + banner, tid: 'link-state' }));
  if (st.officer) {
    el.appendChild(h('span', { class: 'banner-item' }, [
      h('span', { i18n: 'banner.pending' }), ': ',
      h('b', { data: String(link.pending || 0), tid: 'pending-count' })]));
  }
  if (link.last_sync_ms) {
    el.appendChild(h('span', { class: 'banner-item' }, [
      h('span', { i18n: 'banner.last_sync' }), ': ', h('span', { data: fmtDateTime(link.last_sync_ms, true) })]));
  }
}

function header(st) {
  return h('header', { class: 'term-head' }, [
    h('div', { class: 'term-who' }, [
      h('span', { i18n: 'term.unit' }), ' ', h('b', { data: st.region + ' / ' + st.unit, tid: 'unit-id' }),
      st.officer ? [' · ', h('span', { i18n: 'term.officer' }), ' ', h('b', { data: st.officer, tid: 'officer' })] : null,
      st.expires_at_ms ? [' · ', h('span', { i18n: 'term.shift_ends' }), ' ', h('span', { data: fmtDateTime(st.expires_at_ms) })] : null
    ]),
    h('div', { class: 'term-actions' }, [
      langButton(),
      st.officer ? h('button', { type: 'button', class: 'btn', tid: 'logout', i18n: 'term.logout', onclick: logout }) : null
    ])
  ]);
}

function logout() {
  fapi('POST', '/logout').then(refresh, function (e) { toast(e, 'err'); });
}

/* Geolocation fixes go to the terminal, which keeps those its throttle takes. */
function startGeo() {
  if (S.geoWatch != null || !navigator.geolocation) return;
  S.geoWatch = navigator.geolocation.watchPosition(function (p) {
    const c = p.coords;
    const fix = { at_ms: Math.round(p.timestamp || Date.now()), lat: c.latitude, lon: c.longitude };
    if (c.accuracy != null) fix.accuracy_m = c.accuracy;
    if (c.speed != null && c.speed >= 0) fix.speed_kmh = c.speed * 3.6;
    if (c.heading != null && !isNaN(c.heading)) fix.heading_deg = Math.round(c.heading) % 360;
    fapi('POST', '/position', fix).catch(function () { /* a refused fix is dropped */ });
  }, function () {
    const el = qs('#gps');
    if (el) { el.setAttribute('data-i18n', 'gps.off'); el.textContent = t('gps.off'); }
  }, { enableHighAccuracy: true, maximumAge: 5000, timeout: 30000 });
}
function stopGeo() {
  if (S.geoWatch != null && navigator.geolocation) navigator.geolocation.clearWatch(S.geoWatch);
  S.geoWatch = null;
}

function render(st) {
  const root = clear(qs('#app'));
  root.appendChild(header(st));
  if (!st.officer) {
    stopGeo();
    S.view = 'login';
    renderLogin(root, st, refresh);
  } else {
    S.view = 'main';
    root.appendChild(h('div', { id: 'gps', class: 'gps', tid: 'gps' }));
    const main = h('main', { id: 'main', class: 'term-main' });
    root.appendChild(main);
    renderAssignments(main, st);
    startGeo();
  }
  applyLang(document);
}

/** Reads the state; re-renders the whole page only when who is logged in changed. */
export function refresh() {
  return fapi('GET', '/state').then(function (st) {
    const prev = S.state;
    S.state = st;
    renderBanner(st);
    const changed = !prev || prev.officer !== st.officer || prev.notice !== st.notice || S.view == null;
    if (changed) render(st);
    else if (st.officer) renderAssignments(qs('#main'), st, true);
    applyLang(qs('#banner'));
  }, function (e) {
    S.state = null;
    const el = qs('#banner');
    el.className = 'banner banner-offline';
    clear(el).appendChild(h('span', { err: e }));
  });
}

function activity() {
  const now = Date.now();
  if (!S.state || !S.state.officer || now - S.lastActivity < ACTIVITY_REPORT_MS) return;
  S.lastActivity = now;
  fapi('POST', '/activity').catch(function () { /* the next poll shows a logout */ });
}
document.addEventListener('pointerdown', activity, true);
document.addEventListener('keydown', activity, true);
onLangToggled(function () { if (S.state) render(S.state); });

refresh();
setInterval(refresh, POLL_MS);
