/* The parts of a card's view that act on it: the КУИ entry, address warnings, the units on the
   card and the action groups the user's roles allow. Each gets the card view's context x:
   {c, el, open, disp, patrol, duty, ct, run, post, self} and appends its box to x.el. */
import { S, cardAddress, codes, fmtDateTime, fmtLeft, fmtTime, isStaff, isTerminal, keyLabel, refOptions, span, timer, unitById, unitName, unitStatusBadge } from '../state.js';
import { withKey } from '../keys.js';
import { warningItem } from './cards.js';
import { api } from '../../kit/api.js';
import { dataText, h, tx } from '../../kit/dom.js';
import { t } from '../../kit/i18n.js';

function unitSelect(tid, filter, keep) {
  var list = Object.keys(S.units).map(function (k) { return S.units[k]; }).filter(filter)
    .sort(function (a, b) { return (a.call_sign || '').localeCompare(b.call_sign || ''); });
  var sel = h('select', { tid: tid, 'data-keep': keep }, [h('option', { value: '', i18n: list.length ? 'act.select_unit' : 'act.no_units' })]);
  list.forEach(function (u) {
    sel.appendChild(h('option', { value: u.id, text: u.call_sign + ' · ' + t('ukind.' + u.kind) }));
  });
  return sel;
}

function renderWarnings(list, title, tid, strong) {
  var box = h('div', { class: 'box warnings' + (list && list.length ? ' has' : '') + (strong ? ' strong' : ''), tid: tid });
  box.appendChild(h('div', { class: 'section-title' }, [h('span', { i18n: title })]));
  if (!list || !list.length) {
    box.appendChild(h('div', { class: 'muted', i18n: 'warn.none' }));
    return box;
  }
  if (strong) box.appendChild(h('div', { class: 'warn-call', i18n: 'warn.tell_patrol' }));
  var ul = h('ul', { class: 'warn-list' });
  list.forEach(function (w) { ul.appendChild(warningItem(w)); });
  box.appendChild(ul);
  return box;
}

export function kuiBox(x) {
  var c = x.c, el = x.el, open = x.open, duty = x.duty, run = x.run, post = x.post;
  // КУИ (R07, R14): the entry appears when the card is forwarded, with its deadline; the number comes later.
  var kuiDone = !!(c.kui && c.kui.number);
  if (c.kui || duty) {
    var kbox = h('div', { class: 'box kui' + (kuiDone ? ' done' : ''), tid: 'kui-box' }, [h('div', { class: 'section-title', i18n: 'duty.kui.title' })]);
    var deadline = c.kui && c.kui.deadline_at;
    if (kuiDone) {
      var inTime = !deadline || !c.kui.registered_at || c.kui.registered_at <= deadline;
      kbox.appendChild(h('div', { class: 'kui-info', tid: 'kui-info' }, [
        h('span', { class: 'mono kui-num', tid: 'kui-number-value', text: c.kui.number }),
        h('span', { class: 'muted' }, [' · ', tx('duty.kui.registered'), ' ', fmtDateTime(c.kui.registered_at), c.kui.registered_by ? [' (', dataText(c.kui.registered_by), ')'] : '']),
        deadline ? h('span', null, [' · ', tx('duty.kui.deadline'), ' ', h('b', { tid: 'kui-deadline', 'data-deadline-at': deadline, text: fmtDateTime(deadline) })]) : null,
        ' ', h('span', { class: 'badge ' + (inTime ? 'acc-on' : 'acc-off'), tid: 'kui-in-time', 'data-in-time': inTime ? '1' : '0', i18n: inTime ? 'duty.kui.in_time' : 'duty.kui.late' })
      ]));
    } else {
      kbox.appendChild(h('div', { class: 'muted small', i18n: 'duty.kui.hint' }));
      if (deadline) {
        kbox.appendChild(h('div', { class: 'kui-due' }, [tx('duty.kui.deadline'), ' ', h('b', { text: fmtDateTime(deadline) }), ' · ',
          h('span', { class: 'deadline', tid: 'kui-deadline', 'data-deadline': deadline, text: fmtLeft(deadline - Date.now()) })]));
      } else {
        kbox.appendChild(h('div', { class: 'muted small', i18n: 'duty.kui.not_forwarded' }));
      }
      if (duty && open) {
        var kin = h('input', { type: 'text', tid: 'kui-number', ph: 'act.kui.ph', 'data-keep': 'kui', maxlength: 64 });
        var kbtn = h('button', { type: 'button', class: 'btn btn-primary', tid: 'kui-btn', i18n: 'act.kui' });
        kbtn.addEventListener('click', function () {
          if (!kin.value.trim()) { kin.focus(); return; }
          run(kbtn, post('/kui', function () { return { number: kin.value.trim() }; }), 'act.done');
        });
        kbox.appendChild(h('div', { class: 'row' }, [kin, kbtn]));
      }
    }
    el.appendChild(kbox);
  }
}

