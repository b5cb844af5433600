/* HQ accounts (admin): the administrator creates HQ accounts (hq_duty: watches and writes notes;
   hq_analyst: reads), gives temporary passwords, disables, lifts login throttles and deletes;
   reads no cards. */
import { ACCOUNT_ROLES, toast } from './state.js';
import { api, showError } from '../kit/api.js';
import { clear, h, langButton, qs, tx } from '../kit/dom.js';
import { applyLang, t } from '../kit/i18n.js';
import { logout, renderPasswordChange, session } from '../kit/session.js';

export function accountsHeader(extra) {
  var u = session.user || {};
  return h('header', { class: 'topbar' }, [
    h('div', { class: 'brand' }, [h('span', { class: 'emblem', text: '102' }), h('span', { class: 'brand-title', i18n: 'app.title' })]),
    h('div', { class: 'spacer' }),
    extra,
    h('div', { class: 'who' }, [h('span', { class: 'who-name', tid: 'user-name', data: u.full_name || u.login || '' }),
      h('span', { class: 'who-roles' }, (u.roles || []).map(function (r) { return h('span', { class: 'chip', i18n: 'role.' + r }); }))]),
    langButton(),
    h('button', { type: 'button', class: 'btn btn-ghost', tid: 'change-password', i18n: 'pw.title', onclick: function () { renderPasswordChange(null); } }),
    h('button', { type: 'button', class: 'btn btn-ghost', tid: 'logout', i18n: 'logout', onclick: logout })
  ]);
}

