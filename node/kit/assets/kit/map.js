/* The map both consoles and the field terminal draw: Leaflet (vendored in ./leaflet/, no build
   step) with the server's own tile layer when it has one (GET /api/v1/map/config says), else the
   district outlines on a plain background. Layers: units, incidents, posts and patrol routes
   (R20), the caller's point with its accuracy circle (R35), the selected card's route. Every
   drawn thing carries a stable data-testid and CSS class (kit/map.css); texts come from the kit
   dictionaries and are redrawn after a language switch. */
import * as L from './leaflet/leaflet-src.esm.js';
import { t, onLangToggled } from './i18n.js';
import { h } from './dom.js';

/* Districts' outlines fill the map when there are no tiles; over tiles only their borders show. */
const OUTLINE_STYLE = { weight: 1.5, opacity: 0.9, fillOpacity: 0.35 };
const OUTLINE_STYLE_OVER_TILES = { weight: 2, opacity: 0.7, fillOpacity: 0.05 };
/* Padding around what fitTo shows, pixels. */
const FIT_PADDING_PX = 24;
/* Where a map with nothing to show opens: Kazakhstan. */
const KZ_CENTER = [48, 67];
const KZ_ZOOM = 5;
/* Zoom fitTo uses for a single point. */
const POINT_ZOOM = 15;
/* The smallest accuracy circle drawn, metres (a smaller one hides under the point). */
const ACCURACY_MIN_M = 5;

function num(v) { return typeof v === 'number' && isFinite(v); }
function okPoint(lat, lon) { return num(lat) && num(lon) && Math.abs(lat) <= 90 && Math.abs(lon) <= 180; }
function okPolygon(p) { return Array.isArray(p) && p.length > 2 && p.every(function (pt) { return Array.isArray(pt) && okPoint(pt[0], pt[1]); }); }

/* Maps on the page, redrawn in the new language after a switch; those whose element left the
   document are let go. */
const LIVE = [];
onLangToggled(function () {
  LIVE.slice().forEach(function (m) {
    if (document.contains(m.el)) m.redraw();
    else m.destroy();
  });
});

/** Localized "how long ago" for a time in ms. */
export function ageText(atMs, nowMs) {
  const s = Math.max(0, Math.round(((nowMs || Date.now()) - atMs) / 1000));
  if (s < 60) return t('map.age.s').replace('{n}', s);
  if (s < 3600) return t('map.age.min').replace('{n}', Math.floor(s / 60));
  return t('map.age.h').replace('{n}', Math.floor(s / 3600));
}

function nameOf(x) {
  const kk = document.documentElement.getAttribute('lang') === 'kk';
  return (kk ? x.name_kk || x.name_ru : x.name_ru || x.name_kk) || x.code || '';
}

function tip(lines) {
  return h('div', { class: 'map-tip' }, lines.filter(Boolean).map(function (l) {
    return typeof l === 'string' ? h('div', { text: l }) : l;
  }));
}

/* Marks a drawn layer's element for tests and styles once it is on the map. */
function mark(layer, tid, attrs) {
  const el = layer.getElement && layer.getElement();
  if (!el) return;
  el.setAttribute('data-testid', tid);
  Object.keys(attrs || {}).forEach(function (k) { el.setAttribute(k, attrs[k]); });
}

/**
 * Creates the map in `el`. `config` is GET /api/v1/map/config's answer (or null: outlines only);
 * `outlines` a list of districts `{code, name_kk, name_ru, polygon: [[lat, lon], ...]}`;
 * `labels` shows district names on an outline map. Returns the map's layer helpers.
 */