export function warningsBox(x) {
  var c = x.c, el = x.el, open = x.open, self = x.self;
  // Address warnings (R08): the card's own list, plus what the dispatch answer carried.
  var last = self.lastWarnings[c.id];
  if (c.warnings !== undefined || (last && last.length)) {
    var wl = (c.warnings || []).slice();
    (last || []).forEach(function (w) {
      if (!wl.some(function (x) { return JSON.stringify(x) === JSON.stringify(w); })) wl.push(w);
    });
    var sentOut = (c.units || []).some(function (cu) { return !cu.cleared_at; });
    el.appendChild(renderWarnings(wl, 'warn.title', 'card-warnings', sentOut && open));
  }
}

/* Time from dispatch to arrival (R20 arrival control): live until the unit is on scene, red
   after the region's unit_overdue_after_s (data-arrive-by, checked by the console's tick). */
function arrivalTimer(cu, done) {
  if (cu.on_scene_at) return h('span', { class: 'muted', tid: 'unit-arrived-in' }, [tx('timer.arrived_in'), ' ', span(cu.assigned_at, cu.on_scene_at)]);
  if (done) return null;
  var lim = ((S.ref && S.ref.unit_overdue_after_s) || 0) * 1000;
  var t = timer(cu.assigned_at, 'arrive', 'unit-since-dispatch');
  if (lim > 0) t.setAttribute('data-arrive-by', String(cu.assigned_at + lim));
  return h('span', { tip: 'timer.since_dispatch.tip' }, [tx('timer.since_dispatch'), ' ', t]);
}
/* Time on scene: live until the unit is cleared. */
function sceneTimer(cu) {
  if (!cu.on_scene_at) return null;
  if (cu.cleared_at) return h('span', { class: 'muted' }, [tx('timer.on_scene'), ' ', span(cu.on_scene_at, cu.cleared_at)]);
  return h('span', null, [tx('timer.on_scene'), ' ', timer(cu.on_scene_at, '', 'unit-on-scene-for')]);
}