export function renderAccountsPage() {
  var root = clear(qs('#app'));
  var listErr = h('div', { class: 'error', tid: 'acc-list-error', style: 'display:none', role: 'alert' });
  var formErr = h('div', { class: 'error', tid: 'acc-error', style: 'display:none', role: 'alert' });
  var f = {
    login: h('input', { type: 'text', tid: 'acc-login', id: 'acc-login', autocomplete: 'off' }),
    name: h('input', { type: 'text', tid: 'acc-fullname', id: 'acc-fullname', autocomplete: 'off' }),
    password: h('input', { type: 'password', tid: 'acc-password', id: 'acc-password', autocomplete: 'new-password' }),
    service: h('input', { type: 'text', tid: 'acc-service', id: 'acc-service', autocomplete: 'off', ph: 'adm.service_hint' })
  };
  var roleBoxes = {};
  var roles = h('div', { class: 'roles' }, ACCOUNT_ROLES.map(function (r) {
    roleBoxes[r] = h('input', { type: 'checkbox', tid: 'acc-role-' + r });
    return h('label', { class: 'check' }, [roleBoxes[r], ' ', tx('role.' + r)]);
  }));
  var create = h('button', { type: 'submit', class: 'btn btn-primary', tid: 'acc-create', i18n: 'adm.create' });
  var form = h('form', { class: 'acc-form box', tid: 'acc-form' }, [
    h('div', { class: 'box-title', i18n: 'adm.new' }),
    h('label', { for: 'acc-login', i18n: 'adm.login' }), f.login,
    h('label', { for: 'acc-fullname', i18n: 'adm.full_name' }), f.name,
    h('label', { for: 'acc-password', i18n: 'adm.temp_password' }), f.password,
    roles,
    h('label', { for: 'acc-service', i18n: 'adm.service' }), f.service,
    formErr, create
  ]);
  var table = h('div', { tid: 'acc-table-box' });
  root.appendChild(accountsHeader(null));
  root.appendChild(h('main', { class: 'main accounts-page' }, [h('h2', { i18n: 'adm.title' }), listErr, form, table]));
  root.appendChild(h('div', { id: 'toast', class: 'toast', tid: 'toast', role: 'status' }));
  var accounts = [];
  function load() {
    api('GET', '/accounts').then(function (l) { accounts = l || []; showError(listErr, null); render(); },
      function (e) { showError(listErr, e); });
  }
  function act(p, body, b, method) {
    if (b) b.disabled = true;
    return api(method || 'PATCH', p, body).then(function () { toast(t('adm.saved'), 'ok'); load(); },
      function (e) { if (b) b.disabled = false; showError(listErr, e); });
  }
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    showError(formErr, null);
    create.disabled = true;
    var body = {
      login: f.login.value.trim(), full_name: f.name.value.trim(), password: f.password.value,
      roles: ACCOUNT_ROLES.filter(function (r) { return roleBoxes[r].checked; })
    };
    if (f.service.value.trim()) body.service = f.service.value.trim();
    api('POST', '/accounts', body).then(function () {
      create.disabled = false;
      f.login.value = ''; f.name.value = ''; f.password.value = ''; f.service.value = '';
      ACCOUNT_ROLES.forEach(function (r) { roleBoxes[r].checked = false; });
      toast(t('adm.created'), 'ok');
      load();
    }, function (e) { create.disabled = false; showError(formErr, e); });
  });
  function render() {
    var body = h('tbody');
    accounts.forEach(function (u) {
      var path = '/accounts/' + encodeURIComponent(u.login);
      var boxes = {};
      var rcell = h('div', { class: 'roles roles-inline' }, ACCOUNT_ROLES.map(function (r) {
        boxes[r] = h('input', { type: 'checkbox', tid: 'acc-row-role-' + r, checked: (u.roles || []).indexOf(r) >= 0 });
        return h('label', { class: 'check' }, [boxes[r], ' ', tx('role.' + r)]);
      }));
      var save = h('button', { type: 'button', class: 'btn btn-xs', tid: 'acc-save', i18n: 'adm.save_roles' });
      save.addEventListener('click', function () { act(path, { roles: ACCOUNT_ROLES.filter(function (r) { return boxes[r].checked; }) }, save); });
      var toggle = h('button', { type: 'button', class: 'btn btn-xs btn-ghost', tid: 'acc-toggle', i18n: u.disabled ? 'adm.enable' : 'adm.disable' });
      toggle.addEventListener('click', function () { act(path, { disabled: !u.disabled }, toggle); });
      var pw = h('input', { type: 'password', class: 'inp-xs', tid: 'acc-new-password', ph: 'adm.temp_password', autocomplete: 'new-password' });
      var pwb = h('button', { type: 'button', class: 'btn btn-xs btn-ghost', tid: 'acc-set-password', i18n: 'adm.set_password' });
      pwb.addEventListener('click', function () { if (!pw.value) { pw.focus(); return; } act(path, { password: pw.value }, pwb); });
      var unlock = h('button', { type: 'button', class: 'btn btn-xs btn-ghost', tid: 'acc-unlock', i18n: 'adm.unlock' });
      unlock.addEventListener('click', function () { act(path + '/unlock', undefined, unlock, 'POST'); });
      var del = h('button', { type: 'button', class: 'btn btn-xs btn-danger', tid: 'acc-delete', i18n: 'adm.delete' });
      var armed = false;
      del.addEventListener('click', function () {
        if (!armed) { armed = true; del.setAttribute('data-i18n', 'adm.delete.confirm'); del.textContent = t('adm.delete.confirm'); return; }
        act(path, undefined, del, 'DELETE');
      });
      var self = session.user && session.user.login === u.login;
      body.appendChild(h('tr', { tid: 'acc-row-' + u.login, 'data-login': u.login }, [
        h('td', { class: 'mono b' }, [h('span', { data: u.login }), u.service ? h('div', { class: 'muted', tid: 'acc-row-service', data: u.service }) : null]),
        h('td', { data: u.full_name || '' }),
        h('td', null, rcell),
        h('td', null, [h('span', { class: 'badge', tid: 'acc-state', 'data-disabled': u.disabled ? '1' : '0', i18n: u.disabled ? 'adm.disabled' : 'adm.active' }),
          u.must_change_password ? h('span', { class: 'badge', tid: 'acc-temporary', i18n: 'adm.temporary' }) : null]),
        h('td', { class: 'acts' }, [save, self ? null : toggle, pw, pwb, unlock, self ? null : del])
      ]));
    });
    clear(table).appendChild(h('table', { class: 'grid accounts', tid: 'acc-table' }, [
      h('thead', null, h('tr', null, [h('th', { i18n: 'adm.login' }), h('th', { i18n: 'adm.full_name' }), h('th', { i18n: 'adm.roles' }),
        h('th', { i18n: 'adm.state' }), h('th', { i18n: 'adm.actions' })])),
      body
    ]));
    applyLang(table);
  }
  applyLang(root);
  load();
}
