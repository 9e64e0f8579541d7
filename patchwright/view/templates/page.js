/* Progressive: the page reads the same without this script. It adds search, filters and fold-all
   to the steps, the timeline's pointer, and sorting and filtering to the report's tables. */
(function () {
  "use strict";
  function $(s, r) { return (r || document).querySelector(s); }
  function $$(s, r) { return Array.prototype.slice.call((r || document).querySelectorAll(s)); }
  $$("[data-js-only]").forEach(function (e) { e.hidden = false; });

  var steps = $$("#steps article.step");
  var applySteps = function () {};
  if (steps.length && $("#q")) {
    var q = $("#q"), count = $("#count"), bad = $("#only-bad"), boxes = $$("input.node-filter"), texts = null;
    applySteps = function () {
      var needle = q.value.toLowerCase().trim(), on = {}, shown = 0;
      if (needle && !texts) { texts = steps.map(function (s) { return s.textContent.toLowerCase(); }); }
      boxes.forEach(function (b) { on[b.value] = b.checked; });
      steps.forEach(function (s, i) {
        var ok = on[s.getAttribute("data-node")] !== false && (!bad.checked || s.getAttribute("data-bad") === "1")
          && (!needle || texts[i].indexOf(needle) >= 0);
        s.hidden = !ok;
        if (ok) { shown += 1; }
      });
      $$(".attempt-sep").forEach(function (e) { e.hidden = shown !== steps.length; });
      count.textContent = shown + " of " + steps.length + " steps";
    };
    var timer = null;
    q.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(applySteps, 150); });
    boxes.concat([bad]).forEach(function (b) { b.addEventListener("change", applySteps); });
    $("#unfold").addEventListener("click", function () { $$("#steps details").forEach(function (d) { d.open = true; }); });
    $("#fold").addEventListener("click", function () { $$("#steps details").forEach(function (d) { d.open = false; }); });
    applySteps();
  }

  function reveal() {
    var id = decodeURIComponent(location.hash.slice(1)), el = id ? document.getElementById(id) : null;
    if (el && el.hidden && $("#q")) {
      $("#q").value = ""; $("#only-bad").checked = false;
      $$("input.node-filter").forEach(function (b) { b.checked = true; });
      applySteps();
      el.scrollIntoView();
    }
  }
  window.addEventListener("hashchange", reveal);

  var svg = $("svg.timeline"), blob = $("#timeline-data"), tip = $("#tl-tip");
  if (svg && blob && tip) {
    var pts = JSON.parse(blob.textContent);
    var num = function (v, f) { return v === null || v === undefined ? "–" : f(v); };
    var at = function (ev) {
      var r = svg.getBoundingClientRect(), i = Math.floor((ev.clientX - r.left) / r.width * pts.length);
      return pts[Math.max(0, Math.min(pts.length - 1, i))];
    };
    svg.addEventListener("mousemove", function (ev) {
      var p = at(ev), r = svg.getBoundingClientRect();
      if (!p) { return; }
      tip.textContent = "step " + p[0] + " · " + p[1] + " · " + num(p[2], function (v) { return v + " tokens"; })
        + " · " + num(p[3], function (v) { return "$" + v.toFixed(4); }) + " · "
        + num(p[4], function (v) { return v.toFixed(2) + " s"; });
      tip.hidden = false;
      tip.style.left = Math.min(ev.clientX - r.left + 12, r.width - tip.offsetWidth) + "px";
      tip.style.top = (ev.clientY - r.top + 14) + "px";
    });
    svg.addEventListener("mouseleave", function () { tip.hidden = true; });
    svg.addEventListener("click", function (ev) { var p = at(ev); if (p) { location.hash = "#step-" + p[0]; reveal(); } });
  }

  $$("table.sortable").forEach(function (table) {
    $$("th[data-sort]", table).forEach(function (th) {
      th.addEventListener("click", function () {
        var body = table.tBodies[0], col = th.cellIndex, numeric = th.getAttribute("data-sort") === "num";
        var dir = th.getAttribute("data-dir") === "asc" ? -1 : 1;
        th.setAttribute("data-dir", dir === 1 ? "asc" : "desc");
        var key = function (row) {
          var c = row.cells[col], v = c ? (c.getAttribute("data-v") || c.textContent.trim()) : "";
          return numeric ? (v === "" || isNaN(+v) ? -Infinity : +v) : v.toLowerCase();
        };
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) { var x = key(a), y = key(b); return x < y ? -dir : x > y ? dir : 0; });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  });

  var iq = $("#iq"), ist = $("#istatus");
  if (iq && ist) {
    var rows = $$("#instance-rows tr"), icount = $("#icount");
    var filter = function () {
      var needle = iq.value.toLowerCase().trim(), want = ist.value, shown = 0;
      rows.forEach(function (row) {
        var ok = (!needle || row.textContent.toLowerCase().indexOf(needle) >= 0)
          && (!want || (" " + row.getAttribute("data-status") + " ").indexOf(" " + want + " ") >= 0);
        row.hidden = !ok;
        if (ok) { shown += 1; }
      });
      icount.textContent = shown + " of " + rows.length + " instances";
    };
    iq.addEventListener("input", filter);
    ist.addEventListener("change", filter);
    filter();
  }
})();
