/* The overview: key figures, regions and their links, alerts, the status matrix, the waiting
   list and the national queue. */
import { renderDelays, renderOpenChart, renderPerDay, renderPerHour } from './charts.js';
import { linkState } from './data.js';
import { openCard } from './detail.js';
import { OPEN, S, isOpen, refLabel, local, num, priBadge, regionInfo, regionLabel, statusBadge, timer, waitingSince } from './state.js';
import { clear, dataText, fmtTime, h, qs, qsa, tx } from '../kit/dom.js';
import { fmtDateTime } from './state.js';
import { tick } from './state.js';

export function renderAll() {
  if (!qs('#regions')) return;
  renderKpis();
  renderRegions();
  renderMatrix();
  renderWaiting();
  renderQueueList();
  renderCharts();
  var at = qs('#refreshed-at');
  if (at) at.textContent = S.lastRefresh ? fmtTime(S.lastRefresh) : '—';
  tick();
}
export function renderCharts() {
  renderPerHour();
  renderPerDay();
  renderOpenChart();
  renderDelays();
}
export function loadingOr(el) {
  if (S.loaded) return false;
  clear(el).appendChild(h('div', { class: 'empty-state', i18n: 'loading' }));
  return true;
}
export function emptyRow(cols, key) {
  return h('tr', { class: 'empty-row' }, h('td', { colspan: cols, i18n: key || 'empty' }));
}

/* Every region the hub knows: the regions list, plus any region only the summary or queue names. */
export function regionCodes() {
  var seen = {}, out = [];
  function add(c) { if (c && !seen[c]) { seen[c] = true; out.push(c); } }
  S.regions.forEach(function (r) { add(r.region); });
  ((S.summary && S.summary.regions) || []).forEach(function (r) { add(r.region); });
  S.queue.forEach(function (c) { add(c.region); });
  return out.sort();
}
export function byStatusOf(code) {
  var rs = (S.summary && S.summary.regions) || [];
  for (var i = 0; i < rs.length; i++) if (rs[i].region === code) return rs[i].by_status || {};
  return {};
}
export function openCount(byStatus) {
  var n = 0;
  Object.keys(byStatus || {}).forEach(function (st) { if (isOpen(st)) n += num(byStatus[st]); });
  return n;
}
export function disconnectedSince(r) {
  if (r.connected) return null;
  if (typeof r.disconnected_for_ms === 'number') return (r._at || Date.now()) - r.disconnected_for_ms;
  if (typeof r.disconnected_since_ms === 'number') return local(r.disconnected_since_ms);
  if (r.last_contact_ms) return local(r.last_contact_ms);
  return null;
}

export function renderKpis() {
  var el = qs('#kpis');
  if (!el) return;
  clear(el);
  var totals = (S.summary && S.summary.totals) || {};
  // A stalled region is connected but not replicating: it does not count as on line.
  var conn = S.regions.filter(function (r) { return linkState(r) === 'connected'; }).length;
  var od = S.summary ? S.summary.overdue_units : null;
  if (Array.isArray(od)) od = od.length;
  var items = [
    { tid: 'kpi-regions', key: 'regions.title', value: conn + ' / ' + S.regions.length, bad: conn < S.regions.length },
    { tid: 'kpi-open', key: 'regions.open_cards', value: String(openCount(totals)) },
    { tid: 'kpi-waiting', key: 'status.sent_for_processing', value: String(num(totals.sent_for_processing)), bad: num(totals.sent_for_processing) > 0 },
    { tid: 'kpi-overdue', key: 'queue.overdue_units', value: String(num(od)), bad: num(od) > 0 }
  ];
  items.forEach(function (k) {
    el.appendChild(h('div', { class: 'kpi' + (k.bad ? ' kpi-bad' : ''), tid: k.tid }, [
      h('div', { class: 'kpi-v', tid: k.tid + '-value', text: S.loaded ? k.value : '…' }),
      h('div', { class: 'kpi-k', i18n: k.key })
    ]));
  });
}

