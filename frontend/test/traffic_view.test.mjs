// "Send traffic"'s pure logic (src/traffic_view.js): the card's options, the request body, and the
// server's answer (clusters/web/PAGE.md, "Send traffic") as bars, labels and the pods to highlight.
import { test, describe } from "node:test";
import assert from "node:assert/strict";

import {
  bodyPreview, failureHint, hitsByPod, percents, requestBody, servicePorts, statusLabel, statusState, summary,
  trafficOptions, trafficRows,
} from "../src/traffic_view.js";

const service = (type, ports) => ({ kind: "Service", namespace: "default", name: "web", type,
  cells: ["web", type, "10.96.12.3", "<none>", ports, "5m"] });

const answer = {
  url: "http://web:80/", from: "cluster", time: "2026-01-01T12:00:00.000250Z", requests: 30,
  answers: [
    { pod: "web-1", namespace: "default", node: "worker-1", count: 14, statuses: { 200: 14 } },
    { pod: "web-2", namespace: "default", node: "worker-2", count: 11, statuses: { 200: 9, 404: 2 } },
    { pod: "web-3", namespace: "default", node: "worker-1", count: 2, statuses: { 200: 2 } },
  ],
  failures: [{ reason: "connection refused", count: 3 }],
  first: { status: 200, body: "<h1>hi</h1>\n", truncated: false, pod: "web-1" },
};

describe("servicePorts and trafficOptions", () => {
  test("read kubectl's PORT(S) cell, node ports included", () => {
    assert.deepEqual(servicePorts("80/TCP"), [{ port: 80, nodePort: null, protocol: "TCP" }]);
    assert.deepEqual(servicePorts("80:31219/TCP,53/UDP"), [
      { port: 80, nodePort: 31219, protocol: "TCP" }, { port: 53, nodePort: null, protocol: "UDP" }]);
    assert.deepEqual(servicePorts("<none>"), []);
    assert.deepEqual(servicePorts(undefined), []);
  });

  test("offer TCP ports only, and 'from outside' for NodePort and LoadBalancer Services", () => {
    assert.deepEqual(trafficOptions(service("ClusterIP", "80/TCP,53/UDP")),
      { ports: [{ port: 80, nodePort: null, protocol: "TCP" }], outside: false, type: "ClusterIP" });
    assert.equal(trafficOptions(service("NodePort", "80:30080/TCP")).outside, true);
    assert.equal(trafficOptions(service("LoadBalancer", "80:30080/TCP,443:30443/TCP")).ports.length, 2);
    assert.equal(trafficOptions({ cells: ["x", "NodePort", "", "", "80:30000/TCP"] }).outside, true);
  });
});

describe("requestBody", () => {
  test("defaults: 10 requests to / from a pod", () => {
    assert.deepEqual(requestBody({ requests: "", path: "" }), { body: { requests: 10, path: "/", from: "cluster" } });
    assert.deepEqual(requestBody(), { body: { requests: 10, path: "/", from: "cluster" } });
  });

  test("a path gets its leading slash; the port and 'outside' are kept", () => {
    assert.deepEqual(requestBody({ requests: "30", path: " index.html ", from: "outside", port: "443" }),
      { body: { requests: 30, path: "/index.html", from: "outside", port: 443 } });
  });

  test("a count outside 1-100 or a path with spaces is the learner's mistake, said before posting", () => {
    for (const requests of ["0", "101", "2.5", "ten", "-3"]) {
      assert.match(requestBody({ requests }).error, /whole number from 1 to 100/);
    }
    assert.match(requestBody({ path: "/a b" }).error, /no spaces/);
  });
});

