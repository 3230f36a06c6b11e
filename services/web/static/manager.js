// Enablement pages (manager): a form that takes a while (generating items) shows that it is working and
// cannot be sent twice. The page works without this file.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!form.dataset || !form.dataset.busy || event.defaultPrevented) return;
    const button = form.querySelector("button[type=submit]");
    if (!button) return;
    button.setAttribute("aria-busy", "true");
    button.textContent = form.dataset.busy;
    // Disabled after this event so the browser still sends the form.
    window.setTimeout(function () { button.disabled = true; }, 0);
  });
})();
