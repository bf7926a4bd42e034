// Small conveniences only; every page works without this file.
(function () {
  "use strict";
  document.addEventListener("keydown", function (ev) {
    // "/" jumps to the search box, as in many reading tools; not while typing.
    var t = ev.target;
    var typing = t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);
    if (ev.key === "/" && !typing && !ev.ctrlKey && !ev.metaKey && !ev.altKey) {
      var box = document.getElementById("q") || document.getElementById("top-q");
      if (box) { ev.preventDefault(); box.focus(); box.select(); }
    }
  });
  // The sort menu applies at once.
  var sort = document.getElementById("sort");
  if (sort && sort.form) {
    sort.addEventListener("change", function () { sort.form.submit(); });
  }
})();
