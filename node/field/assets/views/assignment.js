/* The unit's current assignment from its pack (number, category, address, caller, description,
   address warnings (R08), earlier cards at the address, dispatch time), the place on the map,
   big one-tap status buttons, a note, and the shift's log. Every tap is written on the terminal
   first and answered from there; the banner shows when it reached the node. */
import { h, qs, clear, fmtDateTime, toast } from '../../kit/dom.js';
import { applyLang } from '../../kit/i18n.js';
import { createMap } from '../../kit/map.js';
import { fapi } from '../fapi.js';
import { renderReport } from './report.js';

const STATUSES = ['acknowledged', 'en_route', 'on_scene', 'need_backup', 'cleared'];
const V = { pack: null, packKey: '', logKey: '', card: null };

function row(key, value, tid) {
  if (value == null || value === '') return null;
  return h('div', { class: 'kv' }, [h('span', { class: 'k', i18n: key }), h('span', { class: 'v', data: value, tid: tid })]);
}

/* A call category by its names in the officer's language (the code only when the pack has none). */
function categoryOf(x, tid) {
  if (!x.category_kk && !x.category_ru) return h('span', { data: x.category || '', tid: tid });
  return h('span', { tid: tid, 'data-code': x.category, names: { kk: x.category_kk || x.category_ru, ru: x.category_ru || x.category_kk } });
}

function addressOf(a) {
  const l = a.location || {};
  return l.address || '';
}

/* The map of the assignment (kit/map.js, offline: no tiles on the terminal, a plain background):
   the card's point with its accuracy, the unit's post and patrol route. One map lives at a time;
   a new pack replaces it. */
let liveMap = null;
function mapBox(a, post) {
  const l = a.location || {};
  const hasPoint = l.lat != null && l.lon != null;
  const canvas = h('div', { class: 'asg-map', tid: 'assignment-map-canvas' });
  const box = h('div', { class: 'map-box', tid: 'assignment-map', 'data-lat': l.lat, 'data-lon': l.lon }, [
    h('div', { class: 'k', i18n: 'asg.map' }),
    hasPoint ? row('asg.point', l.lat.toFixed(5) + ', ' + l.lon.toFixed(5), 'asg-point') : null,
    post ? h('div', { class: 'kv' }, [h('span', { class: 'k', i18n: 'asg.post' }), h('span', { class: 'v', names: { kk: post.name_kk, ru: post.name_ru } })]) : null,
    hasPoint || post ? canvas : null
  ]);
  if (hasPoint || post) {
    if (liveMap) liveMap.destroy();
    const m = createMap(canvas, { config: null });
    liveMap = m;
    if (post) m.setPosts([post]);
    if (hasPoint) m.setCaller({ lat: l.lat, lon: l.lon, accuracy_m: l.accuracy_m });
    m.fitTo('all');
    canvas.setAttribute('data-ready', '1');
  }
  return box;
}

function warnings(a) {
  const list = a.warnings || [];
  return h('section', { class: 'warnings' + (list.length ? ' has' : ''), tid: 'asg-warnings' }, [
    h('h3', { i18n: 'asg.warnings' }),
    list.length ? h('ul', {}, list.map(function (w) {
      const who = (w.person || '') + (w.birth_year ? ' (' + w.birth_year + ')' : '');
      const flags = (w.flags || []).map(function (f) { return h('span', { class: 'flag', tid: 'asg-warning-flag', i18n: 'warn.' + f }); });
      return h('li', { tid: 'asg-warning', class: w.possible ? 'possible' : '' }, [
        h('b', { data: who }), ' — '
      ].concat(flags).concat([
        w.note ? h('span', { class: 'note', data: w.note }) : null,
        h('div', { class: 'muted', data: w.address || '' }),
        w.possible ? h('div', { class: 'muted', i18n: 'asg.warning_possible' }) : null
      ]));
    })) : h('p', { class: 'muted', i18n: 'asg.no_warnings' })
  ]);
}

function earlier(a) {
  const list = a.earlier || [];
  return h('section', { class: 'earlier', tid: 'asg-earlier' }, [
    h('h3', { i18n: 'asg.earlier' }),
    list.length ? h('ul', {}, list.map(function (c) {
      return h('li', {}, [h('span', { data: '№ ' + c.number }), ' · ', h('span', { data: fmtDateTime(c.created_at_ms) }), ' · ', categoryOf(c)]);
    })) : h('p', { class: 'muted', i18n: 'asg.no_earlier' })
  ]);
}

function tapStatus(status) {
  if (!V.card) return;
  fapi('POST', '/status', { card_id: V.card, status: status }).then(function () {
    toast({ key: 'status.saved' });
    loadLog(true);
  }, function (e) { toast(e, 'err'); });
}

function statusButtons() {
  return h('section', { class: 'status-buttons', tid: 'status-buttons' }, STATUSES.map(function (s) {
    return h('button', { type: 'button', class: 'status-btn status-' + s, tid: 'status-' + s, i18n: 'status.' + s, onclick: function () { tapStatus(s); } });
  }));
}