export function createMap(el, opts) {
  opts = opts || {};
  const config = opts.config || null;
  const tiles = !!(config && config.tiles);
  el.classList.add('kit-map');
  el.setAttribute('data-tiles', tiles ? '1' : '0');
  const map = L.map(el, {
    attributionControl: false,
    zoomControl: false,
    minZoom: config ? config.min_zoom : 4,
    maxZoom: config ? config.max_zoom : 18,
    zoomSnap: 0.5
  });
  // A view at once, so that layers are drawn (and marked) as they are added.
  if (config && config.center) map.setView([config.center[0], config.center[1]], config.center[2]);
  else map.setView(KZ_CENTER, KZ_ZOOM);
  const zoom = L.control.zoom({ zoomInTitle: t('map.zoom_in'), zoomOutTitle: t('map.zoom_out') });
  if (opts.zoomControl !== false) zoom.addTo(map);
  if (tiles) {
    const b = config.bounds;
    L.tileLayer(config.tile_url, {
      minZoom: config.min_zoom,
      maxZoom: config.max_zoom,
      maxNativeZoom: config.max_zoom,
      bounds: b ? L.latLngBounds([b[1], b[0]], [b[3], b[2]]) : undefined,
      className: 'map-tiles'
    }).addTo(map);
  }
  const groups = {
    outlines: L.featureGroup().addTo(map),
    posts: L.featureGroup().addTo(map),
    route: L.featureGroup().addTo(map),
    incidents: L.featureGroup().addTo(map),
    caller: L.featureGroup().addTo(map),
    badges: L.featureGroup().addTo(map),
    units: L.featureGroup().addTo(map)
  };
  const last = {};
  const self = { map: map, L: L, tiles: tiles, groups: groups };

  self.setOutlines = function (districts) {
    last.outlines = districts;
    groups.outlines.clearLayers();
    (districts || []).filter(function (d) { return d && okPolygon(d.polygon); }).forEach(function (d) {
      const style = Object.assign({ className: 'map-district' + (d.selected ? ' sel' : '') }, tiles ? OUTLINE_STYLE_OVER_TILES : OUTLINE_STYLE);
      const p = L.polygon(d.polygon, style).addTo(groups.outlines);
      mark(p, 'map-district-' + d.code, { 'data-code': d.code });
      if (opts.labels && !tiles) {
        p.bindTooltip(nameOf(d), { permanent: true, direction: 'center', className: 'map-district-label' });
      } else {
        p.bindTooltip(nameOf(d), { sticky: true });
      }
    });
  };

  /* [{unit_id, call_sign, status, position: {lat, lon, at_ms}, off_post}] */
  self.setUnits = function (units) {
    last.units = units;
    groups.units.clearLayers();
    (units || []).forEach(function (u) {
      const p = u && u.position;
      if (!p || !okPoint(p.lat, p.lon)) return;
      const status = u.status || 'unknown';
      const cls = 'map-unit st-' + status + (u.off_post ? ' off-post' : '');
      const icon = L.divIcon({ className: cls, html: h('span', { class: 'map-unit-label', data: u.call_sign || u.unit_id }), iconSize: null });
      const m = L.marker([p.lat, p.lon], { icon: icon, keyboard: false }).addTo(groups.units);
      m.bindTooltip(function () {
        return tip([
          h('b', { data: u.call_sign || u.unit_id }),
          t('ustatus.' + status),
          num(p.at_ms) ? t('map.position_at') + ': ' + ageText(p.at_ms) : null,
          u.off_post ? t('map.off_post') : null
        ]);
      });
      mark(m, 'map-unit-' + u.unit_id, { 'data-status': status, 'data-off-post': u.off_post ? '1' : '0' });
    });
  };

  /* [{card_id, number, lat, lon, priority}] */
  self.setIncidents = function (list) {
    last.incidents = list;
    groups.incidents.clearLayers();
    (list || []).forEach(function (c) {
      if (!c || !okPoint(c.lat, c.lon)) return;
      const icon = L.divIcon({ className: 'map-incident prio-' + (c.priority == null ? 'none' : c.priority), html: h('span', { class: 'map-incident-label', data: c.number || '' }), iconSize: null });
      const m = L.marker([c.lat, c.lon], { icon: icon, keyboard: false }).addTo(groups.incidents);
      m.bindTooltip(function () {
        return tip([h('b', { data: c.number || '' }), c.category_name || null, c.priority == null ? null : t('map.priority') + ': ' + c.priority]);
      });
      if (opts.onIncident) m.on('click', function () { opts.onIncident(c); });
      mark(m, 'map-incident-' + c.card_id, { 'data-card': c.card_id });
    });
  };

  /* [{code, name_kk, name_ru, point: [lat, lon]?, route: [[lat, lon]..], radius_m}] (R20) */
  self.setPosts = function (posts) {
    last.posts = posts;
    groups.posts.clearLayers();
    (posts || []).forEach(function (p) {
      if (!p) return;
      const label = function () { return tip([h('b', { data: nameOf(p) }), t('map.post') + (num(p.radius_m) ? ', ' + t('map.radius').replace('{m}', Math.round(p.radius_m)) : '')]); };
      const route = (p.route || []).filter(function (pt) { return Array.isArray(pt) && okPoint(pt[0], pt[1]); });
      if (route.length > 1) {
        const line = L.polyline(route, { className: 'map-post-route', weight: 3, dashArray: '6 4' }).addTo(groups.posts);
        line.bindTooltip(label, { sticky: true });
        mark(line, 'map-post-route-' + p.code, { 'data-code': p.code });
      }
      if (Array.isArray(p.point) && okPoint(p.point[0], p.point[1])) {
        const c = L.circle(p.point, { radius: num(p.radius_m) && p.radius_m > 0 ? p.radius_m : 100, className: 'map-post', weight: 2, fillOpacity: 0.12 }).addTo(groups.posts);
        c.bindTooltip(label);
        mark(c, 'map-post-' + p.code, { 'data-code': p.code });
      }
    });
  };

  /* {lat, lon, accuracy_m} or null (R35: the point and how sure it is). */
  self.setCaller = function (c) {
    last.caller = c;
    groups.caller.clearLayers();
    el.setAttribute('data-has-point', c && okPoint(c.lat, c.lon) ? '1' : '0');
    if (!c || !okPoint(c.lat, c.lon)) return;
    const label = function () { return tip([h('b', { text: t('map.caller') }), num(c.accuracy_m) ? t('map.accuracy').replace('{m}', Math.round(c.accuracy_m)) : t('map.accuracy_unknown')]); };
    if (num(c.accuracy_m) && c.accuracy_m > 0) {
      const acc = L.circle([c.lat, c.lon], { radius: Math.max(c.accuracy_m, ACCURACY_MIN_M), className: 'map-caller-acc', weight: 1, fillOpacity: 0.15, interactive: false }).addTo(groups.caller);
      mark(acc, 'map-caller-acc', { 'data-radius-m': String(Math.round(c.accuracy_m)) });
    }
    const pt = L.circleMarker([c.lat, c.lon], { radius: 7, className: 'map-caller', weight: 2, fillOpacity: 1 }).addTo(groups.caller);
    pt.bindTooltip(label);
    mark(pt, 'map-caller');
  };

  /* The selected card's route: [[lat, lon]..] or null. */
  self.setRoute = function (pts) {
    last.route = pts;
    groups.route.clearLayers();
    const route = (pts || []).filter(function (pt) { return Array.isArray(pt) && okPoint(pt[0], pt[1]); });
    if (route.length < 2) return;
    const line = L.polyline(route, { className: 'map-route', weight: 4 }).addTo(groups.route);
    mark(line, 'map-route');
  };

  /* Counts on the map (HQ: open cards per district): [{id, lat, lon, count, title}]. */
  self.setBadges = function (list) {
    last.badges = list;
    groups.badges.clearLayers();
    (list || []).forEach(function (b) {
      if (!b || !okPoint(b.lat, b.lon)) return;
      const icon = L.divIcon({ className: 'map-badge', html: h('span', { class: 'map-badge-label', data: String(b.count) }), iconSize: null });
      const m = L.marker([b.lat, b.lon], { icon: icon, keyboard: false }).addTo(groups.badges);
      if (b.title) m.bindTooltip(function () { return tip([b.title]); });
      mark(m, 'map-badge-' + b.id, { 'data-count': String(b.count) });
    });
  };

  /* Shows `what`: 'all' (everything drawn), a layer name, or a list of [lat, lon]. A map not
     shown yet (no size) fits when it first gets one. */
  let pendingFit;
  self.fitTo = function (what) {
    if (!el.offsetWidth) pendingFit = what;
    let b = null;
    if (Array.isArray(what)) {
      const pts = what.filter(function (pt) { return Array.isArray(pt) && okPoint(pt[0], pt[1]); });
      if (pts.length) b = L.latLngBounds(pts);
    } else {
      const names = !what || what === 'all' ? Object.keys(groups) : [what];
      names.forEach(function (n) {
        const gb = groups[n] && groups[n].getLayers().length ? groups[n].getBounds() : null;
        if (gb && gb.isValid()) b = b ? b.extend(gb) : L.latLngBounds(gb.getSouthWest(), gb.getNorthEast());
      });
    }
    if (!b && config && config.center) { map.setView([config.center[0], config.center[1]], config.center[2]); return; }
    if (!b && config && config.bounds) { const cb = config.bounds; b = L.latLngBounds([cb[1], cb[0]], [cb[3], cb[2]]); }
    if (!b) return;
    const ne = b.getNorthEast(), sw = b.getSouthWest();
    if (ne.lat === sw.lat && ne.lng === sw.lng) map.setView(ne, Math.min(POINT_ZOOM, map.getMaxZoom()));
    else map.fitBounds(b, { padding: [FIT_PADDING_PX, FIT_PADDING_PX], maxZoom: POINT_ZOOM });
  };

  /* After the element was shown or resized. */
  self.invalidate = function () { map.invalidateSize(); };

  function redraw() {
    zoom.remove();
    zoom.options.zoomInTitle = t('map.zoom_in');
    zoom.options.zoomOutTitle = t('map.zoom_out');
    if (opts.zoomControl !== false) zoom.addTo(map);
    if (last.outlines) self.setOutlines(last.outlines);
    if (last.units) self.setUnits(last.units);
    if (last.incidents) self.setIncidents(last.incidents);
    if (last.posts) self.setPosts(last.posts);
    if (last.caller !== undefined) self.setCaller(last.caller);
    if (last.badges) self.setBadges(last.badges);
  }
  self.redraw = redraw;
  el.setAttribute('data-zoom', String(map.getZoom()));
  map.on('zoomend', function () { el.setAttribute('data-zoom', String(map.getZoom())); });
  LIVE.push(self);
  if (typeof window.ResizeObserver === 'function') {
    new window.ResizeObserver(function () {
      if (!el.offsetWidth) return;
      map.invalidateSize();
      if (pendingFit !== undefined) { const w = pendingFit; pendingFit = undefined; self.fitTo(w); }
    }).observe(el);
  }
  /* Leaves the page: the map lets go of its element and listeners. */
  self.destroy = function () {
    const i = LIVE.indexOf(self);
    if (i >= 0) LIVE.splice(i, 1);
    map.remove();
  };
  self.el = el;
  self.setOutlines(opts.outlines || []);
  self.fitTo(tiles ? null : 'outlines');
  return self;
}
