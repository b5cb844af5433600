/* One conversation of the text inbox (GET /inbox/{id}): the channel and the citizen as they
   showed themselves, the messages both ways (text shown as text, never as HTML; photos inline;
   other files to download; a shared location on the small map), the cards and appeals made from
   it, the same person's earlier conversations and cards; and the operator's work: take it (the
   first operator wins), answer (templates in the conversation's language), open a "102" card
   from a message (R05), make an appeal (R05, R11), close, and send a knowledge-base article
   (R19: GET /kb/search; the box stays hidden where the node has no knowledge base). What is
   typed in the answer stays while the conversation is redrawn. */
import { h, clear, dataText, fmtDateTime } from '../../kit/dom.js';
import { api, errText } from '../../kit/api.js';
import { applyLang, t } from '../../kit/i18n.js';
import { session } from '../../kit/session.js';
import { label, keyLabel, toast, toastText } from '../state.js';
import { fetchFile, fileButton } from './appeal_detail.js';
import { MiniMap } from './map.js';
import DICTS from '../i18n.js';

/** Answer templates, each `inbox.tpl.<code>` in the dictionaries, put in the conversation's language. */
var TEMPLATES = ['greeting', 'address', 'details', 'patrol', 'call102', 'appeal', 'closing'];
/** The circle drawn around a shared location that came without its accuracy, metres. */
var SHARED_LOCATION_ACCURACY_M = 50;
/** Knowledge-base articles offered at most. */
var KB_SUGGESTIONS_MAX = 3;
/** The text of the citizen's last message the knowledge base is asked with, characters. */
var KB_QUERY_CHARS_MAX = 300;

export function convPath(id, rest) { return '/inbox/' + encodeURIComponent(id) + (rest || ''); }
function isImage(a) { return /^image\/(jpeg|png|webp|gif)$/i.test(a.content_type || ''); }
function fileUrl(convId, a) { return a.url ? String(a.url).replace(/^\/api\/v1/, '') : convPath(convId, '/files/' + a.sha256); }
function tpl(code, language) {
  var d = DICTS[language === 'kk' ? 'kk' : 'ru'];
  return (d && d['inbox.tpl.' + code]) || t('inbox.tpl.' + code);
}

/* A photo of the conversation, fetched with the session and shown from a blob: URL. */
function photo(convId, a) {
  var img = h('img', { class: 'inbox-photo', tid: 'conv-photo', alt: '', 'data-sha': a.sha256 || '' });
  fetchFile(fileUrl(convId, a)).then(function (blob) { img.src = URL.createObjectURL(blob); }, function () { img.classList.add('broken'); });
  return img;
}

