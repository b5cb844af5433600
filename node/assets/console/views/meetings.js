/* District inspectors' quarterly report meetings (issue 16, seed 003 ch.3, R22–R26).
   Two views over /api/v1/meetings…:
   - the inspector's "my beat" (inspectors and their helpers): the beat's quarter coverage (R22)
     and its meetings; the plan (date, time, place, format, a joint meeting of adjacent beats),
     the notice (R23: a notice later than 10 calendar days before the meeting is refused, shown
     with the last day it could have gone out), the invitation list, the participants'
     registration with their consent, "held", the video recording, the protocol with its
     complaints, proposals and remarks, the inspector's signature (R24: the signed protocol is
     locked, a correction is a new linked version), the follow-up of items (R25) and the Word
     documents (the protocol, the draft report);
   - the beat office's head (and the region's head): beats without a meeting this quarter,
     protocols overdue (unsigned after the meeting day), items still followed up.
   R22 alert: a beat whose quarter warns (at risk, missed) is told to the inspector and the
   office's head through the kit's alerts (a sound and a browser notification, once per beat and
   state in a browser session) and marked on the tab. */
import { api, auth, showError } from '../../kit/api.js';
import { applyLang } from '../../kit/i18n.js';
import { clear, dataText, h, tx, fmtDateTime } from '../../kit/dom.js';
import { fileButton, fmtDay, fetchFile, refName, refSelect, API_BASE } from './appeal_detail.js';
import { alertMeetings } from '../alerts.js';

/** R23: the notice goes out at least this many calendar days before the meeting. */
export var NOTICE_CALENDAR_DAYS = 10;
/** How often the coverage is asked again for the R22 alert while the console is open, ms. */
var COVERAGE_REFRESH_MS = 10 * 60 * 1000;
var DAY_MS = 24 * 3600 * 1000;

var FORMATS = ['gathering', 'akim_meeting', 'outdoor', 'online'];
var CHANNELS = ['page', 'telegram', 'vk', 'email', 'print'];
var INVITATION_STATES = ['pending', 'sent', 'accepted', 'declined', 'attended'];
var ITEM_KINDS = ['complaint', 'proposal', 'remark'];
var PROTOCOL_FIELDS = ['report', 'decisions', 'remarks'];
var INSPECTING = ['inspector', 'helper'];
var CONTROLLING = ['office_head', 'region_head'];

function mPath(id, rest) { return '/meetings/' + encodeURIComponent(id) + (rest || ''); }

/* 'YYYY-MM-DD' plus n calendar days (UTC arithmetic: no daylight saving shifts). */
export function plusDays(day, n) {
  var p = String(day).split('-').map(Number);
  var d = new Date(Date.UTC(p[0], p[1] - 1, p[2]) + n * DAY_MS);
  return d.getUTCFullYear() + '-' + String(d.getUTCMonth() + 1).padStart(2, '0') + '-' + String(d.getUTCDate()).padStart(2, '0');
}

/* The beats the caller sees (GET /meetings/beats), asked once per session. */
var BEATS = { answer: null, promise: null };
/** The answer once it came (null before, or when the caller has no beats' access). */
export function knownBeats() { return BEATS.answer; }
export function meetingBeats() {
  if (BEATS.answer) return Promise.resolve(BEATS.answer);
  if (!BEATS.promise) {
    BEATS.promise = api('GET', '/meetings/beats').then(function (a) { BEATS.answer = a; return a; },
      function (e) { BEATS.promise = null; throw e; });
  }
  return BEATS.promise;
}
export function hasRelation(answer, relations) {
  return !!answer && (answer.beats || []).some(function (b) { return relations.indexOf(b.relation) >= 0; });
}
export function inspects(answer) { return hasRelation(answer, INSPECTING); }
export function controls(answer) { return hasRelation(answer, CONTROLLING); }

/* ------------------------------------------------------------------ R22: the coverage watch */

var WATCH = { timer: null, listeners: [] };
/** Loads the coverage of the caller's beats, raises the R22 alerts and tells the views. */
export function loadCoverage(quarter) {
  return api('GET', '/meetings/coverage' + (quarter ? '?quarter=' + encodeURIComponent(quarter) : '')).then(function (c) {
    if (!quarter) alertMeetings(c);
    return c;
  });
}
/** Starts asking for the coverage now and every COVERAGE_REFRESH_MS (the R22 alert). */
export function watchCoverage() {
  unwatchCoverage();
  var once = function () { loadCoverage(null).catch(function () { /* the next round tells */ }); };
  once();
  WATCH.timer = setInterval(once, COVERAGE_REFRESH_MS);
}
export function unwatchCoverage() {
  if (WATCH.timer) clearInterval(WATCH.timer);
  WATCH.timer = null;
  BEATS.answer = null;
  BEATS.promise = null;
}

/* ------------------------------------------------------------------ small parts */

function beatName(c) { return h('span', { names: { kk: c.name_kk, ru: c.name_ru } }); }
function place(p) { return h('span', { names: { kk: p.place_kk, ru: p.place_ru } }); }
function day(d) { return dataText(fmtDay(d)); }

