// Adding licences: the records on file for the signed-in citizen, each fetched from the issuer's credential endpoint
// (issuer/vci.py, OpenID4VCI) with a proof of the device key and kept in IndexedDB, in both formats (tongban-cose for
// counters, SD-JWT VC for apps); the licence cards on the home screen.
import * as tb from "./tb-format.js";
import * as session from "./session.js";
import { dbAll, dbPut, deviceKey, store } from "./db.js";
import { present } from "./presenting.js";
import { signIn } from "./signin.js";
import { $, bilingual, el, en, needsNetwork, say, show } from "./ui.js";

const ADDING = ["添加证照", "adding a licence"];

export async function openRecords() {
  if (!navigator.onLine) return needsNetwork(...ADDING);  // stay on the home screen
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
    show("home");
    return needsNetwork(...ADDING);
  }
  if (!response.ok) { list.replaceChildren(); return say("查询失败。 / The lookup failed.", true); }
  const { records } = await response.json();
  const held = new Set((await dbAll("credentials")).map((c) => c.record_id));
  list.replaceChildren(...records.map((r) => el("li", { class: "record" },
    el("strong", {}, ...bilingual(r.label)),
    el("span", { class: "line" }, r.authority),
    r.valid_until ? el("span", { class: "line" }, "有效期至 ", en("valid until "), r.valid_until) : null,
    el("button", { type: "button", class: "primary", "data-record": r.id, onclick: (e) => addLicence(r, e.currentTarget) },
      ...(held.has(r.id) ? ["重新添加 ", en("Add again")] : ["添加到本机 ", en("Add to this phone")])),
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
      record_id: record.id, views, view_info: body.views, summary: body.summary, added_at: Date.now(),
      sd_jwt: await sdJwtCopy(meta, record, key) };
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

// The same licence as an SD-JWT VC (configuration "<type>-sd-jwt", dc+sd-jwt), bound to the same device key: the
// form apps ask for (share.js, OpenID4VP). Without it the licence still shows at counters; sharing says it is missing.
async function sdJwtCopy(meta, record, key) {
  const configuration = record.licence_type + "-sd-jwt";
  if (!meta.credential_configurations_supported?.[configuration]) return null;
  try {
    const { c_nonce } = await (await fetch(meta.nonce_endpoint, { method: "POST" })).json();
    const proof = await tb.signJwt({ typ: "openid4vci-proof+jwt", alg: "ES256", jwk: key.publicJwk },
      { aud: meta.credential_issuer, iat: Math.floor(Date.now() / 1000), nonce: c_nonce }, key.privateKey);
    const response = await session.authFetch(meta.credential_endpoint, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ credential_configuration_id: configuration, record: record.id,
        proofs: { jwt: [proof] } }),
    });
    if (!response.ok) return null;
    return (await response.json()).credentials[0].credential;
  } catch (error) {
    console.warn("SD-JWT VC copy:", error);
    return null;
  }
}

export async function renderCards() {
  const credentials = (await dbAll("credentials")).sort((a, b) => a.added_at - b.added_at);
  $("empty").hidden = credentials.length > 0;
  $("cards").replaceChildren(...credentials.map((c) => el("li", {},
    el("button", { type: "button", class: "card " + c.licence_type, "data-elicence": c.elicence_id, onclick: () => present(c) },
      el("strong", {}, ...bilingual(c.label)),
      el("span", { class: "line" }, c.summary?.name ?? ""),
      c.summary?.valid_until ? el("span", { class: "line" }, "有效期至 ", en("valid until "), c.summary.valid_until) : null,
      el("span", { class: "line" }, "点击出示 ", en("Tap to show")),
    ))));
}
