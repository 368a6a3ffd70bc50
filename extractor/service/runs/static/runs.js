// The runs pages: picking two runs (history rows or grid cells) to compare, j/k in the document
// list. Everything also works without this file: the forms submit the ticked boxes.
(function () {
  "use strict";

  var form = document.getElementById("pick");
  if (form) {
    var boxes = Array.prototype.slice.call(form.querySelectorAll("input[type=checkbox][name=run]"));
    var compare = document.getElementById("compare-picked");
    var documents = document.getElementById("documents-picked");
    var note = document.getElementById("picked");
    var order = [];  // ticked boxes, in the order they were ticked

    function refresh() {
      boxes.forEach(function (box) {
        var holder = box.closest("td.cell") || box.closest("tr");
        if (holder) holder.classList.toggle("picked", box.checked);
      });
      if (compare) compare.disabled = order.length !== 2;
      if (documents) documents.disabled = order.length < 1;
      if (note) {
        note.textContent = order.length === 2 ? "Two picked: compare them, or list the documents where they disagree." :
          order.length === 1 ? "Pick one more to compare." : note.dataset.idle || note.textContent;
      }
    }
    if (note) note.dataset.idle = note.textContent;

    boxes.forEach(function (box) {
      box.addEventListener("change", function () {
        order = order.filter(function (b) { return b !== box; });
        if (box.checked) order.push(box);
        refresh();
      });
    });
    // A grid cell picks itself when clicked anywhere but on its links.
    Array.prototype.forEach.call(form.querySelectorAll("td.cell[data-run]"), function (cell) {
      cell.addEventListener("click", function (e) {
        if (e.target.closest("a") || e.target.closest("label")) return;
        var box = cell.querySelector("input[name=run]");
        box.checked = !box.checked;
        box.dispatchEvent(new Event("change"));
      });
    });
    form.addEventListener("submit", function (e) {
      var target = e.submitter;
      if (target && target.id === "compare-picked" && order.length !== 2) { e.preventDefault(); }
    });
    refresh();
  }

  // The document list: j/k move, Enter opens (as in the review queue).
  var rows = Array.prototype.slice.call(document.querySelectorAll("#documents tbody tr[data-href]"));
  var current = -1;
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || /^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName)) return;
    if (!rows.length) return;
    if (e.key === "j" || e.key === "k") {
      current = Math.max(0, Math.min(rows.length - 1, current + (e.key === "j" ? 1 : -1)));
      rows.forEach(function (r, i) { r.classList.toggle("current", i === current); });
      rows[current].scrollIntoView({block: "nearest"});
      e.preventDefault();
    } else if (e.key === "Enter" && current >= 0) {
      location.href = rows[current].dataset.href;
    }
  });
})();
