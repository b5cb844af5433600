/* The patrol's report in the standard format (R34): what was established, measures taken,
   persons, vehicles, outcome and photos. Checked here as the terminal checks it (required
   fields, size), written on the terminal, synced later. Photos are re-encoded to JPEG of at most
   PHOTO_SIDE_PX so that a camera's picture fits the photo limit. */
import { h, clear, toast } from '../../kit/dom.js';
import { applyLang } from '../../kit/i18n.js';
import { showError } from '../../kit/api.js';
import { fapi } from '../fapi.js';

const ROLES = ['applicant', 'victim', 'witness', 'suspect', 'offender'];
const OUTCOMES = ['resolved_on_scene', 'delivered_to_police', 'protocol_drawn', 'kui_registered',
  'handed_to_ambulance', 'not_confirmed', 'false_call'];
/* The terminal's limit on a report (PATROL_REPORT_BYTES_MAX), bytes. */
const REPORT_BYTES_MAX = 32 * 1024;
/* Longest side of a photo sent to the terminal, px; JPEG quality. */
const PHOTO_SIDE_PX = 1600;
const PHOTO_QUALITY = 0.8;

function input(tid, attrs) { return h('input', Object.assign({ type: 'text', tid: tid, class: 'big-input' }, attrs || {})); }
function labeled(key, el) { return h('label', { class: 'fld' }, [h('span', { i18n: key }), el]); }

function personRow(list) {
  const role = h('select', { tid: 'person-role' }, ROLES.map(function (r) { return h('option', { value: r, i18n: 'role.' + r }); }));
  const f = { role: role, surname: input('person-surname'), name: input('person-name'),
    birth_year: input('person-birth-year', { inputmode: 'numeric', maxlength: 4 }), iin: input('person-iin', { inputmode: 'numeric', maxlength: 12 }), note: input('person-note') };
  const el = h('div', { class: 'sub-row', tid: 'person' }, [labeled('person.role', role), labeled('person.surname', f.surname),
    labeled('person.name', f.name), labeled('person.birth_year', f.birth_year), labeled('person.iin', f.iin), labeled('person.note', f.note),
    h('button', { type: 'button', class: 'btn', i18n: 'report.remove', onclick: function () { list.splice(list.indexOf(f), 1); el.remove(); } })]);
  f.el = el;
  list.push(f);
  return el;
}

function vehicleRow(list) {
  const f = { plate: input('vehicle-plate'), make: input('vehicle-make'), color: input('vehicle-color'), note: input('vehicle-note') };
  const el = h('div', { class: 'sub-row', tid: 'vehicle' }, [labeled('vehicle.plate', f.plate), labeled('vehicle.make', f.make),
    labeled('vehicle.color', f.color), labeled('vehicle.note', f.note),
    h('button', { type: 'button', class: 'btn', i18n: 'report.remove', onclick: function () { list.splice(list.indexOf(f), 1); el.remove(); } })]);
  list.push(f);
  return el;
}

function opt(el) { const v = el.value.trim(); return v ? v : undefined; }

function toJpeg(file) {
  return createImageBitmap(file).then(function (img) {
    const k = Math.min(1, PHOTO_SIDE_PX / Math.max(img.width, img.height));
    const c = document.createElement('canvas');
    c.width = Math.round(img.width * k);
    c.height = Math.round(img.height * k);
    c.getContext('2d').drawImage(img, 0, 0, c.width, c.height);
    return new Promise(function (resolve) { c.toBlob(resolve, 'image/jpeg', PHOTO_QUALITY); });
  });
}

