// Keeps the unread badge of the header current: refreshed whenever the company stream
// announces an event (tracking's EventSource); polled every 30 s when no stream is available.
(function () {
  "use strict";
  var link = document.getElementById("sesame-inbox-link");
  var badge = document.getElementById("sesame-unread-count");
  if (!link || !badge) return;
  var pending = null;

  function refresh() {
    fetch(link.dataset.unreadUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return;
        badge.textContent = String(data.unread);
        badge.hidden = data.unread === 0;
      })
      .catch(function () {});
  }
  function soon() {  // several events in a burst: one request
    if (pending) return;
    pending = setTimeout(function () { pending = null; refresh(); }, 300);
  }
  var polling = null;
  function poll() { if (!polling) polling = setInterval(refresh, 30000); }

  refresh();
  if (!window.EventSource || !link.dataset.streamUrl) { poll(); return; }
  var source = new EventSource(link.dataset.streamUrl);
  source.onmessage = soon;
  source.addEventListener("event", soon);
  source.onopen = function () { if (polling) { clearInterval(polling); polling = null; } };
  source.onerror = function () { poll(); };
})();
