// The reply box's macros: typing "/" and a few letters lists the macros whose name matches
// (shared and the agent's own, from the form's data-macro-search URL); picking one puts its
// text, already filled in for this ticket, in place of the "/..." and remembers the macro in
// the form's hidden "macro" field, so sending applies its actions. Served as a static file:
// the Content-Security-Policy allows no inline script.
"use strict";

(function () {
  var form = document.querySelector("form[data-macro-search]");
  if (!form) {
    return;
  }
  var box = form.querySelector("textarea[name=body]");
  var hidden = form.querySelector("input[name=macro]");
  var picked = document.getElementById("macro-picked");
  var pickedText = document.getElementById("macro-picked-text");
  var remove = document.getElementById("macro-remove");
  if (!box || !hidden) {
    return;
  }
  var text = function (name) {
    return form.getAttribute("data-macro-" + name) || "";
  };

  var list = document.createElement("ul");
  list.id = "macro-list";
  list.className = "macro-list";
  list.setAttribute("role", "listbox");
  list.setAttribute("aria-label", text("picked"));
  list.hidden = true;
  box.insertAdjacentElement("afterend", list);
  box.setAttribute("aria-controls", list.id);
  box.setAttribute("aria-autocomplete", "list");
  box.setAttribute("aria-expanded", "false");

  var results = [];
  var active = -1;
  var slash = null; // {start, end, query}: the "/..." being typed
  var timer = null;
  var asked = 0;

  function slashBeforeCaret() {
    var end = box.selectionStart;
    if (end !== box.selectionEnd) {
      return null;
    }
    var before = box.value.slice(0, end);
    var match = /(^|\s)\/([^\s/]{0,40})$/.exec(before);
    if (!match) {
      return null;
    }
    return { start: end - match[2].length - 1, end: end, query: match[2] };
  }

  function close() {
    list.hidden = true;
    list.textContent = "";
    box.setAttribute("aria-expanded", "false");
    box.removeAttribute("aria-activedescendant");
    results = [];
    active = -1;
  }

  function highlight(index) {
    var items = list.querySelectorAll("[role=option]");
    active = index;
    for (var i = 0; i < items.length; i++) {
      items[i].setAttribute("aria-selected", i === index ? "true" : "false");
    }
    if (items[index]) {
      box.setAttribute("aria-activedescendant", items[index].id);
      items[index].scrollIntoView({ block: "nearest" });
    }
  }

  function show(found) {
    results = found;
    list.textContent = "";
    if (!found.length) {
      var none = document.createElement("li");
      none.className = "macro-none";
      none.textContent = text("none");
      list.appendChild(none);
    }
    found.forEach(function (macro, index) {
      var item = document.createElement("li");
      item.id = "macro-option-" + macro.id;
      item.setAttribute("role", "option");
      item.setAttribute("data-index", String(index));
      var name = document.createElement("strong");
      name.textContent = macro.name;
      item.appendChild(name);
      var kind = document.createElement("small");
      kind.textContent = " · " + text(macro.shared ? "shared" : "personal") +
        (macro.actions.length ? " · " + macro.actions.join("; ") : "");
      item.appendChild(kind);
      list.appendChild(item);
    });
    list.hidden = false;
    box.setAttribute("aria-expanded", "true");
    highlight(found.length ? 0 : -1);
  }

  function search(query) {
    var ticket = ++asked;
    var url = form.getAttribute("data-macro-search") + "?q=" + encodeURIComponent(query);
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.ok ? response.json() : { macros: [] };
      })
      .then(function (data) {
        if (ticket === asked && slash) {
          show(data.macros || []);
        }
      })
      .catch(function () {
        close();
      });
  }

  function pick(index) {
    var macro = results[index];
    if (!macro || !slash) {
      return;
    }
    var value = box.value;
    box.value = value.slice(0, slash.start) + macro.body + value.slice(slash.end);
    var caret = slash.start + macro.body.length;
    box.setSelectionRange(caret, caret);
    hidden.value = String(macro.id);
    if (picked && pickedText) {
      pickedText.textContent = text("picked") + ": " + macro.name +
        (macro.actions.length ? " · " + text("on-send") + ": " + macro.actions.join("; ") : "");
      picked.hidden = false;
    }
    slash = null;
    close();
    box.focus();
  }

  box.addEventListener("input", function () {
    slash = slashBeforeCaret();
    if (!slash) {
      close();
      return;
    }
    clearTimeout(timer);
    var query = slash.query;
    timer = setTimeout(function () {
      search(query);
    }, 120);
  });

  box.addEventListener("keydown", function (event) {
    if (list.hidden) {
      return;
    }
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (results.length) {
        var step = event.key === "ArrowDown" ? 1 : -1;
        highlight((active + step + results.length) % results.length);
      }
    } else if ((event.key === "Enter" || event.key === "Tab") && active >= 0) {
      event.preventDefault();
      pick(active);
    } else if (event.key === "Escape") {
      event.preventDefault();
      slash = null;
      close();
    }
  });

  // mousedown, not click: the textarea keeps its focus and caret.
  list.addEventListener("mousedown", function (event) {
    var item = event.target instanceof Element ? event.target.closest("[role=option]") : null;
    if (item) {
      event.preventDefault();
      pick(Number(item.getAttribute("data-index")));
    }
  });

  box.addEventListener("blur", function () {
    setTimeout(close, 150);
  });

  if (remove) {
    remove.addEventListener("click", function () {
      hidden.value = "";
      picked.hidden = true;
    });
  }
})();
