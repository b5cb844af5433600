/* The reception desk (personal reception, R31, seed 004 p.18, p.23, ЛП-1 = Приложение 2-1): the
   region's schedule (heads and deputies, places with their КАТО, weekly sessions, online or
   offline), a day's queue, a booking (a session's slot or out of schedule, the ЛП-1 fields a
   booking gives, the reference lists as selects), the ЛП-1 card of a record (36 fields, the
   mandatory ones marked, the missing ones listed; printable), the record of a held reception
   and "reception not held" with its reason (field 36). Requests that came through the hub show
   as such, with their settlement (confirmed, moved from another slot, refused). API:
   /reception/{schedule,form,queue,bookings,bookings/{id},…/lp1,…/held,…/not-held}. */
import { api, showError } from '../../kit/api.js';
import { applyLang } from '../../kit/i18n.js';
import { clear, dataText, h, pad, tx } from '../../kit/dom.js';
import { fmtDateTime } from '../state.js';
import { fmtDay } from './appeal_detail.js';
import DICTS from '../i18n.js';

/* ЛП-1 fields a booking gives, those of a held reception and of one not held (as the server's
   BOOKING_FIELDS, RECORD_FIELDS, NOT_HELD_FIELDS; it refuses any other with lp1_field_not_editable). */
var BOOKING_FIELDS = [7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18, 19, 20, 21, 22, 23, 30, 35];
var HELD_FIELDS = [25, 30, 31, 32, 33, 34, 35];
var NOT_HELD_FIELDS = [36];

/* A day as YYYY-MM-DD in the browser's local time. */
export function isoDay(d) { return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()); }

function minutesOf(hhmm) { var p = hhmm.split(':'); return Number(p[0]) * 60 + Number(p[1]); }
function hhmm(m) { return pad(Math.floor(m / 60)) + ':' + pad(m % 60); }
/* The slot times of a session (as the server's Schedule::slot_times). */
function slotTimes(s) {
  var out = [];
  for (var i = 0; i < s.slots; i++) out.push(hhmm(minutesOf(s.start) + i * s.slot_minutes));
  return out;
}

/* The reference list a field uses, or null. */
function refListOf(def) { return def.value && typeof def.value === 'object' ? def.value.reference : null; }
function refEntries(ref, list) { return (ref && ref[list]) || []; }
function refNames(ref, list, code) {
  var e = refEntries(ref, list).filter(function (x) { return x.code === code; })[0];
  return e ? { kk: e.kk, ru: e.ru } : null;
}

/* An input for one ЛП-1 field, by what the field holds. */
function fieldInput(def, ref, schedule, idPrefix) {
  var tid = idPrefix + def.number;
  var list = refListOf(def);
  var empty = h('option', { value: '', i18n: 'not_selected' });
  if (def.value === 'options') {
    return h('select', { tid: tid }, [empty].concat(def.options.map(function (o, i) {
      return h('option', { value: String(i + 1), names: { kk: o[0], ru: o[1] } });
    })));
  }
  if (list) {
    return h('select', { tid: tid }, [empty].concat(refEntries(ref, list).map(function (e) {
      return h('option', { value: e.code, names: { kk: e.kk, ru: e.ru } });
    })));
  }
  if (def.value === 'official') {
    return h('select', { tid: tid }, [empty].concat(((schedule && schedule.officials) || []).map(function (o) {
      return h('option', { value: o.id, data: o.name });
    })));
  }
  if (def.value === 'date') return h('input', { type: 'date', tid: tid });
  if (def.number === 33 || def.number === 35 || def.number === 36 || def.number === 30) return h('textarea', { rows: '2', tid: tid });
  return h('input', { type: 'text', tid: tid, autocomplete: 'off', inputmode: def.number === 10 ? 'numeric' : null });
}

