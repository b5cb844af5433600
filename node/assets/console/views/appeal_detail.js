/* Citizens' appeals (обращения, issue 12): what the registrar's, the manager's and the officer's
   tabs share — the coded labels (status, kind, channel, decision), the deadline with its colour and
   the days left, an appeal list, and the detail block of one appeal (GET /appeals/{id}): text,
   applicants, attachments, registration, deadline and extensions, parts (R29), transfer (R30, ОЛ-2),
   КУИ (R14), drafts, the answer and the history. Each tab adds its own actions below through
   opts.actions(x). The server sends codes; every word shown comes from the dictionaries.

   Files (attachments, the draft and the answer as DOCX) are fetched with the session's token and
   offered as a download, never through a plain link: the session cookie is the browser's, shared
   by every tab (another user's login in another tab, or a logout there, would change whose file
   it is), and an error is told in the user's language instead of a page of JSON. */
import { S, fmtDateTime, pad, refItem, toast, toastText } from '../state.js';
import { api, auth, errText, showError } from '../../kit/api.js';
import { clear, dataText, h, tx } from '../../kit/dom.js';
import { applyLang, known } from '../../kit/i18n.js';
import { formsBox } from './appeal_forms.js';

export var AP_STATUSES = ['received', 'registered', 'routed', 'in_work', 'on_approval', 'answered', 'transferred', 'not_considered', 'sent_out'];
export var AP_KINDS = ['appeal', 'report', 'request', 'response', 'proposal'];
export var AP_CHANNELS = ['app102_text', 'zakon_poryadok_text', 'telegram', 'vkontakte', 'web_widget', 'email', 'post', 'desk'];
export var AP_DECISIONS = ['satisfied', 'explained', 'refused', 'redirected', 'outside_competence'];
export var API_BASE = '/api/v1';
var DAY_MS = 24 * 3600 * 1000;
/* How long a downloaded file's object URL is kept after the click, ms. */
var BLOB_URL_KEEP_MS = 60 * 1000;

export function apPath(id, rest) { return '/appeals/' + encodeURIComponent(id) + (rest || ''); }

/** A file of the API (path under /api/v1) as a Blob, with the session's token. */
export function fetchFile(path) {
  var opts = { headers: {}, credentials: 'same-origin', cache: 'no-store' };
  if (auth.token) opts.headers.Authorization = 'Bearer ' + auth.token;
  return fetch(API_BASE + path, opts).then(function (r) {
    if (r.ok) return r.blob();
    return r.json().catch(function () { return {}; }).then(function (d) {
      var e = new Error((d && d.message) || String(r.status));
      e.status = r.status; e.code = d && d.code; e.field = d && d.field;
      throw e;
    });
  }, function () { var e = new Error('network'); e.status = 0; e.code = 'network'; throw e; });
}
/** Offers a Blob as a file to save under `name`. */
export function saveBlob(blob, name) {
  var url = URL.createObjectURL(blob);
  var a = h('a', { href: url, download: name, style: 'display:none' });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(function () { URL.revokeObjectURL(url); }, BLOB_URL_KEEP_MS);
}
/** A file name from an appeal's number (or id): no slashes. */
export function fileStem(a) { return String(a.number || a.id).replace(/[^A-Za-z0-9-]/g, '_'); }
/**
 * A button that downloads a file of the API: o = {path, name, tid, i18n | data, cls, attrs}.
 * An error goes to a toast in the user's language.
 */
export function fileButton(o) {
  var attrs = Object.assign({ type: 'button', class: o.cls || 'btn btn-sm', tid: o.tid }, o.attrs || {});
  if (o.i18n) attrs.i18n = o.i18n; else attrs.data = o.data;
  var btn = h('button', attrs);
  btn.addEventListener('click', function () {
    btn.disabled = true;
    fetchFile(o.path).then(function (blob) {
      btn.disabled = false;
      saveBlob(blob, o.name);
    }, function (e) { btn.disabled = false; toastText(errText(e)); });
  });
  return btn;
}

/* The officers' names by login (GET /appeals/officers, where the account may list them): a login
   is shown with its name where known. */
export var OFFICER_NAMES = {};
export function officerLabel(login) {
  if (!login) return null;
  var name = OFFICER_NAMES[login];
  return name ? h('span', null, [dataText(name), ' ', dataText('(' + login + ')', 'muted small mono')]) : dataText(login, 'mono');
}