/** A beat's coverage (R22) as a chip with its days. */
export function coverageChip(cov, tid) {
  var st = cov.state;
  var kids = [tx('mt.cov.' + st)];
  var on = cov.on ? [' ', day(cov.on)] : [];
  if (st === 'planned') on.push(' ', tx('mt.notice_by'), ' ', day(cov.notice_by));
  if (st === 'open') on = [' ', tx('mt.last_notice_day'), ' ', day(cov.last_notice_day)];
  if (st === 'at_risk') on = [' ', tx('mt.last_notice_day'), ' ', day(cov.last_notice_day)];
  return h('span', { class: 'chip mt-cov mt-cov-' + st, tid: tid || 'mt-coverage', 'data-state': st }, kids.concat(on));
}
function stageChip(stage, tid) {
  return h('span', { class: 'chip mt-stage mt-stage-' + stage, tid: tid || 'mt-stage', 'data-stage': stage, i18n: 'mt.stage.' + stage });
}
function fld(label, input, cls) {
  return h('div', { class: 'fld' + (cls ? ' ' + cls : '') }, [h('label', { i18n: label }), input]);
}
function kv(label, value, tid) {
  return h('div', { class: 'kv', tid: tid }, [h('span', { class: 'k', i18n: label }), h('span', { class: 'v' }, value)]);
}
/* A button that POSTs and hands the new meeting to `done`; errors go to `err`. */
function act(btn, err, call, done) {
  btn.addEventListener('click', function (ev) {
    ev.preventDefault();
    btn.disabled = true;
    showError(err, null);
    call().then(function (m) { btn.disabled = false; done(m); }, function (e) { btn.disabled = false; showError(err, e); });
  });
  return btn;
}
function errBox(tid) { return h('div', { class: 'error', tid: tid, style: 'display:none', role: 'alert' }); }

/* ------------------------------------------------------------------ the plan form */

function planForm(ctx, beat, today, onPlanned) {
  var own = ctx.beats.beats.filter(function (b) { return INSPECTING.indexOf(b.relation) >= 0 || b.relation === 'region_head'; });
  var boxes = own.map(function (b) {
    var cb = h('input', { type: 'checkbox', value: b.beat.code, tid: 'mt-plan-beat-' + b.beat.code, checked: b.beat.code === beat });
    return h('label', { class: 'mt-check' }, [cb, ' ', h('span', { ref: b.beat })]);
  });
  var date = h('input', { type: 'date', tid: 'mt-plan-date', value: plusDays(today, NOTICE_CALENDAR_DAYS + 1) });
  var time = h('input', { type: 'time', tid: 'mt-plan-time', value: '18:00' });
  var format = h('select', { tid: 'mt-plan-format' }, FORMATS.map(function (f) { return h('option', { value: f, i18n: 'mt.format.' + f }); }));
  var placeKk = h('input', { type: 'text', tid: 'mt-plan-place-kk', maxlength: '300' });
  var placeRu = h('input', { type: 'text', tid: 'mt-plan-place-ru', maxlength: '300' });
  var link = h('input', { type: 'url', tid: 'mt-plan-link', maxlength: '2000' });
  var language = h('select', { tid: 'mt-plan-language' }, [h('option', { value: 'ru', i18n: 'mt.lang.ru' }), h('option', { value: 'kk', i18n: 'mt.lang.kk' })]);
  var linkFld = fld('mt.link', link, 'w2');
  function showLink() { linkFld.style.display = format.value === 'online' ? '' : 'none'; }
  format.addEventListener('change', showLink);
  showLink();
  var err = errBox('mt-plan-error');
  var btn = h('button', { type: 'submit', class: 'btn btn-primary', tid: 'mt-plan-submit', i18n: 'mt.plan.submit' });
  var form = h('form', { class: 'box mt-plan', tid: 'mt-plan', autocomplete: 'off' }, [
    h('div', { class: 'section-title', i18n: 'mt.plan.title' }),
    own.length > 1 ? h('div', { class: 'fld' }, [h('label', { i18n: 'mt.plan.beats' }), h('div', { class: 'mt-checks' }, boxes)]) : null,
    h('div', { class: 'form-grid' }, [fld('mt.date', date), fld('mt.time', time), fld('mt.format', format), fld('mt.language', language),
      fld('mt.place_kk', placeKk, 'w2'), fld('mt.place_ru', placeRu, 'w2'), linkFld]),
    h('div', { class: 'muted small', i18n: 'mt.plan.hint' }),
    err, h('div', { class: 'form-actions' }, [btn])]);
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var beats = own.length > 1
      ? boxes.map(function (l) { return l.querySelector('input'); }).filter(function (c) { return c.checked; }).map(function (c) { return c.value; })
      : [beat];
    var body = { beats: beats, format: format.value, date: date.value, time: time.value, place_kk: placeKk.value.trim(), place_ru: placeRu.value.trim(), language: language.value };
    if (format.value === 'online') body.link = link.value.trim();
    btn.disabled = true;
    showError(err, null);
    api('POST', '/meetings', body).then(function (m) { btn.disabled = false; onPlanned(m); },
      function (e) { btn.disabled = false; showError(err, e); });
  });
  return form;
}

/* ------------------------------------------------------------------ one meeting */

/* R23's refusal with the days the user needs (beside the error: the error's own text is written
   again on a language switch): the last day the notice could go out for this date and the
   earliest date a meeting noticed today can have. */
function noticeRefusal(err, days, e, m, today) {
  showError(err, e);
  clear(days).style.display = 'none';
  if (e && e.code === 'meeting_notice_too_late') {
    days.appendChild(h('span', null, [tx('mt.notice.deadline'), ' ', dataText(fmtDay(plusDays(m.plan.date, -NOTICE_CALENDAR_DAYS)), 'mt-deadline'), '. ',
      tx('mt.notice.earliest'), ' ', dataText(fmtDay(plusDays(today, NOTICE_CALENDAR_DAYS)), 'mt-earliest'), '.']));
    days.style.display = '';
    applyLang(days);
  }
}

