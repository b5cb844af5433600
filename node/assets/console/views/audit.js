/* The audit viewer of the supervisor's tab: who did and who viewed what (GET /audit), filtered by
   person, action, target and time, newest first, page by page (before_seq; the server names where
   the next page starts in X-Audit-Next-Before). Actions are dotted codes rendered through the
   dictionary (audit.action.<code>); an unknown code shows a generic text and the code itself. */
import { fmtDateTime } from '../state.js';
import { apiResponse, showError } from '../../kit/api.js';
import { clear, h, tx } from '../../kit/dom.js';
import { known } from '../../kit/i18n.js';

/* Entries asked for per page. */
var AUDIT_PAGE_ENTRIES = 50;
/* Action codes the node records, offered in the filter (the list accepts any code). */
export var AUDIT_ACTIONS = [
  'card.create', 'card.read', 'card.edit', 'card.send_for_processing', 'card.dispatch', 'card.dispatch_dsog',
  'card.unit_en_route', 'card.unit_on_scene', 'card.unit_clear', 'card.unit_unassign', 'card.report', 'card.note',
  'card.close', 'card.cancel', 'card.link_duplicate', 'card.forward', 'card.kui_register', 'card.callback',
  'card.callback_due', 'card.hq_note', 'card.search', 'card.related', 'card.duplicates',
  'call.ring', 'call.accept', 'call.transfer', 'call.end', 'call.abandon', 'call.card', 'call.callback', 'call.read',
  'recording.play', 'recording.export', 'recording.hold', 'recording.expire', 'warnings.shown', 'warnings.import',
  'unit.create', 'unit.duty', 'roster.add',
  'account.login', 'account.login_failed', 'account.logout', 'account.create', 'account.update', 'account.delete',
  'account.unlock', 'account.unit', 'account.password_changed', 'account.password_change_failed', 'account.throttled',
  'session.purge_expired', 'reference.publish', 'replication.import'
];

/** The action's text in the user's language; an unknown code: a generic text and the code. */
export function actionLabel(code) {
  var key = 'audit.action.' + code;
  if (known(key)) return h('span', { class: 'audit-action', 'data-action': code, i18n: key });
  return h('span', { class: 'audit-action', 'data-action': code }, [
    tx('audit.action.unknown'), ' ', h('span', { class: 'muted', translate: 'no', text: code })
  ]);
}

/* GET /audit: a page of entries, and where the next one starts (X-Audit-Next-Before). */
function auditPage(params) {
  return apiResponse('GET', '/audit?' + params).then(function (res) {
    return { entries: res.data || [], next: res.headers.get('X-Audit-Next-Before') };
  });
}

/* Local date (and time) inputs to ms since the epoch; NaN when empty. */
function localMs(dateIn, timeIn, endOfDay) {
  if (!dateIn.value) return NaN;
  var d = dateIn.value.split('-').map(Number);
  var tm = timeIn.value ? timeIn.value.split(':').map(Number) : (endOfDay ? [24, 0] : [0, 0]);
  return new Date(d[0], d[1] - 1, d[2], tm[0], tm[1]).getTime();
}

