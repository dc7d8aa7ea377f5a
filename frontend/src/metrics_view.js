// The Metrics panel's pure part (no DOM): the history the page keeps from polling …/metrics
// (clusters/web/PAGE.md), the charts' maths (scales, ticks, SVG paths) and the labels. metrics.js draws it;
// frontend/test/metrics_view.test.mjs tests it under plain Node.
//
// Time is the cluster's simulated time in seconds: the x axes follow the cluster's clock, so a 60× cluster
// fills its ten minutes of history in ten seconds of wall time.

import { esc } from "./dom.js";

export const HISTORY_SECONDS = 600;     // the simulated span the charts keep and show
export const MIN_SPAN = 60;             // the narrowest x axis, so one sample is not a whole chart
export const TOP_PODS = 5;
// The namespaces a fresh cluster brings (as live.js hides them): not the learner's own.
export const SYSTEM_NAMESPACES = new Set(["kube-system", "kube-public", "kube-node-lease", "local-path-storage",
  "ingress-nginx"]);

const MiB = 1024 * 1024;

/** ISO-8601 → seconds since the epoch (null for null or garbage). */
export function seconds(iso) {
  if (!iso) return null;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : ms / 1000;
}

/** Wall milliseconds between two polls: one scrape's worth of simulated time (15 s), at least a second. */
export function pollDelay({ speed = 1, paused = false } = {}) {
  if (paused) return 5000;     // nothing moves but the learner's steps and writes (the feed tells us of both)
  return Math.max(1000, 15000 / (Number(speed) || 1));
}

// ------------------------------------------------------------------------------------------ history

const push = (map, key, point) => {
  if (!map.has(key)) map.set(key, []);
  map.get(key).push(point);
};

/**
 * The figures seen so far, as series of points { t, … } per node ("name"), pod ("namespace/name") and
 * HorizontalPodAutoscaler ("namespace/name"); at most `span` simulated seconds back from the newest.
 * Node and pod points come one per scrape (repeated answers of one scrape add nothing); a pod or node a
 * scrape no longer has gets a break ({ t, cpu: null }) so that its line stops instead of bridging the gap.
 * Autoscaler points come one per poll at the cluster's now (their status changes between scrapes).
 */
export class MetricsHistory {
  constructor(span = HISTORY_SECONDS) {
    this.span = span;
    this.clear();
  }

  clear() {
    this.nodes = new Map();
    this.pods = new Map();
    this.hpas = new Map();
    this.latest = null;     // the last answer, as the server sent it
    this.now = null;        // its simulated now (s)
    this.scrape = null;     // the last scrape's time (s)
  }

  /** Adds one answer of GET …/metrics. A clock that went back (the cluster was reset) starts over. */
  add(body) {
    const now = seconds(body?.now);
    if (now === null) return;
    if (this.now !== null && now < this.now - 1) this.clear();
    this.latest = body;
    const scrape = seconds(body.scrape);
    if (scrape !== null && scrape !== this.scrape && (this.scrape === null || scrape > this.scrape)) {
      const seen = { nodes: new Set(), pods: new Set() };
      for (const n of body.nodes || []) {
        seen.nodes.add(n.name);
        push(this.nodes, n.name, { t: scrape, cpu: n.cpu, memory: n.memory,
          cpuShare: share(n.cpu, n.allocatable?.cpu), memoryShare: share(n.memory, n.allocatable?.memory) });
      }
      for (const p of body.pods || []) {
        const key = `${p.namespace}/${p.name}`;
        seen.pods.add(key);
        push(this.pods, key, { t: scrape, cpu: p.cpu, memory: p.memory });
      }
      for (const [kind, map] of [["nodes", this.nodes], ["pods", this.pods]]) {
        for (const [key, points] of map) {
          if (!seen[kind].has(key) && points[points.length - 1].cpu !== null) points.push({ t: scrape, cpu: null, memory: null });
        }
      }
      this.scrape = scrape;
    }
    if (now !== this.now) {
      const present = new Set();
      for (const h of body.autoscalers || []) {
        const key = `${h.namespace}/${h.name}`;
        present.add(key);
        this.addHpa(key, { t: now, ...hpaPoint(h) });
      }
      for (const key of [...this.hpas.keys()]) if (!present.has(key)) this.hpas.delete(key);   // deleted
    }
    this.now = now;
    this.trim();
  }

