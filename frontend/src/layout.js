// The splitter between the editor and the terminal: drag it, or focus it and use ↑/↓ (Home/End).
// The share is a CSS variable on the left pane, remembered per browser.

const STORAGE_KEY = "playground.editorShare";

export function wireSplitter(splitter, pane, onResize) {
  let share = Number(localStorage.getItem(STORAGE_KEY)) || 58;   // % of the pane's height for the editor

  function apply(next) {
    share = Math.min(85, Math.max(20, next));
    pane.style.setProperty("--editor-share", `${share}%`);
    splitter.setAttribute("aria-valuenow", String(Math.round(share)));
    try { localStorage.setItem(STORAGE_KEY, String(share)); } catch (e) { /* not kept: fine */ }
    onResize?.();
  }

  splitter.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    splitter.setPointerCapture(event.pointerId);
    splitter.classList.add("is-dragging");
    const box = pane.getBoundingClientRect();
    const move = (e) => apply(((e.clientY - box.top) / box.height) * 100);
    const up = () => {
      splitter.classList.remove("is-dragging");
      splitter.removeEventListener("pointermove", move);
      splitter.removeEventListener("pointerup", up);
      splitter.removeEventListener("pointercancel", up);
    };
    splitter.addEventListener("pointermove", move);
    splitter.addEventListener("pointerup", up);
    splitter.addEventListener("pointercancel", up);
  });
  splitter.addEventListener("keydown", (event) => {
    const moves = { ArrowUp: -5, ArrowDown: 5, Home: -100, End: 100 };
    if (!(event.key in moves)) return;
    event.preventDefault();
    apply(share + moves[event.key]);
  });
  splitter.addEventListener("dblclick", () => apply(58));
  apply(share);
}
