/* The "Report meetings" tab (R22): district inspectors' report meetings with the population — for
   a quarter, one row per region: its beats, how many held a meeting, have one noticed or planned,
   have nothing planned yet, are at risk (the last notice day is near) or missed the quarter, with
   unsigned protocols and open follow-up items; the share of beats covered. A region's row opens
   its beats: each beat's state and its meetings. A region whose node published no beats register
   yet says so; demo beats are marked as sample data.
   Data: GET /api/v1/meetings/coverage?quarter=YYYY-QN, /meetings/coverage/{region}?quarter=. */
import { api, showError } from '../kit/api.js';
import { clear, dataText, h, qs, tx } from '../kit/dom.js';
import { applyLang, onLangToggled } from '../kit/i18n.js';
import { session } from '../kit/session.js';

/* The count columns of the national table, in order; their headings are `mtg.col.<key>`. */
export const COUNT_COLUMNS = ['beats', 'held', 'noticed', 'planned', 'open', 'at_risk', 'missed', 'unsigned_protocols', 'open_items'];
/* How many quarters back the picker offers. */
const QUARTERS_BACK = 7;

/* The page's state: the quarter shown ('' until the first answer says the current one), the
   national answer, the region drilled into and its answer. */
export const M = { quarter: '', data: null, region: '', drill: null, seq: 0 };

function query() { return M.quarter ? '?quarter=' + encodeURIComponent(M.quarter) : ''; }

export function loadMeetings() {
  if (!qs('#meetings-page') || !session.user) return Promise.resolve();
  var my = ++M.seq;
  return api('GET', '/meetings/coverage' + query()).then(function (data) {
    if (my !== M.seq) return;
    M.data = data;
    if (!M.quarter) { M.quarter = data.quarter; syncPicker(); }
    showError(qs('#mtg-error'), null);
    if (M.region) return loadRegion(M.region, my);
    renderMeetings();
  }).catch(function (e) {
    if (my !== M.seq || e.status === 401) return;
    M.data = null;
    renderMeetings();
    showError(qs('#mtg-error'), e);
  });
}
function loadRegion(region, my) {
  my = my || ++M.seq;
  return api('GET', '/meetings/coverage/' + encodeURIComponent(region) + query()).then(function (d) {
    if (my !== M.seq) return;
    M.region = region;
    M.drill = d;
    renderMeetings();
  }).catch(function (e) { if (my === M.seq && e.status !== 401) showError(qs('#mtg-error'), e); });
}
function back() { M.region = ''; M.drill = null; renderMeetings(); }

/* The quarters the picker offers: the current one (from the answer, else the browser's date) and
   those before it. */
function quarters() {
  var base = M.data ? M.data.quarter : M.quarter;
  var y, n;
  if (base) { y = Number(base.slice(0, 4)); n = Number(base.slice(-1)); } else {
    var d = new Date(); y = d.getFullYear(); n = Math.floor(d.getMonth() / 3) + 1;
  }
  var out = [];
  for (var k = 0; k <= QUARTERS_BACK; k++) {
    out.push(y + '-Q' + n);
    n -= 1;
    if (n === 0) { n = 4; y -= 1; }
  }
  return out;
}
function syncPicker() {
  var sel = qs('#mtg-quarter');
  if (!sel) return;
  clear(sel);
  quarters().forEach(function (q) {
    sel.appendChild(h('option', { value: q, selected: q === M.quarter }, [
      dataText(q.slice(-1), 'mono'), ' ', tx('mtg.quarter_of'), ' ', dataText(q.slice(0, 4), 'mono')
    ]));
  });
  applyLang(sel);
}

/* The tab's skeleton inside `root`; loadMeetings() fills it. */
export function renderMeetingsPage(root) {
  var pick = h('select', { class: 'sel-sm', tid: 'mtg-quarter', id: 'mtg-quarter', onchange: function (ev) { M.quarter = ev.target.value; M.region = ''; loadMeetings(); } });
  clear(root).appendChild(h('div', { class: 'r1ol' }, [
    h('div', { class: 'r1ol-controls no-print' }, [
      h('label', { for: 'mtg-quarter', i18n: 'mtg.quarter' }), pick,
      h('span', { class: 'spacer' }),
      h('button', { type: 'button', class: 'btn btn-sm', tid: 'mtg-print', i18n: 'r1ol.print', onclick: function () { window.print(); } })
    ]),
    h('div', { class: 'error', id: 'mtg-error', tid: 'mtg-error', style: 'display:none', role: 'alert' }),
    h('div', { id: 'mtg-body', tid: 'mtg-body' })
  ]));
  syncPicker();
  renderMeetings();
}

function names(o) { return h('span', { names: { kk: o.name_kk, ru: o.name_ru } }); }
function percent(c) { return c.beats ? Math.round((100 * c.held) / c.beats) + '%' : '—'; }
function countCells(c) {
  return COUNT_COLUMNS.map(function (k) {
    var v = (c && c[k]) || 0;
    var warn = (k === 'at_risk' || k === 'missed' || k === 'unsigned_protocols') && v > 0;
    return h('td', { class: 'num' + (warn ? ' b warn-text' : ''), 'data-col': k, text: String(v) });
  }).concat([h('td', { class: 'num b', 'data-col': 'covered', text: percent(c || {}) })]);
}
function head(first) {
  return h('thead', null, h('tr', null, [h('th', { i18n: first })]
    .concat(COUNT_COLUMNS.map(function (k) { return h('th', { class: 'r1ol-col', i18n: 'mtg.col.' + k }); }))
    .concat([h('th', { class: 'r1ol-col', i18n: 'mtg.col.covered' })])));
}

