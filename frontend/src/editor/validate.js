// Lint on the fly: the editor's text goes to POST validate (a server-side dry run through the real API
// pipeline); its line/column diagnostics become CodeMirror underlines, a problems list and a one-line status.
import { setDiagnostics } from "@codemirror/lint";
import { esc } from "../dom.js";

/** "deployment.apps/web" as kubectl prints it: the kind, lower-case, with the API group when it has one. */
export function resourceName(object) {
  const group = (object.apiVersion || "").includes("/") ? object.apiVersion.split("/")[0] : "";
  return `${(object.kind || "").toLowerCase()}${group ? `.${group}` : ""}/${object.name}`;
}

const VERBS = { created: "would create", configured: "would configure", unchanged: "unchanged:" };

/** The status line for a clean file: what applying it would do. */
export function outcome(objects) {
  if (!objects.length) return "No problems — no objects in this file yet";
  const byAction = new Map();
  for (const o of objects) {
    const verb = VERBS[o.action] || `would ${o.action}`;
    if (!byAction.has(verb)) byAction.set(verb, []);
    byAction.get(verb).push(resourceName(o));
  }
  return `No problems — ${[...byAction].map(([verb, names]) => `${verb} ${names.join(", ")}`).join("; ")}`;
}

/** Server diagnostic (1-based line/column, end optional) → CodeMirror range within this document. */
export function toRange(doc, d) {
  const lineNo = Math.min(Math.max(d.line || 1, 1), doc.lines);
  const line = doc.line(lineNo);
  const from = Math.min(line.from + Math.max((d.column || 1) - 1, 0), line.to);
  let to;
  if (d.endLine) {
    const end = doc.line(Math.min(Math.max(d.endLine, lineNo), doc.lines));
    to = Math.min(end.from + Math.max((d.endColumn || 1) - 1, 0), end.to);
  }
  if (to === undefined || to <= from) {
    // No (usable) end: underline the rest of the line from the first non-blank character on.
    const indent = line.text.length - line.text.trimStart().length;
    return { from: d.column ? from : line.from + indent, to: line.to > from ? line.to : Math.min(from + 1, doc.length) };
  }
  return { from, to };
}

/**
 * Wires validation to one editor view. `els` = { status, problems }. Answers { check(state, fileName), clear() }.
 * Each check cancels the one before it, so a slow answer for old text never paints over a newer one.
 */
export function createValidator({ api, view, els, onJump }) {
  let controller = null;
  let generation = 0;

  function setStatus(kind, text) {
    els.status.dataset.state = kind;
    els.status.textContent = text;
  }

  function showProblems(items) {
    els.problems.innerHTML = items.map((p, i) => `<li class="problem problem-${p.severity}" data-index="${i}">` +
      `<button type="button" class="problem-jump" data-line="${p.line}" data-column="${p.column || 1}">` +
      `<span class="problem-where">Line ${p.line}:</span> <span class="problem-text">${esc(p.message)}</span>` +
      `</button></li>`).join("");
    els.problems.hidden = !items.length;
  }

  els.problems.addEventListener("click", (event) => {
    const button = event.target.closest(".problem-jump");
    if (button) onJump(Number(button.dataset.line), Number(button.dataset.column));
  });

  async function check(text) {
    controller?.abort();
    controller = new AbortController();
    const mine = ++generation;
    if (!text.trim()) {
      view.dispatch(setDiagnostics(view.state, []));
      showProblems([]);
      setStatus("empty", "Empty file — write a manifest, or paste one from the Kubernetes docs");
      return;
    }
    setStatus("checking", "Checking…");
    let answer;
    try {
      answer = await api("validate", { method: "POST", body: { text }, signal: controller.signal });
    } catch (error) {
      if (error.name === "AbortError" || mine !== generation) return;
      setStatus("error", `Could not check the file: ${error.message}`);
      return;
    }
    if (mine !== generation || view.state.doc.toString() !== text) return;   // the text moved on meanwhile
    const diagnostics = answer.diagnostics || [];
    const doc = view.state.doc;
    view.dispatch(setDiagnostics(view.state, diagnostics.map((d) => ({
      ...toRange(doc, d), severity: d.severity === "warning" ? "warning" : "error", message: d.message,
      source: "kube-apiserver (dry run)",
    }))));
    const sorted = [...diagnostics].sort((a, b) => (a.line || 0) - (b.line || 0) || (a.column || 0) - (b.column || 0));
    showProblems(sorted.map((d) => ({ ...d, line: d.line || 1 })));
    const errors = diagnostics.filter((d) => d.severity !== "warning").length;
    if (!diagnostics.length) setStatus("ok", outcome(answer.objects || []));
    else {
      const n = diagnostics.length;
      setStatus(errors ? "problems" : "warnings", `${n} problem${n === 1 ? "" : "s"}`);
    }
  }

  return {
    check,
    /** Forget the current file's results (switching tabs): the next check repaints. */
    reset() { controller?.abort(); generation += 1; showProblems([]); setStatus("idle", ""); },
  };
}
