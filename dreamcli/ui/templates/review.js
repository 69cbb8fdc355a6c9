(function () {
  "use strict";
  var kind = document.getElementById("filter-kind");
  var status = document.getElementById("filter-status");
  var shown = document.getElementById("shown-count");
  var ops = Array.prototype.slice.call(document.querySelectorAll("article.op"));
  function apply() {
    var k = kind ? kind.value : "", s = status ? status.value : "", n = 0;
    ops.forEach(function (op) {
      var hide = (k && op.getAttribute("data-kind") !== k) || (s && op.getAttribute("data-status") !== s);
      op.hidden = !!hide;
      if (!hide) { n += 1; }
    });
    if (shown) { shown.textContent = String(n); }
  }
  // a link can carry the filters: review.html?kind=harmful&status=pending
  var params = new URLSearchParams(location.search || location.hash.replace(/^#/, ""));
  [[kind, "kind"], [status, "status"]].forEach(function (pair) {
    var want = params.get(pair[1]);
    if (pair[0] && want !== null) {
      for (var i = 0; i < pair[0].options.length; i++) {
        if (pair[0].options[i].value === want) { pair[0].value = want; }
      }
    }
  });
  if (kind) { kind.addEventListener("change", apply); }
  if (status) { status.addEventListener("change", apply); }
  document.querySelectorAll("button.copy").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var code = document.getElementById(btn.getAttribute("data-target"));
      if (!code) { return; }
      var text = code.textContent;
      var done = function () { btn.textContent = "Copied"; setTimeout(function () { btn.textContent = "Copy"; }, 1500); };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(text).then(done, function () { select(code); });
      } else { select(code); }
    });
  });
  function select(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }
  window.addEventListener("beforeprint", function () {
    ops.forEach(function (op) { op.hidden = false; });
    document.querySelectorAll("details").forEach(function (d) { d.open = true; });
  });
  window.addEventListener("afterprint", apply);
  apply();
  document.documentElement.setAttribute("data-ready", "1");
})();
