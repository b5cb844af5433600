/* Behaves like the written appeal of the "102" app and "Закон и Порядок" (issue 12): the citizen
   sends the text, the applicant's identity and an optional photo (POST /citizen/v1/appeals), gets
   the appeal's id and an access token, and the page follows it (GET /citizen/v1/appeals/{id} with
   the token as Bearer) until the талон (number, date and time, who registered), the status and,
   once answered, the answer document to download. Kazakh or Russian. Plain ES2019 for
   Chrome >= 86 and Firefox >= 82. */
(function () {
  'use strict';
  /* How often the page asks for the appeal's state, ms. */
  var POLL_MS = 2000;
  var STORE = 'citizen_appeal';
  var DONE = ['answered', 'not_considered', 'transferred', 'sent_out'];
  var T = {
    ru: { title: 'Обращение в полицию', channel: 'Приложение', 'ch.app102': 'Приложение «102»', 'ch.zakon': '«Закон и Порядок»',
      language: 'Язык обращения', 'l.ru': 'русский', 'l.kk': 'казахский', applicant: 'Заявитель', iin: 'ИИН',
      surname: 'Фамилия', name: 'Имя', patronymic: 'Отчество', address: 'Почтовый адрес', phone: 'Телефон', email: 'Электронная почта',
      text: 'Текст обращения', photo: 'Фото (необязательно)', anonymous: 'Без указания данных (анонимно)', submit: 'Отправить',
      track: 'Ваше обращение', appeal_id: 'Идентификатор', status: 'Статус', talon: 'Талон о регистрации',
      't.number': 'Регистрационный номер', 't.at': 'Дата и время', 't.by': 'Зарегистрировал', deadline: 'Срок ответа', extended: 'Срок продлён руководителем',
      decision: 'Решение', download: 'Скачать ответ', refresh: 'Обновить', new: 'Новое обращение', sending: 'Отправляется…',
      'st.received': 'Поступило, ожидает регистрации', 'st.registered': 'Зарегистрировано', 'st.routed': 'Передано в службу',
      'st.in_work': 'На рассмотрении', 'st.on_approval': 'Ответ готовится', 'st.answered': 'Ответ направлен',
      'st.transferred': 'Не является обращением, передано по принадлежности', 'st.not_considered': 'Не рассматривается (анонимное)',
      'st.sent_out': 'Направлено в компетентный орган',
      'd.satisfied': 'удовлетворено', 'd.explained': 'разъяснено', 'd.refused': 'отказано', 'd.redirected': 'направлено по подведомственности',
      'd.outside_competence': 'вне компетенции полиции',
      'e.generic': 'Не удалось выполнить запрос', 'e.network': 'Нет связи с сервером', 'e.invalid_iin': 'Неверный ИИН',
      'e.text_too_long': 'Текст слишком длинный', 'e.attachment_too_large': 'Фото слишком большое', 'e.invalid_field': 'Проверьте заполнение полей',
      'e.unauthenticated': 'Доступ к обращению утрачен', 'e.not_found': 'Обращение не найдено', 'e.appeal_not_found': 'Обращение не найдено' },
    kk: { title: 'Полицияға өтініш', channel: 'Қосымша', 'ch.app102': '«102» қосымшасы', 'ch.zakon': '«Заң және Тәртіп»',
      language: 'Өтініш тілі', 'l.ru': 'орыс тілі', 'l.kk': 'қазақ тілі', applicant: 'Өтініш беруші', iin: 'ЖСН',
      surname: 'Тегі', name: 'Аты', patronymic: 'Әкесінің аты', address: 'Пошталық мекенжай', phone: 'Телефон', email: 'Электрондық пошта',
      text: 'Өтініш мәтіні', photo: 'Фото (міндетті емес)', anonymous: 'Деректерді көрсетпей (жасырын)', submit: 'Жіберу',
      track: 'Сіздің өтінішіңіз', appeal_id: 'Сәйкестендіргіш', status: 'Мәртебе', talon: 'Тіркеу талоны',
      't.number': 'Тіркеу нөмірі', 't.at': 'Күні мен уақыты', 't.by': 'Тіркеген', deadline: 'Жауап мерзімі', extended: 'Мерзімді басшы ұзартты',
      decision: 'Шешім', download: 'Жауапты жүктеу', refresh: 'Жаңарту', new: 'Жаңа өтініш', sending: 'Жіберілуде…',
      'st.received': 'Түсті, тіркеуді күтуде', 'st.registered': 'Тіркелді', 'st.routed': 'Қызметке берілді',
      'st.in_work': 'Қаралуда', 'st.on_approval': 'Жауап дайындалуда', 'st.answered': 'Жауап жіберілді',
      'st.transferred': 'Өтініш емес, тиесілілігі бойынша берілді', 'st.not_considered': 'Қаралмайды (жасырын)',
      'st.sent_out': 'Құзыретті органға жіберілді',
      'd.satisfied': 'қанағаттандырылды', 'd.explained': 'түсіндірілді', 'd.refused': 'бас тартылды', 'd.redirected': 'тиесілілігі бойынша жолданды',
      'd.outside_competence': 'полиция құзыретіне жатпайды',
      'e.generic': 'Сұрауды орындау мүмкін болмады', 'e.network': 'Сервермен байланыс жоқ', 'e.invalid_iin': 'ЖСН қате',
      'e.text_too_long': 'Мәтін тым ұзын', 'e.attachment_too_large': 'Фото тым үлкен', 'e.invalid_field': 'Өрістердің толтырылуын тексеріңіз',
      'e.unauthenticated': 'Өтінішке қолжетімділік жоғалды', 'e.not_found': 'Өтініш табылмады', 'e.appeal_not_found': 'Өтініш табылмады' }
  };
  var lang = 'ru';
  var $ = function (id) { return document.getElementById(id); };
  /* The appeal followed: {id, token}, its last state, the answer's object URL. */
  var A = window.citizenAppeal = { id: null, token: null, state: null, answerUrl: null, polls: 0 };
  var pollTimer = null, lastErr = null;

  function tr(k) { return T[lang][k] || T.ru[k] || ''; }
  function pad(n) { return n < 10 ? '0' + n : String(n); }
  function fmt(v) {
    var ms = typeof v === 'number' ? v : Date.parse(v);
    if (!isFinite(ms)) return '';
    var d = new Date(ms);
    return pad(d.getDate()) + '.' + pad(d.getMonth() + 1) + '.' + d.getFullYear() + ' ' + pad(d.getHours()) + ':' + pad(d.getMinutes());
  }
  function fmtDay(v) { var m = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(v || '')); return m ? m[3] + '.' + m[2] + '.' + m[1] : ''; }

  function applyLang() {
    document.documentElement.lang = lang;
    Array.prototype.forEach.call(document.querySelectorAll('[data-t]'), function (el) { el.textContent = tr(el.getAttribute('data-t')); });
    $('lang').textContent = lang === 'ru' ? 'ҚАЗ' : 'РУС';
    showError(lastErr);
    if (A.state) show(A.state);
  }
  function showError(e) {
    lastErr = e;
    var el = $('error');
    if (!e) { el.hidden = true; el.textContent = ''; return; }
    el.hidden = false;
    el.setAttribute('data-code', e.code || '');
    el.textContent = tr('e.' + e.code) || (tr('e.generic') + (e.status ? ' (' + e.status + ')' : ''));
  }
  function request(method, path, body, token) {
    var headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (token) headers.Authorization = 'Bearer ' + token;
    return fetch(path, { method: method, headers: headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' })
      .then(function (r) {
        return r.text().then(function (txt) {
          var data = null;
          try { data = txt ? JSON.parse(txt) : null; } catch (e) { data = null; }
          if (!r.ok) throw { status: r.status, code: (data && data.code) || 'generic' };
          return data;
        });
      }, function () { throw { status: 0, code: 'network' }; });
  }
  function readPhoto() {
    var f = $('photo').files && $('photo').files[0];
    if (!f) return Promise.resolve(null);
    return new Promise(function (resolve, reject) {
      var rd = new FileReader();
      rd.onload = function () {
        resolve({ file_name: f.name, content_type: f.type || 'image/jpeg', data_base64: String(rd.result).replace(/^data:[^,]*,/, '') });
      };
      rd.onerror = function () { reject({ status: 0, code: 'generic' }); };
      rd.readAsDataURL(f);
    });
  }
  function submit(ev) {
    ev.preventDefault();
    showError(null);
    var anonymous = $('anonymous').checked;
    var applicant = { kind: 'person' };
    ['iin', 'surname', 'name', 'patronymic', 'address', 'phone', 'email'].forEach(function (k) {
      var v = $(k).value.trim();
      if (v) applicant[k] = v;
    });
    $('submit').disabled = true;
    $('submit').textContent = tr('sending');
    readPhoto().then(function (photo) {
      var body = { channel: $('channel').value, language: $('language').value, text: $('text').value.trim(), anonymous: anonymous };
      if (!anonymous) body.applicant = applicant;
      if (photo) body.attachments = [photo];
      return request('POST', '/citizen/v1/appeals', body);
    }).then(function (res) {
      follow(res.appeal_id, res.access_token, { id: res.appeal_id, status: res.status, received_at: res.received_at });
    }).catch(function (e) { showError(e); }).then(function () {
      $('submit').disabled = false;
      $('submit').textContent = tr('submit');
    });
  }
  function follow(id, token, first) {
    A.id = id; A.token = token;
    try { window.sessionStorage.setItem(STORE, JSON.stringify({ id: id, token: token })); } catch (e) { /* private mode */ }
    $('form').hidden = true;
    $('track').hidden = false;
    $('appeal-id').textContent = id;
    if (first) show(first);
    poll();
  }
  function poll() {
    if (pollTimer) { clearTimeout(pollTimer); pollTimer = null; }
    if (!A.id) return;
    request('GET', '/citizen/v1/appeals/' + encodeURIComponent(A.id), undefined, A.token).then(function (st) {
      A.polls++;
      showError(null);
      show(st);
      if (st.answer && !A.answerUrl) fetchAnswer();
      if (DONE.indexOf(st.status) < 0 || (st.answer && !A.answerUrl)) pollTimer = setTimeout(poll, POLL_MS);
    }, function (e) {
      showError(e);
      pollTimer = setTimeout(poll, POLL_MS * 2);
    });
  }
  function show(st) {
    A.state = st;
    $('track').setAttribute('data-status', st.status || '');
    $('status').setAttribute('data-status', st.status || '');
    $('status').textContent = tr('st.' + st.status) || st.status || '';
    var t = st.talon;
    $('talon').hidden = !t;
    if (t) {
      $('talon-number').textContent = t.number || '';
      $('talon-at').textContent = fmt(t.registered_at);
      $('talon-by').textContent = t.registered_by_name || '';
    }
    $('deadline-row').hidden = !st.deadline;
    $('deadline').textContent = fmtDay(st.deadline);
    // The head's extension and its reason: the applicant is told of it here (R11).
    var exts = st.extensions || [];
    var ext = exts[exts.length - 1];
    $('extension-row').hidden = !ext;
    $('extension').textContent = ext ? fmtDay(ext.until) + ' — ' + ext.reason : '';
    $('answer').hidden = !st.answer;
    if (st.answer) $('decision').textContent = tr('d.' + st.answer.decision) || '';
  }
  /* The answer needs the Bearer token: fetched here, then offered as a file to save. */
  function fetchAnswer() {
    fetch('/citizen/v1/appeals/' + encodeURIComponent(A.id) + '/answer.docx', { headers: { Authorization: 'Bearer ' + A.token }, cache: 'no-store' })
      .then(function (r) {
        if (!r.ok) throw { status: r.status, code: 'generic' };
        return r.blob();
      }).then(function (blob) {
        A.answerUrl = URL.createObjectURL(blob);
        var a = $('answer-link');
        a.href = A.answerUrl;
        a.setAttribute('download', ((A.state && A.state.talon && A.state.talon.number) || A.id) + '.docx');
        a.hidden = false;
      }).catch(function (e) { showError(e); });
  }
  function reset() {
    if (pollTimer) { clearTimeout(pollTimer); pollTimer = null; }
    try { window.sessionStorage.removeItem(STORE); } catch (e) { /* private mode */ }
    if (A.answerUrl) URL.revokeObjectURL(A.answerUrl);
    A.id = A.token = A.state = A.answerUrl = null;
    $('answer-link').hidden = true;
    $('form').reset();
    $('form').hidden = false;
    $('track').hidden = true;
    showError(null);
  }

  $('form').addEventListener('submit', submit);
  $('refresh').addEventListener('click', poll);
  $('new').addEventListener('click', reset);
  $('lang').addEventListener('click', function () {
    lang = lang === 'ru' ? 'kk' : 'ru';
    if (!A.id) $('language').value = lang;
    applyLang();
  });
  $('anonymous').addEventListener('change', function () {
    Array.prototype.forEach.call(document.querySelectorAll('fieldset input'), function (i) { i.disabled = $('anonymous').checked; });
  });
  applyLang();
  try {
    var kept = JSON.parse(window.sessionStorage.getItem(STORE) || 'null');
    if (kept && kept.id && kept.token) follow(kept.id, kept.token, null);
  } catch (e) { /* nothing kept */ }
})();
