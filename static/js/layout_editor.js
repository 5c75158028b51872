// Layout editor: "行を追加" adds an empty column row to the formset (no inline scripts: strict CSP).
// Without JavaScript the button stays hidden and the page keeps its three spare rows.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var button = document.getElementById("layout-add-column");
    var template = document.getElementById("layout-column-template");
    var body = document.querySelector("#layout-columns tbody");
    if (!button || !template || !body) { return; }
    var prefix = button.dataset.prefix;
    var total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
    var max = document.getElementById("id_" + prefix + "-MAX_NUM_FORMS");
    var status = document.getElementById("layout-add-column-status");
    if (!total) { return; }
    var limit = max ? parseInt(max.value, 10) : 1000;

    function refresh() {
      var full = parseInt(total.value, 10) >= limit;
      button.disabled = full;
      if (full && status) { status.textContent = button.dataset.full; }
    }

    function nextOrder() {
      var highest = 0;
      body.querySelectorAll('input[name$="-ORDER"]').forEach(function (input) {
        var value = parseInt(input.value, 10);
        if (!isNaN(value) && value > highest) { highest = value; }
      });
      return highest + 1;
    }

    button.hidden = false;
    refresh();
    button.addEventListener("click", function () {
      var index = parseInt(total.value, 10);
      if (index >= limit) { refresh(); return; }
      var html = template.innerHTML.replace(/__prefix__/g, String(index)).replace(/__row__/g, String(index + 1));
      var holder = document.createElement("tbody");
      holder.innerHTML = html.trim();
      var row = holder.firstElementChild;
      var order = row.querySelector('input[name$="-ORDER"]');
      if (order) { order.value = String(nextOrder()); }
      body.appendChild(row);
      total.value = String(index + 1);
      var first = row.querySelector('input[name$="-label"]');
      if (first) { first.focus(); }
      if (status) { status.textContent = button.dataset.added.replace("{row}", String(index + 1)); }
      refresh();
    });
  });
})();
