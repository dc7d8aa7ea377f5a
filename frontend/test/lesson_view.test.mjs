// The lesson panel's pure logic (src/lesson_view.js): the panel socket's messages (lessons/PANEL.md) merged
// into one state, what it draws, what changed, answers, and the buttons of a step's code blocks.
import { test, describe } from "node:test";
import assert from "node:assert/strict";

import {
  answerFrom, applyMessage, changes, checkItems, checksSummary, codeBlockKind, doneMoment, fileText, formFromAnswer,
  hintLabel, panelModel, shellLines,
} from "../src/lesson_view.js";

const checks = (...oks) => oks.map((ok, i) => ({ text: `check ${i}`, ok, reason: ok ? "" : `reason ${i}` }));

/** A "state" message as PANEL.md shows it: step 1 of 3 current, step 0 done. */
function stateMessage(extra = {}, step = {}) {
  return {
    type: "state",
    lesson: { id: "basics/pods", title: "Your first Pod", finished: false,
      next: { id: "basics/labels", title: "Labels", url: "/lessons/basics/labels/" } },
    current: 1,
    steps: [
      { index: 0, title: "Run a Pod", done: true, html: "<p>zero</p>" },
      { index: 1, title: "Look at it", done: false, html: "<p>one</p>" },
      { index: 2, title: "Delete it", done: false },
    ],
    step: { index: 1, kind: "task", checks: checks(true, false), done: false, hints: ["<p>h1</p>"], hintsLeft: 1,
      solution: null, attempts: 2, question: null, answer: null, ...step },
    ...extra,
  };
}

describe("applyMessage", () => {
  test("a state replaces the panel's state, without its type", () => {
    const next = applyMessage(null, stateMessage());
    assert.equal(next.type, undefined);
    assert.equal(next.current, 1);
    assert.equal(next.step.checks.length, 2);
  });

  test("checks for the current step update its checklist, done and attempts, and nothing else", () => {
    const before = applyMessage(null, stateMessage());
    const after = applyMessage(before, { type: "checks", step: 1, checks: checks(true, true), done: false, attempts: 3 });
    assert.deepEqual(after.step.checks.map((c) => c.ok), [true, true]);
    assert.equal(after.step.attempts, 3);
    assert.equal(after.step.hints, before.step.hints);
    assert.equal(after.steps, before.steps);
    assert.deepEqual(before.step.checks.map((c) => c.ok), [true, false], "the old state is left as it was");
  });

  test("checks for another step are stale; unknown messages change nothing", () => {
    const before = applyMessage(null, stateMessage());
    assert.equal(applyMessage(before, { type: "checks", step: 0, checks: [], done: true }), before);
    assert.equal(applyMessage(before, { type: "message", from: "teacher", text: "hi" }), before);
    assert.equal(applyMessage(null, { type: "checks", step: 1, checks: [] }), null);
  });

  test("a completed step is celebrated once: a later checks message drops it", () => {
    const done = applyMessage(null, stateMessage({ completed: 0 }));
    assert.equal(done.completed, 0);
    const later = applyMessage(done, { type: "checks", step: 1, checks: checks(false, false), done: false, attempts: 2 });
    assert.equal("completed" in later, false);
  });
});

