// The editor's diagnostics mapping (src/editor/diagnostics.js): the server's 1-based line/column spans
// (clusters/manifests.py: the end column is just past the last character) → CodeMirror offsets, plus the
// problems list and the status line built from the same answer.
import { test, describe } from "node:test";
import assert from "node:assert/strict";

import {
  SOURCE, lintDiagnostics, outcome, problemList, resourceName, status, toPosition, toRange,
} from "../src/editor/diagnostics.js";

/**
 * A stand-in for CodeMirror's Text with the part of its interface the mapping uses. Like CodeMirror, it
 * takes \r\n, \r and \n as one line break each and counts offsets without them but for one per break.
 */
function textDoc(string) {
  const lines = string.split(/\r\n?|\n/);
  const starts = [];
  let offset = 0;
  for (const line of lines) { starts.push(offset); offset += line.length + 1; }
  return {
    lines: lines.length,
    length: offset - 1,
    line(n) {
      if (!(n >= 1 && n <= lines.length)) throw new RangeError(`Invalid line number ${n}`);
      return { number: n, from: starts[n - 1], to: starts[n - 1] + lines[n - 1].length, text: lines[n - 1] };
    },
    sliceString: (from, to) => lines.join("\n").slice(from, to),
  };
}

/** What a range underlines, as text. */
const underlined = (doc, d) => { const { from, to } = toRange(doc, d); return doc.sliceString(from, to); };

const DEPLOYMENT = [
  "apiVersion: apps/v1",      // line 1
  "kind: Deploymnt",          // line 2
  "metadata:",                // line 3
  "  name: web",              // line 4
  "spec:",                    // line 5
  "  replicas: three",        // line 6
].join("\n");

const MULTI = [
  "apiVersion: v1",           // 1
  "kind: Service",            // 2
  "metadata: {name: web}",    // 3
  "---",                      // 4
  "apiVersion: v1",           // 5
  "kind: ConfigMap",          // 6
  "metadata:",                // 7
  "  name: settings",         // 8
  "data:",                    // 9
  "  port: 80",               // 10
  "---",                      // 11
  "# the third document",     // 12
  "apiVersion: apps/v1",      // 13
  "kind: Deployment",         // 14
  "spec:",                    // 15
  "  replicass: 3",           // 16
  "",                         // 17 (the file ends with a newline)
].join("\n");

