// Showing a licence: the purposes (views) to choose from, the claims disclosed, and the QR code, signed on the phone
// (tb-format.js) and refreshed every 30 s, also with the network off. A scanned counter code binds the next codes.
import qrcode from "./vendor/qrcode-generator-2.0.4.mjs";
import * as tb from "./tb-format.js";
import * as scan from "./scan.js";
import * as fetchGrant from "./fetch-grant.js";
import { deviceKey } from "./db.js";
import { paintHealth } from "./health-view.js";
import { recordShown } from "./history.js";
import { $, bilingual, el, en, onShow, show } from "./ui.js";
import { claimLabel } from "./words.js";
import { locked, unlock } from "./unlock.js";

const REFRESH_SECONDS = 30;
const PURPOSE_ORDER = ["code", "proxy-code", "age", "driving", "identity", "basic", "full", "proxy-full"];
export let presenting = null;  // {credential, view, text, generatedAt, timer, slot}
let onExpired = () => {};  // health.js: a health code on screen ran out
let waiting = null;  // the licence to show once unlocked (unlock.js)
export function whenExpired(handler) { onExpired = handler; }
onShow((section) => { if (section !== "show") { stopPresenting(); fetchGrant.clear(); } });
fetchGrant.init(async () => {  // 授权调取: a handle for the licence on screen, then a new code with it at once
  const current = presenting;
  if (current && await fetchGrant.authorise(current.credential) && presenting === current) await refresh();
});

function purposes(credential) {
  return Object.keys(credential.views).sort((a, b) => PURPOSE_ORDER.indexOf(a) - PURPOSE_ORDER.indexOf(b));
}

export async function present(credential, view) {
  stopPresenting();
  show("show");
  $("show-title").replaceChildren(...bilingual(credential.label));
  if (locked()) {  // the citizen asked for face/fingerprint first: no code on screen until the server verified it
    $("show").classList.add("locked");
    waiting = () => present(credential, view);
    if (await unlock() && waiting) waiting();
    return;
  }
  $("show").classList.remove("locked");
  waiting = null;
  const names = purposes(credential);
  view ??= names.find((n) => !n.endsWith("full") && n !== "age") ?? names[0];
  $("presets").replaceChildren(...names.map((name) => el("button", {
    type: "button", "data-view": name, "aria-pressed": String(name === view), onclick: () => present(credential, name),
  }, ...bilingual(credential.view_info[name].label))));
  $("full-warning").hidden = !credential.view_info[view].claims.includes("id_number") || !view.endsWith("full");
  const health = credential.licence_type === "health-code";
  for (const id of ["band", "health-meta", "health-update", "health-stale"]) $(id).hidden = !health;
  $("proxy-banner").hidden = !health || !credential.summary.shown_by;
  if (!fetchGrant.handleFor(credential.elicence_id)) fetchGrant.clear();  // a handle is for one licence only
  fetchGrant.offer(credential);
  if (health) paintHealth(credential);
  $("disclosed").replaceChildren(...credential.view_info[view].claims.map((c) => {
    const [zh, english] = claimLabel(c);
    return el("li", {}, zh + " ", en(english));
  }));
  presenting = { credential, view, text: null, generatedAt: 0, timer: null, slot: credential.slot };
  await recordShown({ elicence_id: credential.elicence_id, label: credential.label, view,
    view_label: credential.view_info[view].label, claims: credential.view_info[view].claims });
  await refresh();
  presenting.timer = setInterval(tick, 1000);
}

export function initLock() {
  $("unlock-button").addEventListener("click", async () => { if (waiting && await unlock() && waiting) waiting(); });
}

export function stopPresenting() {
  if (presenting?.timer) clearInterval(presenting.timer);
  presenting = null;
}

export async function refresh() {
  const current = presenting;
  const key = await deviceKey();
  const now = Math.floor(Date.now() / 1000);
  const bound = scan.binding(now);  // a scanned two-way counter code: its challenge and id are signed in
  const grant = fetchGrant.handleFor(current.credential.elicence_id, now);  // 授权调取: the one-time handle
  const text = await tb.presentation(current.credential.views[current.view], key.privateKey, now, bound?.challenge,
    bound?.counterId, grant?.handle);
  if (presenting !== current || scan.binding(now) !== bound) return;  // switched view, or scanned, meanwhile
  current.text = text;
  current.generatedAt = now;
  drawQr(text);
  $("qr").dataset.iat = String(now);
  $("qr").dataset.view = current.view;
  $("qr").dataset.audience = bound?.counterId ?? "";
  $("qr").dataset.fetch = grant ? "1" : "";
  tick();
}

function tick() {
  if (!presenting || !presenting.generatedAt) return;
  if (locked()) {  // the unlock ran out while the code was on screen
    const { credential, view } = presenting;
    stopPresenting();
    $("show").classList.add("locked");
    waiting = () => present(credential, view);
    return;
  }
  if (presenting.slot && presenting.credential.expires_at * 1000 <= Date.now()) return onExpired();
  const left = REFRESH_SECONDS - (Math.floor(Date.now() / 1000) - presenting.generatedAt);
  $("countdown").textContent = String(Math.max(left, 0));
  if (left <= 0 && !presenting.refreshing) {
    presenting.refreshing = true;
    const current = presenting;
    refresh().finally(() => { current.refreshing = false; });
  }
}

export function drawQr(text) {
  const code = qrcode(0, "M");
  code.addData(text, "Alphanumeric");
  code.make();
  const modules = code.getModuleCount();
  const quiet = 4;
  const canvas = $("qr");
  const ratio = window.devicePixelRatio || 1;
  // Elderly mode (elderly.js): the code fills the screen's width (wallet.css drops the frame's margins), drawn with
  // at least that many device pixels so the browser only ever shrinks it a little; else whole pixels per module.
  const large = document.documentElement.classList.contains("elderly");
  const box = large ? canvas.parentElement.clientWidth : canvas.parentElement.clientWidth - 16;
  const fit = (Math.min(box, large ? Infinity : 480) * ratio) / (modules + 2 * quiet);
  const scale = Math.max(2, large ? Math.ceil(fit) : Math.floor(fit));
  const size = (modules + 2 * quiet) * scale;
  canvas.width = size;
  canvas.height = size;
  canvas.style.width = large ? "100%" : size / ratio + "px";
  canvas.style.height = large ? "auto" : size / ratio + "px";
  const g = canvas.getContext("2d");
  g.fillStyle = "#fff";
  g.fillRect(0, 0, size, size);
  g.fillStyle = "#000";
  for (let r = 0; r < modules; r++) {
    for (let c = 0; c < modules; c++) if (code.isDark(r, c)) g.fillRect((c + quiet) * scale, (r + quiet) * scale, scale, scale);
  }
}