  /**
   * One autoscaler's figures at simulated time `t` ({ t, metrics: { name: { current, target } },
   * currentReplicas, desiredReplicas }), from a poll or from the live feed as the controller writes them:
   * kept in time order; the same figures again at the same instant add nothing.
   */
  addHpa(key, point) {
    if (this.now !== null && point.t < this.now - this.span) return;
    if (!this.hpas.has(key)) this.hpas.set(key, []);
    const points = this.hpas.get(key);
    let at = points.length;
    while (at > 0 && points[at - 1].t > point.t) at -= 1;
    const before = points[at - 1];
    if (before && before.t === point.t && sameFigures(before, point)) return;
    points.splice(at, 0, point);
  }

  /** Forgets an autoscaler (deleted). */
  dropHpa(key) {
    this.hpas.delete(key);
  }

  /** Drops what is older than `span` before the newest instant, and series left without a figure. */
  trim() {
    const from = this.now - this.span;
    for (const map of [this.nodes, this.pods, this.hpas]) {
      for (const [key, points] of map) {
        const kept = points.filter((p) => p.t >= from);
        if (!kept.some((p) => p.cpu !== null)) map.delete(key);
        else map.set(key, kept);
      }
    }
  }

  /** The x axis: [from, to] in simulated seconds, the last `span` at most, at least MIN_SPAN. */
  domain() {
    let to = this.now ?? 0;
    for (const points of this.hpas.values()) to = Math.max(to, points[points.length - 1].t);   // the feed's, newer
    let from = to;
    for (const map of [this.nodes, this.pods, this.hpas]) for (const points of map.values()) from = Math.min(from, points[0].t);
    return [Math.max(to - this.span, Math.min(from, to - MIN_SPAN)), to];
  }
}

function sameFigures(a, b) {
  return a.currentReplicas === b.currentReplicas && a.desiredReplicas === b.desiredReplicas &&
    JSON.stringify(a.metrics) === JSON.stringify(b.metrics);
}

/** An autoscaler of GET …/metrics as a point's figures. */
export function hpaPoint(h) {
  const metrics = {};
  for (const m of h.metrics || []) metrics[m.name || m.type] = { current: m.current ?? null, target: m.target ?? null };
  // Before its first sync an HPA's status says 0 and 0 (kubectl: REPLICAS 0, TARGETS <unknown>): no counts yet.
  const unread = !h.currentReplicas && !h.desiredReplicas && Object.values(metrics).every((m) => m.current === null);
  return { metrics, currentReplicas: unread ? null : h.currentReplicas ?? null, desiredReplicas: unread ? null : h.desiredReplicas ?? null };
}

/**
 * kubectl's TARGETS cell of an HPA ("cpu: 250%/50%", "cpu: <unknown>/50%, memory: 30%/80%") as
 * { name: { current, target } } for its Utilization metrics (percentages); the others are not charted.
 */
export function parseTargets(cell) {
  const metrics = {};
  for (const [, name, current, target] of String(cell || "").matchAll(/([\w.\/-]+): (\d+%|<unknown>)\/(\d+)%/g)) {
    metrics[name] = { current: current === "<unknown>" ? null : Number.parseInt(current, 10), target: Number(target) };
  }
  return metrics;
}

/**
 * An autoscaler's figures from the live feed: its summary (kubectl's cells: REFERENCE, TARGETS, MINPODS,
 * MAXPODS, REPLICAS, AGE) and its target's (a Deployment's or StatefulSet's `replicas`, its spec.replicas,
 * which the controller sets to its desired count in the same sync), or null when the target is not known.
 */
export function feedHpaPoint(summary, target) {
  const [, , targets, , , replicas] = summary?.cells || [];   // NAME REFERENCE TARGETS MINPODS MAXPODS REPLICAS AGE
  const metrics = parseTargets(targets);
  let current = Number.parseInt(replicas, 10);
  // kubectl prints an unset status.currentReplicas as 0: before the first sync there is no count yet.
  if (Number.isNaN(current) || (current === 0 && Object.values(metrics).every((m) => m.current === null))) current = null;
  const desired = target && target.replicas !== undefined && target.replicas !== null ? Number(target.replicas) : null;
  return { metrics, currentReplicas: current, desiredReplicas: desired };
}

/** "Deployment/default/php-apache": the live view's key of an HPA summary's target (REFERENCE "Deployment/php-apache"). */
export function hpaTargetKey(summary) {
  const [kind, name] = String(summary?.cells?.[1] || "").split("/");
  return kind && name ? `${kind}/${summary.namespace}/${name}` : null;
}

function share(value, whole) {
  return value === null || value === undefined || !whole ? null : (100 * value) / whole;
}

// ------------------------------------------------------------------------------------------ what to plot

