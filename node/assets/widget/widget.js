/* The "102" chat widget for a web site (R01): one classic script, no build step, Chrome >= 86 and
   Firefox >= 82. Embed it with
     <script src="https://<node>/widget/widget.js" data-lang="kk" defer></script>
   (data-lang: kk or ru, else the page's language; data-open="1" opens the chat at once).
   It talks to the node that served it over a WebSocket (/channels/widget/ws): an anonymous
   session (128 random bits kept in localStorage), each message resent until the node says it
   is stored (ack), answers confirmed back (received), a reconnect with a growing, jittered pause,
   and the conversation so far from the node after each reconnect. The citizen can share the
   browser's location and photos (shrunk before sending). Everything shown is text, never HTML. */
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script || window.__mvd102Widget) return;
  window.__mvd102Widget = true;

  var BASE = new URL(script.src, document.baseURI);
  var WS_URL = (BASE.protocol === 'https:' ? 'wss://' : 'ws://') + BASE.host + '/channels/widget/ws';
  var CSS_URL = new URL('widget.css', BASE).href;
  var LS_SESSION = 'mvd102_widget_session';
  var LS_LOG = 'mvd102_widget_log:';
  var LS_LANG = 'mvd102_widget_lang';
  var LS_NAME = 'mvd102_widget_name';
  var RETRY_MS_MIN = 1000;        // first pause before a reconnect
  var RETRY_MS_MAX = 30000;       // longest pause
  var LOG_LINES_MAX = 200;        // lines kept in localStorage
  var PHOTO_SIDE_PX_MAX = 1600;   // a photo is shrunk to this longest side
  var PHOTO_JPEG_QUALITY = 0.85;
  var PHOTOS_MAX = 3;             // the node's PHOTOS_PER_MESSAGE_MAX

  var T = {
    ru: {
      open: 'Написать в полицию 102', title: 'Полиция 102 — чат', close: 'Свернуть', lang: 'Қазақша',
      intro: 'Опишите, что случилось. Если жизни угрожает опасность — звоните 102.',
      name: 'Как к вам обращаться (необязательно)', placeholder: 'Ваше сообщение…', send: 'Отправить',
      photo: 'Фото', location: 'Где я', sending: 'отправляется…', sent: 'доставлено', failed: 'не отправлено',
      online: 'На связи', connecting: 'Подключение…', offline: 'Нет связи, сообщения уйдут позже',
      you: 'Вы', operator: 'Оператор 102', shared_location: 'Моё место', photos: 'Фото: {n}',
      no_geo: 'Браузер не дал определить место', bad_photo: 'Этот файл не фото',
      'err.generic': 'Сообщение не принято',
      'err.widget_message_empty': 'Напишите текст, отправьте фото или место',
      'err.widget_text_too_long': 'Сообщение слишком длинное; разделите его на части',
      'err.widget_name_too_long': 'Имя слишком длинное',
      'err.widget_too_many_photos': 'Слишком много фото в одном сообщении',
      'err.widget_photo_too_large': 'Фото слишком большое',
      'err.widget_not_a_photo': 'Можно отправить только фото (JPEG, PNG, WebP)',
      'err.widget_bad_location': 'Место указано неверно',
      'err.widget_rate_limited': 'Слишком много сообщений подряд; подождите немного',
      'err.widget_unavailable': 'Сообщение не удалось сохранить; оно будет отправлено снова',
      'err.widget_too_many_sockets': 'Слишком много открытых окон чата; закройте лишние'
    },
    kk: {
      open: 'Полиция 102-ге жазу', title: 'Полиция 102 — чат', close: 'Жию', lang: 'Русский',
      intro: 'Не болғанын сипаттаңыз. Өмірге қауіп төнсе — 102-ге қоңырау шалыңыз.',
      name: 'Сізге қалай жүгінейік (міндетті емес)', placeholder: 'Хабарыңыз…', send: 'Жіберу',
      photo: 'Фото', location: 'Мен қайдамын', sending: 'жіберілуде…', sent: 'жеткізілді', failed: 'жіберілмеді',
      online: 'Байланыста', connecting: 'Қосылуда…', offline: 'Байланыс жоқ, хабарлар кейін кетеді',
      you: 'Сіз', operator: '102 операторы', shared_location: 'Менің орным', photos: 'Фото: {n}',
      no_geo: 'Браузер орынды анықтауға рұқсат бермеді', bad_photo: 'Бұл файл фото емес',
      'err.generic': 'Хабар қабылданбады',
      'err.widget_message_empty': 'Мәтін жазыңыз, фото немесе орынды жіберіңіз',
      'err.widget_text_too_long': 'Хабар тым ұзын; оны бөліктерге бөліңіз',
      'err.widget_name_too_long': 'Аты тым ұзын',
      'err.widget_too_many_photos': 'Бір хабарда фото тым көп',
      'err.widget_photo_too_large': 'Фото тым үлкен',
      'err.widget_not_a_photo': 'Тек фото жіберуге болады (JPEG, PNG, WebP)',
      'err.widget_bad_location': 'Орын қате көрсетілген',
      'err.widget_rate_limited': 'Қатарынан хабар тым көп; біраз күтіңіз',
      'err.widget_unavailable': 'Хабарды сақтау мүмкін болмады; ол қайта жіберіледі',
      'err.widget_too_many_sockets': 'Чаттың ашық терезелері тым көп; артығын жабыңыз'
    }
  };

  function store(k, v) { try { if (v == null) localStorage.removeItem(k); else localStorage.setItem(k, v); } catch (e) { /* private mode */ } }
  function load(k) { try { return localStorage.getItem(k); } catch (e) { return null; } }
  function pickLang() {
    var l = load(LS_LANG) || script.getAttribute('data-lang') || document.documentElement.lang || navigator.language || 'ru';
    return String(l).slice(0, 2) === 'kk' ? 'kk' : 'ru';
  }
  function randomId(bytes) {
    var b = new Uint8Array(bytes);
    crypto.getRandomValues(b);
    var s = '';
    for (var i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  var W = {
    lang: pickLang(),
    session: load(LS_SESSION),
    log: [],          // {id, dir: 'in'|'out', text, at, state, loc, photos, code}
    pending: [],      // frames not yet acknowledged, in order
    inFlight: {},     // id -> true: sent on this connection, the answer awaited
    ws: null,
    ready: false,
    retryMs: RETRY_MS_MIN,
    retryTimer: null,
    holdUntil: 0,     // the node asked to wait (rate limit) until this time
    el: {}
  };
  if (!/^[A-Za-z0-9_-]{22,64}$/.test(W.session || '')) {
    W.session = randomId(16);
    store(LS_SESSION, W.session);
  }
  try { W.log = JSON.parse(load(LS_LOG + W.session) || '[]') || []; } catch (e) { W.log = []; }
  W.log.forEach(function (m) {
    // What was not acknowledged before the page closed goes again; photos were not kept.
    if (m.dir !== 'in' || m.state !== 'sending') return;
    if (m.photos) m.state = 'failed';
    else W.pending.push(frameOf(m, []));
  });

  function t(k) { return T[W.lang][k] || T.ru[k] || k; }
  function saveLog() {
    var keep = W.log.slice(-LOG_LINES_MAX).map(function (m) {
      return { id: m.id, dir: m.dir, text: m.text, at: m.at, state: m.state, loc: m.loc, photos: m.photos, code: m.code };
    });
    store(LS_LOG + W.session, JSON.stringify(keep));
  }
  function frameOf(m, photos) {
    var f = { type: 'message', id: m.id, text: m.text || '' };
    if (m.loc) f.location = m.loc;
    if (photos && photos.length) f.photos = photos;
    var name = load(LS_NAME);
    if (name) f.name = name;
    return f;
  }

  /* ---------------------------------------------------------------- the page's elements */

  function el(tag, attrs, kids) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v == null) return;
      if (k === 'text') e.textContent = v;
      else if (k === 'tid') e.setAttribute('data-testid', v);
      else if (k.slice(0, 2) === 'on') e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    });
    (kids || []).forEach(function (c) { if (c) e.appendChild(c); });
    return e;
  }

  function build() {
    var host = el('div', { id: 'mvd102-widget', tid: 'widget' });
    document.body.appendChild(host);
    var root = host.attachShadow({ mode: 'open' });
    root.appendChild(el('link', { rel: 'stylesheet', href: CSS_URL }));
    var E = W.el;
    E.launcher = el('button', { type: 'button', class: 'launcher', tid: 'widget-open', onclick: function () { show(true); } });
    E.title = el('span', { class: 'title' });
    E.langBtn = el('button', { type: 'button', class: 'lang', tid: 'widget-lang', onclick: switchLang });
    E.closeBtn = el('button', { type: 'button', class: 'close', tid: 'widget-close', text: '×', onclick: function () { show(false); } });
    E.status = el('div', { class: 'status', tid: 'widget-status', 'data-state': 'connecting' });
    E.intro = el('p', { class: 'intro' });
    E.list = el('ol', { class: 'list', tid: 'widget-messages', 'aria-live': 'polite' });
    E.name = el('input', { type: 'text', class: 'name', tid: 'widget-name', maxlength: '100', autocomplete: 'name' });
    E.name.value = load(LS_NAME) || '';
    E.name.addEventListener('change', function () { store(LS_NAME, E.name.value.trim() || null); });
    E.text = el('textarea', { class: 'text', tid: 'widget-text', rows: '3', maxlength: '16384' });
    E.text.addEventListener('keydown', function (ev) {
      if (ev.key === 'Enter' && !ev.shiftKey) { ev.preventDefault(); sendText(); }
    });
    E.file = el('input', { type: 'file', accept: 'image/jpeg,image/png,image/webp', multiple: 'multiple', class: 'file', tid: 'widget-file' });
    E.file.addEventListener('change', sendPhotos);
    E.photoBtn = el('button', { type: 'button', class: 'btn ghost', tid: 'widget-photo', onclick: function () { E.file.click(); } });
    E.locBtn = el('button', { type: 'button', class: 'btn ghost', tid: 'widget-location', onclick: sendLocation });
    E.sendBtn = el('button', { type: 'submit', class: 'btn', tid: 'widget-send' });
    E.note = el('div', { class: 'note', tid: 'widget-note', role: 'status' });
    var form = el('form', { class: 'form', onsubmit: function (ev) { ev.preventDefault(); sendText(); } },
      [E.text, el('div', { class: 'row' }, [E.photoBtn, E.locBtn, el('span', { class: 'spacer' }), E.sendBtn]), E.file]);
    E.panel = el('section', { class: 'panel', tid: 'widget-panel', role: 'dialog' }, [
      el('header', { class: 'head' }, [E.title, E.langBtn, E.closeBtn]), E.status, E.intro, E.name, E.list, E.note, form]);
    root.appendChild(E.launcher);
    root.appendChild(E.panel);
    texts();
    render();
    show(script.getAttribute('data-open') === '1');
  }

  function texts() {
    var E = W.el;
    E.launcher.textContent = t('open');
    E.title.textContent = t('title');
    E.langBtn.textContent = t('lang');
    E.closeBtn.setAttribute('title', t('close'));
    E.intro.textContent = t('intro');
    E.name.setAttribute('placeholder', t('name'));
    E.text.setAttribute('placeholder', t('placeholder'));
    E.photoBtn.textContent = t('photo');
    E.locBtn.textContent = t('location');
    E.sendBtn.textContent = t('send');
    E.status.textContent = t(E.status.getAttribute('data-state'));
    E.panel.setAttribute('lang', W.lang);
    E.panel.setAttribute('aria-label', t('title'));
  }
  function switchLang() {
    W.lang = W.lang === 'kk' ? 'ru' : 'kk';
    store(LS_LANG, W.lang);
    texts();
    render();
  }
  function show(open) {
    W.el.panel.hidden = !open;
    W.el.launcher.hidden = !!open;
    if (open) W.el.text.focus();
  }
  function setState(s) {
    W.el.status.setAttribute('data-state', s);
    W.el.status.textContent = t(s);
  }
  function note(text) { W.el.note.textContent = text || ''; }
  function pad(n) { return n < 10 ? '0' + n : String(n); }
  function clock(ms) { var d = new Date(ms); return pad(d.getHours()) + ':' + pad(d.getMinutes()); }

  function render() {
    var list = W.el.list;
    while (list.firstChild) list.removeChild(list.firstChild);
    W.log.forEach(function (m) {
      var body = [];
      if (m.text) body.push(el('div', { class: 'body', text: m.text }));
      if (m.loc) body.push(el('div', { class: 'extra', text: '📍 ' + t('shared_location') + ' ' + m.loc.lat.toFixed(5) + ', ' + m.loc.lon.toFixed(5) }));
      if (m.photos) body.push(el('div', { class: 'extra', text: t('photos').replace('{n}', m.photos) }));
      var meta = (m.dir === 'out' ? t('operator') : t('you')) + ' · ' + clock(m.at);
      if (m.dir === 'in') meta += ' · ' + (m.state === 'failed' ? t('failed') + (m.code ? ': ' + t('err.' + m.code) : '') : t(m.state));
      body.push(el('div', { class: 'meta', text: meta }));
      list.appendChild(el('li', { class: 'msg ' + m.dir + ' ' + (m.state || ''), tid: 'widget-msg', 'data-dir': m.dir, 'data-id': m.id, 'data-state': m.state || '' }, body));
    });
    list.scrollTop = list.scrollHeight;
  }
  function find(id) {
    for (var i = 0; i < W.log.length; i++) if (W.log[i].id === id) return W.log[i];
    return null;
  }

  /* ---------------------------------------------------------------- sending */

  function queue(line, photos) {
    W.log.push(line);
    saveLog();
    render();
    W.pending.push(frameOf(line, photos));
    flush();
  }
  function newLine(text, loc, photos) {
    return { id: randomId(12), dir: 'in', text: text, at: Date.now(), state: 'sending', loc: loc || null, photos: photos || 0 };
  }
  function sendText() {
    var text = W.el.text.value.trim();
    if (!text) return;
    W.el.text.value = '';
    note('');
    queue(newLine(text), []);
  }
  function sendLocation() {
    if (!navigator.geolocation) { note(t('no_geo')); return; }
    navigator.geolocation.getCurrentPosition(function (p) {
      note('');
      queue(newLine('', { lat: p.coords.latitude, lon: p.coords.longitude }), []);
    }, function () { note(t('no_geo')); }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 });
  }
  /* A photo as JPEG, its longest side at most PHOTO_SIDE_PX_MAX: base64 without the data: prefix. */
  function shrink(file) {
    return new Promise(function (resolve, reject) {
      var url = URL.createObjectURL(file);
      var img = new Image();
      img.onload = function () {
        var k = Math.min(1, PHOTO_SIDE_PX_MAX / Math.max(img.naturalWidth, img.naturalHeight));
        var c = document.createElement('canvas');
        c.width = Math.max(1, Math.round(img.naturalWidth * k));
        c.height = Math.max(1, Math.round(img.naturalHeight * k));
        c.getContext('2d').drawImage(img, 0, 0, c.width, c.height);
        URL.revokeObjectURL(url);
        resolve({ name: (file.name || 'photo').replace(/\.[^.]*$/, '') + '.jpg', data: c.toDataURL('image/jpeg', PHOTO_JPEG_QUALITY).split(',')[1] });
      };
      img.onerror = function () { URL.revokeObjectURL(url); reject(new Error('not an image')); };
      img.src = url;
    });
  }
  function sendPhotos() {
    var files = Array.prototype.slice.call(W.el.file.files || [], 0, PHOTOS_MAX);
    W.el.file.value = '';
    if (!files.length) return;
    Promise.all(files.map(shrink)).then(function (photos) {
      note('');
      var text = W.el.text.value.trim();
      W.el.text.value = '';
      queue(newLine(text, null, photos.length), photos);
    }, function () { note(t('bad_photo')); });
  }
  /* Sends every pending frame (again after a reconnect); the node answers each with ack or refused. */
  function flush() {
    if (!W.ready || !W.ws || Date.now() < W.holdUntil) return;
    W.pending.forEach(function (f) {
      if (W.inFlight[f.id]) return;
      W.inFlight[f.id] = true;
      W.ws.send(JSON.stringify(f));
    });
  }
  function settle(id, state, code) {
    delete W.inFlight[id];
    W.pending = W.pending.filter(function (f) { return f.id !== id; });
    var m = find(id);
    if (m) { m.state = state; m.code = code || null; saveLog(); render(); }
  }

  /* ---------------------------------------------------------------- the connection */

  function connect() {
    W.retryTimer = null;
    W.ready = false;
    setState('connecting');
    var ws;
    try { ws = new WebSocket(WS_URL); } catch (e) { retry(); return; }
    W.ws = ws;
    ws.onopen = function () { ws.send(JSON.stringify({ type: 'hello', session: W.session, lang: W.lang })); };
    ws.onmessage = function (ev) {
      var f;
      try { f = JSON.parse(ev.data); } catch (e) { return; }
      onFrame(ws, f);
    };
    ws.onclose = function () {
      if (W.ws !== ws) return;
      W.ws = null;
      W.ready = false;
      W.inFlight = {};
      setState('offline');
      retry();
    };
  }
  function retry() {
    if (W.retryTimer) return;
    var wait = W.retryMs * (0.5 + Math.random() / 2);
    W.retryMs = Math.min(W.retryMs * 2, RETRY_MS_MAX);
    W.retryTimer = setTimeout(connect, wait);
  }
  function onFrame(ws, f) {
    if (f.type === 'ready') {
      W.ready = true;
      W.retryMs = RETRY_MS_MIN;
      setState('online');
      mergeHistory(f.history || []);
      flush();
    } else if (f.type === 'ack') {
      settle(f.id, 'sent');
    } else if (f.type === 'refused') {
      if (f.retry_after_s && (f.code === 'widget_rate_limited' || f.code === 'widget_unavailable')) {
        // Kept: sent again when the node said it may be.
        delete W.inFlight[f.id];
        W.holdUntil = Date.now() + f.retry_after_s * 1000;
        note(t('err.' + f.code));
        setTimeout(flush, f.retry_after_s * 1000 + 50);
      } else {
        settle(f.id, 'failed', f.code);
      }
    } else if (f.type === 'answer') {
      if (!find(f.id)) {
        W.log.push({ id: f.id, dir: 'out', text: f.text, at: f.at_ms || Date.now(), state: 'sent' });
        saveLog();
        render();
      }
      ws.send(JSON.stringify({ type: 'received', id: f.id }));
    } else if (f.type === 'error') {
      if (T.ru['err.' + f.code]) note(t('err.' + f.code));
    }
  }
  /* The node's copy of the conversation fills in what this page missed (answers while it was
     closed; messages sent from another tab); local lines the node does not know yet stay. */
  function mergeHistory(lines) {
    var changed = false;
    lines.forEach(function (l) {
      var m = find(l.id);
      if (m) {
        if (m.dir === 'in' && m.state !== 'sent') { settle(l.id, 'sent'); changed = true; }
        return;
      }
      W.log.push({ id: l.id, dir: l.direction === 'out' ? 'out' : 'in', text: l.text, at: l.at_ms, state: 'sent' });
      changed = true;
    });
    if (!changed) return;
    W.log.sort(function (a, b) { return a.at - b.at; });
    saveLog();
    render();
  }

  if (document.body) { build(); connect(); } else {
    document.addEventListener('DOMContentLoaded', function () { build(); connect(); });
  }
})();