export function renderRegions() {
  var el = qs('#regions');
  if (!el) return;
  renderAlerts();
  renderKpis();
  if (loadingOr(el)) return;
  var body = h('tbody');
  // Problems first: alerts, then other disconnected or stalled regions, then the rest by code.
  var rank = function (r) { return r.alert ? 0 : (linkState(r) === 'connected' ? 2 : 1); };
  var codes = S.regions.slice().sort(function (a, b) {
    return rank(a) - rank(b) || (a.region < b.region ? -1 : a.region > b.region ? 1 : 0);
  }).map(function (r) { return r.region; });
  codes.forEach(function (code) {
    var r = regionInfo(code);
    var since = disconnectedSince(r);
    var never = !r.connected && !r.last_contact_ms;
    var open = typeof r.open_cards === 'number' ? r.open_cards : openCount(byStatusOf(code));
    var ls = linkState(r);
    var state = h('span', {
      class: 'badge ' + (ls === 'connected' ? 'conn-on' : ls === 'stalled' ? 'conn-stalled' : 'conn-off'),
      tid: 'region-state', 'data-state': ls, i18n: 'regions.' + ls
    });
    body.appendChild(h('tr', {
      class: 'region-row' + (r.alert ? ' alert' : '') + (r.connected ? '' : ' off'),
      tid: 'region-row-' + code, 'data-region': code,
      'data-connected': r.connected ? '1' : '0', 'data-alert': r.alert ? '1' : '0'
    }, [
      h('td', null, regionLabel(code, true)),
      h('td', { class: 'nowrap' }, [
        state,
        !r.connected ? h('div', { class: 'small dis-for' }, never && since == null
          ? tx('regions.never')
          : [tx('regions.disconnected_for'), ' ', since != null ? timer(since, '', 'region-disconnected-for') : tx('none')]) : null,
        ls === 'stalled' && typeof r.stalled_since_ms === 'number'
          ? h('div', { class: 'small dis-for' }, [tx('regions.stalled_for'), ' ', timer(local(r.stalled_since_ms), '', 'region-stalled-for')])
          : null
      ]),
      h('td', { class: 'nowrap mono small', tid: 'region-last-contact' }, r.last_contact_ms ? fmtDateTime(local(r.last_contact_ms)) : tx('none', 'muted')),
      h('td', { class: 'nowrap small' }, [
        h('span', { class: 'mono', tid: 'region-connections', text: String(num(r.connections)) }), ' ', tx('regions.connections', 'muted'), ' · ',
        h('span', { class: 'mono', tid: 'region-docs', text: String(num(r.docs)) }), ' ', tx('regions.docs', 'muted'),
        typeof r.frames_in === 'number' ? [' · ', h('span', { class: 'mono', tid: 'region-frames', text: String(r.frames_in) }), ' ', tx('regions.frames', 'muted')] : null,
        num(r.stalls) > 0 ? [' · ', h('span', { class: 'mono', tid: 'region-stalls', text: String(num(r.stalls)) }), ' ', tx('regions.stalls', 'muted')] : null,
        r.last_error && !r.connected ? h('div', { class: 'small muted ellipsis last-error', i18n: 'regions.last_error', 'data-detail': r.last_error }) : null
      ]),
      versionCell(r),
      h('td', { class: 'num b', tid: 'region-open-cards', text: String(open) })
    ]));
  });
  if (!codes.length) body.appendChild(emptyRow(6, 'regions.none'));
  var table = h('table', { class: 'grid regions', tid: 'regions-table' }, [
    h('thead', null, h('tr', null, [
      h('th', { i18n: 'regions.region' }), h('th', { i18n: 'regions.state' }), h('th', { i18n: 'regions.last_contact' }),
      h('th', { i18n: 'regions.replication' }), h('th', { i18n: 'regions.version' }),
      h('th', { class: 'num', i18n: 'regions.open_cards' })
    ])),
    body
  ]);
  clear(el).appendChild(table);
  updateRegionFilter();
  tick();
}

