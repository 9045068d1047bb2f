// Passkeys on the sign-in and account pages (WebAuthn Level 3): "用通行密钥登录 / Sign in with a passkey" and
// "添加通行密钥 / Add a passkey". The server makes the options and checks the answer (idp/passkeys.py); this
// script only carries them between it and navigator.credentials, converting base64url <-> ArrayBuffer.
// A form marked data-passkey-form stays hidden without WebAuthn. No inline script (CSP default-src 'self').
(function () {
  "use strict";
  function fromB64url(text) {
    var s = text.replace(/-/g, "+").replace(/_/g, "/");
    var bin = atob(s + "===".slice((s.length + 3) % 4));
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }
  function b64url(buffer) {
    var bytes = new Uint8Array(buffer), bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function descriptors(list) {
    return (list || []).map(function (d) { return Object.assign({}, d, { id: fromB64url(d.id) }); });
  }
  function creationOptions(o) {
    return Object.assign({}, o, { challenge: fromB64url(o.challenge), user: Object.assign({}, o.user, { id: fromB64url(o.user.id) }),
      excludeCredentials: descriptors(o.excludeCredentials) });
  }
  function requestOptions(o) {
    return Object.assign({}, o, { challenge: fromB64url(o.challenge), allowCredentials: descriptors(o.allowCredentials) });
  }
  function credentialJson(c) {
    var r = c.response, response = { clientDataJSON: b64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = b64url(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = b64url(r.authenticatorData);
      response.signature = b64url(r.signature);
      if (r.userHandle) response.userHandle = b64url(r.userHandle);
    }
    return JSON.stringify({ id: c.id, rawId: b64url(c.rawId), type: c.type, response: response,
      authenticatorAttachment: c.authenticatorAttachment || undefined,
      clientExtensionResults: c.getClientExtensionResults ? c.getClientExtensionResults() : {} });
  }
  async function post(url, form, extra) {
    var body = new URLSearchParams(new FormData(form));
    for (var k in extra || {}) body.set(k, extra[k]);
    var response = await fetch(url, { method: "POST", body: body, credentials: "same-origin" });
    var data = await response.json().catch(function () { return {}; });
    if (!response.ok) throw new Error(data.message || "请求失败，请重试。 / The request failed; try again.");
    return data;
  }
  function cancelled(error) {  // the citizen closed the browser's passkey sheet, or it timed out
    return error && (error.name === "NotAllowedError" || error.name === "AbortError");
  }
  var CANCELLED = "已取消，或此设备上没有可用的通行密钥。 / Cancelled, or no passkey for this site on this device.";
  var ACTIONS = {
    login: async function (form) {
      var options = await post("/login/passkey/options", form);
      var credential = await navigator.credentials.get({ publicKey: requestOptions(options) });
      var done = await post("/login/passkey", form, { credential: credentialJson(credential) });
      location.assign(done.redirect);
    },
    register: async function (form) {
      var options = await post("/account/passkeys/options", form);
      var credential = await navigator.credentials.create({ publicKey: creationOptions(options) });
      var done = await post("/account/passkeys", form, { credential: credentialJson(credential) });
      location.assign(done.redirect);
    },
  };
  document.addEventListener("DOMContentLoaded", function () {
    var supported = Boolean(window.PublicKeyCredential && navigator.credentials);
    document.querySelectorAll("[data-passkey-unsupported]").forEach(function (p) { p.hidden = supported; });
    document.querySelectorAll("form[data-passkey-form]").forEach(function (form) {
      if (!supported) return;
      form.hidden = false;
      var error = form.querySelector("[data-passkey-error]");
      var button = form.querySelector("button[type=submit]");
      form.addEventListener("submit", async function (event) {
        event.preventDefault();
        error.hidden = true;
        button.disabled = true;
        try {
          await ACTIONS[form.dataset.passkeyForm](form);
        } catch (e) {
          error.textContent = cancelled(e) ? CANCELLED : (e.message || String(e));
          error.hidden = false;
        } finally {
          button.disabled = false;
        }
      });
    });
  });
})();