/* The computed suggestions of an appeal (GET /appeals/{id}/suggestions: service, crime signs, an
   external body for a question outside the police's competence), asked once per appeal. */
var SUGGESTIONS = {};
export function suggestionsOf(id) {
  if (!SUGGESTIONS[id]) {
    SUGGESTIONS[id] = api('GET', apPath(id, '/suggestions')).then(function (r) { return r || {}; }, function (e) {
      delete SUGGESTIONS[id];
      throw e;
    });
  }
  return SUGGESTIONS[id];
}

/** A coded value through the dictionary (`prefix.code`); an unknown code is shown as data. */
export function coded(prefix, code, cls) {
  if (code == null || code === '') return null;
  if (known(prefix + '.' + code)) return h('span', { class: cls, i18n: prefix + '.' + code });
  return h('span', { class: cls }, [tx('ap.unknown_code'), ' ', dataText(code, 'muted')]);
}
export function apStatus(st, tid) {
  return h('span', { class: 'badge ast ast-' + st, tid: tid, 'data-status': st, i18n: 'ap.status.' + st });
}
/** A reference entry with name_kk/name_ru (services, external bodies), else its code as data. */
export function refName(list, code, cls) {
  if (!code) return null;
  var it = refItem(list, code);
  return it ? h('span', { class: cls, ref: it, 'data-code': code }) : dataText(code, cls);
}
export function serviceLabel(code) { return refName('services', code); }

/* 'YYYY-MM-DD' → local midnight (ms); a number is taken as ms. */
export function dayMs(v) {
  if (typeof v === 'number') return v;
  var m = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(v || ''));
  return m ? new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])).getTime() : NaN;
}
export function fmtDay(v) {
  var ms = dayMs(v);
  if (isNaN(ms)) return '';
  var d = new Date(ms);
  return pad(d.getDate()) + '.' + pad(d.getMonth() + 1) + '.' + d.getFullYear();
}
/* A moment the server gives as ms, an RFC 3339 text or a day ('YYYY-MM-DD': its end). */
export function whenMs(v) {
  if (v == null || v === '') return NaN;
  if (typeof v === 'number') return v;
  if (/^\d{4}-\d{2}-\d{2}$/.test(v)) return dayMs(v) + DAY_MS - 1;
  return Date.parse(v);
}
export function fmtWhen(v) { var ms = whenMs(v); return isNaN(ms) ? '' : fmtDateTime(ms); }
/** Calendar days from today to the deadline day (negative: overdue by that many). */
export function daysLeft(deadline) {
  var now = new Date();
  var today = new Date(now.getFullYear(), now.getMonth(), now.getDate()).getTime();
  return Math.round((dayMs(deadline) - today) / DAY_MS);
}
/** The deadline: its date and the days left, coloured by the server's deadline_state. */
export function deadlineBadge(deadline, state, tid) {
  if (!deadline) return h('span', { class: 'muted', i18n: 'ap.no_deadline' });
  var n = daysLeft(deadline);
  var left = n > 0 ? [tx('ap.dl.left'), ' ', String(n), ' ', tx('ap.dl.days')]
    : n === 0 ? [tx('ap.dl.today')] : [tx('ap.dl.overdue_by'), ' ', String(-n), ' ', tx('ap.dl.days')];
  return h('span', { class: 'ap-dl ap-dl-' + (state || 'ok'), tid: tid, 'data-state': state || 'ok', 'data-days': String(n) }, [
    h('b', { text: fmtDay(deadline) }), ' · '].concat(left));
}
export function applicantName(p) {
  if (!p) return '';
  if (p.org_name) return p.org_name;
  return [p.surname, p.name, p.patronymic].filter(Boolean).join(' ');
}