/* The software version the region's node named when it last connected (rolling upgrades), with
   the protocol version they agreed; a node older than the version report names none. */
function versionCell(r) {
  if (!r.software_version) {
    return h('td', { class: 'nowrap small', tid: 'region-version', 'data-version': '' },
      tx(r.protocol_version ? 'regions.version_unknown' : 'none', 'muted'));
  }
  return h('td', { class: 'nowrap small', tid: 'region-version', 'data-version': r.software_version }, [
    dataText(r.software_version, 'mono'),
    typeof r.protocol_version === 'number'
      ? h('div', { class: 'muted' }, [tx('regions.protocol'), ' ', h('span', { class: 'mono', tid: 'region-protocol', text: String(r.protocol_version) })])
      : null
  ]);
}

export function renderAlerts() {
  var el = qs('#alert-banner');
  if (!el) return;
  clear(el);
  var bad = S.regions.filter(function (r) { return r.alert; });
  bad.sort(function (a, b) { return a.region < b.region ? -1 : 1; });
  el.hidden = !bad.length;
  el.setAttribute('data-count', String(bad.length));
  if (!bad.length) return;
  el.appendChild(h('span', { class: 'alert-title', i18n: 'alert.title' }));
  bad.forEach(function (r) {
    var since = disconnectedSince(r);
    el.appendChild(h('span', { class: 'alert-item', tid: 'alert-' + r.region, 'data-region': r.region }, [
      regionLabel(r.region, true), ' — ',
      since == null && !r.last_contact_ms ? tx('alert.never') : [tx('alert.for'), ' ', since != null ? timer(since) : tx('none')]
    ]));
  });
}

export function matrixStatuses() {
  var list = OPEN.slice();
  var extra = {};
  function look(bs) { Object.keys(bs || {}).forEach(function (st) { if (isOpen(st) && list.indexOf(st) < 0) extra[st] = true; }); }
  ((S.summary && S.summary.regions) || []).forEach(function (r) { look(r.by_status); });
  look(S.summary && S.summary.totals);
  return list.concat(Object.keys(extra).sort());
}
export function renderMatrix() {
  var el = qs('#matrix');
  if (!el || loadingOr(el)) return;
  var sts = matrixStatuses();
  var codes = regionCodes();
  var body = h('tbody');
  codes.forEach(function (code) {
    var bs = byStatusOf(code);
    var row = h('tr', { tid: 'mx-row-' + code, 'data-region': code }, [h('td', null, regionLabel(code, false))]);
    sts.forEach(function (st) {
      var n = num(bs[st]);
      row.appendChild(h('td', {
        class: 'num mx-cell' + (n ? ' mx-has mx-' + st : ''), tid: 'mx-' + code + '-' + st, 'data-count': n,
        onclick: n ? function () { filterQueue(code, st); } : null
      }, n ? String(n) : '·'));
    });
    var total = openCount(bs);
    row.appendChild(h('td', { class: 'num b', tid: 'mx-' + code + '-total', 'data-count': total, text: String(total) }));
    body.appendChild(row);
  });
  if (!codes.length) body.appendChild(emptyRow(sts.length + 2));
  var totals = (S.summary && S.summary.totals) || {};
  var foot = h('tr', { class: 'totals' }, [h('td', { i18n: 'total' })]);
  sts.forEach(function (st) {
    foot.appendChild(h('td', { class: 'num b', tid: 'mx-total-' + st, 'data-count': num(totals[st]), text: String(num(totals[st])) }));
  });
  foot.appendChild(h('td', { class: 'num b', tid: 'mx-total-total', text: String(openCount(totals)) }));
  var head = h('tr', null, [h('th', { i18n: 'regions.region' })].concat(sts.map(function (st) {
    return h('th', { class: 'num' }, statusBadge(st));
  })).concat([h('th', { class: 'num', i18n: 'total' })]));
  clear(el).appendChild(h('table', { class: 'grid matrix', tid: 'queue-matrix' }, [h('thead', null, head), body, h('tfoot', null, foot)]));
}
export function filterQueue(code, st) {
  S.filterRegion = code;
  S.filterStatus = st;
  var r = qs('#queue-filter-region'), s = qs('#queue-filter-status');
  updateRegionFilter();
  if (r) r.value = code;
  if (s) s.value = st;
  renderQueueList();
  var box = qs('[data-testid="queue-box"]');
  if (box && box.scrollIntoView) box.scrollIntoView({ block: 'nearest' });
}

