// The terminal's line editor (src/terminal/line.js): the buffer, the readline keys by the byte sequences
// xterm.js sends, the ↑/↓ history and how typed or pasted text is split into lines.
import { test, describe } from "node:test";
import assert from "node:assert/strict";

import { EDIT_KEYS, History, LineBuffer, splitInput } from "../src/terminal/line.js";

/** A buffer holding `text` with the cursor at `cursor` (default: the end). */
function buffer(text, cursor = text.length) {
  const line = new LineBuffer();
  line.set(text);
  line.cursor = cursor;
  return line;
}

/** The line as "text with | at the cursor", so one string states both. */
const shown = (line) => `${line.text.slice(0, line.cursor)}|${line.text.slice(line.cursor)}`;

/** A Storage stand-in (getItem/setItem) that can be made to refuse writes like a full or blocked one. */
function memoryStorage(initial = {}, { refuseWrites = false } = {}) {
  const items = new Map(Object.entries(initial));
  return {
    items,
    getItem: (key) => (items.has(key) ? items.get(key) : null),
    setItem(key, value) {
      if (refuseWrites) throw new Error("QuotaExceededError");
      items.set(key, String(value));
    },
  };
}

const history = (entries = [], limit = 500) =>
  new History("h", limit, memoryStorage({ h: JSON.stringify(entries) }));

/** Feeds key sequences to EDIT_KEYS; answers what each key said about redrawing. */
function press(line, hist, ...keys) {
  return keys.map((key) => {
    const edit = EDIT_KEYS[key];
    assert.ok(edit, `no binding for ${JSON.stringify(key)}`);
    return edit(line, hist);
  });
}

const KEY = {
  left: "\x1b[D", right: "\x1b[C", up: "\x1b[A", down: "\x1b[B", home: "\x1b[H", end: "\x1b[F",
  backspace: "\x7f", delete: "\x1b[3~", ctrlA: "\x01", ctrlB: "\x02", ctrlD: "\x04", ctrlE: "\x05",
  ctrlF: "\x06", ctrlK: "\x0b", ctrlU: "\x15", ctrlW: "\x17", ctrlLeft: "\x1b[1;5D", ctrlRight: "\x1b[1;5C",
  altB: "\x1bb", altF: "\x1bf",
};

describe("LineBuffer", () => {
  test("starts empty with the cursor at 0; set() puts the cursor at the end", () => {
    const line = new LineBuffer();
    assert.equal(shown(line), "|");
    line.set("kubectl get pods");
    assert.equal(shown(line), "kubectl get pods|");
  });

  test("insert() types at the cursor, not at the end", () => {
    const line = buffer("kubectl pods", 8);
    line.insert("get ");
    assert.equal(shown(line), "kubectl get |pods");
    line.insert("");
    assert.equal(shown(line), "kubectl get |pods");
  });

  test("left/right stop at the line's ends", () => {
    const line = buffer("ab", 0);
    line.left();
    assert.equal(shown(line), "|ab");
    line.right(); line.right(); line.right();
    assert.equal(shown(line), "ab|");
  });

  test("backspace at the line start and delete at the line end do nothing and say so", () => {
    const start = buffer("abc", 0);
    assert.equal(start.backspace(), false);
    assert.equal(shown(start), "|abc");
    const end = buffer("abc");
    assert.equal(end.deleteForward(), false);
    assert.equal(shown(end), "abc|");
    const empty = buffer("");
    assert.equal(empty.backspace(), false);
    assert.equal(empty.deleteForward(), false);
  });

  test("backspace removes the character before the cursor, delete the one under it", () => {
    const line = buffer("abcd", 2);
    assert.equal(line.backspace(), true);
    assert.equal(shown(line), "a|cd");
    assert.equal(line.deleteForward(), true);
    assert.equal(shown(line), "a|d");
  });

  test("Ctrl-U keeps what follows the cursor; Ctrl-K keeps what precedes it", () => {
    const u = buffer("kubectl get pods", 8);
    u.killBefore();
    assert.equal(shown(u), "|get pods");
    const k = buffer("kubectl get pods", 8);
    k.killAfter();
    assert.equal(shown(k), "kubectl |");
  });

  test("Ctrl-W removes the word before the cursor and the spaces after it, bash-style", () => {
    const line = buffer("kubectl get   pods");
    line.killWord();
    assert.equal(shown(line), "kubectl get   |");
    line.killWord();
    assert.equal(shown(line), "kubectl |");
    // Ctrl-W's words end at spaces only: a path or a flag value goes as one word.
    const path = buffer("kubectl apply -f dir/web.yaml");
    path.killWord();
    assert.equal(shown(path), "kubectl apply -f |");
  });

  test("Ctrl-W in the middle of a line keeps the text after the cursor; at the start it does nothing", () => {
    const mid = buffer("get pods -A", 8);
    mid.killWord();
    assert.equal(shown(mid), "get | -A");
    const start = buffer("get pods", 0);
    start.killWord();
    assert.equal(shown(start), "|get pods");
  });

  test("word moves treat kubectl's punctuation (- . / : =) as part of a word", () => {
    const line = buffer("kubectl get deploy/web -o=yaml");
    line.wordLeft();
    assert.equal(shown(line), "kubectl get deploy/web |-o=yaml");
    line.wordLeft();
    assert.equal(shown(line), "kubectl get |deploy/web -o=yaml");
    line.wordRight();
    assert.equal(shown(line), "kubectl get deploy/web| -o=yaml");
    line.home();
    line.wordLeft();
    assert.equal(shown(line), "|kubectl get deploy/web -o=yaml");
    line.end();
    line.wordRight();
    assert.equal(shown(line), "kubectl get deploy/web -o=yaml|");
  });

  test("word moves skip characters that are not part of a word (quotes, commas)", () => {
    const line = buffer(`label pod "a,b"`);
    line.wordLeft();
    assert.equal(shown(line), `label pod "a,|b"`);
    line.wordLeft();
    assert.equal(shown(line), `label pod "|a,b"`);
    line.wordLeft();
    assert.equal(shown(line), `label |pod "a,b"`);
  });
});

