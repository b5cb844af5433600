/* HQ dashboard of the МВД central hub: one national operational picture (R21). Native ES modules
   for Chrome >= 86 and Firefox >= 82: no build step, no framework, no external resources. The
   shared kit (../kit/) gives the element helper, API client, session, live events and i18n;
   texts come from i18n.js and the kit's texts.js; charts are inline SVG.
   Data: GET /api/v1/regions, /summary, /cards (national queue), /cards/{region}/{id}; live updates
   from the SSE stream GET /api/v1/events (events `region` and `card`); everything is refetched on
   every (re)connect and every 10 s. */
import DICTS from './i18n.js';
import { renderAccountsPage } from './accounts.js';
import { loadAppeals, renderAppealsPage } from './appeals.js';
import { renderPerDay, renderPerHour } from './charts.js';
import { connectEvents, live, loadAll } from './data.js';
import { closeDetail } from './detail.js';
import { renderKbPage } from './kb.js';
import { renderMapPage, showMap } from './map.js';
import { loadMeetings, renderMeetingsPage } from './meetings.js';
import { loadReport, renderReportPage } from './report_1ol.js';
import { renderAll, renderCharts, renderQueueList } from './overview.js';
import { HQ_ROLES, LS_LANG, LS_MODE, OPEN, REFRESH_MS, S, SS_TOKEN, SS_USER, hasHqRole, tick } from './state.js';
import { auth } from '../kit/api.js';
import { clear, fmtTime, h, langButton, qs, tx } from '../kit/dom.js';
import { applyLang, lang, onLangApplied, onLangToggled, setupI18n, t } from '../kit/i18n.js';
import { endSession, hasRole, logout, renderLogin, renderPasswordChange, session, setupSession } from '../kit/session.js';
import { lsSet, ssGet, ssSet } from '../kit/storage.js';

setupI18n(DICTS, LS_LANG);
auth.noStore = true;
onLangApplied(function () { tick(); });
onLangToggled(function () {
  if (session.user && qs('#charts')) renderCharts(); // SVG labels and legends are drawn with the texts
});

setInterval(tick, 1000);

function hasRoleOf(u, r) { return !!(u && u.roles && u.roles.indexOf(r) >= 0); }
function mayUse(u) { return hasHqRole(u) || hasRoleOf(u, 'admin') || hasRoleOf(u, 'kb_editor'); }

/* Stops the live picture (events, polling) without logging out. */
function teardownLive() {
  live.stop();
  if (S.pollTimer) { clearInterval(S.pollTimer); S.pollTimer = null; }
  if (S.refreshTimer) { clearTimeout(S.refreshTimer); S.refreshTimer = null; }
  S.loadSeq++;
  S.loading = null;
}
function teardown() {
  ssSet(SS_USER, null);
  teardownLive();
  S.regions = [];
  S.summary = null;
  S.queue = [];
  S.loaded = false;
  S.detail = null;
}
function readUser() {
  try { return JSON.parse(ssGet(SS_USER) || 'null'); } catch (e) { return null; }
}
setupSession({
  tokenKey: SS_TOKEN,
  titleKey: 'app.short',
  accept: function (u) { return u.roles && !mayUse(u) ? 'login.no_role' : null; },
  start: startSession,
  teardown: teardown,
  onUser: function (u) { ssSet(SS_USER, JSON.stringify(u)); }
});
session.user = readUser();

function startSession() {
  if (session.user && session.user.must_change_password) { renderPasswordChange(null); return; }
  if (!hasHqRole(session.user)) {
    if (hasRoleOf(session.user, 'kb_editor')) renderKbPage(); else renderAccountsPage();
    return;
  }
  renderShell();
  loadAll();
  connectEvents();
  S.pollTimer = setInterval(function () { loadAll(); if (tab === 'appeals') loadAppeals(); if (tab === 'map') showMap(); if (tab === 'meetings') loadMeetings(); }, REFRESH_MS);
}

