// Which keys the terminal widget keeps for the page and which go to xterm.js (and from there to the line
// editor, or to the running command when it runs on a terminal). Pure: no DOM, no xterm.js, so
// frontend/test/ checks it under plain Node.

/**
 * What a keydown does: "copy" (the selection goes to the clipboard), "browser" (the browser handles it:
 * Ctrl-V pastes, Tab leaves the terminal) or "terminal" (xterm.js turns it into input).
 * `raw`: a command runs on a terminal (kubectl exec -it …) and takes every key — Tab included, for the
 * shell on the other side — except the copy and paste shortcuts.
 */
export function keyAction(event, { raw = false, hasSelection = false } = {}) {
  if (event.type !== "keydown") return "terminal";
  const mod = event.ctrlKey || event.metaKey;
  const key = (event.key || "").toLowerCase();
  // Ctrl-C with text selected copies it (as in most terminal apps); without a selection it interrupts.
  if (mod && key === "c" && hasSelection && !event.shiftKey) return "copy";
  if (mod && event.shiftKey && key === "c") return hasSelection ? "copy" : "terminal";
  // Ctrl-V / Ctrl-Shift-V: the browser pastes (xterm.js would send ^V); the text arrives as input.
  if (mod && key === "v") return "browser";
  if (event.key === "Tab" && !raw) return "browser";
  return "terminal";
}

/** A size the server accepts for a terminal (clusters/terminal/session.py: terminal_size), or null. */
export function terminalSize(cols, rows) {
  const ok = (n, max) => Number.isInteger(n) && n >= 2 && n <= max;
  return ok(cols, 1000) && ok(rows, 500) ? { cols, rows } : null;
}