describe("changes", () => {
  const base = applyMessage(null, stateMessage());

  test("the first state draws everything", () => {
    assert.equal(changes(null, base).redraw, "all");
  });

  test("a checks message redraws only the checklist, and says which ticks flipped", () => {
    const next = applyMessage(base, { type: "checks", step: 1, checks: checks(false, true), done: false, attempts: 2 });
    assert.deepEqual(changes(base, next), { redraw: "checks", completed: null, finished: false, flipped: [0, 1] });
  });

  test("the same state again draws nothing", () => {
    assert.equal(changes(base, applyMessage(base, stateMessage())).redraw, "none");
  });

  test("a new hint, the solution, an answer or another step redraw everything", () => {
    for (const step of [{ hints: ["<p>h1</p>", "<p>h2</p>"], hintsLeft: 0 }, { solution: "<p>s</p>" },
      { answer: { given: 1, correct: false, explanation: "" } }]) {
      assert.equal(changes(base, applyMessage(base, stateMessage({}, step))).redraw, "all", JSON.stringify(step));
    }
    const moved = applyMessage(base, stateMessage({ current: 2 }, { index: 2 }));
    assert.equal(changes(base, moved).redraw, "all");
    assert.deepEqual(changes(base, moved).flipped, [], "another step's checks are not flips");
  });

  test("completed and finished are reported", () => {
    const next = applyMessage(base, stateMessage({ completed: 1, current: 2 }, { index: 2, checks: checks(false) }));
    assert.equal(changes(base, next).completed, 1);
    const end = applyMessage(base, stateMessage({ completed: 2, current: 3, lesson: { ...base.lesson, finished: true } }));
    assert.equal(changes(base, end).finished, true);
    assert.equal(changes(end, end).finished, false, "only when it becomes finished");
  });
});

describe("checkItems and checksSummary", () => {
  test("ticks and crosses, with the reason only under a failing check", () => {
    assert.deepEqual(checkItems([{ text: "A", ok: true, reason: "ignored" }, { text: "B", ok: false, reason: "why" }]), [
      { text: "A", ok: true, reason: "", mark: "✓", label: "done" },
      { text: "B", ok: false, reason: "why", mark: "✗", label: "not yet" },
    ]);
    assert.deepEqual(checkItems(undefined), []);
  });

  test("say how many pass", () => {
    assert.equal(checksSummary(checks(true, false, false)), "1 of 3 checks pass");
    assert.equal(checksSummary(checks(true, true)), "All 2 checks pass");
    assert.equal(checksSummary(checks(true)), "The check passes");
    assert.equal(checksSummary(checks(false)), "Not done yet");
    assert.equal(checksSummary([]), "");
  });

  test("hintLabel counts what is left", () => {
    assert.equal(hintLabel(0, 2), "Hint (2 left)");
    assert.equal(hintLabel(1, 1), "Another hint (1 left)");
    assert.equal(hintLabel(2, 0), "No more hints");
    assert.equal(hintLabel(0, 0), "No hints");
  });
});

