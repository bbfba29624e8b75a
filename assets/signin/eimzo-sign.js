// Sign the portal's one-time challenge with the E-IMZO application on this computer (its WebSocket API),
// then post the PKCS#7 to the portal, which has E-IMZO-SERVER verify it. Only for the sign-in page.
(function () {
  "use strict";
  var form = document.getElementById("eimzo-form");
  if (!form) { return; }
  var select = document.getElementById("eimzo-keys");
  var button = document.getElementById("eimzo-sign");
  var errorBox = document.getElementById("eimzo-error");
  var keys = [];
  var waiting = [];
  var socket;

  function showError(text) {
    errorBox.textContent = text;  // text, never HTML: certificate fields come from outside
    errorBox.classList.remove("d-none");
  }

  // The agent answers requests in order: one promise per request, settled by the next answer.
  function call(message) {
    return new Promise(function (resolve, reject) {
      waiting.push({ resolve: resolve, reject: reject });
      socket.send(JSON.stringify(message));
    });
  }

  function answered(event) {
    var next = waiting.shift();
    if (!next) { return; }
    var data;
    try { data = JSON.parse(event.data); } catch (e) { next.reject(String(e)); return; }
    if (data.success === false) { next.reject(data.reason || "E-IMZO"); } else { next.resolve(data); }
  }

  // A certificate alias reads "cn=...,name=...,validto=2026.01.31 ...": the parts a person recognizes.
  function describe(certificate) {
    var fields = {};
    String(certificate.alias || "").split(",").forEach(function (part) {
      var at = part.indexOf("=");
      if (at > 0) { fields[part.slice(0, at).trim().toLowerCase()] = part.slice(at + 1).trim(); }
    });
    var name = (fields.cn || certificate.name || "").toUpperCase();
    var until = (fields.validto || "").split(" ")[0];
    return until ? name + " (" + form.dataset.validTo + " " + until + ")" : name;
  }

  function base64(text) {
    var bytes = new TextEncoder().encode(text);
    var binary = "";
    bytes.forEach(function (b) { binary += String.fromCharCode(b); });
    return btoa(binary);
  }

  function listKeys() {
    var start = Promise.resolve();
    var apiKey = form.dataset.apiKey;
    if (apiKey) {
      var at = apiKey.indexOf(":");
      start = call({ name: "apikey", arguments: [apiKey.slice(0, at), apiKey.slice(at + 1)] });
    }
    return start.then(function () {
      return call({ plugin: "pfx", name: "list_all_certificates" });
    }).then(function (data) {
      keys = data.certificates || [];
      if (!keys.length) { showError(form.dataset.noKeys); return; }
      keys.forEach(function (certificate, index) {
        var option = document.createElement("option");
        option.value = String(index);
        option.textContent = describe(certificate);
        select.appendChild(option);
      });
      select.disabled = false;
      button.disabled = false;
    });
  }

  function signChallenge() {
    var certificate = keys[Number(select.value)];
    if (!certificate) { return; }
    button.disabled = true;
    call({
      plugin: "pfx", name: "load_key",
      arguments: [certificate.disk, certificate.path, certificate.name, certificate.alias]
    }).then(function (loaded) {
      return call({ plugin: "pkcs7", name: "create_pkcs7", arguments: [base64(form.dataset.challenge), loaded.keyId, "no"] });
    }).then(function (signed) {
      document.getElementById("eimzo-pkcs7").value = signed.pkcs7_64;
      form.submit();
    }).catch(function (reason) {
      button.disabled = false;
      showError(form.dataset.refused.replace("{reason}", String(reason)));
    });
  }

  button.addEventListener("click", signChallenge);
  try {
    socket = new WebSocket(form.dataset.agent);
  } catch (e) {
    showError(form.dataset.noAgent);
    return;
  }
  socket.onmessage = answered;
  socket.onerror = function () { showError(form.dataset.noAgent); };
  socket.onopen = function () { listKeys().catch(function (reason) { showError(form.dataset.refused.replace("{reason}", String(reason))); }); };
})();
