/* The region's reports (R32, seed 004 p.32, 1-ОЛ section 5 = Приложение 2): a month picker
   (the last closed month by default), section 5 "Личный прием" of report 1-ОЛ for it —
   cumulative from January, the seed's row and column headings in the user's language
   (GET /reports/1-ol/headings), the due day (the 10th of the next month, or the next working
   day), the mark that sections 1–4 are not in the seeds — the server's refusals (a month not
   begun or not over, a year the calendar lacks) in kk/ru, printing and the XLSX. */
import { api, showError } from '../../kit/api.js';
import { applyLang } from '../../kit/i18n.js';
import { clear, dataText, h } from '../../kit/dom.js';
import { fileButton, fmtDay } from './appeal_detail.js';
import { printAlone } from './reception.js';

/* The last month that is over, by the browser's clock. */
export function lastClosedMonth(now) {
  var y = now.getFullYear();
  var m = now.getMonth(); // 0-based: the previous month's 1-based number
  return m === 0 ? { year: y - 1, month: 12 } : { year: y, month: m };
}

function sectionTable(report, hd) {
  var cols = hd.columns;
  var top = [h('th', { rowspan: '2' }, h('span', { names: hd.row_names }))];
  var second = [];
  cols.forEach(function (c, i) {
    if (!c.group) { top.push(h('th', { rowspan: '2' }, h('span', { names: c.title }))); return; }
    var prev = cols[i - 1];
    if (!prev || !prev.group || prev.group.ru !== c.group.ru) {
      var span = 0;
      for (var j = i; j < cols.length && cols[j].group && cols[j].group.ru === c.group.ru; j++) span++;
      top.push(h('th', { colspan: String(span) }, h('span', { names: c.group })));
    }
    second.push(h('th', null, h('span', { names: c.title })));
  });
  var numbers = h('tr', { class: 'muted small' }, [h('td', null, dataText('1'))].concat(cols.map(function (c, i) { return h('td', null, dataText(String(i + 2))); })));
  function row(name, cells, tid) {
    return h('tr', { tid: tid }, [h('td', null, name)].concat(cols.map(function (c) {
      return h('td', { class: 'num', 'data-col': c.key }, dataText(String(cells[c.key])));
    })));
  }
  return h('table', { class: 'tbl compact rp-table', tid: 'rp-table' }, [
    h('thead', null, [h('tr', null, top), h('tr', null, second)]),
    h('tbody', null, [numbers].concat(report.section5.rows.map(function (r) {
      return row(h('span', { names: { kk: r.body.name_kk, ru: r.body.name_ru } }), r.cells, 'rp-row');
    }), [row(h('b', null, h('span', { names: hd.total_row })), report.section5.total, 'rp-total')]))]);
}

export function ReportsView(panel) {
  var headings = null;
  var def = lastClosedMonth(new Date());
  var year = h('input', { type: 'number', tid: 'rp-year', min: '2000', max: '9998', value: String(def.year), class: 'rp-year' });
  var month = h('select', { tid: 'rp-month' }, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12].map(function (m) { return h('option', { value: String(m), i18n: 'rp.month.' + m }); }));
  month.value = String(def.month);
  var err = h('div', { class: 'error', tid: 'rp-error', style: 'display:none', role: 'alert' });
  var body = h('div', { class: 'box rp-report', tid: 'rp-report', style: 'display:none' });
  var show = h('button', { type: 'submit', class: 'btn btn-primary', tid: 'rp-show', i18n: 'rp.show' });
  var form = h('form', { class: 'box row no-print', tid: 'rp-form' }, [h('span', { class: 'section-title', i18n: 'rp.title' }),
    h('label', { i18n: 'rp.year' }), year, h('label', { i18n: 'rp.month' }), month, show]);
  panel.appendChild(form);
  panel.appendChild(err);
  panel.appendChild(body);
  form.addEventListener('submit', function (ev) { ev.preventDefault(); load(); });

  function render(report, y, m) {
    clear(body);
    var query = '?year=' + y + '&month=' + m;
    var print = h('button', { type: 'button', class: 'btn btn-sm', tid: 'rp-print', i18n: 'forms.print' });
    print.addEventListener('click', function () { printAlone(body); });
    body.appendChild(h('div', { class: 'row no-print' }, [print,
      fileButton({ path: '/reports/1-ol.xlsx' + query, name: '1-ol-' + y + '-' + (m < 10 ? '0' : '') + m + '.xlsx', tid: 'rp-xlsx', i18n: 'rp.xlsx' })]));
    body.appendChild(h('div', { class: 'rp-title' }, h('b', null, h('span', { names: headings.title }))));
    body.appendChild(h('div', { class: 'kv' }, [h('span', { class: 'k', i18n: 'rp.period' }), h('span', { class: 'v', tid: 'rp-period' }, dataText(fmtDay(report.from) + ' — ' + fmtDay(report.to)))]));
    body.appendChild(h('div', { class: 'kv' }, [h('span', { class: 'k', i18n: 'rp.due_on' }), h('span', { class: 'v', tid: 'rp-due', 'data-day': report.due_on }, dataText(fmtDay(report.due_on)))]));
    if (report.incomplete) body.appendChild(h('div', { class: 'warn small', tid: 'rp-incomplete', i18n: 'rp.incomplete' }));
    body.appendChild(h('div', { class: 'section-title' }, h('span', { names: headings.section5 })));
    body.appendChild(h('div', { class: 'muted small' }, h('span', { names: headings.rows })));
    body.appendChild(sectionTable(report, headings));
    body.style.display = '';
    applyLang(body);
  }
  function load() {
    var y = Number(year.value);
    var m = Number(month.value);
    showError(err, null);
    var hd = headings ? Promise.resolve(headings) : api('GET', '/reports/1-ol/headings');
    Promise.all([hd, api('GET', '/reports/1-ol?year=' + encodeURIComponent(y) + '&month=' + m)]).then(function (r) {
      headings = r[0];
      render(r[1], y, m);
    }, function (e) { body.style.display = 'none'; showError(err, e); });
  }
  var shown = false;
  return { onShow: function () { if (!shown) { shown = true; load(); } } };
}
