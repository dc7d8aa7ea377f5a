// The Metrics panel (#metrics in templates/clusters/detail.html): small live line charts of what
// metrics-server sees — CPU and memory per node against its allocatable, the busiest pods — and, for each
// HorizontalPodAutoscaler, its utilisation against the target and its replicas over time: how the control
// loop reacts, which no real cluster draws for a learner.
//
// It polls GET …/metrics (clusters/web/PAGE.md) every max(1 s, 15 s ÷ speed) of wall time while the page is
// visible (none while hidden). The autoscalers' charts also take every status the controller writes as the
// live feed brings it (kubectl's TARGETS and REPLICAS cells, and the target's spec.replicas for the desired
// count), at the feed's clock: at 60× a poll is a simulated minute apart, and a climb lasts less. The
// history, the charts' maths and the labels are metrics_view.js (pure, tested under Node).
import { esc } from "./dom.js";
import {
  MetricsHistory, axisTop, chartSvg, clockLabel, cpuLabel, feedHpaPoint, hpaSummary, hpaTargetKey, memoryLabel, metricValue,
  namespacesOf, niceCeil, nodeFigures, podBounds, pollDelay, seconds, topPods,
} from "./metrics_view.js";

const COLOURS = 6;            // .c0 … .c5 in playground.css
const NO_FIGURES = "metrics-server has no figures yet: its first scrape comes 15–30 s after it starts.";

const colour = (i) => `c${i % COLOURS}`;

function legend(items) {
  return `<ul class="metrics-legend">${items.map((item) =>
    `<li><span class="swatch ${item.cls}${item.dashed ? " dashed" : ""}" aria-hidden="true"></span>` +
    `<span class="legend-name"${item.key ? ` tabindex="0" data-key="${esc(item.key)}" title="Show its details"` : ""}>` +
    `${esc(item.name)}</span> <span class="legend-value">${esc(item.value)}</span>` +
    `<span class="muted">${esc(item.detail || "")}</span></li>`).join("")}</ul>`;
}

function figure(title, svg, legendHtml = "") {
  return `<figure class="metrics-chart"><figcaption>${esc(title)}</figcaption>${svg}${legendHtml}</figure>`;
}

function maxOf(series, value, from) {
  let max = 0;
  for (const points of series) for (const p of points) if (p.t >= from && value(p) !== null) max = Math.max(max, value(p));
  return max;
}

