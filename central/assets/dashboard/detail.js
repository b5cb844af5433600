/* One card of any region in a side drawer, with the HQ note form (hq_duty). */
import { S, codeLabel, local, priBadge, refItem, refLabel, regionLabel, statusBadge, toast } from './state.js';
import { api, showError } from '../kit/api.js';
import { clear, dataText, fmtTime, h, qs, tx } from '../kit/dom.js';
import { timelineTable } from '../kit/timeline.js';
import { fmtDateTime } from './state.js';
import { lang, onLangToggled, t } from '../kit/i18n.js';
import { hasRole } from '../kit/session.js';

export function openCard(region, id) {
  if (!region || !id) return;
  S.detail = { region: region, id: id, card: null, seq: 0 };
  var dr = qs('#drawer');
  dr.hidden = false;
  qs('#drawer-back').hidden = false;
  dr.setAttribute('data-region', region);
  dr.setAttribute('data-id', id);
  clear(dr).appendChild(h('div', { class: 'drawer-body' }, [detailCloseBtn(), h('div', { class: 'empty-state', i18n: 'loading' })]));
  reloadDetail();
}
export function closeDetail() {
  S.detail = null;
  var dr = qs('#drawer');
  if (dr) { dr.hidden = true; clear(dr); }
  var back = qs('#drawer-back');
  if (back) back.hidden = true;
}
document.addEventListener('keydown', function (ev) { if (ev.key === 'Escape' && S.detail) closeDetail(); });
export function detailCloseBtn() {
  return h('button', { type: 'button', class: 'btn btn-sm drawer-close', tid: 'detail-close', i18n: 'close', onclick: closeDetail });
}
/* The region's reference data, fetched once per region (names of categories, districts and duty
   units as that region defines them); a failure leaves codes shown. */
