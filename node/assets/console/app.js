/* Operator console (АРМ) of the regional ЦОУ node.
   Plain ES2019 for Chrome >= 86 and Firefox >= 82 (rule R17): no modules, no build step, no framework.
   Texts come from i18n.js (window.I18N), reference data from GET /api/v1/reference. */
(function () {
  'use strict';

  var API = '/api/v1';
  var LS_LANG = 'node_console_lang';
  var SS_TOKEN = 'node_console_token';
  var SS_TAB = 'node_console_tab';
  var SS_MINE = 'node_console_mine';
  var TERMINAL = ['closed', 'cancelled', 'linked_duplicate'];
  var INWORK = ['dispatched', 'on_scene', 'reported'];
  var ALL_ROLES = ['call_taker', 'dispatcher', 'duty_officer', 'supervisor', 'patrol', 'admin'];
  var STAFF_ROLES = ['call_taker', 'dispatcher', 'duty_officer', 'supervisor', 'patrol'];

  var S = {
    lang: readLang(),
    token: ssGet(SS_TOKEN),
    user: null,
    ref: null,
    cards: {},
    units: {},
    calls: {},
    es: null,
    esTimer: null,
    views: [],
    renderTimer: null,
    mine: []
  };

  /* ------------------------------------------------------------------ small helpers */

  function readLang() {
    var l = null;
    try { l = window.localStorage.getItem(LS_LANG); } catch (e) { l = null; }
    return l === 'kk' || l === 'ru' ? l : 'ru';
  }
  function ssGet(k) { try { return window.sessionStorage.getItem(k); } catch (e) { return null; } }
  function ssSet(k, v) {
    try { if (v == null) window.sessionStorage.removeItem(k); else window.sessionStorage.setItem(k, v); } catch (e) { /* private mode */ }
  }
  /* Ids of the cards this operator created here (CardSummary has no author), kept per login. */
  function mineKey() { return SS_MINE + ':' + (S.user ? S.user.login : ''); }
  function readMine() {
    try { return JSON.parse(window.localStorage.getItem(mineKey()) || '[]') || []; } catch (e) { return []; }
  }
  function saveMine() {
    try { window.localStorage.setItem(mineKey(), JSON.stringify(S.mine)); } catch (e) { /* ignore */ }
  }

  function dict() { return window.I18N[S.lang] || window.I18N.ru; }
  function has(k) { return Object.prototype.hasOwnProperty.call(dict(), k); }
  function t(k) {
    var d = dict();
    if (Object.prototype.hasOwnProperty.call(d, k)) return d[k];
    if (Object.prototype.hasOwnProperty.call(window.I18N.ru, k)) return window.I18N.ru[k];
    return k;
  }

  function qs(sel, root) { return (root || document).querySelector(sel); }
  function qsa(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }
  function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); return el; }
  function isTerminal(st) { return TERMINAL.indexOf(st) >= 0; }
  function hasRole(r) { return !!(S.user && S.user.roles && S.user.roles.indexOf(r) >= 0); }
  function isStaff() { return STAFF_ROLES.some(hasRole); }

  /* Element builder. Special attributes: class, tid (data-testid), i18n (text from dictionary),
     ph (placeholder from dictionary), tip (title from dictionary), ref (reference object with
     name_kk/name_ru), text, value, checked/disabled/selected, on<event>. */
  function h(tag, attrs, kids) {
    var el = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v == null || v === false) return;
        if (k === 'class') el.className = v;
        else if (k === 'tid') el.setAttribute('data-testid', v);
        else if (k === 'i18n') { el.setAttribute('data-i18n', v); el.textContent = t(v); }
        else if (k === 'ph') { el.setAttribute('data-i18n-ph', v); el.setAttribute('placeholder', t(v)); }
        else if (k === 'tip') { el.setAttribute('data-i18n-title', v); el.setAttribute('title', t(v)); }
        else if (k === 'ref') {
          el.setAttribute('data-kk', v.name_kk || v.name_ru || v.code || '');
          el.setAttribute('data-ru', v.name_ru || v.name_kk || v.code || '');
          el.textContent = el.getAttribute('data-' + S.lang);
        }
        else if (k === 'text') el.textContent = v;
        // Through the CSSOM: the Content-Security-Policy forbids inline style attributes.
        else if (k === 'style') el.style.cssText = v;
        else if (k === 'value') el.value = v;
        else if (k === 'checked' || k === 'disabled' || k === 'selected' || k === 'readOnly') el[k] = !!v;
        else if (k.slice(0, 2) === 'on' && typeof v === 'function') el.addEventListener(k.slice(2), v);
        else el.setAttribute(k, v === true ? '' : String(v));
      });
    }
    append(el, kids);
    return el;
  }
  function append(el, kids) {
    if (kids == null || kids === false) return el;
    if (Array.isArray(kids)) { kids.forEach(function (k) { append(el, k); }); return el; }
    el.appendChild(typeof kids === 'object' ? kids : document.createTextNode(String(kids)));
    return el;
  }
  function tx(key, cls) { return h('span', { i18n: key, class: cls }); }

  /* Label attributes for a coded value: reference names first, then the dictionary, then the raw code. */
  var REF_PREFIX = { categories: 'category', districts: 'district', duty_units: 'duty', channels: 'channel' };
  function refItem(list, code) {
    var arr = S.ref && S.ref[list];
    if (!arr || code == null) return null;
    for (var i = 0; i < arr.length; i++) {
      var it = arr[i];
      if (it && typeof it === 'object' && it.code === code) return it;
    }
    return null;
  }
  function labelAttrs(list, code) {
    var it = refItem(list, code);
    if (it && (it.name_ru || it.name_kk)) return { ref: it };
    var key = (REF_PREFIX[list] || list) + '.' + code;
    if (has(key) || Object.prototype.hasOwnProperty.call(window.I18N.ru, key)) return { i18n: key };
    return { text: code == null ? '' : String(code) };
  }
  function label(list, code, cls) {
    var a = labelAttrs(list, code);
    if (cls) a.class = cls;
    return h('span', a);
  }
  function keyLabel(prefix, code, cls) {
    var key = prefix + '.' + code;
    if (Object.prototype.hasOwnProperty.call(window.I18N.ru, key)) return h('span', { i18n: key, class: cls });
    return h('span', { text: code == null ? '' : String(code), class: cls });
  }
  function refOptions(list) {
    var arr = (S.ref && S.ref[list]) || [];
    return arr.map(function (it) {
      var code = typeof it === 'object' ? it.code : it;
      var a = labelAttrs(list, code);
      a.value = code;
      return h('option', a);
    });
  }
  function codes(list) {
    return ((S.ref && S.ref[list]) || []).map(function (it) { return typeof it === 'object' ? it.code : it; });
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
      pad(d.getHours()) + ':' + pad(d.getMinutes());
  }
  function fmtDur(ms) {
    if (!(ms > 0)) ms = 0;
    var s = Math.floor(ms / 1000);
    var hh = Math.floor(s / 3600), mm = Math.floor((s % 3600) / 60), ss = s % 60;
    return (hh ? hh + ':' + pad(mm) : pad(mm)) + ':' + pad(ss);
  }
  function fmtLeft(ms) {
    if (ms <= 0) return t('duty.overdue');
    var m = Math.floor(ms / 60000);
    return t('duty.left') + ' ' + Math.floor(m / 60) + ' ' + t('u.h') + ' ' + pad(m % 60) + ' ' + t('u.min');
  }
  function timer(since, cls) {
    return h('span', { class: 'timer ' + (cls || ''), 'data-since': since || Date.now(), text: fmtDur(Date.now() - (since || Date.now())) });
  }

  function cardAddress(c) {
    if (!c) return '';
    if (c.address) return c.address;
    if (c.location && c.location.address) return c.location.address;
    return '';
  }
  function cardPriority(c) {
    if (c.priority) return c.priority;
    var cat = refItem('categories', c.category);
    return cat && cat.priority ? cat.priority : null;
  }
  function statusBadge(st, tid) {
    return h('span', { class: 'badge st st-' + st, i18n: 'status.' + st, 'data-status': st, tid: tid });
  }
  function unitStatusBadge(st, tid) {
    return h('span', { class: 'badge ust ust-' + st, i18n: 'ustatus.' + st, 'data-status': st, tid: tid });
  }
  function priBadge(p) {
    return h('span', { class: 'badge pri pri-' + (p || 0), text: p ? 'P' + p : '—' });
  }
  function unitById(id) { return S.units[id] || null; }
  function unitName(id) { var u = unitById(id); return u ? u.call_sign : id; }

  /* ------------------------------------------------------------------ API */

  function api(method, path, body) {
    // X-Requested-With marks the console's own requests (the server refuses cookie-authenticated
    // changes without it or a same-site Origin).
    var opts = { method: method, headers: { 'Accept': 'application/json', 'X-Requested-With': 'fetch' }, credentials: 'same-origin' };
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
          if (r.status === 401 && path !== '/auth/login') onUnauthorized();
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
    var known = e && e.code && Object.prototype.hasOwnProperty.call(window.I18N.ru, 'err.' + e.code);
    if (known && t('err.' + e.code) !== m) m = t('err.' + e.code) + ' — ' + m;
    if (e && e.field) m += ' [' + e.field + ']';
    return m;
  }
  function showError(el, e) {
    if (!el) return;
    el.textContent = e ? errText(e) : '';
    el.style.display = e ? '' : 'none';
  }

  var toastTimer = null;
  function toast(key, kind) {
    var el = qs('#toast');
    if (!el) return;
    el.className = 'toast show ' + (kind || 'ok');
    el.setAttribute('data-i18n', key);
    el.textContent = t(key);
    if (toastTimer) clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { el.className = 'toast'; }, 3500);
  }

  /* ------------------------------------------------------------------ language */

  function applyLang(root) {
    root = root || document;
    document.documentElement.setAttribute('lang', S.lang);
    qsa('[data-i18n]', root).forEach(function (el) { el.textContent = t(el.getAttribute('data-i18n')); });
    qsa('[data-i18n-ph]', root).forEach(function (el) { el.setAttribute('placeholder', t(el.getAttribute('data-i18n-ph'))); });
    qsa('[data-i18n-title]', root).forEach(function (el) { el.setAttribute('title', t(el.getAttribute('data-i18n-title'))); });
    qsa('[data-kk]', root).forEach(function (el) { el.textContent = el.getAttribute('data-' + S.lang); });
    qsa('[data-map-kk]', root).forEach(wrapLabel);
    document.title = t('app.title');
    tick();
  }
  function toggleLang() {
    S.lang = S.lang === 'ru' ? 'kk' : 'ru';
    try { window.localStorage.setItem(LS_LANG, S.lang); } catch (e) { /* ignore */ }
    applyLang(document);
  }
  function langButton() {
    return h('button', { type: 'button', class: 'btn btn-lang', tid: 'lang-toggle', i18n: 'lang.switch', tip: 'lang.switch.tip', onclick: toggleLang });
  }

  /* ------------------------------------------------------------------ clock: timers and deadlines */

  function tick() {
    var now = Date.now();
    qsa('[data-since]').forEach(function (el) {
      el.textContent = fmtDur(now - Number(el.getAttribute('data-since')));
    });
    qsa('[data-deadline]').forEach(function (el) {
      var left = Number(el.getAttribute('data-deadline')) - now;
      el.textContent = fmtLeft(left);
      el.classList.toggle('late', left <= 0);
      el.classList.toggle('soon', left > 0 && left < 3 * 3600 * 1000);
    });
    var lim = ((S.ref && S.ref.unit_overdue_after_s) || 0) * 1000;
    qsa('[data-unit-status]').forEach(function (el) {
      var st = el.getAttribute('data-unit-status');
      var since = Number(el.getAttribute('data-unit-dispatched') || el.getAttribute('data-unit-since'));
      var od = el.getAttribute('data-srv-overdue') === '1' ||
        ((st === 'assigned' || st === 'en_route') && lim > 0 && now - since > lim);
      el.classList.toggle('overdue', od);
      el.setAttribute('data-overdue', od ? '1' : '0');
    });
    var clock = qs('#clock');
    if (clock) clock.textContent = fmtTime(now);
  }
  setInterval(tick, 1000);

  /* ------------------------------------------------------------------ session */

  function onUnauthorized() {
    if (!S.user) return;
    teardown();
    renderLogin('login.session_expired');
  }
  function teardown() {
    S.user = null;
    S.token = null;
    ssSet(SS_TOKEN, null);
    if (S.es) { S.es.close(); S.es = null; }
    if (S.esTimer) { clearTimeout(S.esTimer); S.esTimer = null; }
    S.views = [];
    S.cards = {};
    S.units = {};
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
        h('div', null, [h('div', { class: 'login-title', i18n: 'app.title' }), h('div', { class: 'muted', i18n: 'app.subtitle' })]),
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
        S.token = res.token;
        ssSet(SS_TOKEN, res.token);
        S.user = res.user;
        if (res.user.must_change_password) { renderPasswordChange(typed); return null; }
        return startSession();
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

  /* Setting one's own password: forced after a login with a temporary password (set by an
     administrator, or the bootstrap one), or chosen from the top bar. `known` is the password just
     typed at the login, so it is not asked twice. */
  function renderPasswordChange(known) {
    var forced = !!(S.user && S.user.must_change_password);
    var root = forced ? clear(qs('#app')) : null;
    var err = h('div', { class: 'error', tid: 'pw-error', style: 'display:none', role: 'alert' });
    var cur = h('input', { type: 'password', autocomplete: 'current-password', tid: 'pw-current', id: 'f-pw-cur' });
    var nw = h('input', { type: 'password', autocomplete: 'new-password', tid: 'pw-new', id: 'f-pw-new' });
    var rep = h('input', { type: 'password', autocomplete: 'new-password', tid: 'pw-repeat', id: 'f-pw-rep' });
    var btn = h('button', { type: 'submit', class: 'btn btn-primary', tid: 'pw-submit', i18n: 'pw.submit' });
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
    var box = forced ? form : h('div', { class: 'modal', tid: 'pw-modal' }, [form]);
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      showError(err, null);
      if (nw.value !== rep.value) { showError(err, { code: 'pw_mismatch', message: t('err.pw_mismatch') }); return; }
      btn.disabled = true;
      api('POST', '/auth/password', { current_password: known || cur.value, new_password: nw.value }).then(function (u) {
        S.user = u;
        toast('pw.changed');
        if (forced) return startSession();
        box.remove();
        return null;
      }).catch(function (e) {
        btn.disabled = false;
        showError(err, e);
      });
    });
    if (forced) root.appendChild(box); else document.body.appendChild(box);
    applyLang(box);
    (known ? nw : cur).focus();
  }

  function startSession() {
    var me = S.user ? Promise.resolve(S.user) : api('GET', '/me');
    return me.then(function (u) {
      S.user = u;
      if (u.must_change_password) { renderPasswordChange(null); return null; }
      return api('GET', '/reference');
    }).then(function (ref) {
      if (!S.user || S.user.must_change_password) return;
      S.ref = ref || {};
      renderShell();
    });
  }

  /* ------------------------------------------------------------------ shared data: cards, units, SSE */

  function summaryOf(card) {
    return {
      id: card.id, number: card.number, status: card.status, channel: card.channel,
      category: card.category, priority: card.priority, district: card.district,
      created_at: card.created_at, updated_at: card.updated_at, created_by: card.created_by,
      address: cardAddress(card), forwarded_to: card.forwarded_to, description: card.description
    };
  }
  function upsertCard(s) {
    if (!s || !s.id) return;
    var old = S.cards[s.id];
    if (old && old.updated_at && s.updated_at && old.updated_at > s.updated_at) return;
    S.cards[s.id] = old ? Object.assign({}, old, s) : s;
    S.views.forEach(function (v) { if (v.onCard) v.onCard(S.cards[s.id]); });
    scheduleRender();
  }
  function upsertUnit(u) {
    if (!u || !u.id) return;
    S.units[u.id] = u;
    S.views.forEach(function (v) { if (v.onUnit) v.onUnit(u); });
    scheduleRender();
  }
  function upsertCall(c) {
    if (!c || !c.id) return;
    S.calls[c.id] = c;
    S.views.forEach(function (v) { if (v.onCall) v.onCall(c); });
    scheduleRender();
  }
  function seesCalls() { return hasRole('call_taker') || hasRole('supervisor'); }
  function loadCalls() {
    if (!seesCalls()) return Promise.resolve();
    return api('GET', '/calls').then(function (list) {
      var calls = {};
      (list || []).forEach(function (c) { calls[c.id] = c; });
      S.calls = calls;
      scheduleRender();
    }, function () { /* shown by the cards' reload */ });
  }
  function scheduleRender() {
    if (S.renderTimer) return;
    S.renderTimer = setTimeout(function () {
      S.renderTimer = null;
      S.views.forEach(function (v) { if (v.render) v.render(); });
      tick();
    }, 30);
  }

  function loadAll() {
    if (!isStaff()) return Promise.resolve();
    var started = Date.now();
    return Promise.all([api('GET', '/cards?limit=500'), api('GET', '/units')]).then(function (res) {
      var cards = {};
      (res[0] || []).forEach(function (c) { cards[c.id] = c; });
      Object.keys(S.cards).forEach(function (id) {
        var old = S.cards[id];
        var fresh = cards[id];
        if (!fresh) {
          // Not open any more (or created after the request left): keep what the events told us.
          if (isTerminal(old.status) || (old.updated_at && old.updated_at >= started - 1000)) cards[id] = old;
        } else if (old.updated_at && fresh.updated_at && old.updated_at > fresh.updated_at) {
          cards[id] = old;
        }
      });
      S.cards = cards;
      var units = {};
      (res[1] || []).forEach(function (u) { units[u.id] = u; });
      S.units = units;
      S.views.forEach(function (v) { if (v.onReload) v.onReload(); });
      scheduleRender();
      return loadCalls();
    }).catch(function (e) {
      if (e.status !== 401) toastText(errText(e));
    });
  }
  function toastText(msg) {
    var el = qs('#toast');
    if (!el) return;
    el.className = 'toast show err';
    el.removeAttribute('data-i18n');
    el.textContent = msg;
    if (toastTimer) clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { el.className = 'toast'; }, 5000);
  }

  function setSse(state) {
    var el = qs('#sse');
    if (!el) return;
    el.className = 'sse sse-' + state;
    el.setAttribute('data-state', state);
    var lab = qs('.sse-label', el);
    lab.setAttribute('data-i18n', 'sse.' + state);
    lab.textContent = t('sse.' + state);
  }
  function connectEvents() {
    if (!isStaff() || typeof window.EventSource !== 'function') return;
    if (S.es) S.es.close();
    setSse('connecting');
    var es = new window.EventSource(API + '/events', { withCredentials: true });
    S.es = es;
    es.addEventListener('open', function () {
      if (S.es !== es) return;
      setSse('online');
      loadAll(); // first connect and every reconnect: refetch, events may have been missed
    });
    es.addEventListener('error', function () {
      if (S.es !== es) return;
      if (es.readyState === 2) {
        setSse('offline');
        es.close();
        S.es = null;
        // Closed for good (for example 401 or a server restart): check the session, then reconnect.
        S.esTimer = setTimeout(function () {
          S.esTimer = null;
          if (!S.user) return;
          api('GET', '/me').then(function () { if (S.user) connectEvents(); }, function (e) {
            if (e.status !== 401 && S.user) S.esTimer = setTimeout(connectEvents, 3000);
          });
        }, 2000);
      } else {
        setSse('connecting');
      }
    });
    es.addEventListener('card', function (ev) {
      try { upsertCard(JSON.parse(ev.data)); } catch (e) { /* malformed event */ }
    });
    es.addEventListener('unit', function (ev) {
      try { upsertUnit(JSON.parse(ev.data)); } catch (e) { /* malformed event */ }
    });
    es.addEventListener('call', function (ev) {
      try { upsertCall(JSON.parse(ev.data)); } catch (e) { /* malformed event */ }
    });
  }

  /* ------------------------------------------------------------------ shell: header + tabs */

  function renderShell() {
    var root = clear(qs('#app'));
    S.views = [];
    var u = S.user;
    S.mine = readMine();
    var roleChips = (u.roles || []).map(function (r) { return h('span', { class: 'chip', i18n: 'role.' + r }); });
    var region = S.ref && S.ref.region ? h('span', { class: 'region', ref: S.ref.region }) : null;
    var header = h('header', { class: 'topbar' }, [
      h('div', { class: 'brand' }, [h('span', { class: 'emblem', text: '102' }), h('span', { class: 'brand-title', i18n: 'app.title' })]),
      region,
      h('nav', { class: 'tabs', id: 'tabs', role: 'tablist' }),
      h('div', { class: 'spacer' }),
      h('div', { id: 'sse', class: 'sse', tid: 'sse-status' }, [h('span', { class: 'dot' }), h('span', { class: 'sse-label', i18n: 'sse.connecting' })]),
      h('span', { id: 'clock', class: 'clock', text: fmtTime(Date.now()) }),
      h('div', { class: 'who' }, [h('span', { class: 'who-name', tid: 'user-name', text: u.full_name || u.login }), h('span', { class: 'who-roles' }, roleChips)]),
      langButton(),
      h('button', { type: 'button', class: 'btn btn-ghost', tid: 'change-password', i18n: 'pw.title', onclick: function () { renderPasswordChange(null); } }),
      h('button', { type: 'button', class: 'btn btn-ghost', tid: 'logout', i18n: 'logout', onclick: logout })
    ]);
    var main = h('main', { class: 'panels' });
    root.appendChild(header);
    root.appendChild(main);
    root.appendChild(h('div', { id: 'toast', class: 'toast', tid: 'toast', role: 'status' }));

    var tabs = [];
    if (hasRole('call_taker')) tabs.push({ key: 'call_taker', title: 'tab.call_taker', make: CallTakerView });
    if (hasRole('dispatcher') || hasRole('supervisor') || hasRole('patrol')) tabs.push({ key: 'dispatcher', title: 'tab.dispatcher', make: DispatcherView });
    if (hasRole('duty_officer') || hasRole('supervisor')) tabs.push({ key: 'duty', title: 'tab.duty', make: DutyView });
    if (hasRole('admin')) tabs.push({ key: 'admin', title: 'tab.admin', make: AdminView });

    var nav = qs('#tabs', header);
    if (!tabs.length) main.appendChild(h('div', { class: 'empty-state', i18n: 'tab.none' }));
    var want = ssGet(SS_TAB);
    if (!tabs.some(function (x) { return x.key === want; })) want = tabs.length ? tabs[0].key : null;
    tabs.forEach(function (tb) {
      var panel = h('section', { class: 'panel', tid: 'panel-' + tb.key, id: 'panel-' + tb.key, role: 'tabpanel' });
      var view = tb.make(panel);
      S.views.push(view);
      main.appendChild(panel);
      var btn = h('button', { type: 'button', class: 'tab', role: 'tab', tid: 'tab-' + tb.key, i18n: tb.title, onclick: function () { select(tb.key); } });
      nav.appendChild(btn);
      tb.btn = btn; tb.panel = panel; tb.view = view;
    });
    function select(key) {
      ssSet(SS_TAB, key);
      tabs.forEach(function (tb) {
        var on = tb.key === key;
        tb.btn.classList.toggle('active', on);
        tb.btn.setAttribute('aria-selected', on ? 'true' : 'false');
        tb.panel.style.display = on ? '' : 'none';
        if (on && tb.view.onShow) tb.view.onShow();
      });
    }
    if (want) select(want);
    applyLang(root);
    if (isStaff()) {
      loadAll();
      connectEvents();
    } else {
      setSse('online');
      qs('#sse').style.display = 'none';
    }
  }

  /* ------------------------------------------------------------------ schematic map (offline)
     District polygons from the reference ([lat, lon] corners) and the caller's point with its accuracy. */

  var SVGNS = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs) {
    var el = document.createElementNS(SVGNS, tag);
    Object.keys(attrs || {}).forEach(function (k) { if (attrs[k] != null) el.setAttribute(k, String(attrs[k])); });
    return el;
  }
  function mapDistricts() {
    return ((S.ref && S.ref.districts) || []).filter(function (d) { return d && Array.isArray(d.polygon) && d.polygon.length > 2; });
  }
  function pointInPolygon(lat, lon, poly) {
    var inside = false;
    for (var i = 0, j = poly.length - 1; i < poly.length; j = i++) {
      var yi = poly[i][0], xi = poly[i][1], yj = poly[j][0], xj = poly[j][1];
      if (((yi > lat) !== (yj > lat)) && (lon < (xj - xi) * (lat - yi) / (yj - yi) + xi)) inside = !inside;
    }
    return inside;
  }
  function districtAt(lat, lon) {
    var ds = mapDistricts();
    for (var i = 0; i < ds.length; i++) if (pointInPolygon(lat, lon, ds[i].polygon)) return ds[i].code;
    return null;
  }
  /* A district name on the map: one word per line, centred on the label's point. */
  function wrapLabel(el) {
    while (el.firstChild) el.removeChild(el.firstChild);
    var words = (el.getAttribute('data-map-' + S.lang) || '').split(/\s+/).filter(Boolean);
    words.forEach(function (w, i) {
      var ts = svg('tspan', { x: el.getAttribute('x'), dy: i === 0 ? (-(words.length - 1) * 0.55) + 'em' : '1.1em' });
      ts.textContent = w;
      el.appendChild(ts);
    });
  }
  /* Returns {el, set(lat, lon, accuracy_m, district)}. */
  function MiniMap(tid, height) {
    var box = h('div', { class: 'map', tid: tid, style: 'height:' + (height || 160) + 'px' });
    var ds = mapDistricts();
    var self = { el: box };
    if (!ds.length) { self.set = function () {}; return self; }
    var minLat = 90, maxLat = -90, minLon = 180, maxLon = -180;
    ds.forEach(function (d) {
      d.polygon.forEach(function (pt) {
        minLat = Math.min(minLat, pt[0]); maxLat = Math.max(maxLat, pt[0]);
        minLon = Math.min(minLon, pt[1]); maxLon = Math.max(maxLon, pt[1]);
      });
    });
    var k = Math.cos(((minLat + maxLat) / 2) * Math.PI / 180);
    var U = 1000;
    function X(lon) { return (lon - minLon) * k * U; }
    function Y(lat) { return (maxLat - lat) * U; }
    var W = X(maxLon), H = Y(minLat), pad = Math.max(W, H) * 0.03;
    var root = svg('svg', { viewBox: (-pad) + ' ' + (-pad) + ' ' + (W + 2 * pad) + ' ' + (H + 2 * pad), preserveAspectRatio: 'xMidYMid meet', width: '100%', height: '100%' });
    var polys = {};
    var fs = Math.min(W, H) / 13;
    ds.forEach(function (d) {
      var pts = d.polygon.map(function (pt) { return X(pt[1]).toFixed(1) + ',' + Y(pt[0]).toFixed(1); }).join(' ');
      var poly = svg('polygon', { points: pts, class: 'map-d', 'data-code': d.code });
      polys[d.code] = poly;
      root.appendChild(poly);
      var cx = 0, cy = 0;
      d.polygon.forEach(function (pt) { cx += X(pt[1]); cy += Y(pt[0]); });
      var label = svg('text', { x: (cx / d.polygon.length).toFixed(1), y: (cy / d.polygon.length).toFixed(1), class: 'map-l', 'font-size': fs.toFixed(1), 'text-anchor': 'middle',
        'data-map-kk': d.name_kk || d.code, 'data-map-ru': d.name_ru || d.code });
      wrapLabel(label);
      root.appendChild(label);
    });
    var acc = svg('circle', { class: 'map-acc', r: 0, cx: -1000, cy: -1000 });
    var dot = svg('circle', { class: 'map-pt', r: (fs / 2.5).toFixed(1), cx: -1000, cy: -1000 });
    root.appendChild(acc);
    root.appendChild(dot);
    box.appendChild(root);
    var none = h('div', { class: 'map-none small muted', i18n: 'map.none' });
    box.appendChild(none);
    self.set = function (lat, lon, accuracy, district) {
      Object.keys(polys).forEach(function (c) { polys[c].setAttribute('class', 'map-d' + (c === district ? ' sel' : '')); });
      var ok = typeof lat === 'number' && typeof lon === 'number' && isFinite(lat) && isFinite(lon);
      none.style.display = ok ? 'none' : '';
      box.setAttribute('data-has-point', ok ? '1' : '0');
      if (!ok) { dot.setAttribute('cx', -1000); acc.setAttribute('cx', -1000); return; }
      dot.setAttribute('cx', X(lon).toFixed(1)); dot.setAttribute('cy', Y(lat).toFixed(1));
      acc.setAttribute('cx', X(lon).toFixed(1)); acc.setAttribute('cy', Y(lat).toFixed(1));
      acc.setAttribute('r', accuracy ? Math.max(accuracy / 111320 * U, fs / 2).toFixed(1) : 0);
    };
    return self;
  }

  /* ------------------------------------------------------------------ card lists */

  function cardTable(tid, rows, selectedId, onPick, opts) {
    opts = opts || {};
    var body = h('tbody');
    rows.forEach(function (c) {
      var p = cardPriority(c);
      var tr = h('tr', {
        class: 'card-row pri-row-' + (p || 0) + (c.id === selectedId ? ' selected' : '') + ' row-' + c.status,
        tid: 'card-row', 'data-card-id': c.id, 'data-number': c.number, 'data-status': c.status,
        onclick: function () { onPick(c); }
      }, [
        h('td', { class: 'c-pri' }, priBadge(p)),
        h('td', { class: 'c-num mono' }, [h('div', { text: c.number || '' }), h('div', { class: 'muted small', text: fmtTime(c.created_at) })]),
        h('td', { class: 'c-what' }, [
          h('div', null, c.category ? label('categories', c.category) : h('span', { class: 'muted', i18n: 'none' })),
          h('div', { class: 'muted small', text: cardAddress(c) || null }, !cardAddress(c) && c.district ? label('districts', c.district) : null)
        ]),
        h('td', { class: 'c-st' }, [
          h('div', null, statusBadge(c.status)),
          opts.noTimer ? null : h('div', { class: 'c-age' }, timer(opts.since ? opts.since(c) : c.created_at)),
          c.units && c.units.length ? h('div', { class: 'small mono c-units', text: c.units.join(', ') }) : null
        ])
      ]);
      body.appendChild(tr);
    });
    if (!rows.length) body.appendChild(h('tr', { class: 'empty-row' }, h('td', { colspan: 4, i18n: 'empty' })));
    return h('table', { class: 'grid cards', tid: tid }, body);
  }
  function byPriorityThenAge(a, b) {
    var pa = cardPriority(a) || 9, pb = cardPriority(b) || 9;
    if (pa !== pb) return pa - pb;
    return (a.created_at || 0) - (b.created_at || 0);
  }

  /* ------------------------------------------------------------------ card detail */

  function CardDetail(opts) {
    opts = opts || {};
    var el = h('div', { class: 'detail', tid: 'card-detail' });
    var self = { el: el, id: null, card: null, seq: 0, busy: 0, lastWarnings: {} };
    el.appendChild(h('div', { class: 'empty-state', i18n: 'card.select_hint' }));

    self.show = function (id) {
      self.id = id;
      self.card = null;
      clear(el).appendChild(h('div', { class: 'empty-state', i18n: 'loading' }));
      return self.reload();
    };
    self.reload = function () {
      if (!self.id) return Promise.resolve();
      var my = ++self.seq;
      var id = self.id;
      return api('GET', '/cards/' + encodeURIComponent(id)).then(function (card) {
        if (my !== self.seq || self.id !== id) return;
        self.set(card);
      }).catch(function (e) {
        if (my !== self.seq) return;
        clear(el).appendChild(h('div', { class: 'error', tid: 'detail-error', text: errText(e) }));
      });
    };
    self.set = function (card) {
      if (!card) return;
      if (self.card && card.warnings === undefined && self.card.warnings !== undefined && self.card.id === card.id) {
        card.warnings = self.card.warnings; // action answers carry no warnings; keep the ones we have
      }
      self.card = card;
      self.id = card.id;
      upsertCard(summaryOf(card));
      render();
    };
    self.onCard = function (s) {
      if (s && s.id === self.id && !self.busy) {
        if (self.card && self.card.updated_at && s.updated_at && s.updated_at <= self.card.updated_at) return;
        self.reload();
      }
    };
    self.refreshSelects = function () { if (self.card) render(); };

    function run(btn, fn, okKey) {
      var errBox = qs('[data-testid=action-error]', el);
      showError(errBox, null);
      if (btn) btn.disabled = true;
      self.busy++;
      self.seq++;
      return fn().then(function (res) {
        self.busy--;
        var card = res && res.card ? res.card : res;
        if (res && res.card && res.warnings) self.lastWarnings[res.card.id] = res.warnings;
        if (card && card.id) self.set(card); else self.reload();
        if (okKey) toast(okKey);
        return res;
      }, function (e) {
        self.busy--;
        if (btn) btn.disabled = false;
        showError(qs('[data-testid=action-error]', el) || errBox, e);
        return null;
      });
    }
    function post(path, body) {
      return function () { return api('POST', '/cards/' + encodeURIComponent(self.id) + path, body === undefined ? undefined : body()); };
    }

    /* Inputs marked data-keep survive a re-render (an event may refresh the card while typing). */
    function keepInputs() {
      var kept = {};
      qsa('[data-keep]', el).forEach(function (i) { kept[i.getAttribute('data-keep')] = i.value; });
      return kept;
    }
    function restoreInputs(kept) {
      qsa('[data-keep]', el).forEach(function (i) {
        var k = i.getAttribute('data-keep');
        if (kept[k] != null && kept[k] !== '') {
          if (i.tagName === 'SELECT') {
            if (qsa('option', i).some(function (o) { return o.value === kept[k]; })) i.value = kept[k];
          } else i.value = kept[k];
        }
      });
    }

    function field(key, value, tid) {
      if (value == null || value === '') return null;
      return h('div', { class: 'kv' }, [h('span', { class: 'k', i18n: key }), h('span', { class: 'v', tid: tid }, typeof value === 'object' ? value : String(value))]);
    }
    function unitSelect(tid, filter, keep) {
      var list = Object.keys(S.units).map(function (k) { return S.units[k]; }).filter(filter)
        .sort(function (a, b) { return (a.call_sign || '').localeCompare(b.call_sign || ''); });
      var sel = h('select', { tid: tid, 'data-keep': keep }, [h('option', { value: '', i18n: list.length ? 'act.select_unit' : 'act.no_units' })]);
      list.forEach(function (u) {
        sel.appendChild(h('option', { value: u.id, text: u.call_sign + ' · ' + t('ukind.' + u.kind) }));
      });
      return sel;
    }

    function renderWarnings(list, title, tid, strong) {
      var box = h('div', { class: 'box warnings' + (list && list.length ? ' has' : '') + (strong ? ' strong' : ''), tid: tid });
      box.appendChild(h('div', { class: 'section-title' }, [h('span', { i18n: title })]));
      if (!list || !list.length) {
        box.appendChild(h('div', { class: 'muted', i18n: 'warn.none' }));
        return box;
      }
      if (strong) box.appendChild(h('div', { class: 'warn-call', i18n: 'warn.tell_patrol' }));
      var ul = h('ul', { class: 'warn-list' });
      list.forEach(function (w) { ul.appendChild(warningItem(w)); });
      box.appendChild(ul);
      return box;
    }

    function render() {
      var kept = keepInputs();
      var c = self.card;
      clear(el);
      var open = !isTerminal(c.status);
      var disp = hasRole('dispatcher'), patrol = hasRole('patrol'), duty = hasRole('duty_officer'), ct = hasRole('call_taker');
      var p = cardPriority(c);

      el.appendChild(h('div', { class: 'detail-head' }, [
        priBadge(p),
        h('span', { class: 'detail-number mono', tid: 'card-number', text: c.number }),
        statusBadge(c.status, 'card-status'),
        c.category ? label('categories', c.category, 'detail-cat') : null,
        h('span', { class: 'spacer' }),
        h('span', { class: 'muted small' }, [tx('card.created'), ' ', fmtDateTime(c.created_at), ' · ', open ? timer(c.created_at) : null])
      ]));

      var caller = c.caller || {};
      var loc = c.location || {};
      var seen = c.seen || {};
      var coords = loc.lat != null && loc.lon != null
        ? Number(loc.lat).toFixed(5) + ', ' + Number(loc.lon).toFixed(5) + (loc.accuracy_m != null ? ' ±' + loc.accuracy_m + ' ' + t('u.m') : '')
        : null;
      var mapBox = null;
      if (loc.lat != null && loc.lon != null && mapDistricts().length) {
        var mm = MiniMap('card-map', 120);
        mm.set(Number(loc.lat), Number(loc.lon), loc.accuracy_m, c.district);
        mapBox = mm.el;
      }
      el.appendChild(h('div', { class: 'detail-grid' }, [
        h('div', { class: 'box' }, [
          field('card.channel', c.channel ? label('channels', c.channel) : null),
          field('card.district', c.district ? label('districts', c.district) : null),
          field('card.caller_name', caller.name),
          field('card.caller_phone', caller.phone),
          field('card.caller_lang', caller.language ? tx('lang.' + caller.language) : null),
          field('card.created_by', c.created_by)
        ]),
        h('div', { class: 'box' }, [
          field('card.address', loc.address, 'card-address'),
          field('card.location', coords),
          field('card.seen.persons', seen.persons),
          field('card.seen.vehicles', seen.vehicles),
          field('card.seen.buildings', seen.buildings),
          mapBox
        ])
      ]));
      if (c.description) el.appendChild(h('div', { class: 'box desc' }, [h('div', { class: 'k', i18n: 'card.description' }), h('div', { class: 'v pre', tid: 'card-description', text: c.description })]));

      var facts = [
        field('card.forwarded_to', c.forwarded_to ? label('duty_units', c.forwarded_to) : null, 'card-forwarded'),
        field('card.dsog', c.dsog_dispatched_at ? fmtDateTime(c.dsog_dispatched_at) : null, 'card-dsog'),
        field('card.patrol_report', c.patrol_report, 'card-report'),
        field('card.close_reason', c.close_reason),
        field('card.cancel_reason', c.cancel_reason),
        field('card.duplicate_of', c.duplicate_of ? ((S.cards[c.duplicate_of] && S.cards[c.duplicate_of].number) || c.duplicate_of) : null)
      ].filter(Boolean);
      if (facts.length) el.appendChild(h('div', { class: 'box facts' }, facts));

      // КУИ (R07, R14): the entry appears when the card is forwarded, with its deadline; the number comes later.
      var kuiDone = !!(c.kui && c.kui.number);
      if (c.kui || duty) {
        var kbox = h('div', { class: 'box kui' + (kuiDone ? ' done' : ''), tid: 'kui-box' }, [h('div', { class: 'section-title', i18n: 'duty.kui.title' })]);
        var deadline = c.kui && c.kui.deadline_at;
        if (kuiDone) {
          var inTime = !deadline || !c.kui.registered_at || c.kui.registered_at <= deadline;
          kbox.appendChild(h('div', { class: 'kui-info', tid: 'kui-info' }, [
            h('span', { class: 'mono kui-num', tid: 'kui-number-value', text: c.kui.number }),
            h('span', { class: 'muted' }, [' · ', tx('duty.kui.registered'), ' ', fmtDateTime(c.kui.registered_at), c.kui.registered_by ? ' (' + c.kui.registered_by + ')' : '']),
            deadline ? h('span', null, [' · ', tx('duty.kui.deadline'), ' ', h('b', { tid: 'kui-deadline', 'data-deadline-at': deadline, text: fmtDateTime(deadline) })]) : null,
            ' ', h('span', { class: 'badge ' + (inTime ? 'acc-on' : 'acc-off'), tid: 'kui-in-time', 'data-in-time': inTime ? '1' : '0', i18n: inTime ? 'duty.kui.in_time' : 'duty.kui.late' })
          ]));
        } else {
          kbox.appendChild(h('div', { class: 'muted small', i18n: 'duty.kui.hint' }));
          if (deadline) {
            kbox.appendChild(h('div', { class: 'kui-due' }, [tx('duty.kui.deadline'), ' ', h('b', { text: fmtDateTime(deadline) }), ' · ',
              h('span', { class: 'deadline', tid: 'kui-deadline', 'data-deadline': deadline, text: fmtLeft(deadline - Date.now()) })]));
          } else {
            kbox.appendChild(h('div', { class: 'muted small', i18n: 'duty.kui.not_forwarded' }));
          }
          if (duty && open) {
            var kin = h('input', { type: 'text', tid: 'kui-number', ph: 'act.kui.ph', 'data-keep': 'kui', maxlength: 64 });
            var kbtn = h('button', { type: 'button', class: 'btn btn-primary', tid: 'kui-btn', i18n: 'act.kui' });
            kbtn.addEventListener('click', function () {
              if (!kin.value.trim()) { kin.focus(); return; }
              run(kbtn, post('/kui', function () { return { number: kin.value.trim() }; }), 'act.done');
            });
            kbox.appendChild(h('div', { class: 'row' }, [kin, kbtn]));
          }
        }
        el.appendChild(kbox);
      }

      // Address warnings (R08): the card's own list, plus what the dispatch answer carried.
      var last = self.lastWarnings[c.id];
      if (c.warnings !== undefined || (last && last.length)) {
        var wl = (c.warnings || []).slice();
        (last || []).forEach(function (w) {
          if (!wl.some(function (x) { return JSON.stringify(x) === JSON.stringify(w); })) wl.push(w);
        });
        var sentOut = (c.units || []).some(function (cu) { return !cu.cleared_at; });
        el.appendChild(renderWarnings(wl, 'warn.title', 'card-warnings', sentOut && open));
      }

      // Units on the card
      var units = c.units || [];
      if (units.length || (disp && open)) {
        var ubody = h('tbody');
        units.forEach(function (cu) {
          var done = !!cu.cleared_at;
          var acts = [];
          if ((disp || patrol) && open && !done) {
            if (!cu.en_route_at && !cu.on_scene_at) {
              var b1 = h('button', { type: 'button', class: 'btn btn-xs', tid: 'unit-en-route', i18n: 'act.en_route' });
              b1.addEventListener('click', function () { run(b1, post('/units/' + encodeURIComponent(cu.unit_id) + '/en-route')); });
              acts.push(b1);
            }
            if (!cu.on_scene_at) {
              var b2 = h('button', { type: 'button', class: 'btn btn-xs', tid: 'unit-on-scene', i18n: 'act.on_scene' });
              b2.addEventListener('click', function () { run(b2, post('/units/' + encodeURIComponent(cu.unit_id) + '/on-scene')); });
              acts.push(b2);
            }
            var b3 = h('button', { type: 'button', class: 'btn btn-xs btn-ghost', tid: 'unit-clear', i18n: 'act.clear' });
            b3.addEventListener('click', function () { run(b3, post('/units/' + encodeURIComponent(cu.unit_id) + '/clear')); });
            acts.push(b3);
            if (disp && !cu.on_scene_at) {
              var b4 = h('button', { type: 'button', class: 'btn btn-xs btn-ghost', tid: 'unit-unassign', i18n: 'act.unassign' });
              b4.addEventListener('click', function () {
                run(b4, function () { return api('DELETE', '/cards/' + encodeURIComponent(self.id) + '/units/' + encodeURIComponent(cu.unit_id)); });
              });
              acts.push(b4);
            }
          }
          var live = unitById(cu.unit_id);
          ubody.appendChild(h('tr', { tid: 'card-unit-' + cu.unit_id, 'data-unit-id': cu.unit_id, class: done ? 'done' : '' }, [
            h('td', { class: 'mono b', text: cu.call_sign || unitName(cu.unit_id) }),
            h('td', null, keyLabel('ukind', cu.kind)),
            h('td', { class: 'mono small' }, fmtTime(cu.assigned_at)),
            h('td', { class: 'mono small' }, fmtTime(cu.en_route_at)),
            h('td', { class: 'mono small' }, fmtTime(cu.on_scene_at)),
            h('td', { class: 'mono small' }, fmtTime(cu.cleared_at)),
            h('td', null, live && !done ? unitStatusBadge(live.status) : null),
            h('td', { class: 'acts' }, acts)
          ]));
        });
        if (!units.length) ubody.appendChild(h('tr', { class: 'empty-row' }, h('td', { colspan: 8, i18n: 'empty' })));
        el.appendChild(h('div', { class: 'box' }, [
          h('div', { class: 'section-title', i18n: 'card.units' }),
          h('table', { class: 'grid units-on-card', tid: 'card-units' }, [
            h('thead', null, h('tr', null, [
              h('th', { i18n: 'unit.call_sign' }), h('th', { i18n: 'unit.kind' }), h('th', { i18n: 'unit.assigned' }),
              h('th', { i18n: 'unit.en_route' }), h('th', { i18n: 'unit.on_scene' }), h('th', { i18n: 'unit.cleared' }),
              h('th', { i18n: 'unit.status' }), h('th')
            ])),
            ubody
          ])
        ]));
      }

      // Actions
      var groups = [];
      if (disp && open && c.status !== 'new') {
        var dsel = unitSelect('dispatch-unit', function (u) { return u.status === 'available'; }, 'dispatch');
        var dbtn = h('button', { type: 'button', class: 'btn btn-primary', tid: 'dispatch-btn', i18n: 'act.dispatch' });
        dbtn.addEventListener('click', function () {
          if (!dsel.value) { dsel.focus(); return; }
          run(dbtn, post('/dispatch', function () { return { unit_id: dsel.value }; }));
        });
        groups.push(h('div', { class: 'act-group' }, [h('div', { class: 'section-title', i18n: 'act.group.units' }), h('div', { class: 'row' }, [dsel, dbtn])]));
      }
      if ((disp || patrol) && open && units.length) {
        var rtext = h('textarea', { rows: 2, tid: 'report-text', ph: 'act.report.ph', 'data-keep': 'report' });
        var rbtn = h('button', { type: 'button', class: 'btn', tid: 'report-btn', i18n: 'act.report' });
        rbtn.addEventListener('click', function () {
          if (!rtext.value.trim()) { rtext.focus(); return; }
          run(rbtn, post('/report', function () { return { text: rtext.value.trim() }; }), 'act.done');
        });
        var grp = [h('div', { class: 'section-title', i18n: 'act.group.report' }), h('div', { class: 'row' }, [rtext, rbtn])];
        if (disp) {
          var ctext = h('textarea', { rows: 2, tid: 'close-report', ph: 'act.close.ph', 'data-keep': 'close' });
          var cbtn = h('button', { type: 'button', class: 'btn btn-ok', tid: 'close-btn', i18n: 'act.close' });
          cbtn.addEventListener('click', function () {
            run(cbtn, post('/close', function () { var v = ctext.value.trim(); return v ? { report: v } : {}; }), 'act.done');
          });
          grp.push(h('div', { class: 'row' }, [ctext, cbtn]));
        }
        groups.push(h('div', { class: 'act-group' }, grp));
      } else if (disp && open && c.status !== 'new') {
        var ctext2 = h('textarea', { rows: 2, tid: 'close-report', ph: 'act.close.ph', 'data-keep': 'close' });
        var cbtn2 = h('button', { type: 'button', class: 'btn btn-ok', tid: 'close-btn', i18n: 'act.close' });
        cbtn2.addEventListener('click', function () {
          run(cbtn2, post('/close', function () { var v = ctext2.value.trim(); return v ? { report: v } : {}; }), 'act.done');
        });
        groups.push(h('div', { class: 'act-group' }, [h('div', { class: 'section-title', i18n: 'act.group.report' }), h('div', { class: 'row' }, [ctext2, cbtn2])]));
      }
      if ((disp || duty) && open) {
        var esc = [h('div', { class: 'section-title', i18n: 'act.group.escalate' })];
        var invest = function (u) { return u.status === 'available' && u.kind === 'investigative_group'; };
        var anyInvest = Object.keys(S.units).some(function (k) { return invest(S.units[k]); });
        var gsel = unitSelect('dsog-unit', anyInvest ? invest : function (u) { return u.status === 'available'; }, 'dsog');
        var gbtn = h('button', { type: 'button', class: 'btn btn-danger', tid: 'dsog-btn', i18n: 'act.dsog', tip: 'act.dsog.hint' });
        gbtn.addEventListener('click', function () {
          if (!gsel.value) { gsel.focus(); return; }
          run(gbtn, post('/dsog', function () { return { unit_id: gsel.value }; }), 'act.done');
        });
        esc.push(h('div', { class: 'muted small', i18n: 'act.dsog.hint' }));
        esc.push(h('div', { class: 'row' }, [gsel, gbtn]));
        if (disp) {
          var fsel = h('select', { tid: 'forward-unit', 'data-keep': 'forward' }, [h('option', { value: '', i18n: 'act.select_duty_unit' })].concat(refOptions('duty_units')));
          // By territorial affiliation: offer the duty unit of the card's district first.
          if (c.district) {
            var du = codes('duty_units').filter(function (code) { return code === 'du-' + c.district || code === c.district || code.split(/[-_]/).indexOf(c.district) >= 0; })[0];
            if (du) fsel.value = du;
          }
          var fbtn = h('button', { type: 'button', class: 'btn', tid: 'forward-btn', i18n: 'act.forward' });
          fbtn.addEventListener('click', function () {
            if (!fsel.value) { fsel.focus(); return; }
            run(fbtn, post('/forward', function () { return { duty_unit: fsel.value }; }), 'act.done');
          });
          esc.push(h('div', { class: 'row' }, [fsel, fbtn]));
        }
        groups.push(h('div', { class: 'act-group' }, esc));
      }
      var other = [h('div', { class: 'section-title', i18n: 'act.group.other' })];
      if ((disp || ct) && open) {
        var cin = h('input', { type: 'text', tid: 'cancel-reason', ph: 'act.cancel.ph', 'data-keep': 'cancel' });
        var xbtn = h('button', { type: 'button', class: 'btn btn-ghost', tid: 'cancel-btn', i18n: 'act.cancel' });
        xbtn.addEventListener('click', function () {
          if (!cin.value.trim()) { cin.focus(); return; }
          run(xbtn, post('/cancel', function () { return { reason: cin.value.trim() }; }), 'act.done');
        });
        other.push(h('div', { class: 'row' }, [cin, xbtn]));
        var others = Object.keys(S.cards).map(function (k) { return S.cards[k]; })
          .filter(function (o) { return o.id !== c.id && !isTerminal(o.status); })
          .sort(function (a, b) { return (b.created_at || 0) - (a.created_at || 0); });
        if (others.length) {
          var dupSel = h('select', { tid: 'duplicate-of', 'data-keep': 'dup' }, [h('option', { value: '', i18n: 'act.select_card' })].concat(
            others.map(function (o) { return h('option', { value: o.id, text: o.number + ' · ' + (cardAddress(o) || '') }); })));
          var dupBtn = h('button', { type: 'button', class: 'btn btn-ghost', tid: 'duplicate-btn', i18n: 'act.duplicate' });
          dupBtn.addEventListener('click', function () {
            if (!dupSel.value) { dupSel.focus(); return; }
            run(dupBtn, post('/link-duplicate', function () { return { duplicate_of: dupSel.value }; }), 'act.done');
          });
          other.push(h('div', { class: 'row' }, [dupSel, dupBtn]));
        }
      }
      if (isStaff()) {
        var nin = h('input', { type: 'text', tid: 'note-text', ph: 'act.note.ph', 'data-keep': 'note' });
        var nbtn = h('button', { type: 'button', class: 'btn btn-ghost', tid: 'note-btn', i18n: 'act.note' });
        nbtn.addEventListener('click', function () {
          if (!nin.value.trim()) { nin.focus(); return; }
          run(nbtn, post('/notes', function () { return { text: nin.value.trim() }; })).then(function (r) { if (r) nin.value = ''; });
        });
        other.push(h('div', { class: 'row' }, [nin, nbtn]));
      }
      if (other.length > 1) groups.push(h('div', { class: 'act-group' }, other));
      el.appendChild(h('div', { class: 'error', tid: 'action-error', style: 'display:none', role: 'alert' }));
      if (groups.length) el.appendChild(h('div', { class: 'actions', tid: 'card-actions' }, groups));

      el.appendChild(timelineTable(c.timeline || []));
      restoreInputs(kept);
      applyLang(el);
    }
    return self;
  }

  /* Codes joined by ", " as labels of the dictionary (prefix.code). */
  function keyLabels(prefix, codes) {
    var out = [];
    codes.forEach(function (c, i) { if (i) out.push(', '); out.push(keyLabel(prefix, c)); });
    return out;
  }

  /* FoundWarning: {address, person, birth_year?, flags:[registered_weapon|criminal_record|psychiatric_record|other], note,
     match: match|possible, reasons:[street_spelling|street_name_partial|street_transliterated|street_type|house_letter|korpus|other_flat]} (R08).
     A possible match is shown, marked, with its reasons: the crew must hear of it, and know it may be another address. */
  function warningItem(w) {
    var flags = Array.isArray(w.flags) ? w.flags : [w.kind || w.type || 'other'];
    var person = [w.person, w.birth_year ? '(' + w.birth_year + ')' : null].filter(Boolean).join(' ');
    var possible = w.match === 'possible';
    var reasons = Array.isArray(w.reasons) ? w.reasons : [];
    return h('li', { class: 'warn-item' + (possible ? ' warn-possible' : ''), tid: 'warning-item', 'data-match': possible ? 'possible' : 'match' }, [
      possible ? h('div', { class: 'warn-possible-mark', tid: 'warning-possible' }, [
        tx('warn.match.possible', 'badge warn-possible-badge'),
        reasons.length ? ' ' : null,
        reasons.length ? h('span', { class: 'small' }, keyLabels('warn.reason', reasons)) : null
      ]) : null,
      h('div', null, flags.map(function (f) { return h('span', { class: 'badge warn-kind warn-' + f }, keyLabel('warn', f)); }).concat([
        ' ', h('b', { text: person })])),
      w.address ? h('div', { class: 'small muted', text: w.address }) : null,
      w.note ? h('div', { class: 'small', text: w.note }) : null
    ]);
  }

  /* The timeline entry written at dispatch (node service.rs warnings_text) carries codes:
     "Call-sign: address warnings: Person [registered_weapon, other] (possible: other_flat); …". Show them in the user's language. */
  function warningIssuedText(text) {
    var out = [];
    var re = /address warnings: |\[([a-z_, ]*)\]|\(possible: ([a-z_, ]*)\)/g;
    var last = 0;
    var m;
    while ((m = re.exec(text)) !== null) {
      if (m.index > last) out.push(text.slice(last, m.index));
      if (m[1] !== undefined) out.push('[', keyLabels('warn', m[1].split(', ')), ']');
      else if (m[2] !== undefined) out.push('(', tx('warn.match.possible', 'warn-possible-text'), ': ', keyLabels('warn.reason', m[2].split(', ')), ')');
      else out.push(tx('warn.title'), ': ');
      last = re.lastIndex;
    }
    out.push(text.slice(last));
    return out;
  }

  /* Timeline texts are often bare codes (channel, district, duty unit, category): show their names. */
  function codeText(text) {
    if (!text) return '';
    var lists = ['districts', 'duty_units', 'categories'];
    for (var i = 0; i < lists.length; i++) if (refItem(lists[i], text)) return label(lists[i], text);
    if (codes('channels').indexOf(text) >= 0) return label('channels', text);
    return text;
  }

  function timelineTable(items) {
    var body = h('tbody');
    items.slice().sort(function (a, b) { return (a.at || 0) - (b.at || 0); }).forEach(function (e) {
      body.appendChild(h('tr', { class: 'tl-' + e.kind, 'data-kind': e.kind }, [
        h('td', { class: 'mono small nowrap', text: fmtTime(e.at) }),
        h('td', { class: 'small nowrap', text: e.by || '' }),
        h('td', { class: 'nowrap' }, keyLabel('tl', e.kind)),
        h('td', { class: 'pre' }, e.kind === 'warning_issued' ? warningIssuedText(e.text || '') : codeText(e.text))
      ]));
    });
    if (!items.length) body.appendChild(h('tr', { class: 'empty-row' }, h('td', { colspan: 4, i18n: 'empty' })));
    return h('div', { class: 'box' }, [
      h('div', { class: 'section-title', i18n: 'card.timeline' }),
      h('table', { class: 'grid timeline', tid: 'timeline' }, [
        h('thead', null, h('tr', null, [h('th', { i18n: 'tl.at' }), h('th', { i18n: 'tl.by' }), h('th', { i18n: 'tl.kind' }), h('th', { i18n: 'tl.text' })])),
        body
      ])
    ]);
  }

  /* ------------------------------------------------------------------ unit board */

  function UnitBoard() {
    var el = h('div', { class: 'unit-board' });
    var self = { el: el, onOpenCard: null };
    self.render = function () {
      clear(el);
      var list = Object.keys(S.units).map(function (k) { return S.units[k]; })
        .sort(function (a, b) { return (a.call_sign || '').localeCompare(b.call_sign || ''); });
      var canSet = hasRole('dispatcher') || hasRole('supervisor') || hasRole('patrol');
      var body = h('tbody');
      list.forEach(function (u) {
        var cardNo = null;
        if (u.card_id) {
          var cs = S.cards[u.card_id];
          cardNo = h('a', { href: '#', class: 'mono', text: cs ? cs.number : String(u.card_id).slice(0, 8), onclick: function (ev) {
            ev.preventDefault(); if (self.onOpenCard) self.onOpenCard(u.card_id);
          } });
        }
        var acts = [];
        if (canSet && (u.status === 'available' || u.status === 'off_duty')) {
          var next = u.status === 'available' ? 'off_duty' : 'available';
          var b = h('button', { type: 'button', class: 'btn btn-xs btn-ghost', tid: 'unit-set-' + next, i18n: next === 'available' ? 'unit.set_available' : 'unit.set_off_duty' });
          b.addEventListener('click', function () {
            b.disabled = true;
            api('POST', '/units/' + encodeURIComponent(u.id) + '/status', { status: next }).then(upsertUnit, function (e) { b.disabled = false; toastText(errText(e)); });
          });
          acts.push(b);
        }
        body.appendChild(h('tr', {
          class: 'unit-row us-' + u.status, tid: 'unit-row-' + u.id, 'data-unit-id': u.id,
          'data-status': u.status, 'data-unit-status': u.status, 'data-unit-since': u.status_since || 0, 'data-unit-dispatched': u.dispatched_at || null,
          'data-srv-overdue': u.overdue ? '1' : '0', 'data-overdue': u.overdue ? '1' : '0'
        }, [
          h('td', { class: 'mono b', text: u.call_sign }),
          h('td', null, keyLabel('ukind', u.kind)),
          h('td', null, unitStatusBadge(u.status, 'unit-status')),
          h('td', { class: 'mono' }, timer(u.status_since)),
          h('td', null, cardNo),
          h('td', { class: 'acts' }, acts)
        ]));
      });
      if (!list.length) body.appendChild(h('tr', { class: 'empty-row' }, h('td', { colspan: 6, i18n: 'empty' })));
      el.appendChild(h('table', { class: 'grid units', tid: 'unit-board' }, [
        h('thead', null, h('tr', null, [h('th', { i18n: 'unit.call_sign' }), h('th', { i18n: 'unit.kind' }), h('th', { i18n: 'unit.status' }),
          h('th', { i18n: 'unit.timer' }), h('th', { i18n: 'unit.card' }), h('th')])),
        body
      ]));
      el.appendChild(h('div', { class: 'legend small muted' }, [h('span', { class: 'legend-od' }), ' ', tx('unit.overdue'),
        S.ref && S.ref.unit_overdue_after_s ? ' > ' + Math.round(S.ref.unit_overdue_after_s / 60) + ' ' + t('u.min') : '']));
      tick();
    };
    return self;
  }

  /* ------------------------------------------------------------------ electronic post roster (R20) */

  function todayIso() {
    var d = new Date();
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate());
  }
  function Roster() {
    var canAdd = hasRole('dispatcher') || hasRole('supervisor');
    var date = h('input', { type: 'date', tid: 'roster-date', class: 'sel-sm', value: todayIso() });
    var box = h('div', { tid: 'roster' });
    var err = h('div', { class: 'error', tid: 'roster-error', style: 'display:none', role: 'alert' });
    var shift = h('select', { tid: 'roster-shift', class: 'sel-sm' }, [h('option', { value: 'day', i18n: 'shift.day' }), h('option', { value: 'night', i18n: 'shift.night' })]);
    var post = h('input', { type: 'text', tid: 'roster-post', ph: 'roster.post', maxlength: 120 });
    var unit = h('select', { tid: 'roster-unit', class: 'sel-sm' });
    var add = h('button', { type: 'submit', class: 'btn btn-xs', tid: 'roster-add', i18n: 'roster.add' });
    var form = canAdd ? h('form', { class: 'row roster-form' }, [shift, post, unit, add]) : null;
    var el = h('div', { class: 'roster-wrap' }, [
      h('div', { class: 'col-head' }, [h('span', { i18n: 'roster.title' }), h('span', { class: 'spacer' }), date]),
      box, err, form
    ]);
    var entries = [];
    function load() {
      if (!date.value) return;
      api('GET', '/roster?date=' + encodeURIComponent(date.value)).then(function (list) {
        entries = list || [];
        showError(err, null);
        render();
      }, function (e) { showError(err, e); });
    }
    function render() {
      var body = h('tbody');
      entries.slice().sort(function (a, b) {
        return a.shift === b.shift ? String(a.post).localeCompare(String(b.post)) : (a.shift === 'day' ? -1 : 1);
      }).forEach(function (r) {
        body.appendChild(h('tr', { tid: 'roster-row', 'data-unit-id': r.unit_id }, [
          h('td', null, keyLabel('shift', r.shift)),
          h('td', { text: r.post }),
          h('td', { class: 'mono b', text: r.call_sign || unitName(r.unit_id) }),
          h('td', { class: 'small muted', text: r.assigned_by || '' })
        ]));
      });
      if (!entries.length) body.appendChild(h('tr', { class: 'empty-row' }, h('td', { colspan: 4, i18n: 'empty' })));
      clear(box).appendChild(h('table', { class: 'grid roster' }, [
        h('thead', null, h('tr', null, [h('th', { i18n: 'roster.shift' }), h('th', { i18n: 'roster.post' }), h('th', { i18n: 'roster.unit' }), h('th', { i18n: 'roster.by' })])),
        body
      ]));
    }
    function fillUnits() {
      var keep = unit.value;
      clear(unit).appendChild(h('option', { value: '', i18n: 'act.select_unit' }));
      Object.keys(S.units).map(function (k) { return S.units[k]; })
        .sort(function (a, b) { return (a.call_sign || '').localeCompare(b.call_sign || ''); })
        .forEach(function (u) { unit.appendChild(h('option', { value: u.id, text: u.call_sign })); });
      if (keep) unit.value = keep;
    }
    date.addEventListener('change', load);
    if (form) {
      form.addEventListener('submit', function (ev) {
        ev.preventDefault();
        if (!post.value.trim()) { post.focus(); return; }
        if (!unit.value) { unit.focus(); return; }
        add.disabled = true;
        api('POST', '/roster', { date: date.value, shift: shift.value, post: post.value.trim(), unit_id: unit.value }).then(function () {
          add.disabled = false;
          post.value = '';
          toast('roster.added');
          load();
        }, function (e) { add.disabled = false; showError(err, e); });
      });
    }
    return { el: el, load: load, fillUnits: fillUnits };
  }

  /* ------------------------------------------------------------------ ГУСС dispatcher */

  function DispatcherView(panel) {
    var detail = CardDetail();
    var board = UnitBoard();
    var roster = Roster();
    var queueBox = h('div');
    var inworkBox = h('div');
    var qCount = h('span', { class: 'count', tid: 'queue-count', text: '0' });
    var wCount = h('span', { class: 'count', text: '0' });
    var dsel = h('select', { tid: 'district-filter', class: 'sel-sm' }, [h('option', { value: '', i18n: 'all' })].concat(refOptions('districts')));
    panel.appendChild(h('div', { class: 'layout-3' }, [
      h('div', { class: 'col col-list' }, [
        h('div', { class: 'col-head' }, [h('span', { i18n: 'disp.queue' }), qCount, h('span', { class: 'spacer' }), h('span', { class: 'small muted', i18n: 'disp.district_filter' }), dsel]),
        queueBox,
        h('div', { class: 'col-head' }, [h('span', { i18n: 'disp.inwork' }), wCount]),
        inworkBox
      ]),
      h('div', { class: 'col col-detail' }, [detail.el]),
      h('div', { class: 'col col-units' }, [h('div', { class: 'col-head' }, [h('span', { i18n: 'disp.units' })]), board.el, roster.el])
    ]));
    function pick(c) { detail.show(c.id); render(); }
    board.onOpenCard = function (id) { detail.show(id); render(); };
    dsel.addEventListener('change', render);
    function render() {
      var all = Object.keys(S.cards).map(function (k) { return S.cards[k]; })
        .filter(function (c) { return !dsel.value || c.district === dsel.value; });
      var q = all.filter(function (c) { return c.status === 'sent_for_processing'; }).sort(byPriorityThenAge);
      var w = all.filter(function (c) { return INWORK.indexOf(c.status) >= 0; }).sort(byPriorityThenAge);
      clear(queueBox).appendChild(cardTable('queue', q, detail.id, pick));
      clear(inworkBox).appendChild(cardTable('inwork', w, detail.id, pick, { since: function (c) { return c.updated_at || c.created_at; } }));
      qCount.textContent = String(q.length);
      wCount.textContent = String(w.length);
      board.render();
    }
    return {
      render: render,
      onCard: detail.onCard,
      onUnit: function () { if (detail.card && !detail.busy) detail.refreshSelects(); },
      onReload: function () { if (detail.id) detail.reload(); roster.fillUnits(); roster.load(); }
    };
  }

  /* ------------------------------------------------------------------ duty officer */

  function DutyView(panel) {
    var detail = CardDetail();
    var recordings = hasRole('supervisor') || hasRole('duty_officer') ? RecordingsBox() : null;
    var fwdBox = h('div');
    var openBox = h('div');
    var fCount = h('span', { class: 'count', text: '0' });
    var oCount = h('span', { class: 'count', text: '0' });
    var wIn = h('input', { type: 'search', tid: 'warn-address', ph: 'warn.search.ph' });
    var wBtn = h('button', { type: 'submit', class: 'btn', tid: 'warn-search', i18n: 'warn.search.btn' });
    var wRes = h('div', { tid: 'warn-results', class: 'warn-results' });
    var wErr = h('div', { class: 'error', style: 'display:none', tid: 'warn-error' });
    var wForm = h('form', { class: 'box', tid: 'warn-form' }, [
      h('div', { class: 'section-title', i18n: 'warn.search.title' }),
      h('div', { class: 'row' }, [wIn, wBtn]), wErr, wRes
    ]);
    wForm.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var a = wIn.value.trim();
      if (!a) { wIn.focus(); return; }
      showError(wErr, null);
      wBtn.disabled = true;
      api('GET', '/warnings?address=' + encodeURIComponent(a)).then(function (list) {
        wBtn.disabled = false;
        list = list || [];
        clear(wRes).setAttribute('data-count', String(list.length));
        wRes.appendChild(h('div', { class: 'small' }, [tx('warn.search.found'), ': ', h('b', { tid: 'warn-count', text: String(list.length) })]));
        if (!list.length) wRes.appendChild(h('div', { class: 'muted', i18n: 'warn.none' }));
        var ul = h('ul', { class: 'warn-list' });
        list.forEach(function (w) { ul.appendChild(warningItem(w)); });
        wRes.appendChild(ul);
      }, function (e) { wBtn.disabled = false; showError(wErr, e); });
    });
    panel.appendChild(h('div', { class: 'layout-3' }, [
      h('div', { class: 'col col-list' }, [
        h('div', { class: 'col-head' }, [h('span', { i18n: 'duty.forwarded' }), fCount]),
        fwdBox,
        h('div', { class: 'col-head' }, [h('span', { i18n: 'duty.open' }), oCount]),
        openBox
      ]),
      h('div', { class: 'col col-detail' }, [detail.el]),
      h('div', { class: 'col col-units' }, [wForm, recordings ? recordings.el : null])
    ]));
    if (recordings) recordings.load();
    var prefilled = '';
    function pick(c) {
      detail.show(c.id);
      // Offer the card's address for the reference check, unless the officer typed another one.
      var a = cardAddress(c);
      if (a && (!wIn.value || wIn.value === prefilled)) { wIn.value = a; prefilled = a; }
      render();
    }
    function render() {
      var all = Object.keys(S.cards).map(function (k) { return S.cards[k]; }).filter(function (c) { return !isTerminal(c.status) && c.status !== 'new'; });
      var f = all.filter(function (c) { return !!c.forwarded_to; }).sort(function (a, b) { return (b.updated_at || 0) - (a.updated_at || 0); });
      var o = all.filter(function (c) { return !c.forwarded_to; }).sort(byPriorityThenAge);
      clear(fwdBox).appendChild(cardTable('duty-forwarded', f, detail.id, pick));
      clear(openBox).appendChild(cardTable('duty-open', o, detail.id, pick));
      fCount.textContent = String(f.length);
      oCount.textContent = String(o.length);
    }
    return { render: render, onCard: detail.onCard, onReload: function () { if (detail.id) detail.reload(); } };
  }


  /* ------------------------------------------------------------------ citizen calls (R03, R10)
     Calls ring for every free operator; the first to accept takes it. The console gathers its ICE
     candidates, posts a complete SDP offer and gets the node's answer; media flows through the node,
     which records it. SOS calls ring first and already have their card. */

  function waitGathering(pc) {
    return new Promise(function (resolve) {
      if (pc.iceGatheringState === 'complete') { resolve(); return; }
      var done = false;
      function finish() { if (!done) { done = true; resolve(); } }
      pc.addEventListener('icegatheringstatechange', function () { if (pc.iceGatheringState === 'complete') finish(); });
      setTimeout(finish, 3000);
    });
  }
  function operatorMedia() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return Promise.resolve(null);
    return navigator.mediaDevices.getUserMedia({ audio: true, video: true })
      .catch(function () { return navigator.mediaDevices.getUserMedia({ audio: true }); })
      .catch(function () { return null; });
  }

  function CallsBox(onCard) {
    var active = null; // { id, pc, stream }
    var list = h('div', { tid: 'calls-list', class: 'calls-list' });
    var count = h('span', { class: 'count', tid: 'calls-count', text: '0' });
    var map = MiniMap('calls-map', 120);
    var remote = h('video', { tid: 'call-remote-video', class: 'call-video', autoplay: true, playsinline: true });
    var self = h('video', { tid: 'call-self-video', class: 'call-self', autoplay: true, playsinline: true, muted: true });
    self.muted = true;
    var who = h('div', { class: 'call-who', tid: 'call-who' });
    var target = h('select', { tid: 'call-transfer-to' });
    var hangBtn = h('button', { type: 'button', class: 'btn btn-danger', tid: 'call-hangup', i18n: 'call.hangup' });
    var xferBtn = h('button', { type: 'button', class: 'btn', tid: 'call-transfer', i18n: 'call.transfer' });
    var media = h('div', { class: 'call-media box', tid: 'call-active', style: 'display:none' }, [
      who, h('div', { class: 'call-videos' }, [remote, self]),
      h('div', { class: 'row' }, [hangBtn, target, xferBtn])
    ]);
    var missed = MissedBox();
    var el = h('div', { class: 'calls box', tid: 'calls' }, [
      h('div', { class: 'col-head' }, [h('span', { i18n: 'call.title' }), count]), media, list, map.el, missed.el
    ]);
    window.__console = window.__console || {};
    window.__console.callPc = function () { return active && active.pc; };

    function cleanup() {
      if (!active) return;
      try { active.pc.close(); } catch (e) { /* closed */ }
      if (active.stream) active.stream.getTracks().forEach(function (tr) { tr.stop(); });
      remote.srcObject = null; self.srcObject = null;
      active = null;
      media.style.display = 'none';
      render();
    }
    function accept(c, btn) {
      if (active) return;
      btn.disabled = true;
      var pc = null;
      active = { id: c.id, pc: null, stream: null };
      var inbound = new MediaStream();
      // STUN/TURN servers with fresh TURN credentials for this leg, then the media.
      api('GET', '/calls/ice-config').then(function (ice) {
        if (!active || active.id !== c.id) throw new Error(t('call.cancelled'));
        pc = active.pc = new RTCPeerConnection({ iceServers: ice.ice_servers || [], iceTransportPolicy: ice.ice_transport_policy || 'all' });
        pc.addEventListener('track', function (ev) { inbound.addTrack(ev.track); remote.srcObject = inbound; });
        return operatorMedia();
      }).then(function (stream) {
        if (!active || active.pc !== pc) throw new Error(t('call.cancelled'));
        active.stream = stream;
        if (stream) { stream.getTracks().forEach(function (tr) { pc.addTrack(tr, stream); }); self.srcObject = stream; }
        if (!stream || !stream.getAudioTracks().length) pc.addTransceiver('audio', { direction: 'recvonly' });
        if (!stream || !stream.getVideoTracks().length) pc.addTransceiver('video', { direction: 'recvonly' });
        return pc.createOffer();
      }).then(function (o) { return pc.setLocalDescription(o); }).then(function () { return waitGathering(pc); }).then(function () {
        return api('POST', '/calls/' + encodeURIComponent(c.id) + '/accept', { sdp: pc.localDescription.sdp });
      }).then(function (res) {
        return pc.setRemoteDescription({ type: 'answer', sdp: res.sdp }).then(function () {
          upsertCall(res.call);
          media.style.display = '';
          if (res.card) onCard(res.card);
          loadOperators();
        });
      }).catch(function (e) {
        btn.disabled = false;
        if (active && active.pc === pc) cleanup();
        toastText(errText(e));
      });
    }
    function loadOperators() {
      api('GET', '/calls/operators').then(function (ops) {
        clear(target);
        target.appendChild(h('option', { value: '', i18n: 'call.transfer.to' }));
        (ops || []).forEach(function (o) {
          if (S.user && o.login === S.user.login) return;
          target.appendChild(h('option', { value: o.login, disabled: o.busy, text: (o.full_name || o.login) + (o.busy ? ' · ' + t('call.busy') : '') }));
        });
      }, function () { /* the select stays empty */ });
    }
    hangBtn.addEventListener('click', function () {
      if (!active) return;
      var id = active.id;
      api('POST', '/calls/' + encodeURIComponent(id) + '/hangup').then(function (rec) { if (rec && rec.call) upsertCall(rec.call); }, function (e) { toastText(errText(e)); });
      cleanup();
    });
    xferBtn.addEventListener('click', function () {
      if (!active || !target.value) { target.focus(); return; }
      var id = active.id;
      api('POST', '/calls/' + encodeURIComponent(id) + '/transfer', { to: target.value }).then(function (c) { upsertCall(c); cleanup(); toast('call.transferred'); }, function (e) { toastText(errText(e)); });
    });
    function decline(c) {
      api('POST', '/calls/' + encodeURIComponent(c.id) + '/decline').then(upsertCall, function (e) { toastText(errText(e)); });
    }
    function loc(c) {
      var l = c.location;
      if (!l) return h('span', { class: 'muted small', i18n: 'call.noloc' });
      return h('span', { class: 'mono small', tid: 'call-loc', text: l.lat.toFixed(5) + ', ' + l.lon.toFixed(5) + (l.accuracy_m != null ? ' ±' + Math.round(l.accuracy_m) + ' ' + t('unit.m') : '') });
    }
    function row(c) {
      var me = S.user && S.user.login;
      var mine = c.operator === me && c.phase === 'answered';
      var forMe = c.phase === 'ringing' && c.offered_to === me;
      var cls = 'call-row call-' + c.phase + (c.channel === 'sos_video' ? ' call-sos' : '') + (forMe ? ' call-forme' : '');
      var wait = c.phase === 'ringing'
        ? h('span', { class: 'timer mono', 'data-since': String(c.rang_at), text: fmtDur(Date.now() - c.rang_at) })
        : h('span', { class: 'mono small', text: fmtDur((c.answered_at || c.ended_at || Date.now()) - c.rang_at) });
      var actions = [];
      if (c.phase === 'ringing' && hasRole('call_taker') && (!c.offered_to || forMe)) {
        var b = h('button', { type: 'button', class: 'btn btn-primary', tid: 'call-accept', i18n: 'call.accept', disabled: !!active });
        b.addEventListener('click', function () { accept(c, b); });
        actions.push(b);
        if (forMe) actions.push(h('button', { type: 'button', class: 'btn btn-ghost', tid: 'call-decline', i18n: 'call.decline', onclick: function () { decline(c); } }));
      }
      var state = c.phase === 'answered' ? h('span', { class: 'small' }, [tx('call.phase.answered'), ' · ', c.operator || ''])
        : c.phase === 'ringing' && c.offered_to ? h('span', { class: 'small' }, [tx('call.offered'), ' ', c.offered_to])
          : tx('call.phase.' + c.phase, 'small');
      return h('div', { class: cls, tid: 'call-row', 'data-call': c.id, 'data-phase': c.phase, 'data-channel': c.channel }, [
        h('div', { class: 'call-line' }, [label('channels', c.channel, 'call-ch'), c.video ? h('span', { class: 'badge', i18n: 'call.video' }) : null,
          phoneOf(c.caller, 'call-phone'), wait]),
        h('div', { class: 'call-line' }, [loc(c), c.card_number ? h('span', { class: 'mono small', tid: 'call-card', text: c.card_number }) : null, state]),
        c.recording_problem ? h('div', { class: 'error small', tid: 'call-rec-problem' }, [tx('call.rec_problem'), ': ', c.recording_problem]) : null,
        actions.length ? h('div', { class: 'row' }, actions) : null
      ]);
    }
    function render() {
      var all = Object.keys(S.calls).map(function (k) { return S.calls[k]; });
      all.sort(function (a, b) {
        var r = function (c) { return c.phase === 'ringing' ? 0 : c.phase === 'answered' ? 1 : 2; };
        if (r(a) !== r(b)) return r(a) - r(b);
        if (r(a) === 2) return (b.ended_at || 0) - (a.ended_at || 0);
        var sa = a.channel === 'sos_video' ? 0 : 1, sb = b.channel === 'sos_video' ? 0 : 1;
        return sa !== sb ? sa - sb : a.rang_at - b.rang_at;
      });
      var ringing = all.filter(function (c) { return c.phase === 'ringing'; });
      count.textContent = String(ringing.length);
      el.classList.toggle('ringing', ringing.length > 0);
      clear(list);
      if (!all.length) list.appendChild(h('div', { class: 'muted small', i18n: 'call.none' }));
      all.slice(0, 30).forEach(function (c) { list.appendChild(row(c)); });
      var focus = (active && S.calls[active.id]) || ringing[0];
      var l = focus && focus.location;
      map.set(l ? l.lat : null, l ? l.lon : null, l ? (l.accuracy_m || 0) : 0, l ? districtAt(l.lat, l.lon) : null);
      if (active && S.calls[active.id]) {
        var c = S.calls[active.id];
        clear(who).appendChild(h('span', null, [label('channels', c.channel), ' · ', h('span', { class: 'mono', text: (c.caller && c.caller.phone) || '' }), c.card_number ? ' · ' + c.card_number : '']));
        if (c.phase === 'ended' || c.phase === 'abandoned') { cleanup(); toast('call.ended'); }
      }
      if (all.some(function (c) { return c.phase === 'abandoned' && !missed.seen[c.id]; })) {
        all.forEach(function (c) { if (c.phase === 'abandoned') missed.seen[c.id] = true; });
        missed.load();
      }
    }
    return { el: el, render: function () { render(); missed.render(); } };
  }

  /* A caller's phone: the normalised number, or what was sent, flagged when it could not be read. */
  function phoneOf(caller, tidName) {
    var c = caller || {};
    if (c.phone) return h('span', { class: 'mono', tid: tidName, text: c.phone });
    if (c.phone_raw) {
      return h('span', { class: 'mono warn-text', tid: tidName, 'data-unverified': '1' }, [c.phone_raw, ' ', tx('call.phone_unverified', 'small')]);
    }
    return h('span', { class: 'mono muted', tid: tidName, i18n: 'call.nophone' });
  }

  /* Missed calls (R03, R10): callers who hung up before an answer, one line per caller with a
     count, SOS first, until an operator records what the callback (by telephone) found. */
  function MissedBox() {
    var list = h('div', { tid: 'missed-list' });
    var count = h('span', { class: 'count', tid: 'missed-count', text: '0' });
    var el = h('div', { class: 'missed', tid: 'missed' }, [
      h('div', { class: 'col-head' }, [h('span', { i18n: 'missed.title' }), count]), list
    ]);
    var entries = [];
    var self = { el: el, seen: {}, load: load, render: render };
    function load() {
      if (!hasRole('call_taker') && !hasRole('supervisor')) return;
      api('GET', '/calls/missed').then(function (l) { entries = l || []; render(); }, function () { /* shown on the next load */ });
    }
    function record(m, outcome, btn) {
      btn.disabled = true;
      api('POST', '/calls/missed/' + encodeURIComponent(m.id) + '/callback', { outcome: outcome }).then(function () {
        toast('missed.recorded');
        load();
      }, function (e) { btn.disabled = false; toastText(errText(e)); });
    }
    function row(m) {
      var acts = hasRole('call_taker') ? ['reached', 'no_answer', 'false_alarm'].map(function (o) {
        var b = h('button', { type: 'button', class: 'btn btn-small', tid: 'missed-' + o, i18n: 'missed.outcome.' + o });
        b.addEventListener('click', function () { record(m, o, b); });
        return b;
      }) : [];
      return h('div', { class: 'missed-row' + (m.sos ? ' call-sos' : ''), tid: 'missed-row', 'data-missed': m.id }, [
        h('div', { class: 'call-line' }, [
          m.sos ? h('span', { class: 'badge badge-sos', i18n: 'missed.sos' }) : label('channels', m.channel, 'call-ch'),
          phoneOf(m, 'missed-phone'),
          m.name ? h('span', { text: m.name }) : null,
          m.count > 1 ? h('span', { class: 'badge', tid: 'missed-times', text: '×' + m.count }) : null,
          h('span', { class: 'mono small', text: fmtTime(m.last_at) }),
          m.card_number ? h('span', { class: 'mono small', tid: 'missed-card', text: m.card_number }) : null
        ]),
        acts.length ? h('div', { class: 'row' }, [tx('missed.callback', 'small')].concat(acts)) : null
      ]);
    }
    function render() {
      count.textContent = String(entries.length);
      clear(list);
      if (!entries.length) list.appendChild(h('div', { class: 'muted small', i18n: 'missed.none' }));
      entries.forEach(function (m) { list.appendChild(row(m)); });
      applyLang(list);
    }
    load();
    setInterval(load, 30000);
    return self;
  }


  /* ------------------------------------------------------------------ call recordings (R09)
     Listening and export are role-checked and audited by the node; files are fetched with the
     session's token, never through a URL that carries it. */

  function fetchRecording(callId, name, exp) {
    var opts = { headers: {}, credentials: 'same-origin' };
    if (S.token) opts.headers.Authorization = 'Bearer ' + S.token;
    var url = API + '/recordings/' + encodeURIComponent(callId) + '/files/' + encodeURIComponent(name) + (exp ? '?export=true' : '');
    return fetch(url, opts).then(function (r) {
      if (!r.ok) {
        return r.json().catch(function () { return {}; }).then(function (d) {
          var e = new Error((d && d.message) || String(r.status)); e.status = r.status; e.code = d && d.code; throw e;
        });
      }
      return r.blob();
    });
  }

  function RecordingsBox() {
    var body = h('div', { tid: 'rec-list' });
    var player = h('div', { tid: 'rec-player' });
    var refresh = h('button', { type: 'button', class: 'btn btn-ghost', tid: 'rec-refresh', i18n: 'rec.refresh' });
    var el = h('div', { class: 'box recordings', tid: 'recordings' }, [
      h('div', { class: 'col-head' }, [h('span', { i18n: 'rec.title' }), h('span', { class: 'spacer' }), refresh]), player, body
    ]);
    var lastUrl = null;
    function play(rec, f, btn) {
      btn.disabled = true;
      fetchRecording(rec.call.id, f.name, false).then(function (blob) {
        btn.disabled = false;
        if (lastUrl) URL.revokeObjectURL(lastUrl);
        lastUrl = URL.createObjectURL(blob);
        clear(player).appendChild(h('div', { class: 'small' }, [rec.call.card_number || rec.call.id, ' · ', f.name]));
        var a = h('audio', { controls: true, tid: 'rec-audio', src: lastUrl });
        player.appendChild(a);
        a.play().catch(function () { /* autoplay may be blocked; the controls remain */ });
      }, function (e) { btn.disabled = false; toastText(errText(e)); });
    }
    function exportFile(rec, f, btn) {
      btn.disabled = true;
      fetchRecording(rec.call.id, f.name, true).then(function (blob) {
        btn.disabled = false;
        var url = URL.createObjectURL(blob);
        var a = h('a', { href: url, download: (rec.call.card_number || rec.call.id) + '-' + f.name });
        document.body.appendChild(a); a.click(); a.remove();
        setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
      }, function (e) { btn.disabled = false; toastText(errText(e)); });
    }
    function load() {
      return api('GET', '/recordings?limit=100').then(function (list) {
        clear(body);
        if (!list || !list.length) { body.appendChild(h('div', { class: 'muted small', i18n: 'rec.none' })); return; }
        list.forEach(function (rec) {
          var r = rec.recording, c = rec.call;
          var files = r.expired_at ? [h('span', { class: 'muted small', i18n: 'rec.expired' })] : r.files.map(function (f) {
            var playBtn = f.kind === 'audio' ? h('button', { type: 'button', class: 'btn', tid: 'rec-play', 'data-file': f.name, i18n: 'rec.play' }) : null;
            var expBtn = h('button', { type: 'button', class: 'btn btn-ghost', tid: 'rec-export', 'data-file': f.name, i18n: 'rec.export' });
            if (playBtn) playBtn.addEventListener('click', function () { play(rec, f, playBtn); });
            expBtn.addEventListener('click', function () { exportFile(rec, f, expBtn); });
            return h('div', { class: 'rec-file' }, [h('span', { class: 'mono small', text: f.name + ' · ' + fmtDur(f.duration_ms) }), playBtn, expBtn]);
          });
          body.appendChild(h('div', { class: 'rec-row', tid: 'rec-row', 'data-call': c.id, 'data-card': c.card_id || '' }, [
            h('div', { class: 'call-line' }, [label('channels', c.channel), h('span', { class: 'mono', text: (c.caller && c.caller.phone) || '' }),
              h('span', { class: 'mono small', text: c.card_number || '' }), h('span', { class: 'small', text: fmtDateTime(c.rang_at) }),
              r.held ? h('span', { class: 'badge', tid: 'rec-held', i18n: 'rec.held' }) : null]),
            r.problem ? h('div', { class: 'error small' }, [tx('call.rec_problem'), ': ', r.problem]) : null
          ].concat(files)));
        });
      }, function (e) { clear(body).appendChild(h('div', { class: 'error', text: errText(e) })); });
    }
    refresh.addEventListener('click', load);
    return { el: el, load: load };
  }

  /* ------------------------------------------------------------------ 102 operator (call taker) */

  function CallTakerView(panel) {
    var current = null;
    var f = {};
    function inp(key, attrs) { f[key] = h('input', Object.assign({ type: 'text', id: 'ct-' + key, tid: 'ct-' + key }, attrs || {})); return f[key]; }
    function fld(labelKey, input, cls) {
      return h('div', { class: 'fld ' + (cls || '') }, [h('label', { for: input.id, i18n: labelKey }), input]);
    }
    f.channel = h('select', { id: 'ct-channel', tid: 'ct-channel' }, refOptions('channels'));
    f.language = h('select', { id: 'ct-caller-lang', tid: 'ct-caller-lang' }, [
      h('option', { value: '', i18n: 'not_selected' }), h('option', { value: 'kk', i18n: 'lang.kk' }), h('option', { value: 'ru', i18n: 'lang.ru' })]);
    f.category = h('select', { id: 'ct-category', tid: 'ct-category' }, [h('option', { value: '', i18n: 'not_selected' })].concat(
      ((S.ref && S.ref.categories) || []).slice().sort(function (a, b) { return (a.priority || 9) - (b.priority || 9); }).map(function (c) {
        var o = h('option', { value: c.code, ref: c });
        o.setAttribute('data-kk', 'P' + (c.priority || '?') + ' · ' + (c.name_kk || c.name_ru || c.code));
        o.setAttribute('data-ru', 'P' + (c.priority || '?') + ' · ' + (c.name_ru || c.name_kk || c.code));
        o.textContent = o.getAttribute('data-' + S.lang);
        return o;
      })));
    f.priority = h('select', { id: 'ct-priority', tid: 'ct-priority' }, [h('option', { value: '', i18n: 'card.priority.auto' })].concat(
      [1, 2, 3, 4].map(function (p) { return h('option', { value: String(p), text: 'P' + p }); })));
    f.district = h('select', { id: 'ct-district', tid: 'ct-district' }, [h('option', { value: '', i18n: 'not_selected' })].concat(refOptions('districts')));
    f.description = h('textarea', { id: 'ct-description', tid: 'ct-description', rows: 4 });
    var err = h('div', { class: 'error', tid: 'ct-error', style: 'display:none', role: 'alert' });
    var number = h('span', { class: 'mono detail-number', tid: 'ct-number' });
    var statusBox = h('span', { tid: 'ct-status', 'data-status': '' });
    var roNote = h('div', { class: 'notice', i18n: 'ct.readonly', style: 'display:none' });
    var saveBtn = h('button', { type: 'button', class: 'btn', tid: 'ct-save', i18n: 'ct.save' });
    var sendBtn = h('button', { type: 'button', class: 'btn btn-primary', tid: 'ct-send', i18n: 'ct.send' });
    var newBtn = h('button', { type: 'button', class: 'btn btn-ghost', tid: 'ct-new', i18n: 'ct.form.new' });

    var form = h('form', { class: 'ct-form box', tid: 'ct-form', autocomplete: 'off' }, [
      h('div', { class: 'detail-head' }, [h('span', { class: 'section-title', i18n: 'ct.form.title' }), number, statusBox, h('span', { class: 'spacer' }), newBtn]),
      roNote,
      h('div', { class: 'form-grid' }, [
        fld('card.channel', f.channel, 'w2'),
        fld('card.caller_name', inp('caller-name', { autocomplete: 'off' }), 'w2'),
        fld('card.caller_phone', inp('caller-phone', { type: 'tel' })),
        fld('card.caller_lang', f.language),
        h('div', { class: 'fieldset-title w4', i18n: 'card.location' }),
        fld('card.lat', inp('lat', { inputmode: 'decimal' })),
        fld('card.lon', inp('lon', { inputmode: 'decimal' })),
        fld('card.accuracy', inp('accuracy', { inputmode: 'numeric' })),
        fld('card.district', f.district),
        fld('card.address', inp('address'), 'w4'),
        fld('card.description', f.description, 'w4'),
        h('div', { class: 'fieldset-title w4', i18n: 'card.seen' }),
        fld('card.seen.persons', inp('seen-persons'), 'w4'),
        fld('card.seen.vehicles', inp('seen-vehicles'), 'w2'),
        fld('card.seen.buildings', inp('seen-buildings'), 'w2'),
        fld('card.category', f.category, 'w3'),
        fld('card.priority', f.priority)
      ]),
      err,
      h('div', { class: 'form-actions' }, [saveBtn, sendBtn])
    ]);
    form.addEventListener('submit', function (ev) { ev.preventDefault(); });

    var listBox = h('div');
    var detail = CardDetail();
    var map = MiniMap('ct-map', 190);
    var calls = CallsBox(function (card) { remember(card); fill(card); });
    panel.appendChild(h('div', { class: 'layout-2' }, [
      h('div', { class: 'col col-form' }, [calls.el, form]),
      h('div', { class: 'col col-side' }, [
        h('div', { class: 'col-head' }, [h('span', { i18n: 'map.title' })]), map.el,
        h('div', { class: 'col-head' }, [h('span', { i18n: 'ct.mine' })]), listBox, detail.el])
    ]));
    var districtTouched = false;
    f.district.addEventListener('change', function () { districtTouched = !!f.district.value; updateMap(); });
    function updateMap() {
      var lat = Number(val('lat').replace(',', '.')), lon = Number(val('lon').replace(',', '.'));
      var ok = val('lat') !== '' && val('lon') !== '' && isFinite(lat) && isFinite(lon);
      if (ok && !districtTouched && !f.district.disabled) {
        var d = districtAt(lat, lon);
        if (d) f.district.value = d;
      }
      map.set(ok ? lat : null, ok ? lon : null, Number(val('accuracy')) || 0, f.district.value);
    }
    ['lat', 'lon', 'accuracy'].forEach(function (k) { f[k].addEventListener('input', updateMap); });

    function val(k) { return (f[k].value || '').trim(); }
    function num(k) {
      var v = val(k).replace(',', '.');
      if (!v) return null;
      var n = Number(v);
      if (!isFinite(n)) { var e = new Error(t('ct.err.number')); e.field = t(fieldKey(k)); throw e; }
      return n;
    }
    function fieldKey(k) { return { lat: 'card.lat', lon: 'card.lon', accuracy: 'card.accuracy' }[k] || k; }
    function collect(forCreate) {
      var b = {};
      if (forCreate) b.channel = f.channel.value;
      var caller = {};
      if (val('caller-name')) caller.name = val('caller-name');
      if (val('caller-phone')) caller.phone = val('caller-phone');
      if (f.language.value) caller.language = f.language.value;
      if (Object.keys(caller).length) b.caller = caller;
      var lat = num('lat'), lon = num('lon'), acc = num('accuracy');
      if ((lat == null) !== (lon == null)) { var e = new Error(t('ct.err.coords')); throw e; }
      if (lat != null || val('address')) {
        var loc = {};
        if (lat != null) { loc.lat = lat; loc.lon = lon; }
        if (acc != null) loc.accuracy_m = acc;
        if (val('address')) loc.address = val('address');
        b.location = loc;
      }
      if (val('description')) b.description = val('description');
      var seen = {};
      if (val('seen-persons')) seen.persons = val('seen-persons');
      if (val('seen-vehicles')) seen.vehicles = val('seen-vehicles');
      if (val('seen-buildings')) seen.buildings = val('seen-buildings');
      if (Object.keys(seen).length) b.seen = seen;
      if (f.category.value) b.category = f.category.value;
      if (f.priority.value) b.priority = Number(f.priority.value);
      if (f.district.value) b.district = f.district.value;
      return b;
    }
    var dirty = false;
    form.addEventListener('input', function () { dirty = true; });
    form.addEventListener('change', function () { dirty = true; });

    function setEditable(on) {
      Object.keys(f).forEach(function (k) { f[k].disabled = !on; });
      if (current) f.channel.disabled = true;
      saveBtn.disabled = !on;
      sendBtn.disabled = !on;
      roNote.style.display = on ? 'none' : '';
    }
    function showCurrent() {
      number.textContent = current ? current.number : '';
      clear(statusBox);
      statusBox.setAttribute('data-status', current ? current.status : '');
      if (current) statusBox.appendChild(statusBadge(current.status));
      setEditable(!current || current.status === 'new');
    }
    function fill(card) {
      current = card;
      f.channel.value = card.channel || f.channel.value;
      var c = card.caller || {}, l = card.location || {}, s = card.seen || {};
      f['caller-name'].value = c.name || '';
      f['caller-phone'].value = c.phone || '';
      f.language.value = c.language || '';
      f.lat.value = l.lat != null ? l.lat : '';
      f.lon.value = l.lon != null ? l.lon : '';
      f.accuracy.value = l.accuracy_m != null ? l.accuracy_m : '';
      f.address.value = l.address || '';
      f.description.value = card.description || '';
      f['seen-persons'].value = s.persons || '';
      f['seen-vehicles'].value = s.vehicles || '';
      f['seen-buildings'].value = s.buildings || '';
      f.category.value = card.category || '';
      f.priority.value = card.priority && refItem('categories', card.category) && refItem('categories', card.category).priority === card.priority ? '' : (card.priority ? String(card.priority) : '');
      f.district.value = card.district || '';
      districtTouched = !!card.district;
      dirty = false;
      showCurrent();
      updateMap();
    }
    function reset() {
      current = null;
      form.reset();
      Object.keys(f).forEach(function (k) { if (f[k].tagName !== 'SELECT') f[k].value = ''; });
      var ch = codes('channels');
      f.channel.value = ch.indexOf('app102_call') >= 0 ? 'app102_call' : (ch[0] || '');
      f.language.value = '';
      f.category.value = '';
      f.priority.value = '';
      f.district.value = S.user && S.user.district ? S.user.district : '';
      districtTouched = false;
      dirty = false;
      showError(err, null);
      showCurrent();
      updateMap();
    }
    function remember(card) {
      if (S.mine.indexOf(card.id) < 0) {
        S.mine.push(card.id);
        if (S.mine.length > 200) S.mine = S.mine.slice(-200);
        saveMine();
      }
      upsertCard(summaryOf(card));
    }
    function save() {
      var body;
      try { body = collect(!current); } catch (e) { showError(err, e); return Promise.reject(e); }
      showError(err, null);
      var p = current ? api('PATCH', '/cards/' + encodeURIComponent(current.id), body) : api('POST', '/cards', body);
      return p.then(function (card) {
        remember(card);
        fill(card);
        return card;
      }, function (e) { showError(err, e); throw e; });
    }
    saveBtn.addEventListener('click', function () {
      saveBtn.disabled = true;
      save().then(function () { toast('ct.saved'); }, function () { /* shown */ }).then(function () {
        if (!current || current.status === 'new') saveBtn.disabled = false;
      });
    });
    sendBtn.addEventListener('click', function () {
      sendBtn.disabled = true;
      var p = (!current || dirty) ? save() : Promise.resolve(current);
      p.then(function (card) {
        return api('POST', '/cards/' + encodeURIComponent(card.id) + '/send-for-processing').then(function (sent) {
          remember(sent);
          fill(sent);
          toast('ct.sent');
        }, function (e) { showError(err, e); });
      }, function () { /* shown */ }).then(function () {
        if (!current || current.status === 'new') sendBtn.disabled = false;
      });
    });
    newBtn.addEventListener('click', reset);

    function pick(c) {
      detail.show(c.id);
      if (c.status === 'new') {
        api('GET', '/cards/' + encodeURIComponent(c.id)).then(fill, function (e) { showError(err, e); });
      }
      render();
    }
    function render() {
      var login = S.user && S.user.login;
      var mine = Object.keys(S.cards).map(function (k) { return S.cards[k]; }).filter(function (c) {
        return c.created_by === login || S.mine.indexOf(c.id) >= 0;
      }).sort(function (a, b) { return (b.created_at || 0) - (a.created_at || 0); }).slice(0, 50);
      clear(listBox).appendChild(cardTable('ct-list', mine, detail.id, pick, { noTimer: true }));
      calls.render();
    }
    reset();
    return {
      render: render,
      onCard: function (s) {
        detail.onCard(s);
        if (current && s.id === current.id && s.status !== current.status) {
          current.status = s.status;
          showCurrent();
        }
      }
    };
  }

  /* ------------------------------------------------------------------ admin: accounts (R18) */

  function AdminView(panel) {
    var f = {
      login: h('input', { type: 'text', id: 'acc-login', tid: 'acc-login', autocomplete: 'off', required: true }),
      full_name: h('input', { type: 'text', id: 'acc-fullname', tid: 'acc-fullname', autocomplete: 'off', required: true }),
      password: h('input', { type: 'password', id: 'acc-password', tid: 'acc-password', autocomplete: 'new-password', required: true }),
      district: h('select', { id: 'acc-district', tid: 'acc-district' }, [h('option', { value: '', i18n: 'not_selected' })].concat(refOptions('districts')))
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
        h('div', { class: 'fld' }, [h('label', { for: 'acc-district', i18n: 'adm.district' }), f.district])
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
        var isSelf = S.user && S.user.login === u.login;
        body.appendChild(h('tr', { tid: 'acc-row-' + u.login, 'data-login': u.login, class: u.disabled ? 'disabled' : '' }, [
          h('td', { class: 'mono b', text: u.login }),
          h('td', { text: u.full_name || '' }),
          h('td', null, [rcell]),
          h('td', null, u.district ? label('districts', u.district) : null),
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

  /* ------------------------------------------------------------------ boot */

  function boot() {
    document.documentElement.setAttribute('lang', S.lang);
    if (S.token) {
      startSession().catch(function (e) {
        teardown();
        renderLogin(e && e.status === 401 ? 'login.session_expired' : null);
      });
    } else {
      renderLogin(null);
    }
  }
  boot();
})();
