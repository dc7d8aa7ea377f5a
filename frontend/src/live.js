// The cluster page's live view: one WebSocket (clusters/web/consumer.py), a snapshot, then changes.
// It draws the node map, workloads, services, events and per-kind kubectl lists, and tells the rest of the
// page (clock bar, details drawer) what it heard through callbacks. Without JavaScript (or until the first
// snapshot) the server-rendered tables show instead.
// The merge of snapshot and changes by resourceVersion lives in live_merge.js.
import { esc } from "./dom.js";
import { LiveStore, keyOf } from "./live_merge.js";

// The namespaces a fresh cluster brings (kind's, and the ingress-nginx add-on's): hidden unless "Show system pods".
const SYSTEM_NAMESPACES = new Set(["kube-system", "kube-public", "kube-node-lease", "local-path-storage", "ingress-nginx"]);
export const NAMESPACED = new Set(["Pod", "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob",
  "Service", "EndpointSlice", "Ingress", "ConfigMap", "Secret", "PersistentVolumeClaim",
  "HorizontalPodAutoscaler", "Event"]);
const BAD = /CrashLoopBackOff|Error|ErrImage|ImagePullBackOff|InvalidImageName|OOMKilled|ContainerCannotRun|DeadlineExceeded|Evicted|Failed|NodeLost|Unknown/;

export { keyOf };

/**
 * Starts the live view in `root` (#live, whose data-socket is the feed's path).
 * onClock(clock) gets every clock the feed carries; onFailedNodes(names) the node switches. `nodeSwitches`
 * false (a read-only page) draws the nodes without their Fail / Recover switch.
 * Answers { objects, eventsFor(kind, namespace, name), onRender(fn), onFeed(fn), setFailedNodes(names), flash(hits, ms) }.
 */
