// The lesson panel's pure logic (no DOM): the panel socket's messages (lessons/PANEL.md) merged into one
// state, what that state draws (steps, the step shown, its checklist, hints, question), what changed from
// one state to the next (a whole redraw, the checklist only, a step just completed), the answer a question
// form holds, and the buttons a step's code blocks get. lesson.js draws it; test/lesson_view.test.mjs tests it.

// How long the "Step done ✓" moment stays before the next step shows (a task step; a question's waits).
export const DONE_MS = 1800;

// Failed attempts after which the panel offers the solution (lessons/progress.py's SOLUTION_AFTER_ATTEMPTS; the
// server says so in a state's step.solutionOffered, and a "checks" message carries only the attempts).
export const SOLUTION_AFTER_ATTEMPTS = 3;

// Code blocks whose lines are commands ("Run in terminal"), as lessons/markdown.py labels them.
export const SHELL_LANGS = new Set(["sh", "bash", "shell", "console"]);

// The editor's file names, as the files API accepts them (editor/files.js's FILE_NAME; that module needs
// CodeMirror, so the rule is repeated here for node's tests).
export const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

// ------------------------------------------------------------------------------ merging messages

/**
 * The panel's state after `message`: a "state" replaces it (its `completed` kept for this one change), a
 * "checks" for the current step updates that step's checklist, done and attempts (one for another step is
 * stale and changes nothing). Other messages leave it as it is. Never mutates `state`.
 */
export function applyMessage(state, message) {
  if (!message || typeof message !== "object") return state;
  if (message.type === "state") {
    const { type, ...next } = message;
    return next;
  }
  if (message.type === "checks") {
    if (!state?.step || message.step !== state.step.index) return state;
    const { completed, answered, ...rest } = state;
    return {
      ...rest,
      step: {
        ...state.step,
        checks: Array.isArray(message.checks) ? message.checks : state.step.checks,
        done: message.done ?? state.step.done,
        attempts: message.attempts ?? state.step.attempts,
      },
    };
  }
  return state;
}

// Everything a state draws except the checklist (which "checks" messages change by themselves).
function frame(state) {
  if (!state) return null;
  const { completed, answered, step, ...rest } = state;
  if (!step) return JSON.stringify(rest);
  const { checks, done, attempts, solutionOffered, ...stepRest } = step;
  return JSON.stringify({ ...rest, step: stepRest });
}

/**
 * What to draw after a change from `prev` to `next`:
 * { redraw: "all" | "checks" | "none", completed: index | null, finished: bool, flipped: [check index] }.
 * `completed`: a step this change completed (celebrate it); `finished`: the lesson became finished now;
 * `flipped`: the checks whose tick changed (a short highlight).
 */
export function changes(prev, next) {
  const completed = Number.isInteger(next?.completed) ? next.completed : null;
  const finished = Boolean(next?.lesson?.finished) && !prev?.lesson?.finished;
  if (!next) return { redraw: "none", completed: null, finished: false, flipped: [] };
  if (!prev) return { redraw: "all", completed, finished, flipped: [] };
  const before = prev.step?.checks || [];
  const after = next.step?.checks || [];
  const sameStep = prev.step?.index === next.step?.index;
  const flipped = sameStep ? after.map((c, i) => (before[i] && before[i].ok !== c.ok ? i : -1)).filter((i) => i >= 0) : [];
  if (completed !== null || frame(prev) !== frame(next)) return { redraw: "all", completed, finished, flipped };
  const checksChanged = JSON.stringify(before) !== JSON.stringify(after) ||
    prev.step?.done !== next.step?.done || prev.step?.attempts !== next.step?.attempts;
  return { redraw: checksChanged ? "checks" : "none", completed: null, finished, flipped };
}

// ------------------------------------------------------------------------------ what to draw

/** The checklist's lines: [{ text, ok, reason, mark: "✓" | "✗", label }] (the label for screen readers). */
export function checkItems(checks) {
  return (checks || []).map((c) => ({
    text: String(c.text ?? ""),
    ok: Boolean(c.ok),
    reason: c.ok ? "" : String(c.reason ?? ""),
    mark: c.ok ? "✓" : "✗",
    label: c.ok ? "done" : "not yet",
  }));
}

/** "1 of 3 checks pass", "All 3 checks pass". */
export function checksSummary(checks) {
  const list = checks || [];
  const ok = list.filter((c) => c.ok).length;
  if (!list.length) return "";
  if (ok === list.length) return list.length === 1 ? "The check passes" : `All ${list.length} checks pass`;
  return list.length === 1 ? "Not done yet" : `${ok} of ${list.length} checks pass`;
}

