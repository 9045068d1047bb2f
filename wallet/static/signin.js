// Sign-in glue: OpenID Connect authorization code + PKCE S256 as the public client (verifier and state in
// sessionStorage); the tokens, DPoP-bound and rotated, stay on the phone across restarts (session.js). Here: going
// to sign-in and coming back, calling the service with the token, and the "staying signed in" box.
import * as tb from "./tb-format.js";
import * as session from "./session.js";
import { $, en, needsNetwork, say } from "./ui.js";

const ORIGIN = location.origin;
const REDIRECT_URI = ORIGIN + "/wallet/";
const CLIENT_ID = document.body.dataset.clientId;
const SCOPE = document.body.dataset.scope;

export async function signIn(after = "records") {  // after: what to open on return ("records", "family", "health:<slot>", "home")
  if (!navigator.onLine) return needsNetwork("登录", "signing in");  // not the browser's offline page
  try {  // navigator.onLine can be true with no way through (a captive portal, the service down): ask first
    await fetch("/.well-known/openid-configuration", { method: "HEAD", cache: "no-store" });
  } catch {
    return needsNetwork("登录", "signing in");
  }
  sessionStorage.setItem("tb.after", after);
  const verifier = tb.b64url(crypto.getRandomValues(new Uint8Array(32)));
  const state = tb.b64url(crypto.getRandomValues(new Uint8Array(16)));
  const challenge = tb.b64url(await tb.sha256(new TextEncoder().encode(verifier)));
  sessionStorage.setItem("tb.pkce", JSON.stringify({ verifier, state }));
  say("正在前往登录… / Going to sign-in…");
  location.assign("/authorize?" + new URLSearchParams({
    response_type: "code", client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, scope: SCOPE, state,
    code_challenge: challenge, code_challenge_method: "S256",
    ...(localStorage.getItem("tb.signed-out") === "1" ? { prompt: "login" } : {}),  // after a sign-out: the password again
  }));
}

// Returns true when this load is the return from the IdP and the token was obtained.
export async function finishSignIn() {
  const params = new URLSearchParams(location.search);
  if (!params.has("code") && !params.has("error")) return false;
  history.replaceState(null, "", REDIRECT_URI);
  const saved = JSON.parse(sessionStorage.getItem("tb.pkce") || "null");
  sessionStorage.removeItem("tb.pkce");
  if (params.has("error")) {
    say(params.get("error") === "access_denied" ? "您未同意授权，未添加证照。 / You declined; nothing was added."
      : "登录未完成，请重试。 / Sign-in did not finish; try again.", true);
    return false;
  }
  if (!saved || params.get("state") !== saved.state || (params.has("iss") && params.get("iss") !== ORIGIN)) {
    say("登录响应无法核对，已忽略。 / The sign-in answer did not match this wallet's request; ignored.", true);
    return false;
  }
  if (!await session.exchangeCode(params.get("code"), saved.verifier, REDIRECT_URI).catch(() => false)) {
    say("登录失败，请重试。 / Sign-in failed; try again.", true);
    return false;
  }
  localStorage.removeItem("tb.signed-out");
  say("");
  return true;
}


export async function api(method, path, body) {  // signed out: status 401; no connection: throws
  let response;
  try {
    response = await session.authFetch(path, { method, body: body && JSON.stringify(body),
      headers: body ? { "Content-Type": "application/json" } : {} });
  } catch (error) {
    if (error instanceof session.SignedOut) return { ok: false, status: 401, data: {} };
    throw error;
  }
  return { ok: response.ok, status: response.status, data: await response.json().catch(() => ({})) };
}


// The box under the licences: signed in (with Sign out), or the sign-in has ended (with Sign in again; never
// an automatic redirect, so a refused refresh token cannot loop). Nothing shows before the first sign-in.
export async function renderSession(ended = false) {
  const signed = await session.signedIn();
  $("session-box").hidden = !signed && !ended;
  $("session-box").dataset.state = signed ? "signed-in" : "ended";
  $("session-words").replaceChildren(...(signed
    ? ["本机保持登录：30 天内无需再次输入密码。 ", en("Signed in on this phone for 30 days after the last use.")]
    : ["登录已失效，请重新登录以更新健康码。 ", en("Your sign-in has ended; sign in again to keep your codes current.")]));
  $("session-button").replaceChildren(...(signed ? ["退出登录 ", en("Sign out")]
    : ["重新登录 ", en("Sign in again")]));
}


// Signs out (or, when the sign-in has ended, signs in again); then ``after()`` (health.js re-checks the codes).
export async function sessionButton(after) {
  if ($("session-box").dataset.state !== "signed-in") return signIn("home");
  const button = $("session-button");
  button.disabled = true;
  const revoked = await session.signOut().catch(() => false);
  localStorage.setItem("tb.signed-out", "1");  // the next sign-in asks for the password (prompt=login)
  button.disabled = false;
  await renderSession();
  await after();
  say(revoked ? "已退出登录，证照仍保存在本机。 / Signed out; your licences stay on this phone."
    : "已在本机退出登录（服务器暂未确认）。 / Signed out on this phone (the server could not confirm it yet).");
}

