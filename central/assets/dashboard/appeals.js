/* The "Appeals" tab (R16, R33): citizens' appeals of every region from the hub's appeals index —
   per region received / open / overdue (red) / near (amber), the list filtered by region, status
   and overdue, and every appeal flagged with signs of a crime with its КУИ state. A row opens the
   appeal in the side drawer (an audited read) with HQ's control-note form (hq_duty).
   Data: GET /api/v1/appeals/summary, /appeals?region=&status=&overdue=, /appeals/crime-signs,
   /appeals/{region}/{id}; POST /appeals/{region}/{id}/notes. Refreshed while the tab is shown. */
import { detailCloseBtn, kv, loadReference } from './detail.js';
import { S, codeLabel, fmtDateTime, local, num, refItem, regionLabel, toast } from './state.js';
import { api, showError } from '../kit/api.js';
import { clear, dataText, h, qs, tx } from '../kit/dom.js';
import { onLangToggled, t } from '../kit/i18n.js';
import { hasRole, session } from '../kit/session.js';

export const AP_STATUSES = ['received', 'registered', 'routed', 'in_work', 'on_approval', 'answered', 'transferred', 'not_considered'];
const LIST_LIMIT = 500;

export const A = { summary: null, list: [], crime: [], loaded: false, seq: 0, region: '', status: '', overdue: false };

/* ------------------------------------------------------------------ data */

function listPath() {
  var q = ['limit=' + LIST_LIMIT];
  if (A.region) q.push('region=' + encodeURIComponent(A.region));
  if (A.status) q.push('status=' + encodeURIComponent(A.status));
  if (A.overdue) q.push('overdue=true');
  return '/appeals?' + q.join('&');
}
export function loadAppeals() {
  if (!qs('#appeals-page') || !session.user) return Promise.resolve();
  var my = ++A.seq;
  return Promise.all([api('GET', '/appeals/summary'), api('GET', listPath()), api('GET', '/appeals/crime-signs?limit=' + LIST_LIMIT)])
    .then(function (res) {
      if (my !== A.seq) return;
      A.summary = res[0] || null;
      A.list = res[1] || [];
      A.crime = res[2] || [];
      A.loaded = true;
      showError(qs('#ap-error'), null);
      renderAppeals();
      // Services are named as each region's reference data names them (fetched once a region).
      var missing = ((A.summary && A.summary.regions) || []).map(function (r) { return r.region; })
        .filter(function (r) { return !S.references[r]; });
      if (missing.length) Promise.all(missing.map(loadReference)).then(function () { if (my === A.seq) renderAppeals(); });
    }).catch(function (e) {
      if (my !== A.seq || e.status === 401) return;
      showError(qs('#ap-error'), e);
    });
}

/* ------------------------------------------------------------------ labels */

function apStatus(st, tid) {
  return h('span', { class: 'badge ap-st ap-st-' + st, 'data-status': st, tid: tid }, codeLabel('ap.status', st));
}
function dlBadge(a) {
  if (!a.deadline) return tx('none', 'muted');
  var st = a.deadline_state;
  return h('span', { class: 'nowrap' }, [
    dataText(a.deadline, 'mono'),
    st ? h('span', { class: 'badge ap-dl ap-dl-' + st, tid: 'ap-deadline-state', 'data-state': st, i18n: 'ap.dl.state.' + st }) : null
  ]);
}
function kuiCell(a) {
  var st = a.kui_state;
  return h('span', { class: 'nowrap' }, [
    st ? h('span', { class: 'badge ap-kui ap-kui-' + st, tid: 'ap-kui-state', 'data-state': st, i18n: 'ap.kui_state.' + st }) : null,
    a.kui ? [' ', dataText(a.kui, 'mono b')] : null,
    a.kui_at ? [' ', dataText(fmtDateTime(local(a.kui_at)), 'small mono')] : null,
    !a.kui && a.kui_due_at ? [' ', tx('ap.kui_due', 'small muted'), ' ', dataText(fmtDateTime(local(a.kui_due_at)), 'small mono')] : null
  ]);
}
function serviceLabel(region, code) {
  if (!code) return tx('none', 'muted');
  var item = refItem(region, 'services', code);
  return item ? h('span', { ref: item, 'data-code': code }) : dataText(code);
}
function numberOf(a) { return a.number ? dataText(a.number, 'mono b') : tx('ap.no_number', 'muted'); }
function emptyRow(cols, key) { return h('tr', { class: 'empty-row' }, h('td', { colspan: cols, i18n: key })); }

