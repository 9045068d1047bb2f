// 家人代办 / Family: who may show my health code (granted), whose code I may show (held), and ending a proxy.
// The invitations (sending, accepting) are family.js.
import * as family from "./family.js";
import * as session from "./session.js";
import { dbDelete, dbGet, dbPut } from "./db.js";
import { openHealth, renderHealthCards } from "./health.js";
import { api, signIn } from "./signin.js";
import { $, clock, el, en, needsNetwork, say, show } from "./ui.js";

const FAMILY = ["家人代办", "Family"];

export async function openFamily() {
  if (!navigator.onLine) return needsNetwork(...FAMILY);  // stay on the home screen
  if (!await session.signedIn()) return signIn("family");
  show("family-section");
  if (await renderFamily() === false) {  // the request could not be sent: back home, with the reason
    show("home");
    needsNetwork(...FAMILY);
  }
}

export async function renderFamily() {
  let r;
  try { r = await api("GET", "/issuer/proxies"); } catch { needsNetwork(...FAMILY); return false; }
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
  el("strong", {}, h.relative_name + " 的健康码 ", en(h.relative_name + "'s health code")),
  el("span", { class: "line" }, "点击代为出示 ", en("Tap to show it on their behalf"))))));
  $("granted").replaceChildren(...(granted.length ? granted.map((g) => el("li", { class: "record", "data-granted": g.id },
    el("strong", {}, g.proxy_name),
    el("span", { class: "line" }, g.granted_via === "counter" ? "在办事窗口登记 " : "由您授权 ",
      en(g.granted_via === "counter" ? "recorded at a counter, " : "allowed by you, "), clock(g.granted_at)),
    endButton(g)))
    : [el("li", { class: "hint" }, "您还没有授权任何家人。 ", en("Nobody may show your code yet."))]));
  await family.renderInvitations();  // invitations for me, and the ones I sent (family.js)
}

// Ending takes two taps (no pop-up): the first asks, the second ends.
function endButton(grantee) {
  const button = el("button", { type: "button", class: "danger", "data-end": grantee.id },
    "结束授权 ", en("End"));
  button.addEventListener("click", async () => {
    if (button.dataset.armed !== "1") {
      say("");
      button.dataset.armed = "1";
      button.replaceChildren("再点一次，结束 " + grantee.proxy_name + " 的代办 ", en("Tap again to end it"));
      setTimeout(() => {  // not confirmed within 8 s: back to the first state
        if (button.isConnected && !button.disabled) {
          delete button.dataset.armed;
          button.replaceChildren("结束授权 ", en("End"));
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

