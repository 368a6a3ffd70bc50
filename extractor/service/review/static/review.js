// Review pages: select-to-fill with document offsets, keyboard shortcuts, small display helpers.
// No inline script anywhere (the pages' Content-Security-Policy allows only this file).
(function () {
  "use strict";

  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  // Grounding meters in the queue: widths are set here, as inline styles are not allowed.
  document.querySelectorAll(".meter .fill").forEach(function (el) {
    el.style.width = (parseInt(el.dataset.rate, 10) || 0) + "%";
  });

  // ---- the queue: j/k move, Enter opens ----
  var rows = Array.prototype.slice.call(document.querySelectorAll("#queue tbody tr[data-href]"));
  var current = -1;
  function select(index) {
    if (!rows.length) return;
    current = Math.max(0, Math.min(rows.length - 1, index));
    rows.forEach(function (r, i) { r.classList.toggle("current", i === current); });
    rows[current].scrollIntoView({block: "nearest"});
    rows[current].querySelector("a.doclink").focus();
  }

  // ---- the document page: selection inside the text, as offsets into the document ----
  var doctext = document.getElementById("doctext");
  var lastSelection = null;
  var lastField = null;

  function offsetIn(node, offset) {
    var range = document.createRange();
    range.setStart(doctext, 0);
    range.setEnd(node, offset);
    return range.toString().length;
  }

  function readSelection() {
    var sel = window.getSelection();
    if (!doctext || !sel || sel.rangeCount === 0 || sel.isCollapsed) return null;
    var range = sel.getRangeAt(0);
    if (!doctext.contains(range.startContainer) || !doctext.contains(range.endContainer)) return null;
    var start = offsetIn(range.startContainer, range.startOffset);
    var end = offsetIn(range.endContainer, range.endOffset);
    var text = doctext.textContent;
    while (start < end && /\s/.test(text[start])) start++;
    while (end > start && /\s/.test(text[end - 1])) end--;
    if (end <= start) return null;
    return {start: start, end: end, text: text.slice(start, end)};
  }

  if (doctext) {
    document.addEventListener("selectionchange", function () {
      var s = readSelection();
      if (s) lastSelection = s;
    });
  }

  function fill(field) {
    var s = readSelection() || lastSelection;
    if (!field || !s) return false;
    field.value = s.text;
    var span = document.getElementById(field.dataset.span);
    if (span) span.value = s.start + "," + s.end;
    field.classList.add("filled");
    field.focus();
    return true;
  }

  document.querySelectorAll(".fillable").forEach(function (field) {
    field.addEventListener("focus", function () { lastField = field; });
    // Typing over a filled value detaches it from the selected offsets.
    field.addEventListener("input", function () {
      var span = document.getElementById(field.dataset.span);
      if (span) span.value = "";
    });
  });
  document.querySelectorAll(".use-selection").forEach(function (button) {
    button.addEventListener("mousedown", function (e) { e.preventDefault(); });  // keep the selection
    button.addEventListener("click", function () { fill(document.getElementById(button.dataset.fill)); });
  });
  document.querySelectorAll(".from-selection").forEach(function (button) {
    button.addEventListener("mousedown", function (e) { e.preventDefault(); });
    button.addEventListener("click", function (e) {
      var s = readSelection() || lastSelection;
      if (!s) {
        e.preventDefault();
        alertNoSelection(button);
        return;
      }
      document.getElementById("new_text").value = s.text;
      document.getElementById("new_span").value = s.start + "," + s.end;
    });
  });
  function alertNoSelection(button) {
    button.classList.add("shake");
    button.title = "select some text in the document first";
    window.setTimeout(function () { button.classList.remove("shake"); }, 600);
  }

  // Focus the field an edit asked for (#f-a0.t2.name after "+ target").
  if (location.hash.indexOf("#f-") === 0) {
    var wanted = document.getElementById(decodeURIComponent(location.hash.slice(1)));
    if (wanted) { wanted.focus(); wanted.scrollIntoView({block: "center"}); }
  }

  function click(id) {
    var el = document.getElementById(id);
    if (el) { el.click(); return true; }
    return false;
  }

  document.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && document.getElementById("approve")) {
      e.preventDefault();
      click("approve");
      return;
    }
    if (e.key === "Escape" && typing(e.target)) { e.target.blur(); return; }
    if (typing(e.target) || e.ctrlKey || e.metaKey || e.altKey) return;
    if (rows.length) {
      if (e.key === "j") { select(current + 1); e.preventDefault(); }
      else if (e.key === "k") { select(current - 1); e.preventDefault(); }
      else if (e.key === "Enter" && current >= 0) { location.href = rows[current].dataset.href; }
      else if (e.key === "/") { var f = document.querySelector(".filters input, .filters select"); if (f) { f.focus(); e.preventDefault(); } }
      return;
    }
    if (e.key === "n") { if (click("next")) e.preventDefault(); }
    else if (e.key === "p") { if (click("prev")) e.preventDefault(); }
    else if (e.key === "a") { if (click("approve")) e.preventDefault(); }
    else if (e.key === "u") { if (fill(lastField)) e.preventDefault(); }
  });
})();