/* ------------------------------------------------------------------ page */

function box(tid, titleKey, extra, body) {
  return h('section', { class: 'box', tid: tid + '-box' }, [
    h('div', { class: 'box-head' }, [h('span', { class: 'box-title', i18n: titleKey, tid: tid + '-title' }), h('span', { class: 'spacer' }), extra]),
    body
  ]);
}

/* The tab's skeleton inside `root`; the data fills it in as it arrives. */
export function renderAppealsPage(root) {
  var region = h('select', { class: 'sel-sm', tid: 'ap-filter-region', id: 'ap-filter-region', onchange: function (ev) { A.region = ev.target.value; loadAppeals(); } });
  var status = h('select', { class: 'sel-sm', tid: 'ap-filter-status', id: 'ap-filter-status', onchange: function (ev) { A.status = ev.target.value; loadAppeals(); } },
    [h('option', { value: '', i18n: 'ap.all_open' })].concat(AP_STATUSES.map(function (st) { return h('option', { value: st, i18n: 'ap.status.' + st }); })));
  var overdue = h('input', { type: 'checkbox', tid: 'ap-filter-overdue', id: 'ap-filter-overdue', onchange: function (ev) { A.overdue = ev.target.checked; loadAppeals(); } });
  clear(root).appendChild(h('div', null, [
    h('div', { class: 'error', id: 'ap-error', tid: 'ap-error', style: 'display:none', role: 'alert' }),
    h('div', { id: 'ap-kpis', class: 'kpis ap-kpis', tid: 'ap-kpis' }),
    box('ap-regions', 'ap.regions.title', null, h('div', { id: 'ap-regions' })),
    box('ap-crime', 'ap.crime.title', null, h('div', { id: 'ap-crime' })),
    box('ap-list', 'ap.list.title', h('span', { class: 'filters' }, [
      h('label', { for: 'ap-filter-region', i18n: 'ap.region' }), region,
      h('label', { for: 'ap-filter-status', i18n: 'ap.status' }), status,
      overdue, h('label', { for: 'ap-filter-overdue', i18n: 'ap.only_overdue' })
    ]), h('div', { id: 'ap-list' }))
  ]));
  renderAppeals();
}

