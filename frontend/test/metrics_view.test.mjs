// The Metrics panel's pure part: the history kept from polling …/metrics, the chart maths, the labels.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  HISTORY_SECONDS, MetricsHistory, axisTop, chartSvg, clockLabel, cpuLabel, feedHpaPoint, hpaSummary, hpaTargetKey, lastValue,
  linePath, memoryLabel, metricValue, namespacesOf, niceCeil, nodeFigures, parseTargets, podBounds, pollDelay, scale,
  seconds, timeTicks, topPods, yTicks,
} from "../src/metrics_view.js";

const T0 = Date.parse("2026-03-01T10:00:00Z") / 1000;
const iso = (t) => new Date(t * 1000).toISOString().replace(".000Z", "Z");
const MiB = 1024 * 1024;

function answer(t, { scrape = t - (t % 15), nodes = [], pods = [], autoscalers = [] } = {}) {
  return { now: iso(t), scrape: scrape === null ? null : iso(scrape), window: scrape === null ? null : 15, speed: 60,
    paused: false, nodes, pods, autoscalers };
}
const node = (name, cpu, memory = 1024 * MiB) => ({ name, cpu, memory, allocatable: { cpu: 2000, memory: 8192 * MiB } });
const pod = (name, cpu, namespace = "default") => ({ namespace, name, node: "worker-1", cpu, memory: 20 * MiB,
  requests: { cpu: 200, memory: null }, limits: { cpu: 500, memory: null } });
const hpa = (current, currentReplicas, desiredReplicas) => ({ namespace: "default", name: "php-apache",
  target: "Deployment/php-apache", minReplicas: 1, maxReplicas: 10, currentReplicas, desiredReplicas,
  metrics: [{ type: "Resource", name: "cpu", current, target: 50, unit: "%" }], conditions: [] });

test("the poll follows the clock: one scrape's worth of simulated time, at least a second", () => {
  assert.equal(pollDelay({ speed: 1 }), 15000);
  assert.equal(pollDelay({ speed: 10 }), 1500);
  assert.equal(pollDelay({ speed: 60 }), 1000);
  assert.equal(pollDelay({ speed: 60, paused: true }), 5000);
});

test("one point per scrape for nodes and pods, one per poll for the autoscalers", () => {
  const h = new MetricsHistory();
  h.add(answer(T0 + 2, { nodes: [node("worker-1", 500)], pods: [pod("web", 10)], autoscalers: [hpa(null, 1, 1)] }));
  h.add(answer(T0 + 9, { nodes: [node("worker-1", 500)], pods: [pod("web", 10)], autoscalers: [hpa(250, 1, 5)] }));
  h.add(answer(T0 + 16, { nodes: [node("worker-1", 1000)], pods: [pod("web", 30)], autoscalers: [hpa(250, 5, 5)] }));
  assert.deepEqual(h.nodes.get("worker-1").map((p) => [p.t - T0, p.cpu, p.cpuShare]), [[0, 500, 25], [15, 1000, 50]]);
  assert.deepEqual(h.pods.get("default/web").map((p) => [p.t - T0, p.cpu]), [[0, 10], [15, 30]]);
  assert.deepEqual(h.hpas.get("default/php-apache").map((p) => [p.t - T0, p.metrics.cpu.current, p.metrics.cpu.target,
    p.currentReplicas, p.desiredReplicas]), [[2, null, 50, 1, 1], [9, 250, 50, 1, 5], [16, 250, 50, 5, 5]]);
  assert.equal(h.scrape, T0 + 15);
  // The same instant again (a paused clock) adds nothing.
  h.add(answer(T0 + 16, { nodes: [node("worker-1", 1000)], autoscalers: [hpa(250, 5, 5)] }));
  assert.equal(h.hpas.get("default/php-apache").length, 3);
});

