/* A card's timeline as the console and HQ's dashboard show it. Every entry is rendered in the
   user's language from its kind and codes, including entries older versions stored:
   - created: the channel's code; sent_for_processing: the district's code; forwarded: the duty
     unit's code; edited: the changed fields' codes joined by ","; callback: the outcome's code;
   - dispatched, dsog_dispatched, en_route, on_scene, cleared, unassigned: a call sign;
     kui_registered: a КУИ number; linked_duplicate: the main card; note, hq_note, report,
     closing_summary, closed, cancelled: text people typed (shown as typed, translate="no");
   - warning_issued (node service.rs warnings_text): "P-12: address warnings: Петров
     [registered_weapon, criminal_record] (possible: other_flat); Иванов [other]" — the English
     words and the codes become dictionary texts, the call sign and names stay data.
   `ref(list, code)` gives the region's reference item ({name_kk, name_ru}) of 'districts',
   'duty_units' or 'categories', or null. */
import { h, tx, dataText, fmtTime } from './dom.js';
import { known } from './i18n.js';

/** A code as the dictionary's text for prefix.code, or `fallback` (a key) when it has none. */
export function keyText(prefix, code, fallback) {
  const key = prefix + '.' + code;
  if (known(key)) return h('span', { i18n: key, 'data-code': code });
  return h('span', { i18n: fallback || 'tl.unknown_code', 'data-code': code });
}
function joined(prefix, codes, fallback) {
  const out = [];
  codes.filter(Boolean).forEach(function (c, i) { if (i) out.push(', '); out.push(keyText(prefix, c.trim(), fallback)); });
  return out;
}

/* The flags and reasons of one person: "Петров [registered_weapon, criminal_record] (possible: other_flat)". */
const PERSON = /^(.*?)\s*\[([a-z_, ]*)\](?:\s*\((?:possible|\?)\s*:\s*([a-z_, ]*)\))?\s*$/;

/** The warning_issued entry's text as elements in the user's language. */
export function warningIssuedText(text) {
  let rest = String(text || '');
  const out = [];
  const head = /^(.*?):\s*address warnings:\s*/.exec(rest) || /^(.*?):\s+(?=\S.*\[)/.exec(rest);
  if (head) {
    out.push(dataText(head[1], 'tl-call-sign'), ': ');
    rest = rest.slice(head[0].length);
  } else if (rest.indexOf('address warnings: ') === 0) {
    rest = rest.slice('address warnings: '.length);
  }
  out.push(tx('warn.title'), ': ');
  rest.split(/;\s*/).forEach(function (part, i) {
    if (i) out.push('; ');
    const m = PERSON.exec(part);
    if (!m) { out.push(dataText(part)); return; }
    out.push(dataText(m[1]), ' [', joined('warn', m[2].split(','), 'warn.other'), ']');
    if (m[3] !== undefined) {
      out.push(' (', tx('warn.match.possible', 'warn-possible-text'), ': ', joined('warn.reason', m[3].split(',')), ')');
    }
  });
  return out;
}

function refName(ref, list, code) {
  const it = ref ? ref(list, code) : null;
  if (it && (it.name_ru || it.name_kk)) {
    return h('span', { ref: it, 'data-code': code });
  }
  return null;
}

/** The text column of one entry. */
export function entryText(e, ref) {
  const text = e.text == null ? '' : String(e.text);
  switch (e.kind) {
    case 'created':
      return text ? keyText('channel', text) : '';
    case 'sent_for_processing':
      return text ? (refName(ref, 'districts', text) || dataText(text)) : '';
    case 'forwarded':
      return text ? (refName(ref, 'duty_units', text) || dataText(text)) : '';
    case 'edited':
      return joined('field', text.split(','));
    case 'callback':
      return text ? keyText('tl.callback', text) : '';
    case 'callback_due':
      return '';
    case 'warning_issued':
      return warningIssuedText(text);
    case 'unit_status_late': {
      // "call sign status": a step a terminal recorded that the card already had.
      const i = text.lastIndexOf(' ');
      return i < 0 ? dataText(text) : [dataText(text.slice(0, i)), ' — ', keyText('fstatus', text.slice(i + 1))];
    }
    default:
      // Call signs, КУИ numbers, card numbers and what people typed: data, shown as is.
      return text ? dataText(text) : '';
  }
}

/** The kind column: tl.<kind>, or a neutral word for a kind this version does not know. */
export function kindText(kind) {
  return keyText('tl', kind, 'tl.other');
}

/** The timeline table (oldest first). opts: {ref, at(ms) → text, by(entry) → node, tid}. */
export function timelineTable(items, opts) {
  opts = opts || {};
  const at = opts.at || fmtTime;
  const body = h('tbody');
  (items || []).slice().sort(function (a, b) { return (a.at || 0) - (b.at || 0); }).forEach(function (e) {
    body.appendChild(h('tr', { class: 'tl-' + e.kind, 'data-kind': e.kind, tid: 'tl-row' }, [
      h('td', { class: 'mono small nowrap', text: at(e.at) }),
      h('td', { class: 'small nowrap' }, opts.by ? opts.by(e) : dataText(e.by || '')),
      h('td', { class: 'nowrap' }, kindText(e.kind)),
      h('td', { class: 'pre' }, entryText(e, opts.ref))
    ]));
  });
  if (!items || !items.length) body.appendChild(h('tr', { class: 'empty-row' }, h('td', { colspan: 4, i18n: 'empty' })));
  return h('table', { class: 'grid timeline', tid: opts.tid || 'timeline', 'data-count': (items || []).length }, [
    h('thead', null, h('tr', null, [h('th', { i18n: 'tl.at' }), h('th', { i18n: 'tl.by' }), h('th', { i18n: 'tl.kind' }), h('th', { i18n: 'tl.text' })])),
    body
  ]);
}
