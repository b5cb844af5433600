/* The patrols' reports on a card in the standard format (R34), as their terminals filed them:
   who, from which unit, when (the officer's time of writing), what was established, the
   measures taken, the persons and vehicles, the outcome and the photos. */
import { h, dataText, fmtDateTime } from '../../kit/dom.js';
import { keyText } from '../../kit/timeline.js';

function row(key, value, tid) {
  if (value == null || value === '' || (Array.isArray(value) && !value.length)) return null;
  return h('div', { class: 'kv' }, [h('span', { class: 'k', i18n: key }), h('span', { class: 'v', tid: tid }, value)]);
}

function person(p) {
  const name = [p.surname, p.name].filter(Boolean).join(' ');
  return h('li', { tid: 'preport-person' }, [
    keyText('prole', p.role), name ? ' — ' : '', name ? dataText(name) : '',
    p.birth_year ? dataText(' (' + p.birth_year + ')') : '',
    p.iin ? dataText(', ' + p.iin) : '', p.note ? dataText('; ' + p.note) : ''
  ]);
}

function vehicle(v) {
  return h('li', { tid: 'preport-vehicle' }, [dataText([v.plate, v.make, v.color].filter(Boolean).join(', ')), v.note ? dataText('; ' + v.note) : '']);
}

/** The box of a card's patrol reports, or null when there are none. */
export function patrolReportsBox(card) {
  const list = card.patrol_reports || [];
  if (!list.length) return null;
  return h('div', { class: 'box preports', tid: 'patrol-reports' }, [h('h3', { i18n: 'preport.title' })].concat(list.map(function (r) {
    const rep = r.report || {};
    return h('div', { class: 'preport', tid: 'patrol-report', 'data-at': String(r.at_ms) }, [
      row('preport.by', [dataText(r.call_sign + ' — ' + r.by)]),
      row('preport.at', [h('span', { tid: 'preport-at', text: fmtDateTime(r.at_ms) })]),
      row('preport.established', [dataText(rep.established)], 'preport-established'),
      row('preport.measures', [dataText(rep.measures)], 'preport-measures'),
      row('preport.persons', (rep.persons || []).length ? [h('ul', {}, rep.persons.map(person))] : null),
      row('preport.vehicles', (rep.vehicles || []).length ? [h('ul', {}, rep.vehicles.map(vehicle))] : null),
      row('preport.outcome', [keyText('poutcome', rep.outcome)], 'preport-outcome'),
      row('preport.photos', (rep.photos || []).length ? rep.photos.map(function (sha) {
        return h('img', { class: 'preport-photo', alt: '', src: '/api/v1/units/' + encodeURIComponent(r.unit_id) + '/photos/' + sha });
      }) : null)
    ].filter(Boolean));
  })));
}

