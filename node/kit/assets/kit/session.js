/* The session: login form, setting one's own password (forced after a temporary one, or chosen
   from the top bar), logout, and the end of a session the server no longer knows. The
   application says what a login starts and what a logout clears. */
import { h, qs, clear, langButton, toast } from './dom.js';
import { t, applyLang } from './i18n.js';
import { api, auth, showError } from './api.js';
import { ssGet, ssSet } from './storage.js';

export const session = { user: null };
const app = {
  tokenKey: null, titleKey: 'app.title', accept: null, start: null, teardown: null, onUser: null
};

/* opts: tokenKey (session storage), titleKey (the login box's title), accept(user) -> error key
   or null (who may use this application), start() after login, teardown() on logout, onUser(user)
   whenever the account changes. */
export function setupSession(opts) {
  Object.assign(app, opts);
  auth.token = ssGet(app.tokenKey);
  auth.onUnauthorized = onUnauthorized;
}
export function hasRole(r) { const u = session.user; return !!(u && u.roles && u.roles.indexOf(r) >= 0); }

function setUser(u) {
  session.user = u;
  if (app.onUser) app.onUser(u);
}
export function endSession() {
  session.user = null;
  auth.token = null;
  ssSet(app.tokenKey, null);
  if (app.teardown) app.teardown();
}
function onUnauthorized() {
  if (!session.user) return;
  endSession();
  renderLogin('login.session_expired');
}
export function logout() {
  api('POST', '/auth/logout').catch(function () { return null; }).then(function () {
    endSession();
    renderLogin(null);
  });
}

export function renderLogin(msgKey) {
  const root = clear(qs('#app'));
  const err = h('div', { class: 'error', tid: 'login-error', style: 'display:none', role: 'alert' });
  const login = h('input', { type: 'text', name: 'login', autocomplete: 'username', required: true, tid: 'login-login', id: 'f-login' });
  const pass = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true, tid: 'login-password', id: 'f-pass' });
  const btn = h('button', { type: 'submit', class: 'btn btn-primary', tid: 'login-submit', i18n: 'login.submit' });
  const form = h('form', { class: 'login-box', tid: 'login-form', autocomplete: 'on' }, [
    h('div', { class: 'login-head' }, [
      h('div', { class: 'login-emblem', text: '102' }),
      h('div', null, [h('div', { class: 'login-title', i18n: app.titleKey }), h('div', { class: 'muted', i18n: 'app.subtitle' })]),
      langButton()
    ]),
    h('h2', { i18n: 'login.title' }),
    msgKey ? h('div', { class: 'notice', i18n: msgKey, tid: 'login-notice' }) : null,
    h('label', { for: 'f-login', i18n: 'login.login' }), login,
    h('label', { for: 'f-pass', i18n: 'login.password' }), pass,
    err,
    btn,
    h('p', { class: 'muted small', i18n: 'login.hint' })
  ]);
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    showError(err, null);
    btn.disabled = true;
    const typed = pass.value;
    api('POST', '/auth/login', { login: login.value.trim(), password: typed }).then(function (res) {
      if (!res || !res.token) throw new Error(t('err.generic'));
      const refused = res.user && app.accept ? app.accept(res.user) : null;
      if (refused) {
        btn.disabled = false;
        pass.value = '';
        showError(err, t(refused));
        return null;
      }
      auth.token = res.token;
      ssSet(app.tokenKey, res.token);
      setUser(res.user || { login: login.value.trim(), roles: [] });
      if (session.user.must_change_password) { renderPasswordChange(typed); return null; }
      return app.start();
    }).catch(function (e) {
      btn.disabled = false;
      pass.value = '';
      showError(err, e);
    });
  });
  root.appendChild(form);
  applyLang(root);
  login.focus();
}

/* `known` is the password just typed at the login, so it is not asked twice. */
export function renderPasswordChange(known) {
  const forced = !!(session.user && session.user.must_change_password);
  const err = h('div', { class: 'error', tid: 'pw-error', style: 'display:none', role: 'alert' });
  const cur = h('input', { type: 'password', autocomplete: 'current-password', tid: 'pw-current', id: 'f-pw-cur' });
  const nw = h('input', { type: 'password', autocomplete: 'new-password', tid: 'pw-new', id: 'f-pw-new' });
  const rep = h('input', { type: 'password', autocomplete: 'new-password', tid: 'pw-repeat', id: 'f-pw-rep' });
  const btn = h('button', { type: 'submit', class: 'btn btn-primary', tid: 'pw-submit', i18n: 'pw.submit' });
  let box = null;
  const cancel = forced
    ? h('button', { type: 'button', class: 'btn btn-ghost', tid: 'pw-logout', i18n: 'logout', onclick: logout })
    : h('button', { type: 'button', class: 'btn btn-ghost', tid: 'pw-cancel', i18n: 'pw.cancel', onclick: function () { box.remove(); } });
  const form = h('form', { class: 'login-box', tid: 'pw-form' }, [
    h('h2', { i18n: 'pw.title' }),
    forced ? h('div', { class: 'notice', tid: 'pw-forced', i18n: 'pw.forced' }) : null,
    known ? null : h('label', { for: 'f-pw-cur', i18n: 'pw.current' }), known ? null : cur,
    h('label', { for: 'f-pw-new', i18n: 'pw.new' }), nw,
    h('label', { for: 'f-pw-rep', i18n: 'pw.repeat' }), rep,
    h('p', { class: 'muted small', i18n: 'pw.rules' }),
    err, btn, cancel
  ]);
  box = forced ? form : h('div', { class: 'modal', tid: 'pw-modal' }, [form]);
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    showError(err, null);
    if (nw.value !== rep.value) { showError(err, t('err.pw_mismatch')); return; }
    btn.disabled = true;
    api('POST', '/auth/password', { current_password: known || cur.value, new_password: nw.value }).then(function (u) {
      setUser(u);
      if (forced) return app.start();
      box.remove();
      toast({ key: 'pw.changed' }, 'ok');
      return null;
    }).catch(function (e) {
      btn.disabled = false;
      showError(err, e);
    });
  });
  if (forced) clear(qs('#app')).appendChild(box); else document.body.appendChild(box);
  applyLang(box);
  (known ? nw : cur).focus();
}
