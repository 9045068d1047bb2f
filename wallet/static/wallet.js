// The citizen's web wallet. Everything here runs on the phone:
//  * sign-in: OpenID Connect authorization code + PKCE S256 as the public client (verifier and state in sessionStorage);
//    the tokens, DPoP-bound and rotated, stay on the phone across restarts (session.js);
//  * device key: WebCrypto ECDSA P-256, non-extractable, a CryptoKey kept in IndexedDB; it never leaves the phone;
//  * licences: fetched from the issuer's credential endpoint (issuer/vci.py) with a key proof, kept in IndexedDB;
//  * presentations: built and signed here (tb-format.js), refreshed every 30 s, also with the network off;
//  * health codes (own, and a relative's as a family proxy) kept in IndexedDB, re-checked when online;
//  * history of what was shown, on the phone only. No alert/confirm pop-ups: messages go to the status line.
import qrcode from "./vendor/qrcode-generator-2.0.4.mjs";
import * as tb from "./tb-format.js";
import * as session from "./session.js";
import * as scan from "./scan.js";
import * as family from "./family.js";

const REFRESH_SECONDS = 30;
const ORIGIN = location.origin;
const REDIRECT_URI = ORIGIN + "/wallet/";
const CLIENT_ID = document.body.dataset.clientId;
const SCOPE = document.body.dataset.scope;
const $ = (id) => document.getElementById(id);

const CLAIM_LABELS = {
  name: ["姓名", "name"], sex: ["性别", "sex"], ethnicity: ["民族", "ethnicity"], birth_date: ["出生日期", "date of birth"],
  id_number: ["公民身份号码", "ID number"], address: ["住址", "address"], licence_number: ["证号", "licence number"],
  vehicle_classes: ["准驾车型", "vehicle classes"], first_issue_date: ["初次领证日期", "first issued"],
  valid_from: ["有效期起", "valid from"], valid_until: ["有效期至", "valid until"],
  issuing_authority: ["签发机关", "issued by"], age_over_18: ["是否年满18周岁", "aged 18 or over"],
  uscc: ["统一社会信用代码", "credit code"], legal_representative: ["法定代表人", "legal representative"],
  entity_type: ["类型", "entity type"], registered_capital: ["注册资本", "registered capital"],
  established_on: ["成立日期", "established"], business_scope: ["经营范围", "business scope"],
  registration_authority: ["登记机关", "registered by"],
  colour: ["健康码颜色", "code colour"], reason: ["原因", "reason"], region: ["地区", "region"],
  shown_by: ["代为出示人", "shown by"],
};
const PURPOSE_ORDER = ["code", "proxy-code", "age", "driving", "identity", "basic", "full", "proxy-full"];

