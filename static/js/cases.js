// Counter screens: keyboard shortcuts. No inline scripts (strict CSP).
(function () {
  "use strict";
  function typing(target) {
    var tag = (target && target.tagName) || "";
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || typing(event.target)) { return; }
    // "/" jumps to the name field of the person search.
    if (event.key === "/") {
      var box = document.getElementById("id_q");
      if (box) { event.preventDefault(); box.focus(); box.select(); }
    }
  });
  // The search page: focus the first field when there are no results yet.
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("id_q");
    if (box && !document.querySelector(".cases-results") && !document.querySelector('[role="alert"]')) {
      box.focus();
    }
  });
})();
