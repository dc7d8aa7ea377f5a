// The Metrics panel (#metrics in templates/clusters/detail.html): small live line charts of what
// metrics-server sees — CPU and memory per node against its allocatable, the busiest pods — and, for each
// HorizontalPodAutoscaler, its utilisation against the target and its replicas over time: how the control
// loop reacts, which no real cluster draws for a learner.
//
// It polls GET …/metrics (clusters/web/PAGE.md) every max(1 s, 15 s ÷ speed) of wall time while the page is
// visible (none while hidden), and as soon as the live feed shows an autoscaler change; the history, the
// charts' maths and the labels are metrics_view.js (pure, tested under Node).
import { esc } from "./dom.js";
import {
  MetricsHistory, chartSvg, clockLabel, cpuLabel, hpaSummary, memoryLabel, metricValue, namespacesOf, niceCeil,
  nodeFigures, podBounds, pollDelay, topPods,
} from "./metrics_view.js";

const COLOURS = 6;            // .c0 … .c5 in playground.css
const NO_FIGURES = "metrics-server has no figures yet: its first scrape comes 15–30 s after it starts.";

const colour = (i) => `c${i % COLOURS}`;

function legend(items) {
  return `<ul class="metrics-legend">${items.map((item) =>
    `<li${item.key ? ` tabindex="0" data-key="${esc(item.key)}"` : ""}><span class="swatch ${item.cls}${item.dashed ? " dashed" : ""}" aria-hidden="true"></span>` +
    `<span class="legend-name">${esc(item.name)}</span> <span class="legend-value">${esc(item.value)}</span>` +
    `${item.detail ? ` <span class="muted">${esc(item.detail)}</span>` : ""}</li>`).join("")}</ul>`;
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

  root.innerHTML = `<p class="metrics-status muted" role="status" aria-live="polite"></p>` +
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

  // ------------------------------------------------------------------------------ drawing
  function renderStatus() {
    const body = history.latest;
    if (failure) els.status.textContent = `The figures could not be read: ${failure.message}`;
    else if (!body) els.status.textContent = "Reading metrics-server…";
    else if (!body.scrape) els.status.textContent = NO_FIGURES;
    else {
      els.status.textContent = `metrics-server's last scrape: ${clockLabel(history.scrape)} cluster time ` +
        `(every ${body.window} s; kubectl top shows the same) · the last ${history.span / 60} minutes`;
    }
    root.dataset.state = failure ? "error" : !body ? "loading" : body.scrape ? "live" : "waiting";
  }

  function renderHpas(domain) {
    const body = history.latest;
    const hpas = body?.autoscalers || [];
    if (!hpas.length) {
      els.hpas.innerHTML = '<p class="muted none">No HorizontalPodAutoscalers. Try ' +
        "<code>kubectl autoscale deployment php-apache --cpu-percent=50 --min=1 --max=10</code></p>";
      return;
    }
    els.hpas.innerHTML = hpas.map((h) => {
      const key = `${h.namespace}/${h.name}`;
      const points = history.hpas.get(key) || [];
      const metrics = h.metrics || [];
      const from = domain[0];
      const utilLines = metrics.flatMap((m, i) => [
        { points, value: (p) => p.current[i] ?? null, cls: colour(i), label: `${m.name} current` },
        { points, value: (p) => p.target[i] ?? null, cls: colour(i), dashed: true, label: `${m.name} target` },
      ]);
      const unit = metrics[0]?.unit || "%";
      const top = niceCeil(Math.max(unit === "%" ? 100 : 1, maxOf([points], (p) => Math.max(...p.current.map((v) => v ?? 0),
        ...p.target.map((v) => (v ?? 0) * 1.5)), from)));
      const util = chartSvg({
        lines: utilLines, domain, yMax: top, yLabel: (v) => metricValue(v, unit),
        title: `${h.name}: ${metrics.map((m) => `${m.name} ${metricValue(m.current, m.unit)} against a target of ${metricValue(m.target, m.unit)}`).join(", ")}`,
      });
      const most = Math.max(h.maxReplicas || 1, 1);
      const seen = maxOf([points], (p) => Math.max(p.currentReplicas ?? 0, p.desiredReplicas ?? 0), from);
      const rTop = Math.max(2, Math.min(most, Math.ceil(seen * 1.5) + 1), seen);
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
    }).join("");
  }

  function renderNodes(domain) {
    const body = history.latest;
    if (!body?.scrape) { els.nodes.innerHTML = `<p class="muted none">${esc(NO_FIGURES)}</p>`; return; }
    const nodes = body.nodes || [];
    const series = nodes.map((n) => history.nodes.get(n.name) || []);
    const charts = [["cpu", "CPU", (p) => p.cpuShare], ["memory", "Memory", (p) => p.memoryShare]].map(([resource, title, value]) => {
      const top = Math.min(100, niceCeil(Math.max(10, maxOf(series, value, domain[0]) * 1.2)));
      const svg = chartSvg({
        lines: nodes.map((n, i) => ({ points: series[i], value, cls: colour(i), label: n.name })),
        domain, yMax: top, yLabel: (v) => `${v}%`, title: `${title} of each node's allocatable`,
      });
      return figure(`${title} (% of allocatable)`, svg, legend(nodes.map((n, i) => ({
        cls: colour(i), name: n.name, value: nodeFigures(n)[resource], key: `Node//${n.name}`,
      }))));
    });
    els.nodes.innerHTML = nodes.length ? charts.join("") : '<p class="muted none">No node answered the last scrape.</p>';
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
    if (!body?.scrape) { els.pods.innerHTML = ""; return; }
    const chosen = topPods(body.pods, filter);
    if (!chosen.length) {
      els.pods.innerHTML = `<p class="muted none">${filter === "" ?
        "No pods of yours in the last scrape (a pod shows once it has run for a whole 15 s window). Pick “all namespaces” to see the system's." :
        "No pods of this namespace in the last scrape."}</p>`;
      return;
    }
    const series = chosen.map((p) => history.pods.get(`${p.namespace}/${p.name}`) || []);
    const name = (p) => (filter === "*" || (filter === "" && new Set(chosen.map((c) => c.namespace)).size > 1) ?
      `${p.namespace}/${p.name}` : p.name);
    const charts = [["cpu", "CPU", (pt) => pt.cpu, cpuLabel], ["memory", "Memory", (pt) => pt.memory, memoryLabel]]
      .map(([resource, title, value, label]) => {
        let top = niceCeil(Math.max(resource === "cpu" ? 10 : 16 * 1024 * 1024, maxOf(series, value, domain[0]) * 1.15));
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
    els.pods.innerHTML = charts.join("");
  }

  function render() {
    const domain = history.domain();
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

  // The live feed carries the autoscalers' status as the controller writes it: read the figures again at once.
  let seen = "";
  live.onRender(() => {
    const now = [...live.objects.values()].filter((o) => o.kind === "HorizontalPodAutoscaler")
      .map((o) => `${o.namespace}/${o.name}:${o.cells.join("|")}`).sort().join("\n");
    if (now !== seen) { seen = now; schedule(150); }
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
