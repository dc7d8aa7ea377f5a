// The browser terminal: xterm.js (DOM renderer, so its rows are plain text in the page) in front of the
// server's kubectl runner (WebSocket /clusters/<name>/terminal, clusters/web/PAGE.md). There is no shell on
// the other side: this widget is the shell's front half — prompt, line editing, history, paste, Ctrl-C —
// and sends one finished line at a time.
//
// An interactive command (kubectl exec -it, run -it, attach -it) runs on a terminal on the server: when
// the server says so ("terminal"), the widget goes raw until the command exits — every key (Ctrl-C, Ctrl-D,
// Tab, arrows) goes to kubectl as "input", the output is written as the terminal sent it, and the
// widget's size follows as "resize" — then it is back to the line editor.
import { Terminal } from "@xterm/xterm";
import { FitAddon } from "@xterm/addon-fit";
import { keyAction, terminalSize } from "./keys.js";
import { EDIT_KEYS, History, LineBuffer, splitInput } from "./line.js";

const PROMPT = "\x1b[1;32m$\x1b[0m ";
const PROMPT_WIDTH = 2;                   // what PROMPT takes on screen
const DIM = (text) => `\x1b[2m${text}\x1b[0m`;
const YELLOW = (text) => `\x1b[33m${text}\x1b[0m`;
const RED = (text) => `\x1b[31m${text}\x1b[0m`;

// GitHub's dark palette: every colour kubectl or the notices use reads well on the background.
const THEME = {
  background: "#0d1117", foreground: "#e6edf3", cursor: "#7ee787", cursorAccent: "#0d1117",
  selectionBackground: "#264f78", black: "#484f58", red: "#ff7b72", green: "#7ee787", yellow: "#e3b341",
  blue: "#79c0ff", magenta: "#d2a8ff", cyan: "#76e3ea", white: "#e6edf3", brightBlack: "#8b949e",
  brightRed: "#ffa198", brightGreen: "#aff5b4", brightYellow: "#f2cc60", brightBlue: "#a5d6ff",
  brightMagenta: "#e2c5ff", brightCyan: "#b3f0ff", brightWhite: "#ffffff",
};

const EXIT_NOTES = {
  timeout: "stopped: the command ran longer than the terminal allows",
  "output-limit": "stopped: the command printed more than the terminal keeps",
};

const fontSizeFor = () => (window.innerWidth >= 1800 ? 15 : 13);

/**
 * Mounts the terminal in `container`. `socketPath` is the runner's WebSocket path; `cluster` names the
 * cluster in the welcome line. `onState(state)` hears "connecting" | "ready" | "running" | "interactive" (a
 * command on a terminal has the keys) | "offline".
 * Answers { run(line), focus(), clear() }.
 */