/** The hint button's words: "Hint (2 left)", "Another hint (1 left)", "No more hints". */
export function hintLabel(shown, left) {
  if (!left) return shown ? "No more hints" : "No hints";
  return `${shown ? "Another hint" : "Hint"} (${left} left)`;
}

/**
 * The panel as it should look: `viewing` is the index of a done step the learner rereads (null: the
 * current one). Answers
 * { id, title, total, current, finished, next, position, progress: { done, total, percent },
 *   steps: [{ index, number, title, status: "done" | "current" | "todo", readable, viewing }],
 *   view: { index, number, title, html, kind, current: bool, done: bool } | null,
 *   checks, checksSummary, stepDone, attempts, hints: { shown, left, label, more },
 *   solution: html | null, solutionOffered, solutionButton,
 *   question: { short, multiple, choices: [{ index, text }] } | null, answer }.
 * The solution is always there on request for a task step ("Show solution…"); a question's (its answer) only
 * once the server offers it. `solutionOffered`: after a few failed attempts (the panel then says so).
 * `view` is null when the lesson is finished and no done step is being reread (the "Lesson complete" card).
 */
export function panelModel(state, { viewing = null } = {}) {
  const steps = state?.steps || [];
  const total = steps.length;
  const lesson = state?.lesson || {};
  const finished = Boolean(lesson.finished);
  const current = finished ? total : Math.min(Math.max(0, state?.current ?? 0), Math.max(0, total - 1));
  const done = steps.filter((s) => s.done).length;
  const readable = (s) => typeof s.html === "string";
  const shown = viewing !== null && viewing !== current && steps[viewing] && readable(steps[viewing]) ? viewing : null;

  const items = steps.map((s, i) => ({
    index: i, number: i + 1, title: String(s.title ?? ""),
    status: s.done ? "done" : i === current ? "current" : "todo",
    readable: readable(s) && (s.done || i === current),
    viewing: shown === null ? i === current : i === shown,
  }));

  const step = state?.step || null;
  let view = null;
  if (shown !== null) {
    const s = steps[shown];
    view = { index: shown, number: shown + 1, title: s.title, html: s.html, kind: null, current: false, done: Boolean(s.done) };
  } else if (!finished && steps[current]) {
    const s = steps[current];
    view = {
      index: current, number: current + 1, title: s.title, html: s.html ?? "",
      kind: step?.kind || "task", current: true, done: Boolean(step?.done ?? s.done),
    };
  }
  const live = view?.current && step && step.index === current;

  const hintsShown = live ? (step.hints || []) : [];
  const hintsLeft = live ? Math.max(0, step.hintsLeft ?? 0) : 0;
  const q = live ? step.question : null;
  const solution = live ? step.solution ?? null : null;
  const offered = live && (Boolean(step.solutionOffered) || (step.attempts ?? 0) >= SOLUTION_AFTER_ATTEMPTS);
  return {
    id: lesson.id ?? "", title: lesson.title ?? "", total, current, finished, next: lesson.next || null,
    position: finished ? "Finished ✓" : total ? `Step ${current + 1} of ${total}` : "",
    progress: { done, total, percent: total ? Math.round((done / total) * 100) : 0 },
    steps: items,
    view,
    checks: live && step.kind !== "question" ? checkItems(step.checks) : [],
    checksSummary: live && step.kind !== "question" ? checksSummary(step.checks) : "",
    stepDone: live ? Boolean(step.done) : false,
    attempts: live ? step.attempts ?? 0 : 0,
    hints: { shown: hintsShown, left: hintsLeft, label: hintLabel(hintsShown.length, hintsLeft), more: hintsLeft > 0 },
    solution,
    solutionOffered: offered && !solution && !step.done,
    solutionButton: live && !solution && (step.kind !== "question" || offered),
    question: q ? {
      short: !Array.isArray(q.choices),
      multiple: Boolean(q.multiple),
      choices: Array.isArray(q.choices) ? q.choices.map((text, index) => ({ index, text: String(text) })) : [],
    } : null,
    answer: live ? step.answer ?? null : null,
  };
}

/**
 * What the "Step done ✓" moment says about step `index` of `state`: { number, title, question: bool,
 * explanation, last }. A state that completed a question by a right answer carries it as `answered`
 * ({ given, correct, explanation }); the state before (`prev`, whose step was the question) tells the kind.
 */