describe("toRange", () => {
  test("a span on one line underlines exactly its characters", () => {
    const doc = textDoc(DEPLOYMENT);
    assert.equal(underlined(doc, { line: 2, column: 7, endLine: 2, endColumn: 16 }), "Deploymnt");
    assert.equal(underlined(doc, { line: 6, column: 13, endLine: 6, endColumn: 18 }), "three");
    assert.deepEqual(toRange(doc, { line: 1, column: 1, endLine: 1, endColumn: 11 }), { from: 0, to: 10 });
  });

  test("a span over several lines runs from its start to its end", () => {
    const doc = textDoc(DEPLOYMENT);
    assert.equal(underlined(doc, { line: 3, column: 1, endLine: 4, endColumn: 12 }), "metadata:\n  name: web");
  });

  test("in a multi-document file, lines count from the top of the file, separators included", () => {
    const doc = textDoc(MULTI);
    assert.equal(underlined(doc, { line: 6, column: 7, endLine: 6, endColumn: 16 }), "ConfigMap");
    assert.equal(underlined(doc, { line: 10, column: 9, endLine: 10, endColumn: 11 }), "80");
    assert.equal(underlined(doc, { line: 16, column: 3, endLine: 16, endColumn: 12 }), "replicass");
    // A problem that names a whole document (its first line) stays inside that document.
    assert.equal(underlined(doc, { line: 12, column: 1 }), "# the third document");
  });

  test("without an end, the rest of the line from the column is underlined", () => {
    const doc = textDoc(DEPLOYMENT);
    assert.equal(underlined(doc, { line: 6, column: 3 }), "replicas: three");
    assert.equal(underlined(doc, { line: 2, column: 7, endLine: 0 }), "Deploymnt");
  });

  test("without a column, the line is underlined from its first non-blank character", () => {
    const doc = textDoc(DEPLOYMENT);
    assert.equal(underlined(doc, { line: 4 }), "name: web");
    assert.equal(underlined(doc, { line: 4, column: 0 }), "name: web");
  });

  test("an end before the start is ignored: the rest of the line is underlined instead", () => {
    const doc = textDoc(DEPLOYMENT);
    assert.equal(underlined(doc, { line: 6, column: 13, endLine: 6, endColumn: 3 }), "three");
    assert.equal(underlined(doc, { line: 6, column: 13, endLine: 2, endColumn: 5 }), "three");
    assert.equal(underlined(doc, { line: 6, column: 13, endLine: 6, endColumn: 13 }), "three");
  });

  test("a line past the end of the document lands on its last line", () => {
    const doc = textDoc(DEPLOYMENT);
    // The columns still apply, on that line: the answer was for a longer text and is at least near.
    assert.equal(underlined(doc, { line: 40, column: 3, endLine: 41, endColumn: 11 }), "replicas");
    assert.equal(underlined(doc, { line: 40 }), "replicas: three");
  });

  test("an end past the end of the document is cut at the document's end", () => {
    const doc = textDoc(DEPLOYMENT);
    assert.deepEqual(toRange(doc, { line: 6, column: 13, endLine: 99, endColumn: 1 }), { from: 76, to: doc.length });
    assert.equal(doc.sliceString(76, doc.length), "three");
    assert.equal(underlined(doc, { line: 6, column: 13, endLine: 6, endColumn: 200 }), "three");
  });

  test("a missing or zero line means line 1", () => {
    const doc = textDoc(DEPLOYMENT);
    assert.equal(underlined(doc, { column: 1, endLine: 1, endColumn: 11 }), "apiVersion");
    assert.equal(underlined(doc, { line: 0, column: 13 }), "apps/v1");
  });

  test("a column past the end of its line takes the line break, so the mark is never empty mid-file", () => {
    const doc = textDoc(DEPLOYMENT);
    // "metadata:" is 9 characters: column 10 is just past it, 50 is far past it.
    assert.deepEqual(toRange(doc, { line: 3, column: 10 }), { from: 45, to: 46 });
    assert.deepEqual(toRange(doc, { line: 3, column: 50 }), { from: 45, to: 46 });
    assert.equal(doc.sliceString(45, 46), "\n");
  });

  test("at the very end of the document the range is a point there", () => {
    const doc = textDoc(MULTI);            // ends with an empty line 17
    assert.deepEqual(toRange(doc, { line: 17, column: 1 }), { from: doc.length, to: doc.length });
    assert.deepEqual(toRange(doc, { line: 30, column: 4 }), { from: doc.length, to: doc.length });
    const empty = textDoc("");
    assert.deepEqual(toRange(empty, { line: 3, column: 2, endLine: 3, endColumn: 9 }), { from: 0, to: 0 });
  });

  test("a CRLF file maps like the same file with LF line breaks", () => {
    const lf = textDoc(MULTI);
    const crlf = textDoc(MULTI.replace(/\n/g, "\r\n"));
    for (const d of [{ line: 16, column: 3, endLine: 16, endColumn: 11 }, { line: 8 }, { line: 3, column: 1, endLine: 7, endColumn: 5 }]) {
      assert.deepEqual(toRange(crlf, d), toRange(lf, d));
    }
  });
});

describe("toPosition (jumping to a problem)", () => {
  const doc = textDoc(DEPLOYMENT);

  test("line and column → offset", () => {
    assert.equal(toPosition(doc, 1, 1), 0);
    assert.equal(toPosition(doc, 2, 7), 26);
    assert.equal(doc.sliceString(26, 29), "Dep");
  });

  test("clamps to the document: before line 1, past the last line, past a line's end", () => {
    assert.equal(toPosition(doc, 0, 5), 4);
    assert.equal(toPosition(doc, -3, 1), 0);
    assert.equal(toPosition(doc, 99, 3), doc.line(6).from + 2);
    assert.equal(toPosition(doc, 3, 99), doc.line(3).to);
    assert.equal(toPosition(doc, 99, 99), doc.length);
  });

  test("a missing, zero or unreadable line or column counts as 1", () => {
    assert.equal(toPosition(doc, 2, 0), doc.line(2).from);
    assert.equal(toPosition(doc, 2, undefined), doc.line(2).from);
    assert.equal(toPosition(doc, Number("x"), Number("y")), 0);
  });
});