export function unitsBox(x) {
  var c = x.c, el = x.el, open = x.open, disp = x.disp, patrol = x.patrol, run = x.run, post = x.post, self = x.self;
  // Units on the card
  var units = c.units || [];
  if (units.length || (disp && open)) {
    var ubody = h('tbody');
    units.forEach(function (cu) {
      var done = !!cu.cleared_at;
      var acts = [];
      if ((disp || patrol) && open && !done) {
        var first = units.filter(function (o) { return !o.cleared_at; })[0] === cu;
        var key = function (b, chord) { return first ? withKey(b, chord) : b; };
        if (!cu.en_route_at && !cu.on_scene_at) {
          var b1 = key(h('button', { type: 'button', class: 'btn btn-xs', tid: 'unit-en-route', i18n: 'act.en_route' }), 'Alt+KeyR');
          b1.addEventListener('click', function () { run(b1, post('/units/' + encodeURIComponent(cu.unit_id) + '/en-route')); });
          acts.push(b1);
        }
        if (!cu.on_scene_at) {
          var b2 = key(h('button', { type: 'button', class: 'btn btn-xs', tid: 'unit-on-scene', i18n: 'act.on_scene' }), 'Alt+KeyM');
          b2.addEventListener('click', function () { run(b2, post('/units/' + encodeURIComponent(cu.unit_id) + '/on-scene')); });
          acts.push(b2);
        }
        var b3 = key(h('button', { type: 'button', class: 'btn btn-xs btn-ghost', tid: 'unit-clear', i18n: 'act.clear' }), 'Alt+KeyF');
        b3.addEventListener('click', function () { run(b3, post('/units/' + encodeURIComponent(cu.unit_id) + '/clear')); });
        acts.push(b3);
        if (disp && !cu.on_scene_at) {
          var b4 = h('button', { type: 'button', class: 'btn btn-xs btn-ghost', tid: 'unit-unassign', i18n: 'act.unassign' });
          b4.addEventListener('click', function () {
            run(b4, function () { return api('DELETE', '/cards/' + encodeURIComponent(self.id) + '/units/' + encodeURIComponent(cu.unit_id)); });
          });
          acts.push(b4);
        }
      }
      var live = unitById(cu.unit_id);
      ubody.appendChild(h('tr', { tid: 'card-unit-' + cu.unit_id, 'data-unit-id': cu.unit_id, class: done ? 'done' : '' }, [
        h('td', { class: 'mono b', translate: 'no', text: cu.call_sign || unitName(cu.unit_id) }),
        h('td', null, keyLabel('ukind', cu.kind)),
        h('td', { class: 'mono small' }, [fmtTime(cu.assigned_at), cu.en_route_at ? h('div', { class: 'muted' }, [tx('unit.en_route'), ' ', fmtTime(cu.en_route_at)]) : null]),
        h('td', { class: 'mono small' }, [fmtTime(cu.on_scene_at), h('div', null, arrivalTimer(cu, done))]),
        h('td', { class: 'mono small' }, [fmtTime(cu.cleared_at), h('div', null, sceneTimer(cu))]),
        h('td', null, live && !done ? unitStatusBadge(live.status) : null),
        h('td', { class: 'acts' }, acts)
      ]));
    });
    if (!units.length) ubody.appendChild(h('tr', { class: 'empty-row' }, h('td', { colspan: 7, i18n: 'empty' })));
    el.appendChild(h('div', { class: 'box' }, [
      h('div', { class: 'section-title', i18n: 'card.units' }),
      h('table', { class: 'grid units-on-card', tid: 'card-units' }, [
        h('thead', null, h('tr', null, [
          h('th', { i18n: 'unit.call_sign' }), h('th', { i18n: 'unit.kind' }), h('th', { i18n: 'unit.assigned' }),
          h('th', { i18n: 'unit.on_scene' }), h('th', { i18n: 'unit.cleared' }),
          h('th', { i18n: 'unit.status' }), h('th')
        ])),
        ubody
      ])
    ]));
  }
}

