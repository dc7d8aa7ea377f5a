// Which keys the terminal widget keeps (src/terminal/keys.js): copy, the browser's paste and Tab, and the
// keys a command running on a terminal (kubectl exec -it …) gets.
import { test, describe } from "node:test";
import assert from "node:assert/strict";

import { keyAction, terminalSize } from "../src/terminal/keys.js";

const down = (key, mods = {}) => ({ type: "keydown", key, ctrlKey: false, metaKey: false, shiftKey: false, ...mods });

describe("keyAction", () => {
  test("Ctrl-C copies a selection, and is a key (interrupt) without one", () => {
    assert.equal(keyAction(down("c", { ctrlKey: true }), { hasSelection: true }), "copy");
    assert.equal(keyAction(down("c", { metaKey: true }), { hasSelection: true }), "copy");
    assert.equal(keyAction(down("c", { ctrlKey: true })), "terminal");
    assert.equal(keyAction(down("c", { ctrlKey: true }), { raw: true }), "terminal");
    assert.equal(keyAction(down("C", { ctrlKey: true, shiftKey: true }), { raw: true, hasSelection: true }), "copy");
  });

  test("Ctrl-V is the browser's paste in both modes", () => {
    assert.equal(keyAction(down("v", { ctrlKey: true })), "browser");
    assert.equal(keyAction(down("V", { ctrlKey: true, shiftKey: true }), { raw: true }), "browser");
  });

  test("Tab leaves the line editor but goes to a command on a terminal", () => {
    assert.equal(keyAction(down("Tab")), "browser");
    assert.equal(keyAction(down("Tab"), { raw: true }), "terminal");
  });

  test("other keys and other events go to xterm.js", () => {
    for (const key of ["a", "Enter", "ArrowUp", "Escape", "d"]) {
      assert.equal(keyAction(down(key)), "terminal", key);
      assert.equal(keyAction(down(key, { ctrlKey: true }), { raw: true }), "terminal", key);
    }
    assert.equal(keyAction({ type: "keyup", key: "Tab" }), "terminal");
    assert.equal(keyAction({ type: "keypress", key: "v", ctrlKey: true }), "terminal");
  });
});

describe("terminalSize", () => {
  test("whole numbers in the server's range", () => {
    assert.deepEqual(terminalSize(80, 24), { cols: 80, rows: 24 });
    assert.deepEqual(terminalSize(1000, 500), { cols: 1000, rows: 500 });
  });

  test("anything else is no size", () => {
    for (const [cols, rows] of [[1, 24], [80, 1], [1001, 24], [80, 501], [80.5, 24], ["80", 24], [NaN, 24],
      [undefined, undefined]]) {
      assert.equal(terminalSize(cols, rows), null, `${cols}x${rows}`);
    }
  });
});
