/* The responsible manager's tab (R11, R16; also the head's): the deadline board of the service
   (GET /appeals/board: overdue first, then near, with the days left), the appeals routed to the
   service waiting for an officer, and the drafts waiting for approval. An opened appeal offers:
   assign an officer, redirect to another service (R13), split into parts (R29, `…/1`), crime signs
   and the КУИ number (R14, due 24 h after registration), approve or return a draft (with a preview
   of draft.docx), and — the head only — an extension (until, reason) and then "the applicant was
   told" (the notice within 3 working days).

   Officers for the assignment: GET /appeals/officers (the manager's service; every service for
   the head), offered by name; the appeal's own service first. */
import { S, fmtDateTime, hasRole } from '../state.js';
import {
  AppealDetail, AppealList, OFFICER_NAMES, actGroup, apPath, fileButton, fileStem, fmtDay, refSelect, suggestionsOf, whenMs
} from './appeal_detail.js';
import { api, showError } from '../../kit/api.js';
import { h, tx } from '../../kit/dom.js';
import { applyLang } from '../../kit/i18n.js';

var OPEN_FOR_OFFICER = ['routed', 'in_work'];

export function ManagerAppealsView(panel) {
  var officers = { list: null, error: null };
  var detail = AppealDetail({ hint: 'ap.mgr.hint', actions: actions, onChange: reloadLists });
  function pick(s) { detail.show(s.id); }
  var board = AppealList('ap-board', 'ap.board.title', '/appeals/board', pick);
  var incoming = AppealList('ap-mgr-incoming', 'ap.mgr.incoming', '/appeals?status=routed&limit=200', pick);
  var approval = AppealList('ap-mgr-approval', 'ap.mgr.approval', '/appeals?status=on_approval&limit=200', pick);
  var legend = h('div', { class: 'small muted ap-legend' }, [
    h('span', { class: 'ap-dl ap-dl-overdue', i18n: 'ap.dl.state.overdue' }), ' ',
    h('span', { class: 'ap-dl ap-dl-near', i18n: 'ap.dl.state.near' }), ' ',
    h('span', { class: 'ap-dl ap-dl-ok', i18n: 'ap.dl.state.ok' }), ' ', tx('ap.dl.legend')]);
  panel.appendChild(h('div', { class: 'layout-2 ap-layout' }, [
    h('div', { class: 'col' }, [incoming.el, approval.el, board.el, legend]),
    h('div', { class: 'col col-side' }, [detail.el])
  ]));

  function reloadLists() {
    return loadOfficers().then(function (changed) {
      // The open appeal's assignment list and names follow a changed list of officers.
      if (changed && detail.appeal) detail.set(detail.appeal);
      return Promise.all([board.load(), incoming.load(), approval.load()]);
    });
  }
  /* The officers this account may assign (asked again with the lists: an account added or
     disabled shows at the next refresh); their names label the lists and the detail. */
  function loadOfficers() {
    return api('GET', '/appeals/officers').then(function (list) {
      var before = JSON.stringify(officers.list);
      officers.list = list || [];
      officers.error = null;
      officers.list.forEach(function (u) { OFFICER_NAMES[u.login] = u.full_name; });
      return before !== JSON.stringify(officers.list);
    }, function (e) { officers.error = e; return false; });
  }

  function actions(x) {
    var a = x.a, out = [];
    if (OPEN_FOR_OFFICER.indexOf(a.status) >= 0) {
      out.push(assign(x));
      out.push(route(x));
      out.push(split(x));
    }
    if (a.status === 'on_approval') out.push(approve(x));
    if (['registered', 'routed', 'in_work', 'on_approval'].indexOf(a.status) >= 0) out.push(crime(x));
    if (hasRole('head') && ['routed', 'in_work', 'on_approval'].indexOf(a.status) >= 0) out.push(extend(x));
    var unsent = (a.extensions || []).filter(function (e) { return !e.notice_sent_at; });
    if (unsent.length && (hasRole('head') || hasRole('appeal_manager'))) out.push(notice(x));
    return out;
  }

  /* The officers of the appeal's service (the head also sees the other services' officers, after them). */
  function assign(x) {
    var a = x.a;
    var all = officers.list || [];
    var own = all.filter(function (u) { return u.service === a.service; });
    var others = all.filter(function (u) { return u.service !== a.service; });
    var opt = function (u) { return h('option', { value: u.login, data: u.full_name + ' (' + u.login + ')' }); };
    var input = h('select', { tid: 'ap-assign-officer' }, [h('option', { value: '', i18n: 'ap.assign.pick' })].concat(own.map(opt)));
    others.forEach(function (u) { input.appendChild(opt(u)); });
    if (a.officer) input.value = a.officer;
    else if (own.length === 1) input.value = own[0].login;
    var err = h('div', { class: 'error', style: 'display:none', role: 'alert' });
    if (officers.error) showError(err, officers.error);
    var btn = h('button', { type: 'button', class: 'btn btn-primary btn-sm', tid: 'ap-assign', i18n: a.officer ? 'ap.reassign' : 'ap.assign' });
    btn.addEventListener('click', function () {
      if (!input.value) { input.focus(); return; }
      x.run(btn, x.post('/assign', function () { return { officer: input.value }; }), 'ap.saved');
    });
    return actGroup('ap.assign.title', [
      officers.list && !all.length ? h('div', { class: 'small ap-warn', tid: 'ap-assign-none', i18n: 'ap.assign.none' }) : null,
      err, h('div', { class: 'row' }, [input, btn])], 'ap-assign-group');
  }

  function route(x) {
    var svc = refSelect('services', 'ap-route-service', '', 'not_selected');
    var reason = h('input', { type: 'text', tid: 'ap-route-reason', ph: 'ap.route.reason.ph' });
    var btn = h('button', { type: 'button', class: 'btn btn-sm', tid: 'ap-route', i18n: 'ap.route' });
    btn.addEventListener('click', function () {
      if (!svc.value) { svc.focus(); return; }
      x.run(btn, x.post('/route', function () { return { service: svc.value, reason: reason.value.trim() }; }), 'ap.saved');
    });
    return actGroup('ap.route.title', [h('div', { class: 'row' }, [svc]), h('div', { class: 'row' }, [reason, btn])], 'ap-route-group');
  }

  /* R29: the questions outside competence, each to a body; the parts get `…/1`, `…/2`. */
  function split(x) {
    var rows = h('div', { class: 'ap-split-rows' });
    var bodies = (S.ref && S.ref.external_bodies) || [];
    function addRow() {
      var q = h('input', { type: 'text', tid: 'ap-split-question', ph: 'ap.split.question.ph' });
      var b = bodies.length ? refSelect('external_bodies', 'ap-split-body', '', 'ap.split.body')
        : h('input', { type: 'text', tid: 'ap-split-body', ph: 'ap.split.body' });
      var n = (x.a.parts || []).length + rows.children.length + 1;
      rows.appendChild(h('div', { class: 'row ap-split-row' }, [h('span', { class: 'mono', data: (x.a.number || '') + '/' + n }), q, b]));
      applyLang(rows);
    }
    addRow();
    if (bodies.length) {
      suggestionsOf(x.a.id).then(function (sg) {
        var first = rows.querySelector('select');
        if (sg && sg.outside_body && first && !first.value) {
          first.value = sg.outside_body;
          hint.hidden = false;
        }
      }, function () { /* no suggestion: nothing preselected */ });
    }
    var hint = h('div', { class: 'small ap-sugg', tid: 'ap-sugg-body', i18n: 'ap.sugg.body', hidden: true });
    var more = h('button', { type: 'button', class: 'btn btn-xs btn-ghost', tid: 'ap-split-add', i18n: 'ap.split.add', onclick: addRow });
    var btn = h('button', { type: 'button', class: 'btn btn-sm', tid: 'ap-split', i18n: 'ap.split' });
    btn.addEventListener('click', function () {
      var parts = Array.prototype.map.call(rows.children, function (r) {
        var f = r.querySelectorAll('input, select');
        return { question: f[0].value.trim(), body: f[1].value.trim() };
      }).filter(function (p) { return p.question && p.body; });
      if (!parts.length) return;
      x.run(btn, x.post('/split', { parts: parts }), 'ap.saved');
    });
    return actGroup('ap.split.title', [h('div', { class: 'small muted', i18n: 'ap.split.hint' }), hint, rows, h('div', { class: 'form-actions' }, [more, btn])], 'ap-split-group');
  }

  function crime(x) {
    var a = x.a, kids = [];
    var reason = h('input', { type: 'text', tid: 'ap-crime-reason', ph: 'ap.reason' });
    var flagBtn = h('button', { type: 'button', class: 'btn btn-sm ' + (a.crime_signs ? 'btn-ghost' : 'btn-danger'), tid: 'ap-crime-toggle',
      i18n: a.crime_signs ? 'ap.crime.unset' : 'ap.crime.set' });
    flagBtn.addEventListener('click', function () {
      x.run(flagBtn, x.post('/crime-signs', function () { return { flag: !a.crime_signs, reason: reason.value.trim() }; }), 'ap.saved');
    });
    if (!a.crime_signs) {
      var sugg = h('div', { class: 'ap-warn small', tid: 'ap-sugg-crime', i18n: 'ap.sugg.crime', hidden: true });
      suggestionsOf(a.id).then(function (sg) { sugg.hidden = !(sg && sg.crime_signs); }, function () { /* none shown */ });
      kids.push(sugg);
    }
    kids.push(h('div', { class: 'row' }, [reason, flagBtn]));
    if (a.crime_signs && !a.kui) {
      var late = a.kui_due_at && whenMs(a.kui_due_at) < Date.now();
      var num = h('input', { type: 'text', tid: 'ap-kui-number', ph: 'act.kui.ph', inputmode: 'numeric' });
      var kb = h('button', { type: 'button', class: 'btn btn-sm btn-primary', tid: 'ap-kui', i18n: 'ap.kui.register' });
      kb.addEventListener('click', function () {
        if (!num.value.trim()) { num.focus(); return; }
        x.run(kb, x.post('/kui', function () { return { number: num.value.trim() }; }), 'ap.saved');
      });
      kids.push(h('div', { class: late ? 'ap-overdue' : 'ap-warn', tid: 'ap-kui-due-at' }, [tx('ap.kui.due'), ' ', fmtDateTime(whenMs(a.kui_due_at))]));
      kids.push(h('div', { class: 'row' }, [num, kb]));
    }
    return actGroup('ap.crime.title', kids, 'ap-crime-group');
  }

  function approve(x) {
    var ok = h('button', { type: 'button', class: 'btn btn-sm btn-ok', tid: 'ap-approve', i18n: 'ap.approve' });
    ok.addEventListener('click', function () { x.run(ok, x.post('/approve'), 'ap.approved.ok'); });
    var reason = h('input', { type: 'text', tid: 'ap-return-reason', ph: 'ap.return.ph' });
    var back = h('button', { type: 'button', class: 'btn btn-sm', tid: 'ap-return', i18n: 'ap.return' });
    back.addEventListener('click', function () {
      if (!reason.value.trim()) { reason.focus(); return; }
      x.run(back, x.post('/return', function () { return { reason: reason.value.trim() }; }), 'ap.saved');
    });
    return actGroup('ap.approve.title', [
      h('div', { class: 'row' }, [fileButton({ path: apPath(x.a.id, '/draft.docx'), name: fileStem(x.a) + '-draft.docx', tid: 'ap-draft-preview',
        cls: 'btn btn-sm btn-ghost', i18n: 'ap.draft.preview' }), ok]),
      h('div', { class: 'row' }, [reason, back])], 'ap-approve-group');
  }

  /* The head: extension up to 2 months in all (the server checks), with a reasoned decision. */
  function extend(x) {
    var until = h('input', { type: 'date', tid: 'ap-extend-until' });
    var reason = h('input', { type: 'text', tid: 'ap-extend-reason', ph: 'ap.extend.reason.ph' });
    var btn = h('button', { type: 'button', class: 'btn btn-sm', tid: 'ap-extend', i18n: 'ap.extend' });
    btn.addEventListener('click', function () {
      if (!until.value) { until.focus(); return; }
      if (!reason.value.trim()) { reason.focus(); return; }
      x.run(btn, x.post('/extend', function () { return { until: until.value, reason: reason.value.trim() }; }), 'ap.saved');
    });
    return actGroup('ap.extend.title', [h('div', { class: 'small muted', i18n: 'ap.extend.hint' }),
      h('div', { class: 'row' }, [tx('ap.until'), until]), h('div', { class: 'row' }, [reason, btn])], 'ap-extend-group');
  }

  function notice(x) {
    var e = (x.a.extensions || []).filter(function (n) { return !n.notice_sent_at; })[0];
    var btn = h('button', { type: 'button', class: 'btn btn-sm btn-primary', tid: 'ap-notice', i18n: 'ap.notice.mark' });
    btn.addEventListener('click', function () { x.run(btn, x.post('/extension-notice'), 'ap.saved'); });
    return actGroup('ap.notice.title', [h('div', { class: 'small' }, [tx('ap.notice.due'), ' ', fmtDay(e.notice_due)]), h('div', { class: 'row' }, [btn])], 'ap-notice-group');
  }

  function load() { reloadLists(); if (detail.id) detail.reload(); }
  load();
  return { onShow: load };
}