function noticeBox(m, ctx, reload) {
  var box = h('div', { class: 'box mt-notice', tid: 'mt-notice' }, h('div', { class: 'section-title', i18n: 'mt.notice.title' }));
  if (m.notice) {
    box.appendChild(kv('mt.notice.published', [day(m.notice.published_on), ' — ', h('span', null, m.notice.channels.map(function (c, i) {
      return h('span', null, [i ? ', ' : '', tx('mt.channel.' + c)]);
    }))], 'mt-notice-published'));
    // R37: where each delivery stands (the Telegram channel, the VK wall, each invitee's e-mail).
    var deliveries = m.notice.deliveries || [];
    if (deliveries.length) {
      box.appendChild(h('ul', { class: 'mt-deliveries', tid: 'mt-deliveries' }, deliveries.map(function (d) {
        var email = d.target.indexOf('email:') === 0;
        var target = email ? [tx('mt.delivery.email'), ' ', dataText(d.target.slice('email:'.length), 'mono')] : tx('mt.channel.' + d.target);
        return h('li', { tid: 'mt-delivery', 'data-target': d.target, 'data-state': d.state }, [
          target, ' — ', h('span', { class: 'chip small mt-delivery-' + d.state, i18n: 'mt.delivery.' + d.state }),
          d.state === 'sent' ? [' ', dataText(fmtDateTime(d.at_ms), 'muted small')] : null
        ]);
      })));
    }
    box.appendChild(h('div', { class: 'form-actions' }, [
      fileButton({ path: mPath(m.id, '/notice.docx'), name: 'notice-' + m.id + '.docx', tid: 'mt-notice-docx', i18n: 'mt.notice.docx' })]));
    return box;
  }
  if (m.stage !== 'planned') return box;
  box.appendChild(kv('mt.notice.deadline', dataText(fmtDay(plusDays(m.plan.date, -NOTICE_CALENDAR_DAYS))), 'mt-notice-due'));
  var checks = CHANNELS.map(function (c) {
    return h('label', { class: 'mt-check' }, [h('input', { type: 'checkbox', value: c, tid: 'mt-channel-' + c, checked: c === 'page' || c === 'print' }), ' ', tx('mt.channel.' + c)]);
  });
  var err = errBox('mt-notice-error');
  var days = h('div', { class: 'error small', tid: 'mt-notice-days', style: 'display:none' });
  var btn = h('button', { type: 'button', class: 'btn btn-primary', tid: 'mt-notice-submit', i18n: 'mt.notice.submit' });
  btn.addEventListener('click', function () {
    var channels = checks.map(function (l) { return l.querySelector('input'); }).filter(function (c) { return c.checked; }).map(function (c) { return c.value; });
    btn.disabled = true;
    showError(err, null);
    api('POST', mPath(m.id, '/notice'), { channels: channels }).then(function (x) { btn.disabled = false; reload(x); },
      function (e) { btn.disabled = false; noticeRefusal(err, days, e, m, ctx.today); });
  });
  box.appendChild(h('div', { class: 'mt-checks' }, checks));
  box.appendChild(err);
  box.appendChild(days);
  box.appendChild(h('div', { class: 'form-actions' }, [btn]));
  return box;
}

function invitationsBox(m, ctx, reload) {
  var districts = {};
  ctx.beats.beats.forEach(function (b) {
    if (m.plan.beats.indexOf(b.beat.code) < 0) return;
    ctx.beats.offices.forEach(function (o) { if (o.code === b.beat.office) districts[o.district] = true; });
  });
  var list = (ctx.beats.invitees || []).filter(function (i) {
    return !i.districts || !i.districts.length || i.districts.some(function (d) { return districts[d]; });
  });
  var err = errBox('mt-invitation-error');
  var open = m.stage !== 'cancelled';
  return h('div', { class: 'box mt-invitations', tid: 'mt-invitations' }, [
    h('div', { class: 'section-title', i18n: 'mt.invitations' }), err,
    h('table', { class: 'tbl compact' }, [
      h('thead', null, h('tr', null, ['mt.invitee', 'mt.invitation.state'].map(function (k) { return h('th', { i18n: k }); }))),
      h('tbody', null, list.map(function (i) {
        var cur = m.invitations[i.code] ? m.invitations[i.code].state : 'pending';
        var sel = h('select', { tid: 'mt-invitation-' + i.code, disabled: !open }, INVITATION_STATES.map(function (s) {
          return h('option', { value: s, i18n: 'mt.invitation.' + s, selected: s === cur });
        }));
        sel.addEventListener('change', function () {
          showError(err, null);
          api('POST', mPath(m.id, '/invitation'), { invitee: i.code, state: sel.value }).then(reload, function (e) { sel.value = cur; showError(err, e); });
        });
        return h('tr', { tid: 'mt-invitation-row', 'data-invitee': i.code, 'data-state': cur }, [h('td', null, h('span', { ref: i })), h('td', null, sel)]);
      }))])]);
}

