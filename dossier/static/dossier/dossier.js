// The dossier panel: upload by drag and drop (or the file field) with progress and a clear
// refusal message, preview of PDF and images in the page, refresh of the panel after an upload.
(function () {
  "use strict";

  function panel() { return document.getElementById("dossier-panel"); }

  function say(form, text, ok) {
    var box = form.querySelector(".dossier-message");
    if (!box) { return; }
    box.className = "dossier-message fr-mt-1w fr-alert fr-alert--sm " + (ok ? "fr-alert--success" : "fr-alert--error");
    box.textContent = text;
  }

  function refresh(message) {
    var current = panel();
    if (!current) { return; }
    fetch(current.dataset.panelUrl, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null) { return; }
        current.outerHTML = html;
        var form = panel().querySelector(".dossier-upload");
        if (form && message) { say(form, message, true); }
      });
  }

  function send(form) {
    var input = form.querySelector("input[type=file]");
    var file = input && input.files && input.files[0];
    if (!file) { return; }
    if (file.size > Number(form.dataset.maxBytes)) { say(form, form.dataset.tooLarge, false); return; }
    var progress = form.querySelector(".dossier-progress");
    var token = form.querySelector("input[name=csrfmiddlewaretoken]");
    var request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.setRequestHeader("Accept", "application/json");
    if (token) { request.setRequestHeader("X-CSRFToken", token.value); }
    request.upload.onprogress = function (event) {
      if (event.lengthComputable && progress) { progress.value = Math.round(100 * event.loaded / event.total); }
    };
    request.onload = function () {
      if (progress) { progress.hidden = true; }
      var body = null;
      try { body = JSON.parse(request.responseText); } catch (error) { body = null; }
      if (request.status === 200 || request.status === 201) { refresh(body && body.detail); return; }
      if (request.status === 413 || (body && body.code === "too_large")) { say(form, form.dataset.tooLarge, false); return; }
      say(form, (body && body.detail) || form.dataset.failed, false);
    };
    request.onerror = function () {
      if (progress) { progress.hidden = true; }
      say(form, form.dataset.failed, false);
    };
    if (progress) { progress.hidden = false; progress.value = 0; }
    say(form, "", true);
    request.send(new FormData(form));
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.classList && form.classList.contains("dossier-upload") && window.FormData) {
      event.preventDefault();
      send(form);
    }
  });

  function zone(target) { return target && target.closest ? target.closest(".dossier-drop") : null; }
  document.addEventListener("dragover", function (event) {
    var drop = zone(event.target);
    if (drop) { event.preventDefault(); drop.classList.add("dossier-drop--over"); }
  });
  document.addEventListener("dragleave", function (event) {
    var drop = zone(event.target);
    if (drop) { drop.classList.remove("dossier-drop--over"); }
  });
  document.addEventListener("drop", function (event) {
    var drop = zone(event.target);
    if (!drop || !event.dataTransfer || !event.dataTransfer.files.length) { return; }
    event.preventDefault();
    drop.classList.remove("dossier-drop--over");
    var form = drop.closest("form");
    form.querySelector("input[type=file]").files = event.dataTransfer.files;
    send(form);
  });

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest(".dossier-preview-link, .dossier-preview-close") : null;
    if (!link) { return; }
    var box = panel() && panel().querySelector(".dossier-preview");
    if (!box) { return; }
    event.preventDefault();
    var frame = box.querySelector(".dossier-preview-frame");
    var image = box.querySelector(".dossier-preview-image");
    if (link.classList.contains("dossier-preview-close")) {
      box.hidden = true; frame.removeAttribute("src"); image.removeAttribute("src"); return;
    }
    box.querySelector(".dossier-preview-title").textContent = link.dataset.title;
    var pdf = link.dataset.kind === "pdf";
    frame.hidden = !pdf; image.hidden = pdf;
    if (pdf) { frame.src = link.href; } else { image.src = link.href; image.alt = link.dataset.title; }
    box.hidden = false;
    box.scrollIntoView({ block: "nearest" });
  });
})();
