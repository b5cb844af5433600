/* Card lists and the pieces of a card shown in several views: warnings, timeline, coded labels. */
import { cardAddress, cardPriority, codes, fmtTime, keyLabel, label, priBadge, refItem, statusBadge, timer } from '../state.js';
import { h, tx } from '../../kit/dom.js';

export function cardTable(tid, rows, selectedId, onPick, opts) {
  opts = opts || {};
  var body = h('tbody');
  rows.forEach(function (c) {
    var p = cardPriority(c);
    var tr = h('tr', {
      class: 'card-row pri-row-' + (p || 0) + (c.id === selectedId ? ' selected' : '') + ' row-' + c.status,
      tid: 'card-row', 'data-card-id': c.id, 'data-number': c.number, 'data-status': c.status, tabindex: '0',
      onclick: function () { onPick(c); },
      onkeydown: rowKeys(c, onPick)
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
/* A card list is usable from the keyboard: arrows move between rows, Enter or Space opens one. */
function rowKeys(c, onPick) {
  return function (ev) {
    var tr = ev.currentTarget;
    if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); onPick(c); return; }
    var to = ev.key === 'ArrowDown' ? tr.nextElementSibling : ev.key === 'ArrowUp' ? tr.previousElementSibling : null;
    if (to && to.hasAttribute('data-card-id')) { ev.preventDefault(); to.focus(); }
  };
}
export function byPriorityThenAge(a, b) {
  var pa = cardPriority(a) || 9, pb = cardPriority(b) || 9;
  if (pa !== pb) return pa - pb;
  return (a.created_at || 0) - (b.created_at || 0);
}

/* Codes joined by ", " as labels of the dictionary (prefix.code). */
export function keyLabels(prefix, codes) {
  var out = [];
  codes.forEach(function (c, i) { if (i) out.push(', '); out.push(keyLabel(prefix, c)); });
  return out;
}

/* FoundWarning: {address, person, birth_year?, flags:[registered_weapon|criminal_record|psychiatric_record|other], note,
   match: match|possible, reasons:[street_spelling|street_name_partial|street_transliterated|street_type|house_letter|korpus|other_flat]} (R08).
   A possible match is shown, marked, with its reasons: the crew must hear of it, and know it may be another address. */
export function warningItem(w) {
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
export function warningIssuedText(text) {
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
export function codeText(text) {
  if (!text) return '';
  var lists = ['districts', 'duty_units', 'categories'];
  for (var i = 0; i < lists.length; i++) if (refItem(lists[i], text)) return label(lists[i], text);
  if (codes('channels').indexOf(text) >= 0) return label('channels', text);
  return text;
}

export function timelineTable(items) {
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