describe("trafficRows", () => {
  test("one bar per pod, most first, then the failures; shares of all requests", () => {
    const rows = trafficRows(answer);
    assert.deepEqual(rows.map((r) => [r.kind, r.label, r.count, r.percent]), [
      ["pod", "web-1", 14, 47], ["pod", "web-2", 11, 37], ["pod", "web-3", 2, 6],
      ["failure", "connection refused", 3, 10]]);
    assert.equal(rows[0].key, "Pod/default/web-1");
    assert.equal(rows[3].key, null);
    assert.ok(Math.abs(rows.reduce((sum, r) => sum + r.share, 0) - 1) < 1e-9);
  });

  test("the node, and the statuses only when a pod answered with more than one", () => {
    const [one, two] = trafficRows(answer);
    assert.equal(one.detail, "on worker-1");
    assert.equal(two.detail, "on worker-2 · 200 ×9 · 404 ×2");
  });

  test("colours: 2xx/3xx ok, any 4xx/5xx wait, not HTTP done, failures bad", () => {
    const rows = trafficRows(answer);
    assert.deepEqual(rows.map((r) => r.state), ["s-ok", "s-wait", "s-ok", "s-bad"]);
    const raw = trafficRows({ requests: 2, answers: [{ pod: "dns", namespace: "kube-system", node: "", count: 2,
      statuses: { 0: 2 } }], failures: [] });
    assert.equal(raw[0].state, "s-done");
  });

  test("a node's own listener (no pod) is a row without a key", () => {
    const rows = trafficRows({ requests: 1, answers: [{ pod: null, namespace: null, node: "", count: 1, statuses: { 403: 1 } }],
      failures: [] });
    assert.deepEqual([rows[0].kind, rows[0].key, rows[0].label], ["listener", null, "the node's own listener"]);
  });

  test("nothing answered: failures only", () => {
    const rows = trafficRows({ requests: 5, answers: [], failures: [{ reason: "connection refused", count: 5 }] });
    assert.deepEqual(rows.map((r) => [r.kind, r.percent, r.share]), [["failure", 100, 1]]);
  });
});

describe("percents", () => {
  test("whole percentages that add up to 100 (largest remainders), not 37 + 37 + 27", () => {
    assert.deepEqual(percents([11, 11, 8], 30), [37, 37, 26]);
    assert.deepEqual(percents([1, 1, 1], 3), [34, 33, 33]);
    assert.deepEqual(percents([10], 10), [100]);
    assert.deepEqual(percents([], 10), []);
  });
});

describe("hitsByPod, summary, labels", () => {
  test("the pods to highlight, by the live view's key", () => {
    assert.deepEqual([...hitsByPod(answer)], [["Pod/default/web-1", 14], ["Pod/default/web-2", 11],
      ["Pod/default/web-3", 2]]);
    assert.equal(hitsByPod({ answers: [] }).size, 0);
  });

  test("the line over the bars", () => {
    assert.deepEqual(summary(answer, "default"),
      { sent: "30 requests from a pod in default", url: "http://web:80/", outcome: "27 of 30 answered" });
    assert.equal(summary({ ...answer, failures: [], requests: 27 }, "default").outcome, "3 pods answered");
    assert.equal(summary({ ...answer, from: "outside", requests: 1, answers: [], failures: [] }, "x").sent,
      "1 request from outside the cluster");
    assert.equal(summary({ requests: 5, answers: [], failures: [] }, "default").outcome, "nothing answered");
  });

  test("statuses and failure hints", () => {
    assert.equal(statusLabel(200), "200 OK");
    assert.equal(statusLabel(503), "503 Service Unavailable");
    assert.equal(statusLabel(418), "418");
    assert.equal(statusLabel(0), "connected, not HTTP");
    assert.deepEqual([statusState(200), statusState(301), statusState(404), statusState(0)],
      ["s-ok", "s-ok", "s-wait", "s-done"]);
    assert.match(failureHint("connection refused"), /No ready endpoint/);
    assert.equal(failureHint("something else"), "");
  });

  test("bodyPreview keeps a few lines and says when it cut", () => {
    assert.deepEqual(bodyPreview("a\nb\n"), { text: "a\nb", cut: false });
    const long = Array.from({ length: 20 }, (_, i) => `line ${i}`).join("\n");
    assert.deepEqual(bodyPreview(long, { lines: 2 }), { text: "line 0\nline 1", cut: true });
    assert.equal(bodyPreview("x".repeat(1000), { chars: 10 }).text.length, 10);
    assert.deepEqual(bodyPreview(""), { text: "", cut: false });
  });
});
