/* The registrar's tab (document-control unit, issue 12): incoming appeals (status received) and a
   form to type a desk or post appeal; an opened appeal shows the duplicate candidates (R28, R38:
   national, or only this region's police appeals — then a line says so), the computed suggestions
   (service, crime signs) and the classification (kind, tags, ҰЖ, ЖҚ, anonymous, crime signs,
   service, duplicate of) with Register, Not considered (anonymous, R11) and Transfer (R30, ОЛ-2;
   Cancel transfer within its window). A registered appeal shows its printable талон. */
import { S, fmtDateTime, toast } from '../state.js';
import {
  AP_CHANNELS, AP_KINDS, AP_STATUSES, AppealDetail, AppealList, actGroup, apPath, codeSelect, coded, fmtDay, refName, refSelect,
  serviceLabel, suggestionsOf, whenMs
} from './appeal_detail.js';
import { api, showError } from '../../kit/api.js';
import { dataText, h, tx } from '../../kit/dom.js';
import { applyLang, t } from '../../kit/i18n.js';

/** The талон: number, date and time, who registered, the region; printed alone (print-area). */
export function talonBlock(a) {
  if (!a.number || !a.registered_at) return null;
  var region = S.ref && S.ref.region && typeof S.ref.region === 'object' ? h('span', { ref: S.ref.region }) : dataText(a.region || '');
  return h('div', { class: 'box ap-talon print-area', tid: 'ap-talon' }, [
    h('div', { class: 'ap-talon-title', i18n: 'ap.talon.title' }),
    h('div', { class: 'ap-talon-sub', i18n: 'ap.talon.sub' }),
    h('div', { class: 'kv' }, [h('span', { class: 'k', i18n: 'ap.talon.number' }), h('span', { class: 'v mono', tid: 'ap-talon-number', data: a.number })]),
    h('div', { class: 'kv' }, [h('span', { class: 'k', i18n: 'ap.talon.at' }), h('span', { class: 'v', tid: 'ap-talon-at', text: fmtDateTime(whenMs(a.registered_at)) })]),
    h('div', { class: 'kv' }, [h('span', { class: 'k', i18n: 'ap.talon.by' }), h('span', { class: 'v', tid: 'ap-talon-by', data: a.registered_by_name || a.registered_by || '' })]),
    h('div', { class: 'kv' }, [h('span', { class: 'k', i18n: 'ap.talon.region' }), h('span', { class: 'v' }, region)]),
    a.deadline ? h('div', { class: 'kv' }, [h('span', { class: 'k', i18n: 'ap.deadline' }), h('span', { class: 'v', text: a.deadline.split('-').reverse().join('.') })]) : null,
    h('div', { class: 'form-actions no-print' }, [
      h('button', { type: 'button', class: 'btn btn-sm', tid: 'ap-talon-print', i18n: 'ap.talon.print', onclick: function () { window.print(); } })])
  ]);
}

/* ------------------------------------------------------------------ a desk or post appeal */

function NewAppealForm(onCreated) {
  var f = {
    channel: codeSelect('ap.channel', ['desk', 'post'].concat(AP_CHANNELS.filter(function (c) { return c !== 'desk' && c !== 'post'; })), 'ap-new-channel', 'desk'),
    kind: codeSelect('ap.kind', AP_KINDS, 'ap-new-kind', 'appeal'),
    language: codeSelect('lang', ['ru', 'kk'], 'ap-new-language', 'ru'),
    text: h('textarea', { rows: '5', tid: 'ap-new-text', ph: 'ap.text.ph' }),
    anonymous: h('input', { type: 'checkbox', tid: 'ap-new-anonymous', id: 'ap-new-anonymous' })
  };
  var who = {};
  ['iin', 'surname', 'name', 'patronymic', 'address', 'phone', 'email'].forEach(function (k) {
    who[k] = h('input', { type: k === 'email' ? 'email' : (k === 'phone' ? 'tel' : 'text'), tid: 'ap-new-' + k, autocomplete: 'off', inputmode: k === 'iin' ? 'numeric' : null });
  });
  var err = h('div', { class: 'error', tid: 'ap-new-error', style: 'display:none', role: 'alert' });
  var btn = h('button', { type: 'submit', class: 'btn btn-primary', tid: 'ap-new-submit', i18n: 'ap.new.submit' });
  function fld(key, input, cls) { return h('div', { class: 'fld ' + (cls || '') }, [h('label', { i18n: key }), input]); }
  var form = h('form', { class: 'box ap-new', tid: 'ap-new-form', autocomplete: 'off' }, [
    h('div', { class: 'section-title', i18n: 'ap.new.title' }),
    h('div', { class: 'form-grid' }, [
      fld('ap.channel', f.channel), fld('ap.kind', f.kind), fld('ap.language', f.language),
      h('div', { class: 'fld' }, [h('span', { class: 'lbl', text: '\u00a0' }), h('label', { class: 'check', for: 'ap-new-anonymous' }, [f.anonymous, ' ', tx('ap.anonymous')])]),
      fld('ap.iin', who.iin), fld('ap.surname', who.surname), fld('ap.name', who.name), fld('ap.patronymic', who.patronymic),
      fld('ap.address', who.address, 'w2'), fld('ap.phone', who.phone), fld('ap.email', who.email),
      fld('ap.text', f.text, 'w4')
    ]),
    err,
    h('div', { class: 'form-actions' }, [btn])
  ]);
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    showError(err, null);
    var applicant = { kind: 'person' };
    Object.keys(who).forEach(function (k) { var v = who[k].value.trim(); if (v) applicant[k] = v; });
    var body = { channel: f.channel.value, kind: f.kind.value, language: f.language.value, text: f.text.value.trim(), anonymous: f.anonymous.checked };
    if (!f.anonymous.checked) body.applicant = applicant;
    btn.disabled = true;
    api('POST', '/appeals', body).then(function (a) {
      btn.disabled = false;
      form.reset();
      toast('ap.new.created');
      onCreated(a);
    }, function (e) { btn.disabled = false; showError(err, e); });
  });
  return form;
}

