// Keyboard reading and printing; every page works without this file.
//   j / k  the next / previous result (search hits, a container's members, a conversation's messages)
//   o      open the current result (Enter on its focused link does the same)
//   t      tag: on a search, tick the current result and go to the tag box; on an item, its tag box
//   /      the search box (app.js)
//   ?      this list, in a dialog
(function () {
  "use strict";
  var ROWS = "ol.hits > li.hit, table.members tbody tr, ol.conversation > li";

  function typing(t) {
    return t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);
  }
  function rows() { return Array.prototype.slice.call(document.querySelectorAll(ROWS)); }
  function linkOf(row) {
    return row.querySelector("a.hit-title") || row.querySelector("h2 a") || row.querySelector("td a[href^='/items/']");
  }
  var current = -1;
  function move(step) {
    var all = rows();
    if (!all.length) { return; }
    if (current >= 0 && all[current]) { all[current].classList.remove("kb-current"); }
    current = Math.max(0, Math.min(all.length - 1, current + step));
    var row = all[current];
    row.classList.add("kb-current");
    var link = linkOf(row);
    // The row's link takes the focus: the browser's own focus ring shows where one is, and Enter opens it.
    if (link) { link.focus({ preventScroll: true }); }
    row.scrollIntoView({ block: "nearest" });
  }
  document.addEventListener("focusin", function (ev) {
    // A row reached by Tab or by a click becomes the current one, so that j/k go on from there.
    var all = rows();
    for (var i = 0; i < all.length; i++) {
      if (all[i].contains(ev.target)) {
        if (current >= 0 && all[current] && current !== i) { all[current].classList.remove("kb-current"); }
        current = i;
        all[i].classList.add("kb-current");
        return;
      }
    }
  });
  var KEYS = [["j / k", "next / previous result, member or message"], ["o", "open it"],
    ["t", "tag it (on a search: tick it and go to the tag box)"], ["/", "search"], ["?", "this list"]];
  function help() {
    var d = document.getElementById("keys-help");
    if (!d) {
      d = document.createElement("dialog");
      d.id = "keys-help";
      d.setAttribute("aria-label", "Keyboard shortcuts");
      var h = document.createElement("h2");
      h.textContent = "Keyboard shortcuts";
      var dl = document.createElement("dl");
      KEYS.forEach(function (k) {
        var dt = document.createElement("dt"), dd = document.createElement("dd");
        dt.innerHTML = "<kbd></kbd>"; dt.firstChild.textContent = k[0]; dd.textContent = k[1];
        dl.appendChild(dt); dl.appendChild(dd);
      });
      var close = document.createElement("button");
      close.type = "button"; close.textContent = "Close";
      close.addEventListener("click", function () { d.close(); });
      d.appendChild(h); d.appendChild(dl); d.appendChild(close);
      document.body.appendChild(d);
    }
    if (d.open) { d.close(); } else { d.showModal(); d.querySelector("button").focus(); }
  }
  document.addEventListener("keydown", function (ev) {
    if (typing(ev.target) || ev.ctrlKey || ev.metaKey || ev.altKey) { return; }
    if (ev.key === "?") { ev.preventDefault(); help(); return; }
    if (document.getElementById("keys-help") && document.getElementById("keys-help").open) { return; }
    if (ev.key === "j") { ev.preventDefault(); move(1); }
    else if (ev.key === "k") { ev.preventDefault(); move(current < 0 ? 1 : -1); }
    else if (ev.key === "o") {
      var row = rows()[current];
      var link = row && linkOf(row);
      if (link) { ev.preventDefault(); window.location.href = link.href; }
    } else if (ev.key === "t") {
      var box = document.getElementById("bulk-tag") || document.getElementById("new-tag");
      if (!box) { return; }
      ev.preventDefault();
      var cur = rows()[current];
      var pick = cur && cur.querySelector("input.pick");
      if (pick && !pick.disabled) { pick.checked = true; }
      box.focus();
    }
  });

  // Printing: every closed <details> (evidence, all headers) printed open, then closed again.
  var opened = [];
  window.addEventListener("beforeprint", function () {
    opened = Array.prototype.slice.call(document.querySelectorAll("details:not([open])"));
    opened.forEach(function (d) { d.open = true; });
  });
  window.addEventListener("afterprint", function () {
    opened.forEach(function (d) { d.open = false; });
    opened = [];
  });
})();
