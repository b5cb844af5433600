/* Login: offline when this terminal knows the officer (the password opens its data), else
   confirmed by the node. A notice (revocation, end of shift, idle logout) is shown above. */
import { h, toast } from '../../kit/dom.js';
import { showError } from '../../kit/api.js';
import { fapi } from '../fapi.js';

export function renderLogin(root, st, done) {
  const login = h('input', { type: 'text', name: 'login', autocomplete: 'username', tid: 'login-login', class: 'big-input' });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', tid: 'login-password', class: 'big-input' });
  const newCrew = h('input', { type: 'checkbox', tid: 'login-new-crew' });
  const crewRow = h('label', { class: 'crew-row', style: 'display:none' }, [newCrew, ' ', h('span', { i18n: 'login.new_crew' })]);
  const err = h('div', { class: 'error', tid: 'login-error', style: 'display:none' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary big-btn', tid: 'login-submit', i18n: 'login.submit' });
  function send(ev) {
    ev.preventDefault();
    submit.disabled = true;
    showError(err, null);
    fapi('POST', '/login', { login: login.value.trim(), password: password.value, new_crew: newCrew.checked })
      .then(function (r) {
        toast({ key: 'login.mode.' + r.mode });
        done();
      }, function (e) {
        submit.disabled = false;
        if (e.code === 'other_crew') crewRow.style.display = '';
        showError(err, e);
      });
  }
  const known = (st.officers || []).length ? h('p', { class: 'muted' }, [h('span', { data: st.officers.join(', '), tid: 'known-officers' })]) : null;
  root.appendChild(h('section', { class: 'login-box' }, [
    st.notice ? h('div', { class: 'notice', tid: 'notice', 'data-notice': st.notice, i18n: 'notice.' + st.notice }) : null,
    h('h1', { i18n: 'login.title' }),
    h('p', { class: 'muted', i18n: 'login.hint' }),
    known,
    h('form', { onsubmit: send, tid: 'login-form' }, [
      h('label', {}, [h('span', { i18n: 'login.login' }), login]),
      h('label', {}, [h('span', { i18n: 'login.password' }), password]),
      crewRow, err, submit
    ])
  ]));
  login.focus();
}
