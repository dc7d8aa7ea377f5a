// The editor's tabs: the learner's manifest files for this cluster (GET/PUT/DELETE …/files, clusters/web/PAGE.md).
// One CodeMirror view; each tab keeps its own EditorState (undo history, selection, diagnostics).
// Edits save themselves 400 ms after the last keystroke and are checked by the server 500 ms after it.
// Read-only (an instructor's view of a learner's cluster, clusters/web/PAGE.md "Read-only"): the learner's
// files as last saved, fetched again every few seconds; no editing, saving, checking, new file or delete.
import { EditorView, manifestState } from "./setup.js";
import { createValidator } from "./validate.js";
import { toPosition } from "./diagnostics.js";
import { debounce, esc, toast } from "../dom.js";

export const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;   // as the server's files API accepts them
const MAX_FILES = 20;

const STARTER_NAME = "manifest.yaml";
const STARTER_TEXT = `# A Deployment: three nginx pods kept running by a ReplicaSet.
# Apply it (the Apply button, or Ctrl+Enter) and watch the pods appear on the map.
# Then change replicas or the image (nginx:1.28) and apply again.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
        - name: nginx
          image: nginx:1.27
          ports:
            - containerPort: 80
`;

const NEW_FILE_TEXT = (name) => `# ${name}: paste a manifest from the Kubernetes docs, or write one.
# Problems are underlined as you type; Ctrl+Enter applies the file.
`;

const RELOAD_MS = 5000;           // read-only: how often the learner's files are fetched again

/**
 * Builds the editor in els.editor with tabs in els.tabs. `terminal` runs the Apply/Delete commands.
 * Answers { ready: Promise (resolved once the files are loaded), view, open(name, text), readOnly }.
 */
