// "用本机面容/指纹解锁 / Unlock with this phone's face or fingerprint" before a licence QR is shown, when the citizen
// turned it on (localStorage "tb.unlock"). The unlock is a passkey assertion with user verification that the
// server verifies (service/wallet_unlock.py) for this account and this wallet's DPoP key; a verified unlock lasts
// UNLOCK_SECONDS (the server says how long), in memory only: a reload locks again. Turning the setting on needs a
// first unlock (so the account has a passkey that works), turning it off needs one too (so a finder cannot).
// Unlocking needs the network: offline the codes stay locked and the status line says so.
import { api } from "./signin.js";
import { $, say } from "./ui.js";

const KEY = "tb.unlock";
let unlockedUntil = 0;

function fromB64url(text) {
  const s = text.replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(s + "===".slice((s.length + 3) % 4)), (c) => c.charCodeAt(0)).buffer;
}
function b64url(buffer) {
  return btoa(String.fromCharCode(...new Uint8Array(buffer))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export const supported = () => Boolean(window.PublicKeyCredential && navigator.credentials);
export const enabled = () => localStorage.getItem(KEY) === "1";
export const locked = () => enabled() && Date.now() >= unlockedUntil;

/** Ask for the face/fingerprint and have the server verify it; true when unlocked. Says why not otherwise. */
export async function unlock() {
  if (!supported()) { say("此浏览器不支持面容/指纹解锁。 / This browser cannot unlock with face or fingerprint.", true); return false; }
  if (!navigator.onLine) { say("解锁需要联网，请联网后重试。 / Unlocking needs the network: try again when online.", true); return false; }
  try {
    const options = await api("POST", "/wallet/api/unlock/options");
    if (options.status === 401) { say("请先登录。 / Sign in first.", true); return false; }
    if (!options.ok) { say(options.data.message || "无法解锁。 / Cannot unlock.", true); return false; }
    const o = options.data;
    const credential = await navigator.credentials.get({ publicKey: { ...o, challenge: fromB64url(o.challenge),
      allowCredentials: (o.allowCredentials || []).map((d) => ({ ...d, id: fromB64url(d.id) })) } });
    const r = credential.response;
    const answer = { id: credential.id, rawId: b64url(credential.rawId), type: credential.type,
      response: { clientDataJSON: b64url(r.clientDataJSON), authenticatorData: b64url(r.authenticatorData),
        signature: b64url(r.signature), ...(r.userHandle ? { userHandle: b64url(r.userHandle) } : {}) },
      clientExtensionResults: credential.getClientExtensionResults() };
    const result = await api("POST", "/wallet/api/unlock", { credential: JSON.stringify(answer) });
    if (!result.ok || !result.data.unlocked) { say(result.data.message || "解锁失败。 / Unlock failed.", true); return false; }
    unlockedUntil = Date.now() + Math.min(result.data.seconds, 600) * 1000;
    say("");
    return true;
  } catch (error) {
    say(error?.name === "NotAllowedError" ? "已取消解锁。 / Unlock cancelled."
      : "无法解锁，请联网后重试。 / Could not unlock: try again when online.", true);
    return false;
  }
}

/** The settings switch on the home screen. */
export function initUnlock() {
  const box = $("unlock-setting");
  $("unlock-box").hidden = !supported();
  box.checked = enabled();
  box.addEventListener("change", async () => {
    const wanted = box.checked;
    box.checked = !wanted;  // unchanged until the server verified an unlock
    box.disabled = true;
    const ok = enabled() && !locked() ? true : await unlock();
    box.disabled = false;
    if (!ok) return;
    localStorage.setItem(KEY, wanted ? "1" : "0");
    box.checked = wanted;
    say(wanted ? "已开启：出示证照前需用面容/指纹解锁。 / On: codes are shown after face or fingerprint."
      : "已关闭面容/指纹解锁。 / Face or fingerprint unlock is off.");
  });
}
