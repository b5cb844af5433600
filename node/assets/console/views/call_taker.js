/* The 102 operator (call taker): the call panel and the card form. */
import { onReconnect, summaryOf, upsertCard } from '../data.js';
import { bindKey, withKey } from '../keys.js';
import { S, codes, refItem, refOptions, saveMine, statusBadge, toast } from '../state.js';
import { CallsBox } from './calls.js';
import { CardDetail } from './card_detail.js';
import { cardTable } from './cards.js';
import { MiniMap, districtAt } from './map.js';
import { DuplicateSuggestions } from './premise.js';
import { api, showError } from '../../kit/api.js';
import { clear, h } from '../../kit/dom.js';
import { lang, t } from '../../kit/i18n.js';
import { session } from '../../kit/session.js';

export function CallTakerView(panel) {
  var current = null;
  var f = {};
  function inp(key, attrs) { f[key] = h('input', Object.assign({ type: 'text', id: 'ct-' + key, tid: 'ct-' + key }, attrs || {})); return f[key]; }
  function fld(labelKey, input, cls) {
    return h('div', { class: 'fld ' + (cls || '') }, [h('label', { for: input.id, i18n: labelKey }), input]);
  }
  f.channel = h('select', { id: 'ct-channel', tid: 'ct-channel' }, refOptions('channels'));
  f.language = h('select', { id: 'ct-caller-lang', tid: 'ct-caller-lang' }, [
    h('option', { value: '', i18n: 'not_selected' }), h('option', { value: 'kk', i18n: 'lang.kk' }), h('option', { value: 'ru', i18n: 'lang.ru' })]);
  f.category = h('select', { id: 'ct-category', tid: 'ct-category' }, [h('option', { value: '', i18n: 'not_selected' })].concat(
    ((S.ref && S.ref.categories) || []).slice().sort(function (a, b) { return (a.priority || 9) - (b.priority || 9); }).map(function (c) {
      var o = h('option', { value: c.code, ref: c });
      o.setAttribute('data-kk', 'P' + (c.priority || '?') + ' · ' + (c.name_kk || c.name_ru || c.code));
      o.setAttribute('data-ru', 'P' + (c.priority || '?') + ' · ' + (c.name_ru || c.name_kk || c.code));
      o.textContent = o.getAttribute('data-' + lang());
      return o;
    })));
  f.priority = h('select', { id: 'ct-priority', tid: 'ct-priority' }, [h('option', { value: '', i18n: 'card.priority.auto' })].concat(
    [1, 2, 3, 4].map(function (p) { return h('option', { value: String(p), text: 'P' + p }); })));
  f.district = h('select', { id: 'ct-district', tid: 'ct-district' }, [h('option', { value: '', i18n: 'not_selected' })].concat(refOptions('districts')));
  f.description = h('textarea', { id: 'ct-description', tid: 'ct-description', rows: 4 });
  var err = h('div', { class: 'error', tid: 'ct-error', style: 'display:none', role: 'alert' });
  var number = h('span', { class: 'mono detail-number', tid: 'ct-number', translate: 'no' });
  var statusBox = h('span', { tid: 'ct-status', 'data-status': '' });
  var roNote = h('div', { class: 'notice', i18n: 'ct.readonly', style: 'display:none' });
  var saveBtn = withKey(h('button', { type: 'button', class: 'btn', tid: 'ct-save', i18n: 'ct.save' }), 'Alt+KeyS');
  var sendBtn = withKey(h('button', { type: 'button', class: 'btn btn-primary', tid: 'ct-send', i18n: 'ct.send' }), 'Ctrl+Enter');
  var newBtn = withKey(h('button', { type: 'button', class: 'btn btn-ghost', tid: 'ct-new', i18n: 'ct.form.new' }), 'Alt+KeyN');
  // What could not reach the node (no connection): kept in the form and resent when it answers.
  var pendingBox = h('div', { class: 'notice notice-offline', tid: 'ct-pending', role: 'status', style: 'display:none' }, [
    h('b', { i18n: 'conn.lost' }), ' ', h('span', { i18n: 'ct.pending' })]);

  var form = h('form', { class: 'ct-form box', tid: 'ct-form', autocomplete: 'off' }, [
    h('div', { class: 'detail-head' }, [h('span', { class: 'section-title', i18n: 'ct.form.title' }), number, statusBox, h('span', { class: 'spacer' }), newBtn]),
    roNote,
    h('div', { class: 'form-grid' }, [
      fld('card.channel', f.channel, 'w2'),
      fld('card.caller_name', inp('caller-name', { autocomplete: 'off' }), 'w2'),
      fld('card.caller_phone', inp('caller-phone', { type: 'tel' })),
      fld('card.caller_lang', f.language),
      h('div', { class: 'fieldset-title w4', i18n: 'card.location' }),
      fld('card.lat', inp('lat', { inputmode: 'decimal' })),
      fld('card.lon', inp('lon', { inputmode: 'decimal' })),
      fld('card.accuracy', inp('accuracy', { inputmode: 'numeric' })),
      fld('card.district', f.district),
      fld('card.address', inp('address'), 'w4'),
      fld('card.description', f.description, 'w4'),
      h('div', { class: 'fieldset-title w4', i18n: 'card.seen' }),
      fld('card.seen.persons', inp('seen-persons'), 'w4'),
      fld('card.seen.vehicles', inp('seen-vehicles'), 'w2'),
      fld('card.seen.buildings', inp('seen-buildings'), 'w2'),
      fld('card.category', f.category, 'w3'),
      fld('card.priority', f.priority)
    ]),
    err,
    pendingBox,
    h('div', { class: 'form-actions' }, [saveBtn, sendBtn])
  ]);
  form.addEventListener('submit', function (ev) { ev.preventDefault(); });

  var listBox = h('div');
  var detail = CardDetail({ hint: 'card.select_hint.mine' });
  var map = MiniMap('ct-map', 190);
  var calls = CallsBox(function (card) { remember(card); fill(card); });
  var dups = DuplicateSuggestions(linkDuplicate);
  panel.appendChild(h('div', { class: 'layout-2' }, [
    h('div', { class: 'col col-form' }, [calls.el, form]),
    // Possible duplicates first in the side column: seen while the form is filled, above the fold.
    h('div', { class: 'col col-side' }, [dups.el,
      h('div', { class: 'col-head' }, [h('span', { i18n: 'map.title' })]), map.el,
      h('div', { class: 'col-head' }, [h('span', { i18n: 'ct.mine' })]), listBox, detail.el])
  ]));
  var districtTouched = false;
  f.district.addEventListener('change', function () { districtTouched = !!f.district.value; updateMap(); });
  function updateMap() {
    var lat = Number(val('lat').replace(',', '.')), lon = Number(val('lon').replace(',', '.'));
    var ok = val('lat') !== '' && val('lon') !== '' && isFinite(lat) && isFinite(lon);
    if (ok && !districtTouched && !f.district.disabled) {
      var d = districtAt(lat, lon);
      if (d) f.district.value = d;
    }
    map.set(ok ? lat : null, ok ? lon : null, Number(val('accuracy')) || 0, f.district.value);
  }
  ['lat', 'lon', 'accuracy'].forEach(function (k) { f[k].addEventListener('input', updateMap); });

  function val(k) { return (f[k].value || '').trim(); }
  function num(k) {
    var v = val(k).replace(',', '.');
    if (!v) return null;
    var n = Number(v);
    if (!isFinite(n)) { var e = new Error(t('ct.err.number')); e.field = t(fieldKey(k)); throw e; }
    return n;
  }
  function fieldKey(k) { return { lat: 'card.lat', lon: 'card.lon', accuracy: 'card.accuracy' }[k] || k; }
  function collect(forCreate) {
    var b = {};
    if (forCreate) b.channel = f.channel.value;
    var caller = {};
    if (val('caller-name')) caller.name = val('caller-name');
    if (val('caller-phone')) caller.phone = val('caller-phone');
    if (f.language.value) caller.language = f.language.value;
    if (Object.keys(caller).length) b.caller = caller;
    var lat = num('lat'), lon = num('lon'), acc = num('accuracy');
    if ((lat == null) !== (lon == null)) { var e = new Error(t('ct.err.coords')); throw e; }
    if (lat != null || val('address')) {
      var loc = {};
      if (lat != null) { loc.lat = lat; loc.lon = lon; }
      if (acc != null) loc.accuracy_m = acc;
      if (val('address')) loc.address = val('address');
      b.location = loc;
    }
    if (val('description')) b.description = val('description');
    var seen = {};
    if (val('seen-persons')) seen.persons = val('seen-persons');
    if (val('seen-vehicles')) seen.vehicles = val('seen-vehicles');
    if (val('seen-buildings')) seen.buildings = val('seen-buildings');
    if (Object.keys(seen).length) b.seen = seen;
    if (f.category.value) b.category = f.category.value;
    if (f.priority.value) b.priority = Number(f.priority.value);
    if (f.district.value) b.district = f.district.value;
    return b;
  }
  var dirty = false;
  form.addEventListener('input', function () { dirty = true; });
  form.addEventListener('change', function () { dirty = true; });

  function setEditable(on) {
    Object.keys(f).forEach(function (k) { f[k].disabled = !on; });
    if (current) f.channel.disabled = true;
    saveBtn.disabled = !on;
    sendBtn.disabled = !on;
    roNote.style.display = on ? 'none' : '';
  }
  function showCurrent() {
    number.textContent = current ? current.number : '';
    clear(statusBox);
    statusBox.setAttribute('data-status', current ? current.status : '');
    if (current) statusBox.appendChild(statusBadge(current.status));
    setEditable(!current || current.status === 'new');
    feedDups();
  }
  function fill(card) {
    current = card;
    f.channel.value = card.channel || f.channel.value;
    var c = card.caller || {}, l = card.location || {}, s = card.seen || {};
    f['caller-name'].value = c.name || '';
    f['caller-phone'].value = c.phone || '';
    f.language.value = c.language || '';
    f.lat.value = l.lat != null ? l.lat : '';
    f.lon.value = l.lon != null ? l.lon : '';
    f.accuracy.value = l.accuracy_m != null ? l.accuracy_m : '';
    f.address.value = l.address || '';
    f.description.value = card.description || '';
    f['seen-persons'].value = s.persons || '';
    f['seen-vehicles'].value = s.vehicles || '';
    f['seen-buildings'].value = s.buildings || '';
    f.category.value = card.category || '';
    f.priority.value = card.priority && refItem('categories', card.category) && refItem('categories', card.category).priority === card.priority ? '' : (card.priority ? String(card.priority) : '');
    f.district.value = card.district || '';
    districtTouched = !!card.district;
    dirty = false;
    showError(err, null);
    showCurrent();
    updateMap();
  }
  function reset() {
    current = null;
    formKey = newFormKey();
    setPending(null);
    form.reset();
    Object.keys(f).forEach(function (k) { if (f[k].tagName !== 'SELECT') f[k].value = ''; });
    var ch = codes('channels');
    f.channel.value = ch.indexOf('app102_call') >= 0 ? 'app102_call' : (ch[0] || '');
    f.language.value = '';
    f.category.value = '';
    f.priority.value = '';
    f.district.value = session.user && session.user.district ? session.user.district : '';
    districtTouched = false;
    dirty = false;
    showError(err, null);
    showCurrent();
    updateMap();
  }
  function remember(card) {
    if (S.mine.indexOf(card.id) < 0) {
      S.mine.push(card.id);
      if (S.mine.length > 200) S.mine = S.mine.slice(-200);
      saveMine();
    }
    upsertCard(summaryOf(card));
  }
  /* One key per form submission: a resend after a lost connection gets the card the first
     request created instead of a second one (Idempotency-Key). */
  var formKey = newFormKey();
  function newFormKey() {
    var b = new Uint8Array(12);
    window.crypto.getRandomValues(b);
    return 'ct-' + Array.prototype.map.call(b, function (x) { return (x < 16 ? '0' : '') + x.toString(16); }).join('');
  }
  var pending = null; // 'save' | 'send' while the node cannot be reached
  function setPending(what) {
    pending = what;
    pendingBox.style.display = what ? '' : 'none';
    pendingBox.setAttribute('data-pending', what || '');
  }
  function failed(e, what) {
    if (e && e.status === 0) { setPending(what); showError(err, null); } else showError(err, e);
  }
  function save() {
    var body;
    try { body = collect(!current); } catch (e) { showError(err, e); return Promise.reject(e); }
    showError(err, null);
    var p = current ? api('PATCH', '/cards/' + encodeURIComponent(current.id), body)
      : api('POST', '/cards', body, { 'Idempotency-Key': formKey });
    return p.then(function (card) {
      remember(card);
      fill(card);
      return card;
    }, function (e) { failed(e, 'save'); throw e; });
  }
  /* "Send": a form never saved is created and sent in one step, so a refused send (no
     category, no place) leaves no empty card behind; a saved card is updated, then sent. */
  function send() {
    if (!current) {
      var body;
      try { body = collect(true); } catch (e) { showError(err, e); return Promise.reject(e); }
      showError(err, null);
      return api('POST', '/cards?send_for_processing=true', body, { 'Idempotency-Key': formKey }).then(function (card) {
        remember(card);
        fill(card);
        return card;
      }, function (e) { failed(e, 'send'); throw e; });
    }
    var p = dirty ? save() : Promise.resolve(current);
    return p.then(function (card) {
      return api('POST', '/cards/' + encodeURIComponent(card.id) + '/send-for-processing').then(function (sent) {
        remember(sent);
        fill(sent);
        return sent;
      }, function (e) {
        // Sent before the connection broke: the card is no longer new.
        if (e && e.code === 'invalid_transition') {
          return api('GET', '/cards/' + encodeURIComponent(card.id)).then(function (c) {
            if (c.status === 'new') throw e;
            remember(c); fill(c); return c;
          });
        }
        failed(e, 'send');
        throw e;
      });
    });
  }
  function doSave() {
    if (saveBtn.disabled) return;
    saveBtn.disabled = true;
    save().then(function () { setPending(null); toast('ct.saved'); }, function () { /* shown */ }).then(function () {
      if (!current || current.status === 'new') saveBtn.disabled = false;
    });
  }
  function doSend() {
    if (sendBtn.disabled) return;
    sendBtn.disabled = true;
    send().then(function () { setPending(null); toast('ct.sent'); }, function () { /* shown */ }).then(function () {
      if (!current || current.status === 'new') sendBtn.disabled = false;
    });
  }
  saveBtn.addEventListener('click', doSave);
  sendBtn.addEventListener('click', doSend);
  onReconnect(function () {
    if (pending === 'send') doSend();
    else if (pending === 'save') doSave();
  });
  bindKey('call_taker', 'Alt+KeyN', function () { reset(); focusFirst(); });
  bindKey('call_taker', 'Alt+KeyS', doSave);
  bindKey('call_taker', 'Ctrl+Enter', doSend);
  function focusFirst() { if (!f.channel.disabled) f.channel.focus(); else f['caller-name'].focus(); }
  newBtn.addEventListener('click', function () { reset(); focusFirst(); });
  /* Duplicate suggestions (search): fed from the form; a link creates the card first if needed. */
  function feedDups() { dups.update(current && current.status !== 'new' ? {} : { address: val('address'), lat: val('lat'), lon: val('lon'), phone: val('caller-phone'), excludeId: current && current.id }); }
  form.addEventListener('input', feedDups);
  function linkDuplicate(hit) {
    return (current ? Promise.resolve(current) : save()).then(function (card) {
      return api('POST', '/cards/' + encodeURIComponent(card.id) + '/link-duplicate', { duplicate_of: hit.id });
    }).then(function (linked) { remember(linked); fill(linked); toast('search.dup.linked'); detail.show(hit.id); return true; }, function (e) { showError(err, e); return false; });
  }

  function pick(c) {
    detail.show(c.id);
    if (c.status === 'new') {
      api('GET', '/cards/' + encodeURIComponent(c.id)).then(fill, function (e) { showError(err, e); });
    }
    render();
  }
  function render() {
    var login = session.user && session.user.login;
    var mine = Object.keys(S.cards).map(function (k) { return S.cards[k]; }).filter(function (c) {
      return c.created_by === login || S.mine.indexOf(c.id) >= 0;
    }).sort(function (a, b) { return (b.created_at || 0) - (a.created_at || 0); }).slice(0, 50);
    clear(listBox).appendChild(cardTable('ct-list', mine, detail.id, pick, { noTimer: true }));
    calls.render();
  }
  reset();
  return {
    render: render,
    focus: focusFirst,
    onCard: function (s) {
      detail.onCard(s);
      if (current && s.id === current.id && s.status !== current.status) {
        current.status = s.status;
        showCurrent();
      }
    }
  };
}
