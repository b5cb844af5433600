/* Element builder and small DOM helpers. */
import { t, lang, toggleLang } from './i18n.js';
import { errorOf, renderError } from './api.js';

export function qs(sel, root) { return (root || document).querySelector(sel); }
export function qsa(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }
export function clear(el) { while (el && el.firstChild) el.removeChild(el.firstChild); return el; }

/* Special attributes: class, tid (data-testid), i18n (text from the dictionary), ph (placeholder
   from the dictionary), tip (title from the dictionary), ref (a reference object with
   name_kk/name_ru), names ({kk, ru}), text, style (through the CSSOM: the Content-Security-Policy
   forbids inline style attributes), value, checked/disabled/selected/readOnly, on<event>,
   data (a value that is not a word of the interface: a card number, login, call sign, phone,
   address, text people typed; shown as is and marked translate="no"), err (an error shown in
   the user's language, again after a language switch; see api.js). */
export function setAttrs(el, attrs) {
  if (!attrs) return;
  Object.keys(attrs).forEach(function (k) {
    const v = attrs[k];
    if (v == null || v === false) return;
    if (k === 'class') el.setAttribute('class', v);
    else if (k === 'tid') el.setAttribute('data-testid', v);
    else if (k === 'i18n') { el.setAttribute('data-i18n', v); el.textContent = t(v); }
    else if (k === 'ph') { el.setAttribute('data-i18n-ph', v); el.setAttribute('placeholder', t(v)); }
    else if (k === 'tip') { el.setAttribute('data-i18n-title', v); el.setAttribute('title', t(v)); }
    else if (k === 'ref') bilingual(el, v.name_kk || v.name_ru || v.code || '', v.name_ru || v.name_kk || v.code || '');
    else if (k === 'names') bilingual(el, v.kk || v.ru || '', v.ru || v.kk || '');
    else if (k === 'text') el.textContent = v;
    else if (k === 'data') { el.setAttribute('translate', 'no'); el.textContent = String(v); }
    else if (k === 'err') renderError(el, v);
    else if (k === 'style') el.style.cssText = v;
    else if (k === 'value') el.value = v;
    else if (k === 'checked' || k === 'disabled' || k === 'selected' || k === 'readOnly') el[k] = !!v;
    else if (k.slice(0, 2) === 'on' && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  });
}
function bilingual(el, kk, ru) {
  el.setAttribute('data-kk', kk);
  el.setAttribute('data-ru', ru);
  el.textContent = el.getAttribute('data-' + lang());
}
export function append(el, kids) {
  if (kids == null || kids === false) return el;
  if (Array.isArray(kids)) { kids.forEach(function (k) { append(el, k); }); return el; }
  el.appendChild(typeof kids === 'object' ? kids : document.createTextNode(String(kids)));
  return el;
}
export function h(tag, attrs, kids) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, kids);
  return el;
}
export const SVGNS = 'http://www.w3.org/2000/svg';
export function svg(tag, attrs, kids) {
  const el = document.createElementNS(SVGNS, tag);
  setAttrs(el, attrs);
  append(el, kids);
  return el;
}
export function tx(key, cls) { return h('span', { i18n: key, class: cls }); }
/** A data value (not a word of the interface) as a span marked translate="no". */
export function dataText(value, cls) { return h('span', { data: value == null ? '' : value, class: cls }); }

export function langButton() {
  return h('button', { type: 'button', class: 'btn btn-lang', tid: 'lang-toggle', i18n: 'lang.switch', tip: 'lang.switch.tip', onclick: toggleLang });
}

let toastTimer = null;
/** A short message in the #toast box: a dictionary key ({key}), an error (from api(); a text
    errText just made from one counts as that error), or a text. Keys and errors follow a
    language switch. */
export function toast(msg, kind, ms) {
  const el = qs('#toast');
  if (!el) return;
  el.className = 'toast show ' + (kind || 'ok');
  const e = msg instanceof Error ? msg : (typeof msg === 'string' ? errorOf(msg) : null);
  el.__err = null;
  el.removeAttribute('data-err');
  el.removeAttribute('data-detail');
  if (msg && msg.key) { el.setAttribute('data-i18n', msg.key); el.textContent = t(msg.key); }
  else if (e) { el.removeAttribute('data-i18n'); renderError(el, e); }
  else { el.removeAttribute('data-i18n'); el.textContent = msg; }
  if (toastTimer) clearTimeout(toastTimer);
  toastTimer = setTimeout(function () { el.className = 'toast'; }, ms || 3500);
}

export function pad(n) { return n < 10 ? '0' + n : String(n); }
export function fmtTime(ms) {
  if (!ms) return '';
  const d = new Date(ms);
  return pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
}
export function fmtDateTime(ms, seconds) {
  if (!ms) return '';
  const d = new Date(ms);
  return pad(d.getDate()) + '.' + pad(d.getMonth() + 1) + '.' + d.getFullYear() + ' ' +
    pad(d.getHours()) + ':' + pad(d.getMinutes()) + (seconds ? ':' + pad(d.getSeconds()) : '');
}
