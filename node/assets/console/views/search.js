/* Search (Поиск / Іздеу): open and closed cards by number, phone, address (matched as the
   address warnings match, R08), date and unit; a click shows the card. The boxes a card shows
   (premise history, linked duplicates) and the call taker's duplicate suggestions are in
   premise.js, re-exported here. */
import { S } from '../state.js';
import { CardDetail } from './card_detail.js';
import { hitTable } from './premise.js';
import { api, showError } from '../../kit/api.js';
import { clear, h } from '../../kit/dom.js';
import { applyLang } from '../../kit/i18n.js';

export { premiseHistoryBox, linkedDuplicatesBox, DuplicateSuggestions } from './premise.js';

export function SearchView(panel) {
  var f = {};
  function inp(key, attrs) {
    f[key] = h('input', Object.assign({ type: 'text', id: 'search-' + key, tid: 'search-' + key }, attrs || {}));
    return f[key];
  }
  function fld(labelKey, input, cls) {
    return h('div', { class: 'fld ' + (cls || '') }, [h('label', { for: input.id, i18n: labelKey }), input]);
  }
  f.unit = h('select', { id: 'search-unit', tid: 'search-unit' });
  f.state = h('select', { id: 'search-state', tid: 'search-state' }, [
    h('option', { value: 'all', i18n: 'search.state.all' }),
    h('option', { value: 'open', i18n: 'search.state.open' }),
    h('option', { value: 'closed', i18n: 'search.state.closed' })]);
  var submit = h('button', { type: 'submit', class: 'btn btn-primary', tid: 'search-submit', i18n: 'search.submit' });
  var clearBtn = h('button', { type: 'button', class: 'btn btn-ghost', tid: 'search-clear', i18n: 'search.clear' });
  var err = h('div', { class: 'error', tid: 'search-error', style: 'display:none', role: 'alert' });
  var form = h('form', { class: 'box search-form', tid: 'search-form', autocomplete: 'off' }, [
    h('div', { class: 'section-title', i18n: 'search.title' }),
    h('div', { class: 'form-grid' }, [
      fld('search.number', inp('number', { ph: 'search.number.ph' })),
      fld('card.caller_phone', inp('phone', { type: 'tel', ph: 'search.phone.ph' })),
      fld('card.address', inp('address', { ph: 'search.address.ph' }), 'w2'),
      fld('search.from', inp('from', { type: 'date' })),
      fld('search.to', inp('to', { type: 'date' })),
      fld('search.unit', f.unit),
      fld('search.state', f.state)
    ]),
    err,
    h('div', { class: 'form-actions' }, [clearBtn, submit])
  ]);
  var summary = h('div', { class: 'small muted', tid: 'search-summary' });
  var results = h('div', { tid: 'search-results-box' });
  var detail = CardDetail();
  panel.appendChild(h('div', { class: 'layout-2' }, [
    h('div', { class: 'col' }, [form, summary, results]),
    h('div', { class: 'col col-side' }, [detail.el])
  ]));

  function unitOptions() {
    var keep = f.unit.value;
    clear(f.unit).appendChild(h('option', { value: '', i18n: 'search.unit.any' }));
    Object.keys(S.units).map(function (k) { return S.units[k]; })
      .sort(function (a, b) { return (a.call_sign || '').localeCompare(b.call_sign || ''); })
      .forEach(function (u) { f.unit.appendChild(h('option', { value: u.id, text: u.call_sign })); });
    f.unit.value = keep;
    if (f.unit.value !== keep) f.unit.value = '';
    applyLang(f.unit);
  }

  var seq = 0;
  function run() {
    var params = [];
    ['number', 'phone', 'address', 'from', 'to'].forEach(function (k) {
      var v = (f[k].value || '').trim();
      if (v) params.push(k + '=' + encodeURIComponent(v));
    });
    if (f.unit.value) params.push('unit=' + encodeURIComponent(f.unit.value));
    params.push('state=' + f.state.value);
    showError(err, null);
    submit.disabled = true;
    var my = ++seq;
    return api('GET', '/cards/search?' + params.join('&')).then(function (res) {
      if (my !== seq) return;
      submit.disabled = false;
      var hits = (res && res.cards) || [];
      clear(summary).appendChild(h('span', null, [h('span', { i18n: 'search.found' }), ': ', h('b', { tid: 'search-count', text: String(hits.length) })]));
      if (res && res.more) summary.appendChild(h('span', { class: 'notice', tid: 'search-more', i18n: 'search.more' }));
      clear(results).appendChild(hitTable('search-results', hits, function (x) { detail.show(x.id); }));
      applyLang(summary);
      applyLang(results);
    }, function (e) {
      if (my !== seq) return;
      submit.disabled = false;
      showError(err, e);
    });
  }
  form.addEventListener('submit', function (ev) { ev.preventDefault(); run(); });
  clearBtn.addEventListener('click', function () {
    form.reset();
    f.state.value = 'all';
    clear(summary);
    clear(results);
    showError(err, null);
  });
  unitOptions();
  return {
    render: function () { if (f.unit.options.length <= 1 && Object.keys(S.units).length) unitOptions(); },
    onReload: unitOptions,
    onShow: unitOptions,
    onCard: function (s) { detail.onCard(s); }
  };
}
