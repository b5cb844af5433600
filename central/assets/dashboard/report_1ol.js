/* The "Report 1-ОЛ" tab (R32): the national report 1-ОЛ, section 5 «Личный прием», of a month —
   one row per region and the total, with the seed's column headings (seed 004, Приложение 2) in
   the user's language; whether it is issued yet and its due day; every issued version with its
   differences from the one before (region, column, before → after); a notice when reception data
   arrived after the latest issue (the next issue will carry it); a region's drill-down (its report
   and its reception records); print and the XLSX of the latest or a chosen version.
   Data: GET /api/v1/reports/1-ol?year=&month=, /reports/1-ol/versions/{v}?year=&month=,
   /reports/1-ol/regions/{region}?year=&month=, /reports/1-ol.xlsx?year=&month=[&version=]. */
import { api, auth, showError, API } from '../kit/api.js';
import { clear, dataText, h, qs, tx } from '../kit/dom.js';
import { applyLang, onLangToggled } from '../kit/i18n.js';
import { session } from '../kit/session.js';

/* Section 5's number columns in the seed's order (`sync::report_1ol::headings::COLUMNS`), with the
   group heading above each ('' for none). Their texts are `r1ol.col.<key>` and `r1ol.group.<g>`. */
export const COLUMNS = [
  ['pending_at_year_start', ''], ['received', ''], ['booked', 'of_which'], ['refused', 'of_which'],
  ['pending_at_end', ''], ['received_by_head', ''], ['received_by_deputy', ''],
  ['decision_satisfied', 'decision'], ['decision_refused', 'decision'], ['decision_explained', 'decision']
];
/* How long a downloaded file's object URL is kept after the click, ms. */
const OBJECT_URL_KEEP_MS = 60_000;
const MONTHS = 12;

/* The page's state: the month shown, its answer, the version shown (0: the table as computed
   now, before issue, or the latest version), and the region drilled into. */
export const R = { year: 0, month: 0, data: null, version: 0, shown: null, region: '', drill: null, seq: 0 };

/* The last closed month: the one before today's (in the browser's time zone). */
function lastClosedMonth() {
  var d = new Date();
  var y = d.getFullYear();
  var m = d.getMonth(); // 0-based: the previous month's 1-based number
  if (m === 0) { y -= 1; m = 12; }
  return { year: y, month: m };
}
function query() { return 'year=' + R.year + '&month=' + R.month; }

export function loadReport() {
  if (!qs('#report-page') || !session.user) return Promise.resolve();
  if (!R.year) { var lc = lastClosedMonth(); R.year = lc.year; R.month = lc.month; syncPickers(); }
  var my = ++R.seq;
  return api('GET', '/reports/1-ol?' + query()).then(function (data) {
    if (my !== R.seq) return;
    R.data = data;
    R.version = 0;
    R.shown = data.latest ? data.latest.report : data.current;
    showError(qs('#r1ol-error'), null);
    if (R.region) return loadRegion(R.region, my);
    renderReport();
  }).catch(function (e) {
    if (my !== R.seq || e.status === 401) return;
    R.data = null;
    R.shown = null;
    renderReport();
    showError(qs('#r1ol-error'), e);
  });
}
function showVersion(v) {
  if (!R.data) return;
  if (!v) {
    R.version = 0;
    R.shown = R.data.latest ? R.data.latest.report : R.data.current;
    renderReport();
    return;
  }
  var my = ++R.seq;
  api('GET', '/reports/1-ol/versions/' + v + '?' + query()).then(function (issued) {
    if (my !== R.seq) return;
    R.version = v;
    R.shown = issued.report;
    renderReport();
  }).catch(function (e) { if (my === R.seq && e.status !== 401) showError(qs('#r1ol-error'), e); });
}
function loadRegion(region, my) {
  my = my || ++R.seq;
  return api('GET', '/reports/1-ol/regions/' + encodeURIComponent(region) + '?' + query()).then(function (d) {
    if (my !== R.seq) return;
    R.region = region;
    R.drill = d;
    renderReport();
  }).catch(function (e) { if (my === R.seq && e.status !== 401) showError(qs('#r1ol-error'), e); });
}
function back() { R.region = ''; R.drill = null; renderReport(); }

/* The XLSX of the month (the chosen version, else the latest issued, else as computed now):
   fetched with the session's token and offered as a download. */
