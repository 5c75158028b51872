// 町字の絞り込み: typing in the search box narrows the 町字 list (name, kana or 〒), so a master of thousands of
// 町字 stays usable by keyboard. No inline script (strict CSP).
(function () {
  "use strict";
  function setup(input) {
    var select = document.getElementById(input.getAttribute("data-filter-for"));
    if (!select) { return; }
    var status = document.getElementById(input.id + "-status");
    input.addEventListener("input", function () {
      var query = input.value.trim();
      var shown = 0;
      Array.prototype.forEach.call(select.options, function (option) {
        if (!option.value) { return; }
        var hay = option.textContent + " " + (option.getAttribute("data-kana") || "");
        var visible = !query || hay.indexOf(query) !== -1;
        option.hidden = !visible;
        if (visible) { shown += 1; }
      });
      if (status) { status.textContent = shown + " 件"; }
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("input[data-filter-for]"), setup);
  });
}());
