/* Sound and browser notifications for events that need a person, also while the tab is in the
   background. One <audio> element in the page plays the server's synthesised sounds
   (/kit/{code}.wav): a looping sound (a ringing call, SOS) goes on until stopped, a short one
   (a chime, a beep) plays over it and the loop resumes. Sound and notifications are each on or
   off per login (local storage, on by default). Notification permission is asked once, on a
   user gesture, and a refusal is shown in the toggle, not asked again. The application says
   which events alert (its own module calls loop, chime, notify, unnotify) and names the texts. */
import { h, qs } from './dom.js';
import { t } from './i18n.js';
import { lsGet, lsSet } from './storage.js';

/** Sound codes, each a file /kit/{code}.wav; the loops repeat until stopped. */
export const SOUND = { ring: 'ring', sos: 'sos', queue: 'queue', overdue: 'overdue' };
const LOOPS = [SOUND.sos, SOUND.ring]; // the first wins when both want to play
const LS_SOUND = 'alerts_sound';
const LS_NOTIFY = 'alerts_notify';
const LS_ASKED = 'alerts_asked';

const A = {
  user: '',          // the login whose choices apply
  audio: null,       // the page's <audio>
  loops: {},         // loop code -> true while wanted
  shot: null,        // the short sound playing now
  notes: {},         // tag -> Notification still shown
  toggles: []        // render functions of the header toggles
};

function key(k) { return k + ':' + A.user; }
export function soundOn() { return lsGet(key(LS_SOUND)) !== '0'; }
export function notifyOn() { return lsGet(key(LS_NOTIFY)) !== '0'; }
/** 'granted', 'denied', 'default', or 'unsupported' (no Notification API). */
export function permission() {
  return typeof window.Notification === 'function' ? window.Notification.permission : 'unsupported';
}

function audioEl() {
  if (A.audio && A.audio.isConnected) return A.audio;
  let el = qs('[data-testid="alert-audio"]');
  if (!el) {
    el = h('audio', { tid: 'alert-audio', preload: 'auto', 'data-sound': '' });
    document.body.appendChild(el);
  }
  if (!el.getAttribute('data-bound')) {
    el.setAttribute('data-bound', '1');
    // After a short sound the loop (if any) resumes; a file that fails counts as played.
    const over = function () { if (A.shot) { A.shot = null; sync(); } };
    el.addEventListener('ended', over);
    el.addEventListener('error', over);
  }
  A.audio = el;
  return el;
}
function url(code) { return new URL('./' + code + '.wav', import.meta.url).href; }

/* Makes the element play what should play now: the short sound if one is on, else the winning
   loop, else nothing. */
function sync() {
  const el = audioEl();
  const loop = LOOPS.filter(function (c) { return A.loops[c]; })[0] || null;
  const want = soundOn() ? (A.shot || loop) : null;
  const now = el.getAttribute('data-sound') || null;
  if (want === now && (!want || !el.paused)) return;
  if (!want) {
    el.pause();
    el.setAttribute('data-sound', '');
    return;
  }
  el.setAttribute('data-sound', want);
  el.loop = want !== A.shot;
  if (want !== now) el.src = url(want);
  el.currentTime = 0;
  const p = el.play();
  // Refused before the page had a gesture (a reload): the notification still tells.
  if (p && p.catch) {
    p.then(function () { el.removeAttribute('data-blocked'); }, function (e) {
      if (e && e.name === 'AbortError') return; // replaced by the next sound
      el.setAttribute('data-blocked', '1');
      if (A.shot === want) A.shot = null;
    });
  }
}

/** Starts (on) or stops (off) a looping sound. */
export function loop(code, on) {
  if (!!A.loops[code] === !!on) return;
  A.loops[code] = !!on;
  sync();
}
/** A short sound once (over any loop, which resumes after it). */
export function chime(code) {
  if (!soundOn()) return;
  A.shot = code;
  sync();
}

/**
 * A browser notification (if on and permitted): `title`, `body` already in the user's language;
 * `tag` makes a repeat replace the earlier one; `onClick` runs after the tab is focused.
 */
export function notify(tag, title, body, onClick) {
  if (!notifyOn() || permission() !== 'granted') return null;
  let n = null;
  try {
    n = new window.Notification(title, { body: body, tag: tag, renotify: true, lang: document.documentElement.lang || 'ru' });
  } catch (e) { return null; } // e.g. a platform that only allows service-worker notifications
  A.notes[tag] = n;
  n.onclick = function () {
    try { window.focus(); } catch (e) { /* ignore */ }
    n.close();
    if (onClick) onClick();
  };
  n.onclose = function () { if (A.notes[tag] === n) delete A.notes[tag]; };
  return n;
}
/** Takes a notification away (the event it told of is over). */
export function unnotify(tag) {
  const n = A.notes[tag];
  delete A.notes[tag];
  if (n) try { n.close(); } catch (e) { /* gone */ }
}

