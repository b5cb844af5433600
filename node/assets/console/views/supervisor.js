/* The shift supervisor's tab (Руководитель смены / Ауысым басшысы): the live calls queue with
   wait times, R36 timeliness per operator and dispatcher for a chosen shift with the slowest
   cases, the shift summary (shift_summary.js, printable) and the audit viewer (audit.js). */
import { S, fmtDur, label, timer } from '../state.js';
import { api, showError } from '../../kit/api.js';
import { clear, h, tx } from '../../kit/dom.js';
import { t } from '../../kit/i18n.js';
import { AuditBox } from './audit.js';
import { ShiftSummaryBox } from './shift_summary.js';

/** A duration for the supervisor: seconds with a tenth below a minute, else [h:]mm:ss. */
export function fmtSpan(ms) {
  if (ms == null) return '—';
  if (ms < 60000) return (Math.max(ms, 0) / 1000).toFixed(1).replace('.', ',') + ' ' + t('sup.u.s');
  return fmtDur(ms);
}
function span(ms, tid) {
  return h('span', { class: 'sup-dur', tid: tid, 'data-ms': ms == null ? '' : String(ms), text: fmtSpan(ms) });
}

/* ------------------------------------------------------------------ live calls queue */

function CallsQueue() {
  var body = h('tbody');
  var count = h('span', { class: 'count', tid: 'sup-calls-count', text: '0' });
  var empty = h('div', { class: 'muted', tid: 'sup-calls-empty', i18n: 'sup.calls.none' });
  var el = h('div', { class: 'box sup-calls', tid: 'sup-calls' }, [
    h('div', { class: 'section-title' }, [tx('sup.calls.title'), ' ', count]),
    h('table', { class: 'grid sup-table' }, [
      h('thead', null, h('tr', null, [
        h('th', { i18n: 'sup.calls.state' }), h('th', { i18n: 'sup.calls.channel' }),
        h('th', { i18n: 'sup.calls.wait' }), h('th', { i18n: 'sup.calls.operator' }), h('th', { i18n: 'sup.calls.card' })
      ])),
      body
    ]),
    empty
  ]);
  function state(c) {
    if (c.phase === 'answered') return 'answered';
    return c.offered_to ? 'transferring' : 'ringing';
  }
  function row(c) {
    var st = state(c);
    var sos = c.channel === 'sos_video';
    var wait = st === 'answered'
      ? span(c.answered_at - c.rang_at, 'sup-call-wait')
      : timer(c.rang_at, 'sup-call-wait');
    if (st !== 'answered') wait.setAttribute('data-testid', 'sup-call-wait');
    var who = c.operator || c.offered_to || '';
    return h('tr', { class: 'sup-call' + (sos ? ' sup-sos' : '') + ' sup-call-' + st, tid: 'sup-call', 'data-call-id': c.id, 'data-state': st },
      [
        h('td', null, [sos ? h('span', { class: 'badge badge-sos', tid: 'sup-call-sos', text: 'SOS' }) : null, ' ',
          h('span', { tid: 'sup-call-state', i18n: 'sup.calls.state.' + st })]),
        h('td', null, label('channels', c.channel)),
        h('td', null, wait),
        h('td', { tid: 'sup-call-operator', translate: 'no', text: who }),
        h('td', { translate: 'no', text: c.card_number || '' })
      ]);
  }
  function render() {
    var live = Object.keys(S.calls).map(function (k) { return S.calls[k]; })
      .filter(function (c) { return c.phase === 'ringing' || c.phase === 'answered'; });
    live.sort(function (a, b) {
      var sa = a.channel === 'sos_video' ? 0 : 1, sb = b.channel === 'sos_video' ? 0 : 1;
      var pa = a.phase === 'ringing' ? 0 : 1, pb = b.phase === 'ringing' ? 0 : 1;
      return (pa - pb) || (sa - sb) || (a.rang_at - b.rang_at);
    });
    clear(body);
    live.forEach(function (c) { body.appendChild(row(c)); });
    count.textContent = String(live.length);
    empty.style.display = live.length ? 'none' : '';
  }
  return { el: el, render: render };
}

/* ------------------------------------------------------------------ R36 timeliness */

var STAT_COLS = ['count', 'avg_ms', 'p50_ms', 'p90_ms', 'max_ms'];

function statsHead(first) {
  return h('thead', null, h('tr', null, [h('th', { i18n: first }), h('th', { i18n: 'sup.tl.measure' })].concat(
    STAT_COLS.map(function (k) { return h('th', { class: 'num', i18n: 'sup.tl.' + k }); }))));
}
function statsRow(login, kind, st) {
  return h('tr', { tid: 'tl-row', 'data-login': login, 'data-kind': kind }, [
    h('td', { class: 'sup-login', translate: 'no', text: login }),
    h('td', { i18n: 'sup.tl.kind.' + kind })
  ].concat(STAT_COLS.map(function (k) {
    if (k === 'count') return h('td', { class: 'num', tid: 'tl-count', text: String(st.count) });
    return h('td', { class: 'num' }, span(st[k], 'tl-' + k.replace('_ms', '')));
  })));
}
function slowList(kind, cases) {
  var items = (cases || []).map(function (c) {
    var what = c.card_number || c.call_id || '';
    return h('li', { tid: 'tl-slow', 'data-kind': kind, 'data-login': c.login, 'data-card': c.card_number || '' }, [
      span(c.duration_ms, 'tl-slow-dur'), ' · ',
      h('span', { class: 'sup-login', translate: 'no', text: c.login }), ' · ',
      c.card_number ? null : tx('sup.tl.call'), c.card_number ? null : ' ',
      h('span', { class: 'sup-target', tid: 'tl-slow-what', translate: 'no', text: what })
    ]);
  });
  return h('div', { class: 'sup-slow', tid: 'tl-slow-' + kind }, [
    h('div', { class: 'lbl', i18n: 'sup.tl.kind.' + kind }),
    items.length ? h('ol', null, items) : h('div', { class: 'muted', i18n: 'sup.tl.none' })
  ]);
}