test("the live feed's autoscaler figures: kubectl's cells and the target's spec.replicas, in time order", () => {
  assert.deepEqual(parseTargets("cpu: 250%/50%"), { cpu: { current: 250, target: 50 } });
  assert.deepEqual(parseTargets("cpu: <unknown>/50%, memory: 31%/80%"),
    { cpu: { current: null, target: 50 }, memory: { current: 31, target: 80 } });
  assert.deepEqual(parseTargets("<none>"), {});
  const summary = (targets, replicas) => ({ kind: "HorizontalPodAutoscaler", namespace: "default", name: "php-apache",
    cells: ["php-apache", "Deployment/php-apache", targets, "1", "10", String(replicas), "2m"] });
  assert.equal(hpaTargetKey(summary("cpu: 0%/50%", 1)), "Deployment/default/php-apache");
  assert.deepEqual(feedHpaPoint(summary("cpu: 250%/50%", 1), { replicas: 5 }),
    { metrics: { cpu: { current: 250, target: 50 } }, currentReplicas: 1, desiredReplicas: 5 });
  // Before the first sync kubectl prints REPLICAS 0: no count yet.
  assert.deepEqual(feedHpaPoint(summary("cpu: <unknown>/50%", 0), undefined),
    { metrics: { cpu: { current: null, target: 50 } }, currentReplicas: null, desiredReplicas: null });

  const h = new MetricsHistory();
  h.add(answer(T0 + 60, { autoscalers: [hpa(0, 1, 1)] }));
  h.addHpa("default/php-apache", { t: T0 + 75, ...feedHpaPoint(summary("cpu: 250%/50%", 1), { replicas: 5 }) });
  h.addHpa("default/php-apache", { t: T0 + 75, ...feedHpaPoint(summary("cpu: 250%/50%", 1), { replicas: 5 }) });
  h.addHpa("default/php-apache", { t: T0 + 70, ...feedHpaPoint(summary("cpu: 0%/50%", 1), { replicas: 1 }) });
  h.add(answer(T0 + 80, { autoscalers: [hpa(250, 5, 5)] }));
  assert.deepEqual(h.hpas.get("default/php-apache").map((p) => [p.t - T0, p.metrics.cpu.current, p.currentReplicas]),
    [[60, 0, 1], [70, 0, 1], [75, 250, 1], [80, 250, 5]]);
  h.addHpa("default/php-apache", { t: T0 + 90, ...feedHpaPoint(summary("cpu: 60%/50%", 5), { replicas: 6 }) });
  assert.equal(h.domain()[1], T0 + 90);     // the feed's newest figure is on the chart
  h.dropHpa("default/php-apache");
  assert.equal(h.hpas.size, 0);
});

test("a pod gone from a scrape breaks its line; a deleted autoscaler goes", () => {
  const h = new MetricsHistory();
  h.add(answer(T0, { pods: [pod("a", 5), pod("b", 5)], autoscalers: [hpa(10, 1, 1)] }));
  h.add(answer(T0 + 15, { pods: [pod("a", 6)] }));
  h.add(answer(T0 + 30, { pods: [pod("a", 7)] }));
  assert.deepEqual(h.pods.get("default/b").map((p) => p.cpu), [5, null]);
  assert.equal(h.hpas.has("default/php-apache"), false);
});

test("the history keeps the last ten simulated minutes, and starts over when the clock goes back", () => {
  const h = new MetricsHistory();
  for (let t = 0; t <= 1200; t += 60) h.add(answer(T0 + t, { pods: [pod("web", t)], autoscalers: [hpa(t, 1, 1)] }));
  const points = h.pods.get("default/web");
  assert.equal(points[0].t, T0 + 1200 - HISTORY_SECONDS);
  assert.equal(points[points.length - 1].t, T0 + 1200);
  assert.deepEqual(h.domain(), [T0 + 1200 - HISTORY_SECONDS, T0 + 1200]);
  h.add(answer(T0 + 30, { pods: [pod("web", 1)] }));      // a reset cluster: its clock starts again
  assert.deepEqual(h.pods.get("default/web").map((p) => p.t), [T0 + 30]);
  // A short history still gets a minute of x axis, ending now.
  assert.deepEqual(h.domain(), [T0 - 30, T0 + 30]);
});

test("before the first scrape: nothing for nodes and pods, the autoscalers still recorded", () => {
  const h = new MetricsHistory();
  h.add(answer(T0, { scrape: null, autoscalers: [hpa(null, 0, 0)] }));
  assert.equal(h.nodes.size, 0);
  assert.equal(h.scrape, null);
  // An HPA not synced yet (status 0 and 0, no figure): no replica counts rather than a drop to zero.
  assert.deepEqual(h.hpas.get("default/php-apache").map((p) => [p.currentReplicas, p.desiredReplicas]), [[null, null]]);
});

