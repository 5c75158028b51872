// A QR code opens /tablet/#code=123456: fill the field from the fragment, then drop the fragment from the
// address bar and history (the code is single-use anyway).
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var match = /^#code=([0-9]{6,8})$/.exec(window.location.hash || "");
    var input = document.getElementById("pair-code");
    if (match && input) {
      input.value = match[1];
    }
    if (window.location.hash) {
      window.history.replaceState(null, "", window.location.pathname);
    }
    if (input) {
      input.focus();
    }
  });
  // Nothing of this page stays in the back/forward cache.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      window.location.reload();
    }
  });
})();