export function doneMoment(state, index, prev = null) {
  const step = state?.steps?.[index] || {};
  const before = prev?.step?.index === index ? prev.step : null;
  const answer = state?.answered || step.answer || before?.answer || null;
  const question = step.kind === "question" || before?.kind === "question" || Boolean(answer);
  return {
    number: index + 1,
    title: String(step.title ?? ""),
    question,
    explanation: answer?.explanation ?? "",
    last: Boolean(state?.lesson?.finished),
  };
}

// ------------------------------------------------------------------------------ answering a question

/**
 * The answer a question's form holds, as the server takes it ({"type": "answer", "answer": …}):
 * { answer } — a choice's index, the picked indexes (several allowed), or the trimmed text — or
 * { error } (what to tell the learner) when nothing is picked or typed.
 */
export function answerFrom(question, { picked = [], text = "" } = {}) {
  if (!question) return { error: "There is no question in this step." };
  if (question.short) {
    const answer = String(text ?? "").trim();
    return answer ? { answer } : { error: "Type an answer first." };
  }
  const indexes = [...new Set((picked || []).map(Number).filter((n) => Number.isInteger(n) && n >= 0))].sort((a, b) => a - b);
  if (!indexes.length) return { error: question.multiple ? "Pick at least one answer." : "Pick an answer first." };
  return { answer: question.multiple ? indexes : indexes[0] };
}

/** The given answer back as the form's values (to show what was answered): { picked: [index], text }. */
export function formFromAnswer(given) {
  if (Array.isArray(given)) return { picked: given.map(Number), text: "" };
  if (typeof given === "number") return { picked: [given], text: "" };
  return { picked: [], text: given == null ? "" : String(given) };
}

// ------------------------------------------------------------------------------ code blocks

// Shell syntax the terminal does not have (it runs one kubectl command, no shell): a line holding any of
// these outside quotes gets no "Run" button. Comments are cut off first.
const SHELL_ONLY = /^(\||&&|\|\||;|>|<|\$\(|`|&)/;

/** The line without a trailing `# comment`, and whether it uses shell syntax beyond one command. */
function scan(line) {
  let quote = null;
  for (let i = 0; i < line.length; i += 1) {
    const c = line[i];
    if (quote) {
      if (c === "\\" && quote === '"') i += 1;
      else if (c === quote) quote = null;
      continue;
    }
    if (c === "'" || c === '"') { quote = c; continue; }
    if (c === "\\") { i += 1; continue; }
    if (c === "#" && (i === 0 || /\s/.test(line[i - 1]))) return { text: line.slice(0, i).trimEnd(), shell: false };
    if (SHELL_ONLY.test(line.slice(i))) return { text: line, shell: true };
  }
  return { text: line, shell: Boolean(quote) };
}

/**
 * A shell block's text as lines to draw: [{ text, command }] where `command` is the kubectl command the
 * "Run in terminal" button sends (null: no button). A leading "$ " prompt is dropped; a line ending in
 * "\" continues on the next (they are drawn as they are and run as one line); comments, blank lines,
 * output and anything but a single kubectl command get no button.
 */
export function shellLines(text) {
  const raw = String(text ?? "").replace(/\r\n?/g, "\n").replace(/\n$/, "").split("\n");
  const out = [];
  for (let i = 0; i < raw.length; i += 1) {
    const shown = [raw[i]];
    let joined = raw[i];
    while (/\\$/.test(joined) && i + 1 < raw.length) {
      i += 1;
      shown.push(raw[i]);
      joined = `${joined.slice(0, -1).trimEnd()} ${raw[i].trim()}`;
    }
    const bare = joined.trim().replace(/^\$\s+/, "");
    const { text: command, shell } = scan(bare);
    const runnable = /^(kubectl|k)(\s|$)/.test(command) && !shell && !/\\$/.test(command);
    out.push({ text: shown.join("\n"), command: runnable ? command.trim() : null });
  }
  return out;
}

/**
 * The buttons a step's code block gets, from its data-lang and data-file: { kind: "file", file } for a
 * file block ("Open in editor"), { kind: "shell" } for a shell block ("Run in terminal" per command),
 * null for any other block. A data-file that the editor would refuse gets no button.
 */
export function codeBlockKind({ lang, file } = {}) {
  if (file) return FILE_NAME.test(file) ? { kind: "file", file } : null;
  if (SHELL_LANGS.has(String(lang || "").toLowerCase())) return { kind: "shell" };
  return null;
}

/** The text a file block puts in the editor: the block's text ending with exactly one newline. */
export function fileText(text) {
  return `${String(text ?? "").replace(/\r\n?/g, "\n").replace(/\n+$/, "")}\n`;
}