export function createLiveView(root, { onClock = () => {}, onFailedNodes = () => {}, nodeSwitches = true } = {}) {
  const $ = (id) => document.getElementById(id);
  const els = {
    status: $("live-status"), map: $("live-map"), workloads: $("live-workloads"), services: $("live-services"),
    storage: $("live-storage"),
    events: $("live-events"), eventsCount: $("live-events-count"), filter: $("live-events-filter"),
    kinds: $("live-kinds"), list: $("live-list"), system: $("live-system"), fallback: $("static-tables"),
  };

  const store = new LiveStore();
  const objects = store.objects;  // "Kind/namespace/name" -> summary
  const touched = new Map();      // key -> "new" | "changed" (animated on the next render)
  const leaving = new Map();      // key -> summary still drawn while it fades out
  const hits = new Map();         // pod key -> requests it answered, highlighted for a moment (flash())
  const renderListeners = [];
  const feedListeners = [];       // onFeed(fn): each snapshot and batch of changes as it is applied
  let failedNodes = new Set();    // nodes whose kubelet the learner switched off (not in the change log)
  let socket = null;
  let attempt = 0;
  let selectedKind = "Pod";
  let renderQueued = false;

  const ofKind = (kind) => [...objects.values()].filter((o) => o.kind === kind);
  const visible = (o) => els.system.checked || !SYSTEM_NAMESPACES.has(o.namespace);
  const byName = (a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name);

  // ------------------------------------------------------------------------------ connection
  function setStatus(state, text) {
    els.status.dataset.state = state;
    root.classList.toggle("stale", state !== "live");
    els.status.querySelector(".text").textContent = text;
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const query = store.rv === null ? "" : `?rv=${store.rv}`;
    socket = new WebSocket(`${scheme}//${location.host}${root.dataset.socket}${query}`);
    socket.addEventListener("open", () => { attempt = 0; });
    socket.addEventListener("message", (event) => onMessage(JSON.parse(event.data)));
    socket.addEventListener("close", (event) => {
      socket = null;
      if (event.code === 4403) { setStatus("off", "Not allowed to watch this cluster. Reload the page."); return; }
      if (root.dataset.gone) return;
      const delay = Math.min(30000, 500 * 2 ** attempt) * (0.75 + Math.random() / 2);
      attempt += 1;
      setStatus("retry", `Reconnecting… (retrying in ${Math.round(delay / 1000) || 1} s)`);
      setTimeout(connect, delay);
    });
  }

  function setFailedNodes(names) {
    failedNodes = new Set(names || []);
    onFailedNodes([...failedNodes]);
    queueRender();
  }

  function onMessage(message) {
    if (message.clock) onClock(message.clock);
    if (message.failedNodes) setFailedNodes(message.failedNodes);
    if (message.type === "snapshot") {
      for (const key of store.applySnapshot(message).added) touched.set(key, "new");
      for (const listener of feedListeners) listener({ type: "snapshot", applied: [], clock: message.clock });
      root.hidden = false;
      if (els.fallback) els.fallback.hidden = true;
      setStatus("live", "Live");
      queueRender();
    } else if (message.type === "changes") {
      const { resync, applied } = store.applyChanges(message);
      if (resync !== null) {
        // A gap: something between our rv and this batch never arrived. Ask again from where we are.
        socket.send(JSON.stringify({ type: "resume", rv: resync }));
        return;
      }
      for (const { key, change, object } of applied) {
        if (change === "deleted") {
          leaving.set(key, object);
          setTimeout(() => { leaving.delete(key); queueRender(); }, 700);
        } else {
          touched.set(key, change);
          leaving.delete(key);
        }
      }
      for (const listener of feedListeners) listener({ type: "changes", applied, clock: message.clock });
      setStatus("live", "Live");
      queueRender();
    } else if (message.type === "gone") {
      root.dataset.gone = "1";
      setStatus("off", "This cluster was deleted.");
    }
  }

  // ------------------------------------------------------------------------------ rendering
  function queueRender() {
    if (renderQueued) return;
    renderQueued = true;
    requestAnimationFrame(() => {
      renderQueued = false;
      // innerHTML replaces the focused element: give the focus back to its successor (same data-key / action).
      const active = document.activeElement;
      const focusedKey = active?.dataset?.key;
      const focusedAction = active?.dataset?.nodeAction ? active.dataset.node : null;
      render();
      touched.clear();
      if (focusedAction) root.querySelector(`[data-node-action][data-node="${CSS.escape(focusedAction)}"]`)?.focus();
      else if (focusedKey && root.contains(active) === false) {
        root.querySelector(`[data-key="${CSS.escape(focusedKey)}"]`)?.focus();
      }
      for (const listener of renderListeners) listener();
      // An element a listener put back (the Service cards' traffic forms) keeps the focus it had.
      if (active && active !== document.activeElement && active.isConnected && root.contains(active)) {
        active.focus({ preventScroll: true });
      }
    });
  }

  function anim(key) {
    if (leaving.has(key)) return " leaving";
    const t = touched.get(key);
    return t ? ` ${t}` : "";
  }

  function podState(p) {
    const reason = p.reason || p.phase;
    if (p.terminating || reason === "Terminating") return "s-done";
    if (reason === "Completed" || p.phase === "Succeeded") return "s-done";
    if (BAD.test(reason) || p.phase === "Failed") return "s-bad";
    if (p.phase === "Running" && reason === "Running") {
      const [ready, total] = (p.ready || "0/0").split("/").map(Number);
      return total > 0 && ready === total ? "s-ok" : "s-wait";
    }
    return "s-wait";
  }

  function podReason(p) {
    if (p.unschedulable && (p.reason === "Pending" || !p.node)) return `Pending: ${p.unschedulable}`;
    return p.reason;
  }

  function podChip(p) {
    const key = keyOf(p);
    const reason = podReason(p);
    const restarts = p.restarts ? ` <span class="restarts" title="restarts">↻${p.restarts}</span>` : "";
    const hit = hits.get(key);
    const label = `Pod ${p.name}${p.namespace !== "default" ? ` in ${p.namespace}` : ""}: ${reason}, ` +
      `${p.ready} ready, ${p.restarts} restart${p.restarts === 1 ? "" : "s"}${p.node ? `, on ${p.node}` : ""}` +
      `${hit ? `, answered ${hit} request${hit === 1 ? "" : "s"}` : ""}`;
    return `<li class="chip ${podState(p)}${anim(key)}${hit ? " hit" : ""}" tabindex="0" data-key="${esc(key)}" ` +
      `title="${esc(label)}" aria-label="${esc(label)}"><span class="chip-name">${esc(p.name)}</span>` +
      `<span class="chip-reason">${esc(reason)} · ${esc(p.ready)}</span>${restarts}` +
      `${hit ? `<span class="hits" aria-hidden="true">${hit}</span>` : ""}</li>`;
  }

  function pods() {
    const all = ofKind("Pod");
    for (const [key, o] of leaving) if (o.kind === "Pod" && !objects.has(key)) all.push(o);
    return all.filter(visible).sort(byName);
  }

  function chipList(list, empty) {
    return list.length ? `<ul class="chips">${list.map(podChip).join("")}</ul>` : `<p class="muted none">${empty}</p>`;
  }

  function renderMap() {
    const all = pods();
    const nodes = ofKind("Node").sort(byName);
    const boxes = nodes.map((n) => {
      const here = all.filter((p) => p.node === n.name);
      const roles = n.cells[2] && n.cells[2] !== "<none>" ? n.cells[2] : "worker";
      const failed = failedNodes.has(n.name);
      const flags = `${n.ready ? "" : ' <span class="badge s-bad">NotReady</span>'}` +
        `${n.unschedulable ? ' <span class="badge s-wait">SchedulingDisabled</span>' : ""}` +
        `${failed ? ' <span class="badge s-bad" title="Its kubelet was switched off from this page">kubelet off</span>' : ""}`;
      // The switch stands for "pull the plug": the kubelet stops posting status and the node controller
      // notices after its grace period, exactly as on a real cluster.
      const action = failed ? "recover" : "fail";
      const button = !nodeSwitches ? "" : `<button type="button" class="node-switch btn btn-sm${failed ? " is-failed" : ""}" ` +
        `data-node-action="${action}" data-node="${esc(n.name)}" aria-pressed="${failed}" ` +
        `title="${failed ? "Start this node's kubelet again" : "Stop this node's kubelet, as if the machine died"}">` +
        `${failed ? "Recover" : "Fail"}<span class="visually-hidden"> node ${esc(n.name)}</span></button>`;
      return `<article class="node${failed ? " node-failed" : ""}${anim(keyOf(n))}" tabindex="0" data-key="${esc(keyOf(n))}" ` +
        `aria-label="Node ${esc(n.name)}, ${here.length} pod${here.length === 1 ? "" : "s"}${failed ? ", failed" : ""}">` +
        `<header><h3>${esc(n.name)}</h3><span class="muted">${esc(roles)}${flags}</span>` +
        `<span class="node-count muted">${here.length} pod${here.length === 1 ? "" : "s"}</span>${button}</header>` +
        `${chipList(here, "No pods")}</article>`;
    });
    const unscheduled = all.filter((p) => !p.node);
    if (unscheduled.length) {
      boxes.push(`<article class="node node-unscheduled" aria-label="Not scheduled, ${unscheduled.length} pods">` +
        `<header><h3>Not scheduled</h3><span class="muted">waiting for a node</span></header>` +
        `${chipList(unscheduled, "")}</article>`);
    }
    els.map.innerHTML = boxes.join("") || '<p class="muted">No nodes.</p>';
  }

  function renderWorkloads() {
    const all = pods();
    const owned = (kind, name, ns) => all.filter((p) => p.owner && p.owner.kind === kind && p.owner.name === name &&
      p.namespace === ns);
    const rsets = ofKind("ReplicaSet");
    const item = (o, body, extra = "") => {
      const key = keyOf(o);
      const ready = o.replicas === undefined || o.replicas === null ? "" : ` <span class="muted">${o.readyReplicas}/${o.replicas} ready</span>`;
      return `<li class="wl${anim(key)}${extra}"><div class="wl-head" tabindex="0" data-key="${esc(key)}">` +
        `<span class="kind">${esc(o.kind.toLowerCase())}/</span><strong>${esc(o.name)}</strong>` +
        `${o.namespace !== "default" ? ` <span class="ns">${esc(o.namespace)}</span>` : ""}${ready}</div>${body}</li>`;
    };
    const parts = [];
    for (const d of ofKind("Deployment").filter(visible).sort(byName)) {
      const children = rsets.filter((r) => r.owner && r.owner.kind === "Deployment" && r.owner.name === d.name &&
        r.namespace === d.namespace).sort((a, b) => (b.replicas || 0) - (a.replicas || 0) || byName(a, b));
      const body = children.map((r) => {
        const rp = owned("ReplicaSet", r.name, r.namespace);
        return item(r, chipList(rp, "No pods"), !r.replicas && !rp.length ? " old" : "");
      }).join("");
      parts.push(item(d, body ? `<ul class="tree">${body}</ul>` : ""));
    }
    for (const kind of ["StatefulSet", "DaemonSet", "Job"]) {
      for (const o of ofKind(kind).filter(visible).sort(byName)) {
        parts.push(item(o, chipList(owned(kind, o.name, o.namespace), "No pods")));
      }
    }
    for (const r of rsets.filter((r) => visible(r) && !(r.owner && r.owner.kind === "Deployment")).sort(byName)) {
      parts.push(item(r, chipList(owned("ReplicaSet", r.name, r.namespace), "No pods")));
    }
    const bare = all.filter((p) => !p.owner);
    if (bare.length) {
      parts.push(`<li class="wl"><div class="wl-head"><strong>Pods without a controller</strong></div>${chipList(bare, "")}</li>`);
    }
    els.workloads.innerHTML = parts.length ? `<ul class="tree top">${parts.join("")}</ul>` :
      '<p class="muted">No workloads yet. Apply the manifest in the editor, or try <code>kubectl create deployment web --image=nginx:1.27 --replicas=3</code></p>';
  }

  function renderServices() {
    const slices = ofKind("EndpointSlice");
    const podsByKey = new Map(ofKind("Pod").map((p) => [`${p.namespace}/${p.name}`, p]));
    const parts = ofKind("Service").filter(visible).sort(byName).map((s) => {
      const key = keyOf(s);
      const mine = slices.filter((e) => e.service === s.name && e.namespace === s.namespace);
      const names = [...new Set(mine.flatMap((e) => e.pods || []))].sort();
      const ready = new Set(mine.flatMap((e) => e.ready || []));
      const selector = Object.entries(s.selector || {}).map(([k, v]) => `${k}=${v}`).join(",") || "no selector";
      const backends = names.map((n) => podsByKey.get(`${s.namespace}/${n}`) ||
        { kind: "Pod", namespace: s.namespace, name: n, reason: ready.has(n) ? "Ready" : "NotReady", ready: "", restarts: 0 });
      return `<li class="svc${anim(key)}"><div class="wl-head" tabindex="0" data-key="${esc(key)}">` +
        `<span class="kind">service/</span><strong>${esc(s.name)}</strong>` +
        `${s.namespace !== "default" ? ` <span class="ns">${esc(s.namespace)}</span>` : ""} ` +
        `<span class="muted">${esc(s.cells[1])} ${esc(s.cells[2])} ${esc(s.cells[4])} · ${esc(selector)}</span></div>` +
        `<div class="svc-arrow" aria-hidden="true">→</div>` +
        `${chipList(backends, s.selector && Object.keys(s.selector).length ?
        "No endpoints: no pod matches the selector" : "No pod endpoints (no selector)")}` +
        `<div class="svc-traffic" data-traffic-slot="${esc(key)}"></div></li>`;
    });
    els.services.innerHTML = parts.length ? `<ul class="tree top">${parts.join("")}</ul>` :
      '<p class="muted">No services. Try <code>kubectl expose deployment web --port=80</code></p>';
  }

  const VOLUME_STATES = { Bound: "s-ok", Pending: "s-wait", Available: "s-done", Released: "s-done", Failed: "s-bad" };

  /** A PersistentVolume as a chip: its name, phase and size. */
  function volumeChip(v) {
    const key = keyOf(v);
    const label = `PersistentVolume ${v.name}: ${v.phase}, ${v.capacity}${v.claim ? `, claimed by ${v.claim}` : ""}`;
    return `<li class="chip ${VOLUME_STATES[v.phase] || "s-wait"}${anim(key)}" tabindex="0" data-key="${esc(key)}" ` +
      `title="${esc(label)}" aria-label="${esc(label)}"><span class="chip-name">pv/${esc(v.name)}</span>` +
      `<span class="chip-reason">${esc(v.phase)} · ${esc(v.capacity)}</span></li>`;
  }

  // Claims → the volume bound to each → the pods mounting it; then volumes no claim holds.
  function renderStorage() {
    if (!els.storage) return;
    const volumes = new Map(ofKind("PersistentVolume").map((v) => [v.name, v]));
    const mounting = pods();
    const parts = ofKind("PersistentVolumeClaim").filter(visible).sort(byName).map((c) => {
      const key = keyOf(c);
      const volume = c.volume && volumes.get(c.volume);
      const users = mounting.filter((p) => p.namespace === c.namespace && (p.claims || []).includes(c.name));
      const bound = volume ? `<ul class="chips">${volumeChip(volume)}</ul>` :
        `<p class="muted none">${c.phase === "Pending" ? "Pending: waiting for a volume" : "No volume"}</p>`;
      return `<li class="svc${anim(key)}"><div class="wl-head" tabindex="0" data-key="${esc(key)}">` +
        `<span class="kind">pvc/</span><strong>${esc(c.name)}</strong>` +
        `${c.namespace !== "default" ? ` <span class="ns">${esc(c.namespace)}</span>` : ""} ` +
        `<span class="muted">${esc(c.phase)} · ${esc(c.capacity)}${c.storageClass ? ` · ${esc(c.storageClass)}` : ""}` +
        `</span></div><div class="svc-arrow" aria-hidden="true">→</div>${bound}` +
        `${users.length ? `<div class="claim-users"><span class="muted">mounted by</span>${chipList(users, "")}</div>` : ""}</li>`;
    });
    const free = [...volumes.values()].filter((v) => !v.claim || v.phase !== "Bound").sort(byName);
    if (free.length) {
      parts.push(`<li class="wl"><div class="wl-head"><strong>Volumes without a claim</strong></div>` +
        `<ul class="chips">${free.map(volumeChip).join("")}</ul></li>`);
    }
    els.storage.innerHTML = parts.length ? `<ul class="tree top">${parts.join("")}</ul>` :
      '<p class="muted">No volume claims. A PersistentVolumeClaim gets a volume from the default StorageClass ' +
      '<code>standard</code>.</p>';
  }

  function allEvents() {
    return ofKind("Event").sort((a, b) => (b.lastTimestamp || "").localeCompare(a.lastTimestamp || "") ||
      b.name.localeCompare(a.name));
  }

  /** The one place an Event is drawn: the events panel and the details drawer's Events tab. */
  function eventItem(e) {
    const time = (e.lastTimestamp || "").replace("T", " ").replace("Z", "").slice(11);
    return `<li class="event ev-${e.type === "Warning" ? "warn" : "normal"}${anim(keyOf(e))}">` +
      `<div class="ev-head"><span class="ev-type">${esc(e.type)}</span> <strong>${esc(e.reason)}</strong>` +
      `<span class="muted ev-time">${esc(time)}${e.count > 1 ? ` ×${e.count}` : ""}</span></div>` +
      `<div class="ev-object">${esc(e.involvedObject.kind.toLowerCase())}/${esc(e.involvedObject.name)}</div>` +
      `<div class="ev-message">${esc(e.message)}</div></li>`;
  }

  function renderEvents() {
    const words = els.filter.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    const all = allEvents();
    const shown = all.filter((e) => {
      const text = `${e.type} ${e.reason} ${e.involvedObject.kind} ${e.involvedObject.name} ${e.namespace} ${e.message}`.toLowerCase();
      return words.every((w) => text.includes(w));
    }).slice(0, 200);
    els.eventsCount.textContent = words.length ? `${shown.length} of ${all.length}` : `${all.length}`;
    els.events.innerHTML = shown.map(eventItem).join("") ||
      `<li class="muted none">${all.length ? "No event matches the filter." : "No events yet."}</li>`;
  }

  function renderLists() {
    const counts = new Map();
    for (const o of objects.values()) counts.set(o.kind, (counts.get(o.kind) || 0) + 1);
    const kinds = Object.keys(store.columns).filter((k) => k !== "Event" && (counts.get(k) || k === selectedKind));
    if (!kinds.includes(selectedKind)) selectedKind = kinds[0] || "Pod";
    els.kinds.innerHTML = kinds.map((k) => `<button type="button" class="btn btn-sm kind-tab" data-kind="${esc(k)}" ` +
      `aria-pressed="${k === selectedKind}">${esc(k)} <span class="muted">${counts.get(k) || 0}</span></button>`).join("");
    const namespaced = NAMESPACED.has(selectedKind);
    const heads = (namespaced ? ["NAMESPACE"] : []).concat(store.columns[selectedKind] || []);
    const rows = ofKind(selectedKind).filter(visible).sort(byName).map((o) => {
      const cells = (namespaced ? [o.namespace] : []).concat(o.cells);
      return `<tr class="${anim(keyOf(o)).trim()}" tabindex="0" data-key="${esc(keyOf(o))}">` +
        `${cells.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`;
    });
    const plural = selectedKind.toLowerCase() + (selectedKind.endsWith("s") ? "es" : selectedKind.endsWith("y") ? "" : "s");
    const noun = selectedKind.endsWith("y") ? plural.slice(0, -1) + "ies" : plural;
    els.list.innerHTML = `<div class="table-wrap" role="region" aria-label="kubectl get ${esc(noun)}">` +
      `<table class="kubectl"><caption><span class="prompt">$</span> kubectl get ${esc(noun)}${namespaced ? " -A" : ""}</caption>` +
      `<thead><tr>${heads.map((h) => `<th scope="col">${esc(h)}</th>`).join("")}</tr></thead><tbody>` +
      (rows.join("") || `<tr><td colspan="${heads.length}" class="muted">No resources found</td></tr>`) +
      "</tbody></table></div>";
  }

  function renderCounts() {
    const counts = $("live-counts");
    if (!counts) return;
    const n = ofKind("Node").length, p = ofKind("Pod").length;
    counts.textContent = `${n} node${n === 1 ? "" : "s"} · ${p} pod${p === 1 ? "" : "s"}`;
  }

  function render() {
    renderCounts();
    renderMap();
    renderWorkloads();
    renderServices();
    renderStorage();
    renderEvents();
    renderLists();
  }

  els.filter.addEventListener("input", () => renderEvents());
  els.system.addEventListener("change", () => queueRender());
  els.kinds.addEventListener("click", (event) => {
    const button = event.target.closest("[data-kind]");
    if (!button) return;
    selectedKind = button.dataset.kind;
    renderLists();
    els.kinds.querySelector(`[data-kind="${CSS.escape(selectedKind)}"]`)?.focus();
  });
  // Ages (AGE columns) were computed when each object last changed: a fresh snapshot now and then updates them.
  setInterval(() => {
    if (!document.hidden && socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ type: "resume", rv: null }));
    }
  }, 60000);

  /** Highlight pods (Map key → requests each answered) on the map and the cards for `ms`, e.g. after a send. */
  let flashTimer = null;
  function flash(counts, ms = 4000) {
    hits.clear();
    for (const [key, count] of counts) hits.set(key, count);
    clearTimeout(flashTimer);
    flashTimer = setTimeout(() => { hits.clear(); queueRender(); }, ms);
    queueRender();
  }

  setStatus("connecting", "Connecting…");
  connect();

  return {
    objects,
    get: (key) => objects.get(key),
    /** Events about one object (by involvedObject), newest first, drawn like the events panel's. */
    eventsFor(kind, namespace, name) {
      return allEvents().filter((e) => e.involvedObject.kind === kind && e.involvedObject.name === name &&
        (!NAMESPACED.has(kind) || (e.involvedObject.namespace || e.namespace) === namespace));
    },
    eventItem,
    onRender: (fn) => renderListeners.push(fn),
    /** fn({ type: "snapshot" | "changes", applied: [{ key, change, object }], clock }) after each is merged, in
     * feed order: every change, even those one render would fold together (the Metrics panel's HPA history). */
    onFeed: (fn) => feedListeners.push(fn),
    setFailedNodes,
    flash,
  };
}