/** Collects the form; an error object for the first missing field, else the report. */
export function collect(f) {
  const missing = function (field) { return { status: 422, code: 'invalid_field', field: field, key: 'report.required' }; };
  if (!f.established.value.trim()) return { error: missing('report.established') };
  if (!f.measures.value.trim()) return { error: missing('report.measures') };
  if (!f.outcome.value) return { error: missing('report.outcome') };
  for (let i = 0; i < f.vehicles.length; i++) if (!f.vehicles[i].plate.value.trim()) return { error: missing('report.vehicles') };
  const report = {
    established: f.established.value.trim(), measures: f.measures.value.trim(), outcome: f.outcome.value, photos: f.photos.slice(),
    persons: f.persons.map(function (p) {
      const y = p.birth_year.value.trim();
      return { role: p.role.value, surname: opt(p.surname), name: opt(p.name), birth_year: y ? Number(y) : undefined, iin: opt(p.iin), note: opt(p.note) };
    }),
    vehicles: f.vehicles.map(function (v) { return { plate: v.plate.value.trim(), make: opt(v.make), color: opt(v.color), note: opt(v.note) }; })
  };
  if (JSON.stringify(report).length > REPORT_BYTES_MAX) return { error: { status: 413, code: 'report_too_large' } };
  return { report: report };
}

export function renderReport(box, cardId, saved) {
  clear(box);
  const f = { established: h('textarea', { rows: 4, tid: 'report-established', class: 'big-input' }),
    measures: h('textarea', { rows: 4, tid: 'report-measures', class: 'big-input' }),
    outcome: h('select', { tid: 'report-outcome' }, [h('option', { value: '', i18n: 'report.choose_outcome' })].concat(OUTCOMES.map(function (o) { return h('option', { value: o, i18n: 'outcome.' + o }); }))),
    persons: [], vehicles: [], photos: [] };
  const persons = h('div', { tid: 'report-persons' });
  const vehicles = h('div', { tid: 'report-vehicles' });
  const photoList = h('div', { class: 'photos', tid: 'report-photos' });
  const err = h('div', { class: 'error', tid: 'report-error', style: 'display:none' });
  const file = h('input', { type: 'file', accept: 'image/*', capture: 'environment', tid: 'report-photo-input', onchange: function () {
    const chosen = file.files && file.files[0];
    if (!chosen) return;
    toJpeg(chosen).then(function (blob) { return fapi('POST', '/photos', blob); }).then(function (r) {
      f.photos.push(r.sha256);
      photoList.appendChild(h('img', { src: '/field/v1/photos/' + r.sha256, class: 'thumb', alt: '' }));
      toast({ key: 'report.photo_added' });
    }, function (e) { showError(err, e); });
    file.value = '';
  } });
  function submit(ev) {
    ev.preventDefault();
    const c = collect(f);
    if (c.error) { showError(err, c.error); return; }
    showError(err, null);
    fapi('POST', '/report', { card_id: cardId, report: c.report }).then(function () {
      clear(box);
      toast({ key: 'report.saved' });
      saved();
    }, function (e) { showError(err, e); });
  }
  box.appendChild(h('form', { class: 'report', tid: 'report-form', onsubmit: submit }, [
    h('h2', { i18n: 'report.title' }),
    labeled('report.established', f.established), labeled('report.measures', f.measures),
    h('h3', { i18n: 'report.persons' }), persons,
    h('button', { type: 'button', class: 'btn', tid: 'report-add-person', i18n: 'report.add_person', onclick: function () { persons.appendChild(personRow(f.persons)); applyLang(persons); } }),
    h('h3', { i18n: 'report.vehicles' }), vehicles,
    h('button', { type: 'button', class: 'btn', tid: 'report-add-vehicle', i18n: 'report.add_vehicle', onclick: function () { vehicles.appendChild(vehicleRow(f.vehicles)); applyLang(vehicles); } }),
    labeled('report.outcome', f.outcome),
    h('h3', { i18n: 'report.photos' }), photoList, file,
    err,
    h('div', { class: 'row' }, [
      h('button', { type: 'submit', class: 'btn btn-primary big-btn', tid: 'report-submit', i18n: 'report.submit' }),
      h('button', { type: 'button', class: 'btn big-btn', tid: 'report-cancel', i18n: 'report.cancel', onclick: function () { clear(box); } })])
  ]));
  applyLang(box);
  box.scrollIntoView();
}
