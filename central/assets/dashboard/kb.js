/* The knowledge base (R19) for kb_editor accounts: every article of the hub with its state, and
   the editor of those of the editor's own service (the account's service, set by the
   administrator). A draft is saved as it is written; publishing makes it the version every
   region's operators search and its bots answer with (it replicates to the nodes); withdrawing
   takes it back. Data: GET/POST /api/v1/kb/articles, GET/PUT /api/v1/kb/articles/{id},
   POST …/publish and …/withdraw. Titles and texts are data in kk and ru; the page's words come
   from i18n.js. */
import { accountsHeader } from './accounts.js';
import { toast } from './state.js';
import { api, showError } from '../kit/api.js';
import { clear, fmtDateTime, h, qs, tx } from '../kit/dom.js';
import { applyLang, onLangToggled, t } from '../kit/i18n.js';
import { session } from '../kit/session.js';

const K = { articles: [], selected: null, filter: '', mineOnly: true, rerender: null };

onLangToggled(function () { if (K.rerender) K.rerender(); });

function mine(a) {
  var u = session.user || {};
  return !!u.service && a.competence === u.service;
}
function day(v) { return v || null; }
function tagsOf(text) {
  return text.split(',').map(function (s) { return s.trim(); }).filter(function (s) { return s.length > 0; });
}

