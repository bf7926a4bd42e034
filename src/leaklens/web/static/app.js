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
  // On a phone the facets start folded, so that the results come first on the screen.
  var refine = document.getElementById("refine");
  if (refine && window.matchMedia && window.matchMedia("(max-width: 760px)").matches) {
    refine.open = false;
  }
  // Bulk work on search results: "This page" ticks every result shown; "All matching" stands for
  // every match, so the page's own ticks are set and locked to say so.
  var page = document.getElementById("select-page");
  var all = document.getElementById("select-all");
  var picks = Array.prototype.slice.call(document.querySelectorAll("input.pick"));
  if (page) {
    page.addEventListener("change", function () {
      picks.forEach(function (p) { p.checked = page.checked; });
    });
  }
  if (all) {
    all.addEventListener("change", function () {
      picks.forEach(function (p) { p.checked = all.checked || p.checked; p.disabled = all.checked; });
      if (page) { page.checked = all.checked; page.disabled = all.checked; }
    });
  }
  // The sort menu applies at once.
  var sort = document.getElementById("sort");
  if (sort && sort.form) {
    sort.addEventListener("change", function () { sort.form.submit(); });
  }
})();
