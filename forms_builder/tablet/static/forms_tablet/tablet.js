// The resident's tablet: polls for what to show (204 while unchanged), swaps the screen in place, signs with
// signature_pad, sends 「訂正を依頼」. After signing, a recall or the case's close it shows the waiting screen
// and drops the previous document from the page; nothing is kept in history (no navigation happens, and the
// page is not kept in the back/forward cache).
(function () {
  "use strict";
  var POLL_MS = 300;
  var app, screen, pad = null, timer = null, busy = false;

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function setScreen(html, key) {
    if (pad) { pad.off(); pad = null; }
    screen.innerHTML = html;
    screen.setAttribute("data-screen", key);
    setup();
  }

  function waiting(message) {
    // Show the waiting screen at once (the server agrees at the next poll).
    var tpl = document.getElementById("tablet-waiting-template");
    screen.innerHTML = "";
    screen.setAttribute("data-screen", "waiting");
    if (tpl) { screen.appendChild(tpl.content.cloneNode(true)); }
    var status = document.getElementById("tablet-message");
    if (status && message) { status.textContent = message; }
  }

  function poll() {
    if (busy) { schedule(); return; }
    var url = app.getAttribute("data-state-url") + "?have=" + encodeURIComponent(screen.getAttribute("data-screen") || "");
    fetch(url, { credentials: "same-origin", cache: "no-store", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (response.status === 204) { return null; }
        if (response.status === 403) {
          window.location.replace(app.getAttribute("data-home-url"));
          return null;
        }
        if (!response.ok) { return null; }
        var key = response.headers.get("X-Tablet-Screen") || "";
        return response.text().then(function (html) { setScreen(html, key); });
      })
      .catch(function () { /* offline for a moment: try again */ })
      .then(schedule);
  }

  function schedule() {
    window.clearTimeout(timer);
    timer = window.setTimeout(poll, POLL_MS);
  }

  function resizeCanvas(canvas) {
    var ratio = Math.max(window.devicePixelRatio || 1, 1);
    var data = pad ? pad.toData() : [];
    canvas.width = canvas.offsetWidth * ratio;
    canvas.height = canvas.offsetHeight * ratio;
    canvas.getContext("2d").scale(ratio, ratio);
    if (pad) { pad.clear(); pad.fromData(data); }
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin", cache: "no-store",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; },
        function () { return { ok: false, data: { errors: ["通信に失敗しました。もう一度お試しください。"] } }; });
    });
  }

  function setup() {
    var doc = screen.querySelector(".tablet-doc");
    if (!doc) { return; }
    var canvas = document.getElementById("signature-canvas");
    var error = document.getElementById("sign-error");
    if (canvas && window.SignaturePad) {
      pad = new window.SignaturePad(canvas, { minWidth: 1.2, maxWidth: 3.5, penColor: "#000", backgroundColor: "rgba(255,255,255,0)" });
      resizeCanvas(canvas);
    }
    document.getElementById("sign-clear").addEventListener("click", function () {
      if (pad) { pad.clear(); }
      error.hidden = true;
    });
    document.getElementById("sign-submit").addEventListener("click", function () {
      if (!pad || pad.isEmpty()) {
        error.textContent = "署名がありません。枠の中に指でお名前を書いてください。";
        error.hidden = false;
        return;
      }
      busy = true;
      var button = this;
      button.disabled = true;
      post(doc.getAttribute("data-sign-url"), { strokes: pad.toData(), png: pad.toDataURL("image/png") })
        .then(function (result) {
          busy = false;
          button.disabled = false;
          if (result.ok) {
            waiting("署名を受け付けました。ありがとうございました。");
          } else {
            error.textContent = (result.data.errors || []).join(" ");
            error.hidden = false;
          }
        }, function () {
          busy = false;
          button.disabled = false;
          error.textContent = "通信に失敗しました。もう一度お試しください。";
          error.hidden = false;
        });
    });
    var open = document.getElementById("correction-open");
    var form = document.getElementById("correction-form");
    open.addEventListener("click", function () {
      form.hidden = !form.hidden;
      open.setAttribute("aria-expanded", form.hidden ? "false" : "true");
      if (!form.hidden) { document.getElementById("correction-text").focus(); }
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var status = document.getElementById("correction-status");
      post(doc.getAttribute("data-correction-url"), { text: document.getElementById("correction-text").value })
        .then(function (result) {
          if (result.ok) {
            form.hidden = true;
            open.setAttribute("aria-expanded", "false");
            document.getElementById("correction-text").value = "";
            status.textContent = "職員にお知らせしました。職員がお伺いします。";
          } else {
            status.textContent = (result.data.errors || []).join(" ");
          }
        });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    app = document.getElementById("tablet-app");
    screen = document.getElementById("tablet-screen");
    if (!app || !screen) { return; }
    if (window.location.hash || window.location.search) {
      window.history.replaceState(null, "", window.location.pathname);
    }
    setup();
    schedule();
  });

  // Leaving the page (back button, another address): drop the document from the page so that the
  // back/forward cache has nothing of it; coming back from that cache reloads from the server.
  window.addEventListener("pagehide", function () {
    if (screen) { screen.innerHTML = ""; }
  });
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) { window.location.replace(app ? app.getAttribute("data-home-url") : "/tablet/"); }
  });
})();
