/* Coordinators' dashboard: each chart is drawn from the table beside it, so the chart, the
 * table and the CSV show the same rows. The table carries data-chart (bar | line), and
 * data-series (the value columns); the first column holds the labels. The flow map reads
 * the flows table's rows (data-from, data-to: country centroids; data-count) and draws a
 * line per flow; tooltips are DOM nodes filled with textContent, never parsed as HTML.
 */
(function () {
  'use strict';

  function cellNumber(cell) {
    var value = parseFloat((cell && cell.textContent || '').replace(/,/g, ''));
    return isFinite(value) ? value : 0;
  }

  var PALETTE = ['#0d6efd', '#dc3545', '#198754', '#fd7e14', '#6f42c1', '#20c997', '#6c757d'];
  // Axis labels: long names (KET areas, categories, labs) are wrapped onto at most two
  // lines of LABEL_LINE characters and cut with "…"; the tooltip and the table beside the
  // chart show the whole name.
  var LABEL_LINE = 22;

  function wrapLabel(text) {
    var words = String(text).split(/\s+/);
    var lines = [''];
    words.forEach(function (word) {
      var last = lines.length - 1;
      if (!lines[last]) { lines[last] = word; } else if ((lines[last] + ' ' + word).length <= LABEL_LINE) {
        lines[last] += ' ' + word;
      } else { lines.push(word); }
    });
    if (lines.length > 2) { lines = [lines[0], lines.slice(1).join(' ')]; }
    lines = lines.map(function (line) {
      return line.length > LABEL_LINE ? line.slice(0, LABEL_LINE - 1) + '…' : line;
    });
    return lines.length === 1 ? lines[0] : lines;
  }

  function drawChart(canvas) {
    var table = document.getElementById(canvas.dataset.chartFor);
    if (!table || !window.Chart) { return; }
    var kind = table.dataset.chart || 'bar';
    var series = (table.dataset.series || '1').split(',').map(Number);
    var heads = table.querySelectorAll('thead th');
    var rows = Array.prototype.slice.call(table.querySelectorAll('tbody tr:not(.empty)'));
    if (kind === 'bar' && rows.length > 20) { rows = rows.slice(0, 20); }
    var names = rows.map(function (tr) { return tr.cells[0].textContent; });
    // A month or week counted only in part (data-partial): a dashed line to it, a hollow
    // point and a lighter bar, so the current month "to date" does not read as a collapse.
    var partial = rows.map(function (tr) { return tr.dataset.partial === '1'; });
    var datasets = series.map(function (col, i) {
      var colour = PALETTE[i % PALETTE.length];
      return {
        label: heads[col] ? heads[col].textContent : '',
        data: rows.map(function (tr) { return cellNumber(tr.cells[col]); }),
        backgroundColor: partial.map(function (p) { return p ? colour + '55' : colour; }),
        borderColor: colour,
        pointBackgroundColor: partial.map(function (p) { return p ? '#fff' : colour; }),
        segment: {
          borderDash: function (ctx) {
            return partial[ctx.p0DataIndex] || partial[ctx.p1DataIndex] ? [6, 4] : undefined;
          }
        },
        fill: false,
        tension: 0.2
      };
    });
    var indexAxis = kind === 'bar' && names.length > 8 ? 'y' : 'x';
    var ticks = {
      autoSkip: indexAxis === 'x',
      callback: function (value) { return wrapLabel(this.getLabelForValue(value)); }
    };
    var scales = {};
    scales[indexAxis] = { ticks: ticks };
    new window.Chart(canvas, {
      type: kind,
      data: { labels: names, datasets: datasets },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        indexAxis: indexAxis,
        scales: scales,
        plugins: {
          legend: { display: datasets.length > 1 },
          tooltip: { callbacks: { title: function (items) {
            return items.length ? names[items[0].dataIndex] : '';
          } } }
        }
      }
    });
    canvas.dataset.state = 'ready';
  }

  function point(text) {
    var parts = (text || '').split(',').map(parseFloat);
    return parts.length === 2 && isFinite(parts[0]) && isFinite(parts[1]) ? parts : null;
  }

  function drawFlows(el) {
    if (!window.L) { return; }
    var table = document.getElementById(el.dataset.table);
    if (!table) { return; }
    var map = L.map(el, { scrollWheelZoom: false }).setView([50, 10], 4);
    if (el.dataset.tileUrl) {
      L.tileLayer(el.dataset.tileUrl, {
        attribution: el.dataset.tileAttribution || '', maxZoom: 10
      }).addTo(map);
    }
    var rows = table.querySelectorAll('tbody tr[data-from]');
    var max = 1;
    rows.forEach(function (tr) { max = Math.max(max, parseFloat(tr.dataset.count) || 0); });
    var drawn = 0;
    var bounds = [];
    rows.forEach(function (tr) {
      var a = point(tr.dataset.from);
      var b = point(tr.dataset.to);
      var n = parseFloat(tr.dataset.count) || 0;
      if (!a || !b || !n) { return; }
      bounds.push(a, b);
      var label = document.createElement('div');
      label.textContent = tr.cells[0].textContent + ' → ' + tr.cells[2].textContent + ': ' +
        tr.cells[6].textContent;
      var weight = 1 + 9 * n / max;
      if (a[0] === b[0] && a[1] === b[1]) {
        L.circleMarker(a, { radius: 3 + weight, color: '#6c757d', weight: 2 })
          .bindTooltip(label).addTo(map);
      } else {
        L.polyline([a, b], { weight: weight, color: '#dc3545', opacity: 0.6 })
          .bindTooltip(label).addTo(map);
        L.circleMarker(b, { radius: 3, color: '#dc3545' }).addTo(map);
      }
      drawn += 1;
    });
    if (bounds.length) { map.fitBounds(bounds, { padding: [20, 20], maxZoom: 6 }); }
    el.dataset.state = 'ready';
    el.dataset.lines = String(drawn);
  }

  function start() {
    document.querySelectorAll('canvas[data-chart-for]').forEach(drawChart);
    document.querySelectorAll('#flow-map[data-table]').forEach(drawFlows);
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
}());
