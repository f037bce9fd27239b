/* horde web UI: the live page. No framework, no build step.
 *
 * State arrives over the WebSocket /ws (the server pushes it at least once a second,
 * one message for all the page, never one per request). Tables are columnar in the
 * message and rendered as one innerHTML string per update, only for the visible tab,
 * so 500 endpoints stay smooth. The chart history is fetched whole from /api/history
 * on load (and after a reset), then extended with the tail each message carries.
 * Actions are POSTs to the JSON API; its errors ({"error": ...}) are shown as they are.
 */
(function () {
  "use strict";

  var $ = function (id) { return document.getElementById(id); };
  var HIST_KEYS = ["t", "rps", "fail_per_s", "p50", "p95", "p99", "users",
                   "target_users", "target_rate", "iterations"];
  var hist = emptyHist();
  var charts = null;
  var last = null;
  var activeTab = "stats";
  var sortKey = null, sortDir = 1;
  var fetchingHist = false;
  var wantStartForm = false;
  var editOpen = false;
  var modelChosen = false;  // the person picked a model: the state no longer preselects one

  function emptyHist() {
    var h = {};
    HIST_KEYS.forEach(function (k) { h[k] = []; });
    return h;
  }

  // --- formatting ---------------------------------------------------------------------
  var ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" };
  function esc(s) { return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) { return ESC[c]; }); }
  function int(v) { return v == null ? "–" : Math.round(v).toLocaleString("en-US"); }
  function ms(v) {
    if (v == null) return "–";
    return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
  }
  function rate(v) { return v == null ? "–" : v >= 100 ? v.toFixed(0) : v.toFixed(1); }
  function ago(v) {
    if (v == null) return "–";
    if (typeof v === "number") return v.toFixed(1) + " s ago";
    return esc(v);
  }

  // --- the API --------------------------------------------------------------------------
  function post(path, body) {
    return fetch(path, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body || {})
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) throw new Error(data.error || ("HTTP " + r.status));
        return data;
      });
    });
  }

  function showError(id, err) {
    var el = $(id);
    if (err) { el.textContent = String(err.message || err); el.hidden = false; }
    else { el.textContent = ""; el.hidden = true; }
  }

  // --- rendering ------------------------------------------------------------------------
  function render(s) {
    last = s;
    var running = s.state === "running" || s.state === "spawning";
    $("state").textContent = s.state;
    $("state").className = "value state-" + s.state;
    $("host").textContent = s.host || "–";
    $("users").textContent = running && s.target_users !== s.users
      ? s.users + " → " + s.target_users : String(s.users);
    $("workers-count").textContent = s.workers.length ? String(s.workers.length) : "local";
    $("rps").textContent = rate(s.total.current_rps);
    $("fail-pct").textContent = (s.total.fail_pct || 0) + "%";
    var a = s.arrival;  // the open model only
    $("arrival-box").hidden = $("dropped-box").hidden = !a;
    if (a) {
      $("arrival-rate").textContent = rate(a.current_rate) + " / " + rate(a.target_rate);
      $("dropped").textContent = String(a.dropped_iterations);
    }

    renderModel(s.model || "users", s.shape);
    // Only -u/-r can change while a test runs; stages, a shape, the open model decide.
    $("edit-btn").hidden = !running || s.model !== "users";
    $("stop-btn").hidden = !running;
    $("reset-btn").hidden = !(running || s.state === "stopped");
    $("new-btn").hidden = s.state !== "stopped" || wantStartForm;
    $("start-panel").hidden = !(s.state === "ready" || (s.state === "stopped" && wantStartForm));
    if (!running) editOpen = false;
    $("edit-panel").hidden = !editOpen;

    renderBanner(s.health);
    renderChecks(s.checks || []);
    var nf = s.errors.error.length, ne = s.exceptions.error.length;
    $("failures-n").textContent = nf ? String(nf) : "";
    $("exceptions-n").textContent = ne ? String(ne) : "";
    renderTab();
    mergeHistory(s);
  }

  // --- the start form's load models ---------------------------------------------------
  function showModel(name) {
    document.querySelectorAll("#start-form fieldset.model").forEach(function (fs) {
      var off = fs.dataset.model !== name;
      fs.hidden = off; fs.disabled = off;  // disabled: its required fields are not checked
    });
  }

  function renderModel(model, shape) {
    var shaped = !!shape;
    $("shape-note").hidden = !shaped;
    $("shape-name").textContent = shape || "";
    $("model-label").hidden = shaped;
    if (shaped) { showModel(null); return; }
    if (!modelChosen && model !== "shape") {
      $("model-input").value = model;
    }
    showModel($("model-input").value);
  }

  function startBody() {
    var body = { host: $("host-input").value.trim() || null,
                 run_time: $("runtime-input").value.trim() || null };
    if (last && last.shape) {
      body.model = "shape";
      return body;
    }
    var model = $("model-input").value;
    body.model = model;
    if (model === "users") {
      body.users = numberOf("users-input"); body.spawn_rate = numberOf("rate-input");
    } else if (model === "stages") {
      body.stages = $("stages-input").value.trim();
    } else {
      body.arrival_rate = numberOf("arrival-rate-input");
      body.arrival_stages = $("arrival-stages-input").value.trim() || null;
      body.users = numberOf("max-users-input");
      body.max_lateness = $("max-lateness-input").value.trim() || null;
    }
    return body;
  }

  $("model-input").addEventListener("change", function () {
    modelChosen = true;
    showModel($("model-input").value);
  });

  function renderBanner(h) {
    var items = h.warnings.slice();
    h.run_warnings.forEach(function (w) { if (items.indexOf(w) < 0) items.push("earlier in this run: " + w); });
    var el = $("health-banner");
    if (!items.length) { el.hidden = true; el.innerHTML = ""; return; }
    el.innerHTML = "<strong>The load generator is struggling; latency figures are suspect.</strong><ul>" +
      items.map(function (w) { return "<li>" + esc(w) + "</li>"; }).join("") + "</ul>";
    el.hidden = false;
  }

  // --check thresholds, judged on the figures so far (final once the test has stopped).
  function renderChecks(checks) {
    var el = $("checks-bar");
    if (!checks.length) { el.hidden = true; el.innerHTML = ""; return; }
    var failed = checks.filter(function (c) { return !c.ok; }).length;
    el.innerHTML = "<span class=\"label\">checks</span>" + checks.map(function (c) {
      var verdict = c.ok ? "passed" : (c.aborted ? "failed, stopped the run" : "failing");
      return "<span class=\"check " + (c.ok ? "ok" : "failed") + "\" title=\"" + esc(verdict) +
        "\">" + (c.ok ? "✓ " : "✗ ") + esc(c.expr) + " <span class=\"value\">(" + esc(c.text) +
        (c.aborted ? "; stopped the run" : "") + ")</span></span>";
    }).join("");
    el.className = "checks" + (failed ? " has-failed" : "");
    el.hidden = false;
  }

  var renderMs = 0;
  function renderTab() {
    if (!last) return;
    var t0 = performance.now();
    if (activeTab === "stats") renderStats(last);
    else if (activeTab === "failures") renderFailures(last);
    else if (activeTab === "exceptions") renderExceptions(last);
    else if (activeTab === "workers") renderWorkers(last);
    renderMs = performance.now() - t0;
  }

  function order(cols, n) {
    var idx = new Array(n);
    for (var i = 0; i < n; i++) idx[i] = i;
    if (sortKey && cols[sortKey]) {
      var col = cols[sortKey], dir = sortDir;
      idx.sort(function (a, b) {
        var x = col[a], y = col[b];
        if (x === y) return a - b;
        if (x == null) return 1;
        if (y == null) return -1;
        return (x < y ? -1 : 1) * dir;
      });
    }
    return idx;
  }

  function renderStats(s) {
    var e = s.endpoints, n = e.name.length, idx = order(e, n), out = new Array(n);
    for (var k = 0; k < n; k++) {
      var i = idx[k];
      out[k] = "<tr><td>" + esc(e.method[i]) + "</td><td class=\"name\">" + esc(e.name[i]) +
        "</td><td class=\"num\">" + int(e.requests[i]) +
        "</td><td class=\"num" + (e.failures[i] ? " fail" : "") + "\">" + int(e.failures[i]) +
        "</td><td class=\"num\">" + ms(e.p50[i]) + "</td><td class=\"num\">" + ms(e.p95[i]) +
        "</td><td class=\"num\">" + ms(e.p99[i]) + "</td><td class=\"num\">" + ms(e.max[i]) +
        "</td><td class=\"num\">" + int(e.avg_size[i]) + "</td><td class=\"num\">" +
        rate(e.current_rps[i]) + "</td></tr>";
    }
    $("stats-body").innerHTML = out.join("");
    var t = s.total;
    $("stats-total").innerHTML = "<tr><td></td><td class=\"name\">Aggregated</td><td class=\"num\">" +
      int(t.requests) + "</td><td class=\"num" + (t.failures ? " fail" : "") + "\">" + int(t.failures) +
      "</td><td class=\"num\">" + ms(t.p50) + "</td><td class=\"num\">" + ms(t.p95) +
      "</td><td class=\"num\">" + ms(t.p99) + "</td><td class=\"num\">" + ms(t.max) +
      "</td><td class=\"num\">" + int(t.avg_size) + "</td><td class=\"num\">" +
      rate(t.current_rps) + "</td></tr>";
  }

  function renderFailures(s) {
    var e = s.errors, out = [];
    for (var i = 0; i < e.error.length; i++) {
      out.push("<tr><td class=\"num\">" + int(e.occurrences[i]) + "</td><td>" + esc(e.method[i]) +
        "</td><td class=\"name\">" + esc(e.name[i]) + "</td><td>" + esc(e.error[i]) + "</td></tr>");
    }
    $("failures-body").innerHTML = out.join("");
    $("failures-more").hidden = !e.truncated;
    $("failures-more").textContent = e.truncated
      ? e.truncated + " more distinct failures: see the failures CSV download." : "";
  }

  function renderExceptions(s) {
    var e = s.exceptions, out = [];
    for (var i = 0; i < e.error.length; i++) {
      out.push("<tr><td class=\"num\">" + int(e.occurrences[i]) + "</td><td>" + esc(e.where[i]) +
        "</td><td>" + esc(e.error[i]) + "</td><td><pre>" + esc(e.traceback[i]) + "</pre></td></tr>");
    }
    $("exceptions-body").innerHTML = out.join("");
  }

  function pick(w, names) {
    for (var i = 0; i < names.length; i++) if (w[names[i]] != null) return w[names[i]];
    return null;
  }

  function renderWorkers(s) {
    var ws = s.workers;
    $("workers-none").hidden = ws.length > 0;
    $("workers-table").hidden = ws.length === 0;
    var out = [];
    for (var i = 0; i < ws.length; i++) {
      var w = ws[i];
      var mem = pick(w, ["memory_mb"]);
      if (mem == null) { var b = pick(w, ["memory_bytes", "rss_bytes"]); mem = b == null ? null : b / 1048576; }
      out.push("<tr class=\"" + (w.saturated ? "saturated" : "") + "\"><td>" +
        esc(pick(w, ["id", "worker_id", "name"])) + "</td><td>" + esc(pick(w, ["host", "hostname"])) +
        "</td><td>" + esc(pick(w, ["state"])) + "</td><td class=\"num\">" + int(pick(w, ["users"])) +
        "</td><td class=\"num\">" + rate(pick(w, ["rps", "current_rps"])) +
        "</td><td class=\"num\">" + rate(pick(w, ["spawn_rate"])) +
        "</td><td class=\"num\">" + rate(pick(w, ["cpu_percent", "cpu_percent_max"])) +
        "</td><td class=\"num\">" + ms(pick(w, ["loop_lag_p99_ms"])) +
        "</td><td class=\"num\">" + rate(mem) +
        "</td><td class=\"num\">" + ago(pick(w, ["heartbeat_age_s", "last_heartbeat_s", "last_heartbeat"])) +
        "</td></tr>");
    }
    $("workers-body").innerHTML = out.join("");
  }

  // --- history and charts ---------------------------------------------------------------
  function mergeHistory(s) {
    if (!s.history_len) {
      if (hist.t.length) { hist = emptyHist(); redraw(); }
      return;
    }
    if (hist.t.length && hist.t[0] !== s.history_t0) { refetchHistory(); return; }
    var tail = s.history_tail, lastT = hist.t.length ? hist.t[hist.t.length - 1] : -Infinity;
    var added = false;
    for (var i = 0; i < tail.t.length; i++) {
      if (tail.t[i] > lastT) {
        HIST_KEYS.forEach(function (k) { hist[k].push(tail[k][i]); });
        added = true;
      }
    }
    if (hist.t.length !== s.history_len) { refetchHistory(); return; }
    if (added) redraw();
  }

  function refetchHistory() {
    if (fetchingHist) return;
    fetchingHist = true;
    fetch("api/history").then(function (r) { return r.json(); }).then(function (h) {
      hist = h; redraw();
    }).catch(function () { /* the next message tries again */ }).then(function () {
      fetchingHist = false;
    });
  }

  function redraw() {
    if (activeTab !== "charts") return;
    if (!charts) charts = new window.HordeCharts($("charts"), hist);
    else charts.update(hist);
  }

  // --- tabs, sorting, forms ---------------------------------------------------------------
  function showTab(name) {
    activeTab = name;
    document.querySelectorAll(".tabs button").forEach(function (b) {
      b.classList.toggle("active", b.dataset.tab === name);
    });
    document.querySelectorAll("main .tab").forEach(function (sec) {
      sec.hidden = sec.id !== "tab-" + name;
    });
    if (name === "charts") {
      if (charts) { charts.resize(); charts.update(hist); } else redraw();
    }
    renderTab();
  }

  document.querySelectorAll(".tabs button").forEach(function (b) {
    b.addEventListener("click", function () { showTab(b.dataset.tab); });
  });

  document.querySelectorAll("#stats-table th[data-sort]").forEach(function (th) {
    th.addEventListener("click", function () {
      var key = th.dataset.sort;
      if (sortKey === key) sortDir = -sortDir;
      else { sortKey = key; sortDir = (key === "name" || key === "method") ? 1 : -1; }
      document.querySelectorAll("#stats-table th").forEach(function (x) { x.classList.remove("sorted"); });
      th.classList.add("sorted");
      renderTab();
    });
  });

  function numberOf(id) { var v = $(id).value.trim(); return v === "" ? null : Number(v); }

  $("start-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var body = startBody();
    showError("start-error", null);
    $("start-btn").disabled = true;
    post("api/start", body).then(function () {
      wantStartForm = false;
      hist = emptyHist(); redraw();
      $("start-panel").hidden = true;
    }).catch(function (err) { showError("start-error", err); }).then(function () {
      $("start-btn").disabled = false;
    });
  });

  $("edit-btn").addEventListener("click", function () {
    if (last) { $("edit-users").value = last.target_users; $("edit-rate").value = last.spawn_rate; }
    editOpen = true; showError("edit-error", null); $("edit-panel").hidden = false;
  });
  $("edit-cancel").addEventListener("click", function () { editOpen = false; $("edit-panel").hidden = true; });
  $("edit-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    showError("edit-error", null);
    post("api/update", { users: numberOf("edit-users"), spawn_rate: numberOf("edit-rate") })
      .then(function () { editOpen = false; $("edit-panel").hidden = true; })
      .catch(function (err) { showError("edit-error", err); });
  });

  function action(path) {
    showError("action-error", null);
    return post(path).catch(function (err) { showError("action-error", err); });
  }
  $("stop-btn").addEventListener("click", function () { action("api/stop"); });
  $("reset-btn").addEventListener("click", function () { action("api/reset"); });
  $("new-btn").addEventListener("click", function () {
    wantStartForm = true;
    if (last) render(last);
  });

  // --- start-up: the form's defaults, then the live connection -------------------------
  fetch("api/defaults").then(function (r) { return r.json(); }).then(function (d) {
    if (d.users != null) $("users-input").value = d.users;
    if (d.spawn_rate != null) $("rate-input").value = d.spawn_rate;
    if (d.host) $("host-input").value = d.host;
    if (d.run_time != null) $("runtime-input").value = d.run_time + "s";
    if (d.users != null) $("max-users-input").value = Math.max(1, d.users);
    if (d.stages) $("stages-input").value = d.stages;
    if (d.arrival_rate != null) $("arrival-rate-input").value = d.arrival_rate;
    if (d.arrival_stages) $("arrival-stages-input").value = d.arrival_stages;
    if (d.max_lateness != null) $("max-lateness-input").value = d.max_lateness + "s";
  }).catch(function () { /* keep the built-in defaults */ });

  var retry = 500;
  function connect() {
    var url = new URL("ws", window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    var ws = new WebSocket(url.href);
    ws.onopen = function () { retry = 500; $("conn").className = "conn"; $("conn").title = "live"; };
    ws.onmessage = function (ev) { render(JSON.parse(ev.data)); };
    ws.onclose = function () {
      $("conn").className = "conn down";
      $("conn").title = "disconnected; reconnecting";
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 5000);
    };
  }
  window.addEventListener("resize", function () { if (charts && activeTab === "charts") charts.resize(); });

  // For tests and the curious: the page's data, read-only by convention.
  window.horde = {
    history: function () { return hist; },
    state: function () { return last; },
    charts: function () { return charts; },
    renderMs: function () { return renderMs; }
  };

  connect();
})();