/** Wires the panel; answers { clock(c) } for the live feed's clock (a new speed re-times the polls). */
export function createMetrics(root, { api, live }) {
  const history = new MetricsHistory();
  let clock = { speed: 1, paused: false };
  let timer = null;
  let busy = false;
  let again = false;
  let failure = null;
  let filter = "";            // "" the learner's namespaces, "*" all, else one namespace

  root.innerHTML = `<p class="metrics-status muted"></p>` +
    `<div class="metrics-block"><h3>Autoscalers</h3><div class="metrics-hpas"></div></div>` +
    `<div class="metrics-block"><h3>Nodes <span class="muted">· share of allocatable</span></h3><div class="metrics-nodes metrics-pair"></div></div>` +
    `<div class="metrics-block"><div class="metrics-block-head"><h3>Pods <span class="muted">· the busiest by CPU</span></h3>` +
    `<label class="metrics-filter"><span class="visually-hidden">Namespace</span><select name="namespace"></select></label></div>` +
    `<div class="metrics-pods metrics-pair"></div></div>`;
  const els = {
    status: root.querySelector(".metrics-status"), hpas: root.querySelector(".metrics-hpas"),
    nodes: root.querySelector(".metrics-nodes"), pods: root.querySelector(".metrics-pods"),
    filter: root.querySelector("select[name=namespace]"),
  };
  const scraped = [els.nodes.parentElement, els.pods.parentElement];   // shown once there are figures

  /** Puts new HTML in `el` only when it differs, keeping the focus on the element with the same data-key. */
  function put(el, html) {
    if (el.dataset.html === html) return;
    const focused = el.contains(document.activeElement) ? document.activeElement.dataset.key : null;
    el.innerHTML = html;
    el.dataset.html = html;
    if (focused) el.querySelector(`[data-key="${CSS.escape(focused)}"]`)?.focus({ preventScroll: true });
  }

  // ------------------------------------------------------------------------------ drawing
  function renderStatus() {
    const body = history.latest;
    let text;
    if (failure) text = `The figures could not be read: ${failure.message}`;
    else if (!body) text = "Reading metrics-server…";
    else if (!body.scrape) text = NO_FIGURES;
    else {
      text = `metrics-server's last scrape: ${clockLabel(history.scrape)} cluster time ` +
        `(every ${body.window} s; kubectl top shows the same) · the last ${history.span / 60} minutes`;
    }
    if (els.status.textContent !== text) els.status.textContent = text;
    root.dataset.state = failure ? "error" : !body ? "loading" : body.scrape ? "live" : "waiting";
  }

  /** The autoscaler as the card shows it: the poll's (bounds, units, conditions), the latest figures. */
  function shownHpa(h, points) {
    const last = points[points.length - 1];
    if (!last) return h;
    return {
      ...h, currentReplicas: last.currentReplicas ?? h.currentReplicas, desiredReplicas: last.desiredReplicas ?? h.desiredReplicas,
      metrics: (h.metrics || []).map((m) => ({ ...m, ...(last.metrics[m.name || m.type] || {}) })),
    };
  }

  function renderHpas(domain) {
    const body = history.latest;
    const hpas = body?.autoscalers || [];
    if (!hpas.length) {
      put(els.hpas, '<p class="muted none">No HorizontalPodAutoscalers. Try ' +
        "<code>kubectl autoscale deployment php-apache --cpu-percent=50 --min=1 --max=10</code></p>");
      return;
    }
    put(els.hpas, hpas.map((polled) => {
      const key = `${polled.namespace}/${polled.name}`;
      const points = history.hpas.get(key) || [];
      const h = shownHpa(polled, points);
      const metrics = h.metrics || [];
      const from = domain[0];
      const figure_ = (p, name, field) => p.metrics[name]?.[field] ?? null;
      const utilLines = metrics.flatMap((m, i) => [
        // Steps: the status holds a figure from one sync (every 15 s) to the next.
        { points, value: (p) => figure_(p, m.name || m.type, "current"), cls: colour(i), step: true, label: `${m.name} current` },
        { points, value: (p) => figure_(p, m.name || m.type, "target"), cls: colour(i), step: true, dashed: true, label: `${m.name} target` },
      ]);
      const unit = metrics[0]?.unit || "%";
      const highest = maxOf([points], (p) => Math.max(0, ...Object.values(p.metrics).flatMap((m) => [m.current ?? 0, (m.target ?? 0) * 1.5])), from);
      const top = axisTop(Math.max(unit === "%" ? 100 : 1, highest));
      const util = chartSvg({
        lines: utilLines, domain, yMax: top, yLabel: (v) => metricValue(v, unit),
        title: `${h.name}: ${metrics.map((m) => `${m.name} ${metricValue(m.current, m.unit)} against a target of ${metricValue(m.target, m.unit)}`).join(", ")}`,
      });
      // Up to maxReplicas when that is a handful (the ceiling is then on the chart), else room above the highest.
      const seen = maxOf([points], (p) => Math.max(p.currentReplicas ?? 0, p.desiredReplicas ?? 0), from);
      const rTop = h.maxReplicas && h.maxReplicas <= 12 ? Math.max(h.maxReplicas, seen, 2) : Math.max(2, niceCeil(seen * 1.25));
      const rTicks = [...new Set([0, Math.round(rTop / 2), rTop])];
      const replicas = chartSvg({
        lines: [
          { points, value: (p) => p.currentReplicas, cls: "c-replicas", step: true, label: "current replicas" },
          { points, value: (p) => p.desiredReplicas, cls: "c-desired", step: true, dashed: true, label: "desired replicas" },
        ],
        domain, yMax: rTop, ticks: rTicks,
        title: `${h.name}: ${h.currentReplicas ?? "unknown"} current, ${h.desiredReplicas ?? "unknown"} desired replicas (min ${h.minReplicas}, max ${h.maxReplicas})`,
      });
      const scaling = (h.conditions || []).find((c) => c.type === "ScalingLimited" && c.status === "True") ||
        (h.conditions || []).find((c) => c.status === "False");
      const utilLegend = legend(metrics.flatMap((m, i) => [
        { cls: colour(i), name: `${m.name} now`, value: metricValue(m.current, m.unit),
          detail: m.unit === "%" ? "of the pods' request" : "" },
        { cls: colour(i), dashed: true, name: "target", value: metricValue(m.target, m.unit) },
      ]));
      const replicaLegend = legend([
        { cls: "c-replicas", name: "current", value: String(h.currentReplicas ?? "–") },
        { cls: "c-desired", dashed: true, name: "desired", value: String(h.desiredReplicas ?? "–"),
          detail: `min ${h.minReplicas} · max ${h.maxReplicas}` },
      ]);
      return `<article class="metrics-hpa" data-hpa="${esc(key)}">` +
        `<header><div class="wl-head" tabindex="0" data-key="${esc(`HorizontalPodAutoscaler/${key}`)}">` +
        `<span class="kind">hpa/</span><strong>${esc(h.name)}</strong>` +
        `${h.namespace !== "default" ? ` <span class="ns">${esc(h.namespace)}</span>` : ""}` +
        ` <span class="muted">→ ${esc(h.target)}</span></div>` +
        `<p class="hpa-summary">${esc(hpaSummary(h))}</p></header>` +
        `<div class="metrics-pair">${figure(metrics.length ? `Utilisation${unit === "%" ? " (% of request)" : ""}` : "No metrics", util, utilLegend)}` +
        `${figure("Replicas", replicas, replicaLegend)}</div>` +
        `${scaling ? `<p class="hpa-condition muted" title="${esc(scaling.message || "")}">${esc(scaling.type)}: ${esc(scaling.reason || "")}` +
          `${scaling.message ? ` — ${esc(scaling.message)}` : ""}</p>` : ""}</article>`;
    }).join(""));
  }

  function renderNodes(domain) {
    const body = history.latest;
    if (!body?.scrape) { put(els.nodes, ""); return; }
    const nodes = body.nodes || [];
    const series = nodes.map((n) => history.nodes.get(n.name) || []);
    const charts = [["cpu", "CPU", (p) => p.cpuShare], ["memory", "Memory", (p) => p.memoryShare]].map(([resource, title, value]) => {
      const top = Math.min(100, axisTop(Math.max(10, maxOf(series, value, domain[0]) * 1.2)));
      const svg = chartSvg({
        lines: nodes.map((n, i) => ({ points: series[i], value, cls: colour(i), label: n.name })),
        domain, yMax: top, yLabel: (v) => `${v}%`, title: `${title} of each node's allocatable`,
      });
      return figure(`${title} (% of allocatable)`, svg, legend(nodes.map((n, i) => ({
        cls: colour(i), name: n.name, value: nodeFigures(n)[resource], key: `Node//${n.name}`,
      }))));
    });
    put(els.nodes, nodes.length ? charts.join("") : '<p class="muted none">No node answered the last scrape.</p>');
  }

  function renderFilter(pods) {
    const namespaces = namespacesOf(pods);
    if (filter && filter !== "*" && !namespaces.includes(filter)) namespaces.push(filter);
    const options = [["", "your namespaces"], ["*", "all namespaces"], ...namespaces.map((n) => [n, n])];
    const html = options.map(([value, label]) => `<option value="${esc(value)}"${value === filter ? " selected" : ""}>${esc(label)}</option>`).join("");
    if (els.filter.dataset.html !== html) { els.filter.innerHTML = html; els.filter.dataset.html = html; }
    els.filter.value = filter;
  }

  function renderPods(domain) {
    const body = history.latest;
    renderFilter(body?.pods || []);
    if (!body?.scrape) { put(els.pods, ""); return; }
    const chosen = topPods(body.pods, filter);
    if (!chosen.length) {
      put(els.pods, `<p class="muted none">${filter === "" ?
        "No pods of yours in the last scrape (a pod shows once it has run for a whole 15 s window). Pick “all namespaces” to see the system's." :
        "No pods of this namespace in the last scrape."}</p>`);
      return;
    }
    const series = chosen.map((p) => history.pods.get(`${p.namespace}/${p.name}`) || []);
    const name = (p) => (filter === "*" || (filter === "" && new Set(chosen.map((c) => c.namespace)).size > 1) ?
      `${p.namespace}/${p.name}` : p.name);
    const charts = [["cpu", "CPU", (pt) => pt.cpu, cpuLabel], ["memory", "Memory", (pt) => pt.memory, memoryLabel]]
      .map(([resource, title, value, label]) => {
        let top = axisTop(Math.max(resource === "cpu" ? 10 : 16 * 1024 * 1024, maxOf(series, value, domain[0]) * 1.15));
        if (resource === "memory") top = niceCeil(top / (1024 * 1024)) * 1024 * 1024;   // round Mi ticks
        const ticks = resource === "memory" ? [0, top / 2, top] : null;
        const svg = chartSvg({
          lines: chosen.map((p, i) => ({ points: series[i], value, cls: colour(i), label: name(p) })),
          domain, yMax: top, ticks, yLabel: label, title: `${title} of the busiest pods`,
        });
        return figure(title, svg, legend(chosen.map((p, i) => ({
          cls: colour(i), name: name(p), value: label(p[resource]), detail: podBounds(p, resource),
          key: `Pod/${p.namespace}/${p.name}`,
        }))));
      });
    put(els.pods, charts.join(""));
  }

  function render() {
    const domain = history.domain();
    for (const block of scraped) block.hidden = !history.latest?.scrape;
    renderStatus();
    renderHpas(domain);
    renderNodes(domain);
    renderPods(domain);
  }

  // ------------------------------------------------------------------------------ polling
  function schedule(ms = pollDelay(clock)) {
    clearTimeout(timer);
    timer = document.hidden ? null : setTimeout(poll, ms);
  }

  async function poll() {
    clearTimeout(timer);
    timer = null;
    if (document.hidden) return;
    if (busy) { again = true; return; }
    busy = true;
    try {
      const body = await api("metrics");
      history.add(body);
      clock = { speed: body.speed, paused: body.paused };
      failure = null;
    } catch (error) {
      failure = error;
    } finally {
      busy = false;
    }
    render();
    if (again) { again = false; schedule(0); } else schedule();
  }

  els.filter.addEventListener("change", () => { filter = els.filter.value; render(); });
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) { clearTimeout(timer); timer = null; } else poll();
  });

  // The live feed: every autoscaler status the controller writes, in order, at the feed's clock. A target's
  // new spec.replicas (the controller's desired count, or the learner's own scale) is a point too.
  let frame = null;
  const renderSoon = () => { if (frame === null) frame = requestAnimationFrame(() => { frame = null; render(); }); };
  function record(t, hpa, target) {
    const key = `${hpa.namespace}/${hpa.name}`;
    const point = { t, ...feedHpaPoint(hpa, target) };
    const points = history.hpas.get(key) || [];
    if (point.desiredReplicas === null && points.length) point.desiredReplicas = points[points.length - 1].desiredReplicas;
    history.addHpa(key, point);
  }
  // The autoscalers and their targets as the feed has brought them so far, change by change (live.objects holds
  // a batch's end: a target's change early in a batch must meet the autoscaler as it was then, not later).
  const seen = new Map();
  const watched = (o) => o.kind === "HorizontalPodAutoscaler" || o.kind === "Deployment" || o.kind === "StatefulSet" ||
    o.kind === "ReplicaSet";
  live.onFeed(({ type, applied, clock: at }) => {
    const t = seconds(at?.now);
    if (t === null) return;
    if (type === "snapshot") {
      seen.clear();
      for (const [key, o] of live.objects) if (watched(o)) seen.set(key, o);
      const hpas = [...seen.values()].filter((o) => o.kind === "HorizontalPodAutoscaler");
      for (const h of hpas) record(t, h, seen.get(hpaTargetKey(h)));
      if (hpas.length) renderSoon();
      return;
    }
    let added = false;
    let changed = false;
    for (const { key, change, object } of applied) {
      if (!watched(object)) continue;
      if (change === "deleted") seen.delete(key); else seen.set(key, object);
      if (object.kind === "HorizontalPodAutoscaler") {
        changed = true;
        added ||= change !== "changed";
        if (change === "deleted") history.dropHpa(`${object.namespace}/${object.name}`);
        else record(t, object, seen.get(hpaTargetKey(object)));
      } else if (change !== "deleted") {
        // A target's new spec.replicas: the desired count moves; the figures stay the last known by then (a poll
        // may have read the status the feed has yet to bring: the controller scales the target, then writes it).
        for (const h of seen.values()) {
          if (h.kind !== "HorizontalPodAutoscaler" || hpaTargetKey(h) !== key) continue;
          const hpaKey = `${h.namespace}/${h.name}`;
          const last = (history.hpas.get(hpaKey) || []).findLast((p) => p.t <= t);
          if (!last || object.replicas === undefined || object.replicas === null) continue;
          history.addHpa(hpaKey, { ...last, t, desiredReplicas: Number(object.replicas) });
          changed = true;
        }
      }
    }
    if (added) schedule(150);     // a new autoscaler's bounds and units come with the next poll: now
    else if (changed) renderSoon();
  });

  render();
  poll();

  return {
    history,
    /** A clock from the live feed: a new speed or pause re-times the next poll. */
    clock(next) {
      const speed = Number(next.speed) || 1, paused = Boolean(next.paused);
      if (speed === clock.speed && paused === clock.paused) return;
      clock = { speed, paused };
      schedule(150);
    },
    refresh: poll,
  };
}