/* ------------------------------------------------------------------ duplicates (R28, R38) */

function reasonsOf(c) {
  return (c.reasons || []).map(function (r) { return coded('ap.reason', r, 'badge reason ap-reason'); });
}
/* The candidates from GET /appeals/{id}/duplicates, each with a box to mark it a duplicate. */
function duplicatesBox(a, cache, marks) {
  var el = h('div', { class: 'box dup-suggest ap-dups', tid: 'ap-duplicates' }, [h('div', { class: 'section-title', i18n: 'ap.dups.title' })]);
  function fill(res) {
    var scope = res && res.scope;
    if (scope === 'region') el.appendChild(h('div', { class: 'notice', tid: 'ap-dups-scope-region', i18n: 'ap.dups.scope_region' }));
    else if (scope === 'national') el.appendChild(h('div', { class: 'small muted', tid: 'ap-dups-scope-national', i18n: 'ap.dups.scope_national' }));
    var list = (res && res.candidates) || [];
    if (!list.length) el.appendChild(h('div', { class: 'muted', tid: 'ap-dups-none', i18n: 'ap.dups.none' }));
    else {
      el.appendChild(h('table', { class: 'grid ap-dup-table' }, [
        h('thead', null, h('tr', null, ['ap.dups.mark', 'ap.region', 'ap.number', 'ap.registered', 'ap.dups.similarity', 'ap.dups.reasons'].map(function (k) { return h('th', { i18n: k }); }))),
        h('tbody', null, list.map(function (c) {
          // Only a registered appeal (it has a number) can be named as the one repeated.
          var key = (c.region || '') + '/' + (c.number || '');
          var box = c.number ? h('input', { type: 'checkbox', tid: 'ap-dup-mark', 'data-number': c.number, checked: !!marks[key] }) : null;
          if (box) box.addEventListener('change', function () { marks[key] = box.checked ? { region: c.region, number: c.number } : null; });
          return h('tr', { tid: 'ap-dup-row', 'data-number': c.number || '', 'data-id': c.id || '' }, [
            h('td', null, box), h('td', { class: 'mono' }, dataText(c.region || '')),
            h('td', { class: 'mono b' }, c.number ? dataText(c.number) : tx('ap.no_number', 'muted')),
            h('td', { class: 'nowrap', text: c.registered_at ? fmtDateTime(whenMs(c.registered_at)) : fmtDateTime(c.received_at) }),
            h('td', { class: 'b', tid: 'ap-dup-similarity', text: Math.round(Math.max(0, Math.min(1, c.similarity || 0)) * 100) + '\u00a0%' }),
            h('td', null, reasonsOf(c))
          ]);
        }))
      ]));
    }
    applyLang(el);
  }
  if (cache[a.id]) fill(cache[a.id]);
  else {
    var wait = h('div', { class: 'muted', i18n: 'loading' });
    el.appendChild(wait);
    api('GET', apPath(a.id, '/duplicates')).then(function (res) {
      cache[a.id] = res || {};
      wait.remove();
      fill(cache[a.id]);
    }, function (e) { wait.remove(); el.appendChild(h('div', { class: 'error', err: e })); });
  }
  return el;
}

