// App page charts: fetches /api/v1/apps/{app}/series and draws them with uPlot; decisions are
// drawn as markers (their reason on hover and click). Redrawn every 15 s and on range change.
(function () {
  "use strict";
  const root = document.getElementById("charts");
  if (!root || !window.uPlot) return;
  const app = root.dataset.app;
  const status = document.getElementById("charts-status");
  const detail = document.getElementById("marker-detail");
  const palette = ["#5a3fc0", "#1f8a4c", "#c53030", "#b7791f", "#2b6cb0", "#805ad5", "#d53f8c", "#319795"];
  let range = "1h";
  let step = 60;
  let plots = [];

  function chart(title, t, columns, opts) {
    const box = document.createElement("div");
    box.className = "chart";
    box.dataset.chart = opts.id;
    const h = document.createElement("h3");
    h.textContent = title;
    box.appendChild(h);
    root.appendChild(box);
    const names = Object.keys(columns);
    if (names.length === 0 || t.length === 0) {
      const empty = document.createElement("div");
      empty.className = "empty";
      empty.textContent = opts.empty || "no data in this range yet";
      box.appendChild(empty);
      return;
    }
    const series = [{}].concat(names.map((n, i) => ({
      label: n, stroke: opts.colors && opts.colors[n] || palette[i % palette.length], width: 1.5,
      spanGaps: false, points: { show: opts.points && opts.points.includes(n) },
      dash: opts.dashed && opts.dashed.includes(n) ? [6, 4] : undefined,
    })));
    const data = [t].concat(names.map((n) => columns[n]));
    const width = Math.max(300, box.clientWidth - 12);
    // The x range covers the whole last bucket, so decisions made in it get a marker too.
    const scales = { x: { time: true, range: [t[0], t[t.length - 1] + step] } };
    const plot = new uPlot({ width, height: 200, series, scales, axes: [{}, { label: opts.unit || "" }],
      hooks: { draw: [(u) => drawMarkers(u, box)] } }, data, box);
    box.dataset.points = String(data.slice(1).reduce((n, col) => n + col.filter((v) => v != null).length, 0));
    plots.push(plot);
  }

  let markers = [];
  function drawMarkers(u, box) {
    box.querySelectorAll(".marker").forEach((m) => m.remove());
    const top = u.over.offsetTop, left = u.over.offsetLeft;
    for (const d of markers) {
      const x = u.valToPos(d.t, "x");
      if (!(x >= 0 && x <= u.over.clientWidth)) continue;
      const m = document.createElement("div");
      m.className = "marker" + (d.blocked ? " blocked" : d.dry_run ? " dry-run" : "");
      m.style.left = (left + x - 1) + "px";
      m.style.top = top + "px";
      m.style.height = u.over.clientHeight + "px";
      const state = d.blocked ? "blocked" : d.executed ? "executed" : d.dry_run ? "dry run" : "not executed";
      m.title = d.kind + " (" + state + "): " + d.reason;
      m.dataset.reason = d.reason;
      m.dataset.id = d.id;
      m.addEventListener("click", () => { detail.hidden = false; detail.textContent = m.title; });
      box.appendChild(m);
    }
  }

  function byType(traffic, field) {
    const out = {};
    for (const [ty, tr] of Object.entries(traffic)) {
      if (tr[field].some((v) => v != null)) out[ty] = tr[field];
    }
    return out;
  }

  function draw(s) {
    plots.forEach((p) => p.destroy());
    plots = [];
    root.innerHTML = "";
    markers = s.decisions;
    step = s.step_seconds;
    chart("Dynos per process type", s.t, s.dynos, { id: "dynos", unit: "dynos" });
    const memory = Object.assign({}, s.memory_mb);
    if (s.memory_quota_mb != null) memory["quota"] = s.t.map(() => s.memory_quota_mb);
    const rErrors = {};
    for (const tr of Object.values(s.traffic)) {
      for (const code of ["R14", "R15"]) {
        if (tr.errors[code]) rErrors[code] = tr.errors[code].map((c) => (c ? s.memory_quota_mb || 0 : null));
      }
    }
    chart("Memory per dyno (MB) vs quota, R14/R15 marked", s.t, Object.assign(memory, rErrors),
      { id: "memory", unit: "MB", dashed: ["quota"], points: ["R14", "R15"], colors: { quota: "#c53030", R14: "#b7791f", R15: "#c53030" } });
    chart("Requests per minute", s.t, byType(s.traffic, "requests_per_min"), { id: "requests", unit: "req/min" });
    const lat = {};
    for (const [ty, tr] of Object.entries(s.traffic)) {
      if (tr.p95_service_ms.some((v) => v != null)) lat[ty + " service p95"] = tr.p95_service_ms;
      if (tr.p95_connect_ms.some((v) => v != null)) lat[ty + " connect p95"] = tr.p95_connect_ms;
    }
    chart("p95 latency (ms)", s.t, lat, { id: "latency", unit: "ms" });
    // Queue time comes from the app's own metrics (router lines carry none); the autoscaler's
    // target, when it scales on queue time, is drawn as a dashed line.
    const queue = {}, targets = [];
    for (const [ty, tr] of Object.entries(s.traffic)) {
      if (!tr.p95_queue_ms.some((v) => v != null)) continue;
      queue[ty + " queue p95"] = tr.p95_queue_ms;
      if (tr.queue_target_ms != null) {
        const name = ty + " target";
        queue[name] = s.t.map(() => tr.queue_target_ms);
        targets.push(name);
      }
    }
    chart("Queue time p95 (ms) vs target", s.t, queue, { id: "queue", unit: "ms", dashed: targets,
      empty: "no queue time reported in this range (the app sends it as measure#queue_time=…ms)" });
    const errs = {};
    for (const [ty, tr] of Object.entries(s.traffic)) {
      for (const [code, col] of Object.entries(tr.errors)) errs[ty + " " + code] = col;
    }
    chart("Errors by code", s.t, errs, { id: "errors", unit: "count", points: Object.keys(errs) });
    status.textContent = s.decisions.length + " decisions in range";
    root.dataset.loaded = "true";
  }

  async function load() {
    try {
      const r = await fetch("/api/v1/apps/" + encodeURIComponent(app) + "/series?range=" + range,
        { credentials: "same-origin" });
      if (!r.ok) throw new Error("HTTP " + r.status);
      draw(await r.json());
    } catch (e) {
      status.textContent = "charts unavailable: " + e.message;
    }
  }

  document.querySelectorAll("button.range").forEach((b) => b.addEventListener("click", () => {
    document.querySelectorAll("button.range").forEach((o) => o.classList.toggle("active", o === b));
    range = b.dataset.range;
    load();
  }));
  load();
  setInterval(load, 15000);
})();
