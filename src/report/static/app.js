// zhijian pages: click-to-play on the call page (evidence, transcript lines, the timeline and
// its play head), #t=SECONDS[&play] links, and the workbench's keyboard shortcuts. One file
// for the server (/static/app.js) and the static export (static/app.js next to the pages):
// no inline script, so both can forbid it in their Content-Security-Policy.
(function () {
  "use strict";
  function ready(f) {
    if (document.readyState !== "loading") f(); else document.addEventListener("DOMContentLoaded", f);
  }
  ready(function () {
    var player = document.getElementById("player");
    if (!player) return;
    var svg = document.getElementById("timeline");
    var head = document.getElementById("playhead");
    var lines = [].slice.call(document.querySelectorAll(".utt[data-end]"));
    // The workbench's flag rows (with review forms), in time order for the n key.
    var flags = [].slice.call(document.querySelectorAll("tr.item[data-t]"));
    flags.sort(function (a, b) { return parseFloat(a.dataset.t) - parseFloat(b.dataset.t); });
    var current = -1;

    function seek(t, play) {
      if (!isFinite(t)) return;
      // Before metadata, currentTime sets the start position; set it again once known.
      try { player.currentTime = Math.max(0, t); } catch (e) {}
      if (player.readyState === 0) {
        player.addEventListener("loadedmetadata", function () {
          if (Math.abs(player.currentTime - t) > 0.05) player.currentTime = t;
        }, { once: true });
      }
      if (play) { var p = player.play(); if (p && p.catch) p.catch(function () {}); }
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
    // The timeline's geometry is on the <svg> (data-width/left/right/duration).
    function geometry() {
      var d = svg.dataset;
      return { W: +d.width, L: +d.left, R: +d.right, dur: +d.duration };
    }

    document.addEventListener("click", function (e) {
      // Controls inside a flag's row (verdict buttons, comment fields) keep their own action.
      if (!e.target.closest || e.target.closest("form, button, input, select, textarea")) return;
      var el = e.target.closest("[data-t]");
      if (el) {
        e.preventDefault();
        var i = flags.indexOf(el.closest("tr.item"));
        if (i >= 0) { select(i); return; }
        seek(parseFloat(el.getAttribute("data-t")), true);
        return;
      }
      if (svg && svg.contains(e.target)) {
        var g = geometry(), r = svg.getBoundingClientRect();
        var x = (e.clientX - r.left) * g.W / r.width;
        seek(Math.max(0, Math.min(g.dur, (x - g.L) / (g.W - g.L - g.R) * g.dur)), true);
      }
    });

    player.addEventListener("timeupdate", function () {
      var t = player.currentTime;
      if (svg && head) {
        var g = geometry();
        var x = g.L + Math.min(1, t / g.dur) * (g.W - g.L - g.R);
        head.setAttribute("x1", x);
        head.setAttribute("x2", x);
        head.setAttribute("visibility", "visible");
      }
      lines.forEach(function (l) { l.classList.toggle("playing", t >= +l.dataset.t && t < +l.dataset.end); });
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

    // #t=SECONDS positions the recording (links from the queue); &play also starts it.
    var m = /[#&]t=([0-9.]+)/.exec(location.hash);
    if (m) seek(parseFloat(m[1]), /[#&]play\b/.test(location.hash));
  });
})();
