/* The incident reference (R20, "Справка по происшествию / Оқиға бойынша анықтама") from
   GET /cards/{id}/incident-reference: the card (number, category, address, caller, description),
   every unit with its assigned / en route / on scene / cleared times and the arrival time, the
   patrols' reports in the standard format (R34), and who generated it and when. It opens over
   the console from the card (card_detail.js) and prints with window.print(): the print
   stylesheet (app.css) shows only the .print-area. The patrol reports box of the card detail is
   built here too (patrolReportsBox). */
import { fmtDateTime, fmtDur, label, statusBadge } from '../state.js';
import { api } from '../../kit/api.js';
import { clear, fmtTime, h, qs, tx } from '../../kit/dom.js';
import { applyLang } from '../../kit/i18n.js';

function kv(key, value, tid) {
  if (value == null || value === '') return null;
  return h('div', { class: 'kv' }, [h('span', { class: 'k', i18n: key }), h('span', { class: 'v', tid: tid }, typeof value === 'object' ? value : String(value))]);
}

function personText(p) {
  var who = [p.surname, p.name].filter(Boolean).join(' ');
  var extra = [p.birth_year ? String(p.birth_year) : null, p.iin ? p.iin : null].filter(Boolean).join(', ');
  return (who || '—') + (extra ? ' (' + extra + ')' : '') + (p.note ? ' — ' + p.note : '');
}

/** One patrol report (CardPatrolReport) in the standard format. */
export function reportView(r, tid) {
  var rep = r.report || {};
  var persons = rep.persons || [], vehicles = rep.vehicles || [];
  return h('div', { class: 'ir-report', tid: tid || 'patrol-report', 'data-entry': r.entry_id }, [
    h('div', { class: 'ir-report-head' }, [
      h('b', { translate: 'no', text: r.call_sign || r.unit_id }), ' · ',
      h('span', { translate: 'no', text: r.by }), ' · ',
      h('span', { class: 'mono', tid: 'patrol-report-at', 'data-ms': String(r.at_ms), translate: 'no', text: fmtDateTime(r.at_ms, true) })
    ]),
    kv('ir.established', h('span', { class: 'pre', data: rep.established || '' })),
    kv('ir.measures', h('span', { class: 'pre', data: rep.measures || '' })),
    persons.length ? h('div', { class: 'kv' }, [h('span', { class: 'k', i18n: 'ir.persons' }), h('ul', { class: 'v ir-list' }, persons.map(function (p) {
      return h('li', { tid: 'patrol-report-person' }, [h('span', { i18n: 'ir.role.' + p.role }), ': ', h('span', { data: personText(p) })]);
    }))]) : null,
    vehicles.length ? h('div', { class: 'kv' }, [h('span', { class: 'k', i18n: 'ir.vehicles' }), h('ul', { class: 'v ir-list' }, vehicles.map(function (v) {
      return h('li', { data: [v.plate, v.make, v.color, v.note].filter(Boolean).join(', ') });
    }))]) : null,
    kv('ir.outcome', h('span', { i18n: 'ir.outcome.' + rep.outcome, tid: 'patrol-report-outcome', 'data-code': rep.outcome })),
    (rep.photos || []).length ? kv('ir.photos', String(rep.photos.length)) : null
  ]);
}

/** The card's patrol reports for the card detail, or null when there are none. */
export function patrolReportsBox(c) {
  var list = c.patrol_reports || [];
  if (!list.length) return null;
  return h('div', { class: 'box', tid: 'card-patrol-reports' }, [h('div', { class: 'section-title', i18n: 'ir.reports' })]
    .concat(list.map(function (r) { return reportView(r, 'card-patrol-report'); })));
}

