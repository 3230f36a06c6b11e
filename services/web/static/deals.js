// Deal pages: the new-deal form's stage list follows the segment, and stakeholder rows can be added.
// Without this file the form still works: the API refuses a stage outside the segment's process and says so.
(function () {
  "use strict";

  function followSegment(segment) {
    const stage = document.getElementById(segment.dataset.stages);
    if (!stage) return;
    function apply() {
      const current = stage.value;
      let active = null;
      stage.querySelectorAll("optgroup").forEach(function (group) {
        const on = group.dataset.segment === segment.value;
        group.hidden = !on;
        group.disabled = !on;
        if (on) active = group;
      });
      if (!active) return;
      const chosen = stage.selectedOptions[0];
      if (chosen && chosen.parentElement === active) return;
      const options = Array.from(active.querySelectorAll("option"));
      const same = options.find(function (option) { return option.value === current; });
      (same || options[0]).selected = true;
    }
    segment.addEventListener("change", apply);
    apply();
  }

  function addRows(button) {
    const fieldset = button.closest("fieldset");
    button.hidden = false;
    button.addEventListener("click", function () {
      const rows = fieldset.querySelectorAll(".stakeholder");
      const last = rows[rows.length - 1];
      const index = rows.length;
      const copy = last.cloneNode(true);
      copy.dataset.row = String(index);
      copy.querySelectorAll("label").forEach(function (label) {
        label.htmlFor = label.htmlFor.replace(/-\d+$/, "-" + index);
        label.textContent = label.textContent.replace(/\d+/, String(index + 1));
      });
      copy.querySelectorAll("input, select").forEach(function (field) {
        field.id = field.id.replace(/-\d+$/, "-" + index);
        field.value = "";
      });
      last.after(copy);
      copy.querySelector("input").focus();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("select[data-stages]").forEach(followSegment);
    document.querySelectorAll("button[data-add-row]").forEach(addRows);
  });
})();
