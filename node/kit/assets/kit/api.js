/* The JSON API client: Bearer token, X-Requested-With (the server refuses cookie-authenticated
   changes without it or a same-site Origin), JSON error bodies turned into errors carrying the
   server's code, and a 401 handed to the session. */
import { t, known } from './i18n.js';

export const API = '/api/v1';
export const auth = { token: null, onUnauthorized: null, noStore: false, onReachable: null };

/* `headers`: extra request headers (an Idempotency-Key). A request that reaches the server, or
   fails to, is reported to auth.onReachable(true | false): the console says "no connection". */
export function api(method, path, body, headers) {
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
        const err = new Error((data && data.message) || (r.status + ' ' + (r.statusText || t('err.generic'))));
        err.status = r.status;
        err.code = data && data.code;
        err.field = data && data.field;
        if (r.status === 401 && path !== '/auth/login' && path !== '/auth/logout' && auth.onUnauthorized) auth.onUnauthorized();
        throw err;
      }
      return data;
    });
  }, function () {
    if (auth.onReachable) auth.onReachable(false);
    const err = new Error(t('err.network'));
    err.status = 0;
    throw err;
  });
}

/* A known error code gets the dictionary's text; the server's own message always follows it. */
export function errText(e) {
  let m = (e && e.message) || t('err.generic');
  if (e && e.code && known('err.' + e.code) && t('err.' + e.code) !== m) m = t('err.' + e.code) + ' — ' + m;
  if (e && e.field) m += ' [' + e.field + ']';
  return m;
}
/** Shows an error (or a ready text) in el, or hides el when e is empty. */
export function showError(el, e) {
  if (!el) return;
  el.textContent = e ? (typeof e === 'string' ? e : errText(e)) : '';
  el.style.display = e ? '' : 'none';
}
