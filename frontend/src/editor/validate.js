// Lint on the fly: the editor's text goes to POST validate (a server-side dry run through the real API
// pipeline); its line/column diagnostics become CodeMirror underlines, a problems list and a one-line status
// (the mapping itself is diagnostics.js's).
import { setDiagnostics } from "@codemirror/lint";
import { esc } from "../dom.js";
import { lintDiagnostics, problemList, status } from "./diagnostics.js";

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
    view.dispatch(setDiagnostics(view.state, lintDiagnostics(view.state.doc, diagnostics)));
    showProblems(problemList(diagnostics));
    const summary = status(diagnostics, answer.objects || []);
    setStatus(summary.state, summary.text);
  }

  return {
    check,
    /** Forget the current file's results (switching tabs): the next check repaints. */
    reset() { controller?.abort(); generation += 1; showProblems([]); setStatus("idle", ""); },
  };
}
