/* Behaves like the "102" app: opens the camera/microphone, signals over the node's WebSocket
   (call with channel, caller, app version and AML location; then location updates), plays the
   operator's audio. Plain ES2019 for Chrome >= 86 and Firefox >= 82. */
(function () {
  'use strict';
  var T = {
    ru: { title: 'Вызов полиции 102', channel: 'Канал', 'ch.app102': 'Приложение «102»', 'ch.zakon': '«Закон и Порядок»',
      'ch.sos': 'Тревожная кнопка SOS', phone: 'Телефон', lat: 'Широта', lon: 'Долгота', acc: 'Точность, м',
      video: 'С видео', call: 'Позвонить', sos: 'SOS', hangup: 'Завершить',
      's.idle': 'Готово к вызову', 's.connecting': 'Соединение…', 's.ringing': 'Ожидание оператора…',
      's.answered': 'Оператор на линии', 's.transferring': 'Переводим на другого оператора…', 's.ended': 'Вызов завершён',
      's.error': 'Ошибка: ', 's.nomedia': 'Нет доступа к камере или микрофону' },
    kk: { title: '102 полицияны шақыру', channel: 'Арна', 'ch.app102': '«102» қосымшасы', 'ch.zakon': '«Заң және Тәртіп»',
      'ch.sos': 'SOS дабыл түймесі', phone: 'Телефон', lat: 'Ендік', lon: 'Бойлық', acc: 'Дәлдік, м',
      video: 'Бейнемен', call: 'Қоңырау шалу', sos: 'SOS', hangup: 'Аяқтау',
      's.idle': 'Қоңырауға дайын', 's.connecting': 'Қосылуда…', 's.ringing': 'Операторды күту…',
      's.answered': 'Оператор желіде', 's.transferring': 'Басқа операторға ауыстырылуда…', 's.ended': 'Қоңырау аяқталды',
      's.error': 'Қате: ', 's.nomedia': 'Камераға немесе микрофонға рұқсат жоқ' }
  };
  var lang = 'ru';
  var $ = function (id) { return document.getElementById(id); };
  var state = 'idle', extra = '';
  var C = window.citizen = { pc: null, ws: null, callId: null, state: function () { return state; } };
  var locTimer = null, stream = null;

  function applyLang() {
    document.documentElement.lang = lang;
    Array.prototype.forEach.call(document.querySelectorAll('[data-t]'), function (el) { el.textContent = T[lang][el.getAttribute('data-t')]; });
    $('lang').textContent = lang === 'ru' ? 'ҚАЗ' : 'РУС';
    setState(state, extra);
  }
  function setState(s, more) {
    state = s; extra = more || '';
    var el = $('status');
    el.setAttribute('data-state', s);
    el.textContent = T[lang]['s.' + s] + extra;
    var busy = s === 'connecting' || s === 'ringing' || s === 'answered' || s === 'transferring';
    $('call').style.display = busy ? 'none' : '';
    $('sos').style.display = busy ? 'none' : '';
    $('hangup').hidden = !busy;
  }
  function location() {
    var lat = Number(String($('lat').value).replace(',', '.')), lon = Number(String($('lon').value).replace(',', '.'));
    if ($('lat').value === '' || $('lon').value === '' || !isFinite(lat) || !isFinite(lon)) return null;
    var loc = { lat: lat, lon: lon, time_ms: Date.now(), method: 'gps' };
    var acc = Number($('acc').value);
    if ($('acc').value !== '' && isFinite(acc)) loc.accuracy_m = acc;
    return loc;
  }
  function send(msg) { if (C.ws && C.ws.readyState === 1) C.ws.send(JSON.stringify(msg)); }
  function cleanup() {
    if (locTimer) { clearInterval(locTimer); locTimer = null; }
    if (C.pc) { try { C.pc.close(); } catch (e) { /* closed */ } }
    if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
    stream = null;
  }
  function waitGathering(pc) {
    return new Promise(function (resolve) {
      if (pc.iceGatheringState === 'complete') return resolve();
      var done = false;
      function finish() { if (!done) { done = true; resolve(); } }
      pc.addEventListener('icegatheringstatechange', function () { if (pc.iceGatheringState === 'complete') finish(); });
      setTimeout(finish, 3000);
    });
  }
  function call(channel) {
    var video = channel === 'sos_video' || $('video').checked;
    $('warn').textContent = '';
    setState('connecting');
    navigator.mediaDevices.getUserMedia({ audio: true, video: video }).then(function (s) {
      stream = s;
      if (video) $('self').srcObject = s;
      var pc = null;
      // The node speaks first: its STUN/TURN servers (fresh TURN credentials) for the peer
      // connection; then the offer, with every candidate gathered, goes out as the call.
      var proto = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
      var ws = C.ws = new WebSocket(proto + '//' + window.location.host + '/citizen/v1/ws');
      function offer(ice) {
        pc = C.pc = new RTCPeerConnection({ iceServers: ice.ice_servers || [], iceTransportPolicy: ice.ice_transport_policy || 'all' });
        s.getTracks().forEach(function (t) { pc.addTrack(t, s); });
        pc.addEventListener('track', function (ev) { $('remote').srcObject = ev.streams[0] || new MediaStream([ev.track]); });
        return pc.createOffer().then(function (o) { return pc.setLocalDescription(o); }).then(function () { return waitGathering(pc); }).then(function () {
          var body = { channel: channel, caller: { phone: $('phone').value || undefined, language: lang }, app_version: 'web-test-1.0', video: video };
          var loc = location();
          if (loc) body.location = loc;
          send({ type: 'call', call: body, sdp: pc.localDescription.sdp });
        }).catch(function (e) { setState('error', String(e && e.message || e)); cleanup(); });
      }
      ws.onmessage = function (ev) {
          var m; try { m = JSON.parse(ev.data); } catch (e) { return; }
          if (m.type === 'ice_config') offer(m);
          else if (m.type === 'answer') {
            C.callId = m.call_id;
            pc.setRemoteDescription({ type: 'answer', sdp: m.sdp }).then(function () { setState('ringing'); });
            // The handset keeps reporting its position during the call.
            locTimer = setInterval(function () { var l = location(); if (l) send({ type: 'location', location: l }); }, 5000);
          } else if (m.type === 'answered') setState('answered');
          else if (m.type === 'transferring') setState('transferring');
          else if (m.type === 'ended') { setState('ended'); cleanup(); }
          else if (m.type === 'warning') $('warn').textContent = m.message;
          else if (m.type === 'error') { setState('error', m.message); cleanup(); }
      };
      ws.onclose = function () { if (state !== 'error' && state !== 'idle') { if (state !== 'ended') setState('ended'); cleanup(); } };
    }).catch(function (e) { setState('error', (e && e.name === 'NotAllowedError') ? T[lang]['s.nomedia'] : String(e && e.message || e)); cleanup(); });
  }
  $('call').addEventListener('click', function () { call($('channel').value); });
  $('sos').addEventListener('click', function () { call('sos_video'); });
  $('hangup').addEventListener('click', function () { send({ type: 'hangup' }); setState('ended'); cleanup(); if (C.ws) C.ws.close(); });
  $('lang').addEventListener('click', function () { lang = lang === 'ru' ? 'kk' : 'ru'; applyLang(); });
  applyLang();
})();
