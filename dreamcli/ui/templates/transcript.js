(function () {
  "use strict";
  var open = document.getElementById("expand-all");
  var details = Array.prototype.slice.call(document.querySelectorAll("details.tool"));
  if (open) {
    open.addEventListener("click", function () {
      var anyClosed = details.some(function (d) { return !d.open; });
      details.forEach(function (d) { d.open = anyClosed; });
      open.textContent = anyClosed ? "Fold all tool calls" : "Unfold all tool calls";
    });
  }
  if (location.hash) {
    var target = document.getElementById(location.hash.slice(1));
    if (target && target.closest) { target = target.closest(".event") || target; }
    if (target) {
      var inner = target.querySelectorAll("details");
      for (var i = 0; i < inner.length; i++) { inner[i].open = true; }
    }
  }
  window.addEventListener("beforeprint", function () { details.forEach(function (d) { d.open = true; }); });
  document.documentElement.setAttribute("data-ready", "1");
})();