function fieldBox(def, input, cls) {
  return h('div', { class: 'fld ' + (cls || '') }, [
    h('label', null, [dataText(def.number + '. ', 'mono'), h('span', { names: { kk: def.kk, ru: def.ru } }), def.mandatory ? h('span', { class: 'rc-mandatory', text: ' *' }) : null]),
    input]);
}

/* The values typed into `inputs` (number → element), the empty ones left out. */
function valuesOf(inputs) {
  var out = {};
  Object.keys(inputs).forEach(function (n) { var v = inputs[n].value.trim(); if (v) out[n] = v; });
  return out;
}

function officialName(schedule, id) {
  var o = ((schedule && schedule.officials) || []).filter(function (x) { return x.id === id; })[0];
  return o ? o.name : id;
}

/* ------------------------------------------------------------------ the schedule */

function scheduleBox(schedule, ref) {
  var box = h('div', { class: 'box rc-schedule', tid: 'rc-schedule' }, [h('div', { class: 'section-title', i18n: 'rc.schedule' })]);
  if (!schedule) { box.appendChild(tx('rc.schedule.none', 'muted')); return box; }
  if (schedule.sample) box.appendChild(h('div', { class: 'warn small', tid: 'rc-schedule-sample', i18n: 'rc.sample' }));
  box.appendChild(h('table', { class: 'tbl compact', tid: 'rc-officials' }, [
    h('thead', null, h('tr', null, ['rc.official', 'rc.rank'].map(function (k) { return h('th', { i18n: k }); }))),
    h('tbody', null, schedule.officials.map(function (o) {
      return h('tr', null, [h('td', null, dataText(o.name)), h('td', { i18n: 'rc.rank.' + o.rank })]);
    }))]));
  box.appendChild(h('table', { class: 'tbl compact', tid: 'rc-places' }, [
    h('thead', null, h('tr', null, ['rc.place', 'rc.kato', 'rc.addressee'].map(function (k) { return h('th', { i18n: k }); }))),
    h('tbody', null, schedule.places.map(function (p) {
      var kato = refNames(ref, 'kato', p.kato);
      return h('tr', null, [h('td', null, dataText(p.id, 'mono')),
        h('td', null, [dataText(p.kato, 'mono'), ' ', kato ? h('span', { names: kato }) : tx('rc.kato.unknown', 'error small')]),
        h('td', null, dataText(p.addressee))]);
    }))]));
  box.appendChild(h('table', { class: 'tbl compact', tid: 'rc-sessions' }, [
    h('thead', null, h('tr', null, ['rc.weekday', 'rc.start', 'rc.slots', 'rc.official', 'rc.place', 'rc.mode'].map(function (k) { return h('th', { i18n: k }); }))),
    h('tbody', null, schedule.sessions.map(function (s) {
      return h('tr', { tid: 'rc-session', 'data-id': s.id }, [h('td', { i18n: 'rc.weekday.' + s.weekday }),
        h('td', null, dataText(s.start)), h('td', null, dataText(s.slots + ' × ' + s.slot_minutes)),
        h('td', null, dataText(officialName(schedule, s.official))), h('td', null, dataText(s.place, 'mono')),
        h('td', { i18n: 'rc.mode.' + s.mode })]);
    }))]));
  return box;
}

/* A session as an option: its weekday, first slot and official, in both languages. */
function sessionLabel(schedule, s) {
  var tail = ' ' + s.start + ' — ' + officialName(schedule, s.official);
  return h('option', { value: s.id, names: { kk: DICTS.kk['rc.weekday.' + s.weekday] + tail, ru: DICTS.ru['rc.weekday.' + s.weekday] + tail } });
}

/* ------------------------------------------------------------------ the booking form */

