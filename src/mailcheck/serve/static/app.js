// mailcheck pages: "copy" buttons and the dashboard's refresh. The pages work without it.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("button.copy[data-copy]")) {
    if (!navigator.clipboard) continue;  // no clipboard API (plain http): keep it hidden
    button.hidden = false;
    button.addEventListener("click", async () => {
      const source = document.getElementById(button.dataset.copy);
      if (!source) return;
      try {
        await navigator.clipboard.writeText(source.textContent);
        const label = button.textContent;
        button.textContent = button.dataset.copied || label;
        button.classList.add("copied");
        setTimeout(() => { button.textContent = label; button.classList.remove("copied"); }, 2000);
      } catch (error) {
        button.classList.add("copy-failed");  // permission refused: the text stays selectable
      }
    });
  }
  const refreshed = document.querySelector("[data-refresh]");
  if (refreshed) {
    const seconds = Number(refreshed.dataset.refresh);
    if (seconds >= 10) setTimeout(() => window.location.reload(), seconds * 1000);
  }
});
