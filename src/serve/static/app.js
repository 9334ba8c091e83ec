// zhijian workbench: click-to-play and keyboard shortcuts on the call page. Served from the
// binary (no inline script: the Content-Security-Policy forbids it).
(function () {
  "use strict";
  function ready(f) {
    if (document.readyState !== "loading") f(); else document.addEventListener("DOMContentLoaded", f);
  }
  ready(function () {
    var player = document.getElementById("player");
    if (!player) return;
    var flags = Array.prototype.slice.call(document.querySelectorAll("tr.item[data-t]"));
    flags.sort(function (a, b) { return parseFloat(a.dataset.t) - parseFloat(b.dataset.t); });
    var current = -1;

    function seek(t, play) {
      if (isNaN(t)) return;
      var go = function () {
        player.currentTime = t;
        if (play) { var p = player.play(); if (p && p.catch) p.catch(function () {}); }
      };
      if (player.readyState >= 1) go(); else player.addEventListener("loadedmetadata", go, { once: true });
    }
    function select(i) {
      if (!flags.length) return;
      if (current >= 0) flags[current].classList.remove("current");
      current = (i + flags.length) % flags.length;
      var row = flags[current];
      row.classList.add("current");
      row.scrollIntoView({ block: "center" });
      seek(parseFloat(row.dataset.t), true);
    }

    document.addEventListener("click", function (e) {
      // Controls inside a flag's row (verdict buttons, comment fields) keep their own action.
      if (!e.target.closest || e.target.closest("form, button, input, select, textarea")) return;
      var el = e.target.closest("[data-t]");
      if (!el) return;
      e.preventDefault();
      var i = flags.indexOf(el.closest("tr.item"));
      if (i >= 0) { select(i); return; }
      seek(parseFloat(el.getAttribute("data-t")), true);
    });

    document.addEventListener("keydown", function (e) {
      var tag = (e.target.tagName || "").toLowerCase();
      if (tag === "input" || tag === "textarea" || tag === "select" || e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key === " ") {
        e.preventDefault();
        if (player.paused) player.play(); else player.pause();
      } else if (e.key === "n") {
        select(current + 1);
      } else if (e.key === "c" || e.key === "r") {
        if (current < 0) return;
        var b = flags[current].querySelector(e.key === "c" ? "button.confirm" : "button.reject");
        if (b) b.click();
      }
    });

    var m = /^#t=([0-9.]+)$/.exec(location.hash);
    if (m) seek(parseFloat(m[1]), false);
  });
})();
