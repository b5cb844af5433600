/* Cards found for a card: what the search, the premise history, the duplicate suggestions and the
   linked duplicates show (GET /cards/search, /cards/{id}/related, /cards/duplicates). A hit is
   {id, number, status, channel, address, phone, created_at, units, outcome: {status, closed_at,
   close_reason, cancel_reason, patrol_report, close_summary, duplicate_of}, reasons: [same_address |
   possible_address | nearby | same_phone], address_match: match|possible, address_reasons: [...],
   distance_m}. Codes are rendered from the dictionary (search.reason.*, warn.reason.*). */
import { fmtDateTime, hasRole, label, statusBadge } from '../state.js';
import { keyLabels } from './cards.js';
import { api, errText } from '../../kit/api.js';
import { clear, h, tx } from '../../kit/dom.js';
import { applyLang, t } from '../../kit/i18n.js';

/* Staff who search cards (the server's SEARCHERS). */
export function canSearch() {
  return ['call_taker', 'dispatcher', 'duty_officer', 'supervisor'].some(hasRole);
}

/* Badges saying why a card is listed; a possible address match says why it is only possible. */
export function reasonBadges(hit) {
  var out = [];
  (hit.reasons || []).forEach(function (r) {
    var kids = [tx('search.reason.' + r)];
    if (r === 'nearby' && hit.distance_m != null) kids.push(' ' + Math.round(hit.distance_m) + ' ' + t('u.m'));
    out.push(h('span', { class: 'badge reason reason-' + r, tid: 'reason-' + r, 'data-reason': r }, kids));
    out.push(' ');
  });
  if (hit.address_match === 'possible' && (hit.address_reasons || []).length) {
    out.push(h('span', { class: 'small muted', tid: 'address-reasons' }, ['(', keyLabels('warn.reason', hit.address_reasons), ')']));
  }
  return out;
}

/* How a card ended: its status, when, and the reason or report. */
export function outcomeCell(hit) {
  var o = hit.outcome || { status: hit.status };
  var text = o.close_reason || o.cancel_reason || o.close_summary || o.patrol_report || null;
  return h('div', { class: 'outcome', tid: 'outcome', 'data-status': o.status }, [
    statusBadge(o.status),
    o.closed_at ? h('span', { class: 'small muted', text: ' ' + fmtDateTime(o.closed_at) }) : null,
    o.duplicate_of ? h('div', { class: 'small' }, [tx('card.duplicate_of'), ' ', h('span', { class: 'mono', text: o.duplicate_of })]) : null,
    text ? h('div', { class: 'small pre', tid: 'outcome-text', text: text }) : null
  ]);
}

/* A table of hits; a click on a row calls onPick(hit). `extra(hit)` adds a last cell. */
export function hitTable(tid, hits, onPick, extra) {
  var body = h('tbody');
  hits.forEach(function (x) {
    body.appendChild(h('tr', {
      class: 'card-row hit-row row-' + x.status, tid: tid + '-row', 'data-card-id': x.id, 'data-number': x.number, 'data-status': x.status,
      onclick: function (ev) { if (!ev.target.closest('button') && onPick) onPick(x); }
    }, [
      h('td', { class: 'mono nowrap' }, [h('div', { data: x.number }), h('div', { class: 'muted small', text: fmtDateTime(x.created_at) })]),
      h('td', null, [
        h('div', null, x.category ? label('categories', x.category) : label('channels', x.channel)),
        h('div', { class: 'small', text: x.address || '' }),
        x.phone ? h('div', { class: 'small mono muted', text: x.phone }) : null,
        (x.reasons || []).length ? h('div', { class: 'reasons' }, reasonBadges(x)) : null
      ]),
      h('td', null, outcomeCell(x)),
      h('td', { class: 'small mono', text: (x.units || []).join(', ') }),
      extra ? h('td', { class: 'acts' }, extra(x)) : null
    ]));
  });
  if (!hits.length) body.appendChild(h('tr', { class: 'empty-row' }, h('td', { colspan: extra ? 5 : 4, i18n: 'search.empty' })));
  return h('table', { class: 'grid cards hits', tid: tid }, body);
}

/* Premise history (the related cards of one card) already fetched, by card id: a re-render of
   the card does not ask again within RELATED_CACHE_MS. */
var RELATED_CACHE_MS = 30000;
var relatedCache = {};

/* Earlier cards at this card's address and from its phone, with their outcomes; a click opens
   one through onOpen(id). */