/* Asks for permission (only from a user gesture); the toggles show the answer. */
function ask() {
  if (permission() !== 'default') return;
  lsSet(key(LS_ASKED), '1');
  const done = function () { A.toggles.forEach(function (f) { f(); }); };
  try {
    const p = window.Notification.requestPermission(done);
    if (p && p.then) p.then(done, done);
  } catch (e) { /* old signature only */ }
}

/**
 * Starts alerts for `login`: the audio element, and a one-time request for notification
 * permission at the user's first click or key press (if never asked and notifications are on).
 */
export function setupAlerts(login) {
  A.user = login || '';
  A.loops = {};
  A.shot = null;
  A.toggles = [];
  audioEl();
  sync();
  if (permission() === 'default' && notifyOn() && lsGet(key(LS_ASKED)) !== '1') {
    const once = function () {
      document.removeEventListener('click', once, true);
      document.removeEventListener('keydown', once, true);
      if (A.user === login && notifyOn()) ask();
    };
    document.addEventListener('click', once, true);
    document.addEventListener('keydown', once, true);
  }
}
/** Ends alerts (logout): silence and no notifications left behind. */
export function teardownAlerts() {
  A.loops = {};
  A.shot = null;
  Object.keys(A.notes).forEach(unnotify);
  if (A.audio) sync();
  A.toggles = [];
}

/**
 * The header toggles, one element with the two stacked: sound on/off, and notifications on/off
 * (asking for permission on the click when not yet asked; "denied by the browser" or "not
 * supported" shown plainly). `keys` names the application's texts: sound, notify (the toggles'
 * names), soundTip, notifyTip, and the states on, off, ask, denied, unsupported.
 */
export function alertToggles(keys) {
  const small = 'padding:1px 8px;font-size:11.5px;line-height:1.35;text-align:left';
  const sound = h('button', { type: 'button', class: 'btn btn-ghost alert-toggle', tid: 'alert-sound-toggle', style: small });
  const note = h('button', { type: 'button', class: 'btn btn-ghost alert-toggle', tid: 'alert-notify-toggle', style: small });
  sound.setAttribute('data-i18n-title', keys.soundTip);
  note.setAttribute('data-i18n-title', keys.notifyTip);
  function label(el, nameKey, stateKey) {
    el.textContent = '';
    el.setAttribute('title', t(el.getAttribute('data-i18n-title')));
    el.appendChild(h('span', { i18n: nameKey }));
    el.appendChild(document.createTextNode(': '));
    el.appendChild(h('span', { class: 'alert-state', i18n: stateKey }));
  }
  function render() {
    const on = soundOn();
    sound.setAttribute('data-on', on ? '1' : '0');
    sound.setAttribute('aria-pressed', on ? 'true' : 'false');
    sound.classList.toggle('off', !on);
    label(sound, keys.sound, on ? keys.on : keys.off);
    const perm = permission();
    const non = notifyOn();
    const st = perm === 'unsupported' ? 'unsupported' : perm === 'denied' ? 'denied' : !non ? 'off' : perm === 'granted' ? 'on' : 'ask';
    note.setAttribute('data-state', st);
    note.setAttribute('data-on', non ? '1' : '0');
    note.setAttribute('aria-pressed', st === 'on' ? 'true' : 'false');
    note.classList.toggle('off', st !== 'on');
    label(note, keys.notify, keys[st]);
    note.disabled = st === 'unsupported';
  }
  sound.addEventListener('click', function () {
    if (soundOn()) A.shot = null; // muted: a short sound cut off is not replayed later
    lsSet(key(LS_SOUND), soundOn() ? '0' : '1');
    sync();
    render();
  });
  note.addEventListener('click', function () {
    const perm = permission();
    if (perm === 'default') { lsSet(key(LS_NOTIFY), '1'); ask(); render(); return; }
    if (perm !== 'granted') { render(); return; }
    lsSet(key(LS_NOTIFY), notifyOn() ? '0' : '1');
    if (!notifyOn()) Object.keys(A.notes).forEach(unnotify);
    render();
  });
  A.toggles.push(render);
  render();
  // Stacked, so the header keeps its width in both languages.
  return h('div', { class: 'alert-toggles', tid: 'alert-toggles', style: 'display:flex;flex-direction:column;gap:2px' }, [sound, note]);
}
