// Health codes: own, and a relative's as a family proxy, kept in IndexedDB and re-checked when online.
// A code sits in the "health" store under its slot: "self", or "proxy:<id>" for a relative's code held as their
// family proxy. The colour is never shown alone: its words go beside it, and the reason when there is one.
import * as tb from "./tb-format.js";
import * as session from "./session.js";
import { dbDelete, dbGet, dbPut, deviceKey } from "./db.js";
import { paintHealth, staleSlots, staleWords } from "./health-view.js";
import { present, presenting, whenExpired } from "./presenting.js";
import { api, signIn } from "./signin.js";
import { $, bilingual, el, en, needsNetwork, onShow, say, show } from "./ui.js";
import { NO_ANOMALY, colourWords } from "./words.js";

const CHECKING = ["检查更新", "checking for updates"];

export const CHECK_SECONDS = 60;
whenExpired(() => expired());
onShow((section) => { if (section === "home") renderHealthCards(); });  // a code fetched or re-checked meanwhile

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
export async function checkHealth(opening = false) {
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

export async function openHealth(slot) {
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
export async function recheck(slot, byHand = false) {
  if (presenting?.slot !== slot) return;
  const code = await checkSlot(slot);
  if (presenting?.slot !== slot) return;  // the holder left the screen meanwhile
  if (!code) {
    paintHealth(presenting.credential);  // says since when the status is not updated
    if (byHand) needsNetwork(...CHECKING);
    return;
  }
  if (code.ended) return proxyEnded(slot, code.relative);
  const same = code.elicence_id === presenting.credential.elicence_id && code.expires_at === presenting.credential.expires_at;
  if (!same) return present(code);  // a re-issued code (new status, or a renewal): show the new one
  presenting.credential = code;
  paintHealth(code);
  if (byHand) say("健康码已是最新。 / The health code is up to date.");
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
  const [zh, english] = !code ? ["点击获取", "Tap to get it"] : gone ? ["已过期，点击更新", "Expired; tap to renew"]
    : colourWords(colour);
  return el("li", {}, el("button", { type: "button", class: "card health-card " + colour, "data-slot": slot,
    onclick: () => openHealth(slot) },
  el("strong", {}, ...bilingual(title)),
  el("span", { class: "line big" }, zh + " ", en(english)),
  code && !gone && staleSlots.has(slot) ? el("span", { class: "line stale" }, ...staleWords(code)) : null,
  proxy ? el("span", { class: "line" }, "代为出示 ", en("shown on their behalf")) : null));
}

export async function renderHealthCards() {
  const held = (await dbGet("health", "held")) || [];
  const cards = [healthCard("self", await dbGet("health", "self"), "我的健康码 / My health code", false)];
  for (const h of held) {
    cards.push(healthCard("proxy:" + h.id, await dbGet("health", "proxy:" + h.id),
      `${h.relative_name} 的健康码 / ${h.relative_name}'s health code`, true));
  }
  $("health-cards").replaceChildren(...cards);
}

