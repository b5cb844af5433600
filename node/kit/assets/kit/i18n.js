/* Texts in Kazakh and Russian. The kit's own dictionary (texts.js: login, password, errors and the
   words both applications share) sits under the application's, which may override a key. A missing
   key falls back to Russian, then to the key itself. The server sends codes; only these
   dictionaries turn them into text. */
import KIT from './texts.js';
import { lsGet, lsSet } from './storage.js';

const own = Object.prototype.hasOwnProperty;

export const I18N = { app: { ru: {}, kk: {} }, langKey: null, lang: 'ru', hooks: [] };

/** Installs the application's dictionaries and reads the saved language (kk or ru, else ru). */
export function setupI18n(appDicts, langKey) {
  I18N.app = appDicts;
  I18N.langKey = langKey;
  const l = lsGet(langKey);
  I18N.lang = l === 'kk' || l === 'ru' ? l : 'ru';
}
export function lang() { return I18N.lang; }

function lookup(lg, k) {
  const a = I18N.app[lg];
  if (a && own.call(a, k)) return { v: a[k] };
  if (own.call(KIT[lg], k)) return { v: KIT[lg][k] };
  return null;
}
/** Whether the dictionaries know the key (in Russian, the complete one). */
export function known(k) { return lookup('ru', k) !== null; }
export function t(k) {
  const hit = lookup(I18N.lang, k) || lookup('ru', k);
  return hit ? hit.v : k;
}

/** Runs `fn(root)` after every applyLang (timers, map labels, charts drawn with texts). */
export function onLangApplied(fn) { I18N.hooks.push(fn); }

/** Re-renders every text under root in the current language. */
export function applyLang(root) {
  root = root || document;
  document.documentElement.setAttribute('lang', I18N.lang);
  const each = (sel, fn) => Array.prototype.forEach.call(root.querySelectorAll(sel), fn);
  each('[data-i18n]', (el) => { el.textContent = t(el.getAttribute('data-i18n')); });
  each('[data-i18n-ph]', (el) => { el.setAttribute('placeholder', t(el.getAttribute('data-i18n-ph'))); });
  each('[data-i18n-title]', (el) => { el.setAttribute('title', t(el.getAttribute('data-i18n-title'))); });
  each('[data-kk]', (el) => { el.textContent = el.getAttribute('data-' + I18N.lang); });
  document.title = t('app.title');
  I18N.hooks.forEach((fn) => fn(root));
}

const toggled = [];
/** Runs `fn()` after the user switched the language. */
export function onLangToggled(fn) { toggled.push(fn); }
export function toggleLang() {
  I18N.lang = I18N.lang === 'ru' ? 'kk' : 'ru';
  lsSet(I18N.langKey, I18N.lang);
  applyLang(document);
  toggled.forEach((fn) => fn());
}