describe("panelModel", () => {
  test("the current step: position, progress, step list, checklist, hints", () => {
    const m = panelModel(applyMessage(null, stateMessage()));
    assert.equal(m.title, "Your first Pod");
    assert.equal(m.position, "Step 2 of 3");
    assert.deepEqual(m.progress, { done: 1, total: 3, percent: 33 });
    assert.deepEqual(m.steps.map((s) => [s.status, s.readable, s.viewing]),
      [["done", true, false], ["current", true, true], ["todo", false, false]]);
    assert.deepEqual({ ...m.view }, { index: 1, number: 2, title: "Look at it", html: "<p>one</p>", kind: "task", current: true, done: false });
    assert.equal(m.checks.length, 2);
    assert.equal(m.checksSummary, "1 of 2 checks pass");
    assert.deepEqual(m.hints, { shown: ["<p>h1</p>"], left: 1, label: "Another hint (1 left)", more: true });
    assert.equal(m.question, null);
  });

  test("the solution: on request for a task; a question's once offered; offered after failed attempts", () => {
    const task = (step) => panelModel(applyMessage(null, stateMessage({}, step)));
    assert.deepEqual([task({ attempts: 0 }).solutionButton, task({ attempts: 0 }).solutionOffered], [true, false]);
    assert.equal(task({ attempts: 3 }).solutionOffered, true, "a checks message's attempts are enough");
    assert.equal(task({ attempts: 0, solutionOffered: true }).solutionOffered, true);
    assert.deepEqual([task({ solution: "<p>s</p>", attempts: 5 }).solutionButton, task({ solution: "<p>s</p>", attempts: 5 }).solutionOffered],
      [false, false], "once shown, neither");
    const question = (step) => task({ kind: "question", checks: [], question: { choices: ["a"], multiple: false }, ...step });
    assert.equal(question({ attempts: 1 }).solutionButton, false);
    assert.equal(question({ solutionOffered: true }).solutionButton, true);
  });

  test("rereading a done step shows its HTML without the current step's checklist", () => {
    const m = panelModel(applyMessage(null, stateMessage()), { viewing: 0 });
    assert.deepEqual([m.view.index, m.view.current, m.view.html], [0, false, "<p>zero</p>"]);
    assert.deepEqual(m.checks, []);
    assert.equal(m.hints.shown.length, 0);
    assert.deepEqual(m.steps.map((s) => s.viewing), [true, false, false]);
  });

  test("a step without HTML (not reached) cannot be viewed: the current one shows", () => {
    assert.equal(panelModel(applyMessage(null, stateMessage()), { viewing: 2 }).view.index, 1);
  });

  test("a question step: choices, single or multiple, or a short answer", () => {
    const q = stateMessage({}, { kind: "question", checks: [], question: { choices: ["a", "b"], multiple: true } });
    const m = panelModel(applyMessage(null, q));
    assert.deepEqual(m.question, { short: false, multiple: true, choices: [{ index: 0, text: "a" }, { index: 1, text: "b" }] });
    assert.deepEqual(m.checks, []);
    const short = panelModel(applyMessage(null, stateMessage({}, { kind: "question", checks: [], question: { choices: null, multiple: false } })));
    assert.equal(short.question.short, true);
  });

  test("a finished lesson: no step view (the complete card), the next lesson", () => {
    const m = panelModel(applyMessage(null, stateMessage({
      current: 3, lesson: { ...stateMessage().lesson, finished: true },
      steps: stateMessage().steps.map((s) => ({ ...s, done: true, html: "<p/>" })),
    })));
    assert.equal(m.finished, true);
    assert.equal(m.view, null);
    assert.equal(m.position, "Finished ✓");
    assert.equal(m.next.url, "/lessons/basics/labels/");
    assert.equal(m.progress.percent, 100);
    assert.equal(panelModel(applyMessage(null, stateMessage({ current: 3, lesson: { finished: true } })), { viewing: 0 }).view.index, 0);
  });
});

describe("doneMoment", () => {
  test("a task step: its number and title", () => {
    const s = applyMessage(null, stateMessage({ completed: 0 }));
    assert.deepEqual(doneMoment(s, 0), { number: 1, title: "Run a Pod", question: false, explanation: "", last: false });
  });

  test("a question answered right: the explanation the completing state carries as `answered`", () => {
    const prev = applyMessage(null, stateMessage({}, { kind: "question", checks: [], question: { choices: ["a", "b"] } }));
    const next = applyMessage(prev, stateMessage({ completed: 1, current: 2,
      answered: { given: 1, correct: true, explanation: "<p>why</p>" } }, { index: 2 }));
    assert.deepEqual(doneMoment(next, 1, prev), { number: 2, title: "Look at it", question: true, explanation: "<p>why</p>", last: false });
    const later = applyMessage(next, { type: "checks", step: 2, checks: [], done: false, attempts: 0 });
    assert.equal("answered" in later, false, "celebrated once");
  });
});