function nationalTable(d) {
  var rows = d.regions.map(function (r) {
    var name = h('button', { type: 'button', class: 'link', tid: 'mtg-region-' + r.region, disabled: !r.registered, onclick: function () { loadRegion(r.region); } }, names(r));
    var tail = r.registered
      ? countCells(r.counts)
      : [h('td', { colspan: COUNT_COLUMNS.length + 1, class: 'muted', tid: 'mtg-unregistered', i18n: 'mtg.no_register' })];
    return h('tr', { tid: 'mtg-row', 'data-region': r.region, 'data-sample': r.sample ? 'true' : 'false' },
      [h('td', { class: 'r1ol-name' }, [name, r.sample ? h('span', { class: 'badge warn', i18n: 'mtg.sample' }) : null])].concat(tail));
  });
  rows.push(h('tr', { class: 'r1ol-total', tid: 'mtg-total' }, [h('td', { class: 'b', i18n: 'r1ol.total' })].concat(countCells(d.total))));
  return h('div', { class: 'table-wrap' }, h('table', { class: 'tbl r1ol-table', tid: 'mtg-table' }, [head('regions.region'), h('tbody', null, rows)]));
}

function stateBadge(c) {
  var cls = { held: 'ok', noticed: 'ok', planned: '', open: '', at_risk: 'warn', missed: 'bad' }[c.state] || '';
  var day = c.on || c.last_notice_day || '';
  return h('span', { class: 'badge ' + cls, tid: 'mtg-state', 'data-state': c.state }, [
    tx('mtg.state.' + c.state), day ? ' ' : '', day ? dataText(day, 'mono') : null
  ]);
}

function regionTable(d) {
  var rows = d.beats.length ? d.beats.map(function (b) {
    return h('tr', { tid: 'mtg-beat', 'data-beat': b.code, 'data-state': b.coverage.state }, [
      h('td', null, [names(b), ' ', dataText(b.code, 'mono muted small')]),
      h('td', null, h('span', { names: { kk: b.office_name_kk, ru: b.office_name_ru } })),
      h('td', null, stateBadge(b.coverage)),
      h('td', null, b.meetings.length ? h('ul', { class: 'plain' }, b.meetings.map(function (m) {
        return h('li', { tid: 'mtg-meeting', 'data-meeting': m.id }, [
          dataText(m.date, 'mono'), ' · ', tx('mtg.stage.' + m.stage),
          m.stage === 'held' ? [' · ', tx(m.signed ? 'mtg.signed' : 'mtg.unsigned', m.signed ? '' : 'b warn-text')] : null,
          m.open_items ? [' · ', tx('mtg.col.open_items'), ' ', dataText(String(m.open_items), 'mono')] : null
        ]);
      })) : tx('none', 'muted'))
    ]);
  }) : [h('tr', { class: 'empty-row' }, h('td', { colspan: 4, i18n: 'mtg.no_beats' }))];
  return h('div', { class: 'table-wrap' }, h('table', { class: 'tbl', tid: 'mtg-beats' }, [
    h('thead', null, h('tr', null, ['mtg.beat', 'mtg.office', 'mtg.state', 'mtg.meetings'].map(function (k) { return h('th', { i18n: k }); }))),
    h('tbody', null, rows)
  ]));
}

export function renderMeetings() {
  var el = qs('#mtg-body');
  if (!el) return;
  clear(el);
  var d = M.data;
  if (!d) { applyLang(el); return; }
  el.appendChild(h('div', { class: 'r1ol-title' }, [
    h('h2', { i18n: 'mtg.title' }),
    h('div', { class: 'muted' }, [tx('mtg.rule'), ' · ', tx('mtg.today'), ' ', dataText(d.today, 'mono')])
  ]));
  if (M.region && M.drill) {
    el.appendChild(h('section', { class: 'box', tid: 'mtg-drill' }, [
      h('div', { class: 'box-head' }, [
        h('button', { type: 'button', class: 'btn btn-sm no-print', tid: 'mtg-back', i18n: 'r1ol.back', onclick: back }),
        h('span', { class: 'box-title', tid: 'mtg-drill-title' }, [tx('r1ol.region'), ' ', names(M.drill)]),
        M.drill.sample ? h('span', { class: 'badge warn', i18n: 'mtg.sample' }) : null
      ]),
      h('table', { class: 'tbl r1ol-table' }, [head('regions.region'), h('tbody', null, h('tr', null, [h('td', null, names(M.drill))].concat(countCells(M.drill.counts))))]),
      regionTable(M.drill)
    ]));
  } else {
    el.appendChild(h('section', { class: 'box', tid: 'mtg-national' }, [
      h('div', { class: 'box-head' }, [h('span', { class: 'box-title', i18n: 'mtg.national' }), h('span', { class: 'spacer' }), tx('mtg.drill_hint', 'muted small no-print')]),
      d.regions.length ? nationalTable(d) : h('div', { class: 'empty-state', tid: 'mtg-no-regions', i18n: 'mtg.no_regions' })
    ]));
  }
  applyLang(el);
}
onLangToggled(function () { if (qs('#mtg-body')) { syncPicker(); renderMeetings(); } });
