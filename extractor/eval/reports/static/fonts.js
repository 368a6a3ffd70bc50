// Says where Chinese, Japanese or Korean text cannot be read: the page names CJK fonts in its
// font stack, but a machine without any of them draws every such character as the same box.
// Drawing two different ideographs and an unassigned code point on a canvas tells them apart:
// identical pixels mean no font has the glyphs. The elements holding that text are outlined and
// a note at the top of the page says what to install. Nothing is fetched.
(function () {
  "use strict";
  var CJK = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]/;

  function pixels(ctx, ch, family) {
    ctx.clearRect(0, 0, 40, 40);
    ctx.font = "28px " + family;
    ctx.fillText(ch, 2, 2);
    return Array.prototype.join.call(ctx.getImageData(0, 0, 40, 40).data, ",");
  }

  function cjkMissing(family) {
    var canvas = document.createElement("canvas");
    canvas.width = 40;
    canvas.height = 40;
    var ctx = canvas.getContext("2d", { willReadFrequently: true });
    if (!ctx) return false;
    ctx.textBaseline = "top";
    ctx.fillStyle = "#000";
    var han = pixels(ctx, "\u6f22", family);
    return han === pixels(ctx, "\u5b57", family) || han === pixels(ctx, "\udbff\udffd", family);
  }

  function check() {
    if (!document.body || !CJK.test(document.body.textContent || "")) return;
    var family = window.getComputedStyle(document.body).fontFamily || "sans-serif";
    if (!cjkMissing(family)) return;
    var walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    var marked = 0, node;
    while ((node = walker.nextNode())) {
      var parent = node.parentElement;
      if (parent && CJK.test(node.data) && !parent.classList.contains("cjk-missing")) {
        parent.classList.add("cjk-missing");
        parent.setAttribute("title", "No font on this machine shows this Chinese, Japanese or Korean text");
        marked += 1;
      }
    }
    var note = document.createElement("div");
    note.className = "font-note";
    note.setAttribute("role", "status");
    note.textContent = "This page has Chinese, Japanese or Korean text (outlined, " + marked +
      " place" + (marked === 1 ? "" : "s") + ") but this machine has no font for it, so it shows as boxes. " +
      "Install a CJK font to read it, e.g. Noto Sans CJK (Debian/Ubuntu: apt-get install fonts-noto-cjk).";
    document.body.insertBefore(note, document.body.firstChild);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", check);
  else check();
})();
