// Keyboard shortcuts of the agent pages and confirmations before destructive actions.
// Loaded on every page from our static files (the Content-Security-Policy allows no inline
// script or handler); it acts only on the data attributes below, and every text it shows comes
// from the page, translated by Django. docs/keyboard.md lists the shortcuts.
//
//   <table data-shortcut-rows>     j / k move a visible selection between the rows that have a
//                                  link; Enter or o opens the selected row's (first) link.
//   <form data-shortcut-reply>     r focuses its textarea as a public reply, n as an internal
//                                  note (its select[name=public] set to "1" or "0").
//   <dialog id="shortcuts">        ? opens it (and closes it again); [data-dialog-open] buttons
//                                  open the dialog they name, [data-dialog-close] ones close
//                                  the dialog they are in.
//   data-confirm="Question?"       on a form, its submit button or a selected <option>: the form
//                                  is sent only after window.confirm() says yes. A checkbox with
//                                  data-confirm-box in the form is the server's own confirmation
//                                  (the no-script way): a yes ticks it, and when it is already
//                                  ticked no question is asked.
"use strict";

(function () {
  var SELECTED = "is-selected";

  function typing(element) {
    // A key pressed in a field belongs to the field. Checkboxes, radios and buttons take no
    // text, so j/k still move after ticking a row's checkbox.
    if (!(element instanceof HTMLElement)) {
      return false;
    }
    if (element.isContentEditable || element instanceof HTMLTextAreaElement) {
      return true;
    }
    if (element instanceof HTMLSelectElement) {
      return true;
    }
    if (element instanceof HTMLInputElement) {
      return ["checkbox", "radio", "button", "submit", "reset"].indexOf(element.type) === -1;
    }
    return false;
  }

  function openDialog() {
    return document.querySelector("dialog[open]");
  }

  // ---- the queue ------------------------------------------------------------------------

  function rows() {
    var table = document.querySelector("table[data-shortcut-rows]");
    if (!table) {
      return [];
    }
    return Array.prototype.filter.call(table.querySelectorAll("tbody tr"), function (row) {
      return row.querySelector("a[href]") !== null;
    });
  }

  function selectedRow(list) {
    for (var i = 0; i < list.length; i += 1) {
      if (list[i].classList.contains(SELECTED)) {
        return i;
      }
    }
    return -1;
  }

  function move(step) {
    var list = rows();
    if (!list.length) {
      return false;
    }
    var current = selectedRow(list);
    var next = current === -1 ? (step > 0 ? 0 : list.length - 1) : current + step;
    next = Math.max(0, Math.min(list.length - 1, next));
    if (current !== -1) {
      list[current].classList.remove(SELECTED);
      list[current].removeAttribute("aria-current");
    }
    var row = list[next];
    row.classList.add(SELECTED);
    row.setAttribute("aria-current", "true");
    // The link takes the focus, so a screen reader reads the ticket and the focus ring shows.
    row.querySelector("a[href]").focus();
    row.scrollIntoView({ block: "nearest" });
    return true;
  }

  function openSelected() {
    var list = rows();
    var current = selectedRow(list);
    if (current === -1) {
      return false;
    }
    window.location.assign(list[current].querySelector("a[href]").href);
    return true;
  }

  // ---- the ticket page ------------------------------------------------------------------

  function reply(isPublic) {
    var form = document.querySelector("form[data-shortcut-reply]");
    var box = form && form.querySelector("textarea");
    if (!box) {
      return false;
    }
    var visibility = form.querySelector("select[name=public]");
    if (visibility) {
      visibility.value = isPublic ? "1" : "0";
      visibility.dispatchEvent(new Event("change", { bubbles: true }));
    }
    box.focus();
    return true;
  }

  // ---- the shortcuts dialog -------------------------------------------------------------

  function showDialog(id) {
    var dialog = document.getElementById(id);
    if (!(dialog instanceof HTMLDialogElement)) {
      return false;
    }
    if (dialog.open) {
      dialog.close();
    } else {
      dialog.showModal();
    }
    return true;
  }

  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    var opener = target && target.closest("[data-dialog-open]");
    if (opener && showDialog(opener.getAttribute("data-dialog-open"))) {
      event.preventDefault();
      return;
    }
    // Not <form method="dialog">: the link walker of tests/test_roles.py follows every form.
    var closer = target && target.closest("dialog [data-dialog-close]");
    if (closer) {
      closer.closest("dialog").close();
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    // Without this script the buttons would do nothing: they are hidden until it runs.
    document.querySelectorAll("[data-dialog-open]").forEach(function (button) {
      if (document.getElementById(button.getAttribute("data-dialog-open"))) {
        button.hidden = false;
      }
    });
  });

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.isComposing || event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
    var target = event.target;
    if (typing(target)) {
      // Esc leaves the field, so the shortcuts work again without reaching for the mouse.
      if (event.key === "Escape" && !openDialog() && target instanceof HTMLElement) {
        target.blur();
      }
      return;
    }
    var dialog = openDialog();
    if (dialog) {
      // A modal dialog is open: ? closes ours, other keys belong to the dialog.
      if (event.key === "?" && dialog.id === "shortcuts") {
        dialog.close();
        event.preventDefault();
      }
      return;
    }
    var done = false;
    switch (event.key) {
      case "j":
        done = move(1);
        break;
      case "k":
        done = move(-1);
        break;
      case "o":
        done = openSelected();
        break;
      case "Enter":
        // On a focused link or button Enter already does what it says.
        if (!(target instanceof Element && target.closest("a[href], button, summary"))) {
          done = openSelected();
        }
        break;
      case "r":
        done = reply(true);
        break;
      case "n":
        done = reply(false);
        break;
      case "?":
        done = showDialog("shortcuts");
        break;
      default:
        break;
    }
    if (done) {
      event.preventDefault();
    }
  });

  // ---- confirmations --------------------------------------------------------------------

  function question(form, submitter) {
    if (submitter && submitter.hasAttribute("data-confirm")) {
      return submitter.getAttribute("data-confirm");
    }
    if (form.hasAttribute("data-confirm")) {
      return form.getAttribute("data-confirm");
    }
    var options = form.querySelectorAll("option[data-confirm]");
    for (var i = 0; i < options.length; i += 1) {
      if (options[i].selected) {
        return options[i].getAttribute("data-confirm");
      }
    }
    return null;
  }

  // Capturing, so the question comes before any other handler sends the form.
  document.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      if (!(form instanceof HTMLFormElement)) {
        return;
      }
      var text = question(form, event.submitter);
      if (!text) {
        return;
      }
      var boxes = Array.prototype.slice.call(form.querySelectorAll("input[data-confirm-box]"));
      if (boxes.length && boxes.every(function (box) { return box.checked; })) {
        return;
      }
      // window.confirm() blocks, so a yes lets this very submit go on with its submitter
      // (the token list's "revoke" button carries the token's id as its value).
      if (window.confirm(text)) {
        boxes.forEach(function (box) {
          box.checked = true;
        });
      } else {
        event.preventDefault();
        event.stopPropagation();
      }
    },
    true
  );
})();
