/* Charts (inline SVG): calls per hour and per day (by region or by channel), open cards, delays. */
import { byStatusOf, loadingOr, matrixStatuses, openCount, regionCodes } from './overview.js';
import { CHANNELS, DAY, HOUR, KZ_OFFSET, PALETTE, S, STATUS_COLOR, codeText, fmtDur, num } from './state.js';
import { clear, fmtTime, h, pad, qs, qsa, svg, tx } from '../kit/dom.js';
import { t } from '../kit/i18n.js';

export function niceMax(v) {
  if (v <= 5) return 5;
  var p = Math.pow(10, Math.floor(Math.log(v) / Math.LN10));
  var steps = [1, 2, 2.5, 5, 10];
  for (var i = 0; i < steps.length; i++) if (steps[i] * p >= v) return steps[i] * p;
  return 10 * p;
}
export function legend(items) {
  return h('div', { class: 'legend' }, items.map(function (it) {
    return h('span', { class: 'lg', 'data-key': it.key, translate: it.data ? 'no' : null }, [h('span', { class: 'sw', style: 'background:' + it.color }), it.label]);
  }));
}
export function noData(el, tid) {
  clear(el).appendChild(h('div', { class: 'empty-state small', tid: tid, 'data-total': 0, i18n: 'charts.no_data' }));
}

export function renderPerHour() {
  var el = qs('#chart-per-hour');
  if (!el) return;
  qsa('[data-testid^="chart-mode-"]').forEach(function (b) { b.classList.toggle('active', b.getAttribute('data-mode') === S.mode); });
  if (loadingOr(el)) return;
  var s = S.summary || {};
  var end = Math.floor((s.generated_at || Date.now()) / HOUR) * HOUR; // the current hour's start
  callsChart(el, {
    tid: 'chart-per-hour', series: s.calls_per_hour, start: end - 23 * HOUR, size: HOUR, count: 24,
    label: function (t) { return fmtTime(t).slice(0, 5); },
    labelled: function (bi) { return bi % 3 === 2 || bi === 23; }
  });
}
/* Calls per Kazakhstan day (UTC+5, as the hub counts them) over the last 7 days. */
export function renderPerDay() {
  var el = qs('#chart-per-day');
  if (!el || loadingOr(el)) return;
  var s = S.summary || {};
  var gen = s.generated_at || Date.now();
  var today = Math.floor((gen + KZ_OFFSET) / DAY) * DAY - KZ_OFFSET;
  callsChart(el, {
    tid: 'chart-per-day', series: s.calls_per_day, start: today - 6 * DAY, size: DAY, count: 7,
    label: function (t) { var d = new Date(t + KZ_OFFSET); return pad(d.getUTCDate()) + '.' + pad(d.getUTCMonth() + 1); },
    labelled: function () { return true; }
  });
}
/* Stacked bars of call counts per period (o.count periods of o.size ms from o.start), by
   region or by channel (S.mode), from one of the summary's call series. */
