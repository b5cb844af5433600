/* Calls (R09, R10): calls ring for every free operator; the first to accept takes it. The console
   gathers its ICE candidates, posts a complete SDP offer and gets the node's answer; media flows
   through the node, which records it. SOS calls ring first and already have their card. Also the
   missed calls and the recordings. */
import { upsertCall } from '../data.js';
import { S, fmtDateTime, fmtDur, fmtTime, hasRole, label, toast, toastText } from '../state.js';
import { MiniMap, districtAt } from './map.js';
import { API, api, auth, errText } from '../../kit/api.js';
import { clear, h, tx } from '../../kit/dom.js';
import { applyLang, t } from '../../kit/i18n.js';
import { session } from '../../kit/session.js';

export function waitGathering(pc) {
  return new Promise(function (resolve) {
    if (pc.iceGatheringState === 'complete') { resolve(); return; }
    var done = false;
    function finish() { if (!done) { done = true; resolve(); } }
    pc.addEventListener('icegatheringstatechange', function () { if (pc.iceGatheringState === 'complete') finish(); });
    setTimeout(finish, 3000);
  });
}
export function operatorMedia() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return Promise.resolve(null);
  return navigator.mediaDevices.getUserMedia({ audio: true, video: true })
    .catch(function () { return navigator.mediaDevices.getUserMedia({ audio: true }); })
    .catch(function () { return null; });
}

