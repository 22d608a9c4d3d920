// The queue's 30-second refresh (htmx replaces <tbody id="queue-rows">): the server ticks the
// rows whose ids the refresh sent (hx-include), and this keeps what changed while the request
// was on its way, ticks made since and the row that j/k selected, so neither bulk assign nor
// the keyboard loses its place. Loaded from our static files (the CSP allows no inline script).
"use strict";

(function () {
  var kept = null;

  document.addEventListener("htmx:beforeSwap", function (event) {
    var old = document.getElementById("queue-rows");
    if (!old || event.detail.target !== old) {
      return;
    }
    var selected = old.querySelector("tr.is-selected");
    kept = {
      checked: Array.prototype.map.call(
        old.querySelectorAll("input[name=tickets]:checked"),
        function (box) {
          return box.value;
        }
      ),
      selected: selected ? selected.getAttribute("data-ticket") : null,
      focused: selected !== null && selected.contains(document.activeElement),
    };
  });

  document.addEventListener("htmx:afterSettle", function () {
    var rows = document.getElementById("queue-rows");
    if (!rows || kept === null) {
      return;
    }
    kept.checked.forEach(function (id) {
      var box = rows.querySelector('input[name=tickets][value="' + id + '"]');
      if (box) {
        box.checked = true;
      }
    });
    var row = kept.selected && rows.querySelector('tr[data-ticket="' + kept.selected + '"]');
    if (row) {
      row.classList.add("is-selected");
      row.setAttribute("aria-current", "true");
      var link = row.querySelector("a[href]");
      if (kept.focused && link) {
        link.focus();
      }
    }
    kept = null;
  });
})();