/* The two pages: the operational picture of 102 cards and citizens' appeals. */
var tab = 'picture';
function setTab(name) {
  tab = name;
  var pages = { picture: qs('#picture-page'), appeals: qs('#appeals-page'), map: qs('#map-page'), report: qs('#report-page'), meetings: qs('#meetings-page') };
  Object.keys(pages).forEach(function (k) {
    if (pages[k]) pages[k].hidden = k !== name;
    var b = qs('[data-testid="tab-' + k + '"]');
    if (b) { b.classList.toggle('active', k === name); b.setAttribute('aria-selected', k === name ? 'true' : 'false'); }
  });
  if (name === 'appeals') loadAppeals();
  if (name === 'map') showMap();
  if (name === 'report') loadReport();
  if (name === 'meetings') loadMeetings();
}

/* ------------------------------------------------------------------ shell */

function section(tid, titleKey, extra, body) {
  return h('section', { class: 'box', tid: tid + '-box' }, [
    h('div', { class: 'box-head' }, [h('span', { class: 'box-title', i18n: titleKey, tid: tid + '-title' }), h('span', { class: 'spacer' }), extra]),
    body
  ]);
}

function renderShell() {
  var root = clear(qs('#app'));
  var u = session.user || {};
  var roleChips = (u.roles || []).filter(function (r) { return HQ_ROLES.indexOf(r) >= 0; })
    .map(function (r) { return h('span', { class: 'chip', i18n: 'role.' + r }); });
  var header = h('header', { class: 'topbar' }, [
    h('div', { class: 'brand' }, [h('span', { class: 'emblem', text: '102' }), h('span', { class: 'brand-title', i18n: 'app.title' })]),
    h('div', { class: 'spacer' }),
    h('div', { id: 'sse', class: 'sse', tid: 'sse-status' }, [h('span', { class: 'dot' }), h('span', { class: 'sse-label', i18n: 'sse.connecting' })]),
    h('span', { class: 'refreshed small' }, [tx('refreshed'), ' ', h('span', { id: 'refreshed-at', tid: 'refreshed-at', class: 'mono' })]),
    h('span', { id: 'clock', class: 'clock', text: fmtTime(Date.now()) }),
    h('div', { class: 'who' }, [h('span', { class: 'who-name', tid: 'user-name', data: u.full_name || u.login || '' }), h('span', { class: 'who-roles' }, roleChips)]),
    langButton(),
    hasRole('admin') ? h('button', { type: 'button', class: 'btn btn-ghost', tid: 'open-accounts', i18n: 'adm.title', onclick: function () { teardownLive(); renderAccountsPage(); } }) : null,
    hasRole('kb_editor') ? h('button', { type: 'button', class: 'btn btn-ghost', tid: 'open-kb', i18n: 'kb.title', onclick: function () { teardownLive(); renderKbPage(); } }) : null,
    h('button', { type: 'button', class: 'btn btn-ghost', tid: 'change-password', i18n: 'pw.title', onclick: function () { renderPasswordChange(null); } }),
    h('button', { type: 'button', class: 'btn btn-ghost', tid: 'logout', i18n: 'logout', onclick: logout })
  ]);
  var regionFilter = h('select', { class: 'sel-sm', tid: 'queue-filter-region', id: 'queue-filter-region', onchange: function (ev) { S.filterRegion = ev.target.value; renderQueueList(); } });
  var statusFilter = h('select', { class: 'sel-sm', tid: 'queue-filter-status', id: 'queue-filter-status', onchange: function (ev) { S.filterStatus = ev.target.value; renderQueueList(); } },
    [h('option', { value: '', i18n: 'all' })].concat(OPEN.map(function (st) { return h('option', { value: st, i18n: 'status.' + st }); })));
  var modeBtns = h('span', { class: 'seg' }, [
    h('button', { type: 'button', class: 'btn btn-xs', tid: 'chart-mode-region', 'data-mode': 'region', i18n: 'charts.by_region', onclick: function () { setMode('region'); } }),
    h('button', { type: 'button', class: 'btn btn-xs', tid: 'chart-mode-channel', 'data-mode': 'channel', i18n: 'charts.by_channel', onclick: function () { setMode('channel'); } })
  ]);

  var tabs = h('nav', { class: 'tabs seg', tid: 'tabs', role: 'tablist' }, [
    h('button', { type: 'button', class: 'btn btn-sm active', role: 'tab', tid: 'tab-picture', i18n: 'tab.picture', onclick: function () { setTab('picture'); } }),
    h('button', { type: 'button', class: 'btn btn-sm', role: 'tab', tid: 'tab-appeals', i18n: 'tab.appeals', onclick: function () { setTab('appeals'); } }),
    h('button', { type: 'button', class: 'btn btn-sm', role: 'tab', tid: 'tab-map', i18n: 'tab.map', onclick: function () { setTab('map'); } }),
    h('button', { type: 'button', class: 'btn btn-sm', role: 'tab', tid: 'tab-report', i18n: 'tab.report', onclick: function () { setTab('report'); } }),
    h('button', { type: 'button', class: 'btn btn-sm', role: 'tab', tid: 'tab-meetings', i18n: 'tab.meetings', onclick: function () { setTab('meetings'); } })
  ]);
  var mapPage = h('main', { class: 'main', id: 'map-page', tid: 'map-page', hidden: true });
  var reportPage = h('main', { class: 'main', id: 'report-page', tid: 'report-page', hidden: true });
  var meetingsPage = h('main', { class: 'main', id: 'meetings-page', tid: 'meetings-page', hidden: true });
  var appealsPage = h('main', { class: 'main', id: 'appeals-page', tid: 'appeals-page', hidden: true });
  var main = h('main', { class: 'main', id: 'picture-page', tid: 'picture-page' }, [
    h('div', { class: 'error', id: 'load-error', tid: 'load-error', style: 'display:none', role: 'alert' }),
    h('div', { id: 'alert-banner', class: 'alert-banner', tid: 'alert-banner', role: 'alert', hidden: true }),
    h('div', { id: 'kpis', class: 'kpis', tid: 'kpis' }),
    h('div', { class: 'cols' }, [
      h('div', { class: 'col-main' }, [
        section('regions', 'regions.title', null, h('div', { id: 'regions' })),
        section('matrix', 'queue.matrix', null, h('div', { id: 'matrix' })),
        section('waiting', 'queue.waiting', null, h('div', { id: 'waiting' })),
        section('queue', 'queue.list', h('span', { class: 'filters' }, [
          h('label', { for: 'queue-filter-region', i18n: 'queue.filter_region' }), regionFilter,
          h('label', { for: 'queue-filter-status', i18n: 'queue.filter_status' }), statusFilter
        ]), h('div', { id: 'queue' }))
      ]),
      h('div', { class: 'col-side', id: 'charts' }, [
        section('chart-per-hour', 'charts.per_hour', modeBtns, h('div', { id: 'chart-per-hour' })),
        section('chart-per-day', 'charts.per_day', null, h('div', { id: 'chart-per-day' })),
        section('chart-open', 'charts.open', null, h('div', { id: 'chart-open' })),
        section('chart-delays', 'charts.delays', null, h('div', { id: 'chart-delays' }))
      ])
    ])
  ]);
  root.appendChild(header);
  root.appendChild(tabs);
  root.appendChild(main);
  root.appendChild(appealsPage);
  renderAppealsPage(appealsPage);
  root.appendChild(mapPage);
  renderMapPage(mapPage);
  root.appendChild(reportPage);
  renderReportPage(reportPage);
  root.appendChild(meetingsPage);
  renderMeetingsPage(meetingsPage);
  root.appendChild(h('div', { id: 'drawer-back', class: 'drawer-back', hidden: true, onclick: closeDetail }));
  root.appendChild(h('aside', { id: 'drawer', class: 'drawer', tid: 'card-detail', hidden: true, role: 'dialog' }));
  root.appendChild(h('div', { id: 'toast', class: 'toast', tid: 'toast', role: 'status' }));
  applyLang(root);
  renderAll();
  setTab(tab);
}
function setMode(m) {
  S.mode = m;
  lsSet(LS_MODE, m);
  renderPerHour();
  renderPerDay();
}

/* ------------------------------------------------------------------ start */

function boot() {
  document.documentElement.setAttribute('lang', lang());
  document.title = t('app.title');
  if (auth.token && session.user) startSession();
  else { endSession(); renderLogin(null); }
}
if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
else boot();
