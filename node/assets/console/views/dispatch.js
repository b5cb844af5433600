/* Dispatcher and duty officer: the unit board, the duty roster, the open cards and the КУИ queue. */
import { tick, upsertUnit } from '../data.js';
import { INWORK, S, cardAddress, hasRole, isTerminal, keyLabel, pad, refOptions, timer, toast, toastText, unitName, unitStatusBadge } from '../state.js';
import { RecordingsBox } from './calls.js';
import { CardDetail } from './card_detail.js';
import { byPriorityThenAge, cardTable, warningItem } from './cards.js';
import { api, errText, showError } from '../../kit/api.js';
import { clear, h, tx } from '../../kit/dom.js';
import { t } from '../../kit/i18n.js';
import { bindKey, clickChord, kbd } from '../keys.js';

export function UnitBoard() {
  var el = h('div', { class: 'unit-board' });
  var self = { el: el, onOpenCard: null };
  self.render = function () {
    clear(el);
    var list = Object.keys(S.units).map(function (k) { return S.units[k]; })
      .sort(function (a, b) { return (a.call_sign || '').localeCompare(b.call_sign || ''); });
    var canSet = hasRole('dispatcher') || hasRole('supervisor') || hasRole('patrol');
    var body = h('tbody');
    list.forEach(function (u) {
      var cardNo = null;
      if (u.card_id) {
        var cs = S.cards[u.card_id];
        cardNo = h('a', { href: '#', class: 'mono', data: cs ? cs.number : String(u.card_id).slice(0, 8), onclick: function (ev) {
          ev.preventDefault(); if (self.onOpenCard) self.onOpenCard(u.card_id);
        } });
      }
      var acts = [];
      if (canSet && (u.status === 'available' || u.status === 'off_duty')) {
        var next = u.status === 'available' ? 'off_duty' : 'available';
        var b = h('button', { type: 'button', class: 'btn btn-xs btn-ghost', tid: 'unit-set-' + next, i18n: next === 'available' ? 'unit.set_available' : 'unit.set_off_duty' });
        b.addEventListener('click', function () {
          b.disabled = true;
          api('POST', '/units/' + encodeURIComponent(u.id) + '/status', { status: next }).then(upsertUnit, function (e) { b.disabled = false; toastText(errText(e)); });
        });
        acts.push(b);
      }
      body.appendChild(h('tr', {
        class: 'unit-row us-' + u.status, tid: 'unit-row-' + u.id, 'data-unit-id': u.id,
        'data-status': u.status, 'data-unit-status': u.status, 'data-unit-since': u.status_since || 0, 'data-unit-dispatched': u.dispatched_at || null,
        'data-srv-overdue': u.overdue ? '1' : '0', 'data-overdue': u.overdue ? '1' : '0'
      }, [
        h('td', null, [h('div', { class: 'mono b', translate: 'no', text: u.call_sign }), h('div', { class: 'small muted' }, keyLabel('ukind', u.kind))]),
        h('td', { class: 'c-card' }, [unitStatusBadge(u.status, 'unit-status'), cardNo ? h('div', null, cardNo) : null]),
        h('td', { class: 'mono' }, timer(u.status_since)),
        h('td', { class: 'acts' }, acts)
      ]));
    });
    if (!list.length) body.appendChild(h('tr', { class: 'empty-row' }, h('td', { colspan: 4, i18n: 'empty' })));
    el.appendChild(h('table', { class: 'grid units', tid: 'unit-board' }, [
      h('thead', null, h('tr', null, [h('th', { i18n: 'unit.call_sign' }), h('th', { i18n: 'unit.status' }),
        h('th', { i18n: 'unit.timer' }), h('th')])),
      body
    ]));
    el.appendChild(h('div', { class: 'legend small muted' }, [h('span', { class: 'legend-od' }), ' ', tx('unit.overdue'),
      S.ref && S.ref.unit_overdue_after_s ? ' > ' + Math.round(S.ref.unit_overdue_after_s / 60) + ' ' + t('u.min') : '']));
    tick();
  };
  return self;
}

/* ------------------------------------------------------------------ electronic post roster (R20) */

