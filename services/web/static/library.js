// Library upload: a file dragged onto the drop zone fills the zone's file input. The plain input works without it.
(function () {
  "use strict";

  function setUp(zone) {
    const input = zone.querySelector("input[type=file]");
    const name = zone.querySelector("[data-drop-name]");
    if (!input) return;
    function show() {
      if (name) name.textContent = input.files.length ? "Selected: " + input.files[0].name : "";
    }
    ["dragenter", "dragover"].forEach(function (type) {
      zone.addEventListener(type, function (event) {
        event.preventDefault();
        zone.classList.add("dragging");
      });
    });
    ["dragleave", "dragend"].forEach(function (type) {
      zone.addEventListener(type, function () { zone.classList.remove("dragging"); });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      zone.classList.remove("dragging");
      const files = event.dataTransfer && event.dataTransfer.files;
      if (!files || !files.length) return;
      const transfer = new DataTransfer();
      transfer.items.add(files[0]);
      input.files = transfer.files;
      input.dispatchEvent(new Event("change", { bubbles: true }));
    });
    input.addEventListener("change", show);
    show();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-drop-zone]").forEach(setUp);
  });
})();
