/* The accounting cards of an appeal (R31, R39; GET /appeals/{id}/forms): ОЛ-1, З-1 per applicant
   and ОЛ-2 per decision, each field with its number, its name where the seed gives one, the
   value, whether it is filled automatically and where it came from; the forms' missing fields
   and address checks; the state register's state (its absence is shown); the form entry of every
   step. The seeds do not give these forms in full: each card says so. Downloads as CSV and XLSX,
   printing, the registrar's edit of ОЛ-1 field 8 with a tag (POST /appeals/{id}/kind) and З-1
   typed by hand where no register answers or an address must be brought in line (POST …/z1). */
import { hasRole, fmtDateTime } from '../state.js';
import { api, showError } from '../../kit/api.js';
import { applyLang } from '../../kit/i18n.js';
import { clear, dataText, h, tx } from '../../kit/dom.js';
import { AP_KINDS, apPath, codeSelect, fileButton, fileStem } from './appeal_detail.js';

function valueOf(v) {
  if (!v) return tx('none', 'muted');
  if (v.kk && v.ru) return h('span', { names: { kk: v.kk, ru: v.ru } });
  return dataText(v.text);
}

/* З-1 fields the registrar types by hand (004 p.23): all but 1–2 (from ОЛ-1) and 4 (the ИИН/БИН). */
function typedByHand(form, f) { return form.kind === 'z1' && f.number > 2 && f.number !== 4; }

function fieldRow(form, f, inputs) {
  var missing = form.missing.indexOf(f.number) >= 0;
  var check = form.checks.filter(function (c) { return c.field === f.number; })[0];
  var input = null;
  if (inputs && typedByHand(form, f)) {
    input = h('input', { type: 'text', class: 'no-print', tid: 'fm-z1-' + form.seq + '-in' + f.number, value: f.value ? f.value.text : '' });
    input.dataset.before = input.value;
    inputs[f.number] = input;
  }
  return h('tr', { class: missing ? 'fm-missing' : '', tid: 'fm-' + form.kind + '-' + form.seq + '-f' + f.number }, [
    h('td', { class: 'mono' }, dataText(f.number)),
    h('td', null, f.name_ru ? h('span', { names: { kk: f.name_kk, ru: f.name_ru } }) : tx('forms.name_not_in_seeds', 'muted small')),
    h('td', null, [valueOf(f.value), input,
      f.tag ? h('span', null, [' ', tx('forms.tag', 'muted small'), ' ', dataText(f.tag, 'mono')]) : null,
      missing ? h('div', { class: 'error small', i18n: 'forms.missing' }) : null,
      check ? h('div', { class: 'error small' }, [tx('forms.address_mismatch'), ' ', dataText(check.params.postal, 'muted')]) : null]),
    h('td', { i18n: f.auto ? 'forms.auto' : 'forms.manual' }),
    h('td', { class: 'muted small', i18n: 'forms.src.' + f.source_kind })
  ]);
}

/* The registrar's save of the З-1 fields typed by hand: only the changed ones are sent. */
function z1Save(form, inputs, ctx) {
  var btn = h('button', { type: 'button', class: 'btn btn-sm no-print', tid: 'fm-z1-' + form.seq + '-save', i18n: 'forms.z1.save' });
  btn.addEventListener('click', function () {
    var fields = {};
    Object.keys(inputs).forEach(function (n) { if (inputs[n].value.trim() !== inputs[n].dataset.before) fields[n] = inputs[n].value.trim(); });
    if (!Object.keys(fields).length) return;
    ctx.run(btn, ctx.post('/z1', { applicant: form.applicant, fields: fields }), 'ap.saved');
  });
  return btn;
}

function formTable(form, ctx) {
  var inputs = ctx && ctx.edit && form.kind === 'z1' ? {} : null;
  return h('div', { class: 'fm-form', tid: 'fm-' + form.kind + '-' + form.seq }, [
    h('div', { class: 'section-title' }, [dataText(form.code), form.seq > 1 || form.kind !== 'ol1' ? dataText(' №' + form.seq) : null]),
    form.layout_complete ? null : h('div', { class: 'warn small', tid: 'fm-incomplete', i18n: 'forms.layout_incomplete' }),
    h('table', { class: 'tbl compact' }, [
      h('thead', null, h('tr', null, ['forms.number', 'forms.name', 'forms.value', 'forms.filled', 'forms.source'].map(function (k) { return h('th', { i18n: k }); }))),
      h('tbody', null, form.fields.map(function (f) { return fieldRow(form, f, inputs); }))
    ]),
    inputs ? z1Save(form, inputs, ctx) : null
  ]);
}