describe("answerFrom and formFromAnswer", () => {
  const single = { short: false, multiple: false };
  const multiple = { short: false, multiple: true };
  const short = { short: true, multiple: false };

  test("one choice's index, several sorted indexes, or the trimmed text", () => {
    assert.deepEqual(answerFrom(single, { picked: ["2"] }), { answer: 2 });
    assert.deepEqual(answerFrom(multiple, { picked: [2, "0", 2] }), { answer: [0, 2] });
    assert.deepEqual(answerFrom(short, { text: "  the scheduler " }), { answer: "the scheduler" });
  });

  test("nothing picked or typed is an error for the learner", () => {
    assert.match(answerFrom(single, { picked: [] }).error, /Pick an answer/);
    assert.match(answerFrom(multiple, {}).error, /at least one/);
    assert.match(answerFrom(short, { text: "   " }).error, /Type an answer/);
    assert.ok(answerFrom(null, {}).error);
  });

  test("a given answer back as the form's values", () => {
    assert.deepEqual(formFromAnswer(1), { picked: [1], text: "" });
    assert.deepEqual(formFromAnswer([0, 2]), { picked: [0, 2], text: "" });
    assert.deepEqual(formFromAnswer("etcd"), { picked: [], text: "etcd" });
    assert.deepEqual(formFromAnswer(null), { picked: [], text: "" });
  });
});

describe("code blocks", () => {
  test("shell and file blocks get their buttons; others none", () => {
    assert.deepEqual(codeBlockKind({ lang: "sh" }), { kind: "shell" });
    assert.deepEqual(codeBlockKind({ lang: "Bash" }), { kind: "shell" });
    assert.deepEqual(codeBlockKind({ lang: "yaml", file: "web.yaml" }), { kind: "file", file: "web.yaml" });
    assert.equal(codeBlockKind({ lang: "yaml" }), null);
    assert.equal(codeBlockKind({ lang: "yaml", file: "../etc/passwd" }), null);
    assert.equal(codeBlockKind({}), null);
  });

  test("kubectl lines run; prompts are dropped; comments, output and blank lines do not run", () => {
    const lines = shellLines("$ kubectl get pods\n# look at them\nNAME   READY\n\nkubectl logs web  # its log\n");
    assert.deepEqual(lines, [
      { text: "$ kubectl get pods", command: "kubectl get pods" },
      { text: "# look at them", command: null },
      { text: "NAME   READY", command: null },
      { text: "", command: null },
      { text: "kubectl logs web  # its log", command: "kubectl logs web" },
    ]);
  });

  test("a continued line runs as one command", () => {
    assert.deepEqual(shellLines("kubectl create deployment web \\\n  --image=nginx:1.27 \\\n  --replicas=3"), [
      { text: "kubectl create deployment web \\\n  --image=nginx:1.27 \\\n  --replicas=3",
        command: "kubectl create deployment web --image=nginx:1.27 --replicas=3" },
    ]);
  });

  test("shell syntax the terminal does not have gets no button, unless it is quoted", () => {
    assert.equal(shellLines("kubectl get pods | grep web")[0].command, null);
    assert.equal(shellLines("kubectl get pods > out.txt")[0].command, null);
    assert.equal(shellLines("kubectl apply -f - <<EOF")[0].command, null);
    assert.equal(shellLines("kubectl get pods && kubectl get svc")[0].command, null);
    assert.equal(shellLines("echo hi")[0].command, null);
    assert.equal(shellLines("kubectl get pods -l 'tier in (a,b)'")[0].command, "kubectl get pods -l 'tier in (a,b)'");
    assert.equal(shellLines(`kubectl exec web -- sh -c "echo hi > /tmp/x"`)[0].command, `kubectl exec web -- sh -c "echo hi > /tmp/x"`);
    assert.equal(shellLines("k get nodes")[0].command, "k get nodes");
    assert.equal(shellLines("kubectl annotate deploy web kubernetes.io/change-cause='v2 #2'")[0].command,
      "kubectl annotate deploy web kubernetes.io/change-cause='v2 #2'");
  });

  test("a file block's text ends with one newline", () => {
    assert.equal(fileText("a: 1\n\n"), "a: 1\n");
    assert.equal(fileText("a: 1"), "a: 1\n");
    assert.equal(fileText("a: 1\r\nb: 2"), "a: 1\nb: 2\n");
  });
});