function participantsBox(m, reload) {
  var box = h('div', { class: 'box mt-participants', tid: 'mt-participants' }, [
    h('div', { class: 'section-title' }, [tx('mt.participants'), ' ', dataText('(' + m.participants.length + ')', 'muted')])]);
  if (m.participants.length) {
    box.appendChild(h('table', { class: 'tbl compact' }, [
      h('thead', null, h('tr', null, ['mt.p.name', 'mt.p.address', 'mt.p.contact'].map(function (k) { return h('th', { i18n: k }); }))),
      h('tbody', null, m.participants.map(function (p) {
        return h('tr', { tid: 'mt-participant' }, [h('td', null, dataText(p.name)), h('td', null, dataText(p.address)), h('td', null, dataText(p.contact))]);
      }))]));
  }
  var signed = m.signatures.length && !m.correcting;
  if ((m.stage !== 'noticed' && m.stage !== 'held') || signed) return box;
  var name = h('input', { type: 'text', tid: 'mt-p-name', maxlength: '300' });
  var address = h('input', { type: 'text', tid: 'mt-p-address', maxlength: '300' });
  var contact = h('input', { type: 'text', tid: 'mt-p-contact', maxlength: '300' });
  var consent = h('input', { type: 'checkbox', tid: 'mt-p-consent' });
  var err = errBox('mt-p-error');
  var btn = h('button', { type: 'submit', class: 'btn', tid: 'mt-p-submit', i18n: 'mt.p.submit' });
  var form = h('form', { class: 'mt-p-form', tid: 'mt-p-form', autocomplete: 'off' }, [
    h('div', { class: 'form-grid' }, [fld('mt.p.name', name), fld('mt.p.address', address), fld('mt.p.contact', contact)]),
    h('label', { class: 'mt-check' }, [consent, ' ', tx('mt.p.consent')]), err, h('div', { class: 'form-actions' }, [btn])]);
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    btn.disabled = true;
    showError(err, null);
    api('POST', mPath(m.id, '/participants'), { name: name.value.trim(), address: address.value.trim(), contact: contact.value.trim(), consent: consent.checked })
      .then(function (x) { btn.disabled = false; reload(x); }, function (e) { btn.disabled = false; showError(err, e); });
  });
  box.appendChild(form);
  return box;
}

function recordingsBox(m, rel, reload) {
  var box = h('div', { class: 'box mt-recordings', tid: 'mt-recordings' }, h('div', { class: 'section-title', i18n: 'mt.recordings' }));
  var video = h('video', { controls: true, class: 'mt-video', tid: 'mt-video', style: 'display:none;max-width:100%' });
  m.recordings.forEach(function (r) {
    var play = h('button', { type: 'button', class: 'btn btn-sm', tid: 'mt-recording-play', i18n: 'mt.recording.play' });
    var err = errBox(null);
    play.addEventListener('click', function () {
      fetchFile(mPath(m.id, '/recordings/' + encodeURIComponent(r.id))).then(function (blob) {
        if (video.src) URL.revokeObjectURL(video.src);
        video.src = URL.createObjectURL(blob);
        video.style.display = '';
      }, function (e) { showError(err, e); });
    });
    box.appendChild(h('div', { class: 'row', tid: 'mt-recording', 'data-id': r.id }, [dataText(fmtDateTime(r.at_ms)), ' ',
      dataText(Math.max(1, Math.round(r.bytes / 1024)) + ' ', 'muted'), tx('mt.kib', 'muted'), ' ', play, err]));
  });
  box.appendChild(video);
  if (m.stage !== 'held' || rel !== 'inspector') return box;
  // The browser's own file button speaks the browser's language: a button of ours stands in.
  var file = h('input', { type: 'file', accept: 'video/webm,video/mp4', tid: 'mt-recording-file', style: 'display:none' });
  var chosen = dataText('', 'muted small');
  var pick = h('button', { type: 'button', class: 'btn', tid: 'mt-recording-pick', i18n: 'mt.recording.pick', onclick: function () { file.click(); } });
  file.addEventListener('change', function () { chosen.textContent = file.files && file.files[0] ? file.files[0].name : ''; });
  var err = errBox('mt-recording-error');
  var btn = h('button', { type: 'button', class: 'btn', tid: 'mt-recording-upload', i18n: 'mt.recording.upload' });
  act(btn, err, function () {
    var f = file.files && file.files[0];
    if (!f) return Promise.reject({ key: 'mt.recording.choose' });
    var headers = { 'Content-Type': f.type || 'application/octet-stream', 'X-Requested-With': 'fetch', 'Accept': 'application/json' };
    if (auth.token) headers.Authorization = 'Bearer ' + auth.token;
    return fetch(API_BASE + mPath(m.id, '/recordings'), { method: 'POST', headers: headers, body: f, credentials: 'same-origin' }).then(function (r) {
      return r.json().catch(function () { return null; }).then(function (d) {
        if (r.ok) return d;
        var e = new Error((d && d.message) || String(r.status));
        e.status = r.status; e.code = d && d.code; e.field = d && d.field;
        throw e;
      });
    }, function () { var e = new Error('network'); e.status = 0; e.code = 'network'; throw e; });
  }, reload);
  box.appendChild(h('div', { class: 'row' }, [file, pick, chosen, btn]));
  box.appendChild(err);
  return box;
}

function itemLine(it, participants) {
  var author = it.author ? participants.filter(function (p) { return p.id === it.author; })[0] : null;
  return [h('b', { i18n: 'mt.item.' + it.kind }), ': ', dataText(it.text),
    author ? h('span', { class: 'muted' }, [' — ', dataText(author.name)]) : null,
    it.answered_fully ? h('span', { class: 'chip ok small' }, tx('mt.item.answered_fully')) : null,
    it.outside_competence ? h('span', { class: 'chip small' }, [tx('mt.item.outside'), ': ', refName('external_bodies', it.outside_competence)]) : null];
}