// ---------------------------------------------------------------------------------------------- IndexedDB
let dbPromise = null;
function db() {
  dbPromise ??= new Promise((resolve, reject) => {
    const open = indexedDB.open("tongban-wallet", 2);
    open.onupgradeneeded = (event) => {
      const d = open.result;
      if (event.oldVersion < 1) {
        d.createObjectStore("keys");
        d.createObjectStore("credentials", { keyPath: "elicence_id" });
        d.createObjectStore("history", { keyPath: "id", autoIncrement: true });
      }
      if (event.oldVersion < 2) d.createObjectStore("health");  // "self", "proxy:<id>", "held"
    };
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  return dbPromise;
}
async function store(name, mode, fn) {
  const d = await db();
  return new Promise((resolve, reject) => {
    const t = d.transaction(name, mode);
    const request = fn(t.objectStore(name));
    t.oncomplete = () => resolve(request?.result);
    t.onerror = () => reject(t.error);
  });
}
const dbGet = (name, key) => store(name, "readonly", (s) => s.get(key));
const dbAll = (name) => store(name, "readonly", (s) => s.getAll());
const dbPut = (name, value, key) => store(name, "readwrite", (s) => (key === undefined ? s.put(value) : s.put(value, key)));
const dbDelete = (name, key) => store(name, "readwrite", (s) => s.delete(key));

// ---------------------------------------------------------------------------------------------- device key
async function deviceKey() {
  let key = await dbGet("keys", "device");
  if (!key) {
    const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
    const { kty, crv, x, y } = await crypto.subtle.exportKey("jwk", pair.publicKey);
    key = { privateKey: pair.privateKey, publicJwk: { kty, crv, x, y }, created: Date.now() };
    await dbPut("keys", key, "device");
  }
  return key;
}

// ---------------------------------------------------------------------------------------------- UI helpers
function say(message, error = false) {
  const status = $("status");
  status.hidden = !message;
  status.textContent = message || "";
  status.classList.toggle("error", error);
}
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v; else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}
function bilingual(text) {  // "中文 / English" -> 中文 <span class=en>English</span>
  const [zh, en] = String(text).split(" / ");
  return en ? [zh + " ", el("span", { class: "en" }, en)] : [zh];
}
function show(section) {
  say("");
  for (const id of ["home", "records", "show", "family-section"]) $(id).hidden = id !== section;
  $("history-section").hidden = section !== "home";
  if (section !== "show") stopPresenting();
  if (section === "home") renderHealthCards();  // a code fetched or re-checked meanwhile
  window.scrollTo(0, 0);
}

// ---------------------------------------------------------------------------------------------- elderly mode
function applyElderly(on) {
  document.documentElement.classList.toggle("elderly", on);
  $("elderly").checked = on;
  if (presenting) drawQr(presenting.text);
}

// ---------------------------------------------------------------------------------------------- sign-in (OIDC + PKCE)
async function signIn(after = "records") {  // after: what to open on return ("records", "family", "health:<slot>", "home")
  if (!navigator.onLine) return say("无法连接，请联网后登录。 / No connection; sign in when online.", true);  // not the browser's offline page
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
async function finishSignIn() {
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

// ---------------------------------------------------------------------------------------------- adding licences
async function openRecords() {
  if (!await session.signedIn()) return signIn();
  show("records");
  const list = $("record-list");
  list.replaceChildren(el("li", { class: "hint" }, "正在查询… / Looking up…"));
  let response;
  try {
    response = await session.authFetch("/issuer/records");
  } catch (error) {
    if (error instanceof session.SignedOut) return signIn();
    list.replaceChildren();
    return say("无法连接，请联网后重试。 / No connection; try again when online.", true);
  }
  if (!response.ok) { list.replaceChildren(); return say("查询失败。 / The lookup failed.", true); }
  const { records } = await response.json();
  const held = new Set((await dbAll("credentials")).map((c) => c.record_id));
  list.replaceChildren(...records.map((r) => el("li", { class: "record" },
    el("strong", {}, ...bilingual(r.label)),
    el("span", { class: "line" }, r.authority),
    r.valid_until ? el("span", { class: "line" }, "有效期至 ", el("span", { class: "en" }, "valid until "), r.valid_until) : null,
    el("button", { type: "button", class: "primary", "data-record": r.id, onclick: (e) => addLicence(r, e.currentTarget) },
      ...(held.has(r.id) ? ["重新添加 ", el("span", { class: "en" }, "Add again")] : ["添加到本机 ", el("span", { class: "en" }, "Add to this phone")])),
  )));
  if (!records.length) list.append(el("li", { class: "hint" }, "没有登记在您名下的证照。 / No licences are on record for you."));
}

async function addLicence(record, button) {
  button.disabled = true;
  say("正在添加… / Adding…");
  try {
    if (!await session.signedIn()) return signIn();
    const key = await deviceKey();
    // OpenID4VCI §12.2: the issuer's metadata names its identifier (the proof's aud) and endpoints.
    const meta = await (await fetch("/.well-known/openid-credential-issuer")).json();
    const { c_nonce } = await (await fetch(meta.nonce_endpoint, { method: "POST" })).json();
    const proof = await tb.signJwt({ typ: "openid4vci-proof+jwt", alg: "ES256", jwk: key.publicJwk },
      { aud: meta.credential_issuer, iat: Math.floor(Date.now() / 1000), nonce: c_nonce }, key.privateKey);
    const response = await session.authFetch(meta.credential_endpoint, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ credential_configuration_id: record.licence_type, record: record.id,
        proof: { proof_type: "jwt", jwt: proof } }),
    });
    const body = await response.json();
    if (!response.ok) { say("添加失败：" + (body.error_description || body.error) + " / Could not add the licence.", true); return; }
    const views = {};
    for (const [name, b64] of Object.entries(body.credentials[0].credential)) views[name] = tb.fromB64url(b64);
    const credential = { elicence_id: body.elicence_id, licence_type: body.licence_type, label: body.label,
      record_id: record.id, views, view_info: body.views, summary: body.summary, added_at: Date.now() };
    await dbPut("credentials", credential);
    // Added again (e.g. a new phone key or a renewed record): the newer licence replaces the older on this phone.
    for (const old of await dbAll("credentials")) {
      if (old.record_id === record.id && old.elicence_id !== credential.elicence_id) {
        await store("credentials", "readwrite", (s) => s.delete(old.elicence_id));
      }
    }
    await renderCards();
    await present(credential);
  } catch (error) {
    if (error instanceof session.SignedOut) return signIn();
    say("添加失败，请重试。 / Could not add the licence; try again.", true);
    console.error(error);
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------------------------------------- home
async function renderCards() {
  const credentials = (await dbAll("credentials")).sort((a, b) => a.added_at - b.added_at);
  $("empty").hidden = credentials.length > 0;
  $("cards").replaceChildren(...credentials.map((c) => el("li", {},
    el("button", { type: "button", class: "card " + c.licence_type, "data-elicence": c.elicence_id, onclick: () => present(c) },
      el("strong", {}, ...bilingual(c.label)),
      el("span", { class: "line" }, c.summary?.name ?? ""),
      c.summary?.valid_until ? el("span", { class: "line" }, "有效期至 ", el("span", { class: "en" }, "valid until "), c.summary.valid_until) : null,
      el("span", { class: "line" }, "点击出示 ", el("span", { class: "en" }, "Tap to show")),
    ))));
}

async function renderHistory() {
  const items = (await dbAll("history")).sort((a, b) => b.at - a.at).slice(0, 20);
  $("history-empty").hidden = items.length > 0;
  $("history").replaceChildren(...items.map((h) => el("li", {},
    el("time", { datetime: new Date(h.at).toISOString() }, new Date(h.at).toLocaleString("zh-CN", { hour12: false })),
    el("span", {}, h.label.split(" / ")[0], " · ", h.view_label.split(" / ")[0], "："),
    el("span", {}, h.claims.map((c) => (CLAIM_LABELS[c] || [c])[0]).join("、")),
    h.counter ? el("span", { class: "line" }, "柜台 ", el("span", { class: "en" }, "counter "), h.counter) : null,
  )));
}

// The citizen's own copy of where what was shown (PIPL art. 45): everything this phone recorded, as a file.
async function exportHistory() {
  const items = (await dbAll("history")).sort((a, b) => a.at - b.at).map((h) => ({
    at: new Date(h.at).toISOString(), licence: h.label, elicence_id: h.elicence_id, view: h.view,
    view_label: h.view_label, claims: h.claims, counter: h.counter || null }));
  const body = JSON.stringify({ generated_at: new Date().toISOString(),
    note: "出示记录，仅保存在本机 / What this phone showed, kept on this phone only", shown: items }, null, 1);
  const link = el("a", { href: URL.createObjectURL(new Blob([body], { type: "application/json" })),
    download: "tongban-shown.json" });
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

// ---------------------------------------------------------------------------------------------- presenting
let presenting = null;  // {credential, view, text, generatedAt, timer}

function purposes(credential) {
  return Object.keys(credential.views).sort((a, b) => PURPOSE_ORDER.indexOf(a) - PURPOSE_ORDER.indexOf(b));
}

async function present(credential, view) {
  stopPresenting();
  show("show");
  $("show-title").replaceChildren(...bilingual(credential.label));
  const names = purposes(credential);
  view ??= names.find((n) => !n.endsWith("full") && n !== "age") ?? names[0];
  $("presets").replaceChildren(...names.map((name) => el("button", {
    type: "button", "data-view": name, "aria-pressed": String(name === view), onclick: () => present(credential, name),
  }, ...bilingual(credential.view_info[name].label))));
  $("full-warning").hidden = !credential.view_info[view].claims.includes("id_number") || !view.endsWith("full");
  const health = credential.licence_type === "health-code";
  for (const id of ["band", "health-meta", "health-update", "health-stale"]) $(id).hidden = !health;
  $("proxy-banner").hidden = !health || !credential.summary.shown_by;
  if (health) paintHealth(credential);
  $("disclosed").replaceChildren(...credential.view_info[view].claims.map((c) => {
    const [zh, en] = CLAIM_LABELS[c] || [c, c];
    return el("li", {}, zh + " ", el("span", { class: "en" }, en));
  }));
  presenting = { credential, view, text: null, generatedAt: 0, timer: null, slot: credential.slot };
  await dbPut("history", { at: Date.now(), elicence_id: credential.elicence_id, label: credential.label, view,
    view_label: credential.view_info[view].label, claims: credential.view_info[view].claims });
  renderHistory();
  await refresh();
  presenting.timer = setInterval(tick, 1000);
}

function stopPresenting() {
  if (presenting?.timer) clearInterval(presenting.timer);
  presenting = null;
}

async function refresh() {
  const current = presenting;
  const key = await deviceKey();
  const now = Math.floor(Date.now() / 1000);
  const bound = scan.binding(now);  // a scanned two-way counter code: its challenge and id are signed in
  const text = await tb.presentation(current.credential.views[current.view], key.privateKey, now, bound?.challenge,
    bound?.counterId);
  if (presenting !== current || scan.binding(now) !== bound) return;  // switched view, or scanned, meanwhile
  current.text = text;
  current.generatedAt = now;
  drawQr(text);
  $("qr").dataset.iat = String(now);
  $("qr").dataset.view = current.view;
  $("qr").dataset.audience = bound?.counterId ?? "";
  tick();
}

function tick() {
  if (!presenting || !presenting.generatedAt) return;
  if (presenting.slot && presenting.credential.expires_at * 1000 <= Date.now()) return expired();
  const left = REFRESH_SECONDS - (Math.floor(Date.now() / 1000) - presenting.generatedAt);
  $("countdown").textContent = String(Math.max(left, 0));
  if (left <= 0 && !presenting.refreshing) {
    presenting.refreshing = true;
    const current = presenting;
    refresh().finally(() => { current.refreshing = false; });
  }
}

function drawQr(text) {
  const code = qrcode(0, "M");
  code.addData(text, "Alphanumeric");
  code.make();
  const modules = code.getModuleCount();
  const quiet = 4;
  const canvas = $("qr");
  const box = canvas.parentElement.clientWidth - 16;
  const ratio = window.devicePixelRatio || 1;
  const scale = Math.max(2, Math.floor((Math.min(box, 480) * ratio) / (modules + 2 * quiet)));
  const size = (modules + 2 * quiet) * scale;
  canvas.width = size;
  canvas.height = size;
  canvas.style.width = size / ratio + "px";
  canvas.style.height = size / ratio + "px";
  const g = canvas.getContext("2d");
  g.fillStyle = "#fff";
  g.fillRect(0, 0, size, size);
  g.fillStyle = "#000";
  for (let r = 0; r < modules; r++) {
    for (let c = 0; c < modules; c++) if (code.isDark(r, c)) g.fillRect((c + quiet) * scale, (r + quiet) * scale, scale, scale);
  }
}

// ---------------------------------------------------------------------------------------------- health codes
// A code sits in the "health" store under its slot: "self", or "proxy:<id>" for a relative's code held as their
// family proxy. The colour is never shown alone: its words go beside it, and the reason when there is one.
const CHECK_SECONDS = 60;
const NO_ANOMALY = "无异常";
const COLOUR_WORDS = {
  green: ["绿码 · 无异常", "Green · no anomaly"], yellow: ["黄码 · 需核查", "Yellow · check required"],
  red: ["红码 · 有异常", "Red · anomaly"],  // the counter's words (verifier/display.py)
};
const maskName = (name) => (name.length <= 1 ? name : name.length === 2 ? name[0] + "*"
  : name[0] + "*".repeat(name.length - 2) + name[name.length - 1]);
const sinceClock = (seconds) => {  // "10:42" today, else "3/5 10:42" (local time)
  const d = new Date(seconds * 1000);
  const time = d.toLocaleTimeString("zh-CN", { hour12: false, hour: "2-digit", minute: "2-digit" });
  return d.toDateString() === new Date().toDateString() ? time
    : d.toLocaleDateString("zh-CN", { month: "numeric", day: "numeric" }) + " " + time;
};
const staleWords = (code) => ["状态未更新 · 最后更新 " + sinceClock(code.checked_at) + " ",
  el("span", { class: "en" }, "status not updated since " + sinceClock(code.checked_at))];
const clock = (seconds) => new Date(seconds * 1000).toLocaleString("zh-CN", { hour12: false, month: "numeric",
  day: "numeric", hour: "2-digit", minute: "2-digit" });

async function api(method, path, body) {  // signed out: status 401; no connection: throws
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

// Fetches the slot's current code with a proof of the device key; stores it (or marks a proxy as ended).
async function fetchHealthCode(slot) {
  const key = await deviceKey();
  const meta = await (await fetch("/.well-known/openid-credential-issuer")).json();
  const { c_nonce } = await (await fetch("/issuer/health-code/nonce", { method: "POST" })).json();
  const proof = await tb.signJwt({ typ: "openid4vci-proof+jwt", alg: "ES256", jwk: key.publicJwk },
    { aud: meta.credential_issuer, iat: Math.floor(Date.now() / 1000), nonce: c_nonce }, key.privateKey);
  const proxyId = slot.startsWith("proxy:") ? Number(slot.slice(6)) : 0;
  const r = await api("POST", "/issuer/health-code", { proof: { proof_type: "jwt", jwt: proof },
    ...(proxyId ? { proxy_id: proxyId } : {}) });
  if (r.status === 403 && proxyId) {  // the relative ended the proxy: the code on this phone is revoked
    const held = (await dbGet("health", "held")) || [];
    await dbDelete("health", slot);
    await dbPut("health", held.filter((h) => h.id !== proxyId), "held");
    return { ended: true, relative: held.find((h) => h.id === proxyId)?.relative_name };
  }
  if (r.status === 401) throw new session.SignedOut();
  if (!r.ok) throw new Error(r.data.error_description || "HTTP " + r.status);
  const body = r.data;
  const views = {};
  for (const [name, b64] of Object.entries(body.credentials[0].credential)) views[name] = tb.fromB64url(b64);
  const whose = body.summary.shown_by ? body.summary.name : "";  // a relative's code: say whose in the history
  const label = whose ? `${whose} 的健康码 / ${whose}'s health code` : body.label;
  const code = { slot, elicence_id: body.elicence_id, licence_type: body.licence_type, label, views,
    view_info: body.views, summary: body.summary, colour: body.colour, expires_at: body.expires_at,
    checked_at: Math.floor(Date.now() / 1000) };
  await dbPut("health", code, slot);
  return code;
}

// When online and signed in: has the status changed (or the code neared its end)? Then fetch the new code.
async function updateHealth(slot) {
  const stored = await dbGet("health", slot);
  const now = Math.floor(Date.now() / 1000);
  if (slot === "self" && stored && stored.expires_at - now > 3600) {
    const r = await api("GET", "/issuer/health-status");
    if (r.status === 401) throw new session.SignedOut();
    if (r.status >= 500) throw new Error("health status: HTTP " + r.status);
    if (r.ok && r.data.colour === stored.colour && (r.data.reason || NO_ANOMALY) === stored.summary.reason) {
      await dbPut("health", { ...stored, checked_at: now }, slot);
      return { ...stored, checked_at: now };
    }
  }
  return fetchHealthCode(slot);
}

// Slots whose last status check did not reach the service (offline, signed out, server trouble): their code
// stays on screen until it expires, with "status not updated since" the last check that did.
const staleSlots = new Set();

// Checks one slot now (and fetches its code when the status changed); the code, {ended}, or null when it could not.
async function checkSlot(slot) {
  if (!navigator.onLine || !await session.signedIn()) { staleSlots.add(slot); return null; }
  try {
    const code = await updateHealth(slot);
    staleSlots.delete(slot);
    return code;
  } catch (error) {
    staleSlots.add(slot);
    console.warn("health check:", error);
    return null;
  }
}

// On every opening and every CHECK_SECONDS (and when the network comes or goes): keep the stored codes current.
async function checkHealth(opening = false) {
  const slots = ["self"];
  if (opening) for (const h of (await dbGet("health", "held")) || []) slots.push("proxy:" + h.id);
  if (presenting?.slot && !slots.includes(presenting.slot)) slots.push(presenting.slot);
  for (const slot of slots) {
    if (presenting?.slot === slot) await recheck(slot);
    else if (await dbGet("health", slot)) await checkSlot(slot);  // nothing stored: nothing to keep current
  }
  await renderHealthCards();
  document.body.dataset.healthChecked = String(Date.now());
}

async function openHealth(slot) {
  let code = await dbGet("health", slot);
  if (!code && navigator.onLine && !await session.signedIn()) return signIn("health:" + slot);
  say("正在更新健康码… / Checking your health code…");
  code = (await checkSlot(slot)) || code;
  say("");
  if (code?.ended) return proxyEnded(slot, code.relative);
  if (!code) return say("无法获取健康码，请联网后重试。 / Could not get the health code; try again when online.", true);
  if (code.expires_at * 1000 <= Date.now()) return expired();
  await present(code);
}

// The periodic check while the code is on screen (and the Update button, and coming back online).
async function recheck(slot, byHand = false) {
  if (presenting?.slot !== slot) return;
  const code = await checkSlot(slot);
  if (presenting?.slot !== slot) return;  // the holder left the screen meanwhile
  if (!code) {
    paintHealth(presenting.credential);  // says since when the status is not updated
    if (byHand) say("无法连接，请联网后重试。 / No connection; try again when online.", true);
    return;
  }
  if (code.ended) return proxyEnded(slot, code.relative);
  const same = code.elicence_id === presenting.credential.elicence_id && code.expires_at === presenting.credential.expires_at;
  if (!same) return present(code);  // a re-issued code (new status, or a renewal): show the new one
  presenting.credential = code;
  paintHealth(code);
  if (byHand) say("健康码已是最新。 / The health code is up to date.");
}

function paintHealth(code) {
  const expiredNow = code.expires_at * 1000 <= Date.now();
  const [zh, en] = COLOUR_WORDS[code.colour] || [code.colour, code.colour];
  $("band").className = "band " + code.colour;
  $("band-zh").textContent = zh;
  $("band-en").textContent = en;
  const reason = code.summary.reason && code.summary.reason !== NO_ANOMALY ? code.summary.reason : "";
  $("band-reason").replaceChildren("原因 ", el("span", { class: "en" }, "reason"), "：" + reason);
  $("band-reason").hidden = !reason;
  const name = maskName(code.summary.name || "");
  $("show-title").replaceChildren(...(code.summary.shown_by
    ? [name + " 的健康码 ", el("span", { class: "en" }, "health code of " + name)] : bilingual(code.label)));
  $("proxy-banner").replaceChildren("代为出示：您正在为 " + name + " 出示 ",
    el("span", { class: "en" }, "shown on behalf of " + name + " by " + (code.summary.shown_by || "")));
  $("health-meta").replaceChildren(
    el("span", { class: "line" }, "姓名 ", el("span", { class: "en" }, "name "), name),
    el("span", { class: "line" }, "签发 ", el("span", { class: "en" }, "issued by "), code.summary.authority || ""),
    el("span", { class: "line" }, "有效至 ", el("span", { class: "en" }, "valid until "), clock(code.expires_at)),
    el("span", { class: "line" }, "更新于 ", el("span", { class: "en" }, "checked "), clock(code.checked_at)),
  );
  $("health-stale").hidden = !staleSlots.has(code.slot);
  $("health-stale").replaceChildren(...staleWords(code));
  $("qr").dataset.colour = expiredNow ? "expired" : code.colour;
  $("qr").dataset.expires = String(code.expires_at);
}

async function expired() {
  show("home");
  await renderHealthCards();
  say("健康码已过期，请联网后重新打开以获取新码。 / This health code has expired; open it again when online to get a new one.", true);
}

async function proxyEnded(slot, relative = "您的家人") {
  show("home");
  await renderHealthCards();
  say(`代办已结束：${relative} 已结束授权，您不能再代为出示其健康码。 / The proxy has ended: ` +
    `${relative === "您的家人" ? "your relative" : relative} no longer lets you show their health code.`, true);
  $("status").dataset.ended = slot;
}

function healthCard(slot, code, title, proxy) {
  const gone = code && code.expires_at * 1000 <= Date.now();
  const colour = code && !gone ? code.colour : "none";
  const [zh, en] = !code ? ["点击获取", "Tap to get it"] : gone ? ["已过期，点击更新", "Expired; tap to renew"]
    : COLOUR_WORDS[colour] || [colour, colour];
  return el("li", {}, el("button", { type: "button", class: "card health-card " + colour, "data-slot": slot,
    onclick: () => openHealth(slot) },
  el("strong", {}, ...bilingual(title)),
  el("span", { class: "line big" }, zh + " ", el("span", { class: "en" }, en)),
  code && !gone && staleSlots.has(slot) ? el("span", { class: "line stale" }, ...staleWords(code)) : null,
  proxy ? el("span", { class: "line" }, "代为出示 ", el("span", { class: "en" }, "shown on their behalf")) : null));
}

async function renderHealthCards() {
  const held = (await dbGet("health", "held")) || [];
  const cards = [healthCard("self", await dbGet("health", "self"), "我的健康码 / My health code", false)];
  for (const h of held) {
    cards.push(healthCard("proxy:" + h.id, await dbGet("health", "proxy:" + h.id),
      `${h.relative_name} 的健康码 / ${h.relative_name}'s health code`, true));
  }
  $("health-cards").replaceChildren(...cards);
}

// ---------------------------------------------------------------------------------------------- family proxies
async function openFamily() {
  if (!await session.signedIn()) return signIn("family");
  show("family-section");
  await renderFamily();
}

async function renderFamily() {
  let r;
  try { r = await api("GET", "/issuer/proxies"); } catch { return say("无法连接，请联网后重试。 / No connection; try again when online.", true); }
  if (r.status === 401) return signIn("family");
  if (!r.ok) return say("查询失败。 / The lookup failed.", true);
  const granted = r.data.granted.filter((g) => g.active);
  const held = r.data.held.filter((h) => h.active);
  for (const old of (await dbGet("health", "held")) || []) {  // ended since: its code goes from this phone too
    if (!held.some((h) => h.id === old.id)) await dbDelete("health", "proxy:" + old.id);
  }
  await dbPut("health", held.map((h) => ({ id: h.id, relative_name: h.relative_name })), "held");
  await renderHealthCards();
  $("held-box").hidden = !held.length;  // only someone a relative allowed needs this part
  $("held").replaceChildren(...held.map((h) => el("li", {}, el("button", {
    type: "button", class: "card health-card none", "data-proxy": h.id, onclick: () => openHealth("proxy:" + h.id) },
  el("strong", {}, h.relative_name + " 的健康码 ", el("span", { class: "en" }, h.relative_name + "'s health code")),
  el("span", { class: "line" }, "点击代为出示 ", el("span", { class: "en" }, "Tap to show it on their behalf"))))));
  $("granted").replaceChildren(...(granted.length ? granted.map((g) => el("li", { class: "record", "data-granted": g.id },
    el("strong", {}, g.proxy_name),
    el("span", { class: "line" }, g.granted_via === "counter" ? "在办事窗口登记 " : "由您授权 ",
      el("span", { class: "en" }, g.granted_via === "counter" ? "recorded at a counter, " : "allowed by you, "), clock(g.granted_at)),
    endButton(g)))
    : [el("li", { class: "hint" }, "您还没有授权任何家人。 ", el("span", { class: "en" }, "Nobody may show your code yet."))]));
  await family.renderInvitations();  // invitations for me, and the ones I sent (family.js)
}

// Ending takes two taps (no pop-up): the first asks, the second ends.
function endButton(grantee) {
  const button = el("button", { type: "button", class: "danger", "data-end": grantee.id },
    "结束授权 ", el("span", { class: "en" }, "End"));
  button.addEventListener("click", async () => {
    if (button.dataset.armed !== "1") {
      say("");
      button.dataset.armed = "1";
      button.replaceChildren("再点一次，结束 " + grantee.proxy_name + " 的代办 ", el("span", { class: "en" }, "Tap again to end it"));
      setTimeout(() => {  // not confirmed within 8 s: back to the first state
        if (button.isConnected && !button.disabled) {
          delete button.dataset.armed;
          button.replaceChildren("结束授权 ", el("span", { class: "en" }, "End"));
        }
      }, 8000);
      return;
    }
    button.disabled = true;
    const r = await api("DELETE", "/issuer/proxies/" + grantee.id).catch(() => ({ ok: false }));
    await renderFamily();
    say(r.ok ? `已结束：${grantee.proxy_name} 不能再代您出示健康码。 / Ended: ${grantee.proxy_name} can no longer show your code.`
      : "未能结束授权，请联网后重试。 / Could not end it; try again when online.", !r.ok);
  });
  return button;
}

// ---------------------------------------------------------------------------------------------- staying signed in
// The box under the licences: signed in (with Sign out), or the sign-in has ended (with Sign in again; never
// an automatic redirect, so a refused refresh token cannot loop). Nothing shows before the first sign-in.
async function renderSession(ended = false) {
  const signed = await session.signedIn();
  $("session-box").hidden = !signed && !ended;
  $("session-box").dataset.state = signed ? "signed-in" : "ended";
  $("session-words").replaceChildren(...(signed
    ? ["本机保持登录：30 天内无需再次输入密码。 ", el("span", { class: "en" }, "Signed in on this phone for 30 days after the last use.")]
    : ["登录已失效，请重新登录以更新健康码。 ", el("span", { class: "en" }, "Your sign-in has ended; sign in again to keep your codes current.")]));
  $("session-button").replaceChildren(...(signed ? ["退出登录 ", el("span", { class: "en" }, "Sign out")]
    : ["重新登录 ", el("span", { class: "en" }, "Sign in again")]));
}

async function sessionButton() {
  if ($("session-box").dataset.state !== "signed-in") return signIn("home");
  const button = $("session-button");
  button.disabled = true;
  const revoked = await session.signOut().catch(() => false);
  localStorage.setItem("tb.signed-out", "1");  // the next sign-in asks for the password (prompt=login)
  button.disabled = false;
  await renderSession();
  await checkHealth();
  say(revoked ? "已退出登录，证照仍保存在本机。 / Signed out; your licences stay on this phone."
    : "已在本机退出登录（服务器暂未确认）。 / Signed out on this phone (the server could not confirm it yet).");
}

// ---------------------------------------------------------------------------------------------- start
async function main() {
  applyElderly(localStorage.getItem("tb.elderly") === "1");
  $("elderly").addEventListener("change", (e) => {
    localStorage.setItem("tb.elderly", e.target.checked ? "1" : "0");
    applyElderly(e.target.checked);
  });
  $("add").addEventListener("click", openRecords);
  for (const back of document.querySelectorAll("[data-go]")) back.addEventListener("click", () => show(back.dataset.go));
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/wallet/sw.js", { scope: "/wallet/" }).catch(() => {});
  await deviceKey();
  await renderCards();
  await renderHistory();
  $("family").addEventListener("click", openFamily);
  scan.init(async () => {
    const bound = scan.binding();
    if (presenting && bound) {  // the next codes are for this counter: the history says where it was shown
      await dbPut("history", { at: Date.now(), elicence_id: presenting.credential.elicence_id,
        label: presenting.credential.label, view: presenting.view, counter: bound.counterId,
        view_label: presenting.credential.view_info[presenting.view].label,
        claims: presenting.credential.view_info[presenting.view].claims });
      renderHistory();
    }
    return presenting && refresh();
  });
  $("history-export").addEventListener("click", exportHistory);
  family.init({ api, say, el, signIn, refresh: renderFamily });  // the invite form and the invitation lists
  $("health-update").addEventListener("click", async () => {
    const slot = presenting?.slot;
    if (slot && navigator.onLine && !await session.signedIn()) return signIn("health:" + slot);
    if (slot) await recheck(slot, true);
  });
  for (const change of ["online", "offline"]) window.addEventListener(change, () => checkHealth());
  $("session-button").addEventListener("click", sessionButton);
  addEventListener("tb-signed-out", (event) => renderSession(event.detail !== "signed_out"));
  session.onChange((news) => renderSession(Boolean(news.signedOut) && news.signedOut !== "signed_out"));
  await renderHealthCards();
  if (await finishSignIn()) {
    const after = sessionStorage.getItem("tb.after") || "records";
    sessionStorage.removeItem("tb.after");
    if (after === "family") await openFamily();
    else if (after.startsWith("health:")) await openHealth(after.slice(7));
    else if (after !== "home") await openRecords();
  }
  await renderSession();
  checkHealth(true).catch((error) => console.warn("health check:", error));  // on every opening, then every minute
  setInterval(() => checkHealth().catch((error) => console.warn("health check:", error)), CHECK_SECONDS * 1000);
  document.body.dataset.ready = "1";
}

main().catch((error) => {
  console.error(error);
  say("钱包无法启动：此浏览器不支持所需功能。 / The wallet cannot start in this browser.", true);
});