function bookingForm(ctx, onBooked) {
  var schedule = ctx.schedule;
  var kind = h('select', { tid: 'rc-book-kind' }, [h('option', { value: 'session', i18n: 'rc.book.session' }), h('option', { value: 'out', i18n: 'rc.book.out' })]);
  var session = h('select', { tid: 'rc-book-session' }, ((schedule && schedule.sessions) || []).map(function (s) { return sessionLabel(schedule, s); }));
  var date = h('input', { type: 'date', tid: 'rc-book-date', value: isoDay(new Date()) });
  var time = h('select', { tid: 'rc-book-time' });
  var outTime = h('input', { type: 'time', tid: 'rc-book-out-time' });
  var official = h('select', { tid: 'rc-book-official' }, ((schedule && schedule.officials) || []).map(function (o) { return h('option', { value: o.id, data: o.name }); }));
  var place = h('select', { tid: 'rc-book-place' }, ((schedule && schedule.places) || []).map(function (p) { return h('option', { value: p.id, data: p.id }); }));
  var mode = h('select', { tid: 'rc-book-mode' }, ['offline', 'online'].map(function (m) { return h('option', { value: m, i18n: 'rc.mode.' + m }); }));
  function fillTimes() {
    var s = ((schedule && schedule.sessions) || []).filter(function (x) { return x.id === session.value; })[0];
    clear(time);
    if (s) slotTimes(s).forEach(function (t) { time.appendChild(h('option', { value: t, data: t })); });
  }
  session.addEventListener('change', fillTimes);
  fillTimes();
  var sessionPart = h('div', { class: 'form-grid' }, [
    h('div', { class: 'fld' }, [h('label', { i18n: 'rc.session' }), session]),
    h('div', { class: 'fld' }, [h('label', { i18n: 'rc.time' }), time])]);
  var outPart = h('div', { class: 'form-grid', style: 'display:none' }, [
    h('div', { class: 'fld' }, [h('label', { i18n: 'rc.official' }), official]),
    h('div', { class: 'fld' }, [h('label', { i18n: 'rc.place' }), place]),
    h('div', { class: 'fld' }, [h('label', { i18n: 'rc.mode' }), mode]),
    h('div', { class: 'fld' }, [h('label', { i18n: 'rc.time' }), outTime])]);
  kind.addEventListener('change', function () {
    sessionPart.style.display = kind.value === 'session' ? '' : 'none';
    outPart.style.display = kind.value === 'out' ? '' : 'none';
  });
  var inputs = {};
  var grid = h('div', { class: 'form-grid' });
  BOOKING_FIELDS.forEach(function (n) {
    var def = ctx.lp1[n - 1];
    inputs[n] = fieldInput(def, ctx.ref, schedule, 'rc-book-f');
    grid.appendChild(fieldBox(def, inputs[n], n === 19 || n === 20 || n === 30 || n === 35 ? 'w2' : ''));
  });
  var err = h('div', { class: 'error', tid: 'rc-book-error', style: 'display:none', role: 'alert' });
  var btn = h('button', { type: 'submit', class: 'btn btn-primary', tid: 'rc-book-submit', i18n: 'rc.book.submit' });
  var form = h('form', { class: 'box rc-book', tid: 'rc-book', autocomplete: 'off' }, [
    h('div', { class: 'section-title', i18n: 'rc.book.title' }),
    h('div', { class: 'form-grid' }, [
      h('div', { class: 'fld' }, [h('label', { i18n: 'rc.book.kind' }), kind]),
      h('div', { class: 'fld' }, [h('label', { i18n: 'rc.date' }), date])]),
    sessionPart, outPart, grid, err,
    h('div', { class: 'form-actions' }, [btn])]);
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var body = { origin: 'desk', date: date.value, fields: valuesOf(inputs) };
    if (kind.value === 'session') { body.session = session.value; body.time = time.value; } else {
      body.time = outTime.value;
      body.out_of_schedule = { official: official.value, place: place.value, mode: mode.value };
    }
    btn.disabled = true;
    showError(err, null);
    api('POST', '/reception/bookings', body).then(function (b) {
      btn.disabled = false;
      Object.keys(inputs).forEach(function (n) { inputs[n].value = ''; });
      onBooked(b);
    }, function (e) { btn.disabled = false; showError(err, e); });
  });
  return form;
}

