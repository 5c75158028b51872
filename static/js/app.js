// Staff screen behaviour. No inline scripts (strict CSP): everything lives here.
(function () {
  "use strict";
  // htmx requests carry the CSRF token from the meta tag.
  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) { event.detail.headers["X-CSRFToken"] = meta.content; }
  });
  // Move focus to the first error so keyboard and screen-reader users land on it.
  document.addEventListener("DOMContentLoaded", function () {
    var alert = document.querySelector('[role="alert"]');
    var invalid = document.querySelector('[aria-invalid="true"]');
    if (invalid) { invalid.focus(); } else if (alert) { alert.setAttribute("tabindex", "-1"); alert.focus(); }
  });
})();