function registerLine(r) {
  var line = h('div', { class: 'small', tid: 'fm-register', 'data-state': r.state }, [tx('forms.register'), ' ', tx('forms.register.' + r.state)]);
  if (r.fetched_at) line.appendChild(dataText(' (' + fmtDateTime(r.fetched_at) + ')', 'muted'));
  return line;
}

function entriesTable(forms) {
  return h('table', { class: 'tbl compact', tid: 'fm-entries' }, [
    h('thead', null, h('tr', null, ['ap.at', 'ap.by', 'ap.action', 'forms.form'].map(function (k) { return h('th', { i18n: k }); }))),
    h('tbody', null, forms.entries.map(function (e) {
      return h('tr', null, [h('td', null, dataText(fmtDateTime(e.at))), h('td', null, dataText(e.by, 'mono')),
        h('td', { i18n: 'ap.hist.' + e.action }),
        h('td', null, dataText((e.form === 'ol2' ? 'ОЛ-2 №' + e.form_seq : 'ОЛ-1') + (e.fields.length ? ': ' + e.fields.join(', ') : '')))]);
    }))
  ]);
}

/* The registrar's edit of field 8 (004 p.4): the kind and the tag that explains it. */
function kindEdit(a, run, post) {
  var sel = codeSelect('ap.kind', AP_KINDS, 'fm-kind', a.kind);
  var tag = h('input', { type: 'text', tid: 'fm-kind-tag', ph: 'forms.kind.tag_ph' });
  var btn = h('button', { type: 'button', class: 'btn btn-sm', tid: 'fm-kind-save', i18n: 'forms.kind.save' });
  btn.addEventListener('click', function () {
    run(btn, post('/kind', function () { return { kind: sel.value, tag: tag.value.trim() }; }), 'ap.saved');
  });
  return h('div', { class: 'row no-print' }, [tx('forms.kind.title', 'small'), sel, tag, btn]);
}

/** The forms section of an appeal's detail: shown on demand. ctx = {run, post} of the detail. */
export function formsBox(a, ctx) {
  var body = h('div', { class: 'fm-body' });
  var box = h('div', { class: 'box fm-box', tid: 'ap-forms' });
  var show = h('button', { type: 'button', class: 'btn btn-sm no-print', tid: 'ap-forms-show', i18n: 'forms.show' });
  var print = h('button', { type: 'button', class: 'btn btn-sm no-print', tid: 'ap-forms-print', i18n: 'forms.print' });
  /* The cards alone on paper: the other print areas (the талон) step aside until the print ends. */
  print.addEventListener('click', function () {
    var others = Array.prototype.slice.call(document.querySelectorAll('.print-area')).filter(function (x) { return x !== box; });
    others.forEach(function (x) { x.classList.remove('print-area'); });
    box.classList.add('print-area');
    window.addEventListener('afterprint', function () {
      box.classList.remove('print-area');
      others.forEach(function (x) { x.classList.add('print-area'); });
    }, { once: true });
    window.print();
  });
  show.addEventListener('click', function () {
    clear(body).appendChild(tx('loading'));
    api('GET', apPath(a.id, '/forms')).then(function (forms) {
      clear(body);
      if (!forms.ol1) { body.appendChild(tx('forms.not_registered', 'muted')); applyLang(body); return; }
      body.appendChild(registerLine(forms.register));
      var edit = { edit: hasRole('registrar'), run: ctx.run, post: ctx.post };
      [forms.ol1].concat(forms.z1, forms.ol2).forEach(function (f) { body.appendChild(formTable(f, edit)); });
      body.appendChild(h('div', { class: 'section-title', i18n: 'forms.entries' }));
      body.appendChild(entriesTable(forms));
      applyLang(body);
    }, function (e) { clear(body); showError(body.appendChild(h('div', { class: 'error' })), e); });
  });
  var stem = fileStem(a);
  box.appendChild(h('div', { class: 'row no-print', style: 'flex-wrap:wrap' }, [h('span', { class: 'section-title', i18n: 'forms.title' }), show,
    fileButton({ path: apPath(a.id, '/forms.csv'), name: 'forms-' + stem + '.csv', tid: 'ap-forms-csv', i18n: 'forms.csv' }),
    fileButton({ path: apPath(a.id, '/forms.xlsx'), name: 'forms-' + stem + '.xlsx', tid: 'ap-forms-xlsx', i18n: 'forms.xlsx' }),
    print]));
  if (a.number && hasRole('registrar')) box.appendChild(kindEdit(a, ctx.run, ctx.post));
  box.appendChild(body);
  return box;
}
