// Small progressive enhancements; every page works without them.
(function () {
  "use strict";

  // "Reset…" / "Delete…" lead to a confirmation page; here they open the same question as a dialog.
  const dialog = document.getElementById("confirm-dialog");
  if (dialog && typeof dialog.showModal === "function") {
    const form = dialog.querySelector("form");
    let opener = null;
    document.addEventListener("click", (event) => {
      const link = event.target.closest("a[data-confirm]");
      if (!link || event.ctrlKey || event.metaKey || event.shiftKey) return;
      event.preventDefault();
      opener = link;
      form.action = link.href;
      form.querySelector("[name=next]").value = link.dataset.next || "";
      dialog.querySelector("#confirm-title").textContent = link.dataset.confirm;
      dialog.querySelector(".confirm-text").textContent = link.dataset.confirmText || "";
      const button = dialog.querySelector("[data-confirm-button]");
      button.textContent = link.dataset.confirmLabel || "Confirm";
      button.disabled = false;
      dialog.showModal();
      dialog.querySelector("[data-close]").focus();  // the safe choice has the focus
    });
    dialog.querySelector("[data-close]").addEventListener("click", () => dialog.close());
    dialog.addEventListener("click", (event) => { if (event.target === dialog) dialog.close(); });
    dialog.addEventListener("close", () => { if (opener) opener.focus(); });
    form.addEventListener("submit", () => {
      const button = dialog.querySelector("[data-confirm-button]");
      button.disabled = true;
      button.textContent = "Working…";
    });
  }

  // Forms that take a moment say so, and are not sent twice.
  document.querySelectorAll("form[data-busy]").forEach((form) => {
    form.addEventListener("submit", () => {
      const button = form.querySelector("button[type=submit]");
      if (!button) return;
      setTimeout(() => { button.disabled = true; button.textContent = form.dataset.busy; });
    });
  });

  // Command lines get a copy button.
  if (navigator.clipboard) {
    document.querySelectorAll("code.copyable").forEach((code) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "copy";
      button.textContent = "Copy";
      button.setAttribute("aria-label", "Copy command");
      button.addEventListener("click", async () => {
        try {
          await navigator.clipboard.writeText(code.textContent.trim());
          button.textContent = "Copied";
        } catch (e) {
          button.textContent = "Select and copy";
        }
        setTimeout(() => { button.textContent = "Copy"; }, 1600);
      });
      code.after(button);
    });
  }

  // Notices fade away after a while (they stay for screen readers in the live region until then).
  document.querySelectorAll(".toast").forEach((toast, index) => {
    setTimeout(() => toast.classList.add("toast-gone"), 5000 + index * 500);
    toast.addEventListener("transitionend", () => toast.remove());
  });

  // Times shown as "5 minutes ago" are UTC on the server; the tooltip shows the visitor's local time.
  document.querySelectorAll("time[datetime]").forEach((time) => {
    const when = new Date(time.getAttribute("datetime"));
    if (!isNaN(when)) time.title = when.toLocaleString();
  });
})();
