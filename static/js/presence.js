// Collision detection on the agent's ticket page (docs/tickets.md, "Collision detection").
// Every few seconds the page POSTs a heartbeat to its #presence element's
// data-presence-url: "typing" when the agent wrote in the reply box lately, and the ticket's
// version the page was rendered at. The answer is a small HTML fragment, rendered and
// translated by Django: who else is on the ticket and, when the ticket moved on since the page
// was rendered, a "New activity" link, which is also shown above the reply form. Served as a
// static file: the Content-Security-Policy allows no inline script.
"use strict";

(function () {
  var region = document.getElementById("presence");
  var token = document.querySelector("input[name=csrfmiddlewaretoken]");
  if (!region || !token || !window.fetch) {
    return;
  }
  var url = region.getAttribute("data-presence-url");
  var version = region.getAttribute("data-presence-version") || "";
  var every = Math.max(1, Number(region.getAttribute("data-presence-every")) || 5) * 1000;
  var box = document.querySelector("#reply-form textarea[name=body]");
  var moved = document.getElementById("reply-moved");
  var TYPING_FOR = 10000; // a keystroke counts as "typing" for this long
  var typedAt = 0;
  var timer = null;
  var sending = false;
  var wasTyping = false;

  function typing() {
    return box !== null && box.value.trim() !== "" && Date.now() - typedAt < TYPING_FOR;
  }

  function beat() {
    clearTimeout(timer);
    if (sending) {
      timer = setTimeout(beat, every);
      return;
    }
    sending = true;
    wasTyping = typing();
    var body = new FormData();
    body.append("csrfmiddlewaretoken", token.value);
    body.append("version", version);
    if (wasTyping) {
      body.append("typing", "1");
    }
    fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": token.value },
    })
      .then(function (response) {
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (html !== null) {
          region.innerHTML = html;
          if (moved && region.querySelector("[data-presence-moved]")) {
            moved.hidden = false;
          }
        }
      })
      .catch(function () {
        // Offline or the server restarting: the next heartbeat tries again.
      })
      .then(function () {
        sending = false;
        timer = setTimeout(beat, every);
      });
  }

  if (box) {
    box.addEventListener("input", function () {
      typedAt = Date.now();
      // The first keystroke tells the others at once rather than at the next heartbeat.
      if (!wasTyping && typing()) {
        beat();
      }
    });
  }
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") {
      beat();
    }
  });
  beat();
})();
