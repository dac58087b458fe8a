// Keyboard shortcuts for the queue and the ticket page. Optional: every action they
// take is also a link or a button, so the console works with scripts off.
(function () {
  "use strict";

  function typing(event) {
    var target = event.target;
    return target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName);
  }

  function queueShortcuts(table) {
    var rows = Array.prototype.slice.call(table.querySelectorAll("tbody tr"));
    var current = -1;
    function select(index) {
      if (!rows.length) { return; }
      current = Math.max(0, Math.min(rows.length - 1, index));
      rows.forEach(function (row, i) { row.classList.toggle("selected", i === current); });
      rows[current].scrollIntoView({ block: "nearest" });
    }
    function open(hash) {
      if (current < 0) { return; }
      window.location.href = rows[current].querySelector("a.ticket-link").href + (hash || "");
    }
    document.addEventListener("keydown", function (event) {
      if (typing(event) || event.ctrlKey || event.metaKey || event.altKey) { return; }
      if (event.key === "j") { select(current + 1); }
      else if (event.key === "k") { select(current - 1); }
      else if (event.key === "o" || event.key === "Enter") { open(""); }
      else if (event.key === "r") { open("#reply"); }
    });
  }

  function replyBox() {
    return document.querySelector("#reply textarea[name=body]");
  }

  function ticketShortcuts() {
    document.addEventListener("keydown", function (event) {
      // Ctrl+R and Cmd+R still reload the page.
      if (typing(event) || event.ctrlKey || event.metaKey || event.altKey || event.key !== "r") { return; }
      var box = replyBox();
      if (box) {
        event.preventDefault();
        box.focus();
        box.setSelectionRange(0, 0);  // above the quoted message, where the answer goes
        box.scrollIntoView({ block: "center" });
      }
    });
  }

  // A saved reply goes in at the cursor of the reply box, without reloading the page;
  // with scripts off the same form reloads the page with the box starting with it.
  function savedReplies(form) {
    form.addEventListener("submit", function (event) {
      var box = replyBox();
      var option = form.querySelector("select").selectedOptions[0];
      if (!box || !option) { return; }
      event.preventDefault();
      var text = option.getAttribute("data-text");
      var start = box.selectionStart, end = box.selectionEnd;
      box.setRangeText(text, start, end, "end");
      box.focus();
    });
  }

  // "Select all on this page" ticks every row's box; unticking a row unticks it. Without
  // a script the server reads the box itself and acts on the page's tickets.
  function bulkSelection(all) {
    var picks = Array.prototype.slice.call(document.querySelectorAll("input.bulk-pick"));
    all.addEventListener("change", function () {
      picks.forEach(function (pick) { pick.checked = all.checked; });
    });
    picks.forEach(function (pick) {
      pick.addEventListener("change", function () {
        all.checked = picks.every(function (p) { return p.checked; });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var all = document.getElementById("bulk-all");
    if (all) { bulkSelection(all); }
    var table = document.querySelector("table[data-shortcuts=queue]");
    if (table) { queueShortcuts(table); }
    if (document.getElementById("reply")) { ticketShortcuts(); }
    var saved = document.querySelector("form[data-saved-replies]");
    if (saved) { savedReplies(saved); }
  });
}());
