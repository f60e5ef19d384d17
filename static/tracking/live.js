// The consignment page follows its stream and redraws the timeline in place on each event.
(function () {
  "use strict";
  var box = document.getElementById("timeline");
  if (!box || !window.EventSource) { return; }
  var state = document.getElementById("live-state");
  var lastId = box.dataset.lastEventId || "0";
  var url = box.dataset.streamUrl + "?last_event_id=" + encodeURIComponent(lastId);
  var source = new EventSource(url, { withCredentials: true });
  var pending = null;

  function refresh() {
    if (pending) { return; }
    pending = fetch(box.dataset.fragmentUrl, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) { if (html !== null) { box.innerHTML = html; } })
      .finally(function () { pending = null; });
  }
  source.onopen = function () { if (state) { state.textContent = state.dataset.live || "●"; } };
  source.onmessage = function () { refresh(); };
  source.onerror = function () { if (state) { state.textContent = ""; } };
})();
