/* Card lists and the pieces of a card shown in several views: warnings, timeline, coded labels. */
import { cardAddress, cardPriority, fmtTime, keyLabel, label, priBadge, refItem, statusBadge, timer } from '../state.js';
import { h, tx } from '../../kit/dom.js';
import { timelineTable as kitTimeline } from '../../kit/timeline.js';

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
      h('td', { class: 'c-num mono' }, [h('div', { data: c.number || '' }), h('div', { class: 'muted small', text: fmtTime(c.created_at) })]),
      h('td', { class: 'c-what' }, [
        h('div', null, c.category ? label('categories', c.category) : h('span', { class: 'muted', i18n: 'none' })),
        cardAddress(c) ? h('div', { class: 'muted small', data: cardAddress(c) }) : h('div', { class: 'muted small' }, c.district ? label('districts', c.district) : null)
      ]),
      h('td', { class: 'c-st' }, [
        h('div', null, statusBadge(c.status)),
        opts.noTimer ? null : h('div', { class: 'c-age' }, timer(opts.since ? opts.since(c) : c.created_at)),
        c.units && c.units.length ? h('div', { class: 'small mono c-units', data: c.units.join(', ') }) : null
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
      ' ', h('b', { data: person })])),
    w.address ? h('div', { class: 'small muted', data: w.address }) : null,
    w.note ? h('div', { class: 'small', data: w.note }) : null
  ]);
}

/* The card's timeline: rendered by the kit (node/kit/assets/kit/timeline.js, shared with HQ's
   dashboard) in the user's language, names of districts and duty units from the reference data. */
export function timelineTable(items) {
  return h('div', { class: 'box' }, [
    h('div', { class: 'section-title', i18n: 'card.timeline' }),
    kitTimeline(items || [], { ref: refItem })
  ]);
}