export function ConversationDetail(opts) {
  var el = h('div', { class: 'box inbox-detail', tid: 'conv-detail' }, [h('div', { class: 'empty-state', i18n: 'inbox.pick' })]);
  var self = { el: el };
  var id = null;
  var conv = null;
  var seq = 0;
  var drafts = {};       // conversation id -> the answer being typed
  var kbOff = false;     // the node has no knowledge base: the box stays hidden
  var map = null;        // the small map of the shared location, one per conversation shown
  var mapFor = null;

  self.show = function (newId) { id = newId; return load(); };
  self.refresh = function () { return id ? load() : Promise.resolve(); };

  function load() {
    var my = ++seq;
    return api('GET', convPath(id)).then(function (c) {
      if (my !== seq) return;
      conv = c;
      draw();
    }, function (e) {
      if (my !== seq) return;
      clear(el).appendChild(h('div', { class: 'error', role: 'alert', err: e }));
    });
  }

  /* Runs an action's request with its button held; reloads the conversation and the lists. */
  function act(btn, request, done) {
    btn.disabled = true;
    return request().then(function (res) {
      btn.disabled = false;
      if (done) done(res);
      if (opts && opts.onChange) opts.onChange();
      return load();
    }, function (e) {
      btn.disabled = false;
      toastText(errText(e));
    });
  }

  function button(tid, key, cls, request, done) {
    var b = h('button', { type: 'button', class: 'btn btn-sm ' + (cls || ''), tid: tid, i18n: key });
    b.addEventListener('click', function () { act(b, request, done); });
    return b;
  }

  function header(c) {
    var who = c.citizen || {};
    return h('div', { class: 'detail-head inbox-head' }, [
      h('div', { class: 'row' }, [
        c.urgent ? h('span', { class: 'badge badge-sos', tid: 'conv-detail-urgent', i18n: 'inbox.urgent' }) : null,
        label('channels', c.channel, 'badge'),
        h('span', { class: 'badge inbox-state', tid: 'conv-state', 'data-state': c.state, i18n: 'inbox.state.' + c.state }),
        c.assignee ? h('span', { class: 'small' }, [h('span', { i18n: 'inbox.assignee' }), ': ', dataText(c.assignee, 'mono')]) : null,
        h('span', { class: 'small muted' }, [h('span', { i18n: 'inbox.language' }), ': ', keyLabel('lang', c.language || 'ru')])
      ]),
      h('div', { class: 'kv inbox-citizen', tid: 'conv-citizen' }, [
        who.name ? h('div', null, [h('span', { class: 'muted', i18n: 'inbox.citizen.name' }), ' ', dataText(who.name)]) : null,
        who.phone ? h('div', null, [h('span', { class: 'muted', i18n: 'inbox.citizen.phone' }), ' ', dataText(who.phone, 'mono')]) : null,
        who.email ? h('div', null, [h('span', { class: 'muted', i18n: 'inbox.citizen.email' }), ' ', dataText(who.email, 'mono')]) : null,
        c.channel !== 'web_widget' && c.address_display ? h('div', null, [h('span', { class: 'muted', i18n: 'inbox.citizen.address' }), ' ', dataText(c.address_display, 'mono')]) : null,
        !who.name && !who.phone && !who.email ? h('div', { class: 'muted', i18n: 'inbox.citizen.anonymous' }) : null
      ])
    ]);
  }

  function actions(c) {
    var mine = c.assignee === (session.user && session.user.login);
    var lastIn = lastIncoming(c);
    var out = [];
    if (c.state === 'unassigned') out.push(button('conv-take', 'inbox.take', 'btn-primary', function () { return api('POST', convPath(c.id, '/take')); }));
    if (c.state !== 'closed' && (mine || c.state === 'unassigned')) {
      out.push(button('conv-open-card', 'inbox.open_card', 'btn-danger', function () {
        return api('POST', convPath(c.id, '/card'), lastIn ? { message_id: lastIn.id } : {});
      }, function (res) { toast('inbox.card_opened', 'ok'); return res; }));
      out.push(button('conv-make-appeal', 'inbox.make_appeal', '', function () { return api('POST', convPath(c.id, '/appeal')); },
        function () { toast('inbox.appeal_made', 'ok'); }));
      out.push(button('conv-close', 'inbox.close', 'btn-ghost', function () { return api('POST', convPath(c.id, '/close')); }));
    }
    return h('div', { class: 'inbox-actions', tid: 'conv-actions' }, out);
  }

  function links(c) {
    var items = (c.links || []).map(function (l) {
      return h('li', { tid: 'conv-link', 'data-kind': l.kind, 'data-id': l.id }, [
        h('span', { i18n: 'inbox.link.' + l.kind }), ' ', dataText(l.number || l.id, 'mono'),
        l.automatic ? h('span', { class: 'muted small', i18n: 'inbox.link.automatic' }) : null]);
    });
    if (!items.length) return null;
    return h('div', { class: 'inbox-links' }, [h('div', { class: 'fieldset-title', i18n: 'inbox.links' }), h('ul', null, items)]);
  }

  function message(c, m) {
    var kids = [];
    if (m.text) kids.push(h('div', { class: 'inbox-text', tid: 'conv-msg-text', data: m.text }));
    (m.attachments || []).forEach(function (a) {
      if (isImage(a)) kids.push(photo(c.id, a));
      else kids.push(fileButton({ path: fileUrl(c.id, a), name: a.file_name || 'file', tid: 'conv-file', data: a.file_name || a.sha256, cls: 'btn btn-xs btn-ghost' }));
    });
    if (m.location) {
      kids.push(h('div', { class: 'small', tid: 'conv-msg-location' }, [h('span', { i18n: 'inbox.location' }), ' ',
        dataText(Number(m.location.lat).toFixed(5) + ', ' + Number(m.location.lon).toFixed(5), 'mono')]));
    }
    var meta = [dataText(fmtDateTime(m.at_ms, true), 'mono')];
    if (m.direction === 'out') {
      meta.push(' · ');
      meta.push(m.automatic ? h('span', { i18n: 'inbox.automatic' }) : dataText(m.by || '', 'mono'));
      if (m.delivery) {
        meta.push(' · ');
        meta.push(h('span', { tid: 'conv-delivery', 'data-delivery': m.delivery, i18n: 'inbox.delivery.' + m.delivery }));
      }
    } else if (m.classification && m.classification.urgent) {
      meta.push(' · ');
      meta.push(h('span', { class: 'badge badge-sos', i18n: 'inbox.urgent' }));
    }
    kids.push(h('div', { class: 'small muted inbox-meta' }, meta));
    return h('li', { class: 'inbox-msg ' + m.direction, tid: 'conv-msg', 'data-dir': m.direction, 'data-id': m.id }, kids);
  }

  function lastIncoming(c) {
    var ms = (c.messages || []).filter(function (m) { return m.direction === 'in'; });
    return ms.length ? ms[ms.length - 1] : null;
  }
  function lastLocation(c) {
    var ms = (c.messages || []).filter(function (m) { return m.location; });
    return ms.length ? ms[ms.length - 1].location : null;
  }

  function earlier(c) {
    var e = c.earlier || {};
    var convs = Array.isArray(e) ? e.filter(function (x) { return x.kind !== 'card'; }) : (e.conversations || []);
    var cards = Array.isArray(e) ? e.filter(function (x) { return x.kind === 'card'; }) : (e.cards || []);
    if (!convs.length && !cards.length) return null;
    var rows = convs.map(function (x) {
      return h('li', { tid: 'conv-earlier', 'data-id': x.id }, [label('channels', x.channel), ' ',
        dataText(fmtDateTime(x.updated_at_ms || x.created_at_ms)), ' ',
        x.last_message ? dataText((x.last_message.text || '').slice(0, 80), 'muted') : null]);
    }).concat(cards.map(function (x) {
      return h('li', { tid: 'conv-earlier-card', 'data-id': x.id }, [h('span', { i18n: 'inbox.link.card' }), ' ',
        dataText(x.number || x.id, 'mono'), ' ', dataText(fmtDateTime(x.created_at || x.created_at_ms)), ' ',
        x.status ? h('span', { i18n: 'status.' + x.status }) : null]);
    }));
    return h('div', { class: 'inbox-earlier', tid: 'conv-earlier-box' }, [h('div', { class: 'fieldset-title', i18n: 'inbox.earlier' }), h('ul', null, rows)]);
  }

  function reply(c) {
    if (c.state === 'closed') return null;
    var text = h('textarea', { rows: '3', tid: 'conv-reply', ph: 'inbox.reply.ph', value: drafts[c.id] || '' });
    text.addEventListener('input', function () { drafts[c.id] = text.value; });
    var templates = h('select', { tid: 'conv-template', class: 'sel-sm' }, [h('option', { value: '', i18n: 'inbox.templates' })]
      .concat(TEMPLATES.map(function (code) { return h('option', { value: code, i18n: 'inbox.tpl.name.' + code }); })));
    templates.addEventListener('change', function () {
      if (!templates.value) return;
      var add = tpl(templates.value, c.language);
      text.value = text.value ? text.value.replace(/\s*$/, '') + '\n' + add : add;
      drafts[c.id] = text.value;
      templates.value = '';
      text.focus();
    });
    var send = h('button', { type: 'submit', class: 'btn btn-primary btn-sm', tid: 'conv-send', i18n: 'inbox.send' });
    var form = h('form', { class: 'inbox-reply', tid: 'conv-reply-form' }, [text, h('div', { class: 'row' }, [templates, h('span', { class: 'spacer' }), send])]);
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var body = text.value.trim();
      if (!body) return;
      act(send, function () { return api('POST', convPath(c.id, '/reply'), { text: body }); }, function () {
        delete drafts[c.id];
        toast('inbox.sent', 'ok');
      });
    });
    text.addEventListener('keydown', function (ev) {
      if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); form.requestSubmit ? form.requestSubmit() : send.click(); }
    });
    return form;
  }

  /* Suggested articles for the citizen's last message; hidden where the node has none. */
  function kbBox(c) {
    var box = h('div', { class: 'inbox-kb', tid: 'conv-kb', style: 'display:none' });
    var last = lastIncoming(c);
    if (kbOff || !last || !last.text || c.state === 'closed') return box;
    var q = last.text.slice(0, KB_QUERY_CHARS_MAX);
    var my = seq;
    api('GET', '/kb/search?q=' + encodeURIComponent(q) + '&lang=' + encodeURIComponent(c.language || 'ru')).then(function (res) {
      if (my !== seq) return;
      var hits = ((res && (res.articles || res.results)) || []).slice(0, KB_SUGGESTIONS_MAX);
      if (!hits.length) return;
      clear(box).appendChild(h('div', { class: 'fieldset-title', i18n: 'inbox.kb' }));
      hits.forEach(function (a) {
        var body = [a.title, a.body || a.text || a.snippet].filter(Boolean).join('\n');
        var b = h('button', { type: 'button', class: 'btn btn-xs', tid: 'conv-kb-send', i18n: 'inbox.kb.send' });
        b.addEventListener('click', function () {
          act(b, function () { return api('POST', convPath(c.id, '/reply'), { text: body }); }, function () { toast('inbox.sent', 'ok'); });
        });
        box.appendChild(h('div', { class: 'inbox-kb-item', tid: 'conv-kb-item', 'data-id': a.id || a.article_id || '' }, [
          h('b', { data: a.title || '' }), h('div', { class: 'small muted', data: a.snippet || '' }), b]));
      });
      box.style.display = '';
      applyLang(box);
    }, function (e) {
      if (e && (e.status === 404 || e.status === 403)) kbOff = true;
    });
    return box;
  }

  function draw() {
    var c = conv;
    var msgs = h('ol', { class: 'inbox-msgs', tid: 'conv-messages' }, (c.messages || []).map(function (m) { return message(c, m); }));
    var where = lastLocation(c);
    if (!map || mapFor !== c.id) { map = MiniMap('conv-map', 180); mapFor = c.id; }
    var mapBox = where ? map.el : null;
    clear(el);
    [header(c), actions(c), links(c), msgs, mapBox, reply(c), kbBox(c), earlier(c)].forEach(function (x) { if (x) el.appendChild(x); });
    if (where) map.set(Number(where.lat), Number(where.lon), where.accuracy_m || SHARED_LOCATION_ACCURACY_M, null);
    el.setAttribute('data-id', c.id);
    applyLang(el);
    msgs.scrollTop = msgs.scrollHeight;
  }

  return self;
}