/* The action groups (not yet in the page: the card view puts them under its error box). */
export function actionsBox(x) {
  var c = x.c, open = x.open, disp = x.disp, patrol = x.patrol, duty = x.duty, ct = x.ct, run = x.run, post = x.post;
  var units = c.units || [];
  // Actions
  var groups = [];
  if (disp && open && c.status !== 'new') {
    var dsel = unitSelect('dispatch-unit', function (u) { return u.status === 'available'; }, 'dispatch');
    var dbtn = withKey(h('button', { type: 'button', class: 'btn btn-primary', tid: 'dispatch-btn', i18n: 'act.dispatch' }), 'Alt+KeyD');
    dbtn.addEventListener('click', function () {
      if (!dsel.value) { dsel.focus(); return; }
      run(dbtn, post('/dispatch', function () { return { unit_id: dsel.value }; }));
    });
    groups.push(h('div', { class: 'act-group' }, [h('div', { class: 'section-title', i18n: 'act.group.units' }), h('div', { class: 'row' }, [dsel, dbtn])]));
  }
  if ((disp || patrol) && open && units.length) {
    var rtext = h('textarea', { rows: 2, tid: 'report-text', ph: 'act.report.ph', 'data-keep': 'report' });
    var rbtn = h('button', { type: 'button', class: 'btn', tid: 'report-btn', i18n: 'act.report' });
    rbtn.addEventListener('click', function () {
      if (!rtext.value.trim()) { rtext.focus(); return; }
      run(rbtn, post('/report', function () { return { text: rtext.value.trim() }; }), 'act.done', ['report']);
    });
    var grp = [h('div', { class: 'section-title', i18n: 'act.group.report' }), h('div', { class: 'row' }, [rtext, rbtn])];
    if (disp) {
      var ctext = h('textarea', { rows: 2, tid: 'close-report', ph: 'act.close.ph', 'data-keep': 'close' });
      var cbtn = h('button', { type: 'button', class: 'btn btn-ok', tid: 'close-btn', i18n: 'act.close' });
      cbtn.addEventListener('click', function () {
        run(cbtn, post('/close', function () { var v = ctext.value.trim(); return v ? { report: v } : {}; }), 'act.done', ['close']);
      });
      grp.push(h('div', { class: 'row' }, [ctext, cbtn]));
    }
    groups.push(h('div', { class: 'act-group' }, grp));
  } else if (disp && open && c.status !== 'new') {
    // No unit worked the card: closing it needs the reason (a false call, resolved by phone ...).
    var ctext2 = h('textarea', { rows: 2, tid: 'close-reason', ph: 'act.close_reason.ph', 'data-keep': 'close-reason', maxlength: 1000 });
    var cbtn2 = h('button', { type: 'button', class: 'btn btn-ok', tid: 'close-btn', i18n: 'act.close' });
    cbtn2.addEventListener('click', function () {
      if (!ctext2.value.trim()) { ctext2.focus(); ctext2.classList.add('need'); return; }
      run(cbtn2, post('/close', function () { return { reason: ctext2.value.trim() }; }), 'act.done', ['close-reason']);
    });
    groups.push(h('div', { class: 'act-group' }, [h('div', { class: 'section-title', i18n: 'act.group.close_no_unit' }),
      h('label', { class: 'small muted', i18n: 'act.close_reason.label' }), h('div', { class: 'row' }, [ctext2, cbtn2])]));
  }
  if ((disp || duty) && open) {
    var esc = [h('div', { class: 'section-title', i18n: 'act.group.escalate' })];
    var invest = function (u) { return u.status === 'available' && u.kind === 'investigative_group'; };
    var anyInvest = Object.keys(S.units).some(function (k) { return invest(S.units[k]); });
    var gsel = unitSelect('dsog-unit', anyInvest ? invest : function (u) { return u.status === 'available'; }, 'dsog');
    var gbtn = h('button', { type: 'button', class: 'btn btn-danger', tid: 'dsog-btn', i18n: 'act.dsog', tip: 'act.dsog.hint' });
    gbtn.addEventListener('click', function () {
      if (!gsel.value) { gsel.focus(); return; }
      run(gbtn, post('/dsog', function () { return { unit_id: gsel.value }; }), 'act.done');
    });
    esc.push(h('div', { class: 'muted small', i18n: 'act.dsog.hint' }));
    esc.push(h('div', { class: 'row' }, [gsel, gbtn]));
    if (disp) {
      var fsel = h('select', { tid: 'forward-unit', 'data-keep': 'forward' }, [h('option', { value: '', i18n: 'act.select_duty_unit' })].concat(refOptions('duty_units')));
      // By territorial affiliation: offer the duty unit of the card's district first.
      if (c.district) {
        var du = codes('duty_units').filter(function (code) { return code === 'du-' + c.district || code === c.district || code.split(/[-_]/).indexOf(c.district) >= 0; })[0];
        if (du) fsel.value = du;
      }
      var fbtn = h('button', { type: 'button', class: 'btn', tid: 'forward-btn', i18n: 'act.forward' });
      fbtn.addEventListener('click', function () {
        if (!fsel.value) { fsel.focus(); return; }
        run(fbtn, post('/forward', function () { return { duty_unit: fsel.value }; }), 'act.done');
      });
      esc.push(h('div', { class: 'row' }, [fsel, fbtn]));
    }
    groups.push(h('div', { class: 'act-group' }, esc));
  }
  var other = [h('div', { class: 'section-title', i18n: 'act.group.other' })];
  if ((disp || ct) && open) {
    var cin = h('input', { type: 'text', tid: 'cancel-reason', ph: 'act.cancel.ph', 'data-keep': 'cancel' });
    var xbtn = h('button', { type: 'button', class: 'btn btn-ghost', tid: 'cancel-btn', i18n: 'act.cancel' });
    xbtn.addEventListener('click', function () {
      if (!cin.value.trim()) { cin.focus(); return; }
      run(xbtn, post('/cancel', function () { return { reason: cin.value.trim() }; }), 'act.done');
    });
    other.push(h('div', { class: 'row' }, [cin, xbtn]));
    var others = Object.keys(S.cards).map(function (k) { return S.cards[k]; })
      .filter(function (o) { return o.id !== c.id && !isTerminal(o.status); })
      .sort(function (a, b) { return (b.created_at || 0) - (a.created_at || 0); });
    if (others.length) {
      var dupSel = h('select', { tid: 'duplicate-of', 'data-keep': 'dup' }, [h('option', { value: '', i18n: 'act.select_card' })].concat(
        others.map(function (o) { return h('option', { value: o.id, data: o.number + ' · ' + (cardAddress(o) || '') }); })));
      var dupBtn = h('button', { type: 'button', class: 'btn btn-ghost', tid: 'duplicate-btn', i18n: 'act.duplicate' });
      dupBtn.addEventListener('click', function () {
        if (!dupSel.value) { dupSel.focus(); return; }
        run(dupBtn, post('/link-duplicate', function () { return { duplicate_of: dupSel.value }; }), 'act.done');
      });
      other.push(h('div', { class: 'row' }, [dupSel, dupBtn]));
    }
    // Not an emergency after all: the card's text becomes a citizen's appeal (R05), once.
    var linked = (c.timeline || []).some(function (e) { return e.kind === 'appeal_linked'; });
    if (!linked && c.description) {
      var abtn = h('button', { type: 'button', class: 'btn btn-ghost', tid: 'to-appeal-btn', i18n: 'act.to_appeal', tip: 'act.to_appeal.hint' });
      // The answer is the appeal, not the card: reload the card (its timeline shows the link).
      abtn.addEventListener('click', function () {
        run(abtn, function () { return post('/appeal')().then(function () { return null; }); }, 'act.to_appeal.done');
      });
      other.push(h('div', { class: 'row' }, [abtn]));
    }
  }
  if (isStaff()) {
    var nin = h('input', { type: 'text', tid: 'note-text', ph: 'act.note.ph', 'data-keep': 'note' });
    var nbtn = h('button', { type: 'button', class: 'btn btn-ghost', tid: 'note-btn', i18n: 'act.note' });
    nbtn.addEventListener('click', function () {
      if (!nin.value.trim()) { nin.focus(); return; }
      run(nbtn, post('/notes', function () { return { text: nin.value.trim() }; }), null, ['note']);
    });
    other.push(h('div', { class: 'row' }, [nin, nbtn]));
  }
  if (other.length > 1) groups.push(h('div', { class: 'act-group' }, other));
  return groups;
}