describe("EDIT_KEYS", () => {
  test("Ctrl-A / Ctrl-E and Home / End (every encoding) jump to the line's ends", () => {
    const line = buffer("get pods", 3);
    press(line, null, KEY.ctrlA);
    assert.equal(line.cursor, 0);
    press(line, null, KEY.ctrlE);
    assert.equal(line.cursor, 8);
    for (const home of ["\x1b[H", "\x1bOH", "\x1b[1~"]) { line.cursor = 4; press(line, null, home); assert.equal(line.cursor, 0); }
    for (const end of ["\x1b[F", "\x1bOF", "\x1b[4~"]) { line.cursor = 4; press(line, null, end); assert.equal(line.cursor, 8); }
  });

  test("arrows and Ctrl-B / Ctrl-F move one character", () => {
    const line = buffer("abc", 1);
    press(line, null, KEY.right, KEY.ctrlF);
    assert.equal(shown(line), "abc|");
    press(line, null, KEY.left, KEY.ctrlB, KEY.ctrlB, KEY.ctrlB);
    assert.equal(shown(line), "|abc");
  });

  test("Ctrl-K, Ctrl-U and Ctrl-W by their bytes", () => {
    const line = buffer("kubectl get pods -A", 16);
    press(line, null, KEY.ctrlK);
    assert.equal(shown(line), "kubectl get pods|");
    press(line, null, KEY.ctrlW);
    assert.equal(shown(line), "kubectl get |");
    press(line, null, KEY.left);
    press(line, null, KEY.ctrlU);
    assert.equal(shown(line), "| ");
  });

  test("Ctrl-←/→ and Alt-b/f move by words", () => {
    const line = buffer("get pods web");
    press(line, null, KEY.ctrlLeft, KEY.altB);
    assert.equal(shown(line), "get |pods web");
    press(line, null, KEY.ctrlRight);
    assert.equal(shown(line), "get pods| web");
    press(line, null, KEY.altF);
    assert.equal(shown(line), "get pods web|");
  });

  test("backspace, Delete and Ctrl-D ask for a redraw only when they removed something", () => {
    const line = buffer("ab", 0);
    assert.deepEqual(press(line, null, KEY.backspace, "\b", KEY.delete), [false, false, true]);
    assert.equal(shown(line), "|b");
    assert.deepEqual(press(line, null, KEY.ctrlD, KEY.ctrlD), [true, false]);
    assert.equal(shown(line), "|");
  });

  test("Enter, Ctrl-C and Ctrl-L are left to the terminal widget", () => {
    for (const key of ["\r", "\x03", "\x0c"]) assert.equal(EDIT_KEYS[key], undefined);
  });

  test("↑ with no history leaves the line alone and asks for no redraw", () => {
    const line = buffer("kubectl ge", 4);
    const hist = history([]);
    assert.deepEqual(press(line, hist, KEY.up, KEY.down), [false, false]);
    assert.equal(shown(line), "kube|ctl ge");
  });

  test("↑ walks back through the history, ↓ forward and then back to what was being typed", () => {
    const line = buffer("kubectl get no");
    const hist = history(["kubectl get pods", "kubectl get svc"]);
    assert.deepEqual(press(line, hist, KEY.up), [true]);
    assert.equal(shown(line), "kubectl get svc|");
    press(line, hist, KEY.up);
    assert.equal(shown(line), "kubectl get pods|");
    // At the oldest entry ↑ has nowhere to go: the line stays.
    assert.deepEqual(press(line, hist, KEY.up), [false]);
    assert.equal(line.text, "kubectl get pods");
    press(line, hist, KEY.down);
    assert.equal(line.text, "kubectl get svc");
    press(line, hist, KEY.down);
    assert.equal(shown(line), "kubectl get no|");
    // Past the draft ↓ has nowhere to go either.
    assert.deepEqual(press(line, hist, KEY.down), [false]);
    assert.equal(line.text, "kubectl get no");
  });
});