describe("lintDiagnostics", () => {
  test("keeps the message, names the source and maps the span", () => {
    const doc = textDoc(DEPLOYMENT);
    const [d] = lintDiagnostics(doc, [{ line: 2, column: 7, endLine: 2, endColumn: 16, severity: "error", message: "no kind" }]);
    assert.deepEqual(d, { from: 26, to: 35, severity: "error", message: "no kind", source: SOURCE });
  });

  test("warnings stay warnings; anything else is an error", () => {
    const doc = textDoc(DEPLOYMENT);
    const severities = lintDiagnostics(doc, [
      { line: 1, severity: "warning", message: "deprecated" }, { line: 2, severity: "info", message: "?" },
      { line: 3, message: "no severity" },
    ]).map((d) => d.severity);
    assert.deepEqual(severities, ["warning", "error", "error"]);
    assert.deepEqual(lintDiagnostics(doc, []), []);
  });
});

describe("problemList", () => {
  test("sorts by line then column, lists a line-less problem as line 1 first, and leaves the input alone", () => {
    const input = [
      { line: 16, column: 3, message: "c" }, { line: 6, column: 9, message: "b2" },
      { line: 6, column: 1, message: "b1" }, { message: "a" },
    ];
    const copy = structuredClone(input);
    const list = problemList(input);
    assert.deepEqual(list.map((p) => [p.line, p.message]), [[1, "a"], [6, "b1"], [6, "b2"], [16, "c"]]);
    assert.deepEqual(input, copy);
  });
});

describe("status line", () => {
  test("a clean file says what applying it would do", () => {
    assert.deepEqual(status([], [
      { apiVersion: "apps/v1", kind: "Deployment", name: "web", action: "created" },
      { apiVersion: "v1", kind: "Service", name: "web", action: "created" },
      { apiVersion: "v1", kind: "ConfigMap", name: "settings", action: "unchanged" },
    ]), {
      state: "ok",
      text: "No problems — would create deployment.apps/web, service/web; unchanged: configmap/settings",
    });
    assert.equal(status([], []).text, "No problems — no objects in this file yet");
  });

  test("counts problems; errors make it 'problems', warnings alone 'warnings'", () => {
    assert.deepEqual(status([{ severity: "error" }], []), { state: "problems", text: "1 problem" });
    assert.deepEqual(status([{ severity: "warning" }, { severity: "error" }], []), { state: "problems", text: "2 problems" });
    assert.deepEqual(status([{ severity: "warning" }, { severity: "warning" }], []), { state: "warnings", text: "2 problems" });
  });

  test("resourceName and outcome spell objects as kubectl does", () => {
    assert.equal(resourceName({ apiVersion: "networking.k8s.io/v1", kind: "Ingress", name: "web" }), "ingress.networking.k8s.io/web");
    assert.equal(resourceName({ apiVersion: "v1", kind: "Pod", name: "p" }), "pod/p");
    assert.equal(outcome([{ apiVersion: "v1", kind: "Pod", name: "p", action: "configured" }]), "No problems — would configure pod/p");
    assert.equal(outcome([{ apiVersion: "v1", kind: "Pod", name: "p", action: "replaced" }]), "No problems — would replaced pod/p");
  });
});

// The stand-in above must behave like the real thing. With the front end's dependencies installed
// (npm ci), the same mappings run against CodeMirror's own Text; without them this part is skipped.
let Text = null;
try { ({ Text } = await import("@codemirror/state")); } catch (e) { /* not installed: skip below */ }

test("CodeMirror's Text maps every case like the stand-in", { skip: Text ? false : "@codemirror/state is not installed" }, () => {
  const cases = [
    { line: 2, column: 7, endLine: 2, endColumn: 16 }, { line: 3, column: 1, endLine: 7, endColumn: 5 },
    { line: 16, column: 3 }, { line: 8 }, { line: 3, column: 50 }, { line: 40, column: 4 }, { line: 17, column: 1 },
    { line: 6, column: 13, endLine: 99, endColumn: 1 }, { line: 0, column: 0, endLine: 0 },
  ];
  for (const source of [MULTI, MULTI.replace(/\n/g, "\r\n"), DEPLOYMENT, ""]) {
    const real = Text.of(source.split(/\r\n?|\n/));
    const fake = textDoc(source);
    assert.equal(real.length, fake.length);
    for (const d of cases) assert.deepEqual(toRange(real, d), toRange(fake, d), JSON.stringify(d));
    assert.equal(toPosition(real, 99, 99), toPosition(fake, 99, 99));
  }
});
