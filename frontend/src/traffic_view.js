// "Send traffic"'s pure logic (no DOM): what a Service card offers, the request body it posts, and the
// server's answer (clusters/web/PAGE.md, "Send traffic") turned into bar rows, labels and the pods to
// highlight. traffic.js draws it; test/traffic_view.test.mjs tests it.

export const DEFAULT_REQUESTS = 10;
export const MAX_REQUESTS = 100;

const REASONS = {
  200: "OK", 201: "Created", 204: "No Content", 301: "Moved Permanently", 302: "Found", 304: "Not Modified",
  400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
  500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
};

/** kubectl's PORT(S) cell ("80/TCP", "80:31219/TCP,53/UDP", "<none>") as [{ port, nodePort, protocol }]. */
export function servicePorts(cell) {
  return String(cell || "").split(",").map((part) => part.trim())
    .map((part) => /^(\d+)(?::(\d+))?\/([A-Z]+)$/.exec(part))
    .filter(Boolean)
    .map(([, port, nodePort, protocol]) => ({ port: Number(port), nodePort: nodePort ? Number(nodePort) : null, protocol }));
}

/** What a Service card's form offers: its TCP ports and whether "from outside" means anything. */
export function trafficOptions(service) {
  const ports = servicePorts(service?.cells?.[4]).filter((p) => p.protocol === "TCP");
  const type = service?.type || service?.cells?.[1] || "ClusterIP";
  return { ports, outside: type === "NodePort" || type === "LoadBalancer", type };
}

/**
 * The form's values as the endpoint's body: { body } or { error } (a message for the learner).
 * An empty path is "/", and a path without its leading "/" gets one, as the address bar would.
 */
export function requestBody({ requests, path, from, port } = {}) {
  const text = String(requests ?? "").trim();
  const count = text === "" ? DEFAULT_REQUESTS : Number(text);
  if (!Number.isInteger(count) || count < 1 || count > MAX_REQUESTS) {
    return { error: `Requests: a whole number from 1 to ${MAX_REQUESTS}.` };
  }
  let route = String(path ?? "").trim() || "/";
  if (!route.startsWith("/")) route = `/${route}`;
  if (/[\s\x00-\x1f\x7f]/.test(route) || route.length > 1000) {
    return { error: "Path: no spaces, at most 1000 characters (e.g. /index.html)." };
  }
  const body = { requests: count, path: route, from: from === "outside" ? "outside" : "cluster" };
  const number = Number(port);
  if (port !== undefined && port !== null && port !== "" && Number.isInteger(number)) body.port = number;
  return { body };
}

/** "200 OK", "503 Service Unavailable"; 0: something listens that does not speak HTTP. */
export function statusLabel(status) {
  if (status === 0) return "connected, not HTTP";
  if (status === null || status === undefined) return "no answer";
  return REASONS[status] ? `${status} ${REASONS[status]}` : String(status);
}

/** The state class of a status, as the chips colour things: ok, wait (4xx/5xx), done (not HTTP). */
export function statusState(status) {
  if (status === 0) return "s-done";
  return status >= 200 && status < 400 ? "s-ok" : "s-wait";
}

function worstStatus(statuses) {
  const codes = Object.keys(statuses || {}).map(Number);
  if (!codes.length) return null;
  const errors = codes.filter((c) => c >= 400);
  if (errors.length) return Math.max(...errors);
  const http = codes.filter((c) => c > 0);
  return http.length ? Math.min(...http) : 0;
}

/** "200 ×9 · 404 ×1" for a pod that answered with more than one status; "" otherwise. */
function statusMix(statuses) {
  const entries = Object.entries(statuses || {});
  if (entries.length < 2) return "";
  return entries.sort(([, a], [, b]) => b - a).map(([code, n]) => `${code} ×${n}`).join(" · ");
}

