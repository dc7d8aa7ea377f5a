// The terminal's input line: text, cursor, history and the readline keys, with no terminal in sight.
// The widget (terminal.js) feeds it keys and redraws the line from `text` and `cursor`. Nothing here touches
// the DOM or xterm.js, so frontend/test/ exercises it under plain Node.

const WORD = /[A-Za-z0-9_.\-/:=]/;   // what Ctrl-W and Alt-←/→ treat as part of a word in a kubectl line

export class LineBuffer {
  constructor() {
    this.text = "";
    this.cursor = 0;        // index into text, 0..text.length
  }

  set(text) { this.text = text; this.cursor = text.length; }
  insert(chars) {
    this.text = this.text.slice(0, this.cursor) + chars + this.text.slice(this.cursor);
    this.cursor += chars.length;
  }
  backspace() {
    if (this.cursor === 0) return false;
    this.text = this.text.slice(0, this.cursor - 1) + this.text.slice(this.cursor);
    this.cursor -= 1;
    return true;
  }
  deleteForward() {
    if (this.cursor >= this.text.length) return false;
    this.text = this.text.slice(0, this.cursor) + this.text.slice(this.cursor + 1);
    return true;
  }
  left() { if (this.cursor > 0) this.cursor -= 1; }
  right() { if (this.cursor < this.text.length) this.cursor += 1; }
  home() { this.cursor = 0; }
  end() { this.cursor = this.text.length; }
  /** Ctrl-U: everything before the cursor goes (bash's unix-line-discard). */
  killBefore() { this.text = this.text.slice(this.cursor); this.cursor = 0; }
  /** Ctrl-K: everything from the cursor on goes. */
  killAfter() { this.text = this.text.slice(0, this.cursor); }
  /** Ctrl-W: the word before the cursor (and the spaces after it) goes. */
  killWord() {
    let start = this.cursor;
    while (start > 0 && this.text[start - 1] === " ") start -= 1;
    while (start > 0 && this.text[start - 1] !== " ") start -= 1;
    this.text = this.text.slice(0, start) + this.text.slice(this.cursor);
    this.cursor = start;
  }
  wordLeft() {
    let i = this.cursor;
    while (i > 0 && !WORD.test(this.text[i - 1])) i -= 1;
    while (i > 0 && WORD.test(this.text[i - 1])) i -= 1;
    this.cursor = i;
  }
  wordRight() {
    let i = this.cursor;
    while (i < this.text.length && !WORD.test(this.text[i])) i += 1;
    while (i < this.text.length && WORD.test(this.text[i])) i += 1;
    this.cursor = i;
  }
}

/** The page's localStorage, or null where it is missing or refused (private mode, blocked cookies, Node). */
function defaultStorage() {
  try { return globalThis.localStorage ?? null; } catch (e) { return null; }
}

/**
 * Command history kept in localStorage per cluster, newest last, with a browsing position for ↑/↓.
 * `storage` (getItem/setItem) defaults to the page's localStorage; without one the history lives in memory.
 */
export class History {
  constructor(storageKey, limit = 500, storage = defaultStorage()) {
    this.storageKey = storageKey;
    this.limit = limit;
    this.storage = storage;
    this.entries = [];
    try { this.entries = JSON.parse(storage?.getItem(storageKey) || "[]").filter((e) => typeof e === "string"); }
    catch (e) { this.entries = []; }
    this.reset();
  }

  add(line) {
    if (!line.trim() || this.entries[this.entries.length - 1] === line) { this.reset(); return; }
    this.entries.push(line);
    if (this.entries.length > this.limit) this.entries.splice(0, this.entries.length - this.limit);
    try { this.storage?.setItem(this.storageKey, JSON.stringify(this.entries)); } catch (e) { /* full or refused: keep it in memory */ }
    this.reset();
  }

  /** Back to "not browsing": the next ↑ starts from the newest entry. */
  reset() { this.position = this.entries.length; this.draft = null; }

  /** ↑: the previous entry (the line being typed is kept as a draft for ↓), or null at the oldest. */
  previous(current) {
    if (this.position === 0) return null;
    if (this.position === this.entries.length) this.draft = current;
    this.position -= 1;
    return this.entries[this.position];
  }

  /** ↓: the next entry, then the draft again; null when not browsing. */
  next() {
    if (this.position >= this.entries.length) return null;
    this.position += 1;
    return this.position === this.entries.length ? (this.draft ?? "") : this.entries[this.position];
  }
}

// Moves and kills always redraw: cheap, and it puts the terminal's cursor back where the line's is.
const always = (method) => (line) => { line[method](); return true; };
const browse = (step) => (line, history) => {
  const entry = step === "up" ? history.previous(line.text) : history.next();
  if (entry === null) return false;      // nothing further that way: the line stays as typed
  line.set(entry);
  return true;
};

/**
 * The editing keys, by the sequence xterm.js sends for them: each edits `line` (or browses `history`) and
 * answers whether the line needs drawing again. Enter, Ctrl-C and Ctrl-L belong to the widget, not here.
 */
export const EDIT_KEYS = {
  "\x7f": (line) => line.backspace(),
  "\b": (line) => line.backspace(),
  "\x1b[3~": (line) => line.deleteForward(),
  "\x04": (line) => line.deleteForward(),         // Ctrl-D: delete (there is no shell to log out of)
  "\x1b[D": always("left"),
  "\x1b[C": always("right"),
  "\x02": always("left"),                          // Ctrl-B
  "\x06": always("right"),                         // Ctrl-F
  "\x1b[H": always("home"),
  "\x1bOH": always("home"),
  "\x1b[1~": always("home"),
  "\x01": always("home"),                          // Ctrl-A
  "\x1b[F": always("end"),
  "\x1bOF": always("end"),
  "\x1b[4~": always("end"),
  "\x05": always("end"),                           // Ctrl-E
  "\x15": always("killBefore"),                    // Ctrl-U
  "\x0b": always("killAfter"),                     // Ctrl-K
  "\x17": always("killWord"),                      // Ctrl-W
  "\x1b[1;5D": always("wordLeft"),                 // Ctrl-←
  "\x1b[1;3D": always("wordLeft"),                 // Alt-←
  "\x1bb": always("wordLeft"),
  "\x1b[1;5C": always("wordRight"),
  "\x1b[1;3C": always("wordRight"),
  "\x1bf": always("wordRight"),
  "\x1b[A": browse("up"),
  "\x1b[B": browse("down"),
};

// eslint-disable-next-line no-control-regex
const clean = (s) => s.replace(/[\x00-\x1f\x7f]/g, "");

/**
 * Typed or pasted text, split the way a shell would take it: `insert` goes into the current line at the
 * cursor; when the text holds a line break, `submit` is true (the current line runs) and `queued` lists the
 * lines after it, [{ text, submit }], each run in turn, except an unfinished last line, which is only typed.
 * Tabs become two spaces (there is no completion); other control characters are dropped.
 */
export function splitInput(data) {
  const pieces = data.replace(/\t/g, "  ").split(/\r\n|\r|\n/);
  if (pieces.length === 1) return { insert: clean(pieces[0]), submit: false, queued: [] };
  const insert = clean(pieces.shift());
  const tail = pieces.pop();
  const queued = pieces.map((piece) => ({ text: clean(piece), submit: true }));
  if (tail) queued.push({ text: clean(tail), submit: false });
  return { insert, submit: true, queued };
}