export function AuditBox() {
  var actor = h('input', { type: 'search', id: 'audit-actor', tid: 'audit-actor', autocomplete: 'off', ph: 'sup.audit.actor.ph' });
  var action = h('select', { id: 'audit-action', tid: 'audit-action' }, [h('option', { value: '', i18n: 'sup.audit.any_action' })].concat(
    AUDIT_ACTIONS.map(function (code) { return h('option', { value: code, i18n: 'audit.action.' + code }); })));
  var target = h('input', { type: 'search', id: 'audit-target', tid: 'audit-target', autocomplete: 'off', ph: 'sup.audit.target.ph' });
  var fromD = h('input', { type: 'date', id: 'audit-from', tid: 'audit-from' });
  var fromT = h('input', { type: 'time', tid: 'audit-from-time' });
  var toD = h('input', { type: 'date', id: 'audit-to', tid: 'audit-to' });
  var toT = h('input', { type: 'time', tid: 'audit-to-time' });
  var findBtn = h('button', { type: 'submit', class: 'btn btn-primary', tid: 'audit-find', i18n: 'sup.audit.find' });
  var resetBtn = h('button', { type: 'button', class: 'btn', tid: 'audit-reset', i18n: 'sup.audit.reset' });
  var moreBtn = h('button', { type: 'button', class: 'btn', tid: 'audit-more', i18n: 'sup.audit.more', style: 'display:none' });
  var err = h('div', { class: 'error', tid: 'audit-error', style: 'display:none', role: 'alert' });
  var body = h('tbody', { tid: 'audit-rows' });
  var empty = h('div', { class: 'muted', tid: 'audit-empty', i18n: 'sup.audit.none', style: 'display:none' });
  var form = h('form', { class: 'sup-audit-form', tid: 'audit-form', autocomplete: 'off' }, [
    h('div', { class: 'form-grid' }, [
      h('div', { class: 'fld' }, [h('label', { for: 'audit-actor', i18n: 'sup.audit.actor' }), actor]),
      h('div', { class: 'fld' }, [h('label', { for: 'audit-action', i18n: 'sup.audit.action' }), action]),
      h('div', { class: 'fld' }, [h('label', { for: 'audit-target', i18n: 'sup.audit.target' }), target]),
      h('div', { class: 'fld' }, [h('span', { class: 'lbl', i18n: 'sup.audit.period' }),
        h('div', { class: 'row' }, [fromD, fromT, h('span', { text: '—' }), toD, toT])])
    ]),
    h('div', { class: 'row' }, [findBtn, resetBtn])
  ]);
  var el = h('div', { class: 'box sup-audit no-print', tid: 'sup-audit' }, [
    h('div', { class: 'section-title', i18n: 'sup.audit.title' }),
    form, err,
    h('table', { class: 'grid sup-table', tid: 'audit-table' }, [
      h('thead', null, h('tr', null, [
        h('th', { i18n: 'sup.audit.at' }), h('th', { i18n: 'sup.audit.actor' }),
        h('th', { i18n: 'sup.audit.action' }), h('th', { i18n: 'sup.audit.target' })
      ])),
      body
    ]),
    empty, moreBtn
  ]);

  var params = '';
  var next = null;
  function filterParams() {
    var p = ['limit=' + AUDIT_PAGE_ENTRIES];
    if (actor.value.trim()) p.push('actor=' + encodeURIComponent(actor.value.trim()));
    if (action.value) p.push('action=' + encodeURIComponent(action.value));
    if (target.value.trim()) p.push('target=' + encodeURIComponent(target.value.trim()));
    var from = localMs(fromD, fromT, false);
    var to = localMs(toD, toT, true);
    if (!isNaN(from)) p.push('from_ms=' + from);
    if (!isNaN(to)) p.push('to_ms=' + to);
    return p.join('&');
  }
  function row(e) {
    return h('tr', { tid: 'audit-row', 'data-seq': String(e.seq), 'data-actor': e.actor, 'data-action': e.action, 'data-target': e.target }, [
      h('td', { class: 'nowrap', text: fmtDateTime(e.at, true) }),
      h('td', { tid: 'audit-row-actor', translate: 'no', text: e.actor }),
      h('td', { tid: 'audit-row-action' }, actionLabel(e.action)),
      h('td', { tid: 'audit-row-target', translate: 'no', text: e.target })
    ]);
  }
  function fetchPage(append) {
    showError(err, null);
    findBtn.disabled = true; moreBtn.disabled = true;
    var q = params + (append && next ? '&before_seq=' + encodeURIComponent(next) : '');
    return auditPage(q).then(function (page) {
      findBtn.disabled = false; moreBtn.disabled = false;
      if (!append) clear(body);
      page.entries.forEach(function (e) { body.appendChild(row(e)); });
      next = page.next;
      moreBtn.style.display = next ? '' : 'none';
      empty.style.display = body.firstChild || next ? 'none' : '';
      body.setAttribute('data-loaded', String(Date.now()));
    }, function (e) {
      findBtn.disabled = false; moreBtn.disabled = false;
      showError(err, e);
    });
  }
  function load() {
    params = filterParams();
    next = null;
    return fetchPage(false);
  }
  form.addEventListener('submit', function (ev) { ev.preventDefault(); load(); });
  resetBtn.addEventListener('click', function () { form.reset(); load(); });
  moreBtn.addEventListener('click', function () { fetchPage(true); });
  return { el: el, load: load };
}
