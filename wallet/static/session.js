// The wallet's sign-in that lasts on this phone (imported by wallet.js; no DOM except the client id).
//
//  * DPoP (RFC 9449): a non-extractable WebCrypto P-256 key, made at each sign-in and kept in IndexedDB. Every
//    request to the token endpoint carries a proof signed by it (§4), so the identity provider binds the refresh-token
//    family to the key's thumbprint (§5, idp/grants.py `bind_family`): a copied refresh token is useless without
//    the key, and the key cannot be copied. Sign-out deletes the key, so even an un-revoked token is dead.
//  * Rotation (RFC 9700 §4.14.2): the provider answers every refresh with a new refresh token and treats a second
//    use of the old one as theft (the family is revoked). So refreshes run one at a time across every tab of the
//    wallet (navigator.locks), each first re-reads the stored tokens (another tab may just have rotated them), and
//    the new pair replaces the old in one IndexedDB transaction.
//  * Kept in IndexedDB ("tongban-session"), not sessionStorage, so a browser restart keeps the citizen signed in:
//    30 days after the last refresh (idp.rotation.RotationPolicy.token_ttl, sliding with each rotation).
//  * Failures: no connection (fetch throws) or a 5xx keeps the tokens (try later); a refused refresh token
//    (invalid_grant: revoked, expired, reused) deletes them and raises SignedOut: the page offers sign-in once,
//    never in a loop.
import * as tb from "./tb-format.js";

const ORIGIN = location.origin;
const TOKEN_URL = ORIGIN + "/token";
const LOCK = "tongban-wallet-tokens";
const EARLY = 30;  // seconds: refresh an access token this long before it expires
// The issuer's endpoints (/issuer/*) accept an access token as `Authorization: Bearer` only (issuer/vci.py,
// issuer/health_web.py); the provider's own resource (/userinfo) takes `Authorization: DPoP` with a proof (§7).

export class SignedOut extends Error {
  constructor(reason = "signed_out") { super(reason); this.reason = reason; }
}