function protocolBox(m, rel, reload) {
  var box = h('div', { class: 'box mt-protocol', tid: 'mt-protocol' });
  var last = m.signatures.length ? m.signatures[m.signatures.length - 1] : null;
  var locked = !!last && !m.correcting;
  box.setAttribute('data-locked', locked ? 'true' : 'false');
  box.appendChild(h('div', { class: 'row' }, [h('span', { class: 'section-title', i18n: 'mt.protocol' }),
    locked ? h('span', { class: 'chip ok', tid: 'mt-protocol-locked' }, [tx('mt.protocol.signed'), ' ', dataText('№' + last.version)]) : h('span', { class: 'chip', tid: 'mt-protocol-draft', i18n: m.correcting ? 'mt.protocol.correcting' : 'mt.protocol.draft' }),
    fileButton({ path: mPath(m.id, '/protocol.docx'), name: 'protocol-' + m.id + '.docx', tid: 'mt-protocol-docx', i18n: 'mt.protocol.docx' })]));
  m.signatures.forEach(function (s) {
    box.appendChild(h('div', { class: 'small', tid: 'mt-signature', 'data-version': String(s.version), 'data-on-time': s.on_time ? 'true' : 'false' }, [
      tx('mt.signature'), ' ', dataText('№' + s.version + ', ' + fmtDay(s.signed_on) + ', ' + s.by), ' ',
      h('span', { class: s.on_time ? 'muted' : 'error', i18n: s.on_time ? 'mt.signature.on_time' : 'mt.signature.late' }),
      s.correction_reason ? h('span', { class: 'muted' }, [' — ', tx('mt.correction.reason'), ': ', dataText(s.correction_reason)]) : null]));
  });
  if (locked) {
    var c = last.content;
    PROTOCOL_FIELDS.forEach(function (f) {
      box.appendChild(kv('mt.field.' + f, dataText(c.fields[f] || '', 'mt-text'), 'mt-signed-' + f));
    });
    box.appendChild(h('ul', { class: 'mt-items', tid: 'mt-signed-items' }, c.items.map(function (it) { return h('li', null, itemLine(it, m.participants)); })));
    if (m.unsigned_changes) box.appendChild(h('div', { class: 'warn small', tid: 'mt-unsigned-changes', i18n: 'mt.protocol.unsigned_changes' }));
    if (INSPECTING.indexOf(rel) >= 0) {
      var reason = h('input', { type: 'text', tid: 'mt-correction-reason', ph: 'mt.correction.reason' });
      var cerr = errBox('mt-correction-error');
      var cbtn = act(h('button', { type: 'button', class: 'btn btn-sm', tid: 'mt-correction', i18n: 'mt.correction.start' }), cerr,
        function () { return api('POST', mPath(m.id, '/correction'), { reason: reason.value.trim() }); }, reload);
      box.appendChild(h('div', { class: 'row' }, [reason, cbtn]));
      box.appendChild(cerr);
    }
    return box;
  }
  if (m.stage !== 'held') return box;
  var inputs = {};
  var grid = h('div', { class: 'mt-fields' });
  PROTOCOL_FIELDS.forEach(function (f) {
    inputs[f] = h('textarea', { tid: 'mt-field-' + f, rows: f === 'report' ? '4' : '3' });
    inputs[f].value = m.draft[f] || '';
    grid.appendChild(fld('mt.field.' + f, inputs[f], 'w2'));
  });
  var ferr = errBox('mt-protocol-error');
  var save = act(h('button', { type: 'button', class: 'btn', tid: 'mt-protocol-save', i18n: 'mt.protocol.save' }), ferr, function () {
    var fields = {};
    PROTOCOL_FIELDS.forEach(function (f) { fields[f] = inputs[f].value; });
    return api('POST', mPath(m.id, '/protocol'), { fields: fields });
  }, reload);
  box.appendChild(grid);
  box.appendChild(ferr);
  box.appendChild(h('div', { class: 'form-actions' }, [save]));
  // Complaints, proposals and remarks.
  box.appendChild(h('div', { class: 'section-title', i18n: 'mt.items' }));
  box.appendChild(h('ul', { class: 'mt-items', tid: 'mt-items' }, m.items.map(function (it) { return h('li', { tid: 'mt-item', 'data-id': it.id }, itemLine(it, m.participants)); })));
  var kind = h('select', { tid: 'mt-item-kind' }, ITEM_KINDS.map(function (k) { return h('option', { value: k, i18n: 'mt.item.' + k }); }));
  var author = h('select', { tid: 'mt-item-author' }, [h('option', { value: '', i18n: 'mt.item.no_author' })].concat(m.participants.map(function (p) { return h('option', { value: p.id, data: p.name }); })));
  var text = h('textarea', { tid: 'mt-item-text', rows: '2' });
  var answered = h('input', { type: 'checkbox', tid: 'mt-item-answered' });
  // The competent bodies of the region's reference (R25: the complaint is forwarded there).
  var outside = refSelect('external_bodies', 'mt-item-outside', '', 'mt.item.within');
  var ierr = errBox('mt-item-error');
  var add = act(h('button', { type: 'button', class: 'btn', tid: 'mt-item-add', i18n: 'mt.item.add' }), ierr, function () {
    var body = { kind: kind.value, text: text.value.trim(), answered_fully: answered.checked };
    if (author.value) body.author = author.value;
    if (outside.value) body.outside_competence = outside.value;
    return api('POST', mPath(m.id, '/items'), body);
  }, reload);
  box.appendChild(h('div', { class: 'form-grid' }, [fld('mt.item.kind', kind), fld('mt.item.author', author), fld('mt.item.text', text, 'w2'),
    fld('mt.item.outside', outside, 'w2')]));
  box.appendChild(h('label', { class: 'mt-check' }, [answered, ' ', tx('mt.item.answered_fully')]));
  box.appendChild(ierr);
  box.appendChild(h('div', { class: 'form-actions' }, [add]));
  if (rel === 'inspector') {
    var serr = errBox('mt-sign-error');
    var sign = act(h('button', { type: 'button', class: 'btn btn-primary', tid: 'mt-sign', i18n: 'mt.protocol.sign' }), serr, function () {
      // What is typed and not saved yet is saved first: the signature covers what the user sees.
      var fields = {};
      var changed = false;
      PROTOCOL_FIELDS.forEach(function (f) { fields[f] = inputs[f].value; if ((m.draft[f] || '') !== fields[f]) changed = true; });
      var first = changed ? api('POST', mPath(m.id, '/protocol'), { fields: fields }) : Promise.resolve(null);
      return first.then(function () { return api('POST', mPath(m.id, '/sign')); });
    }, reload);
    box.appendChild(h('div', { class: 'muted small', i18n: 'mt.protocol.sign_hint' }));
    box.appendChild(serr);
    box.appendChild(h('div', { class: 'form-actions' }, [sign]));
  }
  return box;
}

