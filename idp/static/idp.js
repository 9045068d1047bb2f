// Elderly mode (长辈模式) on the sign-in pages: the wallet's setting (same origin, localStorage "tb.elderly")
// carries over, and the toggle here changes it for both. Loaded in <head> (no defer) so the class is set before
// the first paint; no inline script (CSP default-src 'self').
(function () {
  "use strict";
  var KEY = "tb.elderly";
  function stored() {
    try { return localStorage.getItem(KEY) === "1"; } catch (e) { return false; }
  }
  function apply(on) {
    document.documentElement.classList.toggle("elderly", on);
    var box = document.getElementById("elderly");
    if (box) box.checked = on;
  }
  apply(stored());
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("elderly");
    if (!box) return;
    var toggle = box.closest(".toggle");
    if (toggle) toggle.hidden = false;  // without JavaScript there is nothing to toggle
    apply(stored());
    box.addEventListener("change", function () {
      try { localStorage.setItem(KEY, box.checked ? "1" : "0"); } catch (e) { /* private mode: this page only */ }
      apply(box.checked);
    });
  });
  window.addEventListener("storage", function (e) {  // changed in the wallet in another tab
    if (e.key === KEY) apply(e.newValue === "1");
  });
})();
