// The counter page: scanner field (a USB scanner types the code and presses Enter), camera frames, one verdict.
// No inline scripts (CSP default-src 'self'); the DOM is filled with textContent only.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const form = $("scan-form"), input = $("qr"), verdict = $("verdict"), message = $("message");
  const health = $("health"), video = $("video"), canvas = $("frame");
  let busy = false, stream = null, timer = null;

  function show(el, on) { el.hidden = !on; }

  function say(zh, en, ok) {
    message.className = ok ? "message ok" : "message";
    message.textContent = "";
    message.append(zh);
    if (en) { const s = document.createElement("span"); s.className = "en"; s.lang = "en"; s.textContent = " / " + en; message.append(s); }
    show(message, true);
  }

  function hideHealth() { show(health, false); document.body.classList.remove("covered"); }

  function refocus() { if (!stream) { input.focus(); } }

  async function post(url, body, type) {
    const response = await fetch(url, { method: "POST", headers: { "Content-Type": type }, body: body,
                                        credentials: "same-origin" });
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    return { ok: response.ok, status: response.status, data: data };
  }

  function ageText(seconds) {
    if (seconds === null || seconds === undefined) { return ""; }
    if (seconds < 0) { return "出示时间晚于本机时间 / shown ahead of this counter's clock"; }
    return seconds + " 秒前出示 / shown " + seconds + " s ago";
  }

  function proxyText(p) {
    let text = "代为出示 / shown on behalf";
    if (p.by) { text += "　出示人 / shown by " + p.by; }
    if (p.for) { text += "　代 / for " + p.for; }
    return text;
  }

  function fillClaims(box, rows) {
    box.textContent = "";
    for (const c of rows) {
      const dt = document.createElement("dt"), dd = document.createElement("dd"), en = document.createElement("span");
      dt.textContent = c.zh;
      en.className = "en"; en.lang = "en"; en.textContent = c.en; dt.append(en);
      dd.textContent = c.value;
      box.append(dt, dd);
    }
  }

  // 免证办: the licence fetched with the holder's authorisation (the portrait only on an identity counter).
  function renderFetched(f) {
    const box = $("fetched"), portrait = $("portrait"), error = $("fetched-error");
    show(box, !!f);
    if (!f) { return; }
    fillClaims($("fetched-claims"), f.ok ? f.claims : []);
    const src = f.ok && typeof f.portrait === "string" && f.portrait.startsWith("data:image/jpeg;base64,") ? f.portrait : "";
    if (src) { portrait.src = src; } else { portrait.removeAttribute("src"); }
    show(portrait, !!src);
    error.textContent = f.ok ? "" : f.zh + " / " + f.en;
    show(error, !f.ok);
  }

  function render(result) {
    const d = result.display;
    document.dispatchEvent(new Event("tb:checked"));  // a two-way counter shows its next code (counter-code.js)
    show(message, false);
    verdict.className = "verdict " + d.verdict;
    $("mark").textContent = d.verdict === "valid" ? "✓" : "✗";
    $("headline-zh").textContent = d.headline.zh;
    $("headline-en").textContent = d.headline.en;
    $("reason-zh").textContent = d.reason.zh;
    $("reason-en").textContent = d.reason.en;
    if (d.warnings.length) {
      $("reason-zh").textContent += "（注意：" + d.warnings.map((w) => w.zh).join("；") + "）";
      $("reason-en").textContent += " (note: " + d.warnings.map((w) => w.en).join("; ") + ")";
    }
    // How old the revocation status behind this verdict is (its signed time).
    const statusAge = d.status_data ? d.status_data.zh + " / " + d.status_data.en : "";
    $("status-age").textContent = statusAge;
    show($("status-age"), !!statusAge);
    const licence = $("licence");
    licence.textContent = d.licence ? d.licence.label + (d.licence.view ? " · " + d.licence.view : "") : "";
    show(licence, !!d.licence);
    const proxy = $("proxy");
    proxy.textContent = d.proxy ? proxyText(d.proxy) : "";
    show(proxy, !!d.proxy);
    const claims = $("claims");
    fillClaims(claims, d.claims);
    renderFetched(d.fetched);
    const meta = [];
    const issuedBy = d.issuer ? d.issuer.name + (d.issuer.region ? " · " + d.issuer.region : "") : "";
    // Another region's authority (互通互认): said in words, so the clerk knows the licence is from elsewhere.
    const recognised = d.issuer && d.issuer.recognised ? d.issuer.recognised.zh + " / " + d.issuer.recognised.en : "";
    if (d.issuer) { meta.push("签发 / issued by " + issuedBy); }
    if (recognised) { meta.push(recognised); }
    const age = ageText(d.age_seconds);
    if (age) { meta.push(age); }
    if (result.elicence_id) { meta.push("证照标识 / e-licence " + result.elicence_id); }
    $("meta").textContent = meta.join("\n");
    show($("meta"), meta.length > 0);
    show(claims, d.claims.length > 0);
    show(verdict, true);
    window.scrollTo(0, 0);
    if (d.health) {
      health.className = "health " + d.health.code;
      $("health-zh").textContent = d.health.zh;
      $("health-en").textContent = d.health.en;
      const name = d.claims.find((c) => c.name === "name");
      $("health-name").textContent = name ? name.value : "";
      $("health-advice-zh").textContent = d.health.advice_zh;
      $("health-advice-en").textContent = d.health.advice_en;
      show($("health-advice"), !!d.health.advice_zh);
      $("health-reason").textContent = d.health.reason ? "原因 reason：" + d.health.reason : "";
      show($("health-reason"), !!d.health.reason);
      $("health-proxy-by").textContent = d.proxy && d.proxy.by ? "出示人 / shown by " + d.proxy.by : "";
      show($("health-proxy"), !!d.proxy);
      // Where the code is from and how fresh it is, on the coloured screen itself.
      $("health-meta").textContent = [recognised ? issuedBy : d.health.region || (d.issuer && d.issuer.region),
        recognised, age, statusAge]
        .filter(Boolean).join("\n");
      show(health, true);
      document.body.classList.add("covered");
    } else {
      hideHealth();
    }
  }

  function renderError(result) {
    const d = result.data && result.data.display;
    show(verdict, false);
    if (d) { say(d.zh, d.en + (result.data.message ? " (" + result.data.message + ")" : "")); }
    else { say("核验服务出错（HTTP " + result.status + "）", "the counter service failed"); }
  }

  async function check(text) {
    if (busy || !text.trim()) { return; }
    busy = true;
    // The previous person's verdict goes at once: nobody may read it as the new one's.
    show(verdict, false); hideHealth(); show(message, false);
    try {
      const result = await post("/counter/api/verify", JSON.stringify({ qr: text.trim() }), "application/json");
      if (result.ok && result.data) { render(result.data); } else { renderError(result); }
    } catch (e) {
      say("无法连接核验服务", "cannot reach the counter service");
    } finally {
      busy = false;
      input.value = "";
      refocus();
    }
  }

  form.addEventListener("submit", (event) => { event.preventDefault(); check(input.value); });

  // A keyboard-wedge scanner types wherever the focus is: pull stray keystrokes back into the field.
  document.addEventListener("keydown", (event) => {
    if (event.target === input || event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (!health.hidden && event.key === "Enter") { hideHealth(); return; }
    if (event.key.length === 1 && event.target.tagName !== "INPUT") { input.focus(); }
  });

  health.addEventListener("click", () => { hideHealth(); refocus(); });
  $("next").addEventListener("click", () => { show(verdict, false); show(message, false); refocus(); });

  // -- camera ----------------------------------------------------------------------------------------
  async function sendImage(blob) {
    const result = await post("/counter/api/scan-image", blob, blob.type || "image/jpeg");
    if (result.ok && result.data) { render(result.data); return true; }
    if (result.data && result.data.error === "no_qr_code") { return false; }
    renderError(result);
    return true;
  }

  function grab() {
    if (!stream || busy || video.readyState < 2) { return; }
    const scale = Math.min(1, 960 / Math.max(video.videoWidth, video.videoHeight));
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    busy = true;
    canvas.toBlob(async (blob) => {
      try {
        if (blob && await sendImage(blob)) { stopCamera(); }
      } catch (e) {
        $("camera-status").textContent = "无法连接核验服务 / cannot reach the counter service";
      } finally { busy = false; }
    }, "image/jpeg", 0.85);
  }

  // getUserMedia's errors (Media Capture and Streams §10.2) in words a clerk can act on, never the raw name.
  const CAMERA_ERRORS = {
    NotFoundError: ["没有找到摄像头", "No camera was found"],
    OverconstrainedError: ["没有找到可用的后置摄像头", "No suitable camera was found"],
    NotAllowedError: ["浏览器未允许使用摄像头（请在地址栏的权限设置中允许）", "The browser did not allow the camera (allow it in the address bar's site settings)"],
    SecurityError: ["此页面不能使用摄像头（需要 HTTPS 或本机地址）", "This page may not use the camera (it needs HTTPS or localhost)"],
    NotReadableError: ["摄像头正被其他程序占用", "The camera is in use by another program"],
    AbortError: ["摄像头未能打开", "The camera could not be started"],
    other: ["摄像头无法打开", "The camera could not be opened"],
  };

  async function startCamera() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      say("此浏览器无法使用摄像头（需要 HTTPS 或本机地址）", "the camera needs HTTPS or localhost in this browser");
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
    } catch (e) {
      const [zh, en] = CAMERA_ERRORS[e && e.name] || CAMERA_ERRORS.other;
      say(zh + "。可以点“选择图片”上传二维码的照片", en + ". Use “Choose a picture” to upload a photo of the code");
      $("picture").closest("label").classList.add("suggested");
      return;
    }
    video.srcObject = stream;
    await video.play().catch(() => {});
    show($("camera-box"), true);
    show(verdict, false);
    show(message, false);
    $("camera-status").textContent = "请将二维码对准摄像头 / hold the code in front of the camera";
    timer = setInterval(grab, 600);
  }

  function stopCamera() {
    if (timer) { clearInterval(timer); timer = null; }
    if (stream) { stream.getTracks().forEach((t) => t.stop()); stream = null; }
    video.srcObject = null;
    show($("camera-box"), false);
    refocus();
  }

  $("camera").addEventListener("click", () => { if (stream) { stopCamera(); } else { startCamera(); } });
  $("camera-stop").addEventListener("click", stopCamera);

  $("picture").addEventListener("change", async (event) => {
    const file = event.target.files && event.target.files[0];
    event.target.value = "";
    if (!file) { return; }
    busy = true;
    try {
      if (!(await sendImage(file))) { say("图片中没有找到二维码", "no QR code found in the picture"); show(verdict, false); }
    } catch (e) { say("无法连接核验服务", "cannot reach the counter service"); }
    finally { busy = false; refocus(); }
  });

  // -- cache state and re-sync ---------------------------------------------------------------------------
  let autoSynced = 0;

  function clock(seconds) {
    return new Date(seconds * 1000).toLocaleString("zh-CN", { hour12: false });
  }

  async function loadState() {
    const footer = $("state");
    try {
      const s = await (await fetch("/counter/api/state", { credentials: "same-origin" })).json();
      const parts = ["信任列表 / trust list " + (s.trust_list_version ? "v" + s.trust_list_version : "—"),
                     "最近同步 / last sync " + (s.last_sync ? clock(s.last_sync.synced_at) : "从未 / never")];
      const stale = !s.status_current_until || s.now >= s.status_current_until;
      if (s.status_current_until) { parts.push("吊销名单有效至 / status lists current until " + clock(s.status_current_until)); }
      if (s.last_attempt && !s.last_attempt.ok) {
        parts.push("最近一次同步失败 / last sync failed (" + (s.last_attempt.reason || "?") + ") " + clock(s.last_attempt.at));
      }
      footer.textContent = parts.join("　·　");
      footer.className = stale ? "state stale" : "state";
      if (stale) {
        footer.textContent += "　—　已过期，请同步 / out of date: sync";
      }
      // A counter left open all day keeps itself current: re-sync when the lists are due (at most every 5 min).
      const due = stale || (s.status_current_until && s.status_current_until - s.now < 600);
      if (s.can_resync && due && Date.now() - autoSynced > 300000) {
        autoSynced = Date.now();
        await post("/counter/api/sync", "{}", "application/json");
        return loadState();
      }
    } catch (e) { footer.textContent = ""; }
  }

  setInterval(loadState, 60000);

  const syncButton = $("sync");
  if (syncButton) {
    syncButton.addEventListener("click", async () => {
      syncButton.disabled = true;
      show(verdict, false); hideHealth();
      try {
        const result = await post("/counter/api/sync", "{}", "application/json");
        if (result.ok && result.data.failed && result.data.failed.length) {
          const f = result.data.failed;
          say("同步部分失败：" + f.map((x) => x.uri + " " + x.zh + "（" + x.reason + "）").join("；"),
              "sync partly failed: " + f.map((x) => x.uri + " " + x.en + " (" + x.reason + ")").join("; "));
        } else if (result.ok) {
          say("同步完成：信任列表 v" + result.data.trust_list_version + "，吊销名单 " + result.data.status_lists + " 份",
              "synced: trust list v" + result.data.trust_list_version + ", " + result.data.status_lists + " status lists", true);
        }
        else { renderError(result); }
      } catch (e) { say("同步失败", "sync failed"); }
      finally { syncButton.disabled = false; loadState(); refocus(); }
    });
  }

  loadState();
  refocus();
})();