export function todayIso() {
  var d = new Date();
  return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate());
}
export function Roster() {
  var canAdd = hasRole('dispatcher') || hasRole('supervisor');
  var date = h('input', { type: 'date', tid: 'roster-date', class: 'sel-sm', value: todayIso() });
  var box = h('div', { tid: 'roster' });
  var err = h('div', { class: 'error', tid: 'roster-error', style: 'display:none', role: 'alert' });
  var shift = h('select', { tid: 'roster-shift', class: 'sel-sm' }, [h('option', { value: 'day', i18n: 'shift.day' }), h('option', { value: 'night', i18n: 'shift.night' })]);
  var post = h('input', { type: 'text', tid: 'roster-post', ph: 'roster.post', maxlength: 120 });
  var unit = h('select', { tid: 'roster-unit', class: 'sel-sm' });
  var add = h('button', { type: 'submit', class: 'btn btn-xs', tid: 'roster-add', i18n: 'roster.add' });
  var form = canAdd ? h('form', { class: 'row roster-form' }, [shift, post, unit, add]) : null;
  var el = h('div', { class: 'roster-wrap' }, [
    h('div', { class: 'col-head' }, [h('span', { i18n: 'roster.title' }), h('span', { class: 'spacer' }), date]),
    box, err, form
  ]);
  var entries = [];
  function load() {
    if (!date.value) return;
    api('GET', '/roster?date=' + encodeURIComponent(date.value)).then(function (list) {
      entries = list || [];
      showError(err, null);
      render();
    }, function (e) { showError(err, e); });
  }
  function render() {
    var body = h('tbody');
    entries.slice().sort(function (a, b) {
      return a.shift === b.shift ? String(a.post).localeCompare(String(b.post)) : (a.shift === 'day' ? -1 : 1);
    }).forEach(function (r) {
      body.appendChild(h('tr', { tid: 'roster-row', 'data-unit-id': r.unit_id }, [
        h('td', null, keyLabel('shift', r.shift)),
        h('td', { text: r.post }),
        h('td', { class: 'mono b', text: r.call_sign || unitName(r.unit_id) }),
        h('td', { class: 'small muted', text: r.assigned_by || '' })
      ]));
    });
    if (!entries.length) body.appendChild(h('tr', { class: 'empty-row' }, h('td', { colspan: 4, i18n: 'empty' })));
    clear(box).appendChild(h('table', { class: 'grid roster' }, [
      h('thead', null, h('tr', null, [h('th', { i18n: 'roster.shift' }), h('th', { i18n: 'roster.post' }), h('th', { i18n: 'roster.unit' }), h('th', { i18n: 'roster.by' })])),
      body
    ]));
  }
  function fillUnits() {
    var keep = unit.value;
    clear(unit).appendChild(h('option', { value: '', i18n: 'act.select_unit' }));
    Object.keys(S.units).map(function (k) { return S.units[k]; })
      .sort(function (a, b) { return (a.call_sign || '').localeCompare(b.call_sign || ''); })
      .forEach(function (u) { unit.appendChild(h('option', { value: u.id, text: u.call_sign })); });
    if (keep) unit.value = keep;
  }
  date.addEventListener('change', load);
  if (form) {
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      if (!post.value.trim()) { post.focus(); return; }
      if (!unit.value) { unit.focus(); return; }
      add.disabled = true;
      api('POST', '/roster', { date: date.value, shift: shift.value, post: post.value.trim(), unit_id: unit.value }).then(function () {
        add.disabled = false;
        post.value = '';
        toast('roster.added');
        load();
      }, function (e) { add.disabled = false; showError(err, e); });
    });
  }
  return { el: el, load: load, fillUnits: fillUnits };
}

/* ------------------------------------------------------------------ closest units (R20) */

/* The available units for the shown card, as the node ranks them (advisory: the dispatcher
   decides). A row's button puts the unit into the card's dispatch select. */