// ---------------------------------------------------------------------------------------------- IndexedDB
let dbPromise = null;
function db() {
  dbPromise ??= new Promise((resolve, reject) => {
    const open = indexedDB.open("tongban-session", 1);
    open.onupgradeneeded = () => { open.result.createObjectStore("session"); };  // "tokens", "dpop-key"
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  return dbPromise;
}
async function write(fn) {  // one readwrite transaction: all of fn's changes or none
  const d = await db();
  return new Promise((resolve, reject) => {
    const t = d.transaction("session", "readwrite");
    fn(t.objectStore("session"));
    t.oncomplete = () => resolve();
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error);
  });
}
async function read(key) {
  const d = await db();
  return new Promise((resolve, reject) => {
    const request = d.transaction("session").objectStore("session").get(key);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

const oneAtATime = (fn) => (navigator.locks ? navigator.locks.request(LOCK, fn) : fn());
const nowSeconds = () => Math.floor(Date.now() / 1000);
const fresh = (t) => t?.access_token && t.expires_at > nowSeconds() + EARLY;
const clientId = () => document.body.dataset.clientId;
const channel = "BroadcastChannel" in self ? new BroadcastChannel("tongban-session") : null;

// ---------------------------------------------------------------------------------------------- DPoP proofs
let clockOffset = 0;  // server time - phone time, learnt from a refused proof's Date header (iat must be recent)
// A proof's iat may be at most 30 s ahead of the server's clock (idp/dpop.py SKEW): correct beyond 20 s (Date has
// whole seconds). Returns whether the offset changed, i.e. whether a new proof is worth sending.
function learnClock(response) {
  const serverTime = Date.parse(response.headers.get("Date") || "") / 1000;
  if (!Number.isFinite(serverTime) || Math.abs(serverTime - nowSeconds() - clockOffset) <= 20) return false;
  clockOffset = Math.round(serverTime - nowSeconds());
  return true;
}

async function dpopKey() {
  const key = await read("dpop-key");
  if (!key) throw new SignedOut("no_key");
  return key;
}
async function newDpopKey() {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
  const { kty, crv, x, y } = await crypto.subtle.exportKey("jwk", pair.publicKey);
  return { privateKey: pair.privateKey, publicJwk: { kty, crv, x, y }, created: Date.now() };
}
// RFC 9449 §4.2: typ dpop+jwt, the public key in the header; jti, htm, htu, iat (and ath for a resource).
async function proof(key, method, url, accessToken) {
  const claims = { jti: tb.b64url(crypto.getRandomValues(new Uint8Array(16))), htm: method,
    htu: new URL(url, ORIGIN).href.split(/[?#]/)[0], iat: nowSeconds() + clockOffset };
  if (accessToken) claims.ath = tb.b64url(await tb.sha256(new TextEncoder().encode(accessToken)));
  return tb.signJwt({ typ: "dpop+jwt", alg: "ES256", jwk: key.publicJwk }, claims, key.privateKey);
}

// POST to the token endpoint with a fresh proof; once more if the proof was refused for the phone's clock.
async function tokenRequest(key, params) {
  const send = async () => fetch(TOKEN_URL, { method: "POST", headers: { DPoP: await proof(key, "POST", TOKEN_URL) },
    body: new URLSearchParams({ ...params, client_id: clientId() }) });
  let response = await send();
  if (response.status === 400) {
    const body = await response.clone().json().catch(() => ({}));
    if (body.error === "invalid_dpop_proof" && learnClock(response)) response = await send();
  }
  return response;
}

function tokens(body, previous = {}) {
  return { access_token: body.access_token, token_type: body.token_type || "Bearer",
    expires_at: nowSeconds() + (Number(body.expires_in) || 300), scope: body.scope || previous.scope || "",
    refresh_token: body.refresh_token || previous.refresh_token || null,
    signed_in_at: previous.signed_in_at || nowSeconds(), refreshed_at: nowSeconds() };
}

async function forget(reason) {
  await write((s) => { s.delete("tokens"); s.delete("dpop-key"); });
  channel?.postMessage({ signedOut: reason });
  dispatchEvent(new CustomEvent("tb-signed-out", { detail: reason }));
}

// Under the lock: the stored tokens, refreshed unless they are fresh (or newer than the access token `refused`).
async function refreshLocked(refused = null) {
  const stored = await read("tokens");
  if (!stored) return null;
  if (fresh(stored) && stored.access_token !== refused) return stored;  // another tab refreshed meanwhile
  const key = await read("dpop-key");
  if (!stored.refresh_token || !key) { await forget("expired"); return null; }
  const response = await tokenRequest(key, { grant_type: "refresh_token", refresh_token: stored.refresh_token });
  const body = await response.json().catch(() => ({}));
  if (response.ok && body.access_token) {
    const next = tokens(body, stored);
    await write((s) => s.put(next, "tokens"));
    return next;
  }
  if (response.status >= 400 && response.status < 500 && body.error !== "invalid_dpop_proof") {
    await forget(body.error || "refused");  // revoked, expired or reused: only a new sign-in helps
    return null;
  }
  throw new Error("token endpoint: HTTP " + response.status + " " + (body.error || ""));  // try again later
}

// ---------------------------------------------------------------------------------------------- API
/** Whether this phone holds a sign-in (a refresh token, or an access token still valid). */
export async function signedIn() {
  const stored = await read("tokens");
  return Boolean(stored && (stored.refresh_token || fresh(stored)));
}

/** The current tokens, refreshed when the access token is (nearly) expired; null when signed out.
 *  Throws TypeError (no connection) or Error (server trouble) when a needed refresh could not happen. */
export async function current() {
  const stored = await read("tokens");
  if (!stored) return null;
  if (fresh(stored)) return stored;
  return oneAtATime(() => refreshLocked());
}

/** Rotate now (the access token was refused, or a test asks): returns the new tokens, or null when signed out. */
export async function refresh(refused = null) {
  return oneAtATime(() => refreshLocked(refused));
}

/** fetch() with the access token: DPoP with a proof for this request (RFC 9449 §7), at the IdP and the issuer alike.
 *  A 401 gets one refresh and one retry. Throws SignedOut when there is no sign-in (or it has ended). */
export async function authFetch(url, init = {}) {
  const send = async (t) => {
    const headers = new Headers(init.headers || {});
    if (t.token_type === "DPoP") {
      headers.set("Authorization", "DPoP " + t.access_token);
      headers.set("DPoP", await proof(await dpopKey(), (init.method || "GET").toUpperCase(), url, t.access_token));
    } else {
      headers.set("Authorization", "Bearer " + t.access_token);
    }
    return fetch(url, { ...init, headers });
  };
  let t = await current();
  if (!t) throw new SignedOut();
  let response = await send(t);
  if (response.status === 401 && t.token_type === "DPoP" && /invalid_dpop_proof/.test(
    response.headers.get("WWW-Authenticate") || "") && learnClock(response)) response = await send(t);  // the clock
  if (response.status !== 401) return response;
  t = await refresh(t.access_token);
  if (!t) throw new SignedOut();
  return send(t);
}

/** The authorization code's exchange (RFC 6749 §4.1.3 + PKCE), with a new DPoP key that the family is bound to. */
export async function exchangeCode(code, verifier, redirectUri) {
  return oneAtATime(async () => {
    const key = await newDpopKey();
    const response = await tokenRequest(key, { grant_type: "authorization_code", code, redirect_uri: redirectUri,
      code_verifier: verifier });
    const body = await response.json().catch(() => ({}));
    if (!response.ok || !body.access_token) return false;
    await write((s) => { s.put(key, "dpop-key"); s.put(tokens(body), "tokens"); });
    navigator.storage?.persist?.().catch(() => {});  // ask the browser not to evict the wallet under storage pressure
    channel?.postMessage({ signedIn: true });
    return true;
  });
}

/** Sign-out: revoke the refresh token (RFC 7009 §2; the provider revokes its whole family, access tokens too),
 *  then delete the tokens and the DPoP key, also when the revocation could not be sent (the token is then bound
 *  to a key that no longer exists). Returns whether the provider confirmed the revocation. */
export async function signOut() {
  return oneAtATime(async () => {
    const stored = await read("tokens");
    let revoked = false;
    const token = stored?.refresh_token || stored?.access_token;
    if (token) {
      try {
        const response = await fetch(ORIGIN + "/revoke", { method: "POST", body: new URLSearchParams({ token,
          token_type_hint: stored.refresh_token ? "refresh_token" : "access_token", client_id: clientId() }) });
        revoked = response.ok;
      } catch { /* offline: the key goes below, which is enough */ }
    }
    await forget("signed_out");
    return revoked;
  });
}

/** Another tab signed in or out: call back so this tab can redraw. */
export function onChange(callback) {
  channel?.addEventListener("message", (event) => callback(event.data));
}
