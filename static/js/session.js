// Session expiry without lost work (issue 17 item 7). No inline script (strict CSP).
// - Warns SESSION_WARNING_SECONDS before the deadline and offers to extend it.
// - After the deadline, says so in the same banner (the server keeps a form posted late and puts it back).
// - Puts back the text of a form that was posted after the session had expired.
(function () {
  "use strict";
  var body = document.body;
  var deadline = Number(body.getAttribute("data-session-deadline")) * 1000;
  var warning = Number(body.getAttribute("data-session-warning") || 300) * 1000;
  var extendUrl = body.getAttribute("data-session-extend-url");
  var loginUrl = body.getAttribute("data-login-url");
  var banner = null, timer = null;

  function hhmm(ms) {
    var d = new Date(ms);
    return ("0" + d.getHours()).slice(-2) + ":" + ("0" + d.getMinutes()).slice(-2);
  }

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function ensureBanner() {
    if (banner) { return banner; }
    banner = document.createElement("div");
    banner.className = "alert alert--warning session-banner";
    banner.setAttribute("role", "alertdialog");
    banner.setAttribute("aria-labelledby", "session-banner-text");
    var text = document.createElement("p");
    text.id = "session-banner-text";
    banner.appendChild(text);
    var actions = document.createElement("p");
    var button = document.createElement("button");
    button.type = "button";
    button.className = "button button--primary button--small";
    button.id = "session-extend";
    button.addEventListener("click", extend);
    actions.appendChild(button);
    banner.appendChild(actions);
    var main = document.getElementById("main");
    main.insertBefore(banner, main.firstChild);
    return banner;
  }

  function show(message, buttonText, focus) {
    var box = ensureBanner();
    box.querySelector("#session-banner-text").textContent = message;
    box.querySelector("#session-extend").textContent = buttonText;
    box.hidden = false;
    if (focus) { box.querySelector("#session-extend").focus(); }
  }

  function expired() {
    show("ログインの有効期限が切れました。入力中の内容は、送信するとログインし直した後に画面へ戻ります。",
         "ログインし直す", true);
  }

  function schedule() {
    window.clearTimeout(timer);
    var now = Date.now();
    if (now >= deadline) { expired(); return; }
    if (now >= deadline - warning) {
      show("まもなくログインの有効期限（" + hhmm(deadline) + "）が切れます。作業を続ける場合は延長してください。",
           "ログインを延長する", !banner || banner.hidden);
      timer = window.setTimeout(schedule, Math.min(deadline - now, 30000));
      return;
    }
    if (banner) { banner.hidden = true; }
    timer = window.setTimeout(schedule, Math.min(deadline - warning - now, 60000));
  }

  function extend() {
    if (Date.now() >= deadline) { window.location.href = loginUrl; return; }
    fetch(extendUrl, {method: "POST", credentials: "same-origin",
                      headers: {"X-CSRFToken": csrf(), "X-Requested-With": "fetch"}})
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      })
      .then(function (data) {
        deadline = data.deadline * 1000;
        body.setAttribute("data-session-deadline", String(data.deadline));
        var status = document.getElementById("session-status");
        if (status) { status.textContent = "ログインを " + hhmm(deadline) + " まで延長しました。"; }
        schedule();
        if (Date.now() < deadline - warning && banner) { banner.hidden = true; }
      })
      .catch(function () { expired(); });
  }

  // A polite live region for "extended" (the banner itself is an alertdialog).
  var live = document.createElement("p");
  live.id = "session-status";
  live.className = "visually-hidden";
  live.setAttribute("aria-live", "polite");
  document.body.appendChild(live);
  // The queue poll learnt that the session is over: say it here too.
  document.body.addEventListener("madoguchi:session-expired", function () { deadline = Date.now(); expired(); });
  if (deadline) { schedule(); }

  // ---- put back the text of a form posted after expiry ------------------------------------------------
  var kept = document.getElementById("pending-form");
  if (!kept) { return; }
  var pending;
  try { pending = JSON.parse(kept.textContent); } catch (e) { return; }
  var forms = Array.prototype.slice.call(document.querySelectorAll("form"));
  var form = forms.filter(function (f) {
    return f.getAttribute("action") === pending.action || f.getAttribute("hx-post") === pending.action;
  })[0];
  if (!form) {
    form = forms.filter(function (f) {
      return pending.fields.some(function (pair) { return f.elements.namedItem(pair[0]); });
    })[0];
  }
  if (!form) { return; }
  var first = null;
  pending.fields.forEach(function (pair) {
    var field = form.elements.namedItem(pair[0]);
    if (!field) { return; }
    if (field.length !== undefined && !field.tagName) {  // radio or checkbox group
      Array.prototype.forEach.call(field, function (item) { if (item.value === pair[1]) { item.checked = true; } });
      return;
    }
    if (field.type === "checkbox" || field.type === "radio") { field.checked = field.value === pair[1]; }
    else if (field.type !== "hidden" && field.type !== "file") { field.value = pair[1]; }
    if (!first && field.type !== "hidden") { first = field; }
  });
  var notice = document.createElement("div");
  notice.className = "alert alert--warning";
  notice.setAttribute("role", "alert");
  notice.textContent = "ログインが切れていたため送信できなかった内容を戻しました。内容を確かめて、もう一度送信してください。";
  form.insertBefore(notice, form.firstChild);
  if (first) { first.focus(); }
})();