function downloadXlsx() {
  var path = '/reports/1-ol.xlsx?' + query() + (R.version ? '&version=' + R.version : '');
  var opts = { headers: { 'X-Requested-With': 'fetch' }, credentials: 'same-origin', cache: 'no-store' };
  if (auth.token) opts.headers.Authorization = 'Bearer ' + auth.token;
  fetch(API + path, opts).then(function (r) {
    if (!r.ok) {
      return r.json().catch(function () { return {}; }).then(function (b) {
        var e = new Error(String(r.status));
        e.status = r.status; e.code = b && b.code; e.params = b && b.params;
        throw e;
      });
    }
    return r.blob();
  }).then(function (blob) {
    var url = URL.createObjectURL(blob);
    var a = h('a', { href: url, download: '1-ol-' + R.year + '-' + String(R.month).padStart(2, '0') + (R.version ? '-v' + R.version : '') + '.xlsx', style: 'display:none' });
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, OBJECT_URL_KEEP_MS);
  }).catch(function (e) { showError(qs('#r1ol-error'), e); });
}

/* ------------------------------------------------------------------ page */

function syncPickers() {
  var y = qs('#r1ol-year');
  var m = qs('#r1ol-month');
  if (y) {
    var now = new Date().getFullYear();
    clear(y);
    for (var k = now; k >= now - 2; k--) y.appendChild(h('option', { value: String(k), text: String(k), selected: k === R.year }));
  }
  if (m) m.value = String(R.month);
}

/* The tab's skeleton inside `root`; loadReport() fills it. */
export function renderReportPage(root) {
  var months = [];
  for (var k = 1; k <= MONTHS; k++) months.push(h('option', { value: String(k), i18n: 'r1ol.month.' + k }));
  var year = h('select', { class: 'sel-sm', tid: 'r1ol-year', id: 'r1ol-year', onchange: function (ev) { R.year = Number(ev.target.value); R.region = ''; loadReport(); } });
  var month = h('select', { class: 'sel-sm', tid: 'r1ol-month', id: 'r1ol-month', onchange: function (ev) { R.month = Number(ev.target.value); R.region = ''; loadReport(); } }, months);
  clear(root).appendChild(h('div', { class: 'r1ol' }, [
    h('div', { class: 'r1ol-controls no-print' }, [
      h('label', { for: 'r1ol-year', i18n: 'r1ol.year' }), year,
      h('label', { for: 'r1ol-month', i18n: 'r1ol.month' }), month,
      h('span', { class: 'spacer' }),
      h('button', { type: 'button', class: 'btn btn-sm', tid: 'r1ol-print', i18n: 'r1ol.print', onclick: function () { window.print(); } }),
      h('button', { type: 'button', class: 'btn btn-sm', tid: 'r1ol-xlsx', i18n: 'r1ol.xlsx', onclick: downloadXlsx })
    ]),
    h('div', { class: 'error', id: 'r1ol-error', tid: 'r1ol-error', style: 'display:none', role: 'alert' }),
    h('div', { id: 'r1ol-body', tid: 'r1ol-body' })
  ]));
  syncPickers();
  renderReport();
}

function bodyName(b) { return h('span', { names: { kk: b.name_kk, ru: b.name_ru } }); }
function colName(key) { return h('span', { i18n: 'r1ol.col.' + key }); }
function fmtDay(d) { return d ? dataText(d, 'mono nowrap') : tx('none', 'muted'); }