function followUpBox(m, reload) {
  var signed = m.signatures.length > 0;
  var items = m.items.filter(function (it) { return it.state !== 'answered'; });
  var box = h('div', { class: 'box mt-follow', tid: 'mt-follow' }, h('div', { class: 'section-title', i18n: 'mt.follow' }));
  if (!items.length) { box.appendChild(h('div', { class: 'muted small', i18n: 'mt.follow.none' })); return box; }
  items.forEach(function (it) {
    var row = h('div', { class: 'mt-follow-item', tid: 'mt-follow-item', 'data-id': it.id, 'data-state': it.state }, [
      h('div', null, itemLine(it, m.participants)),
      h('div', null, [tx('mt.item.state'), ': ', h('span', { class: 'chip', tid: 'mt-item-state', i18n: 'mt.item.state.' + it.state })])]);
    it.follow_up.forEach(function (f) {
      var what = f.step === 'checking' ? dataText(f.note || '') : f.step === 'closed' ? dataText(f.result || '')
        : h('span', { tid: 'mt-forwarded', 'data-appeal': f.appeal }, [refName('external_bodies', f.body), ' · ', tx('mt.forward.appeal'), ' ',
          dataText(f.appeal, 'mono'), ' · ', tx(f.author_notified ? 'mt.forward.notified' : 'mt.forward.not_notified')]);
      row.appendChild(h('div', { class: 'small muted' }, [dataText(fmtDateTime(f.at_ms) + ' '), tx('mt.item.state.' + f.step), ': ', what]));
    });
    if (signed && it.state !== 'closed') {
      var note = h('input', { type: 'text', tid: 'mt-follow-text', ph: 'mt.follow.text' });
      var err = errBox('mt-follow-error');
      var step = function (st) {
        return function () {
          var s = st === 'checking' ? { step: 'checking', note: note.value.trim() } : { step: 'closed', result: note.value.trim() };
          return api('POST', mPath(m.id, '/follow-up'), { item: it.id, step: s });
        };
      };
      // Outside the police's competence (R25): a real appeal forwarded through the appeals
      // workflow, its author told by its answer.
      var forward = it.outside_competence && it.state !== 'forwarded'
        ? act(h('button', { type: 'button', class: 'btn btn-sm', tid: 'mt-follow-forward', i18n: 'mt.follow.forward' }), err, function () {
          return api('POST', mPath(m.id, '/items/' + encodeURIComponent(it.id) + '/forward'));
        }, reload)
        : null;
      row.appendChild(h('div', { class: 'row' }, [note,
        it.state === 'open' ? act(h('button', { type: 'button', class: 'btn btn-sm', tid: 'mt-follow-checking', i18n: 'mt.follow.checking' }), err, step('checking'), reload) : null,
        forward,
        act(h('button', { type: 'button', class: 'btn btn-sm btn-primary', tid: 'mt-follow-close', i18n: 'mt.follow.close' }), err, step('closed'), reload)]));
      row.appendChild(err);
    }
    box.appendChild(row);
  });
  if (!signed) box.appendChild(h('div', { class: 'muted small', i18n: 'mt.follow.after_sign' }));
  return box;
}

