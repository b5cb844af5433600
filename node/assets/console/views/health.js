/* The node's health for its administrators (GET /admin/health): replication to central, the
   data disk, owed SOS callbacks, call recordings and overdue appeals, each with its level (norm,
   attention, critical) as the shipped Prometheus alerts judge them. The server sends codes and
   figures; the texts are `health.<code>` in the user's language. Refreshed every
   HEALTH_REFRESH_MS while the tab is shown. */
import { fmtDateTime } from '../state.js';
import { api, showError } from '../../kit/api.js';
import { applyLang } from '../../kit/i18n.js';
import { clear, dataText, h, tx } from '../../kit/dom.js';

/* How often the shown tab asks again, ms. */
var HEALTH_REFRESH_MS = 10000;
var GIB = 1024 * 1024 * 1024;

function gib(bytes) { return (bytes / GIB).toFixed(1).replace('.', ','); }
function when(ms) { return ms ? dataText(fmtDateTime(ms), 'mono') : tx('none', 'muted'); }

/* The figures of a check, after its text. */
function figures(c) {
  var p = c.params || {};
  switch (c.code) {
    case 'replication_connected': return [dataText(p.central, 'mono'), ' · ', tx('health.last_contact'), ' ', when(p.last_contact_ms)];
    case 'replication_cut_off': return [dataText(p.central, 'mono'), ' · ', tx('health.last_contact'), ' ', when(p.last_contact_ms)];
    case 'replication_never_connected': return [dataText(p.central, 'mono')];
    case 'replication_stalled': return [dataText(p.central, 'mono'), ' · ', tx('health.since'), ' ', when(p.since_ms)];
    case 'disk_space': return [
      tx('health.free'), ' ', dataText(gib(p.available_bytes), 'mono b'), ' ', tx('health.gib'), ' ', tx('health.of'), ' ',
      dataText(gib(p.size_bytes), 'mono'), ' ', tx('health.gib'), ' (', dataText(String(p.free_percent), 'mono b'), '%) · ',
      tx('health.database'), ' ', dataText(gib(p.store_bytes), 'mono'), ' ', tx('health.gib')
    ];
    case 'disk_unknown': return [tx('health.database'), ' ', dataText(gib(p.store_bytes), 'mono'), ' ', tx('health.gib')];
    case 'sos_callbacks': return [tx('health.owed'), ' ', dataText(String(p.owed), 'mono b'), ' · ', tx('health.live_calls'), ' ', dataText(String(p.live_calls), 'mono')];
    case 'recordings': return [tx('health.problems'), ' ', dataText(String(p.problems), 'mono b')];
    case 'appeals_overdue': return [tx('health.count'), ' ', dataText(String(p.count), 'mono b')];
    default: return [];
  }
}

export function HealthView(panel) {
  var err = h('div', { class: 'error', tid: 'health-error', style: 'display:none', role: 'alert' });
  var head = h('div', { class: 'muted', tid: 'health-head' });
  var list = h('div', { tid: 'health-checks' });
  panel.appendChild(h('div', { class: 'box' }, [
    h('div', { class: 'section-title', i18n: 'health.title' }), head, err, list
  ]));
  var timer = null;
  function render(d) {
    clear(head).appendChild(h('span', null, [
      tx('health.version'), ' ', dataText(d.version, 'mono'), ' · ', tx('health.region'), ' ', dataText(d.region, 'mono'),
      ' · ', tx('health.as_of'), ' ', dataText(fmtDateTime(d.now_ms), 'mono')
    ]));
    clear(list);
    d.checks.forEach(function (c) {
      list.appendChild(h('div', { class: 'health-check health-' + c.level, tid: 'health-check', 'data-code': c.code, 'data-level': c.level }, [
        h('span', { class: 'badge health-level', i18n: 'health.level.' + c.level }), ' ',
        h('span', { class: 'b', i18n: 'health.' + c.code }), ' ',
        h('span', { class: 'health-figures' }, figures(c))
      ]));
    });
    applyLang(panel);
  }
  function load() {
    return api('GET', '/admin/health').then(function (d) { showError(err, null); render(d); })
      .catch(function (e) { if (e.status !== 401) showError(err, e); });
  }
  return {
    onShow: function () {
      load();
      if (!timer) {
        timer = setInterval(function () {
          if (panel.style.display === 'none') return;
          load();
        }, HEALTH_REFRESH_MS);
      }
    }
  };
}
