/* The terminal's JSON client for its own local API (/field/v1): errors carry the server's code,
   field and parameters like the kit's api.js, so the kit's renderError shows them in kk or ru. */
export const FIELD_API = '/field/v1';

function fail(r, data) {
  const err = new Error((data && data.message) || String(r.status));
  err.status = r.status;
  err.code = data && data.code;
  err.field = data && data.field;
  err.params = data && data.params && typeof data.params === 'object' ? data.params : null;
  return err;
}

/** `body`: an object sent as JSON, or a Blob sent as is with its own type (a JPEG). */
export function fapi(method, path, body) {
  const opts = { method: method, headers: { 'Accept': 'application/json' }, cache: 'no-store' };
  if (body instanceof Blob) {
    opts.headers['Content-Type'] = body.type || 'application/octet-stream';
    opts.body = body;
  } else if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  return fetch(FIELD_API + path, opts).then(function (r) {
    return r.text().then(function (txt) {
      let data = null;
      if (txt) { try { data = JSON.parse(txt); } catch (e) { data = null; } }
      if (!r.ok) throw fail(r, data);
      return data;
    });
  }, function () {
    const err = new Error('network');
    err.status = 0;
    err.code = 'terminal_unreachable';
    throw err;
  });
}
