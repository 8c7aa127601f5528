// acuevidence web: small progressive enhancements; every page works without this script.
"use strict";
(function () {
  // Evidence explorer: re-analyse in place when an estimator option changes (the form still
  // submits normally without JavaScript). The server renders the fragment (escaped HTML).
  function bindOptions(root) {
    var form = root.querySelector("#options-form");
    if (!form || !window.fetch) { return; }
    form.addEventListener("change", function () {
      var section = document.getElementById("analysis");
      var params = new URLSearchParams(new FormData(form));
      section.classList.add("loading");
      section.setAttribute("aria-busy", "true");
      fetch(form.getAttribute("data-fragment") + "?" + params.toString(), {
        headers: { "Accept": "text/html" }, credentials: "same-origin"
      }).then(function (r) {
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.text();
      }).then(function (html) {
        var focused = document.activeElement && document.activeElement.id;
        section.innerHTML = html;
        history.replaceState(null, "", "/explorer?" + params.toString());
        bindOptions(section);
        if (focused) {
          var el = document.getElementById(focused);
          if (el) { el.focus(); }
        }
      }).catch(function () {
        form.submit();
      }).finally(function () {
        section.classList.remove("loading");
        section.removeAttribute("aria-busy");
      });
    });
  }
  // Forms that change the registry ask before they act.
  function bindConfirm() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (ev) {
        if (!window.confirm(form.getAttribute("data-confirm"))) { ev.preventDefault(); }
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    bindOptions(document);
    bindConfirm();
  });
})();