/* ------------------------------------------------------------------ the tab */

export function RegistrarAppealsView(panel) {
  var dupCache = {}, marks = {};
  var statusSel = h('select', { tid: 'ap-reg-filter', class: 'sel-sm' }, [h('option', { value: 'received', i18n: 'ap.status.received' }), h('option', { value: '', i18n: 'ap.filter.all' })]
    .concat(AP_STATUSES.filter(function (s) { return s !== 'received'; }).map(function (s) { return h('option', { value: s, i18n: 'ap.status.' + s }); })));
  var list = AppealList('ap-reg-list', 'ap.reg.incoming', '/appeals?status=received&limit=200', function (s) { detail.show(s.id); });
  statusSel.addEventListener('change', function () {
    list.path = '/appeals?' + (statusSel.value ? 'status=' + statusSel.value + '&' : '') + 'limit=200';
    list.load();
  });
  var detail = AppealDetail({ hint: 'ap.reg.hint', actions: actions, onChange: function () { list.load(); } });
  var form = NewAppealForm(function (a) { list.load(); detail.set(a); });
  panel.appendChild(h('div', { class: 'layout-2 ap-layout' }, [
    h('div', { class: 'col' }, [form, h('div', { class: 'row small' }, [tx('ap.filter'), statusSel]), list.el]),
    h('div', { class: 'col col-side' }, [detail.el])
  ]));

  function actions(x) {
    var a = x.a, out = [];
    var talon = talonBlock(a);
    if (talon) out.push(talon);
    if (a.status === 'received') {
      out.push(duplicatesBox(a, dupCache, marks[a.id] = marks[a.id] || {}));
      out.push(classify(x));
      // Not considered: only an appeal without authorship (R11, R27); a crime report is registered instead.
      if (a.anonymous || !(a.applicants || []).length) out.push(notConsidered(x));
      out.push(transfer(x));
    }
    if (a.transfer && !a.transfer.cancelled_at && whenMs(a.transfer.cancel_until) > Date.now()) out.push(cancelTransfer(x));
    return out;
  }

  function classify(x) {
    var a = x.a;
    var kind = codeSelect('ap.kind', AP_KINDS, 'ap-reg-kind', a.kind || 'appeal');
    var tags = h('input', { type: 'text', tid: 'ap-reg-tags', ph: 'ap.tags.ph', value: (a.tags || []).join(', ') });
    function check(tidName, key, on) {
      var c = h('input', { type: 'checkbox', tid: tidName, id: tidName, checked: on });
      return { box: c, el: h('label', { class: 'check', for: tidName }, [c, ' ', tx(key)]) };
    }
    var coll = check('ap-reg-collective', 'ap.collective', a.collective || (a.applicants || []).length > 1);
    var recep = check('ap-reg-reception', 'ap.reception', a.personal_reception);
    var anon = check('ap-reg-anonymous', 'ap.anonymous', a.anonymous);
    var crime = check('ap-reg-crime', 'ap.crime_signs', a.crime_signs);
    var service = refSelect('services', 'ap-reg-service', a.service, 'not_selected');
    /* The computed suggestions (the registrar decides): the service is preselected while none is
       chosen; crime signs and a question for a body outside the police are pointed out. */
    var sugg = h('div', { class: 'ap-suggs', tid: 'ap-suggestions' }, [h('div', { class: 'muted small', i18n: 'loading' })]);
    suggestionsOf(a.id).then(function (sg) {
      sugg.textContent = '';
      if (sg.service) {
        if (!service.value) service.value = sg.service;
        sugg.appendChild(h('div', { class: 'ap-sugg', tid: 'ap-sugg-service', 'data-code': sg.service }, [tx('ap.sugg.service'), ': ', serviceLabel(sg.service)]));
      }
      if (sg.crime_signs) {
        var take = h('button', { type: 'button', class: 'btn btn-xs', tid: 'ap-sugg-crime-accept', i18n: 'ap.sugg.accept', onclick: function () { crime.box.checked = true; } });
        sugg.appendChild(h('div', { class: 'ap-sugg ap-warn', tid: 'ap-sugg-crime' }, [tx('ap.sugg.crime'), ' ', take]));
      }
      if (sg.outside_body) {
        sugg.appendChild(h('div', { class: 'ap-sugg', tid: 'ap-sugg-outside', 'data-code': sg.outside_body }, [tx('ap.sugg.outside'), ': ', refName('external_bodies', sg.outside_body)]));
      }
      if (!sg.service && !sg.crime_signs && !sg.outside_body) sugg.appendChild(h('div', { class: 'muted small', tid: 'ap-sugg-none', i18n: 'ap.sugg.none' }));
      applyLang(sugg);
    }, function (e) { sugg.textContent = ''; sugg.appendChild(h('div', { class: 'error', err: e })); });
    var btn = h('button', { type: 'button', class: 'btn btn-primary', tid: 'ap-register', i18n: 'ap.register' });
    btn.addEventListener('click', function () {
      var m = marks[a.id] || {};
      if (!service.value) { service.focus(); return; }
      x.run(btn, x.post('/register', function () {
        return {
          kind: kind.value,
          tags: tags.value.split(/[,;]/).map(function (s) { return s.trim(); }).filter(Boolean),
          collective: coll.box.checked, personal_reception: recep.box.checked, anonymous: anon.box.checked,
          crime_signs: crime.box.checked, service: service.value,
          duplicate_of: Object.keys(m).map(function (k) { return m[k]; }).filter(Boolean)
        };
      }), 'ap.registered.ok');
    });
    return actGroup('ap.classify', [
      sugg,
      h('div', { class: 'row' }, [tx('ap.kind'), kind]),
      h('div', { class: 'row' }, [tx('ap.tags'), tags]),
      h('div', { class: 'roles' }, [coll.el, recep.el, anon.el, crime.el]),
      h('div', { class: 'row' }, [tx('ap.service'), service]),
      h('div', { class: 'small muted', i18n: 'ap.dups.hint' }),
      h('div', { class: 'form-actions' }, [btn])
    ], 'ap-classify');
  }

  function notConsidered(x) {
    var reason = h('input', { type: 'text', tid: 'ap-nc-reason', ph: 'ap.nc.ph' });
    var btn = h('button', { type: 'button', class: 'btn btn-sm', tid: 'ap-not-considered', i18n: 'ap.nc' });
    btn.addEventListener('click', function () {
      x.run(btn, x.post('/not-considered', function () { return { reason: reason.value.trim() || t('ap.nc.default') }; }), 'ap.saved');
    });
    return actGroup('ap.nc.title', [h('div', { class: 'small muted', i18n: 'ap.nc.hint' }), h('div', { class: 'row' }, [reason, btn])], 'ap-nc-group');
  }

  function transfer(x) {
    var system = h('input', { type: 'text', tid: 'ap-transfer-system', ph: 'ap.transfer.system.ph', list: 'ap-transfer-systems' });
    var systems = h('datalist', { id: 'ap-transfer-systems' }, ['ap.transfer.sys.edms', 'ap.transfer.sys.egov', 'ap.transfer.sys.erdr'].map(function (k) {
      return h('option', { i18n: k });
    }));
    var reason = h('input', { type: 'text', tid: 'ap-transfer-reason', ph: 'ap.transfer.reason.ph' });
    var btn = h('button', { type: 'button', class: 'btn btn-sm', tid: 'ap-transfer', i18n: 'ap.transfer' });
    btn.addEventListener('click', function () {
      if (!system.value.trim()) { system.focus(); return; }
      x.run(btn, x.post('/transfer', function () { return { system: system.value.trim(), reason: reason.value.trim() }; }), 'ap.saved');
    });
    return actGroup('ap.transfer.title', [h('div', { class: 'small muted', i18n: 'ap.transfer.hint' }), systems,
      h('div', { class: 'row' }, [system]), h('div', { class: 'row' }, [reason, btn])], 'ap-transfer-group');
  }

  function cancelTransfer(x) {
    var reason = h('input', { type: 'text', tid: 'ap-transfer-cancel-reason', ph: 'ap.reason' });
    var btn = h('button', { type: 'button', class: 'btn btn-sm btn-danger', tid: 'ap-transfer-cancel', i18n: 'ap.transfer.cancel' });
    btn.addEventListener('click', function () {
      x.run(btn, x.post('/transfer/cancel', function () { return { reason: reason.value.trim() }; }), 'ap.saved');
    });
    return actGroup('ap.transfer.cancel.title', [h('div', { class: 'small' }, [tx('ap.transfer.cancel_until'), ' ', fmtDay(x.a.transfer.cancel_until)]),
      h('div', { class: 'row' }, [reason, btn])], 'ap-transfer-cancel-group');
  }

  function load() { list.load(); if (detail.id) detail.reload(); }
  load();
  return { onShow: load, focus: function () { var t = panel.querySelector('[data-testid="ap-new-text"]'); if (t) t.focus(); } };
}

