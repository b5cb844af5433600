/* The JSON API client: Bearer token, X-Requested-With (the server refuses cookie-authenticated
   changes without it or a same-site Origin), JSON error bodies turned into errors carrying the
   server's code, field and parameters, and a 401 handed to the session.

   The server's `message` is English and meant for logs and support: it never reaches the page.
   An error is shown from its code (`err.<code>`), its field (`field.<name>`) and its parameters
   only, in the user's language, and shown again in the other language when the user switches. */
import { t, known, onLangApplied } from './i18n.js';

export const API = '/api/v1';
export const auth = { token: null, onUnauthorized: null, noStore: false, onReachable: null };

/* `headers`: extra request headers (an Idempotency-Key). A request that reaches the server, or
   fails to, is reported to auth.onReachable(true | false): the console says "no connection". */
export function api(method, path, body, headers) {
  return apiResponse(method, path, body, headers).then(function (res) { return res.data; });
}
/** As api(), resolving to {data, headers} where a caller needs a response header (paging). */
export function apiResponse(method, path, body, headers) {
  const opts = { method: method, headers: Object.assign({ 'Accept': 'application/json', 'X-Requested-With': 'fetch' }, headers || {}), credentials: 'same-origin' };
  if (auth.noStore) opts.cache = 'no-store';
  if (auth.token) opts.headers.Authorization = 'Bearer ' + auth.token;
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  return fetch(API + path, opts).then(function (r) {
    if (auth.onReachable) auth.onReachable(true);
    return r.text().then(function (txt) {
      let data = null;
      if (txt) { try { data = JSON.parse(txt); } catch (e) { data = null; } }
      if (!r.ok) {
        const err = new Error((data && data.message) || String(r.status));
        err.status = r.status;
        err.code = data && data.code;
        err.field = data && data.field;
        err.params = data && data.params && typeof data.params === 'object' ? data.params : null;
        if (r.status === 401 && path !== '/auth/login' && path !== '/auth/logout' && auth.onUnauthorized) auth.onUnauthorized();
        throw err;
      }
      return { data: data, headers: r.headers };
    });
  }, function () {
    if (auth.onReachable) auth.onReachable(false);
    const err = new Error('network');
    err.status = 0;
    err.code = 'network';
    throw err;
  });
}

/* A field's name: `field.<name>`, with array indices dropped (`units[0].id` → `units.id`), else the
   part before the first dot; an unknown field is left out (its name is English). */
function fieldText(field) {
  const f = String(field).replace(/\[\d+\]/g, '');
  if (known('field.' + f)) return t('field.' + f);
  const head = f.split('.')[0];
  if (known('field.' + head)) return t('field.' + head);
  return '';
}
/* `{name}` in a text replaced by the parameter (numbers and codes, never English prose). */
function withParams(text, params) {
  if (!params) return text;
  return text.replace(/\{([a-z_]+)\}/g, function (all, k) {
    return Object.prototype.hasOwnProperty.call(params, k) ? String(params[k]) : all;
  });
}
const LATIN_WORD = /[A-Za-z]{2,}/;

/** The text of an error in the current language. A server error (it has an HTTP status) is told
    by its code, field and parameters; an unknown code gives the generic text with the status. A
    browser-side error keeps its message (already in the user's language) unless it is English. */
export function errText(e) {
  if (!e) return t('err.generic');
  if (typeof e === 'string') return e;
  let m;
  if (typeof e.status === 'number') {
    if (e.code && known('err.' + e.code)) m = withParams(t('err.' + e.code), e.params);
    else if (e.status === 0) m = t('err.network');
    else m = t('err.generic') + ' (' + t('err.status') + ' ' + e.status + ')';
    if (e.field) {
      const f = fieldText(e.field);
      if (f) m += ' — ' + t('err.field') + ': ' + f;
    }
  } else {
    m = e.key ? t(e.key) : String(e.message || '');
    if (!m || LATIN_WORD.test(m)) m = t('err.generic');
    if (e.field && !LATIN_WORD.test(String(e.field))) m += ' [' + e.field + ']';
  }
  remember(m, e);
  return m;
}

/* The server's own words and the codes, for support (never shown as text). */
function detail(e) {
  if (!e || typeof e === 'string') return '';
  return [e.status, e.code, e.field, e.message].filter(function (x) { return x != null && x !== ''; }).join(' | ');
}

/** Shows an error in el (and again in the other language after a switch), a ready text, or hides
    el when e is empty. */
export function showError(el, e) {
  if (!el) return;
  if (e && typeof e !== 'string') {
    renderError(el, e);
  } else {
    el.__err = null;
    el.removeAttribute('data-err');
    el.removeAttribute('data-detail');
    el.textContent = e || '';
  }
  el.style.display = e ? '' : 'none';
}
/** Writes error e into el and marks it to be written again when the language changes. */
export function renderError(el, e) {
  el.__err = e;
  el.setAttribute('data-err', e.code || (typeof e.status === 'number' ? String(e.status) : 'client'));
  const d = detail(e);
  if (d) el.setAttribute('data-detail', d); else el.removeAttribute('data-detail');
  el.textContent = errText(e);
}

/* The last texts errText produced, so that a view passing `errText(e)` to a toast still gets a
   toast that follows the language (see errorOf). */
const recent = [];
function remember(text, e) {
  recent.unshift({ text: text, e: e });
  if (recent.length > 8) recent.length = 8;
}
/** The error a text was made from by errText just before, if any. */
export function errorOf(text) {
  for (let i = 0; i < recent.length; i++) if (recent[i].text === text) return recent[i].e;
  return null;
}

onLangApplied(function (root) {
  Array.prototype.forEach.call((root || document).querySelectorAll('[data-err]'), function (el) {
    if (el.__err) el.textContent = errText(el.__err);
  });
});
