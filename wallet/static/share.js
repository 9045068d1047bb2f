// "向应用出示 / Share with an app": OpenID4VP 1.0 on the phone. An app's link (openid4vp://?client_id&request_uri,
// from its QR, a picture of it, or pasted; or this wallet's own URL with the same parameters, same-device) →
// the app's registration on this hub (/verifier/clients/<id>: its name, purpose and request keys; §5.9.1
// pre-registered) → the signed Request Object, checked (sd-jwt.js verifyRequestObject) → in plain words who asks,
// why, and which claims with their values; optional claims can be unticked → the SD-JWT VC presentation with only
// the chosen Disclosures and a KB-JWT by the device key → direct_post to the response_uri (§8.2) → the app's
// redirect_uri when it gave one. Declining posts error=access_denied. Nothing else leaves the phone.
import * as sd from "./sd-jwt.js";
import { dbAll, deviceKey } from "./db.js";
import { recordShown } from "./history.js";
import { qrDecoder } from "./scan.js";
import { $, bilingual, el, en, say, show } from "./ui.js";
import { claimLabel } from "./words.js";

let pending = null;  // {claims, described, matches: [{query, credential, resolved}]}

export function init() {
  $("share-app").addEventListener("click", () => { openEntry(); });
  $("share-link-form").addEventListener("submit", (event) => {
    event.preventDefault();
    openLink($("share-link").value.trim());
  });
  $("share-picture").addEventListener("change", fromPicture);
  $("share-accept").addEventListener("click", accept);
  $("share-decline").addEventListener("click", decline);
}

function openEntry() {
  show("share-section");
  $("share-entry").hidden = false;
  $("share-request").hidden = true;
}

const fail = (zh, english) => { say(zh + " / " + english, true); return false; };

export function openLink(text) {
  let params;
  try {
    const url = new URL(text);
    if (url.protocol !== "openid4vp:" && url.origin + url.pathname !== location.origin + "/wallet/") throw new Error();
    params = url.searchParams;
  } catch {
    return fail("这不是应用的出示请求链接。", "This is not an app's presentation request link.");
  }
  return openRequest(params);
}

// The app's labels for a claims path: the counter's words for its claim name (age_equal_or_over.18: age_over_18).
function label(path) {
  const name = path[0] === "age_equal_or_over" ? "age_over_18" : path[0];
  return claimLabel(name);
}
const shown = (values) => values.map((v) => (Array.isArray(v) ? v.join("、") : String(v))).join("、");

export async function openRequest(params) {
  show("share-section");
  $("share-entry").hidden = true;
  $("share-request").hidden = true;
  const clientId = params.get("client_id"), requestUri = params.get("request_uri");
  if (!clientId || !requestUri) return fail("链接缺少 client_id 或 request_uri。", "The link lacks client_id or request_uri.");
  // Apps registered on this hub are served by it: a request elsewhere is not one this wallet can check.
  if (!requestUri.startsWith(location.origin + "/verifier/requests/")) {
    return fail("该请求不是本平台登记的应用发出的，已拒绝。", "The request is not from an app registered with this platform; refused.");
  }
  say("正在读取请求… / Reading the request…");
  let described, token;
  try {
    const who = await fetch("/verifier/clients/" + encodeURIComponent(clientId));
    if (who.status === 404) return fail("未登记的应用，已拒绝。", "Unregistered app; refused.");
    described = await who.json();
    const response = await fetch(requestUri);
    if (!response.ok) return fail("请求已失效，请在应用中重新发起。", "The request has expired; start again in the app.");
    token = await response.text();
  } catch {
    return fail("无法连接，请联网后重试。", "No connection; try again when online.");
  }
  let claims;
  try {
    claims = await sd.verifyRequestObject(token, described.jwks, clientId, Math.floor(Date.now() / 1000));
  } catch (error) {
    console.warn("request object refused:", error.reason, error.message);
    return fail(error.reason === "request_expired" ? "请求已过期，请在应用中重新发起。" : "请求无法核对（签名或内容不符），已拒绝。",
      error.reason === "request_expired" ? "The request has expired." : "The request could not be checked; refused.");
  }
  if (!claims.response_uri.startsWith(location.origin + "/verifier/requests/")) {
    return fail("请求的回传地址不符，已拒绝。", "The request's response address does not match; refused.");
  }
  const held = (await dbAll("credentials")).filter((c) => c.sd_jwt);
  const matches = [];
  for (const query of claims.dcql_query.credentials) {
    let found = null;
    for (const credential of held) {
      if (query.format === "dc+sd-jwt" && query.meta?.vct_values?.includes(sd.payloadOf(credential.sd_jwt).vct)) {
        found = credential;
        break;
      }
    }
    if (!found) return fail("本机没有该应用所需的证照，请先添加。", "This phone does not hold the licence the app asks for; add it first.");
    matches.push({ query, credential: found, resolved: await sd.resolve(found.sd_jwt) });
  }
  pending = { claims, described, matches };
  render();
  say("");
  return true;
}

