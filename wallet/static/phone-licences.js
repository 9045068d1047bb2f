// 本机证照 / This phone's licences: each with "remove from this phone". Two taps (no pop-up dialog, ui.js): the
// first asks, the second removes. Online and signed in, the wallet first asks the issuer to revoke the copy bound to
// this phone (POST /issuer/removal, issuer/vci/removal.py: a single-use request signed by the device key and bound
// to the register entry); then the licence leaves IndexedDB, also when the issuer could not be told (the copy
// stays bound to this phone's key, which stays here, so it cannot be shown from anywhere else).
import * as tb from "./tb-format.js";
import * as session from "./session.js";
import { dbAll, dbDelete, deviceKey } from "./db.js";
import { renderCards } from "./records.js";
import { $, bilingual, el, en, onShow, say } from "./ui.js";

const removeWords = () => ["从本机移除 ", en("Remove from this phone")];  // new nodes for each button

export function initPhoneLicences() {
  onShow((section) => { if (section === "home") renderPhoneLicences(); });
}

export async function renderPhoneLicences() {
  const credentials = (await dbAll("credentials")).sort((a, b) => a.added_at - b.added_at);
  $("phone-box").hidden = !credentials.length;
  $("phone-licences").replaceChildren(...credentials.map((c) => el("li", { class: "record", "data-phone": c.elicence_id },
    el("strong", {}, ...bilingual(c.label)),
    el("span", { class: "line" }, "添加于 " + new Date(c.added_at).toLocaleDateString("zh-CN") + " ",
      en("added " + new Date(c.added_at).toLocaleDateString("en-GB"))),
    removeButton(c))));
}

function removeButton(credential) {
  const button = el("button", { type: "button", class: "danger", "data-remove": credential.elicence_id }, ...removeWords());
  button.addEventListener("click", async () => {
    if (button.dataset.armed !== "1") {
      say("");
      button.dataset.armed = "1";
      button.replaceChildren("再点一次，从本机移除 ", en("Tap again to remove it"));
      setTimeout(() => {  // not confirmed within 8 s: back to the first state
        if (button.isConnected && !button.disabled) {
          delete button.dataset.armed;
          button.replaceChildren(...removeWords());
        }
      }, 8000);
      return;
    }
    button.disabled = true;
    const told = await tellIssuer(credential);
    await dbDelete("credentials", credential.elicence_id);
    await renderCards();
    await renderPhoneLicences();
    say(told ? "已从本机移除，发证机关已作废本机这一份。 / Removed from this phone; the issuer has revoked this phone's copy."
      : "已从本机移除；发证机关尚未收到通知（需要联网并登录）。 / Removed from this phone; the issuer was not told " +
        "(that needs the network and a sign-in).", !told);
  });
  return button;
}

// True when the issuer revoked this phone's copy, or says there is none bound to this phone any more.
async function tellIssuer(credential) {
  if (!navigator.onLine || !credential.record_id || !await session.signedIn()) return false;
  try {
    const key = await deviceKey();
    const meta = await (await fetch("/.well-known/openid-credential-issuer")).json();
    const { c_nonce } = await (await fetch(meta.nonce_endpoint, { method: "POST" })).json();
    const proof = await tb.signJwt({ typ: "tongban-removal+jwt", alg: "ES256", jwk: key.publicJwk },
      { aud: meta.credential_issuer, iat: Math.floor(Date.now() / 1000), nonce: c_nonce, record: credential.record_id },
      key.privateKey);
    const response = await session.authFetch("/issuer/removal", { method: "POST",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify({ record: credential.record_id, proof }) });
    return response.ok || response.status === 404;
  } catch (error) {
    console.warn("removal:", error);
    return false;
  }
}