export function ClosestUnits(detailEl) {
  var body = h('div', { tid: 'closest-units' });
  var el = h('div', { class: 'box closest' }, [h('div', { class: 'section-title', i18n: 'closest.title' }), body]);
  var shown = null, seq = 0;
  function km(m) { return (m / 1000).toFixed(1) + ' ' + t('u.km'); }
  function minutes(s) { return s < 60 ? '< 1 ' + t('u.min') : Math.round(s / 60) + ' ' + t('u.min'); }
  function choose(u) {
    var sel = detailEl.querySelector('[data-testid=dispatch-unit]');
    if (!sel) return;
    sel.value = u.unit_id;
    sel.dispatchEvent(new Event('change', { bubbles: true }));
    sel.focus();
  }
  function render(r) {
    var units = (r && r.units) || [];
    var tb = h('tbody');
    units.forEach(function (u, i) {
      var placed = u.distance_m != null;
      var pick = h('button', { type: 'button', class: 'btn btn-xs btn-ghost', tid: 'closest-unit-pick', i18n: 'closest.pick' });
      pick.addEventListener('click', function () { choose(u); });
      tb.appendChild(h('tr', { tid: 'closest-unit-row', 'data-unit-id': u.unit_id, 'data-rank': i + 1, 'data-stale': u.stale ? '1' : '0' }, [
        h('td', { class: 'mono b', translate: 'no', text: u.call_sign }),
        h('td', { class: 'mono', tid: 'closest-unit-distance' }, placed ? km(u.distance_m) : tx('closest.no_position')),
        h('td', { class: 'mono', tid: 'closest-unit-eta' }, placed ? minutes(u.eta_s) : ''),
        h('td', { class: 'small muted' }, u.method ? tx('closest.method.' + u.method) : ''),
        h('td', null, u.stale ? h('span', { class: 'badge reason', tid: 'closest-unit-stale', tip: 'closest.stale.tip', i18n: 'closest.stale' }) : ''),
        h('td', { class: 'acts' }, pick)
      ]));
    });
    if (!units.length) tb.appendChild(h('tr', { class: 'empty-row' }, h('td', { colspan: 6, i18n: 'closest.none' })));
    clear(body).appendChild(h('table', { class: 'grid', 'data-method': r ? r.method : '' }, [
      h('thead', null, h('tr', null, [h('th', { i18n: 'unit.call_sign' }), h('th', { i18n: 'closest.distance' }),
        h('th', { i18n: 'closest.eta' }), h('th', { i18n: 'closest.method' }), h('th'), h('th')])),
      tb
    ]));
  }
  return {
    el: el,
    load: function (card) {
      var my = ++seq;
      shown = card;
      el.style.display = card && !isTerminal(card.status) ? '' : 'none';
      if (!card || isTerminal(card.status)) return;
      clear(body).appendChild(h('div', { class: 'muted small', i18n: 'loading' }));
      api('GET', '/cards/' + encodeURIComponent(card.id) + '/closest-units').then(function (r) {
        if (my === seq && shown === card) render(r);
      }, function (e) {
        if (my === seq) clear(body).appendChild(h('div', { class: 'muted small', tid: 'closest-error', text: errText(e) }));
      });
    }
  };
}

/* ------------------------------------------------------------------ ГУСС dispatcher */

export function DispatcherView(panel) {
  var detail = CardDetail();
  var closest = ClosestUnits(detail.el);
  var board = UnitBoard();
  var roster = Roster();
  var queueBox = h('div');
  var inworkBox = h('div');
  var qCount = h('span', { class: 'count', tid: 'queue-count', text: '0' });
  var wCount = h('span', { class: 'count', text: '0' });
  var dsel = h('select', { tid: 'district-filter', class: 'sel-sm' }, [h('option', { value: '', i18n: 'all' })].concat(refOptions('districts')));
  panel.appendChild(h('div', { class: 'layout-3' }, [
    h('div', { class: 'col col-list' }, [
      h('div', { class: 'col-head' }, [h('span', { i18n: 'disp.queue' }), qCount, kbd('Alt+KeyQ'), h('span', { class: 'spacer' }), h('span', { class: 'small muted', i18n: 'disp.district_filter' }), dsel]),
      queueBox,
      h('div', { class: 'col-head' }, [h('span', { i18n: 'disp.inwork' }), wCount]),
      inworkBox
    ]),
    h('div', { class: 'col col-detail' }, [detail.el, closest.el]),
    h('div', { class: 'col col-units' }, [h('div', { class: 'col-head' }, [h('span', { i18n: 'disp.units' })]), board.el, roster.el])
  ]));
  // The closest units follow the card shown (its point may change while it is open); the map
  // tab shows the card picked here (its caller's point and route).
  function showCard(id) { S.selectedCard = id; detail.show(id).then(function () { closest.load(detail.card); }); }
  function pick(c) { showCard(c.id); render(); }
  board.onOpenCard = function (id) { showCard(id); render(); };
  closest.load(null);
  // Keyboard: Alt+Q to the queue (arrows and Enter there), Alt+D dispatch, Alt+R/M/F the first
  // unit's en route / on scene / cleared; the buttons show their keys.
  function focusQueue() {
    var row = queueBox.querySelector('tr[data-card-id]') || inworkBox.querySelector('tr[data-card-id]');
    if (row) row.focus();
  }
  bindKey('dispatcher', 'Alt+KeyQ', focusQueue);
  ['Alt+KeyD', 'Alt+KeyR', 'Alt+KeyM', 'Alt+KeyF'].forEach(function (chord) {
    bindKey('dispatcher', chord, function () { clickChord(detail.el, chord); });
  });
  dsel.addEventListener('change', render);
  function render() {
    var all = Object.keys(S.cards).map(function (k) { return S.cards[k]; })
      .filter(function (c) { return !dsel.value || c.district === dsel.value; });
    var q = all.filter(function (c) { return c.status === 'sent_for_processing'; }).sort(byPriorityThenAge);
    var w = all.filter(function (c) { return INWORK.indexOf(c.status) >= 0; }).sort(byPriorityThenAge);
    var focused = document.activeElement && document.activeElement.getAttribute('data-card-id');
    // Timers count from the status (time in the queue, time in work): a note does not restart them.
    var since = function (c) { return c.status_since || c.created_at; };
    clear(queueBox).appendChild(cardTable('queue', q, detail.id, pick, { since: since }));
    clear(inworkBox).appendChild(cardTable('inwork', w, detail.id, pick, { since: since }));
    if (focused) { var again = panel.querySelector('tr[data-card-id="' + focused + '"]'); if (again) again.focus(); }
    qCount.textContent = String(q.length);
    wCount.textContent = String(w.length);
    board.render();
  }
  return {
    render: render,
    focus: focusQueue,
    onCard: detail.onCard,
    onUnit: function () { if (detail.card && !detail.busy) { detail.refreshSelects(); closest.load(detail.card); } },
    onReload: function () { if (detail.id) detail.reload().then(function () { closest.load(detail.card); }); roster.fillUnits(); roster.load(); }
  };
}

