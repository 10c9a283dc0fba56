// The console's only script (no inline scripts, so a strict `script-src 'self'` policy works).
// Pages work without it; it adds the CSRF header to htmx requests and draws the dashboard's charts
// from the data the server put in data-* attributes (the same numbers are in the tables beside them).
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  document.addEventListener("htmx:configRequest", function (event) {
    if (meta) { event.detail.headers["X-CSRF-Token"] = meta.content; }
  });

  var palette = ["#0b5cad", "#1a7f37", "#b3261e", "#8250df", "#bf8700", "#0a7ea4", "#cf222e", "#57606a"];

  function draw(canvas) {
    if (typeof Chart === "undefined" || canvas.dataset.drawn) { return; }
    var data;
    try { data = JSON.parse(canvas.dataset.chart); } catch (e) { return; }
    canvas.dataset.drawn = "1";
    var kind = canvas.dataset.kind || "bar";
    var datasets = data.series.map(function (s, i) {
      var colour = kind === "doughnut" ? palette : palette[i % palette.length];
      return { label: s.label, data: s.values, backgroundColor: colour, borderColor: colour, fill: false, tension: 0.2 };
    });
    new Chart(canvas, {
      type: kind,
      data: { labels: data.labels, datasets: datasets },
      options: { responsive: true, maintainAspectRatio: false, animation: false, plugins: { legend: { display: datasets.length > 1 || kind === "doughnut" } } }
    });
  }

  function drawAll() {
    document.querySelectorAll("canvas[data-chart]").forEach(draw);
  }
  document.addEventListener("DOMContentLoaded", drawAll);
  document.addEventListener("htmx:afterSwap", drawAll);
})();