/* ------------------------------------------------------------------ a record and its ЛП-1 card */

function valueCell(f) {
  if (f.value == null) return tx('rc.lp1.empty', 'muted');
  if (f.value_kk || f.value_ru) return h('span', null, [h('span', { names: { kk: f.value_kk || f.value_ru, ru: f.value_ru || f.value_kk } }), ' ', dataText('(' + f.value + ')', 'muted small mono')]);
  return dataText(f.value);
}

function lp1Card(card) {
  var missing = card.missing || [];
  return h('div', { class: 'rc-lp1', tid: 'rc-lp1' }, [
    h('div', { class: 'section-title' }, [dataText(card.form), ' ', tx('rc.lp1.title')]),
    card.sample_reference ? h('div', { class: 'warn small', i18n: 'rc.sample_reference' }) : null,
    missing.length
      ? h('div', { class: 'error small', tid: 'rc-lp1-missing', 'data-missing': missing.join(',') }, [tx('rc.lp1.missing'), ' ', dataText(missing.join(', '))])
      : h('div', { class: 'ok small', tid: 'rc-lp1-complete', i18n: 'rc.lp1.complete' }),
    h('table', { class: 'tbl compact' }, [
      h('thead', null, h('tr', null, ['forms.number', 'forms.name', 'forms.value', 'forms.filled'].map(function (k) { return h('th', { i18n: k }); }))),
      h('tbody', null, card.fields.map(function (f) {
        var miss = missing.indexOf(f.number) >= 0;
        return h('tr', { class: miss ? 'fm-missing' : '', tid: 'rc-lp1-f' + f.number, 'data-filled': f.value != null ? 'true' : 'false' }, [
          h('td', { class: 'mono' }, [dataText(f.number), f.mandatory ? h('span', { class: 'rc-mandatory', tip: 'rc.mandatory', text: ' *' }) : null]),
          h('td', null, h('span', { names: { kk: f.kk, ru: f.ru } })),
          h('td', null, [valueCell(f), miss ? h('div', { class: 'error small', i18n: 'forms.missing' }) : null]),
          h('td', { i18n: f.automatic ? 'forms.auto' : 'forms.manual' })]);
      }))])]);
}

function slotLine(s, schedule) {
  return h('span', null, [dataText(fmtDay(s.date) + ' ' + s.time + ', №' + s.queue + ', '), dataText(s.official_name || officialName(schedule, s.official)), ' ',
    h('span', { class: 'muted', i18n: 'rc.mode.' + s.mode }), s.session ? null : h('span', { class: 'muted' }, [', ', tx('rc.out_of_schedule')])]);
}

function recordForm(b, ctx, held, onDone) {
  var inputs = {};
  var grid = h('div', { class: 'form-grid' });
  (held ? HELD_FIELDS : NOT_HELD_FIELDS).forEach(function (n) {
    var def = ctx.lp1[n - 1];
    inputs[n] = fieldInput(def, ctx.ref, ctx.schedule, held ? 'rc-held-f' : 'rc-notheld-f');
    grid.appendChild(fieldBox(def, inputs[n], n === 33 || n === 35 || n === 36 ? 'w2' : ''));
  });
  if (held) inputs[31].value = b.slot.official;
  var err = h('div', { class: 'error', tid: held ? 'rc-held-error' : 'rc-notheld-error', style: 'display:none', role: 'alert' });
  var btn = h('button', { type: 'submit', class: 'btn ' + (held ? 'btn-primary' : ''), tid: held ? 'rc-held-submit' : 'rc-notheld-submit', i18n: held ? 'rc.held.submit' : 'rc.notheld.submit' });
  var form = h('form', { class: 'box no-print', tid: held ? 'rc-held' : 'rc-notheld', autocomplete: 'off' }, [
    h('div', { class: 'section-title', i18n: held ? 'rc.held.title' : 'rc.notheld.title' }), grid, err, h('div', { class: 'form-actions' }, [btn])]);
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    btn.disabled = true;
    showError(err, null);
    api('POST', '/reception/bookings/' + encodeURIComponent(b.id) + (held ? '/held' : '/not-held'), { fields: valuesOf(inputs) }).then(function () {
      btn.disabled = false;
      onDone();
    }, function (e) { btn.disabled = false; showError(err, e); });
  });
  return form;
}

