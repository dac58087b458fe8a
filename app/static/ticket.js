// The ticket page's helpers, all optional: the reply box's draft is saved as the agent
// pauses typing, and a heartbeat keeps "Also open by" current and tells other agents
// whether this one is reading or replying. With scripts off, the reply form's Save draft
// button and page loads do the same.
(function () {
  "use strict";

  var PAUSE_MS = 800;

  function post(url, data) {
    data.append("quiet", "1");
    return fetch(url, { method: "POST", body: data, credentials: "same-origin",
                        headers: { "Accept": "application/json" } });
  }

  function drafts(form, typed) {
    var box = form.querySelector("textarea[name=body]");
    var status = form.querySelector(".draft-status");
    var timer = null;
    var leaving = false;
    function save() {
      timer = null;
      post(form.dataset.draftUrl, new FormData(form)).then(function (response) {
        return response.ok ? response.json() : null;
      }).then(function (answer) {
        if (answer && answer.saved && !leaving) { status.textContent = "Draft saved."; }
      }).catch(function () { status.textContent = ""; });
    }
    box.addEventListener("input", function () {
      typed();
      status.textContent = "";
      if (timer) { clearTimeout(timer); }
      timer = setTimeout(save, PAUSE_MS);
    });
    form.addEventListener("submit", function () {
      // Sent, saved or discarded by the button: a save still waiting would undo it.
      leaving = true;
      if (timer) { clearTimeout(timer); timer = null; }
    });
    window.addEventListener("pagehide", function () {
      if (timer && !leaving) {
        var data = new FormData(form);
        data.append("quiet", "1");
        navigator.sendBeacon(form.dataset.draftUrl, data);
      }
    });
  }

  function heartbeat(panel, lastTyped) {
    var every = Number(panel.dataset.every) * 1000;
    var others = panel.querySelector(".others");
    function beat() {
      var data = new FormData();
      data.append("csrf_token", panel.dataset.token);
      data.append("activity", Date.now() - lastTyped() < every ? "replying" : "viewing");
      post(panel.dataset.url, data).then(function (response) {
        return response.ok ? response.json() : null;
      }).then(function (answer) {
        if (!answer) { return; }
        others.textContent = answer.others;
        panel.hidden = !answer.others;
      }).catch(function () { return null; });
    }
    setInterval(beat, every);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var typedAt = 0;
    var form = document.querySelector("#reply form[data-draft-url]");
    if (form) { drafts(form, function () { typedAt = Date.now(); }); }
    var panel = document.getElementById("presence");
    if (panel) { heartbeat(panel, function () { return typedAt; }); }
  });
}());