export function renderAppeals() {
  if (!qs('#ap-regions')) return;
  renderKpis();
  renderRegions();
  renderCrime();
  renderList();
}
function loading(el) {
  if (A.loaded) return false;
  clear(el).appendChild(h('div', { class: 'empty-state', i18n: 'loading' }));
  return true;
}
function renderKpis() {
  var el = qs('#ap-kpis');
  var tot = (A.summary && A.summary.totals) || {};
  clear(el);
  [['ap-kpi-open', 'ap.open', tot.open, false], ['ap-kpi-overdue', 'ap.overdue', tot.overdue, num(tot.overdue) > 0],
    ['ap-kpi-near', 'ap.near', tot.near, false], ['ap-kpi-kui', 'ap.kui_missing', tot.kui_missing, num(tot.kui_overdue) > 0]]
    .forEach(function (k) {
      el.appendChild(h('div', { class: 'kpi' + (k[3] ? ' kpi-bad' : ''), tid: k[0] }, [
        h('div', { class: 'kpi-v', tid: k[0] + '-value', text: A.loaded ? String(num(k[2])) : '…' }),
        h('div', { class: 'kpi-k', i18n: k[1] })
      ]));
    });
}
function renderRegions() {
  var el = qs('#ap-regions');
  if (loading(el)) return;
  var rows = (A.summary && A.summary.regions) || [];
  var body = h('tbody');
  function cell(r, field, cls) {
    var n = num(r[field]);
    return h('td', { class: 'num' + (n && cls ? ' ' + cls : ''), tid: 'ap-' + field, 'data-count': n, text: String(n) });
  }
  rows.forEach(function (r) {
    body.appendChild(h('tr', { tid: 'ap-region-row-' + r.region, 'data-region': r.region, class: 'ap-region-row', onclick: function () { setRegion(r.region); } }, [
      h('td', null, regionLabel(r.region, true)),
      cell(r, 'received'), cell(r, 'open'), cell(r, 'overdue', 'ap-overdue'), cell(r, 'near', 'ap-near'),
      cell(r, 'crime_signs'), cell(r, 'kui_missing', r.kui_overdue ? 'ap-overdue' : 'ap-near')
    ]));
  });
  if (!rows.length) body.appendChild(emptyRow(7, 'ap.regions.none'));
  var tot = (A.summary && A.summary.totals) || {};
  var foot = h('tfoot', null, h('tr', { class: 'totals', tid: 'ap-totals' }, [h('td', { i18n: 'total' }),
    cell(tot, 'received'), cell(tot, 'open'), cell(tot, 'overdue', 'ap-overdue'), cell(tot, 'near', 'ap-near'),
    cell(tot, 'crime_signs'), cell(tot, 'kui_missing', tot.kui_overdue ? 'ap-overdue' : 'ap-near')]));
  clear(el).appendChild(h('table', { class: 'grid', tid: 'ap-regions-table' }, [
    h('thead', null, h('tr', null, [h('th', { i18n: 'ap.region' }), h('th', { class: 'num', i18n: 'ap.received' }), h('th', { class: 'num', i18n: 'ap.open' }),
      h('th', { class: 'num', i18n: 'ap.overdue' }), h('th', { class: 'num', i18n: 'ap.near' }), h('th', { class: 'num', i18n: 'ap.crime' }),
      h('th', { class: 'num', i18n: 'ap.kui_missing' })])),
    body, foot
  ]));
  updateRegionFilter(rows);
}
function setRegion(code) {
  A.region = code;
  var sel = qs('#ap-filter-region');
  if (sel) sel.value = code;
  loadAppeals();
}
function updateRegionFilter(rows) {
  var sel = qs('#ap-filter-region');
  if (!sel) return;
  var codes = rows.map(function (r) { return r.region; });
  if (A.region && codes.indexOf(A.region) < 0) codes.push(A.region);
  clear(sel).appendChild(h('option', { value: '', i18n: 'all' }));
  codes.sort().forEach(function (c) { sel.appendChild(h('option', { value: c, data: c })); });
  sel.value = A.region;
}
function row(a, tid, cells) {
  return h('tr', {
    class: 'ap-row' + (a.deadline_state === 'overdue' ? ' ap-row-overdue' : a.deadline_state === 'near' ? ' ap-row-near' : ''),
    tid: tid, 'data-region': a.region, 'data-id': a.id, 'data-number': a.number || '', 'data-status': a.status,
    'data-state': a.deadline_state || '', 'data-kui-state': a.kui_state || '',
    onclick: function () { openAppeal(a.region, a.id); }
  }, cells);
}
function renderCrime() {
  var el = qs('#ap-crime');
  if (loading(el)) return;
  var body = h('tbody');
  A.crime.forEach(function (a) {
    body.appendChild(row(a, 'ap-crime-row', [
      h('td', null, numberOf(a)), h('td', null, regionLabel(a.region, false)), h('td', null, apStatus(a.status)),
      h('td', { class: 'small' }, serviceLabel(a.region, a.service)), h('td', null, kuiCell(a))
    ]));
  });
  if (!A.crime.length) body.appendChild(emptyRow(5, 'ap.crime.empty'));
  clear(el).appendChild(h('table', { class: 'grid', tid: 'ap-crime-list' }, [
    h('thead', null, h('tr', null, [h('th', { i18n: 'ap.number' }), h('th', { i18n: 'ap.region' }), h('th', { i18n: 'ap.status' }),
      h('th', { i18n: 'ap.service' }), h('th', { i18n: 'ap.kui' })])),
    body
  ]));
}
function renderList() {
  var el = qs('#ap-list');
  if (loading(el)) return;
  var body = h('tbody');
  A.list.forEach(function (a) {
    body.appendChild(row(a, 'ap-row', [
      h('td', null, numberOf(a)), h('td', null, regionLabel(a.region, false)), h('td', null, apStatus(a.status)),
      h('td', { class: 'small' }, serviceLabel(a.region, a.service)),
      h('td', { class: 'small mono' }, fmtDateTime(local(a.received_at))), h('td', null, dlBadge(a)),
      h('td', null, a.crime_signs ? kuiCell(a) : null)
    ]));
  });
  if (!A.list.length) body.appendChild(emptyRow(7, 'ap.empty'));
  clear(el).appendChild(h('table', { class: 'grid', tid: 'ap-table' }, [
    h('thead', null, h('tr', null, [h('th', { i18n: 'ap.number' }), h('th', { i18n: 'ap.region' }), h('th', { i18n: 'ap.status' }),
      h('th', { i18n: 'ap.service' }), h('th', { i18n: 'ap.received_at' }), h('th', { i18n: 'ap.deadline' }), h('th', { i18n: 'ap.kui' })])),
    body
  ]));
}

