// The lesson panel (templates/lessons/lesson.html): the lesson's column on the cluster page, fed by its own
// WebSocket (lessons/PANEL.md). The server evaluates the step's checks on every change of the cluster and
// says what it found; the panel only draws it — the step's text, its checklist ticking live, hints, the
// solution, question steps, a "Step done ✓" moment, the "Lesson complete" card — and sends what the learner
// asks for (a hint, the solution, an answer). Its code blocks get "Run in terminal" (terminal.run) and
// "Open in editor" (editor.open). The pure part (merging messages, what to draw) is lesson_view.js.
import { esc, toast } from "./dom.js";
import {
  DONE_MS, answerFrom, applyMessage, changes, codeBlockKind, doneMoment, fileText, formFromAnswer, panelModel,
  shellLines,
} from "./lesson_view.js";

const COLLAPSED_KEY = "playground.lessonCollapsed";
const PENDING_MS = 10000;          // a request the server never answered stops blocking its button after this
const CATALOG = "/lessons/";

// Choices are plain text; `code` in backticks is shown as code, as in the step's Markdown.
const inline = (text) => esc(text).replace(/`([^`]+)`/g, "<code>$1</code>");

/**
 * Starts the panel in `root` (#lesson: data-socket is the panel's WebSocket path, data-start the start URL).
 * `terminal.run(line)` runs a command as typed; `editor.open(name, text)` puts a file in the editor.
 * Answers { state (getter), send(message) }.
 */
export function createLessonPanel(root, { terminal, editor }) {
  const main = root.querySelector(".lesson-main");
  const live = root.querySelector(".lesson-live");
  const position = root.querySelector(".lesson-position");
  const short = root.querySelector(".lesson-short");
  const fill = root.querySelector(".lesson-progress-fill");
  const progress = root.querySelector(".lesson-progress");
  const banners = root.querySelector(".lesson-banners");
  const toggle = root.querySelector(".lesson-collapse");
  // "Restart lesson…" (the page head's, templates/lessons/lesson.html; any form.lesson-restart on the page).
  const restarts = [...document.querySelectorAll("form.lesson-restart")];
  const workspace = root.closest(".workspace");

  let state = null;
  let viewing = null;              // the index of a done step the learner rereads (null: the current step)
  let moment = null;               // { timer } while "Step done ✓" shows; messages meanwhile wait for its end
  let pending = null;              // "hint" | "solution" | "answer" until the server's next state
  let pendingTimer = null;
  let reveal = null;               // what the last request brought ("hint" | "solution" | "answer"): shown, scrolled to
  let socket = null;
  let attempt = 0;
  let gone = false;                // the lesson's cluster was deleted: nothing more will come

  // ------------------------------------------------------------------------------ connection
  function setLive(stateName, text) {
    live.dataset.state = stateName;
    live.title = text;
    live.querySelector(".text").textContent = text;
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(`${scheme}//${location.host}${root.dataset.socket}`);
    socket.addEventListener("open", () => { attempt = 0; setLive("live", "Live"); });
    socket.addEventListener("message", (event) => {
      let message;
      try { message = JSON.parse(event.data); } catch (e) { return; }
      onMessage(message);
    });
    socket.addEventListener("close", (event) => {
      socket = null;
      setPending(null);
      if (gone) return;
      if (event.code === 4403) {
        setLive("off", "Not your lesson here: reload the page (are you still logged in?)");
        return;
      }
      const delay = Math.min(30000, 500 * 2 ** attempt) * (0.75 + Math.random() / 2);
      attempt += 1;
      setLive("retry", "Reconnecting…");
      setTimeout(connect, delay);
    });
  }

  function send(message) {
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      toast("The lesson is reconnecting: try again in a moment.", { error: true });
      return false;
    }
    socket.send(JSON.stringify(message));
    return true;
  }

  function setPending(what) {
    pending = what;
    clearTimeout(pendingTimer);
    if (what) pendingTimer = setTimeout(() => { pending = null; if (!moment) renderAll(); }, PENDING_MS);
  }

  // ------------------------------------------------------------------------------ messages
  function onMessage(message) {
    if (message.type === "message") { showBanner(message); return; }
    if (message.type === "gone") { gone = true; showGone(); return; }
    if (message.type === "unavailable") {    // the hint, solution or answer asked for could not be had
      setPending(null);
      toast(`Not now: ${message.text}`, { error: true });
      if (!moment) renderAll();
      return;
    }
    const prev = state;
    const next = applyMessage(state, message);
    if (next === prev) return;
    state = next;
    if (message.type === "state" && pending) { reveal = pending; setPending(null); }   // what was asked for is in it
    const what = changes(prev, next);
    renderHead();
    if (what.completed !== null) { viewing = null; celebrate(doneMoment(next, what.completed, prev)); return; }
    if (moment) return;
    if (what.redraw === "all") renderAll();
    else if (what.redraw === "checks") renderChecks(what.flipped);
  }

  function showBanner({ from, text }) {
    const item = document.createElement("div");
    item.className = "lesson-banner";
    item.setAttribute("role", "status");
    item.innerHTML = `<p>${from ? `<strong>${esc(from)}:</strong> ` : ""}${esc(text)}</p>` +
      `<button type="button" class="icon-btn lesson-banner-close" aria-label="Dismiss this message" title="Dismiss">` +
      `<svg viewBox="0 0 16 16" aria-hidden="true"><path d="M4 4l8 8M12 4l-8 8"/></svg></button>`;
    banners.append(item);
    if (root.dataset.collapsed === "true") setCollapsed(false);
  }

  function showGone() {
    clearTimeout(moment?.timer);
    moment = null;
    setLive("off", "The lesson's cluster is gone");
    main.innerHTML = '<div class="lesson-complete lesson-gone" role="alert"><h3>This lesson\'s cluster is gone</h3>' +
      "<p>It was deleted. Restarting the lesson gives you a new one, set up for the lesson.</p></div>";
  }

  // ------------------------------------------------------------------------------ drawing
  function renderHead() {
    const m = panelModel(state, { viewing });
    position.textContent = m.position;
    short.textContent = m.finished ? "Lesson ✓" : m.total ? `Lesson · ${m.current + 1}/${m.total}` : "Lesson";
    fill.style.width = `${m.progress.percent}%`;
    progress.setAttribute("aria-valuenow", String(m.progress.percent));
    progress.setAttribute("aria-valuetext", `${m.progress.done} of ${m.progress.total} steps done`);
  }

  function stepsHtml(m) {
    return `<ol class="lesson-steps" aria-label="Steps">${m.steps.map((s) => {
      const label = `Step ${s.number}: ${s.title}${s.status === "done" ? " (done)" : s.status === "current" ? " (current)" : ""}`;
      const attrs = `class="lesson-dot is-${s.status}${s.viewing ? " is-viewing" : ""}" title="${esc(label)}" aria-label="${esc(label)}"` +
        (s.status === "current" ? ' aria-current="step"' : "");
      const face = s.status === "done" ? "✓" : String(s.number);
      return s.readable ?
        `<li><button type="button" data-action="view" data-step="${s.index}" ${attrs} aria-pressed="${s.viewing}">${face}</button></li>` :
        `<li><span ${attrs}>${face}</span></li>`;
    }).join("")}</ol>`;
  }

  function checksHtml(m) {
    return m.checks.map((c) => `<li class="lesson-check" data-ok="${c.ok}">` +
      `<span class="lesson-mark" aria-hidden="true">${c.mark}</span>` +
      `<span class="lesson-check-text">${esc(c.text)}<span class="visually-hidden"> (${c.label})</span></span>` +
      (c.reason ? `<span class="lesson-reason">${esc(c.reason)}</span>` : "") + "</li>").join("");
  }

  function checklistHtml(m) {
    if (!m.checks.length) return "";
    return `<section class="lesson-checklist" aria-labelledby="lesson-checks-title" data-done="${m.stepDone}">` +
      `<h4 id="lesson-checks-title">To finish this step <span class="lesson-checks-summary" role="status">${esc(m.checksSummary)}</span></h4>` +
      `<ul class="lesson-checks">${checksHtml(m)}</ul>` +
      `<p class="lesson-checks-note">Ticks itself as the cluster changes.</p></section>`;
  }

  function questionHtml(m) {
    const q = m.question;
    if (!q) return "";
    const type = q.multiple ? "checkbox" : "radio";
    const field = q.short ?
      '<input class="lesson-short-answer" type="text" name="text" aria-label="Your answer" autocomplete="off" spellcheck="false">' :
      q.choices.map((c) => `<label class="lesson-choice"><input type="${type}" name="choice" value="${c.index}"> <span>${inline(c.text)}</span></label>`).join("");
    const a = m.answer;
    const result = a ? `<div class="lesson-answer" data-correct="${Boolean(a.correct)}" role="status">` +
      `<p class="lesson-answer-verdict">${a.correct ? "✓ Correct" : "✗ Not quite — try again"}</p>` +
      (a.explanation ? `<div class="lesson-html">${a.explanation}</div>` : "") + "</div>" : "";
    const checking = pending === "answer";
    return `<form class="lesson-question" novalidate>` +
      `<fieldset><legend>${q.short ? "Type your answer" : q.multiple ? "Pick every right answer" : "Pick one answer"}</legend>${field}</fieldset>` +
      `<div class="lesson-row"><button type="submit" class="btn btn-sm btn-primary"${checking ? " disabled" : ""}>${checking ? "Checking…" : "Check answer"}</button>` +
      `<span class="lesson-form-error" role="alert"></span></div>${result}</form>`;
  }

  function helpHtml(m) {
    const hints = m.hints.shown.map((h, i) => `<li class="lesson-hint"><span class="lesson-hint-no">Hint ${i + 1}</span>` +
      `<div class="lesson-html">${h}</div></li>`).join("");
    const solution = m.solution ? `<section class="lesson-solution" aria-label="Solution"><h4>Solution</h4>` +
      `<div class="lesson-html">${m.solution}</div></section>` : "";
    const buttons = [];
    if (m.hints.more || m.hints.shown.length) {
      const asking = pending === "hint";
      buttons.push(`<button type="button" class="btn btn-sm" data-action="hint"${m.hints.more && !asking ? "" : " disabled"}>` +
        `<svg viewBox="0 0 16 16" aria-hidden="true"><path d="M6 13h4M6.5 11h3c0-1.5 2.5-2.5 2.5-5a4 4 0 0 0-8 0c0 2.5 2.5 3.5 2.5 5z"/></svg>` +
        `${asking ? "Asking…" : esc(m.hints.label)}</button>`);
    }
    if (m.solutionButton) {
      buttons.push(`<button type="button" class="btn btn-sm btn-ghost" data-action="solution"${pending === "solution" ? " disabled" : ""}>` +
        `${pending === "solution" ? "Fetching…" : "Show solution…"}</button>`);
    }
    const nudge = m.solutionOffered ? `<p class="lesson-nudge">Stuck? ${m.hints.more ? "Take a hint, or look at the solution." :
      "The solution is there when you want it."}</p>` : "";
    if (!hints && !solution && !buttons.length) return "";
    return `<div class="lesson-help">${hints ? `<ol class="lesson-hints">${hints}</ol>` : ""}${solution}${nudge}` +
      `${buttons.length ? `<div class="lesson-row">${buttons.join("")}</div>` : ""}</div>`;
  }

  function completeHtml(m) {
    const next = m.next ?
      `<a class="btn btn-primary" href="${esc(m.next.url)}">Next: ${esc(m.next.title)} <span aria-hidden="true">→</span></a>` :
      `<a class="btn btn-primary" href="${CATALOG}">Choose another lesson</a>`;
    return `<div class="lesson-complete" role="status"><span class="lesson-complete-mark" aria-hidden="true">✓</span>` +
      `<h3 tabindex="-1">Lesson complete</h3><p>You finished <strong>${esc(m.title)}</strong>: all ${m.total} steps.` +
      ` Click a step above to read it again.</p><div class="lesson-row">${next}` +
      (m.next ? `<a class="btn btn-ghost" href="${CATALOG}">All lessons</a>` : "") + "</div></div>";
  }

  function stepHtml(m) {
    const v = m.view;
    const reread = !v.current ? `<p class="lesson-reread">You finished this step; you are reading it again. ` +
      `<button type="button" class="btn btn-sm" data-action="back">${m.finished ? "Back to the summary" : `Back to step ${m.current + 1}`}</button></p>` : "";
    return `<article class="lesson-step" aria-labelledby="lesson-step-title">${reread}` +
      `<h3 id="lesson-step-title" tabindex="-1"><span class="lesson-step-no">Step ${v.number}${v.done ? " ✓" : ""}</span> ${esc(v.title)}</h3>` +
      `<div class="lesson-html">${v.html}</div>` +
      (v.current ? checklistHtml(m) + questionHtml(m) + helpHtml(m) : "") + "</article>";
  }

  /** The form's current values (kept across a redraw of the same step). */
  function formValues() {
    const form = main.querySelector(".lesson-question");
    if (!form) return null;
    return {
      picked: [...form.querySelectorAll("input[name=choice]:checked")].map((i) => Number(i.value)),
      text: form.querySelector("input[name=text]")?.value ?? "",
    };
  }

  function fillForm(values) {
    const form = main.querySelector(".lesson-question");
    if (!form || !values) return;
    for (const input of form.querySelectorAll("input[name=choice]")) input.checked = values.picked.includes(Number(input.value));
    const text = form.querySelector("input[name=text]");
    if (text) text.value = values.text;
  }

  let shownIndex = null;   // the step drawn last (a redraw of the same step keeps scroll and form)
  function renderAll() {
    if (!state) return;
    const m = panelModel(state, { viewing });
    const sameStep = m.view && shownIndex === m.view.index;
    const values = sameStep ? formValues() : null;
    const scroll = main.scrollTop;
    const focused = main.contains(document.activeElement) ? document.activeElement : null;
    const focusKey = focused?.dataset.action ? `[data-action="${focused.dataset.action}"]` +
      (focused.dataset.step ? `[data-step="${focused.dataset.step}"]` : "") : null;

    main.innerHTML = stepsHtml(m) + (m.view ? stepHtml(m) : completeHtml(m));
    enhanceCode(main);
    fillForm(values || (m.answer ? formFromAnswer(m.answer.given) : null));
    main.scrollTop = sameStep ? scroll : 0;
    shownIndex = m.view ? m.view.index : null;
    // What the learner just asked for slides in and into view (only that: a redraw does not replay the others).
    const brought = { hint: ".lesson-hint:last-child", solution: ".lesson-solution", answer: ".lesson-answer" }[reveal];
    reveal = null;
    const fresh = brought && main.querySelector(brought);
    if (fresh) { fresh.classList.add("is-new"); fresh.scrollIntoView({ block: "nearest", behavior: "smooth" }); }
    if (focusKey) (main.querySelector(focusKey) || main.querySelector(".lesson-step h3, .lesson-complete h3"))?.focus?.();
  }

  function renderChecks(flipped = []) {
    const list = main.querySelector(".lesson-checks");
    if (!list) { renderAll(); return; }
    const m = panelModel(state, { viewing });
    list.innerHTML = checksHtml(m);
    main.querySelector(".lesson-checks-summary").textContent = m.checksSummary;
    main.querySelector(".lesson-checklist").dataset.done = String(m.stepDone);
    for (const i of flipped) list.children[i]?.classList.add("is-flipped");
    // The nudge towards a hint or the solution follows the attempts.
    if (m.solutionOffered !== Boolean(main.querySelector(".lesson-nudge"))) renderAll();
  }

  // "Step done ✓" for a moment, then the next step (or the "Lesson complete" card). After a question with
  // an explanation, it waits for "Continue" so the explanation can be read.
  function celebrate(info) {
    clearTimeout(moment?.timer);
    const wait = info.question && info.explanation;
    main.innerHTML = `<div class="lesson-moment" role="status"><span class="lesson-moment-mark" aria-hidden="true">✓</span>` +
      `<p class="lesson-moment-text"><strong>Step ${info.number} done</strong> ${esc(info.title)}</p>` +
      (wait ? `<div class="lesson-answer" data-correct="true"><p class="lesson-answer-verdict">✓ Correct</p>` +
        `<div class="lesson-html">${info.explanation}</div></div>` : "") +
      (wait ? `<button type="button" class="btn btn-sm btn-primary" data-action="continue">${info.last ? "Finish" : "Next step"} ` +
        '<span aria-hidden="true">→</span></button>' : "") + "</div>";
    main.scrollTop = 0;
    shownIndex = null;
    moment = { timer: wait ? null : setTimeout(endMoment, DONE_MS) };
    if (wait) main.querySelector("[data-action=continue]").focus();
  }

  function endMoment() {
    if (!moment) return;
    clearTimeout(moment.timer);
    moment = null;
    renderAll();
  }

  // ------------------------------------------------------------------------------ code blocks
  function enhanceCode(container) {
    for (const pre of container.querySelectorAll("pre.lesson-code:not([data-enhanced])")) {
      pre.dataset.enhanced = "1";
      const kind = codeBlockKind({ lang: pre.dataset.lang, file: pre.dataset.file });
      const code = pre.querySelector("code") || pre;
      if (kind?.kind === "shell") {
        code.innerHTML = shellLines(code.textContent).map((l) => `<span class="code-row${l.command ? " is-command" : ""}">` +
          `<span class="code-text">${esc(l.text) || " "}</span>` +
          (l.command ? `<button type="button" class="code-run" data-run="${esc(l.command)}" title="Run in the terminal: ${esc(l.command)}">` +
            '<svg viewBox="0 0 16 16" aria-hidden="true"><path d="M4 3l9 5-9 5z"/></svg> Run</button>' : "") + "</span>").join("");
      } else if (kind?.kind === "file") {
        const head = document.createElement("div");
        head.className = "code-head";
        head.innerHTML = `<span class="code-file">${esc(kind.file)}</span>` +
          `<button type="button" class="code-open" data-open="${esc(kind.file)}" title="Put this text in ${esc(kind.file)} in the editor">Open in editor</button>`;
        pre.before(head);
        head.classList.add("code-head-file");
        pre.classList.add("has-head");
      }
    }
  }

  function flashButton(button, text, ms = 1400) {
    const before = button.innerHTML;
    button.textContent = text;
    button.classList.add("is-done");
    setTimeout(() => { button.innerHTML = before; button.classList.remove("is-done"); }, ms);
  }

  async function openInEditor(button) {
    const pre = button.closest(".code-head").nextElementSibling;
    const text = fileText((pre.querySelector("code") || pre).textContent);
    button.disabled = true;
    try {
      await editor.open(button.dataset.open, text);
      flashButton(button, "Opened ✓");
    } catch (error) {
      toast(`Could not open ${button.dataset.open}: ${error.message}`, { error: true });
    } finally {
      button.disabled = false;
    }
  }

  // ------------------------------------------------------------------------------ asking first
  /**
   * The page's own "are you sure?" dialog (base.html's #confirm-dialog, which app.js drives for links):
   * with `action` its form posts there (its CSRF token included); without, answers whether it was confirmed.
   */
  function ask({ title, text, label, action = null }) {
    const dialog = document.getElementById("confirm-dialog");
    if (!dialog || typeof dialog.showModal !== "function") return Promise.resolve(window.confirm(`${title}\n\n${text}`));
    const form = dialog.querySelector("form");
    const opener = document.activeElement;
    dialog.querySelector("#confirm-title").textContent = title;
    dialog.querySelector(".confirm-text").textContent = text;
    const button = dialog.querySelector("[data-confirm-button]");
    button.textContent = label;
    button.disabled = false;
    form.querySelector("[name=next]").value = "";
    if (action) form.action = action;
    return new Promise((resolve) => {
      let confirmed = false;
      const onSubmit = (event) => {
        if (action) return;            // the form posts
        event.preventDefault();
        confirmed = true;
        dialog.close();
      };
      form.addEventListener("submit", onSubmit);
      dialog.addEventListener("close", () => {
        form.removeEventListener("submit", onSubmit);
        opener?.focus?.();
        resolve(confirmed);
      }, { once: true });
      dialog.showModal();
      dialog.querySelector("[data-close]").focus();
    });
  }

  for (const restart of restarts) {
    restart.addEventListener("submit", (event) => {
      event.preventDefault();
      ask({
        title: `Restart “${restart.dataset.lesson}”?`,
        text: "The lesson's cluster is reset and set up for the lesson again, and its steps start over. " +
          "A lesson you finished stays finished.",
        label: "Restart lesson",
        action: restart.action,
      }).then((ok) => { if (ok === true && restart.action) restart.submit(); });   // window.confirm's fallback
    });
  }

  // ------------------------------------------------------------------------------ the learner's clicks
  root.addEventListener("click", async (event) => {
    const target = event.target.closest("button");
    if (!target || !root.contains(target)) return;
    if (target.classList.contains("lesson-banner-close")) { target.closest(".lesson-banner").remove(); return; }
    if (target.dataset.run) {
      terminal.run(target.dataset.run);
      flashButton(target, "Sent ✓");
      return;
    }
    if (target.dataset.open) { openInEditor(target); return; }
    const action = target.dataset.action;
    if (action === "view") {
      const index = Number(target.dataset.step);
      viewing = state && !state.lesson?.finished && index === state.current ? null : index;
      if (!moment) renderAll();
    } else if (action === "back") {
      viewing = null;
      renderAll();
      main.querySelector(".lesson-step h3, .lesson-complete h3")?.focus();
    } else if (action === "continue") {
      endMoment();
    } else if (action === "hint") {
      if (send({ type: "hint" })) { setPending("hint"); renderAll(); }
    } else if (action === "solution") {
      const ok = await ask({
        title: "Show the solution?",
        text: "Trying first is how it sticks: a hint may be enough. The solution shows what finishes this step; " +
          "you still run it yourself.",
        label: "Show solution",
      });
      if (ok && send({ type: "solution" })) { setPending("solution"); renderAll(); }
    }
  });

  main.addEventListener("submit", (event) => {
    const form = event.target.closest(".lesson-question");
    if (!form) return;
    event.preventDefault();
    const m = panelModel(state, { viewing });
    const { answer, error } = answerFrom(m.question, formValues());
    form.querySelector(".lesson-form-error").textContent = error || "";
    if (error) return;
    if (send({ type: "answer", answer })) { setPending("answer"); renderAll(); }
  });

  // ------------------------------------------------------------------------------ the column folds away
  function setCollapsed(collapsed) {
    root.dataset.collapsed = String(collapsed);
    workspace?.classList.toggle("lesson-collapsed", collapsed);
    toggle.setAttribute("aria-expanded", String(!collapsed));
    const label = collapsed ? "Show the lesson" : "Hide the lesson (more room for the cluster)";
    toggle.title = label;
    toggle.setAttribute("aria-label", label);
    try { localStorage.setItem(COLLAPSED_KEY, collapsed ? "1" : ""); } catch (e) { /* not kept: fine */ }
  }
  toggle.addEventListener("click", () => setCollapsed(root.dataset.collapsed !== "true"));
  setCollapsed(localStorage.getItem(COLLAPSED_KEY) === "1");

  setLive("connecting", "Connecting…");
  connect();

  return { get state() { return state; }, send };
}
