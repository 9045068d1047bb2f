// The demo app's page: ask the hub's verifier service for a request (service/demo_app.py), show it as a QR
// (cross-device) or open it in this hub's wallet (same-device), poll for the outcome, show the verified claims.
const $ = (id) => document.getElementById(id);
const labels = JSON.parse(document.body.dataset.labels);
let polling = null;

function say(zh, english, error = false) {
  $("status").replaceChildren(zh + " ", Object.assign(document.createElement("span"), { className: "en", lang: "en", textContent: english }));
  $("status").classList.toggle("error", error);
}

async function start(sameDevice) {
  const response = await fetch("/demo-app/api/requests", { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ same_device: sameDevice }) });
  if (!response.ok) { say("无法创建请求。", "Could not create the request.", true); return null; }
  return response.json();
}

function show(outcome) {
  $("ask").hidden = true;
  $("result").hidden = false;
  const verdict = $("verdict");
  if (outcome.status !== "verified") {
    verdict.textContent = "未通过核验 / Not verified: " + (outcome.error || "");
    verdict.className = "bad";
    say("出示未通过核验。", "The presentation was refused.", true);
    return;
  }
  const credential = outcome.credentials.driving_licence;
  verdict.textContent = "已核验 ✓ / Verified";
  verdict.className = "ok";
  $("result").dataset.verified = "1";
  const rows = [];
  for (const [name, value] of Object.entries(credential.claims)) {
    const [zh, english] = labels[name] || [name, name];
    const dt = document.createElement("dt");
    dt.textContent = `${zh} / ${english}`;
    const dd = document.createElement("dd");
    dd.dataset.claim = name;
    dd.textContent = Array.isArray(value) ? value.join("、") : String(value);
    rows.push(dt, dd);
  }
  $("claims").replaceChildren(...rows);
  say("签发机关：" + (credential.authority_name || credential.authority), "issued by " + credential.authority);
}

function poll(transaction, code) {
  clearInterval(polling);
  polling = setInterval(async () => {
    const query = code ? "?" + new URLSearchParams({ response_code: code }) : "";
    const response = await fetch(`/demo-app/api/requests/${encodeURIComponent(transaction)}${query}`).catch(() => null);
    if (!response) return;
    if (response.status === 404) { clearInterval(polling); say("请求已过期，请再试一次。", "The request expired; start again.", true); return; }
    const outcome = await response.json();
    if (outcome.status !== "pending") { clearInterval(polling); show(outcome); }
  }, 1000);
}

async function main() {
  const params = new URLSearchParams(location.search);
  if (params.has("transaction")) {  // back from the wallet on this phone (same-device, OpenID4VP §8.2 redirect_uri)
    history.replaceState(null, "", location.pathname);
    say("正在核验… ", "Verifying…");
    $("ask").hidden = true;
    poll(params.get("transaction"), params.get("response_code"));
  } else {
    const created = await start(false);
    if (created) {
      $("qr").src = created.qr;
      $("qr").hidden = false;
      $("link").href = created.link;
      $("link").textContent = created.link;
      $("link").hidden = false;
      poll(created.transaction_id, null);
      say("请用通办钱包扫码并确认。", "Scan with the tongban wallet and confirm.");
    }
  }
  $("same-device").addEventListener("click", async () => {
    const created = await start(true);
    if (created) location.assign(created.wallet_link);
  });
  $("again").addEventListener("click", () => location.assign(location.pathname));
  document.body.dataset.ready = "1";
}

main();