/* ------------------------------------------------------------------ detail */

function appealPath(d) { return '/appeals/' + encodeURIComponent(d.region) + '/' + encodeURIComponent(d.id); }

export function openAppeal(region, id) {
  S.detail = { kind: 'appeal', region: region, id: id, appeal: null, seq: 0 };
  var dr = qs('#drawer');
  dr.hidden = false;
  qs('#drawer-back').hidden = false;
  dr.setAttribute('data-region', region);
  dr.setAttribute('data-id', id);
  clear(dr).appendChild(h('div', { class: 'drawer-body' }, [detailCloseBtn(), h('div', { class: 'empty-state', i18n: 'loading' })]));
  reloadAppeal();
}
function reloadAppeal() {
  var d = S.detail;
  if (!d || d.kind !== 'appeal') return Promise.resolve();
  var my = ++d.seq;
  return api('GET', appealPath(d)).then(function (a) {
    if (S.detail !== d || my !== d.seq) return;
    d.appeal = a;
    renderAppealDetail();
  }).catch(function (e) {
    if (S.detail !== d || my !== d.seq || d.appeal) return;
    clear(qs('#drawer')).appendChild(h('div', { class: 'drawer-body' }, [detailCloseBtn(), h('div', { class: 'error', tid: 'detail-error', err: e })]));
  });
}
onLangToggled(function () { if (S.detail && S.detail.kind === 'appeal' && S.detail.appeal) renderAppealDetail(); });

