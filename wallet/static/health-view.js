// How a health code looks on the presenting screen: the colour band with its words (never the colour alone) and
// the reason, whose code it is, until when, and "status not updated since" when the last check did not get through.
import { $, bilingual, clock, el, en } from "./ui.js";
import { NO_ANOMALY, colourWords } from "./words.js";

export const maskName = (name) => (name.length <= 1 ? name : name.length === 2 ? name[0] + "*"
  : name[0] + "*".repeat(name.length - 2) + name[name.length - 1]);
const sinceClock = (seconds) => {  // "10:42" today, else "3/5 10:42" (local time)
  const d = new Date(seconds * 1000);
  const time = d.toLocaleTimeString("zh-CN", { hour12: false, hour: "2-digit", minute: "2-digit" });
  return d.toDateString() === new Date().toDateString() ? time
    : d.toLocaleDateString("zh-CN", { month: "numeric", day: "numeric" }) + " " + time;
};
export const staleWords = (code) => ["状态未更新 · 最后更新 " + sinceClock(code.checked_at) + " ",
  en("status not updated since " + sinceClock(code.checked_at))];

// Slots whose last status check did not reach the service (offline, signed out, server trouble): their code
// stays on screen until it expires, with "status not updated since" the last check that did (health.js fills it).
export const staleSlots = new Set();

export function paintHealth(code) {
  const expiredNow = code.expires_at * 1000 <= Date.now();
  const [zh, english] = colourWords(code.colour);
  $("band").className = "band " + code.colour;
  $("band-zh").textContent = zh;
  $("band-en").textContent = english;
  const reason = code.summary.reason && code.summary.reason !== NO_ANOMALY ? code.summary.reason : "";
  $("band-reason").replaceChildren("原因 ", en("reason"), "：" + reason);
  $("band-reason").hidden = !reason;
  const name = maskName(code.summary.name || "");
  $("show-title").replaceChildren(...(code.summary.shown_by
    ? [name + " 的健康码 ", en("health code of " + name)] : bilingual(code.label)));
  $("proxy-banner").replaceChildren("代为出示：您正在为 " + name + " 出示 ",
    en("shown on behalf of " + name + " by " + (code.summary.shown_by || "")));
  $("health-meta").replaceChildren(
    el("span", { class: "line" }, "姓名 ", en("name "), name),
    el("span", { class: "line" }, "签发 ", en("issued by "), code.summary.authority || ""),
    el("span", { class: "line" }, "有效至 ", en("valid until "), clock(code.expires_at)),
    el("span", { class: "line" }, "更新于 ", en("checked "), clock(code.checked_at)),
  );
  $("health-stale").hidden = !staleSlots.has(code.slot);
  $("health-stale").replaceChildren(...staleWords(code));
  $("qr").dataset.colour = expiredNow ? "expired" : code.colour;
  $("qr").dataset.expires = String(code.expires_at);
}