export function CallsBox(onCard) {
  var active = null; // { id, pc, stream }
  var list = h('div', { tid: 'calls-list', class: 'calls-list' });
  var count = h('span', { class: 'count', tid: 'calls-count', text: '0' });
  var map = MiniMap('calls-map', 120);
  var remote = h('video', { tid: 'call-remote-video', class: 'call-video', autoplay: true, playsinline: true });
  var self = h('video', { tid: 'call-self-video', class: 'call-self', autoplay: true, playsinline: true, muted: true });
  self.muted = true;
  var who = h('div', { class: 'call-who', tid: 'call-who' });
  var target = h('select', { tid: 'call-transfer-to' });
  var hangBtn = h('button', { type: 'button', class: 'btn btn-danger', tid: 'call-hangup', i18n: 'call.hangup' });
  var xferBtn = h('button', { type: 'button', class: 'btn', tid: 'call-transfer', i18n: 'call.transfer' });
  var media = h('div', { class: 'call-media box', tid: 'call-active', style: 'display:none' }, [
    who, h('div', { class: 'call-videos' }, [remote, self]),
    h('div', { class: 'row' }, [hangBtn, target, xferBtn])
  ]);
  var missed = MissedBox();
  var el = h('div', { class: 'calls box', tid: 'calls' }, [
    h('div', { class: 'col-head' }, [h('span', { i18n: 'call.title' }), count]), media, list, map.el, missed.el
  ]);
  window.__console = window.__console || {};
  window.__console.callPc = function () { return active && active.pc; };

  function cleanup() {
    if (!active) return;
    try { active.pc.close(); } catch (e) { /* closed */ }
    if (active.stream) active.stream.getTracks().forEach(function (tr) { tr.stop(); });
    remote.srcObject = null; self.srcObject = null;
    active = null;
    media.style.display = 'none';
    render();
  }
  function accept(c, btn) {
    if (active) return;
    btn.disabled = true;
    var pc = null;
    active = { id: c.id, pc: null, stream: null };
    var inbound = new MediaStream();
    // STUN/TURN servers with fresh TURN credentials for this leg, then the media.
    api('GET', '/calls/ice-config').then(function (ice) {
      if (!active || active.id !== c.id) throw new Error(t('call.cancelled'));
      pc = active.pc = new RTCPeerConnection({ iceServers: ice.ice_servers || [], iceTransportPolicy: ice.ice_transport_policy || 'all' });
      pc.addEventListener('track', function (ev) { inbound.addTrack(ev.track); remote.srcObject = inbound; });
      return operatorMedia();
    }).then(function (stream) {
      if (!active || active.pc !== pc) throw new Error(t('call.cancelled'));
      active.stream = stream;
      if (stream) { stream.getTracks().forEach(function (tr) { pc.addTrack(tr, stream); }); self.srcObject = stream; }
      if (!stream || !stream.getAudioTracks().length) pc.addTransceiver('audio', { direction: 'recvonly' });
      if (!stream || !stream.getVideoTracks().length) pc.addTransceiver('video', { direction: 'recvonly' });
      return pc.createOffer();
    }).then(function (o) { return pc.setLocalDescription(o); }).then(function () { return waitGathering(pc); }).then(function () {
      return api('POST', '/calls/' + encodeURIComponent(c.id) + '/accept', { sdp: pc.localDescription.sdp });
    }).then(function (res) {
      return pc.setRemoteDescription({ type: 'answer', sdp: res.sdp }).then(function () {
        upsertCall(res.call);
        media.style.display = '';
        if (res.card) onCard(res.card);
        loadOperators();
      });
    }).catch(function (e) {
      btn.disabled = false;
      if (active && active.pc === pc) cleanup();
      toastText(errText(e));
    });
  }
  function loadOperators() {
    api('GET', '/calls/operators').then(function (ops) {
      clear(target);
      target.appendChild(h('option', { value: '', i18n: 'call.transfer.to' }));
      (ops || []).forEach(function (o) {
        if (session.user && o.login === session.user.login) return;
        target.appendChild(h('option', { value: o.login, disabled: o.busy, text: (o.full_name || o.login) + (o.busy ? ' · ' + t('call.busy') : '') }));
      });
    }, function () { /* the select stays empty */ });
  }
  hangBtn.addEventListener('click', function () {
    if (!active) return;
    var id = active.id;
    api('POST', '/calls/' + encodeURIComponent(id) + '/hangup').then(function (rec) { if (rec && rec.call) upsertCall(rec.call); }, function (e) { toastText(errText(e)); });
    cleanup();
  });
  xferBtn.addEventListener('click', function () {
    if (!active || !target.value) { target.focus(); return; }
    var id = active.id;
    api('POST', '/calls/' + encodeURIComponent(id) + '/transfer', { to: target.value }).then(function (c) { upsertCall(c); cleanup(); toast('call.transferred'); }, function (e) { toastText(errText(e)); });
  });
  function decline(c) {
    api('POST', '/calls/' + encodeURIComponent(c.id) + '/decline').then(upsertCall, function (e) { toastText(errText(e)); });
  }
  function loc(c) {
    var l = c.location;
    if (!l) return h('span', { class: 'muted small', i18n: 'call.noloc' });
    return h('span', { class: 'mono small', tid: 'call-loc', text: l.lat.toFixed(5) + ', ' + l.lon.toFixed(5) + (l.accuracy_m != null ? ' ±' + Math.round(l.accuracy_m) + ' ' + t('unit.m') : '') });
  }
  function row(c) {
    var me = session.user && session.user.login;
    var forMe = c.phase === 'ringing' && c.offered_to === me;
    var cls = 'call-row call-' + c.phase + (c.channel === 'sos_video' ? ' call-sos' : '') + (forMe ? ' call-forme' : '');
    var wait = c.phase === 'ringing'
      ? h('span', { class: 'timer mono', 'data-since': String(c.rang_at), text: fmtDur(Date.now() - c.rang_at) })
      : h('span', { class: 'mono small', text: fmtDur((c.answered_at || c.ended_at || Date.now()) - c.rang_at) });
    var actions = [];
    if (c.phase === 'ringing' && hasRole('call_taker') && (!c.offered_to || forMe)) {
      var b = h('button', { type: 'button', class: 'btn btn-primary', tid: 'call-accept', i18n: 'call.accept', disabled: !!active });
      b.addEventListener('click', function () { accept(c, b); });
      actions.push(b);
      if (forMe) actions.push(h('button', { type: 'button', class: 'btn btn-ghost', tid: 'call-decline', i18n: 'call.decline', onclick: function () { decline(c); } }));
    }
    var state = c.phase === 'answered' ? h('span', { class: 'small' }, [tx('call.phase.answered'), ' · ', c.operator || ''])
      : c.phase === 'ringing' && c.offered_to ? h('span', { class: 'small' }, [tx('call.offered'), ' ', c.offered_to])
        : tx('call.phase.' + c.phase, 'small');
    return h('div', { class: cls, tid: 'call-row', 'data-call': c.id, 'data-phase': c.phase, 'data-channel': c.channel }, [
      h('div', { class: 'call-line' }, [label('channels', c.channel, 'call-ch'), c.video ? h('span', { class: 'badge', i18n: 'call.video' }) : null,
        phoneOf(c.caller, 'call-phone'), wait]),
      h('div', { class: 'call-line' }, [loc(c), c.card_number ? h('span', { class: 'mono small', tid: 'call-card', text: c.card_number }) : null, state]),
      c.recording_problem ? h('div', { class: 'error small', tid: 'call-rec-problem' }, [tx('call.rec_problem'), ': ', c.recording_problem]) : null,
      actions.length ? h('div', { class: 'row' }, actions) : null
    ]);
  }
  function render() {
    var all = Object.keys(S.calls).map(function (k) { return S.calls[k]; });
    all.sort(function (a, b) {
      var r = function (c) { return c.phase === 'ringing' ? 0 : c.phase === 'answered' ? 1 : 2; };
      if (r(a) !== r(b)) return r(a) - r(b);
      if (r(a) === 2) return (b.ended_at || 0) - (a.ended_at || 0);
      var sa = a.channel === 'sos_video' ? 0 : 1, sb = b.channel === 'sos_video' ? 0 : 1;
      return sa !== sb ? sa - sb : a.rang_at - b.rang_at;
    });
    var ringing = all.filter(function (c) { return c.phase === 'ringing'; });
    count.textContent = String(ringing.length);
    el.classList.toggle('ringing', ringing.length > 0);
    clear(list);
    if (!all.length) list.appendChild(h('div', { class: 'muted small', i18n: 'call.none' }));
    all.slice(0, 30).forEach(function (c) { list.appendChild(row(c)); });
    var focus = (active && S.calls[active.id]) || ringing[0];
    var l = focus && focus.location;
    map.set(l ? l.lat : null, l ? l.lon : null, l ? (l.accuracy_m || 0) : 0, l ? districtAt(l.lat, l.lon) : null);
    if (active && S.calls[active.id]) {
      var c = S.calls[active.id];
      clear(who).appendChild(h('span', null, [label('channels', c.channel), ' · ', h('span', { class: 'mono', text: (c.caller && c.caller.phone) || '' }), c.card_number ? ' · ' + c.card_number : '']));
      if (c.phase === 'ended' || c.phase === 'abandoned') { cleanup(); toast('call.ended'); }
    }
    if (all.some(function (c) { return c.phase === 'abandoned' && !missed.seen[c.id]; })) {
      all.forEach(function (c) { if (c.phase === 'abandoned') missed.seen[c.id] = true; });
      missed.load();
    }
  }
  return { el: el, render: function () { render(); missed.render(); } };
}