/** A meeting's detail: every step the caller's relation allows. `onChanged` after each step. */
function meetingDetail(id, ctx, onChanged) {
  var box = h('div', { class: 'mt-detail', tid: 'mt-detail', 'data-id': id }, tx('loading'));
  function relationTo(m) {
    var order = ['inspector', 'helper', 'office_head', 'region_head'];
    var best = null;
    ctx.beats.beats.forEach(function (b) {
      if (m.plan.beats.indexOf(b.beat.code) >= 0 && (best === null || order.indexOf(b.relation) < order.indexOf(best))) best = b.relation;
    });
    return best;
  }
  function reload(m) { render(m); onChanged(); }
  function render(m) {
    clear(box);
    var rel = relationTo(m);
    box.setAttribute('data-stage', m.stage);
    box.setAttribute('data-log', String(m.log.length)); // grows with every step taken
    var p = m.plan;
    var head = h('div', { class: 'box mt-head' }, [
      h('div', { class: 'row' }, [h('span', { class: 'section-title', i18n: 'mt.meeting' }), stageChip(m.stage),
        fileButton({ path: mPath(m.id, '/report.docx'), name: 'report-' + m.id + '.docx', tid: 'mt-report-docx', i18n: 'mt.report.docx' })]),
      kv('mt.when', [day(p.date), ' ', dataText(p.time)], 'mt-when'),
      kv('mt.format', tx('mt.format.' + p.format)),
      kv('mt.place', place(p)),
      p.link ? kv('mt.link', dataText(p.link, 'mono')) : null,
      kv('mt.beats', h('span', null, p.beats.map(function (b, i) { return h('span', null, [i ? ', ' : '', dataText(b, 'mono')]); }))),
      p.beats.length > 1 ? h('div', { class: 'muted small', i18n: 'mt.joint' }) : null,
      m.cancelled ? kv('mt.cancelled', dataText(m.cancelled)) : null]);
    box.appendChild(head);
    if (m.stage !== 'cancelled') box.appendChild(noticeBox(m, ctx, reload));
    box.appendChild(invitationsBox(m, ctx, reload));
    if (m.stage === 'noticed' || m.stage === 'held') box.appendChild(participantsBox(m, reload));
    if (m.stage === 'noticed' && INSPECTING.indexOf(rel) >= 0) {
      var herr = errBox('mt-held-error');
      box.appendChild(h('div', { class: 'box' }, [h('div', { class: 'muted small', i18n: 'mt.held.hint' }), herr,
        h('div', { class: 'form-actions' }, [act(h('button', { type: 'button', class: 'btn btn-primary', tid: 'mt-held', i18n: 'mt.held.submit' }), herr,
          function () { return api('POST', mPath(m.id, '/held')); }, reload)])]));
    }
    if (m.stage === 'held') {
      box.appendChild(recordingsBox(m, rel, reload));
      box.appendChild(protocolBox(m, rel, reload));
      box.appendChild(followUpBox(m, reload));
    }
    applyLang(box);
  }
  api('GET', mPath(id)).then(render, function (e) { clear(box); showError(box.appendChild(h('div', { class: 'error' })), e); });
  return box;
}

function meetingsTable(list, onOpen, tid) {
  if (!list.length) return h('div', { class: 'muted small', tid: tid + '-empty', i18n: 'mt.meetings.none' });
  return h('table', { class: 'tbl compact', tid: tid }, [
    h('thead', null, h('tr', null, ['mt.when', 'mt.format', 'mt.place', 'mt.stage', 'mt.participants', 'mt.open_items'].map(function (k) { return h('th', { i18n: k }); }))),
    h('tbody', null, list.map(function (s) {
      return h('tr', { class: 'clickable', tid: 'mt-row', 'data-id': s.id, 'data-stage': s.stage, onclick: function () { onOpen(s.id); } }, [
        h('td', null, [day(s.date), ' ', dataText(s.time)]), h('td', { i18n: 'mt.format.' + s.format }), h('td', null, place(s)),
        h('td', null, [stageChip(s.stage, 'mt-row-stage'), s.signed ? h('span', { class: 'chip ok small', i18n: 'mt.protocol.signed' }) : null]),
        h('td', null, dataText(String(s.participants))), h('td', null, dataText(String(s.open_items)))]);
    }))]);
}

/* ------------------------------------------------------------------ the inspector's view */

export function MeetingsView(panel) {
  var ctx = null;
  var beat = null;
  var left = h('div', { class: 'mt-left' });
  var right = h('div', { class: 'mt-right' });
  panel.appendChild(h('div', { class: 'rc-desk mt-desk' }, [left, right]));
  function open(id) { clear(right).appendChild(meetingDetail(id, ctx, refresh)); }
  function refresh() {
    return Promise.all([meetingBeats(), loadCoverage(null)]).then(function (r) {
      ctx = { beats: r[0], coverage: r[1], today: r[1].today };
      var mine = ctx.beats.beats.filter(function (b) { return INSPECTING.indexOf(b.relation) >= 0; });
      if (!beat || !mine.some(function (b) { return b.beat.code === beat; })) beat = mine.length ? mine[0].beat.code : null;
      clear(left);
      if (ctx.beats.sample) left.appendChild(h('div', { class: 'warn small', tid: 'mt-sample', i18n: 'mt.sample' }));
      if (!beat) { left.appendChild(h('div', { class: 'empty-state', i18n: 'mt.no_beats' })); applyLang(left); return; }
      var sel = h('select', { tid: 'mt-beat' }, mine.map(function (b) { return h('option', { value: b.beat.code, ref: b.beat, selected: b.beat.code === beat }); }));
      sel.addEventListener('change', function () { beat = sel.value; clear(right); refresh(); });
      var cov = ctx.coverage.beats.filter(function (c) { return c.beat === beat; })[0];
      var top = h('div', { class: 'box mt-beat', tid: 'mt-beat-box', 'data-beat': beat }, [
        h('div', { class: 'row' }, [h('span', { class: 'section-title', i18n: 'mt.my_beat' }), mine.length > 1 ? sel : h('span', { ref: mine[0].beat })]),
        kv('mt.quarter', [dataText(ctx.coverage.quarter.split('-Q')[0] + ', '), tx('mt.q.' + ctx.coverage.quarter.split('-Q')[1])], 'mt-quarter'),
        cov ? kv('mt.coverage', coverageChip(cov.coverage)) : null,
        cov && cov.warning ? h('div', { class: 'error', tid: 'mt-warning', role: 'alert', i18n: 'mt.warning.' + cov.coverage.state }) : null]);
      left.appendChild(top);
      left.appendChild(h('div', { class: 'box' }, [h('div', { class: 'section-title', i18n: 'mt.meetings' }), meetingsTable(cov ? cov.meetings : [], open, 'mt-meetings')]));
      left.appendChild(planForm(ctx, beat, ctx.today, function (m) { refresh(); open(m.id); }));
      applyLang(left);
    }, function (e) { clear(left); showError(left.appendChild(h('div', { class: 'error' })), e); });
  }
  var shown = false;
  return { onShow: function () { if (!shown) { shown = true; left.appendChild(tx('loading')); } refresh(); } };
}

