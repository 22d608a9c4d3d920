// Behaviour for every page, loaded from our static files: the Content-Security-Policy allows
// no inline script or inline event handler.
"use strict";

// A <select data-autosubmit> sends its form as soon as it changes (the language picker).
document.addEventListener("change", function (event) {
  var target = event.target;
  if (target instanceof HTMLSelectElement && target.hasAttribute("data-autosubmit")) {
    target.form.submit();
  }
});
