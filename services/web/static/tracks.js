// Talk-track page: the API's answer to a refused form (400/422) and a missing passage (404) are shown in place
// (htmx leaves error answers out by default); a citation's passage opens in a dialog; a new track gets focus.
(function () {
  "use strict";

  document.addEventListener("htmx:beforeSwap", function (event) {
    const status = event.detail.xhr.status;
    const target = event.detail.target;
    if (!target) return;
    const formError = target.id === "tracks-page" && (status === 400 || status === 404 || status === 409 ||
      status === 413 || status === 422);
    const gonePassage = target.id === "passage-body" && status === 404;
    if (formError || gonePassage) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // Any other failure (403, 5xx, no answer) leaves the page as it was and says what happened, in words from the
  // error page when there is one.
  function failed(event) {
    const target = event.detail.target;
    const xhr = event.detail.xhr;
    let message = "The server did not answer; check your connection and try again.";
    if (xhr && xhr.status) {
      const doc = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
      const shown = doc.querySelector("[role=alert]");
      message = (shown && shown.textContent.trim()) || "That did not work (status " + xhr.status + "); try again.";
    }
    if (target && target.id === "passage-body") {
      target.textContent = "";
      const p = document.createElement("p");
      p.className = "error";
      p.setAttribute("role", "alert");
      p.textContent = message;
      target.appendChild(p);
      const dialog = document.getElementById("passage-dialog");
      if (dialog && !dialog.open) dialog.showModal();
    } else if (target && target.id === "tracks-page") {
      const line = document.getElementById("track-send-error");
      if (line) { line.textContent = message; line.hidden = false; }
    }
  }
  document.addEventListener("htmx:responseError", failed);
  document.addEventListener("htmx:sendError", failed);

  document.addEventListener("htmx:afterSettle", function (event) {
    const path = (event.detail.pathInfo && event.detail.pathInfo.requestPath) || "";
    if (path.indexOf("/tracks/passages/") === 0) {
      const dialog = document.getElementById("passage-dialog");
      if (dialog && !dialog.open) dialog.showModal();
    } else if (path === "/tracks") {
      const heading = document.getElementById("track-heading") || document.getElementById("track-error");
      if (heading) {
        if (!heading.hasAttribute("tabindex")) heading.setAttribute("tabindex", "-1");
        heading.focus();
        heading.scrollIntoView({ block: "start" });
      }
    }
  });

  document.addEventListener("click", function (event) {
    const close = event.target.closest("[data-close-dialog]");
    if (close) {
      const dialog = close.closest("dialog");
      if (dialog) dialog.close();
      return;
    }
    // A click on the backdrop (the dialog itself, outside its article) closes it too.
    if (event.target.id === "passage-dialog") event.target.close();
  });
})();
