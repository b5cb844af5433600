/* The map tab of the ГУСС dispatcher and the shift supervisor: every unit's last position
   (GET /map/units, coloured by status, off-post units marked), the open incidents with a point
   (GET /map/incidents), the posts and patrol routes of the roster (GET /map/posts, R20), and for
   the selected card the caller's point with its accuracy circle (R35) and its unit's route. */
import { S } from '../state.js';
import { h, clear } from '../../kit/dom.js';
import { api } from '../../kit/api.js';
import { t } from '../../kit/i18n.js';
import { createMap } from '../../kit/map.js';
import { mapConfig, outlines } from './map.js';

/* How often the shown map asks for fresh positions, ms (terminals report every 15 s). */
const REFRESH_MS = 10000;
/* Coalesces bursts of live events into one reload, ms. */
const EVENT_DEBOUNCE_MS = 500;
const STATUSES = ['available', 'assigned', 'en_route', 'on_scene', 'off_duty'];

function layerToggle(key, tid, on) {
  var box = h('input', { type: 'checkbox', tid: tid, checked: on });
  return { box: box, el: h('label', { class: 'map-toggle' }, [box, ' ', h('span', { i18n: key })]) };
}

export function MapView(panel) {
  var canvas = h('div', { class: 'map-big', tid: 'map-main' });
  var toggles = {
    units: layerToggle('mapv.units', 'map-layer-units', true),
    incidents: layerToggle('mapv.incidents', 'map-layer-incidents', true),
    posts: layerToggle('mapv.posts', 'map-layer-posts', true)
  };
  var note = h('span', { class: 'small muted', tid: 'map-note' });
  var selected = h('div', { class: 'map-selected small', tid: 'map-selected' });
  var legend = h('div', { class: 'map-legend small' }, STATUSES.map(function (s) {
    return h('span', { class: 'map-unit st-' + s }, h('span', { class: 'map-unit-label map-legend-chip', i18n: 'ustatus.' + s }));
  }));
  var fitBtn = h('button', { type: 'button', class: 'btn btn-ghost', tid: 'map-fit', i18n: 'mapv.fit', onclick: function () { if (m) m.fitTo('all'); } });
  panel.appendChild(h('div', { class: 'map-view' }, [
    h('div', { class: 'col-head map-toolbar' }, [h('span', { i18n: 'map.title' }), toggles.units.el, toggles.incidents.el, toggles.posts.el, fitBtn, note, h('span', { class: 'spacer' }), legend]),
    h('div', { class: 'map-body' }, [canvas, selected])
  ]));

  var m = null;
  var data = { units: [], incidents: [], posts: [] };
  var selection = null;
  var timer = null;
  var debounce = null;
  var shownOnce = false;

  function visible() { return panel.style.display !== 'none' && panel.offsetWidth > 0; }

  function draw() {
    if (!m) return;
    m.setUnits(toggles.units.box.checked ? data.units : []);
    m.setIncidents(toggles.incidents.box.checked ? data.incidents : []);
    m.setPosts(toggles.posts.box.checked ? data.posts : []);
    canvas.setAttribute('data-units', String(data.units.filter(function (u) { return u.position; }).length));
    canvas.setAttribute('data-incidents', String(data.incidents.length));
    canvas.setAttribute('data-posts', String(data.posts.length));
  }
  Object.keys(toggles).forEach(function (k) { toggles[k].box.addEventListener('change', draw); });

  /* /map/units' rows as the kit map takes them; without that API (or before it answers) the
     units the console knows, which have no position. */
  function unitsOf(rows) {
    return (rows || []).map(function (u) {
      return { unit_id: u.unit_id, call_sign: u.call_sign, status: u.status, position: u.position || null, off_post: !!(u.post && u.post.off_post) };
    });
  }
  function load() {
    var got = [
      api('GET', '/map/units').then(function (rows) { data.units = unitsOf(rows); }, function () { data.units = []; }),
      api('GET', '/map/incidents').then(function (rows) { data.incidents = (rows || []).map(withCategory); }, function () { data.incidents = []; }),
      api('GET', '/map/posts').then(function (rows) { data.posts = rows || []; }, function () { data.posts = []; })
    ];
    return Promise.all(got).then(function () {
      draw();
      if (!shownOnce && m) { shownOnce = true; m.fitTo('all'); }
    });
  }
  function withCategory(c) {
    var cat = ((S.ref && S.ref.categories) || []).filter(function (x) { return x && x.code === c.category; })[0];
    return Object.assign({}, c, { category_name: cat ? (document.documentElement.getAttribute('lang') === 'kk' ? cat.name_kk : cat.name_ru) : null });
  }
  function soon() {
    if (debounce || !visible()) return;
    debounce = setTimeout(function () { debounce = null; load(); }, EVENT_DEBOUNCE_MS);
  }

  /* The selected card: its caller's point and accuracy (R35) and its first unit's route. */
  function select(cardId) {
    if (!cardId) return;
    api('GET', '/cards/' + encodeURIComponent(cardId)).then(function (res) {
      var c = res && res.card ? res.card : res;
      selection = c;
      var loc = c.location || {};
      var has = typeof loc.lat === 'number' && typeof loc.lon === 'number';
      m.setCaller(has ? { lat: loc.lat, lon: loc.lon, accuracy_m: loc.accuracy_m } : null);
      showSelected(c, has);
      return routeOf(c, has ? [loc.lat, loc.lon] : null).then(function (route) {
        m.setRoute(route);
        var pts = (route || []).slice();
        // The whole accuracy circle in view.
        var d = has ? (loc.accuracy_m || 0) / 111320 : 0;
        if (has) pts.push([loc.lat - d, loc.lon - d], [loc.lat + d, loc.lon + d]);
        if (pts.length) m.fitTo(pts);
      });
    }).catch(function () { m.setCaller(null); m.setRoute(null); });
  }
  function showSelected(c, has) {
    clear(selected);
    selected.appendChild(h('b', { data: c.number || '' }));
    var loc = c.location || {};
    if (loc.address) selected.appendChild(h('div', { data: loc.address }));
    selected.appendChild(h('div', { i18n: has ? 'mapv.caller_shown' : 'map.none' }));
    if (has && loc.accuracy_m != null) selected.appendChild(h('div', { text: t('map.accuracy').replace('{m}', Math.round(loc.accuracy_m)) }));
  }
  /* A unit still on its way: its route to the incident (by the road graph, or a straight line);
     a unit that arrived: the way it drove since dispatch (its track, replayed from AVL). */
  function routeOf(c, to) {
    var a = (c.units || []).filter(function (u) { return !u.cleared_at; })[0] || (c.units || [])[0];
    if (!a) return Promise.resolve(null);
    var id = a.unit_id || a.id;
    if (!a.on_scene_at && !a.cleared_at) {
      return api('GET', '/cards/' + encodeURIComponent(c.id) + '/route?unit=' + encodeURIComponent(id)).then(function (r) {
        return r && r.points && r.points.length > 1 ? r.points : straight(id, to);
      }, function () { return straight(id, to); });
    }
    var q = '/units/' + encodeURIComponent(id) + '/track?from_ms=' + (a.assigned_at || c.created_at || 0) + '&to_ms=' + Date.now();
    return api('GET', q).then(function (track) {
      var pts = (track || []).map(function (p) { return [p.lat, p.lon]; });
      return pts.length > 1 ? pts : straight(id, to);
    }, function () { return straight(id, to); });
  }
  function straight(unitId, to) {
    var u = data.units.filter(function (x) { return x.unit_id === unitId; })[0];
    if (!u || !u.position || !to) return null;
    return [[u.position.lat, u.position.lon], to];
  }

  function start() {
    if (m) return Promise.resolve();
    return mapConfig().then(function (config) {
      if (m) return;
      m = createMap(canvas, { config: config, outlines: outlines(null), labels: true, onIncident: function (c) { S.selectedCard = c.card_id; select(c.card_id); } });
      note.setAttribute('data-i18n', config && config.tiles ? 'mapv.tiles' : 'mapv.outlines_only');
      note.textContent = t(note.getAttribute('data-i18n'));
      canvas.setAttribute('data-ready', '1');
    });
  }

  return {
    el: panel,
    onShow: function () {
      start().then(function () {
        m.invalidate();
        return load();
      }).then(function () {
        if (S.selectedCard && (!selection || selection.id !== S.selectedCard)) select(S.selectedCard);
      });
      if (!timer) timer = setInterval(function () { if (visible()) load(); }, REFRESH_MS);
    },
    onUnit: soon,
    render: soon,
    select: select
  };
}
