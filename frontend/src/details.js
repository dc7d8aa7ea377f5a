// The details drawer: click (or Enter on) anything in the live view with a data-key — node, pod chip,
// workload, service, table row — to see the object as kubectl prints it (YAML, describe; from
// GET …/objects/<kind>/<namespace or ->/<name>) and its Events (from the live feed, by involvedObject).
// Esc closes it and gives the focus back to what opened it. It follows the object while it is open.
import { EditorState } from "@codemirror/state";
import { EditorView } from "@codemirror/view";
import { readOnlyYamlExtensions } from "./editor/setup.js";
import { NAMESPACED } from "./live.js";
import { debounce, esc } from "./dom.js";

const VIEWS = ["yaml", "describe", "events"];

export function createDetails(drawer, { api, live, liveRoot }) {
  const title = drawer.querySelector("#detail-title");
  const kindEl = drawer.querySelector("#detail-kind");
  const body = drawer.querySelector("#detail-body");
  const notice = drawer.querySelector("#detail-notice");
  const tabs = [...drawer.querySelectorAll("[data-view]")];
  let key = null;                 // "Kind/namespace/name" shown
  let opener = null;              // what to focus again on close
  let view = "yaml";
  let fetched = null;             // { yaml, describe } for key
  let error = null;
  let summary = null;             // the live summary when last fetched: a new one means the object changed
  let controller = null;
  let yamlView = null;

  function parts(k) {
    const [kind, namespace, ...rest] = k.split("/");
    return { kind, namespace, name: rest.join("/") };
  }

  async function load() {
    const { kind, namespace, name } = parts(key);
    controller?.abort();
    controller = new AbortController();
    const asked = key;
    summary = live.get(key);
    drawer.setAttribute("aria-busy", "true");
    try {
      const path = `objects/${encodeURIComponent(kind)}/${encodeURIComponent(namespace || "-")}/${encodeURIComponent(name)}`;
      const answer = await api(path, { signal: controller.signal });
      if (asked !== key) return;
      fetched = answer;
      error = null;
    } catch (e) {
      if (e.name === "AbortError" || asked !== key) return;
      error = e.status === 404 ? "This object no longer exists." : e.message;
    } finally {
      if (asked === key) drawer.removeAttribute("aria-busy");
    }
    render();
  }
  const reloadSoon = debounce(load, 800);

  function render() {
    for (const tab of tabs) {
      const on = tab.dataset.view === view;
      tab.setAttribute("aria-selected", String(on));
      tab.tabIndex = on ? 0 : -1;
    }
    body.setAttribute("aria-labelledby", `detail-tab-${view}`);
    const gone = key && !live.get(key);
    notice.hidden = !gone && !error;
    notice.textContent = gone ? "This object was deleted; what follows is how it looked last." : error || "";
    if (view === "events") {
      yamlView?.destroy();
      yamlView = null;
      const { kind, namespace, name } = parts(key);
      const events = live.eventsFor(kind, namespace, name);
      body.innerHTML = events.length ? `<ol class="events">${events.map(live.eventItem).join("")}</ol>` :
        `<p class="muted">No events about this ${esc(kind.toLowerCase())} in the live feed${kind === "Node" ? "" : " (events expire after an hour)"}.</p>`;
      return;
    }
    if (!fetched) {
      yamlView?.destroy();
      yamlView = null;
      body.innerHTML = `<p class="muted loading">${error ? "" : "Loading…"}</p>`;
      return;
    }
    if (view === "yaml") {
      const state = EditorState.create({ doc: fetched.yaml || "", extensions: readOnlyYamlExtensions });
      if (yamlView) yamlView.setState(state);
      else {
        body.innerHTML = "";
        yamlView = new EditorView({ state, parent: body });
      }
    } else {
      yamlView?.destroy();
      yamlView = null;
      body.innerHTML = `<pre class="describe">${esc(fetched.describe || "")}</pre>`;
    }
  }

  function open(nextKey, from) {
    const changed = nextKey !== key;
    key = nextKey;
    opener = from;
    const { kind, namespace, name } = parts(key);
    kindEl.textContent = NAMESPACED.has(kind) ? `${kind} · ${namespace}` : kind;
    title.textContent = name;
    if (changed) { fetched = null; error = null; }
    drawer.hidden = false;
    document.body.classList.add("has-drawer");
    render();
    load();
    drawer.querySelector(`[data-view="${view}"]`).focus();
  }

  function close() {
    if (drawer.hidden) return;
    drawer.hidden = true;
    document.body.classList.remove("has-drawer");
    controller?.abort();
    reloadSoon.cancel();
    const back = opener?.isConnected ? opener :
      liveRoot.querySelector(`[data-key="${CSS.escape(opener?.dataset?.key || key)}"]`);
    key = null;
    back?.focus();
  }

  // Open from the live view: clicks, and Enter/Space on a focused object (they are tabindex=0, not buttons).
  const target = (event) => {
    if (event.target.closest("button, a, input, select, textarea, summary")) return null;
    return event.target.closest("[data-key]");
  };
  liveRoot.addEventListener("click", (event) => {
    const el = target(event);
    if (el && !window.getSelection()?.toString()) open(el.dataset.key, el);
  });
  liveRoot.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" && event.key !== " ") return;
    const el = target(event);
    if (!el || el !== event.target) return;
    event.preventDefault();
    open(el.dataset.key, el);
  });

  drawer.querySelector("#detail-close").addEventListener("click", close);
  drawer.querySelector("#detail-refresh").addEventListener("click", () => load());
  for (const tab of tabs) tab.addEventListener("click", () => { view = tab.dataset.view; render(); });
  drawer.querySelector("[role=tablist]").addEventListener("keydown", (event) => {
    const step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
    if (!step) return;
    view = VIEWS[(VIEWS.indexOf(view) + step + VIEWS.length) % VIEWS.length];
    render();
    drawer.querySelector(`[data-view="${view}"]`).focus();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || drawer.hidden || event.defaultPrevented) return;
    // Esc inside the manifest editor or the terminal belongs to them.
    if (event.target.closest?.(".cm-editor:not(#detail .cm-editor), #terminal")) return;
    close();
  });

  // While open, follow the object: its Events as they come, YAML/describe again when it changed.
  live.onRender(() => {
    if (!key || drawer.hidden) return;
    const now = live.get(key);
    if (view === "events") render();
    else if (!now) render();
    if (now && now !== summary) reloadSoon();
  });

  return { open, close };
}
