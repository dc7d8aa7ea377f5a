// The cluster page's front end (templates/clusters/detail.html): one module per idea, wired here.
//   live.js      the live view over the feed's WebSocket (map, workloads, services, events, lists)
//   clock.js     the simulated clock bar          nodes.js   the node boxes' Fail / Recover switches
//   editor/      the manifest editor and its tabs  terminal/  the kubectl terminal (history.js: read-only)
//   details.js   the object details drawer         layout.js  the editor/terminal splitter
//   traffic.js   the Service cards' "Send traffic" (its pure part: traffic_view.js)
//   metrics.js   the Metrics panel's live charts (its pure part: metrics_view.js)
//   lesson.js    the lesson panel, on a lesson's page only (its pure part: lesson_view.js)
// Read-only (#live's data-read-only="true": an instructor's view of a learner's cluster, clusters/web/PAGE.md):
// the same page on the learner's reads, with the terminal's history instead of the terminal, the editor
// read-only, and no clock buttons or node switches.
import "./playground.css";
import { createApi } from "./api.js";
import { byId } from "./dom.js";
import { createLiveView } from "./live.js";
import { createClock } from "./clock.js";
import { wireNodeSwitches } from "./nodes.js";
import { createTerminal } from "./terminal/terminal.js";
import { createTerminalHistory } from "./terminal/history.js";
import { createEditor } from "./editor/files.js";
import { createDetails } from "./details.js";
import { createTraffic } from "./traffic.js";
import { createMetrics } from "./metrics.js";
import { wireSplitter } from "./layout.js";
import { createLessonPanel } from "./lesson.js";

function start() {
  // #live is the whole workspace: the live view's root (its feed in data-socket) and the editor and terminal.
  const workspace = byId("live");
  if (!workspace || !("WebSocket" in window)) return;   // the server-rendered page stays as it is

  const { cluster, base, terminalSocket } = workspace.dataset;
  const readOnly = workspace.dataset.readOnly === "true";
  const api = createApi(base);
  workspace.hidden = false;
  document.body.classList.add("has-workspace");
  document.body.classList.toggle("is-read-only", readOnly);

  const clock = createClock(byId("clock"), { api, readOnly });
  let failed = [];
  let metrics = null;
  const live = createLiveView(workspace, {
    onClock: (c) => { clock.update(c); metrics?.clock(c); },
    onFailedNodes: (names) => { failed = names; },
    nodeSwitches: !readOnly,
  });
  if (!readOnly) wireNodeSwitches(byId("live-map"), { api, live, failedNodes: () => failed });
  createTraffic(workspace, { api, live });
  metrics = createMetrics(byId("metrics-body"), { api, live });

  const terminal = readOnly ?
    createTerminalHistory(byId("terminal").closest(".terminal-panel"), byId("terminal"), { api }) :
    createOwnTerminal();

  function createOwnTerminal() {
    const own = createTerminal(byId("terminal"), {
      socketPath: terminalSocket, cluster,
      onState(state) {
        const badge = byId("terminal-state");
        badge.dataset.state = state;
        badge.textContent = { connecting: "Connecting…", ready: "Connected", running: "Running…",
          interactive: "Interactive: exit ends it", offline: "Reconnecting…" }[state];
      },
    });
    byId("terminal-clear").addEventListener("click", () => { own.clear(); own.focus(); });
    return own;
  }

  const editor = createEditor({
    api, terminal, readOnly,
    els: {
      editor: byId("editor"), tabs: byId("editor-tabs"), newButton: byId("editor-new"), apply: byId("editor-apply"),
      delete: byId("editor-delete"), status: byId("editor-status"), problems: byId("editor-problems"),
      empty: byId("editor-empty"), emptyNew: byId("editor-empty-new"),
    },
  });

  createDetails(byId("detail"), { api, live, liveRoot: workspace });
  wireSplitter(byId("work-splitter"), byId("work-left"));

  // A lesson's page (templates/lessons/lesson.html) puts the lesson panel before the editor; the restart forms
  // (the panel's and the page head's) ask first.
  const lessonRoot = byId("lesson");
  const lesson = lessonRoot && !readOnly ? createLessonPanel(lessonRoot, { terminal, editor }) : null;

  // For the browser tests and the curious: the page's parts, from the console.
  window.playground = { terminal, live, clock, metrics, editor, lesson, readOnly };
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
