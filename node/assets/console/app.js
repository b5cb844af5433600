/* Operator console (АРМ) of the regional ЦОУ node: native ES modules for Chrome >= 86 and
   Firefox >= 82 (rule R17), no build step, no framework. The shared kit (../kit/) gives the
   element helper, API client, session, live events and i18n; texts come from i18n.js and the
   kit's texts.js, reference data from GET /api/v1/reference. */
import { h, qs, qsa, clear, langButton, fmtTime } from '../kit/dom.js';
import { setupI18n, applyLang, onLangApplied, lang } from '../kit/i18n.js';
import { api, auth } from '../kit/api.js';
import { session, setupSession, hasRole, renderLogin, renderPasswordChange, logout, endSession } from '../kit/session.js';
import { ssGet, ssSet } from '../kit/storage.js';
import DICTS from './i18n.js';
import { S, LS_LANG, SS_TOKEN, SS_TAB, isStaff, readMine } from './state.js';
import { tick, loadAll, connectEvents, live, stopProbe } from './data.js';
import { bindKey, setActiveTab, clearKeys } from './keys.js';
import { showLiveState } from '../kit/live.js';
import { wrapLabel } from './views/map.js';
import { CallTakerView } from './views/call_taker.js';
import { DispatcherView, DutyView } from './views/dispatch.js';
import { AdminView } from './views/admin.js';
import { HealthView } from './views/health.js';
import { SupervisorView } from './views/supervisor.js';
import { alertsHeader, alertsOff } from './alerts.js';
import { SearchView } from './views/search.js';
import { MapView } from './views/map_panel.js';
import { RegistrarAppealsView } from './views/appeals_registrar.js';
import { ManagerAppealsView } from './views/appeals_manager.js';
import { OfficerAppealsView } from './views/appeals_officer.js';
import { InboxView } from './views/inbox.js';
import { ReceptionDeskView } from './views/reception.js';
import { ReportsView } from './views/reports.js';
import { MeetingsView, MeetingsControlView, meetingBeats, knownBeats, inspects, controls, watchCoverage, unwatchCoverage } from './views/meetings.js';
import { resetInbox } from './inbox_data.js';

setupI18n(DICTS, LS_LANG);
onLangApplied(function (root) {
  qsa('[data-map-kk]', root).forEach(wrapLabel);
  tick();
});
setInterval(tick, 1000);

function teardown() {
  alertsOff();
  unwatchCoverage();
  live.stop();
  stopProbe();
  clearKeys();
  S.views = [];
  S.cards = {};
  S.units = {};
  resetInbox();
}
setupSession({ tokenKey: SS_TOKEN, titleKey: 'app.title', start: startSession, teardown: teardown });

function startSession() {
  const me = session.user ? Promise.resolve(session.user) : api('GET', '/me');
  return me.then(function (u) {
    session.user = u;
    if (u.must_change_password) { renderPasswordChange(null); return null; }
    return api('GET', '/reference');
  }).then(function (ref) {
    if (!session.user || session.user.must_change_password) return null;
    S.ref = ref || {};
    // Report meetings (issue 16): which of the two views the caller gets depends on what they
    // are to the beats (inspector or helper; the office's or the region's head).
    if (!hasRole('district_inspector') && !hasRole('head')) return true;
    return meetingBeats().then(function () { return true; }, function () { return true; });
  }).then(function (go) {
    if (!go || !session.user || session.user.must_change_password) return;
    renderShell();
  });
}

/* ------------------------------------------------------------------ shell: header + tabs */

