// Course scripts, loaded on every page (html_js_files in _config.yml).
// The theme's sidebar opens and closes each chapter with a <summary> that holds only a chevron
// icon, so a screen reader announces an unnamed control (axe: summary-name). Name it.
document.addEventListener("DOMContentLoaded", () => {
  for (const summary of document.querySelectorAll("details > summary")) {
    if (summary.textContent.trim() || summary.hasAttribute("aria-label")) continue;
    const link = summary.parentElement.parentElement.querySelector(":scope > a");
    const name = link ? link.textContent.trim() : "section";
    summary.setAttribute("aria-label", `Show or hide the pages of ${name}`);
  }
});
