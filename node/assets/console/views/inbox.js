/* The text inbox (Входящие / Кіріс хабарлар, R01, R05): citizens' conversations from Telegram,
   VKontakte, the site's widget, e-mail and the apps. Lists: nobody's yet (unassigned), mine,
   waiting for the citizen, closed; urgent ones first. A click opens the conversation
   (inbox_detail.js): take it, answer, open a card, make an appeal, send an article. The lists
   stay current through the live stream (inbox_data.js); sound and notifications are alerts.js. */
import { h, clear, dataText, fmtTime } from '../../kit/dom.js';
import { applyLang } from '../../kit/i18n.js';
import { showError } from '../../kit/api.js';
import { label } from '../state.js';
import { INBOX_LISTS, inboxList, onInbox, loadInbox, loadClosed } from '../inbox_data.js';
import { ConversationDetail } from './inbox_detail.js';

/** How much of the last message a row shows, characters. */
var PREVIEW_CHARS_MAX = 140;

export function InboxView(panel) {
  var current = 'unassigned';
  var selected = null;
  var counts = {};
  var filters = INBOX_LISTS.map(function (name) {
    counts[name] = h('span', { class: 'count', tid: 'inbox-count-' + name, text: '' });
    return h('button', { type: 'button', class: 'btn btn-sm btn-ghost', tid: 'inbox-filter-' + name, 'data-list': name,
      onclick: function () { pick(name); } }, [h('span', { i18n: 'inbox.list.' + name }), ' ', counts[name]]);
  });
  var refresh = h('button', { type: 'button', class: 'btn btn-sm btn-ghost', tid: 'inbox-refresh', i18n: 'inbox.refresh', onclick: reload });
  var err = h('div', { class: 'error', tid: 'inbox-error', style: 'display:none', role: 'alert' });
  var list = h('ol', { class: 'inbox-list', tid: 'inbox-list' });
  var detail = ConversationDetail({ onChange: function () { reload(); } });
  panel.appendChild(h('div', { class: 'layout-2 inbox-layout' }, [
    h('div', { class: 'col inbox-col' }, [
      h('div', { class: 'box' }, [
        h('div', { class: 'section-title', i18n: 'inbox.title' }),
        h('div', { class: 'row inbox-filters', role: 'tablist' }, filters.concat([h('span', { class: 'spacer' }), refresh])),
        err, list])
    ]),
    h('div', { class: 'col col-side' }, [detail.el])
  ]));

  function pick(name) {
    current = name;
    filters.forEach(function (b) { b.classList.toggle('active', b.getAttribute('data-list') === name); });
    if (name === 'closed') loadClosed().then(function () { showError(err, null); }, function (e) { showError(err, e); });
    draw();
  }
  function reload() {
    var p = current === 'closed' ? loadClosed() : loadInbox();
    return p.then(function () { showError(err, null); }, function (e) { showError(err, e); });
  }

  function row(c) {
    var who = c.citizen && (c.citizen.name || c.citizen.phone || c.citizen.email);
    // A widget's address is its session's secret id: not a thing to show.
    var shown = who || (c.channel === 'web_widget' ? null : c.address_display);
    var last = c.last_message || {};
    var text = (last.text || '').slice(0, PREVIEW_CHARS_MAX);
    var li = h('li', { class: 'inbox-row' + (c.urgent ? ' urgent' : '') + (c.id === selected ? ' sel' : ''), tid: 'conv-row',
      'data-id': c.id, 'data-state': c.state, 'data-urgent': c.urgent ? '1' : '0', tabindex: '0', role: 'button',
      onclick: function () { open(c.id); },
      onkeydown: function (ev) { if (ev.key === 'Enter') open(c.id); } }, [
      h('div', { class: 'inbox-row-head' }, [
        c.urgent ? h('span', { class: 'badge badge-sos', tid: 'conv-urgent', i18n: 'inbox.urgent' }) : null,
        label('channels', c.channel, 'inbox-channel'),
        shown ? dataText(shown, 'inbox-who') : h('span', { class: 'inbox-who muted', i18n: 'inbox.citizen.anonymous' }),
        h('span', { class: 'spacer' }),
        c.unread ? h('span', { class: 'badge inbox-unread', tid: 'conv-unread', data: String(c.unread) }) : null,
        dataText(fmtTime(c.updated_at_ms), 'muted small')
      ]),
      h('div', { class: 'inbox-preview' }, [
        last.direction === 'out' ? h('span', { class: 'muted', i18n: 'inbox.you_wrote' }) : null,
        last.direction === 'out' ? ' ' : null,
        dataText(text)
      ])
    ]);
    return li;
  }

  function draw() {
    INBOX_LISTS.forEach(function (name) {
      var n = name === 'closed' ? null : inboxList(name).length;
      counts[name].textContent = n ? String(n) : '';
    });
    clear(list);
    var items = inboxList(current);
    if (!items.length) list.appendChild(h('li', { class: 'empty-state', tid: 'inbox-empty', i18n: 'inbox.empty.' + current }));
    items.forEach(function (c) { list.appendChild(row(c)); });
    applyLang(list);
  }

  function open(id) {
    selected = id;
    draw();
    detail.show(id);
  }

  onInbox(function (c) {
    draw();
    if (c && c.id === selected) detail.refresh();
  });
  pick('unassigned');

  return {
    onShow: function () { draw(); },
    focus: function () { if (filters[0]) filters[0].focus(); }
  };
}