function assignmentView(a, post) {
  return h('section', { class: 'assignment', tid: 'assignment', 'data-card': a.card_id }, [
    h('h2', {}, [h('span', { i18n: 'asg.number' }), ' ', h('span', { data: a.number, tid: 'asg-number' })]),
    a.category ? h('div', { class: 'kv' }, [h('span', { class: 'k', i18n: 'asg.category' }), h('span', { class: 'v' }, categoryOf(a, 'asg-category'))]) : null,
    a.priority != null ? row('asg.priority', String(a.priority)) : null,
    row('asg.address', addressOf(a), 'asg-address'),
    row('asg.caller', a.caller_name, 'asg-caller'),
    row('asg.phone', a.caller_phone, 'asg-phone'),
    row('asg.description', a.description, 'asg-description'),
    row('asg.dispatched', fmtDateTime(a.dispatched_at_ms), 'asg-dispatched'),
    warnings(a),
    earlier(a),
    mapBox(a, post)
  ]);
}

function renderPack(pack) {
  const box = clear(qs('#asg-area'));
  const list = (pack && pack.assignments) || [];
  const post = pack && pack.meta && pack.meta.post;
  if (!list.length) {
    V.card = null;
    box.appendChild(h('p', { class: 'none', tid: 'no-assignment', i18n: 'asg.none' }));
    if (post) box.appendChild(mapBox({}, post));
    return;
  }
  const current = list.filter(function (a) { return a.card_id === V.card; })[0] || list[0];
  V.card = current.card_id;
  box.appendChild(assignmentView(current, post));
  box.appendChild(statusButtons());
  box.appendChild(h('button', { type: 'button', class: 'btn big-btn', tid: 'report-open', i18n: 'report.open', onclick: function () { renderReport(qs('#report-area'), current.card_id, function () { loadLog(true); }); } }));
  const others = list.filter(function (a) { return a !== current; });
  if (others.length) {
    box.appendChild(h('section', { class: 'others' }, [h('h3', { i18n: 'asg.other' }), h('ul', {}, others.map(function (a) {
      return h('li', {}, h('button', { type: 'button', class: 'btn', data: '№ ' + a.number + ' · ' + addressOf(a), onclick: function () { V.card = a.card_id; renderPack(V.pack); applyLang(box); } }));
    }))]));
  }
}

function entryLine(e) {
  const b = e.body || {};
  let what;
  if (b.type === 'status') what = [h('span', { i18n: 'log.status' }), ': ', h('b', { i18n: 'status.' + b.status })];
  else if (b.type === 'report') what = [h('span', { i18n: 'log.report' }), ': ', h('span', { i18n: 'outcome.' + b.report.outcome })];
  else what = [h('span', { i18n: 'log.note' }), ': ', h('span', { data: b.text })];
  return h('li', { tid: 'log-entry', 'data-type': b.type }, [h('span', { class: 'muted', data: fmtDateTime(e.at_ms, true) }), ' ', h('span', { data: e.by }), ' — '].concat(what));
}

function loadLog(force) {
  return fapi('GET', '/log').then(function (entries) {
    const key = JSON.stringify(entries);
    if (!force && key === V.logKey) return;
    V.logKey = key;
    const box = clear(qs('#log-area'));
    box.appendChild(h('h3', { i18n: 'log.title' }));
    box.appendChild(entries.length ? h('ol', { class: 'log' }, entries.slice().reverse().map(entryLine)) : h('p', { class: 'muted', i18n: 'log.empty' }));
    applyLang(box);
  }, function () { /* shown by the banner */ });
}

function noteForm() {
  const text = h('textarea', { rows: 2, tid: 'note-text', class: 'big-input' });
  return h('form', { class: 'note', tid: 'note-form', onsubmit: function (ev) {
    ev.preventDefault();
    if (!text.value.trim()) return;
    fapi('POST', '/note', { card_id: V.card || undefined, text: text.value.trim() }).then(function () {
      text.value = '';
      toast({ key: 'note.saved' });
      loadLog(true);
    }, function (e) { toast(e, 'err'); });
  } }, [h('h3', { i18n: 'note.title' }), text, h('button', { type: 'submit', class: 'btn', tid: 'note-submit', i18n: 'note.add' })]);
}

/** Builds the main view (or, with `quiet`, refreshes the pack and log in place). */
export function renderAssignments(main, st, quiet) {
  if (!quiet || !qs('#asg-area')) {
    clear(main);
    V.packKey = '';
    V.logKey = '';
    main.appendChild(h('div', { id: 'asg-area', class: 'asg-area' }));
    main.appendChild(h('div', { id: 'report-area' }));
    main.appendChild(noteForm());
    main.appendChild(h('section', { id: 'log-area', class: 'log-area', tid: 'log' }));
  }
  fapi('GET', '/pack').then(function (pack) {
    const key = JSON.stringify(pack);
    if (key === V.packKey) return;
    V.packKey = key;
    V.pack = pack;
    renderPack(pack);
    applyLang(qs('#asg-area'));
  }, function () { /* shown by the banner */ });
  loadLog(false);
}
