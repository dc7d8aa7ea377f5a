// The clock bar: the cluster's simulated time, ticking locally at its speed between the live feed's
// messages (each carries {now, speed, paused}), with pause/resume, 1×/10×/60× and step buttons that
// POST …/clock (clusters/web/PAGE.md). Every page on the cluster hears changes through the feed's "controls".
// Read-only (an instructor's view of a learner's cluster): the time and its state only, no buttons.
import { toast } from "./dom.js";

const pad = (n) => String(n).padStart(2, "0");

/** "14:03:27" in UTC, as kubectl and the events show times. */
function formatSimTime(ms) {
  const d = new Date(ms);
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

export function createClock(root, { api, readOnly = false }) {
  if (readOnly) {
    for (const control of root.querySelectorAll("#clock-pause, .seg")) control.remove();
    root.setAttribute("aria-label", "Cluster clock (read-only)");
  }
  const timeEl = root.querySelector("#clock-time");
  const dateEl = root.querySelector("#clock-date");
  const pauseButton = root.querySelector("#clock-pause");
  const speedButtons = [...root.querySelectorAll("[data-speed]")];
  const stepButtons = [...root.querySelectorAll("[data-advance]")];
  let clock = null;        // { base: sim ms, at: performance.now() when base was true, speed, paused }
  let busy = false;

  function simNow() {
    if (!clock) return null;
    return clock.paused ? clock.base : clock.base + (performance.now() - clock.at) * clock.speed;
  }

  function render() {
    const now = simNow();
    if (now === null) return;
    timeEl.textContent = formatSimTime(now);
    dateEl.textContent = new Date(now).toISOString().slice(0, 10);
    timeEl.setAttribute("datetime", new Date(now).toISOString());
  }

  function renderControls() {
    root.hidden = false;
    root.dataset.paused = clock.paused;
    if (pauseButton) {
      pauseButton.setAttribute("aria-pressed", String(clock.paused));
      pauseButton.querySelector(".label").textContent = clock.paused ? "Resume" : "Pause";
      pauseButton.title = clock.paused ? "Resume the cluster's clock" : "Pause the cluster's clock: nothing moves until you resume or step";
    }
    for (const b of speedButtons) b.setAttribute("aria-pressed", String(Number(b.dataset.speed) === clock.speed));
    root.querySelector("#clock-state").textContent = clock.paused ? "paused" : `${clock.speed}×`;
    // The heading's Running/Paused pill was drawn by the server at page load: keep it in step.
    const pill = document.getElementById("cluster-run-state");
    if (pill) {
      pill.innerHTML = clock.paused ? '<span class="status status-paused">Paused</span>' :
        `<span class="status status-running">Running${clock.speed !== 1 ? ` · ${clock.speed}×` : ""}</span>`;
    }
  }

  /** A clock from the server: {now: ISO-8601, speed, paused}. */
  function update(next) {
    const base = Date.parse(next.now);
    if (Number.isNaN(base)) return;
    clock = { base, at: performance.now(), speed: Number(next.speed) || 1, paused: Boolean(next.paused) };
    renderControls();
    render();
  }

  async function send(body) {
    if (busy) return;
    busy = true;
    root.setAttribute("aria-busy", "true");
    try {
      update(await api("clock", { method: "POST", body }));
    } catch (error) {
      toast(`The clock did not change: ${error.message}`, { error: true });
    } finally {
      busy = false;
      root.removeAttribute("aria-busy");
    }
  }

  pauseButton?.addEventListener("click", () => send({ action: clock?.paused ? "resume" : "pause" }));
  for (const b of speedButtons) b.addEventListener("click", () => send({ action: "speed", speed: Number(b.dataset.speed) }));
  for (const b of stepButtons) b.addEventListener("click", () => send({ action: "advance", seconds: Number(b.dataset.advance) }));

  // Four ticks a second keep seconds honest at 1× and make 60× visibly fly without burning the CPU.
  setInterval(() => { if (!document.hidden) render(); }, 250);

  return { update };
}
