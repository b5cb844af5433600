/* Keyboard shortcuts of the console. A view binds a chord (modifiers and KeyboardEvent.code, so
   the same physical key works in the Russian and Kazakh layouts) to an action for its tab; only
   the shown tab's bindings fire. Buttons show their chord in a <kbd> (translate="no": key caps
   are printed, not words) and in their tooltip. */
import { h } from '../kit/dom.js';

const K = { active: null, byTab: {} };

/* The chord as people read it on the key caps: "Alt+N", "Ctrl+Enter". */
export function chordText(chord) {
  return chord.split('+').map(function (p) {
    if (p.indexOf('Key') === 0) return p.slice(3);
    if (p.indexOf('Digit') === 0) return p.slice(5);
    return p;
  }).join('+');
}

/** Binds `chord` (e.g. 'Alt+KeyN', 'Ctrl+Enter') to `fn(event)` while tab `tab` is shown. */
export function bindKey(tab, chord, fn) {
  (K.byTab[tab] = K.byTab[tab] || {})[chord] = fn;
}
export function setActiveTab(tab) { K.active = tab; }
export function clearKeys() { K.byTab = {}; K.active = null; }

/** A <kbd> showing the chord, for a button or a hint line. */
export function kbd(chord) {
  return h('kbd', { class: 'kbd', translate: 'no', 'data-chord': chord, text: chordText(chord) });
}
/** Puts the chord on a button: a <kbd> after its label and the data-chord attribute. */
export function withKey(btn, chord) {
  // A label from the dictionary moves into a span: a language switch rewrites only the span.
  const key = btn.getAttribute('data-i18n');
  if (key) {
    btn.removeAttribute('data-i18n');
    btn.textContent = '';
    btn.appendChild(h('span', { i18n: key }));
  }
  btn.setAttribute('data-chord', chord);
  btn.setAttribute('aria-keyshortcuts', chordText(chord));
  btn.appendChild(kbd(chord));
  return btn;
}

function chordOf(ev) {
  const mods = [];
  if (ev.ctrlKey || ev.metaKey) mods.push('Ctrl');
  if (ev.altKey) mods.push('Alt');
  if (ev.shiftKey) mods.push('Shift');
  const code = ev.code === 'NumpadEnter' ? 'Enter' : ev.code;
  return mods.concat([code]).join('+');
}

document.addEventListener('keydown', function (ev) {
  if (!K.active || ev.repeat) return;
  const map = K.byTab[K.active];
  const fn = map && map[chordOf(ev)];
  if (!fn) return;
  ev.preventDefault();
  ev.stopPropagation();
  fn(ev);
});

/** Clicks the enabled button carrying `chord` under root (the action a shortcut names). */
export function clickChord(root, chord) {
  const btn = root.querySelector('button[data-chord="' + chord + '"]:not([disabled])');
  if (btn) { btn.focus(); btn.click(); }
  return !!btn;
}
