/* horde charts: requests/s and failures/s, p50/p95/p99 latency, users (and the plan's target
 * users), iterations/s against the target rate (the open model only), over the whole test.
 *
 * Shared by the live UI (static/app.js) and the HTML report (inlined there), so both
 * draw the same charts. Needs uPlot (vendored in static/vendor/) loaded first.
 *
 * History is columnar, as /api/history sends it:
 *   {t: [test seconds], rps: [], fail_per_s: [], p50: [], p95: [], p99: [], users: [],
 *    target_users: [], target_rate: [], iterations: []}
 * The arrays are used as they are (no copy); null values are gaps, and a column that is
 * missing (an older report) is drawn as gaps. A chart marked `optional` is shown only
 * while one of its series has a value (the open model's iterations chart).
 */
(function (global) {
  "use strict";

  var SPECS = [
    { title: "Requests per second",
      series: [["rps", "Requests/s", "#2f6fdf"], ["fail_per_s", "Failures/s", "#c62828"]] },
    { title: "Response times (ms, sliding 10 s window)",
      series: [["p50", "p50", "#1b7f3b"], ["p95", "p95", "#e08a00"], ["p99", "p99", "#8e24aa"]] },
    { title: "Users",
      series: [["users", "Users", "#18202c"], ["target_users", "Target users", "#9aa5b1", [6, 4]]] },
    { title: "Iterations per second (open model)", optional: true,
      series: [["iterations", "Iterations/s", "#2f6fdf"],
               ["target_rate", "Target iterations/s", "#9aa5b1", [6, 4]]] }
  ];

  var X_INCRS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400,
                 21600, 43200, 86400];

  function fmtT(s) {
    if (s == null) return "–";
    s = Math.round(s);
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    var mm = (h ? String(m).padStart(2, "0") : String(m)), ss = String(sec).padStart(2, "0");
    return (h ? h + ":" : "") + mm + ":" + ss;
  }

  function fmtV(v) {
    if (v == null) return "–";
    return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
  }

  function dataFor(spec, hist) {
    var t = hist.t || [];
    var out = [t];
    spec.series.forEach(function (s) {
      var col = hist[s[0]];
      if (!col) { col = new Array(t.length); for (var i = 0; i < t.length; i++) col[i] = null; }
      out.push(col);
    });
    return out;
  }

  function hasValues(spec, hist) {
    return spec.series.some(function (s) {
      var col = hist[s[0]] || [];
      for (var i = 0; i < col.length; i++) if (col[i] != null) return true;
      return false;
    });
  }

  function optionsFor(spec, width) {
    var series = [{ label: "time", value: function (u, v) { return fmtT(v); } }];
    spec.series.forEach(function (s) {
      var one = { label: s[1], stroke: s[2], width: 1.5,
                  value: function (u, v) { return fmtV(v); } };
      if (s[3]) one.dash = s[3];  // the plan's target: dashed, beside what ran
      series.push(one);
    });
    return {
      width: width, height: 220, series: series,
      scales: { x: { time: false } },
      axes: [
        // Whole seconds only: ticks at 1 s, 2 s, 5 s, ... 1 h apart.
        { incrs: X_INCRS, values: function (u, vals) { return vals.map(fmtT); } },
        { size: 60 }
      ]
    };
  }

  function HordeCharts(container, hist) {
    this.container = container;
    this.plots = [];
    this.boxes = [];
    var width = this.width();
    for (var i = 0; i < SPECS.length; i++) {
      var box = document.createElement("div");
      box.className = "chart";
      var h = document.createElement("h3");
      h.textContent = SPECS[i].title;
      box.appendChild(h);
      container.appendChild(box);
      if (SPECS[i].optional) box.hidden = !hasValues(SPECS[i], hist);
      this.boxes.push(box);
      this.plots.push(new global.uPlot(optionsFor(SPECS[i], width), dataFor(SPECS[i], hist), box));
    }
  }

  HordeCharts.prototype.width = function () {
    var w = this.container.clientWidth - 20;
    return w > 200 ? w : 800;
  };

  HordeCharts.prototype.update = function (hist) {
    for (var i = 0; i < this.plots.length; i++) {
      if (SPECS[i].optional) this.boxes[i].hidden = !hasValues(SPECS[i], hist);
      this.plots[i].setData(dataFor(SPECS[i], hist));
    }
  };

  HordeCharts.prototype.resize = function () {
    var w = this.width();
    this.plots.forEach(function (p) { p.setSize({ width: w, height: 220 }); });
  };

  HordeCharts.fmtT = fmtT;
  HordeCharts.SPECS = SPECS;
  global.HordeCharts = HordeCharts;
})(window);