/** Whole percentages of `total` that add up to 100 when the counts add up to `total` (largest remainders). */
export function percents(counts, total) {
  const base = total || 1;
  const whole = counts.map((c) => Math.floor((100 * c) / base));
  const sum = counts.reduce((a, b) => a + b, 0);
  let left = sum === total ? 100 - whole.reduce((a, b) => a + b, 0) : 0;
  // Integer remainders: equal shares tie exactly, and the first of them gets the point.
  const order = counts.map((c, i) => [(100 * c) % base, i]).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, i] of order) {
    if (left <= 0) break;
    whole[i] += 1;
    left -= 1;
  }
  return whole;
}

/** "Pod/<namespace>/<name>" of an answer row (the live view's key), or null for a node's own listener. */
export const podKey = (a) => (a.pod ? `Pod/${a.namespace}/${a.pod}` : null);

/**
 * The answer as bar rows: one per answering pod (most requests first), then one per failure reason.
 * Each row: { kind: "pod" | "listener" | "failure", key, label, detail, count, share (0..1 of all requests),
 * percent, state (the colour class) }.
 */
export function trafficRows(answer) {
  const total = answer?.requests || [...(answer?.answers || []), ...(answer?.failures || [])]
    .reduce((sum, r) => sum + r.count, 0) || 1;
  const answered = (answer?.answers || []).map((a) => {
    const worst = worstStatus(a.statuses);
    const mix = statusMix(a.statuses);
    return {
      kind: a.pod ? "pod" : "listener",
      key: podKey(a),
      label: a.pod || "the node's own listener",
      detail: [a.node ? `on ${a.node}` : "", mix].filter(Boolean).join(" · "),
      count: a.count,
      share: a.count / total,
      state: worst === null ? "s-ok" : statusState(worst),
    };
  });
  const failed = (answer?.failures || []).map((f) => ({
    kind: "failure", key: null, label: f.reason, detail: "", count: f.count, share: f.count / total, state: "s-bad",
  }));
  const rows = [...answered, ...failed];
  const shares = percents(rows.map((r) => r.count), total);
  return rows.map((row, i) => ({ ...row, percent: shares[i] }));
}

/** The pods to highlight on the map: Map("Pod/ns/name" → requests answered). */
export function hitsByPod(answer) {
  const hits = new Map();
  for (const a of answer?.answers || []) {
    const key = podKey(a);
    if (key) hits.set(key, (hits.get(key) || 0) + a.count);
  }
  return hits;
}

const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** One line over the bars: what was sent, and how it went. */
export function summary(answer, namespace) {
  const requests = answer.requests;
  const answered = (answer.answers || []).reduce((sum, a) => sum + a.count, 0);
  const pods = (answer.answers || []).filter((a) => a.pod).length;
  const from = answer.from === "outside" ? "from outside the cluster" : `from a pod in ${namespace}`;
  let outcome;
  if (!answered) outcome = "nothing answered";
  else if (answered === requests) outcome = `${plural(pods || 1, pods ? "pod" : "listener")} answered`;
  else outcome = `${answered} of ${requests} answered`;
  return { sent: `${plural(requests, "request")} ${from}`, url: answer.url, outcome };
}

/** The first answer's body, cut to a few lines for the preview: { text, cut }. */
export function bodyPreview(body, { lines = 6, chars = 360 } = {}) {
  const all = String(body ?? "").replace(/\r\n/g, "\n").replace(/\n+$/, "");
  let text = all.split("\n").slice(0, lines).join("\n");
  if (text.length > chars) text = text.slice(0, chars);
  return { text, cut: text.length < all.length };
}

/** What the failure reasons mean, for the learner (a title on the row). */
export function failureHint(reason) {
  return {
    "connection refused": "No ready endpoint behind the Service (kube-proxy rejects the connection), or nothing listens on the target port.",
    timeout: "The packets went nowhere: a port the Service does not have, or a node without a local endpoint (externalTrafficPolicy: Local).",
    "no route to host": "An address in a node's pod range that no pod holds.",
    "could not resolve host": "The name did not resolve: is CoreDNS running?",
  }[reason] || "";
}