function detailBox(id, ctx, onChanged) {
  var box = h('div', { class: 'box rc-detail', tid: 'rc-detail', 'data-id': id }, tx('loading'));
  function load() {
    Promise.all([api('GET', '/reception/bookings/' + encodeURIComponent(id)), api('GET', '/reception/bookings/' + encodeURIComponent(id) + '/lp1')]).then(function (r) {
      var b = r[0];
      var card = r[1];
      clear(box);
      box.setAttribute('data-status', b.status);
      var print = h('button', { type: 'button', class: 'btn btn-sm no-print', tid: 'rc-lp1-print', i18n: 'forms.print' });
      print.addEventListener('click', function () { printAlone(box); });
      box.appendChild(h('div', { class: 'row no-print' }, [h('span', { class: 'section-title', i18n: 'rc.record' }), h('span', { class: 'chip', tid: 'rc-status', 'data-status': b.status, i18n: 'rc.status.' + b.status }), print]));
      box.appendChild(h('div', { class: 'kv' }, [h('span', { class: 'k', i18n: 'rc.slot' }), h('span', { class: 'v' }, slotLine(b.slot, ctx.schedule))]));
      box.appendChild(h('div', { class: 'kv' }, [h('span', { class: 'k', i18n: 'rc.via' }), h('span', { class: 'v', tid: 'rc-via', 'data-via': b.via }, [tx('rc.via.' + b.via), ', ', tx('rc.origin.' + b.origin)])]));
      if (b.via === 'hub') box.appendChild(h('div', { class: 'kv', tid: 'rc-settlement' }, [h('span', { class: 'k', i18n: 'rc.settlement' }), h('span', { class: 'v' }, settlement(b, ctx.schedule))]));
      if (b.refusal) box.appendChild(h('div', { class: 'kv' }, [h('span', { class: 'k', i18n: 'rc.refusal' }), h('span', { class: 'v' }, dataText(b.refusal))]));
      box.appendChild(lp1Card(card));
      if (b.status === 'booked') {
        box.appendChild(recordForm(b, ctx, true, function () { load(); onChanged(); }));
        box.appendChild(recordForm(b, ctx, false, function () { load(); onChanged(); }));
      }
      box.appendChild(h('div', { class: 'section-title no-print', i18n: 'rc.log' }));
      box.appendChild(h('table', { class: 'tbl compact no-print', tid: 'rc-log' }, [
        h('thead', null, h('tr', null, ['ap.at', 'ap.by', 'ap.action'].map(function (k) { return h('th', { i18n: k }); }))),
        h('tbody', null, b.log.map(function (l) {
          return h('tr', null, [h('td', null, dataText(fmtDateTime(l.at_ms))), h('td', null, dataText(l.by, 'mono')), h('td', null, [tx('rc.action.' + l.action), l.detail ? dataText(' ' + l.detail, 'muted') : null])]);
        }))]));
      applyLang(box);
    }, function (e) { clear(box); showError(box.appendChild(h('div', { class: 'error' })), e); });
  }
  load();
  return box;
}

/* What the region did with a request from the hub. */
function settlement(b, schedule) {
  if (b.status === 'requested') return tx('rc.settle.waiting');
  if (b.status === 'refused') return tx('rc.settle.refused');
  if (b.moved_from) return h('span', null, [tx('rc.settle.moved'), ' ', slotLine(b.moved_from, schedule)]);
  return tx('rc.settle.confirmed');
}