export function premiseHistoryBox(card, onOpen) {
  if (!card || !card.id || !canSearch()) return null;
  var body = h('div', { class: 'premise-body' }, h('div', { class: 'muted small', i18n: 'loading' }));
  var box = h('div', { class: 'box premise', tid: 'premise-history' }, [
    h('div', { class: 'section-title', i18n: 'search.history.title' }), body]);
  function show(list) {
    clear(body);
    if (!list.length) body.appendChild(h('div', { class: 'muted small', tid: 'premise-empty', i18n: 'search.history.none' }));
    else body.appendChild(hitTable('premise', list, function (x) { if (onOpen) onOpen(x.id); }));
    applyLang(body);
  }
  var hit = relatedCache[card.id];
  if (hit && Date.now() - hit.at < RELATED_CACHE_MS) {
    show(hit.list);
  } else {
    api('GET', '/cards/' + encodeURIComponent(card.id) + '/related').then(function (list) {
      relatedCache[card.id] = { at: Date.now(), list: list || [] };
      show(list || []);
    }, function (e) {
      clear(body).appendChild(h('div', { class: 'error', text: errText(e) }));
    });
  }
  return box;
}

/* The cards linked to this one as its duplicates. */
export function linkedDuplicatesBox(card, onOpen) {
  var list = (card && card.linked_duplicates) || [];
  if (!list.length) return null;
  var body = h('tbody');
  list.forEach(function (d) {
    body.appendChild(h('tr', { class: 'card-row', tid: 'linked-row', 'data-card-id': d.id, 'data-number': d.number,
      onclick: function () { if (onOpen) onOpen(d.id); } }, [
      h('td', { class: 'mono', data: d.number }),
      h('td', { class: 'small', text: fmtDateTime(d.created_at) }),
      h('td', null, label('channels', d.channel)),
      h('td', null, statusBadge(d.status))
    ]));
  });
  return h('div', { class: 'box linked', tid: 'linked-duplicates' }, [
    h('div', { class: 'section-title' }, [tx('search.linked.title'), ' (' + list.length + ')']),
    h('table', { class: 'grid' }, body)]);
}

/* DUPLICATE_DEBOUNCE_MS after the last change of the form, ask for open cards the card may
   repeat. onLink(hit) links the form's card to one of them. */
var DUPLICATE_DEBOUNCE_MS = 400;
export function DuplicateSuggestions(onLink) {
  var list = h('div');
  var el = h('div', { class: 'box dup-suggest', tid: 'dup-suggestions', style: 'display:none' }, [
    h('div', { class: 'section-title', i18n: 'search.dup.title' }), list]);
  var timer = null, seq = 0, lastKey = null;
  var self = { el: el };
  self.update = function (q) {
    q = q || {};
    var params = [];
    ['address', 'lat', 'lon', 'phone'].forEach(function (k) {
      var v = q[k] == null ? '' : String(q[k]).trim();
      if (v) params.push(k + '=' + encodeURIComponent(v));
    });
    // A point is a criterion only with both coordinates.
    if (!(q.lat != null && String(q.lat).trim() && q.lon != null && String(q.lon).trim())) {
      params = params.filter(function (p) { return p.indexOf('lat=') !== 0 && p.indexOf('lon=') !== 0; });
    }
    if (q.excludeId) params.push('exclude=' + encodeURIComponent(q.excludeId));
    var key = params.join('&');
    if (key === lastKey) return;
    lastKey = key;
    if (timer) clearTimeout(timer);
    var my = ++seq;
    if (!params.some(function (p) { return p.indexOf('exclude=') !== 0; })) { show([]); return; }
    timer = setTimeout(function () {
      api('GET', '/cards/duplicates?' + key).then(function (hits) {
        if (my === seq) show(hits || []);
      }, function () { if (my === seq) show([]); });
    }, DUPLICATE_DEBOUNCE_MS);
  };
  self.reset = function () { lastKey = null; seq++; if (timer) clearTimeout(timer); show([]); };
  function show(hits) {
    clear(list);
    el.style.display = hits.length ? '' : 'none';
    if (!hits.length) return;
    list.appendChild(hitTable('dup', hits, null, function (x) {
      var b = h('button', { type: 'button', class: 'btn btn-xs', tid: 'dup-link', i18n: 'search.dup.link' });
      b.addEventListener('click', function () {
        b.disabled = true;
        Promise.resolve(onLink(x)).then(function (ok) { if (!ok) b.disabled = false; }, function () { b.disabled = false; });
      });
      return b;
    }));
    applyLang(list);
  }
  return self;
}
