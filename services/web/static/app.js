// Pitchcraft pages: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";

  async function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      try { await navigator.clipboard.writeText(text); return true; } catch (_) { /* fall through */ }
    }
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "absolute";
    area.style.left = "-9999px";
    document.body.appendChild(area);
    area.select();
    const ok = document.execCommand("copy");
    area.remove();
    return ok;
  }

  document.addEventListener("click", async function (event) {
    const button = event.target.closest("[data-copy]");
    if (!button) return;
    const source = document.getElementById(button.dataset.copy);
    if (!source) return;
    const ok = await copyText(source.value !== undefined ? source.value : source.textContent);
    button.dataset.copied = ok ? "yes" : "no";
    button.textContent = ok ? "Copied" : "Copy failed: select the text";
  });

  // Forms that destroy something ask first.
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) event.preventDefault();
  });

  // Charts: <canvas data-chart="ID"> draws the Chart.js spec held in <script type="application/json" id="ID">.
  function drawCharts(root) {
    if (!window.Chart) return;
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (canvas.dataset.drawn) return;
      const spec = document.getElementById(canvas.dataset.chart);
      if (!spec) return;
      canvas.dataset.drawn = "yes";
      new window.Chart(canvas, JSON.parse(spec.textContent));
    });
  }

  // Answers typed into a quiz survive a reload: kept in this browser's sessionStorage per form.
  function keepAnswers(root) {
    root.querySelectorAll("form[data-keep]").forEach(function (form) {
      const key = "pitchcraft:" + form.dataset.keep;
      const saved = JSON.parse(window.sessionStorage.getItem(key) || "{}");
      form.querySelectorAll("input, textarea, select").forEach(function (field) {
        if (!field.name || field.type === "hidden" || !(field.name in saved)) return;
        const value = saved[field.name];
        if (field.type === "checkbox" || field.type === "radio") field.checked = [].concat(value).includes(field.value);
        else field.value = value;
      });
      form.addEventListener("input", function () {
        const data = {};
        new FormData(form).forEach(function (value, name) {
          if (name === "_csrf_token") return;
          data[name] = name in data ? [].concat(data[name], value) : value;
        });
        window.sessionStorage.setItem(key, JSON.stringify(data));
      });
      form.addEventListener("submit", function () { window.sessionStorage.removeItem(key); });
    });
  }

  function enhance(root) { drawCharts(root); keepAnswers(root); }
  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  document.addEventListener("htmx:afterSwap", function (event) { enhance(event.target); });
})();
