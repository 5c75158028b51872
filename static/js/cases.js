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
  // Confirmation before a destructive action (removing a person from the case).
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.getAttribute("data-confirm"))) { event.preventDefault(); }
  });
  // After an in-place update, keep the keyboard where it was: the swapped row's own select.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "persons") {
      var message = document.getElementById("persons-message");
      if (message) { message.setAttribute("tabindex", "-1"); message.focus(); }
    }
  });
  // Counter screens move between each other without full page loads (hx-boost on .cases-page): a refused
  // form (400 with its typed values and messages) is shown like a page, not dropped as an htmx error.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var detail = event.detail;
    if (detail.boosted && detail.xhr && detail.xhr.status === 400) {
      detail.shouldSwap = true;
      detail.isError = false;
    }
  });
  // After a boosted page change, put the keyboard where a full load would (first error, else the page).
  document.addEventListener("htmx:afterSettle", function (event) {
    if (!event.detail.boosted) { return; }
    var invalid = document.querySelector('[aria-invalid="true"]');
    var alert = document.querySelector('[role="alert"]');
    var main = document.getElementById("main");
    if (invalid) { invalid.focus(); }
    else if (alert) { alert.setAttribute("tabindex", "-1"); alert.focus(); }
    else if (!focusSearch() && main) { main.focus({ preventScroll: true }); }
  });
  function focusSearch() {
    var box = document.getElementById("id_q");
    if (box && !document.querySelector(".cases-results") && !document.querySelector('[role="alert"]')) {
      box.focus();
      return true;
    }
    return false;
  }
  // The search page: focus the first field when there are no results yet.
  document.addEventListener("DOMContentLoaded", focusSearch);
})();
