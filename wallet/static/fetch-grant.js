// 免证办: "授权调取 / let this counter fetch my licence". The issuer hands out a one-time handle for this licence
// and this phone (2 minutes; bound to the counter too when a two-way counter's code was scanned); the next codes
// sign it in (tb-format.js, claim -65537), so the counter can fetch the whole licence with the portrait, once
// (issuer/fetch.py). Asking for the handle needs the network and a sign-in; showing the code does not.
import * as session from "./session.js";
import * as scan from "./scan.js";
import * as tb from "./tb-format.js";
import { $, say } from "./ui.js";

let active = null;  // {elicenceId, handle: Uint8Array, until (s), audience}
let onChange = () => {};

/** The handle to sign into a code of this licence now, if one is live. */
export function handleFor(elicenceId, now = Date.now() / 1000) {
  return active && active.elicenceId === elicenceId && active.until > now ? active : null;
}

export function clear() { active = null; paint(); }

export function offer(credential) {  // the button: only for licences (a health code is checked, never fetched)
  $("fetch-grant").hidden = credential.licence_type === "health-code";
  paint();
}

export function init(changed) {
  onChange = changed;
  $("fetch-grant").addEventListener("click", () => onChange("ask"));
  setInterval(paint, 1000);
}

export async function authorise(credential) {
  const button = $("fetch-grant");
  button.disabled = true;
  try {
    if (!navigator.onLine) { say("授权调取需要联网 / Letting a counter fetch your licence needs the network.", true); return false; }
    if (!await session.signedIn()) { say("请先登录后再授权调取 / Sign in first to let a counter fetch your licence.", true); return false; }
    const bound = scan.binding();
    const response = await session.authFetch("/issuer/fetch-grants", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ elicence_id: credential.elicence_id, ...(bound ? { audience: bound.counterId } : {}) }),
    });
    const body = await response.json();
    if (!response.ok) {
      say("无法授权调取：" + (body.error_description || body.error) + " / Could not authorise the fetch.", true);
      return false;
    }
    active = { elicenceId: credential.elicence_id, handle: tb.fromB64url(body.handle),
      until: Date.now() / 1000 + body.expires_in, audience: bound ? bound.counterId : null };
    paint();
    return true;
  } catch (e) {
    say(e instanceof session.SignedOut ? "请先登录后再授权调取 / Sign in first to let a counter fetch your licence."
      : "无法连接证照库 / Cannot reach the licence library.", true);
    return false;
  } finally {
    button.disabled = false;
  }
}

function paint() {
  const note = $("fetch-note");
  if (active && active.until <= Date.now() / 1000) active = null;
  note.hidden = !active;
  $("fetch-grant").setAttribute("aria-pressed", String(!!active));
  if (!active) { delete note.dataset.until; return; }
  const left = Math.ceil(active.until - Date.now() / 1000);
  note.dataset.until = String(Math.floor(active.until));
  note.textContent = `已授权${active.audience ? "柜台 " + active.audience + " " : "柜台"}调取本证照（含照片），仅限一次，${left} 秒内有效 `;
  const english = document.createElement("span");
  english.className = "en"; english.lang = "en";
  english.textContent = `This code lets ${active.audience ? "counter " + active.audience : "the counter"} fetch this ` +
    `licence with your photo, once, for ${left} s`;
  note.append(english);
}
