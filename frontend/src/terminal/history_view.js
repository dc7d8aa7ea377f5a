// The "Terminal history" panel's pure part (history.js draws it): the learner's browser-terminal commands as
// GET …/terminal-history answers them (clusters/web/PAGE.md, "Read-only"), turned into what each row shows.
// No DOM here: node --test checks it (frontend/test/history_view.test.mjs).

const pad = (n) => String(n).padStart(2, "0");

/** "14:03:27" in the viewer's local time (these are wall-clock times, not the cluster's simulated ones). */
export function clockTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/**
 * How a command ended: exit 0 is "ok", another code "failed", null "stopped" (the terminal refused the line,
 * or it was killed before it ran: the server keeps no code).
 */
export function outcome(exit) {
  if (exit === null || exit === undefined) return { state: "stopped", label: "refused or stopped" };
  if (exit === 0) return { state: "ok", label: "exit 0" };
  return { state: "failed", label: `exit ${exit}` };
}

/** A stable key per command (its time and line): rows already drawn are not drawn again. */
export const commandKey = (c) => (c.id ? `#${c.id}` : `${c.at}\u0000${c.line}`);

/** The answer's commands as rows, oldest first: {key, line, at, time, exit, state, label, output, lines}. */
export function historyRows(commands) {
  return (commands || []).map((c) => {
    const output = String(c.output ?? "").replace(/\s+$/, "");
    const { state, label } = outcome(c.exit);
    return {
      key: commandKey(c), line: String(c.line ?? ""), at: c.at, time: clockTime(c.at), exit: c.exit ?? null,
      state, label, output, lines: output ? output.split("\n").length : 0,
    };
  });
}

/**
 * What changed between two answers: `same` when nothing did, else `appended` (the rows after what was drawn)
 * when the old list is a prefix of the new one — the usual case, drawn without redrawing — or `reset` when the
 * server's window moved (it keeps the newest commands only) or the cluster's history was cleared.
 */
export function historyDiff(previousKeys, rows) {
  const keys = rows.map((r) => r.key);
  if (keys.length === previousKeys.length && keys.every((k, i) => k === previousKeys[i])) return { kind: "same" };
  const prefix = previousKeys.length <= keys.length && previousKeys.every((k, i) => k === keys[i]);
  if (prefix) return { kind: "appended", rows: rows.slice(previousKeys.length) };
  return { kind: "reset", rows };
}

/** The panel's one-line summary: "12 commands · 3 failed" (or that there are none yet). */
export function historySummary(rows) {
  if (!rows.length) return "No commands yet";
  const failed = rows.filter((r) => r.state !== "ok").length;
  return `${rows.length} command${rows.length === 1 ? "" : "s"}${failed ? ` · ${failed} failed` : ""}`;
}
