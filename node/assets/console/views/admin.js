/* Administration: accounts (R18) and the audit log. */
import { ALL_ROLES, label, refOptions, toast } from '../state.js';
import { api, showError } from '../../kit/api.js';
import { clear, h, tx } from '../../kit/dom.js';
import { t } from '../../kit/i18n.js';
import { session } from '../../kit/session.js';

export function AdminView(panel) {
  var f = {
    login: h('input', { type: 'text', id: 'acc-login', tid: 'acc-login', autocomplete: 'off', required: true }),
    full_name: h('input', { type: 'text', id: 'acc-fullname', tid: 'acc-fullname', autocomplete: 'off', required: true }),
    password: h('input', { type: 'password', id: 'acc-password', tid: 'acc-password', autocomplete: 'new-password', required: true }),
    district: h('select', { id: 'acc-district', tid: 'acc-district' }, [h('option', { value: '', i18n: 'not_selected' })].concat(refOptions('districts'))),
    // The service of an appeals manager or officer (reference services, issue 12).
    service: h('select', { id: 'acc-service', tid: 'acc-service' }, [h('option', { value: '', i18n: 'not_selected' })].concat(refOptions('services')))
  };
  var roleBoxes = {};
  var roles = h('div', { class: 'roles' }, ALL_ROLES.map(function (r) {
    roleBoxes[r] = h('input', { type: 'checkbox', value: r, tid: 'acc-role-' + r, id: 'acc-role-' + r });
    return h('label', { class: 'check', for: 'acc-role-' + r }, [roleBoxes[r], ' ', tx('role.' + r)]);
  }));
  var err = h('div', { class: 'error', tid: 'acc-error', style: 'display:none', role: 'alert' });
  var btn = h('button', { type: 'submit', class: 'btn btn-primary', tid: 'acc-create', i18n: 'adm.create' });
  var form = h('form', { class: 'box adm-form', tid: 'acc-form', autocomplete: 'off' }, [
    h('div', { class: 'section-title', i18n: 'adm.create.title' }),
    h('div', { class: 'form-grid' }, [
      h('div', { class: 'fld' }, [h('label', { for: 'acc-login', i18n: 'adm.login' }), f.login]),
      h('div', { class: 'fld w2' }, [h('label', { for: 'acc-fullname', i18n: 'adm.full_name' }), f.full_name]),
      h('div', { class: 'fld' }, [h('label', { for: 'acc-password', i18n: 'adm.password' }), f.password]),
      h('div', { class: 'fld w3' }, [h('span', { class: 'lbl', i18n: 'adm.roles' }), roles]),
      h('div', { class: 'fld' }, [h('label', { for: 'acc-district', i18n: 'adm.district' }), f.district]),
      h('div', { class: 'fld' }, [h('label', { for: 'acc-service', i18n: 'adm.service' }), f.service])
    ]),
    err,
    h('div', { class: 'form-actions' }, [btn])
  ]);
  var tableBox = h('div');
  var listErr = h('div', { class: 'error', tid: 'acc-list-error', style: 'display:none', role: 'alert' });
  panel.appendChild(h('div', { class: 'admin-wrap' }, [form, h('div', { class: 'box' }, [h('div', { class: 'section-title', i18n: 'adm.list' }), listErr, tableBox])]));

  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    showError(err, null);
    var body = {
      login: f.login.value.trim(),
      full_name: f.full_name.value.trim(),
      password: f.password.value,
      roles: ALL_ROLES.filter(function (r) { return roleBoxes[r].checked; })
    };
    if (f.district.value) body.district = f.district.value;
    if (f.service.value) body.service = f.service.value;
    btn.disabled = true;
    api('POST', '/accounts', body).then(function () {
      btn.disabled = false;
      form.reset();
      toast('adm.created');
      load();
    }, function (e) { btn.disabled = false; showError(err, e); });
  });

  var accounts = [];
  function load() {
    return api('GET', '/accounts').then(function (list) {
      accounts = list || [];
      showError(listErr, null);
      render();
    }, function (e) { showError(listErr, e); });
  }
  function patch(login, body, b) {
    if (b) b.disabled = true;
    showError(listErr, null);
    return api('PATCH', '/accounts/' + encodeURIComponent(login), body).then(function () {
      toast('adm.saved');
      return load();
    }, function (e) { if (b) b.disabled = false; showError(listErr, e); });
  }
  function render() {
    var body = h('tbody');
    accounts.slice().sort(function (a, b) { return a.login.localeCompare(b.login); }).forEach(function (u) {
      var boxes = {};
      var rcell = h('div', { class: 'roles roles-inline' }, ALL_ROLES.map(function (r) {
        boxes[r] = h('input', { type: 'checkbox', tid: 'acc-row-role-' + r, checked: (u.roles || []).indexOf(r) >= 0 });
        return h('label', { class: 'check' }, [boxes[r], ' ', tx('role.' + r)]);
      }));
      var save = h('button', { type: 'button', class: 'btn btn-xs', tid: 'acc-save', i18n: 'adm.save_roles' });
      save.addEventListener('click', function () {
        patch(u.login, { roles: ALL_ROLES.filter(function (r) { return boxes[r].checked; }) }, save);
      });
      var toggle = h('button', { type: 'button', class: 'btn btn-xs ' + (u.disabled ? 'btn-ok' : 'btn-ghost'), tid: 'acc-toggle', i18n: u.disabled ? 'adm.enable' : 'adm.disable' });
      toggle.addEventListener('click', function () { patch(u.login, { disabled: !u.disabled }, toggle); });
      var pw = h('input', { type: 'password', class: 'inp-xs', tid: 'acc-new-password', ph: 'adm.new_password', autocomplete: 'new-password' });
      var pwb = h('button', { type: 'button', class: 'btn btn-xs btn-ghost', tid: 'acc-set-password', i18n: 'adm.set_password' });
      pwb.addEventListener('click', function () {
        if (!pw.value) { pw.focus(); return; }
        patch(u.login, { password: pw.value }, pwb);
      });
      var del = h('button', { type: 'button', class: 'btn btn-xs btn-danger', tid: 'acc-delete', i18n: 'adm.delete' });
      var armed = false, disarm = null;
      del.addEventListener('click', function () {
        if (!armed) {
          armed = true;
          del.setAttribute('data-i18n', 'adm.delete.confirm');
          del.textContent = t('adm.delete.confirm');
          del.classList.add('armed');
          disarm = setTimeout(function () {
            armed = false; del.classList.remove('armed');
            del.setAttribute('data-i18n', 'adm.delete'); del.textContent = t('adm.delete');
          }, 5000);
          return;
        }
        clearTimeout(disarm);
        del.disabled = true;
        api('DELETE', '/accounts/' + encodeURIComponent(u.login)).then(function () {
          toast('adm.deleted');
          load();
        }, function (e) { del.disabled = false; showError(listErr, e); });
      });
      // Lifts every login throttle of the account (after too many wrong passwords from an address).
      var unlock = h('button', { type: 'button', class: 'btn btn-xs btn-ghost', tid: 'acc-unlock', i18n: 'adm.unlock', tip: 'adm.unlock.tip' });
      unlock.addEventListener('click', function () {
        unlock.disabled = true;
        api('POST', '/accounts/' + encodeURIComponent(u.login) + '/unlock').then(function () {
          toast('adm.unlocked');
          unlock.disabled = false;
        }, function (e) { unlock.disabled = false; showError(listErr, e); });
      });
      var isSelf = session.user && session.user.login === u.login;
      body.appendChild(h('tr', { tid: 'acc-row-' + u.login, 'data-login': u.login, class: u.disabled ? 'disabled' : '' }, [
        h('td', { class: 'mono b', data: u.login }),
        h('td', { data: u.full_name || '' }),
        h('td', null, [rcell]),
        h('td', null, [u.district ? label('districts', u.district) : null, u.service ? h('div', { class: 'small' }, label('services', u.service)) : null]),
        h('td', null, [h('span', { class: 'badge ' + (u.disabled ? 'acc-off' : 'acc-on'), tid: 'acc-state', 'data-disabled': u.disabled ? '1' : '0', i18n: u.disabled ? 'adm.disabled' : 'adm.active' }),
          u.must_change_password ? h('span', { class: 'badge', tid: 'acc-temporary', i18n: 'adm.temporary', tip: 'adm.temporary.tip' }) : null]),
        h('td', { class: 'acts' }, [save, isSelf ? null : toggle, h('span', { class: 'pw' }, [pw, pwb]), unlock, isSelf ? null : del])
      ]));
    });
    clear(tableBox).appendChild(h('table', { class: 'grid accounts', tid: 'acc-table' }, [
      h('thead', null, h('tr', null, [h('th', { i18n: 'adm.login' }), h('th', { i18n: 'adm.full_name' }), h('th', { i18n: 'adm.roles' }),
        h('th', { i18n: 'adm.district' }), h('th', { i18n: 'adm.state' }), h('th', { i18n: 'adm.actions' })])),
      body
    ]));
  }
  load();
  return { onShow: load };
}