export function createEditor({ api, terminal, els, readOnly = false }) {
  const files = [];               // [{ name, state, savedText, save: debounced }]
  let current = null;             // the open file
  let naming = null;              // the "new file" name input while it is shown

  const view = new EditorView({ parent: els.editor });
  const validator = readOnly ? null : createValidator({
    api, view, els: { status: els.status, problems: els.problems },
    onJump(line, column) {
      view.dispatch({ selection: { anchor: toPosition(view.state.doc, line, column) }, scrollIntoView: true });
      view.focus();
    },
  });
  const validateSoon = debounce(() => validator?.check(view.state.doc.toString()), 500);

  const fileNamed = (name) => files.find((f) => f.name === name);

  // ------------------------------------------------------------------------------ saving
  async function save(file) {
    const text = file.state.doc.toString();
    if (text === file.savedText) return;
    file.saving = true;
    renderTabs();
    try {
      await api(`files/${encodeURIComponent(file.name)}`, { method: "PUT", body: { text } });
      file.savedText = text;
      file.error = null;
    } catch (error) {
      file.error = error.message;
      toast(`Could not save ${file.name}: ${error.message}`, { error: true });
    } finally {
      file.saving = false;
      renderTabs();
    }
  }

  function addFile(name, text, savedText = text) {
    const file = { name, savedText, saving: false, error: null };
    file.state = stateFor(file, text);
    file.save = debounce(() => save(file), 400);
    files.push(file);
    return file;
  }

  function stateFor(file, text) {
    if (readOnly) return manifestState(text, { readOnly: true });
    return manifestState(text, {
      onChange(state) {
        file.state = state;
        file.save();
        if (file === current) validateSoon();
        renderTabs();
      },
      onApply: () => runOnFile("apply"),
    });
  }

  // ------------------------------------------------------------------------------ tabs
  function renderTabs() {
    const focused = els.tabs.contains(document.activeElement) ? document.activeElement : null;
    const focusedName = focused?.dataset.file;
    els.tabs.innerHTML = files.map((f) => {
      const selected = f === current;
      const dirty = f.state.doc.toString() !== f.savedText;
      const mark = f.error ? "⚠" : dirty || f.saving ? "●" : "";
      const title = readOnly ? "read-only" : f.error ? `Not saved: ${f.error}` : dirty || f.saving ? "Saving…" : "Saved";
      const close = readOnly ? "" : `<button type="button" class="tab-close" data-close="${esc(f.name)}" tabindex="-1" ` +
        `aria-label="Delete ${esc(f.name)}" title="Delete ${esc(f.name)} (Delete key on the tab)">×</button>`;
      return `<div class="tab${selected ? " is-active" : ""}" role="presentation">` +
        `<button type="button" role="tab" id="tab-${esc(f.name)}" data-file="${esc(f.name)}" aria-controls="editor" ` +
        `aria-selected="${selected}" tabindex="${selected ? 0 : -1}" title="${esc(f.name)} · ${title}">` +
        `<span class="tab-name">${esc(f.name)}</span><span class="tab-mark" aria-hidden="true">${mark}</span></button>` +
        `${close}</div>`;
    }).join("");
    if (naming) els.tabs.append(naming);
    if (focusedName) els.tabs.querySelector(`[role=tab][data-file="${CSS.escape(focusedName)}"]`)?.focus();
    const empty = !current;
    els.apply.disabled = empty;
    els.delete.disabled = empty;
    els.empty.hidden = !empty;
    els.editor.hidden = empty;
  }

  function open(file, { focus = false } = {}) {
    if (current) current.state = view.state;
    current = file;
    validateSoon.cancel();
    validator?.reset();
    if (file) {
      view.setState(file.state);
      validator?.check(file.state.doc.toString());
    }
    renderTabs();
    if (focus && file) view.focus();
  }

  async function remove(file) {
    if (readOnly) return;
    file.save.cancel();
    const text = file.state.doc.toString();
    const index = files.indexOf(file);
    try {
      await api(`files/${encodeURIComponent(file.name)}`, { method: "DELETE" });
    } catch (error) {
      if (error.status !== 404) { toast(`Could not delete ${file.name}: ${error.message}`, { error: true }); return; }
    }
    files.splice(index, 1);
    if (current === file) { current = null; open(files[Math.min(index, files.length - 1)] || null); }
    else renderTabs();
    els.tabs.querySelector("[role=tab][aria-selected=true]")?.focus();
    // Deleting is one click, so it can be undone for a while instead of asking first.
    toast(`Deleted ${file.name}.`, {
      action: "Undo", ms: 8000,
      onAction: async () => {
        if (fileNamed(file.name)) return;
        try {
          await api(`files/${encodeURIComponent(file.name)}`, { method: "PUT", body: { text } });
          const back = addFile(file.name, text);
          files.splice(files.indexOf(back), 1);
          files.splice(Math.min(index, files.length), 0, back);
          open(back, { focus: true });
        } catch (error) {
          toast(`Could not restore ${file.name}: ${error.message}`, { error: true });
        }
      },
    });
  }

  // The "new file" button turns into a name field in the tab bar: Enter creates, Esc cancels.
  function askName() {
    if (readOnly) return;
    if (naming) { naming.querySelector("input").focus(); return; }
    if (files.length >= MAX_FILES) { toast(`At most ${MAX_FILES} files per cluster: delete one first.`, { error: true }); return; }
    naming = document.createElement("form");
    naming.className = "tab-naming";
    naming.innerHTML = `<label class="visually-hidden" for="editor-new-name">New file name</label>` +
      `<input id="editor-new-name" name="name" autocomplete="off" spellcheck="false" placeholder="service.yaml" ` +
      `aria-describedby="editor-new-hint" size="16"><span id="editor-new-hint" class="tab-naming-hint" role="alert"></span>`;
    const input = naming.querySelector("input");
    const hint = naming.querySelector(".tab-naming-hint");
    const close = () => { naming?.remove(); naming = null; els.newButton.focus(); };
    naming.addEventListener("submit", async (event) => {
      event.preventDefault();
      let name = input.value.trim();
      if (name && !/\.(ya?ml|json)$/i.test(name) && !name.includes(".")) name += ".yaml";
      if (!FILE_NAME.test(name)) {
        hint.textContent = "Letters, digits, . _ - (starting with a letter or digit)";
        return;
      }
      if (fileNamed(name)) { hint.textContent = `${name} is already open`; return; }
      const text = NEW_FILE_TEXT(name);
      try {
        await api(`files/${encodeURIComponent(name)}`, { method: "PUT", body: { text } });
      } catch (error) { hint.textContent = error.message; return; }
      naming.remove();
      naming = null;
      open(addFile(name, text), { focus: true });
      view.dispatch({ selection: { anchor: view.state.doc.length } });
    });
    input.addEventListener("keydown", (event) => { if (event.key === "Escape") { event.preventDefault(); close(); } });
    input.addEventListener("blur", () => setTimeout(() => { if (naming && !input.value.trim()) close(); }, 150));
    els.tabs.append(naming);
    input.focus();
  }

  // ------------------------------------------------------------------------------ commands
  async function runOnFile(verb) {
    if (!current || readOnly) return;
    const file = current;
    file.state = view.state;
    await (file.save.flush() ?? Promise.resolve());      // kubectl reads the saved file, so save first
    if (file.state.doc.toString() !== file.savedText) await save(file);
    terminal.run(`kubectl ${verb} -f ${file.name}`);
  }

  els.apply.addEventListener("click", () => runOnFile("apply"));
  els.delete.addEventListener("click", () => runOnFile("delete"));
  els.newButton.addEventListener("click", askName);
  els.emptyNew?.addEventListener("click", askName);
  els.tabs.addEventListener("click", (event) => {
    const close = event.target.closest("[data-close]");
    if (close) { const f = fileNamed(close.dataset.close); if (f) remove(f); return; }
    const tab = event.target.closest("[role=tab]");
    if (tab) { const f = fileNamed(tab.dataset.file); if (f && f !== current) open(f); }
  });
  els.tabs.addEventListener("keydown", (event) => {
    const tab = event.target.closest("[role=tab]");
    if (!tab) return;
    const index = files.findIndex((f) => f.name === tab.dataset.file);
    let next = null;
    if (event.key === "ArrowRight") next = files[(index + 1) % files.length];
    else if (event.key === "ArrowLeft") next = files[(index - 1 + files.length) % files.length];
    else if (event.key === "Home") next = files[0];
    else if (event.key === "End") next = files[files.length - 1];
    else if (event.key === "Delete") { event.preventDefault(); remove(files[index]); return; }
    else if (event.key === "Enter" || event.key === "ArrowDown") { event.preventDefault(); view.focus(); return; }
    if (!next) return;
    event.preventDefault();
    open(next);
    els.tabs.querySelector(`[role=tab][data-file="${CSS.escape(next.name)}"]`)?.focus();
  });
  // Leaving the page with an edit still waiting for its debounce: send it now.
  window.addEventListener("pagehide", () => { for (const f of files) f.save.flush(); });

  // ------------------------------------------------------------------------------ read-only: follow the learner
  function readOnlyStatus() {
    els.status.dataset.state = "idle";
    els.status.textContent = `Read-only · the learner's files as last saved · ${new Date().toLocaleTimeString([], { hour12: false })}`;
  }

  /** Fetches the files again and takes what changed (a new file, a new text, a deleted file). */
  async function reload() {
    let loaded;
    try {
      loaded = (await api("files")).files || [];
    } catch (error) {
      els.status.dataset.state = "error";
      els.status.textContent = `Could not load the learner's files: ${error.message}`;
      return;
    }
    let changed = false;
    for (const f of loaded) {
      const file = fileNamed(f.name);
      if (!file) { addFile(f.name, f.text); changed = true; continue; }
      if (file.savedText === f.text) continue;
      file.savedText = f.text;
      if (file === current) {
        view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: f.text } });
        file.state = view.state;
      } else {
        file.state = stateFor(file, f.text);
      }
      changed = true;
    }
    const order = loaded.map((f) => f.name);
    for (const file of [...files]) {
      if (order.includes(file.name)) continue;
      files.splice(files.indexOf(file), 1);
      if (current === file) current = null;
      changed = true;
    }
    files.sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
    if (!current && files.length) open(files[0]);
    else if (changed) renderTabs();
    readOnlyStatus();
  }

  // ------------------------------------------------------------------------------ start
  const ready = (async () => {
    if (readOnly) {
      for (const el of [els.newButton, els.apply, els.delete, els.emptyNew]) el?.remove();
      els.empty.querySelector("p").textContent = "No manifest files in this cluster.";
      els.tabs.setAttribute("aria-label", "The learner's manifest files (read-only)");
      els.status.textContent = "Loading the learner's files…";
      await reload();
      if (!files.length) renderTabs();
      setInterval(() => { if (!document.hidden) reload(); }, RELOAD_MS);
      return;
    }
    els.status.textContent = "Loading your files…";
    let loaded = [];
    try {
      loaded = (await api("files")).files || [];
    } catch (error) {
      els.status.dataset.state = "error";
      els.status.textContent = `Could not load your files: ${error.message}`;
    }
    for (const f of loaded) addFile(f.name, f.text);
    if (!loaded.length) {
      // A first visit: one example to apply, saved so the terminal's `kubectl apply -f manifest.yaml` finds it.
      const starter = addFile(STARTER_NAME, STARTER_TEXT, "");
      save(starter);
    }
    open(files[0] || null);
  })();

  /**
   * Creates the file `name` with `text`, or replaces an open file's text (one edit: Ctrl-Z brings the old
   * text back), saves it and shows its tab: a lesson's "Open in editor". Throws with the reason it could not.
   */
  async function openFile(name, text) {
    await ready;
    if (readOnly) throw new Error("The editor is read-only here.");
    if (!FILE_NAME.test(name)) throw new Error(`${name} is not a file name the editor takes.`);
    let file = fileNamed(name);
    if (!file) {
      if (files.length >= MAX_FILES) throw new Error(`At most ${MAX_FILES} files per cluster: delete one first.`);
      await api(`files/${encodeURIComponent(name)}`, { method: "PUT", body: { text } });
      file = fileNamed(name) || addFile(name, text);   // (unless it appeared while the file was saved)
    }
    if (file !== current) open(file);
    if (view.state.doc.toString() !== text) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text }, selection: { anchor: 0 }, scrollIntoView: true });
      await (file.save.flush() ?? Promise.resolve());
      if (file.error) throw new Error(file.error);
    }
    els.tabs.querySelector(`[role=tab][data-file="${CSS.escape(name)}"]`)?.scrollIntoView({ block: "nearest", inline: "nearest" });
  }

  return { ready, view, open: openFile, readOnly };
}