test("the busiest pods of the learner's namespaces, or of one, or of all", () => {
  const pods = [pod("web", 5), pod("php", 250), pod("coredns", 3, "kube-system"), pod("x", 900, "ingress-nginx"),
    pod("api", 40, "shop")];
  assert.deepEqual(topPods(pods).map((p) => p.name), ["php", "api", "web"]);
  assert.deepEqual(topPods(pods, "*", 2).map((p) => p.name), ["x", "php"]);
  assert.deepEqual(topPods(pods, "kube-system").map((p) => p.name), ["coredns"]);
  assert.deepEqual(namespacesOf(pods), ["default", "ingress-nginx", "kube-system", "shop"]);
});

test("scales, round axis tops and ticks", () => {
  const x = scale([10, 20], [0, 100]);
  assert.equal(x(15), 50);
  assert.equal(scale([5, 5], [3, 9])(5), 3);
  assert.deepEqual([0.3, 1, 7, 12, 180, 250, 260, 1001].map(niceCeil), [0.5, 1, 10, 20, 200, 250, 500, 2000]);
  assert.deepEqual(yTicks(250), [0, 100, 200]);
  assert.deepEqual([100, 210, 460, 10, 12].map((v) => axisTop(v)), [100, 300, 600, 10, 15]);
  assert.deepEqual(yTicks(axisTop(210)), [0, 100, 200, 300]);
  assert.deepEqual(yTicks(100), [0, 25, 50, 75, 100]);
  assert.deepEqual(timeTicks([T0 + 10, T0 + 610]).map((t) => t - T0), [120, 240, 360, 480, 600]);
  assert.deepEqual(timeTicks([T0, T0 + 60]).map((t) => t - T0), [0, 15, 30, 45, 60]);
  assert.equal(clockLabel(T0 + 90), "10:01:30");
  assert.equal(clockLabel(T0 + 120), "10:02");
});

test("paths: lines, breaks at null, steps for counts", () => {
  const pts = [{ t: 0, v: 0 }, { t: 1, v: 10 }, { t: 2, v: null }, { t: 3, v: 5 }, { t: 4, v: 5 }];
  const x = (t) => t * 10, y = (v) => 100 - v;
  assert.equal(linePath(pts, (p) => p.v, x, y), "M0 100 L10 90 M30 95 L40 95");
  assert.equal(linePath(pts.slice(0, 2), (p) => p.v, x, y, { step: true }), "M0 100 H10 V90");
  assert.equal(linePath([], (p) => p.v, x, y), "");
  assert.deepEqual(lastValue(pts.slice(0, 3), (p) => p.v), { t: 1, v: 10 });
});

test("a chart is SVG with its title, a tick per round value, a dashed target and a dot on the latest figure", () => {
  const points = [{ t: T0, current: [0], target: [50] }, { t: T0 + 60, current: [250], target: [50] }];
  const svg = chartSvg({
    domain: [T0, T0 + 60], yMax: 250, yLabel: (v) => `${v}%`, title: "php-apache: cpu 250% against 50% <b>",
    lines: [{ points, value: (p) => p.current[0], cls: "c0" }, { points, value: (p) => p.target[0], cls: "c0", dashed: true }],
  });
  assert.match(svg, /^<svg class="chart" viewBox="0 0 360 132" role="img" aria-label="php-apache: cpu 250% against 50% &lt;b&gt;">/);
  assert.match(svg, />200%</);
  assert.match(svg, /<path class="line c0 dashed" d="M38 /);
  assert.equal((svg.match(/<circle /g) || []).length, 1);
  assert.match(svg, />10:01</);
});

test("labels as kubectl prints the figures", () => {
  assert.equal(cpuLabel(249.6), "250m");
  assert.equal(memoryLabel(20 * MiB), "20Mi");
  assert.equal(memoryLabel(1536 * MiB), "1.5Gi");
  assert.equal(metricValue(null, "%"), "<unknown>");
  assert.equal(metricValue(250.4, "%"), "250%");
  assert.equal(hpaSummary(hpa(250, 1, 5)), "cpu 250% / 50% · 1 → 5 replicas");
  assert.equal(hpaSummary(hpa(48, 5, 5)), "cpu 48% / 50% · 5 replicas");
  assert.equal(hpaSummary(hpa(null, 1, 1)), "cpu <unknown> / 50% · 1 replica");
  assert.deepEqual(nodeFigures(node("w", 540, 1024 * MiB)), { cpu: "540m of 2000m (27%)", memory: "1.0Gi of 8.0Gi (13%)" });
  assert.equal(podBounds(pod("php", 1), "cpu"), "req 200m · lim 500m");
  assert.equal(podBounds(pod("php", 1), "memory"), "");
  assert.equal(seconds(null), null);
});