/* Section 5 as a table: the region column, the number columns under their group headings. */
function section5Table(s5, tid, onRow) {
  var groups = [];
  COLUMNS.forEach(function (c) {
    var last = groups[groups.length - 1];
    if (last && last.g === c[1] && c[1]) last.n++; else groups.push({ g: c[1], n: 1, key: c[0] });
  });
  var head1 = [h('th', { rowspan: 2, i18n: 'r1ol.rows' })];
  var head2 = [];
  groups.forEach(function (g) {
    if (g.g) {
      head1.push(h('th', { colspan: g.n, class: 'r1ol-group', i18n: 'r1ol.group.' + g.g }));
      COLUMNS.filter(function (c) { return c[1] === g.g; }).forEach(function (c) { head2.push(h('th', { class: 'r1ol-col', 'data-col': c[0] }, colName(c[0]))); });
    } else {
      head1.push(h('th', { rowspan: 2, class: 'r1ol-col', 'data-col': g.key }, colName(g.key)));
    }
  });
  function cells(c) {
    return COLUMNS.map(function (col) { return h('td', { class: 'num', 'data-col': col[0], text: String((c && c[col[0]]) || 0) }); });
  }
  var rows = (s5 && s5.rows) || [];
  var body = h('tbody', null, rows.map(function (r) {
    var name = onRow
      ? h('button', { type: 'button', class: 'link', tid: 'r1ol-region-' + r.body.id, onclick: function () { onRow(r.body.id); } }, bodyName(r.body))
      : bodyName(r.body);
    return h('tr', { tid: 'r1ol-row', 'data-region': r.body.id }, [h('td', { class: 'r1ol-name' }, name)].concat(cells(r.cells)));
  }));
  body.appendChild(h('tr', { class: 'r1ol-total', tid: 'r1ol-total' }, [h('td', { class: 'b', i18n: 'r1ol.total' })].concat(cells(s5 && s5.total))));
  return h('div', { class: 'table-wrap' }, h('table', { class: 'tbl r1ol-table', tid: tid }, [
    h('thead', null, [h('tr', null, head1), h('tr', null, head2)]),
    body
  ]));
}

/* A region's name as the report's rows name it (its id when absent). */
function regionName(id) {
  var rows = (R.shown && R.shown.section5 && R.shown.section5.rows) || [];
  for (var i = 0; i < rows.length; i++) if (rows[i].body.id === id) return bodyName(rows[i].body);
  return dataText(id, 'mono');
}

/* Cell changes as a list: region (or the total), column, before → after. */
function changeList(changes, tid) {
  if (!changes || !changes.length) return h('div', { class: 'muted small', tid: tid + '-none', i18n: 'r1ol.no_changes' });
  return h('ul', { class: 'r1ol-changes', tid: tid }, changes.map(function (c) {
    return h('li', { tid: 'r1ol-change', 'data-region': c.body || '', 'data-col': c.column }, [
      c.body ? regionName(c.body) : tx('r1ol.total', 'b'), ': ', colName(c.column), ' ',
      dataText(String(c.before), 'mono'), ' → ', dataText(String(c.after), 'mono b')
    ]);
  }));
}

function statusLine(d) {
  var issued = d.issued && d.latest;
  return h('div', { class: 'r1ol-status', tid: 'r1ol-status', 'data-issued': issued ? 'true' : 'false' }, [
    h('span', { class: 'b', i18n: 'r1ol.section5' }), ' · ',
    tx('r1ol.period_label'), ' ', dataText(d.current ? d.current.from + ' — ' + d.current.to : '', 'mono'), ' · ',
    tx('r1ol.due_on'), ' ', h('span', { data: d.due_on, class: 'mono b', tid: 'r1ol-due-on' }), ' · ',
    issued
      ? h('span', { class: 'badge ok', tid: 'r1ol-issued' }, [tx('r1ol.issued'), ' ', tx('r1ol.version'), ' ', dataText(String(d.latest.version), 'mono'), ' ', tx('r1ol.of'), ' ', dataText(d.latest.issued_on, 'mono')])
      : h('span', { class: 'badge warn', tid: 'r1ol-not-issued', i18n: 'r1ol.not_issued' })
  ]);
}

function versionsBox(d) {
  var versions = d.versions || [];
  var pick = h('select', { class: 'sel-sm', tid: 'r1ol-version', onchange: function (ev) { showVersion(Number(ev.target.value)); } },
    [h('option', { value: '0', i18n: d.latest ? 'r1ol.latest' : 'r1ol.current', selected: !R.version })].concat(versions.map(function (v) {
      return h('option', { value: String(v.version), selected: R.version === v.version }, [tx('r1ol.version'), ' ' + v.version + ' · ' + v.issued_on]);
    })));
  return h('section', { class: 'box', tid: 'r1ol-versions-box' }, [
    h('div', { class: 'box-head' }, [h('span', { class: 'box-title', i18n: 'r1ol.versions' }), h('span', { class: 'spacer' }),
      h('label', { class: 'no-print', i18n: 'r1ol.show_version' }), pick]),
    versions.length
      ? h('ol', { class: 'r1ol-versions', tid: 'r1ol-versions' }, versions.map(function (v) {
        return h('li', { tid: 'r1ol-version-' + v.version }, [
          h('div', null, [tx('r1ol.version', 'b'), ' ', dataText(String(v.version), 'mono b'), ' · ', tx('r1ol.issued_on'), ' ', dataText(v.issued_on, 'mono')]),
          v.version > 1 ? changeList(v.changes, 'r1ol-version-changes-' + v.version) : h('div', { class: 'muted small', i18n: 'r1ol.first_version' })
        ]);
      }))
      : h('div', { class: 'empty-state', tid: 'r1ol-no-versions', i18n: 'r1ol.no_versions' })
  ]);
}