export function loadReference(region) {
  if (S.references[region]) return Promise.resolve(S.references[region]);
  return api('GET', '/regions/' + encodeURIComponent(region) + '/reference').then(function (r) {
    if (r && r.received) S.references[region] = r;
    return r;
  }).catch(function () { return null; });
}
onLangToggled(function () { if (S.detail && S.detail.card) renderDetail(); });
export function cardPath(d) { return '/cards/' + encodeURIComponent(d.region) + '/' + encodeURIComponent(d.id); }
export function reloadDetail() {
  var d = S.detail;
  if (!d) return Promise.resolve();
  var my = ++d.seq;
  return Promise.all([api('GET', cardPath(d)), loadReference(d.region)]).then(function (got) {
    if (S.detail !== d || my !== d.seq) return;
    d.card = got[0];
    renderDetail();
  }).catch(function (e) {
    if (S.detail !== d || my !== d.seq || d.card) return;
    var dr = qs('#drawer');
    clear(dr).appendChild(h('div', { class: 'drawer-body' }, [detailCloseBtn(), h('div', { class: 'error', tid: 'detail-error', err: e })]));
  });
}
export function kv(key, value, tid) {
  if (value == null || value === '' || (Array.isArray(value) && !value.length)) return null;
  // A plain string is data (a number, an address, a name, text people typed), never a UI word.
  var v = typeof value === 'string' ? { class: 'v', tid: tid, data: value } : { class: 'v', tid: tid };
  return h('div', { class: 'kv' }, [h('span', { class: 'k', i18n: key }), h('span', v, typeof value === 'string' ? null : value)]);
}
export function renderDetail() {
  var d = S.detail, c = d && d.card;
  var dr = qs('#drawer');
  if (!c || !dr) return;
  // Keep what the officer is typing across re-renders.
  var oldText = qs('[data-testid="note-text"]', dr);
  var draft = oldText ? oldText.value : '';
  var region = c.region || d.region;
  var loc = c.location || null;
  var caller = c.caller || {};
  var seen = c.seen || {};
  var callerText = [caller.name, caller.phone, caller.language ? t('lang.' + caller.language) : null].filter(Boolean).join(', ');
  var seenText = [seen.persons, seen.vehicles, seen.buildings].filter(Boolean).join('; ');
  var kui = c.kui ? [c.kui.number || '', c.kui.deadline_at ? ' (' + t('card.kui_deadline') + ' ' + fmtDateTime(local(c.kui.deadline_at)) + ')' : ''].join('') : null;

  var units = (c.units || []);
  var unitTable = units.length ? h('table', { class: 'grid units', tid: 'detail-units' }, [
    h('thead', null, h('tr', null, [h('th', { i18n: 'unit.call_sign' }), h('th', { i18n: 'unit.assigned' }), h('th', { i18n: 'unit.en_route' }),
      h('th', { i18n: 'unit.on_scene' }), h('th', { i18n: 'unit.cleared' })])),
    h('tbody', null, units.map(function (u) {
      return h('tr', { 'data-unit-id': u.unit_id }, [
        h('td', { class: 'b', data: u.call_sign || u.unit_id }),
        h('td', { class: 'mono small' }, fmtTime(local(u.assigned_at))),
        h('td', { class: 'mono small' }, u.en_route_at ? fmtTime(local(u.en_route_at)) : '—'),
        h('td', { class: 'mono small' }, u.on_scene_at ? fmtTime(local(u.on_scene_at)) : '—'),
        h('td', { class: 'mono small' }, u.cleared_at ? fmtTime(local(u.cleared_at)) : '—')
      ]);
    }))
  ]) : null;

  var tl = c.timeline || [];
  var timeline = timelineTable(tl, {
    at: function (ms) { return fmtDateTime(local(ms)); },
    by: function (ev) { return ev.kind === 'hq_note' ? [tx('tl.by_hq'), ': ', dataText(ev.by || '')] : dataText(ev.by || ''); },
    ref: function (list, code) { return refItem(region, list, code); }
  });

  var noteErr = h('div', { class: 'error', tid: 'note-error', style: 'display:none', role: 'alert' });
  var noteText = h('textarea', { rows: 3, tid: 'note-text', id: 'note-text', ph: 'note.placeholder', maxlength: 2000 });
  noteText.value = draft;
  var noteBtn = h('button', { type: 'submit', class: 'btn btn-primary', tid: 'note-submit', i18n: 'note.submit' });
  var form = h('form', { class: 'note-form', tid: 'note-form' }, [
    h('label', { for: 'note-text', class: 'section-title', i18n: 'note.title' }), noteText, noteErr,
    h('div', { class: 'form-actions' }, noteBtn)
  ]);
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var text = noteText.value.trim();
    if (!text) { showError(noteErr, t('note.empty')); return; }
    showError(noteErr, null);
    noteBtn.disabled = true;
    api('POST', cardPath(d) + '/notes', { text: text }).then(function (card) {
      noteBtn.disabled = false;
      if (S.detail !== d) return;
      noteText.value = '';
      if (card && card.id && card.timeline) {
        d.seq++; // an older reload must not overwrite this answer
        d.card = card;
        renderDetail();
      } else {
        reloadDetail();
      }
      toast(t('note.sent'), 'ok');
    }).catch(function (e) {
      noteBtn.disabled = false;
      showError(noteErr, e);
    });
  });

  if (!hasRole('hq_duty')) form = h('p', { class: 'muted small', tid: 'note-readonly', i18n: 'note.readonly' });
  var body = h('div', { class: 'drawer-body' }, [
    h('div', { class: 'detail-head' }, [
      h('span', { class: 'detail-number mono', tid: 'detail-number', data: c.number || c.id }),
      statusBadge(c.status, 'detail-status'),
      priBadge(c.priority),
      h('span', { class: 'spacer' }),
      detailCloseBtn()
    ]),
    h('div', { class: 'detail-cat b', tid: 'detail-category' }, refLabel(region, 'categories', 'category', c.category, lang())),
    h('div', { class: 'detail-grid' }, [
      kv('card.region', regionLabel(region, true), 'detail-region'),
      kv('card.channel', codeLabel('channel', c.channel)),
      kv('card.district', c.district ? refLabel(region, 'districts', 'district', c.district, lang()) : null, 'detail-district'),
      kv('card.address', loc && loc.address, 'detail-address'),
      kv('card.location', loc && typeof loc.lat === 'number' ? loc.lat.toFixed(6) + ', ' + loc.lon.toFixed(6) + (loc.accuracy_m ? ' ±' + Math.round(loc.accuracy_m) + ' м' : '') : null),
      kv('card.caller', callerText),
      kv('card.created', fmtDateTime(local(c.created_at))),
      kv('card.created_by', c.created_by),
      kv('card.sent', c.sent_for_processing_at ? fmtDateTime(local(c.sent_for_processing_at)) : null),
      kv('card.updated', fmtDateTime(local(c.updated_at))),
      kv('card.forwarded_to', c.forwarded_to ? refLabel(region, 'duty_units', 'duty_unit', c.forwarded_to, lang()) : null),
      kv('card.kui', kui),
      kv('card.duplicate_of', c.duplicate_of)
    ]),
    c.description ? h('div', { class: 'desc' }, [h('div', { class: 'section-title', i18n: 'card.description' }), h('div', { class: 'pre', tid: 'detail-description', data: c.description })]) : null,
    seenText ? kv('card.seen', seenText) : null,
    c.patrol_report ? kv('card.patrol_report', c.patrol_report) : null,
    c.close_reason ? kv('card.close_reason', c.close_reason) : null,
    c.cancel_reason ? kv('card.cancel_reason', c.cancel_reason) : null,
    unitTable ? h('div', { class: 'section-title', i18n: 'card.units' }) : null,
    unitTable,
    h('div', { class: 'section-title', i18n: 'card.timeline' }),
    timeline,
    form
  ]);
  dr.setAttribute('data-status', c.status || '');
  var hadFocus = document.activeElement === oldText;
  clear(dr).appendChild(body);
  if (hadFocus) noteText.focus();
}

