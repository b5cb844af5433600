/* The responsible officer's tab (R11, R12): my appeals (GET /appeals?mine=true) and the answer's
   draft — decision, language (the appeal's by default: the answer is in the language of the
   appeal), paragraphs (one a line, in the first person; a template line per decision can be put in),
   an optional table (simple rows), images (the appeal's JPEG attachments, or a new one uploaded
   with POST /appeals/{id}/attachments), the competent body where the question is outside the
   police's competence (R15); submit, then a preview of draft.docx. What is typed stays while the
   detail is redrawn (an upload, a refresh). */
import { S } from '../state.js';
import { AP_DECISIONS, AppealDetail, AppealList, actGroup, apPath, codeSelect, fileButton, fileStem, refSelect } from './appeal_detail.js';
import { api, showError } from '../../kit/api.js';
import { dataText, h, tx } from '../../kit/dom.js';
import { I18N, applyLang } from '../../kit/i18n.js';

/* The largest image the browser sends (the server has its own limit and answers attachment_too_large). */
var MAX_UPLOAD_BYTES = 10 * 1024 * 1024;
var TABLE_COLUMNS = 3;

function isJpeg(f) { return /^image\/jpe?g$/i.test(f.content_type || ''); }

export function OfficerAppealsView(panel) {
  var drafts = {};
  var list = AppealList('ap-mine', 'ap.mine.title', '/appeals?mine=true&limit=200', function (s) { detail.show(s.id); });
  var detail = AppealDetail({ hint: 'ap.mine.hint', actions: actions, onChange: function () { list.load(); } });
  panel.appendChild(h('div', { class: 'layout-2 ap-layout' }, [
    h('div', { class: 'col' }, [list.el]),
    h('div', { class: 'col col-side' }, [detail.el])
  ]));

  function stateOf(a) {
    if (!drafts[a.id]) {
      drafts[a.id] = { decision: 'explained', language: a.language || 'ru', text: '', body: '', images: {},
        table: { on: false, header: ['', '', ''], rows: [['', '', '']] } };
    }
    return drafts[a.id];
  }

  function actions(x) {
    var a = x.a, out = [];
    if (a.status === 'in_work') out.push(draftForm(x));
    if ((a.drafts || []).length) {
      out.push(actGroup('ap.draft.preview.title', [fileButton({ path: apPath(a.id, '/draft.docx'), name: fileStem(a) + '-draft.docx',
        tid: 'ap-draft-preview', i18n: 'ap.draft.preview' })], 'ap-preview-group'));
    }
    return out;
  }

  function tableEditor(st) {
    var grid = h('div', { class: 'ap-table-edit', tid: 'ap-table-edit' });
    function cell(arr, i, tidName) {
      var c = h('input', { type: 'text', tid: tidName, value: arr[i] || '' });
      c.addEventListener('input', function () { arr[i] = c.value; });
      return c;
    }
    function draw() {
      grid.textContent = '';
      grid.appendChild(h('div', { class: 'ap-trow ap-thead' }, st.table.header.map(function (v, i) { return cell(st.table.header, i, 'ap-table-head'); })));
      st.table.rows.forEach(function (r) {
        grid.appendChild(h('div', { class: 'ap-trow' }, r.map(function (v, i) { return cell(r, i, 'ap-table-cell'); })));
      });
    }
    draw();
    var add = h('button', { type: 'button', class: 'btn btn-xs btn-ghost', tid: 'ap-table-add-row', i18n: 'ap.table.add_row', onclick: function () {
      var r = []; for (var i = 0; i < TABLE_COLUMNS; i++) r.push('');
      st.table.rows.push(r); draw();
    } });
    var on = h('input', { type: 'checkbox', tid: 'ap-table-on', id: 'ap-table-on', checked: st.table.on });
    var body = h('div', null, [h('div', { class: 'small muted', i18n: 'ap.table.hint' }), grid, add]);
    body.hidden = !st.table.on;
    on.addEventListener('change', function () { st.table.on = on.checked; body.hidden = !on.checked; });
    return h('div', { class: 'ap-table-box' }, [h('label', { class: 'check', for: 'ap-table-on' }, [on, ' ', tx('ap.table.on')]), body]);
  }

  function imagesBox(x, st) {
    var a = x.a;
    var jpegs = (a.attachments || []).filter(isJpeg);
    var kids = jpegs.map(function (f) {
      var c = h('input', { type: 'checkbox', tid: 'ap-image-pick', 'data-sha': f.sha256, checked: !!st.images[f.sha256] });
      c.addEventListener('change', function () { st.images[f.sha256] = c.checked; });
      return h('label', { class: 'check' }, [c, ' ', dataText(f.file_name || f.sha256.slice(0, 12))]);
    });
    if (!jpegs.length) kids.push(h('span', { class: 'muted small', i18n: 'ap.images.none' }));
    var file = h('input', { type: 'file', accept: 'image/jpeg', tid: 'ap-image-upload' });
    var err = h('div', { class: 'error', style: 'display:none', role: 'alert' });
    file.addEventListener('change', function () {
      var fl = file.files && file.files[0];
      if (!fl) return;
      if (fl.size > MAX_UPLOAD_BYTES) { err.style.display = ''; err.setAttribute('data-i18n', 'err.attachment_too_large'); applyLang(err); return; }
      var before = {};
      (a.attachments || []).forEach(function (f) { before[f.sha256] = true; });
      var rd = new FileReader();
      rd.onload = function () {
        var b64 = String(rd.result).replace(/^data:[^,]*,/, '');
        x.run(file, function () {
          return api('POST', apPath(a.id, '/attachments'), { file_name: fl.name, content_type: fl.type || 'image/jpeg', data_base64: b64 }).then(function (res) {
            var sha = res && res.sha256;
            var atts = (res && res.attachments) || [];
            if (!sha) atts.forEach(function (f) { if (!before[f.sha256]) sha = f.sha256; });
            if (sha) st.images[sha] = true;
            return res && res.id && res.status ? res : null;
          });
        }, 'ap.images.uploaded');
      };
      rd.readAsDataURL(fl);
    });
    return h('div', { class: 'ap-images', tid: 'ap-images' }, [h('div', { class: 'lbl small', i18n: 'ap.images' }), h('div', { class: 'roles' }, kids),
      h('div', { class: 'row' }, [tx('ap.images.upload', 'small'), file]), err]);
  }

  function draftForm(x) {
    var a = x.a, st = stateOf(a);
    var decision = codeSelect('ap.decision', AP_DECISIONS, 'ap-draft-decision', st.decision);
    var language = codeSelect('lang', ['kk', 'ru'], 'ap-draft-language', st.language);
    var bodyRow = h('div', { class: 'row' }, [tx('ap.competent_body'), refSelect('external_bodies', 'ap-draft-body', st.body, 'not_selected')]);
    bodyRow.querySelector('select').addEventListener('change', function (ev) { st.body = ev.target.value; });
    function showBody() { bodyRow.hidden = ['outside_competence', 'redirected'].indexOf(decision.value) < 0; }
    decision.addEventListener('change', function () { st.decision = decision.value; showBody(); });
    language.addEventListener('change', function () { st.language = language.value; });
    showBody();
    var text = h('textarea', { rows: '8', tid: 'ap-draft-text', ph: 'ap.draft.text.ph', value: st.text });
    text.addEventListener('input', function () { st.text = text.value; });
    /* A template line for the decision, in the answer's language (not the screen's). */
    var tpl = h('button', { type: 'button', class: 'btn btn-xs btn-ghost', tid: 'ap-draft-template', i18n: 'ap.draft.template' });
    tpl.addEventListener('click', function () {
      var d = I18N.app[language.value] || {};
      var line = d['ap.tpl.' + decision.value] || '';
      text.value = line + (text.value ? '\n' + text.value : '');
      st.text = text.value;
      text.focus();
    });
    var btn = h('button', { type: 'button', class: 'btn btn-primary', tid: 'ap-draft-submit', i18n: 'ap.draft.submit' });
    btn.addEventListener('click', function () {
      var paragraphs = text.value.split(/\n+/).map(function (s) { return s.trim(); }).filter(Boolean);
      if (!paragraphs.length) { text.focus(); return; }
      var body = { decision: decision.value, language: language.value, paragraphs: paragraphs,
        images: Object.keys(st.images).filter(function (k) { return st.images[k]; }) };
      if (st.table.on) {
        var tbl = tableOf(st.table);
        if (tbl.missing >= 0) {
          var heads = panel.querySelectorAll('[data-testid="ap-table-head"]');
          showError(tableErr, { status: 422, code: 'required', field: 'table' });
          if (heads[tbl.missing]) heads[tbl.missing].focus();
          return;
        }
        if (tbl.rows.length) body.table = { header: tbl.header, rows: tbl.rows };
      }
      showError(tableErr, null);
      if (!bodyRow.hidden && st.body) body.competent_body = st.body;
      x.run(btn, x.post('/draft', body), 'ap.draft.submitted').then(function (res) { if (res) delete drafts[a.id]; });
    });
    var tableErr = h('div', { class: 'error', tid: 'ap-table-error', style: 'display:none', role: 'alert' });
    return actGroup('ap.draft.title', [
      h('div', { class: 'row' }, [tx('ap.decision'), decision, tx('ap.language'), language]),
      (S.ref && (S.ref.external_bodies || []).length) ? bodyRow : null,
      h('div', { class: 'small muted', i18n: 'ap.draft.hint' }),
      text, h('div', { class: 'row' }, [tpl]),
      tableEditor(st), tableErr, imagesBox(x, st),
      h('div', { class: 'form-actions' }, [btn])
    ], 'ap-draft-group');
  }

  /* The table as sent: the rows with something in them, the columns with a heading or a cell;
     `missing`: the first kept column without a heading (-1: none). */
  function tableOf(tb) {
    var trim = function (v) { return (v || '').trim(); };
    var rows = tb.rows.filter(function (r) { return r.some(function (c) { return trim(c); }); });
    var cols = [];
    tb.header.forEach(function (hd, i) {
      if (trim(hd) || rows.some(function (r) { return trim(r[i]); })) cols.push(i);
    });
    var missing = -1;
    cols.forEach(function (i) { if (missing < 0 && !trim(tb.header[i])) missing = i; });
    return {
      header: cols.map(function (i) { return trim(tb.header[i]); }),
      rows: rows.map(function (r) { return cols.map(function (i) { return trim(r[i]); }); }),
      missing: missing
    };
  }

  function load() { list.load(); if (detail.id) detail.reload(); }
  load();
  return { onShow: load };
}
