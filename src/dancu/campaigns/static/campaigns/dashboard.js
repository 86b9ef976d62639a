// Campaign dashboards: the trend charts (Chart.js, served from our own static files) and sortable tables.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("chart-data").textContent);

  function chart(canvas) {
    var metric = data.metrics[Number(canvas.dataset.chart)];
    var datasets = [
      { type: "bar", label: data.names.daily, data: metric.daily, backgroundColor: "#9cc3ae", yAxisID: "daily", order: 2 },
      { type: "line", label: data.names.cumulative, data: metric.cumulative, borderColor: "#1f6f43", backgroundColor: "#1f6f43", yAxisID: "total", pointRadius: 2, order: 1 }
    ];
    if (metric.expected.length) {
      datasets.push({ type: "line", label: data.names.expected, data: metric.expected, borderColor: "#a12a1c", borderDash: [6, 4], pointRadius: 0, yAxisID: "total", order: 0 });
    }
    new Chart(canvas, {
      data: { labels: data.labels, datasets: datasets },
      options: {
        locale: data.locale, // 1.234.567 in Vietnamese, 1,234,567 in English
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          daily: { position: "right", beginAtZero: true, grid: { display: false } },
          total: { position: "left", beginAtZero: true }
        }
      }
    });
  }

  function sortBy(table, header) {
    var index = Array.prototype.indexOf.call(header.parentNode.children, header);
    var numeric = header.dataset.sort === "number";
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[index].dataset.value, y = b.cells[index].dataset.value;
      var order = numeric ? parseFloat(x) - parseFloat(y) : x.localeCompare(y, data.locale);
      return ascending ? order : -order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    Array.prototype.forEach.call(header.parentNode.children, function (th) { th.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }

  if (window.Chart) {
    document.querySelectorAll("canvas[data-chart]").forEach(chart);
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    table.querySelectorAll("th[data-sort] button").forEach(function (button) {
      button.addEventListener("click", function () { sortBy(table, button.parentNode); });
    });
  });
})();
