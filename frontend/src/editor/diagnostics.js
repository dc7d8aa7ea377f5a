// From the server's validation answer (POST validate, clusters/web/PAGE.md) to what the editor shows: lint
// ranges, the problems list and the status line. The server counts lines and columns from 1 over the whole
// file, `---` separators included, so a problem in a multi-document file's third document already names its
// line in the file; the end column is just past the last character. CodeMirror wants 0-based offsets into
// the document instead.
//
// `doc` is anything shaped like CodeMirror's Text: `lines` (at least 1), `length`, and `line(n)` (1-based)
// answering { from, to, text }. This module imports nothing, so frontend/test/ runs it under plain Node.

const clamp = (n, low, high) => Math.min(Math.max(n, low), high);

/**
 * A 1-based line and column → an offset in `doc`. Positions the text no longer has (the file changed, or
 * the answer is for a longer file) land on the nearest one it does: the last line, the end of the line.
 */
export function toPosition(doc, line, column) {
  const target = doc.line(clamp(line || 1, 1, doc.lines));
  return Math.min(target.from + Math.max((column || 1) - 1, 0), target.to);
}

/** Server diagnostic (1-based line/column, end optional) → CodeMirror range { from, to } within this document. */
export function toRange(doc, d) {
  const lineNo = clamp(d.line || 1, 1, doc.lines);
  const line = doc.line(lineNo);
  const from = Math.min(line.from + Math.max((d.column || 1) - 1, 0), line.to);
  let to;
  if (d.endLine) {
    const end = doc.line(clamp(d.endLine, lineNo, doc.lines));
    to = Math.min(end.from + Math.max((d.endColumn || 1) - 1, 0), end.to);
  }
  if (to === undefined || to <= from) {
    // No (usable) end: underline the rest of the line from the first non-blank character on.
    const indent = line.text.length - line.text.trimStart().length;
    // An empty range would draw nothing: at the end of a line, take its line break (none after the last line).
    return { from: d.column ? from : line.from + indent, to: line.to > from ? line.to : Math.min(from + 1, doc.length) };
  }
  return { from, to };
}

export const SOURCE = "kube-apiserver (dry run)";

/** The server's diagnostics → CodeMirror lint diagnostics for setDiagnostics (anything not a warning is an error). */
export function lintDiagnostics(doc, diagnostics) {
  return diagnostics.map((d) => ({
    ...toRange(doc, d), severity: d.severity === "warning" ? "warning" : "error", message: d.message, source: SOURCE,
  }));
}

/** The problems list: top to bottom, left to right; a diagnostic without a line is listed as line 1. */
export function problemList(diagnostics) {
  const sorted = [...diagnostics].sort((a, b) => (a.line || 0) - (b.line || 0) || (a.column || 0) - (b.column || 0));
  return sorted.map((d) => ({ ...d, line: d.line || 1 }));
}

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

/**
 * The status line after a check: { state, text }. state is "ok" (nothing to say but the outcome),
 * "problems" (at least one error) or "warnings" (warnings only, so the file would still apply).
 */
export function status(diagnostics, objects) {
  if (!diagnostics.length) return { state: "ok", text: outcome(objects) };
  const errors = diagnostics.filter((d) => d.severity !== "warning").length;
  const n = diagnostics.length;
  return { state: errors ? "problems" : "warnings", text: `${n} problem${n === 1 ? "" : "s"}` };
}