/* ------------------------------------------------------------------ duty officer */

export function DutyView(panel) {
  var detail = CardDetail();
  var recordings = hasRole('supervisor') || hasRole('duty_officer') ? RecordingsBox() : null;
  var fwdBox = h('div');
  var openBox = h('div');
  var fCount = h('span', { class: 'count', text: '0' });
  var oCount = h('span', { class: 'count', text: '0' });
  var wIn = h('input', { type: 'search', tid: 'warn-address', ph: 'warn.search.ph' });
  var wBtn = h('button', { type: 'submit', class: 'btn', tid: 'warn-search', i18n: 'warn.search.btn' });
  var wRes = h('div', { tid: 'warn-results', class: 'warn-results' });
  var wErr = h('div', { class: 'error', style: 'display:none', tid: 'warn-error' });
  var wForm = h('form', { class: 'box', tid: 'warn-form' }, [
    h('div', { class: 'section-title', i18n: 'warn.search.title' }),
    h('div', { class: 'row' }, [wIn, wBtn]), wErr, wRes
  ]);
  wForm.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var a = wIn.value.trim();
    if (!a) { wIn.focus(); return; }
    showError(wErr, null);
    wBtn.disabled = true;
    api('GET', '/warnings?address=' + encodeURIComponent(a)).then(function (list) {
      wBtn.disabled = false;
      list = list || [];
      clear(wRes).setAttribute('data-count', String(list.length));
      wRes.appendChild(h('div', { class: 'small' }, [tx('warn.search.found'), ': ', h('b', { tid: 'warn-count', text: String(list.length) })]));
      if (!list.length) wRes.appendChild(h('div', { class: 'muted', i18n: 'warn.none' }));
      var ul = h('ul', { class: 'warn-list' });
      list.forEach(function (w) { ul.appendChild(warningItem(w)); });
      wRes.appendChild(ul);
    }, function (e) { wBtn.disabled = false; showError(wErr, e); });
  });
  panel.appendChild(h('div', { class: 'layout-3' }, [
    h('div', { class: 'col col-list' }, [
      h('div', { class: 'col-head' }, [h('span', { i18n: 'duty.forwarded' }), fCount]),
      fwdBox,
      h('div', { class: 'col-head' }, [h('span', { i18n: 'duty.open' }), oCount]),
      openBox
    ]),
    h('div', { class: 'col col-detail' }, [detail.el]),
    h('div', { class: 'col col-units' }, [wForm, recordings ? recordings.el : null])
  ]));
  if (recordings) recordings.load();
  var prefilled = '';
  function pick(c) {
    detail.show(c.id);
    // Offer the card's address for the reference check, unless the officer typed another one.
    var a = cardAddress(c);
    if (a && (!wIn.value || wIn.value === prefilled)) { wIn.value = a; prefilled = a; }
    render();
  }
  function render() {
    var all = Object.keys(S.cards).map(function (k) { return S.cards[k]; }).filter(function (c) { return !isTerminal(c.status) && c.status !== 'new'; });
    var f = all.filter(function (c) { return !!c.forwarded_to; }).sort(function (a, b) { return (b.updated_at || 0) - (a.updated_at || 0); });
    var o = all.filter(function (c) { return !c.forwarded_to; }).sort(byPriorityThenAge);
    clear(fwdBox).appendChild(cardTable('duty-forwarded', f, detail.id, pick));
    clear(openBox).appendChild(cardTable('duty-open', o, detail.id, pick));
    fCount.textContent = String(f.length);
    oCount.textContent = String(o.length);
  }
  return { render: render, onCard: detail.onCard, onReload: function () { if (detail.id) detail.reload(); } };
}
