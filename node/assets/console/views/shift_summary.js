/* The shift summary (GET /supervision/shift-summary): the shift's cards by category and outcome,
   by channel, and the units' utilisation. Printable: "Печать / Басып шығару" calls
   window.print(); the print stylesheet (app.css, its last block) shows only this box, with the
   heading that names the region, the date, the shift, who printed it and when. */
import { S, fmtDateTime, fmtDur, label, statusBadge } from '../state.js';
import { api, showError } from '../../kit/api.js';
import { clear, h, tx } from '../../kit/dom.js';
import { session } from '../../kit/session.js';

var OUTCOMES = ['total', 'closed', 'cancelled', 'duplicate', 'open'];

function num(v, tid) { return h('td', { class: 'num', tid: tid, text: String(v) }); }

function categoryTable(rows) {
  var body = h('tbody');
  rows.forEach(function (r) {
    var cat = r.category == null ? h('span', { i18n: 'sup.sum.no_category' }) : label('categories', r.category);
    var open = num(r.open, 'sum-open');
    if (r.open_by_status && r.open_by_status.length) {
      open.appendChild(h('div', { class: 'sup-open-by' }, r.open_by_status.map(function (s) {
        return h('span', { class: 'sup-open-st' }, [statusBadge(s.status), ' ', String(s.count)]);
      })));
    }
    body.appendChild(h('tr', { tid: 'sum-cat', 'data-category': r.category == null ? '' : r.category }, [
      h('td', null, cat), num(r.total, 'sum-total'), num(r.closed, 'sum-closed'), num(r.cancelled, 'sum-cancelled'),
      num(r.duplicate, 'sum-duplicate'), open
    ]));
  });
  if (!rows.length) body.appendChild(h('tr', null, h('td', { colspan: 6, class: 'muted', i18n: 'sup.sum.no_cards' })));
  return h('table', { class: 'grid sup-table', tid: 'sum-categories' }, [
    h('thead', null, h('tr', null, [h('th', { i18n: 'sup.sum.category' })].concat(OUTCOMES.map(function (k) {
      return h('th', { class: 'num', i18n: 'sup.sum.' + k });
    })))),
    body
  ]);
}

function channelTable(rows) {
  return h('table', { class: 'grid sup-table', tid: 'sum-channels' }, [
    h('thead', null, h('tr', null, [h('th', { i18n: 'sup.sum.channel' }), h('th', { class: 'num', i18n: 'sup.sum.cards' })])),
    h('tbody', null, rows.length ? rows.map(function (r) {
      return h('tr', { tid: 'sum-channel', 'data-channel': r.channel }, [h('td', null, label('channels', r.channel)), num(r.count, 'sum-channel-count')]);
    }) : h('tr', null, h('td', { colspan: 2, class: 'muted', i18n: 'sup.sum.no_cards' })))
  ]);
}

function unitTable(rows) {
  return h('table', { class: 'grid sup-table', tid: 'sum-units' }, [
    h('thead', null, h('tr', null, [
      h('th', { i18n: 'sup.sum.unit' }), h('th', { class: 'num', i18n: 'sup.sum.dispatches' }),
      h('th', { class: 'num', i18n: 'sup.sum.busy' }), h('th', { class: 'num', i18n: 'sup.sum.share' })
    ])),
    h('tbody', null, rows.length ? rows.map(function (u) {
      return h('tr', { tid: 'sum-unit', 'data-unit-id': u.unit_id }, [
        h('td', { translate: 'no', text: u.call_sign }),
        num(u.dispatches, 'sum-unit-dispatches'),
        h('td', { class: 'num', tid: 'sum-unit-busy', 'data-ms': String(u.busy_ms), text: fmtDur(u.busy_ms) }),
        h('td', { class: 'num', tid: 'sum-unit-share', text: (u.busy_permille / 10).toFixed(1).replace('.', ',') + ' %' })
      ]);
    }) : h('tr', null, h('td', { colspan: 4, class: 'muted', i18n: 'sup.sum.no_units' })))
  ]);
}

export function ShiftSummaryBox() {
  var region = h('span', { tid: 'print-region' });
  var when = h('span', { tid: 'print-shift' });
  var by = h('span', { tid: 'print-by', translate: 'no' });
  var at = h('span', { tid: 'print-at' });
  var heading = h('div', { class: 'print-only sup-print-head', tid: 'print-heading' }, [
    h('h1', { i18n: 'sup.sum.print_title' }),
    h('div', null, [tx('sup.sum.region'), ': ', region]),
    h('div', null, [tx('sup.date'), ': ', when]),
    h('div', null, [tx('sup.sum.printed_by'), ': ', by, ' · ', tx('sup.sum.printed_at'), ': ', at])
  ]);
  var body = h('div', { tid: 'sum-body' });
  var err = h('div', { class: 'error', tid: 'sum-error', style: 'display:none', role: 'alert' });
  var printBtn = h('button', { type: 'button', class: 'btn no-print', tid: 'sum-print', i18n: 'sup.sum.print' });
  var el = h('div', { class: 'box sup-summary print-area', tid: 'sup-summary' }, [
    h('div', { class: 'row no-print' }, [h('span', { class: 'section-title', i18n: 'sup.sum.title' }), h('span', { class: 'spacer' }), printBtn]),
    heading, err, body
  ]);
  var last = null;

  function stamp() {
    var u = session.user || {};
    clear(region);
    if (S.ref && S.ref.region) region.appendChild(h('span', { ref: S.ref.region }));
    by.textContent = (u.full_name ? u.full_name + ' (' + u.login + ')' : u.login || '');
    at.textContent = fmtDateTime(Date.now());
  }
  function show(v) {
    last = v;
    clear(when);
    when.appendChild(h('span', { translate: 'no', text: v.date.split('-').reverse().join('.') }));
    when.appendChild(document.createTextNode(', '));
    when.appendChild(h('span', { i18n: 'sup.shift.' + v.shift }));
    when.appendChild(h('span', { translate: 'no', text: ' (' + fmtDateTime(v.from_ms) + ' — ' + fmtDateTime(v.to_ms) + ')' }));
    stamp();
    clear(body);
    body.appendChild(h('div', { class: 'small' }, [tx('sup.sum.cards_total'), ': ', h('b', { tid: 'sum-cards-total', text: String(v.cards_total) })]));
    body.appendChild(h('div', { class: 'lbl', i18n: 'sup.sum.by_category' }));
    body.appendChild(categoryTable(v.by_category || []));
    body.appendChild(h('div', { class: 'lbl', i18n: 'sup.sum.by_channel' }));
    body.appendChild(channelTable(v.by_channel || []));
    body.appendChild(h('div', { class: 'lbl', i18n: 'sup.sum.units' }));
    body.appendChild(unitTable(v.units || []));
  }
  function load(q) {
    showError(err, null);
    return api('GET', '/supervision/shift-summary' + q).then(show, function (e) { showError(err, e); });
  }
  printBtn.addEventListener('click', function () { stamp(); window.print(); });
  window.addEventListener('beforeprint', function () { if (last) stamp(); });
  return { el: el, load: load };
}