/* A history step's parameters as data (numbers, codes, texts people typed). */
function histDetails(region, e) {
  var p = e.params || {};
  if (e.action === 'appeal.crime_signs') return [tx(p.flag ? 'ap.flag.on' : 'ap.flag.off'), p.reason ? [': ', dataText(p.reason)] : null];
  if (p.service && e.action !== 'appeal.registered') return [serviceLabel(region, p.service), p.reason ? [' — ', dataText(p.reason)] : null];
  var v = p.text || p.number || p.officer || p.reason || p.until || p.system || '';
  return v ? dataText(String(v)) : null;
}
function renderAppealDetail() {
  var d = S.detail, a = d && d.appeal;
  var dr = qs('#drawer');
  if (!a || !dr) return;
  var oldText = qs('[data-testid="ap-note-text"]', dr);
  var draft = oldText ? oldText.value : '';
  var region = a.region || d.region;
  var applicants = (a.applicants || []).map(function (p) {
    return [p.org_name || [p.surname, p.name, p.patronymic].filter(Boolean).join(' '), p.phone, p.address].filter(Boolean).join(', ');
  }).filter(Boolean).join('; ');
  var history = h('table', { class: 'grid', tid: 'ap-history' }, [
    h('thead', null, h('tr', null, [h('th', { i18n: 'ap.hist.at' }), h('th', { i18n: 'ap.hist.by' }), h('th', { i18n: 'ap.hist.action' }), h('th', { i18n: 'ap.hist.details' })])),
    h('tbody', null, (a.history || []).map(function (e) {
      return h('tr', { tid: 'ap-hist-row', 'data-action': e.action }, [
        h('td', { class: 'mono small nowrap' }, fmtDateTime(local(e.at))),
        h('td', { class: 'small' }, dataText(e.by || '')),
        h('td', null, codeLabel('ap.hist', e.action)),
        h('td', { class: 'small' }, histDetails(region, e))
      ]);
    }))
  ]);
  var err = h('div', { class: 'error', tid: 'ap-note-error', style: 'display:none', role: 'alert' });
  var text = h('textarea', { rows: 3, tid: 'ap-note-text', id: 'ap-note-text', ph: 'ap.note.placeholder', maxlength: 2000 });
  text.value = draft;
  var btn = h('button', { type: 'submit', class: 'btn btn-primary', tid: 'ap-note-submit', i18n: 'note.submit' });
  var form = h('form', { class: 'note-form', tid: 'ap-note-form' }, [
    h('label', { for: 'ap-note-text', class: 'section-title', i18n: 'ap.note.title' }), text, err, h('div', { class: 'form-actions' }, btn)
  ]);
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var body = text.value.trim();
    if (!body) { showError(err, t('note.empty')); return; }
    showError(err, null);
    btn.disabled = true;
    api('POST', appealPath(d) + '/notes', { text: body }).then(function (got) {
      btn.disabled = false;
      if (S.detail !== d) return;
      text.value = '';
      d.seq++;
      d.appeal = got;
      renderAppealDetail();
      toast(t('note.sent'), 'ok');
    }).catch(function (e) { btn.disabled = false; showError(err, e); });
  });
  if (!hasRole('hq_duty')) form = h('p', { class: 'muted small', tid: 'note-readonly', i18n: 'note.readonly' });
  var kuiText = a.kui ? [dataText(a.kui.number, 'mono b'), ' ', dataText(fmtDateTime(local(a.kui.at)), 'small mono')] : null;
  var body = h('div', { class: 'drawer-body', tid: 'appeal-detail' }, [
    h('div', { class: 'detail-head' }, [
      h('span', { class: 'detail-number mono', tid: 'ap-detail-number', data: a.number || a.id }),
      apStatus(a.status, 'ap-detail-status'),
      a.crime_signs ? h('span', { class: 'badge ap-kui ap-kui-overdue', tid: 'ap-detail-crime', i18n: 'ap.crime_signs' }) : null,
      h('span', { class: 'spacer' }), detailCloseBtn()
    ]),
    h('div', { class: 'detail-grid' }, [
      kv('ap.region', regionLabel(region, true), 'ap-detail-region'),
      kv('ap.kind', a.kind ? codeLabel('ap.kind', a.kind) : null),
      kv('ap.channel', codeLabel('ap.channel', a.channel)),
      kv('ap.received_at', fmtDateTime(local(a.received_at))),
      kv('ap.registered_at', a.registered_at ? fmtDateTime(local(a.registered_at)) : null),
      kv('ap.service', a.service ? serviceLabel(region, a.service) : null, 'ap-detail-service'),
      kv('ap.officer', a.officer),
      kv('ap.deadline', a.deadline ? dlBadge(a) : null, 'ap-detail-deadline'),
      kv('ap.kui', kuiText, 'ap-detail-kui'),
      kv('ap.kui_due', !a.kui && a.kui_due_at ? fmtDateTime(local(a.kui_due_at)) : null),
      kv('ap.applicant', a.anonymous ? tx('ap.anonymous') : applicants, 'ap-detail-applicant')
    ]),
    h('div', { class: 'desc' }, [h('div', { class: 'section-title', i18n: 'ap.text' }), h('div', { class: 'pre', tid: 'ap-detail-text', data: a.text || '' })]),
    h('div', { class: 'section-title', i18n: 'ap.history' }), history, form
  ]);
  dr.setAttribute('data-status', a.status || '');
  var focused = document.activeElement === oldText;
  clear(dr).appendChild(body);
  if (focused) text.focus();
}
