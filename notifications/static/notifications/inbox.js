// Keeps the unread badges of the header current (the header's tools and their copy in the
// mobile menu): refreshed whenever the company stream announces an event (tracking's
// EventSource); polled every 30 s when no stream is available.
(function () {
  "use strict";
  var link = document.querySelector("[data-sesame-inbox]");
  if (!link) return;
  var pending = null;

  function show(unread) {
    document.querySelectorAll("[data-sesame-unread]").forEach(function (badge) {
      var number = badge.querySelector("[data-sesame-unread-number]");
      if (number) number.textContent = String(unread);
      badge.hidden = unread === 0;
    });
  }
  function refresh() {
    fetch(link.dataset.unreadUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) show(data.unread); })
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
