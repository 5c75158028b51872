// Procedure catalogue editor (navigation). No inline scripts (strict CSP): behaviour lives here.
(function () {
  "use strict";
  var SAMPLE = [
    {key: "p1", name: "世帯主", birth_date: "1984-05-10", relationship: "世帯主"},
    {key: "p2", name: "配偶者", birth_date: "1986-08-20", relationship: "妻"},
    {key: "p3", name: "高校生", birth_date: "2010-01-15", relationship: "子"},
    {key: "p4", name: "小学生", birth_date: "2016-09-01", relationship: "子"},
    {key: "p5", name: "幼児", birth_date: "2022-03-03", relationship: "子"}
  ];
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-nav-sample]");
    if (!button) { return; }
    var target = document.getElementById(button.getAttribute("data-nav-sample"));
    if (target) {
      target.value = JSON.stringify(SAMPLE, null, 1);
      target.focus();
    }
  });
  // Confirmation before destructive actions (delete an item of the draft).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var message = form.getAttribute && form.getAttribute("data-nav-confirm");
    if (message && !window.confirm(message)) { event.preventDefault(); }
  });
  // After the "try it" result arrives, move focus to it for keyboard and screen-reader users.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "try-result") {
      event.detail.target.setAttribute("tabindex", "-1");
      event.detail.target.focus();
    }
  });
})();
