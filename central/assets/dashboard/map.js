/* HQ's map of the national picture (R21): every region's districts from its reference data, and
   on each district the number of its open cards (the national queue, GET /cards), over the
   hub's own tiles when it has a tile file (GET /map/config), else the outlines alone. */
import { S } from './state.js';
import { loadReference } from './detail.js';
import { h } from '../kit/dom.js';
import { api } from '../kit/api.js';
import { t, lang } from '../kit/i18n.js';
import { createMap } from '../kit/map.js';

var m = null;
var starting = null;
var fitted = false;

function districtsOf(region) {
  var got = S.references[region];
  var ds = got && got.reference && got.reference.districts;
  return (ds || []).filter(function (d) { return d && Array.isArray(d.polygon) && d.polygon.length > 2; });
}
function centroid(poly) {
  var lat = 0, lon = 0;
  poly.forEach(function (p) { lat += p[0]; lon += p[1]; });
  return [lat / poly.length, lon / poly.length];
}
function nameOf(x) { return (lang() === 'kk' ? x.name_kk || x.name_ru : x.name_ru || x.name_kk) || x.code; }

/* Open cards per region and district; a card with no district counts at its region's middle. */
function badges() {
  var counts = {};
  S.queue.forEach(function (c) {
    var k = c.region + '/' + (c.district || '');
    counts[k] = (counts[k] || 0) + 1;
  });
  var out = [];
  Object.keys(counts).forEach(function (k) {
    var region = k.split('/')[0], code = k.split('/')[1];
    var ds = districtsOf(region);
    var d = ds.filter(function (x) { return x.code === code; })[0];
    var pt = null;
    if (d) pt = centroid(d.polygon);
    else if (ds.length) pt = centroid(ds.map(function (x) { return centroid(x.polygon); }));
    if (!pt) return;
    out.push({ id: region + (code ? '-' + code : ''), lat: pt[0], lon: pt[1], count: counts[k],
      title: region + (d ? ' · ' + nameOf(d) : '') + ': ' + t('map.open_cards').replace('{n}', counts[k]) });
  });
  return out;
}

function draw() {
  if (!m) return;
  var outlines = [];
  S.regions.forEach(function (r) {
    districtsOf(r.region).forEach(function (d) { outlines.push(Object.assign({}, d, { code: r.region + '-' + d.code })); });
  });
  m.setOutlines(outlines);
  var b = badges();
  m.setBadges(b);
  var el = document.querySelector('[data-testid="hq-map"]');
  if (el) { el.setAttribute('data-badges', String(b.length)); el.setAttribute('data-districts', String(outlines.length)); }
  if (!fitted && outlines.length) { fitted = true; m.fitTo('outlines'); }
  // Every region's field units at their newest position (AVL from their terminals).
  api('GET', '/map/units').then(function (rows) {
    var units = (rows || []).map(function (u) {
      return { unit_id: u.region + '-' + u.unit_id, call_sign: u.region + ' ' + u.unit_id, status: 'unknown', position: u.position };
    });
    m.setUnits(units);
    if (el) el.setAttribute('data-units', String(units.length));
  }, function () { /* the units layer stays as it was */ });
}

/* The page: the map fills it. */
export function renderMapPage(page) {
  page.appendChild(h('section', { class: 'box' }, [
    h('div', { class: 'box-head' }, [h('span', { class: 'box-title', i18n: 'map.national' }), h('span', { class: 'spacer' }),
      h('span', { class: 'small muted', tid: 'hq-map-note' })]),
    h('div', { class: 'hq-map', tid: 'hq-map' })
  ]));
}

/* Shown: starts the map once, fetches every region's reference, draws. */
export function showMap() {
  var el = document.querySelector('[data-testid="hq-map"]');
  if (!el) return Promise.resolve();
  if (!starting) {
    starting = api('GET', '/map/config').catch(function () { return null; }).then(function (config) {
      m = createMap(el, { config: config, outlines: [] });
      var note = document.querySelector('[data-testid="hq-map-note"]');
      if (note) { note.setAttribute('data-i18n', config && config.tiles ? 'map.tiles' : 'map.outlines_only'); note.textContent = t(note.getAttribute('data-i18n')); }
      el.setAttribute('data-ready', '1');
    });
  }
  return starting.then(function () {
    m.invalidate();
    return Promise.all(S.regions.map(function (r) { return loadReference(r.region); }));
  }).then(draw);
}

/* After every refresh of the national picture. */
export function refreshMap() { if (m) draw(); }