/** A table of AppealSummary rows; a click calls onPick(summary). */
export function appealTable(tid, list, onPick, selectedId) {
  var body = h('tbody');
  (list || []).forEach(function (s) {
    var tr = h('tr', { class: 'card-row ap-row' + (s.id === selectedId ? ' selected' : '') + (s.deadline_state ? ' ap-row-' + s.deadline_state : ''),
      tid: 'appeal-row', 'data-id': s.id, 'data-number': s.number || '', 'data-status': s.status }, [
      h('td', { class: 'c-num mono' }, s.number ? dataText(s.number) : tx('ap.no_number', 'muted')),
      h('td', null, [apStatus(s.status), s.crime_signs ? h('span', { class: 'badge ap-crime', i18n: 'ap.crime.short', tip: 'ap.crime_signs' }) : null]),
      h('td', { class: 'c-what' }, [h('div', { class: 'ellipsis' }, s.applicant ? dataText(s.applicant) : tx('ap.anonymous', 'muted')),
        h('div', { class: 'small muted' }, [coded('ap.channel', s.channel), ' · ', fmtDateTime(s.received_at)])]),
      h('td', { class: 'small' }, [serviceLabel(s.service), s.officer ? h('div', null, officerLabel(s.officer)) : null]),
      h('td', { class: 'nowrap' }, s.deadline ? deadlineBadge(s.deadline, s.deadline_state) : null)
    ]);
    tr.addEventListener('click', function () { onPick(s); });
    body.appendChild(tr);
  });
  if (!(list || []).length) body.appendChild(h('tr', { class: 'empty-row' }, h('td', { colspan: '5', i18n: 'ap.list.empty' })));
  return h('table', { class: 'grid cards ap-list', tid: tid }, [
    h('thead', null, h('tr', null, ['ap.number', 'ap.status', 'ap.applicant', 'ap.service', 'ap.deadline'].map(function (k) { return h('th', { i18n: k }); }))),
    body]);
}

/** A list box: a title, a refresh button, the table; load() asks `path` again. */
export function AppealList(tid, titleKey, path, onPick) {
  var box = h('div', { class: 'ap-listbox', tid: tid + '-box' });
  var err = h('div', { class: 'error', style: 'display:none', role: 'alert' });
  var count = h('span', { class: 'count', tid: tid + '-count', text: '0' });
  var tableBox = h('div');
  var self = { el: box, list: [], selected: null, path: path };
  var refresh = h('button', { type: 'button', class: 'btn btn-xs btn-ghost', tid: tid + '-refresh', i18n: 'ap.refresh', onclick: function () { self.load(); } });
  box.appendChild(h('div', { class: 'col-head' }, [h('span', { i18n: titleKey }), count, h('span', { class: 'spacer' }), refresh]));
  box.appendChild(err);
  box.appendChild(tableBox);
  self.load = function () {
    return api('GET', self.path).then(function (res) {
      self.list = Array.isArray(res) ? res : ((res && (res.appeals || res.items)) || []);
      showError(err, null);
      self.render();
    }, function (e) { showError(err, e); });
  };
  self.render = function () {
    count.textContent = String(self.list.length);
    clear(tableBox).appendChild(appealTable(tid, self.list, function (s) { self.selected = s.id; self.render(); onPick(s); }, self.selected));
    applyLang(tableBox);
  };
  return self;
}

function kv(key, value, tid) {
  if (value == null || value === '' || (Array.isArray(value) && !value.length)) return null;
  return h('div', { class: 'kv' }, [h('span', { class: 'k', i18n: key }), h('span', { class: 'v', tid: tid }, typeof value === 'object' ? value : String(value))]);
}
function box(titleKey, kids, tid, cls) {
  kids = (kids || []).filter(Boolean);
  if (!kids.length) return null;
  return h('div', { class: 'box ' + (cls || ''), tid: tid }, [h('div', { class: 'section-title', i18n: titleKey })].concat(kids));
}
function flagList(a) {
  var f = [];
  if (a.anonymous) f.push(h('span', { class: 'badge ap-flag', tid: 'ap-flag-anonymous', i18n: 'ap.anonymous' }));
  if (a.collective) f.push(h('span', { class: 'badge ap-flag', tid: 'ap-flag-collective', i18n: 'ap.collective.code' }));
  if (a.personal_reception) f.push(h('span', { class: 'badge ap-flag', tid: 'ap-flag-reception', i18n: 'ap.reception.code' }));
  if (a.crime_signs) f.push(h('span', { class: 'badge ap-crime', tid: 'ap-flag-crime', i18n: 'ap.crime_signs' }));
  return f;
}
function applicantBox(p, i) {
  return h('div', { class: 'ap-applicant', tid: 'ap-applicant' }, [
    h('div', { class: 'b' }, [String(i + 1) + '. ', coded('ap.applicant_kind', p.kind), ' ', dataText(applicantName(p))]),
    kv(p.bin ? 'ap.bin' : 'ap.iin', p.bin || p.iin ? dataText(p.bin || p.iin) : null),
    kv('ap.address', p.address ? dataText(p.address) : null),
    kv('ap.phone', p.phone ? dataText(p.phone) : null),
    kv('ap.email', p.email ? dataText(p.email) : null)
  ]);
}
/* A history entry's parameters: known ones with their label, days as dates, objects by what
   matters in them (a draft's decision and language, a part's number, a file's name); the
   registration's own record and hashes are left out (the detail shows them). */
