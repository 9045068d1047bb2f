// The citizen's web wallet. Everything here runs on the phone:
//  * sign-in: OpenID Connect authorization code + PKCE S256 as the public client; tokens DPoP-bound and rotated
//    (signin.js, session.js);
//  * device key: WebCrypto ECDSA P-256, non-extractable, kept in IndexedDB; it never leaves the phone (db.js);
//  * licences: fetched from the issuer's credential endpoint (issuer/vci.py) with a key proof (records.js);
//  * presentations: built and signed here (tb-format.js), refreshed every 30 s, also with the network off (presenting.js);
//  * health codes (own, and a relative's as a family proxy) re-checked when online (health.js, health-view.js,
//    family-proxies.js, family.js);
//  * presentations to apps (OpenID4VP: share.js, sd-jwt.js), answered with the SD-JWT VC copy of a licence;
//  * an optional face/fingerprint unlock (a passkey the server verifies) before a code is shown (unlock.js);
//  * this phone's licences, each removable (and its copy revoked at the issuer when online: phone-licences.js);
//  * what changed since the last visit (a licence revoked or issued anew, a health code's colour), said once (notice.js);
//  * history of what was shown, on the phone only (history.js); large text (elderly.js); the words of claims and
//    colours are the counter's (words.js). No alert/confirm pop-ups: messages go to the status line (ui.js).
// This module only wires them together and starts the wallet.
import * as session from "./session.js";
import * as scan from "./scan.js";
import * as family from "./family.js";
import * as share from "./share.js";
import { deviceKey } from "./db.js";
import { initElderly } from "./elderly.js";
import { openFamily, renderFamily } from "./family-proxies.js";
import { CHECK_SECONDS, checkHealth, openHealth, recheck, renderHealthCards } from "./health.js";
import { exportHistory, recordShown, renderHistory } from "./history.js";
import { initLock, presenting, refresh } from "./presenting.js";
import { initNotice, refreshLicenceStates, showChanges } from "./notice.js";
import { initPhoneLicences, renderPhoneLicences } from "./phone-licences.js";
import { openRecords, renderCards } from "./records.js";
import { api, finishSignIn, renderSession, sessionButton, signIn } from "./signin.js";
import { $, el, needsNetwork, say, show } from "./ui.js";
import { initUnlock } from "./unlock.js";

async function main() {
  initElderly();
  initUnlock();
  initLock();
  $("add").addEventListener("click", openRecords);
  for (const back of document.querySelectorAll("[data-go]")) back.addEventListener("click", () => show(back.dataset.go));
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/wallet/sw.js", { scope: "/wallet/" }).catch(() => {});
  await deviceKey();
  await renderCards();
  initPhoneLicences();
  await renderPhoneLicences();
  await renderHistory();
  $("family").addEventListener("click", openFamily);
  share.init();
  scan.init(async () => {
    const bound = scan.binding();
    if (presenting && bound) {  // the next codes are for this counter: the history says where it was shown
      await recordShown({ elicence_id: presenting.credential.elicence_id,
        label: presenting.credential.label, view: presenting.view, counter: bound.counterId,
        view_label: presenting.credential.view_info[presenting.view].label,
        claims: presenting.credential.view_info[presenting.view].claims });
    }
    return presenting && refresh();
  });
  $("history-export").addEventListener("click", exportHistory);
  family.init({ api, say, el, signIn, refresh: renderFamily });  // the invite form and the invitation lists
  $("health-update").addEventListener("click", async () => {
    const slot = presenting?.slot;
    if (!navigator.onLine) return needsNetwork("检查更新", "checking for updates");
    if (slot && navigator.onLine && !await session.signedIn()) return signIn("health:" + slot);
    if (slot) await recheck(slot, true);
  });
  for (const change of ["online", "offline"]) window.addEventListener(change, () => checkHealth());
  $("session-button").addEventListener("click", () => sessionButton(checkHealth));
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
  const asked = new URLSearchParams(location.search);
  if (asked.has("request_uri")) {  // same-device: an app sent the citizen here (OpenID4VP, share.js)
    history.replaceState(null, "", "/wallet/");
    await share.openRequest(asked);
  }
  initNotice();
  // On every opening: the health codes and the licences' states, then what changed since the last visit.
  Promise.all([checkHealth(true).catch((error) => console.warn("health check:", error)),
    refreshLicenceStates().catch((error) => console.warn("licence states:", error))])
    .then(showChanges).catch((error) => console.warn("changes:", error));
  setInterval(() => checkHealth().catch((error) => console.warn("health check:", error)), CHECK_SECONDS * 1000);
  document.body.dataset.ready = "1";
}

main().catch((error) => {
  console.error(error);
  say("钱包无法启动：此浏览器不支持所需功能。 / The wallet cannot start in this browser.", true);
});

