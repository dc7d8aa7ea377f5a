// The terminal's input line: text, cursor and the readline keys, with no terminal in sight.
// The widget (terminal.js) feeds it keys and redraws the line from `text` and `cursor`.

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

/** Command history kept in localStorage per cluster, newest last, with a browsing position for ↑/↓. */
export class History {
  constructor(storageKey, limit = 500) {
    this.storageKey = storageKey;
    this.limit = limit;
    this.entries = [];
    try { this.entries = JSON.parse(localStorage.getItem(storageKey) || "[]").filter((e) => typeof e === "string"); }
    catch (e) { this.entries = []; }
    this.reset();
  }

  add(line) {
    if (!line.trim() || this.entries[this.entries.length - 1] === line) { this.reset(); return; }
    this.entries.push(line);
    if (this.entries.length > this.limit) this.entries.splice(0, this.entries.length - this.limit);
    try { localStorage.setItem(this.storageKey, JSON.stringify(this.entries)); } catch (e) { /* private mode: keep it in memory */ }
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
