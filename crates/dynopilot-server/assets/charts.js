// App page charts: fetches /api/v1/apps/{app}/series and draws them with uPlot. Targets and
// thresholds are dashed lines, dyno counts a step line, decisions markers in the plot area
// that merge into one numbered marker when they crowd (details on hover, click or tap).
// Live updates every 15 s keep the chosen range and zoom; times are in the browser's time
// zone (named on the axis) with UTC in the hover legend. No inline script: the page only
// carries data-* attributes.
(function () {
  "use strict";
  const root = document.getElementById("charts");
  if (!root || !window.uPlot) return;
  const app = root.dataset.app;
  const status = document.getElementById("charts-status");
  const detail = document.getElementById("marker-detail");
  const palette = ["#5a3fc0", "#1f7a45", "#b02a2a", "#8a5a12", "#2b6cb0", "#805ad5", "#b83280", "#237a72"];
  const tz = Intl.DateTimeFormat().resolvedOptions().timeZone || "local time";
  // About the width of a count badge, so badges never overlap.
  const CLUSTER_PX = 26;
  let range = "1h";
  let step = 60;
  let plots = [];
  let markers = [];
  let zoom = null; // {min, max} in epoch seconds while the user is zoomed in
  let full = null; // the x range of the data, for telling a zoom from a reset
  let applying = false;
  let interacting = false;
  // uPlot zooms from its mouseup handler and applies scales in a microtask: both are over
  // by the next task.
  window.addEventListener("mouseup", () => setTimeout(() => { interacting = false; }, 0));
  let loads = 0;

  const pad = (n) => String(n).padStart(2, "0");
  function utc(t) {
    const d = new Date(t * 1000);
    return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) + " " +
      pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + " UTC";
  }
  function local(t) {
    return new Date(t * 1000).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
  }

  // Only a person's drag or double-click changes the zoom; scale changes made by uPlot
  // itself (creation, data updates) or by us (keeping charts in step) do not.
  function remember(u) {
    if (applying || !interacting) return;
    const x = u.scales.x;
    const whole = full && Math.abs(x.min - full[0]) < 1 && Math.abs(x.max - full[1]) < 1;
    zoom = whole ? null : { min: x.min, max: x.max };
    root.dataset.zoom = zoom ? Math.round(zoom.min) + "-" + Math.round(zoom.max) : "";
    applying = true;
    for (const p of plots) if (p !== u) p.setScale("x", { min: x.min, max: x.max });
    applying = false;
  }

  function chart(title, t, columns, opts) {
    const box = document.createElement("figure");
    box.className = "chart";
    box.dataset.chart = opts.id;
    const h = document.createElement("figcaption");
    h.textContent = title;
    box.appendChild(h);
    root.appendChild(box);
    const targets = opts.targets || {};
    const names = Object.keys(columns);
    box.dataset.targets = Object.keys(targets).join(",");
    if (names.length === 0) {
      const empty = document.createElement("p");
      empty.className = "empty";
      empty.textContent = opts.empty || "no data in this range yet";
      box.appendChild(empty);
    }
    // A target is drawn even before there is data to compare with it.
    if (t.length === 0 || (names.length === 0 && Object.keys(targets).length === 0)) return;
    const colors = opts.colors || {};
    const series = [{ label: "time (" + tz + ")", value: (u, v) => (v == null ? "–" : local(v) + " (" + utc(v) + ")") }];
    names.forEach((n, i) => series.push({
      label: n, stroke: colors[n] || palette[i % palette.length], width: 1.5, spanGaps: false,
      points: { show: !!(opts.points && opts.points.includes(n)) },
      paths: opts.stepped ? uPlot.paths.stepped({ align: 1 }) : undefined,
    }));
    const data = [t].concat(names.map((n) => columns[n]));
    for (const [n, v] of Object.entries(targets)) {
      series.push({ label: n, stroke: colors[n] || "#b02a2a", width: 1.5, dash: [6, 4], points: { show: false } });
      data.push(t.map(() => v));
    }
    const width = Math.max(260, box.clientWidth - 12);
    const height = window.innerWidth < 600 ? 170 : 200;
    // The x range covers the whole last bucket, so decisions made in it get a marker too.
    full = [t[0], t[t.length - 1] + step];
    const scales = { x: { time: true, range: (u, min, max) => (zoom ? [zoom.min, zoom.max] : [min, max + step]) } };
    // uPlot zooms out on double-click; forget the zoom first (capture runs before uPlot).
    box.addEventListener("mousedown", () => { interacting = true; }, true);
    box.addEventListener("dblclick", () => {
      zoom = null;
      interacting = true;
      setTimeout(() => { interacting = false; }, 0);
    }, true);
    const plot = new uPlot({
      width, height, series, scales,
      axes: [{ label: "time (" + tz + ")", labelSize: 18 }, { label: opts.unit || "", size: 52 }],
      cursor: { sync: { key: "dynopilot-" + app } },
      hooks: { draw: [(u) => drawMarkers(u, box)], setScale: [(u, key) => { if (key === "x") remember(u); }] },
    }, data, box);
    box.dataset.points = String(data.slice(1, names.length + 1)
      .reduce((n, col) => n + col.filter((v) => v != null).length, 0));
    plots.push(plot);
  }

  function state(d) {
    return d.blocked ? "held" : d.executed ? "executed" : d.dry_run ? "dry run" : "not executed";
  }

  // Decisions closer than CLUSTER_PX on screen become one marker with their count.
  function clusters(u) {
    const out = [];
    const visible = markers
      .map((d) => ({ d, x: u.valToPos(d.t, "x") }))
      .filter((m) => m.x >= 0 && m.x <= u.over.clientWidth)
      .sort((a, b) => a.x - b.x);
    for (const m of visible) {
      const last = out[out.length - 1];
      if (last && m.x - last.x0 < CLUSTER_PX) {
        last.items.push(m.d);
        last.x = (last.x0 + m.x) / 2;
      } else {
        out.push({ x0: m.x, x: m.x, items: [m.d] });
      }
    }
    return out;
  }

  function describe(items) {
    return items.map((d) => local(d.t) + " · " + d.kind + " (" + state(d) + "): " + d.reason).join("\n");
  }

  function drawMarkers(u, box) {
    u.over.querySelectorAll(".marker").forEach((m) => m.remove());
    u.over.style.setProperty("--plot-height", u.over.clientHeight + "px");
    for (const c of clusters(u)) {
      const m = document.createElement("button");
      m.type = "button";
      const held = c.items.some((d) => d.blocked);
      const dry = c.items.every((d) => d.dry_run && !d.executed);
      m.className = "marker" + (c.items.length > 1 ? " cluster" : "") + (held ? " blocked" : dry ? " dry-run" : "");
      m.style.left = c.x + "px";
      m.dataset.count = String(c.items.length);
      m.dataset.reason = c.items[c.items.length - 1].reason;
      m.dataset.id = c.items[c.items.length - 1].id;
      if (c.items.length > 1) {
        const n = document.createElement("span");
        n.className = "count";
        n.textContent = String(c.items.length);
        m.appendChild(n);
      }
      const text = describe(c.items);
      m.title = c.items.length > 1 ? c.items.length + " decisions\n" + text : text;
      m.setAttribute("aria-label", c.items.length > 1 ? c.items.length + " decisions, show details" : "decision: " + text);
      m.addEventListener("click", (e) => {
        e.stopPropagation();
        show(c.items);
      });
      u.over.appendChild(m);
    }
    box.dataset.markers = String(u.over.querySelectorAll(".marker").length);
  }

  function show(items) {
    detail.hidden = false;
    detail.textContent = "";
    const h = document.createElement("p");
    h.textContent = items.length === 1 ? "Decision" : items.length + " decisions";
    detail.appendChild(h);
    const list = document.createElement("ul");
    for (const d of items.slice(-50)) {
      const li = document.createElement("li");
      li.textContent = local(d.t) + " (" + utc(d.t) + ") · " + d.kind + " (" + state(d) + "): " + d.reason;
      list.appendChild(li);
    }
    detail.appendChild(list);
    if (items.length > 50) {
      const more = document.createElement("p");
      more.textContent = "and " + (items.length - 50) + " earlier; zoom in or see the timeline.";
      detail.appendChild(more);
    }
  }

  function byType(traffic, field, suffix) {
    const out = {};
    for (const [ty, tr] of Object.entries(traffic)) {
      if (tr[field] && tr[field].some((v) => v != null)) out[ty + (suffix || "")] = tr[field];
    }
    return out;
  }

  function targetsOf(traffic, field, label) {
    const out = {};
    for (const [ty, tr] of Object.entries(traffic)) {
      if (tr[field] != null) out[ty + " " + label] = tr[field];
    }
    return out;
  }

  function draw(s) {
    plots.forEach((p) => p.destroy());
    plots = [];
    root.innerHTML = "";
    markers = s.decisions;
    step = s.step_seconds;
    chart("Dynos per process type", s.t, s.dynos, { id: "dynos", unit: "dynos", stepped: true });
    const memTargets = {};
    if (s.memory_quota_mb != null) memTargets["quota"] = s.memory_quota_mb;
    if (s.memory_kill_mb != null) memTargets["R15 kill"] = s.memory_kill_mb;
    const memory = Object.assign({}, s.memory_mb);
    for (const tr of Object.values(s.traffic)) {
      for (const code of ["R14", "R15"]) {
        if (tr.errors[code]) memory[code] = tr.errors[code].map((c) => (c ? s.memory_quota_mb || 0 : null));
      }
    }
    chart("Memory per dyno (MB), quota and R15 kill point", s.t, memory, {
      id: "memory", unit: "MB", points: ["R14", "R15"], targets: memTargets,
      colors: { quota: "#8a5a12", "R15 kill": "#b02a2a", R14: "#8a5a12", R15: "#b02a2a" },
    });
    chart("Requests per minute", s.t, byType(s.traffic, "requests_per_min"), { id: "requests", unit: "req/min" });
    const lat = {};
    for (const [ty, tr] of Object.entries(s.traffic)) {
      if (tr.p95_service_ms.some((v) => v != null)) lat[ty + " service p95"] = tr.p95_service_ms;
      if (tr.p95_connect_ms.some((v) => v != null)) lat[ty + " connect p95"] = tr.p95_connect_ms;
    }
    chart("Service time p95 (ms) vs target", s.t, lat, {
      id: "latency", unit: "ms", targets: targetsOf(s.traffic, "service_target_ms", "target"),
    });
    chart("Queue time p95 (ms) vs target", s.t, byType(s.traffic, "p95_queue_ms", " queue p95"), {
      id: "queue", unit: "ms", targets: targetsOf(s.traffic, "queue_target_ms", "target"),
      empty: "no queue time reported in this range (the app sends it as measure#queue_time=…ms)",
    });
    chart("Load per dyno (1-min average) vs target", s.t, byType(s.traffic, "load_per_dyno", " load"), {
      id: "load", unit: "load", targets: targetsOf(s.traffic, "load_target", "target"),
      empty: s.range_seconds > 86400 ? "load is charted for ranges up to 24 hours" : "no load reported in this range (enable log-runtime-metrics)",
    });
    const errs = {};
    for (const [ty, tr] of Object.entries(s.traffic)) {
      for (const [code, col] of Object.entries(tr.errors)) errs[ty + " " + code] = col;
    }
    chart("Errors by code", s.t, errs, { id: "errors", unit: "count", points: Object.keys(errs) });
    const parts = [s.decisions.length + " decisions in range"];
    if (s.history_start != null) parts.push("history starts at " + local(s.history_start));
    if (zoom) parts.push("zoomed in (double-click a chart to zoom out)");
    status.textContent = parts.join(" · ");
    root.dataset.historyStart = s.history_start == null ? "" : String(s.history_start);
    root.dataset.loads = String(++loads);
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

  function choose(b) {
    document.querySelectorAll("button.range").forEach((o) => {
      o.classList.toggle("active", o === b);
      o.setAttribute("aria-pressed", String(o === b));
    });
    range = b.dataset.range;
  }

  document.querySelectorAll("button.range").forEach((b) => b.addEventListener("click", () => {
    choose(b);
    zoom = null;
    root.dataset.zoom = "";
    load();
  }));

  // `?at=<epoch seconds>` (from the timeline): open the smallest range holding that moment,
  // zoomed to it.
  const at = Number(new URLSearchParams(location.search).get("at"));
  if (at > 0) {
    const age = Date.now() / 1000 - at;
    const fit = Array.from(document.querySelectorAll("button.range"))
      .find((b) => age < Number(b.dataset.seconds) * 0.9);
    if (fit) {
      choose(fit);
      const half = Math.max(300, Number(fit.dataset.seconds) / 24);
      zoom = { min: at - half, max: at + half };
      root.dataset.zoom = Math.round(zoom.min) + "-" + Math.round(zoom.max);
    }
  }

  let resizing = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizing);
    resizing = setTimeout(() => {
      for (const p of plots) p.setSize({ width: Math.max(260, p.root.parentNode.clientWidth - 12), height: p.height });
    }, 150);
  });
  // Tests (and impatient people) can ask for the next update now.
  document.addEventListener("dynopilot:refresh", load);
  load();
  setInterval(load, 15000);
})();