var PARAM_LABEL = { service: 'ap.service', officer: 'ap.officer', reason: 'ap.reason', until: 'ap.until', number: 'ap.number',
  system: 'ap.transfer.system', decision: 'ap.decision', language: 'ap.language', text: 'ap.note', flag: 'ap.crime_signs', kind: 'ap.kind',
  seq: 'ap.draft.seq', deadline: 'ap.deadline', due: 'ap.transfer.due', cancel_until: 'ap.transfer.cancel_until', notice_due: 'ap.notice.due',
  by_name: 'ap.by', late: 'ap.late', parts: 'ap.parts', attachment: 'ap.attachments', draft: 'ap.decision' };
var PARAM_SKIP = ['registration', 'registration_day', 'sha256', 'size'];
var DAY_PARAMS = ['until', 'deadline', 'due', 'cancel_until', 'notice_due'];
function paramValue(k, v) {
  if (k === 'service') return serviceLabel(v);
  if (k === 'officer') return officerLabel(v);
  if (k === 'decision') return coded('ap.decision', v);
  if (k === 'language') return coded('lang', v);
  if (k === 'kind') return coded('ap.kind', v);
  if (k === 'flag' || typeof v === 'boolean') return tx(v ? 'yes' : 'no');
  if (DAY_PARAMS.indexOf(k) >= 0) return h('span', { text: fmtDay(v) });
  if (k === 'draft' && v && typeof v === 'object') return h('span', null, [coded('ap.decision', v.decision), ' · ', coded('lang', v.language)]);
  if (k === 'attachment' && v && typeof v === 'object') return dataText(v.file_name || '');
  if (k === 'parts' && Array.isArray(v)) return dataText(v.map(function (x) { return x && x.number ? x.number : ''; }).join(', '));
  if (v && typeof v === 'object') return null;
  return dataText(v);
}
export function historyTable(history) {
  var body = h('tbody');
  (history || []).forEach(function (e) {
    var params = e.params && typeof e.params === 'object' ? e.params : {};
    var shown = Object.keys(params).filter(function (k) { return params[k] != null && params[k] !== '' && PARAM_SKIP.indexOf(k) < 0; }).map(function (k) {
      var v = paramValue(k, params[k]);
      return v ? h('span', { class: 'ap-param' }, [PARAM_LABEL[k] ? tx(PARAM_LABEL[k], 'muted') : null, PARAM_LABEL[k] ? ': ' : null, v]) : null;
    });
    body.appendChild(h('tr', { tid: 'ap-history-row', 'data-action': e.action }, [
      h('td', { class: 'nowrap', text: fmtWhen(e.at) }),
      h('td', { class: 'mono' }, dataText(e.by || '')),
      h('td', null, coded('ap.hist', e.action)),
      h('td', null, shown)
    ]));
  });
  return h('table', { class: 'grid timeline ap-history', tid: 'ap-history' }, [
    h('thead', null, h('tr', null, ['ap.at', 'ap.by', 'ap.action', 'ap.details'].map(function (k) { return h('th', { i18n: k }); }))), body]);
}

function draftsTable(a) {
  if (!(a.drafts || []).length) return null;
  return h('table', { class: 'grid ap-drafts', tid: 'ap-drafts' }, [
    h('thead', null, h('tr', null, ['ap.draft.seq', 'ap.decision', 'ap.language', 'ap.by', 'ap.at', 'ap.draft.state'].map(function (k) { return h('th', { i18n: k }); }))),
    h('tbody', null, a.drafts.map(function (d) {
      var body = d.draft || d;
      return h('tr', { tid: 'ap-draft-row', 'data-state': d.state }, [
        h('td', { text: String(d.seq) }), h('td', null, coded('ap.decision', body.decision)), h('td', null, coded('lang', body.language)),
        h('td', { class: 'mono' }, dataText(d.by || '')), h('td', { class: 'nowrap', text: fmtWhen(d.at) }),
        h('td', null, [coded('ap.draft.state', d.state), d.return_reason ? h('div', { class: 'small' }, dataText(d.return_reason)) : null])
      ]);
    }))
  ]);
}