describe("History", () => {
  test("add() skips blank lines and repeats of the newest entry", () => {
    const hist = history();
    for (const line of ["kubectl get pods", "", "   ", "kubectl get pods", "kubectl get svc", "kubectl get pods"]) hist.add(line);
    assert.deepEqual(hist.entries, ["kubectl get pods", "kubectl get svc", "kubectl get pods"]);
  });

  test("previous() is null at once on an empty history, next() when not browsing", () => {
    const hist = history();
    assert.equal(hist.previous("typed"), null);
    assert.equal(hist.next(), null);
    const some = history(["a"]);
    assert.equal(some.next(), null);
  });

  test("a blank draft comes back as an empty line", () => {
    const hist = history(["a"]);
    assert.equal(hist.previous(""), "a");
    assert.equal(hist.next(), "");
  });

  test("add() and reset() end browsing: the next ↑ starts from the newest entry", () => {
    const hist = history(["a", "b", "c"]);
    hist.previous("");
    hist.previous("");
    assert.equal(hist.previous(""), "a");
    hist.add("d");
    assert.equal(hist.previous("x"), "d");
    hist.previous("x");
    hist.reset();
    assert.equal(hist.previous("y"), "d");
    assert.equal(hist.next(), "y");
  });

  test("keeps the newest `limit` entries and saves them under its key", () => {
    const storage = memoryStorage();
    const hist = new History("playground.history.demo", 3, storage);
    for (const line of ["1", "2", "3", "4", "5"]) hist.add(line);
    assert.deepEqual(hist.entries, ["3", "4", "5"]);
    assert.deepEqual(JSON.parse(storage.getItem("playground.history.demo")), ["3", "4", "5"]);
    // A new page for the same cluster starts with them.
    assert.deepEqual(new History("playground.history.demo", 3, storage).entries, ["3", "4", "5"]);
  });

  test("broken or foreign saved data starts an empty history; non-strings are dropped", () => {
    assert.deepEqual(new History("h", 500, memoryStorage({ h: "{not json" })).entries, []);
    assert.deepEqual(new History("h", 500, memoryStorage({ h: "42" })).entries, []);
    assert.deepEqual(new History("h", 500, memoryStorage({ h: '["a", 1, null, "b"]' })).entries, ["a", "b"]);
  });

  test("works without storage, and when storage refuses writes, in memory", () => {
    const bare = new History("h", 500, null);
    bare.add("kubectl get pods");
    assert.equal(bare.previous(""), "kubectl get pods");
    const full = new History("h", 500, memoryStorage({}, { refuseWrites: true }));
    full.add("kubectl get nodes");
    assert.deepEqual(full.entries, ["kubectl get nodes"]);
  });
});

describe("splitInput (typing and pasting)", () => {
  test("a single line is typed, not run", () => {
    assert.deepEqual(splitInput("kubectl get pods"), { insert: "kubectl get pods", submit: false, queued: [] });
    assert.deepEqual(splitInput(""), { insert: "", submit: false, queued: [] });
  });

  test("a line ending in a newline runs", () => {
    assert.deepEqual(splitInput("kubectl get pods\n"), { insert: "kubectl get pods", submit: true, queued: [] });
    assert.deepEqual(splitInput("\r"), { insert: "", submit: true, queued: [] });
  });

  test("several lines: the first joins the current line, the rest are queued to run in order", () => {
    assert.deepEqual(splitInput("get pods\nkubectl get svc\nkubectl get nodes\n"), {
      insert: "get pods",
      submit: true,
      queued: [{ text: "kubectl get svc", submit: true }, { text: "kubectl get nodes", submit: true }],
    });
  });

  test("an unfinished last line is typed but waits for Enter", () => {
    assert.deepEqual(splitInput("kubectl get pods\nkubectl get sv").queued, [{ text: "kubectl get sv", submit: false }]);
  });

  test("CRLF, CR and LF all end lines; a CRLF is one line break, not two", () => {
    const { queued } = splitInput("a\r\nb\rc\nd\r\n");
    assert.deepEqual(queued.map((q) => q.text), ["b", "c", "d"]);
    assert.ok(queued.every((q) => q.submit));
  });

  test("blank lines in a paste are kept (they run as empty commands, like a shell's)", () => {
    assert.deepEqual(splitInput("a\n\nb\n").queued, [{ text: "", submit: true }, { text: "b", submit: true }]);
  });

  test("tabs become two spaces and other control characters disappear", () => {
    assert.equal(splitInput("kubectl\tget\x07 pods\x1b").insert, "kubectl  get pods");
    assert.deepEqual(splitInput("a\x00b\n\tc\x7f\n").queued, [{ text: "  c", submit: true }]);
    assert.equal(splitInput("a\x00b\n").insert, "ab");
  });
});
