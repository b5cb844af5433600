/* Schematic map (offline): district polygons from the reference ([lat, lon] corners) and the
   caller's point with its accuracy. */
import { S } from '../state.js';
import { h, svg } from '../../kit/dom.js';
import { lang } from '../../kit/i18n.js';

export function mapDistricts() {
  return ((S.ref && S.ref.districts) || []).filter(function (d) { return d && Array.isArray(d.polygon) && d.polygon.length > 2; });
}
export function pointInPolygon(lat, lon, poly) {
  var inside = false;
  for (var i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    var yi = poly[i][0], xi = poly[i][1], yj = poly[j][0], xj = poly[j][1];
    if (((yi > lat) !== (yj > lat)) && (lon < (xj - xi) * (lat - yi) / (yj - yi) + xi)) inside = !inside;
  }
  return inside;
}
export function districtAt(lat, lon) {
  var ds = mapDistricts();
  for (var i = 0; i < ds.length; i++) if (pointInPolygon(lat, lon, ds[i].polygon)) return ds[i].code;
  return null;
}
/* A district name on the map: one word per line, centred on the label's point. */
export function wrapLabel(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  var words = (el.getAttribute('data-map-' + lang()) || '').split(/\s+/).filter(Boolean);
  words.forEach(function (w, i) {
    var ts = svg('tspan', { x: el.getAttribute('x'), dy: i === 0 ? (-(words.length - 1) * 0.55) + 'em' : '1.1em' });
    ts.textContent = w;
    el.appendChild(ts);
  });
}
/* Returns {el, set(lat, lon, accuracy_m, district)}. */
export function MiniMap(tid, height) {
  var box = h('div', { class: 'map', tid: tid, style: 'height:' + (height || 160) + 'px' });
  var ds = mapDistricts();
  var self = { el: box };
  if (!ds.length) { self.set = function () {}; return self; }
  var minLat = 90, maxLat = -90, minLon = 180, maxLon = -180;
  ds.forEach(function (d) {
    d.polygon.forEach(function (pt) {
      minLat = Math.min(minLat, pt[0]); maxLat = Math.max(maxLat, pt[0]);
      minLon = Math.min(minLon, pt[1]); maxLon = Math.max(maxLon, pt[1]);
    });
  });
  var k = Math.cos(((minLat + maxLat) / 2) * Math.PI / 180);
  var U = 1000;
  function X(lon) { return (lon - minLon) * k * U; }
  function Y(lat) { return (maxLat - lat) * U; }
  var W = X(maxLon), H = Y(minLat), pad = Math.max(W, H) * 0.03;
  var root = svg('svg', { viewBox: (-pad) + ' ' + (-pad) + ' ' + (W + 2 * pad) + ' ' + (H + 2 * pad), preserveAspectRatio: 'xMidYMid meet', width: '100%', height: '100%' });
  var polys = {};
  var fs = Math.min(W, H) / 13;
  ds.forEach(function (d) {
    var pts = d.polygon.map(function (pt) { return X(pt[1]).toFixed(1) + ',' + Y(pt[0]).toFixed(1); }).join(' ');
    var poly = svg('polygon', { points: pts, class: 'map-d', 'data-code': d.code });
    polys[d.code] = poly;
    root.appendChild(poly);
    var cx = 0, cy = 0;
    d.polygon.forEach(function (pt) { cx += X(pt[1]); cy += Y(pt[0]); });
    var label = svg('text', { x: (cx / d.polygon.length).toFixed(1), y: (cy / d.polygon.length).toFixed(1), class: 'map-l', 'font-size': fs.toFixed(1), 'text-anchor': 'middle',
      'data-map-kk': d.name_kk || d.code, 'data-map-ru': d.name_ru || d.code });
    wrapLabel(label);
    root.appendChild(label);
  });
  var acc = svg('circle', { class: 'map-acc', r: 0, cx: -1000, cy: -1000 });
  var dot = svg('circle', { class: 'map-pt', r: (fs / 2.5).toFixed(1), cx: -1000, cy: -1000 });
  root.appendChild(acc);
  root.appendChild(dot);
  box.appendChild(root);
  var none = h('div', { class: 'map-none small muted', i18n: 'map.none' });
  box.appendChild(none);
  self.set = function (lat, lon, accuracy, district) {
    Object.keys(polys).forEach(function (c) { polys[c].setAttribute('class', 'map-d' + (c === district ? ' sel' : '')); });
    var ok = typeof lat === 'number' && typeof lon === 'number' && isFinite(lat) && isFinite(lon);
    none.style.display = ok ? 'none' : '';
    box.setAttribute('data-has-point', ok ? '1' : '0');
    if (!ok) { dot.setAttribute('cx', -1000); acc.setAttribute('cx', -1000); return; }
    dot.setAttribute('cx', X(lon).toFixed(1)); dot.setAttribute('cy', Y(lat).toFixed(1));
    acc.setAttribute('cx', X(lon).toFixed(1)); acc.setAttribute('cy', Y(lat).toFixed(1));
    acc.setAttribute('r', accuracy ? Math.max(accuracy / 111320 * U, fs / 2).toFixed(1) : 0);
  };
  return self;
}