/** The learner's namespaces among the pods: every namespace but the system ones, sorted. */
export function namespacesOf(pods) {
  return [...new Set((pods || []).map((p) => p.namespace))].sort();
}

/**
 * The pods to chart: those of the filter ("" = the learner's namespaces, "*" = all, else one namespace),
 * busiest first by their latest CPU, at most `n`.
 */
export function topPods(pods, filter = "", n = TOP_PODS) {
  const wanted = (p) => (filter === "*" ? true : filter ? p.namespace === filter : !SYSTEM_NAMESPACES.has(p.namespace));
  return (pods || []).filter(wanted)
    .sort((a, b) => b.cpu - a.cpu || b.memory - a.memory || `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`))
    .slice(0, n);
}

// ------------------------------------------------------------------------------------------ scales

/** A linear map from [d0, d1] to [r0, r1] (a flat domain maps to r0). */
export function scale([d0, d1], [r0, r1]) {
  const span = d1 - d0;
  return (v) => (span === 0 ? r0 : r0 + ((v - d0) / span) * (r1 - r0));
}

/** The smallest 1, 2, 2.5 or 5 × 10^k at or above `value` (an axis' top). */
export function niceCeil(value) {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value - 1e-9) return step * power;
  return 10 * power;
}

/** An axis' top at or above `value` that is a whole number of yTicks' steps, so the top line is labelled. */
export function axisTop(value, count = 4) {
  const step = niceCeil(niceCeil(value) / count);
  return Math.ceil(value / step - 1e-9) * step;
}

/** Round y ticks from 0 to `max` (a niceCeil): about `count` of them. */
export function yTicks(max, count = 4) {
  const step = niceCeil(max / count);
  const ticks = [];
  for (let v = 0; v <= max + 1e-9; v += step) ticks.push(Math.round(v * 1000) / 1000);
  return ticks;
}

/** x ticks on whole simulated minutes (or 15/30 s for a short span, 2/5 min for a long one). */
export function timeTicks([from, to], count = 5) {
  const span = to - from;
  const step = [15, 30, 60, 120, 300, 600].find((s) => span / s <= count) || 900;
  const ticks = [];
  for (let t = Math.ceil(from / step) * step; t <= to + 1e-9; t += step) ticks.push(t);
  return ticks;
}

const pad = (n) => String(n).padStart(2, "0");

/** "14:03" (or "14:03:30" off the minute), UTC as the clock bar shows it. */
export function clockLabel(t) {
  const d = new Date(t * 1000);
  const base = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
  return d.getUTCSeconds() ? `${base}:${pad(d.getUTCSeconds())}` : base;
}

const num = (v) => (Math.round(v * 10) / 10).toString();

/**
 * An SVG path through the points' `value(p)`: "M x y L x y …"; a null value breaks the line (a new "M").
 * With `step`, the line holds each value until the next point (a count that jumps, like replicas).
 */
export function linePath(points, value, x, y, { step = false } = {}) {
  let d = "";
  let open = false;
  let last = null;
  for (const p of points) {
    const v = value(p);
    if (v === null || v === undefined || Number.isNaN(v)) { open = false; continue; }
    const px = num(x(p.t)), py = num(y(v));
    if (!open) d += `${d ? " " : ""}M${px} ${py}`;
    else if (step) d += ` H${px}${last !== py ? ` V${py}` : ""}`;
    else d += ` L${px} ${py}`;
    open = true;
    last = py;
  }
  return d;
}

/** The last point with a value: { t, v } or null. */
export function lastValue(points, value) {
  for (let i = points.length - 1; i >= 0; i -= 1) {
    const v = value(points[i]);
    if (v !== null && v !== undefined) return { t: points[i].t, v };
  }
  return null;
}

// ------------------------------------------------------------------------------------------ labels

/** CPU as kubectl top prints it: "250m" (millicores), "1.25" cores from 10 cores up is not needed here. */
export function cpuLabel(m) {
  if (m === null || m === undefined) return "–";
  return `${Math.round(m)}m`;
}

/** Memory as kubectl top prints it: "123Mi" (and "1.5Gi" from a GiB up, which top would print as Mi). */
export function memoryLabel(bytes) {
  if (bytes === null || bytes === undefined) return "–";
  const mi = bytes / MiB;
  return mi >= 1024 ? `${(mi / 1024).toFixed(1)}Gi` : `${Math.round(mi)}Mi`;
}

/** "250%" for a Utilization figure, "300m" / "64Mi" for a value; "<unknown>" as kubectl says before the first. */
export function metricValue(value, unit) {
  if (value === null || value === undefined) return "<unknown>";
  if (unit === "%") return `${Math.round(value)}%`;
  if (unit === "m") return cpuLabel(value);
  if (unit === "bytes") return memoryLabel(value);
  return String(value);
}