export function renderKbPage() {
  var root = clear(qs('#app'));
  var u = session.user || {};
  var listErr = h('div', { class: 'error', tid: 'kb-list-error', style: 'display:none', role: 'alert' });
  var formErr = h('div', { class: 'error', tid: 'kb-error', style: 'display:none', role: 'alert' });
  var search = h('input', { type: 'search', tid: 'kb-filter', ph: 'kb.filter' });
  var onlyMine = h('input', { type: 'checkbox', tid: 'kb-mine-only', checked: K.mineOnly });
  var list = h('div', { class: 'kb-list', tid: 'kb-list' });
  var editor = h('section', { class: 'box kb-editor', tid: 'kb-editor' });
  var service = u.service
    ? h('span', { class: 'chip', tid: 'kb-service', 'translate': 'no', data: u.service })
    : h('span', { class: 'error', tid: 'kb-no-service', i18n: 'err.kb_no_competence' });
  root.appendChild(accountsHeader(null));
  root.appendChild(h('main', { class: 'main kb-page', tid: 'kb-page' }, [
    h('h2', null, [tx('kb.title'), ' ', service]),
    h('p', { class: 'muted', i18n: 'kb.intro' }),
    listErr,
    h('div', { class: 'kb-layout' }, [
      h('section', { class: 'box' }, [
        h('div', { class: 'box-head' }, [
          search,
          h('label', { class: 'check' }, [onlyMine, ' ', tx('kb.mine_only')]),
          h('span', { class: 'spacer' }),
          h('button', { type: 'button', class: 'btn btn-primary btn-sm', tid: 'kb-new', i18n: 'kb.new', onclick: function () { select(null); } })
        ]),
        list
      ]),
      editor
    ])
  ]));
  root.appendChild(h('div', { id: 'toast', class: 'toast', tid: 'toast', role: 'status' }));
  search.addEventListener('input', function () { K.filter = search.value.trim().toLowerCase(); renderList(); });
  onlyMine.addEventListener('change', function () { K.mineOnly = onlyMine.checked; renderList(); });
  K.rerender = function () { renderList(); renderEditor(); };

  function load(thenSelect) {
    return api('GET', '/kb/articles').then(function (l) {
      K.articles = (l || []).slice().sort(function (a, b) { return b.updated_at - a.updated_at; });
      showError(listErr, null);
      if (thenSelect !== undefined) K.selected = thenSelect;
      K.rerender();
    }, function (e) { showError(listErr, e); });
  }
  function current() {
    return K.selected ? K.articles.find(function (a) { return a.id === K.selected; }) || null : null;
  }
  function select(id) { K.selected = id; showError(formErr, null); renderList(); renderEditor(); }

  function renderList() {
    var rows = K.articles.filter(function (a) {
      if (K.mineOnly && !mine(a)) return false;
      if (!K.filter) return true;
      var c = a.draft;
      return [a.id, c.title.kk, c.title.ru, (c.tags || []).join(' ')].join(' ').toLowerCase().indexOf(K.filter) >= 0;
    });
    var body = h('tbody');
    rows.forEach(function (a) {
      var last = a.versions.length ? a.versions[a.versions.length - 1] : null;
      body.appendChild(h('tr', {
        tid: 'kb-row', 'data-id': a.id, 'data-state': a.state, class: a.id === K.selected ? 'selected' : '',
        onclick: function () { select(a.id); }
      }, [
        h('td', { class: 'mono', 'translate': 'no', data: a.id }),
        h('td', { tid: 'kb-title', translate: 'no', names: a.draft.title }),
        h('td', null, [h('span', { class: 'badge', tid: 'kb-state', i18n: 'kb.state.' + a.state }),
          a.unpublished_changes && a.state !== 'draft' ? h('span', { class: 'badge', tid: 'kb-unpublished', i18n: 'kb.unpublished' }) : null]),
        h('td', { tid: 'kb-version', data: last ? String(last.version) : '—' }),
        h('td', { 'translate': 'no', data: a.competence })
      ]));
    });
    clear(list).appendChild(rows.length ? h('table', { class: 'grid', tid: 'kb-table' }, [
      h('thead', null, h('tr', null, [h('th', { i18n: 'kb.id' }), h('th', { i18n: 'kb.article_title' }), h('th', { i18n: 'kb.state' }),
        h('th', { i18n: 'kb.version' }), h('th', { i18n: 'kb.service' })])),
      body
    ]) : h('p', { class: 'muted', tid: 'kb-empty', i18n: 'kb.empty' }));
    applyLang(list);
  }

  function renderEditor() {
    var a = current();
    var own = !a || mine(a);
    var c = a ? a.draft : { title: { kk: '', ru: '' }, body: { kk: '', ru: '' }, tags: [], valid_from: null, valid_until: null };
    var field = function (tag, attrs, value) {
      var el = h(tag, Object.assign({ disabled: !own }, attrs));
      el.value = value || '';
      return el;
    };
    var f = {
      id: a ? null : field('input', { type: 'text', tid: 'kb-id', id: 'kb-id', autocomplete: 'off', ph: 'kb.id_hint' }, ''),
      title_kk: field('input', { type: 'text', tid: 'kb-title-kk', id: 'kb-title-kk', lang: 'kk' }, c.title.kk),
      title_ru: field('input', { type: 'text', tid: 'kb-title-ru', id: 'kb-title-ru', lang: 'ru' }, c.title.ru),
      body_kk: field('textarea', { tid: 'kb-body-kk', id: 'kb-body-kk', rows: 7, lang: 'kk' }, c.body.kk),
      body_ru: field('textarea', { tid: 'kb-body-ru', id: 'kb-body-ru', rows: 7, lang: 'ru' }, c.body.ru),
      tags: field('input', { type: 'text', tid: 'kb-tags', id: 'kb-tags', ph: 'kb.tags_hint' }, (c.tags || []).join(', ')),
      from: field('input', { type: 'date', tid: 'kb-valid-from', id: 'kb-valid-from' }, c.valid_from),
      until: field('input', { type: 'date', tid: 'kb-valid-until', id: 'kb-valid-until' }, c.valid_until)
    };
    function content() {
      return {
        title: { kk: f.title_kk.value.trim(), ru: f.title_ru.value.trim() },
        body: { kk: f.body_kk.value.trim(), ru: f.body_ru.value.trim() },
        tags: tagsOf(f.tags.value),
        valid_from: day(f.from.value),
        valid_until: day(f.until.value)
      };
    }
    function act(button, call, doneKey) {
      button.disabled = true;
      showError(formErr, null);
      return call().then(function (r) {
        var art = r && (r.article || r);
        toast(t(doneKey), 'ok');
        return load(art && art.id ? art.id : K.selected);
      }, function (e) { button.disabled = false; showError(formErr, e); });
    }
    var save = h('button', { type: 'button', class: 'btn btn-primary', tid: 'kb-save', i18n: 'kb.save', disabled: !own });
    save.addEventListener('click', function () {
      if (a) {
        act(save, function () { return api('PUT', '/kb/articles/' + encodeURIComponent(a.id), { content: content() }); }, 'kb.saved');
      } else {
        var body = { content: content() };
        if (f.id.value.trim()) body.id = f.id.value.trim();
        act(save, function () { return api('POST', '/kb/articles', body); }, 'kb.saved');
      }
    });
    var publish = a ? h('button', { type: 'button', class: 'btn', tid: 'kb-publish', i18n: 'kb.publish',
      disabled: !own || (a.state === 'published' && !a.unpublished_changes) }) : null;
    if (publish) {
      publish.addEventListener('click', function () {
        act(publish, function () { return api('POST', '/kb/articles/' + encodeURIComponent(a.id) + '/publish'); }, 'kb.published');
      });
    }
    var withdraw = a && a.state === 'published' ? h('button', { type: 'button', class: 'btn btn-danger', tid: 'kb-withdraw', i18n: 'kb.withdraw', disabled: !own }) : null;
    if (withdraw) {
      var armed = false;
      withdraw.addEventListener('click', function () {
        if (!armed) { armed = true; withdraw.setAttribute('data-i18n', 'kb.withdraw.confirm'); withdraw.textContent = t('kb.withdraw.confirm'); return; }
        act(withdraw, function () { return api('POST', '/kb/articles/' + encodeURIComponent(a.id) + '/withdraw'); }, 'kb.withdrawn');
      });
    }
    var versions = a && a.versions.length ? h('table', { class: 'grid', tid: 'kb-versions' }, [
      h('thead', null, h('tr', null, [h('th', { i18n: 'kb.version' }), h('th', { i18n: 'kb.published_at' }), h('th', { i18n: 'kb.published_by' })])),
      h('tbody', null, a.versions.slice().reverse().map(function (v) {
        return h('tr', { tid: 'kb-version-row', 'data-version': String(v.version) }, [
          h('td', { data: String(v.version) }), h('td', { data: fmtDateTime(v.published_at) }),
          h('td', { 'translate': 'no', data: v.published_by })]);
      }))
    ]) : null;
    var label = function (forId, key) { return h('label', { for: forId, i18n: key }); };
    clear(editor);
    editor.appendChild(h('div', { class: 'box-head' }, [
      h('span', { class: 'box-title', tid: 'kb-editor-title', i18n: a ? 'kb.edit' : 'kb.new' }),
      a ? h('span', { class: 'mono kb-editor-id', 'translate': 'no', tid: 'kb-editor-id', data: a.id }) : null,
      h('span', { class: 'spacer' }),
      a ? h('span', { class: 'badge', i18n: 'kb.state.' + a.state }) : null
    ]));
    if (!own) editor.appendChild(h('p', { class: 'muted', tid: 'kb-readonly', i18n: 'err.kb_not_your_competence' }));
    editor.appendChild(h('div', { class: 'kb-form' }, [
      f.id ? label('kb-id', 'kb.id') : null, f.id,
      label('kb-title-kk', 'kb.title_kk'), f.title_kk,
      label('kb-title-ru', 'kb.title_ru'), f.title_ru,
      label('kb-body-kk', 'kb.body_kk'), f.body_kk,
      label('kb-body-ru', 'kb.body_ru'), f.body_ru,
      label('kb-tags', 'kb.tags'), f.tags,
      h('div', { class: 'kb-dates' }, [label('kb-valid-from', 'kb.valid_from'), f.from, label('kb-valid-until', 'kb.valid_until'), f.until]),
      formErr,
      h('div', { class: 'acts' }, [save, publish, withdraw])
    ]));
    if (versions) editor.appendChild(h('div', null, [h('div', { class: 'box-title', i18n: 'kb.versions' }), versions]));
    applyLang(editor);
  }

  applyLang(root);
  renderList();
  renderEditor();
  load();
}
