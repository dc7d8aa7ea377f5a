// The classes' pages (templates/classroom/). Two small enhancements; every page works without them.
//
// 1. A class's live grid (detail.html, classroom/consumer.py): the server sends the whole grid on connect
//    ({"type": "grid"}) and a learner's row whenever their progress moves ({"type": "row"}); this redraws what
//    changed, with the same markup as the template (a changed row flashes for 1.5 s). Without JavaScript the
//    server-rendered grid stands (reload to refresh).
// 2. Buttons in forms with data-confirm (a learner's "Reset lesson…") ask first in the page's own dialog
//    (base.html's #confirm-dialog; app.js does the same for links).
(function () {
  "use strict";

  // ---------------------------------------------------------------------------------- asking first
  const dialog = document.getElementById("confirm-dialog");
  if (dialog && typeof dialog.showModal === "function") {
    document.addEventListener("click", (event) => {
      const button = event.target.closest("form button[data-confirm]");
      if (!button || dialog.open) return;
      event.preventDefault();
      const form = dialog.querySelector("form");
      const own = button.form;
      dialog.querySelector("#confirm-title").textContent = button.dataset.confirm;
      dialog.querySelector(".confirm-text").textContent = button.dataset.confirmText || "";
      const yes = dialog.querySelector("[data-confirm-button]");
      yes.textContent = button.dataset.confirmLabel || "Confirm";
      yes.disabled = false;
      const onSubmit = (submit) => { submit.preventDefault(); dialog.close(); own.submit(); };
      form.addEventListener("submit", onSubmit, { once: true });
      dialog.addEventListener("close", () => { form.removeEventListener("submit", onSubmit); button.focus(); }, { once: true });
      dialog.showModal();
      dialog.querySelector("[data-close]").focus();   // the safe choice has the focus
    });
  }

  // ---------------------------------------------------------------------------------- the live grid
  const table = document.getElementById("class-grid");
  if (!table || !("WebSocket" in window)) return;
  const live = document.getElementById("grid-live");
  const count = document.getElementById("class-count");
  const stuckCount = document.getElementById("class-stuck");
  const base = location.pathname.replace(/\/$/, "");
  let lessons = [];
  let delay = 1000;

  function el(tag, className, content) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (content !== undefined) node.textContent = content;
    return node;
  }

  const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

  function cellNode(cell) {
    const td = el("td", `cell cell-${cell.state}${cell.stuck ? " cell-stuck" : ""}`);
    td.dataset.lesson = cell.lesson;
    td.title = cell.stuck ? `${cell.stuck}${cell.reason ? " — " + cell.reason : ""}` : (cell.reason || "");
    if (cell.state === "new") {
      td.append(el("span", "cell-state", "not started"));
      return td;
    }
    const done = cell.state === "done";
    td.append(el("span", "cell-state", done ? "✓ done" : `step ${cell.step + 1}/${cell.steps}`));
    const meter = el("span", "grid-meter");
    meter.setAttribute("aria-hidden", "true");
    const fill = el("span");
    fill.style.width = `${done ? 100 : Math.round((100 * cell.step) / Math.max(1, cell.steps))}%`;
    meter.append(fill);
    td.append(meter);
    const meta = [`${cell.minutes} min`];
    if (cell.hints || cell.solutions) {
      meta.push(plural(cell.hints, "hint") + (cell.solutions ? `, ${plural(cell.solutions, "solution")}` : ""));
    }
    td.append(el("small", "cell-meta", meta.join(" · ")));
    return td;
  }

  function rowNode(row) {
    const tr = el("tr");
    tr.dataset.learner = row.learner;
    if (row.stuck.length) tr.className = "is-stuck";
    const th = el("th");
    th.scope = "row";
    const link = el("a", null, row.learner);
    link.href = `${base}/learners/${encodeURIComponent(row.learner)}/`;
    th.append(link);
    const help = el("td", "stuck");
    if (row.stuck.length) {
      help.append(el("span", "stuck-flag", "Needs help"));
      const list = el("ul");
      for (const reason of row.stuck) list.append(el("li", null, reason));
      help.append(list);
    }
    tr.append(th, ...row.cells.map(cellNode), help);
    return tr;
  }

  function emptyRow() {
    const tr = el("tr", "grid-empty");
    const td = el("td", "muted", "No learners yet: share the join link.");
    td.colSpan = lessons.length + 2;
    tr.append(td);
    return tr;
  }

  function headNode(lesson) {
    const th = el("th");
    th.scope = "col";
    th.dataset.lesson = lesson.id;
    const link = el("a", null, lesson.title);
    link.href = lesson.url;
    th.append(link, " ", el("span", "grid-steps", `${lesson.steps.length} steps`));
    return th;
  }

  function counts() {
    const rows = [...table.tBodies[0].rows].filter((tr) => tr.dataset.learner);
    if (count) count.textContent = plural(rows.length, "learner");
    if (stuckCount) {
      const stuck = rows.filter((tr) => tr.classList.contains("is-stuck")).length;
      stuckCount.textContent = stuck ? `${stuck} need${stuck === 1 ? "s" : ""} help` : "";
      stuckCount.hidden = !stuck;
    }
  }

  function drawGrid(grid) {
    lessons = grid.lessons;
    const head = table.tHead.rows[0];
    const first = el("th", null, "Learner");
    first.scope = "col";
    const last = el("th", "stuck-head", "Needs help");
    last.scope = "col";
    head.replaceChildren(first, ...lessons.map(headNode), last);
    const body = table.tBodies[0];
    body.replaceChildren(...grid.rows.map(rowNode));
    if (!grid.rows.length) body.append(emptyRow());
    counts();
  }

  function drawRow(row) {
    const body = table.tBodies[0];
    body.querySelector("tr.grid-empty")?.remove();
    const old = [...body.rows].find((tr) => tr.dataset.learner === row.learner);
    const fresh = rowNode(row);
    if (old && old.innerHTML === fresh.innerHTML && old.className === fresh.className) return;   // nothing moved
    fresh.classList.add("changed");
    if (old) old.replaceWith(fresh); else body.append(fresh);
    setTimeout(() => fresh.classList.remove("changed"), 1500);
    counts();
  }

  function setLive(state, text) {
    live.dataset.state = state;
    live.textContent = text;
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${location.host}${table.dataset.socket}`);
    socket.addEventListener("open", () => { delay = 1000; setLive("live", "live"); });
    socket.addEventListener("message", (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "grid") drawGrid(message);
      else if (message.type === "row") drawRow(message.row);
      setLive("live", `live · updated ${new Date().toLocaleTimeString([], { hour12: false })}`);
    });
    socket.addEventListener("close", (event) => {
      if (event.code === 4403) { setLive("off", "not allowed"); return; }
      setLive("retry", "reconnecting…");
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 15000);
    });
  }

  window.classroomGrid = { lessons: () => lessons };
  connect();
})();