/** An autoscaler's latest figures in a line: "cpu 250% / 50% · 1 → 5 replicas" ("1 replica" when steady). */
export function hpaSummary(hpa) {
  const metrics = (hpa.metrics || []).map((m) => `${m.name || m.type} ${metricValue(m.current, m.unit)} / ${metricValue(m.target, m.unit)}`);
  const current = hpa.currentReplicas, desired = hpa.desiredReplicas;
  let replicas;
  if (current === null || current === undefined) replicas = "replicas not read yet";
  else if (desired !== null && desired !== undefined && desired !== current) replicas = `${current} → ${desired} replicas`;
  else replicas = `${current} replica${current === 1 ? "" : "s"}`;
  return [...metrics, replicas].join(" · ");
}

/** "worker-1 · cpu 540m of 2000m (27%) · memory 1.1Gi of 7.8Gi (14%)" as parts for a node's legend. */
export function nodeFigures(node) {
  const pct = (v, whole) => (whole ? ` (${Math.round((100 * v) / whole)}%)` : "");
  return {
    cpu: `${cpuLabel(node.cpu)} of ${cpuLabel(node.allocatable?.cpu)}${pct(node.cpu, node.allocatable?.cpu)}`,
    memory: `${memoryLabel(node.memory)} of ${memoryLabel(node.allocatable?.memory)}${pct(node.memory, node.allocatable?.memory)}`,
  };
}

/** A pod's requests and limits, shortly: "req 200m · lim 500m" (what is not set is left out). */
export function podBounds(pod, resource) {
  const label = resource === "cpu" ? cpuLabel : memoryLabel;
  const parts = [];
  if (pod.requests?.[resource] !== null && pod.requests?.[resource] !== undefined) parts.push(`req ${label(pod.requests[resource])}`);
  if (pod.limits?.[resource] !== null && pod.limits?.[resource] !== undefined) parts.push(`lim ${label(pod.limits[resource])}`);
  return parts.join(" · ");
}

// ------------------------------------------------------------------------------------------ the chart

export const CHART = { width: 360, height: 132, left: 38, right: 10, top: 10, bottom: 20 };

/**
 * One small line chart as SVG text. `lines`: [{ points, value(p), cls, label, dashed, step }]; `domain`:
 * the x axis [from, to]; `yMax`: the y axis' top (0 at the bottom); `yLabel(v)`: a tick's text;
 * `title`: the chart's accessible name. The last figure of each line gets a dot.
 */
export function chartSvg({ lines, domain, yMax, yLabel = (v) => String(v), title, ticks = null, size = CHART }) {
  const { width, height, left, right, top, bottom } = size;
  const x = scale(domain, [left, width - right]);
  const y = scale([0, yMax], [height - bottom, top]);
  const parts = [];
  for (const v of ticks || yTicks(yMax)) {
    const py = num(y(v));
    parts.push(`<line class="grid" x1="${left}" x2="${width - right}" y1="${py}" y2="${py}"/>` +
      `<text class="tick" x="${left - 4}" y="${py}" text-anchor="end" dominant-baseline="middle">${esc(yLabel(v))}</text>`);
  }
  for (const t of timeTicks(domain, 4)) {
    const px = num(x(t));
    if (px < left + 14) continue;     // under the y axis' labels
    parts.push(`<text class="tick" x="${px}" y="${height - 5}" text-anchor="middle">${esc(clockLabel(t))}</text>`);
  }
  for (const line of lines) {
    const d = linePath(line.points, line.value, x, (v) => y(Math.min(v, yMax)), { step: line.step });
    if (!d) continue;
    const cls = `line ${line.cls || ""}${line.dashed ? " dashed" : ""}`.trim();
    parts.push(`<path class="${esc(cls)}" d="${d}"><title>${esc(line.label || "")}</title></path>`);
    const end = lastValue(line.points, line.value);
    if (end && !line.dashed) {
      parts.push(`<circle class="dot ${esc(line.cls || "")}" cx="${num(x(end.t))}" cy="${num(y(Math.min(end.v, yMax)))}" r="2.6"/>`);
    }
  }
  return `<svg class="chart" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(title)}">` +
    `<title>${esc(title)}</title>` +
    `<line class="axis" x1="${left}" x2="${width - right}" y1="${height - bottom}" y2="${height - bottom}"/>` +
    `${parts.join("")}</svg>`;
}