function TimelinessBox() {
  var ops = h('tbody');
  var disps = h('tbody');
  var slow = h('div', { class: 'sup-slowest' });
  var totals = h('div', { class: 'small', tid: 'tl-totals' });
  var err = h('div', { class: 'error', tid: 'tl-error', style: 'display:none', role: 'alert' });
  var el = h('div', { class: 'box sup-tl', tid: 'sup-timeliness' }, [
    h('div', { class: 'section-title', i18n: 'sup.tl.title' }),
    err, totals,
    h('div', { class: 'lbl', i18n: 'sup.tl.operators' }),
    h('table', { class: 'grid sup-table', tid: 'tl-operators' }, [statsHead('sup.tl.operator'), ops]),
    h('div', { class: 'lbl', i18n: 'sup.tl.dispatchers' }),
    h('table', { class: 'grid sup-table', tid: 'tl-dispatchers' }, [statsHead('sup.tl.dispatcher'), disps]),
    h('div', { class: 'section-title', i18n: 'sup.tl.slowest' }),
    slow
  ]);
  function show(v) {
    clear(ops); clear(disps); clear(slow); clear(totals);
    totals.appendChild(h('span', null, [tx('sup.tl.calls_rung'), ': ', h('b', { tid: 'tl-calls-rung', text: String(v.calls_rung) }),
      ' · ', tx('sup.tl.calls_missed'), ': ', h('b', { tid: 'tl-calls-missed', text: String(v.calls_missed) })]));
    (v.staff || []).forEach(function (s) {
      if (s.answer) ops.appendChild(statsRow(s.login, 'answer', s.answer));
      if (s.send_for_processing) ops.appendChild(statsRow(s.login, 'send_for_processing', s.send_for_processing));
      if (s.dispatch) disps.appendChild(statsRow(s.login, 'dispatch', s.dispatch));
    });
    if (!ops.firstChild) ops.appendChild(h('tr', null, h('td', { colspan: 7, class: 'muted', i18n: 'sup.tl.none' })));
    if (!disps.firstChild) disps.appendChild(h('tr', null, h('td', { colspan: 7, class: 'muted', i18n: 'sup.tl.none' })));
    var sl = v.slowest || {};
    ['answer', 'send_for_processing', 'dispatch'].forEach(function (k) { slow.appendChild(slowList(k, sl[k])); });
  }
  function load(q) {
    showError(err, null);
    return api('GET', '/supervision/timeliness' + q).then(function (v) { show(v); return v; }, function (e) { showError(err, e); return null; });
  }
  return { el: el, load: load };
}

/* ------------------------------------------------------------------ the tab */

export function SupervisorView(panel) {
  var date = h('input', { type: 'date', tid: 'sup-date', id: 'sup-date' });
  var shift = h('select', { tid: 'sup-shift', id: 'sup-shift' }, [
    h('option', { value: 'day', i18n: 'sup.shift.day' }), h('option', { value: 'night', i18n: 'sup.shift.night' })
  ]);
  var showBtn = h('button', { type: 'submit', class: 'btn btn-primary', tid: 'sup-show', i18n: 'sup.show' });
  var form = h('form', { class: 'row sup-pick no-print', tid: 'sup-pick' }, [
    h('label', { for: 'sup-date', i18n: 'sup.date' }), date,
    h('label', { for: 'sup-shift', i18n: 'sup.shift' }), shift, showBtn
  ]);
  var calls = CallsQueue();
  var tl = TimelinessBox();
  var summary = ShiftSummaryBox();
  var audit = AuditBox();
  panel.appendChild(h('div', { class: 'sup-wrap', tid: 'sup-wrap' }, [
    form,
    h('div', { class: 'sup-cols' }, [
      h('div', { class: 'sup-col' }, [calls.el, tl.el]),
      h('div', { class: 'sup-col' }, [summary.el])
    ]),
    audit.el
  ]));

  var loaded = false;
  function query() {
    return '?date=' + encodeURIComponent(date.value) + '&shift=' + encodeURIComponent(shift.value);
  }
  function loadShift() {
    if (!date.value) {
      // The current shift, as the server counts it; the selectors then show which it is.
      return tl.load('').then(function (v) {
        if (!v) return;
        date.value = v.date;
        shift.value = v.shift;
        summary.load(query());
      });
    }
    return Promise.all([tl.load(query()), summary.load(query())]);
  }
  form.addEventListener('submit', function (ev) { ev.preventDefault(); loadShift(); });
  return {
    render: calls.render,
    onShow: function () {
      calls.render();
      if (!loaded) { loaded = true; loadShift(); audit.load(); }
    }
  };
}
