/* One card: its data, units, КУИ entry and the actions the user's roles allow (card_actions.js). */
import { summaryOf, upsertCard } from '../data.js';
import { S, cardPriority, fmtDateTime, hasRole, isTerminal, label, priBadge, statusBadge, timer, toast } from '../state.js';
import { actionsBox, kuiBox, unitsBox, warningsBox } from './card_actions.js';
import { timelineTable } from './cards.js';
import { linkedDuplicatesBox, premiseHistoryBox } from './premise.js';
import { MiniMap, mapDistricts } from './map.js';
import { openIncidentReference, patrolReportsBox } from './incident_reference.js';
import { api, showError } from '../../kit/api.js';
import { clear, dataText, h, qs, qsa, tx } from '../../kit/dom.js';
import { applyLang, t } from '../../kit/i18n.js';

export function CardDetail(opts) {
  opts = opts || {};
  var el = h('div', { class: 'detail', tid: 'card-detail' });
  var self = { el: el, id: null, card: null, seq: 0, busy: 0, lastWarnings: {} };
  el.appendChild(h('div', { class: 'empty-state', i18n: opts.hint || 'card.select_hint' }));

  self.show = function (id) {
    self.id = id;
    self.card = null;
    clear(el).appendChild(h('div', { class: 'empty-state', i18n: 'loading' }));
    return self.reload();
  };
  self.reload = function () {
    if (!self.id) return Promise.resolve();
    var my = ++self.seq;
    var id = self.id;
    return api('GET', '/cards/' + encodeURIComponent(id)).then(function (card) {
      if (my !== self.seq || self.id !== id) return;
      self.set(card);
    }).catch(function (e) {
      if (my !== self.seq) return;
      clear(el).appendChild(h('div', { class: 'error', tid: 'detail-error', err: e }));
    });
  };
  self.set = function (card) {
    if (!card) return;
    if (self.card && card.warnings === undefined && self.card.warnings !== undefined && self.card.id === card.id) {
      card.warnings = self.card.warnings; // action answers carry no warnings; keep the ones we have
    }
    self.card = card;
    self.id = card.id;
    upsertCard(summaryOf(card));
    render();
  };
  self.onCard = function (s) {
    if (s && s.id === self.id && !self.busy) {
      if (self.card && self.card.updated_at && s.updated_at && s.updated_at <= self.card.updated_at) return;
      self.reload();
    }
  };
  self.refreshSelects = function () { if (self.card) render(); };

  /* Runs an action; on success the inputs named in `clear` (their data-keep) are emptied: what
     was sent must not stay in the box looking unsent. */
  function run(btn, fn, okKey, clear) {
    var errBox = qs('[data-testid=action-error]', el);
    showError(errBox, null);
    if (btn) btn.disabled = true;
    self.busy++;
    self.seq++;
    return fn().then(function (res) {
      self.busy--;
      (clear || []).forEach(function (k) { qsa('[data-keep="' + k + '"]', el).forEach(function (i) { i.value = ''; }); });
      var card = res && res.card ? res.card : res;
      if (res && res.card && res.warnings) self.lastWarnings[res.card.id] = res.warnings;
      if (card && card.id) self.set(card); else self.reload();
      if (okKey) toast(okKey);
      return res;
    }, function (e) {
      self.busy--;
      if (btn) btn.disabled = false;
      showError(qs('[data-testid=action-error]', el) || errBox, e);
      return null;
    });
  }
  function post(path, body) {
    return function () { return api('POST', '/cards/' + encodeURIComponent(self.id) + path, body === undefined ? undefined : body()); };
  }

  /* Inputs marked data-keep survive a re-render (an event may refresh the card while typing). */
  function keepInputs() {
    var kept = {};
    qsa('[data-keep]', el).forEach(function (i) { kept[i.getAttribute('data-keep')] = i.value; });
    return kept;
  }
  function restoreInputs(kept) {
    qsa('[data-keep]', el).forEach(function (i) {
      var k = i.getAttribute('data-keep');
      if (kept[k] != null && kept[k] !== '') {
        if (i.tagName === 'SELECT') {
          if (qsa('option', i).some(function (o) { return o.value === kept[k]; })) i.value = kept[k];
        } else i.value = kept[k];
      }
    });
  }

  function field(key, value, tid) {
    if (value == null || value === '') return null;
    return h('div', { class: 'kv' }, [h('span', { class: 'k', i18n: key }), h('span', { class: 'v', tid: tid }, typeof value === 'object' ? value : String(value))]);
  }
  /* Where the point came from (R35), and what the operator's lookup says; never more. */
  function locationSource(loc, lookup) {
    var parts = [];
    if (loc.lat != null && loc.source) parts.push(t('loc.source.' + loc.source));
    if (lookup && lookup !== 'found' && (lookup === 'not_configured' || loc.lat == null)) parts.push(t('loc.lookup.' + lookup));
    return parts.length ? parts.join(' · ') : null;
  }
  function render() {
    var kept = keepInputs();
    var c = self.card;
    clear(el);
    var open = !isTerminal(c.status);
    var disp = hasRole('dispatcher'), patrol = hasRole('patrol'), duty = hasRole('duty_officer'), ct = hasRole('call_taker');
    var p = cardPriority(c);

    el.appendChild(h('div', { class: 'detail-head' }, [
      priBadge(p),
      h('span', { class: 'detail-number mono', tid: 'card-number', data: c.number }),
      statusBadge(c.status, 'card-status'),
      c.category ? label('categories', c.category, 'detail-cat') : null,
      h('span', { class: 'spacer' }),
      h('span', { class: 'muted small' }, [tx('card.created'), ' ', fmtDateTime(c.created_at)]),
      disp || duty || hasRole('supervisor') ? h('button', { type: 'button', class: 'btn btn-xs btn-ghost', tid: 'card-reference', i18n: 'ir.open', onclick: function () { openIncidentReference(c.id); } }) : null
    ]));
    // Timers: since the call was taken, and in the current status (a note does not restart it).
    if (open) {
      el.appendChild(h('div', { class: 'card-timers', tid: 'card-timers' }, [
        h('span', { class: 'tm' }, [tx('timer.since_call'), ' ', timer(c.created_at, 'b', 'timer-since-call')]),
        h('span', { class: 'tm' }, [tx('timer.in_status'), ' ', statusBadge(c.status), ' ', timer(c.status_since || c.updated_at || c.created_at, 'b', 'timer-in-status')])
      ]));
    }

    var caller = c.caller || {};
    var loc = c.location || {};
    var seen = c.seen || {};
    var coords = loc.lat != null && loc.lon != null
      ? Number(loc.lat).toFixed(5) + ', ' + Number(loc.lon).toFixed(5) + (loc.accuracy_m != null ? ' ±' + loc.accuracy_m + ' ' + t('u.m') : '')
      : null;
    var mapBox = null;
    if (loc.lat != null && loc.lon != null && mapDistricts().length) {
      var mm = MiniMap('card-map', 120);
      mm.set(Number(loc.lat), Number(loc.lon), loc.accuracy_m, c.district);
      mapBox = mm.el;
    }
    el.appendChild(h('div', { class: 'detail-grid' }, [
      h('div', { class: 'box' }, [
        field('card.channel', c.channel ? label('channels', c.channel) : null),
        field('card.district', c.district ? label('districts', c.district) : null),
        field('card.caller_name', caller.name),
        field('card.caller_phone', caller.phone),
        field('card.caller_lang', caller.language ? tx('lang.' + caller.language) : null),
        field('card.created_by', c.created_by ? dataText(c.created_by) : null)
      ]),
      h('div', { class: 'box' }, [
        field('card.address', loc.address, 'card-address'),
        field('card.location', coords),
        field('card.location_source', locationSource(loc, c.caller_location_lookup), 'card-location-source'),
        field('card.seen.persons', seen.persons),
        field('card.seen.vehicles', seen.vehicles),
        field('card.seen.buildings', seen.buildings),
        mapBox
      ])
    ]));
    if (c.description) el.appendChild(h('div', { class: 'box desc' }, [h('div', { class: 'k', i18n: 'card.description' }), h('div', { class: 'v pre', tid: 'card-description', text: c.description })]));

    var facts = [
      field('card.forwarded_to', c.forwarded_to ? label('duty_units', c.forwarded_to) : null, 'card-forwarded'),
      field('card.dsog', c.dsog_dispatched_at ? fmtDateTime(c.dsog_dispatched_at) : null, 'card-dsog'),
      field('card.patrol_report', c.patrol_report, 'card-report'),
      field('card.close_reason', c.close_reason),
      field('card.cancel_reason', c.cancel_reason),
      field('card.duplicate_of', c.duplicate_of ? ((S.cards[c.duplicate_of] && S.cards[c.duplicate_of].number) || c.duplicate_of) : null)
    ].filter(Boolean);
    if (facts.length) el.appendChild(h('div', { class: 'box facts' }, facts));
    var reports = patrolReportsBox(c);
    if (reports) el.appendChild(reports);

    var x = { c: c, el: el, open: open, disp: disp, patrol: patrol, duty: duty, ct: ct, run: run, post: post, self: self };
    kuiBox(x);
    warningsBox(x);
    [linkedDuplicatesBox(c, self.show), premiseHistoryBox(c, self.show)].forEach(function (b) { if (b) el.appendChild(b); });
    unitsBox(x);
    var groups = actionsBox(x);
    el.appendChild(h('div', { class: 'error', tid: 'action-error', style: 'display:none', role: 'alert' }));
    if (groups.length) el.appendChild(h('div', { class: 'actions', tid: 'card-actions' }, groups));

    el.appendChild(timelineTable(c.timeline || []));
    restoreInputs(kept);
    applyLang(el);
  }
  return self;
}
