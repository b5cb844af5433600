/* Live events from GET /api/v1/events with reconnection. Two transports: the browser's
   EventSource (the session cookie authenticates it) or a fetch stream (the Bearer token in the
   Authorization header). Every (re)connect calls onOpen, so the application refetches what it may
   have missed; a stream that ends is retried after a growing pause. */
import { API, auth } from './api.js';
import { qs } from './dom.js';
import { t } from './i18n.js';

/* opts: fetch (true: fetch stream, else EventSource), events (names to listen to with
   EventSource), onEvent(type, text), onState('connecting' | 'online' | 'offline'), onOpen(),
   onUnauthorized(), alive() (whether the session still wants events), check() (a promise that
   resolves when it is worth reconnecting), retryMs (first pause), retryMaxMs. */
export function Live(opts) {
  const self = { current: null, timer: null, backoff: opts.retryMs || 1000 };

  self.stop = function () {
    if (self.timer) { clearTimeout(self.timer); self.timer = null; }
    const my = self.current;
    self.current = null;
    if (!my) return;
    if (my.es) my.es.close();
    if (my.ctrl) { try { my.ctrl.abort(); } catch (e) { /* ignore */ } }
    if (my.reader) my.reader.cancel().catch(function () { return null; });
  };

  function opened(my) {
    if (self.current !== my) return false;
    opts.onState('online');
    self.backoff = opts.retryMs || 1000;
    opts.onOpen();
    return true;
  }
  function lost(my) {
    if (self.current !== my) return;
    self.current = null;
    if (my.es) my.es.close();
    opts.onState('offline');
    if (self.timer || !opts.alive()) return;
    const wait = self.backoff;
    self.backoff = Math.min(self.backoff * 2, opts.retryMaxMs || 15000);
    self.timer = setTimeout(function () {
      self.timer = null;
      if (!opts.alive()) return;
      const ok = opts.check ? opts.check() : Promise.resolve();
      ok.then(function () { if (opts.alive()) self.connect(); }, function (e) {
        if (e && e.status === 401) return;
        self.current = { failed: true };
        lost(self.current);
      });
    }, wait);
  }

  self.connect = function () {
    self.stop();
    opts.onState('connecting');
    if (opts.fetch) connectFetch(); else connectEventSource();
  };

  function connectEventSource() {
    const es = new window.EventSource(API + '/events', { withCredentials: true });
    const my = { es: es };
    self.current = my;
    es.addEventListener('open', function () { opened(my); });
    es.addEventListener('error', function () {
      if (self.current !== my) return;
      if (es.readyState === 2) lost(my); // closed for good (a 401 or a server restart)
      else opts.onState('connecting');
    });
    (opts.events || []).forEach(function (type) {
      es.addEventListener(type, function (ev) { if (self.current === my) opts.onEvent(type, ev.data); });
    });
  }

  function connectFetch() {
    const my = { ctrl: typeof window.AbortController === 'function' ? new window.AbortController() : null, reader: null };
    self.current = my;
    fetch(API + '/events', {
      headers: { 'Accept': 'text/event-stream', 'Authorization': 'Bearer ' + auth.token },
      credentials: 'same-origin',
      cache: 'no-store',
      signal: my.ctrl ? my.ctrl.signal : undefined
    }).then(function (r) {
      if (self.current !== my) return null;
      if (r.status === 401) { self.current = null; opts.onUnauthorized(); return null; }
      if (!r.ok || !r.body || typeof r.body.getReader !== 'function') throw new Error('events ' + r.status);
      if (!opened(my)) return null;
      const reader = r.body.getReader();
      my.reader = reader;
      const dec = new TextDecoder('utf-8');
      let buf = '';
      function pump() {
        return reader.read().then(function (res) {
          if (self.current !== my) return null;
          if (res.done) throw new Error('events stream ended');
          buf = parseSse(buf + dec.decode(res.value, { stream: true }), opts.onEvent);
          return pump();
        });
      }
      return pump();
    }).catch(function () { lost(my); });
  }
  return self;
}

/* Dispatches every complete event in buf and returns the unfinished rest. */
export function parseSse(buf, onEvent) {
  buf = buf.replace(/\r\n?/g, '\n');
  let idx;
  while ((idx = buf.indexOf('\n\n')) >= 0) {
    const block = buf.slice(0, idx);
    buf = buf.slice(idx + 2);
    let type = 'message';
    const data = [];
    block.split('\n').forEach(function (line) {
      if (!line || line.charAt(0) === ':') return;
      const c = line.indexOf(':');
      const field = c < 0 ? line : line.slice(0, c);
      let value = c < 0 ? '' : line.slice(c + 1);
      if (value.charAt(0) === ' ') value = value.slice(1);
      if (field === 'event') type = value;
      else if (field === 'data') data.push(value);
    });
    if (data.length) onEvent(type, data.join('\n'));
  }
  return buf;
}

/* The top bar's indicator (#sse, with a .sse-label inside) for a stream state. */
export function showLiveState(state) {
  const el = qs('#sse');
  if (!el) return;
  el.className = 'sse sse-' + state;
  el.setAttribute('data-state', state);
  const lab = qs('.sse-label', el);
  lab.setAttribute('data-i18n', 'sse.' + state);
  lab.textContent = t('sse.' + state);
}