export function callsChart(el, o) {
  var start = o.start;
  var rows = (o.series || {})[S.mode === 'channel' ? 'by_channel' : 'by_region'] || [];
  var keyOf = S.mode === 'channel' ? function (e) { return e.channel || '?'; } : function (e) { return e.region || '?'; };
  var buckets = [], i;
  for (i = 0; i < o.count; i++) buckets.push({});
  var keyTotals = {};
  var total = 0;
  rows.forEach(function (e) {
    var idx = Math.floor((num(e.start_ms) - start) / o.size);
    if (idx < 0 || idx >= o.count) return;
    var k = keyOf(e), n = num(e.count);
    buckets[idx][k] = (buckets[idx][k] || 0) + n;
    keyTotals[k] = (keyTotals[k] || 0) + n;
    total += n;
  });
  var keys = Object.keys(keyTotals);
  if (S.mode === 'channel') keys.sort(function (a, b) { return CHANNELS.indexOf(a) - CHANNELS.indexOf(b); });
  else keys.sort();
  var color = {};
  keys.forEach(function (k, j) {
    var ci = S.mode === 'channel' && CHANNELS.indexOf(k) >= 0 ? CHANNELS.indexOf(k) : (S.mode === 'region' ? regionCodes().indexOf(k) : j);
    color[k] = PALETTE[(ci < 0 ? j : ci) % PALETTE.length];
  });
  var maxBar = 0;
  buckets.forEach(function (b) {
    var sum = 0;
    Object.keys(b).forEach(function (k) { sum += b[k]; });
    maxBar = Math.max(maxBar, sum);
  });
  var W = 640, H = 210, L = 34, R = 8, T = 10, B = 26;
  var ymax = niceMax(maxBar);
  var bw = (W - L - R) / o.count;
  var root = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, width: '100%', class: 'chart', role: 'img', preserveAspectRatio: 'xMidYMid meet' });
  var ticks = ymax % 4 === 0 ? 4 : 5; // whole numbers on the axis: 5 → 1, 10 → 2, 20 → 5, 25 → 5…
  for (i = 0; i <= ticks; i++) {
    var yv = ymax * i / ticks, y = H - B - (H - T - B) * i / ticks;
    root.appendChild(svg('line', { x1: L, x2: W - R, y1: y.toFixed(1), y2: y.toFixed(1), class: 'grid-line' }));
    root.appendChild(svg('text', { x: L - 4, y: (y + 3).toFixed(1), 'text-anchor': 'end', class: 'axis' }, String(Math.round(yv * 10) / 10)));
  }
  buckets.forEach(function (b, bi) {
    var x = L + bi * bw + 1.5, y0 = H - B;
    var sum = 0;
    keys.forEach(function (k) {
      var n = b[k] || 0;
      if (!n) return;
      var hgt = (H - T - B) * n / ymax;
      y0 -= hgt;
      sum += n;
      root.appendChild(svg('rect', { x: x.toFixed(1), y: y0.toFixed(1), width: (bw - 3).toFixed(1), height: hgt.toFixed(1), fill: color[k], 'data-key': k, 'data-count': n },
        svg('title', null, o.label(start + bi * o.size) + ' · ' + keyText(k) + ': ' + n)));
    });
    if (o.labelled(bi)) {
      root.appendChild(svg('text', { x: (x + bw / 2).toFixed(1), y: H - B + 14, 'text-anchor': 'middle', class: 'axis' }, o.label(start + bi * o.size)));
    }
    if (sum && sum === maxBar) {
      root.appendChild(svg('text', { x: (x + (bw - 3) / 2).toFixed(1), y: (y0 - 3).toFixed(1), 'text-anchor': 'middle', class: 'axis b' }, String(sum)));
    }
  });
  root.appendChild(svg('line', { x1: L, x2: W - R, y1: H - B, y2: H - B, class: 'axis-line' }));
  var box = h('div', { class: 'chart-box', tid: o.tid, 'data-mode': S.mode, 'data-total': total }, [root]);
  if (!total) box.appendChild(h('div', { class: 'chart-empty small muted', i18n: 'charts.no_data' }));
  box.appendChild(legend(keys.map(function (k) { return { key: k, color: color[k], label: keyText(k) + ' (' + keyTotals[k] + ')', data: S.mode !== 'channel' }; })));
  clear(el).appendChild(box);
}
export function keyText(k) { return S.mode === 'channel' ? codeText('channel', k) : k; }