/* Prints `box` alone: the other print areas step aside until the print ends (as the forms view). */
export function printAlone(box) {
  var others = Array.prototype.slice.call(document.querySelectorAll('.print-area')).filter(function (x) { return x !== box; });
  others.forEach(function (x) { x.classList.remove('print-area'); });
  box.classList.add('print-area');
  window.addEventListener('afterprint', function () {
    box.classList.remove('print-area');
    others.forEach(function (x) { x.classList.add('print-area'); });
  }, { once: true });
  window.print();
}

/* ------------------------------------------------------------------ the view */

export function ReceptionDeskView(panel) {
  var ctx = null;
  var left = h('div', { class: 'rc-left' });
  var right = h('div', { class: 'rc-right' });
  var day = h('input', { type: 'date', tid: 'rc-day', value: isoDay(new Date()) });
  var queueBody = h('tbody');
  var queueErr = h('div', { class: 'error', style: 'display:none', role: 'alert' });
  var queueBox = h('div', { class: 'box rc-queue', tid: 'rc-queue' }, [
    h('div', { class: 'row' }, [h('span', { class: 'section-title', i18n: 'rc.queue' }), day,
      h('button', { type: 'button', class: 'btn btn-sm', tid: 'rc-queue-refresh', i18n: 'rc.refresh', onclick: loadQueue })]),
    queueErr,
    h('table', { class: 'tbl compact' }, [
      h('thead', null, h('tr', null, ['rc.queue.number', 'rc.time', 'rc.applicant', 'rc.official', 'rc.status', 'rc.via'].map(function (k) { return h('th', { i18n: k }); }))),
      queueBody])]);
  day.addEventListener('change', loadQueue);
  panel.appendChild(h('div', { class: 'rc-desk' }, [left, right]));

  function open(id) {
    clear(right).appendChild(detailBox(id, ctx, loadQueue));
  }
  function loadQueue() {
    if (!ctx) return;
    api('GET', '/reception/queue?date=' + encodeURIComponent(day.value || isoDay(new Date()))).then(function (rows) {
      showError(queueErr, null);
      clear(queueBody);
      if (!rows.length) queueBody.appendChild(h('tr', null, h('td', { colspan: '6', class: 'muted', i18n: 'rc.queue.empty' })));
      rows.forEach(function (r) {
        queueBody.appendChild(h('tr', { tid: 'rc-row', 'data-id': r.id, 'data-status': r.status, class: 'clickable', onclick: function () { open(r.id); } }, [
          h('td', null, dataText(r.slot.queue)), h('td', null, dataText(r.slot.time)),
          h('td', null, dataText([r.surname, r.name].filter(Boolean).join(' '))),
          h('td', null, dataText(r.slot.official_name)),
          h('td', { i18n: 'rc.status.' + r.status }),
          h('td', { i18n: 'rc.via.' + r.via })]));
      });
      applyLang(queueBody);
    }, function (e) { showError(queueErr, e); });
  }
  function start() {
    clear(left).appendChild(tx('loading'));
    Promise.all([api('GET', '/reception/form'), api('GET', '/reception/schedule')]).then(function (r) {
      ctx = { lp1: r[0].lp1, ref: r[0].reference, schedule: r[1].schedule };
      clear(left);
      left.appendChild(queueBox);
      left.appendChild(bookingForm(ctx, function (b) {
        if (day.value !== b.slot.date) day.value = b.slot.date;
        loadQueue();
        open(b.id);
      }));
      left.appendChild(scheduleBox(ctx.schedule, ctx.ref));
      applyLang(left);
      loadQueue();
    }, function (e) { clear(left); showError(left.appendChild(h('div', { class: 'error' })), e); });
  }
  return {
    onShow: function () { if (!ctx) start(); else loadQueue(); }
  };
}