/* A caller's phone: the normalised number, or what was sent, flagged when it could not be read. */
export function phoneOf(caller, tidName) {
  var c = caller || {};
  if (c.phone) return h('span', { class: 'mono', tid: tidName, text: c.phone });
  if (c.phone_raw) {
    return h('span', { class: 'mono warn-text', tid: tidName, 'data-unverified': '1' }, [c.phone_raw, ' ', tx('call.phone_unverified', 'small')]);
  }
  return h('span', { class: 'mono muted', tid: tidName, i18n: 'call.nophone' });
}

/* Missed calls (R03, R10): callers who hung up before an answer, one line per caller with a
   count, SOS first, until an operator records what the callback (by telephone) found. */
export function MissedBox() {
  var list = h('div', { tid: 'missed-list' });
  var count = h('span', { class: 'count', tid: 'missed-count', text: '0' });
  var el = h('div', { class: 'missed', tid: 'missed' }, [
    h('div', { class: 'col-head' }, [h('span', { i18n: 'missed.title' }), count]), list
  ]);
  var entries = [];
  var self = { el: el, seen: {}, load: load, render: render };
  function load() {
    if (!hasRole('call_taker') && !hasRole('supervisor')) return;
    api('GET', '/calls/missed').then(function (l) { entries = l || []; render(); }, function () { /* shown on the next load */ });
  }
  function record(m, outcome, btn) {
    btn.disabled = true;
    api('POST', '/calls/missed/' + encodeURIComponent(m.id) + '/callback', { outcome: outcome }).then(function () {
      toast('missed.recorded');
      load();
    }, function (e) { btn.disabled = false; toastText(errText(e)); });
  }
  function row(m) {
    var acts = hasRole('call_taker') ? ['reached', 'no_answer', 'false_alarm'].map(function (o) {
      var b = h('button', { type: 'button', class: 'btn btn-small', tid: 'missed-' + o, i18n: 'missed.outcome.' + o });
      b.addEventListener('click', function () { record(m, o, b); });
      return b;
    }) : [];
    return h('div', { class: 'missed-row' + (m.sos ? ' call-sos' : ''), tid: 'missed-row', 'data-missed': m.id }, [
      h('div', { class: 'call-line' }, [
        m.sos ? h('span', { class: 'badge badge-sos', i18n: 'missed.sos' }) : label('channels', m.channel, 'call-ch'),
        phoneOf(m, 'missed-phone'),
        m.name ? h('span', { text: m.name }) : null,
        m.count > 1 ? h('span', { class: 'badge', tid: 'missed-times', text: '×' + m.count }) : null,
        h('span', { class: 'mono small', text: fmtTime(m.last_at) }),
        m.card_number ? h('span', { class: 'mono small', tid: 'missed-card', text: m.card_number }) : null
      ]),
      acts.length ? h('div', { class: 'row' }, [tx('missed.callback', 'small')].concat(acts)) : null
    ]);
  }
  function render() {
    count.textContent = String(entries.length);
    clear(list);
    if (!entries.length) list.appendChild(h('div', { class: 'muted small', i18n: 'missed.none' }));
    entries.forEach(function (m) { list.appendChild(row(m)); });
    applyLang(list);
  }
  load();
  setInterval(load, 30000);
  return self;
}