function render() {
  const { claims, described, matches } = pending;
  $("share-who").replaceChildren(...bilingual(described.name));
  $("share-why").replaceChildren(...bilingual(claims.purpose || described.purpose));
  $("share-credentials").replaceChildren(...matches.map(({ query, credential, resolved }, m) => {
    const required = sd.requiredIds(query);
    return el("li", { class: "share-credential" },
      el("strong", {}, ...bilingual(credential.label)),
      el("ul", { class: "share-claims" }, ...(query.claims || []).map((c, i) => {
        const id = c.id ?? `_${i}`;
        const [zh, english] = label(c.path);
        const values = sd.select(c.path, resolved.claims);
        const box = el("input", { type: "checkbox", id: `share-${m}-${id}`, "data-claim": id, "data-match": String(m) });
        box.checked = values.length > 0;
        box.disabled = required.has(id) || !values.length;
        return el("li", {}, el("label", { for: box.id }, box, " ", zh, " ", en(english),
          required.has(id) ? el("span", { class: "hint" }, "（必需 ", en("required"), "）")
            : el("span", { class: "hint" }, "（可选 ", en("optional"), "）"),
          el("span", { class: "line share-value" }, values.length ? shown(values) : "本证照无此项 / not on this licence")));
      })));
  }));
  $("share-request").hidden = false;
}

async function post(form) {
  const response = await fetch(pending.claims.response_uri, { method: "POST", body: new URLSearchParams(form) });
  const body = await response.json().catch(() => ({}));
  return { ok: response.ok, body };
}

async function accept() {
  const { claims, described, matches } = pending;
  const key = await deviceKey();
  const iat = Math.floor(Date.now() / 1000);
  const vpToken = {}, chosenNames = [];
  for (const [m, { query, credential }] of matches.entries()) {
    const chosen = new Set([...document.querySelectorAll(`#share-credentials input[data-match="${m}"]:checked`)]
      .map((box) => box.dataset.claim));
    if (!sd.claimOptions(query).some((option) => option.every((id) => chosen.has(id)))) {
      return fail("所选信息不足以满足该应用的要求。", "What you chose is not enough for this app.");
    }
    const paths = (query.claims || []).filter((c, i) => chosen.has(c.id ?? `_${i}`)).map((c) => c.path);
    vpToken[query.id] = [await sd.present(credential.sd_jwt, paths,
      { privateKey: key.privateKey, nonce: claims.nonce, audience: claims.client_id, iat })];
    chosenNames.push(...paths.map((p) => (p[0] === "age_equal_or_over" ? "age_over_18" : p[0])));
  }
  $("share-accept").disabled = true;
  say("正在出示… / Sharing…");
  try {
    const { ok, body } = await post({ vp_token: JSON.stringify(vpToken), state: claims.state });
    if (ok) {
      await recordShown({ elicence_id: matches[0].credential.elicence_id, label: matches[0].credential.label,
        view: "app", view_label: "向应用出示：" + described.name.split(" / ")[0] + " / to an app", claims: chosenNames,
        app: described.client_id });
    }
    say(ok ? "已出示给 " + described.name.split(" / ")[0] + "。 / Shared." : "应用未接受此次出示。 / The app did not accept it.", !ok);
    pending = null;
    if (body.redirect_uri) location.assign(body.redirect_uri);
    else show("home");
  } catch {
    fail("无法连接，请联网后重试。", "No connection; try again when online.");
  } finally {
    $("share-accept").disabled = false;
  }
}

async function decline() {
  if (!pending) return show("home");
  const { body } = await post({ error: "access_denied", state: pending.claims.state }).catch(() => ({ body: {} }));
  pending = null;
  say("已拒绝，未出示任何信息。 / Declined; nothing was shared.");
  if (body.redirect_uri) location.assign(body.redirect_uri);
  else show("home");
}

async function fromPicture(event) {
  const file = event.target.files && event.target.files[0];
  event.target.value = "";
  if (!file) return;
  let bitmap = null;
  try {
    bitmap = await createImageBitmap(file);
    const texts = await (await qrDecoder())(bitmap);
    const link = texts.find((t) => t.startsWith("openid4vp://"));
    if (!link) return fail("图片中没有找到应用的出示请求。", "No app request found in the picture.");
    return openLink(link);
  } catch {
    return fail("图片无法读取。", "The picture cannot be read.");
  } finally {
    bitmap?.close();
  }
}