export function createTerminal(container, { socketPath, cluster, onState = () => {} }) {
  const term = new Terminal({
    fontFamily: '"JetBrains Mono", "Cascadia Mono", "SF Mono", Menlo, Consolas, "DejaVu Sans Mono", monospace',
    fontSize: fontSizeFor(), lineHeight: 1.2, cursorBlink: true, scrollback: 5000, theme: THEME,
    allowProposedApi: false,
  });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(container);

  const line = new LineBuffer();
  const history = new History(`playground.history.${cluster}`);
  const queue = [];               // lines waiting to run: pasted lines and run() calls, {text, submit}
  let mode = "idle";              // "idle": the prompt is up; "running": a command is out; "offline"
  let promptShown = false;
  let cursorRow = 0;              // the row of the cursor within the drawn prompt + line (lines wrap)
  let atLineStart = true;         // whether the last thing written ended a line
  let socket = null;
  let connected = false;
  let everConnected = false;
  let attempt = 0;
  let nextId = 1;
  let runningId = null;
  let raw = false;                // the running command is on a terminal: keys go to it as they are
  let stashedDraft = null;        // what the learner was typing when run() took over the line

  // ------------------------------------------------------------------------------ drawing
  function write(text) {
    if (!text) return;
    term.write(text.replace(/\r?\n/g, "\r\n"));
    atLineStart = /\n$/.test(text);
  }

  /** Draws the prompt and the line again; the terminal's cursor ends where the line's cursor is. */
  function redraw() {
    const cols = term.cols;
    if (cursorRow > 0) term.write(`\x1b[${cursorRow}A`);
    let out = `\r\x1b[J${PROMPT}${line.text}`;
    const end = PROMPT_WIDTH + line.text.length;
    // A line that exactly fills its last row leaves the cursor "pending wrap": step onto the next row.
    if (end > 0 && end % cols === 0) out += " \r";
    const endRow = Math.floor(end / cols);
    const target = PROMPT_WIDTH + line.cursor;
    const targetRow = Math.floor(target / cols);
    if (endRow > targetRow) out += `\x1b[${endRow - targetRow}A`;
    out += `\x1b[${(target % cols) + 1}G`;
    term.write(out);
    cursorRow = targetRow;
    promptShown = true;
    atLineStart = false;
  }

  function showPrompt() {
    if (!atLineStart) term.write("\r\n");
    line.set("");
    cursorRow = 0;
    redraw();
    drainQueue();
  }

  /** Prints a notice on its own line(s) without losing the line being typed. */
  function notice(text) {
    if (mode === "idle" && promptShown) {
      if (cursorRow > 0) term.write(`\x1b[${cursorRow}A`);
      term.write("\r\x1b[J");
      write(`${text}\n`);
      cursorRow = 0;
      redraw();
    } else {
      if (!atLineStart) term.write("\r\n");
      write(`${text}\n`);
    }
  }

  function setMode(next) {
    mode = next;
    const running = raw ? "interactive" : "running";
    onState(!connected ? (everConnected ? "offline" : "connecting") : next === "running" ? running : "ready");
  }

  // ------------------------------------------------------------------------------ running lines
  function drainQueue() {
    if (mode !== "idle") return;
    const item = queue.shift();
    if (!item) {
      if (stashedDraft !== null) { line.set(stashedDraft); stashedDraft = null; redraw(); }
      return;
    }
    line.set(item.text);
    redraw();
    if (item.submit) submit();
  }

  function printHistory() {
    const entries = history.entries;
    const width = String(entries.length).length;
    write(entries.map((e, i) => `${String(i + 1).padStart(width + 2)}  ${e}\n`).join(""));
  }

  function clearScreen() {
    term.clear();     // keeps the cursor's row as the first one
    term.write("\r\x1b[J");
    cursorRow = 0;
    atLineStart = true;
  }

  function submit() {
    const text = line.text;
    // Move below the whole line (it may wrap) before anything prints.
    const endRow = Math.floor((PROMPT_WIDTH + text.length) / term.cols);
    if (endRow > cursorRow) term.write(`\x1b[${endRow - cursorRow}B`);
    term.write("\r\n");
    atLineStart = true;
    promptShown = false;
    history.add(text);
    const command = text.trim();
    if (!command) return showPrompt();
    if (command === "clear") { clearScreen(); return showPrompt(); }
    if (command === "history") { printHistory(); return showPrompt(); }
    if (!connected) {
      write(YELLOW("Not connected to the cluster: the command was not sent. Reconnecting…\n"));
      return showPrompt();
    }
    runningId = nextId++;
    setMode("running");
    socket.send(JSON.stringify({ type: "run", id: runningId, line: command, ...terminalSize(term.cols, term.rows) }));
  }

  /** The running command is on a terminal: from now until it exits, the keys are its own. */
  function goRaw() {
    raw = true;
    dropPasted();                 // lines pasted after this one were meant for the shell, not for kubectl
    setMode(mode);
  }

  function writeRaw(data) {
    if (!data) return;
    term.write(data);
    atLineStart = /\n$/.test(data);
  }

  function finish(code, reason) {
    runningId = null;
    raw = false;
    if (EXIT_NOTES[reason]) {
      if (!atLineStart) write("\n");
      write(YELLOW(`(${EXIT_NOTES[reason]})\n`));
    }
    setMode("idle");
    showPrompt();
  }

  function dropPasted() {
    const kept = queue.filter((item) => !item.pasted);
    queue.length = 0;
    queue.push(...kept);
  }

  function interrupt() {
    if (mode === "running") {
      term.write("^C");
      atLineStart = false;
      // Ctrl-C also stops a paste that was running line by line; what the editor asked for still runs.
      dropPasted();
      socket?.send(JSON.stringify({ type: "interrupt" }));
      return;
    }
    // At the prompt, Ctrl-C abandons the line, as in bash.
    term.write("^C");
    atLineStart = false;
    queue.length = 0;
    stashedDraft = null;
    history.reset();
    showPrompt();
  }

  // ------------------------------------------------------------------------------ keys
  // The widget's own keys; the line-editing ones (arrows, Ctrl-A/E/K/U/W, history…) are line.js's EDIT_KEYS.
  const KEYS = {
    "\r": () => submit(),
    "\x0c": () => { clearScreen(); redraw(); },                // Ctrl-L
  };

  function onInput(data) {
    if (raw) {
      if (connected && runningId !== null) socket.send(JSON.stringify({ type: "input", id: runningId, data }));
      return;
    }
    if (data === "\x03") return interrupt();
    if (mode !== "idle") return;      // no type-ahead while a command runs: Ctrl-C is the only key it takes
    const key = KEYS[data];
    if (key) return key();
    const edit = EDIT_KEYS[data];
    if (edit) { if (edit(line, history)) redraw(); return; }
    if (data.startsWith("\x1b")) return;          // a key we do not handle (F-keys, PgUp…)
    if (data.length === 1 && data < " ") return;   // other control characters
    paste(data);
  }

  /** Typed or pasted text: a single line goes into the line; more lines run one by one. */
  function paste(data) {
    const { insert, submit: ends, queued } = splitInput(data);
    line.insert(insert);
    for (const item of queued) queue.push({ ...item, pasted: true });
    redraw();
    if (ends) submit();
  }

  term.onData(onInput);
  // keys.js decides: copy a selection, leave Ctrl-V (paste) and Tab (focus) to the browser — Tab goes to a
  // command on a terminal — everything else to xterm.js.
  term.attachCustomKeyEventHandler((event) => {
    const action = keyAction(event, { raw, hasSelection: term.hasSelection() });
    if (action === "copy") {
      navigator.clipboard?.writeText(term.getSelection()).catch(() => {});
      term.clearSelection();
      return false;
    }
    return action === "terminal";
  });

  // ------------------------------------------------------------------------------ connection
  function connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(`${scheme}//${location.host}${socketPath}`);
    socket.addEventListener("open", () => {
      connected = true;
      attempt = 0;
      if (everConnected) notice(DIM("Reconnected."));
      everConnected = true;
      const size = terminalSize(term.cols, term.rows);
      if (size) socket.send(JSON.stringify({ type: "resize", ...size }));
      setMode(mode === "offline" ? "idle" : mode);
    });
    socket.addEventListener("message", (event) => {
      let message;
      try { message = JSON.parse(event.data); } catch (e) { return; }
      if (message.id !== undefined && message.id !== runningId) return;   // a command we gave up on
      if (message.type === "output") (raw ? writeRaw : write)(message.data);
      else if (message.type === "terminal") goRaw();
      else if (message.type === "exit") finish(message.code, message.reason);
    });
    socket.addEventListener("close", (event) => {
      const wasConnected = connected;
      connected = false;
      socket = null;
      if (runningId !== null) {
        runningId = null;
        raw = false;
        if (!atLineStart) write("\n");
        write(YELLOW("(the connection dropped while the command ran: its output ended here)\n"));
        mode = "idle";
        showPrompt();
      }
      if (event.code === 4403) {
        setMode("idle");
        notice(RED("This terminal is not allowed on this cluster. Reload the page (are you still logged in?)."));
        return;
      }
      const delay = Math.min(30000, 500 * 2 ** attempt) * (0.75 + Math.random() / 2);
      attempt += 1;
      if (wasConnected) notice(YELLOW("Connection to the terminal lost. Reconnecting…"));
      else if (attempt === 1) notice(YELLOW("Cannot reach the terminal yet. Retrying…"));
      setMode("idle");
      setTimeout(connect, delay);
    });
  }

  // ------------------------------------------------------------------------------ size
  const refit = () => {
    if (!container.offsetParent) return;   // hidden: nothing to measure
    const size = fontSizeFor();
    if (term.options.fontSize !== size) term.options.fontSize = size;
    try { fit.fit(); } catch (e) { /* not laid out yet */ }
  };
  new ResizeObserver(() => requestAnimationFrame(refit)).observe(container);
  refit();
  // The server keeps the size for the commands that run on a terminal (and passes it to a running one).
  term.onResize(({ cols, rows }) => {
    const size = terminalSize(cols, rows);
    if (size && connected) socket.send(JSON.stringify({ type: "resize", ...size }));
  });

  write(DIM(`This terminal runs the real kubectl against ${cluster}. Try: kubectl get nodes\n`));
  write(DIM("↑↓ history · Ctrl-C stop · Ctrl-L clear\n"));
  write(DIM("A shell in a pod: kubectl exec -it POD -- sh (exit ends it)\n"));
  setMode("idle");
  showPrompt();
  connect();

  return {
    /** Runs a line as if the learner typed it (after whatever is running or queued). */
    run(text) {
      if (mode === "idle" && line.text && stashedDraft === null && !queue.length) stashedDraft = line.text;
      // A watch (kubectl get -w) never ends by itself: say why the new command does not start yet.
      if (mode === "running") {
        const how = raw ? "exit or Ctrl-D ends the session" : "Ctrl-C stops it";
        notice(DIM(`(next: ${text} — it runs when this command ends; ${how})`));
      }
      queue.push({ text, submit: true });
      term.scrollToBottom();
      drainQueue();
    },
    focus: () => term.focus(),
    clear: () => { if (mode === "idle") { clearScreen(); redraw(); } else clearScreen(); },
    get busy() { return mode === "running" || queue.length > 0; },
  };
}
