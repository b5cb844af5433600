/* The console's maps over the kit map (Leaflet, kit/map.js): the small map of a card or a call
   (the caller's point with its accuracy, R35, over the node's tiles or the district outlines)
   and the district lookup the card form uses. The big map tab is map_panel.js. */
import { S } from '../state.js';
import { h, svg } from '../../kit/dom.js';
import { api } from '../../kit/api.js';
import { lang } from '../../kit/i18n.js';
import { createMap } from '../../kit/map.js';

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
/* A district name drawn in SVG, one word per line (kept for any [data-map-kk] label). */
export function wrapLabel(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  var words = (el.getAttribute('data-map-' + lang()) || '').split(/\s+/).filter(Boolean);
  words.forEach(function (w, i) {
    var ts = svg('tspan', { x: el.getAttribute('x'), dy: i === 0 ? (-(words.length - 1) * 0.55) + 'em' : '1.1em' });
    ts.textContent = w;
    el.appendChild(ts);
  });
}

/* GET /map/config once per session: whether the node has tiles (null when it cannot say). */
var configPromise = null;
export function mapConfig() {
  if (!configPromise) {
    configPromise = api('GET', '/map/config').catch(function () { configPromise = null; return null; });
  }
  return configPromise;
}

/* The outlines with `selected` marking one district. */
export function outlines(selected) {
  return mapDistricts().map(function (d) { return Object.assign({}, d, { selected: d.code === selected }); });
}

/* Returns {el, set(lat, lon, accuracy_m, district)}: the caller's point on a small map. */
export function MiniMap(tid, height) {
  var box = h('div', { class: 'map', tid: tid, style: 'height:' + (height || 160) + 'px', 'data-has-point': '0' });
  var canvas = h('div', { class: 'map-canvas' });
  var none = h('div', { class: 'map-none small muted', i18n: 'map.none' });
  box.appendChild(canvas);
  box.appendChild(none);
  var self = { el: box };
  var want = null;
  var m = null;
  function apply() {
    if (!m || !want) return;
    var ok = typeof want.lat === 'number' && typeof want.lon === 'number' && isFinite(want.lat) && isFinite(want.lon);
    none.style.display = ok ? 'none' : '';
    box.setAttribute('data-has-point', ok ? '1' : '0');
    m.setOutlines(outlines(want.district));
    m.setCaller(ok ? { lat: want.lat, lon: want.lon, accuracy_m: want.accuracy } : null);
    box.setAttribute('data-has-point', ok ? '1' : '0');
    if (ok) {
      var d = (want.accuracy || 0) / 111320;
      m.fitTo([[want.lat - d, want.lon - d], [want.lat + d, want.lon + d]]);
    } else {
      m.fitTo('outlines');
    }
  }
  mapConfig().then(function (config) {
    m = createMap(canvas, { config: config, outlines: outlines(null), zoomControl: false });
    apply();
  });
  self.set = function (lat, lon, accuracy, district) {
    var ok = typeof lat === 'number' && typeof lon === 'number' && isFinite(lat) && isFinite(lon);
    want = { lat: lat, lon: lon, accuracy: accuracy, district: district };
    none.style.display = ok ? 'none' : '';
    box.setAttribute('data-has-point', ok ? '1' : '0');
    apply();
  };
  return self;
}