function unitsTable(units) {
  var cell = function (ms, tid) { return h('td', { class: 'mono', tid: tid, 'data-ms': ms ? String(ms) : '', translate: 'no', text: fmtTime(ms) }); };
  return h('table', { class: 'grid sup-table', tid: 'ir-units' }, [
    h('thead', null, h('tr', null, ['unit.call_sign', 'ir.assigned', 'ir.en_route', 'ir.on_scene', 'ir.cleared', 'ir.arrival', 'ir.assigned_by'].map(function (k) {
      return h('th', { i18n: k });
    }))),
    h('tbody', null, units.length ? units.map(function (u) {
      return h('tr', { tid: 'ir-unit', 'data-unit-id': u.unit_id }, [
        h('td', { class: 'b', translate: 'no', text: u.call_sign }),
        cell(u.assigned_at, 'ir-assigned'), cell(u.en_route_at, 'ir-en-route'), cell(u.on_scene_at, 'ir-on-scene'), cell(u.cleared_at, 'ir-cleared'),
        h('td', { class: 'mono', tid: 'ir-arrival', 'data-s': u.arrival_s == null ? '' : String(u.arrival_s), translate: 'no', text: u.arrival_s == null ? '' : fmtDur(u.arrival_s * 1000) }),
        h('td', { translate: 'no', text: u.assigned_by })
      ]);
    }) : h('tr', null, h('td', { colspan: 7, class: 'muted', i18n: 'empty' })))
  ]);
}

function body(r) {
  var c = r.card, caller = c.caller || {}, loc = c.location || {};
  return [
    h('div', { class: 'ir-head' }, [
      h('h1', { i18n: 'ir.title' }),
      h('div', null, h('span', { names: { kk: r.region_name_kk, ru: r.region_name_ru } }))
    ]),
    h('div', { class: 'box' }, [
      kv('ir.card', h('span', { class: 'mono', data: c.number, tid: 'ir-number' })),
      kv('ir.created', fmtDateTime(c.created_at, true)),
      kv('ir.status', statusBadge(c.status)),
      c.category ? kv('ir.category', label('categories', c.category)) : null,
      kv('ir.address', h('span', { data: loc.address || '', tid: 'ir-address' })),
      loc.lat != null ? kv('ir.point', h('span', { data: Number(loc.lat).toFixed(5) + ', ' + Number(loc.lon).toFixed(5) })) : null,
      kv('ir.caller', h('span', { data: [caller.name, caller.phone].filter(Boolean).join(', ') })),
      kv('ir.description', c.description ? h('span', { class: 'pre', data: c.description }) : null)
    ]),
    h('div', { class: 'lbl', i18n: 'ir.units' }),
    unitsTable(r.units || []),
    h('div', { class: 'lbl', i18n: 'ir.reports' }),
    (r.reports || []).length ? h('div', { tid: 'ir-reports' }, r.reports.map(function (x) { return reportView(x, 'ir-report'); }))
      : h('div', { class: 'muted', i18n: 'ir.no_reports' }),
    h('div', { class: 'ir-foot small' }, [tx('ir.generated_by'), ': ', h('span', { translate: 'no', tid: 'ir-by', text: r.generated_by }),
      ' · ', tx('ir.generated_at'), ': ', h('span', { translate: 'no', tid: 'ir-at', text: fmtDateTime(r.generated_at, true) })])
  ];
}

/** Opens the card's reference over the console (one at a time); Escape or "close" ends it. */
export function openIncidentReference(cardId) {
  var old = qs('[data-testid=incident-reference]');
  if (old) old.remove();
  var content = h('div', { class: 'ir-body' }, h('div', { class: 'muted', i18n: 'loading' }));
  var close = h('button', { type: 'button', class: 'btn', tid: 'ir-close', i18n: 'ir.close' });
  var print = h('button', { type: 'button', class: 'btn btn-primary', tid: 'ir-print', i18n: 'ir.print' });
  var el = h('div', { class: 'ir-overlay print-area', tid: 'incident-reference', role: 'dialog' }, [
    h('div', { class: 'row no-print' }, [h('span', { class: 'spacer' }), print, close]),
    content
  ]);
  function done() { el.remove(); document.removeEventListener('keydown', onKey, true); }
  function onKey(ev) { if (ev.key === 'Escape') done(); }
  close.addEventListener('click', done);
  print.addEventListener('click', function () { window.print(); });
  document.addEventListener('keydown', onKey, true);
  document.body.appendChild(el);
  applyLang(el);
  return api('GET', '/cards/' + encodeURIComponent(cardId) + '/incident-reference').then(function (r) {
    clear(content);
    body(r).forEach(function (x) { if (x) content.appendChild(x); });
    applyLang(el);
  }, function (e) {
    clear(content).appendChild(h('div', { class: 'error', tid: 'ir-error', err: e }));
  });
}