export function cardRow(c, tid) {
  return h('tr', {
    class: 'card-row pri-row-' + (c.priority || 0), tid: tid, 'data-id': c.id, 'data-region': c.region,
    'data-number': c.number, 'data-status': c.status,
    onclick: function () { openCard(c.region, c.id); }
  }, [
    h('td', { class: 'mono nowrap b', data: c.number || c.id }),
    h('td', { class: 'nowrap' }, regionLabel(c.region, false)),
    h('td', { class: 'c-what' }, [
      h('div', null, refLabel(c.region, 'categories', 'category', c.category)),
      h('div', { class: 'muted small ellipsis', data: c.address || '' })
    ]),
    h('td', { class: 'nowrap' }, priBadge(c.priority)),
    h('td', { class: 'nowrap' }, statusBadge(c.status)),
    h('td', { class: 'nowrap timer-cell' }, timer(waitingSince(c), 'b', 'waiting-time'))
  ]);
}
export function cardHead() {
  return h('thead', null, h('tr', null, [
    h('th', { i18n: 'card.number' }), h('th', { i18n: 'card.region' }), h('th', { i18n: 'card.category' }),
    h('th', { i18n: 'card.priority' }), h('th', { i18n: 'card.status' }), h('th', { i18n: 'card.waiting' })
  ]));
}
export function renderWaiting() {
  var el = qs('#waiting');
  if (!el || loadingOr(el)) return;
  var rows = ((S.summary && S.summary.waiting_longest) || []).slice();
  rows.sort(function (a, b) { return waitingSince(a) - waitingSince(b); });
  var body = h('tbody');
  rows.forEach(function (c) { body.appendChild(cardRow(c, 'waiting-row')); });
  if (!rows.length) body.appendChild(emptyRow(6));
  clear(el).appendChild(h('table', { class: 'grid cards', tid: 'waiting-list', 'data-count': rows.length }, [cardHead(), body]));
  tick();
}
export function updateRegionFilter() {
  var sel = qs('#queue-filter-region');
  if (!sel) return;
  var codes = regionCodes();
  if (S.filterRegion && codes.indexOf(S.filterRegion) < 0) codes.push(S.filterRegion);
  var have = qsa('option', sel).map(function (o) { return o.value; }).join('|');
  if (have === [''].concat(codes).join('|')) return;
  clear(sel).appendChild(h('option', { value: '', i18n: 'all' }));
  codes.forEach(function (c) { sel.appendChild(h('option', { value: c, data: c })); });
  sel.value = S.filterRegion;
}
export function renderQueueList() {
  var el = qs('#queue');
  if (!el || loadingOr(el)) return;
  updateRegionFilter();
  var rows = S.queue.filter(function (c) {
    return (!S.filterRegion || c.region === S.filterRegion) && (!S.filterStatus || c.status === S.filterStatus);
  });
  rows.sort(function (a, b) { return (a.created_at || 0) - (b.created_at || 0); });
  var body = h('tbody');
  rows.forEach(function (c) { body.appendChild(cardRow(c, 'queue-row')); });
  if (!rows.length) body.appendChild(emptyRow(6));
  clear(el).appendChild(h('table', { class: 'grid cards', tid: 'queue-list', 'data-count': rows.length }, [cardHead(), body]));
  tick();
}