export function renderOpenChart() {
  var el = qs('#chart-open');
  if (!el || loadingOr(el)) return;
  var sts = matrixStatuses();
  var codes = regionCodes();
  var rows = codes.map(function (c) { var bs = byStatusOf(c); return { code: c, bs: bs, total: openCount(bs) }; });
  var maxT = 0, grand = 0;
  rows.forEach(function (r) { maxT = Math.max(maxT, r.total); grand += r.total; });
  if (!rows.length) { noData(el, 'chart-open'); return; }
  var W = 640, L = 60, R = 40, rowH = 22, T = 4;
  var H = T + rows.length * rowH + 4;
  var xmax = niceMax(maxT);
  var root = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, width: '100%', class: 'chart', role: 'img' });
  rows.forEach(function (r, i) {
    var y = T + i * rowH;
    root.appendChild(svg('text', { x: L - 6, y: y + 15, 'text-anchor': 'end', class: 'axis b', translate: 'no' }, r.code));
    var x = L;
    sts.forEach(function (st) {
      var n = num(r.bs[st]);
      if (!n) return;
      var w = (W - L - R) * n / xmax;
      root.appendChild(svg('rect', { x: x.toFixed(1), y: y + 3, width: w.toFixed(1), height: rowH - 6, fill: STATUS_COLOR[st] || '#777', 'data-status': st, 'data-count': n },
        svg('title', null, r.code + ' · ' + codeText('status', st) + ': ' + n)));
      if (w > 16) root.appendChild(svg('text', { x: (x + w / 2).toFixed(1), y: y + 15, 'text-anchor': 'middle', class: 'bar-label' }, String(n)));
      x += w;
    });
    root.appendChild(svg('text', { x: (x + 4).toFixed(1), y: y + 15, class: 'axis' }, String(r.total)));
  });
  var box = h('div', { class: 'chart-box', tid: 'chart-open', 'data-total': grand }, [root]);
  box.appendChild(legend(sts.map(function (st) { return { key: st, color: STATUS_COLOR[st] || '#777', label: codeText('status', st) }; })));
  clear(el).appendChild(box);
}

export function renderDelays() {
  var el = qs('#chart-delays');
  if (!el || loadingOr(el)) return;
  var s = S.summary || {};
  var items = [
    { key: 'dispatch', label: 'charts.dispatch_delay', d: s.dispatch_delay_ms || {} },
    { key: 'arrival', label: 'charts.arrival_delay', d: s.arrival_delay_ms || {} }
  ];
  var maxV = 0;
  items.forEach(function (it) { maxV = Math.max(maxV, num(it.d.p50), num(it.d.p90)); });
  var box = h('div', { class: 'chart-box delays', tid: 'chart-delays' });
  items.forEach(function (it) {
    var cnt = num(it.d.count);
    var group = h('div', { class: 'delay', tid: 'delay-' + it.key, 'data-count': cnt }, [
      h('div', { class: 'delay-head' }, [h('span', { class: 'b', i18n: it.label }), h('span', { class: 'spacer' }),
        h('span', { class: 'muted small' }, [tx('charts.count'), ' = ', h('span', { class: 'mono', tid: 'delay-' + it.key + '-count', text: String(cnt) })])])
    ]);
    ['p50', 'p90'].forEach(function (p) {
      var v = it.d[p];
      var has = cnt > 0 && typeof v === 'number';
      var pct = has && maxV > 0 ? Math.max(1, Math.round(100 * v / maxV)) : 0;
      var bar = svg('svg', { viewBox: '0 0 100 10', preserveAspectRatio: 'none', class: 'delay-svg', width: '100%', height: 14 }, [
        svg('rect', { x: 0, y: 0, width: 100, height: 10, class: 'delay-track' }),
        svg('rect', { x: 0, y: 0, width: pct, height: 10, class: 'delay-bar delay-' + p })
      ]);
      group.appendChild(h('div', { class: 'delay-row' }, [
        h('span', { class: 'delay-p mono', text: p }),
        h('span', { class: 'delay-track-box' }, bar),
        h('span', { class: 'delay-v mono b', tid: 'delay-' + it.key + '-' + p, 'data-ms': has ? v : '' }, has ? fmtDur(v) : t('none'))
      ]));
    });
    box.appendChild(group);
  });
  clear(el).appendChild(box);
}

