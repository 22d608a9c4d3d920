// The reply box's Markdown toolbar and live preview (docs/tickets.md, "Rich replies").
// A form with data-editor-preview="<url>" gets, above its body textarea, buttons that wrap
// the selection in Markdown (labels from the form's data-editor-* attributes, translated by
// the template), and below it a preview pane filled with what the server renders of the text
// (the renderer the reply is stored with, so the preview is what will be shown and mailed).
// An image pasted or dropped into the box joins the form's attachments and is written
// ![name](attachment:name); the server points it at the stored file when the reply is sent.
// The preview shows it from a data: URL read here (the CSP allows data: images), swapped in
// before the preview enters the page, so the browser never asks for "attachment:".
// A static file, no inline script: the site's CSP allows scripts from 'self' only.
(function () {
  "use strict";

  var ACTIONS = [
    ["bold", "B", function (s) { return wrap(s, "**", "**"); }, "b"],
    ["italic", "I", function (s) { return wrap(s, "_", "_"); }, "i"],
    ["list", "•", function (s) { return prefixLines(s, "- "); }, null, true],
    ["link", "↗", function (s) { return wrap(s, "[", "](https://)"); }],
    ["code", "</>", function (s) {
      return s.text.indexOf("\n") >= 0 ? wrap(s, "```\n", "\n```") : wrap(s, "`", "`");
    }],
    ["quote", "❝", function (s) { return prefixLines(s, "> "); }, null, true],
  ];

  function wrap(s, before, after) {
    return { text: before + s.text + after, start: before.length, end: before.length + s.text.length };
  }

  function prefixLines(s, prefix) {
    var lines = (s.text || "").split("\n");
    var text = lines.map(function (line) { return prefix + line; }).join("\n");
    return { text: text, start: text.length, end: text.length };
  }

  // ``whole``: the action works on whole lines (list, quote), those the selection touches.
  function apply(textarea, action, whole) {
    var start = textarea.selectionStart;
    var end = textarea.selectionEnd;
    if (whole) {
      start = textarea.value.lastIndexOf("\n", start - 1) + 1;
      var lineEnd = textarea.value.indexOf("\n", end);
      end = lineEnd < 0 ? textarea.value.length : lineEnd;
    }
    var result = action({ text: textarea.value.slice(start, end) });
    textarea.focus();
    textarea.setRangeText(result.text, start, end, "end");
    textarea.setSelectionRange(start + result.start, start + result.end);
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
  }

  var EXTENSIONS = { "image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp" };
  var pasted = 0;

  function setup(form) {
    var textarea = form.querySelector("textarea[name=body]");
    var csrf = form.querySelector("input[name=csrfmiddlewaretoken]");
    var files = form.querySelector("input[type=file][name=attachments]");
    var images = {}; // placeholder name -> data: URL, for the preview
    if (!textarea || !csrf) {
      return;
    }
    var toolbar = document.createElement("div");
    toolbar.className = "editor-toolbar";
    toolbar.setAttribute("role", "toolbar");
    toolbar.setAttribute("aria-label", form.dataset.editorToolbar || "");
    toolbar.setAttribute("aria-controls", textarea.id);
    ACTIONS.forEach(function (entry) {
      var button = document.createElement("button");
      var label = form.dataset["editor" + entry[0][0].toUpperCase() + entry[0].slice(1)] || entry[0];
      button.type = "button";
      button.className = "editor-" + entry[0];
      button.textContent = entry[1];
      button.title = label + (entry[3] ? " (Ctrl+" + entry[3].toUpperCase() + ")" : "");
      button.setAttribute("aria-label", label);
      button.addEventListener("click", function () { apply(textarea, entry[2], entry[4]); });
      toolbar.appendChild(button);
    });
    textarea.parentNode.insertBefore(toolbar, textarea);

    var heading = document.createElement("p");
    heading.className = "small editor-preview-label";
    heading.textContent = form.dataset.editorPreviewLabel || "";
    var preview = document.createElement("div");
    preview.className = "editor-preview message-body";
    preview.setAttribute("aria-live", "polite");
    preview.dataset.testid = "reply-preview";
    var anchor = textarea.nextSibling;
    textarea.parentNode.insertBefore(heading, anchor);
    textarea.parentNode.insertBefore(preview, anchor);

    function addImages(list) {
      var added = Array.prototype.filter.call(list || [], function (file) {
        return EXTENSIONS[file.type] !== undefined;
      });
      if (!added.length || !files || typeof DataTransfer === "undefined") {
        return false;
      }
      var transfer = new DataTransfer();
      Array.prototype.forEach.call(files.files, function (file) { transfer.items.add(file); });
      var text = "";
      added.forEach(function (file) {
        pasted += 1;
        // A name of our own: a pasted screenshot is always "image.png".
        var name = "image-" + Date.now().toString(36) + "-" + pasted + "." + EXTENSIONS[file.type];
        var renamed = new File([file], name, { type: file.type });
        transfer.items.add(renamed);
        var reader = new FileReader();
        reader.onload = function () {
          images[name] = reader.result;
          later();
        };
        reader.readAsDataURL(renamed);
        text += "![" + name + "](attachment:" + name + ")\n";
      });
      files.files = transfer.files;
      apply(textarea, function (s) {
        var out = (s.text ? s.text + "\n" : "") + text;
        return { text: out, start: out.length, end: out.length };
      });
      return true;
    }
    textarea.addEventListener("paste", function (event) {
      if (event.clipboardData && addImages(event.clipboardData.files)) {
        event.preventDefault();
      }
    });
    textarea.addEventListener("dragover", function (event) {
      if (event.dataTransfer && Array.prototype.indexOf.call(event.dataTransfer.types, "Files") >= 0) {
        event.preventDefault();
      }
    });
    textarea.addEventListener("drop", function (event) {
      if (event.dataTransfer && addImages(event.dataTransfer.files)) {
        event.preventDefault();
      }
    });

    function showImages(body) {
      Array.prototype.forEach.call(body.querySelectorAll("img"), function (img) {
        var src = img.getAttribute("src") || "";
        var name = src.indexOf("attachment:") === 0 ? decodeURIComponent(src.slice(11)) : null;
        if (name !== null && images[name]) {
          img.setAttribute("src", images[name]);
        } else if (name !== null) {
          img.replaceWith(document.createTextNode(img.getAttribute("alt") || ""));
        }
      });
    }

    var timer = null;
    var asked = 0;
    function refresh() {
      var mine = ++asked;
      var data = new FormData();
      data.append("csrfmiddlewaretoken", csrf.value);
      data.append("body", textarea.value);
      fetch(form.dataset.editorPreview, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrf.value },
      })
        .then(function (response) { return response.text(); })
        .then(function (html) {
          if (mine !== asked) {
            return; // an answer to older text arrived late
          }
          // Sanitized by the server (nh3), as the message itself will be when stored.
          var parsed = new DOMParser().parseFromString(html, "text/html");
          showImages(parsed.body);
          preview.replaceChildren.apply(preview, Array.prototype.slice.call(parsed.body.childNodes));
        })
        .catch(function () { /* offline: the preview keeps its last text */ });
    }
    function later() {
      clearTimeout(timer);
      timer = setTimeout(refresh, 250);
    }
    textarea.addEventListener("input", later);
    textarea.addEventListener("change", later);
    textarea.addEventListener("keydown", function (event) {
      if (!(event.ctrlKey || event.metaKey) || event.altKey) {
        return;
      }
      ACTIONS.forEach(function (entry) {
        if (entry[3] && event.key.toLowerCase() === entry[3]) {
          event.preventDefault();
          apply(textarea, entry[2]);
        }
      });
    });
    refresh();
  }

  document.querySelectorAll("form[data-editor-preview]").forEach(setup);
})();