/** The shared facts of an appeal (everything but the actions). */
export function appealFacts(a) {
  var out = [];
  out.push(h('div', { class: 'detail-head' }, [
    a.number ? h('span', { class: 'detail-number mono', tid: 'ap-number', data: a.number }) : h('span', { class: 'detail-number muted', tid: 'ap-number', i18n: 'ap.no_number' }),
    apStatus(a.status, 'ap-status'),
    a.kind ? coded('ap.kind', a.kind, 'b') : null,
    h('span', { class: 'spacer' }),
    h('span', { class: 'muted small' }, [tx('ap.received_at'), ' ', fmtDateTime(a.received_at)])
  ]));
  var flags = flagList(a);
  var dl = null;
  if (a.deadline) dl = deadlineBadge(a.deadline, a.deadline_state, 'ap-deadline');
  out.push(h('div', { class: 'detail-grid' }, [
    h('div', { class: 'box' }, [
      kv('ap.channel', coded('ap.channel', a.channel)),
      kv('ap.language', coded('lang', a.language)),
      kv('ap.registered', a.registered_at ? h('span', null, [fmtWhen(a.registered_at), ' · ', dataText(a.registered_by_name || a.registered_by || '')]) : null, 'ap-registered'),
      kv('ap.service', serviceLabel(a.service), 'ap-service'),
      kv('ap.officer', officerLabel(a.officer), 'ap-officer'),
      kv('ap.deadline', dl),
      kv('ap.tags', (a.tags || []).length ? dataText(a.tags.join(', ')) : null, 'ap-tags'),
      flags.length ? h('div', { class: 'ap-flags' }, flags) : null
    ]),
    h('div', { class: 'box' }, [h('div', { class: 'section-title', i18n: (a.applicants || []).length > 1 ? 'ap.applicants' : 'ap.applicant' })].concat(
      (a.applicants || []).length ? a.applicants.map(applicantBox) : [h('div', { class: 'muted', i18n: 'ap.anonymous' })]))
  ]));
  out.push(h('div', { class: 'box desc' }, [h('div', { class: 'k', i18n: 'ap.text' }), h('div', { class: 'v pre', tid: 'ap-text', data: a.text || '' })]));
  if ((a.attachments || []).length) {
    out.push(box('ap.attachments', a.attachments.map(function (f) {
      return h('div', { class: 'ap-att' }, [
        fileButton({ path: apPath(a.id, '/attachments/' + f.sha256), name: f.file_name || f.sha256.slice(0, 12), tid: 'ap-attachment',
          cls: 'btn btn-xs btn-ghost', data: f.file_name || f.sha256.slice(0, 12), attrs: { 'data-sha': f.sha256 } }),
        ' ', h('span', { class: 'muted small', text: Math.max(1, Math.round((f.size || 0) / 1024)) + ' ' }), tx('ap.kib', 'muted small')]);
    }), 'ap-attachments'));
  }
  if ((a.extensions || []).length) {
    out.push(box('ap.extensions', a.extensions.map(function (x) {
      return h('div', { class: 'ap-ext', tid: 'ap-extension' }, [
        tx('ap.until'), ' ', h('b', { text: fmtDay(x.until) }), ' · ', dataText(x.reason || ''), ' · ', dataText(x.by || ''), ' ', fmtWhen(x.at), ' · ',
        x.notice_sent_at ? h('span', { class: 'ap-ok', tid: 'ap-notice-sent' }, [tx('ap.notice.sent'), ' ', fmtWhen(x.notice_sent_at)])
          : h('span', { class: 'ap-warn', tid: 'ap-notice-due' }, [tx('ap.notice.due'), ' ', fmtDay(x.notice_due)])]);
    }), 'ap-extensions'));
  }
  if (a.crime_signs || a.kui) {
    var kuiLate = !a.kui && a.kui_due_at && whenMs(a.kui_due_at) < Date.now();
    out.push(box('ap.kui.title', [
      a.kui ? kv('ap.kui.number', h('span', { class: 'kui-num mono', data: a.kui.number }), 'ap-kui')
        : h('div', { class: kuiLate ? 'ap-overdue' : 'ap-warn', tid: 'ap-kui-due' }, [tx('ap.kui.due'), ' ', fmtWhen(a.kui_due_at)]),
      a.kui ? kv('ap.at', h('span', null, [fmtWhen(a.kui.at), ' · ', dataText(a.kui.by || '')])) : null
    ], 'ap-kui-box', 'kui'));
  }
  if ((a.duplicate_of || []).length) {
    out.push(box('ap.duplicate_of', [dataText(a.duplicate_of.map(function (d) { return d.number; }).join(', '))], 'ap-duplicate-of'));
  }
  if ((a.late_duplicates || []).length) {
    // Found by the national re-check after the link to the hub came back (R38): the registrar
    // and the manager decide whether it repeats the earlier appeal.
    out.push(box('ap.late_duplicates', [h('div', { class: 'small muted', i18n: 'ap.late_duplicates.hint' })].concat(
      a.late_duplicates.map(function (d) {
        return h('div', { class: 'ap-late-dup ap-warn', tid: 'ap-late-duplicate', 'data-region': d.region }, [
          h('b', { class: 'mono', data: d.region + ' · ' + (d.number || d.id) }), ' · ', fmtWhen(d.registered_at || d.received_at),
          ' · ', h('span', { data: Math.round((d.similarity || 0) * 100) + ' %' }), ' · ',
          (d.reasons || []).map(function (r, i) { return h('span', null, [i ? ', ' : '', coded('ap.reason', r)]); })]);
      })), 'ap-late-duplicates'));
  }
  if ((a.parts || []).length) {
    out.push(box('ap.parts', a.parts.map(function (p) {
      return h('div', { class: 'ap-part', tid: 'ap-part', 'data-number': p.number }, [
        h('b', { class: 'mono', data: p.number }), ' · ', dataText(p.question || ''), ' → ', refName('external_bodies', p.body),
        p.due ? h('span', { class: 'small muted' }, [' · ', tx('ap.deadline'), ' ', fmtDay(p.due)]) : null]);
    }), 'ap-parts'));
  }
  if (a.transfer) {
    var tr = a.transfer;
    out.push(box('ap.transfer.title', [
      kv('ap.transfer.system', dataText(tr.system || '')), kv('ap.reason', dataText(tr.reason || '')),
      kv('ap.at', h('span', null, [fmtWhen(tr.at), ' · ', dataText(tr.by || '')])), kv('ap.transfer.due', fmtDay(tr.due)),
      tr.cancelled_at ? kv('ap.transfer.cancelled', fmtWhen(tr.cancelled_at), 'ap-transfer-cancelled')
        : kv('ap.transfer.cancel_until', fmtDay(tr.cancel_until), 'ap-transfer-cancel-until'),
      tr.late ? h('div', { class: 'ap-warn small', tid: 'ap-transfer-late', i18n: 'ap.late' }) : null
    ], 'ap-transfer'));
  }
  var drafts = draftsTable(a);
  if (drafts) out.push(box('ap.drafts', [drafts], 'ap-drafts-box'));
  if (a.answer) {
    out.push(box('ap.answer', [
      kv('ap.decision', coded('ap.decision', a.answer.decision)), kv('ap.language', coded('lang', a.answer.language)),
      kv('ap.answer.sent_at', fmtWhen(a.answer.sent_at)), kv('ap.answer.approved_by', dataText(a.answer.approved_by || '')),
      fileButton({ path: apPath(a.id, '/answer.docx'), name: fileStem(a) + '.docx', tid: 'ap-answer-link', i18n: 'ap.answer.download' })
    ], 'ap-answer', 'ap-answer-box'));
  }
  return out;
}

