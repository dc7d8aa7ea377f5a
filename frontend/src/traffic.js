// The Service cards' "Send traffic" (clusters/web/PAGE.md): a small form on each card of the live view's
// Services posts …/services/<namespace>/<name>/traffic, and the answer shows as one bar per answering pod
// (and per failure reason), the first answer's status and body, and the answering pods highlighted on the
// map for a moment. The live view redraws its cards on every change: each card's form and result are
// elements kept here and put back into the card's slot (data-traffic-slot) after every render, so what the
// learner typed, the last result and the focus survive. The pure part (bars, labels, body) is traffic_view.js.
import { esc } from "./dom.js";
import {
  DEFAULT_REQUESTS, MAX_REQUESTS, bodyPreview, failureHint, hitsByPod, requestBody, statusLabel, statusState,
  summary, trafficOptions, trafficRows,
} from "./traffic_view.js";

const HIGHLIGHT_MS = 4000;

function timeOf(iso) {
  return String(iso || "").replace(/^.*T/, "").replace(/\..*$|Z$/, "");
}

function resultHtml(answer, namespace) {
  const line = summary(answer, namespace);
  const rows = trafficRows(answer).map((row) => {
    const hint = row.kind === "failure" ? failureHint(row.label) : "";
    const attrs = row.key ? ` tabindex="0" data-key="${esc(row.key)}" title="Pod ${esc(row.label)}: show its details"` :
      hint ? ` title="${esc(hint)}"` : "";
    return `<li class="traffic-row is-${row.kind}"${attrs}>` +
      `<span class="traffic-label"><span class="traffic-name">${esc(row.label)}</span>` +
      `${row.detail ? ` <span class="traffic-detail">${esc(row.detail)}</span>` : ""}</span>` +
      `<span class="traffic-bar ${row.state}" aria-hidden="true"><span class="traffic-fill" style="--share: ${(row.share * 100).toFixed(1)}%"></span></span>` +
      `<span class="traffic-count">${row.count}<span class="visually-hidden"> of ${answer.requests} requests</span>` +
      ` <span class="muted">${row.percent}%</span></span></li>`;
  });
  let first = "";
  if (answer.first) {
    const { text, cut } = bodyPreview(answer.first.body);
    first = `<div class="traffic-first"><p><span class="muted">First answer</span> ` +
      `<span class="status-pill ${statusState(answer.first.status)}">${esc(statusLabel(answer.first.status))}</span>` +
      `${answer.first.pod ? ` <span class="muted">from</span> <code>${esc(answer.first.pod)}</code>` : ""}</p>` +
      (text ? `<pre class="traffic-body" tabindex="0" aria-label="The first answer's body">${esc(text)}${cut ? "\n…" : ""}</pre>` :
        answer.first.status === 0 ? "" : '<p class="muted none">(an empty body)</p>') + "</div>";
  }
  return `<div class="traffic-head"><p class="traffic-summary"><strong>${esc(line.sent)}</strong> to ` +
    `<code>${esc(line.url)}</code> <span class="muted">at ${esc(timeOf(answer.time))}</span> · ` +
    `<span class="traffic-outcome">${esc(line.outcome)}</span></p>` +
    `<button type="button" class="icon-btn traffic-close" title="Close" aria-label="Close the traffic result">` +
    `<svg viewBox="0 0 16 16" aria-hidden="true"><path d="M4 4l8 8M12 4l-8 8"/></svg></button></div>` +
    `<ol class="traffic-bars" aria-label="Who answered">${rows.join("")}</ol>${first}`;
}

function extraHtml(options, namespace, chosen) {
  const parts = [];
  if (options.ports.length > 1) {
    parts.push(`<label class="traffic-field"><span>port</span> <select name="port">${options.ports.map((p) =>
      `<option value="${p.port}"${String(p.port) === chosen.port ? " selected" : ""}>${p.port}</option>`).join("")}</select></label>`);
  }
  if (options.outside) {
    const outside = chosen.from === "outside";
    parts.push(`<label class="traffic-field"><span class="visually-hidden">Send from</span><select name="from">` +
      `<option value="cluster"${outside ? "" : " selected"}>from a pod in ${esc(namespace)}</option>` +
      `<option value="outside"${outside ? " selected" : ""}>from outside (${options.type === "LoadBalancer" ?
        "its load balancer" : "a node port"})</option></select></label>`);
  } else {
    parts.push(`<span class="traffic-from muted">from a pod in ${esc(namespace)}</span>`);
  }
  return parts.join("");
}

