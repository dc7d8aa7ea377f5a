// The read-only page's "Terminal history" (clusters/web/PAGE.md, "Read-only"): in place of the terminal
// widget, the learner's browser-terminal commands with how each ended and the start of its output, from
// GET …/terminal-history, fetched again every few seconds while the page is visible and on "Refresh".
// The pure part (rows, what changed, the summary) is history_view.js.
import { esc } from "../dom.js";
import { historyDiff, historyRows, historySummary } from "./history_view.js";

const POLL_MS = 4000;

function rowHtml(r) {
  const output = r.output ?
    `<pre class="history-output">${esc(r.output)}</pre>` : "";
  return `<li class="history-item" data-state="${r.state}">` +
    `<div class="history-line"><span class="prompt" aria-hidden="true">$</span>` +
    `<code class="history-command">${esc(r.line)}</code>` +
    `<span class="history-exit" data-state="${r.state}">${esc(r.label)}</span>` +
    `<time class="history-time" datetime="${esc(r.at)}">${esc(r.time)}</time></div>${output}</li>`;
}

/**
 * Turns the terminal panel (`panel`: its head's title, state badge and Clear button, `host` the widget's
 * place) into the history. Answers { refresh(), rows (getter) } — and run()/focus()/clear() that do nothing,
 * so the page's parts that expect a terminal find one.
 */
const MAX_KEPT = 500;

export function createTerminalHistory(panel, host, { api }) {
  panel.setAttribute("aria-label", "Terminal history");
  panel.classList.add("history-panel");
  panel.querySelector(".panel-title").innerHTML = '<span class="prompt" aria-hidden="true">$</span> Terminal history';
  const badge = panel.querySelector(".term-state");
  badge.dataset.state = "connecting";
  badge.textContent = "Loading…";
  badge.setAttribute("role", "status");
  const actions = panel.querySelector(".panel-actions");
  actions.innerHTML = '<button type="button" class="btn btn-sm btn-dark history-refresh" ' +
    'title="Fetch the learner\'s commands again (every few seconds by itself)">Refresh</button>';
  const refreshButton = actions.querySelector("button");

  host.classList.add("history-host");
  host.setAttribute("tabindex", "0");
  host.setAttribute("aria-label", "The learner's commands, oldest first");
  host.innerHTML = '<p class="history-empty">Loading the learner\'s commands…</p><ol class="history-list"></ol>';
  const list = host.querySelector(".history-list");
  const empty = host.querySelector(".history-empty");

  let keys = [];
  let rows = [];
  let commands = [];
  let lastId = 0;
  let inFlight = false;
  let timer = null;

  function setBadge(state, text, title = "") {
    badge.dataset.state = state;
    badge.textContent = text;
    badge.title = title;
  }

  function draw(nextRows) {
    const diff = historyDiff(keys, nextRows);
    rows = nextRows;
    keys = nextRows.map((r) => r.key);
    if (diff.kind === "same") return;
    const atBottom = host.scrollHeight - host.scrollTop - host.clientHeight < 40;
    if (diff.kind === "reset") list.innerHTML = diff.rows.map(rowHtml).join("");
    else list.insertAdjacentHTML("beforeend", diff.rows.map(rowHtml).join(""));
    if (diff.kind === "appended" && keys.length > diff.rows.length) {
      for (const item of [...list.children].slice(-diff.rows.length)) item.classList.add("new");
    }
    empty.hidden = rows.length > 0;
    empty.textContent = "No commands in the browser terminal yet.";
    if (atBottom || diff.kind === "reset") host.scrollTop = host.scrollHeight;
  }

  async function refresh() {
    if (inFlight) return;
    inFlight = true;
    refreshButton.disabled = true;
    try {
      // Only what came after the last command seen (the server keeps the newest 500; so does the panel).
      const answer = await api(lastId ? `terminal-history?after=${lastId}` : "terminal-history");
      const fresh = answer?.commands || [];
      if (fresh.length) {
        commands = commands.concat(fresh).slice(-MAX_KEPT);
        lastId = fresh[fresh.length - 1].id || lastId;
      }
      draw(historyRows(commands));
      const now = new Date();
      setBadge("ready", historySummary(rows), `Updated ${now.toLocaleTimeString([], { hour12: false })}`);
    } catch (error) {
      setBadge("offline", "Not updated", error.message);
      if (!rows.length) empty.textContent = `Could not load the commands: ${error.message}`;
    } finally {
      inFlight = false;
      refreshButton.disabled = false;
    }
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      if (!document.hidden) await refresh();
      schedule();
    }, POLL_MS);
  }

  refreshButton.addEventListener("click", () => { refresh(); schedule(); });
  document.addEventListener("visibilitychange", () => { if (!document.hidden) { refresh(); schedule(); } });
  refresh();
  schedule();

  return {
    refresh,
    get rows() { return rows; },
    run() {}, focus() { host.focus(); }, clear() {},
    get busy() { return false; },
  };
}
