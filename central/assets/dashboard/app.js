/* HQ dashboard of the МВД central hub: one national operational picture (R21).
   Plain ES2019 for Chrome >= 86 and Firefox >= 82: no modules, no build step, no framework, no
   external resources. Texts come from i18n.js (window.I18N); charts are inline SVG.
   Data: GET /api/v1/regions, /summary, /cards (national queue), /cards/{region}/{id}; live updates
   from the SSE stream GET /api/v1/events (events `region` and `card`), read with fetch so that the
   Bearer token goes in the Authorization header; everything is refetched on every (re)connect and
   every 10 s. */
(function () {
  'use strict';

  var API = '/api/v1';
  var LS_LANG = 'central_dashboard_lang';
  var LS_MODE = 'central_dashboard_chart_mode';
  var SS_TOKEN = 'central_dashboard_token';
  var SS_USER = 'central_dashboard_user';
  var REFRESH_MS = 10000;
  var QUEUE_LIMIT = 500;
  var HOUR = 3600 * 1000;
  var DAY = 24 * HOUR;
  var KZ_OFFSET = 5 * HOUR; // the hub's per-day statistics count Kazakhstan days (UTC+5)
  var OPEN = ['new', 'sent_for_processing', 'dispatched', 'on_scene', 'reported'];
  var TERMINAL = ['closed', 'cancelled', 'linked_duplicate'];
  // Who reads the national picture; the account administrator manages HQ accounts only.
  var HQ_ROLES = ['hq_duty', 'hq_analyst'];
  var ACCOUNT_ROLES = ['hq_duty', 'hq_analyst', 'admin'];
  var CHANNELS = ['app102_call', 'app102_text', 'zakon_poryadok_call', 'zakon_poryadok_text', 'sos_video',
    'telegram', 'vkontakte', 'web_widget', 'email'];
  var STATUS_COLOR = {
    'new': '#9aa6b2', sent_for_processing: '#f0a030', dispatched: '#4a86d0', on_scene: '#8a63cf',
    reported: '#2fa39a', closed: '#4f9d63', cancelled: '#b0b0b0', linked_duplicate: '#c4c4c4'
  };
  var PALETTE = ['#1f5fa8', '#e8710a', '#2d7d46', '#b3261e', '#8a63cf', '#0f8b8d', '#c9a227', '#6b4d9e',
    '#d45087', '#5c7a29', '#7a3d00', '#3e6e9e', '#a05195', '#00876c', '#ef5675', '#665191'];

  var S = {
    lang: readLang(),
    token: ssGet(SS_TOKEN),
    user: readUser(),
    regions: [],
    summary: null,
    skew: 0,
    queue: [],
    loaded: false,
    loadSeq: 0,
    loading: null,
    reloadAgain: false,
    refreshTimer: null,
    pollTimer: null,
    es: null,
    esTimer: null,
    esBackoff: 1000,
    mode: readMode(),
    filterRegion: '',
    filterStatus: '',
    detail: null,
    lastRefresh: 0
  };

  /* ------------------------------------------------------------------ small helpers */

  function readLang() {
    var l = null;
    try { l = window.localStorage.getItem(LS_LANG); } catch (e) { l = null; }
    return l === 'kk' || l === 'ru' ? l : 'ru';
  }
  function readMode() {
    var m = null;
    try { m = window.localStorage.getItem(LS_MODE); } catch (e) { m = null; }
    return m === 'channel' ? 'channel' : 'region';
  }
  function readUser() {
    try { return JSON.parse(window.sessionStorage.getItem(SS_USER) || 'null'); } catch (e) { return null; }
  }
  function ssGet(k) { try { return window.sessionStorage.getItem(k); } catch (e) { return null; } }
  function ssSet(k, v) {
    try { if (v == null) window.sessionStorage.removeItem(k); else window.sessionStorage.setItem(k, v); } catch (e) { /* private mode */ }
  }
  function lsSet(k, v) { try { window.localStorage.setItem(k, v); } catch (e) { /* ignore */ } }

  function dict() { return window.I18N[S.lang] || window.I18N.ru; }
  function known(k) { return Object.prototype.hasOwnProperty.call(window.I18N.ru, k); }
  function t(k) {
    var d = dict();
    if (Object.prototype.hasOwnProperty.call(d, k)) return d[k];
    if (known(k)) return window.I18N.ru[k];
    return k;
  }

  function qs(sel, root) { return (root || document).querySelector(sel); }
  function qsa(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }
  function clear(el) { while (el && el.firstChild) el.removeChild(el.firstChild); return el; }
  function isOpen(st) { return TERMINAL.indexOf(st) < 0; }
  function num(v) { return typeof v === 'number' && isFinite(v) ? v : 0; }

  /* Element builder. Special attributes: class, tid (data-testid), i18n (text from the dictionary),
     ph (placeholder from the dictionary), tip (title from the dictionary), ru/kk (a name in both
     languages), text, value, checked/disabled/selected, on<event>. */
  function h(tag, attrs, kids) {
    var el = document.createElement(tag);
    setAttrs(el, attrs);
    append(el, kids);
    return el;
  }
  function setAttrs(el, attrs) {
    if (!attrs) return;
    Object.keys(attrs).forEach(function (k) {
      var v = attrs[k];
      if (v == null || v === false) return;
      if (k === 'class') el.setAttribute('class', v);
      else if (k === 'tid') el.setAttribute('data-testid', v);
      else if (k === 'i18n') { el.setAttribute('data-i18n', v); el.textContent = t(v); }
      else if (k === 'ph') { el.setAttribute('data-i18n-ph', v); el.setAttribute('placeholder', t(v)); }
      else if (k === 'tip') { el.setAttribute('data-i18n-title', v); el.setAttribute('title', t(v)); }
      else if (k === 'names') {
        el.setAttribute('data-kk', v.kk || v.ru || '');
        el.setAttribute('data-ru', v.ru || v.kk || '');
        el.textContent = el.getAttribute('data-' + S.lang);
      }
      else if (k === 'text') el.textContent = v;
      // Through the CSSOM: the Content-Security-Policy forbids inline style attributes.
      else if (k === 'style') el.style.cssText = v;
      else if (k === 'value') el.value = v;
      else if (k === 'checked' || k === 'disabled' || k === 'selected') el[k] = !!v;
      else if (k.slice(0, 2) === 'on' && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : String(v));
    });
  }
  function append(el, kids) {
    if (kids == null || kids === false) return el;
    if (Array.isArray(kids)) { kids.forEach(function (k) { append(el, k); }); return el; }
    el.appendChild(typeof kids === 'object' ? kids : document.createTextNode(String(kids)));
    return el;
  }
  function tx(key, cls) { return h('span', { i18n: key, class: cls }); }
  /* A coded value: the dictionary's text for prefix.code when there is one, else the code itself. */
  function codeLabel(prefix, code, cls) {
    if (code == null || code === '') return h('span', { class: 'muted' + (cls ? ' ' + cls : ''), i18n: 'none' });
    var key = prefix + '.' + code;
    if (known(key)) return h('span', { i18n: key, class: cls, 'data-code': code });
    return h('span', { text: String(code), class: cls, 'data-code': code });
  }
  function codeText(prefix, code) {
    var key = prefix + '.' + code;
    return known(key) ? t(key) : String(code);
  }

  var SVGNS = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs, kids) {
    var el = document.createElementNS(SVGNS, tag);
    setAttrs(el, attrs);
    append(el, kids);
    return el;
  }

  function pad(n) { return n < 10 ? '0' + n : String(n); }
  function fmtTime(ms) {
    if (!ms) return '';
    var d = new Date(ms);
    return pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
  }
  function fmtDateTime(ms) {
    if (!ms) return '';
    var d = new Date(ms);
    return pad(d.getDate()) + '.' + pad(d.getMonth() + 1) + '.' + d.getFullYear() + ' ' +
      pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
  }
  /* A duration in words: "2 сут 3 ч", "1 ч 05 мин", "4 мин 09 с", "12 с". */
  function fmtDur(ms) {
    if (!(ms > 0)) ms = 0;
    var s = Math.floor(ms / 1000);
    var d = Math.floor(s / 86400), hh = Math.floor((s % 86400) / 3600), mm = Math.floor((s % 3600) / 60), ss = s % 60;
    if (d) return d + ' ' + t('u.d') + ' ' + hh + ' ' + t('u.h');
    if (hh) return hh + ' ' + t('u.h') + ' ' + pad(mm) + ' ' + t('u.min');
    if (mm) return mm + ' ' + t('u.min') + ' ' + pad(ss) + ' ' + t('u.s');
    return ss + ' ' + t('u.s');
  }
  /* A live duration counted from `since` (local clock); tick() keeps it current. */
  function timer(since, cls, tid) {
    return h('span', { class: 'timer' + (cls ? ' ' + cls : ''), 'data-since': since, tid: tid, text: fmtDur(Date.now() - since) });
  }
  /* A server time on the local clock (the summary's generated_at gives the offset). */
  function local(ms) { return ms + S.skew; }

  function regionInfo(code) {
    for (var i = 0; i < S.regions.length; i++) if (S.regions[i].region === code) return S.regions[i];
    return null;
  }
  function regionNames(code) {
    var r = regionInfo(code);
    if (!r) return null;
    var ru = r.name_ru || r.name || r.name_kk || '';
    var kk = r.name_kk || ru;
    return ru || kk ? { ru: ru, kk: kk } : null;
  }
  function regionLabel(code, withName) {
    var names = withName ? regionNames(code) : null;
    return h('span', { class: 'reg' }, [
      h('span', { class: 'reg-code mono', text: code }),
      names ? h('span', { class: 'reg-name', names: names }) : null
    ]);
  }
  function statusBadge(st, tid) {
    return h('span', { class: 'badge st st-' + st, 'data-status': st, tid: tid }, codeLabel('status', st));
  }
  function priBadge(p) {
    return h('span', { class: 'badge pri pri-' + (p || 0), text: p ? 'P' + p : '—' });
  }
  function waitingSince(c) { return local(c.sent_for_processing_at || c.created_at || Date.now()); }

  /* ------------------------------------------------------------------ API */

  function api(method, path, body) {
    // X-Requested-With marks the dashboard's own requests (the hub refuses cookie-authenticated
    // changes without it or a same-site Origin).
    var opts = { method: method, headers: { 'Accept': 'application/json', 'X-Requested-With': 'fetch' }, credentials: 'same-origin', cache: 'no-store' };
    if (S.token) opts.headers.Authorization = 'Bearer ' + S.token;
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    return fetch(API + path, opts).then(function (r) {
      return r.text().then(function (txt) {
        var data = null;
        if (txt) { try { data = JSON.parse(txt); } catch (e) { data = null; } }
        if (!r.ok) {
          var err = new Error((data && data.message) || (r.status + ' ' + (r.statusText || t('err.generic'))));
          err.status = r.status;
          err.code = data && data.code;
          err.field = data && data.field;
          if (r.status === 401 && path !== '/auth/login' && path !== '/auth/logout') onUnauthorized();
          throw err;
        }
        return data;
      });
    }, function () {
      var err = new Error(t('err.network'));
      err.status = 0;
      throw err;
    });
  }

  /* A known error code gets the dictionary's text; the server's own message always follows it. */
  function errText(e) {
    var m = (e && e.message) || t('err.generic');
    if (e && e.code && known('err.' + e.code) && t('err.' + e.code) !== m) m = t('err.' + e.code) + ' — ' + m;
    if (e && e.field) m += ' [' + e.field + ']';
    return m;
  }
  function showError(el, e) {
    if (!el) return;
    el.textContent = e ? (typeof e === 'string' ? e : errText(e)) : '';
    el.style.display = e ? '' : 'none';
  }

  var toastTimer = null;
  function toast(text, kind) {
    var el = qs('#toast');
    if (!el) return;
    el.className = 'toast show ' + (kind || 'ok');
    el.textContent = text;
    if (toastTimer) clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { el.className = 'toast'; }, 4000);
  }

  /* ------------------------------------------------------------------ language and clock */

  function applyLang(root) {
    root = root || document;
    document.documentElement.setAttribute('lang', S.lang);
    qsa('[data-i18n]', root).forEach(function (el) { el.textContent = t(el.getAttribute('data-i18n')); });
    qsa('[data-i18n-ph]', root).forEach(function (el) { el.setAttribute('placeholder', t(el.getAttribute('data-i18n-ph'))); });
    qsa('[data-i18n-title]', root).forEach(function (el) { el.setAttribute('title', t(el.getAttribute('data-i18n-title'))); });
    qsa('[data-kk]', root).forEach(function (el) { el.textContent = el.getAttribute('data-' + S.lang); });
    document.title = t('app.title');
    tick();
  }
  function toggleLang() {
    S.lang = S.lang === 'ru' ? 'kk' : 'ru';
    lsSet(LS_LANG, S.lang);
    applyLang(document);
    if (S.user && qs('#charts')) renderCharts(); // SVG labels and legends are drawn with the texts
  }
  function langButton() {
    return h('button', { type: 'button', class: 'btn btn-lang', tid: 'lang-toggle', i18n: 'lang.switch', tip: 'lang.switch.tip', onclick: toggleLang });
  }

  function tick() {
    var now = Date.now();
    qsa('[data-since]').forEach(function (el) {
      el.textContent = fmtDur(now - Number(el.getAttribute('data-since')));
    });
    var clock = qs('#clock');
    if (clock) clock.textContent = fmtTime(now);
  }
  setInterval(tick, 1000);

  /* ------------------------------------------------------------------ session */

  function hasHqRole(u) {
    return !!(u && u.roles && u.roles.some(function (r) { return HQ_ROLES.indexOf(r) >= 0; }));
  }
  function hasRole(u, r) { return !!(u && u.roles && u.roles.indexOf(r) >= 0); }
  function mayUse(u) { return hasHqRole(u) || hasRole(u, 'admin'); }
  function onUnauthorized() {
    if (!S.user) return;
    teardown();
    renderLogin('login.session_expired');
  }
  /* Stops the live picture (events, polling) without logging out. */
  function teardownLive() {
    stopEvents();
    if (S.pollTimer) { clearInterval(S.pollTimer); S.pollTimer = null; }
    if (S.refreshTimer) { clearTimeout(S.refreshTimer); S.refreshTimer = null; }
    S.loadSeq++;
    S.loading = null;
  }
  function teardown() {
    S.user = null;
    S.token = null;
    ssSet(SS_TOKEN, null);
    ssSet(SS_USER, null);
    stopEvents();
    if (S.pollTimer) { clearInterval(S.pollTimer); S.pollTimer = null; }
    if (S.refreshTimer) { clearTimeout(S.refreshTimer); S.refreshTimer = null; }
    S.loadSeq++;
    S.loading = null;
    S.regions = [];
    S.summary = null;
    S.queue = [];
    S.loaded = false;
    S.detail = null;
  }
  function logout() {
    api('POST', '/auth/logout').catch(function () { return null; }).then(function () {
      teardown();
      renderLogin(null);
    });
  }

  function renderLogin(msgKey) {
    var root = clear(qs('#app'));
    var err = h('div', { class: 'error', tid: 'login-error', style: 'display:none', role: 'alert' });
    var login = h('input', { type: 'text', name: 'login', autocomplete: 'username', required: true, tid: 'login-login', id: 'f-login' });
    var pass = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true, tid: 'login-password', id: 'f-pass' });
    var btn = h('button', { type: 'submit', class: 'btn btn-primary', tid: 'login-submit', i18n: 'login.submit' });
    var form = h('form', { class: 'login-box', tid: 'login-form', autocomplete: 'on' }, [
      h('div', { class: 'login-head' }, [
        h('div', { class: 'login-emblem', text: '102' }),
        h('div', null, [h('div', { class: 'login-title', i18n: 'app.short' }), h('div', { class: 'muted', i18n: 'app.subtitle' })]),
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
      var typed = pass.value;
      api('POST', '/auth/login', { login: login.value.trim(), password: typed }).then(function (res) {
        btn.disabled = false;
        if (!res || !res.token) throw new Error(t('err.generic'));
        if (res.user && res.user.roles && !mayUse(res.user)) {
          pass.value = '';
          showError(err, t('login.no_role'));
          return;
        }
        S.token = res.token;
        S.user = res.user || { login: login.value.trim(), roles: [] };
        ssSet(SS_TOKEN, S.token);
        ssSet(SS_USER, JSON.stringify(S.user));
        if (S.user.must_change_password) { renderPasswordChange(typed); return; }
        startSession();
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

  /* Setting one's own password: forced after a login with a temporary one (the bootstrap password,
     or one set by the administrator), or chosen from the top bar. */
  function renderPasswordChange(known) {
    var forced = !!(S.user && S.user.must_change_password);
    var err = h('div', { class: 'error', tid: 'pw-error', style: 'display:none', role: 'alert' });
    var cur = h('input', { type: 'password', autocomplete: 'current-password', tid: 'pw-current', id: 'f-pw-cur' });
    var nw = h('input', { type: 'password', autocomplete: 'new-password', tid: 'pw-new', id: 'f-pw-new' });
    var rep = h('input', { type: 'password', autocomplete: 'new-password', tid: 'pw-repeat', id: 'f-pw-rep' });
    var btn = h('button', { type: 'submit', class: 'btn btn-primary', tid: 'pw-submit', i18n: 'pw.submit' });
    var box;
    var cancel = forced
      ? h('button', { type: 'button', class: 'btn btn-ghost', tid: 'pw-logout', i18n: 'logout', onclick: logout })
      : h('button', { type: 'button', class: 'btn btn-ghost', tid: 'pw-cancel', i18n: 'pw.cancel', onclick: function () { box.remove(); } });
    var form = h('form', { class: 'login-box', tid: 'pw-form' }, [
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
        S.user = u;
        ssSet(SS_USER, JSON.stringify(u));
        if (forced) { startSession(); return; }
        box.remove();
        toast(t('pw.changed'), 'ok');
      }).catch(function (e) {
        btn.disabled = false;
        showError(err, e);
      });
    });
    if (forced) clear(qs('#app')).appendChild(box); else document.body.appendChild(box);
    applyLang(box);
    (known ? nw : cur).focus();
  }

  function startSession() {
    if (S.user && S.user.must_change_password) { renderPasswordChange(null); return; }
    if (!hasHqRole(S.user)) { renderAccountsPage(); return; }
    renderShell();
    loadAll();
    connectEvents();
    S.pollTimer = setInterval(function () { loadAll(); }, REFRESH_MS);
  }

  /* ------------------------------------------------------------------ HQ accounts (admin)
     The administrator creates HQ accounts (hq_duty: watches and writes notes; hq_analyst: reads),
     gives temporary passwords, disables, lifts login throttles and deletes; reads no cards. */

  function accountsHeader(extra) {
    var u = S.user || {};
    return h('header', { class: 'topbar' }, [
      h('div', { class: 'brand' }, [h('span', { class: 'emblem', text: '102' }), h('span', { class: 'brand-title', i18n: 'app.title' })]),
      h('div', { class: 'spacer' }),
      extra,
      h('div', { class: 'who' }, [h('span', { class: 'who-name', tid: 'user-name', text: u.full_name || u.login || '' }),
        h('span', { class: 'who-roles' }, (u.roles || []).map(function (r) { return h('span', { class: 'chip', i18n: 'role.' + r }); }))]),
      langButton(),
      h('button', { type: 'button', class: 'btn btn-ghost', tid: 'change-password', i18n: 'pw.title', onclick: function () { renderPasswordChange(null); } }),
      h('button', { type: 'button', class: 'btn btn-ghost', tid: 'logout', i18n: 'logout', onclick: logout })
    ]);
  }

  function renderAccountsPage() {
    var root = clear(qs('#app'));
    var listErr = h('div', { class: 'error', tid: 'acc-list-error', style: 'display:none', role: 'alert' });
    var formErr = h('div', { class: 'error', tid: 'acc-error', style: 'display:none', role: 'alert' });
    var f = {
      login: h('input', { type: 'text', tid: 'acc-login', id: 'acc-login', autocomplete: 'off' }),
      name: h('input', { type: 'text', tid: 'acc-fullname', id: 'acc-fullname', autocomplete: 'off' }),
      password: h('input', { type: 'password', tid: 'acc-password', id: 'acc-password', autocomplete: 'new-password' })
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
      roles, formErr, create
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
      api('POST', '/accounts', {
        login: f.login.value.trim(), full_name: f.name.value.trim(), password: f.password.value,
        roles: ACCOUNT_ROLES.filter(function (r) { return roleBoxes[r].checked; })
      }).then(function () {
        create.disabled = false;
        f.login.value = ''; f.name.value = ''; f.password.value = '';
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
        var self = S.user && S.user.login === u.login;
        body.appendChild(h('tr', { tid: 'acc-row-' + u.login, 'data-login': u.login }, [
          h('td', { class: 'mono b', text: u.login }),
          h('td', { text: u.full_name || '' }),
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

  /* ------------------------------------------------------------------ data */

  /* Regions, summary and the national queue together. One load at a time; a request for another
     while one runs makes exactly one more afterwards, so nothing an event announced is missed. */
  function loadAll() {
    if (!S.token) return Promise.resolve();
    if (S.loading) { S.reloadAgain = true; return S.loading; }
    var seq = ++S.loadSeq;
    var p = Promise.all([
      api('GET', '/regions'),
      api('GET', '/summary'),
      api('GET', '/cards?limit=' + QUEUE_LIMIT)
    ]).then(function (res) {
      if (seq !== S.loadSeq || !S.user) return;
      var now = Date.now();
      S.regions = (res[0] || []).map(function (r) { r._at = now; return r; });
      S.summary = res[1] || {};
      S.skew = S.summary.generated_at ? now - S.summary.generated_at : 0;
      if (Math.abs(S.skew) < 2000) S.skew = 0; // same clock: keep timers on the server's times
      S.queue = (res[2] || []).filter(function (c) { return c && isOpen(c.status); });
      S.loaded = true;
      S.lastRefresh = now;
      showError(qs('#load-error'), null);
      renderAll();
    }).catch(function (e) {
      if (seq !== S.loadSeq || !S.user || e.status === 401) return;
      showError(qs('#load-error'), e);
    }).then(function () {
      if (seq !== S.loadSeq) return;
      S.loading = null;
      if (S.reloadAgain && S.user) { S.reloadAgain = false; loadAll(); }
    });
    S.loading = p;
    return p;
  }
  /* Several events in a row make one refetch. */
  function scheduleRefresh(ms) {
    if (S.refreshTimer) return;
    S.refreshTimer = setTimeout(function () { S.refreshTimer = null; loadAll(); }, ms == null ? 250 : ms);
  }

  /* A `region` event carries the link's state (connected, last_contact_ms, disconnected_since_ms,
     connections…) but not the derived fields of GET /regions: those are recomputed here until the
     refetch that every event schedules brings the server's own. */
  function upsertRegion(r) {
    if (!r || !r.region) return;
    var now = Date.now();
    var merged = null;
    for (var i = 0; i < S.regions.length; i++) {
      if (S.regions[i].region === r.region) { merged = Object.assign({}, S.regions[i], r); S.regions[i] = merged; break; }
    }
    if (!merged) { merged = Object.assign({}, r); S.regions.push(merged); }
    merged._at = now;
    if (!Object.prototype.hasOwnProperty.call(r, 'disconnected_for_ms')) {
      merged.disconnected_for_ms = !merged.connected && typeof merged.disconnected_since_ms === 'number'
        ? Math.max(0, now - local(merged.disconnected_since_ms)) : null;
    }
    if (merged.connected) { merged.alert = false; merged.disconnected_for_ms = null; }
  }
  /* The server's link state code: `connected`, `stalled` (connected, changes pending, nothing
     moving) or `disconnected`; derived from the flags for a hub that sends no code. */
  function linkState(r) {
    if (r.state === 'connected' || r.state === 'stalled' || r.state === 'disconnected') return r.state;
    return r.connected ? (r.stalled ? 'stalled' : 'connected') : 'disconnected';
  }
  function upsertCard(c) {
    if (!c || !c.id) return;
    var i, found = -1;
    for (i = 0; i < S.queue.length; i++) {
      if (S.queue[i].id === c.id && (!c.region || S.queue[i].region === c.region)) { found = i; break; }
    }
    if (found >= 0) {
      var old = S.queue[found];
      if (old.updated_at && c.updated_at && old.updated_at > c.updated_at) return;
      if (isOpen(c.status)) S.queue[found] = Object.assign({}, old, c);
      else S.queue.splice(found, 1);
    } else if (isOpen(c.status)) {
      S.queue.push(c);
    }
  }

  /* ------------------------------------------------------------------ live events (SSE over fetch) */

  function setSse(state) {
    var el = qs('#sse');
    if (!el) return;
    el.className = 'sse sse-' + state;
    el.setAttribute('data-state', state);
    var lab = qs('.sse-label', el);
    lab.setAttribute('data-i18n', 'sse.' + state);
    lab.textContent = t('sse.' + state);
  }
  function stopEvents() {
    if (S.esTimer) { clearTimeout(S.esTimer); S.esTimer = null; }
    var es = S.es;
    S.es = null;
    if (es && es.ctrl) { try { es.ctrl.abort(); } catch (e) { /* ignore */ } }
    if (es && es.reader) { es.reader.cancel().catch(function () { return null; }); }
  }
  function retryEvents() {
    setSse('offline');
    if (S.esTimer || !S.user) return;
    var wait = S.esBackoff;
    S.esBackoff = Math.min(S.esBackoff * 2, 15000);
    S.esTimer = setTimeout(function () { S.esTimer = null; if (S.user) connectEvents(); }, wait);
  }
  function connectEvents() {
    stopEvents();
    if (!S.token) return;
    var my = { ctrl: typeof window.AbortController === 'function' ? new window.AbortController() : null, reader: null };
    S.es = my;
    setSse('connecting');
    fetch(API + '/events', {
      headers: { 'Accept': 'text/event-stream', 'Authorization': 'Bearer ' + S.token },
      credentials: 'same-origin',
      cache: 'no-store',
      signal: my.ctrl ? my.ctrl.signal : undefined
    }).then(function (r) {
      if (S.es !== my) return null;
      if (r.status === 401) { onUnauthorized(); return null; }
      if (!r.ok || !r.body || typeof r.body.getReader !== 'function') throw new Error('events ' + r.status);
      setSse('online');
      S.esBackoff = 1000;
      loadAll(); // first connect and every reconnect: refetch, events may have been missed
      var reader = r.body.getReader();
      my.reader = reader;
      var dec = new TextDecoder('utf-8');
      var buf = '';
      function pump() {
        return reader.read().then(function (res) {
          if (S.es !== my) return null;
          if (res.done) throw new Error('events stream ended');
          buf += dec.decode(res.value, { stream: true });
          buf = parseSse(buf);
          return pump();
        });
      }
      return pump();
    }).catch(function () {
      if (S.es !== my) return;
      S.es = null;
      retryEvents();
    });
  }
  /* Dispatches every complete event in buf and returns the unfinished rest. */
  function parseSse(buf) {
    buf = buf.replace(/\r\n?/g, '\n');
    var idx;
    while ((idx = buf.indexOf('\n\n')) >= 0) {
      var block = buf.slice(0, idx);
      buf = buf.slice(idx + 2);
      var type = 'message', data = [];
      block.split('\n').forEach(function (line) {
        if (!line || line.charAt(0) === ':') return;
        var c = line.indexOf(':');
        var field = c < 0 ? line : line.slice(0, c);
        var value = c < 0 ? '' : line.slice(c + 1);
        if (value.charAt(0) === ' ') value = value.slice(1);
        if (field === 'event') type = value;
        else if (field === 'data') data.push(value);
      });
      if (data.length) onEvent(type, data.join('\n'));
    }
    return buf;
  }
  function onEvent(type, text) {
    var obj = null;
    try { obj = JSON.parse(text); } catch (e) { obj = null; }
    if (type === 'region') {
      if (obj && obj.region) { upsertRegion(obj); renderRegions(); }
      scheduleRefresh(250);
    } else if (type === 'resync') {
      scheduleRefresh(0); // the server dropped events for this stream: refetch everything
    } else if (type === 'card') {
      if (obj && obj.id) {
        upsertCard(obj);
        renderQueueList();
        var d = S.detail;
        if (d && d.id === obj.id && (!obj.region || obj.region === d.region)) reloadDetail();
      }
      scheduleRefresh(250);
    }
  }

  /* ------------------------------------------------------------------ shell */

  function section(tid, titleKey, extra, body) {
    return h('section', { class: 'box', tid: tid + '-box' }, [
      h('div', { class: 'box-head' }, [h('span', { class: 'box-title', i18n: titleKey, tid: tid + '-title' }), h('span', { class: 'spacer' }), extra]),
      body
    ]);
  }

  function renderShell() {
    var root = clear(qs('#app'));
    var u = S.user || {};
    var roleChips = (u.roles || []).filter(function (r) { return HQ_ROLES.indexOf(r) >= 0; })
      .map(function (r) { return h('span', { class: 'chip', i18n: 'role.' + r }); });
    var header = h('header', { class: 'topbar' }, [
      h('div', { class: 'brand' }, [h('span', { class: 'emblem', text: '102' }), h('span', { class: 'brand-title', i18n: 'app.title' })]),
      h('div', { class: 'spacer' }),
      h('div', { id: 'sse', class: 'sse', tid: 'sse-status' }, [h('span', { class: 'dot' }), h('span', { class: 'sse-label', i18n: 'sse.connecting' })]),
      h('span', { class: 'refreshed small' }, [tx('refreshed'), ' ', h('span', { id: 'refreshed-at', tid: 'refreshed-at', class: 'mono' })]),
      h('span', { id: 'clock', class: 'clock', text: fmtTime(Date.now()) }),
      h('div', { class: 'who' }, [h('span', { class: 'who-name', tid: 'user-name', text: u.full_name || u.login || '' }), h('span', { class: 'who-roles' }, roleChips)]),
      langButton(),
      hasRole(u, 'admin') ? h('button', { type: 'button', class: 'btn btn-ghost', tid: 'open-accounts', i18n: 'adm.title', onclick: function () { teardownLive(); renderAccountsPage(); } }) : null,
      h('button', { type: 'button', class: 'btn btn-ghost', tid: 'change-password', i18n: 'pw.title', onclick: function () { renderPasswordChange(null); } }),
      h('button', { type: 'button', class: 'btn btn-ghost', tid: 'logout', i18n: 'logout', onclick: logout })
    ]);
    var regionFilter = h('select', { class: 'sel-sm', tid: 'queue-filter-region', id: 'queue-filter-region', onchange: function (ev) { S.filterRegion = ev.target.value; renderQueueList(); } });
    var statusFilter = h('select', { class: 'sel-sm', tid: 'queue-filter-status', id: 'queue-filter-status', onchange: function (ev) { S.filterStatus = ev.target.value; renderQueueList(); } },
      [h('option', { value: '', i18n: 'all' })].concat(OPEN.map(function (st) { return h('option', { value: st, i18n: 'status.' + st }); })));
    var modeBtns = h('span', { class: 'seg' }, [
      h('button', { type: 'button', class: 'btn btn-xs', tid: 'chart-mode-region', 'data-mode': 'region', i18n: 'charts.by_region', onclick: function () { setMode('region'); } }),
      h('button', { type: 'button', class: 'btn btn-xs', tid: 'chart-mode-channel', 'data-mode': 'channel', i18n: 'charts.by_channel', onclick: function () { setMode('channel'); } })
    ]);

    var main = h('main', { class: 'main' }, [
      h('div', { class: 'error', id: 'load-error', tid: 'load-error', style: 'display:none', role: 'alert' }),
      h('div', { id: 'alert-banner', class: 'alert-banner', tid: 'alert-banner', role: 'alert', hidden: true }),
      h('div', { id: 'kpis', class: 'kpis', tid: 'kpis' }),
      h('div', { class: 'cols' }, [
        h('div', { class: 'col-main' }, [
          section('regions', 'regions.title', null, h('div', { id: 'regions' })),
          section('matrix', 'queue.matrix', null, h('div', { id: 'matrix' })),
          section('waiting', 'queue.waiting', null, h('div', { id: 'waiting' })),
          section('queue', 'queue.list', h('span', { class: 'filters' }, [
            h('label', { for: 'queue-filter-region', i18n: 'queue.filter_region' }), regionFilter,
            h('label', { for: 'queue-filter-status', i18n: 'queue.filter_status' }), statusFilter
          ]), h('div', { id: 'queue' }))
        ]),
        h('div', { class: 'col-side', id: 'charts' }, [
          section('chart-per-hour', 'charts.per_hour', modeBtns, h('div', { id: 'chart-per-hour' })),
          section('chart-per-day', 'charts.per_day', null, h('div', { id: 'chart-per-day' })),
          section('chart-open', 'charts.open', null, h('div', { id: 'chart-open' })),
          section('chart-delays', 'charts.delays', null, h('div', { id: 'chart-delays' }))
        ])
      ])
    ]);
    root.appendChild(header);
    root.appendChild(main);
    root.appendChild(h('div', { id: 'drawer-back', class: 'drawer-back', hidden: true, onclick: closeDetail }));
    root.appendChild(h('aside', { id: 'drawer', class: 'drawer', tid: 'card-detail', hidden: true, role: 'dialog' }));
    root.appendChild(h('div', { id: 'toast', class: 'toast', tid: 'toast', role: 'status' }));
    applyLang(root);
    renderAll();
  }
  function setMode(m) {
    S.mode = m;
    lsSet(LS_MODE, m);
    renderPerHour();
    renderPerDay();
  }

  /* ------------------------------------------------------------------ views */

  function renderAll() {
    if (!qs('#regions')) return;
    renderKpis();
    renderRegions();
    renderMatrix();
    renderWaiting();
    renderQueueList();
    renderCharts();
    var at = qs('#refreshed-at');
    if (at) at.textContent = S.lastRefresh ? fmtTime(S.lastRefresh) : '—';
    tick();
  }
  function renderCharts() {
    renderPerHour();
    renderPerDay();
    renderOpenChart();
    renderDelays();
  }
  function loadingOr(el) {
    if (S.loaded) return false;
    clear(el).appendChild(h('div', { class: 'empty-state', i18n: 'loading' }));
    return true;
  }
  function emptyRow(cols, key) {
    return h('tr', { class: 'empty-row' }, h('td', { colspan: cols, i18n: key || 'empty' }));
  }

  /* Every region the hub knows: the regions list, plus any region only the summary or queue names. */
  function regionCodes() {
    var seen = {}, out = [];
    function add(c) { if (c && !seen[c]) { seen[c] = true; out.push(c); } }
    S.regions.forEach(function (r) { add(r.region); });
    ((S.summary && S.summary.regions) || []).forEach(function (r) { add(r.region); });
    S.queue.forEach(function (c) { add(c.region); });
    return out.sort();
  }
  function byStatusOf(code) {
    var rs = (S.summary && S.summary.regions) || [];
    for (var i = 0; i < rs.length; i++) if (rs[i].region === code) return rs[i].by_status || {};
    return {};
  }
  function openCount(byStatus) {
    var n = 0;
    Object.keys(byStatus || {}).forEach(function (st) { if (isOpen(st)) n += num(byStatus[st]); });
    return n;
  }
  function disconnectedSince(r) {
    if (r.connected) return null;
    if (typeof r.disconnected_for_ms === 'number') return (r._at || Date.now()) - r.disconnected_for_ms;
    if (typeof r.disconnected_since_ms === 'number') return local(r.disconnected_since_ms);
    if (r.last_contact_ms) return local(r.last_contact_ms);
    return null;
  }

  function renderKpis() {
    var el = qs('#kpis');
    if (!el) return;
    clear(el);
    var totals = (S.summary && S.summary.totals) || {};
    // A stalled region is connected but not replicating: it does not count as on line.
    var conn = S.regions.filter(function (r) { return linkState(r) === 'connected'; }).length;
    var od = S.summary ? S.summary.overdue_units : null;
    if (Array.isArray(od)) od = od.length;
    var items = [
      { tid: 'kpi-regions', key: 'regions.title', value: conn + ' / ' + S.regions.length, bad: conn < S.regions.length },
      { tid: 'kpi-open', key: 'regions.open_cards', value: String(openCount(totals)) },
      { tid: 'kpi-waiting', key: 'status.sent_for_processing', value: String(num(totals.sent_for_processing)), bad: num(totals.sent_for_processing) > 0 },
      { tid: 'kpi-overdue', key: 'queue.overdue_units', value: String(num(od)), bad: num(od) > 0 }
    ];
    items.forEach(function (k) {
      el.appendChild(h('div', { class: 'kpi' + (k.bad ? ' kpi-bad' : ''), tid: k.tid }, [
        h('div', { class: 'kpi-v', tid: k.tid + '-value', text: S.loaded ? k.value : '…' }),
        h('div', { class: 'kpi-k', i18n: k.key })
      ]));
    });
  }

  function renderRegions() {
    var el = qs('#regions');
    if (!el) return;
    renderAlerts();
    renderKpis();
    if (loadingOr(el)) return;
    var body = h('tbody');
    // Problems first: alerts, then other disconnected or stalled regions, then the rest by code.
    var rank = function (r) { return r.alert ? 0 : (linkState(r) === 'connected' ? 2 : 1); };
    var codes = S.regions.slice().sort(function (a, b) {
      return rank(a) - rank(b) || (a.region < b.region ? -1 : a.region > b.region ? 1 : 0);
    }).map(function (r) { return r.region; });
    codes.forEach(function (code) {
      var r = regionInfo(code);
      var since = disconnectedSince(r);
      var never = !r.connected && !r.last_contact_ms;
      var open = typeof r.open_cards === 'number' ? r.open_cards : openCount(byStatusOf(code));
      var ls = linkState(r);
      var state = h('span', {
        class: 'badge ' + (ls === 'connected' ? 'conn-on' : ls === 'stalled' ? 'conn-stalled' : 'conn-off'),
        tid: 'region-state', 'data-state': ls, i18n: 'regions.' + ls
      });
      body.appendChild(h('tr', {
        class: 'region-row' + (r.alert ? ' alert' : '') + (r.connected ? '' : ' off'),
        tid: 'region-row-' + code, 'data-region': code,
        'data-connected': r.connected ? '1' : '0', 'data-alert': r.alert ? '1' : '0'
      }, [
        h('td', null, regionLabel(code, true)),
        h('td', { class: 'nowrap' }, [
          state,
          !r.connected ? h('div', { class: 'small dis-for' }, never && since == null
            ? tx('regions.never')
            : [tx('regions.disconnected_for'), ' ', since != null ? timer(since, '', 'region-disconnected-for') : tx('none')]) : null,
          ls === 'stalled' && typeof r.stalled_since_ms === 'number'
            ? h('div', { class: 'small dis-for' }, [tx('regions.stalled_for'), ' ', timer(local(r.stalled_since_ms), '', 'region-stalled-for')])
            : null
        ]),
        h('td', { class: 'nowrap mono small', tid: 'region-last-contact' }, r.last_contact_ms ? fmtDateTime(local(r.last_contact_ms)) : tx('none', 'muted')),
        h('td', { class: 'nowrap small' }, [
          h('span', { class: 'mono', tid: 'region-connections', text: String(num(r.connections)) }), ' ', tx('regions.connections', 'muted'), ' · ',
          h('span', { class: 'mono', tid: 'region-docs', text: String(num(r.docs)) }), ' ', tx('regions.docs', 'muted'),
          typeof r.frames_in === 'number' ? [' · ', h('span', { class: 'mono', tid: 'region-frames', text: String(r.frames_in) }), ' ', tx('regions.frames', 'muted')] : null,
          num(r.stalls) > 0 ? [' · ', h('span', { class: 'mono', tid: 'region-stalls', text: String(num(r.stalls)) }), ' ', tx('regions.stalls', 'muted')] : null,
          r.last_error && !r.connected ? h('div', { class: 'small muted ellipsis last-error', title: r.last_error, text: r.last_error }) : null
        ]),
        h('td', { class: 'num b', tid: 'region-open-cards', text: String(open) })
      ]));
    });
    if (!codes.length) body.appendChild(emptyRow(5, 'regions.none'));
    var table = h('table', { class: 'grid regions', tid: 'regions-table' }, [
      h('thead', null, h('tr', null, [
        h('th', { i18n: 'regions.region' }), h('th', { i18n: 'regions.state' }), h('th', { i18n: 'regions.last_contact' }),
        h('th', { i18n: 'regions.replication' }), h('th', { class: 'num', i18n: 'regions.open_cards' })
      ])),
      body
    ]);
    clear(el).appendChild(table);
    updateRegionFilter();
    tick();
  }

  function renderAlerts() {
    var el = qs('#alert-banner');
    if (!el) return;
    clear(el);
    var bad = S.regions.filter(function (r) { return r.alert; });
    bad.sort(function (a, b) { return a.region < b.region ? -1 : 1; });
    el.hidden = !bad.length;
    el.setAttribute('data-count', String(bad.length));
    if (!bad.length) return;
    el.appendChild(h('span', { class: 'alert-title', i18n: 'alert.title' }));
    bad.forEach(function (r) {
      var since = disconnectedSince(r);
      el.appendChild(h('span', { class: 'alert-item', tid: 'alert-' + r.region, 'data-region': r.region }, [
        regionLabel(r.region, true), ' — ',
        since == null && !r.last_contact_ms ? tx('alert.never') : [tx('alert.for'), ' ', since != null ? timer(since) : tx('none')]
      ]));
    });
  }

  function matrixStatuses() {
    var list = OPEN.slice();
    var extra = {};
    function look(bs) { Object.keys(bs || {}).forEach(function (st) { if (isOpen(st) && list.indexOf(st) < 0) extra[st] = true; }); }
    ((S.summary && S.summary.regions) || []).forEach(function (r) { look(r.by_status); });
    look(S.summary && S.summary.totals);
    return list.concat(Object.keys(extra).sort());
  }
  function renderMatrix() {
    var el = qs('#matrix');
    if (!el || loadingOr(el)) return;
    var sts = matrixStatuses();
    var codes = regionCodes();
    var body = h('tbody');
    codes.forEach(function (code) {
      var bs = byStatusOf(code);
      var row = h('tr', { tid: 'mx-row-' + code, 'data-region': code }, [h('td', null, regionLabel(code, false))]);
      sts.forEach(function (st) {
        var n = num(bs[st]);
        row.appendChild(h('td', {
          class: 'num mx-cell' + (n ? ' mx-has mx-' + st : ''), tid: 'mx-' + code + '-' + st, 'data-count': n,
          onclick: n ? function () { filterQueue(code, st); } : null
        }, n ? String(n) : '·'));
      });
      var total = openCount(bs);
      row.appendChild(h('td', { class: 'num b', tid: 'mx-' + code + '-total', 'data-count': total, text: String(total) }));
      body.appendChild(row);
    });
    if (!codes.length) body.appendChild(emptyRow(sts.length + 2));
    var totals = (S.summary && S.summary.totals) || {};
    var foot = h('tr', { class: 'totals' }, [h('td', { i18n: 'total' })]);
    sts.forEach(function (st) {
      foot.appendChild(h('td', { class: 'num b', tid: 'mx-total-' + st, 'data-count': num(totals[st]), text: String(num(totals[st])) }));
    });
    foot.appendChild(h('td', { class: 'num b', tid: 'mx-total-total', text: String(openCount(totals)) }));
    var head = h('tr', null, [h('th', { i18n: 'regions.region' })].concat(sts.map(function (st) {
      return h('th', { class: 'num' }, statusBadge(st));
    })).concat([h('th', { class: 'num', i18n: 'total' })]));
    clear(el).appendChild(h('table', { class: 'grid matrix', tid: 'queue-matrix' }, [h('thead', null, head), body, h('tfoot', null, foot)]));
  }
  function filterQueue(code, st) {
    S.filterRegion = code;
    S.filterStatus = st;
    var r = qs('#queue-filter-region'), s = qs('#queue-filter-status');
    updateRegionFilter();
    if (r) r.value = code;
    if (s) s.value = st;
    renderQueueList();
    var box = qs('[data-testid="queue-box"]');
    if (box && box.scrollIntoView) box.scrollIntoView({ block: 'nearest' });
  }

  function cardRow(c, tid) {
    return h('tr', {
      class: 'card-row pri-row-' + (c.priority || 0), tid: tid, 'data-id': c.id, 'data-region': c.region,
      'data-number': c.number, 'data-status': c.status,
      onclick: function () { openCard(c.region, c.id); }
    }, [
      h('td', { class: 'mono nowrap b' }, c.number || c.id),
      h('td', { class: 'nowrap' }, regionLabel(c.region, false)),
      h('td', { class: 'c-what' }, [
        h('div', null, codeLabel('category', c.category)),
        h('div', { class: 'muted small ellipsis', text: c.address || '' })
      ]),
      h('td', { class: 'nowrap' }, priBadge(c.priority)),
      h('td', { class: 'nowrap' }, statusBadge(c.status)),
      h('td', { class: 'nowrap timer-cell' }, timer(waitingSince(c), 'b', 'waiting-time'))
    ]);
  }
  function cardHead() {
    return h('thead', null, h('tr', null, [
      h('th', { i18n: 'card.number' }), h('th', { i18n: 'card.region' }), h('th', { i18n: 'card.category' }),
      h('th', { i18n: 'card.priority' }), h('th', { i18n: 'card.status' }), h('th', { i18n: 'card.waiting' })
    ]));
  }
  function renderWaiting() {
    var el = qs('#waiting');
    if (!el || loadingOr(el)) return;
    var rows = ((S.summary && S.summary.waiting_longest) || []).slice();
    rows.sort(function (a, b) { return waitingSince(a) - waitingSince(b); });
    var body = h('tbody');
    rows.forEach(function (c) { body.appendChild(cardRow(c, 'waiting-row')); });
    if (!rows.length) body.appendChild(emptyRow(6));
    clear(el).appendChild(h('table', { class: 'grid cards', tid: 'waiting-list', 'data-count': rows.length }, [cardHead(), body]));
    tick();
  }
  function updateRegionFilter() {
    var sel = qs('#queue-filter-region');
    if (!sel) return;
    var codes = regionCodes();
    if (S.filterRegion && codes.indexOf(S.filterRegion) < 0) codes.push(S.filterRegion);
    var have = qsa('option', sel).map(function (o) { return o.value; }).join('|');
    if (have === [''].concat(codes).join('|')) return;
    clear(sel).appendChild(h('option', { value: '', i18n: 'all' }));
    codes.forEach(function (c) { sel.appendChild(h('option', { value: c, text: c })); });
    sel.value = S.filterRegion;
  }
  function renderQueueList() {
    var el = qs('#queue');
    if (!el || loadingOr(el)) return;
    updateRegionFilter();
    var rows = S.queue.filter(function (c) {
      return (!S.filterRegion || c.region === S.filterRegion) && (!S.filterStatus || c.status === S.filterStatus);
    });
    rows.sort(function (a, b) { return (a.created_at || 0) - (b.created_at || 0); });
    var body = h('tbody');
    rows.forEach(function (c) { body.appendChild(cardRow(c, 'queue-row')); });
    if (!rows.length) body.appendChild(emptyRow(6));
    clear(el).appendChild(h('table', { class: 'grid cards', tid: 'queue-list', 'data-count': rows.length }, [cardHead(), body]));
    tick();
  }

  /* ------------------------------------------------------------------ charts (inline SVG) */

  function niceMax(v) {
    if (v <= 5) return 5;
    var p = Math.pow(10, Math.floor(Math.log(v) / Math.LN10));
    var steps = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * p >= v) return steps[i] * p;
    return 10 * p;
  }
  function legend(items) {
    return h('div', { class: 'legend' }, items.map(function (it) {
      return h('span', { class: 'lg', 'data-key': it.key }, [h('span', { class: 'sw', style: 'background:' + it.color }), it.label]);
    }));
  }
  function noData(el, tid) {
    clear(el).appendChild(h('div', { class: 'empty-state small', tid: tid, 'data-total': 0, i18n: 'charts.no_data' }));
  }

  function renderPerHour() {
    var el = qs('#chart-per-hour');
    if (!el) return;
    qsa('[data-testid^="chart-mode-"]').forEach(function (b) { b.classList.toggle('active', b.getAttribute('data-mode') === S.mode); });
    if (loadingOr(el)) return;
    var s = S.summary || {};
    var end = Math.floor((s.generated_at || Date.now()) / HOUR) * HOUR; // the current hour's start
    callsChart(el, {
      tid: 'chart-per-hour', series: s.calls_per_hour, start: end - 23 * HOUR, size: HOUR, count: 24,
      label: function (t) { return fmtTime(t).slice(0, 5); },
      labelled: function (bi) { return bi % 3 === 2 || bi === 23; }
    });
  }
  /* Calls per Kazakhstan day (UTC+5, as the hub counts them) over the last 7 days. */
  function renderPerDay() {
    var el = qs('#chart-per-day');
    if (!el || loadingOr(el)) return;
    var s = S.summary || {};
    var gen = s.generated_at || Date.now();
    var today = Math.floor((gen + KZ_OFFSET) / DAY) * DAY - KZ_OFFSET;
    callsChart(el, {
      tid: 'chart-per-day', series: s.calls_per_day, start: today - 6 * DAY, size: DAY, count: 7,
      label: function (t) { var d = new Date(t + KZ_OFFSET); return pad(d.getUTCDate()) + '.' + pad(d.getUTCMonth() + 1); },
      labelled: function () { return true; }
    });
  }
  /* Stacked bars of call counts per period (o.count periods of o.size ms from o.start), by
     region or by channel (S.mode), from one of the summary's call series. */
  function callsChart(el, o) {
    var start = o.start;
    var rows = (o.series || {})[S.mode === 'channel' ? 'by_channel' : 'by_region'] || [];
    var keyOf = S.mode === 'channel' ? function (e) { return e.channel || '?'; } : function (e) { return e.region || '?'; };
    var buckets = [], i;
    for (i = 0; i < o.count; i++) buckets.push({});
    var keyTotals = {};
    var total = 0;
    rows.forEach(function (e) {
      var idx = Math.floor((num(e.start_ms) - start) / o.size);
      if (idx < 0 || idx >= o.count) return;
      var k = keyOf(e), n = num(e.count);
      buckets[idx][k] = (buckets[idx][k] || 0) + n;
      keyTotals[k] = (keyTotals[k] || 0) + n;
      total += n;
    });
    var keys = Object.keys(keyTotals);
    if (S.mode === 'channel') keys.sort(function (a, b) { return CHANNELS.indexOf(a) - CHANNELS.indexOf(b); });
    else keys.sort();
    var color = {};
    keys.forEach(function (k, j) {
      var ci = S.mode === 'channel' && CHANNELS.indexOf(k) >= 0 ? CHANNELS.indexOf(k) : (S.mode === 'region' ? regionCodes().indexOf(k) : j);
      color[k] = PALETTE[(ci < 0 ? j : ci) % PALETTE.length];
    });
    var maxBar = 0;
    buckets.forEach(function (b) {
      var sum = 0;
      Object.keys(b).forEach(function (k) { sum += b[k]; });
      maxBar = Math.max(maxBar, sum);
    });
    var W = 640, H = 210, L = 34, R = 8, T = 10, B = 26;
    var ymax = niceMax(maxBar);
    var bw = (W - L - R) / o.count;
    var root = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, width: '100%', class: 'chart', role: 'img', preserveAspectRatio: 'xMidYMid meet' });
    var ticks = ymax % 4 === 0 ? 4 : 5; // whole numbers on the axis: 5 → 1, 10 → 2, 20 → 5, 25 → 5…
    for (i = 0; i <= ticks; i++) {
      var yv = ymax * i / ticks, y = H - B - (H - T - B) * i / ticks;
      root.appendChild(svg('line', { x1: L, x2: W - R, y1: y.toFixed(1), y2: y.toFixed(1), class: 'grid-line' }));
      root.appendChild(svg('text', { x: L - 4, y: (y + 3).toFixed(1), 'text-anchor': 'end', class: 'axis' }, String(Math.round(yv * 10) / 10)));
    }
    buckets.forEach(function (b, bi) {
      var x = L + bi * bw + 1.5, y0 = H - B;
      var sum = 0;
      keys.forEach(function (k) {
        var n = b[k] || 0;
        if (!n) return;
        var hgt = (H - T - B) * n / ymax;
        y0 -= hgt;
        sum += n;
        root.appendChild(svg('rect', { x: x.toFixed(1), y: y0.toFixed(1), width: (bw - 3).toFixed(1), height: hgt.toFixed(1), fill: color[k], 'data-key': k, 'data-count': n },
          svg('title', null, o.label(start + bi * o.size) + ' · ' + keyText(k) + ': ' + n)));
      });
      if (o.labelled(bi)) {
        root.appendChild(svg('text', { x: (x + bw / 2).toFixed(1), y: H - B + 14, 'text-anchor': 'middle', class: 'axis' }, o.label(start + bi * o.size)));
      }
      if (sum && sum === maxBar) {
        root.appendChild(svg('text', { x: (x + (bw - 3) / 2).toFixed(1), y: (y0 - 3).toFixed(1), 'text-anchor': 'middle', class: 'axis b' }, String(sum)));
      }
    });
    root.appendChild(svg('line', { x1: L, x2: W - R, y1: H - B, y2: H - B, class: 'axis-line' }));
    var box = h('div', { class: 'chart-box', tid: o.tid, 'data-mode': S.mode, 'data-total': total }, [root]);
    if (!total) box.appendChild(h('div', { class: 'chart-empty small muted', i18n: 'charts.no_data' }));
    box.appendChild(legend(keys.map(function (k) { return { key: k, color: color[k], label: keyText(k) + ' (' + keyTotals[k] + ')' }; })));
    clear(el).appendChild(box);
  }
  function keyText(k) { return S.mode === 'channel' ? codeText('channel', k) : k; }

  function renderOpenChart() {
    var el = qs('#chart-open');
    if (!el || loadingOr(el)) return;
    var sts = matrixStatuses();
    var codes = regionCodes();
    var rows = codes.map(function (c) { var bs = byStatusOf(c); return { code: c, bs: bs, total: openCount(bs) }; });
    var maxT = 0, grand = 0;
    rows.forEach(function (r) { maxT = Math.max(maxT, r.total); grand += r.total; });
    if (!rows.length) { noData(el, 'chart-open'); return; }
    var W = 640, L = 60, R = 40, rowH = 22, T = 4;
    var H = T + rows.length * rowH + 4;
    var xmax = niceMax(maxT);
    var root = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, width: '100%', class: 'chart', role: 'img' });
    rows.forEach(function (r, i) {
      var y = T + i * rowH;
      root.appendChild(svg('text', { x: L - 6, y: y + 15, 'text-anchor': 'end', class: 'axis b' }, r.code));
      var x = L;
      sts.forEach(function (st) {
        var n = num(r.bs[st]);
        if (!n) return;
        var w = (W - L - R) * n / xmax;
        root.appendChild(svg('rect', { x: x.toFixed(1), y: y + 3, width: w.toFixed(1), height: rowH - 6, fill: STATUS_COLOR[st] || '#777', 'data-status': st, 'data-count': n },
          svg('title', null, r.code + ' · ' + codeText('status', st) + ': ' + n)));
        if (w > 16) root.appendChild(svg('text', { x: (x + w / 2).toFixed(1), y: y + 15, 'text-anchor': 'middle', class: 'bar-label' }, String(n)));
        x += w;
      });
      root.appendChild(svg('text', { x: (x + 4).toFixed(1), y: y + 15, class: 'axis' }, String(r.total)));
    });
    var box = h('div', { class: 'chart-box', tid: 'chart-open', 'data-total': grand }, [root]);
    box.appendChild(legend(sts.map(function (st) { return { key: st, color: STATUS_COLOR[st] || '#777', label: codeText('status', st) }; })));
    clear(el).appendChild(box);
  }

  function renderDelays() {
    var el = qs('#chart-delays');
    if (!el || loadingOr(el)) return;
    var s = S.summary || {};
    var items = [
      { key: 'dispatch', label: 'charts.dispatch_delay', d: s.dispatch_delay_ms || {} },
      { key: 'arrival', label: 'charts.arrival_delay', d: s.arrival_delay_ms || {} }
    ];
    var maxV = 0;
    items.forEach(function (it) { maxV = Math.max(maxV, num(it.d.p50), num(it.d.p90)); });
    var box = h('div', { class: 'chart-box delays', tid: 'chart-delays' });
    items.forEach(function (it) {
      var cnt = num(it.d.count);
      var group = h('div', { class: 'delay', tid: 'delay-' + it.key, 'data-count': cnt }, [
        h('div', { class: 'delay-head' }, [h('span', { class: 'b', i18n: it.label }), h('span', { class: 'spacer' }),
          h('span', { class: 'muted small' }, [tx('charts.count'), ' = ', h('span', { class: 'mono', tid: 'delay-' + it.key + '-count', text: String(cnt) })])])
      ]);
      ['p50', 'p90'].forEach(function (p) {
        var v = it.d[p];
        var has = cnt > 0 && typeof v === 'number';
        var pct = has && maxV > 0 ? Math.max(1, Math.round(100 * v / maxV)) : 0;
        var bar = svg('svg', { viewBox: '0 0 100 10', preserveAspectRatio: 'none', class: 'delay-svg', width: '100%', height: 14 }, [
          svg('rect', { x: 0, y: 0, width: 100, height: 10, class: 'delay-track' }),
          svg('rect', { x: 0, y: 0, width: pct, height: 10, class: 'delay-bar delay-' + p })
        ]);
        group.appendChild(h('div', { class: 'delay-row' }, [
          h('span', { class: 'delay-p mono', text: p }),
          h('span', { class: 'delay-track-box' }, bar),
          h('span', { class: 'delay-v mono b', tid: 'delay-' + it.key + '-' + p, 'data-ms': has ? v : '' }, has ? fmtDur(v) : t('none'))
        ]));
      });
      box.appendChild(group);
    });
    clear(el).appendChild(box);
  }

  /* ------------------------------------------------------------------ card detail */

  function openCard(region, id) {
    if (!region || !id) return;
    S.detail = { region: region, id: id, card: null, seq: 0 };
    var dr = qs('#drawer');
    dr.hidden = false;
    qs('#drawer-back').hidden = false;
    dr.setAttribute('data-region', region);
    dr.setAttribute('data-id', id);
    clear(dr).appendChild(h('div', { class: 'drawer-body' }, [detailCloseBtn(), h('div', { class: 'empty-state', i18n: 'loading' })]));
    reloadDetail();
  }
  function closeDetail() {
    S.detail = null;
    var dr = qs('#drawer');
    if (dr) { dr.hidden = true; clear(dr); }
    var back = qs('#drawer-back');
    if (back) back.hidden = true;
  }
  document.addEventListener('keydown', function (ev) { if (ev.key === 'Escape' && S.detail) closeDetail(); });
  function detailCloseBtn() {
    return h('button', { type: 'button', class: 'btn btn-sm drawer-close', tid: 'detail-close', i18n: 'close', onclick: closeDetail });
  }
  function cardPath(d) { return '/cards/' + encodeURIComponent(d.region) + '/' + encodeURIComponent(d.id); }
  function reloadDetail() {
    var d = S.detail;
    if (!d) return Promise.resolve();
    var my = ++d.seq;
    return api('GET', cardPath(d)).then(function (card) {
      if (S.detail !== d || my !== d.seq) return;
      d.card = card;
      renderDetail();
    }).catch(function (e) {
      if (S.detail !== d || my !== d.seq || d.card) return;
      var dr = qs('#drawer');
      clear(dr).appendChild(h('div', { class: 'drawer-body' }, [detailCloseBtn(), h('div', { class: 'error', tid: 'detail-error', text: errText(e) })]));
    });
  }
  function kv(key, value, tid) {
    if (value == null || value === '' || (Array.isArray(value) && !value.length)) return null;
    return h('div', { class: 'kv' }, [h('span', { class: 'k', i18n: key }), h('span', { class: 'v', tid: tid }, value)]);
  }
  function renderDetail() {
    var d = S.detail, c = d && d.card;
    var dr = qs('#drawer');
    if (!c || !dr) return;
    // Keep what the officer is typing across re-renders.
    var oldText = qs('[data-testid="note-text"]', dr);
    var draft = oldText ? oldText.value : '';
    var region = c.region || d.region;
    var loc = c.location || null;
    var caller = c.caller || {};
    var seen = c.seen || {};
    var callerText = [caller.name, caller.phone, caller.language ? t('lang.' + caller.language) : null].filter(Boolean).join(', ');
    var seenText = [seen.persons, seen.vehicles, seen.buildings].filter(Boolean).join('; ');
    var kui = c.kui ? [c.kui.number || '', c.kui.deadline_at ? ' (' + t('card.kui_deadline') + ' ' + fmtDateTime(local(c.kui.deadline_at)) + ')' : ''].join('') : null;

    var units = (c.units || []);
    var unitTable = units.length ? h('table', { class: 'grid units', tid: 'detail-units' }, [
      h('thead', null, h('tr', null, [h('th', { i18n: 'unit.call_sign' }), h('th', { i18n: 'unit.assigned' }), h('th', { i18n: 'unit.en_route' }),
        h('th', { i18n: 'unit.on_scene' }), h('th', { i18n: 'unit.cleared' })])),
      h('tbody', null, units.map(function (u) {
        return h('tr', { 'data-unit-id': u.unit_id }, [
          h('td', { class: 'b' }, u.call_sign || u.unit_id),
          h('td', { class: 'mono small' }, fmtTime(local(u.assigned_at))),
          h('td', { class: 'mono small' }, u.en_route_at ? fmtTime(local(u.en_route_at)) : '—'),
          h('td', { class: 'mono small' }, u.on_scene_at ? fmtTime(local(u.on_scene_at)) : '—'),
          h('td', { class: 'mono small' }, u.cleared_at ? fmtTime(local(u.cleared_at)) : '—')
        ]);
      }))
    ]) : null;

    var tl = (c.timeline || []).slice().sort(function (a, b) { return (a.at || 0) - (b.at || 0); });
    var tlBody = h('tbody', null, tl.map(function (ev) {
      return h('tr', { tid: 'tl-row', 'data-kind': ev.kind, class: 'tl-' + ev.kind }, [
        h('td', { class: 'mono small nowrap' }, fmtDateTime(local(ev.at))),
        h('td', { class: 'small' }, ev.kind === 'hq_note' ? [tx('tl.by_hq'), ': ', ev.by || ''] : (ev.by || '')),
        h('td', { class: 'nowrap' }, codeLabel('tl', ev.kind)),
        h('td', { class: 'pre' }, ev.text || '')
      ]);
    }));
    if (!tl.length) tlBody.appendChild(emptyRow(4));

    var noteErr = h('div', { class: 'error', tid: 'note-error', style: 'display:none', role: 'alert' });
    var noteText = h('textarea', { rows: 3, tid: 'note-text', id: 'note-text', ph: 'note.placeholder', maxlength: 2000 });
    noteText.value = draft;
    var noteBtn = h('button', { type: 'submit', class: 'btn btn-primary', tid: 'note-submit', i18n: 'note.submit' });
    var form = h('form', { class: 'note-form', tid: 'note-form' }, [
      h('label', { for: 'note-text', class: 'section-title', i18n: 'note.title' }), noteText, noteErr,
      h('div', { class: 'form-actions' }, noteBtn)
    ]);
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var text = noteText.value.trim();
      if (!text) { showError(noteErr, t('note.empty')); return; }
      showError(noteErr, null);
      noteBtn.disabled = true;
      api('POST', cardPath(d) + '/notes', { text: text }).then(function (card) {
        noteBtn.disabled = false;
        if (S.detail !== d) return;
        noteText.value = '';
        if (card && card.id && card.timeline) {
          d.seq++; // an older reload must not overwrite this answer
          d.card = card;
          renderDetail();
        } else {
          reloadDetail();
        }
        toast(t('note.sent'), 'ok');
      }).catch(function (e) {
        noteBtn.disabled = false;
        showError(noteErr, e);
      });
    });

    if (!hasRole(S.user, 'hq_duty')) form = h('p', { class: 'muted small', tid: 'note-readonly', i18n: 'note.readonly' });
    var body = h('div', { class: 'drawer-body' }, [
      h('div', { class: 'detail-head' }, [
        h('span', { class: 'detail-number mono', tid: 'detail-number', text: c.number || c.id }),
        statusBadge(c.status, 'detail-status'),
        priBadge(c.priority),
        h('span', { class: 'spacer' }),
        detailCloseBtn()
      ]),
      h('div', { class: 'detail-cat b' }, codeLabel('category', c.category)),
      h('div', { class: 'detail-grid' }, [
        kv('card.region', regionLabel(region, true), 'detail-region'),
        kv('card.channel', codeLabel('channel', c.channel)),
        kv('card.district', c.district),
        kv('card.address', loc && loc.address, 'detail-address'),
        kv('card.location', loc && typeof loc.lat === 'number' ? loc.lat.toFixed(6) + ', ' + loc.lon.toFixed(6) + (loc.accuracy_m ? ' ±' + Math.round(loc.accuracy_m) + ' м' : '') : null),
        kv('card.caller', callerText),
        kv('card.created', fmtDateTime(local(c.created_at))),
        kv('card.created_by', c.created_by),
        kv('card.sent', c.sent_for_processing_at ? fmtDateTime(local(c.sent_for_processing_at)) : null),
        kv('card.updated', fmtDateTime(local(c.updated_at))),
        kv('card.forwarded_to', c.forwarded_to),
        kv('card.kui', kui),
        kv('card.duplicate_of', c.duplicate_of)
      ]),
      c.description ? h('div', { class: 'desc' }, [h('div', { class: 'section-title', i18n: 'card.description' }), h('div', { class: 'pre', tid: 'detail-description', text: c.description })]) : null,
      seenText ? kv('card.seen', seenText) : null,
      c.patrol_report ? kv('card.patrol_report', c.patrol_report) : null,
      c.close_reason ? kv('card.close_reason', c.close_reason) : null,
      c.cancel_reason ? kv('card.cancel_reason', c.cancel_reason) : null,
      unitTable ? h('div', { class: 'section-title', i18n: 'card.units' }) : null,
      unitTable,
      h('div', { class: 'section-title', i18n: 'card.timeline' }),
      h('table', { class: 'grid timeline', tid: 'timeline', 'data-count': tl.length }, [
        h('thead', null, h('tr', null, [h('th', { i18n: 'tl.at' }), h('th', { i18n: 'tl.by' }), h('th', { i18n: 'tl.kind' }), h('th', { i18n: 'tl.text' })])),
        tlBody
      ]),
      form
    ]);
    dr.setAttribute('data-status', c.status || '');
    var hadFocus = document.activeElement === oldText;
    clear(dr).appendChild(body);
    if (hadFocus) noteText.focus();
  }

  /* ------------------------------------------------------------------ start */

  function boot() {
    document.documentElement.setAttribute('lang', S.lang);
    document.title = t('app.title');
    if (S.token && S.user) startSession();
    else { teardown(); renderLogin(null); }
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
  else boot();
})();