/** Wires "Send traffic" into the live view's Service cards. */
export function createTraffic(root, { api, live }) {
  const panels = new Map();   // "Service/ns/name" -> { el, sync }

  function create(key) {
    const [, namespace, name] = key.split("/");
    const el = document.createElement("div");
    el.className = "traffic";
    el.innerHTML = `<form class="traffic-form" novalidate>` +
      `<button type="submit" class="btn btn-sm traffic-send"><svg viewBox="0 0 16 16" aria-hidden="true">` +
      `<path d="M2 8h9M8 4.5 11.5 8 8 11.5"/><path d="M14 3v10"/></svg><span class="traffic-send-text">Send traffic</span>` +
      `<span class="visually-hidden"> to ${esc(name)}</span></button>` +
      `<label class="traffic-field"><input type="number" name="requests" min="1" max="${MAX_REQUESTS}" step="1" ` +
      `value="${DEFAULT_REQUESTS}" inputmode="numeric"> <span>requests</span></label>` +
      `<label class="traffic-field"><span>to</span> <input type="text" name="path" value="/" class="traffic-path" ` +
      `spellcheck="false" autocomplete="off" aria-label="Path"></label>` +
      `<span class="traffic-extra"></span></form><div class="traffic-result" aria-live="polite"></div>`;
    const form = el.querySelector("form");
    const extra = el.querySelector(".traffic-extra");
    const result = el.querySelector(".traffic-result");
    const button = el.querySelector(".traffic-send");
    const field = (n) => form.elements.namedItem(n);
    let signature = null;
    let busy = false;

    function sync(service) {
      const options = trafficOptions(service);
      const next = JSON.stringify(options);
      if (next === signature) return;
      signature = next;
      extra.innerHTML = extraHtml(options, namespace, { port: field("port")?.value, from: field("from")?.value });
    }

    function show(html, state = "") {
      result.innerHTML = html;
      result.dataset.state = state;
    }

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (busy) return;
      const { body, error } = requestBody({ requests: field("requests").value, path: field("path").value,
        from: field("from")?.value, port: field("port")?.value });
      if (error) { show(`<p class="traffic-error">${esc(error)}</p>`, "error"); return; }
      field("path").value = body.path;
      busy = true;
      button.setAttribute("aria-disabled", "true");
      el.setAttribute("aria-busy", "true");
      button.querySelector(".traffic-send-text").textContent = "Sending…";
      try {
        const answer = await api(`services/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}/traffic`,
          { method: "POST", body });
        show(resultHtml(answer, namespace), answer.answers.length ? "answered" : "failed");
        live.flash(hitsByPod(answer), HIGHLIGHT_MS);
      } catch (e) {
        show(`<p class="traffic-error">${esc(e.message)}</p>`, "error");
      } finally {
        busy = false;
        button.removeAttribute("aria-disabled");
        el.removeAttribute("aria-busy");
        button.querySelector(".traffic-send-text").textContent = "Send traffic";
      }
    });
    result.addEventListener("click", (event) => {
      if (!event.target.closest(".traffic-close")) return;
      show("");
      button.focus();
    });
    return { el, sync };
  }

  // After every render: each card's slot gets its panel back; panels of Services that are gone are dropped.
  live.onRender(() => {
    for (const slot of root.querySelectorAll("[data-traffic-slot]")) {
      const key = slot.dataset.trafficSlot;
      const service = live.get(key);
      if (!service) continue;           // being deleted: its card fades out without the form
      if (!panels.has(key)) panels.set(key, create(key));
      const panel = panels.get(key);
      panel.sync(service);
      slot.append(panel.el);
    }
    for (const key of [...panels.keys()]) if (!live.get(key)) panels.delete(key);
  });
}