function renderShell() {
  var root = clear(qs('#app'));
  S.views = [];
  var u = session.user;
  S.mine = readMine();
  var roleChips = (u.roles || []).map(function (r) { return h('span', { class: 'chip', i18n: 'role.' + r }); });
  var region = S.ref && S.ref.region ? h('span', { class: 'region', ref: S.ref.region }) : null;
  var header = h('header', { class: 'topbar' }, [
    h('div', { class: 'brand' }, [h('span', { class: 'emblem', text: '102' }), h('span', { class: 'brand-title', i18n: 'app.title' })]),
    region,
    h('nav', { class: 'tabs', id: 'tabs', role: 'tablist' }),
    h('div', { class: 'spacer' }),
    h('div', { id: 'sse', class: 'sse', tid: 'sse-status' }, [h('span', { class: 'dot' }), h('span', { class: 'sse-label', i18n: 'sse.connecting' })]),
    h('span', { id: 'clock', class: 'clock', text: fmtTime(Date.now()) }),
    h('div', { class: 'who' }, [h('span', { class: 'who-name', tid: 'user-name', data: u.full_name || u.login }), h('span', { class: 'who-roles' }, roleChips)]),
    alertsHeader(),
    langButton(),
    h('button', { type: 'button', class: 'btn btn-ghost', tid: 'change-password', i18n: 'pw.short', tip: 'pw.title', onclick: function () { renderPasswordChange(null); } }),
    h('button', { type: 'button', class: 'btn btn-ghost', tid: 'logout', i18n: 'logout', onclick: logout })
  ]);
  var main = h('main', { class: 'panels' });
  root.appendChild(header);
  // Shown while the node cannot be reached (body.no-connection): what is typed stays, and is sent when it answers.
  root.appendChild(h('div', { class: 'offline-banner', tid: 'offline-banner', role: 'alert' }, [
    h('b', { i18n: 'conn.lost' }), ' ', h('span', { i18n: 'conn.lost.hint' })]));
  root.appendChild(main);
  root.appendChild(h('div', { id: 'toast', class: 'toast', tid: 'toast', role: 'status' }));

  var tabs = [];
  if (hasRole('call_taker')) tabs.push({ key: 'call_taker', title: 'tab.call_taker', make: CallTakerView });
  if (hasRole('dispatcher') || hasRole('supervisor') || hasRole('patrol')) tabs.push({ key: 'dispatcher', title: 'tab.dispatcher', make: DispatcherView });
  if (hasRole('duty_officer') || hasRole('supervisor')) tabs.push({ key: 'duty', title: 'tab.duty', make: DutyView });
  if (hasRole('supervisor')) tabs.push({ key: 'supervisor', title: 'tab.supervisor', make: SupervisorView });
  if (['call_taker', 'dispatcher', 'duty_officer', 'supervisor'].some(hasRole)) tabs.push({ key: 'search', title: 'tab.search', make: SearchView });
  if (hasRole('dispatcher') || hasRole('supervisor')) tabs.push({ key: 'map', title: 'tab.map', make: MapView });
  // Citizens' text channels (issue 14): Telegram, VK, the site's widget, e-mail.
  if (hasRole('call_taker') || hasRole('supervisor')) tabs.push({ key: 'inbox', title: 'tab.inbox', make: InboxView });
  // Citizens' appeals (issue 12): registrar, manager (and head), officer.
  if (hasRole('registrar')) tabs.push({ key: 'appeals_registrar', title: 'tab.appeals_registrar', make: RegistrarAppealsView });
  if (hasRole('appeal_manager') || hasRole('head')) tabs.push({ key: 'appeals_manager', title: 'tab.appeals_manager', make: ManagerAppealsView });
  if (hasRole('appeal_officer')) tabs.push({ key: 'appeals_officer', title: 'tab.appeals_officer', make: OfficerAppealsView });
  // Personal reception and the region's report 1-ОЛ (issue 15): the roles the reception API allows.
  if (['registrar', 'head', 'appeal_manager'].some(hasRole)) {
    tabs.push({ key: 'reception', title: 'tab.reception', make: ReceptionDeskView });
    tabs.push({ key: 'reports', title: 'tab.reports', make: ReportsView });
  }
  // District inspectors' report meetings (issue 16): "my beat" and the control of the beats.
  var beats = knownBeats();
  if (inspects(beats)) tabs.push({ key: 'meetings', title: 'tab.meetings', make: MeetingsView });
  if (controls(beats)) tabs.push({ key: 'meetings_control', title: 'tab.meetings_control', make: MeetingsControlView });
  if (hasRole('admin')) tabs.push({ key: 'admin', title: 'tab.admin', make: AdminView });
  if (hasRole('admin')) tabs.push({ key: 'health', title: 'tab.health', make: HealthView });

  var nav = qs('#tabs', header);
  if (!tabs.length) main.appendChild(h('div', { class: 'empty-state', i18n: 'tab.none' }));
  var want = ssGet(SS_TAB);
  if (!tabs.some(function (x) { return x.key === want; })) want = tabs.length ? tabs[0].key : null;
  tabs.forEach(function (tb) {
    var panel = h('section', { class: 'panel', tid: 'panel-' + tb.key, id: 'panel-' + tb.key, role: 'tabpanel' });
    var view = tb.make(panel);
    S.views.push(view);
    main.appendChild(panel);
    var btn = h('button', { type: 'button', class: 'tab', role: 'tab', tid: 'tab-' + tb.key, onclick: function () { select(tb.key); } }, h('span', { i18n: tb.title }));
    nav.appendChild(btn);
    tb.btn = btn; tb.panel = panel; tb.view = view;
  });
  function select(key) {
    ssSet(SS_TAB, key);
    setActiveTab(key);
    tabs.forEach(function (tb) {
      var on = tb.key === key;
      tb.btn.classList.toggle('active', on);
      tb.btn.setAttribute('aria-selected', on ? 'true' : 'false');
      tb.panel.style.display = on ? '' : 'none';
      if (on && tb.view.onShow) tb.view.onShow();
    });
  }
  // Alt+1, Alt+2 ... show the tabs in their order.
  tabs.forEach(function (tb, i) {
    tb.btn.setAttribute('aria-keyshortcuts', 'Alt+' + (i + 1));
    tb.btn.appendChild(h('kbd', { class: 'kbd kbd-tab', translate: 'no', text: 'Alt+' + (i + 1) }));
    tabs.forEach(function (other) { bindKey(other.key, 'Alt+Digit' + (i + 1), function () { select(tb.key); }); });
  });
  if (want) select(want);
  applyLang(root);
  // The first field of the shown view takes the keyboard at once.
  var shown = tabs.filter(function (x) { return x.key === want; })[0];
  if (shown && shown.view.focus) shown.view.focus();
  if (inspects(beats) || controls(beats)) watchCoverage();
  if (isStaff()) {
    loadAll();
    connectEvents();
  } else {
    showLiveState('online');
    qs('#sse').style.display = 'none';
  }
}

/* ------------------------------------------------------------------ boot */

function boot() {
  document.documentElement.setAttribute('lang', lang());
  if (auth.token) {
    startSession().catch(function (e) {
      endSession();
      renderLogin(e && e.status === 401 ? 'login.session_expired' : null);
    });
  } else {
    renderLogin(null);
  }
}
boot();
