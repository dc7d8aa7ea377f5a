// The read-only page's "Terminal history" (src/terminal/history_view.js): rows from GET …/terminal-history,
// how each command ended, and what changed between two polls.
import { test, describe } from "node:test";
import assert from "node:assert/strict";

import { clockTime, historyDiff, historyRows, historySummary, outcome } from "../src/terminal/history_view.js";

const commands = [
  { at: "2026-01-01T12:00:01+00:00", line: "kubectl get pods", exit: 0, output: "No resources found in default namespace.\n" },
  { at: "2026-01-01T12:00:09+00:00", line: "kubectl get pod nope", exit: 1, output: 'Error from server (NotFound): pods "nope" not found\n' },
  { at: "2026-01-01T12:00:12+00:00", line: "ls", exit: null, output: "" },
];

describe("outcome", () => {
  test("exit 0 is ok, another code failed, none stopped", () => {
    assert.deepEqual(outcome(0), { state: "ok", label: "exit 0" });
    assert.deepEqual(outcome(137), { state: "failed", label: "exit 137" });
    assert.equal(outcome(null).state, "stopped");
    assert.equal(outcome(undefined).state, "stopped");
  });
});

describe("historyRows", () => {
  test("one row per command, oldest first, output without its trailing newline", () => {
    const rows = historyRows(commands);
    assert.equal(rows.length, 3);
    assert.equal(rows[0].line, "kubectl get pods");
    assert.equal(rows[0].output, "No resources found in default namespace.");
    assert.equal(rows[0].lines, 1);
    assert.equal(rows[1].state, "failed");
    assert.equal(rows[1].label, "exit 1");
    assert.equal(rows[2].state, "stopped");
    assert.equal(rows[2].lines, 0);
    assert.match(rows[0].time, /^\d\d:\d\d:01$/);
  });
  test("a missing answer is no rows", () => {
    assert.deepEqual(historyRows(undefined), []);
  });
  test("a time the browser cannot read shows nothing", () => {
    assert.equal(clockTime("not a time"), "");
  });
});

describe("historyDiff", () => {
  const rows = historyRows(commands);
  const keys = (list) => list.map((r) => r.key);
  test("the same answer again changes nothing", () => {
    assert.equal(historyDiff(keys(rows), rows).kind, "same");
  });
  test("new commands after the drawn ones are appended", () => {
    const diff = historyDiff(keys(rows.slice(0, 1)), rows);
    assert.equal(diff.kind, "appended");
    assert.deepEqual(diff.rows.map((r) => r.line), ["kubectl get pod nope", "ls"]);
  });
  test("from nothing, everything is appended", () => {
    assert.equal(historyDiff([], rows).rows.length, 3);
  });
  test("a window that moved (oldest dropped) or a cleared history redraws", () => {
    assert.equal(historyDiff(keys(rows), rows.slice(1)).kind, "reset");
    assert.equal(historyDiff(keys(rows), []).kind, "reset");
  });
});

describe("historySummary", () => {
  test("counts the commands and those that did not end well", () => {
    assert.equal(historySummary([]), "No commands yet");
    assert.equal(historySummary(historyRows(commands.slice(0, 1))), "1 command");
    assert.equal(historySummary(historyRows(commands)), "3 commands · 2 failed");
  });
});