function recordsTable(records) {
  var head = ['r1ol.rec.number', 'r1ol.rec.requested_on', 'r1ol.rec.reception_on', 'r1ol.rec.outcome', 'r1ol.rec.receiver', 'r1ol.rec.decision', 'r1ol.rec.revision'];
  function coded(prefix, v) { return v ? h('span', { i18n: prefix + v, 'data-code': v }) : tx('none', 'muted'); }
  return h('div', { class: 'table-wrap' }, h('table', { class: 'tbl', tid: 'r1ol-records' }, [
    h('thead', null, h('tr', null, head.map(function (k) { return h('th', { i18n: k }); }))),
    h('tbody', null, records.length ? records.map(function (r) {
      return h('tr', { tid: 'r1ol-record', 'data-record': r.record_id }, [
        h('td', null, dataText(r.registration_number || r.record_id, 'mono')),
        h('td', null, fmtDay(r.requested_on)),
        h('td', null, fmtDay(r.reception_on)),
        h('td', null, coded('r1ol.outcome.', r.outcome)),
        h('td', null, coded('r1ol.receiver.', r.receiver)),
        h('td', null, coded('r1ol.decision.', r.decision)),
        h('td', { class: 'num' }, dataText(String(r.revision), 'mono'))
      ]);
    }) : [h('tr', { class: 'empty-row' }, h('td', { colspan: head.length, i18n: 'r1ol.no_records' }))])
  ]));
}

export function renderReport() {
  var el = qs('#r1ol-body');
  if (!el) return;
  clear(el);
  var d = R.data;
  if (!d) { applyLang(el); return; }
  var incomplete = d.current && d.current.incomplete;
  el.appendChild(h('div', { class: 'r1ol-title' }, [h('h2', { i18n: 'r1ol.title' }), statusLine(d)]));
  if (incomplete) el.appendChild(h('div', { class: 'notice', tid: 'r1ol-incomplete', i18n: 'r1ol.incomplete' }));
  if (d.issued && d.pending_changes && d.pending_changes.length) {
    el.appendChild(h('div', { class: 'alert-banner r1ol-pending', tid: 'r1ol-pending', role: 'status' }, [
      h('div', { class: 'b', i18n: 'r1ol.pending' }), changeList(d.pending_changes, 'r1ol-pending-changes')
    ]));
  }
  if (R.region && R.drill) {
    el.appendChild(h('section', { class: 'box', tid: 'r1ol-drill' }, [
      h('div', { class: 'box-head' }, [
        h('button', { type: 'button', class: 'btn btn-sm no-print', tid: 'r1ol-back', i18n: 'r1ol.back', onclick: back }),
        h('span', { class: 'box-title', tid: 'r1ol-drill-title' }, [tx('r1ol.region'), ' ', regionName(R.region)])
      ]),
      section5Table(R.drill.report && R.drill.report.section5, 'r1ol-region-table', null),
      h('h3', { i18n: 'r1ol.records' }),
      recordsTable(R.drill.records || [])
    ]));
  } else {
    el.appendChild(h('section', { class: 'box', tid: 'r1ol-national' }, [
      h('div', { class: 'box-head' }, [
        h('span', { class: 'box-title', tid: 'r1ol-shown', 'data-version': String(R.version) },
          R.version ? [tx('r1ol.version'), ' ', dataText(String(R.version), 'mono')] : tx(d.latest ? 'r1ol.latest' : 'r1ol.current')),
        h('span', { class: 'spacer' }), tx('r1ol.drill_hint', 'muted small no-print')
      ]),
      section5Table(R.shown && R.shown.section5, 'r1ol-table', function (id) { loadRegion(id); })
    ]));
    el.appendChild(versionsBox(d));
  }
  applyLang(el);
}
onLangToggled(function () { if (qs('#r1ol-body')) renderReport(); });
