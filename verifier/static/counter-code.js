// Two-way counters: the counter's own code (柜台码), shown large for the holder's wallet to scan.
// It is fetched from /counter/api/challenge when it is due to rotate (every 30 s), after every verdict (an
// answered challenge is spent, the next person gets a new one), and again after a failed fetch. No inline
// scripts (CSP); the picture is the server's SVG in a data: URL (img-src 'self' data:).
"use strict";

(function () {
  const box = document.getElementById("counter-code");
  if (!box) { return; }
  const img = document.getElementById("counter-qr"), countdown = document.getElementById("counter-countdown");
  let code = null, rotatesAt = 0, offset = 0, timer = null;

  const nowOnCounter = () => Date.now() / 1000 + offset;

  function schedule(ms) {
    clearTimeout(timer);
    timer = setTimeout(load, ms);
  }

  async function load() {
    try {
      const response = await fetch("/counter/api/challenge", { credentials: "same-origin", cache: "no-store" });
      const data = await response.json();
      if (!response.ok) { throw new Error(data.error || String(response.status)); }
      offset = data.now - Date.now() / 1000;
      if (data.code !== code) {
        code = data.code;
        img.src = data.image;
        box.dataset.code = data.code;
        box.dataset.issuedAt = String(data.issued_at);
      }
      rotatesAt = data.rotates_at;
      box.classList.remove("offline");
      schedule(Math.min(Math.max((rotatesAt - nowOnCounter()) * 1000 + 250, 1000), 10000));
    } catch (e) {
      box.classList.add("offline");
      countdown.textContent = "· 柜台码暂不可用 / counter code unavailable";
      schedule(5000);
    }
    tick();
  }

  function tick() {
    if (box.classList.contains("offline") || !rotatesAt) { return; }
    const left = Math.max(0, Math.ceil(rotatesAt - nowOnCounter()));
    countdown.textContent = "· " + left + " 秒后更新 / new code in " + left + " s";
  }

  document.addEventListener("tb:checked", () => load());
  setInterval(tick, 1000);
  load();
})();