/**
 * The detail of one appeal. opts.actions(x) returns the tab's action boxes, where
 * x = {a, run(btn, fn, okKey), post(path, body), self}; opts.onChange(a) after an action.
 */
export function AppealDetail(opts) {
  opts = opts || {};
  var el = h('div', { class: 'detail ap-detail', tid: 'appeal-detail' });
  var self = { el: el, id: null, appeal: null, seq: 0 };
  el.appendChild(h('div', { class: 'empty-state', i18n: opts.hint || 'ap.select_hint' }));

  self.show = function (id) {
    self.id = id;
    self.appeal = null;
    clear(el).appendChild(h('div', { class: 'empty-state', i18n: 'loading' }));
    applyLang(el);
    return self.reload();
  };
  self.reload = function () {
    if (!self.id) return Promise.resolve();
    var my = ++self.seq, id = self.id;
    return api('GET', apPath(id)).then(function (a) {
      if (my === self.seq && self.id === id) self.set(a);
    }, function (e) {
      if (my === self.seq) clear(el).appendChild(h('div', { class: 'error', tid: 'ap-detail-error', err: e }));
    });
  };
  self.set = function (a) {
    if (!a || !a.id) return;
    self.appeal = a;
    self.id = a.id;
    render();
  };
  /* Runs an action: the answer (an Appeal) is shown; an error goes to the action box. */
  function run(btn, fn, okKey) {
    var errBox = el.querySelector('[data-testid="ap-action-error"]');
    showError(errBox, null);
    if (btn) btn.disabled = true;
    return fn().then(function (res) {
      if (btn) btn.disabled = false;
      if (res && res.id && res.status) self.set(res); else self.reload();
      if (okKey) toast(okKey);
      if (opts.onChange) opts.onChange(res);
      return res;
    }, function (e) {
      if (btn) btn.disabled = false;
      showError(el.querySelector('[data-testid="ap-action-error"]') || errBox, e);
      return null;
    });
  }
  function post(path, body) {
    return function () { return api('POST', apPath(self.id, path), body === undefined ? undefined : (typeof body === 'function' ? body() : body)); };
  }
  self.run = run;
  self.post = post;

  function render() {
    var a = self.appeal;
    clear(el);
    appealFacts(a).forEach(function (x) { el.appendChild(x); });
    var errBox = h('div', { class: 'error', tid: 'ap-action-error', style: 'display:none', role: 'alert' });
    var acts = opts.actions ? (opts.actions({ a: a, run: run, post: post, self: self }) || []).filter(Boolean) : [];
    el.appendChild(errBox);
    if (acts.length) el.appendChild(h('div', { class: 'actions ap-actions', tid: 'ap-actions' }, acts));
    el.appendChild(noteBox(a));
    if (a.number) el.appendChild(formsBox(a, { run: run, post: post }));
    el.appendChild(h('div', { class: 'section-title ap-hist-title', i18n: 'ap.history' }));
    el.appendChild(historyTable(a.history));
    applyLang(el);
  }
  function noteBox() {
    var text = h('input', { type: 'text', tid: 'ap-note-text', ph: 'ap.note.ph' });
    var btn = h('button', { type: 'button', class: 'btn btn-sm', tid: 'ap-note-add', i18n: 'ap.note.add' });
    btn.addEventListener('click', function () {
      if (!text.value.trim()) { text.focus(); return; }
      run(btn, post('/notes', function () { return { text: text.value.trim() }; }), 'ap.saved');
    });
    return h('div', { class: 'row ap-note' }, [text, btn]);
  }
  return self;
}

/** An action group: a title and its rows (the card detail's act-group look). */
export function actGroup(titleKey, kids, tid) {
  return h('div', { class: 'act-group', tid: tid }, [h('div', { class: 'section-title', i18n: titleKey })].concat((kids || []).filter(Boolean)));
}
/** Options of a reference list with name_kk/name_ru (services, external bodies). */
export function refSelect(list, tid, value, emptyKey) {
  var arr = (S.ref && S.ref[list]) || [];
  var sel = h('select', { tid: tid }, (emptyKey ? [h('option', { value: '', i18n: emptyKey })] : []).concat(arr.map(function (it) {
    return h('option', { value: it.code, ref: it });
  })));
  if (value) sel.value = value;
  return sel;
}
/** A select of coded values (`prefix.code`). */
export function codeSelect(prefix, codes, tid, value) {
  var sel = h('select', { tid: tid }, codes.map(function (c) { return h('option', { value: c, i18n: prefix + '.' + c }); }));
  if (value) sel.value = value;
  return sel;
}