/* ------------------------------------------------------------------ the beat office's head */

export function MeetingsControlView(panel) {
  var ctx = null;
  var now = new Date();
  var year = h('input', { type: 'number', tid: 'mc-year', min: '2000', max: '9998', value: String(now.getFullYear()), class: 'rp-year' });
  var quarter = h('select', { tid: 'mc-quarter' }, [1, 2, 3, 4].map(function (q) { return h('option', { value: String(q), i18n: 'mt.q.' + q }); }));
  quarter.value = String(Math.floor(now.getMonth() / 3) + 1);
  var err = errBox('mc-error');
  var body = h('div', { class: 'mc-body' });
  var right = h('div', { class: 'mt-right' });
  var form = h('form', { class: 'box row', tid: 'mc-form' }, [h('span', { class: 'section-title', i18n: 'mc.title' }),
    h('label', { i18n: 'rp.year' }), year, h('label', { i18n: 'mt.quarter' }), quarter,
    h('button', { type: 'submit', class: 'btn btn-primary', tid: 'mc-show', i18n: 'rp.show' })]);
  form.addEventListener('submit', function (ev) { ev.preventDefault(); load(year.value + '-Q' + quarter.value); });
  panel.appendChild(h('div', { class: 'rc-desk mt-desk' }, [h('div', { class: 'mt-left' }, [form, err, body]), right]));
  function open(id) { clear(right).appendChild(meetingDetail(id, ctx, function () { load(ctx.coverage.quarter); })); }

  function render() {
    var c = ctx.coverage;
    clear(body);
    var without = c.beats.filter(function (b) { return b.coverage.state !== 'held'; });
    body.appendChild(h('div', { class: 'box' }, [h('div', { class: 'section-title' }, [tx('mc.without'), ' ', dataText('(' + without.length + ')', 'muted')]),
      without.length ? h('table', { class: 'tbl compact', tid: 'mc-without' }, [
        h('thead', null, h('tr', null, ['mt.beat', 'mt.inspector', 'mt.coverage'].map(function (k) { return h('th', { i18n: k }); }))),
        h('tbody', null, without.map(function (b) {
          return h('tr', { tid: 'mc-beat', 'data-beat': b.beat, 'data-warning': b.warning ? 'true' : 'false', class: b.warning ? 'mt-warn-row' : '' }, [
            h('td', null, [beatName(b), ' ', dataText(b.beat, 'muted mono small')]), h('td', null, dataText(b.inspector, 'mono')),
            h('td', null, [coverageChip(b.coverage, 'mc-coverage'), b.warning ? h('div', { class: 'error small', i18n: 'mt.warning.' + b.coverage.state }) : null])]);
        }))]) : h('div', { class: 'muted small', tid: 'mc-without-none', i18n: 'mc.without.none' })]));
    body.appendChild(h('div', { class: 'box' }, [h('div', { class: 'section-title' }, [tx('mc.overdue'), ' ', dataText('(' + c.overdue_protocols.length + ')', 'muted')]),
      h('div', { class: 'muted small', i18n: 'mc.overdue.hint' }),
      c.overdue_protocols.length ? meetingsTable(c.overdue_protocols, open, 'mc-overdue') : h('div', { class: 'muted small', tid: 'mc-overdue-none', i18n: 'mc.overdue.none' })]));
    body.appendChild(h('div', { class: 'box' }, [h('div', { class: 'section-title' }, [tx('mc.open_items'), ' ', dataText('(' + c.open_items.length + ')', 'muted')]),
      c.open_items.length ? h('table', { class: 'tbl compact', tid: 'mc-open-items' }, [
        h('thead', null, h('tr', null, ['mt.when', 'mt.beats', 'mt.item.kind', 'mt.item.text', 'mt.item.state'].map(function (k) { return h('th', { i18n: k }); }))),
        h('tbody', null, c.open_items.map(function (it) {
          return h('tr', { class: 'clickable', tid: 'mc-item', 'data-meeting': it.meeting, 'data-state': it.state, onclick: function () { open(it.meeting); } }, [
            h('td', null, day(it.date)), h('td', null, dataText(it.beats.join(', '), 'mono')), h('td', { i18n: 'mt.item.' + it.kind }),
            h('td', null, [dataText(it.text), it.outside_competence ? h('div', { class: 'muted small' }, [tx('mt.item.outside'), ': ', refName('external_bodies', it.outside_competence)]) : null]),
            h('td', { i18n: 'mt.item.state.' + it.state })]);
        }))]) : h('div', { class: 'muted small', tid: 'mc-open-items-none', i18n: 'mc.open_items.none' })]));
    applyLang(body);
  }
  function load(q) {
    showError(err, null);
    Promise.all([meetingBeats(), loadCoverage(q)]).then(function (r) {
      ctx = { beats: r[0], coverage: r[1], today: r[1].today };
      var p = r[1].quarter.split('-Q');
      year.value = p[0];
      quarter.value = p[1];
      render();
    }, function (e) { showError(err, e); });
  }
  var shown = false;
  return { onShow: function () { if (!shown) { shown = true; load(null); } else if (ctx) load(ctx.coverage.quarter); } };
}