/* ------------------------------------------------------------------ call recordings (R09)
   Listening and export are role-checked and audited by the node; files are fetched with the
   session's token, never through a URL that carries it. */

export function fetchRecording(callId, name, exp) {
  var opts = { headers: {}, credentials: 'same-origin' };
  if (auth.token) opts.headers.Authorization = 'Bearer ' + auth.token;
  var url = API + '/recordings/' + encodeURIComponent(callId) + '/files/' + encodeURIComponent(name) + (exp ? '?export=true' : '');
  return fetch(url, opts).then(function (r) {
    if (!r.ok) {
      return r.json().catch(function () { return {}; }).then(function (d) {
        var e = new Error((d && d.message) || String(r.status)); e.status = r.status; e.code = d && d.code; throw e;
      });
    }
    return r.blob();
  });
}

export function RecordingsBox() {
  var body = h('div', { tid: 'rec-list' });
  var player = h('div', { tid: 'rec-player' });
  var refresh = h('button', { type: 'button', class: 'btn btn-ghost', tid: 'rec-refresh', i18n: 'rec.refresh' });
  var el = h('div', { class: 'box recordings', tid: 'recordings' }, [
    h('div', { class: 'col-head' }, [h('span', { i18n: 'rec.title' }), h('span', { class: 'spacer' }), refresh]), player, body
  ]);
  var lastUrl = null;
  function play(rec, f, btn) {
    btn.disabled = true;
    fetchRecording(rec.call.id, f.name, false).then(function (blob) {
      btn.disabled = false;
      if (lastUrl) URL.revokeObjectURL(lastUrl);
      lastUrl = URL.createObjectURL(blob);
      clear(player).appendChild(h('div', { class: 'small' }, [rec.call.card_number || rec.call.id, ' · ', f.name]));
      var a = h('audio', { controls: true, tid: 'rec-audio', src: lastUrl });
      player.appendChild(a);
      a.play().catch(function () { /* autoplay may be blocked; the controls remain */ });
    }, function (e) { btn.disabled = false; toastText(errText(e)); });
  }
  function exportFile(rec, f, btn) {
    btn.disabled = true;
    fetchRecording(rec.call.id, f.name, true).then(function (blob) {
      btn.disabled = false;
      var url = URL.createObjectURL(blob);
      var a = h('a', { href: url, download: (rec.call.card_number || rec.call.id) + '-' + f.name });
      document.body.appendChild(a); a.click(); a.remove();
      setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
    }, function (e) { btn.disabled = false; toastText(errText(e)); });
  }
  function load() {
    return api('GET', '/recordings?limit=100').then(function (list) {
      clear(body);
      if (!list || !list.length) { body.appendChild(h('div', { class: 'muted small', i18n: 'rec.none' })); return; }
      list.forEach(function (rec) {
        var r = rec.recording, c = rec.call;
        var files = r.expired_at ? [h('span', { class: 'muted small', i18n: 'rec.expired' })] : r.files.map(function (f) {
          var playBtn = f.kind === 'audio' ? h('button', { type: 'button', class: 'btn', tid: 'rec-play', 'data-file': f.name, i18n: 'rec.play' }) : null;
          var expBtn = h('button', { type: 'button', class: 'btn btn-ghost', tid: 'rec-export', 'data-file': f.name, i18n: 'rec.export' });
          if (playBtn) playBtn.addEventListener('click', function () { play(rec, f, playBtn); });
          expBtn.addEventListener('click', function () { exportFile(rec, f, expBtn); });
          return h('div', { class: 'rec-file' }, [h('span', { class: 'mono small', text: f.name + ' · ' + fmtDur(f.duration_ms) }), playBtn, expBtn]);
        });
        body.appendChild(h('div', { class: 'rec-row', tid: 'rec-row', 'data-call': c.id, 'data-card': c.card_id || '' }, [
          h('div', { class: 'call-line' }, [label('channels', c.channel), h('span', { class: 'mono', text: (c.caller && c.caller.phone) || '' }),
            h('span', { class: 'mono small', text: c.card_number || '' }), h('span', { class: 'small', text: fmtDateTime(c.rang_at) }),
            r.held ? h('span', { class: 'badge', tid: 'rec-held', i18n: 'rec.held' }) : null]),
          r.problem ? h('div', { class: 'error small' }, [tx('call.rec_problem'), ': ', r.problem]) : null
        ].concat(files)));
      });
    }, function (e) { clear(body).appendChild(h('div', { class: 'error', err: e })); });
  }
  refresh.addEventListener('click', load);
  return { el: el, load: load };
}
