// Tiny DOM helpers shared by the modules.

export const byId = (id) => document.getElementById(id);

export const esc = (text) => String(text ?? "").replace(/[&<>"']/g, (c) => (
  { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));

/** Calls fn after `ms` of quiet; `.flush()` runs a pending call now, `.cancel()` drops it. */
export function debounce(fn, ms) {
  let timer = null;
  let pendingArgs = null;
  const debounced = (...args) => {
    pendingArgs = args;
    clearTimeout(timer);
    timer = setTimeout(() => { timer = null; const a = pendingArgs; pendingArgs = null; fn(...a); }, ms);
  };
  debounced.flush = () => {
    if (timer === null) return undefined;
    clearTimeout(timer);
    timer = null;
    const a = pendingArgs;
    pendingArgs = null;
    return fn(...a);
  };
  debounced.cancel = () => { clearTimeout(timer); timer = null; pendingArgs = null; };
  debounced.pending = () => timer !== null;
  return debounced;
}

/** A short message at the bottom of the screen, optionally with one action button (e.g. "Undo"). */
export function toast(message, { action, onAction, error = false, ms = 6000 } = {}) {
  let box = document.querySelector(".toasts");
  if (!box) {
    box = document.createElement("div");
    box.className = "toasts";
    box.setAttribute("role", "status");
    box.setAttribute("aria-live", "polite");
    document.body.append(box);
  }
  const item = document.createElement("div");
  item.className = `toast${error ? " toast-error" : ""}`;
  item.textContent = message;
  const remove = () => { item.classList.add("toast-gone"); setTimeout(() => item.remove(), 400); };
  if (action) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "toast-action";
    button.textContent = action;
    button.addEventListener("click", () => { remove(); onAction?.(); });
    item.append(" ", button);
  }
  box.append(item);
  setTimeout(remove, ms);
  return item;
}
